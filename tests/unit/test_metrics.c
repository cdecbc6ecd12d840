// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for service/metrics.c without an engine or a socket: the --metrics-listen parser,
 * the cardinality cap and its "other" series (never decreasing, whoever moves in or out), and
 * the exposition text (label escaping, families, the special owners).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "meter/snapshot.h"
#include "service/metrics.h"

static struct snapshot snap_of(size_t n)
{
	struct snapshot s;

	memset(&s, 0, sizeof(s));
	s.users = calloc(n ? n : 1, sizeof(*s.users));
	assert_non_null(s.users);
	s.nusers = n;
	snprintf(s.meter.version, sizeof(s.meter.version), "9.9.9");
	s.meter.started.tv_sec = 1700000000;
	s.meter.started.tv_nsec = 250000000;
	return s;
}

static void set_user(struct snapshot *s, size_t i, tm_owner_t owner, uint64_t in, uint64_t out)
{
	s->users[i].owner = owner;
	s->users[i].bytes[0] = in;
	s->users[i].bytes[1] = out;
	s->users[i].packets[0] = in / 100;
	s->users[i].packets[1] = out / 100;
}

static const struct metrics_row *row_of(const struct metrics_view *v, tm_owner_t owner)
{
	for (size_t i = 0; i < v->nrows; i++)
		if (v->rows[i].owner == owner)
			return &v->rows[i];
	return NULL;
}

