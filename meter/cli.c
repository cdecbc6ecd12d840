// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "backend/backend.h"
#include "meter/cgroup.h"
#include "meter/cli.h"

const struct option cli_meter_longopts[] = {
	{ "log-dir", required_argument, NULL, OPT_LOG_DIR },
	{ "ignore-file", required_argument, NULL, OPT_IGNORE_FILE },
	{ "ignore-mode", required_argument, NULL, OPT_IGNORE_MODE },
	{ "iface", required_argument, NULL, OPT_IFACE },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "flow-interval", required_argument, NULL, OPT_FLOW_INTERVAL },
	{ "max-file-size", required_argument, NULL, OPT_MAX_FILE_SIZE },
	{ "max-files", required_argument, NULL, OPT_MAX_FILES },
	{ "min-free", required_argument, NULL, OPT_MIN_FREE },
	{ "compress", no_argument, NULL, OPT_COMPRESS },
	{ "ring-size", required_argument, NULL, OPT_RING_SIZE },
	{ "counters-only", no_argument, NULL, OPT_COUNTERS_ONLY },
	{ "measure-floor", no_argument, NULL, OPT_MEASURE_FLOOR },
	{ "no-batch", no_argument, NULL, OPT_NO_BATCH },
	{ "user", required_argument, NULL, OPT_RUN_AS },
	{ "history-db", required_argument, NULL, OPT_HISTORY_DB },
	{ "no-history", no_argument, NULL, OPT_NO_HISTORY },
	{ "history-interval", required_argument, NULL, OPT_HISTORY_INTERVAL },
	{ "retention", required_argument, NULL, OPT_RETENTION },
	{ "month-start", required_argument, NULL, OPT_MONTH_START },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "max-owners", required_argument, NULL, OPT_MAX_OWNERS },
	{ 0 },
};

static const char *const mode_names[] = {
	[TM_IGNORE_PEER] = "peer",
	[TM_IGNORE_BOTH] = "both",
	[TM_IGNORE_ANY] = "any",
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

static int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || end == s || *end || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default:
		return -EINVAL;
	}
	if (*end && end[1] && strcasecmp(end + 1, "iB") && strcasecmp(end + 1, "B"))
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* "5min=48h,hour=4d,day=62d,month=25M,year=0": any subset, in any order. */
static int parse_retention(struct meter_cli *m, const char *arg, char *err, size_t errlen)
{
	static const char *const levels[] = { "5min", "hour", "day", "month", "year" };
	char buf[256], *save = NULL, *tok;

	if (strlen(arg) >= sizeof(buf))
		goto bad;
	strcpy(buf, arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		unsigned long v;
		size_t i;

		if (!eq)
			goto bad;
		*eq = '\0';
		for (i = 0; i < 5 && strcmp(tok, levels[i]); i++)
			;
		if (i == 5 || parse_ulong(eq + 1, 0, 100000, &v))
			goto bad;
		m->keep[i] = (unsigned int)v;
	}
	return 1;
bad:
	snprintf(err, errlen, "bad --retention '%s': e.g. 5min=48,hour=4,day=62,month=25,year=0 "
		 "(hours, days, days, months, years; 0 keeps for ever)", arg);
	return -EINVAL;
}

#define FAIL(...)                                   \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		return -EINVAL;                     \
	} while (0)

void cli_meter_defaults(struct meter_cli *m)
{
	memset(m, 0, sizeof(*m));
	m->nic_id = "unknown";
	m->log_dir = TM_DEFAULT_LOG_DIR;
	m->ignore_mode = TM_IGNORE_PEER;
	m->ring_bytes = (size_t)TM_DEFAULT_RING_MB << 20;
	m->flow_interval = 60;
	m->history_db = TM_DEFAULT_HISTORY;
	m->history_interval = 60;
	m->keep[0] = 48;	/* like vnstat: 5-minute buckets for 48 hours, */
	m->keep[1] = 4;		/* hourly for 4 days, */
	m->keep[2] = 62;	/* daily for 62 days, */
	m->keep[3] = 25;	/* monthly for 25 months, */
	m->keep[4] = 0;		/* yearly for ever */
	m->month_start = 1;
}

