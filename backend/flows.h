/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The flow-record backend's constants and pure helpers, exported for the unit tests. The backend
 * itself is flows_backend_ops in backend.h; the record format is doc/FLOWS.md.
 *
 * Stats semantics (struct backend_stats), in the CSV backend's units so the two compare: records
 * counts every valid packet record handed to write(); rows the JSON lines that reached the file
 * and bytes their size; dropped the packets inside lines lost to a refused file or a failed
 * write; not_written the packets inside lines held back by the free-space floor.
 */
#ifndef BACKEND_FLOWS_H
#define BACKEND_FLOWS_H

#include <stddef.h>
#include <stdint.h>

#define FLOWS_VERSION		1		/* the "v" of every line */
#define FLOWS_DEFAULT_INTERVAL	60		/* seconds, when the config says 0 */
#define FLOWS_MAX		65536		/* flows held; a full table is written early */
#define FLOWS_GRACE_NS		1000000000LL	/* an interval is written this long after its end */
#define FLOWS_CGROUP_MAX	512		/* cgroup path bytes kept in a line, as the CSV */
#define FLOWS_BUFFER		(64 * 1024)	/* bytes formatted before one write(2) */
#define FLOWS_DEFAULT_MAX_FILES	5		/* rotated files kept */

/*
 * The longest line: the fixed keys with 20-digit numbers and two 45-character IPv6 addresses
 * stay under 600 bytes; the escaped texts take at most 6 bytes per input byte.
 */
#define FLOWS_LINE_MAX		(640 + (6 * 16 + 5) + (6 * FLOWS_CGROUP_MAX + 5))

/*
 * The start of the interval holding second sec: a multiple of interval seconds since the epoch,
 * as NetFlow and IPFIX exporters cut active flows, so every meter of a fleet cuts at the same
 * instants (with 60, on the minute). A time before 1970 counts as 0.
 */
static inline int64_t flows_align(int64_t sec, unsigned int interval)
{
	if (sec < 0 || !interval)
		return 0;
	return sec - sec % interval;
}

/* "2023-11-14T22:13:20Z": RFC 3339 in UTC; 20 characters, no NUL. */
char *flows_put_rfc3339(char *p, int64_t sec);

#endif /* BACKEND_FLOWS_H */
