// SPDX-License-Identifier: GPL-2.0
/*
 * tmtop's pure pieces without a terminal: human units, truncation, durations, addresses,
 * batch tokens, and the key table (actions only change state and return reaction flags, so
 * they run here on a struct tui with no monitor and no collector).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <curses.h>
#include <linux/types.h>
#include "traffic_meter.h"
#include "tui/format.h"
#include "tui/tui.h"

static char buf[FMT_LEN];

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

static void test_trunc(void **state)
{
	char b[16];

	assert_string_equal(fmt_trunc(b, sizeof(b), "alice", 8), "alice");
	assert_string_equal(fmt_trunc(b, sizeof(b), "alice", 5), "alice");
	assert_string_equal(fmt_trunc(b, sizeof(b), "alice", 4), "ali~");
	assert_string_equal(fmt_trunc(b, sizeof(b), "alice", 1), "~");
	assert_string_equal(fmt_trunc(b, sizeof(b), "alice", 0), "");
	assert_string_equal(fmt_trunc(b, sizeof(b), "alice", -2), "");
	/* never past the buffer */
	assert_string_equal(fmt_trunc(b, 4, "alice", 10), "al~");
	/* paths keep their end */
	assert_string_equal(fmt_trunc_left(b, sizeof(b), "/tmp/logs/x.log", 9), "~gs/x.log");
	assert_string_equal(fmt_trunc_left(b, sizeof(b), "/tmp/x.log", 10), "/tmp/x.log");
	assert_string_equal(fmt_trunc_left(b, sizeof(b), "/tmp/x.log", 1), "~");
	assert_string_equal(fmt_trunc_left(b, 5, "/tmp/x.log", 20), "~log");
}

static void test_elapsed(void **state)
{
	assert_string_equal(fmt_elapsed(buf, sizeof(buf), 0), "00:00:00");
	assert_string_equal(fmt_elapsed(buf, sizeof(buf), 83), "00:01:23");
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
	assert_string_equal(fmt_token(b, sizeof(b), "(no socket)"), "(no_socket)");
	assert_string_equal(fmt_token(b, sizeof(b), ""), "-");
	assert_string_equal(fmt_token(b, 4, "abcdef"), "abc");
}

/* ---- key table ---- */

static struct tui *new_tui(int nusers)
{
	static struct tui t;
	int i;

	tui_free(&t);
	memset(&t, 0, sizeof(t));
	t.delay = 1.0;
	assert_int_equal(tui_init(&t), 0);
	t.page = 5;
	for (i = 0; i < nusers; i++) {
		t.users[i].uid = 1000 + i;
		t.users[i].bytes[TM_DIR_OUT] = 100 * i;
	}
	tui_apply_users(&t, nusers);
	return &t;
}

static void test_sort_step(void **state)
{
	int i;
	enum agg_sort s = AGG_SORT_RATE;

	assert_int_equal(sort_step(AGG_SORT_USER, -1), AGG_SORT_OUT_TOTAL);
	assert_int_equal(sort_step(AGG_SORT_OUT_TOTAL, 1), AGG_SORT_USER);
	assert_int_equal(sort_step(AGG_SORT_RATE, 1), AGG_SORT_IN_RATE);
	assert_int_equal(sort_step(AGG_SORT_RATE, -1), AGG_SORT_UID);
	/* a full turn visits every key once and comes back */
	for (i = 0; i < AGG_SORT__COUNT; i++)
		s = sort_step(s, 1);
	assert_int_equal(s, AGG_SORT_RATE);
}

static void test_move(void **state)
{
	struct tui *t = new_tui(12);

	assert_int_equal(t->ulist.sel, 0);
	assert_int_equal(keys_dispatch(t, KEY_DOWN), RE_REDRAW);
	assert_int_equal(t->ulist.sel, 1);
	assert_int_equal(t->sel_uid, 1001);
	keys_dispatch(t, KEY_UP);
	keys_dispatch(t, KEY_UP);
	assert_int_equal(t->ulist.sel, 0);
	keys_dispatch(t, KEY_NPAGE);
	assert_int_equal(t->ulist.sel, 5);
	assert_true(t->ulist.top <= 5 && t->ulist.top + t->page > 5);
	keys_dispatch(t, KEY_END);
	assert_int_equal(t->ulist.sel, 11);
	assert_int_equal(t->ulist.top, 7);
	keys_dispatch(t, KEY_DOWN);
	assert_int_equal(t->ulist.sel, 11);
	keys_dispatch(t, KEY_HOME);
	assert_int_equal(t->ulist.sel, 0);
	assert_int_equal(t->ulist.top, 0);
	keys_dispatch(t, KEY_PPAGE);
	assert_int_equal(t->ulist.sel, 0);
}

static void test_selection_follows_uid(void **state)
{
	struct tui *t = new_tui(4);
	struct agg_user tmp;

	keys_dispatch(t, KEY_DOWN);
	keys_dispatch(t, KEY_DOWN);
	assert_int_equal(t->sel_uid, 1002);
	/* a re-sort moves uid 1002 to the top: the bar goes with it */
	tmp = t->users[0];
	t->users[0] = t->users[2];
	t->users[2] = tmp;
	tui_apply_users(t, 4);
	assert_int_equal(t->ulist.sel, 0);
	assert_int_equal(t->sel_uid, 1002);
	/* the user disappears (filtered out): the bar stays at the same height, on a real row */
	t->users[0].uid = 2000;
	keys_dispatch(t, KEY_END);
	t->users[3].uid = 3000;
	t->sel_uid = 999;
	tui_apply_users(t, 2);
	assert_int_equal(t->ulist.sel, 1);
	assert_int_equal(t->sel_uid, t->users[1].uid);
	tui_apply_users(t, 0);
	assert_int_equal(t->ulist.sel, 0);
}

