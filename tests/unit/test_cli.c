// SPDX-License-Identifier: GPL-2.0
/*
 * The command lines, without starting anything: the meter options both programs share
 * (meter/cli.h), tmtop's own letters after top, htop and iftop (tui/options.h), and the
 * logger's seed letters and service options (service/service.h), with every error line a user
 * can meet. The positional cgroup is resolved against the cgroup v2 mount of this machine; the
 * tests that need one skip without it.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "meter/cgroup.h"
#include "meter/cli.h"
#include "service/service.h"
#include "tui/options.h"

static char err[512];

/* ---- helpers ----------------------------------------------------------------------------- */

static int opt(struct meter_cli *m, int o, const char *arg)
{
	err[0] = '\0';
	return cli_meter_option(m, o, arg, err, sizeof(err));
}

/* An option that must be refused with err naming what was wrong. */
static void bad(struct meter_cli *m, int o, const char *arg, const char *want)
{
	struct meter_cli before = *m;

	assert_int_equal(opt(m, o, arg), -EINVAL);
	if (!strstr(err, want))
		fail_msg("'%s': error '%s' lacks '%s'", arg, err, want);
	assert_memory_equal(m, &before, sizeof(before));	/* nothing half-applied */
}

static bool have_cgroup2(void)
{
	char mnt[PATH_MAX];

	return cgroup2_mount(mnt, sizeof(mnt)) == 0;
}

/* argv from a NULL-terminated list; getopt permutes the pointers (never the strings), so the
 * array is a fresh copy each time. */
static char **make_argv(const char *const *args, int *argc)
{
	static char *v[32];
	int n = 0;

	for (; args[n]; n++)
		v[n] = (char *)args[n];
	v[n] = NULL;
	*argc = n;
	return v;
}

static int tmtop(struct tmtop_opts *o, const char *const *args, char *out, size_t outlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	int argc, ret;
	char **argv = make_argv(args, &argc);

	assert_non_null(fp);
	err[0] = '\0';
	ret = tmtop_parse(o, argc, argv, fp, err, sizeof(err));
	fclose(fp);
	if (out)
		snprintf(out, outlen, "%s", buf ? buf : "");
	free(buf);
	return ret;
}

#define TMTOP(o, ...) tmtop(o, (const char *const[]){ "tmtop", __VA_ARGS__, NULL }, NULL, 0)

static void tmtop_bad(const char *const *args, const char *want)
{
	struct tmtop_opts o;

	assert_int_equal(tmtop(&o, args, NULL, 0), -EINVAL);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
}

#define TMTOP_BAD(want, ...) tmtop_bad((const char *const[]){ "tmtop", __VA_ARGS__, NULL }, want)

static int logger(struct meter_cli *m, struct service_opts *so, const char *const *args,
		  char *out, size_t outlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	int argc, ret;
	char **argv = make_argv(args, &argc);

	assert_non_null(fp);
	err[0] = '\0';
	ret = service_parse(m, so, argc, argv, fp, err, sizeof(err));
	fclose(fp);
	if (out)
		snprintf(out, outlen, "%s", buf ? buf : "");
	free(buf);
	return ret;
}

#define LOGGER(m, so, ...) \
	logger(m, so, (const char *const[]){ "traffic_meter_user", __VA_ARGS__, NULL }, NULL, 0)

/* ---- meter/cli.h: the shared options ----------------------------------------------------- */

static void test_defaults(void **state)
{
	struct meter_cli m;

	memset(&m, 0xa5, sizeof(m));
	cli_meter_defaults(&m);
	assert_string_equal(m.nic_id, "unknown");
	assert_string_equal(m.log_dir, TM_DEFAULT_LOG_DIR);
	assert_false(m.log_dir_given);
	assert_null(m.ignore_file);
	assert_int_equal(m.ignore_mode, TM_IGNORE_PEER);
	assert_null(m.iface);
	assert_int_equal(m.noutputs, 0);
	assert_false(m.extended);
	assert_int_equal(m.flow_interval, 60);
	assert_int_equal(m.max_file_size, 0);
	assert_int_equal(m.ring_bytes, (size_t)TM_DEFAULT_RING_MB << 20);
	assert_string_equal(m.history_db, TM_DEFAULT_HISTORY);
	assert_int_equal(m.history_interval, 60);
	assert_int_equal(m.keep[0], 48);
	assert_int_equal(m.keep[4], 0);
	assert_int_equal(m.month_start, 1);
	assert_false(m.meter_options);
	assert_null(m.run_as);
}

