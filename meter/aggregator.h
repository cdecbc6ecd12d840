/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-memory aggregator: plain records in, plain snapshot rows out. No libbpf, no curses, no
 * I/O but one probe per process of whether it still runs (replaceable for tests), not
 * thread-safe (the engine locks).
 *
 * Per owner: exact totals from the kernel counters (plus what earlier, evicted kernel entries
 * had counted), rates over a sliding window, a rate history for the sparkline, the peers, and
 * the processes with their connections. Peers, processes and connections are exact up to a
 * bound; past it they are summed, exactly, into one "other" row, so rows always add up.
 *
 * Owners idle long enough can be evicted to make room (agg_pick_idle/agg_evict): their totals
 * move to a ledger and come back if they return, so no total on screen ever goes backwards.
 */
#ifndef METER_AGGREGATOR_H
#define METER_AGGREGATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "backend/record.h"
#include "meter/snapshot.h"

#define AGG_DEFAULT_PEERS		1024	/* per owner */
#define AGG_DEFAULT_MAX_PEERS		65536	/* all owners together */
#define AGG_DEFAULT_PROCS		256	/* per owner */
#define AGG_DEFAULT_MAX_PROCS		16384
#define AGG_DEFAULT_CONNS		256	/* per process */
#define AGG_DEFAULT_MAX_CONNS		65536
#define AGG_DEFAULT_LEDGER		65536	/* evicted owners remembered */
#define AGG_FOLD_MAX			65536	/* distinct peers counted per "other" row */

struct agg_config {
	uint64_t window_ns;		/* rate window; 0 = 2 s */
	unsigned int peers_per_owner;	/* 0 = AGG_DEFAULT_PEERS */
	unsigned int max_peers;		/* 0 = AGG_DEFAULT_MAX_PEERS */
	unsigned int procs_per_owner;
	unsigned int max_procs;
	unsigned int conns_per_proc;
	unsigned int max_conns;
	unsigned int max_ledger;
	uint64_t peer_idle_ns;		/* a full table folds peers idle this long; 0 = 60 s */
	/* Does process tgid still run? NULL: kill(tgid, 0). */
	bool (*alive)(void *ctx, uint32_t tgid);
	void *alive_ctx;
	/* The unit name of a cgroup (for the process rows); NULL: none. */
	const char *(*unit)(void *ctx, uint64_t cgroup_id, const char *path, char *buf,
			    size_t len);
	void *unit_ctx;
};

struct agg;

struct agg *agg_new(const struct agg_config *cfg);
void agg_free(struct agg *a);

/* One packet: peers, processes, connections, event counts (totals come from agg_counters). */
void agg_event(struct agg *a, const struct traffic_record *rec);

/* One sample of the kernel's per-owner counters at monotonic time now_ns. */
void agg_counters(struct agg *a, uint64_t now_ns, const struct owner_total *t, size_t n);

/* The kernel's packets it could not charge (its table was full): in the grand totals. */
void agg_set_unattributed(struct agg *a, const struct owner_total *t);

/* Owners in the live table. */
size_t agg_count(const struct agg *a);

/*
 * Up to `want` owners, idlest first, that have been idle (no change in totals) for at least
 * min_idle_ns (in_kernel: only those the last sample saw in the kernel's table); returns how
 * many were written to out.
 */
size_t agg_pick_idle(const struct agg *a, uint64_t now_ns, uint64_t min_idle_ns, bool in_kernel,
		     size_t want, tm_owner_t *out);

/* The kernel's entry of an owner was removed with these final values: keep them. */
void agg_kernel_gone(struct agg *a, const struct owner_total *final);

/* Move an owner out of the live table into the ledger (its totals come back with it). */
void agg_evict(struct agg *a, tm_owner_t owner);

/* ---- export into a snapshot (the caller owns the arrays, sized by the counts) ------------ */

void agg_export_totals(const struct agg *a, struct snapshot *s);	/* totals + stats */
/* Users (one when only != NULL); returns the number written. */
size_t agg_export_users(const struct agg *a, const tm_owner_t *only, struct snap_user *out,
			size_t max);
/* Owners evicted to the ledger, as idle users with their totals (the exit summary). */
size_t agg_ledger_count(const struct agg *a);
size_t agg_export_ledger(const struct agg *a, struct snap_user *out, size_t max);

/* One owner's peers (only != NULL) or every owner's, each owner's "other" last; -ENOENT if
 * the one owner is unknown. */
int agg_export_peers(const struct agg *a, const tm_owner_t *only, struct snap_peer **out,
		     size_t *n);
/* Processes of one owner (only != NULL) or of all; -ENOMEM or 0. */
int agg_export_procs(const struct agg *a, const tm_owner_t *only, struct snap_proc **out,
		     size_t *n);
/* The connections of one process; -ENOENT if unknown. */
int agg_export_conns(const struct agg *a, tm_owner_t owner, uint32_t tgid, struct snap_conn **out,
		     size_t *n);

#endif /* METER_AGGREGATOR_H */
