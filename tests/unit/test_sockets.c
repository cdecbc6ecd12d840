// SPDX-License-Identifier: GPL-2.0
/*
 * User space's mirror of the kernel's socket records (meter/sockets.c) on a fake clock: who
 * made a socket, a released socket's grace period, a full table making room from released and
 * idle sockets and counting what it had to refuse. And the names people know for a cgroup
 * (meter/cgroup.c): systemd units, containers, plain paths.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "meter/cgroup.h"
#include "meter/sockets.h"

#define SEC	1000000000ULL

static struct sock_record sock(uint64_t cookie, uint32_t tgid, const char *comm,
			       uint64_t cgroup_id)
{
	struct sock_record r = { .cookie = cookie, .tgid = tgid, .cgroup_id = cgroup_id,
				 .owner = 1000, .proto = 6, .origin = TM_ORIGIN_CREATE };

	snprintf(r.comm, sizeof(r.comm), "%s", comm);
	return r;
}

static void add(struct sockets *s, uint64_t cookie, uint32_t tgid, const char *comm,
		uint64_t now)
{
	struct sock_record r = sock(cookie, tgid, comm, 0);

	sockets_update(s, &r, now);
}

static void close_sock(struct sockets *s, uint64_t cookie, uint64_t now)
{
	struct sock_record r = { .closed = true, .cookie = cookie };

	sockets_update(s, &r, now);
}

static void test_add_and_find(void **state)
{
	struct sockets *s = sockets_new(0, NULL);
	const struct proc_ident *p;
	struct sock_record r;

	assert_non_null(s);
	add(s, 7, 100, "curl", SEC);
	add(s, 8, 200, "ssh", SEC);
	assert_int_equal(sockets_count(s), 2);
	p = sockets_proc(s, 7, SEC);
	assert_non_null(p);
	assert_int_equal(p->tgid, 100);
	assert_string_equal(p->comm, "curl");
	assert_non_null(p->cgroup);
	assert_string_equal(p->cgroup, "");	/* no cgroup names: unknown */
	assert_int_equal(sockets_proc(s, 8, SEC)->tgid, 200);
	/* Unknown cookies and the no-socket cookie 0 have no creator. */
	assert_null(sockets_proc(s, 9, SEC));
	assert_null(sockets_proc(s, 0, SEC));
	r = sock(0, 300, "x", 0);
	sockets_update(s, &r, SEC);
	assert_int_equal(sockets_count(s), 2);
	/* A record again (e.g. from the start-up walk after a create) refreshes it. */
	add(s, 7, 100, "curl-new", 2 * SEC);
	assert_int_equal(sockets_count(s), 2);
	assert_string_equal(sockets_proc(s, 7, 2 * SEC)->comm, "curl-new");
	/* A socket whose creator is unknown (no pid, no cgroup) gives no process. */
	add(s, 10, 0, "", SEC);
	assert_int_equal(sockets_count(s), 3);
	assert_null(sockets_proc(s, 10, SEC));
	/* ... but a known cgroup is enough. */
	r = sock(11, 0, "", 4242);
	sockets_update(s, &r, SEC);
	p = sockets_proc(s, 11, SEC);
	assert_non_null(p);
	assert_int_equal(p->cgroup_id, 4242);
	/* A 16-byte command name stays NUL-terminated. */
	r = sock(12, 5, "", 0);
	memset(r.comm, 'c', sizeof(r.comm) - 1);
	sockets_update(s, &r, SEC);
	assert_int_equal(strlen(sockets_proc(s, 12, SEC)->comm), 15);
	assert_int_equal(sockets_dropped(s), 0);
	sockets_free(s);
	sockets_free(NULL);
}

/* A released socket's last packets may still be queued: it stays for the grace period. */
static void test_close_grace(void **state)
{
	struct sockets *s = sockets_new(0, NULL);

	add(s, 1, 100, "a", SEC);
	add(s, 2, 200, "b", SEC);
	close_sock(s, 1, 10 * SEC);
	close_sock(s, 99, 10 * SEC);	/* never seen: nothing happens */
	assert_int_equal(sockets_count(s), 2);
	assert_int_equal(sockets_proc(s, 1, 11 * SEC)->tgid, 100);
	sockets_expire(s, 14 * SEC);
	assert_int_equal(sockets_count(s), 2);
	sockets_expire(s, 15 * SEC);
	assert_int_equal(sockets_count(s), 2);	/* exactly the grace period: still there */
	sockets_expire(s, 15 * SEC + 1);
	assert_int_equal(sockets_count(s), 1);
	assert_null(sockets_proc(s, 1, 16 * SEC));
	/* An open socket never expires, however old. */
	sockets_expire(s, 100000 * SEC);
	assert_int_equal(sockets_count(s), 1);
	/* A record for a closed socket (it was announced again) opens it again. */
	close_sock(s, 2, 200000 * SEC);
	add(s, 2, 200, "b", 200001 * SEC);
	sockets_expire(s, 300000 * SEC);
	assert_int_equal(sockets_count(s), 1);
	sockets_free(s);
}

