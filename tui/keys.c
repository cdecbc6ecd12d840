// SPDX-License-Identifier: GPL-2.0
/*
 * Every key goes through one table of actions (htop's Action.c). An action changes the state
 * and returns reaction flags; it never draws, so the loop decides what to copy and redraw and
 * the table is unit-tested without a terminal.
 */
#include <curses.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "tui/tui.h"
#include "tui/format.h"
#include "meter/clock.h"
#include "meter/collector.h"
#include <linux/types.h>
#include "traffic_meter.h"

#define KEY_ESC 27
#define KEY_CTRL(c) ((c) & 0x1f)
#define STATUS_NS (4ULL * 1000000000ULL)

/* Views an action applies to. */
#define ON_USERS (1 << VIEW_USERS)
#define ON_PEERS (1 << VIEW_PEERS)
#define ON_IGNORE (1 << VIEW_IGNORE)
#define ON_LISTS (ON_USERS | ON_PEERS | ON_IGNORE)

typedef int (*tui_action)(struct tui *t, int key);

struct binding {
	int key;
	unsigned int views;
	tui_action fn;
};

void tui_status(struct tui *t, bool error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->status, sizeof(t->status), fmt, ap);
	va_end(ap);
	t->status_error = error;
	t->status_until_ns = tm_now_ns() + STATUS_NS;
}

/* Sort keys in the order their columns appear, so '<' and '>' walk the header left/right. */
static const enum agg_sort sort_order[] = {
	AGG_SORT_USER, AGG_SORT_UID, AGG_SORT_RATE, AGG_SORT_IN_RATE, AGG_SORT_OUT_RATE,
	AGG_SORT_IN_TOTAL, AGG_SORT_OUT_TOTAL,
};
#define NSORT ((int)(sizeof(sort_order) / sizeof(sort_order[0])))

enum agg_sort sort_step(enum agg_sort s, int dir)
{
	int i;

	for (i = 0; i < NSORT; i++)
		if (sort_order[i] == s)
			break;
	if (i == NSORT)
		return AGG_SORT_RATE;
	return sort_order[((i + dir) % NSORT + NSORT) % NSORT];
}

void list_clamp(struct tui_list *l, int page)
{
	if (page < 1)
		page = 1;
	if (l->sel >= l->n)
		l->sel = l->n - 1;
	if (l->sel < 0)
		l->sel = 0;
	if (l->top > l->sel)
		l->top = l->sel;
	if (l->sel >= l->top + page)
		l->top = l->sel - page + 1;
	if (l->top > l->n - page)
		l->top = l->n - page;
	if (l->top < 0)
		l->top = 0;
}

static struct tui_list *cur_list(struct tui *t)
{
	switch (t->view) {
	case VIEW_PEERS:
		return &t->plist;
	case VIEW_IGNORE:
		return &t->ilist;
	default:
		return &t->ulist;
	}
}

/* After the selection index moved, remember which entity it is on. */
static void remember_sel(struct tui *t)
{
	if (t->view == VIEW_USERS && t->ulist.n > 0) {
		t->sel_uid = t->users[t->ulist.sel].uid;
		t->have_sel = true;
	} else if (t->view == VIEW_PEERS && t->plist.n > 0) {
		const struct agg_peer *p = &t->peers[t->plist.sel];

		t->sel_peer[0] = p->family;
		memcpy(t->sel_peer + 1, p->addr, 16);
		t->have_sel_peer = true;
	}
}

static int act_move(struct tui *t, int key)
{
	struct tui_list *l = cur_list(t);
	int page = t->page > 1 ? t->page : 1;

	switch (key) {
	case KEY_UP:
	case 'k':
		l->sel--;
		break;
	case KEY_DOWN:
	case 'j':
		l->sel++;
		break;
	case KEY_PPAGE:
		l->sel -= page;
		l->top -= page;
		break;
	case KEY_NPAGE:
		l->sel += page;
		l->top += page;
		break;
	case KEY_HOME:
		l->sel = 0;
		break;
	case KEY_END:
		l->sel = l->n - 1;
		break;
	}
	list_clamp(l, page);
	remember_sel(t);
	return RE_REDRAW;
}

