// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the ignore-list parser (meter/iplist.c): the input is a list file, as
 * untrusted as an operator's --ignore-file or a pasted UI entry. Besides the sanitizers, it
 * checks what callers rely on:
 *  - an accepted list holds canonical entries (host bits clear, length in range) that format
 *    and parse back to themselves, once each, in first-occurrence order, and a header can be
 *    written for it;
 *  - a refused list leaves the output empty and names a line that exists;
 *  - a reason never carries a raw control byte or a broken escape to the terminal;
 *  - iplist_parse_entry on the first line agrees with the list parser on that line.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "bpf/traffic_meter.h"
#include "meter/iplist.h"

#define ENTRY_MAX	128	/* meter/iplist.c: longer lines are refused as too long */

static void check_reason(const char *reason, size_t size)
{
	if (!memchr(reason, '\0', size))
		abort();	/* not terminated */
	for (const char *c = reason; *c; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			abort();	/* raw byte would reach the terminal */
		if (*c == '\\') {
			if (c[1] != 'x' || !c[2] || !c[3])
				abort();	/* cut inside an escape */
			c += 3;
		}
	}
}

static bool same(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       !memcmp(a->addr, b->addr, a->family == TM_AF_INET ? 4 : 16);
}

static void check_entry(const struct ip_prefix *p)
{
	unsigned int max = p->family == TM_AF_INET ? 32 : 128;
	char text[IP_PREFIX_STRLEN], reason[160];
	struct ip_prefix q;

	if ((p->family != TM_AF_INET && p->family != TM_AF_INET6) || p->len > max)
		abort();
	/* Host bits past the prefix are clear: the LPM map and duplicate check rely on it. */
	for (unsigned int bit = p->len; bit < max; bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8)))
			abort();
	if (!ip_prefix_format(p, text, sizeof(text)))
		abort();
	if (iplist_parse_entry(text, &q, reason, sizeof(reason)) || !same(p, &q))
		abort();	/* the canonical text must mean the same prefix */
	if (!ip_prefix_contains(p, p->family, p->addr))
		abort();
}

/* Number of lines in the input as the parser counts them (a BOM does not start one). */
static int count_lines(const uint8_t *data, size_t size)
{
	int n = 0;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n + (size && data[size - 1] != '\n');
}

/*
 * The first line, comment cut, through iplist_parse_entry: the two parsers must agree on
 * whether it is an entry and which. Lines the list parser treats specially (a NUL, longer
 * than an entry can be) are left to it.
 */
static void check_first_line(const uint8_t *data, size_t size, const struct iplist *l, int ret)
{
	char line[ENTRY_MAX + 2], reason[160];
	struct ip_prefix p;
	size_t n = 0, b = 0;

	if (size >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		b = 3;
	while (b + n < size && data[b + n] != '\n' && data[b + n] != '#' && data[b + n] != '\0' &&
	       n < sizeof(line) - 1)
		n++;
	if (b + n < size && data[b + n] != '\n' && data[b + n] != '#')
		return;		/* a NUL or an overlong line: the list parser says why */
	memcpy(line, data + b, n);
	line[n] = '\0';
	if (strspn(line, " \t\r\v\f") == n)
		return;		/* blank or comment only: no entry */
	if (iplist_parse_entry(line, &p, reason, sizeof(reason))) {
		check_reason(reason, sizeof(reason));
		if (!ret)
			abort();	/* the list accepted a line the entry parser refuses */
		return;
	}
	if (!ret && (!l->n || !same(&l->v[0], &p)))
		abort();	/* the first entry of the list is the first line's */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iplist_error err = { .line = -1 };
	struct iplist l = { .n = 12345 };
	int ret;

	ret = iplist_parse((const char *)data, size, &l, &err);
	if (ret) {
		if (ret != -EINVAL && ret != -ENOMEM)
			abort();
		if (l.n || l.v)
			abort();	/* a refused list is never half-applied */
		if (err.line < 0 || err.line > count_lines(data, size) || !err.reason[0])
			abort();
		check_reason(err.reason, sizeof(err.reason));
	} else {
		char *text = NULL;
		size_t len = 0;
		FILE *f;

		if (err.line != 0 || l.n > l.cap)
			abort();
		for (size_t i = 0; i < l.n; i++) {
			check_entry(&l.v[i]);
			/* Kept once: a naive scan is fine for the short lists a fuzzer makes. */
			if (l.n <= 512 && iplist_find(&l, &l.v[i]) != (int)i)
				abort();
		}
		f = open_memstream(&text, &len);
		if (f) {
			if (iplist_write_header(&l, f))
				abort();
			fclose(f);
			free(text);
		}
	}
	check_first_line(data, size, &l, ret);
	iplist_free(&l);
	return 0;
}
