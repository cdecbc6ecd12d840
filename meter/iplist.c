// SPDX-License-Identifier: GPL-2.0
/*
 * The ignore-list syntax (see SPEC.md, "Ignored networks"): wildcards, CIDR and plain
 * addresses, one a line. Every entry is stored in canonical form: host bits past the prefix
 * length are cleared, so "10.1.2.3/8" and "10.*.*.*" are the same entry (10.0.0.0/8) and
 * duplicates are detected by plain comparison. Nothing here prints; errors come back as
 * -errno plus a short reason that quotes the offending text, escaped (see put_escaped).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>

#include "bpf/traffic_meter.h"
#include "bpf/untracked_masks.h"
#include "meter/iplist.h"

#define ENTRY_MAX	128		/* longest entry; a full IPv6 CIDR needs < 50 */
#define QUOTE_MAX	60		/* how much of a bad entry a reason quotes */
#define LIST_FILE_MAX	(16 << 20)	/* lists are tiny; refuse to slurp a disk image */

/*
 * Append text to dst (size dst_len, holding a string of length *o) with every byte outside
 * printable ASCII, and the backslash itself, written as \xNN. A list file is untrusted and
 * its reasons end up on the operator's terminal, where a quoted ESC could clear the screen,
 * retitle the window or fake output; escaping the backslash too keeps the text unambiguous.
 * Stops before the first byte whose escaped form would not fit, never inside an escape, and
 * returns how many bytes of text went in.
 */
static size_t put_escaped(char *dst, size_t dst_len, size_t *o, const char *text, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = text[i];
		bool plain = c >= 0x20 && c < 0x7f && c != '\\';
		size_t need = plain ? 1 : 4;

		if (*o + need >= dst_len)
			break;
		if (plain) {
			dst[(*o)++] = c;
		} else {
			dst[(*o)++] = '\\';
			dst[(*o)++] = 'x';
			dst[(*o)++] = hex[c >> 4];
			dst[(*o)++] = hex[c & 15];
		}
	}
	dst[*o] = '\0';
	return i;
}

static void put_plain(char *dst, size_t dst_len, size_t *o, const char *s)
{
	put_escaped(dst, dst_len, o, s, strlen(s));
}

/*
 * Fill reason with "<what>: '<text>'" and return -EINVAL. Both parts are escaped: <what> may
 * carry a piece of the entry too ("bad prefix length '...'"). The quote shows at most
 * QUOTE_MAX bytes of the entry and says "..." when it shows less.
 */
static int __attribute__((format(printf, 4, 5)))
fail(char *reason, size_t reason_len, const char *text, const char *fmt, ...)
{
	char what[ENTRY_MAX + 64];
	size_t tlen = strlen(text), o = 0, shown;
	va_list ap;
	int n;

	if (!reason || !reason_len)
		return -EINVAL;
	reason[0] = '\0';
	va_start(ap, fmt);
	n = vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	n = n < (int)sizeof(what) ? n : (int)sizeof(what) - 1;
	if (put_escaped(reason, reason_len, &o, what, n) < (size_t)n)
		return -EINVAL;
	put_plain(reason, reason_len, &o, ": '");
	shown = put_escaped(reason, reason_len, &o, text, tlen < QUOTE_MAX ? tlen : QUOTE_MAX);
	put_plain(reason, reason_len, &o, shown < tlen ? "...'" : "'");
	return -EINVAL;
}

static void mask_host_bits(uint8_t *addr, unsigned int len, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++) {
		unsigned int bit = i * 8;

		if (bit >= len)
			addr[i] = 0;
		else if (len - bit < 8)
			addr[i] &= (uint8_t)(0xff << (8 - (len - bit)));
	}
}

