// SPDX-License-Identifier: GPL-2.0
/*
 * Drawing only: every function here reads struct tui and paints stdscr. Layout, top down:
 * three header lines (meters left, engine state right), a status/title line, the column
 * header in reverse video, the list, and htop's function bar on the last line.
 */
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include "tui/tui.h"
#include "tui/colors.h"
#include "tui/format.h"
#include "tui/resolver.h"
#include "meter/clock.h"
#include "meter/users.h"
#include "meter/record.h"
#include <linux/types.h>
#include "traffic_meter.h"

#define HEADER_LINES 3
#define LIST_Y (HEADER_LINES + 2)	/* header, status line, column header */

int views_list_rows(int lines)
{
	int n = lines - LIST_Y - 1;

	return n > 1 ? n : 1;
}

/* Text at (y, x) cut to the screen and to maxw columns; returns the column after it. */
static int put(struct tui *t, int y, int x, int attr, const char *s, int maxw)
{
	int room = t->cols - x;
	int n = (int)strlen(s);

	if (y < 0 || y >= t->lines || room <= 0)
		return x;
	if (maxw >= 0 && maxw < room)
		room = maxw;
	if (n > room)
		n = room;
	attrset(attr);
	mvaddnstr(y, x, s, n);
	attrset(A_NORMAL);
	return x + n;
}

/* Fill the rest of line y from column x with attr (bars and selection). */
static void fill(struct tui *t, int y, int x, int attr)
{
	if (y < 0 || y >= t->lines || x >= t->cols)
		return;
	attrset(attr);
	mvhline(y, x, ' ', t->cols - x);
	attrset(A_NORMAL);
}

/* A right-aligned cell of width w. */
static int cell_r(struct tui *t, int y, int x, int attr, const char *s, int w)
{
	char buf[64];
	int n = (int)strlen(s);

	if (n > w)
		n = w;
	snprintf(buf, sizeof(buf), "%*.*s", w, n, s);
	put(t, y, x, attr, buf, w);
	return x + w;
}

static int cell_l(struct tui *t, int y, int x, int attr, const char *s, int w)
{
	char buf[256];

	fmt_trunc(buf, sizeof(buf), s, w);
	put(t, y, x, attr, buf, w);
	return x + w;
}

/* Colour for a number cell: zero shadowed, megabytes and up bold, like htop's memory columns. */
static int num_attr(int base, double v, bool sel)
{
	if (sel)
		return CA(COLOR_SELECTED);
	if (v < 0.5)
		return CA(COLOR_ZERO);
	if (v >= 1024.0 * 1024.0)
		return base | A_BOLD;
	return base;
}

/* ---- header ---- */

