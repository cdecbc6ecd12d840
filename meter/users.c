// SPDX-License-Identifier: GPL-2.0
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "meter/record.h"
#include "meter/users.h"

struct user_name {
	uint32_t uid;
	char name[64];
	UT_hash_handle hh;
};

static struct user_name *cache;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

const char *users_name(uint32_t uid)
{
	struct user_name *u;
	struct passwd pw, *res = NULL;
	char buf[1024];

	pthread_mutex_lock(&cache_lock);
	HASH_FIND(hh, cache, &uid, sizeof(uid), u);
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u) {
			pthread_mutex_unlock(&cache_lock);
			return "?";
		}
		u->uid = uid;
		/*
		 * 65534 is what bpf_get_socket_uid() returns for packets without a full socket
		 * (TIME_WAIT, resets, kernel replies); "nobody" would be a lie for most of it.
		 */
		if (uid == TM_UID_NOSOCK)
			snprintf(u->name, sizeof(u->name), "(no socket)");
		else if (!getpwuid_r(uid, &pw, buf, sizeof(buf), &res) && res)
			snprintf(u->name, sizeof(u->name), "%s", res->pw_name);
		else
			snprintf(u->name, sizeof(u->name), "%u", uid);
		HASH_ADD(hh, cache, uid, sizeof(u->uid), u);
	}
	pthread_mutex_unlock(&cache_lock);
	return u->name;
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