int cli_meter_option(struct meter_cli *m, int opt, const char *arg, char *err, size_t errlen)
{
	unsigned long l;
	uint64_t sz;
	int ret;

	switch (opt) {
	case OPT_LOG_DIR:
		if (!*arg)
			FAIL("empty --log-dir");
		m->log_dir = arg;
		m->log_dir_given = true;
		break;
	case OPT_IGNORE_FILE:
		m->ignore_file = arg;
		break;
	case OPT_IGNORE_MODE:
		ret = cli_ignore_mode(arg);
		if (ret < 0)
			FAIL("bad --ignore-mode '%s': use peer, both or any", arg);
		m->ignore_mode = ret;
		break;
	case OPT_IFACE:
		m->iface = arg;
		m->ifindex = if_nametoindex(arg);
		if (!m->ifindex)
			FAIL("bad interface '%s': no such interface in this network namespace (see "
			     "ip link)", arg);
		break;
	case OPT_OUTPUT: {
		char buf[128], *save = NULL, *tok;

		if (strlen(arg) >= sizeof(buf))
			FAIL("bad --output '%s'", arg);
		strcpy(buf, arg);
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			const struct backend_ops *ops = backend_find(tok);
			bool dup = false;

			if (!ops)
				FAIL("bad --output '%s': available backends: %s", tok,
				     backend_names());
			for (size_t i = 0; i < m->noutputs; i++)
				dup |= !strcmp(m->outputs[i], ops->name);
			if (dup)
				continue;
			if (m->noutputs == SNAP_MAX_LOGS)
				FAIL("too many --output backends (at most %d)", SNAP_MAX_LOGS);
			m->outputs[m->noutputs++] = ops->name;
		}
		break;
	}
	case OPT_LOG_FORMAT:
		if (!strcmp(arg, "extended"))
			m->extended = true;
		else if (!strcmp(arg, "seed") || !strcmp(arg, "standard"))
			m->extended = false;
		else
			FAIL("bad --log-format '%s': use standard or extended", arg);
		break;
	case OPT_FLOW_INTERVAL:
		if (parse_ulong(arg, 1, 86400, &l))
			FAIL("bad --flow-interval '%s': whole seconds from 1 to 86400", arg);
		m->flow_interval = (unsigned int)l;
		break;
	case OPT_MAX_FILE_SIZE:
		if (cli_parse_size(arg, &sz) || (sz && sz < 65536))
			FAIL("bad --max-file-size '%s': a size of at least 64K (e.g. 100M), or 0 "
			     "for no limit", arg);
		m->max_file_size = sz;
		break;
	case OPT_MAX_FILES:
		if (parse_ulong(arg, 1, 1000, &l))
			FAIL("bad --max-files '%s': a whole number from 1 to 1000", arg);
		m->max_files = (unsigned int)l;
		break;
	case OPT_MIN_FREE: {
		size_t n = strlen(arg);

		if (n > 1 && arg[n - 1] == '%') {
			char num[16];

			if (n > sizeof(num))
				FAIL("bad --min-free '%s'", arg);
			memcpy(num, arg, n - 1);
			num[n - 1] = '\0';
			if (parse_ulong(num, 0, 99, &l))
				FAIL("bad --min-free '%s': a percentage from 0%% to 99%%", arg);
			m->min_free_pct = (unsigned int)l;
		} else if (cli_parse_size(arg, &m->min_free)) {
			FAIL("bad --min-free '%s': a size (e.g. 500M) or a percentage (e.g. 5%%)",
			     arg);
		}
		break;
	}
	case OPT_COMPRESS:
		m->compress = true;
		break;
	case OPT_RING_SIZE:
		if (parse_ulong(arg, 1, 1024, &l) || (l & (l - 1)))
			FAIL("bad --ring-size '%s': MiB, a power of two from 1 to 1024", arg);
		m->ring_bytes = (size_t)l << 20;
		break;
	case OPT_COUNTERS_ONLY:
		m->counters_only = true;
		break;
	case OPT_MEASURE_FLOOR:
		m->counters_only = true;
		m->measure_floor = true;
		break;
	case OPT_NO_BATCH:
		m->no_batch = true;
		break;
	case OPT_MAX_OWNERS:
		if (parse_ulong(arg, 16, 1 << 22, &l))
			FAIL("bad --max-owners '%s': a whole number from 16 to 4194304", arg);
		m->max_owners = (unsigned int)l;
		break;
	case OPT_RUN_AS:
		if (!*arg)
			FAIL("empty --user");
		m->run_as = arg;
		return 1;	/* whom to run as is not a meter setting a viewer could lack */
	case OPT_HISTORY_DB:
		if (!*arg)
			FAIL("empty --history-db");
		m->history_db = arg;
		m->history_db_given = true;
		m->no_history = false;
		return 1;	/* tmtop report reads it too */
	case OPT_NO_HISTORY:
		m->no_history = true;
		break;
	case OPT_HISTORY_INTERVAL:
		if (parse_ulong(arg, 1, 3600, &l))
			FAIL("bad --history-interval '%s': whole seconds from 1 to 3600", arg);
		m->history_interval = (unsigned int)l;
		break;
	case OPT_RETENTION:
		ret = parse_retention(m, arg, err, errlen);
		if (ret < 0)
			return ret;
		break;
	case OPT_MONTH_START:
		if (parse_ulong(arg, 1, 28, &l))
			FAIL("bad --month-start '%s': a day of the month from 1 to 28", arg);
		m->month_start = (unsigned int)l;
		return 1;	/* tmtop report takes it too */
	case OPT_VERBOSE:
		m->verbose = true;
		return 1;
	default:
		return 0;
	}
	m->meter_options = true;
	return 1;
}

