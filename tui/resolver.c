// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "tui/resolver.h"
#include <linux/types.h>
#include "traffic_meter.h"

enum rstate { R_EMPTY, R_PENDING, R_BUSY, R_DONE, R_FAILED };

struct rentry {
	uint8_t family;
	uint8_t addr[16];
	enum rstate state;
	char name[NI_MAXHOST];
};

static struct rentry cache[RESOLVER_CACHE];
static unsigned int victim;	/* FIFO replacement: DNS answers age, exact LRU buys little */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static bool started;

static struct rentry *find(uint8_t family, const uint8_t *addr)
{
	unsigned int i;
	size_t n = family == TM_AF_INET ? 4 : 16;

	for (i = 0; i < RESOLVER_CACHE; i++)
		if (cache[i].state != R_EMPTY && cache[i].family == family &&
		    !memcmp(cache[i].addr, addr, n))
			return &cache[i];
	return NULL;
}

static void resolve_one(uint8_t family, const uint8_t *addr, char *name, size_t len, bool *ok)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;

	if (family == TM_AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, addr, 4);
		sl = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, addr, 16);
		sl = sizeof(*s);
	}
	*ok = !getnameinfo((struct sockaddr *)&ss, sl, name, len, NULL, 0, NI_NAMEREQD);
}

static void *worker(void *arg)
{
	pthread_mutex_lock(&lock);
	for (;;) {
		struct rentry *e = NULL, copy;
		char name[NI_MAXHOST];
		unsigned int i;
		bool ok;

		for (i = 0; i < RESOLVER_CACHE && !e; i++)
			if (cache[i].state == R_PENDING)
				e = &cache[i];
		if (!e) {
			pthread_cond_wait(&work, &lock);
			continue;
		}
		e->state = R_BUSY;
		copy = *e;
		pthread_mutex_unlock(&lock);

		resolve_one(copy.family, copy.addr, name, sizeof(name), &ok);

		pthread_mutex_lock(&lock);
		/* The slot may have been recycled for another address meanwhile. */
		if (e->state == R_BUSY && e->family == copy.family &&
		    !memcmp(e->addr, copy.addr, 16)) {
			e->state = ok ? R_DONE : R_FAILED;
			snprintf(e->name, sizeof(e->name), "%s", ok ? name : "");
		}
	}
	return NULL;
}

int resolver_start(void)
{
	pthread_t th;
	int err = 0;

	pthread_mutex_lock(&lock);
	if (!started) {
		err = -pthread_create(&th, NULL, worker, NULL);
		if (!err) {
			/* Never joined: a lookup stuck in a DNS timeout must not delay quitting. */
			pthread_detach(th);
			started = true;
		}
	}
	pthread_mutex_unlock(&lock);
	return err;
}

bool resolver_lookup(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	struct rentry *e;
	bool known = false;

	if (len)
		buf[0] = '\0';
	pthread_mutex_lock(&lock);
	e = find(family, addr);
	if (e) {
		if (e->state == R_DONE) {
			snprintf(buf, len, "%s", e->name);
			known = true;
		}
	} else if (started) {
		e = &cache[victim];
		victim = (victim + 1) % RESOLVER_CACHE;
		memset(e, 0, sizeof(*e));
		e->family = family;
		memcpy(e->addr, addr, family == TM_AF_INET ? 4 : 16);
		e->state = R_PENDING;
		pthread_cond_signal(&work);
	}
	pthread_mutex_unlock(&lock);
	return known;
}
