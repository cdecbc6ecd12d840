// SPDX-License-Identifier: GPL-2.0
/* Unit tests for meter/aggregator.c: synthetic timestamps, no kernel, no clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "meter/aggregator.h"

#define SEC	1000000000ULL
#define MS	1000000ULL
#define TICK	(250 * MS)	/* the collector's counter cadence */

/* |got - want| <= 1% of want */
#define assert_near(got, want) \
	assert_true(fabs_((got) - (want)) <= 0.01 * fabs_(want) + 1e-9)

static double fabs_(double x)
{
	return x < 0 ? -x : x;	/* no libm: the real build links tests without -lm */
}

static struct traffic_record rec4(uint32_t uid, int dir, uint32_t peer, uint32_t bytes)
{
	struct traffic_record r;
	uint8_t local[4] = { 192, 168, 1, 100 };
	uint8_t remote[4] = { peer >> 24, peer >> 16, peer >> 8, peer };

	memset(&r, 0, sizeof(r));
	r.uid = uid;
	r.bytes = bytes;
	r.direction = dir;
	r.family = TM_AF_INET;
	memcpy(dir == TM_DIR_OUT ? r.src : r.dst, local, 4);
	memcpy(dir == TM_DIR_OUT ? r.dst : r.src, remote, 4);
	return r;
}

static void event4(struct agg *a, uint32_t uid, int dir, uint32_t peer, uint32_t bytes)
{
	struct traffic_record r = rec4(uid, dir, peer, bytes);

	agg_event(a, &r);
}

static struct uid_total tot(uint32_t uid, uint64_t in, uint64_t out)
{
	struct uid_total t = { .uid = uid, .bytes = { in, out },
			       .packets = { in / 100, out / 100 } };
	return t;
}

static void sample1(struct agg *a, uint64_t now, uint32_t uid, uint64_t in, uint64_t out)
{
	struct uid_total t = tot(uid, in, out);

	agg_counters(a, now, &t, 1);
}

static struct agg *new_agg(uint64_t window, unsigned int k, uint64_t idle, unsigned int max)
{
	struct agg_config cfg = { .window_ns = window, .peers_per_user = k,
				  .idle_expire_ns = idle, .max_users = max };
	struct agg *a = agg_new(&cfg);

	assert_non_null(a);
	return a;
}

static size_t all_users(struct agg *a, enum agg_sort s, bool invert, struct agg_user *out,
			size_t max)
{
	struct agg_view v = { .sort = s, .invert = invert };

	return agg_users(a, &v, out, max);
}

/* ---- rates ---------------------------------------------------------------------------------- */

static void test_one_sample_no_rate(void **state)
{
	struct agg *a = new_agg(0, 0, 0, 0);
	struct agg_totals t;
	struct agg_user u;

	sample1(a, 10 * SEC, 1000, 5000, 7000);
	assert_true(agg_user_get(a, 1000, &u));
	assert_false(u.has_rate);
	assert_true(u.rate[0] == 0 && u.rate[1] == 0);
	assert_int_equal(u.bytes[TM_DIR_IN], 5000);
	assert_int_equal(u.bytes[TM_DIR_OUT], 7000);
	assert_int_equal(u.packets[TM_DIR_IN], 50);
	agg_get_totals(a, &t);
	assert_false(t.has_rate);
	assert_false(agg_user_get(a, 4242, &u));
	agg_free(a);
}

static void test_rate_constant(void **state)
{
	struct agg *a = new_agg(2 * SEC, 0, 0, 0);
	struct agg_user u;
	uint64_t now = 100 * SEC;

	/* 1000 B/s in, 500 B/s out, with a little jitter in the call times. */
	for (int i = 0; i < 40; i++) {
		uint64_t t = now + i * TICK + (i % 3) * 7 * MS;
		uint64_t el = t - now;

		sample1(a, t, 1000, el / 1000000, el / 2000000);
		assert_true(agg_user_get(a, 1000, &u));
		if (i == 0) {
			assert_false(u.has_rate);
			continue;
		}
		assert_true(u.has_rate);
		assert_near(u.rate[TM_DIR_IN], 1000.0);
		assert_near(u.rate[TM_DIR_OUT], 500.0);
	}
	agg_free(a);
}

