// SPDX-License-Identifier: GPL-2.0
#include "meter/clock.h"

static int64_t ts_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t tm_clock_offset_ns(void)
{
	/* Bracket the realtime read between two boottime reads to halve the race. */
	int64_t b1 = ts_ns(CLOCK_BOOTTIME);
	int64_t r = ts_ns(CLOCK_REALTIME);
	int64_t b2 = ts_ns(CLOCK_BOOTTIME);

	return r - (b1 + (b2 - b1) / 2);
}

struct timespec tm_boot_to_wall(uint64_t boot_ns, int64_t offset_ns)
{
	int64_t wall = (int64_t)boot_ns + offset_ns;
	struct timespec ts;

	ts.tv_sec = wall / 1000000000LL;
	ts.tv_nsec = wall % 1000000000LL;
	if (ts.tv_nsec < 0) {
		ts.tv_nsec += 1000000000LL;
		ts.tv_sec -= 1;
	}
	return ts;
}

uint64_t tm_now_ns(void)
{
	return (uint64_t)ts_ns(CLOCK_MONOTONIC);
}
