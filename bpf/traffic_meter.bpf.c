// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user traffic meter: cgroup_skb ingress and egress programs for IPv4 and IPv6, plus the
 * socket programs that remember, per socket, who owns it and which process made it.
 *
 * For every packet of a socket in the attached cgroup subtree: drop it from accounting if the
 * ignore list says so, add it to its owner's per-CPU counters, and queue one fixed-size record.
 * Every cgroup_skb path returns 1: the meter never drops traffic.
 *
 * The owner is the socket's sk_uid as the initial user namespace sees it, read from struct sock
 * itself (bpf_rdonly_cast). bpf_get_socket_uid() is not that: it maps the uid into the user
 * namespace that owns the socket's network namespace, so a rootless container reads as root and
 * a user namespace with a uid map names any victim it likes.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include "traffic_meter.h"

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define AF_INET		2
#define AF_INET6	10

/* Set by user space before load; folded away by the verifier. */
const volatile __u32 ignore_mode = TM_IGNORE_PEER;
const volatile __u32 filter_ifindex = 0;	/* 0: every interface */
const volatile __u32 host_netns = 0;		/* the meter's network namespace (inode) */
const volatile __u8 emit_events = 1;		/* 0: counters only (the benchmark's ceiling) */
const volatile __u8 measure_floor = 0;		/* 1: return at once (the benchmark's floor) */
const volatile __u8 batch_records = 1;		/* 0: one ring reservation per packet */
const volatile __u64 wakeup_bytes = 0;		/* wake the reader past this fill; 0: libbpf default */
const volatile __u64 target_cgroup_id = 0;	/* the attached cgroup, for the start-up walk */
const volatile __u32 target_level = 0;		/* its depth below the cgroup v2 root */

/* Only this CPU touches its slot: against a program that interrupts it, the compiler's order. */
#define compiler_barrier()	asm volatile("" ::: "memory")

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TM_DEFAULT_RING_MB << 20);
} events SEC(".maps");

/*
 * One slot per CPU, indexed by CPU number (user space sizes it to the possible CPUs; a CPU
 * without a slot counts and queues directly). An array rather than a per-CPU array so that
 * user space can see through its mapping which CPUs hold anything, and flush only those.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tm_batch);
} batch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, TM_MAX_OWNERS);
	__type(key, __u64);
	__type(value, struct tm_counters);
} owner_counters SEC(".maps");

/* Packets of owners that found owner_counters full: the grand total stays exact. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tm_counters);
} overflow_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TM_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

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

/* Bumped by user space after every change of the ignore tries: socket caches go stale. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ignore_gen SEC(".maps");

/*
 * BPF_F_CLONE: a socket accept() makes (no socket() call, so no sock_create) inherits its
 * listener's record, so the process that listens is the one its connections are charged to.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct tm_sock_info);
} sk_info SEC(".maps");

static __always_inline void count_stat_n(__u32 slot, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &slot);

	if (v)
		*v += n;
}

static __always_inline void count_stat(__u32 slot)
{
	count_stat_n(slot, 1);
}

/* ---- ignore list -------------------------------------------------------------------------- */

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

/*
 * The same answer from the socket's cache when the addresses are those it last asked about
 * and the list has not changed since: a connected socket asks the tries once.
 */
static __always_inline int packet_ignored_cached(struct tm_sock_info *info, __u8 family,
						 __u8 dir, const __u64 *addrs)
{
	__u32 zero = 0, *gen = bpf_map_lookup_elem(&ignore_gen, &zero);
	int r;

	if (info && gen && *gen && info->ign_gen == *gen && info->ign_family == family &&
	    info->ign_addrs[0] == addrs[0] && info->ign_addrs[1] == addrs[1] &&
	    info->ign_addrs[2] == addrs[2] && info->ign_addrs[3] == addrs[3])
		return info->ign_result;
	r = packet_ignored(family, dir, (const __u8 *)addrs, (const __u8 *)addrs + 16);
	if (info && gen && *gen) {
		info->ign_addrs[0] = addrs[0];
		info->ign_addrs[1] = addrs[1];
		info->ign_addrs[2] = addrs[2];
		info->ign_addrs[3] = addrs[3];
		info->ign_family = family;
		info->ign_result = (__u8)r;
		info->ign_gen = *gen;
	}
	return r;
}

