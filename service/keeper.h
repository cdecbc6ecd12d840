/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The keeper: what a meter writes down over time, off the engine's hot path. A thread takes a
 * snapshot every few seconds, turns the exact per-owner totals into deltas for the history
 * store (service/history.c), checks the quotas, and writes the history every interval; peers
 * go into the history once an interval. Used by the service and by a standalone tmtop.
 */
#ifndef SERVICE_KEEPER_H
#define SERVICE_KEEPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "meter/engine.h"
#include "service/history.h"

#define KEEPER_MAX_QUOTAS 64

/* --quota WHO=SIZE/day|month: who (a uid, a group's members, or everyone) may use how much. */
struct quota_rule {
	enum { QUOTA_UID, QUOTA_GROUP, QUOTA_ALL } who;
	uint32_t id;		/* uid or gid */
	char name[64];		/* as given, for messages */
	uint64_t bytes;		/* in + out */
	char period;		/* 'd' or 'm' */
};

struct keeper_opts {
	const char *db_path;		/* NULL: no history (and no quotas) */
	unsigned int interval_s;	/* history writes; default 60 */
	struct history_config hcfg;
	struct quota_rule quotas[KEEPER_MAX_QUOTAS];
	size_t nquotas;
	const char *quota_command;	/* run once per user and period on crossing; NULL: none */
};

/* History options from the shared command line (no history when m->no_history). */
struct meter_cli;
void keeper_opts_from_cli(const struct meter_cli *m, struct keeper_opts *o);

/* WHO=SIZE/day|month into r; 0 or -EINVAL with one line in err. */
int quota_parse(const char *arg, struct quota_rule *r, char *err, size_t errlen);

struct keeper;

/* As root, before the switch: the database's directory, owned by the meter's user when it is
 * the default one. 0 or -errno with one line in err. */
int keeper_prepare(const struct keeper_opts *o, uid_t uid, gid_t gid, char *err, size_t errlen);

/* After the switch: open the database and start the thread. *out NULL when there is no
 * history. 0 or -errno with one line in err (a database that cannot be opened is an error). */
int keeper_start(struct keeper **out, const struct keeper_opts *o, struct engine *e, char *err,
		 size_t errlen);

/* A last write of everything, then the thread ends; safe with NULL. */
void keeper_stop(struct keeper *k);

/* Quota use of the users in s (the fields snap_user.quota_*). */
void keeper_decorate(struct keeper *k, struct snapshot *s);

/* The store, for reports and the history view (thread-safe). */
struct history *keeper_history(struct keeper *k);

/* The quota rule that applies to owner (the uid's own, else a group's, else everyone's). */
const struct quota_rule *quota_match(const struct quota_rule *rules, size_t n, tm_owner_t owner);

#endif /* SERVICE_KEEPER_H */
