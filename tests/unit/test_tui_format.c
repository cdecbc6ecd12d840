// SPDX-License-Identifier: GPL-2.0
/*
 * tmtop's pure pieces without a terminal: human units, UTF-8 aware truncation and the
 * sanitizer for untrusted text, durations, addresses, batch tokens; the column tables (sort
 * keys, their order, the rows they make of a snapshot); and the key table, whose actions only
 * change state and return reaction flags, so they run here on a struct tui over a fake source
 * that records every call and serves a hand-made snapshot.
 *
 * User names come from getpwuid_r(), which this file replaces with a fixed table so the name
 * sort and the filter see the same names on every machine.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <locale.h>
#include <string.h>
#include <cmocka.h>
#include <curses.h>
#include <linux/types.h>
#include "traffic_meter.h"
#include "meter/users.h"
#include "tui/format.h"
#include "tui/table.h"
#include "tui/tui.h"

#define NOSOCK	TM_OWNER_NOSOCK
#define CTRL_U	('u' & 0x1f)
#define KERNEL	TM_OWNER_KERNEL

/* The accounts of this test's world; every other uid has no name (it shows as a number). */
int getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len, struct passwd **res)
{
	const char *name;

	switch (uid) {
	case 1000: name = "alice"; break;
	case 33: name = "www-data"; break;
	case 500: name = "Bob"; break;
	case 0: name = "root"; break;
	case 1001: name = "ALINA"; break;
	default: name = NULL;
	}
	*res = NULL;
	if (!name)
		return 0;
	memset(pw, 0, sizeof(*pw));
	snprintf(buf, len, "%s", name);
	pw->pw_name = buf;
	pw->pw_uid = uid;
	*res = pw;
	return 0;
}

static char buf[FMT_LEN];

/* ---- format.h ---------------------------------------------------------------------------- */

static void test_bytes(void **state)
{
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 0), "0B");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 999), "999B");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 1000), "1.0K");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 1024), "1.0K");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 1536), "1.5K");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 1023 * 1024), "1.0M");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 999 * 1024), "999.0K");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 15ULL * 1024 * 1024 + 100000), "15.1M");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 3ULL << 30), "3.0G");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 2ULL << 40), "2.0T");
	/* the widest value still fits the 8-column cells */
	assert_true(strlen(fmt_bytes(buf, sizeof(buf), UINT64_MAX)) <= 8);
}

static void test_rate(void **state)
{
	assert_string_equal(fmt_rate(buf, sizeof(buf), 0, false), "0B");
	assert_string_equal(fmt_rate(buf, sizeof(buf), -3, false), "0B");
	assert_string_equal(fmt_rate(buf, sizeof(buf), 0.4, false), "0B");
	assert_string_equal(fmt_rate(buf, sizeof(buf), 512, false), "512B");
	assert_string_equal(fmt_rate(buf, sizeof(buf), 12345, false), "12.1K");
	/* bits: times eight, base 1000 */
	assert_string_equal(fmt_rate(buf, sizeof(buf), 100, true), "800b");
	assert_string_equal(fmt_rate(buf, sizeof(buf), 1200, true), "9.6Kb");
	assert_string_equal(fmt_rate(buf, sizeof(buf), 125000, true), "1.0Mb");
	assert_string_equal(fmt_rate(buf, sizeof(buf), 1.25e9, true), "10.0Gb");
	assert_true(strlen(fmt_rate(buf, sizeof(buf), 999.9 * 1000 * 1000 / 8, true)) <= 8);
}

/* Untrusted text reaches a terminal only as valid, printable UTF-8. */
static void test_sanitize(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "alice", "alice" },
		{ "", "" },
		{ "tab\there", "tab?here" },
		{ "\x1b[2Jwiped", "?[2Jwiped" },		/* ESC: no terminal escapes */
		{ "del\x7f", "del?" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },		/* é */
		{ "\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac" },	/* 日本 */
		{ "\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!" },	/* a 4-byte character */
		{ "\xc2\x9b" "31m", "??31m" },			/* C1 CSI, as UTF-8 */
		{ "\x9b" "31m", "?31m" },			/* C1 CSI, raw */
		{ "\xc2\x85", "??" },				/* NEL */
		{ "\xc3", "?" },				/* cut short */
		{ "\xc3(", "?(" },				/* bad continuation */
		{ "\xc0\xaf", "??" },				/* overlong '/' */
		{ "\xe0\x80\xaf", "???" },			/* overlong, 3 bytes */
		{ "\xed\xa0\x80", "???" },			/* a surrogate */
		{ "\xf4\x90\x80\x80", "????" },			/* past U+10FFFF */
		{ "\xff\xfe", "??" },
		{ "\xa9", "?" },				/* a lone continuation */
	};
	char b[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fmt_sanitize(b, sizeof(b), cases[i].in);
		if (strcmp(b, cases[i].out))
			fail_msg("case %zu: '%s', want '%s'", i, b, cases[i].out);
	}
	/* The buffer bounds it, never in the middle of a character. */
	assert_string_equal(fmt_sanitize(b, 3, "\xe6\x97\xa5"), "");
	assert_string_equal(fmt_sanitize(b, 4, "\xe6\x97\xa5x"), "\xe6\x97\xa5");
	assert_string_equal(fmt_sanitize(b, 3, "a\x01" "b"), "a?");
	assert_string_equal(fmt_sanitize(b, 1, "abc"), "");
	/* Width is in characters. */
	assert_int_equal(fmt_width(""), 0);
	assert_int_equal(fmt_width("alice"), 5);
	assert_int_equal(fmt_width("caf\xc3\xa9"), 4);
	assert_int_equal(fmt_width("\xf0\x9f\x98\x80!"), 2);
}

static void test_trunc(void **state)
{
	char b[16];

	assert_string_equal(fmt_trunc(b, sizeof(b), "alice", 8), "alice");
	assert_string_equal(fmt_trunc(b, sizeof(b), "alice", 5), "alice");
	assert_string_equal(fmt_trunc(b, sizeof(b), "alice", 4), "ali~");
	assert_string_equal(fmt_trunc(b, sizeof(b), "alice", 1), "~");
	assert_string_equal(fmt_trunc(b, sizeof(b), "alice", 0), "");
	assert_string_equal(fmt_trunc(b, sizeof(b), "alice", -2), "");
	assert_string_equal(fmt_trunc(b, sizeof(b), "", 3), "");
	/* never past the buffer */
	assert_string_equal(fmt_trunc(b, 4, "alice", 10), "al~");
	/* paths keep their end */
	assert_string_equal(fmt_trunc_left(b, sizeof(b), "/tmp/logs/x.log", 9), "~gs/x.log");
	assert_string_equal(fmt_trunc_left(b, sizeof(b), "/tmp/x.log", 10), "/tmp/x.log");
	assert_string_equal(fmt_trunc_left(b, sizeof(b), "/tmp/x.log", 1), "~");
	assert_string_equal(fmt_trunc_left(b, sizeof(b), "/tmp/x.log", 0), "");
	assert_string_equal(fmt_trunc_left(b, 5, "/tmp/x.log", 20), "~log");
}

/*
 * In a UTF-8 locale (as tmtop runs: setlocale(LC_ALL, "")), widths are the terminal's columns:
 * a CJK or emoji character takes two, and a cut never leaves half of one at the edge.
 */
static void test_wide_chars(void **state)
{
	char b[32];

	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		skip();
	/* two wide characters (U+5F20 U+4E09), an emoji, e and a combining accent */
	assert_int_equal(fmt_width("\xe5\xbc\xa0\xe4\xb8\x89"), 4);
	assert_int_equal(fmt_width("\xf0\x9f\x98\x80!"), 3);
	assert_int_equal(fmt_width("e\xcc\x81"), 1);
	assert_string_equal(fmt_trunc(b, sizeof(b), "\xe5\xbc\xa0\xe4\xb8\x89", 4),
			    "\xe5\xbc\xa0\xe4\xb8\x89");
	/* 3 columns: one wide character and the '~', never a wide one over the edge */
	assert_string_equal(fmt_trunc(b, sizeof(b), "\xe5\xbc\xa0\xe4\xb8\x89x", 3),
			    "\xe5\xbc\xa0~");
	assert_string_equal(fmt_trunc(b, sizeof(b), "\xe5\xbc\xa0\xe4\xb8\x89x", 2), "~");
	assert_int_equal(fmt_width(fmt_trunc(b, sizeof(b), "a\xe5\xbc\xa0\xe4\xb8\x89", 4)), 4);
	/* keeping the end: at most width columns, and it ends */
	assert_string_equal(fmt_trunc_left(b, sizeof(b), "x\xe5\xbc\xa0\xe4\xb8\x89", 4),
			    "~\xe4\xb8\x89");
	assert_string_equal(fmt_trunc_left(b, sizeof(b), "\xe5\xbc\xa0\xe4\xb8\x89", 2), "~");
	assert_string_equal(fmt_trunc_left(b, 4, "\xe5\xbc\xa0\xe4\xb8\x89", 10), "~");
	setlocale(LC_CTYPE, "C");
}

