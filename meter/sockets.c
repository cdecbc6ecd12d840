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

/*
 * Every entry is on one of two lists, so nothing scans the table: open sockets by last use
 * (the least recently used is the first to make room once idle for IDLE_NS), released ones by
 * release time (the oldest leave after GRACE_NS, or at once to make room). A full table of busy
 * sockets, which anyone can fill by holding sockets open, then costs a newcomer one look at each
 * list's end, not a walk over 65,536 entries on the engine's thread; and the expiry every
 * sample touches only what expires.
 */
struct sock_list {
	struct sock_entry *head, *tail;	/* head: most recently used / oldest released */
};

struct sock_entry {
	uint64_t cookie;		/* hash key */
	uint64_t closed_ns;		/* 0 while open */
	uint64_t used_ns;		/* last packet or record */
	char *cgroup;			/* path below the cgroup v2 mount, owned */
	struct proc_ident proc;		/* proc.cgroup points at cgroup */
	struct sock_entry *prev, *next;	/* on s->open or s->closed */
	UT_hash_handle hh;
};

struct sockets {
	struct sock_entry *map;
	size_t n, max;
	uint64_t dropped;
	struct cgroup_names *names;
	struct sock_list open;		/* most recently used first */
	struct sock_list closed;	/* released first first */
};

static void list_unlink(struct sock_list *l, struct sock_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
}

static void list_push_head(struct sock_list *l, struct sock_entry *e)
{
	e->prev = NULL;
	e->next = l->head;
	if (l->head)
		l->head->prev = e;
	else
		l->tail = e;
	l->head = e;
}

static void list_push_tail(struct sock_list *l, struct sock_entry *e)
{
	e->next = NULL;
	e->prev = l->tail;
	if (l->tail)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
}

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
	list_unlink(e->closed_ns ? &s->closed : &s->open, e);
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
	while (s->closed.head)
		entry_del(s, s->closed.head);
	while (s->open.tail && now - s->open.tail->used_ns > IDLE_NS)
		entry_del(s, s->open.tail);
}

void sockets_update(struct sockets *s, const struct sock_record *r, uint64_t now_ns)
{
	struct sock_entry *e;

	if (!r->cookie)
		return;
	e = find(s, r->cookie);
	if (r->closed) {
		/* Released once: a repeated record keeps its place (and its first time). */
		if (e && !e->closed_ns) {
			list_unlink(&s->open, e);
			e->closed_ns = now_ns ? now_ns : 1;
			list_push_tail(&s->closed, e);
		}
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
	} else {
		list_unlink(e->closed_ns ? &s->closed : &s->open, e);
	}
	list_push_head(&s->open, e);
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
	if (!e->closed_ns && s->open.head != e) {
		list_unlink(&s->open, e);
		list_push_head(&s->open, e);
	}
	return e->proc.tgid || e->proc.cgroup_id ? &e->proc : NULL;
}

void sockets_expire(struct sockets *s, uint64_t now_ns)
{
	while (s->closed.head && now_ns - s->closed.head->closed_ns > GRACE_NS)
		entry_del(s, s->closed.head);
}

size_t sockets_count(const struct sockets *s)
{
	return s->n;
}

uint64_t sockets_dropped(const struct sockets *s)
{
	return s->dropped;
}
