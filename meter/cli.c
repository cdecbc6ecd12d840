// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "backend/backend.h"
#include "meter/cli.h"
#include "meter/collector.h"

enum {
	OPT_IGNORE_MODE = 0x100,
	OPT_IFACE,
	OPT_RING_SIZE,
	OPT_COUNTERS_ONLY,
	OPT_NO_LOG,
	OPT_BITS,
	OPT_VERSION,
};

static const char *const mode_names[] = {
	[TM_IGNORE_PEER] = "peer",
	[TM_IGNORE_BOTH] = "both",
	[TM_IGNORE_ANY] = "any",
};

static const char *const sort_names[AGG_SORT__COUNT] = {
	[AGG_SORT_RATE] = "rate",     [AGG_SORT_IN_RATE] = "in",	[AGG_SORT_OUT_RATE] = "out",
	[AGG_SORT_IN_TOTAL] = "totin", [AGG_SORT_OUT_TOTAL] = "totout", [AGG_SORT_USER] = "user",
	[AGG_SORT_UID] = "uid",
};

int cli_ignore_mode(const char *s)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (!strcmp(s, mode_names[i]))
			return (int)i;
	return -EINVAL;
}

const char *cli_ignore_mode_name(int mode)
{
	return mode >= 0 && mode <= TM_IGNORE_ANY ? mode_names[mode] : "?";
}

int cli_sort_key(const char *s)
{
	for (int i = 0; i < AGG_SORT__COUNT; i++)
		if (!strcasecmp(s, sort_names[i]))
			return i;
	return -EINVAL;
}

static void usage(FILE *out, enum cli_prog prog, const char *name)
{
	fprintf(out,
		"Usage: %s [options] [cgroup_path] [nic_id]\n"
		"%s\n\n"
		"  cgroup_path            cgroup v2 directory to watch (default: <cgroup2 mount>/user.slice,\n"
		"                         else the cgroup v2 root; \"\" means the default)\n"
		"  nic_id                 label used in log file names (default: unknown; it does not filter)\n\n"
		"Options:\n"
		"  -d, --log-dir DIR      directory for traffic_user_<nic_id>_<uid>.log files (default /tmp)\n"
		"  -i, --ignore-file FILE ignore list in list syntax, replacing the built-in one\n"
		"                         (/dev/null or an empty file ignores nothing)\n"
		"      --ignore-mode MODE peer (remote address ignored, default), both (source and\n"
		"                         destination ignored) or any (either ignored)\n"
		"      --iface IFNAME     count only packets that pass through this interface\n"
		"  -o, --output BACKEND   output backend: %s (default csv)\n"
		"      --ring-size MIB    ring buffer size in MiB, a power of two (default %d)\n"
		"      --counters-only    count in the kernel only, no per-packet events or logs\n"
		"  -v, --verbose          print libbpf debug messages\n",
		name,
		prog == CLI_TMTOP ? "Live per-user network traffic monitor (like htop, for the network)."
				  : "Log every packet of a cgroup subtree to per-user CSV files.",
		backend_names(), TM_DEFAULT_RING_MB);
	if (prog == CLI_TMTOP)
		fprintf(out,
			"      --no-log           do not write log files\n"
			"  -D, --delay SECONDS    refresh interval, fractions allowed (default 1)\n"
			"  -s, --sort KEY         initial sort: rate, in, out, totin, totout, user, uid\n"
			"  -I, --invert           invert the initial sort order\n"
			"  -F, --filter TEXT      show only users whose name or UID contains TEXT\n"
			"  -b, --batch            print plain-text snapshots to stdout (like top -b)\n"
			"  -n, --iterations N     with -b: stop after N snapshots\n"
			"  -M, --no-color         monochrome\n"
			"      --bits             show rates in bits per second\n"
			"  -r, --resolve          reverse-DNS peer addresses in the peers view\n");
	fprintf(out, "  -h, --help             show this help\n"
		     "  -V, --version          show the version\n");
}

static int parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end ? -EINVAL : 0;
}

static int parse_long(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return errno || end == s || *end ? -EINVAL : 0;
}

#define FAIL(...)                                  \
	do {                                       \
		snprintf(err, errlen, __VA_ARGS__); \
		return -EINVAL;                    \
	} while (0)

