// SPDX-License-Identifier: GPL-2.0
/*
 * The CSV backend against real files in a fresh temporary directory per test: row format
 * (seed and extended), header and totals across restarts, torn tails, names taken by planted
 * objects (symlink, hard link, FIFO, directory, a file of another user, a file another logger
 * holds) and the fallback files that take their rows, logrotate, write errors made real with
 * RLIMIT_FSIZE and RLIMIT_NOFILE, the open-file bound, rotation by size with compression, the
 * free-space floor and totals that would pass 2^64. No root needed; the one plant that needs a
 * second uid is skipped without root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <linux/types.h>
#include <zlib.h>
#include <cmocka.h>

#include "traffic_meter.h"
#include "backend/backend.h"
#include "backend/csv.h"

#define HDR	CSV_HEADER
#define HDR_EXT	CSV_HEADER_EXT
#define NOSOCK	TM_OWNER_NOSOCK
#define KERNEL	TM_OWNER_KERNEL

struct fixture {
	char dir[64];
};

static struct backend *be;	/* the instance under test; teardown closes it */

/* ---- helpers ----------------------------------------------------------------------------- */

static struct traffic_record rec_make(tm_owner_t owner, int dir, const char *src,
				      const char *dst, uint32_t bytes, time_t sec, long nsec)
{
	struct traffic_record r = { .owner = owner, .bytes = bytes, .direction = dir };

	if (inet_pton(AF_INET, src, r.src) == 1) {
		r.family = TM_AF_INET;
		assert_int_equal(inet_pton(AF_INET, dst, r.dst), 1);
	} else {
		r.family = TM_AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, src, r.src), 1);
		assert_int_equal(inet_pton(AF_INET6, dst, r.dst), 1);
	}
	r.ts.tv_sec = sec;
	r.ts.tv_nsec = nsec;
	return r;
}

static int put(tm_owner_t owner, int dir, uint32_t bytes)
{
	struct traffic_record r = rec_make(owner, dir, "10.0.0.1", "10.0.0.2", bytes, 1700000000,
					   123);

	return be->ops->write(be, &r);
}

static int put_rec(const struct traffic_record *r)
{
	return be->ops->write(be, r);
}

static int flush(void)
{
	return be->ops->flush(be);
}

static int reopen(void)
{
	return be->ops->reopen(be);
}

static struct backend_stats stats(void)
{
	struct backend_stats st;

	memset(&st, 0xa5, sizeof(st));
	be->ops->stats(be, &st);
	return st;
}

static struct backend_config base_cfg(const struct fixture *fx)
{
	return (struct backend_config){ .log_dir = fx->dir, .nic_id = "lo", .dirfd = -1,
					.reader_gid = (uint32_t)-1 };
}

static void start_cfg(const struct backend_config *cfg)
{
	char err[256] = "";
	int ret;

	assert_null(be);
	ret = csv_backend_ops.open(&be, cfg, err, sizeof(err));
	if (ret)
		fail_msg("open: %s (%d)", err, ret);
	assert_non_null(be);
	assert_ptr_equal(be->ops, &csv_backend_ops);
}

static void start(const struct fixture *fx, size_t buffer)
{
	struct backend_config cfg = base_cfg(fx);

	cfg.buffer_bytes = buffer;
	start_cfg(&cfg);
}

static void stop(void)
{
	if (be)
		be->ops->close(be);
	be = NULL;
}

static void path_of(char *buf, size_t len, const struct fixture *fx, const char *nic,
		    uint32_t uid)
{
	snprintf(buf, len, "%s/traffic_user_%s_%u.log", fx->dir, nic, uid);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (!fp)
		fail_msg("cannot read %s", path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc(n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, fp), n);
	buf[n] = '\0';
	fclose(fp);
	if (len)
		*len = n;
	return buf;
}

static void spit(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), strlen(s));
	close(fd);
}

/*
 * Check a whole log held in buf: at most one header (hdr, when not NULL) and only as the first
 * line, every line a complete row, totals equal to the running sums of the bytes column
 * (starting from in0/out0). Returns the number of rows; the final totals go to *in / *out.
 */
static size_t check_buf(const char *buf, size_t len, const char *hdr, uint64_t in0,
			uint64_t out0, uint64_t *in, uint64_t *out)
{
	const char *line = buf, *nl;
	uint64_t sum[2] = { in0, out0 };
	size_t rows = 0;

	assert_true(len > 0);
	assert_int_equal(buf[len - 1], '\n');
	if (hdr) {
		assert_memory_equal(buf, hdr, strlen(hdr));
		line += strlen(hdr);
	}
	for (; line < buf + len && (nl = memchr(line, '\n', buf + len - line)); line = nl + 1) {
		char dir[8];
		unsigned int bytes;
		uint64_t tin, tout;

		if (csv_parse_totals(line, nl - line + 1, &tin, &tout))
			fail_msg("not a row: '%.*s'", (int)(nl - line), line);
		assert_int_equal(sscanf(line, "%7[^,],%u,", dir, &bytes), 2);
		sum[strcmp(dir, "out") ? TM_DIR_IN : TM_DIR_OUT] += bytes;
		assert_int_equal(tin, sum[TM_DIR_IN]);
		assert_int_equal(tout, sum[TM_DIR_OUT]);
		rows++;
	}
	if (in)
		*in = sum[TM_DIR_IN];
	if (out)
		*out = sum[TM_DIR_OUT];
	return rows;
}

static size_t check_log_hdr(const char *path, const char *hdr, uint64_t in0, uint64_t out0,
			    uint64_t *in, uint64_t *out)
{
	size_t len, rows;
	char *buf = slurp(path, &len);

	rows = check_buf(buf, len, hdr, in0, out0, in, out);
	free(buf);
	return rows;
}

static size_t check_log(const char *path, bool header, uint64_t in0, uint64_t out0, uint64_t *in,
			uint64_t *out)
{
	return check_log_hdr(path, header ? HDR : NULL, in0, out0, in, out);
}

/* Names in the directory that start with prefix (and are namelen long, unless 0); the first
 * match goes to first. */
static int count_names_len(const struct fixture *fx, const char *prefix, size_t namelen,
			   char *first, size_t len)
{
	DIR *d = opendir(fx->dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) ||
		    (namelen && strlen(e->d_name) != namelen))
			continue;
		if (!n++ && first)
			snprintf(first, len, "%s/%s", fx->dir, e->d_name);
	}
	closedir(d);
	return n;
}

static int count_names(const struct fixture *fx, const char *prefix, char *first, size_t len)
{
	return count_names_len(fx, prefix, 0, first, len);
}

/*
 * The fallback file of an owner: the one name traffic_user_lo_<tok>.XXXXXXXX.log in the
 * directory, eight characters of the unguessable set in the middle. It is also what
 * owner_open() hands out while the backend is open.
 */