static int act_quit(struct tui *t, int key)
{
	return RE_QUIT;
}

static int act_help(struct tui *t, int key)
{
	t->help = true;
	return RE_REDRAW;
}

static int act_sort(struct tui *t, int key)
{
	t->sort = sort_step(t->sort, key == '<' || key == ',' ? -1 : 1);
	return RE_REFRESH;
}

static int act_invert(struct tui *t, int key)
{
	t->invert = !t->invert;
	return RE_REFRESH;
}

static int act_filter(struct tui *t, int key)
{
	/* Editing starts from the filter in force, as in htop; Esc then clears it. */
	t->input = INPUT_FILTER;
	return RE_REDRAW;
}

static int act_pause(struct tui *t, int key)
{
	t->paused = !t->paused;
	return t->paused ? RE_REDRAW : RE_REFRESH;
}

static int act_units(struct tui *t, int key)
{
	t->bits = !t->bits;
	tui_status(t, false, "rates in %s", t->bits ? "bits/s" : "bytes/s");
	return RE_REDRAW;
}

static const double delays[] = { 0.2, 0.5, 1, 2, 3, 5, 10 };
#define NDELAYS ((int)(sizeof(delays) / sizeof(delays[0])))

static int act_delay(struct tui *t, int key)
{
	int i;

	if (key == '+' || key == '=') {
		for (i = 0; i < NDELAYS - 1 && delays[i] <= t->delay + 1e-9; i++)
			;
	} else {
		for (i = NDELAYS - 1; i > 0 && delays[i] >= t->delay - 1e-9; i--)
			;
	}
	t->delay = delays[i];
	tui_status(t, false, "refresh every %.1f s", t->delay);
	return RE_DELAY | RE_REDRAW;
}

static int act_peers(struct tui *t, int key)
{
	if (t->ulist.n <= 0)
		return RE_OK;
	t->peer_uid = t->users[t->ulist.sel].uid;
	t->view = VIEW_PEERS;
	t->plist = (struct tui_list){ 0 };
	t->have_sel_peer = false;
	return RE_REFRESH;
}

static int act_ignore_panel(struct tui *t, int key)
{
	t->view = VIEW_IGNORE;
	return RE_REFRESH;
}

static int act_back(struct tui *t, int key)
{
	t->view = VIEW_USERS;
	return RE_REFRESH;
}

static int act_resolve(struct tui *t, int key)
{
	t->resolve = !t->resolve;
	tui_status(t, false, "reverse DNS %s", t->resolve ? "on" : "off");
	return RE_REDRAW;
}

static int act_ignore_peer(struct tui *t, int key)
{
	struct ip_prefix p = { 0 };
	char a[IP_PREFIX_STRLEN];
	const struct agg_peer *peer;
	int err;

	if (t->plist.n <= 0)
		return RE_OK;
	peer = &t->peers[t->plist.sel];
	p.family = peer->family;
	p.len = peer->family == TM_AF_INET ? 32 : 128;
	memcpy(p.addr, peer->addr, 16);
	ip_prefix_format(&p, a, sizeof(a));
	err = t->coll ? collector_ignore_add(t->coll, &p) : -ENODEV;
	if (err == -EEXIST)
		tui_status(t, true, "%s is already in the ignore list (x to edit it)", a);
	else if (err)
		tui_status(t, true, "cannot ignore %s: %s", a, strerror(-err));
	else
		tui_status(t, false, "ignoring %s from now on (x to edit the list)", a);
	return RE_REFRESH;
}