/* Widths count characters, a cut never splits one, and control bytes never pass. */
static void test_trunc_utf8(void **state)
{
	char b[16];

	/* héllo wörld: 11 characters, 13 bytes */
	assert_string_equal(fmt_trunc(b, sizeof(b), "h\xc3\xa9llo w\xc3\xb6rld", 11),
			    "h\xc3\xa9llo w\xc3\xb6rld");
	assert_string_equal(fmt_trunc(b, sizeof(b), "h\xc3\xa9llo w\xc3\xb6rld", 5),
			    "h\xc3\xa9ll~");
	assert_string_equal(fmt_trunc(b, sizeof(b), "\xc3\xa9\xc3\xa9\xc3\xa9", 2), "\xc3\xa9~");
	/* The buffer, not the width, cuts: still whole characters, and the '~'. */
	assert_string_equal(fmt_trunc(b, 4, "\xc3\xa9\xc3\xa9\xc3\xa9", 10), "\xc3\xa9~");
	assert_string_equal(fmt_trunc(b, 5, "\xe6\x97\xa5\xe6\x9c\xac", 10), "\xe6\x97\xa5~");
	assert_string_equal(fmt_trunc(b, 4, "\xe6\x97\xa5\xe6\x9c\xac", 10), "~");
	assert_string_equal(fmt_trunc(b, sizeof(b), "evil\x1b]0;pwned\x07", 20),
			    "evil?]0;pwned?");
	assert_string_equal(fmt_trunc_left(b, sizeof(b), "/h\xc3\xb6me/\xc3\xa9t\xc3\xa9.log", 8),
			    "~\xc3\xa9t\xc3\xa9.log");
	assert_string_equal(fmt_trunc_left(b, 8, "/h\xc3\xb6me/\xc3\xa9t\xc3\xa9.log", 20),
			    "~\xc3\xa9.log");
	assert_string_equal(fmt_trunc_left(b, sizeof(b), "/x\x01y", 3), "~?y");
	/* Every cut of a mixed string is valid UTF-8 and within the width. */
	for (size_t len = 1; len <= sizeof(b); len++) {
		for (int w = 0; w < 14; w++) {
			const char *src = "a\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80z\xc3\xa9\xc3\xa9";
			char chk[32];

			fmt_trunc(b, len, src, w);
			assert_true(strlen(b) < len);
			assert_true(fmt_width(b) <= w);
			assert_string_equal(fmt_sanitize(chk, sizeof(chk), b), b);
			fmt_trunc_left(b, len, src, w);
			assert_true(strlen(b) < len);
			assert_true(fmt_width(b) <= w);
			assert_string_equal(fmt_sanitize(chk, sizeof(chk), b), b);
		}
	}
}

static void test_elapsed(void **state)
{
	assert_string_equal(fmt_elapsed(buf, sizeof(buf), 0), "00:00:00");
	assert_string_equal(fmt_elapsed(buf, sizeof(buf), 83), "00:01:23");
	assert_string_equal(fmt_elapsed(buf, sizeof(buf), 86399), "23:59:59");
	assert_string_equal(fmt_elapsed(buf, sizeof(buf), 3600 * 25 + 61), "1d 01:01:01");
}

static void test_addr_token(void **state)
{
	uint8_t v4[16] = { 127, 0, 0, 1 };
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	char b[64];

	assert_string_equal(fmt_addr(b, sizeof(b), TM_AF_INET, v4), "127.0.0.1");
	assert_string_equal(fmt_addr(b, sizeof(b), TM_AF_INET6, v6), "2001:db8::1");
	assert_string_equal(fmt_addr(b, sizeof(b), 9, v6), "?");
	assert_string_equal(fmt_addr(b, sizeof(b), 0, v6), "?");
	assert_string_equal(fmt_token(b, sizeof(b), "(no socket)"), "(no_socket)");
	assert_string_equal(fmt_token(b, sizeof(b), "a\tb\nc"), "a?b?c");
	assert_string_equal(fmt_token(b, sizeof(b), "caf\xc3\xa9 bar"), "caf\xc3\xa9_bar");
	assert_string_equal(fmt_token(b, sizeof(b), ""), "-");
	assert_string_equal(fmt_token(b, 4, "abcdef"), "abc");
}

/* ---- the column tables ------------------------------------------------------------------- */

static void test_table_find(void **state)
{
	char names[256];

	assert_int_equal(table_find(&tbl_users, "user"), 0);
	assert_int_equal(table_find(&tbl_users, "rate"), 2);
	assert_int_equal(table_find(&tbl_users, "RATE"), 2);	/* --sort is case-blind */
	assert_int_equal(table_find(&tbl_users, "totout"), 6);
	assert_int_equal(table_find(&tbl_users, "bogus"), -1);
	assert_int_equal(table_find(&tbl_users, "LAST MINUTE"), -1);	/* not sortable */
	assert_int_equal(table_find(&tbl_peers, "netns"), 1);
	assert_int_equal(table_find(&tbl_procs, "command"), 8);
	assert_int_equal(table_find(&tbl_conns, "lport"), 1);
	assert_int_equal(table_find(&tbl_ignore, "prefix"), -1);
	assert_string_equal(table_sort_names(&tbl_users, names, sizeof(names)),
			    "user, uid, rate, in, out, totin, totout, quota");
	assert_string_equal(table_sort_names(&tbl_peers, names, sizeof(names)),
			    "addr, netns, rate, in, out, totin, totout");
	assert_string_equal(table_sort_names(&tbl_procs, names, sizeof(names)),
			    "pid, user, rate, in, out, totin, totout, command, service");
	assert_string_equal(table_sort_names(&tbl_ignore, names, sizeof(names)), "");
	/* The default sort is the hidden in + out rate, descending. */
	assert_int_equal(tbl_users.default_sort, table_find(&tbl_users, "rate"));
	assert_true(tbl_users.cols[tbl_users.default_sort].hidden);
	assert_true(tbl_users.cols[tbl_users.default_sort].desc);
}

static void test_table_step_sort(void **state)
{
	const struct table *t = &tbl_users;
	int s = t->default_sort, seen = 0;

	/* In the order the columns are drawn, skipping the graph and the top peer. */
	assert_int_equal(table_step_sort(t, table_find(t, "rate"), 1), table_find(t, "in"));
	assert_int_equal(table_step_sort(t, table_find(t, "rate"), -1), table_find(t, "uid"));
	assert_int_equal(table_step_sort(t, table_find(t, "totout"), 1), table_find(t, "quota"));
	assert_int_equal(table_step_sort(t, table_find(t, "quota"), 1), table_find(t, "user"));
	assert_int_equal(table_step_sort(t, table_find(t, "user"), -1), table_find(t, "quota"));
	/* A full turn visits every sortable column once and comes back. */
	do {
		assert_non_null(t->cols[s].cmp);
		s = table_step_sort(t, s, 1);
		seen++;
	} while (s != t->default_sort);
	assert_int_equal(seen, 8);
	/* A table with nothing to sort stays where it is. */
	assert_int_equal(table_step_sort(&tbl_ignore, -1, 1), -1);
}

