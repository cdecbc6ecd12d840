// SPDX-License-Identifier: GPL-2.0
/*
 * Drawing only: every function here reads struct tui and paints stdscr. Layout, top down: four
 * header lines (meters left, the meter's state right, where the numbers come from), a
 * status/title line, then the current view's list through the list widget, and htop's function
 * bar on the last line.
 */
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include "tui/colors.h"
#include "tui/format.h"
#include "tui/list.h"
#include "tui/tui.h"
#include "meter/clock.h"
#include "meter/users.h"
#include <linux/types.h>
#include "bpf/traffic_meter.h"

#define HEADER_LINES 4
#define LIST_Y (HEADER_LINES + 1)	/* header, status line, then the list's column header */

int views_list_rows(int lines)
{
	int n = lines - LIST_Y - 2;

	return n > 1 ? n : 1;
}

static int put(struct tui *t, int y, int x, int attr, const char *s, int maxw)
{
	if (y >= t->lines)
		return x;
	return list_put(y, x, t->cols, attr, s, maxw);
}

/* The totals a viewer may see: everyone's, or only its own row's when restricted. */
static void header_totals(const struct tui *t, uint64_t bytes[2], double rate[2], bool *has)
{
	const struct snapshot *s = &t->snap;

	memcpy(bytes, s->totals.bytes, sizeof(s->totals.bytes));
	memcpy(rate, s->totals.rate, sizeof(s->totals.rate));
	*has = s->totals.has_rate;
	if (s->restricted) {
		memset(bytes, 0, 2 * sizeof(*bytes));
		memset(rate, 0, 2 * sizeof(*rate));
		*has = false;
		if (s->nusers) {
			memcpy(bytes, s->users[0].bytes, sizeof(s->users[0].bytes));
			memcpy(rate, s->users[0].rate, sizeof(s->users[0].rate));
			*has = s->users[0].has_rate;
		}
	}
}

static void draw_meter(struct tui *t, int y, int x, const char *label, double rate, bool has,
		       uint64_t total, int color)
{
	char a[FMT_LEN], b[FMT_LEN], line[64];

	x = put(t, y, x, CA(COLOR_HEADER_LABEL), label, -1);
	snprintf(line, sizeof(line), "%8s/s", has ? fmt_rate(a, sizeof(a), rate, t->bits) : "-");
	x = put(t, y, x, CA(color) | A_BOLD, line, -1);
	x = put(t, y, x, CA(COLOR_HEADER_LABEL), "  total ", -1);
	put(t, y, x, CA(COLOR_HEADER_VALUE), fmt_bytes(b, sizeof(b), total), -1);
}

static void draw_log(struct tui *t, int y, int x)
{
	const struct snapshot *s = &t->snap;
	const struct backend_stats *b;
	char line[512], path[512];

	x = put(t, y, x, CA(COLOR_HEADER_LABEL), "Log     ", -1);
	if (!s->nlogs) {
		put(t, y, x, CA(COLOR_ZERO), t->src->attached ? (s->restricted ? "kept by the meter" :
			"off in the meter") : "off", -1);
		return;
	}
	b = &s->logs[0].st;
	if (b->write_errors && !b->healthy) {
		snprintf(line, sizeof(line), "%llu errors: %s", (unsigned long long)b->write_errors,
			 b->last_error[0] ? b->last_error : "write failed");
		put(t, y, x, CA(COLOR_ERROR), line, -1);
		return;
	}
	if (b->not_written && !b->healthy) {
		snprintf(line, sizeof(line), "%llu rows not written: low on disk space",
			 (unsigned long long)b->not_written);
		put(t, y, x, CA(COLOR_ERROR), line, -1);
		return;
	}
	snprintf(line, sizeof(line), "%llu rows%s", (unsigned long long)b->rows,
		 b->write_errors || b->not_written ? ", errors earlier" : ", ok");
	fmt_trunc_left(path, sizeof(path), line, t->cols - x - 1);
	put(t, y, x, CA(b->write_errors || b->not_written ? COLOR_WARN : COLOR_OK), path, -1);
}

