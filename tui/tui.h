/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tmtop's screen state and the modules around it, shaped like htop's ScreenManager: the loop
 * (screen.c) copies rows from the aggregator when the delay expires, key actions (keys.c)
 * only change this state and return reaction flags, the views (views.c) only draw it.
 */
#ifndef TUI_TUI_H
#define TUI_TUI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "meter/aggregator.h"
#include "meter/iplist.h"

struct monitor;
struct collector;
struct tm_cli;

enum tui_view {
	VIEW_USERS,
	VIEW_PEERS,
	VIEW_IGNORE,
};

/* What a line of text typed at the bottom is for. */
enum tui_input {
	INPUT_NONE,
	INPUT_FILTER,		/* live user filter (F4, '\', '/') */
	INPUT_PREFIX,		/* a new ignore entry ('a' in the ignore panel) */
};

/* Reaction flags returned by key actions (htop's Htop_Reaction). */
enum {
	RE_OK = 0,		/* nothing to do */
	RE_REDRAW = 1 << 0,	/* draw again from the rows we hold */
	RE_REFRESH = 1 << 1,	/* copy rows again now (sort, filter or view changed) */
	RE_QUIT = 1 << 2,
	RE_RESIZE = 1 << 3,	/* the terminal changed size */
	RE_DELAY = 1 << 4,	/* the refresh delay changed: reschedule */
};

/* One scrolling list: the selected index and the first visible row. */
struct tui_list {
	int sel;
	int top;
	int n;
};

struct tui_ignore_row {
	struct ip_prefix p;
	bool on;
};

#define TUI_MAX_USERS 4096
#define TUI_MAX_PEERS 256
#define TUI_MAX_IGNORE 2048
#define TUI_TEXT_LEN 128
#define TUI_STATUS_LEN 200

struct tui {
	struct monitor *mon;		/* NULL in unit tests */
	struct collector *coll;		/* ignore-list edits; NULL in unit tests */
	const char *cgroup;		/* for the header */
	const char *log_target;		/* "/tmp/traffic_user_lo_<uid>.log" or "off" */

	/* what the user chose */
	enum agg_sort sort;
	bool invert;
	char filter[TUI_TEXT_LEN];
	bool mono;
	bool bits;
	bool resolve;
	bool paused;
	double delay;			/* seconds */

	/* where the user is */
	enum tui_view view;
	bool help;
	enum tui_input input;
	char text[TUI_TEXT_LEN];	/* the line being typed for INPUT_PREFIX */

	/* the rows last copied, and the lists over them */
	struct agg_user *users;		/* TUI_MAX_USERS */
	struct tui_list ulist;
	uint32_t sel_uid;		/* selection follows this uid across refreshes */
	bool have_sel;

	uint32_t peer_uid;		/* whose peers VIEW_PEERS shows */
	struct agg_user peer_user;
	bool peer_user_known;
	struct agg_peer *peers;		/* TUI_MAX_PEERS */
	struct tui_list plist;
	uint8_t sel_peer[17];		/* family + address: follows the peer across re-sorts */
	bool have_sel_peer;

	struct tui_ignore_row *ign;	/* TUI_MAX_IGNORE */
	struct tui_list ilist;
	size_t ign_active;

	struct agg_totals totals;
	uint64_t events, lost;
	bool logging;
	uint64_t log_errors;
	bool log_healthy;
	char log_error[256];

	char status[TUI_STATUS_LEN];	/* one-line message under the header */
	bool status_error;
	uint64_t status_until_ns;

	uint64_t start_ns;
	int page;			/* rows in the list area, set when drawing (PgUp/PgDn) */
	int cols, lines;
};

/* keys.c: one table of actions; dispatch never draws. Returns RE_* flags. */
int keys_dispatch(struct tui *t, int key);
enum agg_sort sort_step(enum agg_sort s, int dir);	/* '<' -1, '>' +1, in column order */
void list_clamp(struct tui_list *l, int page);
void tui_status(struct tui *t, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* screen.c */
int tui_init(struct tui *t);		/* allocations only; no curses */
void tui_free(struct tui *t);
void tui_apply_users(struct tui *t, size_t n);	/* keep the selection on the same uid */
void tui_apply_peers(struct tui *t, size_t n);
void tui_snapshot(struct tui *t);	/* copy rows, totals, stats, ignore list */
int screen_run(struct tui *t);		/* the interactive loop; 0 on a clean quit */

/* views.c */
void views_draw(struct tui *t);
int views_list_rows(int lines);		/* rows available to a list at this height */

/* colors.c */
void colors_init(bool mono);

/* batch.c: plain-text snapshots (format documented there) */
int batch_run(struct tui *t, long iterations);

/* signals shared by batch and screen */
extern volatile sig_atomic_t tui_sig_quit;	/* SIGINT, SIGTERM, SIGHUP (screen) */
extern volatile sig_atomic_t tui_sig_hup;	/* SIGHUP in batch mode: reopen logs */
void tui_signals_install(bool batch);

#endif /* TUI_TUI_H */
