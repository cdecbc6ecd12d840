/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One packet in user space: what the engine hands to the backends and the aggregator. It lives
 * here, below both, so neither includes the other's headers to get it.
 */
#ifndef BACKEND_RECORD_H
#define BACKEND_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * An owner: the uid in the low 32 bits, a kind above (TM_KIND_* in bpf/traffic_meter.h). A
 * real user's owner equals its uid; the special owners can never equal a uid.
 */
typedef uint64_t tm_owner_t;

#define OWNER_KIND(o)		((unsigned int)((o) >> 32))
#define OWNER_UID(o)		((uint32_t)(o))
#define OWNER_IS_USER(o)	(OWNER_KIND(o) == 0)

/* The process that created a packet's socket, when the kernel told us. */
struct proc_ident {
	uint32_t tgid;		/* 0: unknown (the socket predates the meter and was not found) */
	char comm[16];		/* NUL-terminated command name at socket creation */
	uint64_t cgroup_id;	/* the socket's cgroup, 0 unknown */
	const char *cgroup;	/* its path below the cgroup v2 mount ("" unknown); valid during the call */
};

struct traffic_record {
	tm_owner_t owner;	/* who the packet is charged to */
	uint32_t bytes;		/* IP header + payload */
	uint8_t direction;	/* TM_DIR_IN or TM_DIR_OUT */
	uint8_t family;		/* TM_AF_INET or TM_AF_INET6 */
	uint8_t proto;		/* IPPROTO_* from the IP header */
	uint16_t sport;		/* host order; 0 unless TCP or UDP */
	uint16_t dport;
	uint32_t netns;		/* the socket's network namespace (inode), 0 unknown */
	bool foreign_netns;	/* netns is not the meter's own: addresses are that namespace's */
	uint64_t cookie;	/* the socket's cookie, 0 without a socket */
	uint8_t src[16];	/* network order; IPv4 uses the first 4 bytes */
	uint8_t dst[16];
	struct timespec ts;	/* wall clock (CLOCK_REALTIME) */
	const struct proc_ident *proc;	/* NULL when the creator is unknown */
};

/* Per-owner totals from the kernel counters, summed over CPUs. */
struct owner_total {
	tm_owner_t owner;
	uint64_t bytes[2];	/* indexed by TM_DIR_* */
	uint64_t packets[2];
};

/*
 * The label of an owner, for file names and machine-readable output: the decimal uid for a
 * user, "nosocket" or "kernel" for the special owners. buf needs OWNER_TOKEN_LEN bytes.
 */
#define OWNER_TOKEN_LEN 16
const char *owner_token(tm_owner_t owner, char *buf, size_t len);

/* Parse owner_token()'s output back; 0 or -EINVAL. */
int owner_parse_token(const char *s, tm_owner_t *out);

#endif /* BACKEND_RECORD_H */
