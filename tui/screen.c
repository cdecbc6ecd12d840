// SPDX-License-Identifier: GPL-2.0
/*
 * The one loop (htop's ScreenManager): when the delay expires, copy rows from the aggregator
 * under the monitor lock, rebuild the lists keeping the selection on the same user, draw,
 * then wait for a key with a short timeout so keys are answered at once even when the
 * monitor thread is busy with a flood. Collection never draws and drawing never collects.
 */
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tui/tui.h"
#include "tui/resolver.h"
#include "meter/clock.h"
#include "meter/collector.h"
#include "meter/monitor.h"
#include "meter/users.h"

volatile sig_atomic_t tui_sig_quit;
volatile sig_atomic_t tui_sig_hup;
static volatile sig_atomic_t curses_active;

static void on_quit(int sig)
{
	tui_sig_quit = sig;
}

static void on_hup(int sig)
{
	tui_sig_hup = 1;
}

/*
 * A crash must not leave the terminal raw. endwin() is not async-signal-safe, but the
 * process is dying anyway (htop does the same); then die by the same signal so the exit
 * status and core dump are honest. The BPF links go with the process.
 */
static void on_fatal(int sig)
{
	if (curses_active)
		endwin();
	signal(sig, SIG_DFL);
	raise(sig);
}

void tui_signals_install(bool batch)
{
	struct sigaction sa = { 0 };
	static const int fatal[] = { SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL };
	size_t i;

	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a signal should cut a blocking getch()/nanosleep() short. */
	sa.sa_handler = on_quit;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Interactive: SIGHUP means the terminal is gone, so quit cleanly. Batch: reopen logs. */
	sa.sa_handler = batch ? on_hup : on_quit;
	sigaction(SIGHUP, &sa, NULL);
	/* A closed stdout or terminal shows up as a write error we handle, not a silent death. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_RESETHAND;
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
}

int tui_init(struct tui *t)
{
	t->users = calloc(TUI_MAX_USERS, sizeof(*t->users));
	t->peers = calloc(TUI_MAX_PEERS, sizeof(*t->peers));
	t->ign = calloc(TUI_MAX_IGNORE, sizeof(*t->ign));
	if (!t->users || !t->peers || !t->ign) {
		tui_free(t);
		return -ENOMEM;
	}
	if (t->delay <= 0)
		t->delay = 1.0;
	t->start_ns = tm_now_ns();
	t->page = 1;
	return 0;
}

void tui_free(struct tui *t)
{
	free(t->users);
	free(t->peers);
	free(t->ign);
	t->users = NULL;
	t->peers = NULL;
	t->ign = NULL;
}

void tui_apply_users(struct tui *t, size_t n)
{
	size_t i;

	t->ulist.n = (int)n;
	if (t->have_sel) {
		for (i = 0; i < n; i++) {
			if (t->users[i].uid == t->sel_uid) {
				t->ulist.sel = (int)i;
				break;
			}
		}
	}
	/* The user is gone (filtered out or aged out): stay at the same height instead. */
	list_clamp(&t->ulist, t->page);
	if (n) {
		t->sel_uid = t->users[t->ulist.sel].uid;
		t->have_sel = true;
	}
}

void tui_apply_peers(struct tui *t, size_t n)
{
	size_t i;

	t->plist.n = (int)n;
	if (t->have_sel_peer) {
		for (i = 0; i < n; i++) {
			if (t->peers[i].family == t->sel_peer[0] &&
			    !memcmp(t->peers[i].addr, t->sel_peer + 1, 16)) {
				t->plist.sel = (int)i;
				break;
			}
		}
	}
	list_clamp(&t->plist, t->page);
	if (n) {
		t->sel_peer[0] = t->peers[t->plist.sel].family;
		memcpy(t->sel_peer + 1, t->peers[t->plist.sel].addr, 16);
		t->have_sel_peer = true;
	}
}

static const char *name_of(void *ctx, uint32_t uid)
{
	return users_name(uid);
}

static void snapshot_ignore(struct tui *t)
{
	size_t i, n;

	if (!t->coll)
		return;
	n = collector_ignore_count(t->coll);
	if (n > TUI_MAX_IGNORE)
		n = TUI_MAX_IGNORE;
	for (i = 0; i < n; i++) {
		bool on = false;
		const struct ip_prefix *p = collector_ignore_get(t->coll, i, &on);

		if (!p) {
			n = i;
			break;
		}
		t->ign[i].p = *p;
		t->ign[i].on = on;
	}
	t->ilist.n = (int)n;
	list_clamp(&t->ilist, t->page);
	t->ign_active = collector_ignore_active(t->coll);
}