static void test_rate_decays(void **state)
{
	struct agg *a = new_agg(2 * SEC, 0, 0, 0);
	struct agg_user rows[4];
	struct agg_user u;
	uint64_t t = SEC, bytes = 0, stop;

	for (int i = 0; i < 12; i++, t += TICK, bytes += 1000)
		sample1(a, t, 7, bytes, bytes);
	stop = t - TICK;	/* last change */
	assert_true(agg_user_get(a, 7, &u));
	assert_near(u.rate[0], 4000.0);

	/* The user goes quiet (and even drops out of the counters): the rate slides to 0. */
	bytes -= 1000;
	sample1(a, t, 7, bytes, bytes);
	assert_true(agg_user_get(a, 7, &u));
	assert_true(u.rate[0] > 0 && u.rate[0] < 4000.0);
	for (int i = 0; i < 10; i++) {
		t += TICK;
		agg_counters(a, t, NULL, 0);
	}
	assert_true(agg_user_get(a, 7, &u));
	assert_true(u.has_rate);
	assert_true(u.rate[0] == 0 && u.rate[1] == 0);
	assert_int_equal(u.bytes[0], bytes);
	assert_int_equal(u.last_active_ns, stop);
	assert_int_equal(all_users(a, AGG_SORT_RATE, false, rows, 4), 1);
	assert_int_equal(rows[0].uid, 7);
	agg_free(a);
}

static void test_counter_backwards(void **state)
{
	struct agg *a = new_agg(2 * SEC, 0, 0, 0);
	struct agg_user u;
	uint64_t t = SEC;

	for (int i = 0; i < 10; i++, t += TICK)
		sample1(a, t, 1, 1000000 + i * 250, 1000000 + i * 500);
	assert_true(agg_user_get(a, 1, &u));
	assert_near(u.rate[0], 1000.0);
	assert_near(u.rate[1], 2000.0);

	/* The program was reloaded: counters start again from small values. */
	sample1(a, t, 1, 100, 100);
	assert_true(agg_user_get(a, 1, &u));
	assert_false(u.has_rate);
	assert_true(u.rate[0] == 0 && u.rate[1] == 0);
	assert_int_equal(u.bytes[0], 100);

	t += TICK;
	sample1(a, t, 1, 100 + 500, 100);
	assert_true(agg_user_get(a, 1, &u));
	assert_true(u.has_rate);
	assert_near(u.rate[0], 2000.0);
	assert_true(u.rate[1] == 0);
	agg_free(a);
}

static void test_sparse_calls(void **state)
{
	/* Calls further apart than the window still give the rate over the last interval. */
	struct agg *a = new_agg(2 * SEC, 0, 0, 0);
	struct agg_user u;

	sample1(a, 10 * SEC, 1, 0, 0);
	sample1(a, 13 * SEC, 1, 3000, 0);
	assert_true(agg_user_get(a, 1, &u));
	assert_true(u.has_rate);
	assert_near(u.rate[0], 1000.0);
	agg_free(a);
}

static void test_long_window(void **state)
{
	/* A 60 s window at 4 calls/s needs 240 samples; thinning must still cover it all. */
	struct agg *a = new_agg(60 * SEC, 0, 0, 0);
	struct agg_user u;
	uint64_t t = SEC, bytes = 0;

	for (int i = 0; i < 400; i++, t += TICK, bytes += 250)
		sample1(a, t, 1, bytes, 0);
	assert_true(agg_user_get(a, 1, &u));
	assert_near(u.rate[0], 1000.0);
	bytes -= 250;
	/* 30 s of silence: the window still holds ~30 s of traffic, so about half the rate. */
	for (int i = 0; i < 120; i++, t += TICK)
		sample1(a, t, 1, bytes, 0);
	assert_true(agg_user_get(a, 1, &u));
	assert_true(u.rate[0] > 350 && u.rate[0] < 650);
	agg_free(a);
}

