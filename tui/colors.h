/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Semantic colours (htop's CRT_colors): views ask for COLOR_RATE_IN, never for "green", and
 * colors.c is the one place that maps a name to a pair or, in monochrome, to an attribute.
 */
#ifndef TUI_COLORS_H
#define TUI_COLORS_H

enum tui_color {
	COLOR_NORMAL,
	COLOR_HEADER_LABEL,	/* "In", "Log", ... in the header */
	COLOR_HEADER_VALUE,
	COLOR_COLUMN_HEADER,	/* the reverse-video line of column names */
	COLOR_COLUMN_SORT,	/* the sort column inside it */
	COLOR_SELECTED,		/* the selection bar */
	COLOR_RATE_IN,
	COLOR_RATE_OUT,
	COLOR_TOTAL,
	COLOR_ZERO,		/* zero or "-": shadowed like htop's idle values */
	COLOR_PEER,
	COLOR_NOSOCK,		/* the "(no socket)" bucket */
	COLOR_FUNCBAR_KEY,	/* "F1" */
	COLOR_FUNCBAR_TEXT,	/* "Help" */
	COLOR_ERROR,
	COLOR_OK,
	COLOR_PAUSED,
	COLOR_STATUS,		/* informational status line */
	COLOR_CHECK_ON,		/* [x] in the ignore panel */
	COLOR_CHECK_OFF,
	COLOR_HELP_KEY,
	COLOR_TITLE,		/* view titles ("Peers of alice") */
	COLOR_WARN,		/* worth a look: another netns, a quota nearly used */
	COLOR_GRAPH,		/* the rate graph */
	COLOR__COUNT
};

/* Attribute for each name; filled by colors_init(). */
extern int tui_colors[COLOR__COUNT];
#define CA(name) (tui_colors[name])

#endif /* TUI_COLORS_H */
