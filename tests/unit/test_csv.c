// SPDX-License-Identifier: GPL-2.0
/*
 * The CSV backend against real files in a fresh temporary directory per test: row format,
 * header and totals across restarts, torn tails, the refusals (symlink, hard link, FIFO,
 * directory, foreign owner, a second logger), logrotate, and write errors made real with
 * RLIMIT_FSIZE.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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
#include <linux/types.h>
#include <cmocka.h>

#include "traffic_meter.h"
#include "backend/backend.h"
#include "backend/csv.h"

#define HDR CSV_HEADER

struct fixture {
	char dir[64];
};

static const struct output_backend *be = &csv_backend;

/* ---- helpers ----------------------------------------------------------------------------- */

static struct traffic_record rec_make(uint32_t uid, int dir, const char *src, const char *dst,
				      uint32_t bytes, time_t sec, long nsec)
{
	struct traffic_record r = { .uid = uid, .bytes = bytes, .direction = dir };

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

static int put(uint32_t uid, int dir, uint32_t bytes)
{
	struct traffic_record r = rec_make(uid, dir, "10.0.0.1", "10.0.0.2", bytes, 1700000000,
					   123);

	return be->write(&r);
}

static void path_of(char *buf, size_t len, const struct fixture *fx, const char *nic, uint32_t uid)
{
	snprintf(buf, len, "%s/traffic_user_%s_%u.log", fx->dir, nic, uid);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(fp);
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

static void start(const struct fixture *fx, size_t buffer)
{
	struct backend_config cfg = { .log_dir = fx->dir, .nic_id = "lo", .buffer_bytes = buffer };

	assert_int_equal(be->init(&cfg), 0);
}

static struct backend_stats stats(void)
{
	struct backend_stats st;

	be->stats(&st);
	return st;
}

/*
 * Check a whole log: at most one header and only as the first line, every line a complete
 * row, totals equal to the running sums of the bytes column (starting from `in0`/`out0`).
 * Returns the number of rows; the final totals go to *in / *out.
 */
static size_t check_log(const char *path, bool header, uint64_t in0, uint64_t out0, uint64_t *in,
			uint64_t *out)
{
	size_t len, rows = 0;
	char *buf = slurp(path, &len);
	char *line = buf, *nl;
	uint64_t sum[2] = { in0, out0 };

	assert_true(len > 0);
	assert_int_equal(buf[len - 1], '\n');
	if (header) {
		assert_memory_equal(buf, HDR, sizeof(HDR) - 1);
		line += sizeof(HDR) - 1;
	}
	for (; (nl = strchr(line, '\n')); line = nl + 1) {
		char dir[8];
		unsigned int bytes;
		uint64_t tin, tout;

		assert_int_equal(csv_parse_totals(line, nl - line + 1, &tin, &tout), 0);
		assert_int_equal(sscanf(line, "%7[^,],%u,", dir, &bytes), 2);
		sum[strcmp(dir, "out") ? TM_DIR_IN : TM_DIR_OUT] += bytes;
		assert_int_equal(tin, sum[TM_DIR_IN]);
		assert_int_equal(tout, sum[TM_DIR_OUT]);
		rows++;
	}
	free(buf);
	if (in)
		*in = sum[TM_DIR_IN];
	if (out)
		*out = sum[TM_DIR_OUT];
	return rows;
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

	be->close();
	nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* ---- pure formatting --------------------------------------------------------------------- */

static void expect_row(const struct traffic_record *r, uint64_t in, uint64_t out, const char *want)
{
	char buf[CSV_ROW_MAX];
	size_t n = csv_format_row(buf, sizeof(buf), r, in, out);

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
		n = csv_format_row(buf, sizeof(buf), &r, 0, 0);
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
}

static void test_format_limits(void **state)
{
	struct traffic_record r = rec_make(1, TM_DIR_OUT, "1.2.3.4", "5.6.7.8", 1, 5, 7);
	const char *want = "out,1,1.2.3.4,5.6.7.8,5.000000007,0,1\n";
	char buf[CSV_ROW_MAX];

	/* Exactly enough room for the row and its NUL, then one byte less. */
	assert_int_equal(csv_format_row(buf, strlen(want) + 1, &r, 0, 1), strlen(want));
	assert_string_equal(buf, want);
	assert_int_equal(csv_format_row(buf, strlen(want), &r, 0, 1), 0);
	r.direction = 2;
	assert_int_equal(csv_format_row(buf, sizeof(buf), &r, 0, 1), 0);
	r.direction = TM_DIR_IN;
	r.family = 5;
	assert_int_equal(csv_format_row(buf, sizeof(buf), &r, 0, 1), 0);

	/* The longest possible row fits CSV_ROW_MAX. */
	r = rec_make(1, TM_DIR_OUT, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", UINT32_MAX, INT64_MAX, 999999999);
	assert_true(csv_format_row(buf, sizeof(buf), &r, UINT64_MAX, UINT64_MAX) > 0);
	r = rec_make(1, TM_DIR_OUT, "::ffff:255.255.255.255", "::ffff:255.255.255.255",
		     UINT32_MAX, INT64_MAX, 999999999);
	assert_true(csv_format_row(buf, sizeof(buf), &r, UINT64_MAX, UINT64_MAX) > 0);
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
	assert_int_equal(P(""), -EINVAL);
	assert_int_equal(P("\n"), -EINVAL);
	assert_int_equal(P("hello world\n"), -EINVAL);
	assert_int_equal(P("up,1,a,b,1.000000000,0,1\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0,1,2\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.00000000,0,1\n"), -EINVAL);	/* 8 ns digits */
	assert_int_equal(P("in,1,a,b,1,0,1\n"), -EINVAL);
	assert_int_equal(P("in,1,,b,1.000000000,0,1\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0,18446744073709551616\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0,-1\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0,\n"), -EINVAL);
	assert_int_equal(P("in,1,a,b,1.000000000,0,5x\n"), -EINVAL);
	assert_int_equal(P("out,52,192.168.1.100,8.8.8.8,1732985432.123456789,0,5"), 0);
	assert_int_equal(out, 5);	/* a torn row parses as a shorter number: callers must not */
	assert_int_equal(in, 0);	/* hand it unterminated lines from a file tail */
#undef P

	r = rec_make(1, TM_DIR_IN, "2001:db8::1", "::1", 1500, 1732985432, 5);
	n = csv_format_row(buf, sizeof(buf), &r, 123456789012345ULL, 42);
	assert_int_equal(csv_parse_totals(buf, n, &in, &out), 0);
	assert_int_equal(in, 123456789012345ULL);
	assert_int_equal(out, 42);
}

/* ---- files ------------------------------------------------------------------------------- */

static void test_init_errors(void **state)
{
	struct fixture *fx = *state;
	struct backend_config cfg = { .log_dir = "/nonexistent/tmtop", .nic_id = "lo" };
	char file[128];

	assert_int_equal(be->init(&cfg), -ENOENT);
	snprintf(file, sizeof(file), "%s/plain", fx->dir);
	spit(file, "x");
	cfg.log_dir = file;
	assert_int_equal(be->init(&cfg), -ENOTDIR);
	cfg.log_dir = fx->dir;
	cfg.nic_id = "../etc";
	assert_int_equal(be->init(&cfg), -EINVAL);
	cfg.nic_id = NULL;	/* "unknown" */
	assert_int_equal(be->init(&cfg), 0);
	assert_int_equal(be->init(&cfg), -EBUSY);
	assert_int_equal(put(5, TM_DIR_OUT, 10), 0);
	be->close();
	snprintf(file, sizeof(file), "%s/traffic_user_unknown_5.log", fx->dir);
	assert_int_equal(check_log(file, true, 0, 0, NULL, NULL), 1);
	assert_int_equal(put(5, TM_DIR_OUT, 10), -EBADF);	/* after close */
}

static void test_header_new_file_only(void **state)
{
	struct fixture *fx = *state;
	char path[128], *got;
	struct traffic_record r;
	struct stat st;

	start(fx, 0);
	r = rec_make(1000, TM_DIR_OUT, "192.168.1.100", "8.8.8.8", 52, 1732985432, 123456789);
	assert_int_equal(be->write(&r), 0);
	r = rec_make(1000, TM_DIR_IN, "8.8.8.8", "192.168.1.100", 84, 1732985432, 234567890);
	assert_int_equal(be->write(&r), 0);
	r = rec_make(1000, TM_DIR_OUT, "2001:db8::1", "2607:f8b0:4004:800::200e", 80, 1732985434,
		     567890123);
	assert_int_equal(be->write(&r), 0);
	assert_int_equal(be->flush(), 0);

	path_of(path, sizeof(path), fx, "lo", 1000);
	got = slurp(path, NULL);
	assert_string_equal(got, HDR
			    "out,52,192.168.1.100,8.8.8.8,1732985432.123456789,0,52\n"
			    "in,84,8.8.8.8,192.168.1.100,1732985432.234567890,84,52\n"
			    "out,80,2001:db8::1,2607:f8b0:4004:800::200e,1732985434.567890123,84,132\n");
	free(got);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_true(S_ISREG(st.st_mode));

	/* Restart: appended without a second header. */
	be->close();
	start(fx, 0);
	assert_int_equal(put(1000, TM_DIR_IN, 16), 0);
	be->close();
	got = slurp(path, NULL);
	assert_non_null(strstr(got, "1732985434.567890123,84,132\nin,16,10.0.0.1,10.0.0.2,"
				    "1700000000.000000123,100,132\n"));
	assert_int_equal(strstr(got + 1, "direction"), NULL);
	free(got);

	/* Stats start afresh at init and stay readable after close. */
	assert_int_equal(stats().records, 1);
	assert_int_equal(stats().dropped, 0);
	assert_int_equal(stats().healthy, 1);
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
	be->close();
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
			assert_int_equal(be->reopen(), 0);
			assert_int_equal(put(1000, TM_DIR_OUT, 1), 0);
		}
		be->close();
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
	assert_int_equal(be->flush(), 0);
	assert_int_equal(check_log(path, true, 0, 0, &in, &out), 10000);
	assert_int_equal(in + out, 9999ULL * 10000 / 2);
}

static void test_multi_uid(void **state)
{
	struct fixture *fx = *state;
	uint32_t uids[] = { 0, 1000, 65534, 4294967295u };
	uint64_t in, out;
	char path[128];

	start(fx, 0);
	for (int i = 0; i < 400; i++)
		assert_int_equal(put(uids[i % 4], i / 4 % 2, 100 + i % 4), 0);
	be->close();
	for (int u = 0; u < 4; u++) {
		path_of(path, sizeof(path), fx, "lo", uids[u]);
		assert_int_equal(check_log(path, true, 0, 0, &in, &out), 100);
		assert_int_equal(in, 50 * (100 + u));
		assert_int_equal(out, 50 * (100 + u));
	}
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
	be->close();
	got = slurp(path, NULL);
	assert_string_equal(got, HDR
			    "out,52,192.168.1.100,8.8.8.8,1732985432.123456789,0,52\n"
			    "in,84,8.8.8.8,192.168.1.100,1732985432.234567890,84,52\n"
			    "out,8,10.0.0.1,10.0.0.2,1700000000.000000123,84,60\n");
	free(got);
	assert_int_equal(stats().healthy, 1);
	assert_string_equal(stats().last_error, "");

	/* A crash while writing the header of a new file: the fragment goes, the header comes. */
	path_of(path, sizeof(path), fx, "lo", 1001);
	spit(path, "direction,by");
	start(fx, 0);
	assert_int_equal(put(1001, TM_DIR_IN, 8), 0);
	be->close();
	got = slurp(path, NULL);
	assert_string_equal(got, HDR "in,8,10.0.0.1,10.0.0.2,1700000000.000000123,8,0\n");
	free(got);

	/* Torn right after the header. */
	path_of(path, sizeof(path), fx, "lo", 1002);
	spit(path, HDR "in,8,10.0.0.1");
	start(fx, 0);
	assert_int_equal(put(1002, TM_DIR_IN, 8), 0);
	be->close();
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
	assert_int_equal(be->flush(), 0);
	assert_non_null(strstr(stats().last_error, "not a tmtop row"));
	assert_int_equal(stats().write_errors, 0);
	assert_int_equal(stats().healthy, 1);
	be->close();
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
	be->close();
	got = slurp(path, NULL);
	assert_int_equal(strlen(got), sizeof(longline) - 1 + 1 + strlen("in,5,10.0.0.1,10.0.0.2,"
									"1700000000.000000123,5,0\n"));
	assert_memory_equal(got, longline, sizeof(longline) - 1);
	assert_string_equal(got + sizeof(longline) - 1,
			    "\nin,5,10.0.0.1,10.0.0.2,1700000000.000000123,5,0\n");
	free(got);
}

static void expect_refused(uint64_t errors, const char *why)
{
	struct backend_stats st = stats();

	assert_int_equal(st.write_errors, errors);
	assert_int_equal(st.healthy, 0);
	assert_true(st.last_errno != 0);
	if (why && !strstr(st.last_error, why))
		fail_msg("last_error '%s' lacks '%s'", st.last_error, why);
}

static void test_symlink_refused(void **state)
{
	struct fixture *fx = *state;
	char path[128], target[128], *got;
	struct stat st;

	snprintf(target, sizeof(target), "%s/victim", fx->dir);
	spit(target, "precious\n");
	assert_int_equal(chmod(target, 0644), 0);
	path_of(path, sizeof(path), fx, "lo", 1000);
	assert_int_equal(symlink(target, path), 0);
	start(fx, 0);
	assert_true(put(1000, TM_DIR_OUT, 52) < 0);
	assert_int_equal(be->flush(), 0);
	expect_refused(1, "symbolic link");
	assert_int_equal(stats().dropped, 1);
	assert_int_equal(stats().records, 1);
	/* Retried at most once a second: a burst of records is one error. */
	for (int i = 0; i < 100; i++)
		assert_true(put(1000, TM_DIR_OUT, 52) < 0);
	expect_refused(1, NULL);
	assert_int_equal(stats().dropped, 101);
	be->close();
	got = slurp(target, NULL);
	assert_string_equal(got, "precious\n");
	free(got);
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));

	/* A dangling symlink is not followed to create its target either. */
	snprintf(target, sizeof(target), "%s/nothere", fx->dir);
	path_of(path, sizeof(path), fx, "lo", 1001);
	assert_int_equal(symlink(target, path), 0);
	start(fx, 0);
	assert_true(put(1001, TM_DIR_OUT, 52) < 0);
	expect_refused(1, "symbolic link");
	assert_int_equal(access(target, F_OK), -1);
}

static void test_hardlink_refused(void **state)
{
	struct fixture *fx = *state;
	char path[128], other[128], *before, *after;

	path_of(path, sizeof(path), fx, "lo", 1000);
	snprintf(other, sizeof(other), "%s/elsewhere", fx->dir);
	start(fx, 0);
	assert_int_equal(put(1000, TM_DIR_OUT, 52), 0);
	be->close();
	before = slurp(path, NULL);
	assert_int_equal(link(path, other), 0);

	start(fx, 0);
	assert_true(put(1000, TM_DIR_OUT, 52) < 0);
	expect_refused(1, "hard-linked");
	assert_int_equal(stats().last_errno, EMLINK);
	be->close();
	after = slurp(path, NULL);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void test_non_regular_refused(void **state)
{
	struct fixture *fx = *state;
	char path[128];
	struct stat st;

	path_of(path, sizeof(path), fx, "lo", 1);
	assert_int_equal(mkfifo(path, 0600), 0);
	path_of(path, sizeof(path), fx, "lo", 2);
	assert_int_equal(mkdir(path, 0700), 0);
	start(fx, 0);
	/* A FIFO with no reader must not block the engine. */
	assert_true(put(1, TM_DIR_OUT, 52) < 0);
	expect_refused(1, "not a regular file");
	assert_true(put(2, TM_DIR_OUT, 52) < 0);
	expect_refused(2, NULL);
	assert_int_equal(stats().last_errno, EISDIR);
	assert_int_equal(stats().dropped, 2);
	/* Another uid is not affected and makes the backend healthy again. */
	assert_int_equal(put(3, TM_DIR_OUT, 52), 0);
	assert_int_equal(be->flush(), 0);
	assert_int_equal(stats().healthy, 1);
	be->close();
	path_of(path, sizeof(path), fx, "lo", 2);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

/* A refused path is retried after a second, or at once on reopen (SIGHUP). */
static void test_refused_retry(void **state)
{
	struct fixture *fx = *state;
	char path[128];

	path_of(path, sizeof(path), fx, "lo", 1);
	assert_int_equal(mkfifo(path, 0600), 0);
	start(fx, 0);
	assert_true(put(1, TM_DIR_OUT, 52) < 0);
	assert_int_equal(unlink(path), 0);
	assert_true(put(1, TM_DIR_OUT, 52) < 0);	/* within the second: not retried */
	assert_int_equal(stats().write_errors, 1);
	assert_int_equal(be->reopen(), 0);
	assert_int_equal(put(1, TM_DIR_OUT, 7), 0);
	assert_int_equal(be->flush(), 0);
	assert_int_equal(stats().healthy, 1);
	assert_int_equal(stats().dropped, 2);
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 1);

	path_of(path, sizeof(path), fx, "lo", 2);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_true(put(2, TM_DIR_OUT, 52) < 0);
	assert_int_equal(unlink(path), 0);
	usleep(1100 * 1000);
	assert_int_equal(put(2, TM_DIR_OUT, 7), 0);
	be->close();
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 1);
}

static void test_foreign_owner_refused(void **state)
{
	struct fixture *fx = *state;
	char path[128], *got;

	if (geteuid() != 0)
		skip();
	path_of(path, sizeof(path), fx, "lo", 1000);
	spit(path, "");
	assert_int_equal(chown(path, 65534, 65534), 0);
	start(fx, 0);
	assert_true(put(1000, TM_DIR_OUT, 52) < 0);
	expect_refused(1, "owned by another user");
	be->close();
	got = slurp(path, NULL);
	assert_string_equal(got, "");
	free(got);
}

/* Two loggers on one file would interleave their totals: the second is refused. */
static void test_second_logger_refused(void **state)
{
	struct fixture *fx = *state;
	char path[128];
	int fd;

	path_of(path, sizeof(path), fx, "lo", 1000);
	spit(path, "");
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	start(fx, 0);
	assert_true(put(1000, TM_DIR_OUT, 52) < 0);
	expect_refused(1, "in use");
	close(fd);
	assert_int_equal(be->reopen(), 0);
	assert_int_equal(put(1000, TM_DIR_OUT, 52), 0);
	be->close();
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
	assert_int_equal(be->flush(), 0);
	assert_int_equal(rename(path, rotated), 0);
	/* Until SIGHUP the old file keeps receiving rows, as logrotate without copytruncate expects. */
	assert_int_equal(put(1000, TM_DIR_OUT, 100), 0);
	assert_int_equal(be->reopen(), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(put(1000, TM_DIR_IN, 10), 0);
	be->close();
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
	assert_int_equal(be->flush(), 0);
	assert_int_equal(stat(path, &sb), 0);

	/* The limit falls in the middle of the second new row: one row makes it, a fragment too. */
	for (int i = 0; i < 10; i++)
		put(1000, i & 1, 1000 + i);
	set_fsize(sb.st_size + 80);
	ret = be->flush();
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

	/* Nothing fits at all: every row of the buffer is dropped, the file is untouched. */
	assert_int_equal(stat(path, &sb), 0);
	for (int i = 0; i < 5; i++)
		put(1000, TM_DIR_IN, 7);
	set_fsize(sb.st_size);
	ret = be->flush();
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
	assert_int_equal(be->flush(), 0);
	st = stats();
	assert_int_equal(st.healthy, 1);
	assert_int_equal(st.last_errno, 0);
	assert_int_equal(st.write_errors, 2);
	rows2 = check_log(path, true, 0, 0, &in2, &out2);
	assert_int_equal(rows2, rows + 6);
	assert_int_equal(in2, in + 15);
	assert_int_equal(out2, out + 1);
	assert_int_equal(st.records - st.dropped, rows2);
	be->close();

	/* And a restart continues from there. */
	start(fx, 0);
	assert_int_equal(put(1000, TM_DIR_IN, 1), 0);
	be->close();
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
	ret = be->flush();
	set_fsize(RLIM_INFINITY);
	assert_int_equal(ret, -EFBIG);
	assert_int_equal(stats().dropped, 1);
	assert_int_equal(put(9, TM_DIR_OUT, 2), 0);
	assert_int_equal(be->flush(), 0);
	be->close();
	assert_int_equal(check_log(path, true, 0, 0, NULL, NULL), 1);
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
		cmocka_unit_test(test_parse_totals),
		T(test_init_errors),
		T(test_header_new_file_only),
		T(test_header_on_empty_existing_file),
		T(test_totals_continue),
		T(test_small_buffer_many_rows),
		T(test_multi_uid),
		T(test_torn_tail),
		T(test_foreign_file),
		T(test_symlink_refused),
		T(test_hardlink_refused),
		T(test_non_regular_refused),
		T(test_refused_retry),
		T(test_foreign_owner_refused),
		T(test_second_logger_refused),
		T(test_reopen_after_rotate),
		T(test_write_error_and_recovery),
		T(test_write_error_new_file),
	};
#undef T

	return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
