// SPDX-License-Identifier: GPL-2.0
/*
 * tmtop report: the history as tables that read like vnstat's, or as the report JSON. The
 * report itself is built in one place (service/report.c): read from the database here
 * (--history-db, root), or asked of the service, which answers each caller for its own uid
 * unless it is trusted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "meter/cli.h"
#include "meter/users.h"
#include "service/client.h"
#include "service/proto.h"
#include "service/report.h"
#include "tui/format.h"
#include "tui/report.h"

#define PROG "tmtop report"
#define CALL_MS 10000

static int64_t jint(json_object *o, const char *k)
{
	json_object *j;

	return json_object_object_get_ex(o, k, &j) ? json_object_get_int64(j) : 0;
}

static uint64_t ju64(json_object *o, const char *k)
{
	json_object *j;

	return json_object_object_get_ex(o, k, &j) ? json_object_get_uint64(j) : 0;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *j;

	return json_object_object_get_ex(o, k, &j) && j ? json_object_get_string(j) : "";
}

/* vnstat's units: base 1024, two decimals, "KiB" ... */
static char *units(char *buf, size_t len, uint64_t v)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = (double)v;
	int i = 0;

	while (d >= 1024 && i < 5) {
		d /= 1024;
		i++;
	}
	if (!i)
		snprintf(buf, len, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, len, "%.2f %s", d, u[i]);
	return buf;
}

static char *rate_units(char *buf, size_t len, double bytes, double secs)
{
	static const char *const u[] = { "bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s" };
	double bits = secs > 0 ? bytes * 8 / secs : 0;
	int i = 0;

	while (bits >= 1000 && i < 4) {
		bits /= 1000;
		i++;
	}
	snprintf(buf, len, "%.2f %s", bits, u[i]);
	return buf;
}

static const char *row_head(const char *period)
{
	if (!strcmp(period, "5min") || !strcmp(period, "hour"))
		return "time";
	return !strcmp(period, "year") ? "year" : !strcmp(period, "month") ? "month" : "day";
}

static long period_secs(const char *period)
{
	if (!strcmp(period, "5min"))
		return 300;
	if (!strcmp(period, "hour"))
		return 3600;
	if (!strcmp(period, "day"))
		return 86400;
	if (!strcmp(period, "month"))
		return 30L * 86400;
	return 365L * 86400;
}

static void rule(void)
{
	printf("    -----------------+--------------+--------------+--------------+---------------\n");
}

static void who(json_object *u, char *buf, size_t len)
{
	char name[128];
	json_object *j;

	fmt_sanitize(name, sizeof(name), jstr(u, "user"));
	if (json_object_object_get_ex(u, "uid", &j) && j)
		snprintf(buf, len, "%s (uid %lld)", name, (long long)json_object_get_int64(j));
	else
		snprintf(buf, len, "%s", name);
}

static void print_quota(json_object *q)
{
	char a[32], b[32], end[32];
	time_t e = (time_t)jint(q, "end");
	struct tm tm;
	uint64_t limit = ju64(q, "limit"), used = ju64(q, "used");

	if (!localtime_r(&e, &tm) || !strftime(end, sizeof(end), "%Y-%m-%d", &tm))
		snprintf(end, sizeof(end), "the period's end");
	printf("    quota %s/%s: %.1f %% used, %s by %s at this pace%s\n", units(a, sizeof(a), limit),
	       jstr(q, "period"), limit ? 100.0 * (double)used / (double)limit : 0,
	       units(b, sizeof(b), ju64(q, "estimate")), end,
	       used >= limit ? " (over)" : ju64(q, "estimate") > limit ? " (will be over)" : "");
}

