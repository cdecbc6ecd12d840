/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command line both programs share: the long options that configure a meter (where to log,
 * what to ignore, which interface, which backends, the history database, whom to run as) and
 * the seed's positional [cgroup_path] [nic_id]. Each program parses its own short options and
 * its own extras with getopt_long and hands every meter option to cli_meter_option().
 */
#ifndef METER_CLI_H
#define METER_CLI_H

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "meter/engine.h"
#include "meter/iplist.h"

#define TM_DEFAULT_LOG_DIR	"/var/log/tmtop"
#define TM_DEFAULT_SOCKET	"/run/tmtop/meter.sock"
#define TM_DEFAULT_HISTORY	"/var/lib/tmtop/history.db"
#define TM_DEFAULT_USER		"tmtop"
#define TM_GROUP		"tmtop"

/* getopt_long values of the shared long options (above every short option's character). */
enum cli_opt {
	OPT_LOG_DIR = 0x100,
	OPT_IGNORE_FILE,
	OPT_IGNORE_MODE,
	OPT_IFACE,
	OPT_OUTPUT,
	OPT_LOG_FORMAT,
	OPT_FLOW_INTERVAL,
	OPT_MAX_FILE_SIZE,
	OPT_MAX_FILES,
	OPT_MIN_FREE,
	OPT_COMPRESS,
	OPT_RING_SIZE,
	OPT_COUNTERS_ONLY,
	OPT_MEASURE_FLOOR,
	OPT_NO_BATCH,
	OPT_RUN_AS,
	OPT_HISTORY_DB,
	OPT_NO_HISTORY,
	OPT_HISTORY_INTERVAL,
	OPT_RETENTION,
	OPT_MONTH_START,
	OPT_VERBOSE,
	OPT_MAX_OWNERS,
	OPT__METER_END,		/* programs number their own long options from here */
};

struct meter_cli {
	char cgroup_path[PATH_MAX];	/* resolved: the default when "" or absent */
	bool cgroup_given;
	const char *nic_id;		/* "unknown" */
	const char *log_dir;		/* TM_DEFAULT_LOG_DIR */
	bool log_dir_given;
	const char *ignore_file;	/* NULL: the compiled-in list */
	int ignore_mode;		/* enum tm_ignore_mode */
	const char *iface;		/* NULL: every interface */
	unsigned int ifindex;
	const char *outputs[SNAP_MAX_LOGS];	/* backend names; "csv" when none given */
	size_t noutputs;
	bool extended;			/* --log-format extended */
	unsigned int flow_interval;	/* seconds */
	uint64_t max_file_size;		/* bytes, 0 = no limit */
	unsigned int max_files;
	uint64_t min_free;		/* bytes */
	unsigned int min_free_pct;
	bool compress;
	size_t ring_bytes;		/* --ring-size, bytes, power of two */
	bool counters_only;		/* kernel counters only (the benchmark's ceiling) */
	bool measure_floor;		/* programs that return at once (the benchmark's floor) */
	bool no_batch;			/* a ring reservation per packet (benchmarks) */
	unsigned int max_owners;	/* the kernel's owner table */
	const char *run_as;		/* --user; TM_DEFAULT_USER when NULL */
	const char *history_db;		/* TM_DEFAULT_HISTORY */
	bool history_db_given;
	bool no_history;
	unsigned int history_interval;	/* seconds between writes, default 60 */
	unsigned int keep[5];		/* retention: 5-min hours, hour days, day days, month
					 * months, year years (0 = forever) */
	unsigned int month_start;	/* billing day, 1..28 */
	bool verbose;
	uint64_t window_ns;		/* rate window; 0 = the engine's default (not an option) */
	bool meter_options;		/* an option that configures a meter was given */
};

/* The shared long options, terminated by a zero entry; programs copy them into their table. */
extern const struct option cli_meter_longopts[];

void cli_meter_defaults(struct meter_cli *m);

/* 1: it was a meter option and is applied; 0: not a meter option; -EINVAL: err has one line. */
int cli_meter_option(struct meter_cli *m, int opt, const char *arg, char *err, size_t errlen);

/*
 * The seed's [cgroup_path] [nic_id] from argv[first...] (first: getopt's optind), then the
 * cgroup resolved and checked.
 * A bare interface name where a cgroup is expected gets a hint (iface_hint: how this program
 * counts one interface, e.g. "-i eth0" or "--iface eth0"). 0 or -errno with err filled.
 */
int cli_meter_positional(struct meter_cli *m, int argc, char **argv, int first,
			 const char *usage, const char *iface_hint, char *err, size_t errlen);

/* The help lines of the shared options (log_short: the logger's -d/-i/-o letters). */
void cli_meter_usage(FILE *out, bool log_short);

/* enum tm_ignore_mode from "peer"/"both"/"any"; -EINVAL otherwise. */
int cli_ignore_mode(const char *s);
const char *cli_ignore_mode_name(int mode);

/* "64K", "100M", "2G", "1T", plain bytes; 0 or -EINVAL. */
int cli_parse_size(const char *s, uint64_t *out);

/* The ignore list the options ask for: --ignore-file, else the compiled-in one.
 * 0, or -errno with "FILE:LINE: reason" (or "FILE: reason") in err. */
int cli_load_ignore(const struct meter_cli *m, struct iplist *list, char *err, size_t errlen);

/* Engine options from the command line; ignore must outlive engine_start(). No backend when
 * log is false or with --counters-only. */
void cli_engine_opts(const struct meter_cli *m, const struct iplist *ignore, bool log,
		     struct engine_opts *out);

#endif /* METER_CLI_H */
