/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The CSV backend's pure helpers, exported so they can be unit-tested without files.
 * The backend itself is csv_backend in backend.h.
 *
 * Stats semantics (struct backend_stats): records counts every valid record handed to
 * write(); dropped is the subset that never reached a file (refused file, failed write).
 * healthy follows the most recent write(2) or open attempt; last_errno is reset to 0 on
 * success, last_error keeps the text of the most recent problem for the summary.
 */
#ifndef BACKEND_CSV_H
#define BACKEND_CSV_H

#include <stddef.h>
#include <stdint.h>
#include "meter/record.h"

#define CSV_HEADER		"direction,bytes,src_ip,dst_ip,timestamp,total_in,total_out\n"
#define CSV_DEFAULT_BUFFER	(256 * 1024)	/* per file */
#define CSV_MIN_BUFFER		1024		/* smaller requests are rounded up */

/*
 * Longest row incl. '\n': "out," + u32 + 2 * (45-char IPv6 + ',') + 20-digit seconds + '.' +
 * 9 + ',' + 2 * (20 + 1) = 181; rounded up.
 */
#define CSV_ROW_MAX		192

/*
 * Format one row ending in '\n' plus a terminating NUL. Returns the row length without the
 * NUL, or 0 when len is too small or the record has an unknown direction or family.
 */
size_t csv_format_row(char *buf, size_t len, const struct traffic_record *rec,
		      uint64_t total_in, uint64_t total_out);

/*
 * Parse the totals out of one row (with or without its '\n'). Returns 0, or -EINVAL when
 * the line is not a complete row of ours (the header included).
 */
int csv_parse_totals(const char *line, size_t len, uint64_t *in, uint64_t *out);

#endif /* BACKEND_CSV_H */
