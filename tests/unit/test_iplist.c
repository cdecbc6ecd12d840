// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for meter/iplist.c: the ignore-list syntax, its error reasons, the list
 * operations and the untracked_masks.h generator (text and "does it compile").
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/types.h>

#include "bpf/traffic_meter.h"
#include "meter/iplist.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static void expect_entry(const char *text, const char *canonical)
{
	char reason[160] = "unset", buf[IP_PREFIX_STRLEN];
	struct ip_prefix p;
	int ret;

	ret = iplist_parse_entry(text, &p, reason, sizeof(reason));
	if (ret)
		fail_msg("'%s' refused: %s", text, reason);
	assert_non_null(ip_prefix_format(&p, buf, sizeof(buf)));
	if (strcmp(buf, canonical))
		fail_msg("'%s' parsed as %s, expected %s", text, buf, canonical);
}

static void expect_bad(const char *text, const char *reason_want)
{
	char reason[160] = "";
	struct ip_prefix p;
	int ret;

	ret = iplist_parse_entry(text, &p, reason, sizeof(reason));
	if (ret != -EINVAL)
		fail_msg("'%s' accepted (ret %d), expected: %s", text, ret, reason_want);
	assert_string_equal(reason, reason_want);
}

static struct ip_prefix pfx(const char *text)
{
	char reason[160] = "";
	struct ip_prefix p;

	if (iplist_parse_entry(text, &p, reason, sizeof(reason)))
		fail_msg("'%s' refused: %s", text, reason);
	return p;
}

static char *fmt(const struct ip_prefix *p)
{
	static char buf[IP_PREFIX_STRLEN];

	assert_non_null(ip_prefix_format(p, buf, sizeof(buf)));
	return buf;
}

static int parse_str(const char *s, struct iplist *l, struct iplist_error *err)
{
	return iplist_parse(s, strlen(s), l, err);
}

/* Render the list as "a, b, c" for one-line comparisons. */
static char *list_str(const struct iplist *l)
{
	static char out[4096];
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < l->n; i++)
		o += snprintf(out + o, sizeof(out) - o, "%s%s", i ? ", " : "", fmt(&l->v[i]));
	return out;
}