static void test_meter_options(void **state)
{
	struct meter_cli m;

	cli_meter_defaults(&m);
	assert_int_equal(opt(&m, OPT_LOG_DIR, "/tmp"), 1);
	assert_string_equal(m.log_dir, "/tmp");
	assert_true(m.log_dir_given);
	assert_true(m.meter_options);
	bad(&m, OPT_LOG_DIR, "", "empty --log-dir");

	assert_int_equal(opt(&m, OPT_IGNORE_FILE, "/dev/null"), 1);
	assert_string_equal(m.ignore_file, "/dev/null");

	assert_int_equal(opt(&m, OPT_IGNORE_MODE, "both"), 1);
	assert_int_equal(m.ignore_mode, TM_IGNORE_BOTH);
	assert_int_equal(opt(&m, OPT_IGNORE_MODE, "any"), 1);
	assert_int_equal(m.ignore_mode, TM_IGNORE_ANY);
	assert_int_equal(opt(&m, OPT_IGNORE_MODE, "peer"), 1);
	assert_int_equal(m.ignore_mode, TM_IGNORE_PEER);
	bad(&m, OPT_IGNORE_MODE, "PEER", "use peer, both or any");
	bad(&m, OPT_IGNORE_MODE, "", "--ignore-mode");

	assert_int_equal(opt(&m, OPT_IFACE, "lo"), 1);
	assert_string_equal(m.iface, "lo");
	assert_int_equal(m.ifindex, if_nametoindex("lo"));
	assert_int_equal(opt(&m, OPT_IFACE, "nosuchif0"), -EINVAL);
	assert_non_null(strstr(err, "no such interface"));
	assert_non_null(strstr(err, "nosuchif0"));

	assert_int_equal(opt(&m, OPT_LOG_FORMAT, "extended"), 1);
	assert_true(m.extended);
	assert_int_equal(opt(&m, OPT_LOG_FORMAT, "standard"), 1);
	assert_false(m.extended);
	assert_int_equal(opt(&m, OPT_LOG_FORMAT, "seed"), 1);
	assert_false(m.extended);
	bad(&m, OPT_LOG_FORMAT, "json", "use standard or extended");

	assert_int_equal(opt(&m, OPT_FLOW_INTERVAL, "1"), 1);
	assert_int_equal(m.flow_interval, 1);
	assert_int_equal(opt(&m, OPT_FLOW_INTERVAL, "86400"), 1);
	assert_int_equal(m.flow_interval, 86400);
	for (const char *b[] = { "0", "86401", "abc", "-5", "+5", "", "5s" }, **p = b; p < b + 7;
	     p++)
		bad(&m, OPT_FLOW_INTERVAL, *p, "--flow-interval");

	assert_int_equal(opt(&m, OPT_MAX_FILE_SIZE, "100M"), 1);
	assert_int_equal(m.max_file_size, 100ULL << 20);
	assert_int_equal(opt(&m, OPT_MAX_FILE_SIZE, "64K"), 1);
	assert_int_equal(m.max_file_size, 65536);
	assert_int_equal(opt(&m, OPT_MAX_FILE_SIZE, "0"), 1);
	assert_int_equal(m.max_file_size, 0);
	bad(&m, OPT_MAX_FILE_SIZE, "65535", "at least 64K");
	bad(&m, OPT_MAX_FILE_SIZE, "lots", "--max-file-size");

	assert_int_equal(opt(&m, OPT_MAX_FILES, "1"), 1);
	assert_int_equal(opt(&m, OPT_MAX_FILES, "1000"), 1);
	assert_int_equal(m.max_files, 1000);
	bad(&m, OPT_MAX_FILES, "0", "from 1 to 1000");
	bad(&m, OPT_MAX_FILES, "1001", "from 1 to 1000");

	assert_int_equal(opt(&m, OPT_MIN_FREE, "1G"), 1);
	assert_int_equal(m.min_free, 1ULL << 30);
	assert_int_equal(opt(&m, OPT_MIN_FREE, "5%"), 1);
	assert_int_equal(m.min_free_pct, 5);
	assert_int_equal(opt(&m, OPT_MIN_FREE, "0%"), 1);
	assert_int_equal(m.min_free_pct, 0);
	bad(&m, OPT_MIN_FREE, "100%", "from 0% to 99%");
	bad(&m, OPT_MIN_FREE, "x%", "percentage");
	bad(&m, OPT_MIN_FREE, "%", "--min-free");
	bad(&m, OPT_MIN_FREE, "12345678901234567890%", "--min-free");
	bad(&m, OPT_MIN_FREE, "lots", "a size (e.g. 500M) or a percentage");

	assert_int_equal(opt(&m, OPT_COMPRESS, NULL), 1);
	assert_true(m.compress);

	assert_int_equal(opt(&m, OPT_RING_SIZE, "16"), 1);
	assert_int_equal(m.ring_bytes, 16u << 20);
	assert_int_equal(opt(&m, OPT_RING_SIZE, "1024"), 1);
	assert_int_equal(m.ring_bytes, 1024u << 20);
	for (const char *b[] = { "0", "3", "2048", "1.5", "-8" }, **p = b; p < b + 5; p++)
		bad(&m, OPT_RING_SIZE, *p, "a power of two from 1 to 1024");

	assert_int_equal(opt(&m, OPT_COUNTERS_ONLY, NULL), 1);
	assert_true(m.counters_only);

	assert_int_equal(opt(&m, OPT_MAX_OWNERS, "16"), 1);
	assert_int_equal(m.max_owners, 16);
	assert_int_equal(opt(&m, OPT_MAX_OWNERS, "4194304"), 1);
	assert_int_equal(m.max_owners, 4194304);
	for (const char *b[] = { "15", "4194305", "0", "lots", "-16" }, **p = b; p < b + 5; p++)
		bad(&m, OPT_MAX_OWNERS, *p, "bad --max-owners");

	assert_int_equal(opt(&m, OPT_NO_HISTORY, NULL), 1);
	assert_true(m.no_history);
	assert_int_equal(opt(&m, OPT_HISTORY_INTERVAL, "3600"), 1);
	assert_int_equal(m.history_interval, 3600);
	bad(&m, OPT_HISTORY_INTERVAL, "0", "from 1 to 3600");
	bad(&m, OPT_HISTORY_INTERVAL, "3601", "from 1 to 3600");

	assert_int_equal(opt(&m, OPT_VERBOSE, NULL), 1);
	assert_true(m.verbose);

	/* Not a meter option: 0, nothing touched. */
	assert_int_equal(opt(&m, 'x', "y"), 0);
	assert_int_equal(opt(&m, OPT__METER_END, "y"), 0);
}