static void test_table_col_sorted(void **state)
{
	const struct table *t = &tbl_users;
	int rate = table_find(t, "rate"), in = table_find(t, "in"), out = table_find(t, "out");

	/* Sorted by the hidden rate: IN/s and OUT/s are both marked. */
	assert_true(table_col_sorted(t, in, rate));
	assert_true(table_col_sorted(t, out, rate));
	assert_true(table_col_sorted(t, rate, rate));
	assert_false(table_col_sorted(t, table_find(t, "totin"), rate));
	assert_false(table_col_sorted(t, table_find(t, "user"), rate));
	assert_false(table_col_sorted(t, 7, rate));	/* the graph, no id */
	/* Sorted by one of them: only that one. */
	assert_true(table_col_sorted(t, in, in));
	assert_false(table_col_sorted(t, out, in));
	assert_false(table_col_sorted(t, rate, in));
	assert_false(table_col_sorted(t, in, -1));
	/* The same for peers and processes. */
	assert_true(table_col_sorted(&tbl_peers, table_find(&tbl_peers, "out"),
				     table_find(&tbl_peers, "rate")));
	assert_false(table_col_sorted(&tbl_procs, table_find(&tbl_procs, "totin"),
				      table_find(&tbl_procs, "rate")));
}

/* uid: in rate, out rate, in total, out total chosen so every key gives a different order. */
static const struct {
	tm_owner_t owner;
	double in_rate, out_rate;
	uint64_t in_tot, out_tot;
} fixture[] = {
	{ 1000, 4000, 100, 5000, 900000 },
	{ 33, 100, 3000, 700000, 100 },
	{ 500, 2000, 2500, 100, 50000 },
	{ 0, 10, 10, 9000, 9000 },
};

static struct snap_user fx_users[8];

static struct snapshot fixture_snap(void)
{
	struct snapshot s = { .version = SNAP_VERSION, .users = fx_users, .nusers = 4 };

	memset(fx_users, 0, sizeof(fx_users));
	for (size_t i = 0; i < 4; i++) {
		fx_users[i].owner = fixture[i].owner;
		fx_users[i].rate[TM_DIR_IN] = fixture[i].in_rate;
		fx_users[i].rate[TM_DIR_OUT] = fixture[i].out_rate;
		fx_users[i].bytes[TM_DIR_IN] = fixture[i].in_tot;
		fx_users[i].bytes[TM_DIR_OUT] = fixture[i].out_tot;
		fx_users[i].has_rate = true;
	}
	return s;
}

static void expect_order(const struct snapshot *s, const char *key, bool inv, const char *filter,
			 const tm_owner_t *only, const tm_owner_t *owners, size_t n)
{
	int sort = key ? table_find(&tbl_users, key) : 999;
	struct row *rows;
	int got = table_rows(&tbl_users, s, filter, only, sort, inv, &rows);

	assert_int_equal(got, n);
	for (size_t i = 0; i < n; i++) {
		const struct snap_user *u = rows[i].data;

		if (u->owner != owners[i])
			fail_msg("%s%s: row %zu is %llu, want %llu", key ? key : "(none)",
				 inv ? " inverted" : "", i, (unsigned long long)u->owner,
				 (unsigned long long)owners[i]);
		assert_string_equal(rows[i].name, owner_name(u->owner));
	}
	free(rows);
}

#define ORDER(s, key, inv, ...)                                                        \
	expect_order(s, key, inv, NULL, NULL, (tm_owner_t[]){ __VA_ARGS__ },           \
		     sizeof((tm_owner_t[]){ __VA_ARGS__ }) / sizeof(tm_owner_t))

static void test_rows_sort_keys(void **state)
{
	struct snapshot s = fixture_snap();

	ORDER(&s, "rate", false, 500, 1000, 33, 0);
	ORDER(&s, "rate", true, 0, 33, 1000, 500);
	ORDER(&s, "in", false, 1000, 500, 33, 0);
	ORDER(&s, "out", false, 33, 500, 1000, 0);
	ORDER(&s, "totin", false, 33, 0, 1000, 500);
	ORDER(&s, "totout", false, 1000, 500, 0, 33);
	ORDER(&s, "totout", true, 33, 0, 500, 1000);
	/* Names ascend by default, case-insensitively: alice, Bob, root, www-data. */
	ORDER(&s, "user", false, 1000, 500, 0, 33);
	ORDER(&s, "user", true, 33, 0, 500, 1000);
	ORDER(&s, "uid", false, 0, 33, 500, 1000);
	ORDER(&s, "uid", true, 1000, 500, 33, 0);
	/* An out-of-range sort reads nothing it should not: rows come in key order. */
	ORDER(&s, NULL, false, 0, 33, 500, 1000);
}

static void test_rows_ties_stable(void **state)
{
	const tm_owner_t owners[] = { 77, 3, 1500, 42, 1256, 9, 65534, 100, 1001, 256, 1 };
	const size_t n = sizeof(owners) / sizeof(owners[0]);
	struct snap_user u[16];
	struct snapshot s = { .users = u, .nusers = n };
	struct row *rows;

	/* Identical users but for the uid and the name: every key ties but uid and user. */
	memset(u, 0, sizeof(u));
	for (size_t i = 0; i < n; i++) {
		u[i].owner = owners[i];
		u[i].has_rate = true;
		u[i].rate[0] = u[i].rate[1] = 5;
		u[i].bytes[0] = u[i].bytes[1] = 100;
	}
	for (size_t k = 0; k < tbl_users.ncols; k++) {
		if (!tbl_users.cols[k].cmp || !strcmp(tbl_users.cols[k].id, "uid") ||
		    !strcmp(tbl_users.cols[k].id, "user"))
			continue;
		for (int inv = 0; inv < 2; inv++) {
			for (int rep = 0; rep < 3; rep++) {
				/* The input order must not matter either. */
				struct snap_user t = u[rep];

				u[rep] = u[n - 1 - rep];
				u[n - 1 - rep] = t;
				assert_int_equal(table_rows(&tbl_users, &s, NULL, NULL, (int)k, inv,
							    &rows), n);
				for (size_t i = 1; i < n; i++) {
					const struct snap_user *x = rows[i - 1].data;
					const struct snap_user *y = rows[i].data;

					assert_true(x->owner < y->owner);
				}
				free(rows);
			}
		}
	}
}

static void test_rows_no_rate_last(void **state)
{
	struct snapshot s = fixture_snap();
	struct row *rows;

	/* A user with one sample has no rate: it sorts after every rate, even 0. */
	fx_users[4] = (struct snap_user){ .owner = 4242, .bytes = { 1, 1 } };
	fx_users[5] = (struct snap_user){ .owner = 4243, .has_rate = true };
	s.nusers = 6;
	assert_int_equal(table_rows(&tbl_users, &s, NULL, NULL, tbl_users.default_sort, false,
				    &rows), 6);
	assert_int_equal(((const struct snap_user *)rows[4].data)->owner, 4243);
	assert_int_equal(((const struct snap_user *)rows[5].data)->owner, 4242);
	free(rows);
	assert_int_equal(table_rows(&tbl_users, &s, NULL, NULL, table_find(&tbl_users, "in"), false,
				    &rows), 6);
	assert_int_equal(((const struct snap_user *)rows[5].data)->owner, 4242);
	free(rows);
}

static void expect_filter(const struct snapshot *s, const char *filter, size_t n,
			  tm_owner_t first)
{
	struct row *rows;

	assert_int_equal(table_rows(&tbl_users, s, filter, NULL, table_find(&tbl_users, "uid"),
				    false, &rows), n);
	if (n)
		assert_int_equal(((const struct snap_user *)rows[0].data)->owner, first);
	free(rows);
}