static int act_ignore_toggle(struct tui *t, int key)
{
	struct tui_ignore_row *r;
	char a[IP_PREFIX_STRLEN];
	int err;

	if (t->ilist.n <= 0)
		return RE_OK;
	r = &t->ign[t->ilist.sel];
	ip_prefix_format(&r->p, a, sizeof(a));
	err = t->coll ? collector_ignore_set(t->coll, t->ilist.sel, !r->on) : -ENODEV;
	if (err) {
		tui_status(t, true, "cannot toggle %s: %s", a, strerror(-err));
	} else {
		r->on = !r->on;
		tui_status(t, false, "%s %s", a, r->on ? "ignored" : "counted again");
	}
	return RE_REFRESH;
}

static int act_ignore_add(struct tui *t, int key)
{
	t->input = INPUT_PREFIX;
	t->text[0] = '\0';
	return RE_REDRAW;
}

static int act_ignore_del(struct tui *t, int key)
{
	char a[IP_PREFIX_STRLEN];
	int err;

	if (t->ilist.n <= 0)
		return RE_OK;
	ip_prefix_format(&t->ign[t->ilist.sel].p, a, sizeof(a));
	err = t->coll ? collector_ignore_del(t->coll, t->ilist.sel) : -ENODEV;
	if (err)
		tui_status(t, true, "cannot delete %s: %s", a, strerror(-err));
	else
		tui_status(t, false, "%s removed from the ignore list", a);
	return RE_REFRESH;
}

static int act_resize(struct tui *t, int key)
{
	return RE_RESIZE;
}

static int act_redraw(struct tui *t, int key)
{
	return RE_RESIZE;	/* Ctrl-L: repaint everything, like every curses program */
}

static const struct binding bindings[] = {
	{ KEY_UP, ON_LISTS, act_move },
	{ KEY_DOWN, ON_LISTS, act_move },
	{ 'k', ON_LISTS, act_move },
	{ 'j', ON_LISTS, act_move },
	{ KEY_PPAGE, ON_LISTS, act_move },
	{ KEY_NPAGE, ON_LISTS, act_move },
	{ KEY_HOME, ON_LISTS, act_move },
	{ KEY_END, ON_LISTS, act_move },
	{ 'q', ON_LISTS, act_quit },
	{ KEY_F(10), ON_LISTS, act_quit },
	{ KEY_F(1), ON_LISTS, act_help },
	{ 'h', ON_LISTS, act_help },
	{ '?', ON_LISTS, act_help },
	{ KEY_F(6), ON_USERS, act_sort },
	{ '>', ON_USERS, act_sort },
	{ '.', ON_USERS, act_sort },
	{ '<', ON_USERS, act_sort },
	{ ',', ON_USERS, act_sort },
	{ 'I', ON_USERS, act_invert },
	{ KEY_F(4), ON_USERS, act_filter },
	{ '\\', ON_USERS, act_filter },
	{ '/', ON_USERS, act_filter },
	{ KEY_F(3), ON_USERS, act_filter },
	{ 'Z', ON_LISTS, act_pause },
	{ 'z', ON_LISTS, act_pause },
	{ 'b', ON_LISTS, act_units },
	{ '+', ON_LISTS, act_delay },
	{ '=', ON_LISTS, act_delay },
	{ '-', ON_LISTS, act_delay },
	{ '\n', ON_USERS, act_peers },
	{ '\r', ON_USERS, act_peers },
	{ KEY_ENTER, ON_USERS, act_peers },
	{ KEY_RIGHT, ON_USERS, act_peers },
	{ KEY_F(5), ON_USERS, act_peers },
	{ 'x', ON_USERS | ON_PEERS, act_ignore_panel },
	{ KEY_F(7), ON_USERS | ON_PEERS, act_ignore_panel },
	{ KEY_ESC, ON_PEERS | ON_IGNORE, act_back },
	{ KEY_LEFT, ON_PEERS | ON_IGNORE, act_back },
	{ KEY_BACKSPACE, ON_PEERS | ON_IGNORE, act_back },
	{ 127, ON_PEERS | ON_IGNORE, act_back },
	{ KEY_F(5), ON_PEERS, act_back },
	{ 'x', ON_IGNORE, act_back },
	{ KEY_F(7), ON_IGNORE, act_back },
	{ 'n', ON_PEERS, act_resolve },
	{ 'i', ON_PEERS, act_ignore_peer },
	{ KEY_F(9), ON_PEERS, act_ignore_peer },
	{ ' ', ON_IGNORE, act_ignore_toggle },
	{ '\n', ON_IGNORE, act_ignore_toggle },
	{ '\r', ON_IGNORE, act_ignore_toggle },
	{ 'a', ON_IGNORE, act_ignore_add },
	{ KEY_IC, ON_IGNORE, act_ignore_add },
	{ 'd', ON_IGNORE, act_ignore_del },
	{ KEY_DC, ON_IGNORE, act_ignore_del },
	{ KEY_RESIZE, ON_LISTS, act_resize },
	{ KEY_CTRL('l'), ON_LISTS, act_redraw },
};

