/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fast text for the backends' rows: numbers, addresses and timestamps written by hand into a
 * buffer the caller sized. The profile showed glibc's printf family and inet_ntop (sprintf per
 * group) as most of the logger's CPU under a flood, so these write digits straight into place.
 */
#ifndef BACKEND_ROWFMT_H
#define BACKEND_ROWFMT_H

#include <stdint.h>
#include <string.h>
#include <time.h>

extern const char rowfmt_digit_pairs[201];

static inline unsigned int rowfmt_digits(uint64_t v)
{
	unsigned int n = 1;

	while (v >= 10000) {
		v /= 10000;
		n += 4;
	}
	return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

/*
 * Digits written backwards straight into place: with the length known first there is no
 * variable-length memcpy, which the profile showed as a libc call per field.
 */
static inline char *put_u64(char *p, uint64_t v)
{
	unsigned int n = rowfmt_digits(v);
	char *t = p + n;

	while (v >= 100) {
		unsigned int r = v % 100;

		v /= 100;
		t -= 2;
		t[0] = rowfmt_digit_pairs[2 * r];
		t[1] = rowfmt_digit_pairs[2 * r + 1];
	}
	if (v >= 10) {
		t[-2] = rowfmt_digit_pairs[2 * v];
		t[-1] = rowfmt_digit_pairs[2 * v + 1];
	} else {
		t[-1] = (char)('0' + v);
	}
	return p + n;
}

/* Exactly nine digits: the nanoseconds after the point. */
static inline char *put_ns9(char *p, uint32_t v)
{
	p[8] = (char)('0' + v % 10);
	v /= 10;
	for (int i = 6; i >= 0; i -= 2) {
		memcpy(p + i, rowfmt_digit_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	return p + 9;
}

static inline char *put_octet(char *p, unsigned int v)
{
	if (v >= 100) {
		*p++ = (char)('0' + v / 100);
		v %= 100;
		memcpy(p, rowfmt_digit_pairs + 2 * v, 2);
		return p + 2;
	}
	if (v >= 10) {
		memcpy(p, rowfmt_digit_pairs + 2 * v, 2);
		return p + 2;
	}
	*p = (char)('0' + v);
	return p + 1;
}

static inline char *put_ipv4(char *p, const uint8_t *a)
{
	p = put_octet(p, a[0]);
	*p++ = '.';
	p = put_octet(p, a[1]);
	*p++ = '.';
	p = put_octet(p, a[2]);
	*p++ = '.';
	return put_octet(p, a[3]);
}

/* RFC 5952, byte for byte what glibc's inet_ntop prints; at most 45 characters. */
char *put_ipv6(char *p, const uint8_t *a);

/* "seconds.nnnnnnnnn"; a time before 1970 is written as 0.000000000. */
static inline char *put_ts(char *p, const struct timespec *ts)
{
	int64_t sec = ts->tv_sec;
	long nsec = ts->tv_nsec;

	if (sec < 0) {
		sec = 0;
		nsec = 0;
	}
	if (nsec < 0 || nsec > 999999999)
		nsec = nsec < 0 ? 0 : 999999999;
	p = put_u64(p, (uint64_t)sec);
	*p++ = '.';
	return put_ns9(p, (uint32_t)nsec);
}

/*
 * A text field of a CSV row (RFC 4180): as is when it is plain printable ASCII without a comma
 * or a quote, else in double quotes with quotes doubled. Control characters and bytes past
 * 0x7e, which a one-row-per-line file cannot carry, are written as the four characters \xNN,
 * and so is a backslash (\x5c), so that a name cannot spell an escape it does not contain.
 * At most max input bytes are written (a longer text ends in "..."); the output takes at most
 * 4 * max + 5 bytes.
 */
char *put_csv_text(char *p, const char *s, size_t max);

/* "tcp", "udp", "icmp", "ipv6-icmp", or the protocol number. */
char *put_proto(char *p, uint8_t proto);

/*
 * A JSON string (RFC 8259) with its quotes. Valid UTF-8 is copied as is; '"' and '\\' are
 * escaped, control characters and DEL become \n, \t, ... or \u00XX, and each byte that does
 * not start a valid UTF-8 sequence (a command name is any bytes) becomes \ufffd, so the line is
 * always valid JSON in valid UTF-8. At most max input bytes are written (a longer text ends in
 * "..."); the output takes at most 6 * max + 5 bytes.
 */
char *put_json_text(char *p, const char *s, size_t max);

/* Length of the valid multi-byte UTF-8 sequence at s (n bytes left, n >= 1), 0 when it is not
 * one (RFC 3629: no overlongs, surrogates or code points past U+10FFFF; ASCII is not one). */
size_t rowfmt_utf8_len(const unsigned char *s, size_t n);

#endif /* BACKEND_ROWFMT_H */
