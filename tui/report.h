/* SPDX-License-Identifier: GPL-2.0 */
/* tmtop report: the history as vnstat-like tables or as the report JSON (service/report.h). */
#ifndef TUI_REPORT_H
#define TUI_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include "service/history.h"
#include "service/keeper.h"

struct report_opts {
	enum history_period period;	/* --5min, --hours, --days (default), --months, --years */
	size_t top;			/* --top N */
	const char *user;		/* -u USER */
	const char *since, *until;
	bool json;
	const char *history_db;		/* --history-db PATH: read it (root) instead of asking */
	const char *socket_path;
	bool socket_given;
	struct quota_rule quotas[KEEPER_MAX_QUOTAS];	/* --quota, reading the database */
	size_t nquotas;
};

/* Exit status: 0, 1 (no history to be had), 2 (bad arguments, said in one line). */
int report_run(const struct report_opts *o);

#endif /* TUI_REPORT_H */
