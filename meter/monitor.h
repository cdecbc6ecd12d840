/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The engine loop both programs share: a thread that drains the collector in batches on a
 * short timer, writes every record to the backend, feeds the aggregator, samples the kernel
 * counters, and flushes the backend each tick. The UI or the logger's main thread only takes
 * the lock to copy rows, so neither can stall the other.
 */
#ifndef METER_MONITOR_H
#define METER_MONITOR_H

#include <stdbool.h>
#include "meter/collector.h"
#include "meter/aggregator.h"
#include "backend/backend.h"

struct monitor_opts {
	struct collector_opts collector;
	const struct output_backend *backend;	/* NULL: no logging */
	struct backend_config backend_cfg;
	bool aggregate;				/* keep an aggregator (tmtop) */
	struct agg_config agg;
	int drain_ms;				/* 0 = 20: max latency from packet to backend */
	int sample_ms;				/* 0 = 250: counter sampling period */
};

struct monitor_stats {
	uint64_t events;		/* delivered to the backend/aggregator */
	uint64_t lost;			/* lost in the kernel (ring full) */
	bool logging;			/* a backend is active */
	struct backend_stats backend;	/* copied each tick */
};

struct monitor;

/* Opens the collector and the backend, starts the thread. 0 or -errno with err filled. */
int monitor_start(struct monitor **out, const struct monitor_opts *opts, char *err, size_t errlen);

/* The aggregator and stats may only be touched between lock and unlock. */
void monitor_lock(struct monitor *m);
void monitor_unlock(struct monitor *m);
struct agg *monitor_agg(struct monitor *m);
void monitor_get_stats(struct monitor *m, struct monitor_stats *out);	/* takes the lock */

/* Ignore-list edits go straight to the collector (it has its own lock). */
struct collector *monitor_collector(struct monitor *m);

/* Ask the thread to reopen the backend's files (SIGHUP). Async-signal-safe. */
void monitor_request_reopen(struct monitor *m);

/* What a stopped monitor saw, for the exit summary. */
struct monitor_summary {
	struct uid_total *totals;	/* per-UID kernel totals after detach (free it) */
	size_t ntotals;
	struct monitor_stats stats;
};

/*
 * Stop the thread, detach both programs, drain every event still queued into the backend,
 * flush it, and fill *sum (may be NULL). The aggregator stays readable until monitor_stop.
 */
void monitor_finish(struct monitor *m, struct monitor_summary *sum);

/* monitor_finish if not done yet, then close the backend and free everything. */
void monitor_stop(struct monitor *m);

#endif /* METER_MONITOR_H */