static char *header_of(const struct iplist *l)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(iplist_write_header(l, f), 0);
	assert_int_equal(fclose(f), 0);
	return text;
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	strcpy(tmpdir, "/tmp/test_iplist.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* ---- entry syntax -------------------------------------------------------------------------- */

static void test_v4_wildcards(void **state)
{
	expect_entry("10.0.*.*", "10.0.0.0/16");
	expect_entry("192.168.1.*", "192.168.1.0/24");
	expect_entry("10.*.*.*", "10.0.0.0/8");
	expect_entry("*.*.*.*", "0.0.0.0/0");
	expect_entry("172.16.5.*", "172.16.5.0/24");
}

static void test_v6_wildcards(void **state)
{
	expect_entry("2001:db8::*", "2001:db8::/32");
	expect_entry("2001:db8:abcd:1234:5678:9abc:def0:*",
		     "2001:db8:abcd:1234:5678:9abc:def0:0/112");
	expect_entry("2001:db8:*:*", "2001:db8::/32");
	expect_entry("2001:db8:*", "2001:db8::/32");
	expect_entry("2001:db8:*:*:*:*:*:*", "2001:db8::/32");
	expect_entry("fe80::*", "fe80::/16");
	expect_entry("FE80::*", "fe80::/16");
	expect_entry("::*", "::/0");
	expect_entry("*:*:*:*:*:*:*:*", "::/0");
	expect_entry("1:2:3:4:5:6:7::*", "1:2:3:4:5:6:7:0/112");
	/* A "::" inside the explicit part makes it a full address: each '*' is one group. */
	expect_entry("2001:db8::1:*", "2001:db8::1:0/112");
	expect_entry("2001:db8::1:*:*", "2001:db8::1:0:0/96");
}

static void test_cidr_and_host_bits(void **state)
{
	expect_entry("10.0.0.0/8", "10.0.0.0/8");
	expect_entry("192.168.1.0/24", "192.168.1.0/24");
	expect_entry("0.0.0.0/0", "0.0.0.0/0");
	expect_entry("2001:db8::/32", "2001:db8::/32");
	expect_entry("::/0", "::/0");
	expect_entry("::1/128", "::1/128");
	expect_entry("::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104");
	/* Host bits past the prefix are cleared: the canonical form. */
	expect_entry("10.1.2.3/8", "10.0.0.0/8");
	expect_entry("192.168.1.77/25", "192.168.1.0/25");
	expect_entry("192.168.1.200/25", "192.168.1.128/25");
	expect_entry("10.255.255.255/9", "10.128.0.0/9");
	expect_entry("1.2.3.4/0", "0.0.0.0/0");
	expect_entry("2001:db8:ffff::1/33", "2001:db8:8000::/33");
	expect_entry("2001:db8::1/32", "2001:db8::/32");
	expect_entry("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127",
		     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");

	struct ip_prefix p = pfx("10.1.2.3/12");

	assert_int_equal(p.family, TM_AF_INET);
	assert_int_equal(p.len, 12);
	assert_int_equal(p.addr[0], 10);
	assert_int_equal(p.addr[1], 0);
	assert_int_equal(p.addr[2], 0);
	assert_int_equal(p.addr[3], 0);
	for (int i = 4; i < 16; i++)
		assert_int_equal(p.addr[i], 0);
}

static void test_plain_addresses(void **state)
{
	struct ip_prefix p;

	expect_entry("192.0.2.1", "192.0.2.1/32");
	expect_entry("0.0.0.0", "0.0.0.0/32");
	expect_entry("255.255.255.255", "255.255.255.255/32");
	expect_entry("2001:db8::1", "2001:db8::1/128");
	expect_entry("::1", "::1/128");
	expect_entry("::", "::/128");
	expect_entry("::ffff:192.0.2.1", "::ffff:192.0.2.1/128");
	expect_entry("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1/128");

	p = pfx("2001:db8::1");
	assert_int_equal(p.family, TM_AF_INET6);
	assert_int_equal(p.len, 128);
	assert_int_equal(p.addr[0], 0x20);
	assert_int_equal(p.addr[1], 0x01);
	assert_int_equal(p.addr[15], 0x01);
}

static void test_entry_whitespace(void **state)
{
	expect_entry("  10.0.*.*  ", "10.0.0.0/16");
	expect_entry("\t2001:db8::/32\r\n", "2001:db8::/32");
	expect_entry(" 192.0.2.1\t", "192.0.2.1/32");
}

static void test_bad_entries(void **state)
{
	expect_bad("10.*.1.*", "wildcard is not trailing: '10.*.1.*'");
	expect_bad("*.0.0.0", "wildcard is not trailing: '*.0.0.0'");
	expect_bad("10.0.300.*", "bad octet '300': '10.0.300.*'");
	expect_bad("10.0.256.1", "bad octet '256': '10.0.256.1'");
	expect_bad("010.0.0.1", "bad octet '010': '010.0.0.1'");
	expect_bad("10..0.1", "bad octet '': '10..0.1'");
	expect_bad("10.0.0.", "bad octet '': '10.0.0.'");
	expect_bad("10.0.a.1", "bad octet 'a': '10.0.a.1'");
	expect_bad("10.0.0", "expected 4 octets: '10.0.0'");
	expect_bad("10.*", "expected 4 octets: '10.*'");
	expect_bad("10.0.0.0.0", "too many octets: '10.0.0.0.0'");
	expect_bad("10.0.0.0/33", "prefix length out of range (0-32): '10.0.0.0/33'");
	expect_bad("::/129", "prefix length out of range (0-128): '::/129'");
	expect_bad("2001:db8::/1000", "prefix length out of range (0-128): '2001:db8::/1000'");
	expect_bad("10.0.0.0/", "missing prefix length: '10.0.0.0/'");
	expect_bad("/8", "missing address: '/8'");
	expect_bad("10.0.0.0/8x", "bad prefix length '8x': '10.0.0.0/8x'");
	expect_bad("10.0.0.0/-1", "bad prefix length '-1': '10.0.0.0/-1'");
	expect_bad("10.0.0.0/8/8", "bad prefix length '8/8': '10.0.0.0/8/8'");
	expect_bad("10.0.*.*/16", "a wildcard cannot have a prefix length: '10.0.*.*/16'");
	expect_bad("2001:db8::*/32", "a wildcard cannot have a prefix length: '2001:db8::*/32'");
	expect_bad("10.1*.0.0", "a wildcard must replace a whole octet: '10.1*.0.0'");
	expect_bad("10.0.0.**", "a wildcard must replace a whole octet: '10.0.0.**'");
	expect_bad("garbage", "not an IP address or prefix: 'garbage'");
	expect_bad("10.0.0.0 /8", "unexpected space in entry: '10.0.0.0 /8'");
	expect_bad("10.0.0.1 10.0.0.2", "unexpected space in entry: '10.0.0.1 10.0.0.2'");
	expect_bad("10.0.0.0#x", "not an IP address or prefix: '10.0.0.0#x'");
	expect_bad("fe80::1%eth0", "not an IP address or prefix: 'fe80::1%eth0'");
	expect_bad("10.0.0.0 # x", "unexpected space in entry: '10.0.0.0 # x'");
	expect_bad("abc", "not an IP address or prefix: 'abc'");
	expect_bad("*", "a lone '*' is ambiguous, write *.*.*.* or ::*: '*'");
	expect_bad("", "empty entry: ''");
	expect_bad("   ", "empty entry: ''");
	expect_bad("2001:*:db8::*", "wildcard is not trailing: '2001:*:db8::*'");
	expect_bad("2001:db8::*:1", "wildcard is not trailing: '2001:db8::*:1'");
	expect_bad("2001:db8*::*", "a wildcard must replace a whole group: '2001:db8*::*'");
	expect_bad("12345::", "bad group '12345': '12345::'");
	expect_bad("2001:dbg::1", "not an IP address or prefix: '2001:dbg::1'");
	expect_bad("1::2::3", "'::' may appear only once: '1::2::3'");
	expect_bad("1::2::*", "'::' may appear only once: '1::2::*'");
	expect_bad("1:2:3:4:5:6:7:8:*", "too many groups: '1:2:3:4:5:6:7:8:*'");
	expect_bad("1:2:3:4:5:6:7:8:9", "not an IPv6 address: '1:2:3:4:5:6:7:8:9'");
	expect_bad("2001:db8:::1", "'::' may appear only once: '2001:db8:::1'");
	expect_bad(":*", "not an IPv6 address: ':*'");
	expect_bad("1:2", "not an IPv6 address: '1:2'");
}

static void test_reason_truncation(void **state)
{
	char longtext[300], reason[160];
	struct ip_prefix p;

	memset(longtext, '1', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	assert_int_equal(iplist_parse_entry(longtext, &p, reason, sizeof(reason)), -EINVAL);
	assert_non_null(strstr(reason, "entry too long: '111"));
	assert_non_null(strstr(reason, "...'"));
	assert_true(strlen(reason) < 100);

	/* A tiny reason buffer is still NUL-terminated, and NULL is allowed. */
	assert_int_equal(iplist_parse_entry("10.*.1.*", &p, reason, 8), -EINVAL);
	assert_int_equal(strlen(reason), 7);
	assert_int_equal(iplist_parse_entry("10.*.1.*", &p, NULL, 0), -EINVAL);
}

/* Every '\' in a reason starts a \xNN escape, and nothing else outside printable ASCII appears. */
static void assert_reason_clean(const char *reason)
{
	for (const char *c = reason; *c; c++) {
		if (*c < 0x20 || *c >= 0x7f)
			fail_msg("raw byte 0x%02x in reason '%s'", (unsigned char)*c, reason);
		if (*c == '\\') {
			if (c[1] != 'x' || !isxdigit((unsigned char)c[2]) ||
			    !isxdigit((unsigned char)c[3]))
				fail_msg("broken escape in reason '%s'", reason);
			c += 3;
		}
	}
}

/*
 * A list file is untrusted and its errors reach the operator's terminal: what a reason quotes
 * must not carry a terminal escape sequence, only its visible spelling.
 */
static void test_reason_escapes_input(void **state)
{
	struct iplist_error err;
	char reason[160], esc[100];
	struct ip_prefix p;
	struct iplist l;

	expect_bad("\x1b[2J", "not an IP address or prefix: '\\x1b[2J'");
	expect_bad("10.0.0.0/8\x1b[2J", "bad prefix length '8\\x1b[2J': '10.0.0.0/8\\x1b[2J'");
	expect_bad("10.0.0.0\t/8", "unexpected space in entry: '10.0.0.0\\x09/8'");
	expect_bad("10.0.0.\xc3\xa9", "not an IP address or prefix: '10.0.0.\\xc3\\xa9'");
	expect_bad("10.0.0.1\x7f", "not an IP address or prefix: '10.0.0.1\\x7f'");
	/* The backslash too, or "\x1b" typed literally would read like an escaped ESC. */
	expect_bad("\\x1b", "not an IP address or prefix: '\\x5cx1b'");

	/* The same through a whole list, with the line number. */
	assert_int_equal(parse_str("10.0.0.0/8\n\x1b]0;owned\x07\n", &l, &err), -EINVAL);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.reason, "not an IP address or prefix: '\\x1b]0;owned\\x07'");
	assert_int_equal(l.n, 0);

	/* Escapes grow the text fourfold: it is cut between escapes, never inside one. */
	memset(esc, 0x1b, sizeof(esc) - 1);
	esc[sizeof(esc) - 1] = '\0';
	assert_int_equal(iplist_parse_entry(esc, &p, reason, sizeof(reason)), -EINVAL);
	assert_reason_clean(reason);
	assert_non_null(strstr(reason, "not an IP address or prefix: '\\x1b\\x1b"));
	for (size_t len = 1; len < 48; len++) {
		assert_int_equal(iplist_parse_entry("1.2.3.4/\x1b\x1b\x1b", &p, reason, len),
				 -EINVAL);
		assert_true(strlen(reason) < len);
		assert_reason_clean(reason);
	}
	/* A long quote of escapes still says it was cut. */
	memset(esc, 0x01, 50);
	esc[50] = '\0';
	assert_int_equal(iplist_parse_entry(esc, &p, reason, sizeof(reason)), -EINVAL);
	assert_reason_clean(reason);
	assert_true(strlen(reason) < sizeof(reason));
}

/* ---- whole lists ---------------------------------------------------------------------------- */

static void test_parse_list(void **state)
{
	struct iplist_error err = { .line = -1 };
	struct iplist l;

	assert_int_equal(parse_str("# the default list\n"
				   "\n"
				   "10.*.*.*\n"
				   "   192.168.1.*   # home\n"
				   "\t\n"
				   "2001:db8::*#doc\n"
				   "  # indented comment\n"
				   "2001:db8:abcd:1234:5678:9abc:def0:*\r\n"
				   "192.0.2.1",	/* last line without newline */
				   &l, &err), 0);
	assert_int_equal(err.line, 0);
	assert_string_equal(list_str(&l),
			    "10.0.0.0/8, 192.168.1.0/24, 2001:db8::/32, "
			    "2001:db8:abcd:1234:5678:9abc:def0:0/112, 192.0.2.1/32");
	iplist_free(&l);

	/* Empty input, only comments, CRLF and a byte order mark: all fine. */
	assert_int_equal(parse_str("", &l, &err), 0);
	assert_int_equal(l.n, 0);
	iplist_free(&l);
	assert_int_equal(parse_str("#\n# nothing\n\n\r\n", &l, &err), 0);
	assert_int_equal(l.n, 0);
	iplist_free(&l);
	assert_int_equal(parse_str("\xef\xbb\xbf" "10.0.0.0/8\r\n::1\r\n", &l, &err), 0);
	assert_string_equal(list_str(&l), "10.0.0.0/8, ::1/128");
	iplist_free(&l);

	/* err may be NULL. */
	assert_int_equal(parse_str("10.0.0.0/8\n", &l, NULL), 0);
	assert_int_equal(l.n, 1);
	iplist_free(&l);
	assert_int_equal(parse_str("bad\n", &l, NULL), -EINVAL);
	assert_int_equal(l.n, 0);
}

static void test_parse_duplicates(void **state)
{
	struct iplist_error err;
	struct iplist l;

	/* Same network written four ways, kept once, at its first position. */
	assert_int_equal(parse_str("10.*.*.*\n"
				   "192.168.1.*\n"
				   "10.0.0.0/8\n"
				   "10.1.2.3/8\n"
				   "10.*.*.*  # again\n"
				   "2001:db8::*\n"
				   "2001:db8::/32\n"
				   "2001:DB8:0::/32\n",
				   &l, &err), 0);
	assert_string_equal(list_str(&l), "10.0.0.0/8, 192.168.1.0/24, 2001:db8::/32");
	iplist_free(&l);

	/* Same address, different lengths, and v4 vs v4-mapped v6: all distinct. */
	assert_int_equal(parse_str("10.0.0.0/8\n10.0.0.0/16\n10.0.0.0\n::ffff:10.0.0.0/104\n",
				   &l, &err), 0);
	assert_int_equal(l.n, 4);
	iplist_free(&l);
}

/* Distinct entries, alternating families; alt = the same prefix in another spelling. */
static int many_entry(char *buf, size_t len, unsigned int i, bool alt)
{
	if (i % 2)
		return snprintf(buf, len, alt ? "2001:db8:%x::*\n" : "2001:db8:%x::/48\n", i);
	return snprintf(buf, len, alt ? "10.%u.%u.%u/32\n" : "10.%u.%u.%u\n", i >> 16,
			(i >> 8) & 255, i & 255);
}

/*
 * 50,000 entries plus 10,000 duplicates: kept once each, at the first occurrence. Once a check
 * per entry made this quadratic (seconds); the test has no timing assertion, only the result.
 */
static void test_parse_many(void **state)
{
	const unsigned int n = 50000;
	size_t cap = 64 * (n + n / 5 + 1), o = 0;
	char *text = malloc(cap), want[64], got[IP_PREFIX_STRLEN];
	struct iplist_error err;
	struct iplist l;

	assert_non_null(text);
	/* The last entry first, spelled differently: it is kept here, not at the end. */
	o += many_entry(text + o, cap - o, n - 1, true);
	for (unsigned int i = 0; i < n; i++) {
		o += many_entry(text + o, cap - o, i, false);
		if (i && i % 5 == 0)
			o += many_entry(text + o, cap - o, i / 2, i % 2);
	}
	assert_true(o < cap);
	assert_int_equal(iplist_parse(text, o, &l, &err), 0);
	assert_int_equal(l.n, n);
	for (unsigned int k = 0; k < n; k++) {
		unsigned int i = k ? k - 1 : n - 1;

		many_entry(want, sizeof(want), i, false);
		want[strcspn(want, "\n")] = '\0';
		if (!strchr(want, '/'))
			strcat(want, "/32");
		assert_non_null(ip_prefix_format(&l.v[k], got, sizeof(got)));
		if (strcmp(got, want))
			fail_msg("entry %u is %s, expected %s", k, got, want);
	}
	iplist_free(&l);
	free(text);
}

static void test_parse_errors_refuse_everything(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *reason;
	} cases[] = {
		{ "10.0.0.0/8\n10.*.1.*\n", 2, "wildcard is not trailing: '10.*.1.*'" },
		{ "# c\n\n10.0.0.0/8\n  10.0.300.*   # typo\n192.168.1.*\n", 4,
		  "bad octet '300': '10.0.300.*'" },
		{ "10.0.0.0/33", 1, "prefix length out of range (0-32): '10.0.0.0/33'" },
		{ "::1\n\n\n::/129\n", 4, "prefix length out of range (0-128): '::/129'" },
		{ "10.0.0.0/8\r\n192.168.1.0/\r\n", 2, "missing prefix length: '192.168.1.0/'" },
		{ "10.1*.0.0\n", 1, "a wildcard must replace a whole octet: '10.1*.0.0'" },
		{ "1.2.3.4\nhello world\n", 2, "unexpected space in entry: 'hello world'" },
		{ "2001:db8::*\n2001:*:db8::*\n", 2, "wildcard is not trailing: '2001:*:db8::*'" },
		{ "10.0.0.0/8\n10.0.0.0/8 10.0.0.0/16\n", 2,
		  "unexpected space in entry: '10.0.0.0/8 10.0.0.0/16'" },
		{ "10.0.0.0/8\n\n\n\n\n\n\n\n\n\n\n10.0.0.0/8x\n", 12,
		  "bad prefix length '8x': '10.0.0.0/8x'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct iplist_error err = { 0 };
		struct iplist l = { 0 };

		assert_int_equal(parse_str(cases[i].text, &l, &err), -EINVAL);
		assert_int_equal(err.line, cases[i].line);
		assert_string_equal(err.reason, cases[i].reason);
		/* Nothing half-applied: the good lines before the bad one are gone too. */
		assert_int_equal(l.n, 0);
		assert_null(l.v);
	}
}

static void test_parse_buffer_bounds(void **state)
{
	static const char text[] = "10.0.0.0/8\n192.168.1.0/24\n";
	struct iplist_error err;
	char entry[200];
	struct iplist l;

	/* len, not NUL, ends the input: only the first line is seen. */
	assert_int_equal(iplist_parse(text, 11, &l, &err), 0);
	assert_string_equal(list_str(&l), "10.0.0.0/8");
	iplist_free(&l);
	/* Cut in the middle of an entry: the cut entry is what is parsed. */
	assert_int_equal(iplist_parse(text, 13, &l, &err), -EINVAL);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.reason, "not an IP address or prefix: '19'");

	/* A NUL byte means this is not a list file. */
	assert_int_equal(iplist_parse("10.0.0.0/8\n1.2\0.3.4\n", 20, &l, &err), -EINVAL);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.reason, "NUL"));
	assert_int_equal(l.n, 0);

	/* A very long line does not overflow anything and names itself. */
	memset(entry, '9', sizeof(entry) - 1);
	entry[sizeof(entry) - 1] = '\0';
	assert_int_equal(parse_str(entry, &l, &err), -EINVAL);
	assert_int_equal(err.line, 1);
	assert_non_null(strstr(err.reason, "entry too long"));

	/* A long comment is fine. */
	memset(entry, 'x', sizeof(entry) - 1);
	entry[0] = '#';
	assert_int_equal(parse_str(entry, &l, &err), 0);
	assert_int_equal(l.n, 0);
}

