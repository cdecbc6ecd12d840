// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for service/history.c: a real SQLite file in a fresh temporary directory per test,
 * a fake clock (every call takes `now`), TZ=UTC unless a test says otherwise. No root needed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sqlite3.h>
#include <cmocka.h>

#include "service/history.h"

#define HOUR	3600
#define DAY	(24 * HOUR)
#define ALICE	HIST_OWNER(HIST_KIND_USER, 1000)
#define BOB	HIST_OWNER(HIST_KIND_USER, 1001)
#define NOSOCK	HIST_OWNER(HIST_KIND_NOSOCK, 0)

struct fx {
	char dir[64];
	char path[96];
};

/* ---- helpers ------------------------------------------------------------------------------ */

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* A local time in the current TZ (DST decided by the zone). */
static time_t at(int y, int mo, int d, int hh, int mm, int ss)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = hh,
			 .tm_min = mm, .tm_sec = ss, .tm_isdst = -1 };

	return mktime(&tm);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	set_tz("UTC");
	strcpy(f->dir, "/tmp/tmtop-history-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/history.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	set_tz("UTC");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct history *open_cfg(const char *path, const struct history_config *cfg)
{
	struct history *h = NULL;
	char err[256] = "";
	int ret = history_open(&h, path, cfg, false, err, sizeof(err));

	if (ret)
		fprintf(stderr, "history_open: %d %s\n", ret, err);
	assert_int_equal(ret, 0);
	assert_non_null(h);
	return h;
}

static struct history *open_forever(const char *path)
{
	struct history_config c;

	history_config_default(&c);
	c.keep_5min_h = c.keep_hour_d = c.keep_day_d = c.keep_month_m = c.keep_year_y = 0;
	return open_cfg(path, &c);
}

static void add(struct history *h, time_t now, uint64_t owner, uint64_t in, uint64_t out)
{
	uint64_t b[2] = { in, out }, p[2] = { in ? 1 : 0, out ? 1 : 0 };

	history_add(h, now, owner, b, p);
}

static void add_peer4(struct history *h, time_t now, uint64_t owner, uint32_t ip, uint64_t in,
		      uint64_t out)
{
	uint8_t a[16] = { ip >> 24, ip >> 16, ip >> 8, ip, 0xee, 0xee };	/* junk after 4 */
	uint64_t b[2] = { in, out };

	history_add_peer(h, now, owner, 4, a, 0, b);
}

/* Sum of in + out bytes over all buckets of a period (and owner, when given). */
static uint64_t level_sum(struct history *h, enum history_period p, const uint64_t *owner,
			  int *nrows)
{
	struct history_row *r;
	uint64_t s = 0;
	int n = history_query(h, p, owner, INT64_MIN / 2, INT64_MAX / 2, &r);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++)
		s += r[i].bytes[0] + r[i].bytes[1];
	if (nrows)
		*nrows = n;
	free(r);
	return s;
}

/* The one bucket of period p that starts at start, for owner; fails when absent. */
static struct history_row get_row(struct history *h, enum history_period p, uint64_t owner,
				  time_t start)
{
	struct history_row *r, out;
	int n = history_query(h, p, &owner, start, start + 1, &r);

	assert_int_equal(n, 1);
	out = r[0];
	free(r);
	return out;
}

static int count_rows(struct history *h, enum history_period p, const uint64_t *owner)
{
	int n;

	level_sum(h, p, owner, &n);
	return n;
}

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, msg);
	sqlite3_free(msg);
	assert_int_equal(rc, SQLITE_OK);
}

/* ---- buckets ------------------------------------------------------------------------------ */

static void test_bucket_starts(void **state)
{
	struct fx *f = *state;
	struct history_config c;
	struct history *h, *h15;
	time_t t = at(2026, 3, 20, 13, 47, 31);

	h = open_forever(f->path);
	assert_int_equal(history_bucket_start(h, HIST_5MIN, t), at(2026, 3, 20, 13, 45, 0));
	assert_int_equal(history_bucket_start(h, HIST_HOUR, t), at(2026, 3, 20, 13, 0, 0));
	assert_int_equal(history_bucket_start(h, HIST_DAY, t), at(2026, 3, 20, 0, 0, 0));
	assert_int_equal(history_bucket_start(h, HIST_MONTH, t), at(2026, 3, 1, 0, 0, 0));
	assert_int_equal(history_bucket_start(h, HIST_YEAR, t), at(2026, 1, 1, 0, 0, 0));
	/* New year's midnight starts a bucket of every period; the second before it does not. */
	t = at(2026, 1, 1, 0, 0, 0);
	for (int p = 0; p < HIST__COUNT; p++) {
		assert_int_equal(history_bucket_start(h, p, t), t);
		assert_true(history_bucket_start(h, p, t - 1) < t);
	}
	assert_int_equal(history_bucket_start(h, HIST__COUNT, t), (time_t)-1);
	history_close(h);

	history_config_default(&c);
	c.month_start = 15;
	h15 = open_cfg(f->path, &c);
	assert_int_equal(history_bucket_start(h15, HIST_MONTH, at(2026, 3, 20, 12, 0, 0)),
			 at(2026, 3, 15, 0, 0, 0));
	assert_int_equal(history_bucket_start(h15, HIST_MONTH, at(2026, 3, 10, 12, 0, 0)),
			 at(2026, 2, 15, 0, 0, 0));
	assert_int_equal(history_bucket_start(h15, HIST_MONTH, at(2026, 3, 15, 0, 0, 0)),
			 at(2026, 3, 15, 0, 0, 0));
	assert_int_equal(history_bucket_start(h15, HIST_MONTH, at(2026, 3, 14, 23, 59, 59)),
			 at(2026, 2, 15, 0, 0, 0));
	/* Across the new year the billing month starts in December. */
	assert_int_equal(history_bucket_start(h15, HIST_MONTH, at(2026, 1, 10, 0, 0, 0)),
			 at(2025, 12, 15, 0, 0, 0));
	/* Years stay calendar years. */
	assert_int_equal(history_bucket_start(h15, HIST_YEAR, at(2026, 1, 10, 0, 0, 0)),
			 at(2026, 1, 1, 0, 0, 0));
	history_close(h15);
}