static void test_idle_expire(void **state)
{
	struct agg *a = new_agg(2 * SEC, 0, 5 * SEC, 0);
	struct uid_total t[2];
	struct agg_user u;
	uint64_t now = SEC;

	for (int i = 0; i < 8; i++, now += TICK) {
		t[0] = tot(1, 100, 100);		/* quiet after the first sample */
		t[1] = tot(2, 100 * i, 100 * i);	/* busy */
		agg_counters(a, now, t, 2);
	}
	assert_true(agg_user_get(a, 1, &u));
	for (int i = 8; i < 40; i++, now += TICK) {
		t[1] = tot(2, 100 * i, 100 * i);
		agg_counters(a, now, t, 2);
	}
	/* 1 was quiet for > 5 s: gone, and unchanged totals in the kernel do not bring it back. */
	assert_false(agg_user_get(a, 1, &u));
	assert_true(agg_user_get(a, 2, &u));
	agg_counters(a, now, t, 2);
	assert_false(agg_user_get(a, 1, &u));

	/* It returns when its totals move. */
	now += TICK;
	t[0] = tot(1, 200, 100);
	agg_counters(a, now, t, 2);
	assert_true(agg_user_get(a, 1, &u));
	assert_int_equal(u.bytes[0], 200);
	assert_int_equal(u.last_active_ns, now);

	/* An event also brings an expired user back at once. */
	for (int i = 0; i < 30; i++) {
		now += TICK;
		agg_counters(a, now, t, 2);
	}
	assert_false(agg_user_get(a, 1, &u));
	event4(a, 1, TM_DIR_OUT, 0x08080808, 60);
	assert_true(agg_user_get(a, 1, &u));
	agg_free(a);
}

static void test_no_expire_by_default(void **state)
{
	struct agg *a = new_agg(0, 0, 0, 0);
	struct agg_user u;

	sample1(a, SEC, 3, 10, 10);
	for (int i = 0; i < 100; i++)
		sample1(a, SEC + i * 10 * SEC, 3, 10, 10);
	assert_true(agg_user_get(a, 3, &u));
	agg_free(a);
}

/* ---- peers ---------------------------------------------------------------------------------- */

static void test_peer_direction(void **state)
{
	struct agg *a = new_agg(0, 0, 0, 0);
	struct agg_peer p[8];
	struct traffic_record r;
	uint8_t v6a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	uint8_t v6b[16] = { 0x26, 0x07, 0xf8, 0xb0, 0x40, 0x04, 0x08, 0x00,
			    [14] = 0x20, [15] = 0x0e };

	/* out: the peer is dst. Garbage after the 4 IPv4 bytes must not split the peer. */
	r = rec4(5, TM_DIR_OUT, 0x08080808, 52);
	r.dst[10] = 0xff;
	agg_event(a, &r);
	/* in: the peer is src. */
	event4(a, 5, TM_DIR_IN, 0x08080808, 84);
	event4(a, 5, TM_DIR_IN, 0x01010101, 10);

	memset(&r, 0, sizeof(r));
	r.uid = 5;
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

	assert_int_equal(agg_peers(a, 5, p, 8), 3);
	/* No rates yet: ordered by bytes. */
	assert_int_equal(p[0].family, TM_AF_INET6);
	assert_memory_equal(p[0].addr, v6b, 16);
	assert_int_equal(p[0].bytes[TM_DIR_OUT], 80);
	assert_int_equal(p[0].bytes[TM_DIR_IN], 1000);
	assert_int_equal(p[0].error, 0);

	assert_int_equal(p[1].family, TM_AF_INET);
	assert_memory_equal(p[1].addr, ((uint8_t[16]){ 8, 8, 8, 8 }), 16);
	assert_int_equal(p[1].bytes[TM_DIR_OUT], 52);
	assert_int_equal(p[1].bytes[TM_DIR_IN], 84);

	assert_memory_equal(p[2].addr, ((uint8_t[4]){ 1, 1, 1, 1 }), 4);
	assert_int_equal(p[2].bytes[TM_DIR_IN], 10);
	assert_int_equal(p[2].bytes[TM_DIR_OUT], 0);

	/* The local address never becomes a peer. */
	assert_int_equal(agg_peers(a, 5, p, 2), 2);
	assert_int_equal(agg_peers(a, 99, p, 8), 0);
	agg_free(a);
}