static void test_load_file(void **state)
{
	struct iplist_error err;
	struct iplist l;
	char path[128];

	snprintf(path, sizeof(path), "%s/list.txt", tmpdir);
	write_file(path, "# list\n10.0.*.*\n2001:db8::/32 # doc\n");
	assert_int_equal(iplist_load_file(path, &l, &err), 0);
	assert_string_equal(list_str(&l), "10.0.0.0/16, 2001:db8::/32");
	iplist_free(&l);

	write_file(path, "10.0.*.*\n\n10.*.1.*\n");
	assert_int_equal(iplist_load_file(path, &l, &err), -EINVAL);
	assert_int_equal(err.line, 3);
	assert_string_equal(err.reason, "wildcard is not trailing: '10.*.1.*'");
	assert_int_equal(l.n, 0);

	/* An empty file is an empty list: "ignore nothing". */
	write_file(path, "");
	assert_int_equal(iplist_load_file(path, &l, &err), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(iplist_load_file("/dev/null", &l, &err), 0);
	assert_int_equal(l.n, 0);

	snprintf(path, sizeof(path), "%s/missing.txt", tmpdir);
	assert_int_equal(iplist_load_file(path, &l, &err), -ENOENT);
	assert_int_equal(err.line, 0);
	assert_string_equal(err.reason, strerror(ENOENT));
	assert_int_equal(l.n, 0);

	assert_int_equal(iplist_load_file(tmpdir, &l, &err), -EISDIR);
	assert_int_equal(err.line, 0);
	assert_string_equal(err.reason, strerror(EISDIR));

	/* A file bigger than the internal read chunk. */
	snprintf(path, sizeof(path), "%s/big.txt", tmpdir);
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		for (int i = 0; i < 3000; i++)
			fprintf(f, "10.%d.%d.0/24   # entry number %d\n", i / 256, i % 256, i);
		assert_int_equal(fclose(f), 0);
	}
	assert_int_equal(iplist_load_file(path, &l, &err), 0);
	assert_int_equal(l.n, 3000);
	assert_string_equal(fmt(&l.v[2999]), "10.11.183.0/24");
	iplist_free(&l);
}

