/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The screen's column tables, as htop has its field table: each column is one entry (title,
 * width, alignment, sort key, command-line name, help, how to print a cell), and the header,
 * the cells, the sort order, the --sort names, the help text and batch mode's columns are all
 * derived from it. Adding a column is one entry plus its printer. No curses here: cells are
 * text plus a semantic colour, so batch mode and the unit tests use the same tables.
 */
#ifndef TUI_TABLE_H
#define TUI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "meter/snapshot.h"
#include "tui/colors.h"

struct cell {
	char text[128];
	enum tui_color color;
	double magnitude;	/* numbers: shadowed at 0, bold from 1 M up; < 0 for text */
};

struct col_ctx {
	bool bits;		/* rates in bits/s */
	bool resolve;		/* reverse-DNS names for addresses */
	bool raw;		/* batch mode: raw integers, one token per cell */
	bool ascii;		/* no Unicode (graphs in ASCII) */
	int graph_cells;	/* width of the graph column */
};

/* One row: an element of a snapshot array plus what sorting and filtering need. */
struct row {
	const void *data;
	const char *name;	/* the owner's name (users, processes), else NULL */
	bool pinned_last;	/* "other" and "(exited)" rows stay at the bottom */
};

struct column {
	const char *id;		/* --sort name and key for '<' '>'; NULL: not sortable */
	const char *title;	/* screen header */
	const char *batch;	/* batch header; NULL: not in batch output */
	const char *help;	/* one line for --help and the help screen */
	int width;		/* 0: the rest of the line */
	bool right;		/* right-aligned */
	bool desc;		/* descending by default (numbers) */
	bool hidden;		/* sort key only, never drawn ("rate" = in + out) */
	const char *marks;	/* hidden: the ids its sort highlights, space-separated */
	int min_screen;		/* drawn only on a screen at least this wide (0: always) */
	bool (*present)(const struct snapshot *s);	/* drawn only when true (NULL: always) */
	int (*cmp)(const struct row *a, const struct row *b);	/* ascending */
	void (*cell)(const struct col_ctx *ctx, const struct row *r, struct cell *out);
};

struct table {
	const char *name;	/* "users", "peers", ... */
	const struct column *cols;
	size_t ncols;
	int default_sort;	/* index into cols */
	/* The identity of a row (kept selected across refreshes); returns its length. */
	size_t (*key)(const struct row *r, uint8_t *buf, size_t len);
	/* Does the row match the filter text (case-insensitive)? */
	bool (*match)(const struct row *r, const char *filter);
};

extern const struct table tbl_users, tbl_peers, tbl_procs, tbl_conns, tbl_ignore;

/* Index of the sort column named id, or -1. */
int table_find(const struct table *t, const char *id);

/* "rate, in, out, ..." for --help and errors. */
const char *table_sort_names(const struct table *t, char *buf, size_t len);

/* The next (dir 1) or previous (-1) sortable column, in the order they are drawn. */
int table_step_sort(const struct table *t, int cur, int dir);

/* Is column col highlighted when the table is sorted by sort? */
bool table_col_sorted(const struct table *t, int col, int sort);

/*
 * Rows of table t over a snapshot: filtered (filter text, and `only` when not NULL: one owner),
 * then sorted by column `sort` (inverted: the other way). *out is malloc'd. Names are looked
 * up here, never under the engine's lock. Returns the number of rows or -ENOMEM.
 */
int table_rows(const struct table *t, const struct snapshot *s, const char *filter,
	       const tm_owner_t *only, int sort, bool invert, struct row **out);

/* The graph of a user's recent rate, `cells` characters (UTF-8 blocks, or ASCII). */
char *spark_text(const float *spark, size_t n, int cells, bool ascii, char *buf, size_t len);

#endif /* TUI_TABLE_H */