/* An explicit IPv4 octet: 1-3 decimal digits, no leading zero (inet_pton refuses those). */
static bool octet_ok(const char *p, size_t n)
{
	unsigned int v = 0;

	if (n < 1 || n > 3 || (n > 1 && p[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		v = v * 10 + (p[i] - '0');
	}
	return v <= 255;
}

/*
 * Dotted quad with optional trailing whole-octet wildcards. *len is the number of explicit
 * bits (32 without wildcards). 'entry' is what the reason quotes.
 */
static int parse_v4(const char *s, bool allow_wild, uint8_t *addr, unsigned int *len,
		    const char *entry, char *reason, size_t reason_len)
{
	char buf[INET_ADDRSTRLEN + 8];
	const char *p = s;
	int parts = 0, wild_at = -1;
	size_t o = 0;

	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (++parts > 4)
			return fail(reason, reason_len, entry, "too many octets");
		if (n == 1 && p[0] == '*') {
			if (!allow_wild)
				return fail(reason, reason_len, entry,
					    "a wildcard cannot have a prefix length");
			if (wild_at < 0)
				wild_at = parts - 1;
			memcpy(buf + o, "0", 1);
			o += 1;
		} else if (memchr(p, '*', n)) {
			return fail(reason, reason_len, entry,
				    "a wildcard must replace a whole octet");
		} else if (wild_at >= 0) {
			return fail(reason, reason_len, entry, "wildcard is not trailing");
		} else if (!octet_ok(p, n)) {
			return fail(reason, reason_len, entry, "bad octet '%.*s'", (int)n, p);
		} else {
			memcpy(buf + o, p, n);
			o += n;
		}
		if (!dot)
			break;
		buf[o++] = '.';
		p = dot + 1;
	}
	buf[o] = '\0';
	if (parts != 4)
		return fail(reason, reason_len, entry, "expected 4 octets");
	if (inet_pton(AF_INET, buf, addr) != 1)
		return fail(reason, reason_len, entry, "not an IPv4 address");
	*len = wild_at < 0 ? 32 : (unsigned int)wild_at * 8;
	return 0;
}

/* Number of ':'-separated groups in s (which holds no "::"); 0 for "". */
static int count_groups(const char *s, size_t n)
{
	int groups = n ? 1 : 0;

	for (size_t i = 0; i < n; i++)
		groups += s[i] == ':';
	return groups;
}

/*
 * IPv6 with optional trailing wildcards. "2001:db8::*" means the explicit groups before
 * "::*" are the prefix (/32), as the seed's example does; "a:b:c:d:e:f:g:*" and
 * "2001:db8:*:*" likewise take the explicit groups as the prefix. Only when the explicit part
 * itself holds a "::" ("2001:db8::1:*") is it a full address whose last groups are wildcards,
 * 16 bits each.
 */
static int parse_v6(const char *s, bool allow_wild, uint8_t *addr, unsigned int *len,
		    const char *entry, char *reason, size_t reason_len)
{
	const char *star = strchr(s, '*');
	char buf[ENTRY_MAX + 8];
	const char *p, *dc;
	size_t hlen;
	int k = 0;

	/* Per-group checks first, for a reason better than "not an IPv6 address". */
	for (p = s; *p;) {
		size_t n = strcspn(p, ":");

		if (n == 1 && p[0] == '*') {
			/* handled below */
		} else if (memchr(p, '*', n)) {
			return fail(reason, reason_len, entry,
				    "a wildcard must replace a whole group");
		} else if (!memchr(p, '.', n)) {
			if (n > 4)
				return fail(reason, reason_len, entry, "bad group '%.*s'",
					    (int)n, p);
			for (size_t i = 0; i < n; i++)
				if (!isxdigit((unsigned char)p[i]))
					return fail(reason, reason_len, entry, "bad group '%.*s'",
						    (int)n, p);
		}
		p += n;
		if (*p == ':')
			p++;
	}
	dc = strstr(s, "::");
	if (dc && strstr(dc + 1, "::"))
		return fail(reason, reason_len, entry, "'::' may appear only once");

	if (!star) {
		if (inet_pton(AF_INET6, s, addr) != 1)
			return fail(reason, reason_len, entry, "not an IPv6 address");
		*len = 128;
		return 0;
	}
	if (!allow_wild)
		return fail(reason, reason_len, entry, "a wildcard cannot have a prefix length");

	/* From the first '*' on, only "*" groups may follow. */
	for (p = star; *p; p += 2) {
		if (p[0] != '*' || (p[1] && (p[1] != ':' || p[2] != '*')))
			return fail(reason, reason_len, entry, "wildcard is not trailing");
		k++;
		if (!p[1])
			break;
	}

	hlen = star - s;
	if (hlen == 0) {			/* "*:*:..." : everything is wildcard */
		if (k > 8)
			return fail(reason, reason_len, entry, "too many groups");
		memset(addr, 0, 16);
		*len = 0;
		return 0;
	}
	if (s[hlen - 1] != ':')			/* cannot happen after the group checks */
		return fail(reason, reason_len, entry, "wildcard is not trailing");

	if (hlen >= 2 && s[hlen - 2] == ':') {
		/* "<explicit>::*": the explicit groups are the prefix. */
		size_t elen = hlen - 2;
		int e = count_groups(s, elen);

		if (memmem(s, elen, "::", 2) || (elen && (s[0] == ':' || s[elen - 1] == ':')))
			return fail(reason, reason_len, entry, "'::' may appear only once");
		if (e > 7)
			return fail(reason, reason_len, entry, "too many groups");
		snprintf(buf, sizeof(buf), "%.*s::", (int)elen, s);
		*len = 16 * e;
	} else if (memmem(s, hlen, "::", 2)) {
		/* A full address with its last k groups wildcarded. */
		int o = snprintf(buf, sizeof(buf), "%.*s", (int)hlen - 1, s);

		for (int i = 0; i < k && o < (int)sizeof(buf) - 2; i++)
			o += snprintf(buf + o, sizeof(buf) - o, ":0");
		if (k > 7)
			return fail(reason, reason_len, entry, "too many groups");
		*len = 128 - 16 * k;
	} else {
		/* "<explicit>:*[:*...]": the explicit groups are the prefix. */
		size_t elen = hlen - 1;
		int e = count_groups(s, elen);

		if (!elen || s[0] == ':')
			return fail(reason, reason_len, entry, "not an IPv6 address");
		if (e + k > 8)
			return fail(reason, reason_len, entry, "too many groups");
		snprintf(buf, sizeof(buf), "%.*s%s", (int)elen, s, e < 8 ? "::" : "");
		*len = 16 * e;
	}
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return fail(reason, reason_len, entry, "not an IPv6 address");
	return 0;
}

int iplist_parse_entry(const char *text, struct ip_prefix *out, char *reason, size_t reason_len)
{
	char s[ENTRY_MAX + 1], addr_text[ENTRY_MAX + 1];
	const char *b = text, *e, *slash;
	unsigned int len = 0, max;
	struct ip_prefix p = { 0 };
	bool v6;
	size_t n;
	int err;

	if (reason && reason_len)
		reason[0] = '\0';
	while (isspace((unsigned char)*b))
		b++;
	e = b + strlen(b);
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	n = e - b;
	if (n > ENTRY_MAX) {
		snprintf(s, sizeof(s), "%.*s", ENTRY_MAX, b);
		return fail(reason, reason_len, s, "entry too long");
	}
	memcpy(s, b, n);
	s[n] = '\0';
	if (!n)
		return fail(reason, reason_len, s, "empty entry");
	for (size_t i = 0; i < n; i++)
		if (isspace((unsigned char)s[i]))
			return fail(reason, reason_len, s, "unexpected space in entry");
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (strspn(s, "0123456789abcdefABCDEF.:*") != n)
		return fail(reason, reason_len, s, "not an IP address or prefix");
	memcpy(addr_text, s, n);
	addr_text[n] = '\0';
	if (!n)
		return fail(reason, reason_len, s, "missing address");

	v6 = strchr(addr_text, ':') != NULL;
	if (!v6 && !strchr(addr_text, '.')) {
		if (!strcmp(addr_text, "*"))
			return fail(reason, reason_len, s,
				    "a lone '*' is ambiguous, write *.*.*.* or ::*");
		return fail(reason, reason_len, s, "not an IP address or prefix");
	}
	max = v6 ? 128 : 32;
	if (v6)
		err = parse_v6(addr_text, !slash, p.addr, &len, s, reason, reason_len);
	else
		err = parse_v4(addr_text, !slash, p.addr, &len, s, reason, reason_len);
	if (err)
		return err;

	if (slash) {
		const char *d = slash + 1;
		size_t dn = strlen(d);

		if (!dn)
			return fail(reason, reason_len, s, "missing prefix length");
		if (strspn(d, "0123456789") != dn)
			return fail(reason, reason_len, s, "bad prefix length '%s'", d);
		if (dn > 3 || (unsigned int)atoi(d) > max)
			return fail(reason, reason_len, s, "prefix length out of range (0-%u)",
				    max);
		len = atoi(d);
	}

	p.family = v6 ? TM_AF_INET6 : TM_AF_INET;
	p.len = len;
	mask_host_bits(p.addr, len, v6 ? 16 : 4);
	*out = p;
	return 0;
}

static void set_error(struct iplist_error *err, int line, const char *reason)
{
	if (!err)
		return;
	err->line = line;
	snprintf(err->reason, sizeof(err->reason), "%s", reason);
}

static bool prefix_equal(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       !memcmp(a->addr, b->addr, a->family == TM_AF_INET ? 4 : 16);
}

/* Append without the duplicate check. */
static int push(struct iplist *l, const struct ip_prefix *p)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ip_prefix *v = reallocarray(l->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *p;
	return 0;
}

/* Orders indices into v by prefix, then by position, so equal prefixes sort first-seen first. */
static int cmp_index(const void *a, const void *b, void *ctx)
{
	const struct ip_prefix *v = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct ip_prefix *p = &v[i], *q = &v[j];
	int c;

	if (p->family != q->family)
		return p->family < q->family ? -1 : 1;
	if (p->len != q->len)
		return p->len < q->len ? -1 : 1;
	c = memcmp(p->addr, q->addr, p->family == TM_AF_INET ? 4 : 16);
	if (c)
		return c;
	return i < j ? -1 : i > j;
}

/*
 * Keep the first occurrence of every prefix, in input order. A check per appended entry is
 * quadratic (50,000 entries took seconds); sorting indices is O(n log n) and needs n words.
 */
static int dedupe(struct iplist *l)
{
	size_t *idx, o = 0;
	bool *drop;

	if (l->n < 2)
		return 0;
	idx = malloc(l->n * sizeof(*idx));
	drop = calloc(l->n, sizeof(*drop));
	if (!idx || !drop) {
		free(idx);
		free(drop);
		return -ENOMEM;
	}
	for (size_t i = 0; i < l->n; i++)
		idx[i] = i;
	qsort_r(idx, l->n, sizeof(*idx), cmp_index, l->v);
	for (size_t i = 1; i < l->n; i++)
		if (prefix_equal(&l->v[idx[i]], &l->v[idx[i - 1]]))
			drop[idx[i]] = true;
	for (size_t i = 0; i < l->n; i++)
		if (!drop[i])
			l->v[o++] = l->v[i];
	l->n = o;
	free(idx);
	free(drop);
	return 0;
}

/*
 * 'out' is treated as uninitialised and overwritten (callers own at most one list at a
 * time); on error it is left empty so a refused list can never be half-applied.
 */
int iplist_parse(const char *buf, size_t len, struct iplist *out, struct iplist_error *err)
{
	struct iplist l = { 0 };
	const char *p = buf, *end = buf + len;
	char entry[ENTRY_MAX + 2];
	int line = 0, ret;

	*out = (struct iplist){ 0 };
	if (err) {
		err->line = 0;
		err->reason[0] = '\0';
	}
	/* Editors on some systems put a UTF-8 byte order mark first; it is not an entry. */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		p += 3;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *eol = nl ? nl : end;
		const char *hash = memchr(p, '#', eol - p);
		const char *b = p, *e = hash ? hash : eol;
		char reason[sizeof(err->reason)];
		struct ip_prefix pfx;
		size_t n;

		line++;
		p = nl ? nl + 1 : end;
		if (memchr(b, '\0', eol - b)) {
			set_error(err, line, "unexpected NUL byte (not a text file?)");
			ret = -EINVAL;
			goto cleanup;
		}
		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (b == e)
			continue;

		/* One byte more than the entry limit so the parser sees it is too long. */
		n = (size_t)(e - b) > ENTRY_MAX + 1 ? ENTRY_MAX + 1 : (size_t)(e - b);
		memcpy(entry, b, n);
		entry[n] = '\0';
		ret = iplist_parse_entry(entry, &pfx, reason, sizeof(reason));
		if (ret) {
			set_error(err, line, reason);
			goto cleanup;
		}
		ret = push(&l, &pfx);
		if (ret) {
			set_error(err, line, strerror(-ret));
			goto cleanup;
		}
	}
	ret = dedupe(&l);
	if (ret) {
		set_error(err, 0, strerror(-ret));
		goto cleanup;
	}
	*out = l;
	return 0;

cleanup:
	iplist_free(&l);
	return ret;
}