static void fallback_of(const struct fixture *fx, const char *tok, char *path, size_t len)
{
	static const char set[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	char prefix[64];
	const char *name, *mid;

	snprintf(prefix, sizeof(prefix), "traffic_user_lo_%s.", tok);
	assert_int_equal(count_names_len(fx, prefix, strlen(prefix) + 8 + strlen(".log"), path,
					 len), 1);
	name = strrchr(path, '/') + 1;
	mid = name + strlen(prefix);
	assert_int_equal(strlen(mid), 8 + strlen(".log"));
	assert_string_equal(mid + 8, ".log");
	for (int i = 0; i < 8; i++)
		assert_non_null(strchr(set, mid[i]));
}

/* owner_open() names want and hands out that very file, read-only. */
static void expect_owner_path(tm_owner_t owner, const char *want)
{
	char buf[PATH_MAX];
	struct stat a, b;
	int fd = be->ops->owner_open(be, owner, buf, sizeof(buf));

	assert_true(fd >= 0);
	assert_string_equal(buf, want);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(want, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	close(fd);
}

/* Is path open in this process? (/proc/self/fd, so the LRU is seen from outside.) */
static bool is_open(const char *path)
{
	char real[PATH_MAX], link[PATH_MAX + 1], fdp[64];
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	bool found = false;

	assert_non_null(d);
	assert_non_null(realpath(path, real));
	while ((e = readdir(d))) {
		ssize_t n;

		snprintf(fdp, sizeof(fdp), "/proc/self/fd/%s", e->d_name);
		n = readlink(fdp, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		found |= !strcmp(link, real);
	}
	closedir(d);
	return found;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	strcpy(fx->dir, "/tmp/test_csv.XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	stop();
	chmod(fx->dir, 0700);
	nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* ---- pure formatting --------------------------------------------------------------------- */

static void expect_row_ext(const struct traffic_record *r, uint64_t in, uint64_t out, bool ext,
			   const char *want)
{
	char buf[CSV_ROW_MAX_EXT];
	size_t n = csv_format_row(buf, sizeof(buf), r, in, out, ext);

	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

static void expect_row(const struct traffic_record *r, uint64_t in, uint64_t out, const char *want)
{
	char buf[CSV_ROW_MAX];
	size_t n = csv_format_row(buf, sizeof(buf), r, in, out, false);

	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

static void test_format_v4(void **state)
{
	struct traffic_record r;

	r = rec_make(1000, TM_DIR_OUT, "192.168.1.100", "8.8.8.8", 52, 1732985432, 123456789);
	expect_row(&r, 0, 52, "out,52,192.168.1.100,8.8.8.8,1732985432.123456789,0,52\n");
	r = rec_make(1000, TM_DIR_IN, "8.8.8.8", "192.168.1.100", 84, 1732985432, 234567890);
	expect_row(&r, 84, 52, "in,84,8.8.8.8,192.168.1.100,1732985432.234567890,84,52\n");
	r = rec_make(0, TM_DIR_IN, "0.0.0.0", "255.255.255.255", 0, 0, 0);
	expect_row(&r, 0, 0, "in,0,0.0.0.0,255.255.255.255,0.000000000,0,0\n");
	r = rec_make(0, TM_DIR_OUT, "10.9.99.100", "1.20.200.9", UINT32_MAX, 1, 999999999);
	expect_row(&r, UINT64_MAX, UINT64_MAX,
		   "out,4294967295,10.9.99.100,1.20.200.9,1.999999999,"
		   "18446744073709551615,18446744073709551615\n");
	/* The owner is in the file name, not in the row: special owners' rows look the same. */
	r = rec_make(NOSOCK, TM_DIR_IN, "8.8.8.8", "192.168.1.100", 40, 5, 0);
	expect_row(&r, 40, 0, "in,40,8.8.8.8,192.168.1.100,5.000000000,40,0\n");
}

static void test_format_v6(void **state)
{
	static const char *const addrs[] = {
		"2001:db8::1", "::1", "::", "2607:f8b0:4004:800::200e", "fe80::", "1::",
		"2001:db8:0:1:1:1:1:1",		/* one zero group is not compressed */
		"2001:0:0:1::1",		/* the longer run wins */
		"2001:db8::1:0:0:1",		/* on a tie, the first run */
		"::ffff:192.0.2.1",		/* IPv4-mapped, as inet_ntop prints it */
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"1:2:3:4:5:6:7:8", "abcd::ef01:0:0",
	};
	struct traffic_record r;
	char want[256];

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		r = rec_make(7, TM_DIR_OUT, addrs[i], "2001:db8::1", 80, 1732985434, 567890123);
		snprintf(want, sizeof(want), "out,80,%s,2001:db8::1,1732985434.567890123,1584,1632\n",
			 addrs[i]);
		expect_row(&r, 1584, 1632, want);
	}
	/* Uppercase or padded input still comes out in RFC 5952 form. */
	r = rec_make(7, TM_DIR_IN, "2001:0DB8:0000:0000:0000:0000:0000:0001", "::0001", 60, 5, 7);
	expect_row(&r, 60, 0, "in,60,2001:db8::1,::1,5.000000007,60,0\n");
}

/* The hand-written IPv6 formatter must agree with inet_ntop on everything. */
static void test_format_v6_matches_inet_ntop(void **state)
{
	struct traffic_record r = { .direction = TM_DIR_OUT, .family = TM_AF_INET6 };
	char buf[CSV_ROW_MAX], want[INET6_ADDRSTRLEN];
	unsigned int seed = 12345;

	for (int i = 0; i < 200000; i++) {
		size_t n;
		char *a, *b;

		/* Mostly-zero groups, so every run length and position appears. */
		for (int g = 0; g < 8; g++) {
			unsigned int v = rand_r(&seed);
			unsigned int w = v & 1 ? 0 : (v >> 1) & (v & 2 ? 0xffff : 0xf);

			r.src[2 * g] = w >> 8;
			r.src[2 * g + 1] = w & 0xff;
		}
		n = csv_format_row(buf, sizeof(buf), &r, 0, 0, false);
		assert_true(n > 0);
		inet_ntop(AF_INET6, r.src, want, sizeof(want));
		a = buf + strlen("out,0,");
		b = strchr(a, ',');
		*b = '\0';
		if (strcmp(a, want))
			fail_msg("%s != inet_ntop %s", a, want);
	}
}

static void test_format_timestamp_padding(void **state)
{
	struct traffic_record r;

	r = rec_make(1, TM_DIR_OUT, "1.2.3.4", "5.6.7.8", 1, 5, 7);
	expect_row(&r, 0, 1, "out,1,1.2.3.4,5.6.7.8,5.000000007,0,1\n");
	r.ts.tv_nsec = 100000000;
	expect_row(&r, 0, 1, "out,1,1.2.3.4,5.6.7.8,5.100000000,0,1\n");
	r.ts.tv_nsec = 10;
	expect_row(&r, 0, 1, "out,1,1.2.3.4,5.6.7.8,5.000000010,0,1\n");
	r.ts.tv_sec = 0;
	r.ts.tv_nsec = 0;
	expect_row(&r, 0, 1, "out,1,1.2.3.4,5.6.7.8,0.000000000,0,1\n");
	/* Before 1970 is written as 0; a bad nsec is clamped, never more than 9 digits. */
	r.ts.tv_sec = -5;
	r.ts.tv_nsec = 3;
	expect_row(&r, 0, 1, "out,1,1.2.3.4,5.6.7.8,0.000000000,0,1\n");
	r.ts.tv_sec = 9;
	r.ts.tv_nsec = 1000000000;
	expect_row(&r, 0, 1, "out,1,1.2.3.4,5.6.7.8,9.999999999,0,1\n");
	r.ts.tv_nsec = -1;
	expect_row(&r, 0, 1, "out,1,1.2.3.4,5.6.7.8,9.000000000,0,1\n");
}

static void test_format_limits(void **state)
{
	struct traffic_record r = rec_make(1, TM_DIR_OUT, "1.2.3.4", "5.6.7.8", 1, 5, 7);
	const char *want = "out,1,1.2.3.4,5.6.7.8,5.000000007,0,1\n";
	char buf[CSV_ROW_MAX];

	/* Exactly enough room for the row and its NUL, then one byte less. */
	assert_int_equal(csv_format_row(buf, strlen(want) + 1, &r, 0, 1, false), strlen(want));
	assert_string_equal(buf, want);
	assert_int_equal(csv_format_row(buf, strlen(want), &r, 0, 1, false), 0);
	r.direction = 2;
	assert_int_equal(csv_format_row(buf, sizeof(buf), &r, 0, 1, false), 0);
	r.direction = TM_DIR_IN;
	r.family = 5;
	assert_int_equal(csv_format_row(buf, sizeof(buf), &r, 0, 1, false), 0);

	/* The longest possible row fits CSV_ROW_MAX. */
	r = rec_make(1, TM_DIR_OUT, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", UINT32_MAX, INT64_MAX, 999999999);
	assert_true(csv_format_row(buf, sizeof(buf), &r, UINT64_MAX, UINT64_MAX, false) > 0);
	r = rec_make(1, TM_DIR_OUT, "::ffff:255.255.255.255", "::ffff:255.255.255.255",
		     UINT32_MAX, INT64_MAX, 999999999);
	assert_true(csv_format_row(buf, sizeof(buf), &r, UINT64_MAX, UINT64_MAX, false) > 0);
}

/* --log-format extended: proto,sport,dport,pid,comm,cgroup after the seed's seven. */
static void test_format_extended(void **state)
{
	struct proc_ident pi = { .tgid = 4242, .comm = "curl", .cgroup_id = 9,
				 .cgroup = "/user.slice/user-1000.slice/session-3.scope" };
	struct traffic_record r = rec_make(1000, TM_DIR_OUT, "192.168.1.100", "8.8.8.8", 52,
					   1732985432, 123456789);

	r.proto = 6;
	r.sport = 40000;
	r.dport = 443;
	r.proc = &pi;
	expect_row_ext(&r, 0, 52, true, "out,52,192.168.1.100,8.8.8.8,1732985432.123456789,0,52,"
		       "tcp,40000,443,4242,curl,/user.slice/user-1000.slice/session-3.scope\n");
	/* The seed's format ignores all of it. */
	expect_row_ext(&r, 0, 52, false,
		       "out,52,192.168.1.100,8.8.8.8,1732985432.123456789,0,52\n");
	/* Unknown creator: empty pid, comm and cgroup; ICMP: empty ports. */
	r.proc = NULL;
	r.proto = 17;
	expect_row_ext(&r, 1, 2, true, "out,52,192.168.1.100,8.8.8.8,1732985432.123456789,1,2,"
		       "udp,40000,443,,,\n");
	r.proto = 1;
	r.sport = r.dport = 0;
	pi.tgid = 0;
	r.proc = &pi;
	expect_row_ext(&r, 1, 2, true, "out,52,192.168.1.100,8.8.8.8,1732985432.123456789,1,2,"
		       "icmp,,,,,/user.slice/user-1000.slice/session-3.scope\n");
	r.proto = 58;
	pi.tgid = 1;
	pi.cgroup = NULL;
	expect_row_ext(&r, 1, 2, true, "out,52,192.168.1.100,8.8.8.8,1732985432.123456789,1,2,"
		       "ipv6-icmp,,,1,curl,\n");
	r.proto = 132;
	expect_row_ext(&r, 1, 2, true, "out,52,192.168.1.100,8.8.8.8,1732985432.123456789,1,2,"
		       "132,,,1,curl,\n");
}

/* RFC 4180 quoting of the two texts a process chooses, and \xNN for what a line cannot carry. */
static void test_format_extended_quoting(void **state)
{
	static const struct {
		const char *comm, *cgroup, *want;
	} cases[] = {
		{ "a,b", "/x", "\"a,b\",/x" },
		{ "say \"hi\"", "/x", "\"say \"\"hi\"\"\",/x" },
		{ "tab\there", "/x", "\"tab\\x09here\",/x" },
		{ "nl\nrow", "/x", "\"nl\\x0arow\",/x" },
		{ "cr\r", "/x", "\"cr\\x0d\",/x" },
		{ "del\x7f", "/x", "\"del\\x7f\",/x" },
		{ "\xc3\xa9t\xc3\xa9", "/x", "\"\\xc3\\xa9t\\xc3\\xa9\",/x" },
		{ "\x9b" "31m", "/x", "\"\\x9b31m\",/x" },
		{ "plain", "/a,b/c.scope", "plain,\"/a,b/c.scope\"" },
		{ "plain", "/a\"b", "plain,\"/a\"\"b\"" },
		{ "plain", "/\x1b[2J", "plain,\"/\\x1b[2J\"" },
		{ "", "", "," },
		/* A backslash of its own is escaped, so an escape cannot be forged. */
		{ "a\\x0a", "/x", "\"a\\x5cx0a\",/x" },
		{ "plain", "/c:\\dir", "plain,\"/c:\\x5cdir\"" },
	};
	struct proc_ident pi = { .tgid = 7 };
	struct traffic_record r = rec_make(1, TM_DIR_IN, "1.2.3.4", "5.6.7.8", 1, 5, 7);
	char buf[CSV_ROW_MAX_EXT], want[512];
	uint64_t in, out;

	r.proto = 6;
	r.sport = 1;
	r.dport = 2;
	r.proc = &pi;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n;

		memset(pi.comm, 0, sizeof(pi.comm));
		memcpy(pi.comm, cases[i].comm, strlen(cases[i].comm));
		pi.cgroup = cases[i].cgroup;
		snprintf(want, sizeof(want), "in,1,1.2.3.4,5.6.7.8,5.000000007,1,0,tcp,1,2,7,%s\n",
			 cases[i].want);
		n = csv_format_row(buf, sizeof(buf), &r, 1, 0, true);
		if (strcmp(buf, want))
			fail_msg("case %zu: %s, want %s", i, buf, want);
		/* One line, and the reader still finds the totals in it. */
		assert_null(memchr(buf, '\n', n - 1));
		assert_int_equal(csv_parse_totals(buf, n, &in, &out), 0);
		assert_int_equal(in, 1);
	}
}

static void test_format_extended_limits(void **state)
{
	struct proc_ident pi = { .tgid = UINT32_MAX };
	struct traffic_record r = rec_make(1, TM_DIR_OUT, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
					   "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", UINT32_MAX,
					   INT64_MAX, 999999999);
	char cg[CSV_CGROUP_MAX + 100], buf[CSV_ROW_MAX_EXT + 16], *q;
	uint64_t in, out;
	size_t n;

	memset(pi.comm, 0xff, sizeof(pi.comm) - 1);
	memset(cg, '"', sizeof(cg) - 1);
	cg[sizeof(cg) - 1] = '\0';
	pi.cgroup = cg;
	r.proto = 58;
	r.sport = r.dport = 65535;
	r.proc = &pi;
	/* The worst row fits CSV_ROW_MAX_EXT; a long cgroup is cut and says so. */
	n = csv_format_row(buf, CSV_ROW_MAX_EXT, &r, UINT64_MAX, UINT64_MAX, true);
	assert_true(n > 0 && n < CSV_ROW_MAX_EXT);
	assert_int_equal(buf[n - 1], '\n');
	q = strstr(buf, "...\"\n");
	assert_non_null(q);
	assert_int_equal(csv_parse_totals(buf, n, &in, &out), 0);
	assert_true(in == UINT64_MAX && out == UINT64_MAX);
	for (int c = 0; c < 256; c++) {
		memset(cg, c ? c : 1, sizeof(cg) - 1);
		n = csv_format_row(buf, CSV_ROW_MAX_EXT, &r, 1, 2, true);
		assert_true(n > 0 && n < CSV_ROW_MAX_EXT);
	}
	/* One byte short of the row and its NUL: refused, not overrun. */
	memset(cg, 'x', 20);
	cg[20] = '\0';
	n = csv_format_row(buf, sizeof(buf), &r, 1, 2, true);
	buf[n + 1] = 'Z';
	assert_int_equal(csv_format_row(buf, n, &r, 1, 2, true), 0);
	assert_int_equal(csv_format_row(buf, n + 1, &r, 1, 2, true), n);
	assert_int_equal(buf[n + 1], 'Z');
}

static void test_parse_totals(void **state)
{
	uint64_t in = 1, out = 1;
	struct traffic_record r;
	char buf[CSV_ROW_MAX];
	size_t n;

#define P(s) csv_parse_totals(s, strlen(s), &in, &out)
	assert_int_equal(P("out,52,192.168.1.100,8.8.8.8,1732985432.123456789,0,52\n"), 0);
	assert_int_equal(in, 0);
	assert_int_equal(out, 52);
	assert_int_equal(P("in,84,::1,::1,1.000000000,18446744073709551615,7"), 0);
	assert_int_equal(in, UINT64_MAX);
	assert_int_equal(out, 7);
	in = out = 99;
	assert_int_equal(P(HDR), -EINVAL);
	assert_int_equal(P(HDR_EXT), -EINVAL);
	assert_int_equal(P(""), -EINVAL);
	assert_int_equal(P("\n"), -EINVAL);
	assert_int_equal(P("hello world\n"), -EINVAL);
	assert_int_equal(P("up,1,a,b,1.000000000,0,1\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0,1,2\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0,1,\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.00000000,0,1\n"), -EINVAL);	/* 8 ns digits */
	assert_int_equal(P("in,1,a,b,1,0,1\n"), -EINVAL);
	assert_int_equal(P("in,1,,b,1.000000000,0,1\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0,18446744073709551616\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0,-1\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0,\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0,5x\n"), -EINVAL);
	/* A row with a line break inside is never one row. */
	assert_int_equal(P("in,1,a,b,1.000000000,0,1\nin,1,a,b,1.000000000,0,2\n"), -EINVAL);
	assert_int_equal(P("in,1,a\nb,c,1.000000000,0,1\n"), -EINVAL);
	assert_int_equal(in, 99);	/* refused lines leave the outputs alone */
	assert_int_equal(P("out,52,192.168.1.100,8.8.8.8,1732985432.123456789,0,5"), 0);
	assert_int_equal(out, 5);	/* a torn row parses as a shorter number: callers must not */
	assert_int_equal(in, 0);	/* hand it unterminated lines from a file tail */

	/* Extended rows: exactly six more fields, commas inside quotes are text. */
	assert_int_equal(P("in,1,a,b,1.000000000,3,4,tcp,1,2,7,curl,/x\n"), 0);
	assert_true(in == 3 && out == 4);
	assert_int_equal(P("in,1,a,b,1.000000000,5,6,udp,,,,,\n"), 0);
	assert_true(in == 5 && out == 6);
	assert_int_equal(P("in,1,a,b,1.000000000,7,8,tcp,1,2,7,\"a,b\",\"/x,\"\"y\"\"\"\n"), 0);
	assert_true(in == 7 && out == 8);
	assert_int_equal(P("in,1,a,b,1.000000000,0,1,tcp,1,2,7,curl\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0,1,tcp,1,2,7,curl,/x,extra\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0,1,tcp,1,2,7,\"curl,/x\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0,1,tcp,1,2,7,\"a\nb\",/x\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0,1,tcp,1,2,7,\"a,b,c,d,e\n"), -EINVAL);
#undef P

	r = rec_make(1, TM_DIR_IN, "2001:db8::1", "::1", 1500, 1732985432, 5);
	n = csv_format_row(buf, sizeof(buf), &r, 123456789012345ULL, 42, false);
	assert_int_equal(csv_parse_totals(buf, n, &in, &out), 0);
	assert_int_equal(in, 123456789012345ULL);
	assert_int_equal(out, 42);
}

/* ---- files ------------------------------------------------------------------------------- */

static void test_open_errors(void **state)
{
	struct fixture *fx = *state;
	struct backend_config cfg = base_cfg(fx);
	char file[128], err[256], longnic[300];
	struct backend *b = NULL;

	cfg.log_dir = "/nonexistent/tmtop";
	assert_int_equal(csv_backend_ops.open(&b, &cfg, err, sizeof(err)), -ENOENT);
	assert_null(b);
	assert_non_null(strstr(err, "/nonexistent/tmtop"));
	snprintf(file, sizeof(file), "%s/plain", fx->dir);
	spit(file, "x");
	cfg.log_dir = file;
	assert_int_equal(csv_backend_ops.open(&b, &cfg, err, sizeof(err)), -ENOTDIR);
	cfg.log_dir = fx->dir;
	/* The label is part of a file name: nothing that leaves the directory. */
	for (const char *bad[] = { "../etc", "a/b", ".", "..", "" }, **p = bad; p < bad + 5; p++) {
		cfg.nic_id = *p;
		err[0] = '\0';
		assert_int_equal(csv_backend_ops.open(&b, &cfg, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "nic_id"));
		assert_null(b);
	}
	memset(longnic, 'n', sizeof(longnic) - 1);
	longnic[sizeof(longnic) - 1] = '\0';
	cfg.nic_id = longnic;
	assert_int_equal(csv_backend_ops.open(&b, &cfg, err, sizeof(err)), -ENAMETOOLONG);
	/* No label: "unknown". The directory may also come as a descriptor. */
	cfg.nic_id = NULL;
	cfg.log_dir = "(the caller's descriptor)";
	cfg.dirfd = open(fx->dir, O_RDONLY | O_DIRECTORY);
	assert_true(cfg.dirfd >= 0);
	start_cfg(&cfg);
	close(cfg.dirfd);	/* the backend keeps its own copy */
	assert_int_equal(put(5, TM_DIR_OUT, 10), 0);
	stop();
	snprintf(file, sizeof(file), "%s/traffic_user_unknown_5.log", fx->dir);
	assert_int_equal(check_log(file, true, 0, 0, NULL, NULL), 1);

	/* A record with an unknown direction or family is refused and not counted. */
	cfg = base_cfg(fx);
	start_cfg(&cfg);
	{
		struct traffic_record r = rec_make(5, TM_DIR_OUT, "1.1.1.1", "2.2.2.2", 1, 1, 1);

		r.direction = 7;
		assert_int_equal(put_rec(&r), -EINVAL);
		r.direction = TM_DIR_IN;
		r.family = 0;
		assert_int_equal(put_rec(&r), -EINVAL);
	}
	assert_int_equal(stats().records, 0);
	assert_int_equal(stats().open_files, 0);
}

static void test_header_new_file_only(void **state)
{
	struct fixture *fx = *state;
	char path[128], *got;
	struct traffic_record r;
	struct backend_stats st;
	struct stat sb;

	start(fx, 0);
	r = rec_make(1000, TM_DIR_OUT, "192.168.1.100", "8.8.8.8", 52, 1732985432, 123456789);
	assert_int_equal(put_rec(&r), 0);
	r = rec_make(1000, TM_DIR_IN, "8.8.8.8", "192.168.1.100", 84, 1732985432, 234567890);
	assert_int_equal(put_rec(&r), 0);
	r = rec_make(1000, TM_DIR_OUT, "2001:db8::1", "2607:f8b0:4004:800::200e", 80, 1732985434,
		     567890123);
	assert_int_equal(put_rec(&r), 0);
	/* Buffered: nothing counted as written before the flush. */
	assert_int_equal(stats().rows, 0);
	assert_int_equal(flush(), 0);

	path_of(path, sizeof(path), fx, "lo", 1000);
	got = slurp(path, NULL);
	assert_string_equal(got, HDR
			    "out,52,192.168.1.100,8.8.8.8,1732985432.123456789,0,52\n"
			    "in,84,8.8.8.8,192.168.1.100,1732985432.234567890,84,52\n"
			    "out,80,2001:db8::1,2607:f8b0:4004:800::200e,1732985434.567890123,84,132\n");
	st = stats();
	assert_int_equal(st.records, 3);
	assert_int_equal(st.rows, 3);
	assert_int_equal(st.bytes, strlen(got));	/* the header too: what reached the file */
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.write_errors, 0);
	assert_int_equal(st.open_files, 1);
	assert_int_equal(st.healthy, 1);
	assert_int_equal(st.last_errno, 0);
	assert_string_equal(st.last_error, "");
	assert_string_equal(st.remark, "");
	free(got);
	assert_int_equal(lstat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_true(S_ISREG(sb.st_mode));

	/* Restart: appended without a second header; stats start afresh with the instance. */
	stop();
	start(fx, 0);
	assert_int_equal(put(1000, TM_DIR_IN, 16), 0);
	assert_int_equal(stats().records, 1);
	assert_int_equal(stats().dropped, 0);
	stop();
	got = slurp(path, NULL);
	assert_non_null(strstr(got, "1732985434.567890123,84,132\nin,16,10.0.0.1,10.0.0.2,"
				    "1700000000.000000123,100,132\n"));
	assert_null(strstr(got + 1, "direction"));
	free(got);
}

/* An empty file created by someone else's `touch` (ours) still gets the header. */
static void test_header_on_empty_existing_file(void **state)
{
	struct fixture *fx = *state;
	char path[128];

	path_of(path, sizeof(path), fx, "lo", 3);
	spit(path, "");
	start(fx, 0);
	assert_int_equal(put(3, TM_DIR_IN, 9), 0);
	stop();
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 1);
}

static void test_totals_continue(void **state)
{
	struct fixture *fx = *state;
	uint64_t in, out;
	char path[128];

	path_of(path, sizeof(path), fx, "lo", 1000);
	for (int run = 0; run < 3; run++) {
		start(fx, 0);
		for (int i = 0; i < 100; i++)
			assert_int_equal(put(1000, i % 3 ? TM_DIR_IN : TM_DIR_OUT, 40 + i), 0);
		if (run == 1) {
			/* SIGHUP in the middle continues too. */
			assert_int_equal(reopen(), 0);
			assert_int_equal(put(1000, TM_DIR_OUT, 1), 0);
		}
		stop();
	}
	assert_int_equal(check_log(path, true, 0, 0, &in, &out), 301);
	assert_int_equal(in + out, 3 * (100 * 40 + 99 * 100 / 2) + 1);
}

static void test_small_buffer_many_rows(void **state)
{
	struct fixture *fx = *state;
	uint64_t in, out;
	char path[128];
	struct stat st;

	start(fx, 1);	/* rounded up to CSV_MIN_BUFFER */
	path_of(path, sizeof(path), fx, "lo", 42);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(put(42, i & 1, i), 0);
	/* The buffer filled many times over: most rows are already in the file before a flush. */
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 10000 * 40);
	assert_true(stats().rows > 9000);
	assert_int_equal(stats().bytes, st.st_size);
	assert_int_equal(flush(), 0);
	assert_int_equal(stats().rows, 10000);
	assert_int_equal(check_log(path, true, 0, 0, &in, &out), 10000);
	assert_int_equal(in + out, 9999ULL * 10000 / 2);
}

/*
 * A buffer starts at a page and grows only for an owner that fills it between flushes: the
 * busy owner still gets the whole configured buffer (no write(2) before it is full), and the
 * rows that cross each doubling are whole.
 */
static void test_buffer_grows_to_its_size(void **state)
{
	struct fixture *fx = *state;
	uint64_t in, out;
	char path[128];
	struct stat st;
	int n = 0;

	start(fx, 256 * 1024);
	path_of(path, sizeof(path), fx, "lo", 43);
	assert_int_equal(put(43, TM_DIR_OUT, 1), 0);
	n++;
	/* rows of about 60 bytes: 200 KiB of them go past every doubling but not past 256 KiB */
	for (; n < 3500; n++)
		assert_int_equal(put(43, n & 1, n), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(stats().rows, 0);
	/* filled: then it is written in one go and starts again */
	for (; n < 6000; n++)
		assert_int_equal(put(43, n & 1, n), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 200 * 1024);
	assert_int_equal(flush(), 0);
	assert_int_equal(stats().rows, 6000);
	assert_int_equal(check_log(path, true, 0, 0, &in, &out), 6000);
	assert_int_equal(in + out, 5999ULL * 6000 / 2 + 1);
}

static void test_multi_uid(void **state)
{
	struct fixture *fx = *state;
	uint32_t uids[] = { 0, 1000, 65534, 4294967294u };
	uint64_t in, out;
	char path[128];

	start(fx, 0);
	for (int i = 0; i < 400; i++)
		assert_int_equal(put(uids[i % 4], i / 4 % 2, 100 + i % 4), 0);
	assert_int_equal(stats().open_files, 4);
	stop();
	for (int u = 0; u < 4; u++) {
		path_of(path, sizeof(path), fx, "lo", uids[u]);
		assert_int_equal(check_log(path, true, 0, 0, &in, &out), 100);
		assert_int_equal(in, 50 * (100 + u));
		assert_int_equal(out, 50 * (100 + u));
	}
}

/* The two owners that are no uid have files of their own, named so no uid can take them. */
static void test_owner_file_names(void **state)
{
	struct fixture *fx = *state;
	char path[160], want[160], other[160];

	start(fx, 0);
	assert_int_equal(put(NOSOCK, TM_DIR_IN, 11), 0);
	assert_int_equal(put(KERNEL, TM_DIR_OUT, 22), 0);
	assert_int_equal(put(TM_OWNER(TM_KIND_USER, 0), TM_DIR_OUT, 33), 0);
	snprintf(want, sizeof(want), "%s/traffic_user_lo_nosocket.log", fx->dir);
	expect_owner_path(NOSOCK, want);
	snprintf(want, sizeof(want), "%s/traffic_user_lo_kernel.log", fx->dir);
	expect_owner_path(KERNEL, want);
	/* An owner not seen yet: where its file would be, and there is none. */
	snprintf(want, sizeof(want), "%s/traffic_user_lo_4242.log", fx->dir);
	assert_int_equal(be->ops->owner_open(be, 4242, path, sizeof(path)), -ENOENT);
	assert_string_equal(path, want);
	assert_int_equal(be->ops->owner_open(be, 4242, path, 10), -ENAMETOOLONG);
	/* Whatever someone planted at that name is not handed out as the owner's log. */
	spit(want, "out,1,6.6.6.6,6.6.6.6,1.000000000,0,1\n");
	if (geteuid() == 0) {
		assert_int_equal(chown(want, 4242, 4242), 0);
		assert_int_equal(be->ops->owner_open(be, 4242, path, sizeof(path)), -EPERM);
		assert_int_equal(chown(want, 0, 0), 0);
	}
	snprintf(other, sizeof(other), "%s/hardlink", fx->dir);
	assert_int_equal(link(want, other), 0);
	assert_int_equal(be->ops->owner_open(be, 4242, path, sizeof(path)), -EPERM);
	assert_int_equal(unlink(other), 0);
	assert_int_equal(unlink(want), 0);
	assert_int_equal(mkfifo(want, 0600), 0);
	assert_int_equal(be->ops->owner_open(be, 4242, path, sizeof(path)), -EPERM);
	assert_int_equal(unlink(want), 0);
	assert_int_equal(symlink("/etc/passwd", want), 0);
	assert_int_equal(be->ops->owner_open(be, 4242, path, sizeof(path)), -ELOOP);
	assert_int_equal(unlink(want), 0);
	/* describe() names the pattern, for people. */
	snprintf(want, sizeof(want), "%s/traffic_user_lo_<uid>.log", fx->dir);
	assert_int_equal(be->ops->describe(be, path, sizeof(path)), strlen(want));
	assert_string_equal(path, want);
	stop();

	snprintf(path, sizeof(path), "%s/traffic_user_lo_nosocket.log", fx->dir);
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 1);
	snprintf(path, sizeof(path), "%s/traffic_user_lo_kernel.log", fx->dir);
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 1);
	path_of(path, sizeof(path), fx, "lo", 0);
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 1);
	assert_int_equal(count_names(fx, "traffic_user_", NULL, 0), 3);
}

/* A group that may read every file (the tmtop group): the files are 0640 in that group. */
static void test_reader_group(void **state)
{
	struct fixture *fx = *state;
	struct backend_config cfg = base_cfg(fx);
	char path[128];
	struct stat st;

	cfg.reader_gid = getegid();
	start_cfg(&cfg);
	assert_int_equal(put(1, TM_DIR_OUT, 1), 0);
	stop();
	path_of(path, sizeof(path), fx, "lo", 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_gid, getegid());
}

static void test_torn_tail(void **state)
{
	struct fixture *fx = *state;
	char path[128], *got;

	/* A crash in the middle of the third row. */
	path_of(path, sizeof(path), fx, "lo", 1000);
	spit(path, HDR
	     "out,52,192.168.1.100,8.8.8.8,1732985432.123456789,0,52\n"
	     "in,84,8.8.8.8,192.168.1.100,1732985432.234567890,84,52\n"
	     "out,80,2001:db8::1,2607:f8b0:4004:800::200e,1732985434.5678");
	start(fx, 0);
	assert_int_equal(put(1000, TM_DIR_OUT, 8), 0);
	assert_int_equal(flush(), 0);
	assert_int_equal(stats().healthy, 1);
	assert_string_equal(stats().last_error, "");
	assert_string_equal(stats().remark, "");
	stop();
	got = slurp(path, NULL);
	assert_string_equal(got, HDR
			    "out,52,192.168.1.100,8.8.8.8,1732985432.123456789,0,52\n"
			    "in,84,8.8.8.8,192.168.1.100,1732985432.234567890,84,52\n"
			    "out,8,10.0.0.1,10.0.0.2,1700000000.000000123,84,60\n");
	free(got);

	/* A crash while writing the header of a new file: the fragment goes, the header comes. */
	path_of(path, sizeof(path), fx, "lo", 1001);
	spit(path, "direction,by");
	start(fx, 0);
	assert_int_equal(put(1001, TM_DIR_IN, 8), 0);
	stop();
	got = slurp(path, NULL);
	assert_string_equal(got, HDR "in,8,10.0.0.1,10.0.0.2,1700000000.000000123,8,0\n");
	free(got);

	/* Torn right after the header. */
	path_of(path, sizeof(path), fx, "lo", 1002);
	spit(path, HDR "in,8,10.0.0.1");
	start(fx, 0);
	assert_int_equal(put(1002, TM_DIR_IN, 8), 0);
	stop();
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 1);
}

/* Not our file: keep its content, start at 0 after a clean line break, say so. */
static void test_foreign_file(void **state)
{
	struct fixture *fx = *state;
	char path[128], *got, longline[6000];

	path_of(path, sizeof(path), fx, "lo", 7);
	spit(path, "hello world\n");
	start(fx, 0);
	assert_int_equal(put(7, TM_DIR_OUT, 5), 0);
	assert_int_equal(flush(), 0);
	assert_non_null(strstr(stats().remark, "not a tmtop row"));
	assert_non_null(strstr(stats().remark, path));
	assert_int_equal(stats().write_errors, 0);
	assert_int_equal(stats().healthy, 1);
	stop();
	got = slurp(path, NULL);
	assert_string_equal(got, "hello world\nout,5,10.0.0.1,10.0.0.2,1700000000.000000123,0,5\n");
	free(got);

	/* A long unterminated last line is not a torn row of ours: it is kept and fenced off. */
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	path_of(path, sizeof(path), fx, "lo", 8);
	spit(path, longline);
	start(fx, 0);
	assert_int_equal(put(8, TM_DIR_IN, 5), 0);
	assert_non_null(strstr(stats().remark, "not a tmtop log"));
	stop();
	got = slurp(path, NULL);
	assert_int_equal(strlen(got), sizeof(longline) - 1 + 1 + strlen("in,5,10.0.0.1,10.0.0.2,"
									"1700000000.000000123,5,0\n"));
	assert_memory_equal(got, longline, sizeof(longline) - 1);
	assert_string_equal(got + sizeof(longline) - 1,
			    "\nin,5,10.0.0.1,10.0.0.2,1700000000.000000123,5,0\n");
	free(got);
}

/*
 * A name taken by something that is not ours to write: every row of the owner goes to a
 * fallback file of its own, the remark says why, nothing is counted as an error, and the
 * backend stays healthy. Returns the fallback's path.
 */
static void expect_fallback(const struct fixture *fx, uint32_t uid, int rows, const char *why,
			    char *fb, size_t fblen)
{
	struct backend_stats st;
	char tok[16];

	snprintf(tok, sizeof(tok), "%u", uid);
	for (int i = 0; i < rows; i++)
		assert_int_equal(put(uid, i & 1, 52 + i), 0);
	assert_int_equal(flush(), 0);
	st = stats();
	assert_int_equal(st.write_errors, 0);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.healthy, 1);
	assert_int_equal(st.last_errno, 0);
	if (why && !strstr(st.remark, why))
		fail_msg("remark '%s' lacks '%s'", st.remark, why);
	assert_non_null(strstr(st.remark, "logging to a file of our own"));
	fallback_of(fx, tok, fb, fblen);
	expect_owner_path(uid, fb);
	assert_int_equal(check_log(fb, true, 0, 0, NULL, NULL), rows);
}