static void print_user(json_object *u, const char *period, time_t now)
{
	char head[256], a[32], b[32], c[32], r[32];
	json_object *rows, *t;
	long secs = period_secs(period);

	who(u, head, sizeof(head));
	printf("\n %s\n\n", head);
	printf("    %16s |%13s |%13s |%13s | %14s\n", row_head(period), "rx", "tx", "total",
	       "avg. rate");
	rule();
	if (json_object_object_get_ex(u, "rows", &rows)) {
		for (size_t i = 0; i < json_object_array_length(rows); i++) {
			json_object *row = json_object_array_get_idx(rows, i);
			uint64_t in = ju64(row, "in_bytes"), out = ju64(row, "out_bytes");
			time_t start = (time_t)jint(row, "start");
			/* the current bucket's rate is over the time it has run so far */
			double span = now > start && now - start < secs ? (double)(now - start) :
				      (double)secs;

			printf("    %16s |%13s |%13s |%13s | %14s\n", jstr(row, "label"),
			       units(a, sizeof(a), in), units(b, sizeof(b), out),
			       units(c, sizeof(c), in + out),
			       rate_units(r, sizeof(r), (double)(in + out), span));
		}
	}
	rule();
	if (json_object_object_get_ex(u, "total", &t))
		printf("    %16s |%13s |%13s |%13s |\n", "total", units(a, sizeof(a),
		       ju64(t, "in_bytes")), units(b, sizeof(b), ju64(t, "out_bytes")),
		       units(c, sizeof(c), ju64(t, "in_bytes") + ju64(t, "out_bytes")));
	if (json_object_object_get_ex(u, "quota", &t) && t)
		print_quota(t);
}

static void print_range(json_object *rep)
{
	time_t s = (time_t)jint(rep, "since"), u = (time_t)jint(rep, "until") - 1;
	char a[32], b[32];
	struct tm tm;

	if (!s || !localtime_r(&s, &tm) || !strftime(a, sizeof(a), "%Y-%m-%d %H:%M", &tm))
		snprintf(a, sizeof(a), "the start");
	if (!localtime_r(&u, &tm) || !strftime(b, sizeof(b), "%Y-%m-%d %H:%M", &tm))
		snprintf(b, sizeof(b), "now");
	printf(" tmtop history by %s, %s .. %s\n", jstr(rep, "period"), a, b);
}

static void print_text(json_object *rep)
{
	json_object *users, *top;
	time_t now = (time_t)jint(rep, "now");
	const char *period = jstr(rep, "period");

	print_range(rep);
	if (json_object_object_get_ex(rep, "top", &top)) {
		uint64_t all = 0;
		char a[32], b[32], c[32], name[160];

		for (size_t i = 0; i < json_object_array_length(top); i++) {
			json_object *e = json_object_array_get_idx(top, i);

			all += ju64(e, "in_bytes") + ju64(e, "out_bytes");
		}
		printf("\n    %3s  %-24s |%13s |%13s |%13s | share\n", "#", "user", "rx", "tx",
		       "total");
		for (size_t i = 0; i < json_object_array_length(top); i++) {
			json_object *e = json_object_array_get_idx(top, i);
			uint64_t in = ju64(e, "in_bytes"), out = ju64(e, "out_bytes");

			who(e, name, sizeof(name));
			printf("    %3zu  %-24.24s |%13s |%13s |%13s | %5.1f %%\n", i + 1, name,
			       units(a, sizeof(a), in), units(b, sizeof(b), out),
			       units(c, sizeof(c), in + out),
			       all ? 100.0 * (double)(in + out) / (double)all : 0);
		}
	}
	if (json_object_object_get_ex(rep, "peers", &top)) {
		char a[32], b[32], addr[96];

		printf("\n    %-40s |%13s |%13s\n", "peer", "rx", "tx");
		for (size_t i = 0; i < json_object_array_length(top); i++) {
			json_object *e = json_object_array_get_idx(top, i);

			if (jint(e, "netns"))
				snprintf(addr, sizeof(addr), "%s [netns %lld]", jstr(e, "addr"),
					 (long long)jint(e, "netns"));
			else
				snprintf(addr, sizeof(addr), "%s", jstr(e, "other")[0] == 't' ?
					 "other" : jstr(e, "addr"));
			printf("    %-40s |%13s |%13s\n", addr, units(a, sizeof(a),
			       ju64(e, "in_bytes")), units(b, sizeof(b), ju64(e, "out_bytes")));
		}
	}
	if (json_object_object_get_ex(rep, "users", &users)) {
		if (!json_object_array_length(users))
			printf("\n    no traffic in this range\n");
		for (size_t i = 0; i < json_object_array_length(users); i++)
			print_user(json_object_array_get_idx(users, i), period, now);
	}
}

/* "YYYY-MM-DD[ HH:MM[:SS]]" in local time, or "@EPOCH". */
static int parse_time(const char *s, time_t *out)
{
	struct tm tm = { .tm_isdst = -1 };
	const char *end;
	char *e;

	if (s[0] == '@') {
		long long v = strtoll(s + 1, &e, 10);

		if (e == s + 1 || *e)
			return -EINVAL;
		*out = (time_t)v;
		return 0;
	}
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end && *end == ' ' && strptime(end + 1, "%H:%M", &tm)) {
		const char *x = strptime(end + 1, "%H:%M:%S", &tm);

		end = x ? x : strptime(end + 1, "%H:%M", &tm);
	}
	if (!end || *end)
		return -EINVAL;
	*out = mktime(&tm);
	return *out == (time_t)-1 ? -EINVAL : 0;
}