int iplist_load_file(const char *path, struct iplist *out, struct iplist_error *err)
{
	bool is_stdin = !strcmp(path, "-");
	size_t len = 0, cap = 0;
	char *buf = NULL;
	FILE *f;
	int ret;

	*out = (struct iplist){ 0 };
	f = is_stdin ? stdin : fopen(path, "r");
	if (!f) {
		ret = -errno;
		goto fail_io;
	}
	for (;;) {
		size_t got;

		if (cap - len < 4096) {
			char *nb;

			if (cap >= LIST_FILE_MAX) {
				ret = -EFBIG;
				goto fail_io;
			}
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap);
			if (!nb) {
				ret = -ENOMEM;
				goto fail_io;
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			if (ferror(f)) {
				ret = errno ? -errno : -EIO;
				goto fail_io;
			}
			break;
		}
	}
	if (!is_stdin)
		fclose(f);
	ret = iplist_parse(buf ? buf : "", len, out, err);
	free(buf);
	return ret;

fail_io:
	if (f && !is_stdin)
		fclose(f);
	free(buf);
	set_error(err, 0, strerror(-ret));
	return ret;
}

int iplist_load_default(struct iplist *out)
{
	/*
	 * sizeof-based counts so an empty generated family ("[] = {}") simply loops 0 times;
	 * held in variables because "i < 0" on a literal constant trips -Wtype-limits.
	 */
	const size_t n4 = sizeof(untracked_ipv4) / sizeof(untracked_ipv4[0]);
	const size_t n6 = sizeof(untracked_ipv6) / sizeof(untracked_ipv6[0]);
	struct iplist l = { 0 };
	int ret;

	*out = (struct iplist){ 0 };
	for (size_t i = 0; i < n4; i++) {
		uint32_t mask = ntohl(untracked_ipv4[i].mask);
		uint32_t a = untracked_ipv4[i].addr & untracked_ipv4[i].mask;
		struct ip_prefix p = { .family = TM_AF_INET };

		/* Leading ones: a non-contiguous mask is no LPM prefix, so it is cut short. */
		while (p.len < 32 && (mask & (0x80000000u >> p.len)))
			p.len++;
		memcpy(p.addr, &a, 4);
		mask_host_bits(p.addr, p.len, 4);
		ret = iplist_append(&l, &p);
		if (ret && ret != -EEXIST)
			goto cleanup;
	}
	for (size_t i = 0; i < n6; i++) {
		struct ip_prefix p = { .family = TM_AF_INET6 };

		p.len = untracked_ipv6[i].prefix_len > 128 ? 128 : untracked_ipv6[i].prefix_len;
		memcpy(p.addr, untracked_ipv6[i].prefix, 16);
		mask_host_bits(p.addr, p.len, 16);
		ret = iplist_append(&l, &p);
		if (ret && ret != -EEXIST)
			goto cleanup;
	}
	*out = l;
	return 0;

cleanup:
	iplist_free(&l);
	return ret;
}

