// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "meter/ignore.h"

struct ignore_list {
	pthread_mutex_t lock;		/* the screen or the service edits while the engine runs */
	struct ignore_entry *v;
	size_t n, cap;
	int fd_v4, fd_v6;		/* -1 until attached */
	int fd_gen;			/* -1: no generation to bump */
	__u32 gen;
};

void ignore_lpm_key(const struct ip_prefix *p, struct tm_lpm_v4 *k4, struct tm_lpm_v6 *k6)
{
	if (p->family == TM_AF_INET) {
		memset(k4, 0, sizeof(*k4));
		k4->prefixlen = p->len;
		memcpy(k4->addr, p->addr, 4);
	} else {
		memset(k6, 0, sizeof(*k6));
		k6->prefixlen = p->len;
		memcpy(k6->addr, p->addr, 16);
	}
}

/*
 * After the tries changed: what sockets cached from them is stale. A packet between the change
 * and the bump may still use an old answer, as if it had come a moment earlier.
 */
static void bump(struct ignore_list *l)
{
	__u32 zero = 0;

	if (l->fd_gen < 0)
		return;
	if (++l->gen == 0)
		l->gen = 1;	/* 0 means "do not cache" */
	bpf_map_update_elem(l->fd_gen, &zero, &l->gen, BPF_ANY);
}

/* Put an entry into its trie or take it out; absent is not an error when taking out. */
static int map_set(struct ignore_list *l, const struct ip_prefix *p, bool on)
{
	struct tm_lpm_v4 k4;
	struct tm_lpm_v6 k6;
	const void *key;
	__u8 one = 1;
	int fd, err;

	fd = p->family == TM_AF_INET ? l->fd_v4 : l->fd_v6;
	if (fd < 0)
		return 0;	/* not attached yet: ignore_attach() loads it */
	ignore_lpm_key(p, &k4, &k6);
	key = p->family == TM_AF_INET ? (const void *)&k4 : (const void *)&k6;
	if (on)
		err = bpf_map_update_elem(fd, key, &one, BPF_ANY);
	else
		err = bpf_map_delete_elem(fd, key);
	if (err && !(!on && errno == ENOENT))
		return errno == E2BIG ? -ENOSPC : -errno;
	bump(l);
	return 0;
}

static int push(struct ignore_list *l, const struct ip_prefix *p)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ignore_entry *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].p = *p;
	l->v[l->n].on = true;
	l->n++;
	return 0;
}

struct ignore_list *ignore_new(const struct iplist *initial)
{
	struct ignore_list *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	pthread_mutex_init(&l->lock, NULL);
	l->fd_v4 = l->fd_v6 = l->fd_gen = -1;
	for (size_t i = 0; initial && i < initial->n; i++) {
		if (push(l, &initial->v[i])) {
			ignore_free(l);
			return NULL;
		}
	}
	return l;
}

void ignore_free(struct ignore_list *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l->v);
	free(l);
}

int ignore_attach(struct ignore_list *l, const struct ignore_maps *maps)
{
	int ret = 0;

	pthread_mutex_lock(&l->lock);
	l->fd_v4 = maps->v4;
	l->fd_v6 = maps->v6;
	l->fd_gen = maps->gen;
	for (size_t i = 0; i < l->n && !ret; i++)
		if (l->v[i].on)
			ret = map_set(l, &l->v[i].p, true);
	bump(l);	/* an empty list too: caching starts now */
	pthread_mutex_unlock(&l->lock);
	return ret;
}

static bool same(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->family == b->family && a->len == b->len && !memcmp(a->addr, b->addr, 16);
}

int ignore_add(struct ignore_list *l, const struct ip_prefix *p)
{
	int ret;

	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->n; i++) {
		if (same(&l->v[i].p, p)) {
			pthread_mutex_unlock(&l->lock);
			return -EEXIST;
		}
	}
	ret = map_set(l, p, true);
	if (!ret) {
		ret = push(l, p);
		if (ret)
			map_set(l, p, false);	/* keep the kernel and the list equal */
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int ignore_set(struct ignore_list *l, size_t idx, bool on)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&l->lock);
	if (idx < l->n) {
		ret = map_set(l, &l->v[idx].p, on);
		if (!ret)
			l->v[idx].on = on;
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int ignore_del(struct ignore_list *l, size_t idx)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&l->lock);
	if (idx < l->n) {
		ret = map_set(l, &l->v[idx].p, false);
		if (!ret) {
			memmove(&l->v[idx], &l->v[idx + 1], (l->n - idx - 1) * sizeof(l->v[0]));
			l->n--;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

size_t ignore_copy(struct ignore_list *l, struct ignore_entry *out, size_t max, size_t *active)
{
	size_t n, on = 0;

	pthread_mutex_lock(&l->lock);
	n = l->n;
	for (size_t i = 0; i < n; i++) {
		if (i < max)
			out[i] = l->v[i];
		on += l->v[i].on;
	}
	pthread_mutex_unlock(&l->lock);
	if (active)
		*active = on;
	return n;
}