static void test_load_file_stdin(void **state)
{
	struct iplist_error err;
	struct iplist l;
	char path[128];
	int saved = dup(0), fd;

	snprintf(path, sizeof(path), "%s/stdin.txt", tmpdir);
	write_file(path, "192.168.1.*\n::1\n");
	fd = open(path, 0);
	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(dup2(fd, 0), 0);
	close(fd);
	clearerr(stdin);
	assert_int_equal(iplist_load_file("-", &l, &err), 0);
	dup2(saved, 0);
	close(saved);
	clearerr(stdin);
	assert_string_equal(list_str(&l), "192.168.1.0/24, ::1/128");
	iplist_free(&l);
}

/* ---- prefixes ------------------------------------------------------------------------------ */

static void test_format_round_trip(void **state)
{
	static const char *const texts[] = {
		"10.0.0.0/8", "192.168.1.0/24", "0.0.0.0/0", "192.0.2.1/32", "10.128.0.0/9",
		"2001:db8::/32", "::/0", "::1/128", "2001:db8:abcd:1234:5678:9abc:def0:0/112",
		"fe80::/10", "::ffff:10.0.0.0/104", "2001:db8:0:1::/64",
	};
	char buf[IP_PREFIX_STRLEN], small[8];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct ip_prefix a = pfx(texts[i]), b;

		assert_ptr_equal(ip_prefix_format(&a, buf, sizeof(buf)), buf);
		assert_string_equal(buf, texts[i]);
		b = pfx(buf);
		assert_memory_equal(&a, &b, sizeof(a));
	}
	/* RFC 5952: lower case, longest zero run compressed, no single-group "::". */
	expect_entry("2001:0db8:0000:0000:0001:0000:0000:0000/128", "2001:db8:0:0:1::/128");

	struct ip_prefix p = pfx("192.168.100.0/24");

	assert_null(ip_prefix_format(&p, small, sizeof(small)));
	p.family = 0;
	assert_null(ip_prefix_format(&p, buf, sizeof(buf)));
}

