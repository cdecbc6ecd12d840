// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define HASH_NONFATAL_OOM 1
#include <uthash.h>
#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "meter/users.h"

struct user_name {
	tm_owner_t owner;
	char name[64];
	UT_hash_handle hh;
};

static struct user_name *cache;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void lookup(tm_owner_t owner, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	switch (OWNER_KIND(owner)) {
	case TM_KIND_NOSOCK:
		snprintf(buf, len, "(no socket)");
		return;
	case TM_KIND_KERNEL:
		snprintf(buf, len, "(kernel)");
		return;
	}
	if (!getpwuid_r(OWNER_UID(owner), &pw, pwbuf, sizeof(pwbuf), &res) && res)
		snprintf(buf, len, "%s", res->pw_name);
	else
		snprintf(buf, len, "%u", OWNER_UID(owner));
}

const char *owner_name(tm_owner_t owner)
{
	struct user_name *u;

	pthread_mutex_lock(&cache_lock);
	HASH_FIND(hh, cache, &owner, sizeof(owner), u);
	pthread_mutex_unlock(&cache_lock);
	if (u)
		return u->name;
	/* The lookup itself runs unlocked: one slow name never holds up another thread. */
	u = calloc(1, sizeof(*u));
	if (!u)
		return "?";
	u->owner = owner;
	lookup(owner, u->name, sizeof(u->name));
	pthread_mutex_lock(&cache_lock);
	{
		struct user_name *other;

		HASH_FIND(hh, cache, &owner, sizeof(owner), other);
		if (other) {
			free(u);
			u = other;
		} else {
			HASH_ADD(hh, cache, owner, sizeof(u->owner), u);
			if (!cache) {
				pthread_mutex_unlock(&cache_lock);
				free(u);
				return "?";
			}
		}
	}
	pthread_mutex_unlock(&cache_lock);
	return u->name;
}

const char *owner_name_r(tm_owner_t owner, char *buf, size_t len)
{
	struct user_name *u;

	pthread_mutex_lock(&cache_lock);
	HASH_FIND(hh, cache, &owner, sizeof(owner), u);
	if (u)
		snprintf(buf, len, "%s", u->name);
	pthread_mutex_unlock(&cache_lock);
	if (!u)
		lookup(owner, buf, len);
	return buf;
}

int owner_lookup(const char *name, tm_owner_t *out)
{
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	if (!strcmp(name, "(no socket)") || !strcmp(name, "nosocket")) {
		*out = TM_OWNER_NOSOCK;
		return 0;
	}
	if (!strcmp(name, "(kernel)") || !strcmp(name, "kernel")) {
		*out = TM_OWNER_KERNEL;
		return 0;
	}
	if (!owner_parse_token(name, out))
		return 0;
	if (!getpwnam_r(name, &pw, pwbuf, sizeof(pwbuf), &res) && res) {
		*out = res->pw_uid;
		return 0;
	}
	return -ENOENT;
}

void users_cache_free(void)
{
	struct user_name *u, *tmp;

	pthread_mutex_lock(&cache_lock);
	HASH_ITER(hh, cache, u, tmp) {
		HASH_DEL(cache, u);
		free(u);
	}
	pthread_mutex_unlock(&cache_lock);
}
