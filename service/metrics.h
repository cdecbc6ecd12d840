/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Metrics for Prometheus (issue 12): the engine's snapshot in the text exposition format 0.0.4,
 * served over HTTP (--metrics-listen, libmicrohttpd on its own thread) and/or written atomically
 * to a file for node_exporter's textfile collector (--metrics-file).
 *
 * One exposition costs at most one engine_snapshot(); expositions closer together than the
 * engine's counter cadence share one. Names are looked up after the snapshot, outside every
 * lock, within a time budget: an owner whose name is not known yet is left out of that one
 * exposition (it comes back with its full total) rather than shown under a label that changes.
 *
 * Counters only go up. Each owner's counters are the engine's, which keep their totals across
 * eviction; an owner evicted from the live table (so absent from the snapshot) keeps its series
 * at the totals last seen, as many of them as the engine's ledger remembers. Past --metrics-max-users owners the rest are summed under uid="other", which is kept
 * by this module as a running sum of the folded owners' increments, so it never drops when an
 * owner moves in or out of the labelled set. A meter restart starts every counter at zero again:
 * Prometheus sees a counter reset, and tmtop_start_time_seconds changes.
 */
#ifndef SERVICE_METRICS_H
#define SERVICE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include "backend/record.h"

#define METRICS_DEFAULT_MAX_USERS	100
#define METRICS_MAX_MAX_USERS		100000
#define METRICS_DEFAULT_INTERVAL_S	15
#define METRICS_MAX_INTERVAL_S		86400
#define METRICS_CONTENT_TYPE		"text/plain; version=0.0.4; charset=utf-8"

struct service_opts;
struct engine;
struct snapshot;

/* --metrics-*: 1 handled, 0 not ours, -EINVAL with one line in err. */
int metrics_option(struct service_opts *o, int opt, const char *arg, char *err, size_t errlen);
void metrics_usage(FILE *out);

/*
 * ADDR:PORT with a numeric address: 127.0.0.1:9477, [::1]:9477, [fe80::1%eth0]:9477. A host
 * name is refused (what it resolves to may change; the meter binds once). 0 or -EINVAL.
 */
int metrics_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *err,
			 size_t errlen);

/* ---- the exposition, without I/O (unit-tested) ------------------------------------------- */

/* What the renderer remembers between expositions: who was labelled, and "other". */
struct metrics_fold;

/* One labelled owner of an exposition. */
struct metrics_row {
	tm_owner_t owner;
	uint64_t v[4];			/* bytes in, out, packets in, out */
	const char *name;		/* NULL: not looked up yet; the row is left out */
};

/* What metrics_fold() decided for one snapshot. */
struct metrics_view {
	struct metrics_row *rows;	/* labelled owners, by owner */
	size_t nrows;
	bool have_other;		/* once anything was folded, "other" stays */
	uint64_t other[4];		/* running sums of the folded owners' increments */
	size_t folded;			/* owners in "other" this time */
};

/* Health of the module itself, for the exposition. */
struct metrics_self {
	bool file;			/* --metrics-file is on */
	uint64_t file_errors;		/* failed writes of it */
	size_t names_pending;		/* owners left out: name not looked up in time */
};

/* keep_absent: owners absent from the snapshot whose last totals are remembered. */
struct metrics_fold *metrics_fold_new(unsigned int max_users, size_t keep_absent);
void metrics_fold_free(struct metrics_fold *f);

/* Account s (newer than any snapshot before) and fill v (free with metrics_view_free). */
int metrics_fold(struct metrics_fold *f, const struct snapshot *s, struct metrics_view *v);
void metrics_view_free(struct metrics_view *v);

/* Remember an owner's name for the next expositions (the pointer must stay valid). */
void metrics_fold_set_name(struct metrics_fold *f, tm_owner_t owner, const char *name);

/* The exposition of s as decided in v: a malloc'd text in *out. 0 or -ENOMEM. */
int metrics_format(const struct snapshot *s, const struct metrics_view *v,
		   const struct metrics_self *self, char **out, size_t *len);

/* ---- the endpoint and the file ----------------------------------------------------------- */

struct metrics;

/*
 * Before the switch to the meter's user: bind --metrics-listen, open --metrics-file's
 * directory. *out is NULL when neither is asked for. 0 or -errno with one line in err.
 */
int metrics_open(struct metrics **out, const struct service_opts *o, char *err, size_t errlen);

/* After the switch: start serving and writing. 0 or -errno with err. Safe with NULL. */
int metrics_start(struct metrics *m, struct engine *e, char *err, size_t errlen);

/* "http://127.0.0.1:9477/metrics", or NULL when not serving. */
const char *metrics_url(const struct metrics *m);

/* Stop the threads and remove the file; safe with NULL and more than once. */
void metrics_stop(struct metrics *m);
void metrics_free(struct metrics *m);

#endif /* SERVICE_METRICS_H */
