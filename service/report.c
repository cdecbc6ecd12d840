// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "meter/users.h"
#include "service/proto.h"
#include "service/report.h"

static const char *const period_names[HIST__COUNT] = { "5min", "hour", "day", "month", "year" };

const char *report_period_name(enum history_period p)
{
	return (unsigned int)p < HIST__COUNT ? period_names[p] : "?";
}

int report_period_parse(const char *s, enum history_period *p)
{
	for (int i = 0; i < HIST__COUNT; i++) {
		if (!strcmp(s, period_names[i])) {
			*p = (enum history_period)i;
			return 0;
		}
	}
	return -EINVAL;
}

void report_default_range(struct history *h, enum history_period p, time_t now, time_t *since,
			  time_t *until)
{
	static const int back[HIST__COUNT] = { 24, 24, 31, 12, 0 };	/* buckets up to now's */
	time_t t = history_bucket_start(h, p, now);

	*until = now + 1;
	for (int i = 0; i < back[p] - 1 && t > 0; i++)
		t = history_bucket_start(h, p, t - 1);
	*since = p == HIST_YEAR ? 0 : t;
}

static void label(enum history_period p, time_t start, char *buf, size_t len)
{
	static const char *const fmt[HIST__COUNT] = { "%Y-%m-%d %H:%M", "%Y-%m-%d %H:00",
						      "%Y-%m-%d", "%Y-%m-%d", "%Y" };
	struct tm tm;

	if (!localtime_r(&start, &tm) || !strftime(buf, len, fmt[p], &tm))
		snprintf(buf, len, "%lld", (long long)start);
}

static void put_counts(json_object *o, const uint64_t bytes[2], const uint64_t packets[2])
{
	json_object_object_add(o, "in_bytes", json_object_new_uint64(bytes[0]));
	json_object_object_add(o, "out_bytes", json_object_new_uint64(bytes[1]));
	if (packets) {
		json_object_object_add(o, "in_packets", json_object_new_uint64(packets[0]));
		json_object_object_add(o, "out_packets", json_object_new_uint64(packets[1]));
	}
}

static json_object *quota_use(struct history *h, const struct quota_rule *q, tm_owner_t owner,
			      time_t now)
{
	enum history_period p = q->period == 'd' ? HIST_DAY : HIST_MONTH;
	time_t start = history_bucket_start(h, p, now), end;
	json_object *o;
	uint64_t b[2], used;

	if (history_usage(h, owner, p, now, b))
		return NULL;
	end = history_bucket_start(h, p, start + (p == HIST_DAY ? 26 * 3600 : 32 * 86400));
	used = b[0] + b[1];
	o = json_object_new_object();
	json_object_object_add(o, "period", json_object_new_string(p == HIST_DAY ? "day" : "month"));
	json_object_object_add(o, "limit", json_object_new_uint64(q->bytes));
	json_object_object_add(o, "used", json_object_new_uint64(used));
	json_object_object_add(o, "estimate", json_object_new_uint64(
		now > start && end > start ? (uint64_t)((double)used * (double)(end - start) /
							(double)(now - start)) : used));
	json_object_object_add(o, "start", json_object_new_int64(start));
	json_object_object_add(o, "end", json_object_new_int64(end));
	return o;
}

struct user_rows {
	tm_owner_t owner;
	uint64_t total[4];
	json_object *rows;
};

static int by_total(const void *a, const void *b)
{
	const struct user_rows *x = a, *y = b;
	uint64_t tx = x->total[0] + x->total[1], ty = y->total[0] + y->total[1];

	if (tx != ty)
		return tx > ty ? -1 : 1;
	return x->owner < y->owner ? -1 : x->owner > y->owner;
}

