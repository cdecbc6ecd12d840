/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The collector: the only code that loads BPF. Opens, configures, loads and attaches the
 * skeleton to a cgroup, walks the sockets that already exist, drains the ring buffer in
 * batches, reads and evicts the per-owner counters, and hands out the ignore tries' descriptors
 * to the ignore list (meter/ignore.c), which owns their content.
 */
#ifndef METER_COLLECTOR_H
#define METER_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "backend/record.h"

struct ignore_maps;

struct collector_opts {
	const char *cgroup_path;	/* cgroup v2 directory to attach to */
	int ignore_mode;		/* enum tm_ignore_mode */
	unsigned int ifindex;		/* count only this interface of our netns; 0 = all */
	size_t ring_bytes;		/* ring buffer size, power of 2; 0 = default */
	bool counters_only;		/* no events, kernel counters only (benchmark ceiling) */
	bool measure_floor;		/* return at once: the hook's own cost (benchmark floor) */
	bool no_batch;			/* one ring reservation per packet (benchmarks) */
	unsigned int max_owners;	/* owners the kernel counts at once; 0 = TM_MAX_OWNERS */
	bool verbose;			/* libbpf debug messages to stderr */
	/* Called with the LPM tries' descriptors after load, before attach, so the ignore
	 * list is in the kernel before the first packet is counted. 0 or -errno. */
	int (*fill_ignore)(void *ctx, const struct ignore_maps *maps);
	void *fill_ctx;
};

/* A socket as the kernel described it (TM_REC_SOCK / TM_REC_SOCK_CLOSE). */
struct sock_record {
	bool closed;			/* TM_REC_SOCK_CLOSE: only cookie is meaningful */
	uint8_t origin;			/* TM_ORIGIN_* */
	uint8_t proto;
	tm_owner_t owner;
	uint32_t tgid;
	uint64_t cookie;
	uint64_t cgroup_id;
	uint32_t netns;
	char comm[16];			/* NUL-terminated */
};

struct collector_handlers {
	/* rec->proc, rec->foreign_netns are left for the caller to fill */
	void (*packet)(void *ctx, struct traffic_record *rec);
	void (*sock)(void *ctx, const struct sock_record *s);
	void *ctx;
};

struct collector_stats {
	uint64_t events;		/* packet records delivered */
	uint64_t sock_records;		/* socket records delivered */
	uint64_t lost;			/* packet records lost: the ring was full */
	uint64_t sock_lost;		/* socket records lost (retried at the socket's next packet) */
	uint64_t table_full;		/* packets counted under overflow: the owner table was full */
	struct owner_total overflow;	/* their totals (owner field unused) */
	uint32_t host_netns;		/* the meter's own network namespace (inode) */
};

struct collector;

/*
 * 0, or -errno with a one-line reason in err (e.g. "failed to attach to /x: Operation not
 * permitted"; for a load failure the verifier's last message).
 */
int collector_open(struct collector **out, const struct collector_opts *opts, char *err,
		   size_t errlen);

/* At most this many records per drain, so a flood cannot keep a drain going forever. */
#define COLLECTOR_DRAIN_BUDGET 65536
/* ... and for at most this long, consuming and handing on together. */
#define COLLECTOR_DRAIN_NS (20 * 1000000ULL)

/* Wait up to timeout_ms for data (or a fill-threshold wake-up), then drain what is queued
 * (up to the budget). Returns the number of packet records, or -errno (-EINTR on signal). */
int collector_poll(struct collector *c, int timeout_ms, const struct collector_handlers *h);

/* Drain what is queued without waiting (up to the budget). */
int collector_drain(struct collector *c, const struct collector_handlers *h);

/* True when the last drain stopped on its budget: more is queued, drain again at once. */
bool collector_backlog(const struct collector *c);

/* All per-owner totals, summed over CPUs; *out is malloc'd (free it). Count or -errno. */
int collector_read_counters(struct collector *c, struct owner_total **out);

/* Number of owners in the kernel's table (from the last read). */
size_t collector_owner_count(const struct collector *c);

/*
 * At least the number of owners in the kernel's table now, without reading it: the last
 * read's count, less the evictions since, plus the entries the kernel has added since (one
 * map lookup). It sees the table fill between two reads.
 */
size_t collector_owner_estimate(struct collector *c);

/*
 * Remove one owner from the kernel's table atomically and return what it had counted, so no
 * packet between the read and the removal is lost; its next packet starts a new entry at 0.
 * 0, -ENOENT if it was not there, or -errno.
 */
int collector_evict(struct collector *c, tm_owner_t owner, struct owner_total *final);

void collector_get_stats(struct collector *c, struct collector_stats *out);

/* Detach the packet programs now (no new records); the maps stay readable until close. */
void collector_detach(struct collector *c);

/* Detach every program and free everything; safe with NULL. */
void collector_close(struct collector *c);

#endif /* METER_COLLECTOR_H */
