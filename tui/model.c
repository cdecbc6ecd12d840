// SPDX-License-Identifier: GPL-2.0
/*
 * The screen's model, without curses: ask the source for the snapshot the current view needs,
 * then rebuild each pane's rows over it (names looked up, sorted, filtered) keeping every
 * selection on the same entity. Batch mode uses the same code.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "meter/clock.h"
#include "tui/tui.h"

static const struct table *const view_table[VIEW__COUNT] = {
	[VIEW_USERS] = &tbl_users,
	[VIEW_PEERS] = &tbl_peers,
	[VIEW_PROCS] = &tbl_procs,
	[VIEW_CONNS] = &tbl_conns,
	[VIEW_IGNORE] = &tbl_ignore,
	[VIEW_HISTORY] = NULL,
};

int tui_init(struct tui *t)
{
	for (int v = 0; v < VIEW__COUNT; v++) {
		struct pane *p = &t->panes[v];

		p->table = view_table[v];
		if (p->table && !p->sort && p->table->default_sort >= 0)
			p->sort = p->table->default_sort;
	}
	if (t->delay <= 0)
		t->delay = 1.0;
	t->start_ns = tm_now_ns();
	t->page = 1;
	return 0;
}

void tui_free(struct tui *t)
{
	for (int v = 0; v < VIEW__COUNT; v++) {
		free(t->panes[v].rows);
		t->panes[v].rows = NULL;
	}
	if (t->have_snap)
		snapshot_free(&t->snap);
	t->have_snap = false;
	json_object_put(t->hist_hours);
	json_object_put(t->hist_days);
	t->hist_hours = t->hist_days = NULL;
}

/* The selected user's last 24 hours and days, for the history view. */
static void refresh_history(struct tui *t)
{
	struct report_req r = { .one = true, .owner = t->owner };
	json_object *hours = NULL, *days = NULL;
	int ret;

	r.period = HIST_HOUR;
	ret = t->src->ops->history(t->src, &r, &hours, t->hist_error, sizeof(t->hist_error));
	if (!ret) {
		r.period = HIST_DAY;
		ret = t->src->ops->history(t->src, &r, &days, t->hist_error,
					   sizeof(t->hist_error));
	}
	if (ret) {
		json_object_put(hours);
		return;	/* keep what we had; the error shows */
	}
	t->hist_error[0] = '\0';
	json_object_put(t->hist_hours);
	json_object_put(t->hist_days);
	t->hist_hours = hours;
	t->hist_days = days;
}

void pane_rebuild(struct tui *t, struct pane *p, const tm_owner_t *only)
{
	uint8_t key[TUI_KEY_MAX];
	struct row *rows = NULL;
	int n;

	n = table_rows(p->table, &t->snap, p->table == &tbl_ignore ? NULL : t->filter, only,
		       p->sort, p->invert, &rows);
	if (n < 0)
		return;	/* out of memory: keep the rows we had */
	free(p->rows);
	p->rows = rows;
	p->list.n = n;
	if (p->sel_len) {
		for (int i = 0; i < n; i++) {
			size_t len = p->table->key(&rows[i], key, sizeof(key));

			if (len == p->sel_len && !memcmp(key, p->sel_key, len)) {
				p->list.sel = i;
				break;
			}
		}
	}
	/* The entity is gone (filtered or aged out): stay at the same height instead. */
	list_clamp(&p->list, t->page);
	if (n)
		p->sel_len = p->table->key(&rows[p->list.sel], p->sel_key, sizeof(p->sel_key));
}

bool tui_refresh(struct tui *t)
{
	struct snap_request req = { 0 };
	struct snapshot s;
	char err[TUI_STATUS_LEN];
	int ret;

	switch (t->view) {
	case VIEW_PEERS:
		req.peers = true;
		req.peers_of = t->owner;
		break;
	case VIEW_PROCS:
		req.procs = true;
		req.procs_one = !t->procs_all;
		req.procs_of = t->owner;
		break;
	case VIEW_CONNS:
		req.conns = true;
		req.conns_owner = t->conn_owner;
		req.conns_tgid = t->conn_tgid;
		break;
	default:
		break;
	}
	ret = t->src->ops->snapshot(t->src, &req, &s, err, sizeof(err));
	if (ret) {
		snprintf(t->source_error, sizeof(t->source_error), "%s", err);
		return false;
	}
	t->source_error[0] = '\0';
	/* The rows point into the snapshot: rebuild them before the old one goes. */
	if (t->have_snap)
		snapshot_free(&t->snap);
	t->snap = s;
	t->have_snap = true;
	pane_rebuild(t, &t->panes[VIEW_USERS], t->has_only ? &t->only : NULL);
	switch (t->view) {
	case VIEW_PEERS:
		pane_rebuild(t, &t->panes[VIEW_PEERS], NULL);
		break;
	case VIEW_PROCS:
		pane_rebuild(t, &t->panes[VIEW_PROCS], t->has_only ? &t->only : NULL);
		break;
	case VIEW_CONNS:
		pane_rebuild(t, &t->panes[VIEW_CONNS], NULL);
		break;
	case VIEW_IGNORE:
		pane_rebuild(t, &t->panes[VIEW_IGNORE], NULL);
		break;
	case VIEW_HISTORY:
		refresh_history(t);
		break;
	default:
		break;
	}
	/* Rows of views not rebuilt point into the old snapshot: drop them. */
	for (int v = 0; v < VIEW__COUNT; v++) {
		if (v == VIEW_USERS || v == (int)t->view || !t->panes[v].table)
			continue;
		free(t->panes[v].rows);
		t->panes[v].rows = NULL;
		t->panes[v].list.n = 0;
	}
	return true;
}