static void draw_header(struct tui *t)
{
	char a[FMT_LEN], b[FMT_LEN], line[512];
	int half = t->cols >= 70 ? t->cols / 2 : t->cols;
	int rx = t->cols >= 70 ? half + 1 : t->cols;	/* no right column when narrow */
	uint64_t el = (tm_now_ns() - t->start_ns) / 1000000000ULL;
	int x;

	/* Left: the meters. */
	x = put(t, 0, 1, CA(COLOR_HEADER_LABEL), "In  ", -1);
	snprintf(line, sizeof(line), "%8s/s", t->totals.has_rate ?
		 fmt_rate(a, sizeof(a), t->totals.rate[TM_DIR_IN], t->bits) : "-");
	x = put(t, 0, x, CA(COLOR_RATE_IN) | A_BOLD, line, -1);
	x = put(t, 0, x, CA(COLOR_HEADER_LABEL), "  total ", -1);
	put(t, 0, x, CA(COLOR_HEADER_VALUE), fmt_bytes(b, sizeof(b), t->totals.bytes[TM_DIR_IN]),
	    -1);

	x = put(t, 1, 1, CA(COLOR_HEADER_LABEL), "Out ", -1);
	snprintf(line, sizeof(line), "%8s/s", t->totals.has_rate ?
		 fmt_rate(a, sizeof(a), t->totals.rate[TM_DIR_OUT], t->bits) : "-");
	x = put(t, 1, x, CA(COLOR_RATE_OUT) | A_BOLD, line, -1);
	x = put(t, 1, x, CA(COLOR_HEADER_LABEL), "  total ", -1);
	put(t, 1, x, CA(COLOR_HEADER_VALUE), fmt_bytes(b, sizeof(b), t->totals.bytes[TM_DIR_OUT]),
	    -1);

	x = put(t, 2, 1, CA(COLOR_HEADER_LABEL), "Users ", -1);
	snprintf(line, sizeof(line), "%u", t->totals.users);
	x = put(t, 2, x, CA(COLOR_HEADER_VALUE), line, -1);
	x = put(t, 2, x, CA(COLOR_HEADER_LABEL), "  Events ", -1);
	snprintf(line, sizeof(line), "%.0f/s", t->totals.events_per_s);
	x = put(t, 2, x, CA(COLOR_HEADER_VALUE), line, -1);
	x = put(t, 2, x, CA(COLOR_HEADER_LABEL), "  lost ", -1);
	snprintf(line, sizeof(line), "%llu", (unsigned long long)t->lost);
	put(t, 2, x, t->lost ? CA(COLOR_ERROR) : CA(COLOR_HEADER_VALUE), line, -1);

	if (rx >= t->cols)
		goto paused;

	/* Right: what the engine is doing. */
	x = put(t, 0, rx, CA(COLOR_HEADER_LABEL), "Ignore  ", -1);
	snprintf(line, sizeof(line), "%zu of %d active", t->ign_active, t->ilist.n);
	put(t, 0, x, CA(COLOR_HEADER_VALUE), line, -1);

	x = put(t, 1, rx, CA(COLOR_HEADER_LABEL), "Log     ", -1);
	if (!t->logging) {
		put(t, 1, x, CA(COLOR_ZERO), "off", -1);
	} else if (t->log_errors && !t->log_healthy) {
		snprintf(line, sizeof(line), "%llu errors: %s", (unsigned long long)t->log_errors,
			 t->log_error[0] ? t->log_error : "write failed");
		put(t, 1, x, CA(COLOR_ERROR), line, -1);
	} else {
		char path[512];

		/* Keep the end of a long path: the file name pattern says the most. */
		fmt_trunc_left(path, sizeof(path), t->log_target, t->cols - x - 4);
		x = put(t, 1, x, CA(COLOR_HEADER_VALUE), path, -1);
		if (t->log_errors)
			put(t, 1, x + 1, CA(COLOR_ERROR), "err", -1);
		else
			put(t, 1, x + 1, CA(COLOR_OK), "ok", -1);
	}

	x = put(t, 2, rx, CA(COLOR_HEADER_LABEL), "Elapsed ", -1);
	x = put(t, 2, x, CA(COLOR_HEADER_VALUE), fmt_elapsed(a, sizeof(a), el), -1);
	x = put(t, 2, x, CA(COLOR_HEADER_LABEL), "  every ", -1);
	snprintf(line, sizeof(line), "%.1fs", t->delay);
	put(t, 2, x, CA(COLOR_HEADER_VALUE), line, -1);
paused:
	if (t->paused)
		put(t, 2, t->cols - 8, CA(COLOR_PAUSED), " PAUSED ", -1);
}

/* The line under the header: a fresh status message wins over the view's title. */
static void draw_status(struct tui *t, const char *title)
{
	if (t->status[0]) {
		put(t, HEADER_LINES, 1, CA(t->status_error ? COLOR_ERROR : COLOR_STATUS), t->status,
		    -1);
		return;
	}
	if (title)
		put(t, HEADER_LINES, 1, CA(COLOR_TITLE), title, -1);
}

/* ---- column layout ---- */

