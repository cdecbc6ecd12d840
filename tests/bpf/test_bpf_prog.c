// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF programs on crafted frames with BPF_PROG_TEST_RUN, as the kernel's selftests do:
 * record fields, per-owner counters, every ignore mode, the interface filter (index and
 * network namespace), counters-only mode, a full ring and a full owner table, and that every
 * path returns 1 (the packet passes). A test run's skb carries a socket the kernel made for
 * the run, so every packet here is "(kernel)"'s: the real owners, and "(no socket)", are
 * tested with real sockets in tests/integration.
 * Needs root and a BPF-capable kernel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "traffic_meter.skel.h"
#include "bpf/traffic_meter.h"
#include "meter/ignore.h"
#include "meter/iplist.h"
#include <sys/stat.h>

#define MAX_EVENTS 80

struct fixture {
	struct traffic_meter_bpf *skel;
	struct ring_buffer *rb;
	struct tm_event ev[MAX_EVENTS];
	int nev;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct fixture *f = ctx;

	/* One record or a batch of them back to back, as the collector reads them. */
	if (size < sizeof(struct tm_event) || *(const __u8 *)data != TM_REC_PACKET)
		return 0;
	for (size_t off = 0; off + sizeof(struct tm_event) <= size && f->nev < MAX_EVENTS;
	     off += sizeof(struct tm_event))
		memcpy(&f->ev[f->nev++], (const char *)data + off, sizeof(struct tm_event));
	return 0;
}

/* What the collector does before every drain and counter read: tm_flush on every CPU. */
static void flush(struct traffic_meter_bpf *skel)
{
	int ncpus = libbpf_num_possible_cpus();

	for (int cpu = 0; cpu < ncpus; cpu++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .flags = BPF_F_TEST_RUN_ON_CPU,
			    .cpu = (__u32)cpu);

		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.tm_flush), &opts) == 0)
			assert_int_equal(opts.retval, 0);	/* nothing holds the slot */
	}
}

/* One batch slot per CPU, as the collector sizes it. */
static void size_batches(struct traffic_meter_bpf *skel)
{
	assert_int_equal(bpf_map__set_max_entries(skel->maps.batch,
						  (__u32)libbpf_num_possible_cpus()), 0);
}

static __u32 own_netns(void)
{
	struct stat st;

	assert_int_equal(stat("/proc/self/ns/net", &st), 0);
	return (__u32)st.st_ino;
}

static struct fixture *load_ns(int mode, unsigned int ifindex, __u32 netns, int counters_only,
			       const char *ignore)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct iplist list = {};
	struct iplist_error e;

	assert_non_null(f);
	f->skel = traffic_meter_bpf__open();
	assert_non_null(f->skel);
	f->skel->rodata->ignore_mode = mode;
	f->skel->rodata->filter_ifindex = ifindex;
	f->skel->rodata->host_netns = netns;
	f->skel->rodata->emit_events = !counters_only;
	f->skel->rodata->wakeup_bytes = 1 << 20;
	assert_int_equal(bpf_map__set_max_entries(f->skel->maps.events, 4 << 20), 0);
	size_batches(f->skel);
	assert_int_equal(traffic_meter_bpf__load(f->skel), 0);
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.events), on_event, f, NULL);
	assert_non_null(f->rb);

	if (ignore) {
		assert_int_equal(iplist_parse(ignore, strlen(ignore), &list, &e), 0);
		/* the engine's own loader, so the keys are built the one way they are built */
		struct ignore_list *il = ignore_new(&list);

		assert_non_null(il);
		struct ignore_maps maps = {
			.v4 = bpf_map__fd(f->skel->maps.ignore_v4),
			.v6 = bpf_map__fd(f->skel->maps.ignore_v6),
			.gen = bpf_map__fd(f->skel->maps.ignore_gen),
		};

		assert_int_equal(ignore_attach(il, &maps), 0);
		ignore_free(il);
		iplist_free(&list);
	}
	return f;
}