static void test_contains(void **state)
{
	struct ip_prefix n8 = pfx("10.0.0.0/8"), n25 = pfx("192.168.1.128/25");
	struct ip_prefix all4 = pfx("0.0.0.0/0"), host = pfx("192.0.2.1");
	struct ip_prefix v6 = pfx("2001:db8::/32"), v6odd = pfx("2001:db8:8000::/33");
	struct ip_prefix all6 = pfx("::/0");
	uint8_t a10[16] = { 10, 200, 3, 4 }, a11[16] = { 11, 0, 0, 0 };
	uint8_t a1_200[16] = { 192, 168, 1, 200 }, a1_100[16] = { 192, 168, 1, 100 };
	uint8_t h1[16] = { 192, 0, 2, 1 }, h2[16] = { 192, 0, 2, 2 };
	uint8_t d1[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, [15] = 1 };
	uint8_t d2[16] = { 0x20, 0x01, 0x0d, 0xb9 };
	uint8_t d3[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x7f };

	assert_true(ip_prefix_contains(&n8, TM_AF_INET, a10));
	assert_false(ip_prefix_contains(&n8, TM_AF_INET, a11));
	assert_false(ip_prefix_contains(&n8, TM_AF_INET6, a10));	/* family must match */
	assert_true(ip_prefix_contains(&n25, TM_AF_INET, a1_200));
	assert_false(ip_prefix_contains(&n25, TM_AF_INET, a1_100));
	assert_true(ip_prefix_contains(&all4, TM_AF_INET, a11));
	assert_false(ip_prefix_contains(&all4, TM_AF_INET6, d1));
	assert_true(ip_prefix_contains(&host, TM_AF_INET, h1));
	assert_false(ip_prefix_contains(&host, TM_AF_INET, h2));
	assert_true(ip_prefix_contains(&v6, TM_AF_INET6, d1));
	assert_false(ip_prefix_contains(&v6, TM_AF_INET6, d2));
	assert_true(ip_prefix_contains(&v6odd, TM_AF_INET6, d1));
	assert_false(ip_prefix_contains(&v6odd, TM_AF_INET6, d3));
	assert_true(ip_prefix_contains(&all6, TM_AF_INET6, d2));
	assert_false(ip_prefix_contains(&all6, TM_AF_INET, a10));
}

