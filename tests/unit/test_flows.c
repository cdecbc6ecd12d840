// SPDX-License-Identifier: GPL-2.0
/*
 * The flow-record backend against real files in a fresh temporary directory per test: interval
 * alignment, aggregation, the early write of a full table, close writing a partial interval,
 * late packets, every line parsed back with json-c (strict, UTF-8 checked), escaping, the
 * refusals (symlink, FIFO), reopen, rotation, and write errors made real with RLIMIT_FSIZE.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <json.h>

#include "traffic_meter.h"
#include "backend/backend.h"
#include "backend/flows.h"
#include "backend/rowfmt.h"

#define T0	1700000040	/* a multiple of 60 (and 10): 2023-11-14T22:14:00Z */

struct fixture {
	char dir[64];
	struct backend *b;
};

/* ---- helpers ----------------------------------------------------------------------------- */

static struct traffic_record rec(tm_owner_t owner, int dir, const char *src, const char *dst,
				 uint32_t bytes, time_t sec, long nsec)
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
	r.proto = IPPROTO_UDP;
	r.ts.tv_sec = sec;
	r.ts.tv_nsec = nsec;
	return r;
}

static void start(struct fixture *fx, unsigned int interval, bool extended, uint64_t max_size)
{
	struct backend_config cfg = {
		.log_dir = fx->dir, .nic_id = "lo", .dirfd = -1, .flow_interval_s = interval,
		.extended = extended, .max_file_size = max_size, .reader_gid = (uint32_t)-1,
	};
	char err[256] = "";

	assert_int_equal(flows_backend_ops.open(&fx->b, &cfg, err, sizeof(err)), 0);
	assert_non_null(fx->b);
}

static void put(struct fixture *fx, const struct traffic_record *r)
{
	assert_int_equal(fx->b->ops->write(fx->b, r), 0);
}

static void tick(struct fixture *fx, time_t sec, long nsec)
{
	struct timespec ts = { .tv_sec = sec, .tv_nsec = nsec };

	fx->b->ops->tick(fx->b, &ts);
	fx->b->ops->flush(fx->b);
}

static void finish(struct fixture *fx)
{
	fx->b->ops->close(fx->b);
	fx->b = NULL;
}

static struct backend_stats stats(struct fixture *fx)
{
	struct backend_stats st;

	fx->b->ops->stats(fx->b, &st);
	return st;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (!fp) {
		if (len)
			*len = 0;
		return strdup("");
	}
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

static void path_in(char *buf, size_t len, const struct fixture *fx, const char *name)
{
	snprintf(buf, len, "%s/%s", fx->dir, name);
}

/* Parse one JSON text strictly (RFC 8259, valid UTF-8, nothing after it). */
static json_object *parse_value(const char *line, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *o;

	assert_non_null(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)
		fail_msg("not one valid JSON object: %.*s", (int)len, line);
	json_tokener_free(tok);
	return o;
}

static json_object *parse_line(const char *line, size_t len)
{
	json_object *o = parse_value(line, len);

	assert_true(json_object_is_type(o, json_type_object));
	return o;
}

struct lines {
	json_object *o[1024];
	size_t n;
};

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static int64_t num(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	if (!v || !json_object_is_type(v, json_type_int))
		fail_msg("key %s: not an integer", key);
	return json_object_get_int64(v);
}

static const char *str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	if (!v || !json_object_is_type(v, json_type_string))
		fail_msg("key %s: not a string", key);
	return json_object_get_string(v);
}

static bool partial(json_object *o)
{
	json_object *v = get(o, "partial");

	assert_non_null(v);
	assert_true(json_object_is_type(v, json_type_boolean));
	return json_object_get_boolean(v);
}

/*
 * Every line of the file: one JSON object each, the file ending in '\n', and the keys every
 * line has, with their types and the interval's invariants.
 */