/* ---- owners and sockets ------------------------------------------------------------------- */

/* Owner, kind and network namespace from struct sock itself. */
static __always_inline void sock_read(struct sock *s, struct tm_sock_info *info)
{
	info->uid = s->sk_uid.val;
	info->kind = BPF_CORE_READ_BITFIELD(s, sk_kern_sock) ? TM_KIND_KERNEL : TM_KIND_USER;
	if (info->kind == TM_KIND_KERNEL)
		info->uid = 0;
	info->netns = s->__sk_common.skc_net.net->ns.inum;
	info->proto = (__u8)s->sk_protocol;
}

static __always_inline void announce(struct tm_sock_info *info, __u8 type)
{
	struct tm_sock_event *e;

	if (!emit_events)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_stat(TM_STAT_SOCK_LOST);
		return;
	}
	e->type = type;
	e->kind = info->kind;
	e->origin = info->origin;
	e->family = 0;
	e->proto = info->proto;
	e->pad[0] = e->pad[1] = e->pad[2] = 0;
	e->uid = info->uid;
	e->tgid = info->tgid;
	e->cookie = info->cookie;
	e->cgroup_id = info->cgroup_id;
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->netns = info->netns;
	e->pad2 = 0;
	__builtin_memcpy(e->comm, info->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	info->announced = 1;
}

/*
 * The packet's socket and what we know of it. At ingress the kernel has set skb->sk to the
 * receiving full socket (or the listener of a request socket); at egress a SYN-ACK carries a
 * request socket, charged to its listener as bpf_get_socket_uid() would.
 */
static __always_inline struct tm_sock_info *packet_sock(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct tm_sock_info *info;
	struct bpf_sock *full;
	__u64 cookie = 0;

	if (!sk)
		return NULL;
	full = bpf_sk_fullsock(sk);
	if (full) {
		cookie = 1;	/* skb->sk is this socket: its cookie comes from the skb */
	} else {
		full = (struct bpf_sock *)bpf_get_listener_sock(sk);
		if (!full)
			return NULL;
	}
	info = bpf_sk_storage_get(&sk_info, full, NULL, 0);
	if (info)
		return info;
	/* A socket older than the meter that the start-up walk did not see: creator unknown. */
	info = bpf_sk_storage_get(&sk_info, full, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!info)
		return NULL;
	sock_read(bpf_rdonly_cast(full, bpf_core_type_id_kernel(struct sock)), info);
	info->cookie = cookie ? bpf_get_socket_cookie(skb) : 0;
	info->origin = TM_ORIGIN_NONE;
	return info;
}

/*
 * The owner's per-CPU counters, made on its first packet. When the table is full, the
 * overflow slot instead (until user space evicts an idle owner), so the grand total stays exact
 * and the caller counts the packets under TM_STAT_TABLE_FULL.
 */
static __always_inline struct tm_counters *owner_slot(__u64 owner, int *overflow)
{
	struct tm_counters *c = bpf_map_lookup_elem(&owner_counters, &owner);
	struct tm_counters zero = {};
	__u32 zero_key = 0;

	if (c)
		return c;
	/* EEXIST from a racing CPU is fine: the lookup below finds its entry. */
	if (!bpf_map_update_elem(&owner_counters, &owner, &zero, BPF_NOEXIST))
		count_stat(TM_STAT_OWNER_NEW);	/* user space sees the table fill */
	c = bpf_map_lookup_elem(&owner_counters, &owner);
	if (c)
		return c;
	*overflow = 1;
	return bpf_map_lookup_elem(&overflow_counters, &zero_key);
}

/* One packet straight into the owner's counters (per-CPU values: plain adds, no atomics). */
static __always_inline void count_bytes(__u64 owner, __u8 dir, __u32 bytes)
{
	int overflow = 0;
	struct tm_counters *c = owner_slot(owner, &overflow);

	if (c) {
		c->bytes[dir & 1] += bytes;
		c->packets[dir & 1] += 1;
	}
	if (overflow)
		count_stat(TM_STAT_TABLE_FULL);
}

