// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the CSV row code (backend/csv.c). The parser reads the last line of a
 * log file that may be torn, foreign or hostile; the formatter writes every row of every log.
 *  - csv_parse_totals on the raw input never reads past it, and accepts exactly the lines a
 *    slow, obviously right reference accepts, with the same totals;
 *  - the input also spells a record: csv_format_row writes it as one terminated row that fits
 *    CSV_ROW_MAX, with the addresses exactly as inet_ntop spells them, and parses back to the
 *    totals it was given; a buffer one byte short is refused, not overrun.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
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

/* direction,bytes,src,dst,sec.nsec9,total_in,total_out with an optional final '\n'. */
static int ref_parse(const char *line, size_t len, uint64_t *in, uint64_t *out)
{
	const char *f[8];
	size_t fl[8], nf = 0;
	const char *p = line, *end;
	uint64_t v;

	if (len && line[len - 1] == '\n')
		len--;
	end = line + len;
	for (;;) {
		const char *c = memchr(p, ',', end - p);

		if (nf == 8)
			return -EINVAL;
		f[nf] = p;
		fl[nf++] = (c ? c : end) - p;
		if (!c)
			break;
		p = c + 1;
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

static void check_format(const uint8_t *data, size_t size)
{
	struct traffic_record rec;
	char row[CSV_ROW_MAX + 8], text[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN];
	uint64_t tin, tout, pin, pout;
	int64_t sec;
	uint8_t flags;
	size_t n;

	if (size < 1)
		return;
	take(&flags, 1, &data, &size);
	memset(&rec, 0, sizeof(rec));
	take(&rec.uid, sizeof(rec.uid), &data, &size);
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

	memset(row, 'X', sizeof(row));
	n = csv_format_row(row, CSV_ROW_MAX, &rec, tin, tout);
	if ((rec.direction != TM_DIR_IN && rec.direction != TM_DIR_OUT) ||
	    (rec.family != TM_AF_INET && rec.family != TM_AF_INET6)) {
		if (n)
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
	/* One byte short of row + NUL: refused, and nothing written past the buffer. */
	memset(row, 'X', sizeof(row));
	if (csv_format_row(row, n, &rec, tin, tout) || row[n] != 'X')
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