int cli_meter_positional(struct meter_cli *m, int argc, char **argv, int first,
			 const char *usage, const char *iface_hint, char *err, size_t errlen)
{
	const char *cgroup = NULL;
	int ret;

	if (first < argc)
		cgroup = argv[first++];
	if (first < argc) {
		m->nic_id = argv[first++];
		if (!*m->nic_id || strchr(m->nic_id, '/') || !strcmp(m->nic_id, ".") ||
		    !strcmp(m->nic_id, ".."))
			FAIL("bad nic_id '%s': it becomes part of a file name", m->nic_id);
		m->meter_options = true;
	}
	if (first < argc)
		FAIL("unexpected argument '%s' (usage: %s)", argv[first], usage);

	if (cgroup && *cgroup) {
		if (strlen(cgroup) >= sizeof(m->cgroup_path))
			FAIL("cgroup path too long");
		strcpy(m->cgroup_path, cgroup);
		m->cgroup_given = true;
		m->meter_options = true;
	} else {
		ret = cgroup_default_path(m->cgroup_path, sizeof(m->cgroup_path));
		if (ret) {
			snprintf(err, errlen, "no cgroup v2 mount found in /proc/self/mountinfo "
					      "(mount one, e.g. mount -t cgroup2 none /sys/fs/cgroup)");
			return ret;
		}
	}
	ret = cgroup_check(m->cgroup_path);
	if (ret == -ENOENT && !strchr(m->cgroup_path, '/') && if_nametoindex(m->cgroup_path))
		FAIL("'%s' is a network interface, not a cgroup: to count only it, use %s %s",
		     m->cgroup_path, iface_hint, m->cgroup_path);
	if (ret == -ENOENT)
		FAIL("cgroup '%s' does not exist", m->cgroup_path);
	if (ret == -ENOTDIR)
		FAIL("cgroup '%s' is not a directory", m->cgroup_path);
	if (ret == -EMEDIUMTYPE)
		FAIL("'%s' is not a cgroup v2 directory (cgroup v2 is mounted at the path in "
		     "/proc/self/mountinfo with type cgroup2)",
		     m->cgroup_path);
	if (ret)
		FAIL("cannot use cgroup '%s': %s", m->cgroup_path, strerror(-ret));
	if (!m->noutputs)
		m->outputs[m->noutputs++] = "csv";
	return 0;
}

