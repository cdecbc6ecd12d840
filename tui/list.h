/* SPDX-License-Identifier: GPL-2.0 */
/* The list widget every list view draws through (htop's Panel). */
#ifndef TUI_LIST_H
#define TUI_LIST_H

#include "tui/tui.h"

struct list_area {
	int y;		/* the column header's line; rows follow */
	int rows;	/* rows below it */
	int cols;	/* screen width */
};

void list_draw(const struct list_area *a, struct pane *p, const struct snapshot *s,
	       const struct col_ctx *ctx, const char *empty);

/* Text at (y, x) cut to maxw columns (-1: to the edge); returns the column after it. */
int list_put(int y, int x, int cols, int attr, const char *s, int maxw);
/* Fill the rest of line y from column x with attr (bars and the selection). */
void list_fill(int y, int x, int cols, int attr);

#endif /* TUI_LIST_H */