static void read_lines(const char *path, struct lines *l)
{
	size_t len;
	char *buf = slurp(path, &len), *line, *nl;

	l->n = 0;
	if (len)
		assert_int_equal(buf[len - 1], '\n');
	for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
		json_object *o = parse_line(line, (size_t)(nl - line)), *first, *last;
		int64_t start = num(o, "start"), end = num(o, "end");
		char rfc[21] = "";

		assert_true(l->n < sizeof(l->o) / sizeof(l->o[0]));
		assert_int_equal(num(o, "v"), FLOWS_VERSION);
		flows_put_rfc3339(rfc, start);
		assert_string_equal(str(o, "time"), rfc);
		assert_true(end > start);
		assert_int_equal(start % (end - start), 0);
		first = get(o, "first");
		last = get(o, "last");
		assert_non_null(first);
		assert_non_null(last);
		assert_true(json_object_get_double(first) >= (double)start);
		assert_true(json_object_get_double(last) >= json_object_get_double(first));
		assert_true(json_object_get_double(last) < (double)end);
		assert_true(num(o, "bytes") > 0);
		assert_true(num(o, "packets") > 0);
		str(o, "owner");
		str(o, "direction");
		str(o, "local_addr");
		str(o, "remote_addr");
		partial(o);
		l->o[l->n++] = o;
	}
	free(buf);
}

static void free_lines(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		json_object_put(l->o[i]);
	l->n = 0;
}

static void read_flows(const struct fixture *fx, struct lines *l)
{
	char path[128];

	path_in(path, sizeof(path), fx, "flows_lo.jsonl");
	read_lines(path, l);
}