static struct fixture *load(int mode, unsigned int ifindex, int counters_only, const char *ignore)
{
	return load_ns(mode, ifindex, own_netns(), counters_only, ignore);
}

static void unload(struct fixture *f)
{
	ring_buffer__free(f->rb);
	traffic_meter_bpf__destroy(f->skel);
	free(f);
}

/*
 * Ethernet + IPv4 + UDP with `payload` bytes; returns the frame length. The headers are built
 * in local structs and copied in: the IP header starts at offset 14, where writing through a
 * struct iphdr pointer is a misaligned access (UBSan says so).
 */
static size_t frame_v4(uint8_t *buf, const char *src, const char *dst, size_t payload)
{
	struct ethhdr eth = { .h_proto = htons(ETH_P_IP) };
	struct iphdr ip = {
		.version = 4,
		.ihl = 5,
		.ttl = 64,
		.protocol = IPPROTO_UDP,
	};
	struct udphdr udp = { .source = htons(1234), .dest = htons(5678) };
	size_t l3 = sizeof(ip) + sizeof(udp) + payload;

	ip.tot_len = htons(l3);
	inet_pton(AF_INET, src, &ip.saddr);
	inet_pton(AF_INET, dst, &ip.daddr);
	udp.len = htons(sizeof(udp) + payload);
	memset(buf, 0, sizeof(eth) + l3);
	memcpy(buf, &eth, sizeof(eth));
	memcpy(buf + sizeof(eth), &ip, sizeof(ip));
	memcpy(buf + sizeof(eth) + sizeof(ip), &udp, sizeof(udp));
	return sizeof(eth) + l3;
}

static size_t frame_v6(uint8_t *buf, const char *src, const char *dst, size_t payload)
{
	struct ethhdr eth = { .h_proto = htons(ETH_P_IPV6) };
	struct ipv6hdr ip6 = { .version = 6, .nexthdr = IPPROTO_UDP, .hop_limit = 64 };
	struct udphdr udp = { 0 };
	size_t len = sizeof(eth) + sizeof(ip6) + sizeof(udp) + payload;

	ip6.payload_len = htons(sizeof(udp) + payload);
	inet_pton(AF_INET6, src, &ip6.saddr);
	inet_pton(AF_INET6, dst, &ip6.daddr);
	udp.len = htons(sizeof(udp) + payload);
	udp.source = htons(1234);
	udp.dest = htons(5678);
	memset(buf, 0, len);
	memcpy(buf, &eth, sizeof(eth));
	memcpy(buf + sizeof(eth), &ip6, sizeof(ip6));
	memcpy(buf + sizeof(eth) + sizeof(ip6), &udp, sizeof(udp));
	return len;
}

/* Runs the ingress or egress program once; asserts it let the packet through. */
static void run(struct fixture *f, int dir, const uint8_t *frame, size_t len)
{
	struct bpf_program *prog = dir == TM_DIR_IN ? f->skel->progs.tm_ingress
						    : f->skel->progs.tm_egress;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0);
	assert_int_equal(opts.retval, 1);
	flush(f->skel);
	ring_buffer__consume(f->rb);
}

static struct tm_counters counters(struct fixture *f, __u64 owner)
{
	int ncpus = libbpf_num_possible_cpus();
	struct tm_counters *v = calloc(ncpus, sizeof(*v)), sum = {};

	assert_non_null(v);
	flush(f->skel);
	if (!bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.owner_counters), &owner, v)) {
		for (int i = 0; i < ncpus; i++)
			for (int d = 0; d < 2; d++) {
				sum.bytes[d] += v[i].bytes[d];
				sum.packets[d] += v[i].packets[d];
			}
	}
	free(v);
	return sum;
}

