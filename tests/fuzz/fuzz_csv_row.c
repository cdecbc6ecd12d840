// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the CSV row code (backend/csv.c, backend/rowfmt.c). The parser reads
 * the last line of a log file that may be torn, foreign or hostile; the formatter writes every
 * row of every log, in the seed's seven columns or the extended thirteen.
 *  - csv_parse_totals on the raw input never reads past it, and accepts exactly the lines a
 *    slow, obviously right reference accepts, with the same totals;
 *  - the input also spells a record (and the process behind it): csv_format_row writes it as
 *    one terminated row that fits CSV_ROW_MAX (CSV_ROW_MAX_EXT extended), with the addresses
 *    exactly as inet_ntop spells them, and parses back to the totals it was given; extended,
 *    its first seven columns are the seed row's and the command name and cgroup, unquoted and
 *    unescaped, are the process's own bytes; a buffer one byte short is refused, not overrun.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "traffic_meter.h"
#include "backend/csv.h"

/* Decimal digits only, 1-20 of them, value within 64 bits. */
static bool ref_u64(const char *s, size_t n, uint64_t *out)
{
	unsigned __int128 v = 0;

	if (n < 1 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v > UINT64_MAX)
		return false;
	*out = (uint64_t)v;
	return true;
}

/*
 * Does `rest` hold exactly six extended fields (proto,sport,dport,pid,comm,cgroup)? Text
 * fields may be in double quotes, where a comma is text and a quote is doubled ("") so the
 * count of quotes stays even: a comma splits only outside quotes, and every quote closes.
 */
static bool ref_extended(const char *rest, size_t n)
{
	size_t fields = 1;
	bool in_quotes = false;

	for (size_t i = 0; i < n; i++) {
		if (rest[i] == '"')
			in_quotes = !in_quotes;
		else if (rest[i] == ',' && !in_quotes)
			fields++;
	}
	return fields == 6 && !in_quotes;
}

/*
 * direction,bytes,src,dst,sec.nsec9,total_in,total_out with an optional final '\n', and
 * optionally ",<six extended fields>" before it. The seven are never quoted (our writers put
 * no quote in them), so they split at plain commas. A line break inside is never one row.
 */
static int ref_parse(const char *line, size_t len, uint64_t *in, uint64_t *out)
{
	const char *f[7];
	size_t fl[7], nf = 0;
	const char *p = line, *end;
	uint64_t v;

	if (len && line[len - 1] == '\n')
		len--;
	end = line + len;
	if (memchr(line, '\n', len))
		return -EINVAL;
	for (;;) {
		const char *c = memchr(p, ',', end - p);

		f[nf] = p;
		fl[nf++] = (c ? c : end) - p;
		if (!c)
			break;
		p = c + 1;
		if (nf == 7) {
			if (!ref_extended(p, end - p))
				return -EINVAL;
			break;
		}
	}
	if (nf != 7)
		return -EINVAL;
	if (!(fl[0] == 2 && !memcmp(f[0], "in", 2)) && !(fl[0] == 3 && !memcmp(f[0], "out", 3)))
		return -EINVAL;
	if (!ref_u64(f[1], fl[1], &v) || !fl[2] || !fl[3])
		return -EINVAL;
	if (fl[4] < 11 || f[4][fl[4] - 10] != '.' || !ref_u64(f[4], fl[4] - 10, &v) ||
	    !ref_u64(f[4] + fl[4] - 9, 9, &v))
		return -EINVAL;
	if (!ref_u64(f[5], fl[5], in) || !ref_u64(f[6], fl[6], out))
		return -EINVAL;
	return 0;
}

static void take(void *dst, size_t n, const uint8_t **data, size_t *size)
{
	size_t k = n < *size ? n : *size;

	memset(dst, 0, n);
	memcpy(dst, *data, k);
	*data += k;
	*size -= k;
}

/*
 * A text field of an extended row back to its bytes: as is, or from quotes with "" and \xNN
 * undone. Returns the number of bytes, or -1 when it is not well formed (then the writer
 * was wrong). *end is set after the field.
 */