static void test_peer_rates_and_top(void **state)
{
	struct agg *a = new_agg(2 * SEC, 0, 0, 0);
	struct agg_peer p[4];
	struct agg_user u;
	uint64_t t = SEC;

	/* 0x0a000001 has more bytes in total, 0x0a000002 is the faster one right now. */
	event4(a, 9, TM_DIR_IN, 0x0a000001, 100000);
	for (int i = 0; i < 12; i++) {
		sample1(a, t, 9, 0, 0);
		event4(a, 9, TM_DIR_OUT, 0x0a000002, 500);	/* 2000 B/s */
		event4(a, 9, TM_DIR_IN, 0x0a000002, 250);	/* 1000 B/s */
		t += TICK;
	}
	sample1(a, t, 9, 0, 0);
	assert_int_equal(agg_peers(a, 9, p, 4), 2);
	assert_memory_equal(p[0].addr, ((uint8_t[4]){ 10, 0, 0, 2 }), 4);
	assert_near(p[0].rate[TM_DIR_OUT], 2000.0);
	assert_near(p[0].rate[TM_DIR_IN], 1000.0);
	assert_true(p[1].rate[0] == 0 && p[1].rate[1] == 0);
	assert_true(agg_user_get(a, 9, &u));
	assert_true(u.has_top);
	assert_int_equal(u.npeers, 2);
	assert_memory_equal(u.top.addr, ((uint8_t[4]){ 10, 0, 0, 2 }), 4);

	/* The fast peer stops; once both rates are 0 the top is the one with more bytes. */
	for (int i = 0; i < 10; i++) {
		t += TICK;
		sample1(a, t, 9, 0, 0);
	}
	assert_true(agg_user_get(a, 9, &u));
	assert_memory_equal(u.top.addr, ((uint8_t[4]){ 10, 0, 0, 1 }), 4);
	agg_free(a);
}

static void test_topk_bound(void **state)
{
	const uint32_t heavy = 0xc6336401;	/* 198.51.100.1 */
	struct agg *a = new_agg(2 * SEC, 0, 0, 0);
	struct agg_peer p[64];
	struct agg_user u;
	uint64_t t = SEC, events = 0;
	size_t n;

	/* A scan over 100000 addresses with a heavy hitter mixed in: 1 packet in 10. */
	for (uint32_t i = 0; i < 100000; i++) {
		if (i % 9 == 0) {
			event4(a, 1000, TM_DIR_OUT, heavy, 1000);
			events++;
		}
		event4(a, 1000, TM_DIR_OUT, 0x0a000000 + i, 100);
		events++;
		if (i % 10000 == 9999) {
			agg_counters(a, t, NULL, 0);
			t += TICK;
		}
	}
	assert_true(agg_user_get(a, 1000, &u));
	assert_true(u.npeers <= 32);
	assert_true(u.has_top);
	assert_int_equal(u.top.family, TM_AF_INET);
	assert_memory_equal(u.top.addr, ((uint8_t[4]){ 198, 51, 100, 1 }), 4);
	/* Space-Saving: the count is never below the truth; the heavy hitter was never evicted. */
	assert_true(u.top.bytes[TM_DIR_OUT] >= 11112 * 1000ULL);
	assert_int_equal(u.top.error, 0);

	n = agg_peers(a, 1000, p, 64);
	assert_int_equal(n, u.npeers);
	assert_memory_equal(p[0].addr, u.top.addr, 16);
	/* Every other entry carries an error bound: the table filled and rotated. */
	for (size_t i = 1; i < n; i++)
		assert_true(p[i].error > 0 && p[i].bytes[TM_DIR_OUT] >= p[i].error);

	/* Small K is honoured too. */
	agg_free(a);
	a = new_agg(0, 4, 0, 0);
	for (uint32_t i = 0; i < 1000; i++)
		event4(a, 1, TM_DIR_IN, i, 10);
	assert_true(agg_user_get(a, 1, &u));
	assert_int_equal(u.npeers, 4);
	agg_free(a);
	(void)events;
}