static void draw_header(struct tui *t)
{
	const struct snapshot *s = &t->snap;
	char a[FMT_LEN], line[512], where[600];
	int half = t->cols >= 70 ? t->cols / 2 : t->cols;
	int rx = t->cols >= 70 ? half + 1 : t->cols;	/* no right column when narrow */
	uint64_t el = (tm_now_ns() - t->start_ns) / 1000000000ULL, bytes[2];
	double rate[2];
	bool has;
	int x;

	header_totals(t, bytes, rate, &has);
	draw_meter(t, 0, 1, "In  ", rate[TM_DIR_IN], has, bytes[TM_DIR_IN], COLOR_RATE_IN);
	draw_meter(t, 1, 1, "Out ", rate[TM_DIR_OUT], has, bytes[TM_DIR_OUT], COLOR_RATE_OUT);

	if (s->restricted) {
		put(t, 2, 1, CA(COLOR_HEADER_LABEL), "Only your own traffic (the meter shows "
		    "everyone's to root and the tmtop group)", half - 2);
	} else {
		x = put(t, 2, 1, CA(COLOR_HEADER_LABEL), "Users ", -1);
		snprintf(line, sizeof(line), "%u", s->stats.users);
		x = put(t, 2, x, CA(COLOR_HEADER_VALUE), line, -1);
		x = put(t, 2, x, CA(COLOR_HEADER_LABEL), "  Events ", -1);
		snprintf(line, sizeof(line), "%.0f/s", s->stats.events_per_s);
		x = put(t, 2, x, CA(COLOR_HEADER_VALUE), line, -1);
		x = put(t, 2, x, CA(COLOR_HEADER_LABEL), "  lost ", -1);
		snprintf(line, sizeof(line), "%llu", (unsigned long long)s->stats.lost);
		x = put(t, 2, x, s->stats.lost ? CA(COLOR_ERROR) : CA(COLOR_HEADER_VALUE), line, -1);
		/* A full table is never silent: idle owners moved out, packets it could not charge. */
		if (s->stats.evicted) {
			x = put(t, 2, x, CA(COLOR_HEADER_LABEL), "  evicted ", -1);
			snprintf(line, sizeof(line), "%llu", (unsigned long long)s->stats.evicted);
			x = put(t, 2, x, CA(COLOR_WARN), line, half - x);
		}
		if (s->stats.table_full) {
			x = put(t, 2, x, CA(COLOR_HEADER_LABEL), "  full ", -1);
			snprintf(line, sizeof(line), "%llu", (unsigned long long)s->stats.table_full);
			put(t, 2, x, CA(COLOR_ERROR), line, half - x);
		}
	}

	if (rx < t->cols) {
		x = put(t, 0, rx, CA(COLOR_HEADER_LABEL), "Ignore  ", -1);
		if (s->restricted)
			snprintf(line, sizeof(line), "kept by the meter");
		else if (!s->nignore)
			snprintf(line, sizeof(line), "none");
		else
			snprintf(line, sizeof(line), "%zu of %zu active", s->ignore_active,
				 s->nignore);
		put(t, 0, x, CA(COLOR_HEADER_VALUE), line, -1);
		draw_log(t, 1, rx);
		x = put(t, 2, rx, CA(COLOR_HEADER_LABEL), "Elapsed ", -1);
		x = put(t, 2, x, CA(COLOR_HEADER_VALUE), fmt_elapsed(a, sizeof(a), el), -1);
		x = put(t, 2, x, CA(COLOR_HEADER_LABEL), "  every ", -1);
		snprintf(line, sizeof(line), "%.1fs", t->delay);
		put(t, 2, x, CA(COLOR_HEADER_VALUE), line, -1);
	}

	/* Where the numbers come from, on a line of its own so a long path is never cut. */
	x = put(t, 3, 1, CA(COLOR_HEADER_LABEL), "Meter   ", -1);
	/* Where the logs go comes first, so 80 columns never cut the directory. */
	if (t->src->attached)
		snprintf(where, sizeof(where), "attached to the meter, pid %d, up %s%s%s",
			 s->meter.pid, fmt_elapsed(a, sizeof(a), (uint64_t)s->meter.uptime_s),
			 s->nlogs ? ", logs " : "", s->nlogs ? s->logs[0].target : "");
	else if (t->log_note)
		snprintf(where, sizeof(where), "logs to %s (standalone: quitting stops it)",
			 t->log_note);
	else
		snprintf(where, sizeof(where), "standalone, not logging (quitting stops it)");
	if (t->source_error[0])
		put(t, 3, x, CA(COLOR_ERROR), t->source_error, -1);
	else
		put(t, 3, x, CA(COLOR_HEADER_VALUE), where, -1);
	if (t->paused)
		put(t, 2, t->cols - 8, CA(COLOR_PAUSED), " PAUSED ", -1);
}