/* Hand this CPU's pending counts to their owner's counters. */
static __always_inline void spill_pending(struct tm_batch *b)
{
	struct tm_counters *c;
	int overflow = 0;

	if (!(b->pending.packets[0] | b->pending.packets[1]))
		return;
	c = owner_slot(b->owner, &overflow);
	if (c) {
		c->bytes[0] += b->pending.bytes[0];
		c->bytes[1] += b->pending.bytes[1];
		c->packets[0] += b->pending.packets[0];
		c->packets[1] += b->pending.packets[1];
	}
	if (overflow)
		count_stat_n(TM_STAT_TABLE_FULL, b->pending.packets[0] + b->pending.packets[1]);
	b->pending.bytes[0] = b->pending.bytes[1] = 0;
	b->pending.packets[0] = b->pending.packets[1] = 0;
}

/* A run of packets of one owner on one CPU costs one owner_counters lookup, not one each. */
static __always_inline void count_pending(struct tm_batch *b, __u64 owner, __u8 dir,
					  __u32 bytes)
{
	if (b->owner != owner) {
		spill_pending(b);
		b->owner = owner;
	}
	b->pending.bytes[dir & 1] += bytes;
	b->pending.packets[dir & 1] += 1;
}

/* ---- packets ------------------------------------------------------------------------------ */

/* The device the packet passes, in the meter's own network namespace only. */
static __always_inline int iface_matches(struct __sk_buff *skb)
{
	struct sk_buff *kskb;
	struct net_device *dev;

	if (skb->ifindex != filter_ifindex)
		return 0;
	kskb = bpf_cast_to_kern_ctx(skb);
	dev = kskb->dev;
	if (!dev)
		return 0;
	return dev->nd_net.net->ns.inum == host_netns;
}

struct hdrs {
	union {
		__u8 addrs[32];	/* src then dst, IPv4 in the first 4 bytes of each */
		__u64 words[4];
	};
	__u16 ports[2];		/* network order */
	__u8 family;
	__u8 proto;
};

/* Addresses, protocol and ports: direct packet access, the helper when headers are paged. */
static __always_inline int load_headers(struct __sk_buff *skb, struct hdrs *h)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u32 l4;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data;

		h->family = TM_AF_INET;
		if ((void *)(ip + 1) <= end) {
			__builtin_memcpy(h->addrs, &ip->saddr, 4);
			__builtin_memcpy(h->addrs + 16, &ip->daddr, 4);
			h->proto = ip->protocol;
			l4 = ip->ihl * 4;
		} else {
			struct iphdr hdr;

			if (bpf_skb_load_bytes(skb, 0, &hdr, sizeof(hdr)))
				return -1;
			__builtin_memcpy(h->addrs, &hdr.saddr, 4);
			__builtin_memcpy(h->addrs + 16, &hdr.daddr, 4);
			h->proto = hdr.protocol;
			l4 = hdr.ihl * 4;
		}
		/* A fragment past the first has no ports. */
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data;

		h->family = TM_AF_INET6;
		if ((void *)(ip6 + 1) <= end) {
			__builtin_memcpy(h->addrs, &ip6->saddr, 16);
			__builtin_memcpy(h->addrs + 16, &ip6->daddr, 16);
			h->proto = ip6->nexthdr;
		} else {
			struct ipv6hdr hdr;

			if (bpf_skb_load_bytes(skb, 0, &hdr, sizeof(hdr)))
				return -1;
			__builtin_memcpy(h->addrs, &hdr.saddr, 16);
			__builtin_memcpy(h->addrs + 16, &hdr.daddr, 16);
			h->proto = hdr.nexthdr;
		}
		l4 = sizeof(struct ipv6hdr);	/* extension headers: proto says which, no ports */
	} else {
		return -1;
	}
	if (h->proto == IPPROTO_TCP || h->proto == IPPROTO_UDP) {
		__u16 *p;

		l4 &= 0x3c | 0x40;	/* 20..60 for IPv4, 40 for IPv6: a bounded offset */
		p = data + l4;
		if ((void *)(p + 2) <= end)
			__builtin_memcpy(h->ports, p, 4);
		else if (bpf_skb_load_bytes(skb, l4, h->ports, 4))
			h->ports[0] = h->ports[1] = 0;
	}
	return 0;
}

