// SPDX-License-Identifier: GPL-2.0
/*
 * Metrics for Prometheus: the exposition (fold + format, no I/O), the HTTP endpoint on
 * libmicrohttpd's own thread, and the textfile writer's thread. See metrics.h for the rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <microhttpd.h>
#define HASH_NONFATAL_OOM 1
#include <uthash.h>
#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "meter/aggregator.h"
#include "meter/clock.h"
#include "meter/engine.h"
#include "meter/users.h"
#include "backend/rowfmt.h"
#include "service/metrics.h"
#include "service/service.h"

#define CACHE_NS	250000000ULL	/* the engine's counter cadence: nothing newer to show */
#define NAMES_BUDGET_NS	2000000000ULL	/* name lookups one exposition may wait for */
#define HTTP_TIMEOUT_S	10		/* an idle or stalled connection is closed after this */
#define HTTP_MAX_CONNS	32
#define HTTP_MAX_PER_IP	8
#define STICKY		1.25		/* a labelled owner keeps its label until beaten by 25 % */

/* ---- options ----------------------------------------------------------------------------- */

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

int metrics_option(struct service_opts *o, int opt, const char *arg, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;

	switch (opt) {
	case OPT_METRICS_LISTEN:
		if (metrics_parse_listen(arg, &ss, &len, err, errlen))
			return -EINVAL;
		o->metrics_listen = arg;
		return 1;
	case OPT_METRICS_FILE: {
		const char *base = strrchr(arg, '/');

		base = base ? base + 1 : arg;
		if (!*base || !strcmp(base, ".") || !strcmp(base, "..") ||
		    strlen(arg) >= PATH_MAX - 32) {
			snprintf(err, errlen, "bad --metrics-file '%s': the path of a file, e.g. "
				 "/var/lib/prometheus/node-exporter/tmtop.prom", arg);
			return -EINVAL;
		}
		o->metrics_file = arg;
		return 1;
	}
	case OPT_METRICS_MAX_USERS:
		if (parse_uint(arg, 0, METRICS_MAX_MAX_USERS, &o->metrics_max_users)) {
			snprintf(err, errlen, "bad --metrics-max-users '%s': a number of owners "
				 "from 0 to %d", arg, METRICS_MAX_MAX_USERS);
			return -EINVAL;
		}
		return 1;
	case OPT_METRICS_INTERVAL:
		if (parse_uint(arg, 1, METRICS_MAX_INTERVAL_S, &o->metrics_interval_s)) {
			snprintf(err, errlen, "bad --metrics-interval '%s': seconds from 1 to %d",
				 arg, METRICS_MAX_INTERVAL_S);
			return -EINVAL;
		}
		return 1;
	default:
		return 0;
	}
}

void metrics_usage(FILE *out)
{
	fprintf(out,
		"Metrics for Prometheus (off unless asked for):\n"
		"      --metrics-listen ADDR:PORT\n"
		"                         serve /metrics over HTTP on this numeric address,\n"
		"                         e.g. 127.0.0.1:9477 or [::1]:9477\n"
		"      --metrics-file PATH\n"
		"                         write the same metrics to PATH every interval,\n"
		"                         atomically, for node_exporter's textfile collector\n"
		"      --metrics-max-users N\n"
		"                         label the N owners with the most bytes; sum the rest\n"
		"                         under uid=\"other\" (default %d)\n"
		"      --metrics-interval SECONDS\n"
		"                         how often --metrics-file is written (default %d)\n",
		METRICS_DEFAULT_MAX_USERS, METRICS_DEFAULT_INTERVAL_S);
}

