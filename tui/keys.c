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
#include <linux/types.h>
#include "bpf/traffic_meter.h"

#define KEY_ESC 27
#define KEY_CTRL(c) ((c) & 0x1f)
#define STATUS_NS (4ULL * 1000000000ULL)

/* Views an action applies to. */
#define ON_USERS (1 << VIEW_USERS)
#define ON_PEERS (1 << VIEW_PEERS)
#define ON_PROCS (1 << VIEW_PROCS)
#define ON_CONNS (1 << VIEW_CONNS)
#define ON_IGNORE (1 << VIEW_IGNORE)
#define ON_HISTORY (1 << VIEW_HISTORY)
#define ON_TABLES (ON_USERS | ON_PEERS | ON_PROCS | ON_CONNS)
#define ON_LISTS (ON_TABLES | ON_IGNORE)

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

struct pane *tui_pane(struct tui *t)
{
	return &t->panes[t->view];
}

const struct row *pane_selected(const struct pane *p)
{
	if (!p->rows || p->list.n <= 0 || p->list.sel >= p->list.n)
		return NULL;
	return &p->rows[p->list.sel];
}

static int act_move(struct tui *t, int key)
{
	struct pane *p = tui_pane(t);
	struct tui_list *l = &p->list;
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
	/* Remember which entity it is on: the next refresh keeps it there. */
	if (pane_selected(p))
		p->sel_len = p->table->key(pane_selected(p), p->sel_key, sizeof(p->sel_key));
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
	struct pane *p = tui_pane(t);

	p->sort = table_step_sort(p->table, p->sort, key == '<' || key == ',' ? -1 : 1);
	return RE_REFRESH;
}