/* Options a viewer may give without asking for a meter of its own. */
static void test_viewer_options(void **state)
{
	struct meter_cli m;

	cli_meter_defaults(&m);
	assert_int_equal(opt(&m, OPT_RUN_AS, "nobody"), 1);
	assert_string_equal(m.run_as, "nobody");
	assert_int_equal(opt(&m, OPT_HISTORY_DB, "/tmp/h.db"), 1);
	assert_string_equal(m.history_db, "/tmp/h.db");
	assert_int_equal(opt(&m, OPT_MONTH_START, "28"), 1);
	assert_int_equal(m.month_start, 28);
	assert_int_equal(opt(&m, OPT_VERBOSE, NULL), 1);
	assert_false(m.meter_options);
	bad(&m, OPT_RUN_AS, "", "empty --user");
	bad(&m, OPT_HISTORY_DB, "", "empty --history-db");
	bad(&m, OPT_MONTH_START, "0", "from 1 to 28");
	bad(&m, OPT_MONTH_START, "29", "from 1 to 28");
	/* --history-db after --no-history: the database wins. */
	assert_int_equal(opt(&m, OPT_NO_HISTORY, NULL), 1);
	assert_int_equal(opt(&m, OPT_HISTORY_DB, "/tmp/x.db"), 1);
	assert_false(m.no_history);
}

static void test_output(void **state)
{
	struct meter_cli m;
	char longarg[200];

	cli_meter_defaults(&m);
	assert_int_equal(opt(&m, OPT_OUTPUT, "csv"), 1);
	assert_int_equal(m.noutputs, 1);
	assert_string_equal(m.outputs[0], "csv");
	/* Named twice, kept once: in one list and across options. */
	assert_int_equal(opt(&m, OPT_OUTPUT, "csv,csv"), 1);
	assert_int_equal(opt(&m, OPT_OUTPUT, "csv"), 1);
	assert_int_equal(m.noutputs, 1);
	/* An unknown backend names itself and the ones there are. */
	cli_meter_defaults(&m);
	bad(&m, OPT_OUTPUT, "syslog", "bad --output 'syslog': available backends: csv, flows");
	assert_int_equal(opt(&m, OPT_OUTPUT, "csv,flows"), 1);
	assert_int_equal(m.noutputs, 2);
	assert_string_equal(m.outputs[1], "flows");
	memset(longarg, 'c', sizeof(longarg) - 1);
	longarg[sizeof(longarg) - 1] = '\0';
	cli_meter_defaults(&m);
	bad(&m, OPT_OUTPUT, longarg, "bad --output");
	assert_string_equal(backend_names(), "csv, flows");
	assert_ptr_equal(backend_find("csv"), &csv_backend_ops);
	assert_null(backend_find("CSV"));
}

static void test_parse_size(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{ "0", 0 }, { "1", 1 }, { "64K", 64 << 10 }, { "64k", 64 << 10 },
		{ "64KiB", 64 << 10 }, { "64kb", 64 << 10 }, { "1M", 1 << 20 },
		{ "2G", 2ULL << 30 },
		{ "1T", 1ULL << 40 }, { "16777215T", 16777215ULL << 40 },
		{ "18446744073709551615", UINT64_MAX },
	};
	static const char *const bad_sizes[] = {
		"", "-1", "+1", "K", "1X", "1KX", "1 K", "1Kib2", "16777216T",
		"18446744073709551616", "0x10", "1.5M",
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 7;
		assert_int_equal(cli_parse_size(good[i].s, &v), 0);
		assert_int_equal(v, good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		v = 7;
		if (cli_parse_size(bad_sizes[i], &v) != -EINVAL)
			fail_msg("'%s' accepted", bad_sizes[i]);
		assert_int_equal(v, 7);
	}
}

static void test_retention(void **state)
{
	struct meter_cli m;

	cli_meter_defaults(&m);
	/* Any subset, in any order; the rest keep their defaults. */
	assert_int_equal(opt(&m, OPT_RETENTION, "hour=2,5min=24"), 1);
	assert_int_equal(m.keep[0], 24);
	assert_int_equal(m.keep[1], 2);
	assert_int_equal(m.keep[2], 62);
	assert_int_equal(m.keep[3], 25);
	assert_int_equal(opt(&m, OPT_RETENTION, "day=0,month=100000,year=7"), 1);
	assert_int_equal(m.keep[2], 0);
	assert_int_equal(m.keep[3], 100000);
	assert_int_equal(m.keep[4], 7);
	assert_true(m.meter_options);
	for (const char *b[] = { "week=2", "5min", "5min=", "5min=abc", "5min=-1",
				 "year=100001", "=3", "5min=1;hour=2" },
	     **p = b; p < b + 8; p++)
		bad(&m, OPT_RETENTION, *p, "bad --retention");
	{
		char longarg[300];

		memset(longarg, 'a', sizeof(longarg) - 1);
		longarg[sizeof(longarg) - 1] = '\0';
		bad(&m, OPT_RETENTION, longarg, "bad --retention");
	}
}