static long unquote(const char *p, char *out, size_t cap, const char **end)
{
	size_t n = 0;

	if (*p != '"') {
		while (*p && *p != ',' && *p != '\n') {
			if (n == cap || *p == '"' || *p == '\\' || (unsigned char)*p < 0x20 ||
			    (unsigned char)*p > 0x7e)
				return -1;	/* all of these are always quoted */
			out[n++] = *p++;
		}
		*end = p;
		return (long)n;
	}
	for (p++;;) {
		static const char hex[] = "0123456789abcdef";
		const char *h, *l;

		if (n == cap)
			return -1;
		if (*p == '"' && p[1] == '"') {
			out[n++] = '"';
			p += 2;
		} else if (*p == '"') {
			*end = p + 1;
			return (long)n;
		} else if (*p == '\\') {
			if (p[1] != 'x' || !p[2] || !p[3] || !(h = strchr(hex, p[2])) ||
			    !(l = strchr(hex, p[3])))
				return -1;
			out[n++] = (char)((h - hex) << 4 | (l - hex));
			p += 4;
		} else if (!*p || *p == '\n' || (unsigned char)*p < 0x20 ||
			   (unsigned char)*p > 0x7e) {
			return -1;	/* a raw byte a line cannot carry */
		} else {
			out[n++] = *p++;
		}
	}
}

/* The text a field must read back as: its first max bytes, and "..." when it was longer. */
static void expect_text(const char **pp, const char *src, size_t max)
{
	char got[4 * 600];
	const char *end;
	size_t n = strnlen(src, max + 1);
	long g = unquote(*pp, got, sizeof(got), &end);

	if (g < 0)
		abort();
	if (n > max) {
		if ((size_t)g != max + 3 || memcmp(got + max, "...", 3))
			abort();
		n = max;
	} else if ((size_t)g != n) {
		abort();
	}
	if (memcmp(got, src, n))
		abort();
	*pp = end;
}

/* Field i (0-based) of a formatted row, NUL-terminated into buf. */
static void field(const char *row, int i, char *buf, size_t len)
{
	const char *p = row, *c;
	size_t n;

	while (i--)
		p = strchr(p, ',') + 1;
	c = p + strcspn(p, ",\n");
	n = c - p;
	if (n >= len)
		abort();
	memcpy(buf, p, n);
	buf[n] = '\0';
}

/* The extended row: the seed's seven as in std, then the six, each what the record says. */
static void check_extended(const struct traffic_record *rec, const char *std, size_t stdlen,
			   uint64_t tin, uint64_t tout)
{
	char row[CSV_ROW_MAX_EXT + 8], num[32];
	const struct proc_ident *pi = rec->proc;
	uint64_t pin, pout;
	const char *p;
	size_t n;

	memset(row, 'X', sizeof(row));
	n = csv_format_row(row, CSV_ROW_MAX_EXT, rec, tin, tout, true);
	if (!n || n >= CSV_ROW_MAX_EXT || row[n] != '\0' || row[n - 1] != '\n' ||
	    memchr(row, '\n', n - 1) || row[CSV_ROW_MAX_EXT] != 'X')
		abort();
	if (csv_parse_totals(row, n, &pin, &pout) || pin != tin || pout != tout)
		abort();
	if (ref_parse(row, n, &pin, &pout))
		abort();
	if (memcmp(row, std, stdlen - 1) || row[stdlen - 1] != ',')
		abort();
	p = row + stdlen;
	/* proto */
	switch (rec->proto) {
	case 6: snprintf(num, sizeof(num), "tcp,"); break;
	case 17: snprintf(num, sizeof(num), "udp,"); break;
	case 1: snprintf(num, sizeof(num), "icmp,"); break;
	case 58: snprintf(num, sizeof(num), "ipv6-icmp,"); break;
	default: snprintf(num, sizeof(num), "%u,", rec->proto);
	}
	if (strncmp(p, num, strlen(num)))
		abort();
	p += strlen(num);
	/* ports, both empty when both are 0 */
	if (rec->sport || rec->dport)
		snprintf(num, sizeof(num), "%u,%u,", rec->sport, rec->dport);
	else
		snprintf(num, sizeof(num), ",,");
	if (strncmp(p, num, strlen(num)))
		abort();
	p += strlen(num);
	/* pid and command name, both empty without a known creator */
	if (pi && pi->tgid) {
		snprintf(num, sizeof(num), "%u,", pi->tgid);
		if (strncmp(p, num, strlen(num)))
			abort();
		p += strlen(num);
		expect_text(&p, pi->comm, sizeof(pi->comm) - 1);
	} else if (*p++ != ',') {
		abort();
	}
	if (*p++ != ',')
		abort();
	/* cgroup */
	if (pi && pi->cgroup)
		expect_text(&p, pi->cgroup, CSV_CGROUP_MAX);
	if (*p != '\n' || p != row + n - 1)
		abort();
	/* One byte short: refused, nothing written past the buffer. */
	memset(row, 'X', sizeof(row));
	if (csv_format_row(row, n, rec, tin, tout, true) || row[n] != 'X')
		abort();
}