/* The line under the header: a fresh status message wins over the view's title. */
static void draw_status(struct tui *t, const char *title)
{
	int y = HEADER_LINES;

	if (t->status[0]) {
		put(t, y, 1, CA(t->status_error ? COLOR_ERROR : COLOR_STATUS), t->status, -1);
		return;
	}
	if (title)
		put(t, y, 1, CA(COLOR_TITLE), title, -1);
}

static struct col_ctx col_ctx(const struct tui *t)
{
	return (struct col_ctx){
		.bits = t->bits,
		.resolve = t->resolve,
		.ascii = t->ascii,
		.graph_cells = 15,
	};
}

static void draw_pane(struct tui *t, struct pane *p, const char *title, const char *empty)
{
	struct list_area a = { .y = LIST_Y, .rows = t->page, .cols = t->cols };
	struct col_ctx ctx = col_ctx(t);

	draw_status(t, title);
	list_draw(&a, p, &t->snap, &ctx, empty);
}

/* ---- the views --------------------------------------------------------------------------- */

static const struct snap_user *find_user(const struct tui *t, tm_owner_t o)
{
	for (size_t i = 0; i < t->snap.nusers; i++)
		if (t->snap.users[i].owner == o)
			return &t->snap.users[i];
	return NULL;
}

static void draw_users(struct tui *t)
{
	struct pane *p = &t->panes[VIEW_USERS];
	char title[TUI_STATUS_LEN + 600], cg[512];

	if (t->filter[0] && t->input != INPUT_FILTER)
		snprintf(title, sizeof(title), "Filter: %s   (%d of %zu users; F4 to edit, Esc in it "
			 "clears)", t->filter, p->list.n, t->snap.nusers);
	else
		snprintf(title, sizeof(title), "cgroup %s   sort %s%s",
			 fmt_trunc_left(cg, sizeof(cg), t->snap.meter.cgroup[0] ?
					t->snap.meter.cgroup : "-", t->cols - 40),
			 p->table->cols[p->sort].title, p->invert ? " (inverted)" : "");
	draw_pane(t, p, title, t->filter[0] ? "no user matches the filter" :
		  "no traffic yet in this cgroup");
}

static void draw_peers(struct tui *t)
{
	const struct snap_user *u = find_user(t, t->owner);
	char title[TUI_STATUS_LEN + 160], a1[FMT_LEN], a2[FMT_LEN];
	size_t other = 0;

	for (size_t i = 0; i < t->snap.npeers; i++)
		other += !t->snap.peers[i].family;
	char who[96];

	if (OWNER_IS_USER(t->owner))
		snprintf(who, sizeof(who), "%s (uid %u)", owner_name(t->owner), OWNER_UID(t->owner));
	else
		snprintf(who, sizeof(who), "%s", owner_name(t->owner));
	if (u && u->has_rate)
		snprintf(title, sizeof(title), "Peers of %s: in %s/s, out %s/s; %u exact%s", who,
			 fmt_rate(a1, sizeof(a1), u->rate[TM_DIR_IN], t->bits),
			 fmt_rate(a2, sizeof(a2), u->rate[TM_DIR_OUT], t->bits), u->npeers,
			 other ? ", the rest summed in \"other\"" : "");
	else
		snprintf(title, sizeof(title), "Peers of %s: %zu", who, t->snap.npeers);
	draw_pane(t, &t->panes[VIEW_PEERS], title, "no peers seen for this user yet");
}

static void draw_procs(struct tui *t)
{
	char title[TUI_STATUS_LEN + 160];

	if (t->procs_all)
		snprintf(title, sizeof(title), "Processes of every user (%d)   P: back",
			 t->panes[VIEW_PROCS].list.n);
	else
		snprintf(title, sizeof(title), "Processes of %s (%d)   Enter: connections",
			 owner_name(t->owner), t->panes[VIEW_PROCS].list.n);
	draw_pane(t, &t->panes[VIEW_PROCS], title, "no process has sent or received yet");
}

static void draw_conns(struct tui *t)
{
	char title[TUI_STATUS_LEN + 160], comm[40];

	fmt_sanitize(comm, sizeof(comm), t->conn_comm);
	snprintf(title, sizeof(title), "Connections of pid %u %s (%s)", t->conn_tgid, comm,
		 owner_name(t->conn_owner));
	draw_pane(t, &t->panes[VIEW_CONNS], title, "no connection seen for this process");
}

