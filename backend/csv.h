/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The CSV backend's pure helpers, exported so they can be unit-tested without files. The
 * backend itself is csv_backend_ops in backend.h.
 *
 * Stats semantics (struct backend_stats): records counts every valid record handed to write();
 * rows the subset that reached a file; dropped the subset lost to a refused file or a failed
 * write; not_written the subset held back by the free-space floor. healthy follows the most
 * recent write(2) or open attempt; last_error keeps the most recent problem for the summary.
 */
#ifndef BACKEND_CSV_H
#define BACKEND_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "backend/record.h"

#define CSV_HEADER	"direction,bytes,src_ip,dst_ip,timestamp,total_in,total_out\n"
#define CSV_HEADER_EXT	"direction,bytes,src_ip,dst_ip,timestamp,total_in,total_out," \
			"proto,sport,dport,pid,comm,cgroup\n"
#define CSV_DEFAULT_BUFFER	(64 * 1024)	/* per open file */
#define CSV_MIN_BUFFER		4096		/* smaller requests are rounded up */
#define CSV_DEFAULT_MAX_OPEN	128		/* open files at most; idle ones are closed */
#define CSV_DEFAULT_MAX_FILES	5		/* rotated files kept per log */
#define CSV_CGROUP_MAX		512		/* cgroup path bytes kept in an extended row */

/*
 * Longest row incl. '\n': "out," + u32 + 2 * (45-char IPv6 + ',') + 20-digit seconds + '.' +
 * 9 + ',' + 2 * (20 + 1) = 181; rounded up. The extended columns add a protocol name, two
 * ports, a pid, and two quoted texts whose escaped bytes take four characters each.
 */
#define CSV_ROW_MAX		192
#define CSV_ROW_MAX_EXT		(CSV_ROW_MAX + 10 + 12 + 11 + (4 * 16 + 5) + \
				 (4 * CSV_CGROUP_MAX + 5) + 6)

/*
 * Format one row ending in '\n' plus a terminating NUL. Returns the row length without the
 * NUL, or 0 when len is too small or the record has an unknown direction or family.
 */
size_t csv_format_row(char *buf, size_t len, const struct traffic_record *rec,
		      uint64_t total_in, uint64_t total_out, bool extended);

/*
 * Parse the totals out of one row (with or without its '\n'), seed or extended. Returns 0, or
 * -EINVAL when the line is not a complete row of ours (the header included).
 */
int csv_parse_totals(const char *line, size_t len, uint64_t *in, uint64_t *out);

#endif /* BACKEND_CSV_H */
