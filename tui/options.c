// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "meter/users.h"
#include "tui/options.h"
#include "tui/table.h"
#include "tui/tui.h"

enum {
	OPT_SOCKET_T = OPT__METER_END + 0x40,
	OPT_STANDALONE,
	OPT_NO_LOG,
	OPT_BITS,
	OPT_JSON,
	OPT_PROCESSES,
	OPT_PEERS,
	OPT_ASCII,
};

#define USAGE "tmtop [options] [cgroup_path] [nic_id]"

static void usage(FILE *out)
{
	char sorts[160];

	fprintf(out,
		"Usage: " USAGE "\n"
		"       tmtop log [-f] [-u USER]     print your own log file (through the meter)\n"
		"       tmtop report [options]       history: see tmtop report --help\n"
		"Live per-user network traffic, counted in the kernel (like htop, for the network).\n"
		"tmtop shows the running meter (traffic_meter_user) to any user: root and the tmtop\n"
		"group see everyone, others their own traffic. With no meter running, root gets a\n"
		"standalone one that also logs while it runs.\n\n"
		"Viewing:\n"
		"  -d, -D, --delay SECS   refresh interval, fractions allowed (default 1)\n"
		"  -u USER                show only USER (a name or uid)\n"
		"  -s, --sort KEY         sort by: %s\n"
		"  -I, --invert           invert the sort order\n"
		"  -F, --filter TEXT      show only users whose name or uid contains TEXT\n"
		"  -b, --batch            print snapshots to stdout (like top -b)\n"
		"  -n, --iterations N     with -b: stop after N snapshots\n"
		"      --json             with -b: one JSON object per snapshot\n"
		"      --processes        with -b: one line per process too\n"
		"      --peers            with -b: each user's peers too\n"
		"  -M, --no-color         monochrome\n"
		"      --ascii            no Unicode in graphs\n"
		"      --bits             rates in bits per second\n"
		"  -r, --resolve          reverse-DNS peer addresses in the peers view\n"
		"      --socket PATH      the meter to attach to (default " TM_DEFAULT_SOCKET ")\n"
		"      --standalone       run a meter of your own (root), even if one is running\n\n"
		"A standalone meter (root):\n"
		"  cgroup_path            cgroup v2 directory to watch (default: <cgroup2 mount>/user.slice)\n"
		"  nic_id                 label in log file names (default: unknown)\n"
		"  -i, --iface IFNAME     count only packets through this interface (as in iftop)\n"
		"      --no-log           do not write log files\n",
		table_sort_names(&tbl_users, sorts, sizeof(sorts)));
	cli_meter_usage(out, false);
	fprintf(out, "  -h, --help             show this help\n"
		     "  -V, --version          show the version\n\nKeys:\n");
	help_print(out);
}

static int parse_delay(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || !(*out >= 0.05) || *out > 3600 ? -EINVAL : 0;
}

#define FAIL(...)                                   \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		return -EINVAL;                     \
	} while (0)

static int parse_log_cmd(struct tmtop_opts *o, int argc, char **argv, FILE *out, char *err,
			 size_t errlen)
{
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, OPT_SOCKET_T },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;

	o->cmd = CMD_LOG;
	/* "log" takes the program name's place; optind 0 restarts getopt from scratch. */
	argc--;
	argv++;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":fu:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			o->follow = true;
			break;
		case 'u':
			o->log_owner = optarg;
			break;
		case OPT_SOCKET_T:
			o->socket_path = optarg;
			break;
		case 'h':
			fprintf(out, "Usage: tmtop log [-f] [-u USER] [--socket PATH]\n"
				"Print your own traffic log (the meter hands the file over; you need "
				"no access to its directory).\nRoot and the tmtop group may name "
				"another USER. -f keeps printing rows as they come, like tail -F (it waits "
				"for the first row and follows a rotation).\n");
			return 1;
		case ':':
			FAIL("option '%s' needs an argument", argv[optind - 1]);
		default:
			FAIL("unknown option '%s' for tmtop log", argv[optind - 1]);
		}
	}
	if (optind < argc)
		FAIL("unexpected argument '%s' (usage: tmtop log [-f] [-u USER])", argv[optind]);
	return 0;
}