static void test_ipv4_event_and_counters(void **state)
{
	struct fixture *f = load(TM_IGNORE_PEER, 0, 0, NULL);
	uint8_t buf[256], a[4];
	struct timespec t0, t1;
	size_t len = frame_v4(buf, "127.0.0.1", "127.0.0.2", 100);
	struct tm_counters c;

	clock_gettime(CLOCK_BOOTTIME, &t0);
	run(f, TM_DIR_OUT, buf, len);
	clock_gettime(CLOCK_BOOTTIME, &t1);
	assert_int_equal(f->nev, 1);
	assert_int_equal(f->ev[0].bytes, 100 + 28);	/* IPv4 UDP: payload + 28 */
	assert_int_equal(f->ev[0].family, TM_AF_INET);
	assert_int_equal(f->ev[0].direction, TM_DIR_OUT);
	inet_pton(AF_INET, "127.0.0.1", a);
	assert_memory_equal(f->ev[0].saddr, a, 4);
	inet_pton(AF_INET, "127.0.0.2", a);
	assert_memory_equal(f->ev[0].daddr, a, 4);
	assert_true(f->ev[0].ts_boot_ns >= (uint64_t)t0.tv_sec * 1000000000ULL + t0.tv_nsec);
	assert_true(f->ev[0].ts_boot_ns <= (uint64_t)t1.tv_sec * 1000000000ULL + t1.tv_nsec);
	/* A test run's skb carries a socket the kernel made for itself: "(kernel)", never root */
	assert_int_equal(f->ev[0].kind, TM_KIND_KERNEL);
	assert_int_equal(f->ev[0].uid, 0);
	assert_int_not_equal(f->ev[0].cookie, 0);
	assert_int_equal(f->ev[0].proto, IPPROTO_UDP);
	assert_int_equal(f->ev[0].sport, 1234);
	assert_int_equal(f->ev[0].dport, 5678);

	c = counters(f, TM_OWNER_KERNEL);
	assert_int_equal(c.bytes[TM_DIR_OUT], 128);
	assert_int_equal(c.packets[TM_DIR_OUT], 1);
	assert_int_equal(c.bytes[TM_DIR_IN], 0);

	run(f, TM_DIR_IN, buf, len);
	assert_int_equal(f->nev, 2);
	assert_int_equal(f->ev[1].direction, TM_DIR_IN);
	c = counters(f, TM_OWNER_KERNEL);
	assert_int_equal(c.bytes[TM_DIR_IN], 128);
	assert_int_equal(c.packets[TM_DIR_IN], 1);
	unload(f);
}

static void test_ipv6_event(void **state)
{
	struct fixture *f = load(TM_IGNORE_PEER, 0, 0, NULL);
	uint8_t buf[256], a[16];
	size_t len = frame_v6(buf, "2001:db8::1", "::1", 64);

	run(f, TM_DIR_IN, buf, len);
	assert_int_equal(f->nev, 1);
	assert_int_equal(f->ev[0].bytes, 64 + 48);	/* IPv6 UDP: payload + 48 */
	assert_int_equal(f->ev[0].family, TM_AF_INET6);
	assert_int_equal(f->ev[0].direction, TM_DIR_IN);
	inet_pton(AF_INET6, "2001:db8::1", a);
	assert_memory_equal(f->ev[0].saddr, a, 16);
	inet_pton(AF_INET6, "::1", a);
	assert_memory_equal(f->ev[0].daddr, a, 16);
	assert_int_equal(f->ev[0].proto, IPPROTO_UDP);
	assert_int_equal(f->ev[0].sport, 1234);
	assert_int_equal(counters(f, TM_OWNER_KERNEL).bytes[TM_DIR_IN], 112);
	unload(f);
}

static void test_non_ip_passes(void **state)
{
	struct fixture *f = load(TM_IGNORE_PEER, 0, 0, NULL);
	uint8_t buf[64] = {};
	struct ethhdr *eth = (void *)buf;

	eth->h_proto = htons(ETH_P_ARP);
	run(f, TM_DIR_OUT, buf, sizeof(buf));
	assert_int_equal(f->nev, 0);
	unload(f);
}