static void test_symlink_fallback(void **state)
{
	struct fixture *fx = *state;
	char path[128], target[128], fb[PATH_MAX], *got;
	struct stat st;

	snprintf(target, sizeof(target), "%s/victim", fx->dir);
	spit(target, "precious\n");
	assert_int_equal(chmod(target, 0644), 0);
	path_of(path, sizeof(path), fx, "lo", 1000);
	assert_int_equal(symlink(target, path), 0);
	start(fx, 0);
	expect_fallback(fx, 1000, 100, "a symbolic link", fb, sizeof(fb));
	assert_int_equal(stats().records, 100);
	assert_int_equal(stats().rows, 100);
	/* Later rows follow into the same fallback, with its totals. */
	assert_int_equal(put(1000, TM_DIR_OUT, 1), 0);
	stop();
	assert_int_equal(check_log(fb, true, 0, 0, NULL, NULL), 101);
	got = slurp(target, NULL);
	assert_string_equal(got, "precious\n");
	free(got);
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(lstat(fb, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* A dangling symlink is not followed to create its target either. */
	snprintf(target, sizeof(target), "%s/nothere", fx->dir);
	path_of(path, sizeof(path), fx, "lo", 1001);
	assert_int_equal(symlink(target, path), 0);
	start(fx, 0);
	expect_fallback(fx, 1001, 3, "a symbolic link", fb, sizeof(fb));
	stop();
	assert_int_equal(access(target, F_OK), -1);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static void test_hardlink_fallback(void **state)
{
	struct fixture *fx = *state;
	char path[128], other[128], fb[PATH_MAX], *before, *after;

	path_of(path, sizeof(path), fx, "lo", 1000);
	snprintf(other, sizeof(other), "%s/elsewhere", fx->dir);
	start(fx, 0);
	assert_int_equal(put(1000, TM_DIR_OUT, 52), 0);
	stop();
	before = slurp(path, NULL);
	assert_int_equal(link(path, other), 0);

	start(fx, 0);
	expect_fallback(fx, 1000, 10, "hard-linked", fb, sizeof(fb));
	stop();
	after = slurp(path, NULL);
	assert_string_equal(before, after);
	free(after);
	after = slurp(other, NULL);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void test_non_regular_fallback(void **state)
{
	struct fixture *fx = *state;
	char path[128], fb[PATH_MAX];
	struct stat st;

	path_of(path, sizeof(path), fx, "lo", 1);
	assert_int_equal(mkfifo(path, 0600), 0);
	path_of(path, sizeof(path), fx, "lo", 2);
	assert_int_equal(mkdir(path, 0700), 0);
	start(fx, 0);
	/* A FIFO with no reader must not block the engine. */
	expect_fallback(fx, 1, 5, "not a regular file", fb, sizeof(fb));
	expect_fallback(fx, 2, 5, "a directory", fb, sizeof(fb));
	/* Another uid is not affected. */
	assert_int_equal(put(3, TM_DIR_OUT, 52), 0);
	assert_int_equal(flush(), 0);
	assert_int_equal(stats().healthy, 1);
	assert_int_equal(stats().rows, 11);
	stop();
	path_of(path, sizeof(path), fx, "lo", 1);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	path_of(path, sizeof(path), fx, "lo", 2);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(count_names(fx, "traffic_user_lo_2.log/", NULL, 0), 0);
	{
		DIR *d = opendir(path);
		int n = 0;

		assert_non_null(d);
		while (readdir(d))
			n++;
		closedir(d);
		assert_int_equal(n, 2);	/* "." and "..": nothing was put inside */
	}
	path_of(path, sizeof(path), fx, "lo", 3);
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 1);
}

static void test_foreign_owner_fallback(void **state)
{
	struct fixture *fx = *state;
	char path[128], fb[PATH_MAX], *got;
	struct stat st;

	if (geteuid() != 0)
		skip();	/* planting a file of another uid needs root */
	path_of(path, sizeof(path), fx, "lo", 1000);
	spit(path, "");
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(chmod(path, 0666), 0);
	start(fx, 0);
	expect_fallback(fx, 1000, 7, "owned by another user", fb, sizeof(fb));
	stop();
	got = slurp(path, NULL);
	assert_string_equal(got, "");
	free(got);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(stat(fb, &st), 0);
	assert_int_equal(st.st_uid, geteuid());
}

/* Two loggers on one file would interleave their totals: the second logs elsewhere. */
static void test_second_logger_fallback(void **state)
{
	struct fixture *fx = *state;
	char path[128], fb[PATH_MAX];
	struct backend *first;
	int fd;

	path_of(path, sizeof(path), fx, "lo", 1000);
	spit(path, "");
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	start(fx, 0);
	expect_fallback(fx, 1000, 4, "in use", fb, sizeof(fb));
	/* The lock goes; after SIGHUP the owner's rows go to its own name again. */
	close(fd);
	assert_int_equal(reopen(), 0);
	assert_int_equal(put(1000, TM_DIR_OUT, 52), 0);
	expect_owner_path(1000, path);
	stop();
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 1);
	assert_int_equal(check_log(fb, true, 0, 0, NULL, NULL), 4);
	assert_int_equal(unlink(fb), 0);

	/* Two instances in one process: the second gets a fallback, both keep every row. */
	start(fx, 0);
	assert_int_equal(put(1000, TM_DIR_OUT, 1), 0);
	assert_int_equal(flush(), 0);
	first = be;
	be = NULL;
	start(fx, 0);
	expect_fallback(fx, 1000, 3, "in use", fb, sizeof(fb));
	stop();
	be = first;
	assert_int_equal(put(1000, TM_DIR_OUT, 1), 0);
	stop();
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 3);
	assert_int_equal(check_log(fb, true, 0, 0, NULL, NULL), 3);
}

/*
 * SIGHUP (logrotate) while the standard name stays taken: the owner goes on in the fallback it
 * had, totals continuing, instead of a new file per reopen; after logrotate moved it, the
 * same name is made again; a plant at that name moves the owner to a new one, untouched.
 */
static void test_fallback_kept_across_reopen(void **state)
{
	struct fixture *fx = *state;
	char path[128], fb[PATH_MAX], fb2[PATH_MAX], moved[PATH_MAX + 8];
	struct stat st;

	path_of(path, sizeof(path), fx, "lo", 1000);
	assert_int_equal(symlink("/nonexistent", path), 0);
	start(fx, 0);
	expect_fallback(fx, 1000, 5, "a symbolic link", fb, sizeof(fb));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(reopen(), 0);
		assert_int_equal(put(1000, TM_DIR_OUT, 7), 0);
		assert_int_equal(flush(), 0);
	}
	fallback_of(fx, "1000", fb2, sizeof(fb2));	/* still one fallback: the same */
	assert_string_equal(fb2, fb);
	assert_int_equal(check_log(fb, true, 0, 0, NULL, NULL), 8);

	/* logrotate moves it, then SIGHUP: the same name again, a new file from total 0 */
	snprintf(moved, sizeof(moved), "%s.moved", fb);
	assert_int_equal(rename(fb, moved), 0);
	assert_int_equal(reopen(), 0);
	assert_int_equal(put(1000, TM_DIR_IN, 9), 0);
	assert_int_equal(flush(), 0);
	fallback_of(fx, "1000", fb2, sizeof(fb2));
	assert_string_equal(fb2, fb);
	assert_int_equal(check_log(fb, true, 0, 0, NULL, NULL), 1);
	assert_int_equal(check_log(moved, true, 0, 0, NULL, NULL), 8);

	/* someone who read the name plants there after the move: a new name, the plant intact */
	assert_int_equal(rename(fb, moved), 0);
	assert_int_equal(symlink("/nonexistent", fb), 0);
	assert_int_equal(reopen(), 0);
	assert_int_equal(put(1000, TM_DIR_IN, 9), 0);
	assert_int_equal(flush(), 0);
	assert_int_equal(lstat(fb, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(unlink(fb), 0);
	fallback_of(fx, "1000", fb2, sizeof(fb2));
	assert_string_not_equal(fb2, fb);
	expect_owner_path(1000, fb2);
	assert_int_equal(check_log(fb2, true, 0, 0, NULL, NULL), 1);
	stop();
}

/* A real error (no descriptor left) is counted, retried once a second or at once on SIGHUP. */
static void test_open_error_retry(void **state)
{
	struct fixture *fx = *state;
	struct backend_stats st;
	struct rlimit rl, low;
	char path[128];
	int r1, r2, r3, fd;

	start(fx, 0);
	/* Nothing below the lowest free descriptor is free: the next open fails with EMFILE. */
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = (rlim_t)fd;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	r1 = put(1, TM_DIR_OUT, 52);
	r2 = put(1, TM_DIR_OUT, 52);	/* within the second: not retried */
	r3 = put(2, TM_DIR_OUT, 52);	/* another owner tries on its own */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(r1, -EMFILE);
	assert_int_equal(r2, -EAGAIN);
	assert_int_equal(r3, -EMFILE);
	st = stats();
	assert_int_equal(st.write_errors, 2);
	assert_int_equal(st.dropped, 3);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.healthy, 0);
	assert_int_equal(st.last_errno, EMFILE);
	path_of(path, sizeof(path), fx, "lo", 2);
	assert_non_null(strstr(st.last_error, path));
	assert_non_null(strstr(st.last_error, strerror(EMFILE)));
	/* Retried at most once a second: a burst of records is one error. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(put(1, TM_DIR_OUT, 52), -EAGAIN);
	assert_int_equal(stats().write_errors, 2);
	assert_int_equal(stats().dropped, 103);
	/* SIGHUP retries at once. */
	assert_int_equal(reopen(), 0);
	assert_int_equal(put(1, TM_DIR_OUT, 7), 0);
	assert_int_equal(flush(), 0);
	assert_int_equal(stats().healthy, 1);
	assert_int_equal(stats().last_errno, 0);
	path_of(path, sizeof(path), fx, "lo", 1);
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 1);
	/* ... and so does the next record after a second. */
	usleep(1100 * 1000);
	assert_int_equal(put(2, TM_DIR_OUT, 7), 0);
	stop();
	path_of(path, sizeof(path), fx, "lo", 2);
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 1);
}