static void test_sort_keys(void **state)
{
	struct tui *t = new_tui(3);

	t->sort = AGG_SORT_RATE;
	assert_int_equal(keys_dispatch(t, '>'), RE_REFRESH);
	assert_int_equal(t->sort, AGG_SORT_IN_RATE);
	keys_dispatch(t, '<');
	keys_dispatch(t, '<');
	assert_int_equal(t->sort, AGG_SORT_UID);
	keys_dispatch(t, KEY_F(6));
	assert_int_equal(t->sort, AGG_SORT_RATE);
	assert_false(t->invert);
	assert_int_equal(keys_dispatch(t, 'I'), RE_REFRESH);
	assert_true(t->invert);
	/* sort keys mean nothing in the ignore panel */
	t->view = VIEW_IGNORE;
	assert_int_equal(keys_dispatch(t, '>'), RE_OK);
	assert_int_equal(t->sort, AGG_SORT_RATE);
}

static void test_filter_typing(void **state)
{
	struct tui *t = new_tui(3);

	assert_int_equal(keys_dispatch(t, '/'), RE_REDRAW);
	assert_int_equal(t->input, INPUT_FILTER);
	/* applies as you type; 'q' is text here, not quit */
	assert_int_equal(keys_dispatch(t, 'q'), RE_REFRESH);
	assert_int_equal(keys_dispatch(t, '1'), RE_REFRESH);
	assert_string_equal(t->filter, "q1");
	keys_dispatch(t, KEY_BACKSPACE);
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
	assert_int_equal(keys_dispatch(t, KEY_F(10)), RE_QUIT);
}

static void test_views_and_help(void **state)
{
	struct tui *t = new_tui(3);

	keys_dispatch(t, KEY_DOWN);
	assert_int_equal(keys_dispatch(t, '\r'), RE_REFRESH);
	assert_int_equal(t->view, VIEW_PEERS);
	assert_int_equal(t->peer_uid, 1001);
	assert_int_equal(keys_dispatch(t, 27), RE_REFRESH);
	assert_int_equal(t->view, VIEW_USERS);
	keys_dispatch(t, 'x');
	assert_int_equal(t->view, VIEW_IGNORE);
	keys_dispatch(t, KEY_LEFT);
	assert_int_equal(t->view, VIEW_USERS);

	assert_int_equal(keys_dispatch(t, '?'), RE_REDRAW);
	assert_true(t->help);
	assert_int_equal(keys_dispatch(t, 'q'), RE_REDRAW);	/* any key closes, even q */
	assert_false(t->help);
	keys_dispatch(t, KEY_F(1));
	assert_true(t->help);
	keys_dispatch(t, ' ');
	assert_false(t->help);

	assert_int_equal(keys_dispatch(t, 'q'), RE_QUIT);
	assert_int_equal(keys_dispatch(t, KEY_F(10)), RE_QUIT);
	assert_int_equal(keys_dispatch(t, KEY_RESIZE), RE_RESIZE);
	assert_int_equal(keys_dispatch(t, '~'), RE_OK);

	/* no user, no peers view */
	t = new_tui(0);
	assert_int_equal(keys_dispatch(t, '\r'), RE_OK);
	assert_int_equal(t->view, VIEW_USERS);
}

static void test_toggles(void **state)
{
	struct tui *t = new_tui(1);

	keys_dispatch(t, 'Z');
	assert_true(t->paused);
	assert_int_equal(keys_dispatch(t, 'Z'), RE_REFRESH);	/* catch up at once */
	assert_false(t->paused);
	keys_dispatch(t, 'b');
	assert_true(t->bits);
	assert_string_equal(t->status, "rates in bits/s");
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
	t->view = VIEW_PEERS;
	assert_false(t->resolve);
	keys_dispatch(t, 'n');
	assert_true(t->resolve);	/* only flips state; no lookup happens here */
	t->resolve = false;
}

static void test_prefix_input(void **state)
{
	struct tui *t = new_tui(1);

	t->view = VIEW_IGNORE;
	keys_dispatch(t, 'a');
	assert_int_equal(t->input, INPUT_PREFIX);
	for (const char *p = "10.*.1.*"; *p; p++)
		assert_int_equal(keys_dispatch(t, *p), RE_REDRAW);
	assert_string_equal(t->text, "10.*.1.*");
	keys_dispatch(t, '\r');
	assert_int_equal(t->input, INPUT_NONE);
	/* refused with the parser's reason; nothing reached a collector */
	assert_true(t->status_error);
	assert_non_null(strstr(t->status, "not added"));
	assert_non_null(strstr(t->status, "10.*.1.*"));
	/* Esc cancels without touching anything */
	keys_dispatch(t, 'a');
	keys_dispatch(t, '1');
	assert_int_equal(keys_dispatch(t, 27), RE_REDRAW);
	assert_int_equal(t->input, INPUT_NONE);
	assert_int_equal(t->view, VIEW_IGNORE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_trunc),
		cmocka_unit_test(test_elapsed),
		cmocka_unit_test(test_addr_token),
		cmocka_unit_test(test_sort_step),
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_selection_follows_uid),
		cmocka_unit_test(test_sort_keys),
		cmocka_unit_test(test_filter_typing),
		cmocka_unit_test(test_views_and_help),
		cmocka_unit_test(test_toggles),
		cmocka_unit_test(test_prefix_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
