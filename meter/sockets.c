// SPDX-License-Identifier: GPL-2.0
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#define HASH_NONFATAL_OOM 1
#include <uthash.h>
#include "meter/cgroup.h"
#include "meter/sockets.h"

#define GRACE_NS	5000000000ULL	/* a released socket's last packets are drained by then */
#define IDLE_NS		60000000000ULL	/* unused this long, a socket may make room */

struct sock_entry {
	uint64_t cookie;		/* hash key */
	uint64_t closed_ns;		/* 0 while open */
	uint64_t used_ns;		/* last packet or record */
	char *cgroup;			/* path below the cgroup v2 mount, owned */
	struct proc_ident proc;		/* proc.cgroup points at cgroup */
	UT_hash_handle hh;
};

struct sockets {
	struct sock_entry *map;
	size_t n, max;
	uint64_t dropped;
	struct cgroup_names *names;
};

static inline unsigned int cookie_hash(uint64_t c)
{
	return (unsigned int)((c * 0x9e3779b97f4a7c15ULL) >> 32);
}

struct sockets *sockets_new(size_t max, struct cgroup_names *names)
{
	struct sockets *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->max = max ? max : SOCKETS_MAX;
	s->names = names;
	return s;
}

static void entry_del(struct sockets *s, struct sock_entry *e)
{
	HASH_DEL(s->map, e);
	free(e->cgroup);
	free(e);
	s->n--;
}

void sockets_free(struct sockets *s)
{
	struct sock_entry *e, *tmp;

	if (!s)
		return;
	HASH_ITER(hh, s->map, e, tmp)
		entry_del(s, e);
	free(s);
}

static struct sock_entry *find(const struct sockets *s, uint64_t cookie)
{
	struct sock_entry *e;

	HASH_FIND_BYHASHVALUE(hh, s->map, &cookie, sizeof(cookie), cookie_hash(cookie), e);
	return e;
}

/* Full: released sockets go first, then those unused for a minute. */
static void make_room(struct sockets *s, uint64_t now)
{
	struct sock_entry *e, *tmp;

	HASH_ITER(hh, s->map, e, tmp)
		if (e->closed_ns || now - e->used_ns > IDLE_NS)
			entry_del(s, e);
}

void sockets_update(struct sockets *s, const struct sock_record *r, uint64_t now_ns)
{
	struct sock_entry *e;

	if (!r->cookie)
		return;
	e = find(s, r->cookie);
	if (r->closed) {
		if (e)
			e->closed_ns = now_ns;
		return;
	}
	if (!e) {
		if (s->n >= s->max)
			make_room(s, now_ns);
		if (s->n >= s->max) {
			s->dropped++;
			return;
		}
		e = calloc(1, sizeof(*e));
		if (!e) {
			s->dropped++;
			return;
		}
		e->cookie = r->cookie;
		HASH_ADD_BYHASHVALUE(hh, s->map, cookie, sizeof(e->cookie), cookie_hash(r->cookie),
				     e);
		if (!s->map) {
			free(e);
			s->dropped++;
			return;
		}
		s->n++;
	}
	free(e->cgroup);
	e->cgroup = strdup(cgroup_names_path(s->names, r->cgroup_id));
	e->closed_ns = 0;
	e->used_ns = now_ns;
	e->proc.tgid = r->tgid;
	memcpy(e->proc.comm, r->comm, sizeof(e->proc.comm));
	e->proc.cgroup_id = r->cgroup_id;
	e->proc.cgroup = e->cgroup ? e->cgroup : "";
}

const struct proc_ident *sockets_proc(struct sockets *s, uint64_t cookie, uint64_t now_ns)
{
	struct sock_entry *e;

	if (!cookie)
		return NULL;
	e = find(s, cookie);
	if (!e)
		return NULL;
	e->used_ns = now_ns;
	return e->proc.tgid || e->proc.cgroup_id ? &e->proc : NULL;
}

void sockets_expire(struct sockets *s, uint64_t now_ns)
{
	struct sock_entry *e, *tmp;

	HASH_ITER(hh, s->map, e, tmp)
		if (e->closed_ns && now_ns - e->closed_ns > GRACE_NS)
			entry_del(s, e);
}

size_t sockets_count(const struct sockets *s)
{
	return s->n;
}

uint64_t sockets_dropped(const struct sockets *s)
{
	return s->dropped;
}