json_object *report_build(struct history *h, const struct report_req *r, bool with_names,
			  char *err, size_t errlen)
{
	time_t now = r->now ? r->now : time(NULL), since = r->since, until = r->until;
	struct history_row *rows = NULL;
	struct user_rows *u = NULL;
	size_t nu = 0;
	json_object *o, *users;
	int n;

	if (!since && !until)
		report_default_range(h, r->period, now, &since, &until);
	n = history_query(h, r->period, r->one ? &r->owner : NULL, since, until, &rows);
	if (n < 0) {
		snprintf(err, errlen, "reading the history: %s", strerror(-n));
		return NULL;
	}
	u = calloc((size_t)n + 1, sizeof(*u));
	if (!u) {
		free(rows);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		const struct history_row *hr = &rows[i];
		json_object *row = json_object_new_object();
		char lb[32];
		size_t k;

		for (k = 0; k < nu && u[k].owner != hr->owner; k++)
			;
		if (k == nu) {
			u[nu].owner = hr->owner;
			u[nu].rows = json_object_new_array();
			nu++;
		}
		label(r->period, hr->start, lb, sizeof(lb));
		json_object_object_add(row, "start", json_object_new_int64(hr->start));
		json_object_object_add(row, "label", json_object_new_string(lb));
		put_counts(row, hr->bytes, hr->packets);
		json_object_array_add(u[k].rows, row);
		u[k].total[0] += hr->bytes[0];
		u[k].total[1] += hr->bytes[1];
		u[k].total[2] += hr->packets[0];
		u[k].total[3] += hr->packets[1];
	}
	free(rows);
	qsort(u, nu, sizeof(*u), by_total);

	o = json_object_new_object();
	json_object_object_add(o, "v", json_object_new_int(REPORT_VERSION));
	json_object_object_add(o, "period", json_object_new_string(report_period_name(r->period)));
	json_object_object_add(o, "since", json_object_new_int64(since));
	json_object_object_add(o, "until", json_object_new_int64(until));
	json_object_object_add(o, "now", json_object_new_int64(now));
	json_object_object_add(o, "month_begins", json_object_new_int64(
		history_bucket_start(h, HIST_MONTH, now)));
	json_object_object_add(o, "day_begins", json_object_new_int64(
		history_bucket_start(h, HIST_DAY, now)));
	users = json_object_new_array();
	for (size_t k = 0; k < nu; k++) {
		json_object *uo = json_object_new_object(), *t = json_object_new_object();
		const struct quota_rule *q = quota_match(r->quotas, r->nquotas, u[k].owner);

		proto_put_owner(uo, u[k].owner, with_names);
		json_object_object_add(uo, "rows", u[k].rows);
		put_counts(t, u[k].total, u[k].total + 2);
		json_object_object_add(uo, "total", t);
		if (q)
			json_object_object_add(uo, "quota", quota_use(h, q, u[k].owner, now));
		json_object_array_add(users, uo);
	}
	/* a user with a quota and no traffic in the range still has a use to show */
	if (r->one && !nu) {
		const struct quota_rule *q = quota_match(r->quotas, r->nquotas, r->owner);

		if (q) {
			json_object *uo = json_object_new_object(), *t = json_object_new_object();
			uint64_t zero[2] = { 0, 0 };

			proto_put_owner(uo, r->owner, with_names);
			json_object_object_add(uo, "rows", json_object_new_array());
			put_counts(t, zero, zero);
			json_object_object_add(uo, "total", t);
			json_object_object_add(uo, "quota", quota_use(h, q, r->owner, now));
			json_object_array_add(users, uo);
		}
	}
	json_object_object_add(o, "users", users);
	free(u);

	if (r->top && !r->one) {
		struct history_row *top = NULL;
		json_object *a = json_object_new_array();

		n = history_top_owners(h, since, until, r->top, &top);
		for (int i = 0; i < n; i++) {
			json_object *e = json_object_new_object();

			proto_put_owner(e, top[i].owner, with_names);
			put_counts(e, top[i].bytes, top[i].packets);
			json_object_array_add(a, e);
		}
		free(top);
		json_object_object_add(o, "top", a);
	} else if (r->top && r->one) {
		struct history_peer *peers = NULL;
		json_object *a = json_object_new_array();

		n = history_top_peers(h, r->owner, since, until, r->top, &peers);
		for (int i = 0; i < n; i++) {
			json_object *e = json_object_new_object();
			char addr[64];

			json_object_object_add(e, "other", json_object_new_boolean(!peers[i].family));
			json_object_object_add(e, "addr", json_object_new_string(
				proto_addr(addr, sizeof(addr), peers[i].family, peers[i].addr)));
			json_object_object_add(e, "netns", json_object_new_int64(peers[i].netns));
			put_counts(e, peers[i].bytes, NULL);
			json_object_array_add(a, e);
		}
		free(peers);
		json_object_object_add(o, "peers", a);
	}
	return o;
}