static void draw_ignore(struct tui *t)
{
	char title[200];

	if (t->snap.restricted) {
		/* The meter shows the list only to root and the group tmtop. */
		draw_pane(t, &t->panes[VIEW_IGNORE], "Ignore list", "kept by the meter: only root "
			  "and the group tmtop see it");
		return;
	}
	snprintf(title, sizeof(title), "Ignore list: %zu of %zu active. Ignored packets are "
		 "neither counted nor logged.%s", t->snap.ignore_active, t->snap.nignore,
		 t->src->may_edit ? "" : " (read-only: only root edits it)");
	draw_pane(t, &t->panes[VIEW_IGNORE], title, t->src->may_edit ?
		  "the list is empty: nothing is ignored (a adds an entry)" :
		  "the list is empty: nothing is ignored");
}

/* ---- history ------------------------------------------------------------------------------ */

static uint64_t row_total(json_object *row)
{
	json_object *a, *b;

	json_object_object_get_ex(row, "in_bytes", &a);
	json_object_object_get_ex(row, "out_bytes", &b);
	return (a ? json_object_get_uint64(a) : 0) + (b ? json_object_get_uint64(b) : 0);
}

static int64_t jget(json_object *o, const char *k)
{
	json_object *j;

	return o && json_object_object_get_ex(o, k, &j) ? json_object_get_int64(j) : 0;
}

/* The rows of the report's one user, or NULL. */
static json_object *report_rows(json_object *rep)
{
	json_object *users, *u, *rows;

	if (!rep || !json_object_object_get_ex(rep, "users", &users) ||
	    !json_object_array_length(users))
		return NULL;
	u = json_object_array_get_idx(users, 0);
	return json_object_object_get_ex(u, "rows", &rows) ? rows : NULL;
}

/*
 * Vertical bars, one per slot, `w` columns each, `h` lines high, in eighths of a line (or '#'
 * without Unicode); labels under every `every`-th bar.
 */