static int act_invert(struct tui *t, int key)
{
	tui_pane(t)->invert = !tui_pane(t)->invert;
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

/* Open another view on a fresh list. */
static int go(struct tui *t, enum tui_view v)
{
	if (v != VIEW_USERS && v != VIEW_IGNORE)
		t->back = t->view == VIEW_CONNS ? t->back : t->view;
	t->view = v;
	return RE_REFRESH;
}

static const struct snap_user *sel_user(struct tui *t)
{
	const struct row *r = pane_selected(&t->panes[VIEW_USERS]);

	return r ? r->data : NULL;
}

static int act_peers(struct tui *t, int key)
{
	const struct snap_user *u = sel_user(t);

	if (!u)
		return RE_OK;
	t->owner = u->owner;
	t->panes[VIEW_PEERS].list = (struct tui_list){ 0 };
	t->panes[VIEW_PEERS].sel_len = 0;
	return go(t, VIEW_PEERS);
}

static int act_procs(struct tui *t, int key)
{
	const struct snap_user *u = sel_user(t);

	if (!u)
		return RE_OK;
	t->owner = u->owner;
	t->procs_all = false;
	t->panes[VIEW_PROCS].list = (struct tui_list){ 0 };
	t->panes[VIEW_PROCS].sel_len = 0;
	return go(t, VIEW_PROCS);
}

/* P: the flat list of every process, like nethogs; again: back where it came from. */
static int act_all_procs(struct tui *t, int key)
{
	if (t->view == VIEW_PROCS && t->procs_all) {
		t->view = VIEW_USERS;
		return RE_REFRESH;
	}
	t->procs_all = true;
	t->panes[VIEW_PROCS].list = (struct tui_list){ 0 };
	t->panes[VIEW_PROCS].sel_len = 0;
	t->back = VIEW_USERS;
	t->view = VIEW_PROCS;
	return RE_REFRESH;
}

static int act_conns(struct tui *t, int key)
{
	const struct row *r = pane_selected(&t->panes[VIEW_PROCS]);
	const struct snap_proc *p = r ? r->data : NULL;

	if (!p || p->nfolded)
		return RE_OK;
	t->conn_owner = p->owner;
	t->conn_tgid = p->tgid;
	memcpy(t->conn_comm, p->comm, sizeof(t->conn_comm));
	t->panes[VIEW_CONNS].list = (struct tui_list){ 0 };
	t->panes[VIEW_CONNS].sel_len = 0;
	t->view = VIEW_CONNS;
	return RE_REFRESH;
}

static int act_history(struct tui *t, int key)
{
	const struct snap_user *u = sel_user(t);

	if (!u)
		return RE_OK;
	t->owner = u->owner;
	json_object_put(t->hist_hours);
	json_object_put(t->hist_days);
	t->hist_hours = t->hist_days = NULL;
	t->hist_error[0] = '\0';
	t->view = VIEW_HISTORY;
	return RE_REFRESH;
}

static int act_ignore_panel(struct tui *t, int key)
{
	t->view = VIEW_IGNORE;
	return RE_REFRESH;
}

static int act_back(struct tui *t, int key)
{
	if (t->view == VIEW_CONNS)
		t->view = VIEW_PROCS;
	else
		t->view = VIEW_USERS;
	return RE_REFRESH;
}

static int act_resolve(struct tui *t, int key)
{
	t->resolve = !t->resolve;
	tui_status(t, false, "reverse DNS %s", t->resolve ? "on" : "off");
	return RE_REDRAW;
}

/* An edit goes to the source; a viewer without the right is told, not failed silently. */
static bool may_edit(struct tui *t)
{
	if (!t->src || !t->src->may_edit) {
		tui_status(t, true, "only root may change the meter's ignore list");
		return false;
	}
	return true;
}

static int act_ignore_peer(struct tui *t, int key)
{
	const struct row *r = pane_selected(&t->panes[VIEW_PEERS]);
	const struct snap_peer *peer = r ? r->data : NULL;
	struct ip_prefix p = { 0 };
	char a[IP_PREFIX_STRLEN], err[160] = "";
	int ret;

	if (!peer || !peer->family)
		return RE_OK;
	if (peer->netns) {
		tui_status(t, true, "that address is another network namespace's: ignoring it "
			   "would hide the host's own");
		return RE_REDRAW;
	}
	if (!may_edit(t))
		return RE_REDRAW;
	p.family = peer->family;
	p.len = peer->family == TM_AF_INET ? 32 : 128;
	memcpy(p.addr, peer->addr, 16);
	ip_prefix_format(&p, a, sizeof(a));
	ret = t->src->ops->ignore_add(t->src, &p, err, sizeof(err));
	if (ret == -EEXIST)
		tui_status(t, true, "%s is already in the ignore list (x to edit it)", a);
	else if (ret)
		tui_status(t, true, "cannot ignore %s: %s", a, err);
	else
		tui_status(t, false, "ignoring %s from now on (x to edit the list)", a);
	return RE_REFRESH;
}

static const struct ignore_entry *sel_ignore(struct tui *t, size_t *idx)
{
	struct pane *p = &t->panes[VIEW_IGNORE];
	const struct row *r = pane_selected(p);

	if (!r)
		return NULL;
	*idx = (size_t)p->list.sel;
	return r->data;
}

static int act_ignore_toggle(struct tui *t, int key)
{
	const struct ignore_entry *e;
	char a[IP_PREFIX_STRLEN], err[160] = "";
	size_t idx;
	bool on;
	int ret;

	e = sel_ignore(t, &idx);
	if (!e)
		return RE_OK;
	if (!may_edit(t))
		return RE_REDRAW;
	ip_prefix_format(&e->p, a, sizeof(a));
	on = !e->on;
	ret = t->src->ops->ignore_set(t->src, idx, &e->p, on, err, sizeof(err));
	if (ret)
		tui_status(t, true, "cannot toggle %s: %s", a, err);
	else
		tui_status(t, false, "%s %s", a, on ? "ignored" : "counted again");
	return RE_REFRESH;
}

static int act_ignore_add(struct tui *t, int key)
{
	if (!may_edit(t))
		return RE_REDRAW;
	t->input = INPUT_PREFIX;
	t->text[0] = '\0';
	return RE_REDRAW;
}

static int act_ignore_del(struct tui *t, int key)
{
	const struct ignore_entry *e;
	char a[IP_PREFIX_STRLEN], err[160] = "";
	size_t idx;
	int ret;

	e = sel_ignore(t, &idx);
	if (!e)
		return RE_OK;
	if (!may_edit(t))
		return RE_REDRAW;
	ip_prefix_format(&e->p, a, sizeof(a));
	ret = t->src->ops->ignore_del(t->src, idx, &e->p, err, sizeof(err));
	if (ret)
		tui_status(t, true, "cannot delete %s: %s", a, err);
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
	{ 'q', ON_LISTS | ON_HISTORY, act_quit },
	{ KEY_F(10), ON_LISTS | ON_HISTORY, act_quit },
	{ KEY_F(1), ON_LISTS | ON_HISTORY, act_help },
	{ 'h', ON_LISTS | ON_HISTORY, act_help },
	{ '?', ON_LISTS | ON_HISTORY, act_help },
	{ 'H', ON_USERS, act_history },
	{ KEY_ESC, ON_HISTORY, act_back },
	{ KEY_LEFT, ON_HISTORY, act_back },
	{ 'H', ON_HISTORY, act_back },
	{ 'b', ON_HISTORY, act_units },
	{ KEY_RESIZE, ON_HISTORY, act_resize },
	{ KEY_CTRL('l'), ON_HISTORY, act_redraw },
	{ KEY_F(6), ON_TABLES, act_sort },
	{ '>', ON_TABLES, act_sort },
	{ '.', ON_TABLES, act_sort },
	{ '<', ON_TABLES, act_sort },
	{ ',', ON_TABLES, act_sort },
	{ 'I', ON_TABLES, act_invert },
	{ KEY_F(4), ON_USERS | ON_PROCS, act_filter },
	{ '\\', ON_USERS | ON_PROCS, act_filter },
	{ '/', ON_USERS | ON_PROCS, act_filter },
	{ KEY_F(3), ON_USERS | ON_PROCS, act_filter },
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
	{ 'p', ON_USERS, act_procs },
	{ 'P', ON_USERS | ON_PROCS, act_all_procs },
	{ '\n', ON_PROCS, act_conns },
	{ '\r', ON_PROCS, act_conns },
	{ KEY_ENTER, ON_PROCS, act_conns },
	{ KEY_RIGHT, ON_PROCS, act_conns },
	{ 'x', ON_USERS | ON_PEERS | ON_PROCS, act_ignore_panel },
	{ KEY_F(7), ON_USERS | ON_PEERS | ON_PROCS, act_ignore_panel },
	{ KEY_ESC, ON_PEERS | ON_PROCS | ON_CONNS | ON_IGNORE, act_back },
	{ KEY_LEFT, ON_PEERS | ON_PROCS | ON_CONNS | ON_IGNORE, act_back },
	{ KEY_BACKSPACE, ON_PEERS | ON_PROCS | ON_CONNS | ON_IGNORE, act_back },
	{ 127, ON_PEERS | ON_PROCS | ON_CONNS | ON_IGNORE, act_back },
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
	char reason[160] = "", a[IP_PREFIX_STRLEN], err[160] = "";
	struct ip_prefix p;
	int ret;

	if (!t->text[0])
		return RE_REDRAW;
	if (iplist_parse_entry(t->text, &p, reason, sizeof(reason))) {
		tui_status(t, true, "not added: %s", reason[0] ? reason : "bad entry");
		return RE_REDRAW;
	}
	ip_prefix_format(&p, a, sizeof(a));
	ret = t->src ? t->src->ops->ignore_add(t->src, &p, err, sizeof(err)) : -ENODEV;
	if (ret == -EEXIST)
		tui_status(t, true, "%s is already in the list", a);
	else if (ret)
		tui_status(t, true, "cannot add %s: %s", a, err);
	else
		tui_status(t, false, "ignoring %s", a);
	if (!ret)
		t->panes[VIEW_IGNORE].list.sel = t->panes[VIEW_IGNORE].list.n;	/* appended */
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