/* One frame per direction; how many events does the mode let through? */
static int count_events(int mode, const char *ignore, const char *src, const char *dst, int dir)
{
	struct fixture *f = load(mode, 0, 0, ignore);
	uint8_t buf[256];
	size_t len = strchr(src, ':') ? frame_v6(buf, src, dst, 10) : frame_v4(buf, src, dst, 10);
	int n;

	run(f, dir, buf, len);
	n = f->nev;
	if (!n) {
		/* An ignored packet counts in no total either. */
		__u64 key;

		assert_int_not_equal(bpf_map_get_next_key(bpf_map__fd(f->skel->maps.owner_counters),
							  NULL, &key), 0);
	}
	unload(f);
	return n;
}

/*
 * A socket caches the list's answer for its addresses; an edit of the list makes the cache
 * stale at once, in both directions.
 */
static void test_ignore_cache_follows_edits(void **state)
{
	struct fixture *f = load(TM_IGNORE_PEER, 0, 0, NULL);
	struct ignore_list *il = ignore_new(NULL);
	struct ignore_maps maps = {
		.v4 = bpf_map__fd(f->skel->maps.ignore_v4),
		.v6 = bpf_map__fd(f->skel->maps.ignore_v6),
		.gen = bpf_map__fd(f->skel->maps.ignore_gen),
	};
	struct ip_prefix p;
	char why[128];
	uint8_t buf[256];
	size_t len = frame_v4(buf, "127.0.0.1", "10.1.2.3", 10);

	assert_non_null(il);
	assert_int_equal(ignore_attach(il, &maps), 0);
	run(f, TM_DIR_OUT, buf, len);
	run(f, TM_DIR_OUT, buf, len);		/* the second from the socket's cache */
	assert_int_equal(f->nev, 2);
	assert_int_equal(iplist_parse_entry("10.0.0.0/8", &p, why, sizeof(why)), 0);
	assert_int_equal(ignore_add(il, &p), 0);
	run(f, TM_DIR_OUT, buf, len);
	assert_int_equal(f->nev, 2);		/* ignored now, cached answer or not */
	run(f, TM_DIR_OUT, buf, len);
	assert_int_equal(f->nev, 2);
	assert_int_equal(ignore_set(il, 0, false), 0);
	run(f, TM_DIR_OUT, buf, len);
	assert_int_equal(f->nev, 3);		/* and counted again once switched off */
	assert_int_equal(ignore_set(il, 0, true), 0);
	run(f, TM_DIR_OUT, buf, len);
	assert_int_equal(ignore_del(il, 0), 0);
	run(f, TM_DIR_OUT, buf, len);
	assert_int_equal(f->nev, 4);
	ignore_free(il);
	unload(f);
}

static void test_ignore_mode_peer(void **state)
{
	const char *l = "10.0.0.0/8\n2001:db8::*\n";

	/* out: the remote is the destination */
	assert_int_equal(count_events(TM_IGNORE_PEER, l, "127.0.0.1", "10.1.2.3", TM_DIR_OUT), 0);
	assert_int_equal(count_events(TM_IGNORE_PEER, l, "10.1.2.3", "127.0.0.1", TM_DIR_OUT), 1);
	/* in: the remote is the source */
	assert_int_equal(count_events(TM_IGNORE_PEER, l, "10.1.2.3", "127.0.0.1", TM_DIR_IN), 0);
	assert_int_equal(count_events(TM_IGNORE_PEER, l, "127.0.0.1", "10.1.2.3", TM_DIR_IN), 1);
	assert_int_equal(count_events(TM_IGNORE_PEER, l, "::1", "2001:db8:5::1", TM_DIR_OUT), 0);
	assert_int_equal(count_events(TM_IGNORE_PEER, l, "::1", "2001:db9::1", TM_DIR_OUT), 1);
}