/* Queue a whole batch: one reservation for up to TM_BATCH_EVENTS records. */
static __always_inline void flush_batch(struct tm_batch *b)
{
	__u32 n = b->count;
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (!n)
		return;
	if (n > TM_BATCH_EVENTS)
		n = TM_BATCH_EVENTS;
	/*
	 * A wake-up per record halves the traffic being watched; the reader drains on a short
	 * timer instead and is woken early only when the ring fills past the threshold.
	 */
	if (!wakeup_bytes)
		flags = 0;
	else if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, b->ev, n * sizeof(struct tm_event), flags))
		count_stat_n(TM_STAT_RING_FULL, n);
	b->count = 0;
}

/*
 * The record of one packet. The clock is read here, with the CPU's slot held, so that the
 * records of one CPU are in time order however its programs nest; it is the dearest step of a
 * record (an ordered TSC read behind an indirect call, 50-80 ns on the test VM).
 */
static __always_inline void fill_event(struct tm_event *e, struct __sk_buff *skb, __u8 dir,
				       const struct hdrs *h, const struct tm_sock_info *info,
				       __u64 owner, __u16 cpu)
{
	e->type = TM_REC_PACKET;
	e->kind = (__u8)(owner >> 32);
	e->family = h->family;
	e->direction = dir;
	e->proto = h->proto;
	e->pad = 0;
	e->sport = bpf_ntohs(h->ports[0]);
	e->dport = bpf_ntohs(h->ports[1]);
	e->cpu = cpu;
	e->uid = (__u32)owner;
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->cookie = info ? info->cookie : 0;
	e->bytes = skb->len;
	e->netns = info ? info->netns : 0;
	__builtin_memcpy(e->saddr, h->addrs, 16);
	__builtin_memcpy(e->daddr, h->addrs + 16, 16);
}

/* One record into this CPU's batch; a full batch goes to the ring at once. */
static __always_inline void batch_packet(struct tm_batch *b, struct __sk_buff *skb, __u8 dir,
					 const struct hdrs *h, const struct tm_sock_info *info,
					 __u64 owner, __u16 cpu)
{
	__u32 n = b->count;

	if (n >= TM_BATCH_EVENTS) {
		flush_batch(b);	/* cannot happen: a full batch is flushed at once */
		n = 0;
	}
	fill_event(&b->ev[n], skb, dir, h, info, owner, cpu);
	b->count = n + 1;
	if (n + 1 == TM_BATCH_EVENTS)
		flush_batch(b);
}

/* A record of its own reservation (--no-batch, or nested in a program holding the slot). */
static __always_inline void emit_packet(struct __sk_buff *skb, __u8 dir, const struct hdrs *h,
					const struct tm_sock_info *info, __u64 owner, __u16 cpu)
{
	struct tm_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_stat(TM_STAT_RING_FULL);
		return;
	}
	fill_event(e, skb, dir, h, info, owner, cpu);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

