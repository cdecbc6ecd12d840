/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The engine: one door to the meter. Behind it a thread drains the collector in batches on a
 * short timer, writes every record to the backends, feeds the aggregator, samples and evicts
 * the kernel's counters, and flushes the backends each tick. In front of it: start and stop, a
 * snapshot call that copies what a caller asks for into memory the caller owns, the ignore-list
 * commands, and a reopen request. Nothing outside takes its lock or sees its parts, and nothing
 * slow (a name lookup, a sort by name, I/O for a caller) runs under its lock.
 */
#ifndef METER_ENGINE_H
#define METER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include "backend/backend.h"
#include "meter/aggregator.h"
#include "meter/collector.h"
#include "meter/iplist.h"
#include "meter/snapshot.h"

struct engine_opts {
	struct collector_opts collector;	/* fill_ignore is the engine's own */
	const struct iplist *ignore;		/* the initial ignore list (copied) */
	const struct backend_ops *backends[SNAP_MAX_LOGS];	/* none: no logging */
	size_t nbackends;
	struct backend_config backend_cfg;
	struct agg_config agg;
	const char *nic_id;			/* for the snapshot's description */
	const char *iface;			/* --iface name, NULL for all */
	bool standalone;			/* embedded in tmtop, not the service */
};

struct engine;

/* Opens the backends and the collector, starts the thread. 0 or -errno with err filled. */
int engine_start(struct engine **out, const struct engine_opts *opts, char *err, size_t errlen);

/* Copy what req asks for into *out (free it with snapshot_free). 0 or -ENOMEM. */
int engine_snapshot(struct engine *e, const struct snap_request *req, struct snapshot *out);

/* Ignore-list commands: applied in the kernel before they return. 0 or -errno. */
int engine_ignore_add(struct engine *e, const struct ip_prefix *p);
int engine_ignore_set(struct engine *e, size_t idx, bool on);
int engine_ignore_del(struct engine *e, size_t idx);

/*
 * An owner's log (the first backend that keeps a file per owner): its path in buf and a
 * read-only descriptor the caller closes, or -errno (-EPERM: the name holds a file the meter
 * did not write).
 */
int engine_owner_open(struct engine *e, tm_owner_t owner, char *buf, size_t len);

/* Ask the thread to reopen the backends' files (SIGHUP). Async-signal-safe. */
void engine_request_reopen(struct engine *e);

/*
 * Stop the thread, detach the packet programs, drain every record still queued into the
 * backends, flush them, and take a last sample. Snapshots still work afterwards (the exit
 * summary is one).
 */
void engine_finish(struct engine *e);

/* engine_finish if not done yet, then close the backends and free everything. */
void engine_stop(struct engine *e);

#endif /* METER_ENGINE_H */