static void test_ignore_mode_both(void **state)
{
	const char *l = "10.0.0.0/8\n192.168.1.*\n::1\n2001:db8::/32\n";

	assert_int_equal(count_events(TM_IGNORE_BOTH, l, "10.0.0.1", "192.168.1.7", TM_DIR_OUT), 0);
	assert_int_equal(count_events(TM_IGNORE_BOTH, l, "10.0.0.1", "192.168.2.7", TM_DIR_OUT), 1);
	assert_int_equal(count_events(TM_IGNORE_BOTH, l, "127.0.0.1", "10.0.0.1", TM_DIR_IN), 1);
	assert_int_equal(count_events(TM_IGNORE_BOTH, l, "::1", "2001:db8::2", TM_DIR_IN), 0);
	assert_int_equal(count_events(TM_IGNORE_BOTH, l, "::2", "2001:db8::2", TM_DIR_IN), 1);
}

static void test_ignore_mode_any(void **state)
{
	const char *l = "10.0.0.0/8\n::1\n";

	assert_int_equal(count_events(TM_IGNORE_ANY, l, "10.0.0.1", "127.0.0.1", TM_DIR_OUT), 0);
	assert_int_equal(count_events(TM_IGNORE_ANY, l, "127.0.0.1", "10.0.0.1", TM_DIR_OUT), 0);
	assert_int_equal(count_events(TM_IGNORE_ANY, l, "127.0.0.1", "127.0.0.2", TM_DIR_IN), 1);
	assert_int_equal(count_events(TM_IGNORE_ANY, l, "::2", "::1", TM_DIR_IN), 0);
	assert_int_equal(count_events(TM_IGNORE_ANY, l, "::2", "::3", TM_DIR_IN), 1);
}

static void test_ignore_longest_prefix_host(void **state)
{
	/* A host entry and a /0: the trie matches any address under /0. */
	assert_int_equal(count_events(TM_IGNORE_PEER, "127.0.0.2\n", "127.0.0.1", "127.0.0.2",
				      TM_DIR_OUT), 0);
	assert_int_equal(count_events(TM_IGNORE_PEER, "127.0.0.2\n", "127.0.0.1", "127.0.0.3",
				      TM_DIR_OUT), 1);
	assert_int_equal(count_events(TM_IGNORE_PEER, "0.0.0.0/0\n", "127.0.0.1", "1.2.3.4",
				      TM_DIR_OUT), 0);
}

static void test_iface_filter(void **state)
{
	/* BPF_PROG_TEST_RUN runs the skb on this namespace's loopback device (ifindex 1). */
	struct fixture *f = load(TM_IGNORE_PEER, 1, 0, NULL);
	uint8_t buf[256];
	size_t len = frame_v4(buf, "127.0.0.1", "127.0.0.2", 10);

	run(f, TM_DIR_OUT, buf, len);
	assert_int_equal(f->nev, 1);
	unload(f);

	f = load(TM_IGNORE_PEER, 424242, 0, NULL);
	run(f, TM_DIR_OUT, buf, len);
	assert_int_equal(f->nev, 0);
	unload(f);

	/* The same index in another network namespace is another interface: not counted. */
	f = load_ns(TM_IGNORE_PEER, 1, own_netns() + 1, 0, NULL);
	run(f, TM_DIR_OUT, buf, len);
	assert_int_equal(f->nev, 0);
	assert_int_equal(counters(f, TM_OWNER_KERNEL).packets[TM_DIR_OUT], 0);
	unload(f);
}