static void test_rows_filter_only(void **state)
{
	struct snapshot s = fixture_snap();
	struct row *rows;

	fx_users[4] = (struct snap_user){ .owner = 1001 };
	fx_users[5] = (struct snap_user){ .owner = NOSOCK };
	fx_users[6] = (struct snap_user){ .owner = 70000 };	/* no account: its number */
	s.nusers = 7;
	expect_filter(&s, "ALI", 2, 1000);	/* alice, ALINA */
	expect_filter(&s, "bob", 1, 500);
	expect_filter(&s, "00", 4, 500);	/* digits of 500, 1000, 1001, 70000 */
	expect_filter(&s, "3", 1, 33);
	expect_filter(&s, "socket", 1, NOSOCK);	/* "(no socket)" and "nosocket" */
	expect_filter(&s, "nosocket", 1, NOSOCK);
	expect_filter(&s, "7000", 1, 70000);
	expect_filter(&s, "nomatch", 0, 0);
	expect_filter(&s, "", 7, 0);
	expect_filter(&s, NULL, 7, 0);

	/* -u USER: one owner, with or without a filter. */
	expect_order(&s, "rate", false, NULL, &(tm_owner_t){ 500 }, (tm_owner_t[]){ 500 }, 1);
	expect_order(&s, "rate", false, "bob", &(tm_owner_t){ 500 }, (tm_owner_t[]){ 500 }, 1);
	expect_order(&s, "rate", false, "alice", &(tm_owner_t){ 500 }, NULL, 0);
	assert_int_equal(table_rows(&tbl_users, &s, NULL, &(tm_owner_t){ 4242 }, 0, false, &rows),
			 0);
	free(rows);
	/* An empty snapshot is no rows, not an error. */
	s.nusers = 0;
	assert_int_equal(table_rows(&tbl_users, &s, NULL, NULL, 0, false, &rows), 0);
	free(rows);
}

/* "other" and "(exited)" rows stay at the bottom whatever the sort, and survive a filter. */
static void test_rows_pinned_last(void **state)
{
	struct snap_peer p[4] = {
		{ .owner = 1000, .family = 0, .bytes = { 1000000, 1000000 }, .rate = { 1e6, 1e6 },
		  .folded = 70 },
		{ .owner = 1000, .family = TM_AF_INET, .addr = { 10, 0, 0, 1 }, .rate = { 5, 5 } },
		{ .owner = 1000, .family = TM_AF_INET, .addr = { 10, 0, 0, 2 }, .rate = { 9, 9 } },
		{ .owner = 1000, .family = TM_AF_INET, .addr = { 10, 0, 0, 1 },
		  .netns = 4026532000u },
	};
	struct snap_proc r[3] = {
		{ .owner = 1000, .tgid = 0, .exited = true, .nfolded = 3, .has_rate = true,
		  .rate = { 1e9, 0 }, .comm = "(exited)" },
		{ .owner = 1000, .tgid = 7, .has_rate = true, .rate = { 1, 0 }, .comm = "curl" },
		{ .owner = 33, .tgid = 9, .has_rate = true, .rate = { 2, 0 }, .comm = "nginx" },
	};
	struct snap_conn c[2] = {
		{ .family = 0, .rate = { 1e9, 0 }, .folded = 4 },
		{ .family = TM_AF_INET, .proto = 6, .lport = 1, .rport = 2, .rate = { 1, 0 } },
	};
	struct snapshot s = { .peers = p, .npeers = 4, .procs = r, .nprocs = 3, .conns = c,
			      .nconns = 2 };
	struct row *rows;

	for (int k = 0; k < (int)tbl_peers.ncols; k++) {
		for (int inv = 0; inv < 2; inv++) {
			assert_int_equal(table_rows(&tbl_peers, &s, NULL, NULL, k, inv, &rows), 4);
			assert_ptr_equal(rows[3].data, &p[0]);
			assert_true(rows[3].pinned_last);
			free(rows);
		}
	}
	assert_int_equal(table_rows(&tbl_peers, &s, NULL, NULL, tbl_peers.default_sort, false,
				    &rows), 4);
	assert_ptr_equal(rows[0].data, &p[2]);
	assert_ptr_equal(rows[1].data, &p[1]);
	free(rows);
	/* A filter matches addresses, and never hides the "other" row's exact sum. */
	assert_int_equal(table_rows(&tbl_peers, &s, "10.0.0.1", NULL, 0, false, &rows), 3);
	assert_ptr_equal(rows[2].data, &p[0]);
	free(rows);
	/* Processes: "(exited)" last; -u filters by owner. */
	assert_int_equal(table_rows(&tbl_procs, &s, NULL, NULL, tbl_procs.default_sort, false,
				    &rows), 3);
	assert_ptr_equal(rows[0].data, &r[2]);
	assert_ptr_equal(rows[2].data, &r[0]);
	free(rows);
	assert_int_equal(table_rows(&tbl_procs, &s, NULL, &(tm_owner_t){ 1000 },
				    tbl_procs.default_sort, true, &rows), 2);
	assert_ptr_equal(rows[1].data, &r[0]);
	free(rows);
	assert_int_equal(table_rows(&tbl_procs, &s, "curl", NULL, 0, false, &rows), 2);
	free(rows);
	assert_int_equal(table_rows(&tbl_procs, &s, "www", NULL, 0, false, &rows), 2);
	free(rows);
	/* Connections: "other" last. */
	assert_int_equal(table_rows(&tbl_conns, &s, NULL, NULL, tbl_conns.default_sort, false,
				    &rows), 2);
	assert_ptr_equal(rows[1].data, &c[0]);
	free(rows);
}

/* A few cells: what the screen and batch mode print for one row. */
static void test_cells(void **state)
{
	struct col_ctx ctx = { .graph_cells = 15 }, raw = { .raw = true, .graph_cells = 15 };
	struct snap_user u = { .owner = NOSOCK, .bytes = { 2048, 5 } };
	struct snap_peer other = { .family = 0, .folded = 12, .folded_more = true };
	struct snap_peer v6 = { .family = TM_AF_INET6, .addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
				.netns = 4026532000u };
	struct snap_proc exited = { .tgid = 0, .exited = true, .nfolded = 3 };
	struct row r = { .data = &u, .name = owner_name(NOSOCK) };
	struct cell c;

	tbl_users.cols[0].cell(&ctx, &r, &c);
	assert_string_equal(c.text, "(no socket)");
	tbl_users.cols[0].cell(&raw, &r, &c);
	assert_string_equal(c.text, "(no_socket)");
	tbl_users.cols[1].cell(&ctx, &r, &c);
	assert_string_equal(c.text, "-");
	tbl_users.cols[3].cell(&ctx, &r, &c);
	assert_string_equal(c.text, "-");		/* no rate yet */
	tbl_users.cols[5].cell(&ctx, &r, &c);
	assert_string_equal(c.text, "2.0K");
	tbl_users.cols[5].cell(&raw, &r, &c);
	assert_string_equal(c.text, "2048");
	r.data = &other;
	tbl_peers.cols[0].cell(&ctx, &r, &c);
	assert_string_equal(c.text, "other (12+ peers)");
	tbl_peers.cols[0].cell(&raw, &r, &c);
	assert_string_equal(c.text, "other(12+)");
	r.data = &v6;
	tbl_peers.cols[0].cell(&ctx, &r, &c);
	assert_string_equal(c.text, "2001:db8::1");
	tbl_peers.cols[1].cell(&ctx, &r, &c);
	assert_string_equal(c.text, "4026532000");
	r.data = &exited;
	tbl_procs.cols[table_find(&tbl_procs, "command")].cell(&ctx, &r, &c);
	assert_string_equal(c.text, "(3 exited)");
}

static void test_spark_text(void **state)
{
	float sp[SNAP_SPARK] = { 0 };
	char b[256];

	/* Nothing: blanks; cells <= 0 or no room: empty. */
	assert_string_equal(spark_text(sp, SNAP_SPARK, 5, false, b, sizeof(b)), "     ");
	assert_string_equal(spark_text(sp, SNAP_SPARK, 5, true, b, sizeof(b)), "     ");
	assert_string_equal(spark_text(sp, SNAP_SPARK, 0, false, b, sizeof(b)), "");
	assert_string_equal(spark_text(sp, 0, 5, false, b, sizeof(b)), "");
	/* Steady: every cell full, two points per cell on 15 cells. */
	for (int i = 0; i < SNAP_SPARK; i++)
		sp[i] = 4000;
	spark_text(sp, SNAP_SPARK, 15, false, b, sizeof(b));
	assert_int_equal(strlen(b), 15 * 3);
	for (int i = 0; i < 15; i++)
		assert_memory_equal(b + 3 * i, "\u2588", 3);
	assert_string_equal(spark_text(sp, SNAP_SPARK, 15, true, b, sizeof(b)),
			    "@@@@@@@@@@@@@@@");
	/* A ramp rises; any traffic at all shows, however small next to the peak. */
	for (int i = 0; i < SNAP_SPARK; i++)
		sp[i] = i < 10 ? 0 : i == 10 ? 1 : 1000 * (i - 10);
	assert_string_equal(spark_text(sp, SNAP_SPARK, 15, true, b, sizeof(b)),
			    "     ..:-=+*#%@");
	spark_text(sp, SNAP_SPARK, 15, false, b, sizeof(b));
	assert_memory_equal(b, "     \u2581", 5 + 3);
	assert_memory_equal(b + strlen(b) - 3, "\u2588", 3);
	/* Cells end at the newest point; the oldest cell averages what it covers. */
	memset(sp, 0, sizeof(sp));
	for (int i = 1; i < 6; i++)
		sp[i] = 100;
	assert_string_equal(spark_text(sp, SNAP_SPARK, 4, true, b, sizeof(b)), "@   ");
	/* Garbage from a socket does not index outside the levels. */
	sp[0] = -5;
	sp[29] = __builtin_nanf("");
	assert_string_equal(spark_text(sp, SNAP_SPARK, 30, true, b, sizeof(b)),
			    " @@@@@" "                        ");
	assert_int_equal(strlen(b), 30);
	/* The buffer bounds it. */
	for (int i = 0; i < SNAP_SPARK; i++)
		sp[i] = 1;
	spark_text(sp, SNAP_SPARK, 15, false, b, 10);
	assert_true(strlen(b) < 10);
	assert_int_equal(strlen(b) % 3, 0);
}