static void test_ignore_mode_names(void **state)
{
	assert_int_equal(cli_ignore_mode("peer"), TM_IGNORE_PEER);
	assert_int_equal(cli_ignore_mode("both"), TM_IGNORE_BOTH);
	assert_int_equal(cli_ignore_mode("any"), TM_IGNORE_ANY);
	assert_int_equal(cli_ignore_mode("all"), -EINVAL);
	assert_string_equal(cli_ignore_mode_name(TM_IGNORE_BOTH), "both");
	assert_string_equal(cli_ignore_mode_name(-1), "?");
	assert_string_equal(cli_ignore_mode_name(3), "?");
}

static int positional(struct meter_cli *m, const char *const *args, const char *hint)
{
	int argc;
	char **argv = make_argv(args, &argc);

	cli_meter_defaults(m);
	err[0] = '\0';
	return cli_meter_positional(m, argc, argv, 1, "prog [cgroup_path] [nic_id]", hint, err,
				    sizeof(err));
}

#define POS(m, hint, ...) positional(m, (const char *const[]){ "prog", __VA_ARGS__ }, hint)

static void test_positional(void **state)
{
	char mnt[PATH_MAX], def[PATH_MAX], file[64];
	struct meter_cli m;
	int fd;

	if (!have_cgroup2())
		skip();
	assert_int_equal(cgroup2_mount(mnt, sizeof(mnt)), 0);
	assert_int_equal(cgroup_default_path(def, sizeof(def)), 0);
	/* Nothing, or "": the default (<mount>/user.slice, else the mount), csv, "unknown". */
	assert_int_equal(POS(&m, "-i", NULL), 0);
	assert_string_equal(m.cgroup_path, def);
	assert_false(m.cgroup_given);
	assert_false(m.meter_options);
	assert_string_equal(m.nic_id, "unknown");
	assert_int_equal(m.noutputs, 1);
	assert_string_equal(m.outputs[0], "csv");
	assert_int_equal(POS(&m, "-i", "", "eth9", NULL), 0);
	assert_string_equal(m.cgroup_path, def);
	assert_string_equal(m.nic_id, "eth9");
	assert_true(m.meter_options);
	/* The mount itself, named. */
	assert_int_equal(POS(&m, "-i", mnt, NULL), 0);
	assert_string_equal(m.cgroup_path, mnt);
	assert_true(m.cgroup_given);
	assert_true(m.meter_options);
	/* The nic_id becomes part of a file name. */
	for (const char *b[] = { "a/b", ".", "..", "" }, **p = b; p < b + 4; p++) {
		assert_int_equal(POS(&m, "-i", mnt, *p, NULL), -EINVAL);
		assert_non_null(strstr(err, "bad nic_id"));
	}
	assert_int_equal(POS(&m, "-i", mnt, "lo", "extra", NULL), -EINVAL);
	assert_non_null(strstr(err, "unexpected argument 'extra'"));
	assert_non_null(strstr(err, "usage: prog"));
	/* An interface where a cgroup is expected: the hint names this program's way. */
	assert_int_equal(POS(&m, "-i", "lo", NULL), -EINVAL);
	assert_non_null(strstr(err, "'lo' is a network interface, not a cgroup"));
	assert_non_null(strstr(err, "use -i lo"));
	assert_int_equal(POS(&m, "--iface", "lo", NULL), -EINVAL);
	assert_non_null(strstr(err, "use --iface lo"));
	/* What is not a cgroup v2 directory, each with its reason. */
	assert_int_equal(POS(&m, "-i", "/nonexistent/cg", NULL), -EINVAL);
	assert_non_null(strstr(err, "cgroup '/nonexistent/cg' does not exist"));
	assert_int_equal(POS(&m, "-i", "nosuchif0", NULL), -EINVAL);
	assert_non_null(strstr(err, "does not exist"));
	strcpy(file, "/tmp/test_cli.XXXXXX");
	fd = mkstemp(file);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(POS(&m, "-i", file, NULL), -EINVAL);
	assert_non_null(strstr(err, "is not a directory"));
	unlink(file);
	assert_int_equal(POS(&m, "-i", "/proc", NULL), -EINVAL);
	assert_non_null(strstr(err, "not a cgroup v2 directory"));
	{
		char longp[PATH_MAX + 10];

		memset(longp, 'x', sizeof(longp) - 1);
		longp[0] = '/';
		longp[sizeof(longp) - 1] = '\0';
		assert_int_equal(POS(&m, "-i", longp, NULL), -EINVAL);
		assert_non_null(strstr(err, "too long"));
	}
	/* Outputs given stay as given. */
	cli_meter_defaults(&m);
	assert_int_equal(opt(&m, OPT_OUTPUT, "csv"), 1);
	{
		int argc;
		char **argv = make_argv((const char *const[]){ "prog", NULL }, &argc);

		assert_int_equal(cli_meter_positional(&m, argc, argv, 1, "prog", "-i", err,
						      sizeof(err)), 0);
		assert_int_equal(m.noutputs, 1);
	}
}

