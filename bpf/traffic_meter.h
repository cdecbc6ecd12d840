/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one header shared by the BPF programs and user space: record layouts, counter keys,
 * ignore-list keys and limits. Fixed-width types only; user space checks the sizes with
 * _Static_assert so the two sides cannot drift apart.
 */
#ifndef TRAFFIC_METER_H
#define TRAFFIC_METER_H

#ifndef __VMLINUX_H__		/* the BPF side has the kernel's own types */
#include <linux/types.h>
#endif

#define TM_DIR_IN	0	/* received by a socket in the cgroup */
#define TM_DIR_OUT	1	/* sent by a socket in the cgroup */

#define TM_AF_INET	4	/* family tags in records; not AF_* so the BPF side needs no libc */
#define TM_AF_INET6	6

/*
 * Who a packet is charged to. An owner is one 64-bit key: the uid in the low 32 bits and the
 * kind above them, so the two special owners can never equal a uid, whatever uids exist.
 */
#define TM_KIND_USER	0	/* a socket owned by a uid, as the initial user namespace sees it */
#define TM_KIND_NOSOCK	1	/* no full socket to charge (e.g. a TIME_WAIT reply) */
#define TM_KIND_KERNEL	2	/* a socket of the kernel's own (ICMP errors, TCP resets) */
#define TM_OWNER(kind, uid)	(((__u64)(kind) << 32) | (__u32)(uid))
#define TM_OWNER_NOSOCK		TM_OWNER(TM_KIND_NOSOCK, 0)
#define TM_OWNER_KERNEL		TM_OWNER(TM_KIND_KERNEL, 0)

/* Which packets an ignore-list entry hides (see SPEC.md, "Ignored networks"). */
enum tm_ignore_mode {
	TM_IGNORE_PEER = 0,	/* the remote address (dst for out, src for in) is ignored */
	TM_IGNORE_BOTH = 1,	/* source and destination are both ignored */
	TM_IGNORE_ANY  = 2,	/* source or destination is ignored */
};

#define TM_MAX_OWNERS		16384	/* owners counted in the kernel; user space evicts idle ones */
#define TM_MAX_IGNORE		1024	/* prefixes per family in the ignore tries */
#define TM_DEFAULT_RING_MB	8	/* ring buffer: ~110k events, >5x a 20 ms drain at 1M events/s */

/*
 * Packet records are gathered per CPU and reach the ring buffer TM_BATCH_EVENTS at a time, one
 * reservation for all of them; user space flushes a partial batch on every drain.
 */
#define TM_BATCH_EVENTS		32
#define TM_CPU_UNORDERED	0xffff	/* a record not in its CPU's time order (nested program) */

/* Slots of the per-CPU stats array. */
enum tm_stat {
	TM_STAT_RING_FULL = 0,	/* packet events lost: the ring buffer was full */
	TM_STAT_TABLE_FULL,	/* packets counted under overflow: the owner table was full */
	TM_STAT_SOCK_LOST,	/* socket records lost (retried on the socket's next packet) */
	TM_STAT_OWNER_NEW,	/* entries added to the owner table: user space sees it fill */
	TM_STAT__COUNT
};

/* Record types in the ring buffer: the first byte of every record. */
enum tm_rec_type {
	TM_REC_PACKET = 1,	/* struct tm_event */
	TM_REC_SOCK = 2,	/* struct tm_sock_event: a socket and who made it */
	TM_REC_SOCK_CLOSE = 3,	/* struct tm_sock_event: the socket was released */
};

/* Where a socket's creator came from. */
enum tm_origin {
	TM_ORIGIN_NONE = 0,	/* first seen at a packet: creator unknown */
	TM_ORIGIN_CREATE = 1,	/* cgroup/sock_create: the creating process, exact */
	TM_ORIGIN_ITER = 2,	/* the start-up walk over tasks' files: the lowest pid holding it */
};

/* One packet, as the kernel saw it. 72 bytes, no implicit padding. */
struct tm_event {
	__u8 type;		/* TM_REC_PACKET */
	__u8 kind;		/* TM_KIND_* */
	__u8 family;		/* TM_AF_INET or TM_AF_INET6 */
	__u8 direction;		/* TM_DIR_IN or TM_DIR_OUT */
	__u8 proto;		/* IPPROTO_TCP, IPPROTO_UDP, ... from the IP header */
	__u8 pad;
	__u16 sport;		/* host order; 0 unless TCP or UDP */
	__u16 dport;
	__u16 cpu;		/* the CPU whose records it is in time order with, or
				 * TM_CPU_UNORDERED */
	__u32 uid;		/* the socket's sk_uid in the initial user namespace (0 unless USER) */
	__u64 ts_boot_ns;	/* bpf_ktime_get_boot_ns(); user space adds the boot->wall offset */
	__u64 cookie;		/* the socket's cookie; 0 without a full socket */
	__u32 bytes;		/* skb->len at the hook: IP header + payload */
	__u32 netns;		/* inode number of the socket's network namespace; 0 unknown */
	__u8 saddr[16];		/* IPv4 in the first 4 bytes, network order */
	__u8 daddr[16];
};

/* A socket and its creator; also its release (TM_REC_SOCK_CLOSE, cookie and ts only). */
struct tm_sock_event {
	__u8 type;		/* TM_REC_SOCK or TM_REC_SOCK_CLOSE */
	__u8 kind;		/* TM_KIND_* */
	__u8 origin;		/* TM_ORIGIN_* */
	__u8 family;		/* TM_AF_* */
	__u8 proto;		/* IPPROTO_* of the socket */
	__u8 pad[3];
	__u32 uid;
	__u32 tgid;		/* the creating process; 0 unknown */
	__u64 cookie;
	__u64 cgroup_id;	/* the socket's cgroup (v2 id = inode of its directory); 0 unknown */
	__u64 ts_boot_ns;
	__u32 netns;
	__u32 pad2;
	char comm[16];		/* the creator's command name, NUL-padded */
};

/* What the kernel keeps per socket (socket local storage), decided once per socket. */
struct tm_sock_info {
	__u64 cookie;
	__u64 cgroup_id;
	__u32 uid;
	__u32 tgid;
	__u32 netns;
	__u8 kind;
	__u8 origin;
	__u8 announced;		/* its TM_REC_SOCK reached the ring */
	__u8 proto;
	char comm[16];
	/*
	 * The ignore list's answer for the last address pair of this socket (for a connected
	 * socket, every packet's), valid while the list's generation is ign_gen.
	 */
	__u64 ign_addrs[4];	/* source then destination, as in struct hdrs */
	__u32 ign_gen;		/* 0: nothing cached */
	__u8 ign_family;
	__u8 ign_result;
	__u8 pad[2];
};

/* Per-owner totals, one copy per CPU; monotonic while the entry lives. */
struct tm_counters {
	__u64 bytes[2];		/* indexed by TM_DIR_* */
	__u64 packets[2];
};

/*
 * What one CPU has not yet handed over (the CPU's slot in the batch array): the counts of the owner it
 * saw last, added to owner_counters when the owner changes, and its batch of packet records.
 * Both go out on every drain (the tm_flush program, run on each CPU). busy is set while a
 * program on this CPU uses the slot: a program that interrupts it (a softirq over an egress
 * hook, the flush IPI) sees the flag and goes to the maps directly instead.
 */
struct tm_batch {
	__u32 busy;
	__u32 count;		/* records in ev[] */
	__u64 owner;		/* whose counts pending holds */
	struct tm_counters pending;
	struct tm_event ev[TM_BATCH_EVENTS];
	__u8 pad[16];		/* a whole number of cache lines: no CPU writes another's line */
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