/* One delta of each kind lands once in each of the five levels, queued ones count for usage. */
static void test_rollup(void **state)
{
	struct fx *f = *state;
	struct history *h = open_forever(f->path);
	time_t t1 = at(2026, 3, 31, 23, 58, 10), t2 = at(2026, 3, 31, 23, 59, 50);
	time_t t3 = at(2026, 4, 1, 0, 1, 0);
	uint64_t u[2], o = ALICE;
	struct history_row r;

	add(h, t1, ALICE, 100, 10);
	add(h, t2, ALICE, 200, 20);
	add(h, t3, ALICE, 400, 40);
	add(h, t3, BOB, 1, 2);
	add(h, t3, NOSOCK, 0, 0);	/* nothing: no row */

	/* Queued, not yet on disk: usage sees it, queries do not. */
	assert_int_equal(history_usage(h, ALICE, HIST_DAY, t1, u), 0);
	assert_int_equal(u[0], 300);
	assert_int_equal(u[1], 30);
	assert_int_equal(count_rows(h, HIST_DAY, NULL), 0);

	assert_int_equal(history_flush(h, t3, false), 0);
	assert_int_equal(history_usage(h, ALICE, HIST_DAY, t1, u), 0);
	assert_int_equal(u[0], 300);
	assert_int_equal(history_usage(h, ALICE, HIST_MONTH, t3, u), 0);
	assert_int_equal(u[0], 400);
	assert_int_equal(u[1], 40);
	assert_int_equal(history_usage(h, ALICE, HIST_YEAR, t3, u), 0);
	assert_int_equal(u[0], 700);

	r = get_row(h, HIST_5MIN, ALICE, at(2026, 3, 31, 23, 55, 0));
	assert_int_equal(r.bytes[0], 300);
	assert_int_equal(r.bytes[1], 30);
	assert_int_equal(r.packets[0], 2);
	assert_int_equal(r.packets[1], 2);
	r = get_row(h, HIST_HOUR, ALICE, at(2026, 3, 31, 23, 0, 0));
	assert_int_equal(r.bytes[0], 300);
	r = get_row(h, HIST_DAY, ALICE, at(2026, 4, 1, 0, 0, 0));
	assert_int_equal(r.bytes[0], 400);
	r = get_row(h, HIST_MONTH, ALICE, at(2026, 3, 1, 0, 0, 0));
	assert_int_equal(r.bytes[0], 300);
	r = get_row(h, HIST_MONTH, ALICE, at(2026, 4, 1, 0, 0, 0));
	assert_int_equal(r.bytes[1], 40);
	r = get_row(h, HIST_YEAR, ALICE, at(2026, 1, 1, 0, 0, 0));
	assert_int_equal(r.bytes[0], 700);
	assert_int_equal(r.bytes[1], 70);
	assert_int_equal(r.packets[0], 3);
	r = get_row(h, HIST_YEAR, BOB, at(2026, 1, 1, 0, 0, 0));
	assert_int_equal(r.bytes[0], 1);
	assert_int_equal(r.bytes[1], 2);

	for (int p = 0; p < HIST__COUNT; p++) {
		assert_int_equal(level_sum(h, p, &o, NULL), 770);
		assert_int_equal(level_sum(h, p, NULL, NULL), 773);
	}
	assert_int_equal(count_rows(h, HIST_5MIN, NULL), 3);
	assert_int_equal(count_rows(h, HIST_DAY, NULL), 3);
	assert_int_equal(count_rows(h, HIST_YEAR, NULL), 2);

	/* Ordered by start, then owner. */
	struct history_row *rows;
	int n = history_query(h, HIST_DAY, NULL, 0, INT32_MAX, &rows);

	assert_int_equal(n, 3);
	assert_true(rows[0].start < rows[1].start);
	assert_true(rows[1].start == rows[2].start && rows[1].owner < rows[2].owner);
	free(rows);

	/* Nothing queued, nothing to do: a second flush writes nothing. */
	assert_int_equal(history_flush(h, t3 + 10, false), 0);
	assert_int_equal(level_sum(h, HIST_YEAR, NULL, NULL), 773);
	history_close(h);
}

static void test_month_start(void **state)
{
	struct fx *f = *state;
	struct history_config c;
	struct history *h, *ro;
	uint64_t u[2];
	char err[256];

	history_config_default(&c);
	c.month_start = 15;
	h = open_cfg(f->path, &c);
	add(h, at(2026, 3, 14, 23, 0, 0), ALICE, 1000, 0);
	add(h, at(2026, 3, 15, 1, 0, 0), ALICE, 20, 0);
	add(h, at(2026, 4, 14, 23, 59, 59), ALICE, 3, 0);
	add(h, at(2026, 4, 15, 0, 0, 0), ALICE, 400, 0);
	assert_int_equal(history_flush(h, at(2026, 4, 15, 0, 0, 0), false), 0);

	assert_int_equal(get_row(h, HIST_MONTH, ALICE, at(2026, 2, 15, 0, 0, 0)).bytes[0], 1000);
	assert_int_equal(get_row(h, HIST_MONTH, ALICE, at(2026, 3, 15, 0, 0, 0)).bytes[0], 23);
	assert_int_equal(get_row(h, HIST_MONTH, ALICE, at(2026, 4, 15, 0, 0, 0)).bytes[0], 400);
	assert_int_equal(history_usage(h, ALICE, HIST_MONTH, at(2026, 4, 1, 12, 0, 0), u), 0);
	assert_int_equal(u[0], 23);
	history_close(h);

	/* A reader that knows nothing of the billing day finds it in the file. */
	assert_int_equal(history_open(&ro, f->path, NULL, true, err, sizeof(err)), 0);
	assert_int_equal(history_bucket_start(ro, HIST_MONTH, at(2026, 4, 1, 0, 0, 0)),
			 at(2026, 3, 15, 0, 0, 0));
	assert_int_equal(history_usage(ro, ALICE, HIST_MONTH, at(2026, 4, 1, 12, 0, 0), u), 0);
	assert_int_equal(u[0], 23);
	history_close(ro);

	c.month_start = 29;
	assert_int_equal(history_open(&h, f->path, &c, false, err, sizeof(err)), -EINVAL);
	assert_null(h);
	assert_non_null(strstr(err, "month_start"));
}