/* ---- the key table, over a fake source --------------------------------------------------- */

struct fake_src {
	struct source base;
	int nsnap, nadd, nset, ndel;
	struct snap_request req;	/* the last snapshot request */
	struct ip_prefix p;		/* the last edit */
	size_t idx;
	bool on;
	int edit_ret;			/* what edits return */
	bool fail;			/* snapshots fail */
	/* the world it serves */
	struct snap_user users[16];
	size_t nusers;
	struct snap_peer peers[8];
	size_t npeers;
	struct snap_proc procs[8];
	size_t nprocs;
	struct snap_conn conns[4];
	size_t nconns;
	struct ignore_entry ignore[4];
	size_t nignore;
};

static void *dup_n(const void *v, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	assert_non_null(p);
	memcpy(p, v, n * size);
	return p;
}

static int fake_snapshot(struct source *s, const struct snap_request *req, struct snapshot *out,
			 char *err, size_t errlen)
{
	struct fake_src *f = (struct fake_src *)s;

	f->nsnap++;
	f->req = *req;
	if (f->fail) {
		snprintf(err, errlen, "the meter went away");
		return -ECONNRESET;
	}
	memset(out, 0, sizeof(*out));
	out->version = SNAP_VERSION;
	out->users = dup_n(f->users, f->nusers, sizeof(*f->users));
	out->nusers = f->nusers;
	if (req->peers) {
		out->peers = calloc(f->npeers + 1, sizeof(*out->peers));
		for (size_t i = 0; i < f->npeers; i++)
			if (f->peers[i].owner == req->peers_of)
				out->peers[out->npeers++] = f->peers[i];
		out->have_peers = true;
		out->peers_of = req->peers_of;
	}
	if (req->procs) {
		out->procs = calloc(f->nprocs + 1, sizeof(*out->procs));
		for (size_t i = 0; i < f->nprocs; i++)
			if (!req->procs_one || f->procs[i].owner == req->procs_of)
				out->procs[out->nprocs++] = f->procs[i];
		out->have_procs = true;
	}
	if (req->conns) {
		out->conns = dup_n(f->conns, f->nconns, sizeof(*f->conns));
		out->nconns = f->nconns;
		out->have_conns = true;
		out->conns_owner = req->conns_owner;
		out->conns_tgid = req->conns_tgid;
	}
	out->ignore = dup_n(f->ignore, f->nignore, sizeof(*f->ignore));
	out->nignore = f->nignore;
	return 0;
}

static int fake_add(struct source *s, const struct ip_prefix *p, char *err, size_t errlen)
{
	struct fake_src *f = (struct fake_src *)s;

	f->nadd++;
	f->p = *p;
	if (f->edit_ret)
		snprintf(err, errlen, "refused by the fake");
	return f->edit_ret;
}

static int fake_set(struct source *s, size_t idx, const struct ip_prefix *p, bool on, char *err,
		    size_t errlen)
{
	struct fake_src *f = (struct fake_src *)s;

	f->nset++;
	f->idx = idx;
	f->p = *p;
	f->on = on;
	return f->edit_ret;
}

static int fake_del(struct source *s, size_t idx, const struct ip_prefix *p, char *err,
		    size_t errlen)
{
	struct fake_src *f = (struct fake_src *)s;

	f->ndel++;
	f->idx = idx;
	f->p = *p;
	return f->edit_ret;
}

static const struct source_ops fake_ops = {
	.snapshot = fake_snapshot,
	.ignore_add = fake_add,
	.ignore_set = fake_set,
	.ignore_del = fake_del,
};

static struct fake_src fsrc;
static struct tui tt;

/* n users 1000, 1001, ..., by falling rate so the default sort lists them in that order. */
static struct tui *new_tui(int nusers, bool may_edit)
{
	tui_free(&tt);
	memset(&tt, 0, sizeof(tt));
	memset(&fsrc, 0, sizeof(fsrc));
	fsrc.base.ops = &fake_ops;
	fsrc.base.may_edit = may_edit;
	fsrc.base.all_users = true;
	for (int i = 0; i < nusers; i++) {
		struct snap_user *u = &fsrc.users[i];

		u->owner = 1000 + i;
		u->has_rate = true;
		u->rate[TM_DIR_OUT] = 1000 - 10 * i;
		u->bytes[TM_DIR_OUT] = 100 * i;
	}
	fsrc.nusers = nusers;
	/* alice (1000) has three peers, one in another netns, and an "other" row. */
	fsrc.peers[0] = (struct snap_peer){ .owner = 1000, .family = TM_AF_INET,
					    .addr = { 8, 8, 8, 8 }, .rate = { 30, 0 } };
	fsrc.peers[1] = (struct snap_peer){ .owner = 1000, .family = TM_AF_INET6,
					    .addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
					    .rate = { 20, 0 } };
	fsrc.peers[2] = (struct snap_peer){ .owner = 1000, .family = TM_AF_INET,
					    .addr = { 10, 0, 0, 1 }, .netns = 4026532000u,
					    .rate = { 10, 0 } };
	fsrc.peers[3] = (struct snap_peer){ .owner = 1000, .family = 0, .folded = 9,
					    .rate = { 100, 0 } };
	fsrc.peers[4] = (struct snap_peer){ .owner = 1001, .family = TM_AF_INET,
					    .addr = { 1, 1, 1, 1 } };
	fsrc.npeers = 5;
	fsrc.procs[0] = (struct snap_proc){ .owner = 1000, .tgid = 41, .comm = "curl",
					    .has_rate = true, .rate = { 50, 0 } };
	fsrc.procs[1] = (struct snap_proc){ .owner = 1000, .tgid = 0, .comm = "(exited)",
					    .exited = true, .nfolded = 2, .has_rate = true };
	fsrc.procs[2] = (struct snap_proc){ .owner = 1001, .tgid = 77, .comm = "ssh",
					    .has_rate = true, .rate = { 5, 0 } };
	fsrc.nprocs = 3;
	fsrc.conns[0] = (struct snap_conn){ .family = TM_AF_INET, .proto = 6, .lport = 40000,
					    .rport = 443, .addr = { 8, 8, 8, 8 } };
	fsrc.nconns = 1;
	fsrc.ignore[0] = (struct ignore_entry){ .p = { .family = TM_AF_INET, .len = 8,
						       .addr = { 10 } }, .on = true };
	fsrc.ignore[1] = (struct ignore_entry){ .p = { .family = TM_AF_INET6, .len = 32,
						       .addr = { 0x20, 0x01, 0x0d, 0xb8 } } };
	fsrc.nignore = 2;

	tt.src = &fsrc.base;
	tt.delay = 1.0;
	assert_int_equal(tui_init(&tt), 0);
	tt.page = 5;
	assert_true(tui_refresh(&tt));
	return &tt;
}

static tm_owner_t sel_owner(struct tui *t)
{
	const struct row *r = pane_selected(&t->panes[VIEW_USERS]);

	assert_non_null(r);
	return ((const struct snap_user *)r->data)->owner;
}