static void test_full_table(void **state)
{
	struct sockets *s = sockets_new(4, NULL);

	for (uint64_t c = 1; c <= 4; c++)
		add(s, c, 100 + c, "x", SEC);
	assert_int_equal(sockets_count(s), 4);
	/* Full of open, recently used sockets: the newcomer is refused and counted. */
	add(s, 5, 105, "x", 2 * SEC);
	assert_int_equal(sockets_count(s), 4);
	assert_int_equal(sockets_dropped(s), 1);
	assert_null(sockets_proc(s, 5, 2 * SEC));
	/* A refresh of a known socket is never refused. */
	add(s, 4, 104, "y", 2 * SEC);
	assert_int_equal(sockets_dropped(s), 1);
	assert_string_equal(sockets_proc(s, 4, 2 * SEC)->comm, "y");
	/* A released one makes room at once, grace period or not. */
	close_sock(s, 2, 3 * SEC);
	add(s, 6, 106, "x", 3 * SEC);
	assert_int_equal(sockets_count(s), 4);
	assert_null(sockets_proc(s, 2, 3 * SEC));
	assert_int_equal(sockets_proc(s, 6, 3 * SEC)->tgid, 106);
	assert_int_equal(sockets_dropped(s), 1);
	/* Sockets unused for a minute make room too; one used since stays. */
	assert_non_null(sockets_proc(s, 3, 50 * SEC));	/* a packet: used */
	add(s, 7, 107, "x", 65 * SEC);
	assert_int_equal(sockets_dropped(s), 1);
	assert_non_null(sockets_proc(s, 3, 65 * SEC));
	assert_non_null(sockets_proc(s, 7, 65 * SEC));
	assert_null(sockets_proc(s, 1, 65 * SEC));
	assert_null(sockets_proc(s, 4, 65 * SEC));
	assert_null(sockets_proc(s, 6, 65 * SEC));
	assert_int_equal(sockets_count(s), 2);
	sockets_free(s);
}

/*
 * Anyone can fill the table by holding sockets open. A newcomer to a full table of busy sockets
 * then costs a look at the ends of two lists, not a walk over every entry on the engine's
 * thread: 20,000 refused newcomers to 65,536 busy sockets took 1.3 billion entry visits before
 * (seconds); now they take milliseconds, with a bound loose enough for a sanitized build.
 */
static void test_full_of_busy_sockets(void **state)
{
	struct sockets *s = sockets_new(SOCKETS_MAX, NULL);
	struct timespec t0, t1;
	uint64_t now = SEC;
	double secs;

	for (uint64_t c = 1; c <= SOCKETS_MAX; c++)
		add(s, c, (uint32_t)c, "busy", now);
	assert_int_equal(sockets_count(s), SOCKETS_MAX);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t c = SOCKETS_MAX + 1; c <= SOCKETS_MAX + 20000; c++)
		add(s, c, (uint32_t)c, "new", now + SEC);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(sockets_dropped(s), 20000);
	assert_true(secs < 1.0);
	/* Once idle for a minute, the least recently used make room first; one used since stays. */
	assert_non_null(sockets_proc(s, 1, 30 * SEC));
	add(s, 100001, 7, "late", 62 * SEC);
	assert_non_null(sockets_proc(s, 1, 62 * SEC));
	assert_non_null(sockets_proc(s, 100001, 62 * SEC));
	assert_null(sockets_proc(s, 2, 62 * SEC));
	/* Released ones leave after their grace period, whatever their place in the table. */
	close_sock(s, 100001, 63 * SEC);
	sockets_expire(s, 64 * SEC);
	assert_non_null(sockets_proc(s, 100001, 64 * SEC));
	sockets_expire(s, 69 * SEC);
	assert_null(sockets_proc(s, 100001, 69 * SEC));
	sockets_free(s);
}

/* The bound holds however many sockets come and go. */
static void test_flood(void **state)
{
	struct sockets *s = sockets_new(1000, NULL);
	uint64_t now = SEC;

	for (uint64_t c = 1; c <= 100000; c++) {
		add(s, c, (uint32_t)c, "flood", now);
		if (c % 3 == 0)
			close_sock(s, c, now);
		if (c % 1000 == 0) {
			now += SEC;
			sockets_expire(s, now);
		}
		assert_true(sockets_count(s) <= 1000);
	}
	assert_true(sockets_dropped(s) > 0);
	sockets_free(s);
}