static void test_parse_listen(void **state)
{
	struct sockaddr_storage ss;
	char err[256];
	socklen_t len;

	assert_int_equal(metrics_parse_listen("127.0.0.1:9477", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9477);
	assert_int_equal(metrics_parse_listen("[::1]:9477", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 9477);
	assert_int_equal(metrics_parse_listen("0.0.0.0:1", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(metrics_parse_listen("[::]:65535", &ss, &len, err, sizeof(err)), 0);

	static const char *const bad[] = {
		"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:+80",
		"127.0.0.1:80x", ":9477", "localhost:9477", "127.1:9477", "300.0.0.1:9477",
		"::1:9477", "[::1]", "[::1]9477", "[localhost]:9477", "[]:9477", "[::1]:-1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (metrics_parse_listen(bad[i], &ss, &len, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		/* one line that names the option and the value */
		assert_non_null(strstr(err, "--metrics-listen"));
		assert_null(strchr(err, '\n'));
	}
	metrics_parse_listen("localhost:9477", &ss, &len, err, sizeof(err));
	assert_non_null(strstr(err, "not a numeric"));
}

static void test_cap_and_other(void **state)
{
	struct metrics_fold *f = metrics_fold_new(2, 100);
	struct snapshot s = snap_of(5);
	struct metrics_view v;

	set_user(&s, 0, 1000, 100, 900);	/* 1000 */
	set_user(&s, 1, 1001, 5000, 0);		/* 5000 */
	set_user(&s, 2, 1002, 300, 0);		/* 300 */
	set_user(&s, 3, 1003, 0, 200);		/* 200 */
	set_user(&s, 4, TM_OWNER_KERNEL, 10, 10);	/* never takes a user's place */
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	assert_int_equal(v.nrows, 3);
	assert_non_null(row_of(&v, 1001));
	assert_non_null(row_of(&v, 1000));
	assert_non_null(row_of(&v, TM_OWNER_KERNEL));
	assert_null(row_of(&v, 1002));
	assert_int_equal(v.folded, 2);
	assert_true(v.have_other);
	assert_int_equal(v.other[0], 300);
	assert_int_equal(v.other[1], 200);
	assert_int_equal(v.other[2], 3);
	assert_int_equal(v.other[3], 2);
	/* rows by owner */
	for (size_t i = 1; i < v.nrows; i++)
		assert_true(v.rows[i - 1].owner < v.rows[i].owner);
	metrics_view_free(&v);
	snapshot_free(&s);
	metrics_fold_free(f);
}

/*
 * Owners move in and out of the labelled set; "other" never goes down, and every byte that
 * arrived is in exactly one series' increments (what rate() and increase() add up).
 */
static void test_other_never_decreases(void **state)
{
	struct metrics_fold *f = metrics_fold_new(1, 100);
	uint64_t tot[3] = { 0 }, last_other = 0, seen_incr = 0, prev_row[3] = { 0 };
	bool had_row[3] = { false };
	unsigned int seed = 12345;

	for (int round = 0; round < 200; round++) {
		struct snapshot s = snap_of(3);
		struct metrics_view v;
		uint64_t in_now = 0;

		for (int u = 0; u < 3; u++) {
			uint64_t add = (uint64_t)(rand_r(&seed) % 1000);

			/* a different owner leads now and then */
			if ((round / 20) % 3 == u)
				add += 3000;
			tot[u] += add;
			in_now += add;
			set_user(&s, (size_t)u, 2000 + (tm_owner_t)u, tot[u], 0);
		}
		assert_int_equal(metrics_fold(f, &s, &v), 0);
		assert_int_equal(v.nrows, 1);
		assert_int_equal(v.folded, 2);
		assert_true(v.other[0] >= last_other);
		seen_incr += v.other[0] - last_other;
		last_other = v.other[0];
		for (int u = 0; u < 3; u++) {
			const struct metrics_row *r = row_of(&v, 2000 + (tm_owner_t)u);

			if (r) {
				/* a series that comes back has grown; a new one counts from its
				 * first sample, as rate() does */
				if (had_row[u])
					seen_incr += r->v[0] - prev_row[u];
				assert_true(r->v[0] >= prev_row[u]);
				prev_row[u] = r->v[0];
			}
			had_row[u] = r != NULL;
		}
		metrics_view_free(&v);
		snapshot_free(&s);
	}
	/* increments seen by the series never exceed what arrived */
	assert_true(seen_incr <= tot[0] + tot[1] + tot[2]);
	metrics_fold_free(f);
}

/* A labelled owner keeps its label until another beats it by a margin: no flapping. */
static void test_sticky(void **state)
{
	struct metrics_fold *f = metrics_fold_new(1, 100);
	struct snapshot s = snap_of(2);
	struct metrics_view v;

	set_user(&s, 0, 1000, 1000, 0);
	set_user(&s, 1, 1001, 900, 0);
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	assert_non_null(row_of(&v, 1000));
	metrics_view_free(&v);

	set_user(&s, 1, 1001, 1100, 0);	/* ahead by 10 %: not enough */
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	assert_non_null(row_of(&v, 1000));
	assert_null(row_of(&v, 1001));
	assert_int_equal(v.other[0], 1100);
	metrics_view_free(&v);

	set_user(&s, 1, 1001, 2000, 0);	/* ahead by 2x: takes the label */
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	assert_null(row_of(&v, 1000));
	assert_int_equal(row_of(&v, 1001)->v[0], 2000);
	assert_int_equal(v.other[0], 1100);	/* 1000's delta was 0 */
	metrics_view_free(&v);

	set_user(&s, 0, 1000, 1500, 0);	/* folded now: its increment goes to other */
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	assert_int_equal(v.other[0], 1600);
	metrics_view_free(&v);
	snapshot_free(&s);
	metrics_fold_free(f);
}

/* An owner the engine forgot comes back from zero: "other" takes what it has, not a drop. */
static void test_forgotten_and_absent(void **state)
{
	struct metrics_fold *f = metrics_fold_new(0, 1);
	struct snapshot s = snap_of(1);
	struct metrics_view v;

	set_user(&s, 0, 1000, 500, 0);
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	assert_int_equal(v.nrows, 0);
	assert_int_equal(v.other[0], 500);
	metrics_view_free(&v);

	set_user(&s, 0, 1000, 120, 0);
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	assert_int_equal(v.other[0], 620);
	metrics_view_free(&v);

	/* absent (evicted) and back with the same totals: nothing counted twice */
	s.nusers = 0;
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	assert_int_equal(v.other[0], 620);
	assert_int_equal(v.folded, 1);	/* remembered, still in "other" */
	assert_true(v.have_other);	/* a series, once there, stays */
	metrics_view_free(&v);
	s.nusers = 1;
	set_user(&s, 0, 1000, 130, 0);
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	assert_int_equal(v.other[0], 630);
	metrics_view_free(&v);
	snapshot_free(&s);
	metrics_fold_free(f);
}

/* An evicted (absent) labelled owner keeps its series at its last totals, not a gap. */
static void test_absent_keeps_series(void **state)
{
	struct metrics_fold *f = metrics_fold_new(1, 10);
	struct snapshot s = snap_of(2);
	struct metrics_view v;

	set_user(&s, 0, 1000, 5000, 0);
	set_user(&s, 1, 1001, 100, 0);
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	assert_int_equal(row_of(&v, 1000)->v[0], 5000);
	metrics_view_free(&v);

	/* 1000 evicted: still labelled at 5000; 1001 grows and stays folded */
	s.users[0] = s.users[1];
	s.nusers = 1;
	s.users[0].bytes[0] = 300;
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	assert_int_equal(v.nrows, 1);
	assert_int_equal(row_of(&v, 1000)->v[0], 5000);
	assert_int_equal(v.other[0], 300);
	metrics_view_free(&v);

	/* back with its totals and more */
	s.nusers = 2;
	set_user(&s, 1, 1000, 5100, 0);
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	assert_int_equal(row_of(&v, 1000)->v[0], 5100);
	assert_int_equal(v.other[0], 300);
	metrics_view_free(&v);
	snapshot_free(&s);
	metrics_fold_free(f);
}

/* Past keep_absent, the owners absent the longest are forgotten, as the engine's ledger does. */
static void test_prune(void **state)
{
	struct metrics_fold *f = metrics_fold_new(100, 2);
	struct snapshot s = snap_of(1);
	struct metrics_view v;

	for (tm_owner_t o = 1000; o < 1005; o++) {
		set_user(&s, 0, o, 10, 0);
		assert_int_equal(metrics_fold(f, &s, &v), 0);
		metrics_view_free(&v);
	}
	/* 1004 present, 1003 and 1002 remembered, 1000 and 1001 forgotten */
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	assert_int_equal(v.nrows, 3);
	assert_non_null(row_of(&v, 1002));
	assert_null(row_of(&v, 1001));
	metrics_view_free(&v);
	snapshot_free(&s);
	metrics_fold_free(f);
}

static void test_no_other_until_needed(void **state)
{
	struct metrics_fold *f = metrics_fold_new(5, 100);
	struct snapshot s = snap_of(2);
	struct metrics_view v;
	char *text;
	size_t len;

	set_user(&s, 0, 1000, 1, 2);
	set_user(&s, 1, TM_OWNER_NOSOCK, 3, 4);
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	assert_false(v.have_other);
	v.rows[0].name = "alice";
	v.rows[1].name = "(no socket)";
	assert_int_equal(metrics_format(&s, &v, NULL, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	assert_null(strstr(text, "{uid=\"other\""));
	assert_non_null(strstr(text, "tmtop_user_transmit_bytes_total{uid=\"1000\","
				     "user=\"alice\"} 2\n"));
	assert_non_null(strstr(text, "tmtop_user_receive_bytes_total{uid=\"nosocket\","
				     "user=\"(no socket)\"} 3\n"));
	assert_non_null(strstr(text, "tmtop_build_info{version=\"9.9.9\"} 1\n"));
	assert_non_null(strstr(text, "tmtop_start_time_seconds 1700000000.250\n"));
	assert_non_null(strstr(text, "tmtop_metrics_users_folded 0\n"));
	/* no file, no file metric */
	assert_null(strstr(text, "file_write_errors"));
	free(text);
	metrics_view_free(&v);
	snapshot_free(&s);
	metrics_fold_free(f);
}

static void test_format_escaping(void **state)
{
	struct metrics_fold *f = metrics_fold_new(5, 100);
	struct snapshot s = snap_of(3);
	struct metrics_self self = { .file = true, .file_errors = 7, .names_pending = 1 };
	struct metrics_view v;
	char *text, *line;
	size_t len;

	set_user(&s, 0, 1000, 1, 1);
	set_user(&s, 1, 1001, 1, 1);
	set_user(&s, 2, 1002, 1, 1);
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	v.rows[0].name = "a\"b\\c\nd";
	v.rows[1].name = "caf\xc3\xa9 \xff\xfe x";	/* é, then not UTF-8 */
	v.rows[2].name = NULL;				/* not looked up in time: left out */
	assert_int_equal(metrics_format(&s, &v, &self, &text, &len), 0);
	assert_non_null(strstr(text, "{uid=\"1000\",user=\"a\\\"b\\\\c\\nd\"} 1\n"));
	assert_non_null(strstr(text, "{uid=\"1001\",user=\"caf\xc3\xa9 "
				     "\xef\xbf\xbd\xef\xbf\xbd x\"}"));
	assert_null(strstr(text, "uid=\"1002\""));
	assert_non_null(strstr(text, "tmtop_metrics_names_pending 1\n"));
	assert_non_null(strstr(text, "tmtop_metrics_file_write_errors_total 7\n"));
	/* every sample line belongs to the family announced last; every family has HELP */
	{
		char fam[128] = "";
		char *save = NULL, *copy = strdup(text);

		assert_non_null(copy);
		for (line = strtok_r(copy, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			if (!strncmp(line, "# HELP ", 7)) {
				sscanf(line + 7, "%127s", fam);
				continue;
			}
			if (!strncmp(line, "# TYPE ", 7)) {
				assert_int_equal(strncmp(line + 7, fam, strlen(fam)), 0);
				continue;
			}
			assert_int_equal(strncmp(line, fam, strlen(fam)), 0);
			assert_true(line[strlen(fam)] == '{' || line[strlen(fam)] == ' ');
		}
		free(copy);
	}
	free(text);
	metrics_view_free(&v);
	snapshot_free(&s);
	metrics_fold_free(f);
}

static void test_logs(void **state)
{
	struct metrics_fold *f = metrics_fold_new(5, 100);
	struct snapshot s = snap_of(0);
	struct metrics_view v;
	char *text;
	size_t len;

	s.nlogs = 2;
	snprintf(s.logs[0].name, sizeof(s.logs[0].name), "csv");
	s.logs[0].st.rows = 10;
	s.logs[0].st.bytes = 321;
	s.logs[0].st.not_written = 4;
	snprintf(s.logs[1].name, sizeof(s.logs[1].name), "flows");
	s.logs[1].st.write_errors = 2;
	s.logs[1].st.open_files = 3;
	assert_int_equal(metrics_fold(f, &s, &v), 0);
	assert_int_equal(metrics_format(&s, &v, NULL, &text, &len), 0);
	assert_non_null(strstr(text, "tmtop_log_rows_written_total{backend=\"csv\"} 10\n"));
	assert_non_null(strstr(text, "tmtop_log_written_bytes_total{backend=\"csv\"} 321\n"));
	assert_non_null(strstr(text, "tmtop_log_rows_not_written_total{backend=\"csv\"} 4\n"));
	assert_non_null(strstr(text, "tmtop_log_write_errors_total{backend=\"flows\"} 2\n"));
	assert_non_null(strstr(text, "tmtop_log_open_files{backend=\"flows\"} 3\n"));
	free(text);
	metrics_view_free(&v);
	snapshot_free(&s);
	metrics_fold_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test(test_cap_and_other),
		cmocka_unit_test(test_other_never_decreases),
		cmocka_unit_test(test_sticky),
		cmocka_unit_test(test_forgotten_and_absent),
		cmocka_unit_test(test_absent_keeps_series),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_no_other_until_needed),
		cmocka_unit_test(test_format_escaping),
		cmocka_unit_test(test_logs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