static void test_list_ops(void **state)
{
	struct ip_prefix a = pfx("10.0.0.0/8"), b = pfx("2001:db8::/32"), c = pfx("10.0.0.0/16");
	struct ip_prefix a2 = pfx("10.9.9.9/8");
	struct iplist l = { 0 };

	assert_int_equal(iplist_find(&l, &a), -1);
	assert_int_equal(iplist_append(&l, &a), 0);
	assert_int_equal(iplist_append(&l, &b), 0);
	assert_int_equal(iplist_append(&l, &a), -EEXIST);
	assert_int_equal(iplist_append(&l, &a2), -EEXIST);	/* same canonical prefix */
	assert_int_equal(iplist_append(&l, &c), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(iplist_find(&l, &a), 0);
	assert_int_equal(iplist_find(&l, &b), 1);
	assert_int_equal(iplist_find(&l, &c), 2);

	iplist_remove(&l, 0);
	assert_string_equal(list_str(&l), "2001:db8::/32, 10.0.0.0/16");	/* order kept */
	assert_int_equal(iplist_find(&l, &a), -1);
	assert_int_equal(iplist_find(&l, &c), 1);
	iplist_remove(&l, 5);		/* out of range: no-op */
	assert_int_equal(l.n, 2);
	iplist_remove(&l, 1);
	assert_string_equal(list_str(&l), "2001:db8::/32");
	assert_int_equal(iplist_append(&l, &a), 0);	/* re-add after remove */
	assert_string_equal(list_str(&l), "2001:db8::/32, 10.0.0.0/8");

	/* Growth past the first allocation. */
	for (int i = 0; i < 100; i++) {
		struct ip_prefix p = { .family = TM_AF_INET, .len = 32, .addr = { 192, 0, 2, i } };

		assert_int_equal(iplist_append(&l, &p), 0);
	}
	assert_int_equal(l.n, 102);
	assert_string_equal(fmt(&l.v[101]), "192.0.2.99/32");

	iplist_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.cap, 0);
	iplist_free(&l);							/* twice is fine */
}

