// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for meter/aggregator.c: synthetic records and a fake clock (every call takes its
 * time), no kernel. Rates over the sliding window, exact totals from the kernel's counters,
 * bounded peer, process and connection tables whose rows always add up, the ledger of evicted
 * owners, and the rate history behind the sparkline.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "meter/aggregator.h"
#include "meter/cgroup.h"

#define SEC	1000000000ULL
#define MS	1000000ULL
#define TICK	(250 * MS)	/* the engine's counter cadence */
#define NOSOCK	TM_OWNER_NOSOCK
#define KERNEL	TM_OWNER_KERNEL

/* |got - want| <= 1% of want */
#define assert_near(got, want) \
	assert_true(fabs_((got) - (want)) <= 0.01 * fabs_(want) + 1e-9)

static double fabs_(double x)
{
	return x < 0 ? -x : x;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static struct traffic_record rec4(tm_owner_t owner, int dir, uint32_t peer, uint32_t bytes)
{
	struct traffic_record r;
	uint8_t local[4] = { 192, 168, 1, 100 };
	uint8_t remote[4] = { peer >> 24, peer >> 16, peer >> 8, peer };

	memset(&r, 0, sizeof(r));
	r.owner = owner;
	r.bytes = bytes;
	r.direction = dir;
	r.family = TM_AF_INET;
	r.proto = 6;
	memcpy(dir == TM_DIR_OUT ? r.src : r.dst, local, 4);
	memcpy(dir == TM_DIR_OUT ? r.dst : r.src, remote, 4);
	return r;
}

static void ev4(struct agg *a, tm_owner_t owner, int dir, uint32_t peer, uint32_t bytes)
{
	struct traffic_record r = rec4(owner, dir, peer, bytes);

	agg_event(a, &r);
}

static struct owner_total tot(tm_owner_t owner, uint64_t in, uint64_t out)
{
	struct owner_total t = { .owner = owner, .bytes = { in, out },
				 .packets = { in / 100, out / 100 } };
	return t;
}

static void sample1(struct agg *a, uint64_t now, tm_owner_t owner, uint64_t in, uint64_t out)
{
	struct owner_total t = tot(owner, in, out);

	agg_counters(a, now, &t, 1);
}

/* Every process is alive unless listed in dead[] (no test may probe real pids). */
struct life {
	uint32_t dead[8];
	int ndead;
	int calls;
};

static bool fake_alive(void *ctx, uint32_t tgid)
{
	struct life *l = ctx;

	l->calls++;
	for (int i = 0; i < l->ndead; i++)
		if (l->dead[i] == tgid)
			return false;
	return true;
}

static struct life everyone_alive;

static struct agg *new_agg(struct agg_config cfg)
{
	struct agg *a;

	if (!cfg.alive) {
		cfg.alive = fake_alive;
		cfg.alive_ctx = &everyone_alive;
	}
	a = agg_new(&cfg);
	assert_non_null(a);
	return a;
}

static struct agg *agg_window(uint64_t window)
{
	return new_agg((struct agg_config){ .window_ns = window });
}

static bool user_get(struct agg *a, tm_owner_t owner, struct snap_user *u)
{
	return agg_export_users(a, &owner, u, 1) == 1;
}

static void totals(struct agg *a, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	agg_export_totals(a, s);
}

static size_t peers(struct agg *a, tm_owner_t owner, struct snap_peer **v)
{
	size_t n;

	assert_int_equal(agg_export_peers(a, &owner, v, &n), 0);
	return n;
}

static const struct snap_peer *find_peer(const struct snap_peer *v, size_t n, uint8_t family,
					 const uint8_t *addr, uint32_t netns)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == family && v[i].netns == netns &&
		    (!family || !memcmp(v[i].addr, addr, family == TM_AF_INET ? 4 : 16)))
			return &v[i];
	return NULL;
}

static const struct snap_peer *find_v4(const struct snap_peer *v, size_t n, uint32_t ip)
{
	uint8_t a[4] = { ip >> 24, ip >> 16, ip >> 8, ip };

	return find_peer(v, n, TM_AF_INET, a, 0);
}

/* The "other" row, which must be the owner's last. */
static const struct snap_peer *other_of(const struct snap_peer *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!v[i].family) {
			assert_int_equal(i, n - 1);
			return &v[i];
		}
	return NULL;
}

static void sum_peers(const struct snap_peer *v, size_t n, uint64_t bytes[2], uint64_t pkts[2])
{
	bytes[0] = bytes[1] = pkts[0] = pkts[1] = 0;
	for (size_t i = 0; i < n; i++) {
		for (int d = 0; d < 2; d++) {
			bytes[d] += v[i].bytes[d];
			pkts[d] += v[i].packets[d];
		}
	}
}

static const struct snap_proc *find_proc(const struct snap_proc *v, size_t n, uint32_t tgid,
					 bool folded)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].tgid == tgid && !!v[i].nfolded == folded && (tgid || folded ||
								      !v[i].exited))
			return &v[i];
	return NULL;
}

static size_t procs(struct agg *a, tm_owner_t owner, struct snap_proc **v)
{
	size_t n;

	assert_int_equal(agg_export_procs(a, &owner, v, &n), 0);
	return n;
}

/* ---- rates ------------------------------------------------------------------------------- */

static void test_one_sample_no_rate(void **state)
{
	struct agg *a = agg_window(0);
	struct snapshot s;
	struct snap_user u;

	sample1(a, 10 * SEC, 1000, 5000, 7000);
	assert_true(user_get(a, 1000, &u));
	assert_false(u.has_rate);
	assert_true(u.rate[0] == 0 && u.rate[1] == 0);
	assert_int_equal(u.owner, 1000);
	assert_int_equal(u.bytes[TM_DIR_IN], 5000);
	assert_int_equal(u.bytes[TM_DIR_OUT], 7000);
	assert_int_equal(u.packets[TM_DIR_IN], 50);
	assert_int_equal(u.packets[TM_DIR_OUT], 70);
	totals(a, &s);
	assert_false(s.totals.has_rate);
	assert_int_equal(s.seq, 1);
	assert_int_equal(s.stats.users, 1);
	assert_true(s.meter.window_s > 1.99 && s.meter.window_s < 2.01);	/* the default */
	assert_false(user_get(a, 4242, &u));
	assert_int_equal(agg_count(a), 1);
	agg_free(a);
}

static void test_rate_constant(void **state)
{
	struct agg *a = agg_window(2 * SEC);
	struct snap_user u;
	struct snapshot s;
	uint64_t now = 100 * SEC;

	/* 1000 B/s in, 500 B/s out, with a little jitter in the call times. */
	for (int i = 0; i < 40; i++) {
		uint64_t t = now + i * TICK + (i % 3) * 7 * MS;
		uint64_t el = t - now;

		sample1(a, t, 1000, el / 1000000, el / 2000000);
		assert_true(user_get(a, 1000, &u));
		totals(a, &s);
		if (i == 0) {
			assert_false(u.has_rate);
			assert_false(s.totals.has_rate);
			continue;
		}
		assert_true(u.has_rate);
		assert_near(u.rate[TM_DIR_IN], 1000.0);
		assert_near(u.rate[TM_DIR_OUT], 500.0);
		assert_true(s.totals.has_rate);
		assert_near(s.totals.rate[TM_DIR_IN], 1000.0);
	}
	agg_free(a);
}

static void test_rate_decays(void **state)
{
	struct agg *a = agg_window(2 * SEC);
	struct snap_user u, rows[4];
	uint64_t t = SEC, bytes = 0, stop;

	for (int i = 0; i < 12; i++, t += TICK, bytes += 1000)
		sample1(a, t, 7, bytes, bytes);
	stop = t - TICK;	/* last change */
	assert_true(user_get(a, 7, &u));
	assert_near(u.rate[0], 4000.0);
	assert_true(u.idle_s == 0);

	/* The user goes quiet (and even drops out of the counters): the rate slides to 0. */
	bytes -= 1000;
	sample1(a, t, 7, bytes, bytes);
	assert_true(user_get(a, 7, &u));
	assert_true(u.rate[0] > 0 && u.rate[0] < 4000.0);
	for (int i = 0; i < 10; i++) {
		t += TICK;
		agg_counters(a, t, NULL, 0);
	}
	assert_true(user_get(a, 7, &u));
	assert_true(u.has_rate);
	assert_true(u.rate[0] == 0 && u.rate[1] == 0);
	assert_int_equal(u.bytes[0], bytes);	/* dropping out of the counters keeps the totals */
	assert_near(u.idle_s, (double)(t - stop) / SEC);
	/* Nothing ages an owner out by itself: only the caller evicts. */
	assert_int_equal(agg_export_users(a, NULL, rows, 4), 1);
	assert_int_equal(rows[0].owner, 7);
	agg_free(a);
}

