/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The collector: the only code that talks to BPF. Opens, configures, loads and attaches the
 * skeleton to a cgroup, drains the ring buffer in batches, reads the per-UID counters and the
 * lost-event counter, and keeps the ignore list in the LPM tries.
 */
#ifndef METER_COLLECTOR_H
#define METER_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "meter/record.h"
#include "meter/iplist.h"

struct collector_opts {
	const char *cgroup_path;	/* cgroup v2 directory to attach to */
	int ignore_mode;		/* enum tm_ignore_mode */
	unsigned int ifindex;		/* count only this interface; 0 = all */
	size_t ring_bytes;		/* ring buffer size, power of 2; 0 = default */
	bool counters_only;		/* no events, kernel counters only (benchmark ceiling) */
	const struct iplist *ignore;	/* initial ignore list (copied) */
	bool verbose;			/* libbpf debug messages to stderr */
};

typedef void (*collector_event_fn)(void *ctx, const struct traffic_record *rec);

struct collector;

/*
 * 0, or -errno with a one-line reason in err (e.g. "failed to attach to /x: Operation not
 * permitted"; for a load failure the verifier's last message).
 */
int collector_open(struct collector **out, const struct collector_opts *opts, char *err,
		   size_t errlen);

/* Wait up to timeout_ms for data (or a fill-threshold wake-up), then drain everything
 * queued, calling fn per event. Returns the number of events, or -errno (-EINTR on signal). */
int collector_poll(struct collector *c, int timeout_ms, collector_event_fn fn, void *ctx);

/* At most this many events per drain, so a flood cannot keep a drain going forever. */
#define COLLECTOR_DRAIN_BUDGET 65536

/* Drain what is queued without waiting (up to the budget). */
int collector_drain(struct collector *c, collector_event_fn fn, void *ctx);

/* True when the last drain stopped on its budget: more is queued, drain again at once. */
bool collector_backlog(const struct collector *c);

/* All per-UID totals, summed over CPUs; *out is malloc'd (free it). Returns count or -errno. */
int collector_read_counters(struct collector *c, struct uid_total **out);

/* Events lost because the ring buffer was full, since load. */
uint64_t collector_lost(struct collector *c);

/* Events delivered to fn since open. */
uint64_t collector_events(const struct collector *c);

/* The ignore list as the kernel has it: entries and whether each is active. */
size_t collector_ignore_count(const struct collector *c);
const struct ip_prefix *collector_ignore_get(const struct collector *c, size_t idx, bool *enabled);
size_t collector_ignore_active(const struct collector *c);
/* Changes apply in the kernel at once. 0 or -errno (-EEXIST for a duplicate add). */
int collector_ignore_add(struct collector *c, const struct ip_prefix *p);
int collector_ignore_set(struct collector *c, size_t idx, bool enabled);
int collector_ignore_del(struct collector *c, size_t idx);

/* Detach both programs now (no new events); the maps stay readable until close. */
void collector_detach(struct collector *c);

/* Detach every program and free everything; safe with NULL. */
void collector_close(struct collector *c);

/* Find the cgroup v2 mount point from /proc/self/mountinfo. 0 or -ENOENT. */
int cgroup2_mount(char *buf, size_t len);

/* The default attach point: <mount>/user.slice if it exists, else the mount. */
int cgroup_default_path(char *buf, size_t len);

/* 0 if path is a cgroup v2 directory, else -ENOENT / -ENOTDIR / -EMEDIUMTYPE (not cgroup2). */
int cgroup_check(const char *path);

#endif /* METER_COLLECTOR_H */