/* Check that each bucket of `fine` lies in one bucket of `coarse` and that they add up. */
static void check_nesting(struct history *h, enum history_period fine,
			  enum history_period coarse)
{
	struct history_row *fr, *cr;
	int nf = history_query(h, fine, NULL, INT32_MIN, INT32_MAX, &fr);
	int nc = history_query(h, coarse, NULL, INT32_MIN, INT32_MAX, &cr);
	uint64_t *sum = calloc(nc ? nc : 1, 4 * sizeof(*sum));

	assert_true(nf >= nc && nc > 0);
	assert_non_null(sum);
	for (int i = 0; i < nf; i++) {
		time_t b = history_bucket_start(h, coarse, fr[i].start);
		int j;

		for (j = 0; j < nc; j++)
			if (cr[j].start == b && cr[j].owner == fr[i].owner)
				break;
		assert_true(j < nc);	/* every fine bucket has its coarse bucket */
		sum[4 * j] += fr[i].bytes[0];
		sum[4 * j + 1] += fr[i].bytes[1];
		sum[4 * j + 2] += fr[i].packets[0];
		sum[4 * j + 3] += fr[i].packets[1];
	}
	for (int j = 0; j < nc; j++) {
		assert_int_equal(sum[4 * j], cr[j].bytes[0]);
		assert_int_equal(sum[4 * j + 1], cr[j].bytes[1]);
		assert_int_equal(sum[4 * j + 2], cr[j].packets[0]);
		assert_int_equal(sum[4 * j + 3], cr[j].packets[1]);
	}
	free(sum);
	free(fr);
	free(cr);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * A clock that steps back (NTP, a wrong RTC) and leaps forward (suspend) between calls: every
 * delta lands once per level, nothing is negative, and the levels agree bucket by bucket.
 */
static void test_clock_jumps(void **state)
{
	struct fx *f = *state;
	struct history *h = open_forever(f->path);
	uint64_t seed = 0x9e3779b97f4a7c15ULL, fed[2] = { 0 }, o = BOB;
	time_t t = at(2026, 12, 30, 20, 0, 0);	/* crosses a month and a year */
	struct history_row *r;
	int n;

	for (int i = 0; i < 3000; i++) {
		uint64_t x = rnd(&seed), in = x % 5000, out = (x >> 20) % 700;

		switch (x % 20) {
		case 0:
			t -= (time_t)((x >> 8) % (3 * HOUR));	/* stepped back */
			break;
		case 1:
			t += (time_t)((x >> 8) % (2 * DAY));	/* suspended */
			break;
		default:
			t += 1 + (time_t)((x >> 8) % 120);
		}
		add(h, t, i % 3 ? BOB : ALICE, in, out);
		if (i % 3) {
			fed[0] += in;
			fed[1] += out;
		}
		if (x % 17 == 0)
			assert_int_equal(history_flush(h, t, false), 0);
	}
	assert_int_equal(history_flush(h, t, false), 0);

	for (int p = 0; p < HIST__COUNT; p++) {
		uint64_t s[2] = { 0 };

		n = history_query(h, p, &o, INT32_MIN, INT32_MAX, &r);
		assert_true(n > 0);
		for (int i = 0; i < n; i++) {
			assert_true(r[i].bytes[0] < (UINT64_C(1) << 62)); /* nothing wrapped */
			s[0] += r[i].bytes[0];
			s[1] += r[i].bytes[1];
		}
		assert_int_equal(s[0], fed[0]);
		assert_int_equal(s[1], fed[1]);
		free(r);
	}
	for (int p = 0; p + 1 < HIST__COUNT; p++)
		check_nesting(h, p, p + 1);
	/* Two years, so the year level really nests months of both. */
	assert_int_equal(count_rows(h, HIST_YEAR, &o), 2);

	/* A wrapped negative difference is not a delta. */
	uint64_t huge[2] = { UINT64_MAX - 5, 1ULL << 63 };

	history_add(h, t, BOB, huge, huge);
	assert_int_equal(history_flush(h, t, false), 0);
	assert_int_equal(level_sum(h, HIST_YEAR, &o, NULL), fed[0] + fed[1]);
	history_close(h);
}

/* A DST day is one daily bucket of 23 or 25 hours, starting at local midnight. */
static void test_dst_day(void **state)
{
	static const int days[2][3] = { { 2026, 3, 29 }, { 2026, 10, 25 } };
	static const int hours[2] = { 23, 25 };
	struct fx *f = *state;
	struct history *h;

	set_tz("Europe/Berlin");
	h = open_forever(f->path);
	for (int d = 0; d < 2; d++) {
		time_t start = at(days[d][0], days[d][1], days[d][2], 0, 0, 0);
		time_t next = at(days[d][0], days[d][1], days[d][2] + 1, 0, 0, 0);
		uint64_t o = ALICE + d;
		struct history_row *r;
		int n;

		assert_int_equal(next - start, hours[d] * HOUR);
		for (time_t t = start; t < next; t += 600)
			add(h, t, o, 10, 1);
		assert_int_equal(history_flush(h, next, false), 0);

		n = history_query(h, HIST_DAY, &o, 0, INT32_MAX, &r);
		assert_int_equal(n, 1);
		assert_int_equal(r[0].start, start);
		assert_int_equal(r[0].bytes[0], 10 * 6 * hours[d]);
		assert_int_equal(history_bucket_start(h, HIST_DAY, next - 1), start);
		free(r);
		n = history_query(h, HIST_HOUR, &o, start, next, &r);
		assert_int_equal(n, hours[d]);
		free(r);
		assert_int_equal(level_sum(h, HIST_HOUR, &o, NULL), 11 * 6 * hours[d]);
		assert_int_equal(level_sum(h, HIST_5MIN, &o, NULL), 11 * 6 * hours[d]);
	}
	check_nesting(h, HIST_5MIN, HIST_HOUR);
	check_nesting(h, HIST_HOUR, HIST_DAY);
	history_close(h);

	/* A zone whose DST began at midnight: that day starts at 01:00, its first instant. */
	set_tz("America/Sao_Paulo");
	h = open_forever(f->path);
	time_t first = at(2018, 11, 4, 1, 0, 0);

	assert_int_equal(history_bucket_start(h, HIST_DAY, first + 5 * HOUR), first);
	assert_int_equal(history_bucket_start(h, HIST_DAY, first - 1), first - DAY);
	history_close(h);
}

/* ---- retention ---------------------------------------------------------------------------- */

static void test_retention(void **state)
{
	struct fx *f = *state;
	struct history *h;
	struct history_row *r;
	struct history_peer *pe;
	time_t now = at(2026, 6, 15, 12, 0, 0);
	uint64_t o = ALICE;
	int n;

	h = open_cfg(f->path, NULL);	/* the defaults: 48 h, 4 d, 62 d, 25 months, forever */
	/* One distinct amount per age, so which buckets survived shows in the sums. */
	add(h, now - 49 * HOUR, ALICE, 1, 0);
	add(h, now - 47 * HOUR, ALICE, 2, 0);
	add(h, now - 5 * DAY, ALICE, 4, 0);
	add(h, now - 3 * DAY, ALICE, 8, 0);
	add(h, at(2026, 4, 13, 12, 0, 0), ALICE, 16, 0);	/* 63 days before */
	add(h, at(2026, 4, 15, 12, 0, 0), ALICE, 32, 0);	/* 61 days before */
	add(h, at(2024, 4, 30, 12, 0, 0), ALICE, 64, 0);	/* month 26 back */
	add(h, at(2024, 6, 1, 12, 0, 0), ALICE, 128, 0);	/* month 24 back */
	add(h, at(2001, 6, 1, 12, 0, 0), ALICE, 256, 0);
	add_peer4(h, at(2026, 4, 13, 12, 0, 0), ALICE, 0x0a000001, 5, 0);
	add_peer4(h, at(2026, 4, 15, 12, 0, 0), ALICE, 0x0a000002, 7, 0);
	assert_int_equal(history_flush(h, now, false), 0);

	assert_int_equal(level_sum(h, HIST_5MIN, &o, NULL), 2);
	/* The hour and the day of 49 h ago are younger than their retention. */
	assert_int_equal(level_sum(h, HIST_HOUR, &o, NULL), 1 + 2 + 8);
	assert_int_equal(level_sum(h, HIST_DAY, &o, NULL), 1 + 2 + 4 + 8 + 32);
	assert_int_equal(level_sum(h, HIST_MONTH, &o, NULL), 1 + 2 + 4 + 8 + 16 + 32 + 128);
	assert_int_equal(level_sum(h, HIST_YEAR, &o, NULL), 511);
	n = history_top_peers(h, ALICE, 0, INT32_MAX, 0, &pe);
	assert_int_equal(n, 1);
	assert_int_equal(pe[0].addr[3], 2);
	free(pe);

	/* The edge: the day of 2026-04-14 is kept until the day after it is 62 days old. */
	n = history_query(h, HIST_DAY, &o, 0, INT32_MAX, &r);
	assert_true(n > 0);
	assert_true(r[0].start >= at(2026, 4, 14, 0, 0, 0));
	free(r);

	/* Pruning runs at most once an hour of `now` unless forced. */
	add(h, now + 60 - 49 * HOUR, ALICE, 1000, 0);
	assert_int_equal(history_flush(h, now + 60, false), 0);
	assert_int_equal(level_sum(h, HIST_5MIN, &o, NULL), 1002);
	assert_int_equal(history_flush(h, now + 120, true), 0);
	assert_int_equal(level_sum(h, HIST_5MIN, &o, NULL), 2);

	/* Totals come from the finest period still complete from `since` on. */
	n = history_top_owners(h, history_bucket_start(h, HIST_HOUR, now - 47 * HOUR), now, 0, &r);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].bytes[0], 2);		/* 5-minute buckets */
	free(r);
	n = history_top_owners(h, history_bucket_start(h, HIST_DAY, now - 3 * DAY), now, 0, &r);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].bytes[0], 8 + 1 + 1000 + 2);	/* hourly */
	free(r);
	n = history_top_owners(h, at(2026, 4, 15, 0, 0, 0), now, 0, &r);
	assert_int_equal(r[0].bytes[0], 32 + 4 + 8 + 1 + 2 + 1000);	/* daily */
	free(r);
	n = history_top_owners(h, at(2025, 1, 1, 0, 0, 0), now, 0, &r);
	assert_int_equal(r[0].bytes[0], 16 + 32 + 1 + 2 + 4 + 8 + 1000);	/* monthly */
	free(r);
	n = history_top_owners(h, 0, now, 0, &r);
	assert_int_equal(r[0].bytes[0], 1511);		/* yearly */
	free(r);
	history_close(h);
}

