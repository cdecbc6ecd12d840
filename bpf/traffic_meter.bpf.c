// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user traffic meter: cgroup_skb ingress and egress programs for IPv4 and IPv6.
 *
 * For every packet of a socket in the attached cgroup subtree: drop it from accounting if the
 * ignore list says so, add it to the owner's per-CPU counters, and queue one fixed-size event.
 * Every path returns 1: the meter never drops traffic.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "traffic_meter.h"

/* Set by user space before load; folded away by the verifier. */
const volatile __u32 ignore_mode = TM_IGNORE_PEER;
const volatile __u32 filter_ifindex = 0;	/* 0: every interface */
const volatile __u8 emit_events = 1;		/* 0: counters only (the benchmark's ceiling) */
const volatile __u64 wakeup_bytes = 0;		/* wake the reader past this fill; 0: libbpf default */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TM_DEFAULT_RING_MB << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, TM_MAX_UIDS);
	__type(key, __u32);
	__type(value, struct tm_counters);
} uid_counters SEC(".maps");

/* [0]: events lost because the ring buffer was full; [1]: uids not counted, table full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TM_MAX_IGNORE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tm_lpm_v4);
	__type(value, __u8);
} ignore_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TM_MAX_IGNORE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tm_lpm_v6);
	__type(value, __u8);
} ignore_v6 SEC(".maps");

static __always_inline void count_lost(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&lost, &slot);

	if (n)
		*n += 1;
}

static __always_inline int addr_ignored(__u8 family, const __u8 *addr)
{
	if (family == TM_AF_INET) {
		struct tm_lpm_v4 key = { .prefixlen = 32 };

		__builtin_memcpy(key.addr, addr, 4);
		return bpf_map_lookup_elem(&ignore_v4, &key) != NULL;
	} else {
		struct tm_lpm_v6 key = { .prefixlen = 128 };

		__builtin_memcpy(key.addr, addr, 16);
		return bpf_map_lookup_elem(&ignore_v6, &key) != NULL;
	}
}

static __always_inline int packet_ignored(__u8 family, __u8 dir, const __u8 *src, const __u8 *dst)
{
	const __u8 *remote = dir == TM_DIR_OUT ? dst : src;
	const __u8 *local = dir == TM_DIR_OUT ? src : dst;

	switch (ignore_mode) {
	case TM_IGNORE_BOTH:
		return addr_ignored(family, remote) && addr_ignored(family, local);
	case TM_IGNORE_ANY:
		return addr_ignored(family, remote) || addr_ignored(family, local);
	default:
		return addr_ignored(family, remote);
	}
}

static __always_inline void count_bytes(__u32 uid, __u8 dir, __u32 bytes)
{
	struct tm_counters *c = bpf_map_lookup_elem(&uid_counters, &uid);

	if (!c) {
		struct tm_counters zero = {};

		/* EEXIST from a racing CPU is fine: the lookup below finds its entry. */
		bpf_map_update_elem(&uid_counters, &uid, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&uid_counters, &uid);
		if (!c) {
			count_lost(1);
			return;
		}
	}
	/* Per-CPU values: plain adds, no atomics needed. */
	c->bytes[dir & 1] += bytes;
	c->packets[dir & 1] += 1;
}

static __always_inline int handle_skb(struct __sk_buff *skb, __u8 dir)
{
	__u8 addrs[32] = {};	/* src then dst, IPv4 in the first 4 bytes of each */
	struct tm_event *e;
	__u8 family;
	__u32 uid;

	if (filter_ifindex && skb->ifindex != filter_ifindex)
		return 1;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		family = TM_AF_INET;
		/* saddr and daddr are adjacent at offset 12 of the IPv4 header: one load */
		if (bpf_skb_load_bytes(skb, 12, addrs + 8, 8))
			return 1;
		__builtin_memcpy(addrs, addrs + 8, 4);
		__builtin_memcpy(addrs + 16, addrs + 12, 4);
		__builtin_memset(addrs + 4, 0, 12);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		family = TM_AF_INET6;
		if (bpf_skb_load_bytes(skb, 8, addrs, 32))
			return 1;
	} else {
		return 1;
	}

	if (packet_ignored(family, dir, addrs, addrs + 16))
		return 1;

	uid = bpf_get_socket_uid(skb);
	count_bytes(uid, dir, skb->len);

	if (!emit_events)
		return 1;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(0);
		return 1;
	}
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->uid = uid;
	e->bytes = skb->len;
	e->family = family;
	e->direction = dir;
	e->pad = 0;
	e->pad2 = 0;
	__builtin_memcpy(e->saddr, addrs, 16);
	__builtin_memcpy(e->daddr, addrs + 16, 16);

	/*
	 * A wake-up per event halves the traffic being watched; the reader drains on a short
	 * timer instead and is woken early only when the ring fills past the threshold.
	 */
	if (!wakeup_bytes)
		bpf_ringbuf_submit(e, 0);
	else if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < wakeup_bytes)
		bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	else
		bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 1;
}

SEC("cgroup_skb/ingress")
int tm_ingress(struct __sk_buff *skb)
{
	return handle_skb(skb, TM_DIR_IN);
}

SEC("cgroup_skb/egress")
int tm_egress(struct __sk_buff *skb)
{
	return handle_skb(skb, TM_DIR_OUT);
}

char LICENSE[] SEC("license") = "GPL";