struct col {
	const char *title;
	int w;
	bool right;
	bool sorted;
};

static void draw_columns(struct tui *t, const struct col *c, int n)
{
	int i, x = 0;

	fill(t, LIST_Y - 1, 0, CA(COLOR_COLUMN_HEADER));
	for (i = 0; i < n && x < t->cols; i++) {
		int attr = c[i].sorted ? CA(COLOR_COLUMN_SORT) : CA(COLOR_COLUMN_HEADER);
		int w = c[i].w > 0 ? c[i].w : t->cols - x;

		if (c[i].right)
			cell_r(t, LIST_Y - 1, x, attr, c[i].title, w);
		else
			cell_l(t, LIST_Y - 1, x, attr, c[i].title, w);
		x += w + 1;
	}
}

/* ---- users ---- */

static void draw_users(struct tui *t)
{
	enum agg_sort s = t->sort;
	int uw = t->cols >= 120 ? 16 : 12;
	struct col c[] = {
		{ "USER", uw + 1, false, s == AGG_SORT_USER },
		{ "UID", 7, true, s == AGG_SORT_UID },
		{ "IN/s", 8, true, s == AGG_SORT_IN_RATE || s == AGG_SORT_RATE },
		{ "OUT/s", 8, true, s == AGG_SORT_OUT_RATE || s == AGG_SORT_RATE },
		{ "TOT IN", 8, true, s == AGG_SORT_IN_TOTAL },
		{ "TOT OUT", 8, true, s == AGG_SORT_OUT_TOTAL },
		{ " TOP PEER", 0, false, false },
	};
	char title[TUI_STATUS_LEN + 600], buf[FMT_LEN], addr[64], cg[512];
	int i, y;

	if (t->filter[0] && t->input != INPUT_FILTER)
		snprintf(title, sizeof(title), "Filter: %s   (%d of %u users; F4 to edit, Esc in it "
			 "clears)", t->filter, t->ulist.n, t->totals.users);
	else
		snprintf(title, sizeof(title), "cgroup %s   sort %s%s",
			 fmt_trunc_left(cg, sizeof(cg), t->cgroup, t->cols - 32),
			 agg_sort_name(t->sort), t->invert ? " (inverted)" : "");
	draw_status(t, title);
	draw_columns(t, c, 7);

	for (i = t->ulist.top, y = LIST_Y; i < t->ulist.n && y < LIST_Y + t->page; i++, y++) {
		const struct agg_user *u = &t->users[i];
		bool sel = i == t->ulist.sel;
		int base = sel ? CA(COLOR_SELECTED) : 0;
		int x = 0;

		if (sel)
			fill(t, y, 0, CA(COLOR_SELECTED));
		x = cell_l(t, y, x, sel ? base : u->uid == TM_UID_NOSOCK ? CA(COLOR_NOSOCK) :
			   CA(COLOR_NORMAL), users_name(u->uid), uw) + 2;
		snprintf(buf, sizeof(buf), "%u", u->uid);
		x = cell_r(t, y, x, sel ? base : CA(COLOR_NORMAL), buf, 7) + 1;
		x = cell_r(t, y, x, num_attr(CA(COLOR_RATE_IN), u->has_rate ? u->rate[0] : 0, sel),
			   u->has_rate ? fmt_rate(buf, sizeof(buf), u->rate[TM_DIR_IN], t->bits) :
			   "-", 8) + 1;
		x = cell_r(t, y, x, num_attr(CA(COLOR_RATE_OUT), u->has_rate ? u->rate[1] : 0, sel),
			   u->has_rate ? fmt_rate(buf, sizeof(buf), u->rate[TM_DIR_OUT], t->bits) :
			   "-", 8) + 1;
		x = cell_r(t, y, x, num_attr(CA(COLOR_TOTAL), (double)u->bytes[0], sel),
			   fmt_bytes(buf, sizeof(buf), u->bytes[TM_DIR_IN]), 8) + 1;
		x = cell_r(t, y, x, num_attr(CA(COLOR_TOTAL), (double)u->bytes[1], sel),
			   fmt_bytes(buf, sizeof(buf), u->bytes[TM_DIR_OUT]), 8) + 2;
		if (u->has_top)
			fmt_addr(addr, sizeof(addr), u->top.family, u->top.addr);
		else
			snprintf(addr, sizeof(addr), "-");
		cell_l(t, y, x, sel ? base : u->has_top ? CA(COLOR_PEER) : CA(COLOR_ZERO), addr,
		       t->cols - x);
	}
	if (!t->ulist.n)
		put(t, LIST_Y, 1, CA(COLOR_ZERO), t->filter[0] ? "no user matches the filter" :
		    "no traffic yet in this cgroup", -1);
}