static void test_move(void **state)
{
	struct tui *t = new_tui(12, true);
	struct tui_list *l = &t->panes[VIEW_USERS].list;

	assert_int_equal(l->n, 12);
	assert_int_equal(l->sel, 0);
	assert_int_equal(sel_owner(t), 1000);
	assert_int_equal(keys_dispatch(t, KEY_DOWN), RE_REDRAW);
	assert_int_equal(l->sel, 1);
	assert_int_equal(sel_owner(t), 1001);
	keys_dispatch(t, KEY_UP);
	keys_dispatch(t, KEY_UP);
	assert_int_equal(l->sel, 0);
	keys_dispatch(t, 'j');
	keys_dispatch(t, 'k');
	assert_int_equal(l->sel, 0);
	keys_dispatch(t, KEY_NPAGE);
	assert_int_equal(l->sel, 5);
	assert_true(l->top <= 5 && l->top + t->page > 5);
	keys_dispatch(t, KEY_END);
	assert_int_equal(l->sel, 11);
	assert_int_equal(l->top, 7);
	keys_dispatch(t, KEY_DOWN);
	assert_int_equal(l->sel, 11);
	keys_dispatch(t, KEY_HOME);
	assert_int_equal(l->sel, 0);
	assert_int_equal(l->top, 0);
	keys_dispatch(t, KEY_PPAGE);
	assert_int_equal(l->sel, 0);
	/* Moving is drawing only: no snapshot was asked for. */
	assert_int_equal(fsrc.nsnap, 1);
}

static void test_selection_follows_owner(void **state)
{
	struct tui *t = new_tui(4, true);
	struct tui_list *l = &t->panes[VIEW_USERS].list;

	keys_dispatch(t, KEY_DOWN);
	keys_dispatch(t, KEY_DOWN);
	assert_int_equal(sel_owner(t), 1002);
	/* 1002 becomes the busiest: the bar goes with it to the top. */
	fsrc.users[2].rate[TM_DIR_OUT] = 1e6;
	assert_true(tui_refresh(t));
	assert_int_equal(l->sel, 0);
	assert_int_equal(sel_owner(t), 1002);
	/* It disappears: the bar stays at the same height, on a real row. */
	keys_dispatch(t, KEY_END);
	assert_int_equal(sel_owner(t), 1003);
	fsrc.nusers = 2;
	assert_true(tui_refresh(t));
	assert_int_equal(l->n, 2);
	assert_int_equal(l->sel, 1);
	assert_int_equal(sel_owner(t), 1001);
	fsrc.nusers = 0;
	assert_true(tui_refresh(t));
	assert_int_equal(l->sel, 0);
	assert_null(pane_selected(&t->panes[VIEW_USERS]));
	/* A source that fails keeps the last snapshot and says why. */
	fsrc.nusers = 3;
	assert_true(tui_refresh(t));
	fsrc.fail = true;
	assert_false(tui_refresh(t));
	assert_string_equal(t->source_error, "the meter went away");
	assert_int_equal(t->panes[VIEW_USERS].list.n, 3);
	fsrc.fail = false;
	assert_true(tui_refresh(t));
	assert_string_equal(t->source_error, "");
}

static void test_sort_keys(void **state)
{
	struct tui *t = new_tui(3, true);
	struct pane *p = &t->panes[VIEW_USERS];

	assert_int_equal(p->sort, table_find(&tbl_users, "rate"));
	assert_int_equal(keys_dispatch(t, '>'), RE_REFRESH);
	assert_int_equal(p->sort, table_find(&tbl_users, "in"));
	keys_dispatch(t, '<');
	keys_dispatch(t, '<');
	assert_int_equal(p->sort, table_find(&tbl_users, "uid"));
	keys_dispatch(t, KEY_F(6));
	assert_int_equal(p->sort, table_find(&tbl_users, "rate"));
	keys_dispatch(t, '.');
	keys_dispatch(t, ',');
	assert_int_equal(p->sort, table_find(&tbl_users, "rate"));
	assert_false(p->invert);
	assert_int_equal(keys_dispatch(t, 'I'), RE_REFRESH);
	assert_true(p->invert);
	assert_true(tui_refresh(t));
	assert_int_equal(sel_owner(t), 1000);	/* the selection stays on its user */
	assert_int_equal(t->panes[VIEW_USERS].list.sel, 2);
	/* sort keys mean nothing in the ignore panel */
	keys_dispatch(t, 'x');
	assert_int_equal(t->view, VIEW_IGNORE);
	assert_int_equal(keys_dispatch(t, '>'), RE_OK);
	assert_int_equal(keys_dispatch(t, 'I'), RE_OK);
	assert_int_equal(p->sort, table_find(&tbl_users, "rate"));
	/* each view sorts on its own */
	keys_dispatch(t, 27);
	keys_dispatch(t, '\r');
	assert_int_equal(t->view, VIEW_PEERS);
	keys_dispatch(t, '<');
	assert_int_equal(t->panes[VIEW_PEERS].sort, table_find(&tbl_peers, "netns"));
	assert_int_equal(p->sort, table_find(&tbl_users, "rate"));
}

static void test_filter_typing(void **state)
{
	struct tui *t = new_tui(3, true);

	assert_int_equal(keys_dispatch(t, '/'), RE_REDRAW);
	assert_int_equal(t->input, INPUT_FILTER);
	/* applies as you type; 'q' is text here, not quit */
	assert_int_equal(keys_dispatch(t, 'q'), RE_REFRESH);
	assert_int_equal(keys_dispatch(t, '1'), RE_REFRESH);
	assert_string_equal(t->filter, "q1");
	keys_dispatch(t, KEY_BACKSPACE);
	assert_string_equal(t->filter, "q");
	assert_int_equal(keys_dispatch(t, 1), RE_OK);	/* a control key is not text */
	assert_string_equal(t->filter, "q");
	keys_dispatch(t, '\r');
	assert_int_equal(t->input, INPUT_NONE);
	assert_string_equal(t->filter, "q");	/* Enter keeps it */
	keys_dispatch(t, KEY_F(4));
	assert_int_equal(t->input, INPUT_FILTER);
	assert_int_equal(keys_dispatch(t, 27), RE_REFRESH);
	assert_string_equal(t->filter, "");	/* Esc clears it */
	assert_int_equal(t->input, INPUT_NONE);
	keys_dispatch(t, '\\');
	assert_int_equal(t->input, INPUT_FILTER);
	/* The rows follow the filter. */
	keys_dispatch(t, '1');
	keys_dispatch(t, '0');
	keys_dispatch(t, '0');
	keys_dispatch(t, '2');
	assert_true(tui_refresh(t));
	assert_int_equal(t->panes[VIEW_USERS].list.n, 1);
	assert_int_equal(sel_owner(t), 1002);
	keys_dispatch(t, CTRL_U);
	assert_string_equal(t->filter, "");
	assert_int_equal(keys_dispatch(t, KEY_RESIZE), RE_RESIZE);
	assert_int_equal(keys_dispatch(t, KEY_F(10)), RE_QUIT);
	/* Long input stops at the buffer. */
	for (int i = 0; i < 2 * TUI_TEXT_LEN; i++)
		keys_dispatch(t, 'x');
	assert_int_equal(strlen(t->filter), TUI_TEXT_LEN - 1);
}