static void test_event_only_user(void **state)
{
	struct agg *a = new_agg(2 * SEC, 0, 0, 0);
	struct agg_user u;
	uint64_t t = SEC;

	sample1(a, t, 1, 0, 0);
	/* uid 2 is seen by events before the counters list it. */
	event4(a, 2, TM_DIR_OUT, 0x01020304, 300);
	event4(a, 2, TM_DIR_IN, 0x01020304, 200);
	assert_true(agg_user_get(a, 2, &u));
	assert_int_equal(u.bytes[TM_DIR_OUT], 300);
	assert_int_equal(u.bytes[TM_DIR_IN], 200);
	assert_int_equal(u.packets[TM_DIR_OUT], 1);
	assert_false(u.has_rate);

	/* Counters arrive: exact totals replace the event sums, with no bogus jump in the rate. */
	t += TICK;
	sample1(a, t, 2, 1000000, 2000000);
	assert_true(agg_user_get(a, 2, &u));
	assert_int_equal(u.bytes[TM_DIR_IN], 1000000);
	assert_int_equal(u.bytes[TM_DIR_OUT], 2000000);
	assert_true(u.rate[TM_DIR_IN] < 10000);
	/* Events no longer change the totals. */
	event4(a, 2, TM_DIR_OUT, 0x01020304, 300);
	assert_true(agg_user_get(a, 2, &u));
	assert_int_equal(u.bytes[TM_DIR_OUT], 2000000);
	t += TICK;
	sample1(a, t, 2, 1000000 + 250, 2000000 + 500);
	assert_true(agg_user_get(a, 2, &u));
	assert_true(u.has_rate);
	agg_free(a);
}

/* ---- rows: sort, filter, totals, bounds ----------------------------------------------------- */

/* uid: in rate, out rate, in total, out total chosen so every key gives a different order. */
static const struct {
	uint32_t uid;
	uint64_t in_rate, out_rate, in_tot, out_tot;
} sort_fixture[] = {
	{ 1000, 4000, 100, 5000, 900000 },
	{ 33, 100, 3000, 700000, 100 },
	{ 500, 2000, 2500, 100, 50000 },
	{ 0, 10, 10, 9000, 9000 },
};

static const char *fixture_name(void *ctx, uint32_t uid)
{
	static char buf[16];

	/* One static buffer on purpose: the aggregator must copy. */
	switch (uid) {
	case 1000: return strcpy(buf, "alice");
	case 33: return strcpy(buf, "www-data");
	case 500: return strcpy(buf, "Bob");
	case 0: return strcpy(buf, "root");
	case 1001: return strcpy(buf, "ALINA");
	default: return NULL;
	}
}

static struct agg *sort_agg(void)
{
	struct agg *a = new_agg(2 * SEC, 0, 0, 0);
	struct uid_total t[4];
	size_t n = sizeof(sort_fixture) / sizeof(sort_fixture[0]);

	for (int s = 0; s < 5; s++) {
		for (size_t i = 0; i < n; i++) {
			uint64_t q = s;	/* quarter seconds */

			t[i] = tot(sort_fixture[i].uid,
				   sort_fixture[i].in_tot + sort_fixture[i].in_rate * q / 4,
				   sort_fixture[i].out_tot + sort_fixture[i].out_rate * q / 4);
		}
		agg_counters(a, SEC + s * TICK, t, n);
	}
	return a;
}