/* ---- peers ---- */

static void draw_peers(struct tui *t)
{
	char title[TUI_STATUS_LEN + 160], buf[FMT_LEN], a1[FMT_LEN], a2[FMT_LEN];
	char addr[64], name[256];
	int aw = 15, i, y;

	for (i = 0; i < t->plist.n; i++) {
		int n = (int)strlen(fmt_addr(addr, sizeof(addr), t->peers[i].family,
					     t->peers[i].addr));
		if (n > aw)
			aw = n;
	}
	if (aw > t->cols - 40)
		aw = t->cols - 40 > 8 ? t->cols - 40 : 8;

	struct col c[] = {
		{ "ADDRESS", aw + 1, false, false },
		{ "IN/s", 8, true, true },
		{ "OUT/s", 8, true, true },
		{ "TOT IN", 8, true, false },
		{ "TOT OUT", 8, true, false },
		{ t->resolve ? " NAME" : " NAME (n: resolve)", 0, false, false },
	};

	if (t->peer_user_known && t->peer_user.has_rate)
		snprintf(title, sizeof(title), "Peers of %s (uid %u): in %s/s, out %s/s, %d peer%s",
			 users_name(t->peer_uid), t->peer_uid,
			 fmt_rate(a1, sizeof(a1), t->peer_user.rate[TM_DIR_IN], t->bits),
			 fmt_rate(a2, sizeof(a2), t->peer_user.rate[TM_DIR_OUT], t->bits),
			 t->plist.n, t->plist.n == 1 ? "" : "s");
	else
		snprintf(title, sizeof(title), "Peers of %s (uid %u): %d peer%s",
			 users_name(t->peer_uid), t->peer_uid, t->plist.n, t->plist.n == 1 ? "" : "s");
	draw_status(t, title);
	draw_columns(t, c, 6);

	for (i = t->plist.top, y = LIST_Y; i < t->plist.n && y < LIST_Y + t->page; i++, y++) {
		const struct agg_peer *p = &t->peers[i];
		bool sel = i == t->plist.sel;
		int base = sel ? CA(COLOR_SELECTED) : 0;
		int x = 0;

		if (sel)
			fill(t, y, 0, CA(COLOR_SELECTED));
		fmt_addr(addr, sizeof(addr), p->family, p->addr);
		x = cell_l(t, y, x, sel ? base : CA(COLOR_PEER), addr, aw) + 2;
		x = cell_r(t, y, x, num_attr(CA(COLOR_RATE_IN), p->rate[0], sel),
			   fmt_rate(buf, sizeof(buf), p->rate[TM_DIR_IN], t->bits), 8) + 1;
		x = cell_r(t, y, x, num_attr(CA(COLOR_RATE_OUT), p->rate[1], sel),
			   fmt_rate(buf, sizeof(buf), p->rate[TM_DIR_OUT], t->bits), 8) + 1;
		x = cell_r(t, y, x, num_attr(CA(COLOR_TOTAL), (double)p->bytes[0], sel),
			   fmt_bytes(buf, sizeof(buf), p->bytes[TM_DIR_IN]), 8) + 1;
		x = cell_r(t, y, x, num_attr(CA(COLOR_TOTAL), (double)p->bytes[1], sel),
			   fmt_bytes(buf, sizeof(buf), p->bytes[TM_DIR_OUT]), 8) + 2;
		if (t->resolve) {
			bool ok = resolver_lookup(p->family, p->addr, name, sizeof(name));

			cell_l(t, y, x, sel ? base : ok ? CA(COLOR_NORMAL) : CA(COLOR_ZERO),
			       ok ? name : "...", t->cols - x);
		}
	}
	if (!t->plist.n)
		put(t, LIST_Y, 1, CA(COLOR_ZERO), "no peers seen for this user yet", -1);
}