/* The program was reloaded (or the entry replaced): the kernel's counters start again small. */
static void test_counter_reset(void **state)
{
	struct agg *a = agg_window(2 * SEC);
	struct snap_user u;
	uint64_t t = SEC, in0, out0;

	for (int i = 0; i < 10; i++, t += TICK)
		sample1(a, t, 1, 1000000 + i * 250, 1000000 + i * 500);
	assert_true(user_get(a, 1, &u));
	assert_near(u.rate[0], 1000.0);
	assert_near(u.rate[1], 2000.0);
	in0 = u.bytes[0];
	out0 = u.bytes[1];

	/* Totals keep what the old entry counted and add the new one: never backwards. */
	sample1(a, t, 1, 100, 100);
	assert_true(user_get(a, 1, &u));
	assert_int_equal(u.bytes[0], in0 + 100);
	assert_int_equal(u.bytes[1], out0 + 100);
	assert_int_equal(u.packets[0], 10022 + 1);
	/* ... and the restart is not a burst of traffic in the rate. */
	assert_true(u.rate[0] >= 0 && u.rate[0] < 1500);
	assert_true(u.rate[1] >= 0 && u.rate[1] < 2500);

	for (int i = 1; i < 20; i++) {
		t += TICK;
		sample1(a, t, 1, 100 + i * 250, 100 + i * 500);
		assert_true(user_get(a, 1, &u));
		assert_int_equal(u.bytes[0], in0 + 100 + i * 250);
		assert_int_equal(u.bytes[1], out0 + 100 + i * 500);
	}
	assert_true(u.has_rate);
	assert_near(u.rate[0], 1000.0);
	assert_near(u.rate[1], 2000.0);
	agg_free(a);
}

static void test_sparse_calls(void **state)
{
	/* Calls further apart than the window still give the rate over the last interval. */
	struct agg *a = agg_window(2 * SEC);
	struct snap_user u;

	sample1(a, 10 * SEC, 1, 0, 0);
	sample1(a, 13 * SEC, 1, 3000, 0);
	assert_true(user_get(a, 1, &u));
	assert_true(u.has_rate);
	assert_near(u.rate[0], 1000.0);
	agg_free(a);
}

static void test_long_window(void **state)
{
	/* A 60 s window at 4 calls/s needs 240 samples; the slots must still cover it all. */
	struct agg *a = agg_window(60 * SEC);
	struct snap_user u;
	uint64_t t = SEC, bytes = 0;

	for (int i = 0; i < 400; i++, t += TICK, bytes += 250)
		sample1(a, t, 1, bytes, 0);
	assert_true(user_get(a, 1, &u));
	assert_near(u.rate[0], 1000.0);
	bytes -= 250;
	/* 30 s of silence: the window still holds ~30 s of traffic, so about half the rate. */
	for (int i = 0; i < 120; i++, t += TICK)
		sample1(a, t, 1, bytes, 0);
	assert_true(user_get(a, 1, &u));
	assert_true(u.rate[0] > 350 && u.rate[0] < 650);
	agg_free(a);
}

/* A clock that steps back is clamped, not trusted: no negative interval, no wrong rate. */
static void test_clock_backwards(void **state)
{
	struct agg *a = agg_window(2 * SEC);
	struct snap_user u;
	uint64_t t = 10 * SEC;

	for (int i = 0; i < 10; i++, t += TICK)
		sample1(a, t, 1, i * 250, 0);
	sample1(a, 5 * SEC, 1, 10 * 250, 0);
	assert_true(user_get(a, 1, &u));
	assert_true(u.rate[0] >= 0 && u.rate[0] < 2000);
	agg_free(a);
}

static void test_events_per_s(void **state)
{
	struct agg *a = agg_window(2 * SEC);
	struct snapshot s;
	uint64_t now = SEC;

	agg_counters(a, now, NULL, 0);
	for (int k = 0; k < 20; k++) {
		for (int i = 0; i < 1000; i++)		/* 4000 events/s */
			ev4(a, 1 + i % 3, i & 1, i, 100);
		now += TICK;
		agg_counters(a, now, NULL, 0);
	}
	totals(a, &s);
	assert_near(s.stats.events_per_s, 4000.0);
	assert_int_equal(s.stats.users, 3);

	/* Events stop: the event rate slides to 0 too. */
	for (int k = 0; k < 10; k++) {
		now += TICK;
		agg_counters(a, now, NULL, 0);
	}
	totals(a, &s);
	assert_true(s.stats.events_per_s == 0);
	agg_free(a);
}

/* ---- totals ------------------------------------------------------------------------------ */

static void test_event_only_user(void **state)
{
	struct agg *a = agg_window(2 * SEC);
	struct snap_user u;
	uint64_t t = SEC;

	sample1(a, t, 1, 0, 0);
	/* uid 2 is seen by events before the counters list it: their sums stand in. */
	ev4(a, 2, TM_DIR_OUT, 0x01020304, 300);
	ev4(a, 2, TM_DIR_IN, 0x01020304, 200);
	assert_true(user_get(a, 2, &u));
	assert_int_equal(u.bytes[TM_DIR_OUT], 300);
	assert_int_equal(u.bytes[TM_DIR_IN], 200);
	assert_int_equal(u.packets[TM_DIR_OUT], 1);
	assert_int_equal(u.packets[TM_DIR_IN], 1);
	assert_false(u.has_rate);

	/* Counters arrive: exact totals replace the event sums, with no bogus jump in the rate. */
	t += TICK;
	sample1(a, t, 2, 1000000, 2000000);
	assert_true(user_get(a, 2, &u));
	assert_int_equal(u.bytes[TM_DIR_IN], 1000000);
	assert_int_equal(u.bytes[TM_DIR_OUT], 2000000);
	assert_int_equal(u.packets[TM_DIR_IN], 10000);
	assert_true(u.rate[TM_DIR_IN] < 10000);
	assert_true(u.rate[TM_DIR_OUT] < 10000);
	/* Events no longer change the totals (the kernel counted them already). */
	ev4(a, 2, TM_DIR_OUT, 0x01020304, 300);
	assert_true(user_get(a, 2, &u));
	assert_int_equal(u.bytes[TM_DIR_OUT], 2000000);
	t += TICK;
	sample1(a, t, 2, 1000000 + 250, 2000000 + 500);
	assert_true(user_get(a, 2, &u));
	assert_true(u.has_rate);
	assert_int_equal(u.bytes[TM_DIR_OUT], 2000500);
	agg_free(a);
}

/* The two owners that are no uid are owners like any other, apart from every uid. */
static void test_special_owners(void **state)
{
	struct agg *a = agg_window(0);
	struct owner_total t[3] = { tot(0, 10, 20), tot(NOSOCK, 30, 40), tot(KERNEL, 50, 60) };
	struct snap_user u[4];

	agg_counters(a, SEC, t, 3);
	assert_int_equal(agg_export_users(a, NULL, u, 4), 3);
	assert_true(user_get(a, NOSOCK, u));
	assert_int_equal(u[0].bytes[0], 30);
	assert_true(user_get(a, KERNEL, u));
	assert_int_equal(u[0].bytes[1], 60);
	assert_true(user_get(a, 0, u));
	assert_int_equal(u[0].bytes[0], 10);
	/* max limits the export */
	assert_int_equal(agg_export_users(a, NULL, u, 2), 2);
	agg_free(a);
}

static void test_totals(void **state)
{
	static const struct {
		tm_owner_t owner;
		uint64_t in_rate, out_rate, in_tot, out_tot;
	} fx[] = {
		{ 1000, 4000, 100, 5000, 900000 },
		{ 33, 100, 3000, 700000, 100 },
		{ 500, 2000, 2500, 100, 50000 },
		{ NOSOCK, 10, 10, 9000, 9000 },
	};
	struct agg *a = agg_window(2 * SEC);
	struct owner_total t[4], over = tot(0, 7000, 8000);
	struct snapshot s;
	double in = 0, out = 0;
	uint64_t bin = 0, bout = 0;

	for (int k = 0; k < 5; k++) {
		for (size_t i = 0; i < 4; i++)
			t[i] = tot(fx[i].owner, fx[i].in_tot + fx[i].in_rate * k / 4,
				   fx[i].out_tot + fx[i].out_rate * k / 4);
		agg_counters(a, SEC + k * TICK, t, 4);
	}
	for (size_t i = 0; i < 4; i++) {
		in += fx[i].in_rate;
		out += fx[i].out_rate;
		bin += fx[i].in_tot + fx[i].in_rate;
		bout += fx[i].out_tot + fx[i].out_rate;
	}
	ev4(a, 0, TM_DIR_OUT, 1, 1);	/* an event-only owner: its sums count too */
	totals(a, &s);
	assert_true(s.totals.has_rate);
	assert_int_equal(s.stats.users, 5);
	assert_int_equal(s.totals.bytes[TM_DIR_IN], bin);
	assert_int_equal(s.totals.bytes[TM_DIR_OUT], bout + 1);
	assert_near(s.totals.rate[TM_DIR_IN], in);
	assert_near(s.totals.rate[TM_DIR_OUT], out);

	/* What the kernel could not charge to anyone (its table was full) is in the totals. */
	agg_set_unattributed(a, &over);
	totals(a, &s);
	assert_int_equal(s.totals.bytes[TM_DIR_IN], bin + 7000);
	assert_int_equal(s.totals.bytes[TM_DIR_OUT], bout + 1 + 8000);
	assert_int_equal(s.totals.packets[TM_DIR_IN], 70 + (5000 + 4000) / 100 +
			 (700000 + 100) / 100 + (100 + 2000) / 100 + (9000 + 10) / 100);
	agg_free(a);

	a = agg_window(0);
	totals(a, &s);
	assert_int_equal(s.stats.users, 0);
	assert_false(s.totals.has_rate);
	assert_int_equal(s.totals.bytes[0], 0);
	agg_free(a);
}