int metrics_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *err,
			 size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	const char *colon, *port;
	unsigned int p;
	size_t hl;
	int ret;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':') {
			snprintf(err, errlen, "bad --metrics-listen '%s': give [IPV6]:PORT, e.g. "
				 "[::1]:9477", s);
			return -EINVAL;
		}
		hl = (size_t)(close - s - 1);
		if (hl >= sizeof(host))
			goto bad_addr;
		memcpy(host, s + 1, hl);
		port = close + 2;
		hints.ai_family = AF_INET6;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			snprintf(err, errlen, "bad --metrics-listen '%s': give ADDR:PORT, e.g. "
				 "127.0.0.1:9477", s);
			return -EINVAL;
		}
		if (memchr(s, ':', (size_t)(colon - s))) {
			snprintf(err, errlen, "bad --metrics-listen '%s': an IPv6 address goes in "
				 "brackets, e.g. [::1]:9477", s);
			return -EINVAL;
		}
		hl = (size_t)(colon - s);
		if (hl >= sizeof(host))
			goto bad_addr;
		memcpy(host, s, hl);
		port = colon + 1;
		hints.ai_family = AF_INET;
	}
	host[hl] = '\0';
	if (parse_uint(port, 1, 65535, &p)) {
		snprintf(err, errlen, "bad --metrics-listen '%s': the port must be a number from 1 "
			 "to 65535", s);
		return -EINVAL;
	}
	if (!hl) {
		snprintf(err, errlen, "bad --metrics-listen '%s': give the address too, e.g. "
			 "127.0.0.1:%u (0.0.0.0:%u for every IPv4 address)", s, p, p);
		return -EINVAL;
	}
	if (hints.ai_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		/* inet_pton, not getaddrinfo: "127.1" and "0x7f.1" are not what anyone means */
		memset(ss, 0, sizeof(*ss));
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			goto bad_addr;
		*len = sizeof(*sin);
		return 0;
	}
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret || !res || res->ai_addrlen > sizeof(*ss)) {
		if (res)
			freeaddrinfo(res);
		goto bad_addr;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
bad_addr:
	snprintf(err, errlen, "bad --metrics-listen '%s': '%.*s' is not a numeric %s address "
		 "(names are not resolved: give e.g. %s)", s, (int)hl, *s == '[' ? s + 1 : s,
		 *s == '[' ? "IPv6" : "IPv4", *s == '[' ? "[::1]:9477" : "127.0.0.1:9477");
	return -EINVAL;
}

/* ---- text -------------------------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_need(struct sbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom || b->len + n + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 16384;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	sb_need(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	sb_need(b, (size_t)n);
	if (b->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/*
 * A label value as the exposition format wants it: backslash, double quote and line feed
 * escaped, and valid UTF-8 (a name from a directory service may be anything: a byte that is not
 * UTF-8 becomes U+FFFD rather than making the whole exposition unparsable).
 */
static void sb_label(struct sbuf *b, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t left = strlen(v);

	while (*s) {
		size_t n = *s < 0x80 ? 1 : rowfmt_utf8_len(s, left);

		if (*s == '\\')
			sb_add(b, "\\\\", 2);
		else if (*s == '"')
			sb_add(b, "\\\"", 2);
		else if (*s == '\n')
			sb_add(b, "\\n", 2);
		else if (n)
			sb_add(b, (const char *)s, n);
		else
			sb_add(b, "\xef\xbf\xbd", 3);
		s += n ? n : 1;
		left -= n ? n : 1;
	}
}

