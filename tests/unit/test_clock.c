// SPDX-License-Identifier: GPL-2.0
/* meter/clock.c: boot-time to wall-clock conversion and the offset between the two clocks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <time.h>
#include <cmocka.h>

#include "meter/clock.h"

#define NS 1000000000LL

static int64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static void expect_ts(struct timespec ts, long long sec, long nsec)
{
	assert_int_equal(ts.tv_sec, sec);
	assert_int_equal(ts.tv_nsec, nsec);
}

static void test_positive_offset(void **state)
{
	expect_ts(tm_boot_to_wall(0, 0), 0, 0);
	expect_ts(tm_boot_to_wall(5 * NS + 7, 0), 5, 7);
	expect_ts(tm_boot_to_wall(1 * NS + 200000000, 3 * NS + 300000000), 4, 500000000);
	/* A realistic boot time plus today's offset. */
	expect_ts(tm_boot_to_wall(123456 * NS + 789, 1732985432LL * NS + 123456000),
		  1732985432LL + 123456, 123456789);
}

static void test_nanosecond_carry(void **state)
{
	/* 1.6 + 2.7 = 4.3: the nanoseconds carry into the seconds. */
	expect_ts(tm_boot_to_wall(1 * NS + 600000000, 2 * NS + 700000000), 4, 300000000);
	expect_ts(tm_boot_to_wall(NS - 1, 1), 1, 0);
	expect_ts(tm_boot_to_wall(NS - 1, NS - 1), 1, 999999998);
}

static void test_negative_offset(void **state)
{
	expect_ts(tm_boot_to_wall(5 * NS + 300000000, -(1 * NS + 500000000)), 3, 800000000);
	expect_ts(tm_boot_to_wall(5 * NS, -5 * NS), 0, 0);
	expect_ts(tm_boot_to_wall(5 * NS, -1), 4, 999999999);
	/* Before the epoch, tv_nsec stays in [0, 1e9) and tv_sec borrows. */
	expect_ts(tm_boot_to_wall(1 * NS + 200000000, -(1 * NS + 500000000)), -1, 700000000);
	expect_ts(tm_boot_to_wall(0, -NS), -1, 0);
}

static void test_offset_sane(void **state)
{
	int64_t mine = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_BOOTTIME);
	int64_t off = tm_clock_offset_ns();
	int64_t diff = off > mine ? off - mine : mine - off;
	int64_t boot, wall;
	struct timespec ts;

	assert_true(diff < NS);
	/* Converting "now" in boot time must land within a second of the wall clock. */
	boot = now_ns(CLOCK_BOOTTIME);
	ts = tm_boot_to_wall(boot, off);
	wall = now_ns(CLOCK_REALTIME);
	diff = wall - ((int64_t)ts.tv_sec * NS + ts.tv_nsec);
	assert_true(diff > -NS && diff < NS);
	assert_true(ts.tv_nsec >= 0 && ts.tv_nsec < NS);
}

static void test_now_monotonic(void **state)
{
	uint64_t a = tm_now_ns();
	int64_t m = now_ns(CLOCK_MONOTONIC);
	uint64_t b = tm_now_ns();

	assert_true(b >= a);
	assert_true((int64_t)a <= m && m <= (int64_t)b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positive_offset),
		cmocka_unit_test(test_nanosecond_carry),
		cmocka_unit_test(test_negative_offset),
		cmocka_unit_test(test_offset_sane),
		cmocka_unit_test(test_now_monotonic),
	};

	return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
