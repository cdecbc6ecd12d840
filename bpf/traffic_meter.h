/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one header shared by the BPF programs and user space: event layout, counter
 * layout, ignore-list keys and limits. Fixed-width types only; user space checks the
 * sizes with _Static_assert so the two sides cannot drift apart.
 */
#ifndef TRAFFIC_METER_H
#define TRAFFIC_METER_H

#define TM_DIR_IN	0	/* received by a socket in the cgroup */
#define TM_DIR_OUT	1	/* sent by a socket in the cgroup */

#define TM_AF_INET	4	/* family tags in events; not AF_* so the BPF side needs no libc */
#define TM_AF_INET6	6

/* Which packets an ignore-list entry hides (see SPEC.md, "Ignored networks"). */
enum tm_ignore_mode {
	TM_IGNORE_PEER = 0,	/* the remote address (dst for out, src for in) is ignored */
	TM_IGNORE_BOTH = 1,	/* source and destination are both ignored */
	TM_IGNORE_ANY  = 2,	/* source or destination is ignored */
};

#define TM_MAX_UIDS		16384	/* distinct socket owners counted in the kernel */
#define TM_MAX_IGNORE		1024	/* prefixes per family in the ignore tries */
#define TM_DEFAULT_RING_MB	8	/* ring buffer: ~130k events, >5x a 20 ms drain at 1M events/s */

/* One packet, as the kernel saw it. 56 bytes, no implicit padding. */
struct tm_event {
	__u64 ts_boot_ns;	/* bpf_ktime_get_boot_ns(); user space adds the boot->wall offset */
	__u32 uid;		/* bpf_get_socket_uid(); 65534 when the skb has no full socket */
	__u32 bytes;		/* skb->len at the hook: IP header + payload */
	__u8 family;		/* TM_AF_INET or TM_AF_INET6 */
	__u8 direction;		/* TM_DIR_IN or TM_DIR_OUT */
	__u16 pad;
	__u8 saddr[16];		/* IPv4 in the first 4 bytes, network order */
	__u8 daddr[16];
	__u32 pad2;
};

/* Per-UID totals, one copy per CPU; monotonic, never reset while loaded. */
struct tm_counters {
	__u64 bytes[2];		/* indexed by TM_DIR_* */
	__u64 packets[2];
};

/* LPM trie keys: prefixlen first, as BPF_MAP_TYPE_LPM_TRIE requires. */
struct tm_lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct tm_lpm_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};

/* The seed's untracked_masks.h entry types, kept so that header compiles unchanged. */
struct ipv4_mask {
	__u32 addr;		/* network order */
	__u32 mask;		/* network order */
};

struct ipv6_mask {
	__u8 prefix[16];
	__u8 prefix_len;
};

#endif /* TRAFFIC_METER_H */
