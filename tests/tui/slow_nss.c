// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD shim for tests: every passwd lookup by uid or name takes SLOW_NSS_MS (default 50)
 * milliseconds first, as a slow LDAP or sssd would. Then the real lookup runs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pwd.h>
#include <stdlib.h>
#include <time.h>

static void slow(void)
{
	const char *ms = getenv("SLOW_NSS_MS");
	long v = ms ? atol(ms) : 50;
	struct timespec ts = { v / 1000, (v % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len, struct passwd **res)
{
	int (*real)(uid_t, struct passwd *, char *, size_t, struct passwd **) =
		dlsym(RTLD_NEXT, "getpwuid_r");

	slow();
	return real(uid, pw, buf, len, res);
}

int getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len, struct passwd **res)
{
	int (*real)(const char *, struct passwd *, char *, size_t, struct passwd **) =
		dlsym(RTLD_NEXT, "getpwnam_r");

	slow();
	return real(name, pw, buf, len, res);
}