static void test_reopen_after_rotate(void **state)
{
	struct fixture *fx = *state;
	char path[128], rotated[160];
	uint64_t in, out;

	path_of(path, sizeof(path), fx, "lo", 1000);
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	start(fx, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(put(1000, TM_DIR_OUT, 100), 0);
	assert_int_equal(flush(), 0);
	assert_int_equal(rename(path, rotated), 0);
	/* Until SIGHUP the old file keeps receiving rows, as logrotate without copytruncate expects. */
	assert_int_equal(put(1000, TM_DIR_OUT, 100), 0);
	assert_int_equal(reopen(), 0);
	assert_int_equal(stats().open_files, 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(put(1000, TM_DIR_IN, 10), 0);
	stop();
	assert_int_equal(check_log(rotated, true, 0, 0, &in, &out), 11);
	assert_int_equal(out, 1100);
	assert_int_equal(check_log(path, true, 0, 0, &in, &out), 5);
	assert_int_equal(in, 50);
	assert_int_equal(out, 0);
}

static void set_fsize(rlim_t soft)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = soft == RLIM_INFINITY ? rl.rlim_max : soft;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/*
 * Real write errors: RLIMIT_FSIZE makes write(2) stop short at the limit and then fail with
 * EFBIG (SIGXFSZ ignored), just like a disk filling up mid-buffer. No assertion runs while the
 * limit is low, since cmocka's own output may be going to a file.
 */
static void test_write_error_and_recovery(void **state)
{
	struct fixture *fx = *state;
	struct backend_stats st;
	uint64_t in, out, in2, out2;
	size_t rows, rows2;
	char path[128];
	struct stat sb;
	int ret, ret2;

	signal(SIGXFSZ, SIG_IGN);
	path_of(path, sizeof(path), fx, "lo", 1000);
	start(fx, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(put(1000, TM_DIR_OUT, 100 + i), 0);
	assert_int_equal(flush(), 0);
	assert_int_equal(stat(path, &sb), 0);

	/* The limit falls in the middle of the second new row: one row makes it, a fragment too. */
	for (int i = 0; i < 10; i++)
		put(1000, i & 1, 1000 + i);
	set_fsize(sb.st_size + 80);
	ret = flush();
	set_fsize(RLIM_INFINITY);

	assert_int_equal(ret, -EFBIG);
	st = stats();
	assert_int_equal(st.write_errors, 1);
	assert_int_equal(st.last_errno, EFBIG);
	assert_int_equal(st.healthy, 0);
	assert_non_null(strstr(st.last_error, path));
	assert_non_null(strstr(st.last_error, strerror(EFBIG)));
	/* The fragment was cut off: the file is whole, and its totals are its own rows. */
	rows = check_log(path, true, 0, 0, &in, &out);
	assert_int_equal(rows, 4);
	assert_int_equal(st.dropped, 9);
	assert_int_equal(st.records - st.dropped, rows);
	assert_int_equal(st.rows, rows);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(st.bytes, sb.st_size);

	/* Nothing fits at all: every row of the buffer is dropped, the file is untouched. */
	for (int i = 0; i < 5; i++)
		put(1000, TM_DIR_IN, 7);
	set_fsize(sb.st_size);
	ret = flush();
	ret2 = put(1000, TM_DIR_OUT, 1);	/* accepted into the buffer meanwhile */
	set_fsize(RLIM_INFINITY);
	assert_int_equal(ret, -EFBIG);
	assert_int_equal(ret2, 0);
	assert_int_equal(stats().write_errors, 2);
	assert_int_equal(stats().dropped, 14);
	assert_int_equal(check_log(path, true, 0, 0, &in2, &out2), rows);
	assert_int_equal(in2, in);
	assert_int_equal(out2, out);

	/* The disk has room again: logging resumes, totals continue from the file's own rows. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(put(1000, TM_DIR_IN, 3), 0);
	assert_int_equal(flush(), 0);
	st = stats();
	assert_int_equal(st.healthy, 1);
	assert_int_equal(st.last_errno, 0);
	assert_int_equal(st.write_errors, 2);
	rows2 = check_log(path, true, 0, 0, &in2, &out2);
	assert_int_equal(rows2, rows + 6);
	assert_int_equal(in2, in + 15);
	assert_int_equal(out2, out + 1);
	assert_int_equal(st.records - st.dropped, rows2);
	assert_int_equal(st.rows, rows2);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(st.bytes, sb.st_size);
	stop();

	/* And a restart continues from there. */
	start(fx, 0);
	assert_int_equal(put(1000, TM_DIR_IN, 1), 0);
	stop();
	assert_int_equal(check_log(path, true, 0, 0, &in, &out), rows2 + 1);
	assert_int_equal(in, in2 + 1);
}

/* A failed write of a brand-new file's first buffer must not leave it without a header. */
static void test_write_error_new_file(void **state)
{
	struct fixture *fx = *state;
	char path[128];
	int ret;

	signal(SIGXFSZ, SIG_IGN);
	path_of(path, sizeof(path), fx, "lo", 9);
	start(fx, 0);
	assert_int_equal(put(9, TM_DIR_OUT, 1), 0);
	set_fsize(20);	/* half the header */
	ret = flush();
	set_fsize(RLIM_INFINITY);
	assert_int_equal(ret, -EFBIG);
	assert_int_equal(stats().dropped, 1);
	assert_int_equal(stats().rows, 0);
	assert_int_equal(put(9, TM_DIR_OUT, 2), 0);
	assert_int_equal(flush(), 0);
	stop();
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 1);
}

/* At most max_open files are open; the least recently written closes and later resumes. */
static void test_max_open(void **state)
{
	struct fixture *fx = *state;
	struct backend_config cfg = base_cfg(fx);
	char path[6][128];
	uint64_t in, out;

	for (int u = 1; u <= 5; u++)
		path_of(path[u], sizeof(path[u]), fx, "lo", u);
	cfg.max_open = 3;
	start_cfg(&cfg);
	assert_int_equal(put(1, TM_DIR_OUT, 10), 0);
	assert_int_equal(put(2, TM_DIR_OUT, 20), 0);
	assert_int_equal(put(3, TM_DIR_OUT, 30), 0);
	assert_int_equal(put(1, TM_DIR_IN, 11), 0);	/* 2 is now the least recently written */
	assert_int_equal(stats().open_files, 3);
	assert_int_equal(put(4, TM_DIR_OUT, 40), 0);
	assert_int_equal(stats().open_files, 3);
	assert_true(is_open(path[1]) && is_open(path[3]) && is_open(path[4]));
	assert_false(is_open(path[2]));
	/* Its rows were flushed when it closed. */
	assert_int_equal(check_log(path[2], true, 0, 0, NULL, NULL), 1);
	/* It comes back from its tail: totals continue. */
	assert_int_equal(put(2, TM_DIR_OUT, 21), 0);
	assert_false(is_open(path[3]));
	assert_int_equal(stats().open_files, 3);
	/* A flood over many owners never holds more than the bound. */
	for (int i = 0; i < 200; i++) {
		assert_int_equal(put(1 + i % 5, i & 1, 1 + i), 0);
		assert_true(stats().open_files <= 3);
	}
	assert_int_equal(stats().records, 206);
	assert_int_equal(flush(), 0);
	assert_int_equal(stats().rows, 206);
	assert_int_equal(stats().write_errors, 0);
	stop();
	for (int u = 1; u <= 5; u++) {
		size_t want = 40 + (u <= 4) + (u == 1) + (u == 2);

		assert_int_equal(check_log(path[u], true, 0, 0, &in, &out), want);
	}
}

/* The gzip'd rotated file, unpacked. */
static char *gunzip(const char *path, size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);
	gzFile z = gzopen(path, "rb");
	int r;

	assert_non_null(buf);
	if (!z)
		fail_msg("gzopen %s", path);
	while ((r = gzread(z, buf + n, (unsigned int)(cap - n))) > 0)
		n += (size_t)r;
	assert_true(r == 0);
	assert_int_equal(gzclose(z), Z_OK);
	*len = n;
	return buf;
}

/* --max-file-size: <name>.1, .2, ... keeping max_files, each new file with a header at 0. */
static void run_rotation(struct fixture *fx, bool compress)
{
	struct backend_config cfg = base_cfg(fx);
	char path[128], name[192], prefix[64];
	uint64_t rotations;
	size_t total = 0;
	struct stat st;

	path_of(path, sizeof(path), fx, "lo", 1000);
	cfg.max_file_size = 1000;
	cfg.max_files = 3;
	cfg.compress = compress;
	start_cfg(&cfg);
	for (int i = 0; i < 150; i++)
		assert_int_equal(put(1000, i % 3 ? TM_DIR_IN : TM_DIR_OUT, 100 + i), 0);
	assert_int_equal(flush(), 0);
	rotations = stats().rotations;
	assert_true(rotations >= 8);
	assert_non_null(strstr(stats().remark, "rotated"));
	assert_int_equal(stats().rows, 150);
	assert_int_equal(stats().write_errors, 0);
	stop();

	/* The newest three rotated files stay, the older ones of ours are gone. */
	snprintf(prefix, sizeof(prefix), "traffic_user_lo_1000.log.");
	assert_int_equal(count_names(fx, prefix, NULL, 0), 3);
	for (uint64_t k = rotations - 2; k <= rotations + 1; k++) {
		size_t len, rows;
		char *buf;

		if (k == rotations + 1) {
			snprintf(name, sizeof(name), "%s", path);	/* the current file */
			buf = slurp(name, &len);
		} else if (compress) {
			snprintf(name, sizeof(name), "%s.%llu.gz", path, (unsigned long long)k);
			buf = gunzip(name, &len);
			snprintf(name, sizeof(name), "%s.%llu", path, (unsigned long long)k);
			assert_int_equal(access(name, F_OK), -1);
		} else {
			snprintf(name, sizeof(name), "%s.%llu", path, (unsigned long long)k);
			buf = slurp(name, &len);
		}
		/* Every file starts with the header and its own totals from 0, and fits. */
		rows = check_buf(buf, len, HDR, 0, 0, NULL, NULL);
		assert_true(rows > 0);
		assert_true(len <= cfg.max_file_size);
		total += rows;
		free(buf);
		if (compress && k <= rotations) {
			snprintf(name, sizeof(name), "%s.%llu.gz", path, (unsigned long long)k);
			assert_int_equal(stat(name, &st), 0);
			assert_int_equal(st.st_mode & 07777, 0600);
		}
	}
	assert_true(total < 150);
	snprintf(name, sizeof(name), "%s.%llu", path, (unsigned long long)rotations - 3);
	assert_int_equal(access(name, F_OK), -1);
	/* No temporary file of the compressor is left behind. */
	assert_int_equal(count_names(fx, "traffic_user_lo_1000.log.1.gz.tmp", NULL, 0), 0);
}

static void test_rotate_by_size(void **state)
{
	run_rotation(*state, false);
}

static void test_rotate_compress(void **state)
{
	run_rotation(*state, true);
}

/*
 * Pruning past --max-files races with the thread compressing the newest rotated file: the
 * limit holds whichever runs first (a short run many times, as the race is not every time).
 */
static void test_rotate_compress_race(void **state)
{
	struct fixture *fx = *state;
	struct backend_config cfg = base_cfg(fx);
	char path[128];

	path_of(path, sizeof(path), fx, "lo", 1000);
	cfg.max_file_size = 1000;
	cfg.max_files = 3;
	cfg.compress = true;
	for (int round = 0; round < 40; round++) {
		start_cfg(&cfg);
		for (int i = 0; i < 60; i++)
			assert_int_equal(put(1000, TM_DIR_OUT, 100), 0);
		stop();
		if (count_names(fx, "traffic_user_lo_1000.log.", NULL, 0) != 3)
			fail_msg("round %d: %d rotated files, want 3", round,
				 count_names(fx, "traffic_user_lo_1000.log.", NULL, 0));
	}
}

/* Rotation deletes only files of our own uid; a planted one stays and is not counted. */
static void test_rotate_keeps_foreign(void **state)
{
	struct fixture *fx = *state;
	struct backend_config cfg = base_cfg(fx);
	char path[128], planted[160], *got;
	struct stat st;

	if (geteuid() != 0)
		skip();	/* planting a file of another uid needs root */
	path_of(path, sizeof(path), fx, "lo", 1000);
	snprintf(planted, sizeof(planted), "%s.1", path);
	spit(planted, "someone else's\n");
	assert_int_equal(chown(planted, 65534, 65534), 0);
	cfg.max_file_size = 1000;
	cfg.max_files = 1;
	start_cfg(&cfg);
	for (int i = 0; i < 100; i++)
		assert_int_equal(put(1000, TM_DIR_OUT, 100), 0);
	assert_true(stats().rotations >= 5);
	stop();
	got = slurp(planted, NULL);
	assert_string_equal(got, "someone else's\n");
	free(got);
	assert_int_equal(stat(planted, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	/* ours: the current file and the newest rotated one */
	assert_int_equal(count_names(fx, "traffic_user_lo_1000.log", NULL, 0), 3);
}

/* Totals never wrap: a file whose totals would pass 2^64 is rotated, the new one starts at 0. */
static void test_totals_rotate_before_wrap(void **state)
{
	struct fixture *fx = *state;
	char path[128], rotated[160], *got;
	const char *old = HDR "in,5,10.0.0.1,10.0.0.2,1.000000000,18446744073709551605,0\n";

	path_of(path, sizeof(path), fx, "lo", 1000);
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	spit(path, old);
	start(fx, 0);
	assert_int_equal(put(1000, TM_DIR_OUT, 5), 0);	/* out has room */
	assert_int_equal(put(1000, TM_DIR_IN, 10), 0);	/* exactly 2^64 - 1: still fits */
	assert_int_equal(put(1000, TM_DIR_IN, 100), 0);	/* past it: a new file */
	assert_int_equal(stats().rotations, 1);
	assert_non_null(strstr(stats().remark, "2^64"));
	assert_int_equal(flush(), 0);
	assert_int_equal(stats().rows, 3);
	stop();
	got = slurp(rotated, NULL);
	assert_string_equal(got, HDR
			    "in,5,10.0.0.1,10.0.0.2,1.000000000,18446744073709551605,0\n"
			    "out,5,10.0.0.1,10.0.0.2,1700000000.000000123,18446744073709551605,5\n"
			    "in,10,10.0.0.1,10.0.0.2,1700000000.000000123,"
			    "18446744073709551615,5\n");
	free(got);
	got = slurp(path, NULL);
	assert_string_equal(got, HDR "in,100,10.0.0.1,10.0.0.2,1700000000.000000123,100,0\n");
	free(got);
}

/* Below the free-space floor rows are counted as not written, and nothing is created. */
static void test_min_free(void **state)
{
	struct fixture *fx = *state;
	struct backend_config cfg = base_cfg(fx);
	struct backend_stats st;
	struct statvfs sv;
	char path[128];
	unsigned int pct;

	path_of(path, sizeof(path), fx, "lo", 1);
	cfg.min_free = UINT64_MAX / 2;	/* more than any disk has free */
	start_cfg(&cfg);
	for (int i = 0; i < 10; i++)
		assert_int_equal(put(1, TM_DIR_OUT, 10), -ENOSPC);
	assert_int_equal(flush(), 0);
	st = stats();
	assert_int_equal(st.records, 10);
	assert_int_equal(st.not_written, 10);
	assert_int_equal(st.rows, 0);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.write_errors, 0);
	assert_int_equal(st.healthy, 0);
	assert_non_null(strstr(st.last_error, "free-space floor"));
	assert_int_equal(access(path, F_OK), -1);
	stop();

	/* A floor the disk is above changes nothing. */
	cfg.min_free = 1;
	start_cfg(&cfg);
	assert_int_equal(put(1, TM_DIR_OUT, 10), 0);
	assert_int_equal(flush(), 0);
	assert_int_equal(stats().not_written, 0);
	assert_int_equal(stats().healthy, 1);
	stop();
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 1);

	/* The same as a percentage of the filesystem. */
	assert_int_equal(statvfs(fx->dir, &sv), 0);
	pct = (unsigned int)((uint64_t)sv.f_bavail * 100 / sv.f_blocks);
	if (pct >= 99)
		return;
	cfg.min_free = 0;
	cfg.min_free_pct = pct + 1;
	start_cfg(&cfg);
	assert_int_equal(put(1, TM_DIR_OUT, 10), -ENOSPC);
	assert_int_equal(stats().not_written, 1);
	stop();
	if (pct < 2)
		return;
	cfg.min_free_pct = pct - 1;	/* a point of margin: others write to this disk too */
	start_cfg(&cfg);
	assert_int_equal(put(1, TM_DIR_OUT, 10), 0);
	stop();
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 2);
}

