// SPDX-License-Identifier: GPL-2.0
/*
 * The one list widget (htop's Panel): a column header in reverse video and the visible rows of
 * a pane, each cell printed by its column's printer, the selection as a bar. Every list view
 * draws through here; only what it shows above the list differs.
 */
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include "tui/colors.h"
#include "tui/format.h"
#include "tui/list.h"

/* Text at (y, x) cut to maxw columns (UTF-8 aware); returns the column after it. */
int list_put(int y, int x, int cols, int attr, const char *s, int maxw)
{
	char buf[512];
	int room = cols - x, w;

	if (y < 0 || room <= 0)
		return x;
	if (maxw >= 0 && maxw < room)
		room = maxw;
	fmt_trunc(buf, sizeof(buf), s, room);
	w = fmt_width(buf);
	attrset(attr);
	mvaddstr(y, x, buf);
	attrset(A_NORMAL);
	return x + w;
}

void list_fill(int y, int x, int cols, int attr)
{
	if (y < 0 || x >= cols)
		return;
	attrset(attr);
	mvhline(y, x, ' ', cols - x);
	attrset(A_NORMAL);
}

/* Colour for a number cell: zero shadowed, megabytes and up bold, like htop's memory columns. */
static int cell_attr(const struct cell *c, bool sel)
{
	if (sel)
		return CA(COLOR_SELECTED);
	if (c->magnitude >= 0 && c->magnitude < 0.5)
		return CA(COLOR_ZERO);
	if (c->magnitude >= 1024.0 * 1024.0)
		return CA(c->color) | A_BOLD;
	return CA(c->color);
}

static bool visible(const struct column *c, const struct snapshot *s, int cols)
{
	return !c->hidden && cols >= c->min_screen && (!c->present || c->present(s));
}

/* One cell, aligned in width w (0: the rest of the line). */
static void put_cell(int y, int x, int cols, int attr, const char *text, int w, bool right)
{
	char buf[512];
	int tw = fmt_width(text);

	if (!w)
		w = cols - x;
	if (right && tw < w) {
		snprintf(buf, sizeof(buf), "%*s%s", w - tw, "", text);
		list_put(y, x, cols, attr, buf, w);
	} else {
		list_put(y, x, cols, attr, text, w);
	}
}

void list_draw(const struct list_area *a, struct pane *p, const struct snapshot *s,
	       const struct col_ctx *ctx, const char *empty)
{
	const struct table *t = p->table;
	int x = 0, y;

	list_fill(a->y, 0, a->cols, CA(COLOR_COLUMN_HEADER));
	for (size_t i = 0; i < t->ncols && x < a->cols; i++) {
		const struct column *c = &t->cols[i];
		bool sorted = table_col_sorted(t, (int)i, p->sort);

		if (!visible(c, s, a->cols))
			continue;
		put_cell(a->y, x, a->cols, CA(sorted ? COLOR_COLUMN_SORT : COLOR_COLUMN_HEADER),
			 c->title, c->width, c->right);
		x += (c->width ? c->width : a->cols - x) + 1;
	}
	list_clamp(&p->list, a->rows);
	for (int i = p->list.top, row = 0; i < p->list.n && row < a->rows; i++, row++) {
		bool sel = i == p->list.sel;

		y = a->y + 1 + row;
		x = 0;
		if (sel)
			list_fill(y, 0, a->cols, CA(COLOR_SELECTED));
		for (size_t k = 0; k < t->ncols && x < a->cols; k++) {
			const struct column *c = &t->cols[k];
			struct cell cell = { .magnitude = -1 };

			if (!visible(c, s, a->cols))
				continue;
			c->cell(ctx, &p->rows[i], &cell);
			put_cell(y, x, a->cols, cell_attr(&cell, sel), cell.text, c->width,
				 c->right);
			x += (c->width ? c->width : a->cols - x) + 1;
		}
	}
	if (!p->list.n && empty)
		list_put(a->y + 1, 1, a->cols, CA(COLOR_ZERO), empty, -1);
}