static void family(struct sbuf *b, const char *name, const char *type, const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_u64(struct sbuf *b, const char *name, uint64_t v)
{
	sb_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* ---- fold: who gets a label, and "other" ------------------------------------------------- */

struct fold_entry {
	tm_owner_t owner;		/* hash key */
	uint64_t last[4];		/* totals at the last exposition it was in */
	uint64_t cur[4];		/* totals now: the snapshot's, or last when absent */
	uint64_t seen;			/* generation it was last in a snapshot */
	bool labelled;			/* it had its own series last time */
	const char *name;		/* looked up once; NULL until then */
	UT_hash_handle hh;
};

struct metrics_fold {
	unsigned int max_users;
	size_t keep_absent;
	struct fold_entry *map;
	uint64_t gen;
	bool have_other;
	uint64_t other[4];
};

struct cand {
	struct fold_entry *e;
	double score;			/* bytes in + out, more for the labelled: the rank */
};

struct metrics_fold *metrics_fold_new(unsigned int max_users, size_t keep_absent)
{
	struct metrics_fold *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->max_users = max_users;
	f->keep_absent = keep_absent;
	return f;
}

void metrics_fold_free(struct metrics_fold *f)
{
	struct fold_entry *e, *tmp;

	if (!f)
		return;
	HASH_ITER(hh, f->map, e, tmp) {
		HASH_DEL(f->map, e);
		free(e);
	}
	free(f);
}

void metrics_view_free(struct metrics_view *v)
{
	free(v->rows);
	memset(v, 0, sizeof(*v));
}

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->e->owner < y->e->owner ? -1 : x->e->owner > y->e->owner;
}

static int row_cmp(const void *a, const void *b)
{
	const struct metrics_row *x = a, *y = b;

	return x->owner < y->owner ? -1 : x->owner > y->owner;
}

static int seen_cmp(const void *a, const void *b)
{
	const struct fold_entry *x = *(struct fold_entry *const *)a;
	const struct fold_entry *y = *(struct fold_entry *const *)b;

	return x->seen < y->seen ? -1 : x->seen > y->seen;
}

/*
 * Forget the owners absent the longest, past keep_absent. The engine's ledger forgets evicted
 * owners the same way (their totals restart), so one forgotten here starts from zero too.
 */
static void prune(struct metrics_fold *f, size_t present)
{
	size_t n = HASH_COUNT(f->map), k = 0, drop;
	struct fold_entry **v, *e, *tmp;

	if (n <= present + f->keep_absent)
		return;
	v = malloc((n - present) * sizeof(*v));
	if (!v)
		return;
	HASH_ITER(hh, f->map, e, tmp)
		if (e->seen != f->gen && k < n - present)
			v[k++] = e;
	qsort(v, k, sizeof(*v), seen_cmp);
	drop = n - present - f->keep_absent;
	for (size_t i = 0; i < drop && i < k; i++) {
		HASH_DEL(f->map, v[i]);
		free(v[i]);
	}
	free(v);
}

int metrics_fold(struct metrics_fold *f, const struct snapshot *s, struct metrics_view *v)
{
	size_t present = 0, n, nc = 0, ns = 0, labels = 0, max_rows;
	struct fold_entry *e, *tmp;
	struct cand *c;

	memset(v, 0, sizeof(*v));
	f->gen++;
	for (size_t i = 0; i < s->nusers; i++) {
		const struct snap_user *u = &s->users[i];

		HASH_FIND(hh, f->map, &u->owner, sizeof(u->owner), e);
		if (!e) {
			e = calloc(1, sizeof(*e));
			if (!e)
				return -ENOMEM;
			e->owner = u->owner;
			HASH_ADD(hh, f->map, owner, sizeof(e->owner), e);
			if (!f->map) {
				free(e);
				return -ENOMEM;
			}
		}
		if (e->seen == f->gen)
			continue;	/* the same owner twice: count it once */
		e->seen = f->gen;
		e->cur[0] = u->bytes[0];
		e->cur[1] = u->bytes[1];
		e->cur[2] = u->packets[0];
		e->cur[3] = u->packets[1];
		present++;
	}
	prune(f, present);
	n = HASH_COUNT(f->map);
	max_rows = n < (size_t)f->max_users + 2 ? n : (size_t)f->max_users + 2;
	c = calloc(n ? n : 1, sizeof(*c));
	v->rows = calloc(max_rows ? max_rows : 1, sizeof(*v->rows));
	if (!c || !v->rows) {
		free(c);
		metrics_view_free(v);
		return -ENOMEM;
	}
	HASH_ITER(hh, f->map, e, tmp) {
		/*
		 * An owner evicted from the engine's live table is idle, and its totals come back
		 * with it: it keeps its series at the totals last seen rather than going stale.
		 */
		if (e->seen != f->gen)
			memcpy(e->cur, e->last, sizeof(e->cur));
		c[nc].e = e;
		/* Special owners are few and always worth a label: they never take a user's. */
		if (!OWNER_IS_USER(e->owner)) {
			c[nc++].score = INFINITY;
			ns++;
			continue;
		}
		c[nc].score = (double)e->cur[0] + (double)e->cur[1];
		if (e->labelled)
			c[nc].score *= STICKY;
		nc++;
	}
	qsort(c, nc, sizeof(*c), cand_cmp);
	for (size_t i = 0; i < nc; i++) {
		uint64_t delta[4];

		e = c[i].e;
		for (int k = 0; k < 4; k++) {
			/* less than before: the engine forgot it, and it started again from 0 */
			delta[k] = e->cur[k] >= e->last[k] ? e->cur[k] - e->last[k] : e->cur[k];
			e->last[k] = e->cur[k];
		}
		e->labelled = i < ns + f->max_users && labels < max_rows;
		if (e->labelled) {
			struct metrics_row *r = &v->rows[labels++];

			r->owner = e->owner;
			memcpy(r->v, e->cur, sizeof(r->v));
			r->name = e->name;
			continue;
		}
		for (int k = 0; k < 4; k++)
			f->other[k] += delta[k];
		f->have_other = true;
		v->folded++;
	}
	v->nrows = labels;
	qsort(v->rows, v->nrows, sizeof(*v->rows), row_cmp);
	v->have_other = f->have_other;
	memcpy(v->other, f->other, sizeof(v->other));
	free(c);
	return 0;
}

void metrics_fold_set_name(struct metrics_fold *f, tm_owner_t owner, const char *name)
{
	struct fold_entry *e;

	HASH_FIND(hh, f->map, &owner, sizeof(owner), e);
	if (e)
		e->name = name;
}

/* ---- format ------------------------------------------------------------------------------ */

static const struct {
	const char *name;
	const char *help;
} user_families[4] = {
	{ "tmtop_user_receive_bytes_total",
	  "Bytes received by the owner's sockets (IP header and payload), from the kernel's "
	  "counters." },
	{ "tmtop_user_transmit_bytes_total",
	  "Bytes sent by the owner's sockets (IP header and payload), from the kernel's "
	  "counters." },
	{ "tmtop_user_receive_packets_total",
	  "Packets received by the owner's sockets (a GRO batch counts once)." },
	{ "tmtop_user_transmit_packets_total",
	  "Packets sent by the owner's sockets (a GSO batch counts once)." },
};

static const struct {
	const char *name;
	const char *help;
} total_families[4] = {
	{ "tmtop_receive_bytes_total",
	  "Bytes received in the watched cgroup, every owner included (evicted, folded, "
	  "unattributed)." },
	{ "tmtop_transmit_bytes_total",
	  "Bytes sent from the watched cgroup, every owner included (evicted, folded, "
	  "unattributed)." },
	{ "tmtop_receive_packets_total",
	  "Packets received in the watched cgroup, every owner included." },
	{ "tmtop_transmit_packets_total",
	  "Packets sent from the watched cgroup, every owner included." },
};

static void user_labels(struct sbuf *b, tm_owner_t owner, const char *name)
{
	char tok[OWNER_TOKEN_LEN];

	sb_add(b, "{uid=\"", 6);
	sb_label(b, owner_token(owner, tok, sizeof(tok)));
	sb_add(b, "\",user=\"", 8);
	sb_label(b, name);
	sb_add(b, "\"}", 2);
}

static void log_sample(struct sbuf *b, const struct snapshot *s, size_t i, const char *name,
		       uint64_t v)
{
	char label[32];
	bool dup = false;

	for (size_t j = 0; j < i; j++)
		dup |= !strcmp(s->logs[j].name, s->logs[i].name);
	/* two backends of one kind would make two series with one label set */
	snprintf(label, sizeof(label), dup ? "%s_%zu" : "%s", s->logs[i].name, i);
	sb_printf(b, "%s{backend=\"", name);
	sb_label(b, label);
	sb_printf(b, "\"} %llu\n", (unsigned long long)v);
}

#define LOG_FAMILY(b, s, name, type, help, field)					\
	do {										\
		if (!(s)->nlogs)							\
			break;								\
		family(b, name, type, help);						\
		for (size_t i_ = 0; i_ < (s)->nlogs; i_++)				\
			log_sample(b, s, i_, name, (uint64_t)(s)->logs[i_].st.field);	\
	} while (0)

int metrics_format(const struct snapshot *s, const struct metrics_view *v,
		   const struct metrics_self *self, char **out, size_t *len)
{
	const struct snap_stats *st = &s->stats;
	struct sbuf b = { 0 };

	family(&b, "tmtop_build_info", "gauge",
	       "A metric with a constant '1' value labelled by the meter's version.");
	sb_add(&b, "tmtop_build_info{version=\"", 26);
	sb_label(&b, s->meter.version);
	sb_add(&b, "\"} 1\n", 5);
	family(&b, "tmtop_start_time_seconds", "gauge",
	       "When the meter started, in seconds since the epoch: a new value means every "
	       "counter started again from zero.");
	sb_printf(&b, "tmtop_start_time_seconds %lld.%03ld\n", (long long)s->meter.started.tv_sec,
		  s->meter.started.tv_nsec / 1000000);

	for (int k = 0; k < 4; k++) {
		family(&b, user_families[k].name, "counter", user_families[k].help);
		for (size_t i = 0; i < v->nrows; i++) {
			if (!v->rows[i].name)
				continue;
			sb_add(&b, user_families[k].name, strlen(user_families[k].name));
			user_labels(&b, v->rows[i].owner, v->rows[i].name);
			sb_printf(&b, " %llu\n", (unsigned long long)v->rows[i].v[k]);
		}
		if (v->have_other)
			sb_printf(&b, "%s{uid=\"other\",user=\"other\"} %llu\n",
				  user_families[k].name, (unsigned long long)v->other[k]);
	}
	family(&b, "tmtop_metrics_users_folded", "gauge",
	       "Owners summed under uid=\"other\" in this exposition (past --metrics-max-users).");
	sample_u64(&b, "tmtop_metrics_users_folded", v->folded);
	family(&b, "tmtop_metrics_names_pending", "gauge",
	       "Owners left out of this exposition because their user name was not looked up in "
	       "time; they come back with their full totals.");
	sample_u64(&b, "tmtop_metrics_names_pending", self ? self->names_pending : 0);
	if (self && self->file) {
		family(&b, "tmtop_metrics_file_write_errors_total", "counter",
		       "Failed writes of --metrics-file (each retried at the next interval).");
		sample_u64(&b, "tmtop_metrics_file_write_errors_total", self->file_errors);
	}

	for (int k = 0; k < 4; k++) {
		family(&b, total_families[k].name, "counter", total_families[k].help);
		sample_u64(&b, total_families[k].name,
			   k < 2 ? s->totals.bytes[k] : s->totals.packets[k - 2]);
	}
	family(&b, "tmtop_users", "gauge", "Owners in the meter's live table.");
	sample_u64(&b, "tmtop_users", st->users);
	family(&b, "tmtop_kernel_owners", "gauge", "Owners in the kernel's counter table.");
	sample_u64(&b, "tmtop_kernel_owners", st->kernel_owners);
	family(&b, "tmtop_sockets", "gauge", "Sockets the meter knows the creator of.");
	sample_u64(&b, "tmtop_sockets", st->sockets);
	family(&b, "tmtop_events_total", "counter",
	       "Packet records received from the kernel's ring buffer.");
	sample_u64(&b, "tmtop_events_total", st->events);
	family(&b, "tmtop_events_lost_total", "counter",
	       "Packet records lost because the ring buffer was full (the per-user counters stay "
	       "exact; logs and peers miss them).");
	sample_u64(&b, "tmtop_events_lost_total", st->lost);
	family(&b, "tmtop_socket_events_lost_total", "counter",
	       "Socket records lost because the ring buffer was full (retried at the next "
	       "packet).");
	sample_u64(&b, "tmtop_socket_events_lost_total", st->sock_lost);
	family(&b, "tmtop_kernel_table_full_total", "counter",
	       "Packets the kernel could not charge to their owner because its owner table was "
	       "full (counted in the machine totals only).");
	sample_u64(&b, "tmtop_kernel_table_full_total", st->table_full);
	family(&b, "tmtop_kernel_evictions_total", "counter",
	       "Owners moved out of the kernel's table to make room (their totals are kept).");
	sample_u64(&b, "tmtop_kernel_evictions_total", st->kernel_evicted);
	family(&b, "tmtop_evictions_total", "counter",
	       "Idle owners moved out of the meter's live table (their totals are kept).");
	sample_u64(&b, "tmtop_evictions_total", st->evicted);
	family(&b, "tmtop_forgotten_owners_total", "counter",
	       "Evicted owners whose totals were dropped: their counters start again from zero.");
	sample_u64(&b, "tmtop_forgotten_owners_total", st->forgotten);

	LOG_FAMILY(&b, s, "tmtop_log_records_total", "counter",
		   "Packet records handed to the log backend.", records);
	LOG_FAMILY(&b, s, "tmtop_log_rows_written_total", "counter",
		   "Rows (or lines) that reached the log files.", rows);
	LOG_FAMILY(&b, s, "tmtop_log_written_bytes_total", "counter",
		   "Bytes written to the log files.", bytes);
	LOG_FAMILY(&b, s, "tmtop_log_write_errors_total", "counter",
		   "Failed log writes (disk full, I/O error, refused file).", write_errors);
	LOG_FAMILY(&b, s, "tmtop_log_rows_dropped_total", "counter",
		   "Records lost to log write errors.", dropped);
	LOG_FAMILY(&b, s, "tmtop_log_rows_not_written_total", "counter",
		   "Records held back by a size or free-space limit.", not_written);
	LOG_FAMILY(&b, s, "tmtop_log_rotations_total", "counter",
		   "Log files rotated for --max-file-size.", rotations);
	LOG_FAMILY(&b, s, "tmtop_log_open_files", "gauge", "Log files open now.", open_files);
	LOG_FAMILY(&b, s, "tmtop_log_healthy", "gauge",
		   "1 when the backend's last write or flush succeeded, else 0.", healthy);

	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

/* ---- the module -------------------------------------------------------------------------- */

struct metrics {
	const struct service_opts *opts;
	struct engine *engine;
	void (*report)(const char *line);

	/* HTTP */
	int lfd;			/* bound before the switch; MHD owns it once started */
	char url[96];
	struct MHD_Daemon *mhd;

	/* Expositions: snapshot + fold under render_lock; names and text outside it. */
	pthread_mutex_t render_lock;
	struct metrics_fold *fold;
	char *cache;			/* the last exposition, shared by scrapes CACHE_NS apart */
	size_t cache_len;
	uint64_t cache_ns;
	uint64_t cache_gen;
	uint64_t gen;
	uint64_t file_errors;		/* under render_lock */

	/* --metrics-file */
	int dirfd;
	char base[NAME_MAX + 1];
	char tmp[NAME_MAX + 1];
	bool file_written;		/* the file is ours to remove at stop */
	bool failing;			/* the last write failed (reported once) */
	int last_error;			/* -errno of that failure */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping;
};

static void report(struct metrics *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(struct metrics *m, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!m->report)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	m->report(line);
}

/* Names for the rows that have none yet, within the budget; the rest wait for next time. */
static size_t lookup_names(struct metrics *m, struct metrics_view *v)
{
	uint64_t deadline = tm_now_ns() + NAMES_BUDGET_NS;
	size_t pending = 0, found = 0;

	for (size_t i = 0; i < v->nrows; i++) {
		if (v->rows[i].name)
			continue;
		if (tm_now_ns() > deadline) {
			pending++;
			continue;
		}
		v->rows[i].name = owner_name(v->rows[i].owner);
		found++;
	}
	if (found) {
		pthread_mutex_lock(&m->render_lock);
		for (size_t i = 0; i < v->nrows; i++)
			if (v->rows[i].name)
				metrics_fold_set_name(m->fold, v->rows[i].owner, v->rows[i].name);
		pthread_mutex_unlock(&m->render_lock);
	}
	return pending;
}

/* One exposition, in a malloc'd copy the caller frees. 0 or -errno. */
static int expose(struct metrics *m, char **out, size_t *outlen)
{
	struct snap_request req = { 0 };
	struct metrics_self self = { .file = m->opts->metrics_file != NULL };
	struct metrics_view v;
	struct snapshot s;
	uint64_t gen;
	char *text;
	size_t len;
	int ret;

	pthread_mutex_lock(&m->render_lock);
	if (m->cache && tm_now_ns() - m->cache_ns < CACHE_NS) {
		*out = malloc(m->cache_len + 1);
		if (*out) {
			memcpy(*out, m->cache, m->cache_len + 1);
			*outlen = m->cache_len;
		}
		pthread_mutex_unlock(&m->render_lock);
		return *out ? 0 : -ENOMEM;
	}
	/* Under render_lock so that folds see snapshots in the order they were taken. */
	ret = engine_snapshot(m->engine, &req, &s);
	if (ret) {
		pthread_mutex_unlock(&m->render_lock);
		return ret;
	}
	ret = metrics_fold(m->fold, &s, &v);
	gen = ++m->gen;
	self.file_errors = m->file_errors;
	pthread_mutex_unlock(&m->render_lock);
	if (ret) {
		snapshot_free(&s);
		return ret;
	}
	self.names_pending = lookup_names(m, &v);
	ret = metrics_format(&s, &v, &self, &text, &len);
	metrics_view_free(&v);
	snapshot_free(&s);
	if (ret)
		return ret;
	pthread_mutex_lock(&m->render_lock);
	if (gen > m->cache_gen) {
		char *copy = malloc(len + 1);

		if (copy) {
			memcpy(copy, text, len + 1);
			free(m->cache);
			m->cache = copy;
			m->cache_len = len;
			m->cache_gen = gen;
			m->cache_ns = tm_now_ns();
		}
	}
	pthread_mutex_unlock(&m->render_lock);
	*out = text;
	*outlen = len;
	return 0;
}

/* ---- HTTP -------------------------------------------------------------------------------- */

static enum MHD_Result respond(struct MHD_Connection *c, unsigned int status, char *body,
			       size_t len, enum MHD_ResponseMemoryMode mode, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

#define TEXT_PLAIN "text/plain; charset=utf-8"

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	static const char not_found[] = "not found: the metrics are at /metrics\n";
	static const char not_allowed[] = "only GET and HEAD\n";
	static const char failed[] = "the meter could not take a snapshot\n";
	static int seen;
	struct metrics *m = cls;
	char *body;
	size_t len;

	/* Answer at the second call, when the request is whole: libmicrohttpd closes a
	 * connection answered before that, and Prometheus would reconnect at every scrape. */
	if (!*req_cls) {
		*req_cls = &seen;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, (char *)not_allowed,
			       sizeof(not_allowed) - 1, MHD_RESPMEM_PERSISTENT, TEXT_PLAIN);
	if (strcmp(url, "/metrics"))
		return respond(c, MHD_HTTP_NOT_FOUND, (char *)not_found, sizeof(not_found) - 1,
			       MHD_RESPMEM_PERSISTENT, TEXT_PLAIN);
	if (expose(m, &body, &len))
		return respond(c, MHD_HTTP_SERVICE_UNAVAILABLE, (char *)failed,
			       sizeof(failed) - 1, MHD_RESPMEM_PERSISTENT, TEXT_PLAIN);
	return respond(c, MHD_HTTP_OK, body, len, MHD_RESPMEM_MUST_FREE, METRICS_CONTENT_TYPE);
}

static int bind_listen(struct metrics *m, const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2], port[8];
	socklen_t len;
	int one = 1, ret;

	ret = metrics_parse_listen(spec, &ss, &len, err, errlen);
	if (ret)
		return ret;
	m->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m->lfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot make a socket for --metrics-listen %s: %s", spec,
			 strerror(errno));
		return ret;
	}
	/* a restart must not wait for the last run's connections in TIME_WAIT */
	setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(m->lfd, (struct sockaddr *)&ss, len) || listen(m->lfd, 64)) {
		ret = -errno;
		snprintf(err, errlen, "cannot listen on %s for metrics: %s%s", spec,
			 strerror(errno), errno == EADDRINUSE ? " (something else listens there: "
			 "choose another --metrics-listen port)" : errno == EADDRNOTAVAIL ?
			 " (not an address of this host)" : errno == EACCES ?
			 " (a port below 1024 needs root)" : "");
		close(m->lfd);
		m->lfd = -1;
		return ret;
	}
	if (getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(m->url, sizeof(m->url), "http://%s/metrics", spec);
	else
		snprintf(m->url, sizeof(m->url), ss.ss_family == AF_INET6 ?
			 "http://[%s]:%s/metrics" : "http://%s:%s/metrics", host, port);
	return 0;
}