static void test_views_and_help(void **state)
{
	struct tui *t = new_tui(3, true);

	assert_int_equal(keys_dispatch(t, '\r'), RE_REFRESH);
	assert_int_equal(t->view, VIEW_PEERS);
	assert_int_equal(t->owner, 1000);
	assert_true(tui_refresh(t));
	assert_true(fsrc.req.peers);
	assert_int_equal(fsrc.req.peers_of, 1000);
	assert_int_equal(t->panes[VIEW_PEERS].list.n, 4);
	assert_int_equal(keys_dispatch(t, 27), RE_REFRESH);
	assert_int_equal(t->view, VIEW_USERS);
	keys_dispatch(t, KEY_DOWN);
	assert_int_equal(keys_dispatch(t, KEY_RIGHT), RE_REFRESH);
	assert_int_equal(t->view, VIEW_PEERS);
	assert_int_equal(t->owner, 1001);
	keys_dispatch(t, KEY_LEFT);
	assert_int_equal(t->view, VIEW_USERS);
	keys_dispatch(t, 'x');
	assert_int_equal(t->view, VIEW_IGNORE);
	assert_true(tui_refresh(t));
	assert_int_equal(t->panes[VIEW_IGNORE].list.n, 2);
	keys_dispatch(t, KEY_LEFT);
	assert_int_equal(t->view, VIEW_USERS);

	assert_int_equal(keys_dispatch(t, '?'), RE_REDRAW);
	assert_true(t->help);
	assert_int_equal(keys_dispatch(t, 'q'), RE_REDRAW);	/* any key closes, even q */
	assert_false(t->help);
	keys_dispatch(t, KEY_F(1));
	assert_true(t->help);
	assert_int_equal(keys_dispatch(t, KEY_RESIZE), RE_RESIZE);
	assert_true(t->help);
	keys_dispatch(t, ' ');
	assert_false(t->help);
	keys_dispatch(t, 'h');
	assert_true(t->help);
	keys_dispatch(t, 'h');

	assert_int_equal(keys_dispatch(t, 'q'), RE_QUIT);
	assert_int_equal(keys_dispatch(t, KEY_F(10)), RE_QUIT);
	assert_int_equal(keys_dispatch(t, KEY_RESIZE), RE_RESIZE);
	assert_int_equal(keys_dispatch(t, '~'), RE_OK);

	/* no user, no peers or processes view */
	t = new_tui(0, true);
	assert_int_equal(keys_dispatch(t, '\r'), RE_OK);
	assert_int_equal(keys_dispatch(t, 'p'), RE_OK);
	assert_int_equal(t->view, VIEW_USERS);
}

static void test_processes_views(void **state)
{
	struct tui *t = new_tui(3, true);
	const struct row *r;

	/* p: the selected user's processes. */
	assert_int_equal(keys_dispatch(t, 'p'), RE_REFRESH);
	assert_int_equal(t->view, VIEW_PROCS);
	assert_false(t->procs_all);
	assert_true(tui_refresh(t));
	assert_true(fsrc.req.procs);
	assert_true(fsrc.req.procs_one);
	assert_int_equal(fsrc.req.procs_of, 1000);
	assert_int_equal(t->panes[VIEW_PROCS].list.n, 2);
	r = pane_selected(&t->panes[VIEW_PROCS]);
	assert_int_equal(((const struct snap_proc *)r->data)->tgid, 41);
	/* Enter: its connections; Esc: back to the processes, then to the users. */
	assert_int_equal(keys_dispatch(t, '\r'), RE_REFRESH);
	assert_int_equal(t->view, VIEW_CONNS);
	assert_int_equal(t->conn_owner, 1000);
	assert_int_equal(t->conn_tgid, 41);
	assert_true(tui_refresh(t));
	assert_true(fsrc.req.conns);
	assert_int_equal(fsrc.req.conns_owner, 1000);
	assert_int_equal(fsrc.req.conns_tgid, 41);
	assert_int_equal(t->panes[VIEW_CONNS].list.n, 1);
	assert_int_equal(keys_dispatch(t, 27), RE_REFRESH);
	assert_int_equal(t->view, VIEW_PROCS);
	assert_true(tui_refresh(t));
	/* The "(exited)" summary has no connections to open. */
	keys_dispatch(t, KEY_END);
	r = pane_selected(&t->panes[VIEW_PROCS]);
	assert_true(((const struct snap_proc *)r->data)->nfolded > 0);
	assert_int_equal(keys_dispatch(t, '\r'), RE_OK);
	assert_int_equal(t->view, VIEW_PROCS);
	assert_int_equal(keys_dispatch(t, 27), RE_REFRESH);
	assert_int_equal(t->view, VIEW_USERS);

	/* P: every process, like nethogs; P again goes back. */
	assert_int_equal(keys_dispatch(t, 'P'), RE_REFRESH);
	assert_int_equal(t->view, VIEW_PROCS);
	assert_true(t->procs_all);
	assert_true(tui_refresh(t));
	assert_false(fsrc.req.procs_one);
	assert_int_equal(t->panes[VIEW_PROCS].list.n, 3);
	/* its processes filter like users do */
	keys_dispatch(t, '/');
	keys_dispatch(t, 's');
	keys_dispatch(t, 's');
	keys_dispatch(t, '\r');
	assert_true(tui_refresh(t));
	assert_int_equal(t->panes[VIEW_PROCS].list.n, 2);	/* ssh, and "(exited)" pinned */
	t->filter[0] = '\0';
	assert_true(tui_refresh(t));
	/* connections from the flat list come back to it */
	keys_dispatch(t, '\r');
	assert_int_equal(t->view, VIEW_CONNS);
	keys_dispatch(t, 27);
	assert_int_equal(t->view, VIEW_PROCS);
	assert_true(t->procs_all);
	assert_int_equal(keys_dispatch(t, 'P'), RE_REFRESH);
	assert_int_equal(t->view, VIEW_USERS);
	/* the peers view knows no P */
	keys_dispatch(t, '\r');
	assert_int_equal(keys_dispatch(t, 'P'), RE_OK);
	assert_int_equal(t->view, VIEW_PEERS);
}

static void test_toggles(void **state)
{
	struct tui *t = new_tui(1, true);

	keys_dispatch(t, 'Z');
	assert_true(t->paused);
	assert_int_equal(keys_dispatch(t, 'Z'), RE_REFRESH);	/* catch up at once */
	assert_false(t->paused);
	keys_dispatch(t, 'b');
	assert_true(t->bits);
	assert_string_equal(t->status, "rates in bits/s");
	assert_false(t->status_error);
	assert_int_equal(keys_dispatch(t, '+') & RE_DELAY, RE_DELAY);
	assert_true(t->delay > 1.9 && t->delay < 2.1);
	keys_dispatch(t, '-');
	keys_dispatch(t, '-');
	assert_true(t->delay > 0.49 && t->delay < 0.51);
	for (int i = 0; i < 10; i++)
		keys_dispatch(t, '-');
	assert_true(t->delay > 0.19 && t->delay < 0.21);
	for (int i = 0; i < 20; i++)
		keys_dispatch(t, '+');
	assert_true(t->delay > 9.9 && t->delay < 10.1);
	keys_dispatch(t, '\r');
	assert_int_equal(t->view, VIEW_PEERS);
	assert_false(t->resolve);
	keys_dispatch(t, 'n');
	assert_true(t->resolve);	/* only flips state; no lookup happens here */
	t->resolve = false;
}