/* ---- ignore panel ---- */

static void draw_ignore(struct tui *t)
{
	struct col c[] = {
		{ " ON", 4, false, false },
		{ "PREFIX", 0, false, false },
	};
	char title[160], p[IP_PREFIX_STRLEN];
	int i, y;

	snprintf(title, sizeof(title), "Ignore list: %zu of %d active. Ignored packets are "
		 "neither counted nor logged.", t->ign_active, t->ilist.n);
	draw_status(t, title);
	draw_columns(t, c, 2);

	for (i = t->ilist.top, y = LIST_Y; i < t->ilist.n && y < LIST_Y + t->page; i++, y++) {
		const struct tui_ignore_row *r = &t->ign[i];
		bool sel = i == t->ilist.sel;

		if (sel)
			fill(t, y, 0, CA(COLOR_SELECTED));
		put(t, y, 1, sel ? CA(COLOR_SELECTED) : CA(r->on ? COLOR_CHECK_ON : COLOR_CHECK_OFF),
		    r->on ? "[x]" : "[ ]", -1);
		put(t, y, 5, sel ? CA(COLOR_SELECTED) : CA(r->on ? COLOR_NORMAL : COLOR_ZERO),
		    ip_prefix_format(&r->p, p, sizeof(p)), -1);
	}
	if (!t->ilist.n)
		put(t, LIST_Y, 1, CA(COLOR_ZERO), "the list is empty: nothing is ignored (a adds an "
		    "entry)", -1);
}

/* ---- help ---- */

static const char *const help_lines[][2] = {
	{ "Arrows PgUp PgDn", "move the selection (also Home, End, j, k)" },
	{ "F6 > .", "sort by the next column" },
	{ "< ,", "sort by the previous column" },
	{ "I", "invert the sort order" },
	{ "F4 \\ /", "filter by name or UID as you type; Enter keeps, Esc clears" },
	{ "Enter F5 Right", "show the selected user's peers" },
	{ "Esc Left", "back to the users" },
	{ "i", "(peers) ignore the selected peer address from now on" },
	{ "n", "(peers) reverse DNS names on/off, resolved in background" },
	{ "x F7", "the ignore list: Space toggles, a adds, d deletes" },
	{ "Z", "pause the display (counting and logging go on)" },
	{ "b", "rates in bytes/s or bits/s" },
	{ "+ -", "refresh more slowly / faster" },
	{ "Ctrl-L", "repaint the screen" },
	{ "F1 h ?", "this help" },
	{ "q F10", "quit (logs are flushed, programs detached)" },
};

static void draw_help(struct tui *t)
{
	size_t i;
	int y = 1;

	put(t, 0, 1, CA(COLOR_TITLE), "tmtop " TM_VERSION " - per-user network traffic, counted "
	    "in the kernel by eBPF", -1);
	for (i = 0; i < sizeof(help_lines) / sizeof(help_lines[0]) && y < t->lines - 4; i++) {
		y++;
		put(t, y, 2, CA(COLOR_HELP_KEY), help_lines[i][0], 16);
		put(t, y, 20, CA(COLOR_NORMAL), help_lines[i][1], -1);
	}
	y += 2;
	put(t, y, 1, CA(COLOR_NORMAL), "Rates are over a sliding window; totals are exact kernel "
	    "counters.", -1);
	put(t, y + 1, 1, CA(COLOR_NORMAL), "\"(no socket)\": packets without a full socket "
	    "(resets, TIME_WAIT).", -1);
}