/* ---- peers -------------------------------------------------------------------------------- */

static uint64_t peers_total(struct history_peer *p, int n, int dir)
{
	uint64_t s = 0;

	for (int i = 0; i < n; i++)
		s += p[i].bytes[dir];
	return s;
}

static void test_peers_fold(void **state)
{
	struct fx *f = *state;
	struct history_config c;
	struct history *h;
	struct history_peer *p;
	time_t day = at(2026, 5, 1, 0, 0, 0), t = day + 10 * HOUR;
	uint64_t in = 0, out = 0, b[2] = { 3, 4 };
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	sqlite3 *db;
	sqlite3_stmt *st;
	int n;

	history_config_default(&c);
	c.peers_per_day = 3;
	h = open_cfg(f->path, &c);

	/* Ten IPv4 peers with 100, 200, ... 1000 bytes in and 1 out. */
	for (uint32_t i = 1; i <= 10; i++) {
		add_peer4(h, t + i, ALICE, 0x0a000000 + i, 100 * i, 1);
		in += 100 * i;
		out += 1;
	}
	assert_int_equal(history_flush(h, t + 60, false), 0);
	n = history_top_peers(h, ALICE, day, day + DAY, 0, &p);
	assert_int_equal(n, 4);
	assert_int_equal(p[0].family, 4);
	assert_int_equal(p[0].addr[3], 10);
	assert_int_equal(p[0].addr[4], 0);	/* IPv4: only 4 bytes count */
	assert_int_equal(p[1].addr[3], 9);
	assert_int_equal(p[2].addr[3], 8);
	assert_int_equal(p[3].family, 0);
	assert_int_equal(p[3].bytes[0], in - 2700);
	assert_int_equal(p[3].bytes[1], 7);
	assert_int_equal(peers_total(p, n, 0), in);
	assert_int_equal(peers_total(p, n, 1), out);
	free(p);

	/*
	 * Later the same day: a new heavy peer, the same IPv6 address in two namespaces (two
	 * peers), a small one and one of unknown family (other).
	 */
	add_peer4(h, t + 100, ALICE, 0x0a0000ff, 5000, 0);
	history_add_peer(h, t + 100, ALICE, 6, a6, 0, b);
	history_add_peer(h, t + 100, ALICE, 6, a6, 4026531840u, b);
	history_add_peer(h, t + 100, ALICE, 6, a6, 4026531840u, b);
	add_peer4(h, t + 100, ALICE, 0x0a000001, 1, 0);
	history_add_peer(h, t + 100, ALICE, 0, NULL, 0, b);
	in += 5000 + 3 * 3 + 1 + 3;
	out += 3 * 4 + 4;
	assert_int_equal(history_flush(h, t + 120, false), 0);
	n = history_top_peers(h, ALICE, day, day + DAY, 0, &p);
	assert_int_equal(n, 4);
	assert_int_equal(p[0].addr[3], 0xff);
	assert_int_equal(p[3].family, 0);
	assert_int_equal(peers_total(p, n, 0), in);
	assert_int_equal(peers_total(p, n, 1), out);
	free(p);

	/* top limits the list; what is beyond it joins "other" so the rows still add up. */
	n = history_top_peers(h, ALICE, day, day + DAY, 1, &p);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].addr[3], 0xff);
	assert_int_equal(p[1].family, 0);
	assert_int_equal(peers_total(p, n, 0), in);
	free(p);

	/* A scan: 1000 distinct peers between two flushes; memory is capped, sums stay exact. */
	for (uint32_t i = 0; i < 1000; i++) {
		add_peer4(h, t + 200, BOB, 0xc0a80000 + i, 10, 1);
		add_peer4(h, t + 200 + DAY, BOB, 0xc0a80000 + i, 1, 0);	/* the next day */
	}
	assert_int_equal(history_flush(h, t + 300 + DAY, false), 0);
	n = history_top_peers(h, BOB, day, day + DAY, 0, &p);
	assert_int_equal(n, 4);
	assert_int_equal(peers_total(p, n, 0), 10000);
	assert_int_equal(peers_total(p, n, 1), 1000);
	free(p);
	n = history_top_peers(h, BOB, day, day + 2 * DAY, 0, &p);
	assert_int_equal(peers_total(p, n, 0), 11000);
	free(p);

	/* On disk: never more than peers_per_day + 1 rows for an (owner, day). */
	db = raw_open(f->path);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT max(c) FROM (SELECT count(*) AS c "
					    "FROM peers GROUP BY owner, day)", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 4);
	sqlite3_finalize(st);
	sqlite3_close(db);
	history_close(h);
}

