/* SPDX-License-Identifier: GPL-2.0 */
/*
 * History reports as one JSON object (doc/report.schema.json), built in one place: the
 * service answers its "history" command with it, tmtop report prints it (--json) or renders
 * it as tables, and the screen's history view draws its bars from it. The field names are the
 * snapshot's (in_bytes, out_bytes, ...).
 */
#ifndef SERVICE_REPORT_H
#define SERVICE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <json-c/json.h>
#include "backend/record.h"
#include "service/history.h"
#include "service/keeper.h"

#define REPORT_VERSION 1

struct report_req {
	enum history_period period;
	time_t since, until;		/* [since, until); 0: the period's default range */
	bool one;			/* only `owner` */
	tm_owner_t owner;
	size_t top;			/* the top owners (or, with one, the owner's top peers) */
	const struct quota_rule *quotas;	/* rules to report use against */
	size_t nquotas;
	time_t now;			/* 0: time(NULL); tests pass a fake clock */
};

/* "5min", "hour", "day", "month", "year" <-> enum history_period; -EINVAL when unknown. */
const char *report_period_name(enum history_period p);
int report_period_parse(const char *s, enum history_period *p);

/* The default range of a period ending now: 2 hours of 5 minutes, 24 hours, 30 days, 12 months,
 * every year. */
void report_default_range(struct history *h, enum history_period p, time_t now, time_t *since,
			  time_t *until);

/* The report object, or NULL with one line in err. with_names: look user names up. */
json_object *report_build(struct history *h, const struct report_req *r, bool with_names,
			  char *err, size_t errlen);

#endif /* SERVICE_REPORT_H */