/* ---- peers ------------------------------------------------------------------------------- */

static void test_peer_direction(void **state)
{
	struct agg *a = agg_window(0);
	struct snap_peer *p;
	struct traffic_record r;
	const struct snap_peer *q;
	uint8_t v6a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	uint8_t v6b[16] = { 0x26, 0x07, 0xf8, 0xb0, 0x40, 0x04, 0x08, 0x00,
			    [14] = 0x20, [15] = 0x0e };
	size_t n;

	/* out: the peer is dst. Garbage after the 4 IPv4 bytes must not split the peer. */
	r = rec4(5, TM_DIR_OUT, 0x08080808, 52);
	r.dst[10] = 0xff;
	agg_event(a, &r);
	/* in: the peer is src. */
	ev4(a, 5, TM_DIR_IN, 0x08080808, 84);
	ev4(a, 5, TM_DIR_IN, 0x01010101, 10);

	memset(&r, 0, sizeof(r));
	r.owner = 5;
	r.family = TM_AF_INET6;
	r.direction = TM_DIR_OUT;
	memcpy(r.src, v6a, 16);
	memcpy(r.dst, v6b, 16);
	r.bytes = 80;
	agg_event(a, &r);
	r.direction = TM_DIR_IN;
	memcpy(r.src, v6b, 16);
	memcpy(r.dst, v6a, 16);
	r.bytes = 1000;
	agg_event(a, &r);

	n = peers(a, 5, &p);
	assert_int_equal(n, 3);		/* the local addresses never become peers; no "other" */
	q = find_peer(p, n, TM_AF_INET6, v6b, 0);
	assert_non_null(q);
	assert_int_equal(q->owner, 5);
	assert_int_equal(q->bytes[TM_DIR_OUT], 80);
	assert_int_equal(q->bytes[TM_DIR_IN], 1000);
	assert_int_equal(q->packets[TM_DIR_IN], 1);
	q = find_v4(p, n, 0x08080808);
	assert_non_null(q);
	assert_int_equal(q->bytes[TM_DIR_OUT], 52);
	assert_int_equal(q->bytes[TM_DIR_IN], 84);
	assert_memory_equal(q->addr, ((uint8_t[16]){ 8, 8, 8, 8 }), 16);
	q = find_v4(p, n, 0x01010101);
	assert_non_null(q);
	assert_int_equal(q->bytes[TM_DIR_IN], 10);
	assert_int_equal(q->bytes[TM_DIR_OUT], 0);
	assert_null(other_of(p, n));
	free(p);

	/* An unknown owner has no peers; every owner's peers, each owner's "other" last. */
	assert_int_equal(agg_export_peers(a, &(tm_owner_t){ 99 }, &p, &n), -ENOENT);
	assert_null(p);
	ev4(a, 6, TM_DIR_OUT, 0x09090909, 1);
	assert_int_equal(agg_export_peers(a, NULL, &p, &n), 0);
	assert_int_equal(n, 4);
	free(p);
	agg_free(a);
}

static void test_peer_rates_and_top(void **state)
{
	struct agg *a = agg_window(2 * SEC);
	struct snap_peer *p;
	const struct snap_peer *fast, *slow;
	struct snap_user u;
	uint64_t t = SEC;
	size_t n;

	/* 10.0.0.1 has more bytes in total, 10.0.0.2 is the faster one right now. */
	ev4(a, 9, TM_DIR_IN, 0x0a000001, 100000);
	for (int i = 0; i < 12; i++) {
		sample1(a, t, 9, 0, 0);
		ev4(a, 9, TM_DIR_OUT, 0x0a000002, 500);	/* 2000 B/s */
		ev4(a, 9, TM_DIR_IN, 0x0a000002, 250);	/* 1000 B/s */
		t += TICK;
	}
	sample1(a, t, 9, 0, 0);
	n = peers(a, 9, &p);
	assert_int_equal(n, 2);
	fast = find_v4(p, n, 0x0a000002);
	slow = find_v4(p, n, 0x0a000001);
	assert_near(fast->rate[TM_DIR_OUT], 2000.0);
	assert_near(fast->rate[TM_DIR_IN], 1000.0);
	assert_true(slow->rate[0] == 0 && slow->rate[1] == 0);
	free(p);
	assert_true(user_get(a, 9, &u));
	assert_true(u.has_top);
	assert_int_equal(u.npeers, 2);
	assert_int_equal(u.top.owner, 9);
	assert_memory_equal(u.top.addr, ((uint8_t[4]){ 10, 0, 0, 2 }), 4);

	/* The fast peer stops; once both rates are 0 the top is the one with more bytes. */
	for (int i = 0; i < 10; i++) {
		t += TICK;
		sample1(a, t, 9, 0, 0);
	}
	assert_true(user_get(a, 9, &u));
	assert_memory_equal(u.top.addr, ((uint8_t[4]){ 10, 0, 0, 1 }), 4);

	/* No peer, no top. */
	sample1(a, t, 10, 1, 1);
	assert_true(user_get(a, 10, &u));
	assert_false(u.has_top);
	assert_int_equal(u.npeers, 0);
	agg_free(a);
}

/* Peers past the bound are one "other" row with exact sums and a count of who is in it. */
static void test_peer_bound_other(void **state)
{
	struct agg *a = new_agg((struct agg_config){ .peers_per_owner = 4 });
	uint64_t sum[2] = { 0 }, pk[2] = { 0 }, got[2], gotp[2];
	const struct snap_peer *o;
	struct snap_peer *p;
	struct snapshot s;
	struct snap_user u;
	size_t n;

	for (uint32_t i = 0; i < 10; i++) {
		for (int rep = 0; rep < 3; rep++) {
			int dir = (i + rep) & 1;

			ev4(a, 1000, dir, 0x0a000000 + i, 100 + i);
			sum[dir] += 100 + i;
			pk[dir]++;
		}
	}
	n = peers(a, 1000, &p);
	assert_int_equal(n, 5);
	for (uint32_t i = 0; i < 4; i++)
		assert_non_null(find_v4(p, n, 0x0a000000 + i));	/* the first four, exact */
	assert_null(find_v4(p, n, 0x0a000004));
	o = other_of(p, n);
	assert_non_null(o);
	assert_int_equal(o->owner, 1000);
	assert_int_equal(o->folded, 6);
	assert_false(o->folded_more);
	assert_int_equal(o->bytes[0] + o->bytes[1], 3 * (104 + 105 + 106 + 107 + 108 + 109));
	sum_peers(p, n, got, gotp);
	assert_memory_equal(got, sum, sizeof(sum));
	assert_memory_equal(gotp, pk, sizeof(pk));
	free(p);
	assert_true(user_get(a, 1000, &u));
	assert_int_equal(u.npeers, 4);
	/* Peers that go to "other" because there is no room are not folds of idle ones. */
	totals(a, &s);
	assert_int_equal(s.stats.peers_folded, 0);
	agg_free(a);
}

/* max_peers bounds every owner's peers together; each owner keeps its own "other". */
static void test_peer_global_bound(void **state)
{
	struct agg *a = new_agg((struct agg_config){ .peers_per_owner = 100, .max_peers = 5 });
	struct snap_peer *p;
	size_t n;

	for (uint32_t i = 0; i < 5; i++)
		ev4(a, 1, TM_DIR_OUT, 0x0a000000 + i, 10);
	ev4(a, 2, TM_DIR_OUT, 0x0b000000, 7);
	ev4(a, 2, TM_DIR_IN, 0x0b000001, 8);
	n = peers(a, 2, &p);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].family, 0);
	assert_int_equal(p[0].folded, 2);
	assert_int_equal(p[0].bytes[TM_DIR_OUT], 7);
	assert_int_equal(p[0].bytes[TM_DIR_IN], 8);
	free(p);
	n = peers(a, 1, &p);
	assert_int_equal(n, 5);
	assert_null(other_of(p, n));
	free(p);
	agg_free(a);
}