static void expect_order(struct agg *a, enum agg_sort s, bool inv, const uint32_t *uids, size_t n)
{
	struct agg_view v = { .sort = s, .invert = inv, .name = fixture_name };
	struct agg_user rows[8];

	assert_int_equal(agg_users(a, &v, rows, n), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(rows[i].uid, uids[i]);
}

static void test_sort_keys(void **state)
{
	struct agg *a = sort_agg();
	struct agg_user u;

	assert_true(agg_user_get(a, 1000, &u));
	assert_near(u.rate[TM_DIR_IN], 4000.0);

	expect_order(a, AGG_SORT_RATE, false, (uint32_t[]){ 500, 1000, 33, 0 }, 4);
	expect_order(a, AGG_SORT_RATE, true, (uint32_t[]){ 0, 33, 1000, 500 }, 4);
	expect_order(a, AGG_SORT_IN_RATE, false, (uint32_t[]){ 1000, 500, 33, 0 }, 4);
	expect_order(a, AGG_SORT_OUT_RATE, false, (uint32_t[]){ 33, 500, 1000, 0 }, 4);
	expect_order(a, AGG_SORT_IN_TOTAL, false, (uint32_t[]){ 33, 0, 1000, 500 }, 4);
	expect_order(a, AGG_SORT_OUT_TOTAL, false, (uint32_t[]){ 1000, 500, 0, 33 }, 4);
	expect_order(a, AGG_SORT_OUT_TOTAL, true, (uint32_t[]){ 33, 0, 500, 1000 }, 4);
	/* Names ascend by default, case-insensitively: alice, Bob, root, www-data. */
	expect_order(a, AGG_SORT_USER, false, (uint32_t[]){ 1000, 500, 0, 33 }, 4);
	expect_order(a, AGG_SORT_USER, true, (uint32_t[]){ 33, 0, 500, 1000 }, 4);
	expect_order(a, AGG_SORT_UID, false, (uint32_t[]){ 0, 33, 500, 1000 }, 4);
	expect_order(a, AGG_SORT_UID, true, (uint32_t[]){ 1000, 500, 33, 0 }, 4);
	/* An out-of-range key falls back to RATE instead of reading garbage. */
	expect_order(a, AGG_SORT__COUNT, false, (uint32_t[]){ 500, 1000, 33, 0 }, 4);

	/* max truncates after sorting. */
	expect_order(a, AGG_SORT_UID, false, (uint32_t[]){ 0, 33 }, 2);
	agg_free(a);
}

static const char *same_name(void *ctx, uint32_t uid)
{
	return "same";
}

static void test_sort_ties_stable(void **state)
{
	struct agg *a = new_agg(2 * SEC, 0, 0, 0);
	const uint32_t uids[] = { 77, 3, 1500, 42, 9, 65534, 100 };
	struct uid_total t[7];
	struct agg_user rows[8];

	/* Identical users: every key ties, so the uid decides, the same way every time. */
	for (int s = 0; s < 3; s++) {
		for (int i = 0; i < 7; i++)
			t[i] = tot(uids[i], 1000 + s * 100, 1000 + s * 100);
		agg_counters(a, SEC + s * TICK, t, 7);
	}
	for (int k = 0; k < AGG_SORT__COUNT; k++) {
		struct agg_view v = { .sort = k, .name = same_name };

		if (k == AGG_SORT_UID)
			continue;
		for (int inv = 0; inv < 2; inv++) {
			v.invert = inv;
			for (int rep = 0; rep < 3; rep++) {
				assert_int_equal(agg_users(a, &v, rows, 8), 7);
				for (int i = 1; i < 7; i++)
					assert_true(rows[i - 1].uid < rows[i].uid);
			}
		}
	}
	agg_free(a);
}

static void test_sort_no_rate_last(void **state)
{
	struct agg *a = sort_agg();
	struct agg_user rows[8];

	/* A user with one sample has no rate: it sorts after every rate, even 0. */
	event4(a, 4242, TM_DIR_OUT, 1, 1);
	assert_int_equal(all_users(a, AGG_SORT_RATE, false, rows, 8), 5);
	assert_int_equal(rows[4].uid, 4242);
	assert_false(rows[4].has_rate);
	agg_free(a);
}

static void test_filter(void **state)
{
	struct agg *a = sort_agg();
	struct agg_view v = { .sort = AGG_SORT_UID, .name = fixture_name };
	struct agg_user rows[8];

	sample1(a, 10 * SEC, 1001, 1, 1);

	v.filter = "ALI";		/* alice, ALINA */
	assert_int_equal(agg_users(a, &v, rows, 8), 2);
	assert_int_equal(rows[0].uid, 1000);
	assert_int_equal(rows[1].uid, 1001);

	v.filter = "bob";
	assert_int_equal(agg_users(a, &v, rows, 8), 1);
	assert_int_equal(rows[0].uid, 500);

	v.filter = "00";		/* digits of 1000, 1001 and 500 */
	assert_int_equal(agg_users(a, &v, rows, 8), 3);
	assert_int_equal(rows[0].uid, 500);

	v.filter = "3";
	assert_int_equal(agg_users(a, &v, rows, 8), 1);
	assert_int_equal(rows[0].uid, 33);

	v.filter = "nomatch";
	assert_int_equal(agg_users(a, &v, rows, 8), 0);

	v.filter = "";
	assert_int_equal(agg_users(a, &v, rows, 8), 5);
	v.filter = NULL;
	assert_int_equal(agg_users(a, &v, rows, 8), 5);

	/* Without a name function the name is the uid. */
	v.name = NULL;
	v.filter = "10";
	assert_int_equal(agg_users(a, &v, rows, 8), 2);
	v.filter = "alice";
	assert_int_equal(agg_users(a, &v, rows, 8), 0);
	v.filter = NULL;
	v.sort = AGG_SORT_USER;	/* decimal names, compared as text */
	assert_int_equal(agg_users(a, &v, rows, 8), 5);
	assert_int_equal(rows[0].uid, 0);
	assert_int_equal(rows[1].uid, 1000);

	/* A NULL view means all users by rate. */
	assert_int_equal(agg_users(a, NULL, rows, 8), 5);
	agg_free(a);
}

static void test_totals(void **state)
{
	struct agg *a = sort_agg();
	struct agg_totals t;
	double in = 0, out = 0;
	uint64_t bin = 0, bout = 0;

	for (size_t i = 0; i < 4; i++) {
		in += sort_fixture[i].in_rate;
		out += sort_fixture[i].out_rate;
		bin += sort_fixture[i].in_tot + sort_fixture[i].in_rate;
		bout += sort_fixture[i].out_tot + sort_fixture[i].out_rate;
	}
	event4(a, 0, TM_DIR_OUT, 1, 1);
	event4(a, 0, TM_DIR_OUT, 2, 1);
	agg_set_lost(a, 17);
	agg_get_totals(a, &t);
	assert_true(t.has_rate);
	assert_int_equal(t.users, 4);
	assert_int_equal(t.bytes[TM_DIR_IN], bin);
	assert_int_equal(t.bytes[TM_DIR_OUT], bout);
	assert_near(t.rate[TM_DIR_IN], in);
	assert_near(t.rate[TM_DIR_OUT], out);
	assert_int_equal(t.events, 2);
	assert_int_equal(t.lost, 17);
	agg_free(a);

	a = new_agg(0, 0, 0, 0);
	agg_get_totals(a, &t);
	assert_int_equal(t.users, 0);
	assert_false(t.has_rate);
	agg_free(a);
}

static void test_events_per_s(void **state)
{
	struct agg *a = new_agg(2 * SEC, 0, 0, 0);
	struct agg_totals t;
	uint64_t now = SEC;

	agg_counters(a, now, NULL, 0);
	for (int s = 0; s < 20; s++) {
		for (int i = 0; i < 1000; i++)		/* 4000 events/s */
			event4(a, 1 + i % 3, i & 1, i, 100);
		now += TICK;
		agg_counters(a, now, NULL, 0);
	}
	agg_get_totals(a, &t);
	assert_int_equal(t.events, 20000);
	assert_near(t.events_per_s, 4000.0);
	assert_int_equal(t.users, 3);

	/* Events stop: the event rate slides to 0 too. */
	for (int s = 0; s < 10; s++) {
		now += TICK;
		agg_counters(a, now, NULL, 0);
	}
	agg_get_totals(a, &t);
	assert_true(t.events_per_s == 0);
	agg_free(a);
}

static void test_max_users(void **state)
{
	struct agg *a = new_agg(0, 0, 5 * SEC, 3);
	struct uid_total t[5];
	struct agg_user rows[8];
	struct agg_totals tt;

	for (int i = 0; i < 5; i++)
		t[i] = tot(i + 1, 100, 100);
	agg_counters(a, SEC, t, 5);
	assert_int_equal(all_users(a, AGG_SORT_UID, false, rows, 8), 3);
	event4(a, 99, TM_DIR_OUT, 1, 100);
	agg_get_totals(a, &tt);
	assert_int_equal(tt.users, 3);
	assert_false(agg_user_get(a, 99, rows));
	assert_int_equal(tt.events, 1);

	/* When the quiet ones expire, room is made for the others. */
	for (int i = 0; i < 5; i++)
		t[i] = tot(i + 1, 100, 100);
	agg_counters(a, 7 * SEC, t, 5);
	t[4] = tot(5, 200, 100);
	agg_counters(a, 8 * SEC, t, 5);
	assert_true(agg_user_get(a, 5, rows));
	agg_free(a);
}

static void test_sort_names(void **state)
{
	assert_string_equal(agg_sort_name(AGG_SORT_RATE), "RATE");
	assert_string_equal(agg_sort_name(AGG_SORT_IN_RATE), "IN/s");
	assert_string_equal(agg_sort_name(AGG_SORT_OUT_RATE), "OUT/s");
	assert_string_equal(agg_sort_name(AGG_SORT_IN_TOTAL), "TOT IN");
	assert_string_equal(agg_sort_name(AGG_SORT_OUT_TOTAL), "TOT OUT");
	assert_string_equal(agg_sort_name(AGG_SORT_USER), "USER");
	assert_string_equal(agg_sort_name(AGG_SORT_UID), "UID");
	assert_non_null(agg_sort_name(AGG_SORT__COUNT));
	assert_non_null(agg_sort_name((enum agg_sort)-1));
}

static void test_defaults_and_null(void **state)
{
	struct agg *a = agg_new(NULL);
	struct agg_user u;

	assert_non_null(a);
	for (uint32_t i = 0; i < 100; i++)
		event4(a, 1, TM_DIR_IN, i, 1);
	assert_true(agg_user_get(a, 1, &u));
	assert_int_equal(u.npeers, 32);
	agg_free(a);
	agg_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_sample_no_rate),
		cmocka_unit_test(test_rate_constant),
		cmocka_unit_test(test_rate_decays),
		cmocka_unit_test(test_counter_backwards),
		cmocka_unit_test(test_sparse_calls),
		cmocka_unit_test(test_long_window),
		cmocka_unit_test(test_idle_expire),
		cmocka_unit_test(test_no_expire_by_default),
		cmocka_unit_test(test_peer_direction),
		cmocka_unit_test(test_peer_rates_and_top),
		cmocka_unit_test(test_topk_bound),
		cmocka_unit_test(test_event_only_user),
		cmocka_unit_test(test_sort_keys),
		cmocka_unit_test(test_sort_ties_stable),
		cmocka_unit_test(test_sort_no_rate_last),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_totals),
		cmocka_unit_test(test_events_per_s),
		cmocka_unit_test(test_max_users),
		cmocka_unit_test(test_sort_names),
		cmocka_unit_test(test_defaults_and_null),
	};

	return cmocka_run_group_tests_name("aggregator", tests, NULL, NULL);
}