/* ---- durability ----------------------------------------------------------------------------- */

static void test_reopen_continue(void **state)
{
	struct fx *f = *state;
	time_t t = at(2026, 7, 1, 9, 0, 0);
	struct history *h = open_cfg(f->path, NULL), *h2;
	uint64_t u[2];

	add(h, t, ALICE, 100, 1);
	assert_int_equal(history_flush(h, t, false), 0);
	history_close(h);

	h = open_cfg(f->path, NULL);
	add(h, t + HOUR, ALICE, 50, 2);
	assert_int_equal(history_flush(h, t + HOUR, false), 0);
	assert_int_equal(history_usage(h, ALICE, HIST_DAY, t, u), 0);
	assert_int_equal(u[0], 150);
	assert_int_equal(u[1], 3);

	/* Two writers at once add to the same buckets. */
	h2 = open_cfg(f->path, NULL);
	add(h2, t + 2 * HOUR, ALICE, 7, 0);
	add(h, t + 2 * HOUR, ALICE, 3, 0);
	assert_int_equal(history_flush(h2, t + 2 * HOUR, false), 0);
	assert_int_equal(history_flush(h, t + 2 * HOUR, false), 0);
	assert_int_equal(history_usage(h2, ALICE, HIST_DAY, t, u), 0);
	assert_int_equal(u[0], 160);
	assert_int_equal(get_row(h, HIST_HOUR, ALICE, t + 2 * HOUR).bytes[0], 10);
	history_close(h2);
	history_close(h);
}

/* kill -9 loses at most what was queued after the last flush. */
static void test_kill9(void **state)
{
	struct fx *f = *state;
	time_t t = at(2026, 7, 1, 9, 0, 0);
	struct history *h;
	uint64_t u[2];
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];

		if (history_open(&h, f->path, NULL, false, err, sizeof(err)))
			_exit(2);
		for (int i = 0; i < 100; i++)
			add(h, t + i, ALICE, 10, 1);
		if (history_flush(h, t + 100, false))
			_exit(3);
		add(h, t + 200, ALICE, 999, 999);	/* queued only */
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	h = open_cfg(f->path, NULL);
	assert_int_equal(history_usage(h, ALICE, HIST_DAY, t, u), 0);
	assert_int_equal(u[0], 1000);
	assert_int_equal(u[1], 100);
	for (int p = 0; p < HIST__COUNT; p++)
		assert_int_equal(level_sum(h, p, NULL, NULL), 1100);
	history_close(h);
}

