/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ignore-list syntax shared by ipmask_tool, --ignore-file and the UI: wildcards
 * (10.0.*.*, 2001:db8::*), CIDR (10.0.0.0/8), plain addresses, '#' comments, blank lines.
 */
#ifndef METER_IPLIST_H
#define METER_IPLIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ip_prefix {
	uint8_t family;		/* TM_AF_INET or TM_AF_INET6 */
	uint8_t len;		/* prefix length: 0..32 or 0..128 */
	uint8_t addr[16];	/* network order, bits past len zeroed; IPv4 in the first 4 bytes */
};

struct iplist {
	struct ip_prefix *v;
	size_t n, cap;
};

struct iplist_error {
	int line;		/* 1-based; 0 when the error is not about a line (e.g. unreadable) */
	char reason[160];	/* e.g. "wildcard is not trailing: '10.*.1.*'" */
};

/* One entry (no comment, surrounding blanks allowed). 0, or -EINVAL with reason filled. */
int iplist_parse_entry(const char *text, struct ip_prefix *out, char *reason, size_t reason_len);

/*
 * A whole list. On error returns -EINVAL (or -ENOMEM), fills err, and leaves out empty:
 * nothing is half-applied. Duplicate entries are kept once.
 */
int iplist_parse(const char *buf, size_t len, struct iplist *out, struct iplist_error *err);

/* Read and parse a file ("-" = stdin). -errno for I/O errors with err->line = 0. */
int iplist_load_file(const char *path, struct iplist *out, struct iplist_error *err);

/* The compiled-in default list from bpf/untracked_masks.h. */
int iplist_load_default(struct iplist *out);

int iplist_append(struct iplist *l, const struct ip_prefix *p);	/* -EEXIST if present */
int iplist_find(const struct iplist *l, const struct ip_prefix *p);	/* index or -1 */
void iplist_remove(struct iplist *l, size_t idx);
void iplist_free(struct iplist *l);

/* "10.0.0.0/8", "2001:db8::/32"; buf of at least IP_PREFIX_STRLEN. */
#define IP_PREFIX_STRLEN 64
char *ip_prefix_format(const struct ip_prefix *p, char *buf, size_t len);

/* Does p contain the address (family, addr)? */
int ip_prefix_contains(const struct ip_prefix *p, uint8_t family, const uint8_t *addr);

/* The seed's untracked_masks.h text for the list. */
int iplist_write_header(const struct iplist *l, FILE *out);

#endif /* METER_IPLIST_H */