/* The ignore entry typed after 'a': refused with the parser's reason, the list untouched. */
static int submit_prefix(struct tui *t)
{
	char reason[160] = "", a[IP_PREFIX_STRLEN];
	struct ip_prefix p;
	int err;

	if (!t->text[0])
		return RE_REDRAW;
	if (iplist_parse_entry(t->text, &p, reason, sizeof(reason))) {
		tui_status(t, true, "not added: %s", reason[0] ? reason : "bad entry");
		return RE_REDRAW;
	}
	ip_prefix_format(&p, a, sizeof(a));
	err = t->coll ? collector_ignore_add(t->coll, &p) : -ENODEV;
	if (err == -EEXIST)
		tui_status(t, true, "%s is already in the list", a);
	else if (err)
		tui_status(t, true, "cannot add %s: %s", a, strerror(-err));
	else
		tui_status(t, false, "ignoring %s", a);
	if (!err && t->ilist.n >= 0)
		t->ilist.sel = t->ilist.n;	/* the new entry is appended: select it */
	return RE_REFRESH;
}

/* A line being typed at the bottom: printable keys edit it, Enter/Esc finish. */
static int input_key(struct tui *t, int key)
{
	char *buf = t->input == INPUT_FILTER ? t->filter : t->text;
	size_t n = strlen(buf);
	int mode = t->input;

	switch (key) {
	case KEY_ESC:
		if (mode == INPUT_FILTER)
			buf[0] = '\0';	/* Esc clears the filter, as in htop */
		t->input = INPUT_NONE;
		return mode == INPUT_FILTER ? RE_REFRESH : RE_REDRAW;
	case '\n':
	case '\r':
	case KEY_ENTER:
		t->input = INPUT_NONE;
		return mode == INPUT_PREFIX ? submit_prefix(t) : RE_REDRAW;
	case KEY_BACKSPACE:
	case 127:
	case '\b':
		if (n)
			buf[n - 1] = '\0';
		break;
	case KEY_CTRL('u'):
		buf[0] = '\0';
		break;
	case KEY_RESIZE:
		return RE_RESIZE;
	case KEY_F(10):
		return RE_QUIT;
	default:
		if (key < 32 || key > 126 || n + 1 >= TUI_TEXT_LEN)
			return RE_OK;
		buf[n] = (char)key;
		buf[n + 1] = '\0';
	}
	/* The filter applies as you type; a prefix only when submitted. */
	return mode == INPUT_FILTER ? RE_REFRESH : RE_REDRAW;
}

int keys_dispatch(struct tui *t, int key)
{
	size_t i;

	if (t->input != INPUT_NONE)
		return input_key(t, key);
	if (t->help) {
		if (key == KEY_RESIZE)
			return RE_RESIZE;
		t->help = false;	/* any key closes help */
		return RE_REDRAW;
	}
	for (i = 0; i < sizeof(bindings) / sizeof(bindings[0]); i++)
		if (bindings[i].key == key && (bindings[i].views & (1u << t->view)))
			return bindings[i].fn(t, key);
	return RE_OK;
}
