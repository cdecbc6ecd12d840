// SPDX-License-Identifier: GPL-2.0
/*
 * tmtop: htop for the network, per user. A thin main: parse the command line, load the
 * ignore list, start the engine (BPF collector + background logging + aggregator), then run
 * the interactive screen or batch mode, and stop the engine so logs are flushed and every
 * program detached.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "backend/backend.h"
#include "meter/cli.h"
#include "meter/iplist.h"
#include "meter/monitor.h"
#include "meter/users.h"
#include "tui/tui.h"

int main(int argc, char **argv)
{
	static struct tm_cli cli;	/* 4 KiB of path: keep it off the stack */
	struct monitor_opts mo;
	struct iplist ignore = { 0 };
	struct monitor *mon = NULL;
	struct tui t = { 0 };
	char err[512] = "", log_target[4200];
	uint64_t window;
	int rc;

	rc = cli_parse(&cli, CLI_TMTOP, argc, argv, stdout, err, sizeof(err));
	if (rc == 1)
		return 0;
	if (rc < 0) {
		fprintf(stderr, "tmtop: %s\n", err[0] ? err : strerror(-rc));
		return 2;
	}
	if (cli_load_ignore(&cli, &ignore, err, sizeof(err))) {
		fprintf(stderr, "tmtop: %s\n", err);
		return 1;
	}

	cli_monitor_opts(&cli, &ignore, !cli.no_log, &mo);
	mo.aggregate = true;
	/* The rate window spans at least two refreshes, so a slow refresh still shows a rate. */
	window = (uint64_t)(cli.delay * 1e9);
	mo.agg.window_ns = window > 2000000000ULL ? window : 2000000000ULL;

	if (!cli.batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		fprintf(stderr, "tmtop: not a terminal (use -b for batch mode)\n");
		return 1;
	}
	/* Handlers first: a Ctrl-C while the programs load must still stop cleanly. */
	tui_signals_install(cli.batch);
	rc = monitor_start(&mon, &mo, err, sizeof(err));
	iplist_free(&ignore);	/* the collector keeps its own copy */
	if (rc) {
		fprintf(stderr, "tmtop: %s\n", err[0] ? err : strerror(-rc));
		return 1;
	}

	if (!mo.backend)
		snprintf(log_target, sizeof(log_target), "off");
	else if (!strcmp(mo.backend->name, "csv"))
		snprintf(log_target, sizeof(log_target), "%s/traffic_user_%s_<uid>.log", cli.log_dir,
			 cli.nic_id);
	else
		snprintf(log_target, sizeof(log_target), "%s backend", mo.backend->name);

	t.mon = mon;
	t.coll = monitor_collector(mon);
	t.cgroup = cli.cgroup_path;
	t.log_target = log_target;
	t.sort = cli.sort;
	t.invert = cli.sort_invert;
	if (cli.filter)
		snprintf(t.filter, sizeof(t.filter), "%s", cli.filter);
	t.mono = cli.mono;
	t.bits = cli.bits;
	t.resolve = cli.resolve;
	t.delay = cli.delay;

	rc = tui_init(&t);
	if (rc) {
		monitor_stop(mon);
		fprintf(stderr, "tmtop: out of memory\n");
		return 1;
	}
	if (cli.batch)
		rc = batch_run(&t, cli.iterations);
	else
		rc = screen_run(&t);

	/* Drains what is queued, flushes the logs and detaches, whichever way we got here. */
	monitor_stop(mon);
	tui_free(&t);
	users_cache_free();
	return rc;
}