static void bars(struct tui *t, int y, int x, int h, int w, const uint64_t *v, int n,
		 const char *const *labels, int every, int attr)
{
	static const char *const eighth[] = { " ", "\u2581", "\u2582", "\u2583", "\u2584",
					      "\u2585", "\u2586", "\u2587", "\u2588" };
	uint64_t max = 0;

	for (int i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	for (int i = 0; i < n; i++) {
		/* height in eighths; any traffic shows at least one */
		int e = max ? (int)((double)v[i] * h * 8 / (double)max + 0.5) : 0;

		if (v[i] && !e)
			e = 1;
		for (int line = 0; line < h; line++) {
			int fill = e - (h - 1 - line) * 8;
			const char *c = fill >= 8 ? eighth[8] : fill > 0 ? eighth[fill] : " ";

			if (t->ascii)
				c = fill >= 4 ? "#" : " ";
			for (int k = 0; k < w - 1; k++)
				put(t, y + line, x + i * w + k, attr, c, 1);
		}
		if (labels[i] && !(i % every))
			put(t, y + h, x + i * w, CA(COLOR_HEADER_LABEL), labels[i], w * every);
	}
}

static void draw_history(struct tui *t)
{
	char title[300], who[96], a[FMT_LEN], b[FMT_LEN], lab[31][8], head[160];
	const char *labels[31] = { 0 }, *hl[24] = { 0 };
	char hlab[24][4];
	uint64_t hv[24] = { 0 }, dv[31] = { 0 }, today = 0, month = 0, hmax = 0, dmax = 0;
	json_object *rows;
	int64_t now = jget(t->hist_hours, "now"), mbegin = jget(t->hist_days, "month_begins");
	int64_t dbegin = jget(t->hist_days, "day_begins");
	int y = HEADER_LINES + 1, room = t->lines - y - 2, h = (room - 4) / 2;
	int ndays = 0;

	if (OWNER_IS_USER(t->owner))
		snprintf(who, sizeof(who), "%s (uid %u)", owner_name(t->owner), OWNER_UID(t->owner));
	else
		snprintf(who, sizeof(who), "%s", owner_name(t->owner));
	if (t->hist_error[0] && !t->hist_hours) {
		snprintf(title, sizeof(title), "History of %s: %s", who, t->hist_error);
		draw_status(t, title);
		return;
	}
	/* hours: the 24 ending with the current one, oldest left */
	rows = report_rows(t->hist_hours);
	for (int i = 0; i < 24; i++) {
		time_t st = (time_t)(now - now % 3600) - (time_t)(23 - i) * 3600;
		struct tm tm;

		localtime_r(&st, &tm);
		snprintf(hlab[i], sizeof(hlab[i]), "%02d", tm.tm_hour);
		hl[i] = hlab[i];
		for (size_t k = 0; rows && k < json_object_array_length(rows); k++) {
			json_object *r = json_object_array_get_idx(rows, k);

			if (jget(r, "start") == (int64_t)st)
				hv[i] = row_total(r);
		}
		if (hv[i] > hmax)
			hmax = hv[i];
	}
	/* days of this (billing) month */
	rows = report_rows(t->hist_days);
	for (int64_t d = mbegin; d <= now && ndays < 31;) {
		struct tm tm;
		time_t st = (time_t)d;

		localtime_r(&st, &tm);
		snprintf(lab[ndays], sizeof(lab[ndays]), "%d", tm.tm_mday);
		labels[ndays] = lab[ndays];
		for (size_t k = 0; rows && k < json_object_array_length(rows); k++) {
			json_object *r = json_object_array_get_idx(rows, k);

			if (jget(r, "start") == d)
				dv[ndays] = row_total(r);
		}
		month += dv[ndays];
		if (d == dbegin)
			today = dv[ndays];
		if (dv[ndays] > dmax)
			dmax = dv[ndays];
		ndays++;
		/* the next local midnight, whatever DST does */
		tm.tm_mday++;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		tm.tm_isdst = -1;
		d = (int64_t)mktime(&tm);
	}
	snprintf(title, sizeof(title), "History of %s: today %s, this month %s%s%s", who,
		 fmt_bytes(a, sizeof(a), today), fmt_bytes(b, sizeof(b), month),
		 t->hist_error[0] ? "  " : "", t->hist_error);
	draw_status(t, title);
	if (h < 2) {
		put(t, y, 1, CA(COLOR_ZERO), "(the terminal is too small for the bars)", -1);
		return;
	}
	snprintf(head, sizeof(head), "Last 24 hours, per hour (highest %s)",
		 fmt_bytes(a, sizeof(a), hmax));
	put(t, y, 1, CA(COLOR_TITLE), head, -1);
	bars(t, y + 1, 1, h, t->cols >= 75 ? 3 : 2, hv, 24, hl, t->cols >= 75 ? 2 : 3,
	     CA(COLOR_RATE_IN));
	y += h + 2;
	snprintf(head, sizeof(head), "This month, per day (highest %s)",
		 fmt_bytes(a, sizeof(a), dmax));
	put(t, y, 1, CA(COLOR_TITLE), head, -1);
	bars(t, y + 1, 1, h, t->cols >= 96 ? 3 : 2, dv, ndays, labels,
	     t->cols >= 96 ? 2 : 4, CA(COLOR_RATE_OUT));
}

/* ---- help -------------------------------------------------------------------------------- */

static const char *const help_keys[][2] = {
	{ "Arrows PgUp PgDn", "move the selection (also Home, End, j, k)" },
	{ "F6 > .", "sort by the next column" },
	{ "< ,", "sort by the previous column" },
	{ "I", "invert the sort order" },
	{ "F4 \\ /", "filter by name, uid or command as you type; Enter keeps, Esc clears" },
	{ "Enter F5 Right", "the selected user's peers (a process's connections)" },
	{ "p", "the selected user's processes; Enter there: its connections" },
	{ "P", "every process of every user, like nethogs (P again: back)" },
	{ "H", "the selected user's history: the last 24 hours and this month" },
	{ "Esc Left", "back" },
	{ "i", "(peers) ignore the selected peer address from now on" },
	{ "n", "(peers) reverse DNS names on/off, resolved in background" },
	{ "x F7", "the ignore list: Space toggles, a adds, d deletes (root)" },
	{ "Z", "pause the display (counting and logging go on)" },
	{ "b", "rates in bytes/s or bits/s" },
	{ "+ -", "refresh more slowly / faster" },
	{ "Ctrl-L", "repaint the screen" },
	{ "F1 h ?", "this help" },
	{ "q F10", "quit" },
};

static const char *const help_owner[] = {
	"A packet belongs to the real uid of its socket, whatever user or network namespace",
	"the process runs in. (kernel): what the kernel sends from sockets of its own (ICMP",
	"errors, resets). (no socket): a packet with no socket to charge (rare).",
	"[netns N]: a peer seen inside another network namespace; its address is that",
	"namespace's, not the host's. Totals are exact kernel counters; peers, processes",
	"and connections are exact up to their bound, the rest is one exact \"other\" row.",
};

void help_print(FILE *out)
{
	for (size_t i = 0; i < sizeof(help_keys) / sizeof(help_keys[0]); i++)
		fprintf(out, "  %-18s %s\n", help_keys[i][0], help_keys[i][1]);
}

static void draw_help(struct tui *t)
{
	const struct table *tb = t->panes[t->view].table ? t->panes[t->view].table : &tbl_users;
	char line[256];
	int y = 1;

	put(t, 0, 1, CA(COLOR_TITLE), "tmtop " TM_VERSION " - per-user network traffic, counted "
	    "in the kernel by eBPF", -1);
	for (size_t i = 0; i < sizeof(help_keys) / sizeof(help_keys[0]) && y < t->lines - 2;
	     i++) {
		y++;
		put(t, y, 2, CA(COLOR_HELP_KEY), help_keys[i][0], 16);
		put(t, y, 20, CA(COLOR_NORMAL), help_keys[i][1], -1);
	}
	y += 2;
	for (size_t i = 0; i < sizeof(help_owner) / sizeof(help_owner[0]) && y < t->lines - 2;
	     i++, y++)
		put(t, y, 1, CA(COLOR_NORMAL), help_owner[i], -1);
	y++;
	if (y < t->lines - 2)
		put(t, y++, 1, CA(COLOR_TITLE), "Columns of this view:", -1);
	for (size_t i = 0; i < tb->ncols && y < t->lines - 2; i++) {
		const struct column *c = &tb->cols[i];

		snprintf(line, sizeof(line), "%-12s %s%s%s%s", c->hidden ? "(sort only)" : c->title,
			 c->help, c->id ? " [--sort " : "", c->id ? c->id : "", c->id ? "]" : "");
		put(t, y++, 2, CA(COLOR_NORMAL), line, -1);
	}
}

/* ---- function bar ------------------------------------------------------------------------ */

struct fkey {
	const char *key;
	const char *label;
};

static int draw_bar(struct tui *t, const struct fkey *k, int n)
{
	int y = t->lines - 1, x = 0, i;
	char label[32];

	list_fill(y, 0, t->cols, CA(COLOR_NORMAL));
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
		{ "F1", "Help" }, { "F4", "Filter" }, { "F5", "Peers" }, { "p", "Procs" },
		{ "F6", "SortBy" }, { "F7", "Ignore" }, { "Z", "Pause" }, { "F10", "Quit" },
	};
	static const struct fkey peers[] = {
		{ "F1", "Help" }, { "Esc", "Back" }, { "i", "Ignore" }, { "n", "Names" },
		{ "F6", "SortBy" }, { "F7", "IgnList" }, { "Z", "Pause" }, { "F10", "Quit" },
	};
	static const struct fkey procs[] = {
		{ "F1", "Help" }, { "Esc", "Back" }, { "Enter", "Conns" }, { "F4", "Filter" },
		{ "F6", "SortBy" }, { "P", "All" }, { "Z", "Pause" }, { "F10", "Quit" },
	};
	static const struct fkey conns[] = {
		{ "F1", "Help" }, { "Esc", "Back" }, { "F6", "SortBy" }, { "Z", "Pause" },
		{ "F10", "Quit" },
	};
	static const struct fkey hist[] = {
		{ "F1", "Help" }, { "Esc", "Back" }, { "b", "Units" }, { "F10", "Quit" },
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
	case VIEW_PROCS:
		draw_bar(t, procs, 8);
		break;
	case VIEW_CONNS:
		draw_bar(t, conns, 5);
		break;
	case VIEW_IGNORE:
		draw_bar(t, ign, 6);
		break;
	case VIEW_HISTORY:
		draw_bar(t, hist, 4);
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
	if (!t->have_snap) {
		put(t, 0, 1, CA(COLOR_ERROR), t->source_error[0] ? t->source_error :
		    "waiting for the meter...", -1);
		refresh();
		return;
	}
	draw_header(t);
	switch (t->view) {
	case VIEW_PEERS:
		draw_peers(t);
		break;
	case VIEW_PROCS:
		draw_procs(t);
		break;
	case VIEW_CONNS:
		draw_conns(t);
		break;
	case VIEW_IGNORE:
		draw_ignore(t);
		break;
	case VIEW_HISTORY:
		draw_history(t);
		break;
	default:
		draw_users(t);
	}
	draw_funcbar(t);
	refresh();
}