int iplist_append(struct iplist *l, const struct ip_prefix *p)
{
	if (iplist_find(l, p) >= 0)
		return -EEXIST;
	return push(l, p);
}

int iplist_find(const struct iplist *l, const struct ip_prefix *p)
{
	for (size_t i = 0; i < l->n; i++)
		if (prefix_equal(&l->v[i], p))
			return (int)i;
	return -1;
}

void iplist_remove(struct iplist *l, size_t idx)
{
	if (idx >= l->n)
		return;
	/* Keep the order: the UI lists entries in the order the user wrote them. */
	memmove(&l->v[idx], &l->v[idx + 1], (l->n - idx - 1) * sizeof(l->v[0]));
	l->n--;
}

void iplist_free(struct iplist *l)
{
	free(l->v);
	*l = (struct iplist){ 0 };
}

char *ip_prefix_format(const struct ip_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int af = p->family == TM_AF_INET ? AF_INET : AF_INET6;
	int n;

	if ((p->family != TM_AF_INET && p->family != TM_AF_INET6) || !len)
		return NULL;
	if (!inet_ntop(af, p->addr, a, sizeof(a)))
		return NULL;
	n = snprintf(buf, len, "%s/%u", a, p->len);
	return n < 0 || (size_t)n >= len ? NULL : buf;
}

