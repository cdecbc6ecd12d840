// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for how the CSV backend takes over an existing log file (the tail reader
 * is static in backend/csv.c, so it is reached through the backend itself). The input is the
 * file's content as a crash, a disk-full, another program or an attacker with the file's
 * owner's rights left it. Per input and per format (the seed's and --log-format extended):
 * write it as traffic_user_fz_1.log in a fresh directory, open a backend there, log one
 * record, close; open another, log a second one, close. Then the file must keep the invariant
 * csv.c promises:
 *  - what was there up to its last line break is untouched (only a torn last line may go);
 *  - a file that starts with the other format's header is not written to at all: it becomes
 *    traffic_user_fz_1.log.1, byte for byte, and a new file with our header takes the rows;
 *  - the file ends with a line break, and its last two lines are our two rows;
 *  - the first row continues the totals of the line before it when that line is a row the
 *    backend can see (a short file ending in a complete row), else starts at 0;
 *  - the second row continues the first exactly, as after any restart;
 *  - unless a row's totals would pass 2^64: then the file went aside as .1 just before that
 *    row (what was there still there), and a new file with our header holds it from 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>

#include "traffic_meter.h"
#include "backend/backend.h"
#include "backend/csv.h"

#define LOG_NAME	"traffic_user_fz_1.log"
#define TAIL		4096	/* csv.c's CSV_TAIL: how far back it looks for the last row */

static char dir[64], path[128], rotated[140];

/*
 * A fresh directory per input, removed again before the next: libFuzzer may end the process
 * with _Exit (time limit, signals), past any atexit handler, and must not leave one behind.
 */
static void make_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/fuzz_csv_tail.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/%s", dir, LOG_NAME);
	snprintf(rotated, sizeof(rotated), "%s.1", path);
}

static void remove_dir(void)
{
	unlink(path);
	unlink(rotated);
	rmdir(dir);
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			abort();
		p += w;
		n -= w;
	}
}