static void check_format(const uint8_t *data, size_t size)
{
	struct traffic_record rec;
	struct proc_ident pi;
	char row[CSV_ROW_MAX + 8], text[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN];
	char cgroup[CSV_CGROUP_MAX + 64];
	uint64_t tin, tout, pin, pout;
	uint32_t owner;
	int64_t sec;
	uint8_t flags, pflags;
	size_t n;

	if (size < 1)
		return;
	take(&flags, 1, &data, &size);
	memset(&rec, 0, sizeof(rec));
	take(&owner, sizeof(owner), &data, &size);
	rec.owner = owner;
	take(&rec.bytes, sizeof(rec.bytes), &data, &size);
	take(rec.src, sizeof(rec.src), &data, &size);
	take(rec.dst, sizeof(rec.dst), &data, &size);
	take(&sec, sizeof(sec), &data, &size);
	take(&rec.ts.tv_nsec, sizeof(rec.ts.tv_nsec), &data, &size);
	take(&tin, sizeof(tin), &data, &size);
	take(&tout, sizeof(tout), &data, &size);
	rec.ts.tv_sec = sec;
	rec.direction = flags & 1 ? TM_DIR_OUT : TM_DIR_IN;
	rec.family = flags & 2 ? TM_AF_INET6 : TM_AF_INET;
	if (flags & 4)
		rec.direction = flags >> 3;	/* mostly invalid: must be refused */
	if ((flags & 6) == 6)
		rec.family = flags >> 3;

	/* What the extended columns say: protocol, ports, and maybe the process. */
	take(&rec.proto, sizeof(rec.proto), &data, &size);
	take(&rec.sport, sizeof(rec.sport), &data, &size);
	take(&rec.dport, sizeof(rec.dport), &data, &size);
	take(&pflags, 1, &data, &size);
	memset(&pi, 0, sizeof(pi));
	take(&pi.tgid, sizeof(pi.tgid), &data, &size);
	take(pi.comm, sizeof(pi.comm) - 1, &data, &size);	/* NUL-terminated, as promised */
	take(cgroup, size < sizeof(cgroup) - 1 ? size : sizeof(cgroup) - 1, &data, &size);
	cgroup[sizeof(cgroup) - 1] = '\0';
	pi.cgroup = pflags & 2 ? cgroup : NULL;
	rec.proc = pflags & 1 ? &pi : NULL;

	memset(row, 'X', sizeof(row));
	n = csv_format_row(row, CSV_ROW_MAX, &rec, tin, tout, false);
	if ((rec.direction != TM_DIR_IN && rec.direction != TM_DIR_OUT) ||
	    (rec.family != TM_AF_INET && rec.family != TM_AF_INET6)) {
		if (n || csv_format_row(row, CSV_ROW_MAX, &rec, tin, tout, true))
			abort();	/* an unknown direction or family is refused */
		return;
	}
	if (!n || n >= CSV_ROW_MAX || row[n] != '\0' || row[n - 1] != '\n' ||
	    memchr(row, '\n', n - 1) || row[CSV_ROW_MAX] != 'X')
		abort();
	if (csv_parse_totals(row, n, &pin, &pout) || pin != tin || pout != tout)
		abort();
	if (ref_parse(row, n, &pin, &pout))
		abort();
	/* The addresses exactly as inet_ntop writes them (the format promises it). */
	for (int i = 0; i < 2; i++) {
		const uint8_t *a = i ? rec.dst : rec.src;

		field(row, 2 + i, text, sizeof(text));
		inet_ntop(rec.family == TM_AF_INET ? AF_INET : AF_INET6, a, want, sizeof(want));
		if (strcmp(text, want))
			abort();
	}
	check_extended(&rec, row, n, tin, tout);
	/* One byte short of row + NUL: refused, and nothing written past the buffer. */
	memset(row, 'X', sizeof(row));
	if (csv_format_row(row, n, &rec, tin, tout, false) || row[n] != 'X')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t in = 1, out = 2, rin = 3, rout = 4;
	int ret, ref;

	ret = csv_parse_totals((const char *)data, size, &in, &out);
	ref = ref_parse((const char *)data, size, &rin, &rout);
	if (ret != ref || (!ret && (in != rin || out != rout)))
		abort();
	if (ret && (in != 1 || out != 2))
		abort();	/* a refused line leaves the outputs alone */
	check_format(data, size);
	return 0;
}