/* ---- function bar ---- */

struct fkey {
	const char *key;
	const char *label;
};

static int draw_bar(struct tui *t, const struct fkey *k, int n)
{
	int y = t->lines - 1, x = 0, i;
	char label[32];

	fill(t, y, 0, CA(COLOR_NORMAL));
	for (i = 0; i < n && x < t->cols; i++) {
		x = put(t, y, x, CA(COLOR_FUNCBAR_KEY), k[i].key, -1);
		/* htop pads labels to six columns; a longer one keeps a gap before the next key */
		snprintf(label, sizeof(label), "%-*s", strlen(k[i].label) < 6 ? 6 :
			 (int)strlen(k[i].label) + 1, k[i].label);
		x = put(t, y, x, CA(COLOR_FUNCBAR_TEXT), label, -1);
	}
	return x;
}

static void draw_input(struct tui *t)
{
	static const struct fkey fk_filter[] = { { "Enter", "Done  " }, { "Esc", "Clear " } };
	static const struct fkey fk_prefix[] = { { "Enter", "Add   " }, { "Esc", "Cancel" } };
	bool f = t->input == INPUT_FILTER;
	int x = draw_bar(t, f ? fk_filter : fk_prefix, 2);
	int y = t->lines - 1;

	x = put(t, y, x + 1, CA(COLOR_HEADER_LABEL), f ? "Filter: " : "Ignore (10.0.0.0/8, "
		"192.168.*.*, ::1): ", -1);
	x = put(t, y, x, CA(COLOR_HEADER_VALUE), f ? t->filter : t->text, -1);
	put(t, y, x, A_REVERSE, " ", -1);	/* the cursor */
}

static void draw_funcbar(struct tui *t)
{
	static const struct fkey users[] = {
		{ "F1", "Help" }, { "F4", "Filter" }, { "F5", "Peers" }, { "F6", "SortBy" },
		{ "F7", "Ignore" }, { "Z", "Pause" }, { "b", "Units" }, { "F10", "Quit" },
	};
	static const struct fkey peers[] = {
		{ "F1", "Help" }, { "Esc", "Back" }, { "i", "Ignore" }, { "n", "Names" },
		{ "F7", "IgnList" }, { "Z", "Pause" }, { "b", "Units" }, { "F10", "Quit" },
	};
	static const struct fkey ign[] = {
		{ "F1", "Help" }, { "Space", "Toggle" }, { "a", "Add" }, { "d", "Delete" },
		{ "Esc", "Back" }, { "F10", "Quit" },
	};

	if (t->input != INPUT_NONE) {
		draw_input(t);
		return;
	}
	switch (t->view) {
	case VIEW_PEERS:
		draw_bar(t, peers, 8);
		break;
	case VIEW_IGNORE:
		draw_bar(t, ign, 6);
		break;
	default:
		draw_bar(t, users, 8);
	}
}

void views_draw(struct tui *t)
{
	getmaxyx(stdscr, t->lines, t->cols);
	t->page = views_list_rows(t->lines);
	erase();	/* not clear(): ncurses then sends only what changed, so nothing flickers */
	if (t->help) {
		draw_help(t);
		put(t, t->lines - 1, 1, CA(COLOR_STATUS), "Press any key to return.", -1);
		refresh();
		return;
	}
	draw_header(t);
	switch (t->view) {
	case VIEW_PEERS:
		draw_peers(t);
		break;
	case VIEW_IGNORE:
		draw_ignore(t);
		break;
	default:
		draw_users(t);
	}
	draw_funcbar(t);
	refresh();
}
