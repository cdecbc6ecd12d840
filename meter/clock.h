/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel boot-time timestamps to wall-clock time. */
#ifndef METER_CLOCK_H
#define METER_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_REALTIME - CLOCK_BOOTTIME in ns, sampled now; re-sample each tick to follow NTP steps. */
int64_t tm_clock_offset_ns(void);

/* boot_ns + offset_ns as a timespec (tv_nsec always in [0, 1e9)). */
struct timespec tm_boot_to_wall(uint64_t boot_ns, int64_t offset_ns);

/* CLOCK_MONOTONIC in ns: for rates and ticks. */
uint64_t tm_now_ns(void);

#endif /* METER_CLOCK_H */
