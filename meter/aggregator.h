/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-memory aggregator: plain records in, plain rows out. No libbpf, no curses, no I/O,
 * not thread-safe (the caller locks). Per user: exact totals from the kernel counters, in/out
 * rates over a sliding window, and a bounded top-K of peer addresses (Space-Saving), so a port
 * scan cannot grow it without limit.
 */
#ifndef METER_AGGREGATOR_H
#define METER_AGGREGATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "meter/record.h"

struct agg_config {
	uint64_t window_ns;		/* rate window; 0 = 2 s */
	unsigned int peers_per_user;	/* top-K capacity per user; 0 = 32 */
	uint64_t idle_expire_ns;	/* forget users quiet this long; 0 = never */
	unsigned int max_users;		/* 0 = 4096; further users are counted in no row */
};

struct agg_peer {
	uint8_t family;			/* TM_AF_INET or TM_AF_INET6 */
	uint8_t addr[16];
	uint64_t bytes[2];		/* from events: [TM_DIR_IN] from the peer, [TM_DIR_OUT] to it */
	uint64_t error;			/* Space-Saving over-count bound (0 while the table never filled) */
	double rate[2];			/* bytes/s over the window */
};

struct agg_user {
	uint32_t uid;
	uint64_t bytes[2];		/* exact totals (kernel counters) */
	uint64_t packets[2];
	double rate[2];			/* bytes/s over the window */
	bool has_rate;			/* false until two samples exist: show "-" not a wrong 0 */
	uint64_t last_active_ns;	/* sample time of the last change in totals */
	bool has_top;
	struct agg_peer top;		/* peer with the highest rate (then bytes) */
	unsigned int npeers;
};

struct agg_totals {
	uint64_t bytes[2];
	double rate[2];
	bool has_rate;
	uint64_t events;		/* events fed with agg_event */
	double events_per_s;		/* over the window */
	uint64_t lost;			/* as set by agg_set_lost */
	unsigned int users;
};

enum agg_sort {
	AGG_SORT_RATE,			/* in + out rate */
	AGG_SORT_IN_RATE,
	AGG_SORT_OUT_RATE,
	AGG_SORT_IN_TOTAL,
	AGG_SORT_OUT_TOTAL,
	AGG_SORT_USER,			/* by name, via name_fn */
	AGG_SORT_UID,
	AGG_SORT__COUNT
};

typedef const char *(*agg_name_fn)(void *ctx, uint32_t uid);

struct agg_view {
	enum agg_sort sort;
	bool invert;			/* default: descending for numbers, ascending for names/uids */
	const char *filter;		/* case-insensitive substring of name or decimal uid; NULL/"" = all */
	agg_name_fn name;		/* may be NULL: names are then the decimal uid */
	void *name_ctx;
};

struct agg;

struct agg *agg_new(const struct agg_config *cfg);
void agg_free(struct agg *a);

/* One packet: peer table and event counts (totals come from agg_counters). */
void agg_event(struct agg *a, const struct traffic_record *rec);

/* One sample of the kernel counters at monotonic time now_ns: totals, window, rates, aging. */
void agg_counters(struct agg *a, uint64_t now_ns, const struct uid_total *t, size_t n);

void agg_set_lost(struct agg *a, uint64_t lost);
void agg_get_totals(const struct agg *a, struct agg_totals *out);

/* Users matching the view, sorted; copies at most max rows; returns the number copied. */
size_t agg_users(const struct agg *a, const struct agg_view *view, struct agg_user *out, size_t max);

/* One user's row; false if unknown. */
bool agg_user_get(const struct agg *a, uint32_t uid, struct agg_user *out);

/* One user's peers by rate (in+out), then bytes; returns the number copied. */
size_t agg_peers(const struct agg *a, uint32_t uid, struct agg_peer *out, size_t max);

const char *agg_sort_name(enum agg_sort s);	/* "RATE", "IN/s", ... */

#endif /* METER_AGGREGATOR_H */
