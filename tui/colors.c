// SPDX-License-Identifier: GPL-2.0
#include <curses.h>
#include "tui/colors.h"
#include "tui/tui.h"

int tui_colors[COLOR__COUNT];

struct scheme {
	short fg, bg;		/* -1 = the terminal's default, so any theme stays readable */
	int attr;		/* added to the pair */
	int mono;		/* what the name becomes without colour */
};

static const struct scheme scheme[COLOR__COUNT] = {
	[COLOR_NORMAL]		= { -1, -1, A_NORMAL, A_NORMAL },
	[COLOR_HEADER_LABEL]	= { COLOR_CYAN, -1, A_NORMAL, A_NORMAL },
	[COLOR_HEADER_VALUE]	= { -1, -1, A_BOLD, A_BOLD },
	[COLOR_COLUMN_HEADER]	= { COLOR_BLACK, COLOR_GREEN, A_NORMAL, A_REVERSE },
	[COLOR_COLUMN_SORT]	= { COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_BOLD },
	[COLOR_SELECTED]	= { COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE },
	[COLOR_RATE_IN]		= { COLOR_GREEN, -1, A_NORMAL, A_NORMAL },
	[COLOR_RATE_OUT]	= { COLOR_CYAN, -1, A_NORMAL, A_NORMAL },
	[COLOR_TOTAL]		= { -1, -1, A_NORMAL, A_NORMAL },
	[COLOR_ZERO]		= { COLOR_BLACK, -1, A_BOLD, A_DIM },
	[COLOR_PEER]		= { -1, -1, A_NORMAL, A_NORMAL },
	[COLOR_NOSOCK]		= { COLOR_YELLOW, -1, A_NORMAL, A_DIM },
	[COLOR_FUNCBAR_KEY]	= { -1, -1, A_NORMAL, A_NORMAL },
	[COLOR_FUNCBAR_TEXT]	= { COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE },
	[COLOR_ERROR]		= { COLOR_RED, -1, A_BOLD, A_BOLD },
	[COLOR_OK]		= { COLOR_GREEN, -1, A_NORMAL, A_NORMAL },
	[COLOR_PAUSED]		= { COLOR_BLACK, COLOR_YELLOW, A_BOLD, A_REVERSE | A_BOLD },
	[COLOR_STATUS]		= { COLOR_GREEN, -1, A_BOLD, A_BOLD },
	[COLOR_CHECK_ON]	= { COLOR_GREEN, -1, A_BOLD, A_BOLD },
	[COLOR_CHECK_OFF]	= { COLOR_BLACK, -1, A_BOLD, A_DIM },
	[COLOR_HELP_KEY]	= { COLOR_CYAN, -1, A_BOLD, A_BOLD },
	[COLOR_TITLE]		= { COLOR_CYAN, -1, A_BOLD, A_BOLD },
	[COLOR_WARN]		= { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
	[COLOR_GRAPH]		= { COLOR_GREEN, -1, A_NORMAL, A_NORMAL },
};

void colors_init(bool mono)
{
	int i;

	if (!mono && !has_colors())
		mono = true;	/* a terminal without colours gets the monochrome scheme */
	if (!mono && start_color() == ERR)
		mono = true;
	if (!mono)
		use_default_colors();
	for (i = 0; i < COLOR__COUNT; i++) {
		if (mono) {
			tui_colors[i] = scheme[i].mono;
			continue;
		}
		init_pair(i + 1, scheme[i].fg, scheme[i].bg);
		tui_colors[i] = COLOR_PAIR(i + 1) | scheme[i].attr;
	}
}