/* ---- the file ---------------------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write the exposition to a temporary file beside the target and rename it over. 0 or -errno. */
static int write_file(struct metrics *m)
{
	char *text = NULL;
	size_t len = 0;
	int fd, ret;

	ret = expose(m, &text, &len);
	if (ret)
		return ret;
	fd = openat(m->dirfd, m->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno == EEXIST) {
		/* left by a run that died mid-write (same pid): ours to replace */
		unlinkat(m->dirfd, m->tmp, 0);
		fd = openat(m->dirfd, m->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			    0644);
	}
	if (fd < 0) {
		ret = -errno;
		free(text);
		return ret;
	}
	/* 0644 whatever the umask: node_exporter runs as another user */
	ret = fchmod(fd, 0644) ? -errno : 0;
	if (!ret)
		ret = write_all(fd, text, len);
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && renameat(m->dirfd, m->tmp, m->dirfd, m->base))
		ret = -errno;
	if (ret)
		unlinkat(m->dirfd, m->tmp, 0);
	free(text);
	return ret;
}

static void file_tick(struct metrics *m)
{
	int ret = write_file(m);

	if (ret) {
		pthread_mutex_lock(&m->render_lock);
		m->file_errors++;
		pthread_mutex_unlock(&m->render_lock);
		/* once per cause: the same error every interval would flood the journal */
		if (!m->failing || ret != m->last_error)
			report(m, "cannot write metrics to %s: %s (retrying every %u s)",
			       m->opts->metrics_file, strerror(-ret), m->opts->metrics_interval_s);
		m->failing = true;
		m->last_error = ret;
		return;
	}
	if (m->failing)
		report(m, "metrics written to %s again", m->opts->metrics_file);
	m->failing = false;
	m->file_written = true;
}

