// SPDX-License-Identifier: GPL-2.0
/*
 * The one loop (htop's ScreenManager): when the delay expires, take a snapshot from the
 * source, rebuild the lists keeping the selection on the same entity, draw, then wait for a
 * key with a short timeout so keys are answered at once even when the meter is busy with a
 * flood. Collection never draws and drawing never collects.
 */
#include <curses.h>
#include <term.h>
#undef lines		/* term.h names capabilities like struct tui's fields */
#undef columns
#include <termios.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tui/tui.h"
#include "tui/resolver.h"
#include "meter/clock.h"

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
 * A crash must not leave the terminal raw, and a signal handler may only make
 * async-signal-safe calls: so the reset is prepared when curses starts (the terminal's own
 * strings to leave the alternate screen, show the cursor and reset attributes, and the termios
 * from before initscr), and the handler only write()s it and tcsetattr()s. Then it dies by the
 * same signal so the exit status and core dump are honest. The BPF links go with the process.
 */
static char reset_seq[256];
static size_t reset_len;
static struct termios saved_tio;
static volatile sig_atomic_t have_tio;

static void on_fatal(int sig)
{
	if (curses_active) {
		if (reset_len)
			(void)!write(STDOUT_FILENO, reset_seq, reset_len);
		if (have_tio)
			tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void prepare_reset(void)
{
	static const char *const caps[] = { "rmkx", "rmcup", "cnorm", "sgr0" };

	reset_len = 0;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		const char *s = tigetstr(caps[i]);
		size_t n;

		if (!s || s == (char *)-1)
			continue;
		n = strlen(s);
		if (reset_len + n + 2 > sizeof(reset_seq))
			break;
		memcpy(reset_seq + reset_len, s, n);
		reset_len += n;
	}
	reset_seq[reset_len++] = '\r';
	reset_seq[reset_len++] = '\n';
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

static void curses_start(struct tui *t)
{
	if (!tcgetattr(STDIN_FILENO, &saved_tio))
		have_tio = 1;
	initscr();
	prepare_reset();
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
	tui_refresh(t);
	next = tm_now_ns() + delay_ns(t);

	while (!tui_sig_quit) {
		int ch, flags, wait_ms;

		now = tm_now_ns();
		if (now >= next) {
			if (!t->paused)
				tui_refresh(t);
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
			for (int v = 0; v < VIEW__COUNT; v++)
				list_clamp(&t->panes[v].list, t->page);
			clearok(stdscr, TRUE);
		}
		if (t->resolve && t->view == VIEW_PEERS)
			resolver_start();	/* 'n' turned it on: start the thread lazily */
		if (flags & RE_DELAY)
			next = tm_now_ns() + delay_ns(t);
		/* A changed view, sort or filter shows at once; paused data stays frozen otherwise. */
		if (flags & RE_REFRESH)
			tui_refresh(t);
		redraw = true;
	}
	curses_stop();
	return 0;
}