/* A scan of 100,000 addresses with a heavy hitter: bounded tables, exact sums, right top. */
static void test_peer_flood(void **state)
{
	const uint32_t heavy = 0xc6336401;	/* 198.51.100.1, seen first */
	struct agg *a = new_agg((struct agg_config){ .window_ns = 2 * SEC, .peers_per_owner = 32 });
	uint64_t sum[2] = { 0 }, pk[2] = { 0 }, got[2], gotp[2];
	const struct snap_peer *o;
	struct snap_peer *p;
	struct snap_user u;
	uint64_t t = SEC;
	size_t n;

	for (uint32_t i = 0; i < 100000; i++) {
		if (i % 9 == 0) {
			ev4(a, 1000, TM_DIR_OUT, heavy, 1000);
			sum[TM_DIR_OUT] += 1000;
			pk[TM_DIR_OUT]++;
		}
		ev4(a, 1000, TM_DIR_IN, 0x0a000000 + i, 100);
		sum[TM_DIR_IN] += 100;
		pk[TM_DIR_IN]++;
		if (i % 10000 == 9999) {
			agg_counters(a, t, NULL, 0);
			t += TICK;
		}
	}
	assert_true(user_get(a, 1000, &u));
	assert_int_equal(u.npeers, 32);
	assert_true(u.has_top);
	assert_int_equal(u.top.family, TM_AF_INET);
	assert_memory_equal(u.top.addr, ((uint8_t[4]){ 198, 51, 100, 1 }), 4);
	assert_int_equal(u.top.bytes[TM_DIR_OUT], 11112 * 1000ULL);	/* exact */

	n = peers(a, 1000, &p);
	assert_int_equal(n, 33);
	o = other_of(p, n);
	assert_non_null(o);
	/* The count of distinct peers stops at its bound and says so. */
	assert_int_equal(o->folded, AGG_FOLD_MAX);
	assert_true(o->folded_more);
	sum_peers(p, n, got, gotp);
	assert_memory_equal(got, sum, sizeof(sum));
	assert_memory_equal(gotp, pk, sizeof(pk));
	free(p);
	agg_free(a);

	/* The default bound is AGG_DEFAULT_PEERS per owner. */
	a = agg_new(NULL);
	assert_non_null(a);
	for (uint32_t i = 0; i < 5000; i++)
		ev4(a, 1, TM_DIR_IN, i, 1);
	assert_true(user_get(a, 1, &u));
	assert_int_equal(u.npeers, AGG_DEFAULT_PEERS);
	n = peers(a, 1, &p);
	assert_int_equal(n, AGG_DEFAULT_PEERS + 1);
	assert_int_equal(other_of(p, n)->folded, 5000 - AGG_DEFAULT_PEERS);
	free(p);
	agg_free(a);
	agg_free(NULL);
}

/* A peer seen again after the count is full is not "more" peers. */
static void test_fold_count_exact_at_bound(void **state)
{
	struct agg *a = new_agg((struct agg_config){ .peers_per_owner = 1 });
	struct snap_peer *p;
	size_t n;

	ev4(a, 1, TM_DIR_IN, 0xffffffff, 1);	/* the one exact peer */
	for (uint32_t i = 0; i < AGG_FOLD_MAX; i++)
		ev4(a, 1, TM_DIR_IN, i, 1);
	n = peers(a, 1, &p);
	assert_int_equal(p[n - 1].folded, AGG_FOLD_MAX);
	assert_false(p[n - 1].folded_more);
	free(p);
	ev4(a, 1, TM_DIR_IN, 17, 1);		/* again: still exactly AGG_FOLD_MAX */
	n = peers(a, 1, &p);
	assert_int_equal(p[n - 1].folded, AGG_FOLD_MAX);
	assert_false(p[n - 1].folded_more);
	free(p);
	ev4(a, 1, TM_DIR_IN, AGG_FOLD_MAX, 1);	/* one more */
	n = peers(a, 1, &p);
	assert_int_equal(p[n - 1].folded, AGG_FOLD_MAX);
	assert_true(p[n - 1].folded_more);
	assert_int_equal(p[n - 1].bytes[TM_DIR_IN], AGG_FOLD_MAX + 2);
	free(p);
	agg_free(a);
}

/* A table 90 % full folds its idle peers into "other" at sample time to make room. */
static void test_idle_peers_folded(void **state)
{
	struct agg *a = new_agg((struct agg_config){ .window_ns = 2 * SEC, .peers_per_owner = 10,
						     .peer_idle_ns = 5 * SEC });
	uint64_t sum[2] = { 0 }, pk[2] = { 0 }, got[2], gotp[2], t = SEC;
	const struct snap_peer *o;
	struct snap_peer *p;
	struct snapshot s;
	size_t n;

	agg_counters(a, t, NULL, 0);
	/* Eight peers (80 %): however idle, nothing is folded. */
	for (uint32_t i = 0; i < 8; i++) {
		ev4(a, 1, TM_DIR_OUT, 0x0a000000 + i, 1000 + i);
		sum[TM_DIR_OUT] += 1000 + i;
		pk[TM_DIR_OUT]++;
	}
	for (int i = 0; i < 40; i++) {
		t += TICK;
		agg_counters(a, t, NULL, 0);
	}
	n = peers(a, 1, &p);
	assert_int_equal(n, 8);
	free(p);

	/* A ninth peer (90 %), busy: the eight idle ones go, it stays. */
	for (int i = 0; i < 8; i++) {
		ev4(a, 1, TM_DIR_IN, 0x0b000000, 500);
		sum[TM_DIR_IN] += 500;
		pk[TM_DIR_IN]++;
		t += TICK;
		agg_counters(a, t, NULL, 0);
	}
	n = peers(a, 1, &p);
	assert_int_equal(n, 2);
	assert_non_null(find_v4(p, n, 0x0b000000));
	o = other_of(p, n);
	assert_non_null(o);
	assert_int_equal(o->folded, 8);
	assert_int_equal(o->bytes[TM_DIR_OUT], 8 * 1000 + 28);
	assert_int_equal(o->packets[TM_DIR_OUT], 8);
	/* Folding is not traffic: the other row shows no rate for it. */
	assert_true(o->rate[0] == 0 && o->rate[1] == 0);
	sum_peers(p, n, got, gotp);
	assert_memory_equal(got, sum, sizeof(sum));
	assert_memory_equal(gotp, pk, sizeof(pk));
	free(p);
	totals(a, &s);
	assert_int_equal(s.stats.peers_folded, 8);

	/* A folded peer that comes back is a new exact row; the sums still add up. */
	ev4(a, 1, TM_DIR_OUT, 0x0a000003, 7);
	sum[TM_DIR_OUT] += 7;
	pk[TM_DIR_OUT]++;
	n = peers(a, 1, &p);
	assert_int_equal(n, 3);
	assert_int_equal(find_v4(p, n, 0x0a000003)->bytes[TM_DIR_OUT], 7);
	sum_peers(p, n, got, gotp);
	assert_memory_equal(got, sum, sizeof(sum));
	assert_memory_equal(gotp, pk, sizeof(pk));
	free(p);
	agg_free(a);
}

/* A full table whose peers are all busy has nothing to fold, and no empty "other" row. */
static void test_full_busy_table_no_other(void **state)
{
	struct agg *a = new_agg((struct agg_config){ .window_ns = 2 * SEC, .peers_per_owner = 4,
						     .peer_idle_ns = 1 * SEC });
	struct snap_peer *p;
	uint64_t t = SEC;
	size_t n;

	for (int i = 0; i < 20; i++) {
		for (uint32_t k = 0; k < 4; k++)
			ev4(a, 1, TM_DIR_OUT, 0x0a000000 + k, 10);
		t += TICK;
		agg_counters(a, t, NULL, 0);
	}
	n = peers(a, 1, &p);
	assert_int_equal(n, 4);
	assert_null(other_of(p, n));
	free(p);
	agg_free(a);
}

/* The other row's rate is its own traffic's: peers folded into it do not make it jump. */
static void test_other_rate_steady_through_fold(void **state)
{
	struct agg *a = new_agg((struct agg_config){ .window_ns = 2 * SEC, .peers_per_owner = 4,
						     .peer_idle_ns = 3 * SEC });
	const struct snap_peer *o;
	struct snap_peer *p;
	uint64_t t = SEC;
	uint32_t next = 0x0c000000;
	int folded_at = -1;
	size_t n;

	/* Four exact peers with a megabyte each, then silent. */
	for (uint32_t k = 0; k < 4; k++)
		ev4(a, 1, TM_DIR_IN, 0x0a000000 + k, 1000000);
	/* Past the bound, a stream of new peers at 4000 B/s in total goes to "other". */
	for (int i = 0; i < 40; i++) {
		for (int k = 0; k < 10; k++)
			ev4(a, 1, TM_DIR_IN, next++, 100);
		t += TICK;
		agg_counters(a, t, NULL, 0);
		if (i < 8)
			continue;
		n = peers(a, 1, &p);
		o = other_of(p, n);
		assert_non_null(o);
		if (folded_at < 0 && o->bytes[TM_DIR_IN] > 4000000) {
			/* The idle four went in at this sample: four megabytes, and no jump. */
			folded_at = i;
			assert_int_equal(n, 1);
			assert_int_equal(o->folded, 4 + 10 * (i + 1));
		}
		/* Until then the rate is the stream's; after it, new peers take the free rows
		 * for a while, so it may dip, but it never jumps. */
		if (folded_at < 0 || i == folded_at)
			assert_near(o->rate[TM_DIR_IN], 4000.0);
		else
			assert_true(o->rate[TM_DIR_IN] > 3000 && o->rate[TM_DIR_IN] < 4040);
		free(p);
	}
	assert_true(folded_at > 8 && folded_at < 20);
	agg_free(a);
}