/* --log-format extended: the header and the rows, and a reader that takes both formats. */
static void test_extended_backend(void **state)
{
	struct fixture *fx = *state;
	struct backend_config cfg = base_cfg(fx);
	struct proc_ident pi = { .tgid = 77, .comm = "we,ird\"", .cgroup = "/system.slice/x" };
	struct traffic_record r = rec_make(1000, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 60, 5, 6);
	char path[128], *got;
	uint64_t in, out;

	path_of(path, sizeof(path), fx, "lo", 1000);
	cfg.extended = true;
	start_cfg(&cfg);
	r.proto = 6;
	r.sport = 1234;
	r.dport = 80;
	r.proc = &pi;
	assert_int_equal(put_rec(&r), 0);
	r.direction = TM_DIR_IN;
	r.proc = NULL;
	assert_int_equal(put_rec(&r), 0);
	stop();
	got = slurp(path, NULL);
	assert_string_equal(got, HDR_EXT
			    "out,60,10.0.0.1,10.0.0.2,5.000000006,0,60,tcp,1234,80,77,"
			    "\"we,ird\"\"\",/system.slice/x\n"
			    "in,60,10.0.0.1,10.0.0.2,5.000000006,60,60,tcp,1234,80,,,\n");
	free(got);
	/* Restarted in the same format: totals continue from an extended row. */
	start_cfg(&cfg);
	assert_int_equal(put(1000, TM_DIR_IN, 1), 0);
	stop();
	assert_int_equal(check_log_hdr(path, HDR_EXT, 0, 0, &in, &out), 3);
	assert_true(in == 61 && out == 60);
}