void cli_meter_usage(FILE *out, bool log_short)
{
	fprintf(out,
		"Metering and logging:\n"
		"  %s--log-dir DIR      where the log files go (default " TM_DEFAULT_LOG_DIR ";\n"
		"                         %s /tmp gives the original /tmp/traffic_user_* layout)\n"
		"  %s--ignore-file FILE ignore list in list syntax, replacing the built-in one\n"
		"      --ignore-mode MODE peer (remote address ignored, default), both or any\n"
		"%s"
		"  %s--output LIST      backends, comma-separated: %s (default csv)\n"
		"      --log-format F     csv columns: standard (the seed's 7, default) or extended\n"
		"                         (+ proto,sport,dport,pid,comm,cgroup; in flows too)\n"
		"      --flow-interval S  seconds per flow record (flows backend, default 60)\n"
		"      --max-file-size SZ rotate a log past this size (e.g. 100M; default no limit)\n"
		"      --max-files N      rotated files kept per log (default 5)\n"
		"      --compress         gzip rotated logs\n"
		"      --min-free SZ|PCT  stop writing rows below this much free space (e.g. 1G, 5%%);\n"
		"                         rows are then counted as not written\n"
		"      --ring-size MIB    ring buffer size in MiB, a power of two (default %d)\n"
		"      --counters-only    count in the kernel only, no per-packet records or logs\n"
		"      --measure-floor    benchmarks only: attach programs that return at once\n"
		"                         (nothing is counted; the cost of the hook itself)\n"
		"      --no-batch         benchmarks only: one ring buffer reservation per packet\n"
		"                         instead of one per batch of %d\n"
		"      --max-owners N     owners counted in the kernel at once (default %d); idle\n"
		"                         ones are evicted with their totals kept\n"
		"      --history-db PATH  the history database (default " TM_DEFAULT_HISTORY ")\n"
		"      --no-history       keep no history\n"
		"      --history-interval S  seconds between history writes (default 60)\n"
		"      --retention SPEC   e.g. 5min=48,hour=4,day=62,month=25,year=0 (hours, days,\n"
		"                         days, months, years; 0 = for ever)\n"
		"      --month-start DAY  first day of the billing month (1-28, default 1)\n"
		"  -Z, --user NAME        run as NAME once the programs are loaded (default "
		TM_DEFAULT_USER ";\n"
		"                         --user root keeps root)\n"
		"  %s--verbose          print libbpf debug messages\n",
		log_short ? "-d, " : "    ", log_short ? "-d" : "--log-dir", log_short ? "-i, " : "    ",
		/* tmtop lists -i, --iface among its own options */
		log_short ? "      --iface IFNAME     count only packets through this interface of this\n"
			    "                         network namespace\n" : "",
		log_short ? "-o, " : "    ",
		backend_names(), TM_DEFAULT_RING_MB, TM_BATCH_EVENTS, TM_MAX_OWNERS,
		log_short ? "-v, " : "    ");
}

int cli_load_ignore(const struct meter_cli *m, struct iplist *list, char *err, size_t errlen)
{
	struct iplist_error e = {};
	int ret;

	if (!m->ignore_file) {
		ret = iplist_load_default(list);
		if (ret)
			snprintf(err, errlen, "the built-in ignore list does not load: %s",
				 strerror(-ret));
		return ret;
	}
	ret = iplist_load_file(m->ignore_file, list, &e);
	if (ret && e.line)
		snprintf(err, errlen, "%s:%d: %s", m->ignore_file, e.line, e.reason);
	else if (ret)
		snprintf(err, errlen, "%s: %s", m->ignore_file,
			 e.reason[0] ? e.reason : strerror(-ret));
	return ret;
}

void cli_engine_opts(const struct meter_cli *m, const struct iplist *ignore, bool log,
		     struct engine_opts *out)
{
	memset(out, 0, sizeof(*out));
	out->collector.cgroup_path = m->cgroup_path;
	out->collector.ignore_mode = m->ignore_mode;
	out->collector.ifindex = m->ifindex;
	out->collector.ring_bytes = m->ring_bytes;
	out->collector.counters_only = m->counters_only;
	out->collector.measure_floor = m->measure_floor;
	out->collector.no_batch = m->no_batch;
	out->collector.max_owners = m->max_owners;
	out->collector.verbose = m->verbose;
	out->ignore = ignore;
	out->agg.window_ns = m->window_ns;
	out->nic_id = m->nic_id;
	out->iface = m->iface;
	out->backend_cfg.dirfd = -1;
	out->backend_cfg.reader_gid = (uint32_t)-1;
	if (log && !m->counters_only) {
		for (size_t i = 0; i < m->noutputs; i++)
			out->backends[out->nbackends++] = backend_find(m->outputs[i]);
		out->backend_cfg.log_dir = m->log_dir;
		out->backend_cfg.nic_id = m->nic_id;
		out->backend_cfg.extended = m->extended;
		out->backend_cfg.flow_interval_s = m->flow_interval;
		out->backend_cfg.max_file_size = m->max_file_size;
		out->backend_cfg.max_files = m->max_files;
		out->backend_cfg.min_free = m->min_free;
		out->backend_cfg.min_free_pct = m->min_free_pct;
		out->backend_cfg.compress = m->compress;
	}
}