/* A flush that fails half-way (a trigger refuses peer rows) writes nothing; the next one all. */
static void test_flush_retry(void **state)
{
	struct fx *f = *state;
	time_t t = at(2026, 7, 1, 9, 0, 0);
	struct history *h = open_cfg(f->path, NULL);
	struct history_peer *p;
	uint64_t u[2], o = ALICE;
	char msg[256];
	sqlite3 *db;
	int ret, n;

	add(h, t, ALICE, 100, 10);
	add_peer4(h, t, ALICE, 0x01020304, 100, 10);
	assert_int_equal(history_flush(h, t, false), 0);

	db = raw_open(f->path);
	raw_exec(db, "CREATE TRIGGER refuse BEFORE INSERT ON peers "
		     "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
	add(h, t + 60, ALICE, 5, 0);
	add_peer4(h, t + 60, ALICE, 0x05060708, 5, 0);
	ret = history_flush(h, t + 60, false);
	assert_true(ret < 0);
	history_last_error(h, msg, sizeof(msg));
	assert_non_null(strstr(msg, "injected failure"));
	/* Nothing of the failed transaction reached the file, but usage still counts it. */
	assert_int_equal(level_sum(h, HIST_DAY, &o, NULL), 110);
	assert_int_equal(history_usage(h, ALICE, HIST_DAY, t, u), 0);
	assert_int_equal(u[0], 105);

	add(h, t + 120, ALICE, 1, 0);		/* arrives while the failed batch waits */
	assert_true(history_flush(h, t + 120, false) < 0);
	raw_exec(db, "DROP TRIGGER refuse");
	assert_int_equal(history_flush(h, t + 180, false), 0);
	for (int i = 0; i < HIST__COUNT; i++)
		assert_int_equal(level_sum(h, i, &o, NULL), 116);
	n = history_top_peers(h, ALICE, 0, INT32_MAX, 0, &p);
	assert_int_equal(n, 2);
	assert_int_equal(peers_total(p, n, 0), 105);
	free(p);

	/* Another writer holding the lock: -EBUSY after the busy timeout, then retried. */
	raw_exec(db, "BEGIN IMMEDIATE");
	add(h, t + 240, ALICE, 1000, 0);
	assert_int_equal(history_flush(h, t + 240, false), -EBUSY);
	raw_exec(db, "COMMIT");
	sqlite3_close(db);
	assert_int_equal(history_flush(h, t + 300, false), 0);
	for (int i = 0; i < HIST__COUNT; i++)
		assert_int_equal(level_sum(h, i, &o, NULL), 1116);
	history_close(h);
}

struct adder {
	struct history *h;
	time_t t;
	int n;
};

static void *adder_thread(void *arg)
{
	struct adder *a = arg;

	for (int i = 0; i < a->n; i++) {
		add(a->h, a->t + i / 50, HIST_OWNER(0, i % 64), 3, 1);
		add_peer4(a->h, a->t + i / 50, HIST_OWNER(0, i % 64), i % 7, 3, 1);
	}
	return NULL;
}

/* history_add on the meter's thread while another thread flushes: nothing lost or doubled. */
static void test_threads(void **state)
{
	struct fx *f = *state;
	struct adder a = { .t = at(2026, 7, 1, 9, 0, 0), .n = 200000 };
	struct history_peer *p;
	pthread_t th;
	int n, flushes = 0;

	a.h = open_cfg(f->path, NULL);
	assert_int_equal(pthread_create(&th, NULL, adder_thread, &a), 0);
	while (pthread_tryjoin_np(th, NULL) == EBUSY) {
		assert_int_equal(history_flush(a.h, a.t, false), 0);
		flushes++;
	}
	assert_int_equal(history_flush(a.h, a.t + a.n / 50, false), 0);
	assert_true(flushes > 1);
	assert_int_equal(level_sum(a.h, HIST_YEAR, NULL, NULL), 4 * (uint64_t)a.n);
	assert_int_equal(level_sum(a.h, HIST_5MIN, NULL, NULL), 4 * (uint64_t)a.n);
	n = history_top_peers(a.h, HIST_OWNER(0, 5), 0, INT32_MAX, 0, &p);
	assert_true(n > 0);
	free(p);
	history_close(a.h);
}

/* ---- opening ------------------------------------------------------------------------------ */

static void expect_open_fails(const char *path, bool ro, int want, const char *needle)
{
	struct history *h = (void *)1;
	char err[256] = "";
	int ret = history_open(&h, path, NULL, ro, err, sizeof(err));

	if (ret != want || !strstr(err, needle))
		fprintf(stderr, "%s: got %d '%s', want %d '%s'\n", path, ret, err, want, needle);
	assert_int_equal(ret, want);
	assert_null(h);
	assert_non_null(strstr(err, needle));
	assert_null(strchr(err, '\n'));
}

static void test_bad_paths(void **state)
{
	struct fx *f = *state;
	char p[160], target[160];
	struct history *h;
	struct stat st;
	mode_t old;
	sqlite3 *db;
	int fd;

	snprintf(p, sizeof(p), "%s/missing/history.db", f->dir);
	expect_open_fails(p, false, -ENOENT, "does not exist");
	expect_open_fails(f->dir, false, -EISDIR, "is a directory");
	snprintf(p, sizeof(p), "%s/", f->dir);
	expect_open_fails(p, false, -EISDIR, "is a directory");
	expect_open_fails(f->dir, true, -EISDIR, "is a directory");

	snprintf(p, sizeof(p), "%s/notes.txt", f->dir);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(write(fd, "this is not a database at all\n", 30), 30);
	close(fd);
	expect_open_fails(p, false, -EINVAL, "not a tmtop history database");
	expect_open_fails(p, true, -EINVAL, "not a tmtop history database");

	/* A symlink planted at the path, to a file or to nothing, is refused and not followed. */
	snprintf(target, sizeof(target), "%s/victim", f->dir);
	fd = open(target, O_WRONLY | O_CREAT, 0644);
	close(fd);
	assert_int_equal(symlink(target, f->path), 0);
	expect_open_fails(f->path, false, -ELOOP, "symbolic link");
	expect_open_fails(f->path, true, -ELOOP, "symbolic link");
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(unlink(target), 0);
	expect_open_fails(f->path, false, -ELOOP, "symbolic link");
	assert_int_equal(stat(target, &st), -1);	/* not created through the link */
	assert_int_equal(unlink(f->path), 0);

	/* A FIFO does not hang the open. */
	assert_int_equal(mkfifo(f->path, 0600), 0);
	expect_open_fails(f->path, false, -EINVAL, "not a regular file");
	assert_int_equal(unlink(f->path), 0);

	/* Readonly never creates. */
	expect_open_fails(f->path, true, -ENOENT, "no such file");
	assert_int_equal(stat(f->path, &st), -1);

	/* Someone else's SQLite database. */
	snprintf(p, sizeof(p), "%s/other.db", f->dir);
	db = raw_open(p);
	raw_exec(db, "CREATE TABLE meta (key TEXT PRIMARY KEY, value)");
	sqlite3_close(db);
	expect_open_fails(p, false, -EINVAL, "not a tmtop history database");

	/* Created 0600 whatever the umask; a symlinked parent directory is fine. */
	old = umask(0);
	h = open_cfg(f->path, NULL);
	umask(old);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	add(h, at(2026, 1, 1, 0, 0, 0), ALICE, 1, 1);
	assert_int_equal(history_flush(h, at(2026, 1, 1, 0, 0, 0), false), 0);
	snprintf(p, sizeof(p), "%s/history.db-wal", f->dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	history_close(h);
	snprintf(p, sizeof(p), "%s/link", f->dir);
	assert_int_equal(symlink(f->dir, p), 0);
	snprintf(p, sizeof(p), "%s/link/history.db", f->dir);
	h = open_cfg(p, NULL);
	assert_int_equal(level_sum(h, HIST_DAY, NULL, NULL), 2);
	history_close(h);

	/* A newer schema than this code knows is refused, readonly or not. */
	db = raw_open(f->path);
	raw_exec(db, "UPDATE meta SET value = 99 WHERE key = 'schema_version'");
	sqlite3_close(db);
	expect_open_fails(f->path, false, -EPROTO, "newer");
	expect_open_fails(f->path, true, -EPROTO, "newer");
}

static void test_readonly(void **state)
{
	struct fx *f = *state;
	time_t t = at(2026, 8, 1, 10, 0, 0);
	struct history *w = open_cfg(f->path, NULL), *ro;
	struct history_row *r;
	char err[256];
	uint64_t u[2];
	int n;

	add(w, t, ALICE, 10, 20);
	assert_int_equal(history_flush(w, t, false), 0);

	/* A reader alongside the running writer sees what it committed, live. */
	assert_int_equal(history_open(&ro, f->path, NULL, true, err, sizeof(err)), 0);
	n = history_query(ro, HIST_HOUR, NULL, 0, INT32_MAX, &r);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].bytes[1], 20);
	free(r);
	add(w, t + 60, ALICE, 1, 0);
	assert_int_equal(history_flush(w, t + 60, false), 0);
	assert_int_equal(history_usage(ro, ALICE, HIST_DAY, t, u), 0);
	assert_int_equal(u[0], 11);

	history_add(ro, t, ALICE, u, u);	/* ignored */
	assert_int_equal(history_flush(ro, t, true), -EROFS);
	assert_int_equal(history_usage(ro, ALICE, HIST_DAY, t, u), 0);
	assert_int_equal(u[0], 11);
	history_close(ro);
	history_close(w);
}