/* Traffic of a socket in another network namespace keeps that namespace with the peer. */
static void test_peer_netns(void **state)
{
	struct agg *a = agg_window(0);
	uint8_t addr[4] = { 10, 0, 0, 1 };
	struct traffic_record r;
	struct snap_peer *p;
	const struct snap_peer *q;
	size_t n;

	r = rec4(1, TM_DIR_OUT, 0x0a000001, 10);
	r.netns = 4026531840u;		/* the host's: not foreign, shown as 0 */
	agg_event(a, &r);
	r.netns = 4026532000u;
	r.foreign_netns = true;
	r.bytes = 20;
	agg_event(a, &r);
	agg_event(a, &r);
	r.netns = 4026532001u;
	r.bytes = 40;
	agg_event(a, &r);

	n = peers(a, 1, &p);
	assert_int_equal(n, 3);		/* one address, three namespaces: three peers */
	q = find_peer(p, n, TM_AF_INET, addr, 0);
	assert_non_null(q);
	assert_int_equal(q->bytes[TM_DIR_OUT], 10);
	q = find_peer(p, n, TM_AF_INET, addr, 4026532000u);
	assert_non_null(q);
	assert_int_equal(q->bytes[TM_DIR_OUT], 40);
	assert_int_equal(q->packets[TM_DIR_OUT], 2);
	q = find_peer(p, n, TM_AF_INET, addr, 4026532001u);
	assert_non_null(q);
	assert_int_equal(q->bytes[TM_DIR_OUT], 40);
	free(p);
	agg_free(a);
}

/* ---- processes and connections ----------------------------------------------------------- */

struct unit_calls {
	int n;
	uint64_t last_id;
};

static const char *fake_unit(void *ctx, uint64_t id, const char *path, char *buf, size_t len)
{
	struct unit_calls *c = ctx;

	c->n++;
	c->last_id = id;
	return cgroup_unit_name(path, buf, len);
}

static struct traffic_record recp(tm_owner_t owner, int dir, uint32_t peer, uint32_t bytes,
				  uint8_t proto, uint16_t lport, uint16_t rport,
				  const struct proc_ident *pi)
{
	struct traffic_record r = rec4(owner, dir, peer, bytes);

	r.proto = proto;
	r.sport = dir == TM_DIR_OUT ? lport : rport;
	r.dport = dir == TM_DIR_OUT ? rport : lport;
	r.proc = pi;
	return r;
}