static void test_load_ignore(void **state)
{
	struct meter_cli m;
	struct iplist l = { 0 };
	char path[64];
	FILE *f;
	int fd;

	cli_meter_defaults(&m);
	assert_int_equal(cli_load_ignore(&m, &l, err, sizeof(err)), 0);
	iplist_free(&l);
	m.ignore_file = "/dev/null";	/* ignores nothing */
	assert_int_equal(cli_load_ignore(&m, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 0);
	iplist_free(&l);
	strcpy(path, "/tmp/test_cli_ignore.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "# mine\n10.0.0.0/8\n\n10.*.1.*\n");
	fclose(f);
	m.ignore_file = path;
	assert_int_equal(cli_load_ignore(&m, &l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, ":4: "));
	assert_int_equal(l.n, 0);	/* nothing half-applied */
	unlink(path);
	assert_int_equal(cli_load_ignore(&m, &l, err, sizeof(err)), -ENOENT);
	assert_true(!strncmp(err, path, strlen(path)));
	iplist_free(&l);
}

static void test_engine_opts(void **state)
{
	struct meter_cli m;
	struct engine_opts eo;
	struct iplist l = { 0 };

	cli_meter_defaults(&m);
	strcpy(m.cgroup_path, "/sys/fs/cgroup/x");
	m.outputs[m.noutputs++] = "csv";
	assert_int_equal(opt(&m, OPT_LOG_DIR, "/var/tmp"), 1);
	assert_int_equal(opt(&m, OPT_LOG_FORMAT, "extended"), 1);
	assert_int_equal(opt(&m, OPT_MAX_FILE_SIZE, "1M"), 1);
	assert_int_equal(opt(&m, OPT_MIN_FREE, "3%"), 1);
	assert_int_equal(opt(&m, OPT_IGNORE_MODE, "any"), 1);
	assert_int_equal(opt(&m, OPT_MAX_OWNERS, "1000"), 1);
	cli_engine_opts(&m, &l, true, &eo);
	assert_int_equal(eo.collector.max_owners, 1000);
	assert_string_equal(eo.collector.cgroup_path, "/sys/fs/cgroup/x");
	assert_int_equal(eo.collector.ignore_mode, TM_IGNORE_ANY);
	assert_ptr_equal(eo.ignore, &l);
	assert_int_equal(eo.nbackends, 1);
	assert_ptr_equal(eo.backends[0], &csv_backend_ops);
	assert_string_equal(eo.backend_cfg.log_dir, "/var/tmp");
	assert_true(eo.backend_cfg.extended);
	assert_int_equal(eo.backend_cfg.max_file_size, 1 << 20);
	assert_int_equal(eo.backend_cfg.min_free_pct, 3);
	assert_int_equal(eo.backend_cfg.dirfd, -1);
	assert_int_equal(eo.backend_cfg.reader_gid, (uint32_t)-1);
	/* No logging asked, or counters only: no backend at all. */
	cli_engine_opts(&m, &l, false, &eo);
	assert_int_equal(eo.nbackends, 0);
	m.counters_only = true;
	cli_engine_opts(&m, &l, true, &eo);
	assert_int_equal(eo.nbackends, 0);
	assert_true(eo.collector.counters_only);
}

static void test_usage_text(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	cli_meter_usage(fp, true);
	fclose(fp);
	assert_non_null(strstr(buf, "  -d, --log-dir DIR"));
	assert_non_null(strstr(buf, "  -i, --ignore-file FILE"));
	assert_non_null(strstr(buf, "--retention"));
	assert_non_null(strstr(buf, "--max-owners N"));
	free(buf);
	buf = NULL;
	fp = open_memstream(&buf, &len);
	cli_meter_usage(fp, false);
	fclose(fp);
	assert_non_null(strstr(buf, "      --log-dir DIR"));
	assert_null(strstr(buf, "-d, --log-dir"));
	free(buf);
}

/* ---- tui/options.h: tmtop --------------------------------------------------------------- */

static void test_tmtop_defaults(void **state)
{
	struct tmtop_opts o;
	char def[PATH_MAX];

	if (!have_cgroup2())
		skip();
	assert_int_equal(cgroup_default_path(def, sizeof(def)), 0);
	assert_int_equal(tmtop(&o, (const char *const[]){ "tmtop", NULL }, NULL, 0), 0);
	assert_int_equal(o.cmd, CMD_VIEW);
	assert_true(o.delay == 1.0);
	assert_string_equal(o.socket_path, TM_DEFAULT_SOCKET);
	assert_false(o.socket_given);
	assert_false(o.standalone);
	assert_false(o.batch);
	assert_int_equal(o.iterations, 0);
	assert_null(o.sort);
	assert_null(o.user);
	assert_string_equal(o.m.cgroup_path, def);
	assert_string_equal(o.m.log_dir, TM_DEFAULT_LOG_DIR);
	assert_false(o.m.meter_options);
}

/* Letters as in top, htop and iftop. */
static void test_tmtop_letters(void **state)
{
	struct tmtop_opts o;

	if (!have_cgroup2())
		skip();
	assert_int_equal(TMTOP(&o, "-d", "5"), 0);
	assert_true(o.delay == 5.0);
	assert_int_equal(TMTOP(&o, "-d", "0.5"), 0);
	assert_true(o.delay == 0.5);
	assert_int_equal(TMTOP(&o, "-d0.05"), 0);
	assert_true(o.delay == 0.05);
	assert_int_equal(TMTOP(&o, "-D", "2"), 0);
	assert_true(o.delay == 2.0);
	assert_int_equal(TMTOP(&o, "--delay=3600"), 0);
	assert_true(o.delay == 3600.0);
	assert_int_equal(TMTOP(&o, "-u", "alice"), 0);
	assert_string_equal(o.user, "alice");
	assert_int_equal(TMTOP(&o, "-i", "lo"), 0);
	assert_string_equal(o.m.iface, "lo");
	assert_int_equal(o.m.ifindex, if_nametoindex("lo"));
	assert_int_equal(TMTOP(&o, "-s", "in"), 0);
	assert_string_equal(o.sort, "in");
	assert_int_equal(TMTOP(&o, "--sort", "TOTOUT", "-I"), 0);
	assert_string_equal(o.sort, "TOTOUT");
	assert_true(o.invert);
	assert_int_equal(TMTOP(&o, "-b", "-n", "2"), 0);
	assert_true(o.batch);
	assert_int_equal(o.iterations, 2);
	assert_int_equal(TMTOP(&o, "-bn", "3", "--json", "--processes", "--peers"), 0);
	assert_true(o.batch && o.json && o.processes && o.peers);
	assert_int_equal(o.iterations, 3);
	assert_int_equal(TMTOP(&o, "-F", "ali", "-M", "-r", "--ascii", "--bits", "-Z", "nobody"),
			 0);
	assert_string_equal(o.filter, "ali");
	assert_true(o.mono && o.resolve && o.ascii && o.bits);
	assert_string_equal(o.m.run_as, "nobody");
	assert_false(o.m.meter_options);	/* none of these asks for a meter */
	assert_int_equal(TMTOP(&o, "--socket", "/run/x.sock"), 0);
	assert_string_equal(o.socket_path, "/run/x.sock");
	assert_true(o.socket_given);
	assert_int_equal(TMTOP(&o, "--standalone", "--no-log"), 0);
	assert_true(o.standalone && o.no_log);
	assert_true(o.m.meter_options);
	/* The meter's long options are tmtop's too. */
	assert_int_equal(TMTOP(&o, "--log-dir", "/var/tmp/x", "--ignore-mode", "any",
			       "--ignore-file", "/dev/null", "--iface", "lo"), 0);
	assert_string_equal(o.m.log_dir, "/var/tmp/x");
	assert_int_equal(o.m.ignore_mode, TM_IGNORE_ANY);
	assert_string_equal(o.m.ignore_file, "/dev/null");
	assert_true(o.m.meter_options);
}

static void test_tmtop_errors(void **state)
{
	TMTOP_BAD("bad delay '0.01'", "-d", "0.01");
	TMTOP_BAD("bad delay 'abc'", "-d", "abc");
	TMTOP_BAD("bad delay '3601'", "-d", "3601");
	TMTOP_BAD("bad delay 'nan'", "-d", "nan");
	/* The logger's letters mean something else here: say where they went. */
	TMTOP_BAD("the log directory is --log-dir", "-d", "/tmp");
	TMTOP_BAD("the ignore list is --ignore-file", "-i", "/dev/null");
	TMTOP_BAD("no such interface", "-i", "nosuchif0");
	TMTOP_BAD("bad --sort 'bogus': use user, uid, rate, in, out, totin, totout, quota", "-s",
		  "bogus");
	TMTOP_BAD("option -n needs -b", "-n", "2");
	TMTOP_BAD("bad --iterations '0'", "-b", "-n", "0");
	TMTOP_BAD("bad --iterations 'x'", "-b", "-n", "x");
	TMTOP_BAD("are for batch mode: add -b", "--json");
	TMTOP_BAD("are for batch mode: add -b", "--processes");
	TMTOP_BAD("are for batch mode: add -b", "--peers");
	TMTOP_BAD("choose one", "--standalone", "--socket", "/x.sock");
	TMTOP_BAD("empty --socket", "--socket", "");
	TMTOP_BAD("unknown option '-x'", "-x");
	TMTOP_BAD("unknown option '--bogus'", "--bogus");
	TMTOP_BAD("option '-d' needs an argument", "-d");
	TMTOP_BAD("option '--log-dir' needs an argument", "--log-dir");
	TMTOP_BAD("bad --ignore-mode", "--ignore-mode", "none");
}

static void test_tmtop_help_version(void **state)
{
	struct tmtop_opts o;
	char out[16384];

	assert_int_equal(tmtop(&o, (const char *const[]){ "tmtop", "-h", NULL }, out, sizeof(out)),
			 1);
	assert_non_null(strstr(out, "Usage: tmtop [options] [cgroup_path] [nic_id]"));
	assert_non_null(strstr(out, "  -d, -D, --delay SECS"));
	assert_non_null(strstr(out, "rate, in, out"));	/* the sort keys, from the table */
	assert_non_null(strstr(out, "--log-dir"));
	assert_int_equal(tmtop(&o, (const char *const[]){ "tmtop", "--version", NULL }, out,
			       sizeof(out)), 1);
	assert_string_equal(out, "tmtop " TM_VERSION "\n");
}

static void test_tmtop_positional(void **state)
{
	char mnt[PATH_MAX];
	struct tmtop_opts o;

	if (!have_cgroup2())
		skip();
	assert_int_equal(cgroup2_mount(mnt, sizeof(mnt)), 0);
	assert_int_equal(TMTOP(&o, mnt, "eth0"), 0);
	assert_string_equal(o.m.cgroup_path, mnt);
	assert_string_equal(o.m.nic_id, "eth0");
	assert_true(o.m.meter_options);
	/* The iftop habit of naming the interface: pointed to -i. */
	TMTOP_BAD("'lo' is a network interface, not a cgroup: to count only it, use -i lo", "lo");
}

/* tmtop log [-f] [-u USER]: your own log, through the meter. */
static void test_tmtop_log(void **state)
{
	struct tmtop_opts o;
	char out[1024];

	if (TMTOP(&o, "log"))
		fail_msg("tmtop log: %s", err);
	assert_int_equal(o.cmd, CMD_LOG);
	assert_false(o.follow);
	assert_null(o.log_owner);
	assert_string_equal(o.socket_path, TM_DEFAULT_SOCKET);
	assert_int_equal(TMTOP(&o, "log", "-f", "-u", "alice"), 0);
	assert_int_equal(o.cmd, CMD_LOG);
	assert_true(o.follow);
	assert_string_equal(o.log_owner, "alice");
	assert_int_equal(TMTOP(&o, "log", "--follow", "--socket", "/run/y.sock"), 0);
	assert_true(o.follow);
	assert_string_equal(o.socket_path, "/run/y.sock");
	assert_int_equal(tmtop(&o, (const char *const[]){ "tmtop", "log", "-h", NULL }, out,
			       sizeof(out)), 1);
	assert_non_null(strstr(out, "Usage: tmtop log"));
	TMTOP_BAD("unexpected argument 'extra'", "log", "extra");
	TMTOP_BAD("option '-u' needs an argument", "log", "-u");
	TMTOP_BAD("unknown option", "log", "-x");
	/* "log" is a command only first: elsewhere it is the cgroup it names. */
	TMTOP_BAD("cgroup 'log' does not exist", "-b", "log");
}

/* Parsing twice in one process (tests, a future config reload) gives the same answer. */
static void test_tmtop_reparse(void **state)
{
	struct tmtop_opts o;

	if (!have_cgroup2())
		skip();
	TMTOP_BAD("unknown option '-x'", "-bx");
	assert_int_equal(TMTOP(&o, "-bn", "4"), 0);
	assert_int_equal(o.iterations, 4);
	assert_true(o.batch);
	assert_int_equal(TMTOP(&o, "-d", "2"), 0);
	assert_false(o.batch);
	assert_int_equal(o.iterations, 0);
}

/* ---- service/service.h: the logger and its socket ----------------------------------------- */

static void test_service_option(void **state)
{
	struct service_opts so;
	char longp[200];

	service_defaults(&so);
	assert_string_equal(so.socket_path, TM_DEFAULT_SOCKET);
	assert_false(so.no_socket);
	err[0] = '\0';
	assert_int_equal(service_option(&so, OPT_NO_SOCKET, NULL, err, sizeof(err)), 1);
	assert_true(so.no_socket);
	assert_int_equal(service_option(&so, OPT_SOCKET, "/run/t.sock", err, sizeof(err)), 1);
	assert_string_equal(so.socket_path, "/run/t.sock");
	assert_false(so.no_socket);
	assert_int_equal(service_option(&so, OPT_SOCKET, "", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad --socket ''"));
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(service_option(&so, OPT_SOCKET, longp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a path of 1 to 107 bytes"));
	assert_string_equal(so.socket_path, "/run/t.sock");
	assert_int_equal(service_option(&so, OPT_LOG_DIR, "/x", err, sizeof(err)), 0);
	assert_int_equal(service_option(&so, 'd', "/x", err, sizeof(err)), 0);
}

static void test_service_trusted(void **state)
{
	const gid_t groups[] = { 100, 27, 999 };

	/* root sees everyone, whatever its groups */
	assert_true(service_trusted(0, 0, NULL, 0, 999));
	assert_true(service_trusted(0, 5, NULL, 0, (gid_t)-1));
	/* the tmtop group, as primary or supplementary */
	assert_true(service_trusted(1000, 999, NULL, 0, 999));
	assert_true(service_trusted(1000, 1000, groups, 3, 999));
	assert_true(service_trusted(1000, 1000, groups, 3, 27));
	/* anyone else: not trusted */
	assert_false(service_trusted(1000, 1000, groups, 3, 998));
	assert_false(service_trusted(1000, 1000, groups, 2, 999));	/* only the first two */
	assert_false(service_trusted(1000, 1000, NULL, 0, 999));
	/* no tmtop group on this machine: only root, even for a gid of (gid_t)-1 */
	assert_false(service_trusted(1000, (gid_t)-1, NULL, 0, (gid_t)-1));
	assert_false(service_trusted(1000, 1000, (const gid_t[]){ (gid_t)-1 }, 1, (gid_t)-1));
	assert_false(service_trusted(65534, 65534, groups, 3, (gid_t)-1));
}

/* traffic_meter_user: the seed's -d/-i/-o, the shared long options, the service's. */
static void test_logger_command_line(void **state)
{
	char mnt[PATH_MAX], def[PATH_MAX], out[16384];
	struct service_opts so;
	struct meter_cli m;

	if (!have_cgroup2())
		skip();
	assert_int_equal(cgroup2_mount(mnt, sizeof(mnt)), 0);
	assert_int_equal(cgroup_default_path(def, sizeof(def)), 0);
	assert_int_equal(logger(&m, &so, (const char *const[]){ "traffic_meter_user", NULL }, NULL,
				0), 0);
	assert_string_equal(m.cgroup_path, def);
	assert_string_equal(m.log_dir, TM_DEFAULT_LOG_DIR);
	assert_string_equal(so.socket_path, TM_DEFAULT_SOCKET);
	assert_string_equal(m.outputs[0], "csv");

	assert_int_equal(LOGGER(&m, &so, "-d", "/tmp", "-i", "/dev/null", "-o", "csv", "-v", "-Z",
				"nobody", "--socket", "/run/m.sock", "--ignore-mode", "both", mnt,
				"eth0"), 0);
	assert_string_equal(m.log_dir, "/tmp");	/* -d /tmp: the seed's layout */
	assert_string_equal(m.ignore_file, "/dev/null");
	assert_int_equal(m.noutputs, 1);
	assert_true(m.verbose);
	assert_string_equal(m.run_as, "nobody");
	assert_string_equal(so.socket_path, "/run/m.sock");
	assert_int_equal(m.ignore_mode, TM_IGNORE_BOTH);
	assert_string_equal(m.cgroup_path, mnt);
	assert_string_equal(m.nic_id, "eth0");
	assert_int_equal(LOGGER(&m, &so, "--no-socket", "--log-dir=/var/tmp", "--compress", ""), 0);
	assert_true(so.no_socket);
	assert_true(m.compress);
	assert_string_equal(m.cgroup_path, def);

	/* Errors: one line, without the program's name (main adds it). */
	assert_int_equal(LOGGER(&m, &so, "-d"), -EINVAL);
	assert_string_equal(err, "option '-d' needs an argument");
	assert_int_equal(LOGGER(&m, &so, "-x"), -EINVAL);
	assert_string_equal(err, "unknown option '-x' (see --help)");
	assert_int_equal(LOGGER(&m, &so, "--bogus"), -EINVAL);
	assert_string_equal(err, "unknown option '--bogus' (see --help)");
	assert_int_equal(LOGGER(&m, &so, "-o", "syslog"), -EINVAL);
	assert_non_null(strstr(err, "available backends"));
	assert_int_equal(LOGGER(&m, &so, "--socket", ""), -EINVAL);
	assert_non_null(strstr(err, "bad --socket"));
	/* A quota is counted in the history: without one it could never fire. */
	assert_int_equal(LOGGER(&m, &so, "--quota", "1000=1G/day", "--no-history"), -EINVAL);
	assert_string_equal(err, "--quota needs the history database: it cannot be used with "
				 "--no-history");
	assert_int_equal(LOGGER(&m, &so, "--no-history", "--history-db", "/x.db", "--quota",
				"1000=1G/day", ""), 0);
	assert_int_equal(so.keep.nquotas, 1);
	assert_string_equal(so.keep.db_path, "/x.db");
	/* Its interface hint is the long option (its -i is the ignore list). */
	assert_int_equal(LOGGER(&m, &so, "lo"), -EINVAL);
	assert_non_null(strstr(err, "is a network interface, not a cgroup: to count only it, use "
				    "--iface lo"));

	assert_int_equal(logger(&m, &so, (const char *const[]){ "traffic_meter_user", "--help",
								 NULL }, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "Usage: traffic_meter_user [options] [cgroup_path] [nic_id]"));
	assert_non_null(strstr(out, "  -d, --log-dir DIR"));
	assert_non_null(strstr(out, "--no-socket"));
	assert_int_equal(logger(&m, &so, (const char *const[]){ "traffic_meter_user", "-V", NULL },
				out, sizeof(out)), 1);
	assert_string_equal(out, "traffic_meter_user " TM_VERSION "\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_meter_options),
		cmocka_unit_test(test_viewer_options),
		cmocka_unit_test(test_output),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_ignore_mode_names),
		cmocka_unit_test(test_positional),
		cmocka_unit_test(test_load_ignore),
		cmocka_unit_test(test_engine_opts),
		cmocka_unit_test(test_usage_text),
		cmocka_unit_test(test_tmtop_defaults),
		cmocka_unit_test(test_tmtop_letters),
		cmocka_unit_test(test_tmtop_errors),
		cmocka_unit_test(test_tmtop_help_version),
		cmocka_unit_test(test_tmtop_positional),
		cmocka_unit_test(test_tmtop_log),
		cmocka_unit_test(test_tmtop_reparse),
		cmocka_unit_test(test_service_option),
		cmocka_unit_test(test_service_trusted),
		cmocka_unit_test(test_logger_command_line),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