int ip_prefix_contains(const struct ip_prefix *p, uint8_t family, const uint8_t *addr)
{
	unsigned int full = p->len / 8, rest = p->len % 8;

	if (p->family != family)
		return 0;
	if (memcmp(p->addr, addr, full))
		return 0;
	if (rest) {
		uint8_t m = (uint8_t)(0xff << (8 - rest));

		if ((p->addr[full] & m) != (addr[full] & m))
			return 0;
	}
	return 1;
}

/*
 * The seed's untracked_masks.h, byte for byte in its entry lines, plus a generated-by line
 * and an include guard. __builtin_bswap32 turns the host-order constants into network order
 * on the little-endian hosts the seed targets (and on the bpfel target).
 */
int iplist_write_header(const struct iplist *l, FILE *out)
{
	char text[IP_PREFIX_STRLEN];

	fprintf(out, "/* SPDX-License-Identifier: GPL-2.0 */\n"
		     "/* Generated by ipmask_tool; edit the IP list and run 'make masks' "
		     "instead. */\n"
		     "#ifndef UNTRACKED_MASKS_H\n"
		     "#define UNTRACKED_MASKS_H\n\n");

	fprintf(out, "static const struct ipv4_mask untracked_ipv4[] = {\n");
	for (size_t i = 0; i < l->n; i++) {
		const struct ip_prefix *p = &l->v[i];
		uint32_t a, m;

		if (p->family != TM_AF_INET)
			continue;
		a = (uint32_t)p->addr[0] << 24 | p->addr[1] << 16 | p->addr[2] << 8 | p->addr[3];
		m = p->len ? 0xffffffffu << (32 - p->len) : 0;
		fprintf(out,
			"    { __builtin_bswap32(0x%08x), __builtin_bswap32(0x%08x) }, // %s\n",
			a, m, ip_prefix_format(p, text, sizeof(text)));
	}
	fprintf(out, "};\n");

	fprintf(out, "static const struct ipv6_mask untracked_ipv6[] = {\n");
	for (size_t i = 0; i < l->n; i++) {
		const struct ip_prefix *p = &l->v[i];

		if (p->family != TM_AF_INET6)
			continue;
		fprintf(out, "    { {");
		for (int b = 0; b < 16; b++)
			fprintf(out, " 0x%02x%s", p->addr[b], b < 15 ? "," : "");
		fprintf(out, " }, %u }, // %s\n", p->len, ip_prefix_format(p, text, sizeof(text)));
	}
	fprintf(out, "};\n\n#endif /* UNTRACKED_MASKS_H */\n");

	if (fflush(out) || ferror(out))
		return -EIO;
	return 0;
}
