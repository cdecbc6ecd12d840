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

static int load_ignore(const struct tm_cli *cli, struct iplist *list)
{
	struct iplist_error ie = { 0 };
	int err;

	if (!cli->ignore_file)
		return iplist_load_default(list);
	err = iplist_load_file(cli->ignore_file, list, &ie);
	if (err) {
		if (ie.line)
			fprintf(stderr, "tmtop: %s:%d: %s\n", cli->ignore_file, ie.line, ie.reason);
		else
			fprintf(stderr, "tmtop: %s: %s\n", cli->ignore_file,
				ie.reason[0] ? ie.reason : strerror(-err));
	}
	return err;
}

int main(int argc, char **argv)
{
	static struct tm_cli cli;	/* 4 KiB of path: keep it off the stack */
	struct monitor_opts mo = { 0 };
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
	if (load_ignore(&cli, &ignore)) {
		if (!cli.ignore_file)
			fprintf(stderr, "tmtop: the built-in ignore list does not load\n");
		return 1;
	}

	mo.collector.cgroup_path = cli.cgroup_path;
	mo.collector.ignore_mode = cli.ignore_mode;
	mo.collector.ifindex = cli.ifindex;
	mo.collector.ring_bytes = cli.ring_bytes;
	mo.collector.counters_only = cli.counters_only;
	mo.collector.ignore = &ignore;
	mo.collector.verbose = cli.verbose;
	if (!cli.no_log && !cli.counters_only) {
		mo.backend = backend_find(cli.backend);
		if (!mo.backend) {
			fprintf(stderr, "tmtop: unknown output backend '%s' (have: %s)\n", cli.backend,
				backend_names());
			iplist_free(&ignore);
			return 2;
		}
		mo.backend_cfg.log_dir = cli.log_dir;
		mo.backend_cfg.nic_id = cli.nic_id;
	}
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
