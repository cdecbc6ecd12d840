/* SPDX-License-Identifier: GPL-2.0 */
/* One packet in user space: what the collector hands to backends and the aggregator. */
#ifndef METER_RECORD_H
#define METER_RECORD_H

#include <stdint.h>
#include <time.h>

#define TM_UID_NOSOCK 65534u	/* bpf_get_socket_uid() for packets without a full socket */

struct traffic_record {
	uint32_t uid;		/* socket owner */
	uint32_t bytes;		/* IP header + payload */
	uint8_t direction;	/* TM_DIR_IN or TM_DIR_OUT */
	uint8_t family;		/* TM_AF_INET or TM_AF_INET6 */
	uint8_t src[16];	/* network order; IPv4 uses the first 4 bytes */
	uint8_t dst[16];
	struct timespec ts;	/* wall clock (CLOCK_REALTIME) */
};

/* Per-UID totals read from the kernel counters, summed over CPUs. */
struct uid_total {
	uint32_t uid;
	uint64_t bytes[2];	/* indexed by TM_DIR_* */
	uint64_t packets[2];
};

#endif /* METER_RECORD_H */
