// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include "tui/format.h"
#include <linux/types.h>
#include "traffic_meter.h"

/*
 * One scaler for both units so "b" toggles only the suffix table and the base. A value that
 * would print as 1000.0 moves up a unit, so a column never needs more than "999.9K".
 */
static char *scale(char *buf, size_t len, double v, double base, const char *const *units,
		   int nunits)
{
	int u = 0;

	if (v < 0)
		v = 0;
	if (v < 1000.0) {
		snprintf(buf, len, "%.0f%s", v, units[0]);
		return buf;
	}
	while (u < nunits - 1 && v >= 999.95) {
		v /= base;
		u++;
	}
	snprintf(buf, len, "%.1f%s", v, units[u]);
	return buf;
}

char *fmt_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "B", "K", "M", "G", "T", "P" };

	return scale(buf, len, (double)bytes, 1024.0, units, 6);
}

char *fmt_rate(char *buf, size_t len, double bytes_per_s, bool bits)
{
	static const char *const bunits[] = { "b", "Kb", "Mb", "Gb", "Tb" };
	static const char *const Bunits[] = { "B", "K", "M", "G", "T", "P" };

	if (bits)
		return scale(buf, len, bytes_per_s * 8.0, 1000.0, bunits, 5);
	return scale(buf, len, bytes_per_s, 1024.0, Bunits, 6);
}

/* The width that fits both the request and the buffer (room for the NUL). */
/* Bytes of the UTF-8 sequence starting at s, or 0 when it is not a valid, printable one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned int cp;

	if (s[0] < 0x80)
		return s[0] >= 0x20 && s[0] != 0x7f ? 1 : 0;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, C1 controls (a terminal may take U+009B as CSI) */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

char *fmt_sanitize(char *buf, size_t len, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0;

	if (!len)
		return buf;
	while (*s) {
		size_t n = utf8_len(s);

		if (!n) {
			if (o + 1 >= len)
				break;
			buf[o++] = '?';
			s++;
			continue;
		}
		if (o + n >= len)
			break;
		memcpy(buf + o, s, n);
		o += n;
		s += n;
	}
	buf[o] = '\0';
	return buf;
}

/*
 * The columns of the character at s (sanitized UTF-8) as the terminal draws it: wcwidth() in
 * the screen's locale, so a CJK name takes two columns as ncurses gives it; 1 where the locale
 * does not know the character. *n gets its length in bytes.
 */
static int char_cols(const char *s, size_t *n)
{
	unsigned char c = (unsigned char)*s;
	wchar_t wc;
	int w;

	if (c < 0x80) {
		*n = 1;
		return 1;
	}
	*n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	wc = (wchar_t)(c & (0x7f >> *n));
	for (size_t i = 1; i < *n; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			*n = i;		/* not sanitized after all: one column a byte */
			return 1;
		}
		wc = (wc << 6) | ((unsigned char)s[i] & 0x3f);
	}
	w = wcwidth(wc);
	return w < 0 ? 1 : w;
}

int fmt_width(const char *s)
{
	int w = 0;
	size_t n;

	for (; *s; s += n)
		w += char_cols(s, &n);
	return w;
}

/*
 * Byte offset after the characters of s (sanitized UTF-8) that fill at most `cols` columns and
 * `room` bytes: a cut never splits a character, nor a wide one across the edge.
 */
static size_t cut_at(const char *s, int cols, size_t room)
{
	size_t i = 0, n;
	int c = 0, w;

	while (s[i]) {
		w = char_cols(s + i, &n);
		if (c + w > cols || i + n > room)
			break;
		c += w;
		i += n;
	}
	return i;
}

char *fmt_trunc(char *buf, size_t len, const char *src, int width)
{
	char tmp[1024];
	size_t n;

	if (!len)
		return buf;
	fmt_sanitize(tmp, sizeof(tmp), src);
	if (width < 0)
		width = 0;
	n = cut_at(tmp, width, len - 1);
	if (!tmp[n]) {
		memcpy(buf, tmp, n + 1);	/* all of it fits */
		return buf;
	}
	if (width == 0 || len < 2) {
		buf[0] = '\0';
		return buf;
	}
	/* Cut by the width or by the buffer, either way it says so. */
	n = cut_at(tmp, width - 1, len - 2);
	memcpy(buf, tmp, n);
	buf[n] = '~';
	buf[n + 1] = '\0';
	return buf;
}

char *fmt_trunc_left(char *buf, size_t len, const char *src, int width)
{
	char tmp[1024];
	size_t off, n;
	int w;

	if (!len)
		return buf;
	fmt_sanitize(tmp, sizeof(tmp), src);
	w = fmt_width(tmp);
	n = strlen(tmp);
	if (width < 0)
		width = 0;
	if ((w <= width && n < len) || width == 0 || len < 2)
		return fmt_trunc(buf, len, tmp, width);
	/* The last characters that fit in width - 1 columns and the buffer after the '~'. */
	for (off = 0; tmp[off] && (w > width - 1 || n - off + 2 > len);) {
		size_t step;

		w -= char_cols(tmp + off, &step);
		off += step;
	}
	buf[0] = '~';
	memcpy(buf + 1, tmp + off, n - off + 1);
	return buf;
}

char *fmt_elapsed(char *buf, size_t len, uint64_t s)
{
	uint64_t d = s / 86400;

	if (d)
		snprintf(buf, len, "%llud %02u:%02u:%02u", (unsigned long long)d,
			 (unsigned)(s % 86400 / 3600), (unsigned)(s % 3600 / 60), (unsigned)(s % 60));
	else
		snprintf(buf, len, "%02u:%02u:%02u", (unsigned)(s / 3600), (unsigned)(s % 3600 / 60),
			 (unsigned)(s % 60));
	return buf;
}

char *fmt_addr(char *buf, size_t len, uint8_t family, const uint8_t *addr)
{
	int af = family == TM_AF_INET ? AF_INET : family == TM_AF_INET6 ? AF_INET6 : -1;

	if (af < 0 || !inet_ntop(af, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

char *fmt_token(char *buf, size_t len, const char *src)
{
	size_t i;

	if (!len)
		return buf;
	fmt_sanitize(buf, len, src);
	for (i = 0; buf[i]; i++)
		if (isspace((unsigned char)buf[i]))
			buf[i] = '_';
	if (!i && len > 1)
		snprintf(buf, len, "-");
	return buf;
}