/* ---- size ------------------------------------------------------------------------------- */

static void test_flush_10k_owners(void **state)
{
	struct fx *f = *state;
	struct history *h = open_cfg(f->path, NULL);
	time_t t = at(2026, 9, 1, 10, 0, 0);
	double t0, t1, t2;
	uint64_t u[2];

	/* First flush creates 50,000 rows; the second updates them all. */
	for (int round = 0; round < 2; round++) {
		for (uint32_t i = 0; i < 10000; i++) {
			add(h, t + round * 60, HIST_OWNER(0, i), 1000 + i, i);
			add_peer4(h, t + round * 60, HIST_OWNER(0, i), i, 10, 1);
		}
		t0 = mono();
		assert_int_equal(history_flush(h, t + round * 60, false), 0);
		t1 = mono();
		printf("# flush of 10000 owners (%s): %.0f ms\n", round ? "update" : "insert",
		       (t1 - t0) * 1e3);
	}
	t2 = mono();
	assert_int_equal(count_rows(h, HIST_DAY, NULL), 10000);
	assert_int_equal(history_usage(h, HIST_OWNER(0, 9999), HIST_MONTH, t, u), 0);
	assert_int_equal(u[0], 2 * 10999);
	printf("# day query over 10000 owners: %.0f ms\n", (mono() - t2) * 1e3);
	history_close(h);
}

/*
 * A year of daily data for 100 owners written through history_add/flush with a fake clock (a
 * flush per day, as the meter would), and a year of hourly data for 100 owners bulk-inserted
 * straight into the documented schema; queries over both return the right rows.
 */