/* ---- the header ---------------------------------------------------------------------------- */

static const char seed_header[] =
	"/* SPDX-License-Identifier: GPL-2.0 */\n"
	"/* Generated by ipmask_tool; edit the IP list and run 'make masks' instead. */\n"
	"#ifndef UNTRACKED_MASKS_H\n"
	"#define UNTRACKED_MASKS_H\n"
	"\n"
	"static const struct ipv4_mask untracked_ipv4[] = {\n"
	"    { __builtin_bswap32(0x0a000000), __builtin_bswap32(0xff000000) }, // 10.0.0.0/8\n"
	"    { __builtin_bswap32(0xc0a80100), __builtin_bswap32(0xffffff00) }, // 192.168.1.0/24\n"
	"};\n"
	"static const struct ipv6_mask untracked_ipv6[] = {\n"
	"    { { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, "
	"0x00, 0x00, 0x00, 0x00 }, 32 }, // 2001:db8::/32\n"
	"    { { 0x20, 0x01, 0x0d, 0xb8, 0xab, 0xcd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, "
	"0xde, 0xf0, 0x00, 0x00 }, 112 }, // 2001:db8:abcd:1234:5678:9abc:def0:0/112\n"
	"};\n"
	"\n"
	"#endif /* UNTRACKED_MASKS_H */\n";

static const char seed_list[] =
	"10.0.*.*   # the seed's example list; 10.0.*.* is /16, so use CIDR for /8\n"
	"10.0.0.0/8\n"
	"192.168.1.*\n"
	"2001:db8::*\n"
	"2001:db8:abcd:1234:5678:9abc:def0:*\n";

static void test_header_text(void **state)
{
	struct iplist_error err;
	struct iplist l;
	char *text;

	/* Families are grouped in the header whatever their order in the list. */
	assert_int_equal(parse_str("2001:db8::*\n10.*.*.*\n"
				   "2001:db8:abcd:1234:5678:9abc:def0:*\n192.168.1.*\n",
				   &l, &err), 0);
	text = header_of(&l);
	assert_string_equal(text, seed_header);
	free(text);
	iplist_free(&l);

	/* The seed's own list (with its /16) still gives seed-form lines. */
	assert_int_equal(parse_str(seed_list, &l, &err), 0);
	text = header_of(&l);
	assert_non_null(strstr(text, "    { __builtin_bswap32(0x0a000000), "
				     "__builtin_bswap32(0xffff0000) }, // 10.0.0.0/16\n"));
	free(text);
	iplist_free(&l);

	/* /0 and /32 masks, and /0 and /128 IPv6. */
	assert_int_equal(parse_str("*.*.*.*\n192.0.2.1\n::/0\n::1\n", &l, &err), 0);
	text = header_of(&l);
	assert_non_null(strstr(text, "    { __builtin_bswap32(0x00000000), "
				     "__builtin_bswap32(0x00000000) }, // 0.0.0.0/0\n"));
	assert_non_null(strstr(text, "    { __builtin_bswap32(0xc0000201), "
				     "__builtin_bswap32(0xffffffff) }, // 192.0.2.1/32\n"));
	assert_non_null(strstr(text, " 0x00, 0x00 }, 0 }, // ::/0\n"));
	assert_non_null(strstr(text, " 0x00, 0x01 }, 128 }, // ::1/128\n"));
	free(text);
	iplist_free(&l);

	/* Empty families still produce both arrays. */
	l = (struct iplist){ 0 };
	text = header_of(&l);
	assert_non_null(strstr(text, "static const struct ipv4_mask untracked_ipv4[] = {\n};\n"
				     "static const struct ipv6_mask untracked_ipv6[] = {\n};\n"));
	free(text);
}

/*
 * Compile the generated header into a tiny program with the system compiler and let the
 * program print what the arrays hold, so the check covers the C meaning, not just the text.
 */
static void check_header_compiles(const char *list_text, const char *want_output)
{
	char hdr[128], prog[128], bin[128], cmd[512], out[2048];
	struct iplist_error err;
	struct iplist l;
	size_t n = 0;
	FILE *f;
	char *text;

	if (system("command -v cc >/dev/null 2>&1") != 0)
		skip();
	snprintf(hdr, sizeof(hdr), "%s/untracked_masks.h", tmpdir);
	snprintf(prog, sizeof(prog), "%s/prog.c", tmpdir);
	snprintf(bin, sizeof(bin), "%s/prog", tmpdir);

	assert_int_equal(parse_str(list_text, &l, &err), 0);
	text = header_of(&l);
	write_file(hdr, text);
	free(text);
	iplist_free(&l);

	write_file(prog,
		   "#include <linux/types.h>\n"
		   "#include <stdio.h>\n"
		   "#include <arpa/inet.h>\n"
		   "struct ipv4_mask { __u32 addr; __u32 mask; };\n"
		   "struct ipv6_mask { __u8 prefix[16]; __u8 prefix_len; };\n"
		   "#include \"untracked_masks.h\"\n"
		   "#include \"untracked_masks.h\"\n"	/* the include guard works */
		   "int main(void)\n{\n"
		   "\tconst size_t n4 = sizeof(untracked_ipv4) / sizeof(untracked_ipv4[0]);\n"
		   "\tconst size_t n6 = sizeof(untracked_ipv6) / sizeof(untracked_ipv6[0]);\n"
		   "\tprintf(\"%zu %zu\\n\", n4, n6);\n"
		   "\tfor (size_t i = 0; i < n4; i++)\n"
		   "\t\tprintf(\"%08x %08x\\n\", ntohl(untracked_ipv4[i].addr),\n"
		   "\t\t       ntohl(untracked_ipv4[i].mask));\n"
		   "\tfor (size_t i = 0; i < n6; i++) {\n"
		   "\t\tfor (int b = 0; b < 16; b++)\n"
		   "\t\t\tprintf(\"%02x\", untracked_ipv6[i].prefix[b]);\n"
		   "\t\tprintf(\" %u\\n\", untracked_ipv6[i].prefix_len);\n"
		   "\t}\n"
		   "\treturn 0;\n}\n");
	snprintf(cmd, sizeof(cmd), "cc -std=gnu11 -Wall -Wextra -Werror -o '%s' '%s' && '%s'", bin,
		 prog, bin);
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
	assert_string_equal(out, want_output);
}