/* A log in the other column layout is rotated away first: one file never mixes the two. */
static void test_format_switch_rotates(void **state)
{
	struct fixture *fx = *state;
	struct backend_config cfg = base_cfg(fx);
	char path[128], rotated[160], *before, *got;

	path_of(path, sizeof(path), fx, "lo", 1000);
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	start_cfg(&cfg);
	assert_int_equal(put(1000, TM_DIR_OUT, 5), 0);
	stop();
	before = slurp(path, NULL);

	cfg.extended = true;
	start_cfg(&cfg);
	assert_int_equal(put(1000, TM_DIR_OUT, 7), 0);
	assert_int_equal(stats().rotations, 1);
	stop();
	got = slurp(rotated, NULL);
	assert_string_equal(got, before);
	free(got);
	assert_int_equal(check_log_hdr(path, HDR_EXT, 0, 0, NULL, NULL), 1);

	/* And back: the extended file becomes .2. */
	cfg.extended = false;
	start_cfg(&cfg);
	assert_int_equal(put(1000, TM_DIR_OUT, 9), 0);
	stop();
	snprintf(rotated, sizeof(rotated), "%s.2", path);
	assert_int_equal(check_log_hdr(rotated, HDR_EXT, 0, 0, NULL, NULL), 1);
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 1);
	free(before);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_v4),
		cmocka_unit_test(test_format_v6),
		cmocka_unit_test(test_format_v6_matches_inet_ntop),
		cmocka_unit_test(test_format_timestamp_padding),
		cmocka_unit_test(test_format_limits),
		cmocka_unit_test(test_format_extended),
		cmocka_unit_test(test_format_extended_quoting),
		cmocka_unit_test(test_format_extended_limits),
		cmocka_unit_test(test_parse_totals),
		T(test_open_errors),
		T(test_header_new_file_only),
		T(test_header_on_empty_existing_file),
		T(test_totals_continue),
		T(test_small_buffer_many_rows),
		T(test_buffer_grows_to_its_size),
		T(test_multi_uid),
		T(test_owner_file_names),
		T(test_reader_group),
		T(test_torn_tail),
		T(test_foreign_file),
		T(test_symlink_fallback),
		T(test_hardlink_fallback),
		T(test_non_regular_fallback),
		T(test_foreign_owner_fallback),
		T(test_second_logger_fallback),
		T(test_fallback_kept_across_reopen),
		T(test_open_error_retry),
		T(test_reopen_after_rotate),
		T(test_write_error_and_recovery),
		T(test_write_error_new_file),
		T(test_max_open),
		T(test_rotate_by_size),
		T(test_rotate_compress),
		T(test_rotate_compress_race),
		T(test_rotate_keeps_foreign),
		T(test_totals_rotate_before_wrap),
		T(test_min_free),
		T(test_extended_backend),
		T(test_format_switch_rotates),
	};
#undef T

	return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