/* A cgroup id back to its path, from the real cgroup v2 hierarchy of this machine. */
static void test_cgroup_paths(void **state)
{
	struct cgroup_names *n;
	char mnt[PATH_MAX];
	struct sockets *s;
	struct sock_record r;
	struct stat st;

	if (cgroup2_mount(mnt, sizeof(mnt)))
		skip();
	assert_int_equal(stat(mnt, &st), 0);
	n = cgroup_names_new();
	assert_non_null(n);
	assert_string_equal(cgroup_names_path(n, st.st_ino), "/");
	assert_string_equal(cgroup_names_path(n, 0), "");
	assert_string_equal(cgroup_names_path(NULL, st.st_ino), "");
	/* An id that is no cgroup: "" (and it does not walk the tree again at once). */
	assert_string_equal(cgroup_names_path(n, UINT64_MAX - 5), "");
	assert_string_equal(cgroup_names_path(n, UINT64_MAX - 5), "");
	/* The socket table keeps its own copy of the path. */
	s = sockets_new(0, n);
	r = sock(5, 50, "x", st.st_ino);
	sockets_update(s, &r, SEC);
	assert_string_equal(sockets_proc(s, 5, SEC)->cgroup, "/");
	sockets_free(s);
	cgroup_names_free(n);
	cgroup_names_free(NULL);
	/* The checks on a path. */
	assert_int_equal(cgroup_check(mnt), 0);
	assert_int_equal(cgroup_level(mnt), 0);
	assert_int_equal(cgroup_check("/proc"), -EMEDIUMTYPE);
	assert_int_equal(cgroup_check("/nonexistent"), -ENOENT);
	assert_int_equal(cgroup_check("/etc/passwd"), -ENOTDIR);
	assert_int_equal(cgroup_level("/proc"), -EXDEV);
}

static void expect_unit(const char *path, const char *want)
{
	char buf[128];

	assert_ptr_equal(cgroup_unit_name(path, buf, sizeof(buf)), buf);
	if (strcmp(buf, want))
		fail_msg("%s: '%s', want '%s'", path ? path : "(null)", buf, want);
}

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_unit_names(void **state)
{
	char small[8];

	expect_unit("/system.slice/nginx.service", "nginx.service");
	/* The innermost unit wins: an app scope inside the user's manager. */
	expect_unit("/user.slice/user-1000.slice/user@1000.service/app.slice/foo.scope",
		    "foo.scope");
	expect_unit("/user.slice/user-1000.slice/user@1000.service", "user@1000.service");
	expect_unit("/user.slice/user-1000.slice/session-3.scope", "session-3.scope");
	expect_unit("/system.slice/nginx.service/worker", "nginx.service");
	expect_unit("/system.slice/x.service/", "x.service");
	/* Containers: 12 hex digits of the id, as docker ps and podman ps show it. */
	expect_unit("/system.slice/docker-" HEX64 ".scope", "docker:0123456789ab");
	expect_unit("/machine.slice/libpod-" HEX64 ".scope", "podman:0123456789ab");
	expect_unit("/machine.slice/libpod-" HEX64 ".scope/container", "podman:0123456789ab");
	expect_unit("/system.slice/docker-0123456789AB" HEX64 ".scope",
		    "docker-0123456789AB" HEX64 ".scope");	/* not lower hex: a unit */
	expect_unit("/system.slice/docker-0123.scope", "docker-0123.scope");
	/* Otherwise the path itself. */
	expect_unit("/docker/" HEX64, "/docker/" HEX64);
	expect_unit("/user.slice", "/user.slice");
	expect_unit("/", "/");
	expect_unit("/a/.service/.scope", "/a/.service/.scope");
	expect_unit("", "-");
	expect_unit(NULL, "-");
	/* The buffer bounds it. */
	cgroup_unit_name("/system.slice/nginx.service", small, sizeof(small));
	assert_string_equal(small, "nginx.s");
	cgroup_unit_name("/a/b/c/d/e", small, sizeof(small));
	assert_string_equal(small, "/a/b/c/");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_find),
		cmocka_unit_test(test_close_grace),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_full_of_busy_sockets),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_cgroup_paths),
		cmocka_unit_test(test_unit_names),
	};

	return cmocka_run_group_tests_name("sockets", tests, NULL, NULL);
}