static void test_header_compiles(void **state)
{
	check_header_compiles("10.*.*.*\n192.168.1.*\n2001:db8::*\n"
			      "2001:db8:abcd:1234:5678:9abc:def0:*\n",
			      "2 2\n"
			      "0a000000 ff000000\n"
			      "c0a80100 ffffff00\n"
			      "20010db8000000000000000000000000 32\n"
			      "20010db8abcd123456789abcdef00000 112\n");
}

static void test_header_compiles_empty(void **state)
{
	check_header_compiles("", "0 0\n");
	check_header_compiles("192.0.2.0/24\n", "1 0\nc0000200 ffffff00\n");
	check_header_compiles("::1\n", "0 1\n00000000000000000000000000000001 128\n");
}

static void test_header_write_error(void **state)
{
	struct iplist l = { 0 };
	FILE *f = fopen("/dev/full", "w");

	if (!f)
		skip();
	setvbuf(f, NULL, _IONBF, 0);
	assert_true(iplist_write_header(&l, f) < 0);
	fclose(f);
}

/* ---- the compiled-in default ------------------------------------------------------------- */

static void test_load_default(void **state)
{
	/* bpf/ list files relative to this source file, or to the working directory. */
	static const char suffix[] = "tests/unit/test_iplist.c";
	const char *src = __FILE__;
	size_t sl = strlen(src), xl = strlen(suffix);
	struct iplist def, file;
	struct iplist_error err;
	char path[512] = "", hpath[512], *text, *shipped;
	FILE *f;
	long n;

	/* As shipped nothing is ignored unless the user asks (SPEC.md, "Ignored networks"). */
	assert_int_equal(iplist_load_default(&def), 0);
	assert_string_equal(list_str(&def), "");

	if (sl >= xl && !strcmp(src + sl - xl, suffix))
		snprintf(path, sizeof(path), "%.*sbpf/ip_list.txt", (int)(sl - xl), src);
	if (!path[0] || access(path, R_OK))
		snprintf(path, sizeof(path), "bpf/ip_list.txt");
	if (access(path, R_OK)) {
		iplist_free(&def);
		skip();
	}
	/* The default is bpf/ip_list.txt (its examples are comments)... */
	assert_int_equal(iplist_load_file(path, &file, &err), 0);
	assert_int_equal(def.n, file.n);
	for (size_t i = 0; i < def.n; i++)
		assert_memory_equal(&def.v[i], &file.v[i], sizeof(def.v[i]));

	/* ... and bpf/untracked_masks.h is exactly what 'make masks' writes for it. */
	snprintf(hpath, sizeof(hpath), "%.*suntracked_masks.h",
		 (int)(strlen(path) - strlen("ip_list.txt")), path);
	f = fopen(hpath, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	shipped = calloc(1, n + 1);
	assert_non_null(shipped);
	assert_int_equal(fread(shipped, 1, n, f), n);
	fclose(f);
	text = header_of(&file);
	assert_string_equal(text, shipped);
	free(text);
	free(shipped);
	iplist_free(&def);
	iplist_free(&file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_wildcards),
		cmocka_unit_test(test_v6_wildcards),
		cmocka_unit_test(test_cidr_and_host_bits),
		cmocka_unit_test(test_plain_addresses),
		cmocka_unit_test(test_entry_whitespace),
		cmocka_unit_test(test_bad_entries),
		cmocka_unit_test(test_reason_truncation),
		cmocka_unit_test(test_reason_escapes_input),
		cmocka_unit_test(test_parse_list),
		cmocka_unit_test(test_parse_duplicates),
		cmocka_unit_test(test_parse_many),
		cmocka_unit_test(test_parse_errors_refuse_everything),
		cmocka_unit_test(test_parse_buffer_bounds),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_load_file_stdin),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_list_ops),
		cmocka_unit_test(test_header_text),
		cmocka_unit_test(test_header_compiles),
		cmocka_unit_test(test_header_compiles_empty),
		cmocka_unit_test(test_header_write_error),
		cmocka_unit_test(test_load_default),
	};

	return cmocka_run_group_tests_name("iplist", tests, make_tmpdir, remove_tmpdir);
}
