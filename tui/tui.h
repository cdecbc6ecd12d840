/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tmtop's screen state, shaped like htop's ScreenManager: the loop (screen.c) takes a snapshot
 * from the source when the delay expires, key actions (keys.c) only change this state and
 * return reaction flags, and the views (views.c) only draw it, each through the one list
 * widget (list.c) over a column table (table.c).
 */
#ifndef TUI_TUI_H
#define TUI_TUI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "meter/snapshot.h"
#include "tui/source.h"
#include "tui/table.h"

enum tui_view {
	VIEW_USERS,
	VIEW_PEERS,		/* one user's peers */
	VIEW_PROCS,		/* one user's processes, or everyone's (P) */
	VIEW_CONNS,		/* one process's connections */
	VIEW_IGNORE,
	VIEW_HISTORY,		/* one user's hours and days (not a list) */
	VIEW__COUNT
};

/* What a line typed at the bottom is for. */
enum tui_input {
	INPUT_NONE,
	INPUT_FILTER,		/* live filter (F4, '\', '/') */
	INPUT_PREFIX,		/* a new ignore entry ('a' in the ignore panel) */
};

/* Reaction flags returned by key actions (htop's Htop_Reaction). */
enum {
	RE_OK = 0,		/* nothing to do */
	RE_REDRAW = 1 << 0,	/* draw again from the rows we hold */
	RE_REFRESH = 1 << 1,	/* take a snapshot now (view, sort or filter changed) */
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

#define TUI_KEY_MAX 64

/* One list view (htop's Panel): a table, its rows, the selection kept on the same entity. */
struct pane {
	const struct table *table;
	int sort;			/* column index */
	bool invert;
	struct row *rows;		/* over the current snapshot */
	struct tui_list list;
	uint8_t sel_key[TUI_KEY_MAX];	/* identity of the selected row */
	size_t sel_len;			/* 0: nothing selected yet */
};

#define TUI_TEXT_LEN 128
#define TUI_STATUS_LEN 200

struct tui {
	struct source *src;
	const char *log_note;		/* the header's "Log" line when standalone */

	/* what the user chose */
	double delay;			/* seconds */
	bool mono, bits, resolve, paused, ascii;
	char filter[TUI_TEXT_LEN];
	bool has_only;			/* -u USER: just this owner */
	tm_owner_t only;

	/* where the user is */
	enum tui_view view;
	enum tui_view back;		/* where Esc from the processes view goes */
	bool help;
	enum tui_input input;
	char text[TUI_TEXT_LEN];	/* the line being typed for INPUT_PREFIX */
	bool procs_all;			/* the processes view lists everyone */
	tm_owner_t owner;		/* whose peers or processes */
	tm_owner_t conn_owner;		/* whose connections ... */
	uint32_t conn_tgid;		/* ... of which process */
	char conn_comm[16];		/* and its name, for the title */
	struct pane panes[VIEW__COUNT];

	/* the history view: reports (service/report.h) for t->owner */
	json_object *hist_hours;
	json_object *hist_days;
	char hist_error[TUI_STATUS_LEN];

	/* the last snapshot and what went wrong getting one */
	struct snapshot snap;
	bool have_snap;
	char source_error[TUI_STATUS_LEN];

	char status[TUI_STATUS_LEN];	/* one-line message under the header */
	bool status_error;
	uint64_t status_until_ns;

	uint64_t start_ns;
	int page;			/* rows in the list area, set when drawing (PgUp/PgDn) */
	int cols, lines;
};

/* keys.c: one table of actions; dispatch never draws. Returns RE_* flags. */
int keys_dispatch(struct tui *t, int key);
void list_clamp(struct tui_list *l, int page);
void tui_status(struct tui *t, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct pane *tui_pane(struct tui *t);		/* the current view's pane */
const struct row *pane_selected(const struct pane *p);

/* model.c: the snapshot and the rows over it, outside curses */
int tui_init(struct tui *t);
void tui_free(struct tui *t);
/* Take a snapshot for the current view and rebuild the panes; false when the source failed
 * (t->source_error says why; the last snapshot stays). */
bool tui_refresh(struct tui *t);
void pane_rebuild(struct tui *t, struct pane *p, const tm_owner_t *only);

/* screen.c */
int screen_run(struct tui *t);		/* the interactive loop; 0 on a clean quit */

/* views.c */
void views_draw(struct tui *t);
int views_list_rows(int lines);		/* rows available to a list at this height */
void help_print(FILE *out);		/* the keys, for tmtop(8) and --help */

/* colors.c */
void colors_init(bool mono);

/* batch.c: plain-text or JSON snapshots (format documented there) */
struct batch_opts {
	long iterations;		/* 0: until a signal */
	bool json;
	bool processes;			/* one line per process */
	bool peers;			/* each user's peers */
	const char *source_desc;	/* "standalone" / "meter:/run/tmtop/meter.sock" */
};
int batch_run(struct tui *t, const struct batch_opts *o);

/* signals shared by batch and screen */
extern volatile sig_atomic_t tui_sig_quit;	/* SIGINT, SIGTERM, SIGHUP (screen) */
extern volatile sig_atomic_t tui_sig_hup;	/* SIGHUP in batch mode: reopen logs */
void tui_signals_install(bool batch);

#endif /* TUI_TUI_H */