static __always_inline int handle_skb(struct __sk_buff *skb, __u8 dir)
{
	struct hdrs h = {};
	struct tm_sock_info *info;
	struct tm_batch *b;
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 owner;

	if (measure_floor)
		return 1;
	if (filter_ifindex && !iface_matches(skb))
		return 1;
	if (load_headers(skb, &h))
		return 1;
	info = packet_sock(skb);
	if (packet_ignored_cached(info, h.family, dir, h.words))
		return 1;
	owner = info ? TM_OWNER(info->kind, info->uid) : TM_OWNER_NOSOCK;
	/* Its creator record was lost to a full ring earlier: try again before the packet. */
	if (emit_events && info && !info->announced)
		announce(info, TM_REC_SOCK);

	b = bpf_map_lookup_elem(&batch, &cpu);
	if (b && !b->busy) {
		b->busy = 1;
		compiler_barrier();
		count_pending(b, owner, dir, skb->len);
		if (emit_events && batch_records)
			batch_packet(b, skb, dir, &h, info, owner, (__u16)cpu);
		else if (emit_events)
			emit_packet(skb, dir, &h, info, owner, (__u16)cpu);
		compiler_barrier();
		b->busy = 0;
	} else {
		/* Nested in a program that holds the slot: out of this CPU's order. */
		count_bytes(owner, dir, skb->len);
		if (emit_events)
			emit_packet(skb, dir, &h, info, owner, TM_CPU_UNORDERED);
	}
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

/*
 * User space runs this on every CPU (BPF_PROG_TEST_RUN with BPF_F_TEST_RUN_ON_CPU) before each
 * drain, so a partial batch waits at most one drain interval. A batch in use is left alone: its
 * program flushes it when full, the next drain otherwise.
 */
SEC("raw_tp")
int tm_flush(void *ctx)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct tm_batch *b = bpf_map_lookup_elem(&batch, &cpu);

	if (!b)
		return 0;
	if (b->busy)
		return 1;	/* user space tries again */
	b->busy = 1;
	compiler_barrier();
	spill_pending(b);
	flush_batch(b);
	compiler_barrier();
	b->busy = 0;
	return 0;
}

/* ---- socket creation, release and the start-up walk --------------------------------------- */

SEC("cgroup/sock_create")
int tm_sock_create(struct bpf_sock *sk)
{
	struct tm_sock_info *info;
	__u64 pid_tgid;

	if (sk->family != AF_INET && sk->family != AF_INET6)
		return 1;
	info = bpf_sk_storage_get(&sk_info, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!info)
		return 1;
	sock_read(bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct sock)), info);
	pid_tgid = bpf_get_current_pid_tgid();
	info->tgid = (__u32)(pid_tgid >> 32);
	info->cgroup_id = bpf_get_current_cgroup_id();
	info->cookie = bpf_get_socket_cookie(sk);
	info->origin = TM_ORIGIN_CREATE;
	bpf_get_current_comm(info->comm, sizeof(info->comm));
	announce(info, TM_REC_SOCK);
	return 1;
}

SEC("cgroup/sock_release")
int tm_sock_release(struct bpf_sock *sk)
{
	struct tm_sock_info *info = bpf_sk_storage_get(&sk_info, sk, NULL, 0);

	/* Only sockets user space was told about: it frees their entry. */
	if (info && info->announced)
		announce(info, TM_REC_SOCK_CLOSE);
	return 1;
}

/* Is the socket's cgroup the attached one or below it? */
static __always_inline int in_target_cgroup(struct cgroup *cg)
{
	struct cgroup *anc = NULL;

	if (!cg || cg->level < (int)target_level)
		return 0;
	bpf_probe_read_kernel(&anc, sizeof(anc), &cg->ancestors[target_level]);
	return anc && BPF_CORE_READ(anc, kn, id) == target_cgroup_id;
}

/*
 * Sockets that existed before the meter started: one walk over every task's open files at
 * start. A socket shared by several processes is credited to the first one the walk meets
 * (the lowest pid, usually the parent that made it); a socket already tagged keeps its tag.
 */
SEC("iter/task_file")
int tm_iter_sockets(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct tm_sock_info *info;
	struct socket *sock;
	struct sock *sk;
	struct cgroup *cg;
	__u16 family;

	if (!task || !file)
		return 0;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	sk = sock->sk;
	if (!sk)
		return 0;
	family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	cg = sk->sk_cgrp_data.cgroup;
	if (!in_target_cgroup(cg))
		return 0;
	info = bpf_sk_storage_get(&sk_info, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!info || info->origin != TM_ORIGIN_NONE)
		return 0;
	sock_read(sk, info);
	info->tgid = task->tgid;
	info->cgroup_id = BPF_CORE_READ(cg, kn, id);
	info->cookie = bpf_get_socket_cookie(sk);
	info->origin = TM_ORIGIN_ITER;
	bpf_probe_read_kernel(info->comm, sizeof(info->comm), task->comm);
	info->announced = 0;
	announce(info, TM_REC_SOCK);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