static void test_big_year(void **state)
{
	enum { OWNERS = 100, DAYS = 365 };
	struct fx *f = *state;
	struct history_config c;
	struct history *h;
	struct history_row *r;
	time_t y0 = at(2025, 1, 1, 0, 0, 0), y1 = at(2026, 1, 1, 0, 0, 0);
	time_t h0 = at(2024, 1, 1, 0, 0, 0), hours = (at(2025, 1, 1, 0, 0, 0) - h0) / HOUR;
	uint64_t o = HIST_OWNER(0, 42);
	char hpath[128], sql[96], err[256];
	double t0, t1;
	sqlite3 *db;
	sqlite3_stmt *st;
	int n;

	history_config_default(&c);
	c.keep_day_d = 0;	/* keep the whole year of days */
	h = open_cfg(f->path, &c);
	t0 = mono();
	for (int d = 0; d < DAYS; d++) {
		time_t t = y0 + (time_t)d * DAY + 12 * HOUR;

		for (int i = 0; i < OWNERS; i++)
			add(h, t, HIST_OWNER(0, i), (uint64_t)(i + 1) * 1000 + d, (uint64_t)i);
		assert_int_equal(history_flush(h, t, false), 0);
	}
	t1 = mono();
	printf("# build: %d daily flushes of %d owners: %.0f ms\n", DAYS, OWNERS, (t1 - t0) * 1e3);

	/* Every owner's every day, in order. */
	t0 = mono();
	n = history_query(h, HIST_DAY, NULL, y0, y1, &r);
	t1 = mono();
	printf("# query: a year of daily buckets, %d owners (%d rows): %.1f ms\n", OWNERS, n,
	       (t1 - t0) * 1e3);
	assert_int_equal(n, DAYS * OWNERS);
	for (int i = 0; i < n; i++) {
		int d = i / OWNERS, k = i % OWNERS;

		assert_int_equal(r[i].start, y0 + (time_t)d * DAY);
		assert_int_equal(r[i].owner, HIST_OWNER(0, k));
		assert_int_equal(r[i].bytes[0], (uint64_t)(k + 1) * 1000 + d);
	}
	free(r);

	t0 = mono();
	n = history_query(h, HIST_DAY, &o, y0, y1, &r);
	t1 = mono();
	printf("# query: a year of daily buckets, one owner: %.1f ms\n", (t1 - t0) * 1e3);
	assert_int_equal(n, DAYS);
	free(r);

	/* Totals over the year come from the daily buckets (hours and 5 minutes are pruned). */
	t0 = mono();
	n = history_top_owners(h, y0, y1, 10, &r);
	t1 = mono();
	printf("# query: top 10 owners over a year of days: %.1f ms\n", (t1 - t0) * 1e3);
	assert_int_equal(n, 10);
	for (int i = 0; i < n; i++) {
		assert_int_equal(r[i].owner, HIST_OWNER(0, OWNERS - 1 - i));
		assert_int_equal(r[i].bytes[0],
				 (uint64_t)(OWNERS - i) * 1000 * DAYS + DAYS * (DAYS - 1) / 2);
		assert_int_equal(r[i].bytes[1], (uint64_t)(OWNERS - 1 - i) * DAYS);
		assert_int_equal(r[i].start, y0);
	}
	free(r);

	history_close(h);

	/*
	 * The hourly year goes into a file of its own, as a meter keeping hours forever and
	 * 5-minute buckets the default 48 h would have left it, and is read the way tmtop report
	 * reads: through a read-only handle.
	 */
	snprintf(hpath, sizeof(hpath), "%s/hourly.db", f->dir);
	h = open_forever(hpath);
	history_close(h);
	db = raw_open(hpath);
	t0 = mono();
	raw_exec(db, "BEGIN");
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO traffic VALUES (1, ?, ?, ?, ?, ?, ?)",
					    -1, &st, NULL), SQLITE_OK);
	for (time_t k = 0; k < hours; k++) {
		for (int i = 0; i < OWNERS; i++) {
			sqlite3_bind_int64(st, 1, h0 + k * HOUR);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)HIST_OWNER(0, i));
			sqlite3_bind_int64(st, 3, i + 1);
			sqlite3_bind_int64(st, 4, 1);
			sqlite3_bind_int64(st, 5, 1);
			sqlite3_bind_int64(st, 6, 0);
			assert_int_equal(sqlite3_step(st), SQLITE_DONE);
			sqlite3_reset(st);
		}
	}
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql), "INSERT INTO meta VALUES ('horizon_5min', %lld)",
		 (long long)y0);
	raw_exec(db, sql);
	raw_exec(db, "COMMIT");
	sqlite3_close(db);
	t1 = mono();
	printf("# build: bulk insert of %lld hourly rows: %.0f ms\n",
	       (long long)hours * OWNERS, (t1 - t0) * 1e3);
	assert_int_equal(history_open(&h, hpath, NULL, true, err, sizeof(err)), 0);

	t0 = mono();
	n = history_query(h, HIST_HOUR, &o, h0, y0, &r);
	t1 = mono();
	printf("# query: a year of hourly buckets, one owner (%d rows): %.1f ms\n", n,
	       (t1 - t0) * 1e3);
	assert_int_equal(n, hours);
	for (int i = 0; i < n; i++) {
		assert_int_equal(r[i].start, h0 + (time_t)i * HOUR);
		assert_int_equal(r[i].bytes[0], 43);
	}
	free(r);
	t0 = mono();
	n = history_query(h, HIST_HOUR, NULL, h0, y0, &r);
	t1 = mono();
	printf("# query: a year of hourly buckets, %d owners (%d rows): %.1f ms\n", OWNERS, n,
	       (t1 - t0) * 1e3);
	assert_int_equal(n, hours * OWNERS);
	assert_int_equal(r[0].owner, HIST_OWNER(0, 0));
	assert_int_equal(r[n - 1].start, y0 - HOUR);
	assert_int_equal(r[n - 1].owner, HIST_OWNER(0, OWNERS - 1));
	free(r);

	/* Totals over the year read the hours: 5-minute buckets stop short of it. */
	t0 = mono();
	n = history_top_owners(h, h0, y0, 0, &r);
	t1 = mono();
	printf("# query: totals of %d owners over a year of hours: %.1f ms\n", OWNERS,
	       (t1 - t0) * 1e3);
	assert_int_equal(n, OWNERS);
	assert_int_equal(r[0].owner, HIST_OWNER(0, OWNERS - 1));
	assert_int_equal(r[0].bytes[0], (uint64_t)OWNERS * hours);
	assert_int_equal(r[0].bytes[1], hours);
	assert_int_equal(r[0].packets[0], hours);
	assert_int_equal(r[OWNERS - 1].owner, HIST_OWNER(0, 0));
	free(r);
	history_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bucket_starts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_month_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_jumps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dst_day, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peers_fold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_continue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_10k_owners, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_year, setup, teardown),
	};

	return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