static char *read_all(const char *file, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	int fd = open(file, O_RDONLY);
	ssize_t r;

	if (!buf || fd < 0)
		abort();
	while ((r = read(fd, buf + n, cap - n)) > 0) {
		n += r;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			if (!buf)
				abort();
		}
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void log_one(const struct traffic_record *rec, bool extended)
{
	struct backend_config cfg = { .log_dir = dir, .nic_id = "fz", .dirfd = -1,
				      .reader_gid = (uint32_t)-1, .extended = extended };
	struct backend_stats st;
	struct backend *b;
	char err[256];

	if (csv_backend_ops.open(&b, &cfg, err, sizeof(err)))
		abort();
	if (b->ops->write(b, rec))
		abort();	/* a file of our own, in a directory of our own: never refused */
	if (b->ops->flush(b))
		abort();
	b->ops->stats(b, &st);
	if (st.rows != 1 || st.write_errors || st.dropped || strstr(st.remark, "taken"))
		abort();	/* and never sent elsewhere */
	b->ops->close(b);
}

/* Start of the line that ends at end (exclusive, end[-1] == '\n'), within buf. */
static const char *line_start(const char *buf, const char *end)
{
	const char *p = end - 1;

	while (p > buf && p[-1] != '\n')
		p--;
	return p;
}

/* A row of ours, from 0, for a record alone in its direction. */
static void expect_fresh_row(const char *r, const char *end, const struct traffic_record *rec,
			     uint64_t *in, uint64_t *out)
{
	if (csv_parse_totals(r, end - r, in, out))
		abort();
	if (rec->direction == TM_DIR_IN ? (*in != rec->bytes || *out) : (*out != rec->bytes || *in))
		abort();
}

/*
 * The totals of a row would have passed 2^64, so the file went aside as .1 and a new one with
 * our header took the rows from 0. Either the first row already did not fit after what the
 * file held, or it did and the second did not.
 */
static void check_wrap(const uint8_t *data, size_t keep, const struct traffic_record *a,
		       const struct traffic_record *b, const char *hdr)
{
	size_t olen, nlen, hlen = strlen(hdr);
	char *old = read_all(rotated, &olen), *nw = read_all(path, &nlen);
	uint64_t in1, out1, in2, out2, pin, pout;
	const char *last, *prev, *r2;

	remove_dir();
	if (olen < keep || memcmp(old, data, keep) || !olen || old[olen - 1] != '\n')
		abort();
	if (nlen <= hlen || memcmp(nw, hdr, hlen) || nw[nlen - 1] != '\n')
		abort();
	last = line_start(old, old + olen);
	if (csv_parse_totals(last, old + olen - last, &pin, &pout))
		abort();
	r2 = line_start(nw, nw + nlen);
	if (olen == keep) {
		/* The first row did not fit: the new file holds both, from 0. */
		if (pin <= UINT64_MAX - a->bytes || r2 == nw + hlen ||
		    line_start(nw, r2) != nw + hlen)
			abort();
		expect_fresh_row(nw + hlen, r2, a, &in1, &out1);
		if (csv_parse_totals(r2, nw + nlen - r2, &in2, &out2) ||
		    (b->direction == TM_DIR_IN ? (in2 != in1 + b->bytes || out2 != out1)
					       : (out2 != out1 + b->bytes || in2 != in1)))
			abort();
	} else {
		/* The first row continued the file; the second would have wrapped. */
		if (last != old + keep || !keep)
			abort();
		prev = line_start(old, last);
		if (csv_parse_totals(prev, last - prev, &in1, &out1) ||
		    pin != in1 + a->bytes || pout != out1)
			abort();
		if ((b->direction == TM_DIR_IN ? pin : pout) <= UINT64_MAX - b->bytes)
			abort();
		if (r2 != nw + hlen)
			abort();
		expect_fresh_row(r2, nw + nlen, b, &in2, &out2);
	}
	free(old);
	free(nw);
}

/* Does the input start with the header of the format we are not writing? */
static bool other_header(const uint8_t *data, size_t size, bool extended)
{
	const char *h = extended ? CSV_HEADER : CSV_HEADER_EXT;

	return size >= strlen(h) && !memcmp(data, h, strlen(h));
}

static void run(const uint8_t *data, size_t size, bool extended)
{
	static const struct proc_ident pi = { .tgid = 42, .comm = "fz,\"z\"",
					      .cgroup = "/fz.slice/x.scope" };
	struct traffic_record a = { .owner = 1, .direction = TM_DIR_IN, .family = TM_AF_INET,
				    .src = { 127, 0, 0, 1 }, .dst = { 127, 0, 0, 2 },
				    .ts = { 1700000000, 5 }, .proto = 6, .sport = 1, .dport = 2,
				    .proc = &pi };
	struct traffic_record b = a;
	const char *r1, *r2, *prev, *nl;
	uint64_t in1, out1, in2, out2, pin, pout, base_in, base_out;
	size_t len, keep;
	char *file;
	bool moved;
	int fd;

	/* Vary the records with the input so the totals' arithmetic is fuzzed too. */
	if (size >= 2) {
		a.bytes = data[size - 1] * 1000u + 1;
		b.bytes = data[size - 2] + 1;
		b.direction = data[size - 2] & 1 ? TM_DIR_OUT : TM_DIR_IN;
	}

	make_dir();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	write_all(fd, data, size);
	close(fd);

	log_one(&a, extended);
	log_one(&b, extended);
	moved = access(rotated, F_OK) == 0;
	if (other_header(data, size, extended)) {
		/* The other format's file went aside whole, and ours starts afresh. */
		if (!moved)
			abort();
		file = read_all(rotated, &len);
		if (len != size || memcmp(file, data, size))
			abort();
		free(file);
		data = (const uint8_t *)(extended ? CSV_HEADER_EXT : CSV_HEADER);
		size = strlen((const char *)data);
		moved = false;
	}
	nl = memrchr(data, '\n', size);
	keep = nl ? (size_t)((const uint8_t *)nl - data) + 1 : 0;
	if (moved) {
		check_wrap(data, keep, &a, &b, extended ? CSV_HEADER_EXT : CSV_HEADER);
		return;
	}
	file = read_all(path, &len);
	remove_dir();

	/* Complete lines that were there are there still, byte for byte. */
	if (len < keep || memcmp(file, data, keep))
		abort();
	if (!len || file[len - 1] != '\n')
		abort();

	/* The last two lines are our rows, complete and parseable. */
	r2 = line_start(file, file + len);
	if (r2 == file)
		abort();
	r1 = line_start(file, r2);
	if (csv_parse_totals(r2, file + len - r2, &in2, &out2) ||
	    csv_parse_totals(r1, r2 - r1, &in1, &out1))
		abort();
	if (strncmp(r1, "in,", 3) || strtoul(r1 + 3, NULL, 10) != a.bytes)
		abort();

	/* The restart in between continues the first row's totals exactly. */
	if (b.direction == TM_DIR_IN ? (in2 != in1 + b.bytes || out2 != out1)
				     : (out2 != out1 + b.bytes || in2 != in1))
		abort();

	/* The first row continues what it found before it, or starts over. */
	base_in = in1 - a.bytes;
	base_out = out1;
	prev = r1 > file ? line_start(file, r1) : NULL;
	if (prev && r1 - prev < TAIL && size + 1 < TAIL && keep == size &&
	    !csv_parse_totals(prev, r1 - prev, &pin, &pout)) {
		/* A short file that ended in a complete row: the backend must have seen it. */
		if (base_in != pin || base_out != pout)
			abort();
	} else if (base_in || base_out) {
		/* Anything else: either 0, or the totals of the row just before ours. */
		if (!prev || csv_parse_totals(prev, r1 - prev, &pin, &pout) ||
		    base_in != pin || base_out != pout)
			abort();
	}
	free(file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, false);
	run(data, size, true);
	return 0;
}