/* Copy what the views need; the lock is held only for the copies, never while drawing. */
void tui_snapshot(struct tui *t)
{
	struct agg_view v = {
		.sort = t->sort,
		.invert = t->invert,
		.filter = t->filter[0] ? t->filter : NULL,
		.name = name_of,
	};
	struct monitor_stats st;
	size_t nu, np = 0, i;
	struct agg *a;

	monitor_lock(t->mon);
	a = monitor_agg(t->mon);
	nu = agg_users(a, &v, t->users, TUI_MAX_USERS);
	agg_get_totals(a, &t->totals);
	if (t->view == VIEW_PEERS) {
		np = agg_peers(a, t->peer_uid, t->peers, TUI_MAX_PEERS);
		t->peer_user_known = agg_user_get(a, t->peer_uid, &t->peer_user);
	}
	monitor_unlock(t->mon);

	/* Warm the name cache outside the lock so a slow NSS lookup never holds up the monitor. */
	for (i = 0; i < nu; i++)
		users_name(t->users[i].uid);

	monitor_get_stats(t->mon, &st);
	t->events = st.events;
	t->lost = st.lost;
	t->logging = st.logging;
	t->log_errors = st.backend.write_errors;
	t->log_healthy = st.backend.healthy || !st.backend.write_errors;
	snprintf(t->log_error, sizeof(t->log_error), "%s", st.backend.last_error);

	tui_apply_users(t, nu);
	if (t->view == VIEW_PEERS)
		tui_apply_peers(t, np);
	snapshot_ignore(t);
}

static void curses_start(struct tui *t)
{
	initscr();
	curses_active = 1;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);	/* Esc answers at once instead of after a second */
	curs_set(0);
	colors_init(t->mono);
	getmaxyx(stdscr, t->lines, t->cols);
	t->page = views_list_rows(t->lines);
}

static void curses_stop(void)
{
	if (!curses_active)
		return;
	curs_set(1);
	endwin();
	curses_active = 0;
}

static uint64_t delay_ns(const struct tui *t)
{
	return (uint64_t)(t->delay * 1e9);
}

int screen_run(struct tui *t)
{
	uint64_t next, now;
	bool redraw = true;

	curses_start(t);
	if (t->resolve)
		resolver_start();
	tui_snapshot(t);
	next = tm_now_ns() + delay_ns(t);

	while (!tui_sig_quit) {
		int ch, flags, wait_ms;

		now = tm_now_ns();
		if (now >= next) {
			if (!t->paused)
				tui_snapshot(t);
			next = now + delay_ns(t);
			redraw = true;	/* elapsed time and status expiry move even when paused */
		}
		if (t->status[0] && now >= t->status_until_ns) {
			t->status[0] = '\0';
			redraw = true;
		}
		if (redraw) {
			views_draw(t);
			redraw = false;
		}

		/* Wake for the next refresh, but at least every 200 ms to see signal flags. */
		wait_ms = (int)((next > now ? next - now : 0) / 1000000);
		if (wait_ms > 200)
			wait_ms = 200;
		if (wait_ms < 1)
			wait_ms = 1;
		timeout(wait_ms);
		ch = getch();
		if (ch == ERR)
			continue;

		flags = keys_dispatch(t, ch);
		if (flags & RE_QUIT)
			break;
		if (flags & RE_RESIZE) {
			/* ncurses has already taken the new size on KEY_RESIZE */
			getmaxyx(stdscr, t->lines, t->cols);
			t->page = views_list_rows(t->lines);
			list_clamp(&t->ulist, t->page);
			list_clamp(&t->plist, t->page);
			list_clamp(&t->ilist, t->page);
			clearok(stdscr, TRUE);
		}
		if (t->resolve && t->view == VIEW_PEERS)
			resolver_start();	/* 'n' turned it on: start the thread lazily */
		if (flags & RE_DELAY)
			next = tm_now_ns() + delay_ns(t);
		/* A changed view, sort or filter shows at once; paused data stays frozen otherwise. */
		if (flags & RE_REFRESH)
			tui_snapshot(t);
		redraw = true;
	}
	curses_stop();
	return 0;
}