static void *file_loop(void *arg)
{
	struct metrics *m = arg;
	struct timespec until;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&m->stop_lock);
	while (!m->stopping) {
		pthread_mutex_unlock(&m->stop_lock);
		file_tick(m);
		pthread_mutex_lock(&m->stop_lock);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += m->opts->metrics_interval_s;
		while (!m->stopping &&
		       pthread_cond_timedwait(&m->stop_cond, &m->stop_lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&m->stop_lock);
	return NULL;
}

static int open_file_dir(struct metrics *m, const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int ret;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	snprintf(m->base, sizeof(m->base), "%s", slash ? slash + 1 : path);
	/* hidden and not *.prom: the textfile collector never reads a half-written file */
	snprintf(m->tmp, sizeof(m->tmp), ".%.200s.%d.tmp", m->base, (int)getpid());
	m->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (m->dirfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot use --metrics-file %s: %s: %s", path, dir,
			 strerror(errno));
		return ret;
	}
	return 0;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

int metrics_open(struct metrics **out, const struct service_opts *o, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	struct metrics *m;
	int ret;

	*out = NULL;
	if (!o->metrics_listen && !o->metrics_file)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->opts = o;
	m->report = o->report;
	m->lfd = -1;
	m->dirfd = -1;
	pthread_mutex_init(&m->render_lock, NULL);
	pthread_mutex_init(&m->stop_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->stop_cond, &ca);
	pthread_condattr_destroy(&ca);
	m->fold = metrics_fold_new(o->metrics_max_users, AGG_DEFAULT_LEDGER);
	if (!m->fold) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	if (o->metrics_listen) {
		ret = bind_listen(m, o->metrics_listen, err, errlen);
		if (ret)
			goto fail;
	}
	if (o->metrics_file) {
		ret = open_file_dir(m, o->metrics_file, err, errlen);
		if (ret)
			goto fail;
	}
	*out = m;
	return 0;
fail:
	metrics_free(m);
	return ret;
}

int metrics_start(struct metrics *m, struct engine *e, char *err, size_t errlen)
{
	int ret;

	if (!m)
		return 0;
	m->engine = e;
	if (m->lfd >= 0) {
		/*
		 * One internal thread polls and answers: an exposition is a snapshot copy and some
		 * text, so scrapes at once are served one after the other, each bounded by the
		 * name budget; a client that stalls is dropped after HTTP_TIMEOUT_S.
		 */
		m->mhd = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, on_request,
					  m, MHD_OPTION_LISTEN_SOCKET, m->lfd,
					  MHD_OPTION_CONNECTION_TIMEOUT,
					  (unsigned int)HTTP_TIMEOUT_S,
					  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_MAX_CONNS,
					  MHD_OPTION_PER_IP_CONNECTION_LIMIT,
					  (unsigned int)HTTP_MAX_PER_IP,
					  MHD_OPTION_END);
		if (!m->mhd) {
			snprintf(err, errlen, "cannot serve metrics on %s (libmicrohttpd failed "
				 "to start)", m->opts->metrics_listen);
			return -EIO;
		}
		m->lfd = -1;	/* closed by MHD_stop_daemon */
	}
	if (m->dirfd >= 0) {
		ret = -pthread_create(&m->thread, NULL, file_loop, m);
		if (ret) {
			snprintf(err, errlen, "cannot start the metrics file thread: %s",
				 strerror(-ret));
			return ret;
		}
		m->thread_started = true;
	}
	return 0;
}

const char *metrics_url(const struct metrics *m)
{
	return m && m->url[0] ? m->url : NULL;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	if (m->thread_started) {
		pthread_mutex_lock(&m->stop_lock);
		m->stopping = true;
		pthread_cond_signal(&m->stop_cond);
		pthread_mutex_unlock(&m->stop_lock);
		pthread_join(m->thread, NULL);
		m->thread_started = false;
	}
	if (m->mhd) {
		MHD_stop_daemon(m->mhd);
		m->mhd = NULL;
	}
	if (m->file_written) {
		/* a meter that stopped must not look like one whose counters froze */
		unlinkat(m->dirfd, m->base, 0);
		m->file_written = false;
	}
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	metrics_stop(m);
	if (m->lfd >= 0)
		close(m->lfd);
	if (m->dirfd >= 0)
		close(m->dirfd);
	metrics_fold_free(m->fold);
	free(m->cache);
	pthread_mutex_destroy(&m->render_lock);
	pthread_mutex_destroy(&m->stop_lock);
	pthread_cond_destroy(&m->stop_cond);
	free(m);
}
