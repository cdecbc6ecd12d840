/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tmtop's command line. Its single letters follow top, htop and iftop (-d delay, -u user,
 * -i interface, -s sort, -b/-n batch); the options that configure a meter are the long ones
 * it shares with traffic_meter_user (--log-dir, --ignore-file, ...).
 */
#ifndef TUI_OPTIONS_H
#define TUI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "meter/cli.h"
#include "tui/report.h"

enum tmtop_cmd {
	CMD_VIEW,		/* the screen, or batch mode */
	CMD_LOG,		/* tmtop log: print your own log, through the meter */
	CMD_REPORT,		/* tmtop report: history */
};

struct tmtop_opts {
	enum tmtop_cmd cmd;
	struct meter_cli m;		/* the meter a standalone tmtop runs */
	const char *socket_path;	/* where the service answers */
	bool socket_given;
	bool standalone;
	bool no_log;
	double delay;			/* seconds */
	const char *sort;		/* a column id, NULL: the default */
	bool invert;
	const char *filter;		/* -F TEXT */
	const char *user;		/* -u USER */
	bool batch;
	long iterations;		/* -n N, 0 = for ever */
	bool json;
	bool processes;
	bool peers;
	bool mono, bits, resolve, ascii;
	const char *log_owner;		/* tmtop log -u USER */
	bool follow;			/* tmtop log -f */
	struct report_opts report;	/* tmtop report */
};

/*
 * 0: run; 1: --help or --version was printed to out, exit 0; -EINVAL: err has one line,
 * exit 2; another -errno: the cgroup could not be resolved.
 */
int tmtop_parse(struct tmtop_opts *o, int argc, char **argv, FILE *out, char *err, size_t errlen);

#endif /* TUI_OPTIONS_H */