/* The line of this owner token, direction and remote address (and start, unless 0). */
static json_object *find(struct lines *l, const char *owner, const char *dir, const char *remote,
			 int64_t start)
{
	json_object *hit = NULL;

	for (size_t i = 0; i < l->n; i++) {
		json_object *o = l->o[i];

		if (strcmp(str(o, "owner"), owner) || strcmp(str(o, "direction"), dir) ||
		    strcmp(str(o, "remote_addr"), remote) || (start && num(o, "start") != start))
			continue;
		if (hit)
			fail_msg("two lines for %s %s %s", owner, dir, remote);
		hit = o;
	}
	if (!hit)
		fail_msg("no line for %s %s %s", owner, dir, remote);
	return hit;
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
	strcpy(fx->dir, "/tmp/test_flows.XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->b)
		fx->b->ops->close(fx->b);
	nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* Real time, at least `margin` seconds before the end of its interval. */
static time_t now_inside(unsigned int interval, unsigned int margin)
{
	time_t t = time(NULL);

	if ((time_t)interval - t % interval < (time_t)margin) {
		sleep((unsigned int)(interval - t % interval) + 1);
		t = time(NULL);
	}
	return t;
}

/* ---- pure helpers ------------------------------------------------------------------------ */

static void test_align(void **state)
{
	char buf[21] = "";

	assert_int_equal(flows_align(T0, 60), T0);
	assert_int_equal(flows_align(T0 + 59, 60), T0);
	assert_int_equal(flows_align(T0 + 60, 60), T0 + 60);
	assert_int_equal(flows_align(T0 + 1, 1), T0 + 1);
	/* 7 does not divide a day: still multiples since the epoch, the same on every meter */
	assert_int_equal(flows_align(T0, 7) % 7, 0);
	assert_true(flows_align(T0, 7) > T0 - 7);
	assert_int_equal(flows_align(86400 * 3 + 5, 86400), 86400 * 3);
	assert_int_equal(flows_align(-5, 60), 0);
	flows_put_rfc3339(buf, 1700000000);
	assert_string_equal(buf, "2023-11-14T22:13:20Z");
	flows_put_rfc3339(buf, 0);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	flows_put_rfc3339(buf, 951782400);	/* a leap day */
	assert_string_equal(buf, "2000-02-29T00:00:00Z");
}

static void expect_json_text(const char *in, size_t max, const char *want)
{
	char buf[256];
	char *end = put_json_text(buf, in, max);

	*end = '\0';
	assert_true((size_t)(end - buf) <= 6 * max + 5);
	assert_string_equal(buf, want);
}

static void test_json_text(void **state)
{
	char all[256];

	expect_json_text("nginx", 15, "\"nginx\"");
	expect_json_text("a,b\"c\\d", 15, "\"a,b\\\"c\\\\d\"");
	expect_json_text("l1\nl2\tx\r\b\f", 15, "\"l1\\nl2\\tx\\r\\b\\f\"");
	expect_json_text("\x01\x1f\x7f", 15, "\"\\u0001\\u001f\\u007f\"");
	expect_json_text("caf\xc3\xa9", 15, "\"caf\xc3\xa9\"");			/* é kept */
	expect_json_text("\xe2\x82\xac\xf0\x9f\x98\x80", 15,
			 "\"\xe2\x82\xac\xf0\x9f\x98\x80\"");		/* €, emoji kept */
	expect_json_text("\xff", 15, "\"\\ufffd\"");
	expect_json_text("\xc0\x80", 15, "\"\\ufffd\\ufffd\"");		/* overlong NUL */
	expect_json_text("\xed\xa0\x80", 15, "\"\\ufffd\\ufffd\\ufffd\"");	/* a surrogate */
	expect_json_text("\xf4\x90\x80\x80", 15,
			 "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");			/* past U+10FFFF */
	expect_json_text("a\xc3", 15, "\"a\\ufffd\"");				/* cut sequence */
	expect_json_text("abcdef", 4, "\"abcd...\"");
	/* a cut inside a sequence leaves no half character */
	expect_json_text("abc\xc3\xa9", 4, "\"abc\\ufffd...\"");
	/* every byte value: the result parses, with the right length */
	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	{
		char out[6 * 255 + 8];
		char *end = put_json_text(out, all, 255);
		json_object *o;

		*end = '\0';
		o = parse_value(out, (size_t)(end - out));
		assert_true(json_object_is_type(o, json_type_string));
		/* 127 ASCII characters, then 128 invalid bytes as U+FFFD (3 bytes each) */
		assert_int_equal(json_object_get_string_len(o), 127 + 128 * 3);
		json_object_put(o);
	}
}

/* ---- aggregation ------------------------------------------------------------------------- */

static void test_aggregation(void **state)
{
	struct fixture *fx = *state;
	struct traffic_record r;
	struct lines l;
	json_object *o;
	struct backend_stats st;
	uint64_t sum = 0;

	start(fx, 60, false, 0);
	for (int i = 0; i < 10; i++) {
		r = rec(1000, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 100 + i, T0 + i, 5000);
		put(fx, &r);
		/* the receiving side: local is dst */
		r = rec(1001, TM_DIR_IN, "10.0.0.1", "10.0.0.2", 100 + i, T0 + i, 7000);
		put(fx, &r);
	}
	r = rec(1000, TM_DIR_OUT, "10.0.0.1", "10.0.0.3", 40, T0 + 30, 0);
	put(fx, &r);
	r = rec(1000, TM_DIR_IN, "10.0.0.3", "10.0.0.1", 60, T0 + 31, 0);
	put(fx, &r);
	r = rec(TM_OWNER_NOSOCK, TM_DIR_OUT, "::1", "::2", 60, T0 + 59, 999999999);
	put(fx, &r);
	/* the interval ends at T0+60 and is written one grace period later, not before */
	tick(fx, T0 + 60, 500000000);
	read_flows(fx, &l);
	assert_int_equal(l.n, 0);
	tick(fx, T0 + 61, 0);
	read_flows(fx, &l);
	assert_int_equal(l.n, 5);
	o = find(&l, "1000", "out", "10.0.0.2", T0);
	assert_int_equal(num(o, "uid"), 1000);
	assert_int_equal(num(o, "bytes"), 10 * 100 + 45);
	assert_int_equal(num(o, "packets"), 10);
	assert_string_equal(str(o, "local_addr"), "10.0.0.1");
	assert_int_equal(num(o, "family"), 4);
	assert_int_equal(num(o, "start"), T0);
	assert_int_equal(num(o, "end"), T0 + 60);
	assert_true(fabs(json_object_get_double(get(o, "first")) - (T0 + 0.000005)) < 1e-7);
	assert_true(fabs(json_object_get_double(get(o, "last")) - (T0 + 9.000005)) < 1e-7);
	assert_false(partial(o));
	assert_null(get(o, "netns"));
	assert_null(get(o, "proto"));	/* extended keys only with --log-format extended */
	o = find(&l, "1001", "in", "10.0.0.1", T0);
	assert_string_equal(str(o, "local_addr"), "10.0.0.2");
	assert_int_equal(num(o, "bytes"), 10 * 100 + 45);
	assert_int_equal(num(find(&l, "1000", "out", "10.0.0.3", T0), "bytes"), 40);
	assert_int_equal(num(find(&l, "1000", "in", "10.0.0.3", T0), "bytes"), 60);
	o = find(&l, "nosocket", "out", "::2", T0);
	assert_null(get(o, "uid"));	/* no uid for the special owners */
	assert_int_equal(num(o, "family"), 6);
	assert_true(json_object_get_double(get(o, "last")) < T0 + 60);
	for (size_t i = 0; i < l.n; i++)
		sum += (uint64_t)num(l.o[i], "bytes");
	assert_int_equal(sum, 2 * (10 * 100 + 45) + 40 + 60 + 60);
	free_lines(&l);
	st = stats(fx);
	assert_int_equal(st.records, 23);
	assert_int_equal(st.rows, 5);
	assert_int_equal(st.write_errors, 0);
	/* a second tick writes nothing again */
	tick(fx, T0 + 62, 0);
	read_flows(fx, &l);
	assert_int_equal(l.n, 5);
	free_lines(&l);
}

static void test_interval_boundaries(void **state)
{
	struct fixture *fx = *state;
	struct traffic_record r;
	struct lines l;

	start(fx, 60, false, 0);
	r = rec(7, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 10, T0 + 59, 999999999);
	put(fx, &r);
	r = rec(7, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 20, T0 + 60, 0);
	put(fx, &r);
	r = rec(7, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 40, T0 + 125, 0);
	put(fx, &r);
	/* two intervals have ended: both written at once, in their own lines */
	tick(fx, T0 + 181, 0);
	read_flows(fx, &l);
	assert_int_equal(l.n, 3);
	assert_int_equal(num(find(&l, "7", "out", "10.0.0.2", T0), "bytes"), 10);
	assert_int_equal(num(find(&l, "7", "out", "10.0.0.2", T0 + 60), "bytes"), 20);
	assert_int_equal(num(find(&l, "7", "out", "10.0.0.2", T0 + 120), "bytes"), 40);
	free_lines(&l);
}

/* A packet of an interval already written gets a line of its own, marked partial. */
static void test_late_packet(void **state)
{
	struct fixture *fx = *state;
	struct traffic_record r;
	struct lines l;

	start(fx, 10, false, 0);
	r = rec(7, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 10, T0 + 5, 0);
	put(fx, &r);
	tick(fx, T0 + 12, 0);
	r = rec(7, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 20, T0 + 9, 0);
	put(fx, &r);
	tick(fx, T0 + 12, 100000000);
	read_flows(fx, &l);
	assert_int_equal(l.n, 2);
	assert_false(partial(l.o[0]));
	assert_int_equal(num(l.o[0], "bytes"), 10);
	assert_true(partial(l.o[1]));
	assert_int_equal(num(l.o[1], "bytes"), 20);
	assert_int_equal(num(l.o[1], "start"), T0);
	free_lines(&l);
	/* the clock stepped back an hour: the intervals after the step are not late ones */
	tick(fx, T0 + 3600, 0);
	tick(fx, T0 + 22, 0);
	r = rec(7, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 40, T0 + 25, 0);
	put(fx, &r);
	tick(fx, T0 + 31, 100000000);
	read_flows(fx, &l);
	assert_int_equal(l.n, 3);
	assert_false(partial(l.o[2]));
	assert_int_equal(num(l.o[2], "start"), T0 + 20);
	free_lines(&l);
}

/* Stopping writes the interval that has not ended, marked partial, and keeps nothing back. */
static void test_close_partial(void **state)
{
	struct fixture *fx = *state;
	time_t now = now_inside(3600, 10);
	struct traffic_record r;
	struct lines l;

	start(fx, 3600, false, 0);
	r = rec(1000, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 100, now - 3600, 0);
	put(fx, &r);
	for (int i = 0; i < 5; i++) {
		r = rec(1000, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 100, now, i);
		put(fx, &r);
	}
	finish(fx);
	read_flows(fx, &l);
	assert_int_equal(l.n, 2);
	/* the past hour had ended: a whole interval; the current one is cut */
	assert_false(partial(find(&l, "1000", "out", "10.0.0.2", flows_align(now - 3600, 3600))));
	assert_true(partial(find(&l, "1000", "out", "10.0.0.2", flows_align(now, 3600))));
	assert_int_equal(num(find(&l, "1000", "out", "10.0.0.2", flows_align(now, 3600)),
			     "packets"), 5);
	free_lines(&l);
}

/* finish() writes before the final stats; close() after it has nothing left to write. */
static void test_finish(void **state)
{
	struct fixture *fx = *state;
	time_t now = now_inside(3600, 10);
	struct traffic_record r = rec(1000, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 100, now, 0);
	struct lines l;

	start(fx, 3600, false, 0);
	put(fx, &r);
	assert_int_equal(stats(fx).rows, 0);
	fx->b->ops->finish(fx->b);
	fx->b->ops->flush(fx->b);
	assert_int_equal(stats(fx).rows, 1);
	finish(fx);
	read_flows(fx, &l);
	assert_int_equal(l.n, 1);
	free_lines(&l);
}

/*
 * A flood of peers: the table never holds more than FLOWS_MAX flows. The record that needs
 * one more writes them all first (partial); nothing is lost and the sums stay exact.
 */
static void test_full_table(void **state)
{
	struct fixture *fx = *state;
	time_t now = now_inside(3600, 30);
	uint64_t bytes = 0, packets = 0, nlines = 0, npartial = 0;
	struct traffic_record r = rec(1000, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 1, now, 0);
	char path[128], *buf, *line, *nl;
	size_t len;

	start(fx, 3600, false, 0);
	for (uint32_t i = 0; i < FLOWS_MAX + 10; i++) {
		uint32_t a = htonl(0x0a000000u + i);

		memcpy(r.dst, &a, 4);
		r.bytes = 1 + i % 7;
		put(fx, &r);
	}
	/* the first FLOWS_MAX went out when the next one came; the last 10 are held */
	assert_int_equal(stats(fx).rows, FLOWS_MAX);
	/* the held peers again: they join their flows */
	for (uint32_t i = FLOWS_MAX; i < FLOWS_MAX + 10; i++) {
		uint32_t a = htonl(0x0a000000u + i);

		memcpy(r.dst, &a, 4);
		r.bytes = 1000;
		put(fx, &r);
	}
	finish(fx);
	path_in(path, sizeof(path), fx, "flows_lo.jsonl");
	buf = slurp(path, &len);
	for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
		json_object *o = parse_line(line, (size_t)(nl - line));

		bytes += (uint64_t)num(o, "bytes");
		packets += (uint64_t)num(o, "packets");
		npartial += partial(o);
		nlines++;
		json_object_put(o);
	}
	free(buf);
	assert_int_equal(nlines, FLOWS_MAX + 10);
	assert_int_equal(npartial, nlines);
	assert_int_equal(packets, FLOWS_MAX + 20);
	{
		uint64_t want = 10 * 1000;

		for (uint32_t i = 0; i < FLOWS_MAX + 10; i++)
			want += 1 + i % 7;
		assert_int_equal(bytes, want);
	}
}

/* ---- extended keys and escaping ---------------------------------------------------------- */

static void test_extended(void **state)
{
	struct fixture *fx = *state;
	struct proc_ident p1 = { .tgid = 4242, .cgroup_id = 77,
				 .cgroup = "/system.slice/x.service" };
	/* comma, quote, newline, backslash, a stray byte and an é */
	struct proc_ident p2 = { .tgid = 4243, .cgroup_id = 78,
				 .cgroup = "/a \"b\"\n/c\\d" };
	struct traffic_record r;
	struct lines l;
	json_object *o;

	strcpy(p1.comm, "nginx");
	memcpy(p2.comm, "a,b\"c\nd\\\xff\xc3\xa9", 12);
	start(fx, 60, true, 0);
	r = rec(1000, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 100, T0 + 1, 0);
	r.proto = IPPROTO_TCP;
	r.sport = 40000;
	r.dport = 443;
	r.proc = &p1;
	put(fx, &r);
	put(fx, &r);
	/* another port of the same peer is another flow with these keys */
	r.sport = 40001;
	put(fx, &r);
	/* received: ports swap into local/remote */
	r = rec(1000, TM_DIR_IN, "10.0.0.2", "10.0.0.1", 50, T0 + 2, 0);
	r.proto = IPPROTO_TCP;
	r.sport = 443;
	r.dport = 40000;
	r.proc = &p1;
	put(fx, &r);
	r = rec(1001, TM_DIR_OUT, "10.0.0.1", "10.0.0.9", 70, T0 + 3, 0);
	r.proc = &p2;
	r.sport = 5000;
	r.dport = 53;
	r.netns = 4026532999u;
	r.foreign_netns = true;
	put(fx, &r);
	/* no creator known, ICMP: no ports, pid, comm or cgroup */
	r = rec(1002, TM_DIR_OUT, "10.0.0.1", "10.0.0.8", 84, T0 + 4, 0);
	r.proto = IPPROTO_ICMP;
	put(fx, &r);
	tick(fx, T0 + 120, 0);
	read_flows(fx, &l);
	assert_int_equal(l.n, 5);
	for (size_t i = 0; i < l.n; i++) {
		o = l.o[i];
		if (num(o, "uid") != 1000 || strcmp(str(o, "direction"), "out") ||
		    num(o, "local_port") != 40000)
			continue;
		assert_int_equal(num(o, "packets"), 2);
		assert_int_equal(num(o, "remote_port"), 443);
		assert_string_equal(str(o, "proto"), "tcp");
		assert_int_equal(num(o, "pid"), 4242);
		assert_string_equal(str(o, "comm"), "nginx");
		assert_string_equal(str(o, "cgroup"), "/system.slice/x.service");
	}
	o = find(&l, "1000", "in", "10.0.0.2", T0);
	assert_int_equal(num(o, "local_port"), 40000);
	assert_int_equal(num(o, "remote_port"), 443);
	o = find(&l, "1001", "out", "10.0.0.9", T0);
	assert_string_equal(str(o, "comm"), "a,b\"c\nd\\\xef\xbf\xbd\xc3\xa9");
	assert_string_equal(str(o, "cgroup"), "/a \"b\"\n/c\\d");
	assert_string_equal(str(o, "proto"), "udp");
	assert_int_equal(num(o, "netns"), 4026532999u);
	o = find(&l, "1002", "out", "10.0.0.8", T0);
	assert_string_equal(str(o, "proto"), "icmp");
	assert_null(get(o, "local_port"));
	assert_null(get(o, "pid"));
	assert_null(get(o, "comm"));
	assert_null(get(o, "cgroup"));
	free_lines(&l);
}

/* ---- the file ---------------------------------------------------------------------------- */

static void put_one_and_write(struct fixture *fx, uint32_t bytes)
{
	struct traffic_record r = rec(5, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", bytes, T0 + 1, 0);

	put(fx, &r);
	tick(fx, T0 + 100, 0);
}

static void test_symlink_refused(void **state)
{
	struct fixture *fx = *state;
	char path[128], target[128], alt[128];
	struct backend_stats st;
	struct lines l;

	path_in(path, sizeof(path), fx, "flows_lo.jsonl");
	path_in(target, sizeof(target), fx, "precious");
	assert_int_equal(symlink(target, path), 0);
	start(fx, 60, false, 0);
	put_one_and_write(fx, 123);
	st = stats(fx);
	assert_int_equal(st.rows, 1);
	assert_int_equal(st.dropped, 0);
	assert_non_null(strstr(st.remark, "name was taken (a symbolic link)"));
	assert_int_equal(access(target, F_OK), -1);
	/* describe() names the fallback, where the line went */
	fx->b->ops->describe(fx->b, alt, sizeof(alt));
	assert_non_null(strstr(alt, "/flows_lo."));
	assert_string_not_equal(alt, path);
	read_lines(alt, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(num(l.o[0], "bytes"), 123);
	free_lines(&l);
	/* SIGHUP with the name still taken: the same fallback goes on, not a new file a reopen */
	for (int i = 0; i < 3; i++) {
		struct traffic_record r = rec(5, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 7,
					      T0 + 200 + 100 * i, 0);

		fx->b->ops->reopen(fx->b);
		put(fx, &r);
		tick(fx, T0 + 290 + 100 * i, 0);
		fx->b->ops->describe(fx->b, target, sizeof(target));
		assert_string_equal(target, alt);
	}
	read_lines(alt, &l);
	assert_int_equal(l.n, 4);
	free_lines(&l);
}

static void test_fifo_refused(void **state)
{
	struct fixture *fx = *state;
	char path[128];
	struct backend_stats st;

	path_in(path, sizeof(path), fx, "flows_lo.jsonl");
	assert_int_equal(mkfifo(path, 0600), 0);
	start(fx, 60, false, 0);
	put_one_and_write(fx, 1);	/* must not hang on the FIFO */
	st = stats(fx);
	assert_int_equal(st.rows, 1);
	assert_non_null(strstr(st.remark, "not a regular file"));
}

/* logrotate: mv, then SIGHUP's reopen; held flows go to the new file, nothing is lost. */
static void test_reopen(void **state)
{
	struct fixture *fx = *state;
	char path[128], old[128];
	struct traffic_record r;
	struct lines l;

	path_in(path, sizeof(path), fx, "flows_lo.jsonl");
	path_in(old, sizeof(old), fx, "flows_lo.jsonl.1");
	start(fx, 10, false, 0);
	r = rec(5, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 10, T0 + 1, 0);
	put(fx, &r);
	tick(fx, T0 + 12, 0);
	r = rec(5, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 20, T0 + 15, 0);
	put(fx, &r);
	assert_int_equal(rename(path, old), 0);
	/* written before the reopen: still lands in the moved file, like the CSV's rows */
	r = rec(5, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 40, T0 + 25, 0);
	put(fx, &r);
	tick(fx, T0 + 21, 0);
	fx->b->ops->reopen(fx->b);
	tick(fx, T0 + 31, 0);
	read_lines(old, &l);
	assert_int_equal(l.n, 2);
	free_lines(&l);
	read_lines(path, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(num(l.o[0], "bytes"), 40);
	free_lines(&l);
	assert_int_equal(stats(fx).rows, 3);
}

/* --max-file-size: rotated files, every one whole lines, the sums exact over all of them. */
static void test_rotation(void **state)
{
	struct fixture *fx = *state;
	struct traffic_record r = rec(5, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 1, T0 + 1, 0);
	uint64_t bytes = 0;
	size_t nlines = 0;
	struct lines l;
	char path[128];

	start(fx, 60, false, 8192);
	for (uint32_t i = 0; i < 100; i++) {
		uint32_t a = htonl(0x0a000000u + i);

		memcpy(r.dst, &a, 4);
		put(fx, &r);
	}
	tick(fx, T0 + 100, 0);
	assert_true(stats(fx).rotations >= 2);
	for (int i = 0; i <= 10; i++) {
		struct stat st;

		if (i)
			snprintf(path, sizeof(path), "%s/flows_lo.jsonl.%d", fx->dir, i);
		else
			path_in(path, sizeof(path), fx, "flows_lo.jsonl");
		if (stat(path, &st))
			continue;
		assert_true(st.st_size <= 8192);
		read_lines(path, &l);
		for (size_t j = 0; j < l.n; j++)
			bytes += (uint64_t)num(l.o[j], "bytes");
		nlines += l.n;
		free_lines(&l);
	}
	/* 5 kept by default: 100 lines of ~250 bytes in 8 KiB files need fewer */
	assert_int_equal(nlines, 100);
	assert_int_equal(bytes, 100);
}

/* A file torn by a crash: our cut-off line is removed, someone else's text is fenced off. */
static void test_torn_tail(void **state)
{
	struct fixture *fx = *state;
	char path[128], *buf;
	struct lines l;
	FILE *fp;

	path_in(path, sizeof(path), fx, "flows_lo.jsonl");
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("{\"v\":1,\"time\":\"2023-11-14T22:12:00Z\",\"start\":1699999920,\"end\":1699999980,"
	      "\"owner\":\"5\",\"uid\":5,\"direction\":\"out\",\"family\":4,"
	      "\"local_addr\":\"10.0.0.1\","
	      "\"remote_addr\":\"10.0.0.2\",\"bytes\":1,\"packets\":1,\"first\":1699999921.000000,"
	      "\"last\":1699999921.000000,\"partial\":false}\n{\"v\":1,\"time\":\"2023-", fp);
	fclose(fp);
	start(fx, 60, false, 0);
	put_one_and_write(fx, 7);
	finish(fx);
	read_lines(path, &l);
	assert_int_equal(l.n, 2);
	free_lines(&l);
	/* not ours: kept, and fenced with a line break */
	fp = fopen(path, "w");
	fputs("some text without a newline", fp);
	fclose(fp);
	start(fx, 60, false, 0);
	put_one_and_write(fx, 7);
	finish(fx);
	buf = slurp(path, NULL);
	{
		const char *want = "some text without a newline\n{\"v\":1,";

		assert_memory_equal(buf, want, strlen(want));
	}
	free(buf);
}

static void set_fsize(rlim_t soft)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = soft == RLIM_INFINITY ? rl.rlim_max : soft;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/*
 * A write that fails mid-buffer (RLIMIT_FSIZE, like a full disk): the complete lines stay, the
 * fragment is cut off, the lost lines' packets are counted, and the next interval is written.
 */
static void test_write_error(void **state)
{
	struct fixture *fx = *state;
	struct traffic_record r = rec(5, TM_DIR_OUT, "10.0.0.1", "10.0.0.2", 1, T0 + 1, 0);
	struct backend_stats st;
	struct lines l;
	char path[128];
	struct stat sb;

	signal(SIGXFSZ, SIG_IGN);
	path_in(path, sizeof(path), fx, "flows_lo.jsonl");
	start(fx, 60, false, 0);
	for (uint32_t i = 0; i < 20; i++) {
		uint32_t a = htonl(0x0a000000u + i);

		memcpy(r.dst, &a, 4);
		put(fx, &r);
	}
	set_fsize(1000);	/* about four lines */
	tick(fx, T0 + 100, 0);
	set_fsize(RLIM_INFINITY);
	st = stats(fx);
	assert_true(st.write_errors >= 1);
	assert_int_equal(st.rows + st.dropped, 20);	/* one packet a line */
	assert_true(st.rows >= 1);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size <= 1000);
	read_lines(path, &l);	/* ends in '\n', every line whole */
	assert_int_equal(l.n, st.rows);
	free_lines(&l);
	r.ts.tv_sec = T0 + 61;
	put(fx, &r);
	tick(fx, T0 + 200, 0);
	st = stats(fx);
	assert_int_equal(st.healthy, 1);
	read_lines(path, &l);
	assert_int_equal(l.n, st.rows);
	assert_int_equal(num(l.o[l.n - 1], "start"), T0 + 60);
	free_lines(&l);
}

static void test_bad_nic(void **state)
{
	struct fixture *fx = *state;
	struct backend_config cfg = { .log_dir = fx->dir, .nic_id = "../x", .dirfd = -1 };
	struct backend *b = NULL;
	char err[256] = "";

	assert_int_equal(flows_backend_ops.open(&b, &cfg, err, sizeof(err)), -EINVAL);
	assert_null(b);
	assert_non_null(strstr(err, "nic_id"));
	cfg.nic_id = "lo";
	cfg.log_dir = "/nonexistent/dir";
	assert_true(flows_backend_ops.open(&b, &cfg, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/nonexistent/dir"));
}

static void test_registry(void **state)
{
	assert_ptr_equal(backend_find("flows"), &flows_backend_ops);
	assert_non_null(strstr(backend_names(), "flows"));
	/* one file for every owner: never handed to one of them */
	assert_null(flows_backend_ops.owner_open);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_align),
		cmocka_unit_test(test_json_text),
		cmocka_unit_test(test_registry),
		T(test_aggregation),
		T(test_interval_boundaries),
		T(test_late_packet),
		T(test_close_partial),
		T(test_finish),
		T(test_full_table),
		T(test_extended),
		T(test_symlink_refused),
		T(test_fifo_refused),
		T(test_reopen),
		T(test_rotation),
		T(test_torn_tail),
		T(test_write_error),
		T(test_bad_nic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