static void test_ports_only_for_tcp_udp(void **state)
{
	struct fixture *f = load(TM_IGNORE_PEER, 0, 0, NULL);
	uint8_t buf[256];
	size_t len = frame_v4(buf, "127.0.0.1", "127.0.0.2", 10);
	struct iphdr ip;

	/* turn the UDP datagram into ICMP: the bytes where ports would be are not ports */
	memcpy(&ip, buf + sizeof(struct ethhdr), sizeof(ip));
	ip.protocol = IPPROTO_ICMP;
	memcpy(buf + sizeof(struct ethhdr), &ip, sizeof(ip));
	run(f, TM_DIR_OUT, buf, len);
	assert_int_equal(f->nev, 1);
	assert_int_equal(f->ev[0].proto, IPPROTO_ICMP);
	assert_int_equal(f->ev[0].sport, 0);
	assert_int_equal(f->ev[0].dport, 0);
	unload(f);
}

/*
 * Records wait in their CPU's batch: a full batch reaches the ring by itself, the rest on the
 * flush, in the order the packets came, and the counters see every packet once flushed.
 */
static void test_batches(void **state)
{
	struct fixture *f = load(TM_IGNORE_PEER, 0, 0, NULL);
	uint8_t buf[256];
	size_t len = frame_v4(buf, "127.0.0.1", "127.0.0.2", 10);
	int n = TM_BATCH_EVENTS + 8;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = len, .repeat = n);
	__u64 owner;

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(f->skel->progs.tm_egress), &opts),
			 0);
	ring_buffer__consume(f->rb);
	assert_int_equal(f->nev, TM_BATCH_EVENTS);
	flush(f->skel);
	ring_buffer__consume(f->rb);
	assert_int_equal(f->nev, n);
	for (int i = 1; i < n; i++)
		assert_true(f->ev[i].ts_boot_ns >= f->ev[i - 1].ts_boot_ns);
	assert_int_equal(bpf_map_get_next_key(bpf_map__fd(f->skel->maps.owner_counters), NULL,
					      &owner), 0);
	assert_int_equal(counters(f, owner).packets[TM_DIR_OUT], n);
	assert_int_equal(counters(f, owner).bytes[TM_DIR_OUT], (__u64)n * 38);
	unload(f);
}

/* One slot of the stats map, summed over CPUs (vals holds ncpus values). */
static __u64 stat_of(struct fixture *f, __u32 slot, __u64 *vals, int ncpus)
{
	__u64 sum = 0;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.stats), &slot, vals), 0);
	for (int i = 0; i < ncpus; i++)
		sum += vals[i];
	return sum;
}

/*
 * A full owner table: the packet is still counted, under overflow, and the count says so. The
 * entries the program adds are counted too (user space watches the table fill with it).
 */
static void test_owner_table_full(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t buf[256];
	size_t len = frame_v4(buf, "127.0.0.1", "127.0.0.2", 10);
	int ncpus = libbpf_num_possible_cpus();
	struct tm_counters *zero = calloc(ncpus, sizeof(*zero)), *ov = calloc(ncpus, sizeof(*ov));
	__u64 *stat = calloc(ncpus, sizeof(*stat)), sum = 0, other = TM_OWNER(TM_KIND_USER, 4242);
	__u32 key = 0, slot = TM_STAT_TABLE_FULL;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = len, .repeat = 3);

	assert_non_null(zero);
	f->skel = traffic_meter_bpf__open();
	assert_non_null(f->skel);
	f->skel->rodata->emit_events = 0;
	assert_int_equal(bpf_map__set_max_entries(f->skel->maps.owner_counters, 1), 0);
	size_batches(f->skel);
	assert_int_equal(traffic_meter_bpf__load(f->skel), 0);
	/* the one slot is someone else's */
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(f->skel->maps.owner_counters), &other,
					     zero, BPF_NOEXIST), 0);
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(f->skel->progs.tm_egress), &opts),
			 0);
	assert_int_equal(opts.retval, 1);
	flush(f->skel);		/* the three packets were pending on this CPU until now */
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.stats), &slot, stat), 0);
	for (int i = 0; i < ncpus; i++)
		sum += stat[i];
	assert_int_equal(sum, 3);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.overflow_counters), &key,
					     ov), 0);
	sum = 0;
	for (int i = 0; i < ncpus; i++)
		sum += ov[i].bytes[TM_DIR_OUT];
	assert_int_equal(sum, 3 * 38);
	/* Nothing was added to the table; once there is room, one entry for three packets. */
	slot = TM_STAT_OWNER_NEW;
	assert_int_equal(stat_of(f, slot, stat, ncpus), 0);
	assert_int_equal(bpf_map_delete_elem(bpf_map__fd(f->skel->maps.owner_counters), &other), 0);
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(f->skel->progs.tm_egress), &opts),
			 0);
	flush(f->skel);
	assert_int_equal(stat_of(f, slot, stat, ncpus), 1);
	free(zero);
	free(ov);
	free(stat);
	traffic_meter_bpf__destroy(f->skel);
	free(f);
}