static int parse_report_cmd(struct tmtop_opts *o, int argc, char **argv, FILE *out, char *err,
			    size_t errlen)
{
	enum { R_5MIN = 0x300, R_HOURS, R_DAYS, R_MONTHS, R_YEARS, R_SINCE, R_UNTIL, R_JSON,
	       R_DB, R_SOCKET, R_QUOTA, R_MONTH_START };
	static const struct option longopts[] = {
		{ "5min", no_argument, NULL, R_5MIN },
		{ "hours", no_argument, NULL, R_HOURS },
		{ "days", no_argument, NULL, R_DAYS },
		{ "months", no_argument, NULL, R_MONTHS },
		{ "years", no_argument, NULL, R_YEARS },
		{ "top", required_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "since", required_argument, NULL, R_SINCE },
		{ "until", required_argument, NULL, R_UNTIL },
		{ "json", no_argument, NULL, R_JSON },
		{ "history-db", required_argument, NULL, R_DB },
		{ "socket", required_argument, NULL, R_SOCKET },
		{ "quota", required_argument, NULL, R_QUOTA },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct report_opts *r = &o->report;
	char *end;
	long l;
	int opt;

	o->cmd = CMD_REPORT;
	r->period = HIST_DAY;
	r->socket_path = TM_DEFAULT_SOCKET;
	optind = 2;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":t:u:h", longopts, NULL)) != -1) {
		switch (opt) {
		case R_5MIN: r->period = HIST_5MIN; break;
		case R_HOURS: r->period = HIST_HOUR; break;
		case R_DAYS: r->period = HIST_DAY; break;
		case R_MONTHS: r->period = HIST_MONTH; break;
		case R_YEARS: r->period = HIST_YEAR; break;
		case 't':
			errno = 0;
			l = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || l < 1 || l > 10000)
				FAIL("bad --top '%s': a whole number from 1 to 10000", optarg);
			r->top = (size_t)l;
			break;
		case 'u': r->user = optarg; break;
		case R_SINCE: r->since = optarg; break;
		case R_UNTIL: r->until = optarg; break;
		case R_JSON: r->json = true; break;
		case R_DB: r->history_db = optarg; break;
		case R_SOCKET:
			r->socket_path = optarg;
			r->socket_given = true;
			break;
		case R_QUOTA:
			if (r->nquotas == KEEPER_MAX_QUOTAS)
				FAIL("too many --quota rules");
			if (quota_parse(optarg, &r->quotas[r->nquotas], err, errlen))
				return -EINVAL;
			r->nquotas++;
			break;
		case 'h':
			fprintf(out,
				"Usage: tmtop report [--5min|--hours|--days|--months|--years] [--top N]\n"
				"                    [-u USER] [--since T] [--until T] [--json]\n"
				"                    [--history-db PATH | --socket PATH] [--quota RULE]\n"
				"Per-user traffic history, like vnstat: one table per user (rx, tx, total,\n"
				"average rate per bucket), with totals and quota use. --top N: the N users\n"
				"who used the most in the range (with -u: that user's N top peers).\n"
				"T is YYYY-MM-DD, 'YYYY-MM-DD HH:MM' (local time) or @EPOCH. Default ranges:\n"
				"2 hours of 5 minutes, 24 hours, 30 days, 12 months, every year.\n"
				"It asks the running meter (which answers a plain user with their own\n"
				"history only), or reads --history-db PATH (root; default %s).\n"
				"--json prints the report object (doc/report.schema.json).\n",
				TM_DEFAULT_HISTORY);
			return 1;
		case ':':
			FAIL("option '%s' needs an argument", argv[optind - 1]);
		default:
			FAIL("unknown option '%s' for tmtop report (see tmtop report --help)",
			     argv[optind - 1]);
		}
	}
	if (optind < argc)
		FAIL("unexpected argument '%s' for tmtop report", argv[optind]);
	if (r->history_db && r->socket_given)
		FAIL("--history-db reads the database, --socket asks the meter: choose one");
	return 0;
}

