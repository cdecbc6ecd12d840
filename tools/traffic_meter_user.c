// SPDX-License-Identifier: GPL-2.0
/*
 * traffic_meter_user: the headless logger with the seed's command line. Attaches to a cgroup,
 * logs every packet to per-user files until SIGINT/SIGTERM, reopens them on SIGHUP.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "meter/cli.h"
#include "meter/iplist.h"
#include "meter/monitor.h"
#include "meter/users.h"

#define PROG "traffic_meter_user"

static void print_ignore_list(const struct iplist *list, int mode)
{
	char buf[IP_PREFIX_STRLEN];

	fprintf(stderr, PROG ": ignoring %zu network%s (mode %s)%s", list->n,
		list->n == 1 ? "" : "s", cli_ignore_mode_name(mode), list->n ? ":" : "");
	for (size_t i = 0; i < list->n; i++)
		fprintf(stderr, " %s", ip_prefix_format(&list->v[i], buf, sizeof(buf)));
	fputc('\n', stderr);
}

static void print_summary(const struct monitor_summary *sum)
{
	fprintf(stderr, PROG ": stopped; %llu events logged, %llu lost (ring buffer full)",
		(unsigned long long)sum->stats.events, (unsigned long long)sum->stats.lost);
	if (sum->stats.backend.write_errors)
		fprintf(stderr, ", %llu write errors (%llu rows dropped; last: %s)",
			(unsigned long long)sum->stats.backend.write_errors,
			(unsigned long long)sum->stats.backend.dropped,
			sum->stats.backend.last_error);
	fputc('\n', stderr);
	for (size_t i = 0; i < sum->ntotals; i++) {
		const struct uid_total *t = &sum->totals[i];

		fprintf(stderr, "  uid %-6u %-16s in %llu B (%llu pkts)  out %llu B (%llu pkts)\n",
			t->uid, users_name(t->uid), (unsigned long long)t->bytes[TM_DIR_IN],
			(unsigned long long)t->packets[TM_DIR_IN],
			(unsigned long long)t->bytes[TM_DIR_OUT],
			(unsigned long long)t->packets[TM_DIR_OUT]);
	}
}

int main(int argc, char **argv)
{
	struct monitor_opts opts;
	struct monitor_summary sum = {};
	struct iplist ignore = {};
	struct monitor *m = NULL;
	struct tm_cli cli;
	char err[512];
	sigset_t sigs;
	int ret, sig;

	ret = cli_parse(&cli, CLI_LOGGER, argc, argv, stdout, err, sizeof(err));
	if (ret == 1)
		return 0;
	if (ret) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	if (cli_load_ignore(&cli, &ignore, err, sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}

	/* Block the signals before the engine thread starts so only sigwait() sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	cli_monitor_opts(&cli, &ignore, true, &opts);
	ret = monitor_start(&m, &opts, err, sizeof(err));
	if (ret) {
		fprintf(stderr, PROG ": %s\n", err);
		iplist_free(&ignore);
		return 1;
	}
	print_ignore_list(&ignore, cli.ignore_mode);
	if (cli.counters_only)
		fprintf(stderr, PROG ": counting %s in the kernel only (no events, no logs); "
			"Ctrl+C to stop\n", cli.cgroup_path);
	else
		fprintf(stderr, PROG ": watching %s, logging to %s/traffic_user_%s_<uid>.log; "
			"Ctrl+C to stop\n", cli.cgroup_path, cli.log_dir, cli.nic_id);

	for (;;) {
		if (sigwait(&sigs, &sig))
			continue;
		if (sig == SIGHUP) {
			monitor_request_reopen(m);
			continue;
		}
		break;
	}
	monitor_finish(m, &sum);
	monitor_stop(m);
	print_summary(&sum);
	free(sum.totals);
	iplist_free(&ignore);
	users_cache_free();
	return 0;
}
