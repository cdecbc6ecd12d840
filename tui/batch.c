// SPDX-License-Identifier: GPL-2.0
/*
 * Batch mode (-b), like top -b: a plain-text snapshot on stdout every interval, flushed, for
 * scripts, cron and tests. The format, one snapshot per interval:
 *
 *   # ignore: 10.0.0.0/8 192.168.0.0/16            (once, at start; "(none)" when empty)
 *   tmtop time=1732985432.123 elapsed=3.0 interval=1.0 units=bytes
 *   totals in/s=120 out/s=4500 in=7890 out=123400 events=812 events/s=270 lost=0 users=2
 *   ignore=2/2 log=/tmp/traffic_user_lo_<uid>.log log_errors=0
 *   USER UID IN/s OUT/s TOT_IN TOT_OUT TOP_PEER
 *   alice 1000 120 4500 7890 123400 127.0.0.1
 *   (no_socket) 65534 0 0 120 0 -
 *   <blank line>
 *
 * Fields are whitespace-separated and never contain blanks (a name's blanks become '_').
 * IN/s and OUT/s are integers in bytes/s (bits/s with --bits), "-" until a rate exists;
 * TOT_IN and TOT_OUT are exact byte counts from the kernel counters; TOP_PEER is "-" when
 * the user has no peer yet. Rows are sorted and filtered as -s/-I/-F ask.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include "tui/tui.h"
#include "tui/format.h"
#include "meter/clock.h"
#include "meter/monitor.h"
#include "meter/users.h"
#include <linux/types.h>
#include "traffic_meter.h"

static void print_ignore_list(struct tui *t)
{
	char p[IP_PREFIX_STRLEN];
	int i, shown = 0;

	printf("# ignore:");
	for (i = 0; i < t->ilist.n; i++) {
		if (!t->ign[i].on)
			continue;
		printf(" %s", ip_prefix_format(&t->ign[i].p, p, sizeof(p)));
		shown++;
	}
	printf("%s\n", shown ? "" : " (none)");
}

static void print_rate(bool has, double bytes_per_s, bool bits)
{
	if (has)
		printf(" %.0f", bits ? bytes_per_s * 8.0 : bytes_per_s);
	else
		printf(" -");
}

static void print_snapshot(struct tui *t)
{
	struct timespec now;
	char name[128], addr[64];
	int i;

	clock_gettime(CLOCK_REALTIME, &now);
	printf("tmtop time=%lld.%03ld elapsed=%.1f interval=%.1f units=%s\n", (long long)now.tv_sec,
	       now.tv_nsec / 1000000, (tm_now_ns() - t->start_ns) / 1e9, t->delay,
	       t->bits ? "bits" : "bytes");
	printf("totals");
	if (t->totals.has_rate)
		printf(" in/s=%.0f out/s=%.0f", t->totals.rate[TM_DIR_IN] * (t->bits ? 8 : 1),
		       t->totals.rate[TM_DIR_OUT] * (t->bits ? 8 : 1));
	else
		printf(" in/s=- out/s=-");
	printf(" in=%llu out=%llu events=%llu events/s=%.0f lost=%llu users=%u\n",
	       (unsigned long long)t->totals.bytes[TM_DIR_IN],
	       (unsigned long long)t->totals.bytes[TM_DIR_OUT], (unsigned long long)t->events,
	       t->totals.events_per_s, (unsigned long long)t->lost, t->totals.users);
	printf("ignore=%zu/%d log=%s log_errors=%llu\n", t->ign_active, t->ilist.n, t->log_target,
	       (unsigned long long)t->log_errors);
	printf("USER UID IN/s OUT/s TOT_IN TOT_OUT TOP_PEER\n");
	for (i = 0; i < t->ulist.n; i++) {
		const struct agg_user *u = &t->users[i];

		printf("%s %u", fmt_token(name, sizeof(name), users_name(u->uid)), u->uid);
		print_rate(u->has_rate, u->rate[TM_DIR_IN], t->bits);
		print_rate(u->has_rate, u->rate[TM_DIR_OUT], t->bits);
		printf(" %llu %llu %s\n", (unsigned long long)u->bytes[TM_DIR_IN],
		       (unsigned long long)u->bytes[TM_DIR_OUT],
		       u->has_top ? fmt_addr(addr, sizeof(addr), u->top.family, u->top.addr) : "-");
	}
	printf("\n");
}

/* Sleep until deadline (monotonic ns) in short steps so signals are seen promptly. */
static void sleep_until(struct tui *t, uint64_t deadline)
{
	while (!tui_sig_quit) {
		uint64_t now = tm_now_ns(), left;
		struct timespec ts;

		if (tui_sig_hup) {
			tui_sig_hup = 0;
			monitor_request_reopen(t->mon);	/* logrotate, as in the logger */
		}
		if (now >= deadline)
			return;
		left = deadline - now;
		if (left > 100000000ULL)
			left = 100000000ULL;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left;
		nanosleep(&ts, NULL);
	}
}

int batch_run(struct tui *t, long iterations)
{
	uint64_t next = tm_now_ns();
	long i;

	tui_snapshot(t);
	print_ignore_list(t);
	fflush(stdout);
	/* The first snapshot comes after one interval: before it there is no rate to show. */
	for (i = 0; !iterations || i < iterations; i++) {
		next += (uint64_t)(t->delay * 1e9);
		sleep_until(t, next);
		if (tui_sig_quit)
			break;
		tui_snapshot(t);
		print_snapshot(t);
		if (fflush(stdout) == EOF || ferror(stdout)) {
			/* A closed pipe (tmtop -b | head) ends batch mode quietly, like top. */
			return errno == EPIPE ? 0 : 1;
		}
	}
	return 0;
}