int tmtop_parse(struct tmtop_opts *o, int argc, char **argv, FILE *out, char *err, size_t errlen)
{
	static struct option longopts[64];
	static const struct option own[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "sort", required_argument, NULL, 's' },
		{ "invert", no_argument, NULL, 'I' },
		{ "filter", required_argument, NULL, 'F' },
		{ "batch", no_argument, NULL, 'b' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "processes", no_argument, NULL, OPT_PROCESSES },
		{ "peers", no_argument, NULL, OPT_PEERS },
		{ "no-color", no_argument, NULL, 'M' },
		{ "no-colour", no_argument, NULL, 'M' },
		{ "ascii", no_argument, NULL, OPT_ASCII },
		{ "bits", no_argument, NULL, OPT_BITS },
		{ "resolve", no_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, OPT_SOCKET_T },
		{ "standalone", no_argument, NULL, OPT_STANDALONE },
		{ "no-log", no_argument, NULL, OPT_NO_LOG },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	size_t n = 0;
	char *end;
	int opt, ret;

	memset(o, 0, sizeof(*o));
	cli_meter_defaults(&o->m);
	o->socket_path = TM_DEFAULT_SOCKET;
	o->delay = 1.0;
	if (argc > 1 && !strcmp(argv[1], "log"))
		return parse_log_cmd(o, argc, argv, out, err, errlen);
	if (argc > 1 && !strcmp(argv[1], "report"))
		return parse_report_cmd(o, argc, argv, out, err, errlen);

	for (const struct option *p = own; p->name; p++)
		longopts[n++] = *p;
	for (const struct option *p = cli_meter_longopts; p->name; p++)
		longopts[n++] = *p;
	longopts[n] = (struct option){ 0 };

	/* 0, not 1: glibc then drops what an earlier parse left (permutation, a half-read
	 * cluster of letters), so a second parse in one process sees only its own argv. */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":d:D:u:i:s:IF:bn:MrhVZ:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
		case 'D':
			if (parse_delay(optarg, &o->delay))
				FAIL("bad delay '%s': seconds from 0.05 to 3600 (tmtop's -d is the "
				     "refresh delay, as in top; the log directory is --log-dir)", optarg);
			continue;
		case 'u':
			o->user = optarg;
			continue;
		case 'i':
			if (strchr(optarg, '/'))
				FAIL("bad interface '%s': tmtop's -i is the interface, as in iftop "
				     "(the ignore list is --ignore-file)", optarg);
			opt = OPT_IFACE;
			break;
		case 'Z':
			opt = OPT_RUN_AS;
			break;
		case 's':
			if (table_find(&tbl_users, optarg) < 0 ||
			    !tbl_users.cols[table_find(&tbl_users, optarg)].cmp) {
				char names[160];

				FAIL("bad --sort '%s': use %s", optarg,
				     table_sort_names(&tbl_users, names, sizeof(names)));
			}
			o->sort = optarg;
			continue;
		case 'I':
			o->invert = true;
			continue;
		case 'F':
			o->filter = optarg;
			continue;
		case 'b':
			o->batch = true;
			continue;
		case 'n':
			errno = 0;
			o->iterations = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || o->iterations < 1)
				FAIL("bad --iterations '%s': a whole number >= 1", optarg);
			continue;
		case OPT_JSON:
			o->json = true;
			continue;
		case OPT_PROCESSES:
			o->processes = true;
			continue;
		case OPT_PEERS:
			o->peers = true;
			continue;
		case 'M':
			o->mono = true;
			continue;
		case OPT_ASCII:
			o->ascii = true;
			continue;
		case OPT_BITS:
			o->bits = true;
			continue;
		case 'r':
			o->resolve = true;
			continue;
		case OPT_SOCKET_T:
			if (!*optarg)
				FAIL("empty --socket");
			o->socket_path = optarg;
			o->socket_given = true;
			continue;
		case OPT_STANDALONE:
			o->standalone = true;
			continue;
		case OPT_NO_LOG:
			o->no_log = true;
			o->m.meter_options = true;
			continue;
		case 'h':
			usage(out);
			return 1;
		case 'V':
			fprintf(out, "tmtop %s\n", TM_VERSION);
			return 1;
		case ':':
			FAIL("option '%s' needs an argument", argv[optind - 1]);
		case '?':
			if (optopt && optopt < 0x100)
				FAIL("unknown option '-%c' (see --help)", optopt);
			FAIL("unknown option '%s' (see --help)", argv[optind - 1]);
		}
		ret = cli_meter_option(&o->m, opt, optarg, err, errlen);
		if (ret < 0)
			return ret;
		if (!ret)
			FAIL("unknown option '%s' (see --help)", argv[optind - 1]);
	}
	if (o->iterations && !o->batch)
		FAIL("option -n needs -b (batch mode)");
	if ((o->json || o->processes || o->peers) && !o->batch)
		FAIL("--json, --processes and --peers are for batch mode: add -b");
	if (o->standalone && o->socket_given)
		FAIL("--standalone runs a meter of its own; --socket attaches to one: choose one");
	return cli_meter_positional(&o->m, argc, argv, optind, USAGE, "-i", err, errlen);
}
