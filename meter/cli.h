/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command line both programs share (getopt_long): the seed's positional
 * [cgroup_path] [nic_id], the logger options, and tmtop's extras.
 */
#ifndef METER_CLI_H
#define METER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "meter/aggregator.h"
#include "meter/iplist.h"
#include "meter/monitor.h"

enum cli_prog {
	CLI_LOGGER,	/* traffic_meter_user */
	CLI_TMTOP,	/* tmtop */
};

struct tm_cli {
	char cgroup_path[4096];	/* resolved: default when "" or absent */
	const char *nic_id;	/* "unknown" */
	const char *log_dir;	/* "/tmp" */
	const char *ignore_file;	/* NULL: compiled-in list */
	int ignore_mode;	/* enum tm_ignore_mode */
	const char *iface;	/* NULL: all */
	unsigned int ifindex;
	const char *backend;	/* "csv" */
	size_t ring_bytes;	/* --ring-size, bytes, power of two */
	bool counters_only;	/* --counters-only (benchmark ceiling) */
	bool verbose;
	/* tmtop only */
	bool no_log;
	double delay;		/* -D seconds, default 1 */
	enum agg_sort sort;	/* -s KEY */
	bool sort_invert;
	const char *filter;	/* -F TEXT */
	bool batch;		/* -b */
	long iterations;	/* -n N, 0 = forever */
	bool mono;		/* -M, --no-color */
	bool bits;		/* --bits: rates in bits/s */
	bool resolve;		/* -r, --resolve: reverse DNS in the peers view */
};

/*
 * 0: run. 1: --help or --version was printed to out, exit 0. -EINVAL: err holds one line
 * ("unknown option '--x'", "bad --delay '-1': must be a number > 0", ...), exit non-zero.
 * -ENOENT etc.: the cgroup could not be resolved.
 */
int cli_parse(struct tm_cli *cli, enum cli_prog prog, int argc, char **argv, FILE *out, char *err,
	      size_t errlen);

/* enum tm_ignore_mode from "peer"/"both"/"any"; -EINVAL otherwise. */
int cli_ignore_mode(const char *s);
const char *cli_ignore_mode_name(int mode);

/* AGG_SORT_* from a key name ("rate", "in", "out", "totin", "totout", "user", "uid"). */
int cli_sort_key(const char *s);

/* The ignore list the options ask for: --ignore-file, else the compiled-in one.
 * 0, or -errno with "FILE:LINE: reason" (or "FILE: reason") in err. */
int cli_load_ignore(const struct tm_cli *cli, struct iplist *list, char *err, size_t errlen);

/* Engine options from the command line. ignore must outlive monitor_start(); the backend
 * is left NULL when log is false or with --counters-only. */
void cli_monitor_opts(const struct tm_cli *cli, const struct iplist *ignore, bool log,
		      struct monitor_opts *out);

#endif /* METER_CLI_H */