int cli_parse(struct tm_cli *cli, enum cli_prog prog, int argc, char **argv, FILE *out, char *err,
	      size_t errlen)
{
	static const struct option common[] = {
		{ "log-dir", required_argument, NULL, 'd' },
		{ "ignore-file", required_argument, NULL, 'i' },
		{ "ignore-mode", required_argument, NULL, OPT_IGNORE_MODE },
		{ "iface", required_argument, NULL, OPT_IFACE },
		{ "output", required_argument, NULL, 'o' },
		{ "ring-size", required_argument, NULL, OPT_RING_SIZE },
		{ "counters-only", no_argument, NULL, OPT_COUNTERS_ONLY },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		/* tmtop only; refused for the logger below */
		{ "no-log", no_argument, NULL, OPT_NO_LOG },
		{ "delay", required_argument, NULL, 'D' },
		{ "sort", required_argument, NULL, 's' },
		{ "invert", no_argument, NULL, 'I' },
		{ "filter", required_argument, NULL, 'F' },
		{ "batch", no_argument, NULL, 'b' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "no-color", no_argument, NULL, 'M' },
		{ "no-colour", no_argument, NULL, 'M' },
		{ "bits", no_argument, NULL, OPT_BITS },
		{ "resolve", no_argument, NULL, 'r' },
		{ 0 },
	};
	const char *shortopts = prog == CLI_TMTOP ? ":d:i:o:vhVD:s:IF:bn:Mr" : ":d:i:o:vhV";
	const char *name = prog == CLI_TMTOP ? "tmtop" : "traffic_meter_user";
	const char *cgroup = NULL;
	long l;
	int opt, ret;

	memset(cli, 0, sizeof(*cli));
	cli->nic_id = "unknown";
	cli->log_dir = "/tmp";
	cli->backend = "csv";
	cli->ignore_mode = TM_IGNORE_PEER;
	cli->ring_bytes = (size_t)TM_DEFAULT_RING_MB << 20;
	cli->delay = 1.0;
	cli->sort = AGG_SORT_RATE;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shortopts, common, NULL)) != -1) {
		if (prog != CLI_TMTOP && (opt == OPT_NO_LOG || opt == OPT_BITS || opt == 'D' ||
					  opt == 's' || opt == 'I' || opt == 'F' || opt == 'b' ||
					  opt == 'n' || opt == 'M' || opt == 'r'))
			FAIL("option '%s' is only for tmtop", argv[optind - 1]);
		switch (opt) {
		case 'd':
			if (!*optarg)
				FAIL("empty --log-dir");
			cli->log_dir = optarg;
			break;
		case 'i':
			cli->ignore_file = optarg;
			break;
		case OPT_IGNORE_MODE:
			ret = cli_ignore_mode(optarg);
			if (ret < 0)
				FAIL("bad --ignore-mode '%s': use peer, both or any", optarg);
			cli->ignore_mode = ret;
			break;
		case OPT_IFACE:
			cli->iface = optarg;
			cli->ifindex = if_nametoindex(optarg);
			if (!cli->ifindex)
				FAIL("bad --iface '%s': no such interface", optarg);
			break;
		case 'o':
			if (!backend_find(optarg))
				FAIL("bad --output '%s': available backends: %s", optarg,
				     backend_names());
			cli->backend = optarg;
			break;
		case OPT_RING_SIZE:
			if (parse_long(optarg, &l) || l < 1 || l > 1024 || (l & (l - 1)))
				FAIL("bad --ring-size '%s': MiB, a power of two from 1 to 1024", optarg);
			cli->ring_bytes = (size_t)l << 20;
			break;
		case OPT_COUNTERS_ONLY:
			cli->counters_only = true;
			break;
		case 'v':
			cli->verbose = true;
			break;
		case 'h':
			usage(out, prog, name);
			return 1;
		case 'V':
			fprintf(out, "%s %s\n", name, TM_VERSION);
			return 1;
		case OPT_NO_LOG:
			cli->no_log = true;
			break;
		case 'D':
			if (parse_double(optarg, &cli->delay) || !(cli->delay >= 0.05) ||
			    cli->delay > 3600)
				FAIL("bad --delay '%s': seconds from 0.05 to 3600", optarg);
			break;
		case 's':
			ret = cli_sort_key(optarg);
			if (ret < 0)
				FAIL("bad --sort '%s': use rate, in, out, totin, totout, user or uid",
				     optarg);
			cli->sort = ret;
			break;
		case 'I':
			cli->sort_invert = true;
			break;
		case 'F':
			cli->filter = optarg;
			break;
		case 'b':
			cli->batch = true;
			break;
		case 'n':
			if (parse_long(optarg, &l) || l < 1)
				FAIL("bad --iterations '%s': a whole number >= 1", optarg);
			cli->iterations = l;
			break;
		case 'M':
			cli->mono = true;
			break;
		case OPT_BITS:
			cli->bits = true;
			break;
		case 'r':
			cli->resolve = true;
			break;
		case ':':
			FAIL("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt && optopt < 0x100)
				FAIL("unknown option '-%c' (see --help)", optopt);
			FAIL("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (cli->iterations && !cli->batch)
		FAIL("option -n needs -b (batch mode)");

	if (optind < argc)
		cgroup = argv[optind++];
	if (optind < argc) {
		cli->nic_id = argv[optind++];
		if (!*cli->nic_id || strchr(cli->nic_id, '/') || !strcmp(cli->nic_id, ".") ||
		    !strcmp(cli->nic_id, ".."))
			FAIL("bad nic_id '%s': it becomes part of a file name", cli->nic_id);
	}
	if (optind < argc)
		FAIL("unexpected argument '%s' (usage: %s [options] [cgroup_path] [nic_id])",
		     argv[optind], name);

	if (cgroup && *cgroup) {
		if (strlen(cgroup) >= sizeof(cli->cgroup_path))
			FAIL("cgroup path too long");
		strcpy(cli->cgroup_path, cgroup);
	} else {
		ret = cgroup_default_path(cli->cgroup_path, sizeof(cli->cgroup_path));
		if (ret) {
			snprintf(err, errlen, "no cgroup v2 mount found in /proc/self/mountinfo "
					      "(mount one, e.g. mount -t cgroup2 none /sys/fs/cgroup)");
			return ret;
		}
	}
	ret = cgroup_check(cli->cgroup_path);
	if (ret == -ENOENT)
		FAIL("cgroup '%s' does not exist", cli->cgroup_path);
	if (ret == -ENOTDIR)
		FAIL("cgroup '%s' is not a directory", cli->cgroup_path);
	if (ret == -EMEDIUMTYPE)
		FAIL("'%s' is not a cgroup v2 directory (cgroup v2 is mounted at the path in "
		     "/proc/self/mountinfo with type cgroup2)",
		     cli->cgroup_path);
	if (ret)
		FAIL("cannot use cgroup '%s': %s", cli->cgroup_path, strerror(-ret));
	return 0;
}

int cli_load_ignore(const struct tm_cli *cli, struct iplist *list, char *err, size_t errlen)
{
	struct iplist_error e = {};
	int ret;

	if (!cli->ignore_file) {
		ret = iplist_load_default(list);
		if (ret)
			snprintf(err, errlen, "the built-in ignore list does not load: %s",
				 strerror(-ret));
		return ret;
	}
	ret = iplist_load_file(cli->ignore_file, list, &e);
	if (ret && e.line)
		snprintf(err, errlen, "%s:%d: %s", cli->ignore_file, e.line, e.reason);
	else if (ret)
		snprintf(err, errlen, "%s: %s", cli->ignore_file,
			 e.reason[0] ? e.reason : strerror(-ret));
	return ret;
}

void cli_monitor_opts(const struct tm_cli *cli, const struct iplist *ignore, bool log,
		      struct monitor_opts *out)
{
	memset(out, 0, sizeof(*out));
	out->collector.cgroup_path = cli->cgroup_path;
	out->collector.ignore_mode = cli->ignore_mode;
	out->collector.ifindex = cli->ifindex;
	out->collector.ring_bytes = cli->ring_bytes;
	out->collector.counters_only = cli->counters_only;
	out->collector.ignore = ignore;
	out->collector.verbose = cli->verbose;
	if (log && !cli->counters_only) {
		out->backend = backend_find(cli->backend);
		out->backend_cfg.log_dir = cli->log_dir;
		out->backend_cfg.nic_id = cli->nic_id;
	}
}