static void test_procs_and_conns(void **state)
{
	struct unit_calls uc = { 0 };
	struct agg *a = new_agg((struct agg_config){ .window_ns = 2 * SEC, .unit = fake_unit,
						     .unit_ctx = &uc });
	struct proc_ident curl = { .tgid = 100, .comm = "curl", .cgroup_id = 7,
				   .cgroup = "/user.slice/user-1000.slice/user@1000.service/"
					     "app.slice/foo.scope" };
	struct proc_ident nginx = { .tgid = 200, .comm = "nginx", .cgroup_id = 8,
				    .cgroup = "/system.slice/nginx.service" };
	uint64_t sum[2] = { 0 };
	const struct snap_proc *q;
	struct snap_proc *v;
	struct snap_conn *c;
	struct traffic_record r;
	struct snap_user u;
	size_t n;

#define EV(...)                                     \
	do {                                        \
		r = recp(__VA_ARGS__);              \
		agg_event(a, &r);                   \
		sum[r.direction] += r.bytes;        \
	} while (0)
	EV(1000, TM_DIR_OUT, 0x5db8d822, 100, 6, 40000, 443, &curl);
	EV(1000, TM_DIR_IN, 0x5db8d822, 1500, 6, 40000, 443, &curl);
	EV(1000, TM_DIR_IN, 0x5db8d822, 1500, 6, 40000, 443, &curl);
	EV(1000, TM_DIR_OUT, 0x08080808, 60, 17, 5353, 53, &curl);
	EV(1000, TM_DIR_IN, 0x0a000005, 400, 6, 80, 51000, &nginx);
	EV(1000, TM_DIR_OUT, 0x0a000005, 9000, 6, 80, 51000, &nginx);
	EV(1000, TM_DIR_OUT, 0x01010101, 77, 1, 0, 0, NULL);	/* creator unknown */

	n = procs(a, 1000, &v);
	assert_int_equal(n, 3);
	q = find_proc(v, n, 100, false);
	assert_non_null(q);
	assert_int_equal(q->owner, 1000);
	assert_string_equal(q->comm, "curl");
	assert_string_equal(q->unit, "foo.scope");
	assert_int_equal(q->cgroup_id, 7);
	assert_int_equal(q->bytes[TM_DIR_IN], 3000);
	assert_int_equal(q->bytes[TM_DIR_OUT], 160);
	assert_int_equal(q->packets[TM_DIR_IN], 2);
	assert_int_equal(q->nconns, 2);
	assert_false(q->exited);
	q = find_proc(v, n, 200, false);
	assert_string_equal(q->unit, "nginx.service");
	assert_int_equal(q->bytes[TM_DIR_OUT], 9000);
	q = find_proc(v, n, 0, false);
	assert_non_null(q);
	assert_string_equal(q->comm, "(unknown)");
	assert_false(q->exited);
	assert_int_equal(q->bytes[TM_DIR_OUT], 77);
	/* Rows add up to the owner's events. */
	for (size_t i = 0; i < n; i++)
		for (int d = 0; d < 2; d++)
			sum[d] -= v[i].bytes[d];
	assert_true(sum[0] == 0 && sum[1] == 0);
	free(v);
	/* A unit name is looked up once per process, not per packet. */
	assert_int_equal(uc.n, 2);
	assert_true(user_get(a, 1000, &u));
	assert_int_equal(u.nprocs, 3);

	/* curl's connections: local port, remote port and address, protocol, exact sums. */
	assert_int_equal(agg_export_conns(a, 1000, 100, &c, &n), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		if (c[i].proto == 6) {
			assert_int_equal(c[i].family, TM_AF_INET);
			assert_int_equal(c[i].lport, 40000);
			assert_int_equal(c[i].rport, 443);
			assert_memory_equal(c[i].addr, ((uint8_t[4]){ 93, 184, 216, 34 }), 4);
			assert_int_equal(c[i].bytes[TM_DIR_IN], 3000);
			assert_int_equal(c[i].bytes[TM_DIR_OUT], 100);
			assert_int_equal(c[i].packets[TM_DIR_IN], 2);
		} else {
			assert_int_equal(c[i].proto, 17);
			assert_int_equal(c[i].lport, 5353);
			assert_int_equal(c[i].rport, 53);
			assert_int_equal(c[i].bytes[TM_DIR_OUT], 60);
		}
		assert_int_equal(c[i].folded, 0);
	}
	free(c);
	/* nginx's: lport is its own (80) whichever way the packet went. */
	assert_int_equal(agg_export_conns(a, 1000, 200, &c, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(c[0].lport, 80);
	assert_int_equal(c[0].rport, 51000);
	assert_int_equal(c[0].bytes[TM_DIR_IN], 400);
	assert_int_equal(c[0].bytes[TM_DIR_OUT], 9000);
	free(c);
	/* The unknown creator's connections are still listed under tgid 0. */
	assert_int_equal(agg_export_conns(a, 1000, 0, &c, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(c[0].proto, 1);
	free(c);
	assert_int_equal(agg_export_conns(a, 1000, 999, &c, &n), -ENOENT);
	assert_int_equal(agg_export_conns(a, 4242, 100, &c, &n), -ENOENT);

	/* Every owner's processes; an unknown owner has none. */
	EV(2000, TM_DIR_OUT, 0x01010101, 1, 17, 1, 2, &nginx);
	assert_int_equal(agg_export_procs(a, NULL, &v, &n), 0);
	assert_int_equal(n, 4);
	free(v);
	assert_int_equal(agg_export_procs(a, &(tm_owner_t){ 4242 }, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
#undef EV
	agg_free(a);
}

/* A process that execs keeps its pid and shows its new command (and cgroup). */
static void test_comm_after_exec(void **state)
{
	struct unit_calls uc = { 0 };
	struct agg *a = new_agg((struct agg_config){ .unit = fake_unit, .unit_ctx = &uc });
	struct proc_ident pi = { .tgid = 300, .comm = "bash", .cgroup_id = 5,
				 .cgroup = "/user.slice/user-1000.slice/session-3.scope" };
	struct traffic_record r = recp(1, TM_DIR_OUT, 0x01020304, 10, 6, 1, 2, &pi);
	struct snap_proc *v;
	size_t n;

	agg_event(a, &r);
	agg_event(a, &r);
	snprintf(pi.comm, sizeof(pi.comm), "curl");
	agg_event(a, &r);
	n = procs(a, 1, &v);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].comm, "curl");
	assert_string_equal(v[0].unit, "session-3.scope");
	assert_int_equal(v[0].bytes[TM_DIR_OUT], 30);
	free(v);
	/* Moved to another cgroup: the unit follows. */
	pi.cgroup_id = 9;
	pi.cgroup = "/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef.scope";
	agg_event(a, &r);
	n = procs(a, 1, &v);
	assert_string_equal(v[0].unit, "docker:0123456789ab");
	assert_int_equal(v[0].cgroup_id, 9);
	free(v);
	assert_int_equal(uc.n, 3);
	assert_int_equal(uc.last_id, 9);
	agg_free(a);
}

/* Past the bounds: an "(unknown)" process row and an "other" connection row, sums exact. */
static void test_proc_conn_bounds(void **state)
{
	struct agg *a = new_agg((struct agg_config){ .procs_per_owner = 2, .max_procs = 3 });
	struct proc_ident pi[5];
	uint64_t sum = 0, got = 0;
	const struct snap_proc *q;
	struct snap_proc *v;
	struct snap_conn *c;
	struct traffic_record r;
	size_t n;

	for (int i = 0; i < 5; i++) {
		pi[i] = (struct proc_ident){ .tgid = 10 + i, .cgroup = "" };
		snprintf(pi[i].comm, sizeof(pi[i].comm), "p%d", i);
	}
	/* Owner 1: four processes, only two fit; the rest count under "(unknown)". */
	for (int i = 0; i < 4; i++) {
		r = recp(1, TM_DIR_OUT, 0x0a000000 + i, 100 + i, 6, 1000 + i, 80, &pi[i]);
		agg_event(a, &r);
		sum += r.bytes;
	}
	n = procs(a, 1, &v);
	assert_int_equal(n, 3);
	assert_non_null(find_proc(v, n, 10, false));
	assert_non_null(find_proc(v, n, 11, false));
	q = find_proc(v, n, 0, false);
	assert_non_null(q);
	assert_string_equal(q->comm, "(unknown)");
	assert_int_equal(q->bytes[TM_DIR_OUT], 102 + 103);
	assert_int_equal(q->nconns, 2);
	for (size_t i = 0; i < n; i++)
		got += v[i].bytes[TM_DIR_OUT];
	assert_int_equal(got, sum);
	free(v);
	/* Owner 2 meets the global bound (two processes and owner 1's unknown row are three). */
	r = recp(2, TM_DIR_OUT, 0x0b000000, 5, 6, 1, 2, &pi[4]);
	agg_event(a, &r);
	n = procs(a, 2, &v);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].tgid, 0);
	assert_string_equal(v[0].comm, "(unknown)");
	assert_int_equal(v[0].bytes[TM_DIR_OUT], 5);
	free(v);
	agg_free(a);

	/* Connections: two per process, three in all. */
	a = new_agg((struct agg_config){ .conns_per_proc = 2, .max_conns = 3 });
	for (int k = 0; k < 3; k++) {
		r = recp(1, TM_DIR_IN, 0x0c000000 + k, 1000, 17, 5000 + k, 53, &pi[0]);
		agg_event(a, &r);
		agg_event(a, &r);
	}
	assert_int_equal(agg_export_conns(a, 1, 10, &c, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(c[2].family, 0);	/* "other" last */
	assert_int_equal(c[2].folded, 1);
	assert_int_equal(c[2].bytes[TM_DIR_IN], 2000);
	assert_int_equal(c[2].packets[TM_DIR_IN], 2);
	assert_int_equal(c[0].bytes[TM_DIR_IN] + c[1].bytes[TM_DIR_IN], 4000);
	free(c);
	n = procs(a, 1, &v);
	assert_int_equal(v[0].nconns, 2);
	assert_int_equal(v[0].bytes[TM_DIR_IN], 6000);
	free(v);
	/* Process 11 meets the global bound after one connection. */
	for (int k = 0; k < 3; k++) {
		r = recp(1, TM_DIR_IN, 0x0d000000 + k, 9, 17, 1, 2, &pi[1]);
		agg_event(a, &r);
	}
	assert_int_equal(agg_export_conns(a, 1, 11, &c, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(c[0].family, TM_AF_INET);
	assert_int_equal(c[1].family, 0);
	assert_int_equal(c[1].folded, 2);
	assert_int_equal(c[1].bytes[TM_DIR_IN], 18);
	free(c);
	agg_free(a);
}

/* The process rows of an owner add up to the sums of its events. */
static void expect_proc_sums(struct agg *a, tm_owner_t owner, const uint64_t sum[2])
{
	uint64_t got[2] = { 0 };
	struct snap_proc *v;
	size_t n = procs(a, owner, &v);

	for (size_t i = 0; i < n; i++)
		for (int d = 0; d < 2; d++)
			got[d] += v[i].bytes[d];
	free(v);
	assert_int_equal(got[0], sum[0]);
	assert_int_equal(got[1], sum[1]);
}

/*
 * A process that exited stays until its rate falls to 0, then is folded into the owner's
 * "(exited)" row: the rows still add up to the owner's events.
 */
static void test_proc_exit(void **state)
{
	struct life life = { 0 };
	struct agg *a = new_agg((struct agg_config){ .window_ns = 2 * SEC, .alive = fake_alive,
						     .alive_ctx = &life });
	struct proc_ident p1 = { .tgid = 41, .comm = "wget", .cgroup = "" };
	struct proc_ident p2 = { .tgid = 42, .comm = "ssh", .cgroup = "" };
	struct proc_ident p3 = { .tgid = 43, .comm = "scp", .cgroup = "" };
	uint64_t sum[2] = { 0 }, t = 10 * SEC;
	const struct snap_proc *q = NULL;
	struct snap_proc *v;
	struct snap_conn *c;
	struct traffic_record r;
	struct snap_user u;
	int calls;
	size_t n;

#define EV(...)                                     \
	do {                                        \
		r = recp(__VA_ARGS__);              \
		agg_event(a, &r);                   \
		sum[r.direction] += r.bytes;        \
	} while (0)
	agg_counters(a, t, NULL, 0);
	for (int i = 0; i < 12; i++) {
		EV(1, TM_DIR_IN, 0x01010101, 1000, 6, 1, 2, &p1);
		EV(1, TM_DIR_OUT, 0x02020202, 50, 6, 3, 4, &p2);
		t += TICK;
		agg_counters(a, t, NULL, 0);
	}
	/* Probed now and then (every 2 s), not at every sample. */
	assert_int_equal(life.calls, 2);	/* once, at 12 s: two processes */
	expect_proc_sums(a, 1, sum);

	/* wget exits while it still has a rate: once probed it is marked, and it stays. */
	life.dead[life.ndead++] = 41;
	calls = life.calls;
	for (int i = 0; i < 12 && life.calls == calls; i++) {
		EV(1, TM_DIR_IN, 0x01010101, 1000, 6, 1, 2, &p1);
		EV(1, TM_DIR_OUT, 0x02020202, 50, 6, 3, 4, &p2);
		t += TICK;
		agg_counters(a, t, NULL, 0);
	}
	n = procs(a, 1, &v);
	assert_int_equal(n, 2);
	q = find_proc(v, n, 41, false);
	assert_non_null(q);
	assert_true(q->exited);
	assert_string_equal(q->comm, "wget");
	assert_true(q->rate[TM_DIR_IN] > 0);
	q = find_proc(v, n, 42, false);
	assert_false(q->exited);
	free(v);
	expect_proc_sums(a, 1, sum);

	/* Its rate falls to 0: folded into "(exited)", the others untouched. */
	for (int i = 0; i < 12; i++) {
		EV(1, TM_DIR_OUT, 0x02020202, 50, 6, 3, 4, &p2);
		t += TICK;
		agg_counters(a, t, NULL, 0);
	}
	n = procs(a, 1, &v);
	assert_int_equal(n, 2);
	assert_null(find_proc(v, n, 41, false));
	q = find_proc(v, n, 0, true);
	assert_non_null(q);
	assert_string_equal(q->comm, "(exited)");
	assert_true(q->exited);
	assert_int_equal(q->nfolded, 1);
	assert_int_equal(q->owner, 1);
	assert_int_equal(q->bytes[TM_DIR_IN], sum[TM_DIR_IN]);
	assert_int_equal(q->bytes[TM_DIR_OUT], 0);
	assert_int_equal(q->packets[TM_DIR_IN], sum[TM_DIR_IN] / 1000);
	assert_true(q->rate[0] == 0 && q->rate[1] == 0);	/* folding is not traffic */
	free(v);
	expect_proc_sums(a, 1, sum);
	assert_int_equal(agg_export_conns(a, 1, 41, &c, &n), -ENOENT);
	assert_true(user_get(a, 1, &u));
	assert_int_equal(u.nprocs, 1);	/* the live ones; "(exited)" is a summary row */

	/* A second one joins the same row; a short-lived one too. */
	life.dead[life.ndead++] = 42;
	EV(1, TM_DIR_OUT, 0x03030303, 5, 17, 7, 8, &p3);
	life.dead[life.ndead++] = 43;
	for (int i = 0; i < 24; i++) {
		t += TICK;
		agg_counters(a, t, NULL, 0);
	}
	n = procs(a, 1, &v);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].nfolded, 3);
	assert_int_equal(v[0].tgid, 0);
	free(v);
	expect_proc_sums(a, 1, sum);

	/* A new process with a reused pid starts afresh. */
	life.ndead = 0;
	EV(1, TM_DIR_OUT, 0x03030303, 6, 17, 7, 8, &p3);
	n = procs(a, 1, &v);
	assert_int_equal(n, 2);
	q = find_proc(v, n, 43, false);
	assert_non_null(q);
	assert_false(q->exited);
	assert_int_equal(q->bytes[TM_DIR_OUT], 6);
	free(v);
	expect_proc_sums(a, 1, sum);
#undef EV
	agg_free(a);
}

/* ---- eviction ---------------------------------------------------------------------------- */

static void test_pick_idle(void **state)
{
	struct agg *a = agg_window(2 * SEC);
	struct owner_total t[4];
	tm_owner_t out[8];
	uint64_t now = SEC;

	/* Owner k (1..3) stops moving after k seconds; owner 4 never stops. */
	for (uint64_t s = 0; s <= 40; s++, now += TICK) {
		for (int k = 0; k < 4; k++) {
			uint64_t stop = (uint64_t)(k + 1) * 4;
			uint64_t steps = k == 3 || s < stop ? s : stop;

			t[k] = tot(k + 1, steps * 10 + 1, 1);
		}
		agg_counters(a, now, t, 4);
	}
	now -= TICK;	/* the last sample: 11 s; idle 9, 8, 7 and 0 s */
	assert_int_equal(agg_pick_idle(a, now, 5 * SEC, false, 8, out), 3);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 2);
	assert_int_equal(out[2], 3);
	assert_int_equal(agg_pick_idle(a, now, 5 * SEC, false, 2, out), 2);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 2);
	assert_int_equal(agg_pick_idle(a, now, 8500 * MS, false, 8, out), 1);
	assert_int_equal(out[0], 1);
	assert_int_equal(agg_pick_idle(a, now, 100 * SEC, false, 8, out), 0);
	assert_int_equal(agg_pick_idle(a, now, 0, false, 8, out), 4);
	assert_int_equal(out[3], 4);
	assert_int_equal(agg_pick_idle(a, now, 0, false, 0, out), 0);
	agg_free(a);

	/* Ties go by owner, the same way every time. */
	a = agg_window(2 * SEC);
	agg_counters(a, SEC, (struct owner_total[]){ tot(77, 1, 1), tot(3, 1, 1),
						      tot(NOSOCK, 1, 1) }, 3);
	for (int rep = 0; rep < 3; rep++) {
		assert_int_equal(agg_pick_idle(a, 10 * SEC, SEC, false, 8, out), 3);
		assert_int_equal(out[0], 3);
		assert_int_equal(out[1], 77);
		assert_int_equal(out[2], NOSOCK);
	}
	agg_free(a);
	/* An empty table has nobody to pick. */
	a = agg_window(0);
	assert_int_equal(agg_pick_idle(a, 10 * SEC, 0, false, 8, out), 0);
	agg_free(a);
}

/*
 * To make room in the kernel's table only owners the last sample saw there are worth evicting:
 * not one known from events alone, nor one whose kernel entry is gone already.
 */
static void test_pick_idle_in_kernel(void **state)
{
	struct agg *a = agg_window(2 * SEC);
	tm_owner_t out[8];

	agg_counters(a, SEC, (struct owner_total[]){ tot(1, 5, 5), tot(2, 5, 5) }, 2);
	ev4(a, 3, TM_DIR_OUT, 0x01010101, 10);		/* events only */
	agg_counters(a, 2 * SEC, (struct owner_total[]){ tot(2, 5, 5) }, 1);	/* 1 is gone */
	assert_int_equal(agg_pick_idle(a, 20 * SEC, SEC, false, 8, out), 3);
	assert_int_equal(agg_pick_idle(a, 20 * SEC, SEC, true, 8, out), 1);
	assert_int_equal(out[0], 2);
	agg_free(a);
}

/*
 * Reads closer than a slot's minimum gap share a slot (the engine reads every 250 ms, and at
 * once when its table fills). An owner evicted from the kernel after one read is no candidate
 * at the next until a read lists it again: picking it again wasted the eviction on an entry
 * already gone while the table filled up (a flood of new uids overflowed it).
 */
static void test_pick_idle_after_kernel_eviction(void **state)
{
	struct agg *a = agg_window(2 * SEC);
	struct owner_total t[3] = { tot(1, 5, 5), tot(2, 5, 5), tot(3, 5, 5) };
	tm_owner_t out[8];

	agg_counters(a, SEC, t, 3);
	agg_counters(a, SEC + 250 * MS, t, 3);
	assert_int_equal(agg_pick_idle(a, 2 * SEC, 0, true, 1, out), 1);
	assert_int_equal(out[0], 1);
	agg_kernel_gone(a, &t[0]);
	/* the next read, in the same slot, lists 2 and 3 only: 2 is the idlest candidate */
	agg_counters(a, SEC + 300 * MS, &t[1], 2);
	assert_int_equal(agg_pick_idle(a, 2 * SEC, 0, true, 1, out), 1);
	assert_int_equal(out[0], 2);
	assert_int_equal(agg_pick_idle(a, 2 * SEC, 0, true, 8, out), 2);
	/* back in the table, a candidate again */
	agg_counters(a, SEC + 350 * MS, (struct owner_total[]){ tot(1, 1, 0), t[1], t[2] }, 3);
	assert_int_equal(agg_pick_idle(a, 2 * SEC, 0, true, 8, out), 3);
	agg_free(a);
}

static void expect_totals_at_least(struct agg *a, uint64_t prev[4], uint64_t want_in,
				   uint64_t want_out)
{
	struct snapshot s;

	totals(a, &s);
	assert_true(s.totals.bytes[0] >= prev[0] && s.totals.bytes[1] >= prev[1]);
	assert_true(s.totals.packets[0] >= prev[2] && s.totals.packets[1] >= prev[3]);
	if (want_in || want_out) {
		assert_int_equal(s.totals.bytes[0], want_in);
		assert_int_equal(s.totals.bytes[1], want_out);
	}
	prev[0] = s.totals.bytes[0];
	prev[1] = s.totals.bytes[1];
	prev[2] = s.totals.packets[0];
	prev[3] = s.totals.packets[1];
}

static void test_evict_ledger(void **state)
{
	struct agg *a = agg_window(2 * SEC);
	struct owner_total t[2] = { tot(1, 1000, 2000), tot(2, 500, 600) }, fin;
	uint64_t prev[4] = { 0 };
	struct snapshot s;
	struct snap_user u;

	agg_counters(a, SEC, t, 2);
	expect_totals_at_least(a, prev, 1500, 2600);

	/* The kernel's entry goes with a little more than the last read; then the live one. */
	fin = tot(1, 1100, 2100);
	agg_kernel_gone(a, &fin);
	expect_totals_at_least(a, prev, 1600, 2700);
	agg_evict(a, 1);
	assert_false(user_get(a, 1, &u));
	assert_int_equal(agg_count(a), 1);
	expect_totals_at_least(a, prev, 1600, 2700);
	totals(a, &s);
	assert_int_equal(s.stats.evicted, 1);
	assert_int_equal(s.stats.kernel_evicted, 1);
	assert_int_equal(s.stats.forgotten, 0);
	assert_int_equal(s.stats.users, 1);
	/* The ledger, for the exit summary: the evicted owner as an idle user, its totals. */
	assert_int_equal(agg_ledger_count(a), 1);
	assert_int_equal(agg_export_ledger(a, &u, 1), 1);
	assert_int_equal(u.owner, 1);
	assert_int_equal(u.bytes[0], 1100);
	assert_int_equal(u.bytes[1], 2100);
	assert_int_equal(u.packets[0], 11);
	assert_true(u.idle_s < 0);
	assert_false(u.has_rate);
	assert_int_equal(agg_export_ledger(a, &u, 0), 0);

	/* Samples without it change nothing. */
	agg_counters(a, 2 * SEC, &t[1], 1);
	expect_totals_at_least(a, prev, 1600, 2700);

	/* It comes back with a new kernel entry: its totals resume from what it had. */
	t[0] = tot(1, 50, 60);
	agg_counters(a, 3 * SEC, t, 2);
	assert_true(user_get(a, 1, &u));
	assert_int_equal(u.bytes[0], 1150);
	assert_int_equal(u.bytes[1], 2160);
	assert_int_equal(u.packets[0], 11 + 0);
	assert_int_equal(agg_ledger_count(a), 0);	/* back in the live table */
	expect_totals_at_least(a, prev, 1650, 2760);
	/* ... and keeps counting. */
	t[0] = tot(1, 150, 60);
	agg_counters(a, 4 * SEC, t, 2);
	assert_true(user_get(a, 1, &u));
	assert_int_equal(u.bytes[0], 1250);
	expect_totals_at_least(a, prev, 1750, 2760);

	/* An owner seen only by events is evicted with its sums, and comes back with them. */
	ev4(a, 9, TM_DIR_OUT, 1, 300);
	expect_totals_at_least(a, prev, 1750, 3060);
	agg_evict(a, 9);
	expect_totals_at_least(a, prev, 1750, 3060);
	ev4(a, 9, TM_DIR_OUT, 1, 5);
	assert_true(user_get(a, 9, &u));
	assert_int_equal(u.bytes[TM_DIR_OUT], 300);	/* counted: only the kernel adds now */
	agg_counters(a, 5 * SEC, (struct owner_total[]){ tot(9, 0, 5) }, 1);
	assert_true(user_get(a, 9, &u));
	assert_int_equal(u.bytes[TM_DIR_OUT], 305);

	/* Evicting an unknown owner, or twice, is harmless. */
	agg_evict(a, 4242);
	agg_kernel_gone(a, &(struct owner_total){ .owner = 4242 });
	expect_totals_at_least(a, prev, 0, 0);
	agg_free(a);
}

/* More evicted owners than the ledger holds: the oldest are forgotten, totals hold anyway. */
static void test_ledger_overflow(void **state)
{
	struct agg *a = new_agg((struct agg_config){ .window_ns = 2 * SEC, .max_ledger = 2 });
	uint64_t prev[4] = { 0 };
	struct snapshot s;
	struct snap_user u;

	for (int i = 1; i <= 4; i++)
		agg_counters(a, i * SEC,
			     (struct owner_total[]){ tot(1, 1000, 10), tot(2, 2000, 10),
						     tot(3, 3000, 10), tot(4, 4000, 10) }, 4);
	expect_totals_at_least(a, prev, 10000, 40);
	/* As the engine does it: the kernel's entry goes, then the live one. */
	for (int k = 1; k <= 4; k++) {
		agg_kernel_gone(a, &(struct owner_total){ .owner = (tm_owner_t)k,
							  .bytes = { 1000 * k, 10 },
							  .packets = { 10 * k, 0 } });
		agg_evict(a, k);
		expect_totals_at_least(a, prev, 10000, 40);
	}
	totals(a, &s);
	assert_int_equal(s.stats.users, 0);
	assert_int_equal(s.stats.evicted, 4);
	assert_int_equal(s.stats.forgotten, 2);
	/* The ledger holds the newest two, oldest first. */
	{
		struct snap_user l[4];

		assert_int_equal(agg_ledger_count(a), 2);
		assert_int_equal(agg_export_ledger(a, l, 4), 2);
		assert_int_equal(l[0].owner, 3);
		assert_int_equal(l[0].bytes[0], 3000);
		assert_int_equal(l[1].owner, 4);
		assert_int_equal(agg_export_ledger(a, l, 1), 1);
	}

	/* A forgotten owner restarts at 0; a remembered one resumes; the header never drops. */
	sample1(a, 10 * SEC, 1, 5, 0);
	assert_true(user_get(a, 1, &u));
	assert_int_equal(u.bytes[0], 5);
	expect_totals_at_least(a, prev, 10005, 40);
	sample1(a, 11 * SEC, 4, 5, 0);
	assert_true(user_get(a, 4, &u));
	assert_int_equal(u.bytes[0], 4005);
	expect_totals_at_least(a, prev, 10010, 40);
	/* Evict again: the one that came back takes its place in the ledger. */
	agg_evict(a, 1);
	agg_evict(a, 4);
	expect_totals_at_least(a, prev, 10010, 40);
	totals(a, &s);
	assert_int_equal(s.stats.forgotten, 3);
	agg_free(a);
}

/* ---- the sparkline's history ------------------------------------------------------------- */

/*
 * A model of what the spark must show: bytes per whole second, each sample's growth put in
 * the second it was taken in, and point i the mean of the two seconds it covers.
 */
struct spark_model {
	uint64_t base;			/* first second */
	double per_sec[400];
	uint64_t last;			/* bytes at the last sample */
};

static void model_sample(struct spark_model *m, struct agg *a, uint64_t t, uint64_t bytes)
{
	m->per_sec[t / SEC - m->base] += (double)(bytes - m->last);
	m->last = bytes;
	sample1(a, t, 1, bytes, 0);
}

static void expect_spark(const struct spark_model *m, struct agg *a, uint64_t t_last)
{
	uint64_t sec = t_last / SEC;
	struct snap_user u;

	assert_true(user_get(a, 1, &u));
	for (int i = 0; i < SNAP_SPARK; i++) {
		uint64_t s0 = sec - SNAP_SPARK * SNAP_SPARK_STEP + (uint64_t)i * SNAP_SPARK_STEP;
		double want = 0;

		for (int j = 0; j < SNAP_SPARK_STEP; j++)
			if (s0 + j >= m->base)
				want += m->per_sec[s0 + j - m->base];
		want /= SNAP_SPARK_STEP;
		if (u.spark[i] < want - 0.5 || u.spark[i] > want + 0.5)
			fail_msg("point %d: %f, want %f", i, u.spark[i], want);
	}
}

static void test_spark_steady_and_stall(void **state)
{
	struct agg *a = agg_window(2 * SEC);
	struct spark_model m = { .base = 1000 };
	struct snap_user u;
	uint64_t t = 1000 * SEC, bytes = 0;

	/* 4000 B/s for two minutes, sampled 4 times a second: every point is 4000. */
	for (int i = 0; i < 480; i++, t += TICK, bytes += 1000)
		model_sample(&m, a, t, bytes);
	assert_true(user_get(a, 1, &u));
	for (int i = 0; i < SNAP_SPARK; i++)
		if (u.spark[i] < 3999 || u.spark[i] > 4001)
			fail_msg("point %d of a steady 4000 B/s is %f", i, u.spark[i]);
	expect_spark(&m, a, t - TICK);

	/* The traffic stops for 20 s (samples go on): the newest points are 0. */
	bytes -= 1000;
	for (int i = 0; i < 80; i++, t += TICK)
		model_sample(&m, a, t, bytes);
	expect_spark(&m, a, t - TICK);
	assert_true(user_get(a, 1, &u));
	assert_true(u.spark[0] > 3999 && u.spark[0] < 4001);
	for (int i = SNAP_SPARK - 9; i < SNAP_SPARK; i++)
		assert_true(u.spark[i] == 0);

	/* The engine itself stalls (no sample for 30 s, no traffic), then traffic resumes. */
	t += 30 * SEC;
	for (int i = 0; i < 40; i++, t += TICK, bytes += 1000)
		model_sample(&m, a, t, bytes);
	expect_spark(&m, a, t - TICK);
	assert_true(user_get(a, 1, &u));
	for (int i = 1; i < SNAP_SPARK - 6; i++)
		assert_true(u.spark[i] == 0);
	for (int i = SNAP_SPARK - 4; i < SNAP_SPARK; i++)
		assert_true(u.spark[i] > 3999 && u.spark[i] < 4001);
	agg_free(a);
}

/* A new owner has a history of zeros, not of someone else. */
static void test_spark_new_owner(void **state)
{
	struct agg *a = agg_window(2 * SEC);
	struct snap_user u;
	uint64_t t = 1000 * SEC;

	for (int i = 0; i < 240; i++, t += TICK)
		sample1(a, t, 1, i * 1000ULL, 0);
	for (int i = 0; i < 40; i++, t += TICK) {
		struct owner_total v[2] = { tot(1, (240 + i) * 1000ULL, 0), tot(2, 0, i * 500ULL) };

		agg_counters(a, t, v, 2);
	}
	assert_true(user_get(a, 2, &u));
	for (int i = 0; i < SNAP_SPARK - 6; i++)
		assert_true(u.spark[i] == 0);
	assert_true(u.spark[SNAP_SPARK - 1] > 1999 && u.spark[SNAP_SPARK - 1] < 2001);
	agg_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_sample_no_rate),
		cmocka_unit_test(test_rate_constant),
		cmocka_unit_test(test_rate_decays),
		cmocka_unit_test(test_counter_reset),
		cmocka_unit_test(test_sparse_calls),
		cmocka_unit_test(test_long_window),
		cmocka_unit_test(test_clock_backwards),
		cmocka_unit_test(test_events_per_s),
		cmocka_unit_test(test_event_only_user),
		cmocka_unit_test(test_special_owners),
		cmocka_unit_test(test_totals),
		cmocka_unit_test(test_peer_direction),
		cmocka_unit_test(test_peer_rates_and_top),
		cmocka_unit_test(test_peer_bound_other),
		cmocka_unit_test(test_peer_global_bound),
		cmocka_unit_test(test_peer_flood),
		cmocka_unit_test(test_fold_count_exact_at_bound),
		cmocka_unit_test(test_idle_peers_folded),
		cmocka_unit_test(test_full_busy_table_no_other),
		cmocka_unit_test(test_other_rate_steady_through_fold),
		cmocka_unit_test(test_peer_netns),
		cmocka_unit_test(test_procs_and_conns),
		cmocka_unit_test(test_comm_after_exec),
		cmocka_unit_test(test_proc_conn_bounds),
		cmocka_unit_test(test_proc_exit),
		cmocka_unit_test(test_pick_idle),
		cmocka_unit_test(test_pick_idle_in_kernel),
		cmocka_unit_test(test_pick_idle_after_kernel_eviction),
		cmocka_unit_test(test_evict_ledger),
		cmocka_unit_test(test_ledger_overflow),
		cmocka_unit_test(test_spark_steady_and_stall),
		cmocka_unit_test(test_spark_new_owner),
	};

	return cmocka_run_group_tests_name("aggregator", tests, NULL, NULL);
}
