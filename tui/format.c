// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
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
static int trunc_width(size_t len, int width)
{
	if (width < 0)
		width = 0;
	if ((size_t)width >= len)
		width = (int)len - 1;
	return width;
}

char *fmt_trunc(char *buf, size_t len, const char *src, int width)
{
	size_t n = strlen(src);

	if (!len)
		return buf;
	width = trunc_width(len, width);
	if (n <= (size_t)width) {
		memcpy(buf, src, n + 1);
		return buf;
	}
	if (width == 0) {
		buf[0] = '\0';
		return buf;
	}
	memcpy(buf, src, width - 1);
	buf[width - 1] = '~';
	buf[width] = '\0';
	return buf;
}

char *fmt_trunc_left(char *buf, size_t len, const char *src, int width)
{
	size_t n = strlen(src);

	if (!len)
		return buf;
	width = trunc_width(len, width);
	if (n <= (size_t)width || width == 0)
		return fmt_trunc(buf, len, src, width);
	buf[0] = '~';
	memcpy(buf + 1, src + n - (width - 1), width);	/* the tail and its NUL */
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
	for (i = 0; src[i] && i + 1 < len; i++)
		buf[i] = isspace((unsigned char)src[i]) ? '_' : src[i];
	buf[i] = '\0';
	if (!i && len > 1)
		snprintf(buf, len, "-");
	return buf;
}