static json_object *ask_service(const struct report_opts *o, const struct report_req *r,
				char *err, size_t errlen)
{
	struct client_conn *c;
	json_object *req, *resp = NULL, *j, *rep = NULL;
	char tok[OWNER_TOKEN_LEN];
	int ret;

	ret = client_connect(&c, o->socket_path, err, errlen);
	if (ret)
		return NULL;
	req = json_object_new_object();
	json_object_object_add(req, "v", json_object_new_int(PROTO_VERSION));
	json_object_object_add(req, "cmd", json_object_new_string("history"));
	json_object_object_add(req, "period", json_object_new_string(
		report_period_name(r->period)));
	if (r->since || r->until) {
		json_object_object_add(req, "since", json_object_new_int64(r->since));
		json_object_object_add(req, "until", json_object_new_int64(r->until));
	}
	if (r->top)
		json_object_object_add(req, "top", json_object_new_int64((int64_t)r->top));
	if (r->one)
		json_object_object_add(req, "owner", json_object_new_string(
			owner_token(r->owner, tok, sizeof(tok))));
	ret = client_call(c, req, &resp, NULL, CALL_MS, err, errlen);
	json_object_put(req);
	client_close(c);
	if (ret)
		return NULL;
	if (!json_object_object_get_ex(resp, "ok", &j) || !json_object_get_boolean(j)) {
		snprintf(err, errlen, "the meter says: %s", client_error(resp));
	} else if (json_object_object_get_ex(resp, "history", &j)) {
		rep = json_object_get(j);
	} else {
		snprintf(err, errlen, "the meter's answer has no history");
	}
	json_object_put(resp);
	return rep;
}

int report_run(const struct report_opts *o)
{
	struct report_req r = { .period = o->period, .top = o->top,
				.quotas = o->quotas, .nquotas = o->nquotas };
	char err[512] = "";
	json_object *rep = NULL;
	struct history *h = NULL;
	const char *db = o->history_db;
	int ret;

	if (o->user) {
		if (owner_lookup(o->user, &r.owner)) {
			fprintf(stderr, PROG ": no such user '%s'\n", o->user);
			return 2;
		}
		r.one = true;
	}
	if ((o->since && parse_time(o->since, &r.since)) ||
	    (o->until && parse_time(o->until, &r.until))) {
		fprintf(stderr, PROG ": bad --%s '%s': use YYYY-MM-DD, 'YYYY-MM-DD HH:MM' or @EPOCH\n",
			o->since && parse_time(o->since, &r.since) ? "since" : "until",
			o->since && parse_time(o->since, &r.since) ? o->since : o->until);
		return 2;
	}
	if ((r.since || r.until) && !r.until)
		r.until = time(NULL) + 1;
	if (r.since && r.until && r.until <= r.since) {
		fprintf(stderr, PROG ": --until must come after --since\n");
		return 2;
	}
	/* The database itself when named (root reads it), else the service, else the default
	 * database for whoever may read it. */
	if (!db) {
		rep = ask_service(o, &r, err, sizeof(err));
		if (!rep && (o->socket_given || access(TM_DEFAULT_HISTORY, R_OK))) {
			fprintf(stderr, PROG ": %s%s\n", err, o->socket_given ? "" :
				" (no meter answers and the history database is not readable: "
				"--history-db PATH as root)");
			return 1;
		}
		db = TM_DEFAULT_HISTORY;
	}
	if (!rep) {
		ret = history_open(&h, db, NULL, true, err, sizeof(err));
		if (ret) {
			fprintf(stderr, PROG ": %s: %s\n", db, err);
			return 1;
		}
		if (!r.since && !r.until)
			report_default_range(h, r.period, time(NULL), &r.since, &r.until);
		rep = report_build(h, &r, true, err, sizeof(err));
		history_close(h);
		if (!rep) {
			fprintf(stderr, PROG ": %s\n", err);
			return 1;
		}
	}
	if (o->json)
		puts(json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PLAIN |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_text(rep);
	json_object_put(rep);
	return fflush(stdout) ? 1 : 0;
}