static void test_counters_only(void **state)
{
	struct fixture *f = load(TM_IGNORE_PEER, 0, 1, NULL);
	uint8_t buf[256];
	size_t len = frame_v4(buf, "127.0.0.1", "127.0.0.2", 72);
	__u64 owner;

	run(f, TM_DIR_OUT, buf, len);
	assert_int_equal(f->nev, 0);
	assert_int_equal(bpf_map_get_next_key(bpf_map__fd(f->skel->maps.owner_counters), NULL,
					      &owner), 0);
	assert_int_equal(counters(f, owner).bytes[TM_DIR_OUT], 100);
	unload(f);
}

static void test_ring_full_counts_lost(void **state)
{
	/*
	 * A one-page ring holds one batch (32 records of 72 bytes and an 8-byte header): of 200
	 * records, 6 batches go out full and 5 of them are lost; the 8 left are flushed at once.
	 */
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t buf[256];
	size_t len = frame_v4(buf, "127.0.0.1", "127.0.0.2", 10);
	int ncpus = libbpf_num_possible_cpus();
	__u64 *lost = calloc(ncpus, sizeof(*lost)), sum = 0;
	__u32 key = TM_STAT_RING_FULL;
	__u64 owner;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = len, .repeat = 200);

	f->skel = traffic_meter_bpf__open();
	assert_non_null(f->skel);
	f->skel->rodata->wakeup_bytes = 1 << 20;
	assert_int_equal(bpf_map__set_max_entries(f->skel->maps.events, getpagesize()), 0);
	size_batches(f->skel);
	assert_int_equal(traffic_meter_bpf__load(f->skel), 0);
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(f->skel->progs.tm_egress), &opts),
			 0);
	assert_int_equal(opts.retval, 1);
	flush(f->skel);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.stats), &key, lost), 0);
	for (int i = 0; i < ncpus; i++)
		sum += lost[i];
	assert_int_equal(sum, 200 - TM_BATCH_EVENTS - 200 % TM_BATCH_EVENTS);
	/* ... while the counters stayed exact. */
	assert_int_equal(bpf_map_get_next_key(bpf_map__fd(f->skel->maps.owner_counters), NULL,
					      &owner), 0);
	assert_int_equal(counters(f, owner).packets[TM_DIR_OUT], 200);
	free(lost);
	traffic_meter_bpf__destroy(f->skel);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_event_and_counters),
		cmocka_unit_test(test_ipv6_event),
		cmocka_unit_test(test_non_ip_passes),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_ignore_cache_follows_edits),
		cmocka_unit_test(test_ignore_mode_peer),
		cmocka_unit_test(test_ignore_mode_both),
		cmocka_unit_test(test_ignore_mode_any),
		cmocka_unit_test(test_ignore_longest_prefix_host),
		cmocka_unit_test(test_iface_filter),
		cmocka_unit_test(test_ports_only_for_tcp_udp),
		cmocka_unit_test(test_owner_table_full),
		cmocka_unit_test(test_counters_only),
		cmocka_unit_test(test_ring_full_counts_lost),
	};

	return cmocka_run_group_tests_name("bpf_prog", tests, NULL, NULL);
}
