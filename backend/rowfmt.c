// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <stdbool.h>
#include <netinet/in.h>
#include "backend/rowfmt.h"

const char rowfmt_digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static inline char *put_hex16(char *p, unsigned int v)
{
	static const char hex[] = "0123456789abcdef";
	int shift = v >= 0x1000 ? 12 : v >= 0x100 ? 8 : v >= 0x10 ? 4 : 0;

	for (; shift >= 0; shift -= 4)
		*p++ = hex[(v >> shift) & 0xf];
	return p;
}

/*
 * RFC 5952 by hand, because glibc's inet_ntop formats each group with sprintf. The two forms
 * where glibc prints an embedded IPv4 address go to inet_ntop itself, since the spec promises
 * its exact output: ::ffff:a.b.c.d, and ::a.b.c.d (six leading zero groups, the seventh not
 * zero). ::1 and :: stay on the fast path: loopback floods are all ::1.
 */
char *put_ipv6(char *p, const uint8_t *a)
{
	unsigned int w[8];
	int best = -1, best_len = 0, cur = -1, cur_len = 0;

	for (int i = 0; i < 8; i++)
		w[i] = (unsigned int)a[2 * i] << 8 | a[2 * i + 1];
	if (!(w[0] | w[1] | w[2] | w[3] | w[4]) && (w[5] == 0xffff || (!w[5] && w[6]))) {
		char s[INET6_ADDRSTRLEN];
		size_t n;

		inet_ntop(AF_INET6, a, s, sizeof(s));
		n = strlen(s);
		memcpy(p, s, n);
		return p + n;
	}
	/* Longest run of zero groups, the first one on a tie; a single zero is not compressed. */
	for (int i = 0; i < 8; i++) {
		if (w[i]) {
			cur = -1;
			continue;
		}
		if (cur < 0) {
			cur = i;
			cur_len = 0;
		}
		if (++cur_len > best_len) {
			best = cur;
			best_len = cur_len;
		}
	}
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			*p++ = ':';
			if (i + best_len == 8)
				*p++ = ':';
			i += best_len - 1;
			continue;
		}
		if (i)
			*p++ = ':';
		p = put_hex16(p, w[i]);
	}
	return p;
}

char *put_csv_text(char *p, const char *s, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strnlen(s, max + 1);
	bool cut = n > max, quote = false;

	if (cut)
		n = max;
	for (size_t i = 0; i < n && !quote; i++) {
		unsigned char c = (unsigned char)s[i];

		quote = c < 0x20 || c > 0x7e || c == ',' || c == '"' || c == '\\';
	}
	if (!quote && !cut) {
		memcpy(p, s, n);
		return p + n;
	}
	*p++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"') {
			*p++ = '"';
			*p++ = '"';
		} else if (c < 0x20 || c > 0x7e || c == '\\') {
			*p++ = '\\';
			*p++ = 'x';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		} else {
			*p++ = (char)c;
		}
	}
	if (cut) {
		memcpy(p, "...", 3);
		p += 3;
	}
	*p++ = '"';
	return p;
}

char *put_proto(char *p, uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		memcpy(p, "tcp", 3);
		return p + 3;
	case IPPROTO_UDP:
		memcpy(p, "udp", 3);
		return p + 3;
	case IPPROTO_ICMP:
		memcpy(p, "icmp", 4);
		return p + 4;
	case IPPROTO_ICMPV6:
		memcpy(p, "ipv6-icmp", 9);
		return p + 9;
	default:
		return put_u64(p, proto);
	}
}

size_t rowfmt_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;	/* a continuation byte, an overlong lead, or past U+10FFFF */
	if (len > n)
		return 0;
	/* The second byte's range rules out overlongs, surrogates and code points past U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

char *put_json_text(char *p, const char *s, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strnlen(s, max + 1);
	bool cut = n > max;

	if (cut)
		n = max;
	*p++ = '"';
	for (size_t i = 0; i < n;) {
		unsigned char c = u[i];
		size_t len;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			*p++ = (char)c;
			i++;
			continue;
		}
		if (c >= 0x80) {
			len = rowfmt_utf8_len(u + i, n - i);
			if (len) {
				memcpy(p, u + i, len);
				p += len;
				i += len;
			} else {
				memcpy(p, "\\ufffd", 6);
				p += 6;
				i++;
			}
			continue;
		}
		*p++ = '\\';
		switch (c) {
		case '"': *p++ = '"'; break;
		case '\\': *p++ = '\\'; break;
		case '\n': *p++ = 'n'; break;
		case '\r': *p++ = 'r'; break;
		case '\t': *p++ = 't'; break;
		case '\b': *p++ = 'b'; break;
		case '\f': *p++ = 'f'; break;
		default:
			memcpy(p, "u00", 3);
			p[3] = hex[c >> 4];
			p[4] = hex[c & 15];
			p += 5;
		}
		i++;
	}
	if (cut) {
		memcpy(p, "...", 3);
		p += 3;
	}
	*p++ = '"';
	return p;
}
