/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ignore list's one owner: the parsed entries, whether each is active, and the two LPM
 * tries in the kernel that make them take effect. The command line fills it, the engine hands
 * its tries over at load, the screen and the service edit it through the engine's door, and
 * every edit reaches the kernel before it returns. Thread-safe.
 */
#ifndef METER_IGNORE_H
#define METER_IGNORE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "meter/iplist.h"

struct ignore_entry {
	struct ip_prefix p;
	bool on;		/* in the kernel's trie */
};

struct ignore_list;

/* A list holding a copy of `initial` (may be NULL), every entry on. NULL on ENOMEM. */
struct ignore_list *ignore_new(const struct iplist *initial);
void ignore_free(struct ignore_list *l);

/* The kernel's side of the list: the two LPM tries and the generation sockets cache by. */
struct ignore_maps {
	int v4, v6;
	int gen;		/* -1: none (nothing is cached then) */
};

/* Put every active entry into the tries and edit them from now on. 0 or -errno. */
int ignore_attach(struct ignore_list *l, const struct ignore_maps *maps);

/* The edits apply in the kernel at once. 0 or -errno (-EEXIST for a duplicate add, -ENOENT
 * for a bad index, -ENOSPC past TM_MAX_IGNORE entries of a family). */
int ignore_add(struct ignore_list *l, const struct ip_prefix *p);
int ignore_set(struct ignore_list *l, size_t idx, bool on);
int ignore_del(struct ignore_list *l, size_t idx);

/* Copy at most max entries; returns how many the list has. *active gets the active count. */
size_t ignore_copy(struct ignore_list *l, struct ignore_entry *out, size_t max, size_t *active);

/* The LPM trie key of a prefix (k4 for IPv4, k6 for IPv6); shared with the BPF tests. */
void ignore_lpm_key(const struct ip_prefix *p, struct tm_lpm_v4 *k4, struct tm_lpm_v6 *k6);

#endif /* METER_IGNORE_H */
