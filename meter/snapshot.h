/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The engine's state as one plain message: what engine_snapshot() copies under the engine's
 * lock into memory the caller owns, what the service sends over its socket (service/proto.c
 * encodes it field by field, under the same names), and what every front end draws from. No
 * pointers into the engine, no names looked up: a consumer sorts, filters and names it outside
 * any lock.
 */
#ifndef METER_SNAPSHOT_H
#define METER_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "backend/backend.h"
#include "backend/record.h"
#include "meter/ignore.h"

#define SNAP_VERSION	1
#define SNAP_SPARK	30	/* rate history points per user, oldest first */
#define SNAP_SPARK_STEP	2	/* seconds per point: the last minute */
#define SNAP_MAX_LOGS	4	/* backends at once */
#define SNAP_UNIT_LEN	64

/* One peer of a user; family 0 is the "other" row that holds the peers beyond the bound. */
struct snap_peer {
	tm_owner_t owner;		/* whose peer it is */
	uint8_t family;			/* TM_AF_INET, TM_AF_INET6, or 0 for "other" */
	uint8_t addr[16];
	uint32_t netns;			/* 0: the meter's own namespace; else another one's inode */
	uint64_t bytes[2];		/* exact, from the records: [TM_DIR_IN] from it, [OUT] to it */
	uint64_t packets[2];
	double rate[2];			/* bytes/s over the window */
	uint64_t folded;		/* "other" only: distinct peers it holds */
	bool folded_more;		/* "other" only: more than `folded` (the count stopped) */
};

struct snap_user {
	tm_owner_t owner;
	uint64_t bytes[2];		/* exact, from the kernel counters; never decrease */
	uint64_t packets[2];
	double rate[2];			/* bytes/s over the window */
	bool has_rate;			/* false until two samples exist: show "-", not a wrong 0 */
	double idle_s;			/* seconds since its totals last moved */
	uint32_t npeers;		/* peers tracked exactly */
	uint32_t nprocs;		/* processes */
	bool has_top;
	struct snap_peer top;		/* the peer with the highest rate, then bytes */
	float spark[SNAP_SPARK];	/* in+out bytes/s per SNAP_SPARK_STEP, oldest first */
	/* Quota (service only; quota_period 0 = none) */
	uint8_t quota_period;		/* 0 none, 'd' day, 'm' month */
	uint64_t quota_bytes;
	uint64_t quota_used;		/* in+out in the current period */
	uint64_t quota_estimate;	/* month-end (or day-end) estimate at the current pace */
};

/* A process of a user: the sockets it created; tgid 0 is "(unknown)" or "(exited)". */
struct snap_proc {
	tm_owner_t owner;
	uint32_t tgid;
	char comm[16];
	uint64_t cgroup_id;
	char unit[SNAP_UNIT_LEN];	/* service, container or cgroup path */
	bool exited;			/* gone; shown until its rate falls to zero */
	uint32_t nfolded;		/* "(exited)" row: processes folded into it */
	uint64_t bytes[2];
	uint64_t packets[2];
	double rate[2];
	bool has_rate;
	uint32_t nconns;
};

/* A connection of a process; family 0 is the "other" row. */
struct snap_conn {
	uint8_t family;
	uint8_t proto;			/* IPPROTO_* */
	uint16_t lport, rport;		/* host order; 0 unless TCP or UDP */
	uint8_t addr[16];		/* the remote address */
	uint32_t netns;			/* 0: the meter's own namespace */
	uint64_t bytes[2];
	uint64_t packets[2];
	double rate[2];
	uint64_t folded;		/* "other" only */
};

struct snap_log {
	char name[16];			/* backend name */
	char target[256];		/* where it writes (describe()) */
	struct backend_stats st;
};

struct snap_stats {
	uint64_t events;		/* packet records received */
	double events_per_s;		/* over the window */
	uint64_t lost;			/* packet records lost: the ring buffer was full */
	uint64_t sock_lost;		/* socket records lost (retried at the next packet) */
	uint64_t table_full;		/* packets the kernel could not charge: its table was full */
	uint64_t kernel_evicted;	/* idle owners removed from the kernel's table (totals kept) */
	uint64_t evicted;		/* idle owners moved out of the live table (totals kept) */
	uint64_t forgotten;		/* evicted owners whose totals were dropped (their totals
					 * restart if they come back) */
	uint64_t peers_folded;		/* peers folded into "other" rows */
	uint32_t users;			/* owners in the live table */
	uint32_t kernel_owners;		/* owners in the kernel's table */
	uint32_t sockets;		/* sockets known */
};

struct snap_meter {
	int32_t pid;			/* of the meter process */
	char version[16];
	struct timespec started;	/* wall clock */
	double uptime_s;
	char cgroup[256];		/* what it watches */
	char nic[64];			/* nic_id label */
	char iface[32];			/* --iface, "" = all */
	uint8_t ignore_mode;
	uint32_t host_netns;
	double window_s;		/* rate window */
	bool standalone;		/* an embedded engine (tmtop --standalone), not the service */
};

struct snapshot {
	uint32_t version;		/* SNAP_VERSION */
	uint64_t seq;			/* counter samples so far */
	struct timespec taken;		/* wall clock */
	bool restricted;		/* only the caller's own owner is in it */
	struct snap_meter meter;
	struct snap_stats stats;	/* zeroed when restricted */
	struct {
		uint64_t bytes[2];	/* never decrease: evicted owners and overflow included */
		uint64_t packets[2];
		double rate[2];
		bool has_rate;
	} totals;			/* zeroed when restricted */
	struct snap_user *users;
	size_t nusers;
	bool have_peers;		/* peers of peers_of were asked for and the owner exists */
	tm_owner_t peers_of;
	struct snap_peer *peers;	/* unsorted, "other" last */
	size_t npeers;
	bool have_procs;
	struct snap_proc *procs;
	size_t nprocs;
	bool have_conns;
	tm_owner_t conns_owner;
	uint32_t conns_tgid;
	struct snap_conn *conns;
	size_t nconns;
	struct ignore_entry *ignore;	/* empty when restricted */
	size_t nignore;
	size_t ignore_active;
	struct snap_log logs[SNAP_MAX_LOGS];	/* empty when restricted */
	size_t nlogs;
};

/* What a caller wants in its snapshot. */
struct snap_request {
	bool restrict_owner;		/* only `owner`: the service's view for an unprivileged user */
	tm_owner_t owner;
	bool peers;			/* the peers of peers_of */
	tm_owner_t peers_of;
	bool all_peers;			/* the peers of every owner (history, flows of a fleet) */
	bool ledger;			/* evicted owners too, as idle users (exit summaries) */
	bool procs;			/* processes: of procs_of when procs_one, else of everyone */
	bool procs_one;
	tm_owner_t procs_of;
	bool conns;			/* the connections of (conns_owner, conns_tgid) */
	tm_owner_t conns_owner;
	uint32_t conns_tgid;
};

void snapshot_free(struct snapshot *s);

#endif /* METER_SNAPSHOT_H */
