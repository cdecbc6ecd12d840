// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for how the CSV backend takes over an existing log file (the tail reader
 * is static in backend/csv.c, so it is reached through the backend itself). The input is the
 * file's content as a crash, a disk-full, another program or an attacker with the file's
 * owner's rights left it. Per input: write it as traffic_user_fz_1.log in a fresh directory,
 * open the backend there, log one record, close; open it again, log a second one, close. Then
 * the file must keep the invariant csv.c promises:
 *  - what was there up to its last line break is untouched (only a torn last line may go);
 *  - the file ends with a line break, and its last two lines are our two rows;
 *  - the first row continues the totals of the line before it when that line is a row the
 *    backend can see (a short file ending in a complete row), else starts at 0;
 *  - the second row continues the first exactly, as after any restart.
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

static char dir[64], path[128];

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
}

static void remove_dir(void)
{
	unlink(path);
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

static char *read_all(size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	int fd = open(path, O_RDONLY);
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

static void log_one(const struct traffic_record *rec)
{
	struct backend_config cfg = { .log_dir = dir, .nic_id = "fz", .buffer_bytes = 0 };

	if (csv_backend.init(&cfg))
		abort();
	if (csv_backend.write(rec))
		abort();	/* a file of our own, in a directory of our own: never refused */
	if (csv_backend.flush())
		abort();
	csv_backend.close();
}

/* Start of the line that ends at end (exclusive, end[-1] == '\n'), within buf. */
static const char *line_start(const char *buf, const char *end)
{
	const char *p = end - 1;

	while (p > buf && p[-1] != '\n')
		p--;
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct traffic_record a = { .uid = 1, .direction = TM_DIR_IN, .family = TM_AF_INET,
				    .src = { 127, 0, 0, 1 }, .dst = { 127, 0, 0, 2 },
				    .ts = { 1700000000, 5 } };
	struct traffic_record b = a;
	const char *r1, *r2, *prev, *nl;
	uint64_t in1, out1, in2, out2, pin, pout, base_in, base_out;
	size_t len, keep;
	char *file;
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

	log_one(&a);
	log_one(&b);
	file = read_all(&len);
	remove_dir();

	/* Complete lines that were there are there still, byte for byte. */
	nl = memrchr(data, '\n', size);
	keep = nl ? (size_t)((const uint8_t *)nl - data) + 1 : 0;
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
	return 0;
}