/* The ignore panel edits through the source: toggle, add, delete, each told in the status. */
static void test_ignore_edits(void **state)
{
	struct tui *t = new_tui(1, true);
	char a[IP_PREFIX_STRLEN];

	keys_dispatch(t, 'x');
	assert_true(tui_refresh(t));
	/* Space toggles the selected entry: named by index and prefix. */
	assert_int_equal(keys_dispatch(t, ' '), RE_REFRESH);
	assert_int_equal(fsrc.nset, 1);
	assert_int_equal(fsrc.idx, 0);
	assert_false(fsrc.on);
	assert_string_equal(ip_prefix_format(&fsrc.p, a, sizeof(a)), "10.0.0.0/8");
	assert_non_null(strstr(t->status, "counted again"));
	keys_dispatch(t, KEY_DOWN);
	keys_dispatch(t, '\r');
	assert_int_equal(fsrc.nset, 2);
	assert_int_equal(fsrc.idx, 1);
	assert_true(fsrc.on);
	assert_non_null(strstr(t->status, "2001:db8::/32 ignored"));
	/* d deletes it. */
	assert_int_equal(keys_dispatch(t, 'd'), RE_REFRESH);
	assert_int_equal(fsrc.ndel, 1);
	assert_int_equal(fsrc.idx, 1);
	assert_string_equal(ip_prefix_format(&fsrc.p, a, sizeof(a)), "2001:db8::/32");
	assert_non_null(strstr(t->status, "removed"));
	/* a adds what is typed, in the list syntax, once Enter submits it. */
	assert_int_equal(keys_dispatch(t, 'a'), RE_REDRAW);
	assert_int_equal(t->input, INPUT_PREFIX);
	for (const char *p = "192.168.1.*"; *p; p++)
		assert_int_equal(keys_dispatch(t, *p), RE_REDRAW);
	assert_int_equal(fsrc.nadd, 0);
	assert_int_equal(keys_dispatch(t, '\r'), RE_REFRESH);
	assert_int_equal(fsrc.nadd, 1);
	assert_string_equal(ip_prefix_format(&fsrc.p, a, sizeof(a)), "192.168.1.0/24");
	assert_string_equal(t->status, "ignoring 192.168.1.0/24");
	assert_false(t->status_error);
	/* The source refuses: the status says so. */
	fsrc.edit_ret = -EEXIST;
	keys_dispatch(t, 'a');
	for (const char *p = "10.1.2.3"; *p; p++)
		keys_dispatch(t, *p);
	keys_dispatch(t, '\r');
	assert_true(t->status_error);
	assert_non_null(strstr(t->status, "already in the list"));
	/* After an add the selection waits for the new entry; a refresh shows the list. */
	assert_true(tui_refresh(t));
	fsrc.edit_ret = -EPERM;
	keys_dispatch(t, ' ');
	assert_true(t->status_error);
	assert_non_null(strstr(t->status, "cannot toggle"));
	/* An empty line adds nothing. */
	fsrc.edit_ret = 0;
	keys_dispatch(t, 'a');
	assert_int_equal(keys_dispatch(t, '\r'), RE_REDRAW);
	assert_int_equal(fsrc.nadd, 2);
	/* An empty list: nothing to toggle or delete. */
	fsrc.nignore = 0;
	assert_true(tui_refresh(t));
	assert_int_equal(keys_dispatch(t, ' '), RE_OK);
	assert_int_equal(keys_dispatch(t, 'd'), RE_OK);
	assert_int_equal(fsrc.nset, 3);
}

static void test_prefix_input(void **state)
{
	struct tui *t = new_tui(1, true);

	t->view = VIEW_IGNORE;
	keys_dispatch(t, 'a');
	assert_int_equal(t->input, INPUT_PREFIX);
	for (const char *p = "10.*.1.*"; *p; p++)
		assert_int_equal(keys_dispatch(t, *p), RE_REDRAW);
	assert_string_equal(t->text, "10.*.1.*");
	keys_dispatch(t, '\r');
	assert_int_equal(t->input, INPUT_NONE);
	/* refused with the parser's reason; nothing reached the source */
	assert_true(t->status_error);
	assert_non_null(strstr(t->status, "not added"));
	assert_non_null(strstr(t->status, "10.*.1.*"));
	assert_int_equal(fsrc.nadd, 0);
	/* Esc cancels without touching anything */
	keys_dispatch(t, 'a');
	keys_dispatch(t, '1');
	assert_int_equal(keys_dispatch(t, 27), RE_REDRAW);
	assert_int_equal(t->input, INPUT_NONE);
	assert_int_equal(t->view, VIEW_IGNORE);
	assert_int_equal(fsrc.nadd, 0);
}

/* A viewer that may not edit is told so, and the source is never asked. */
static void test_edits_refused(void **state)
{
	struct tui *t = new_tui(1, false);

	keys_dispatch(t, 'x');
	assert_true(tui_refresh(t));
	assert_int_equal(keys_dispatch(t, ' '), RE_REDRAW);
	assert_true(t->status_error);
	assert_non_null(strstr(t->status, "only root"));
	t->status[0] = '\0';
	assert_int_equal(keys_dispatch(t, 'a'), RE_REDRAW);
	assert_int_equal(t->input, INPUT_NONE);
	assert_non_null(strstr(t->status, "only root"));
	t->status[0] = '\0';
	assert_int_equal(keys_dispatch(t, 'd'), RE_REDRAW);
	assert_non_null(strstr(t->status, "only root"));
	keys_dispatch(t, 27);
	keys_dispatch(t, '\r');
	assert_true(tui_refresh(t));
	t->status[0] = '\0';
	assert_int_equal(keys_dispatch(t, 'i'), RE_REDRAW);
	assert_non_null(strstr(t->status, "only root"));
	assert_int_equal(fsrc.nadd + fsrc.nset + fsrc.ndel, 0);
}

/* i in the peers view ignores the selected peer (one address); never another netns's. */
static void test_ignore_peer(void **state)
{
	struct tui *t = new_tui(1, true);
	char a[IP_PREFIX_STRLEN];
	const struct row *r;

	keys_dispatch(t, '\r');
	assert_true(tui_refresh(t));
	/* By rate: 8.8.8.8, 2001:db8::1, 10.0.0.1 [netns], then "other" */
	r = pane_selected(&t->panes[VIEW_PEERS]);
	assert_int_equal(((const struct snap_peer *)r->data)->family, TM_AF_INET);
	assert_int_equal(keys_dispatch(t, 'i'), RE_REFRESH);
	assert_int_equal(fsrc.nadd, 1);
	assert_string_equal(ip_prefix_format(&fsrc.p, a, sizeof(a)), "8.8.8.8/32");
	assert_false(t->status_error);
	assert_non_null(strstr(t->status, "ignoring 8.8.8.8/32"));
	keys_dispatch(t, KEY_DOWN);
	keys_dispatch(t, KEY_F(9));
	assert_int_equal(fsrc.nadd, 2);
	assert_string_equal(ip_prefix_format(&fsrc.p, a, sizeof(a)), "2001:db8::1/128");
	/* The peer of another network namespace: its address means something else here. */
	keys_dispatch(t, KEY_DOWN);
	r = pane_selected(&t->panes[VIEW_PEERS]);
	assert_true(((const struct snap_peer *)r->data)->netns != 0);
	assert_int_equal(keys_dispatch(t, 'i'), RE_REDRAW);
	assert_true(t->status_error);
	assert_non_null(strstr(t->status, "namespace"));
	assert_int_equal(fsrc.nadd, 2);
	/* "other" is no address at all. */
	keys_dispatch(t, KEY_DOWN);
	r = pane_selected(&t->panes[VIEW_PEERS]);
	assert_int_equal(((const struct snap_peer *)r->data)->family, 0);
	assert_int_equal(keys_dispatch(t, 'i'), RE_OK);
	assert_int_equal(fsrc.nadd, 2);
	/* The source says it is there already. */
	keys_dispatch(t, KEY_HOME);
	fsrc.edit_ret = -EEXIST;
	keys_dispatch(t, 'i');
	assert_true(t->status_error);
	assert_non_null(strstr(t->status, "already in the ignore list"));
}

static int teardown_tui(void **state)
{
	tui_free(&tt);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_trunc),
		cmocka_unit_test(test_trunc_utf8),
		cmocka_unit_test(test_wide_chars),
		cmocka_unit_test(test_elapsed),
		cmocka_unit_test(test_addr_token),
		cmocka_unit_test(test_table_find),
		cmocka_unit_test(test_table_step_sort),
		cmocka_unit_test(test_table_col_sorted),
		cmocka_unit_test(test_rows_sort_keys),
		cmocka_unit_test(test_rows_ties_stable),
		cmocka_unit_test(test_rows_no_rate_last),
		cmocka_unit_test(test_rows_filter_only),
		cmocka_unit_test(test_rows_pinned_last),
		cmocka_unit_test(test_cells),
		cmocka_unit_test(test_spark_text),
		cmocka_unit_test_teardown(test_move, teardown_tui),
		cmocka_unit_test_teardown(test_selection_follows_owner, teardown_tui),
		cmocka_unit_test_teardown(test_sort_keys, teardown_tui),
		cmocka_unit_test_teardown(test_filter_typing, teardown_tui),
		cmocka_unit_test_teardown(test_views_and_help, teardown_tui),
		cmocka_unit_test_teardown(test_processes_views, teardown_tui),
		cmocka_unit_test_teardown(test_toggles, teardown_tui),
		cmocka_unit_test_teardown(test_ignore_edits, teardown_tui),
		cmocka_unit_test_teardown(test_prefix_input, teardown_tui),
		cmocka_unit_test_teardown(test_edits_refused, teardown_tui),
		cmocka_unit_test_teardown(test_ignore_peer, teardown_tui),
	};
	int ret = cmocka_run_group_tests_name("tui", tests, NULL, NULL);

	users_cache_free();
	return ret;
}
