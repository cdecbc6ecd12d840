// SPDX-License-Identifier: GPL-2.0
/*
 * The collector: skeleton lifecycle (open -> rodata and map sizes -> load -> attach), batched
 * ring-buffer draining, counter reads and the live ignore list. The only code that talks to BPF.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "traffic_meter.skel.h"
#include "bpf/traffic_meter.h"
#include "meter/clock.h"
#include "meter/collector.h"

_Static_assert(sizeof(struct tm_event) == 56, "tm_event layout changed: update both sides");
_Static_assert(sizeof(struct tm_counters) == 32, "tm_counters layout changed");
_Static_assert(sizeof(struct tm_lpm_v4) == 8 && sizeof(struct tm_lpm_v6) == 20, "lpm keys");

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

struct ignore_entry {
	struct ip_prefix p;
	bool enabled;			/* present in the kernel's trie */
};

struct collector {
	struct traffic_meter_bpf *skel;
	struct bpf_link *links[2];	/* ingress, egress */
	struct ring_buffer *rb;
	int cgroup_fd;
	int ncpus;
	int64_t clock_offset;		/* boot -> wall, re-sampled every drain */
	uint64_t events;		/* delivered to callbacks */
	uint64_t budget_end;		/* this drain stops at this event count */
	bool backlog;			/* the last drain stopped on its budget */
	collector_event_fn fn;		/* set for the duration of one drain */
	void *fn_ctx;
	pthread_mutex_t ignore_lock;	/* the UI edits while the engine thread runs */
	struct ignore_entry *ign;
	size_t nign, capign;
};

/* libbpf's messages: kept (the last line explains a load failure), printed only with -v. */
static char last_libbpf_msg[512];
static bool libbpf_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	va_list copy;
	size_t n;

	va_copy(copy, ap);
	vsnprintf(line, sizeof(line), fmt, copy);
	va_end(copy);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	/* The verifier log arrives as one message; its last meaningful line is the reason. */
	if (level <= LIBBPF_WARN && n) {
		char *p = line, *best = NULL;

		char *save = NULL;

		for (char *l = strtok_r(p, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (*l && !strstr(l, "END PROG LOAD LOG") && !strstr(l, "processed "))
				best = l;
		if (best)
			snprintf(last_libbpf_msg, sizeof(last_libbpf_msg), "%s", best);
	}
	return libbpf_verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static void lpm_key(const struct ip_prefix *p, struct tm_lpm_v6 *k6, struct tm_lpm_v4 *k4)
{
	if (p->family == TM_AF_INET) {
		k4->prefixlen = p->len;
		memcpy(k4->addr, p->addr, 4);
	} else {
		k6->prefixlen = p->len;
		memcpy(k6->addr, p->addr, 16);
	}
}

static int ignore_map_set(struct collector *c, const struct ip_prefix *p, bool on)
{
	struct tm_lpm_v4 k4 = {};
	struct tm_lpm_v6 k6 = {};
	struct bpf_map *map;
	const void *key;
	__u8 one = 1;
	int err;

	lpm_key(p, &k6, &k4);
	map = p->family == TM_AF_INET ? c->skel->maps.ignore_v4 : c->skel->maps.ignore_v6;
	key = p->family == TM_AF_INET ? (const void *)&k4 : (const void *)&k6;
	if (on)
		err = bpf_map_update_elem(bpf_map__fd(map), key, &one, BPF_ANY);
	else
		err = bpf_map_delete_elem(bpf_map__fd(map), key);
	if (err && !(!on && errno == ENOENT))
		return -errno;
	return 0;
}

static int ignore_push(struct collector *c, const struct ip_prefix *p)
{
	if (c->nign == c->capign) {
		size_t cap = c->capign ? c->capign * 2 : 16;
		struct ignore_entry *v = realloc(c->ign, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->ign = v;
		c->capign = cap;
	}
	c->ign[c->nign].p = *p;
	c->ign[c->nign].enabled = true;
	c->nign++;
	return 0;
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;
	const struct tm_event *e = data;
	struct traffic_record rec;

	if (size < sizeof(*e))
		return 0;
	rec.uid = e->uid;
	rec.bytes = e->bytes;
	rec.direction = e->direction;
	rec.family = e->family;
	memcpy(rec.src, e->saddr, 16);
	memcpy(rec.dst, e->daddr, 16);
	rec.ts = tm_boot_to_wall(e->ts_boot_ns, c->clock_offset);
	c->events++;
	if (c->fn)
		c->fn(c->fn_ctx, &rec);
	/*
	 * Under a flood the ring never empties and ring_buffer__consume() would never return,
	 * starving the flush, the counter samples and the stop request. A negative return
	 * makes libbpf stop after this record (already consumed).
	 */
	return c->events >= c->budget_end ? -EAGAIN : 0;
}

int collector_open(struct collector **out, const struct collector_opts *opts, char *err,
		   size_t errlen)
{
	struct collector *c;
	size_t ring = opts->ring_bytes ? opts->ring_bytes : (size_t)TM_DEFAULT_RING_MB << 20;
	int ret;

	*out = NULL;
	libbpf_verbose = opts->verbose;
	libbpf_set_print(libbpf_print);
	last_libbpf_msg[0] = '\0';

	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->cgroup_fd = -1;
	pthread_mutex_init(&c->ignore_lock, NULL);
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0) {
		ret = c->ncpus ? c->ncpus : -EINVAL;
		snprintf(err, errlen, "cannot count CPUs: %s", strerror(-ret));
		goto cleanup;
	}

	c->cgroup_fd = open(opts->cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->cgroup_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open cgroup %s: %s", opts->cgroup_path,
			 strerror(errno));
		goto cleanup;
	}

	c->skel = traffic_meter_bpf__open();
	if (!c->skel) {
		ret = -errno;
		snprintf(err, errlen, "failed to open BPF object: %s", strerror(errno));
		goto cleanup;
	}
	c->skel->rodata->ignore_mode = opts->ignore_mode;
	c->skel->rodata->filter_ifindex = opts->ifindex;
	c->skel->rodata->emit_events = !opts->counters_only;
	/* Wake the reader early only when a quarter of the ring is queued; else it drains on
	 * its timer. A wake-up per event costs the watched traffic half its rate. */
	c->skel->rodata->wakeup_bytes = ring / 4;
	if (opts->counters_only)
		ring = (size_t)sysconf(_SC_PAGESIZE);
	ret = bpf_map__set_max_entries(c->skel->maps.events, ring);
	if (ret) {
		snprintf(err, errlen, "bad ring buffer size %zu: %s", ring, strerror(-ret));
		goto cleanup;
	}

	ret = traffic_meter_bpf__load(c->skel);
	if (ret) {
		if (ret == -EPERM || ret == -EACCES)
			snprintf(err, errlen, "failed to load BPF programs: %s (run as root, or "
				 "with CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON)", strerror(-ret));
		else
			snprintf(err, errlen, "failed to load BPF programs: %s%s%s", strerror(-ret),
				 last_libbpf_msg[0] ? ": " : "", last_libbpf_msg);
		goto cleanup;
	}

	/* Fill the ignore list before attaching so no packet is counted that should not be. */
	if (opts->ignore) {
		for (size_t i = 0; i < opts->ignore->n; i++) {
			ret = ignore_push(c, &opts->ignore->v[i]);
			if (!ret)
				ret = ignore_map_set(c, &opts->ignore->v[i], true);
			if (ret) {
				snprintf(err, errlen, "cannot load ignore list entry %zu into the "
					 "kernel: %s (at most %d per family)", i + 1,
					 strerror(-ret), TM_MAX_IGNORE);
				goto cleanup;
			}
		}
	}

	if (!opts->counters_only) {
		c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), handle_event, c, NULL);
		if (!c->rb) {
			ret = -errno;
			snprintf(err, errlen, "failed to create ring buffer reader: %s",
				 strerror(errno));
			goto cleanup;
		}
	}
	c->clock_offset = tm_clock_offset_ns();

	c->links[0] = bpf_program__attach_cgroup(c->skel->progs.tm_ingress, c->cgroup_fd);
	if (!c->links[0]) {
		ret = -errno;
		goto attach_fail;
	}
	c->links[1] = bpf_program__attach_cgroup(c->skel->progs.tm_egress, c->cgroup_fd);
	if (!c->links[1]) {
		ret = -errno;
		goto attach_fail;
	}
	*out = c;
	return 0;

attach_fail:
	snprintf(err, errlen, "failed to attach to %s: %s%s", opts->cgroup_path, strerror(-ret),
		 ret == -EPERM ? " (run as root)" : " (is it a cgroup v2 directory?)");
cleanup:
	collector_close(c);
	return ret < 0 ? ret : -EINVAL;
}

int collector_drain(struct collector *c, collector_event_fn fn, void *ctx)
{
	uint64_t before = c->events;
	int ret;

	if (!c->rb)
		return 0;
	c->clock_offset = tm_clock_offset_ns();
	c->fn = fn;
	c->fn_ctx = ctx;
	c->budget_end = before + COLLECTOR_DRAIN_BUDGET;
	ret = ring_buffer__consume(c->rb);
	c->fn = NULL;
	c->backlog = ret == -EAGAIN;
	if (ret < 0 && ret != -EAGAIN)
		return ret;
	return (int)(c->events - before);
}

int collector_poll(struct collector *c, int timeout_ms, collector_event_fn fn, void *ctx)
{
	struct pollfd pfd;

	if (!c->rb) {
		usleep((useconds_t)timeout_ms * 1000);
		return 0;
	}
	/*
	 * Events are submitted without wake-ups, so this sleeps the whole timeout unless the
	 * fill threshold wakes the epoll fd early; either way everything queued is drained.
	 */
	pfd.fd = ring_buffer__epoll_fd(c->rb);
	pfd.events = POLLIN;
	if (poll(&pfd, 1, timeout_ms) < 0 && errno == EINTR)
		return -EINTR;
	return collector_drain(c, fn, ctx);
}

bool collector_backlog(const struct collector *c)
{
	return c->backlog;
}

int collector_read_counters(struct collector *c, struct uid_total **out)
{
	int fd = bpf_map__fd(c->skel->maps.uid_counters);
	struct tm_counters *vals;
	struct uid_total *res = NULL;
	size_t n = 0, cap = 0;
	__u32 key, next;
	void *prev = NULL;
	int ret = 0;

	*out = NULL;
	vals = calloc(c->ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct uid_total *t;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;	/* deleted meanwhile: never happens, the kernel only adds */
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct uid_total *r = realloc(res, ncap * sizeof(*r));

			if (!r) {
				ret = -ENOMEM;
				goto cleanup;
			}
			res = r;
			cap = ncap;
		}
		t = &res[n++];
		memset(t, 0, sizeof(*t));
		t->uid = key;
		for (int cpu = 0; cpu < c->ncpus; cpu++) {
			for (int d = 0; d < 2; d++) {
				t->bytes[d] += vals[cpu].bytes[d];
				t->packets[d] += vals[cpu].packets[d];
			}
		}
	}
	*out = res;
	res = NULL;
	ret = (int)n;
cleanup:
	free(res);
	free(vals);
	return ret;
}

uint64_t collector_lost(struct collector *c)
{
	__u64 *vals = calloc(c->ncpus, sizeof(*vals));
	__u32 key = 0;
	uint64_t sum = 0;

	if (!vals)
		return 0;
	if (!bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.lost), &key, vals))
		for (int cpu = 0; cpu < c->ncpus; cpu++)
			sum += vals[cpu];
	free(vals);
	return sum;
}

uint64_t collector_events(const struct collector *c)
{
	return c->events;
}

size_t collector_ignore_count(const struct collector *c)
{
	return c->nign;
}

const struct ip_prefix *collector_ignore_get(const struct collector *c, size_t idx, bool *enabled)
{
	if (idx >= c->nign)
		return NULL;
	if (enabled)
		*enabled = c->ign[idx].enabled;
	return &c->ign[idx].p;
}

size_t collector_ignore_active(const struct collector *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nign; i++)
		n += c->ign[i].enabled;
	return n;
}

int collector_ignore_add(struct collector *c, const struct ip_prefix *p)
{
	int ret;

	pthread_mutex_lock(&c->ignore_lock);
	for (size_t i = 0; i < c->nign; i++) {
		if (c->ign[i].p.family == p->family && c->ign[i].p.len == p->len &&
		    !memcmp(c->ign[i].p.addr, p->addr, 16)) {
			pthread_mutex_unlock(&c->ignore_lock);
			return -EEXIST;
		}
	}
	ret = ignore_map_set(c, p, true);
	if (!ret) {
		ret = ignore_push(c, p);
		if (ret)
			ignore_map_set(c, p, false);	/* keep the kernel and the list equal */
	}
	pthread_mutex_unlock(&c->ignore_lock);
	return ret;
}

int collector_ignore_set(struct collector *c, size_t idx, bool enabled)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&c->ignore_lock);
	if (idx < c->nign) {
		ret = ignore_map_set(c, &c->ign[idx].p, enabled);
		if (!ret)
			c->ign[idx].enabled = enabled;
	}
	pthread_mutex_unlock(&c->ignore_lock);
	return ret;
}

int collector_ignore_del(struct collector *c, size_t idx)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&c->ignore_lock);
	if (idx < c->nign) {
		ret = ignore_map_set(c, &c->ign[idx].p, false);
		if (!ret) {
			memmove(&c->ign[idx], &c->ign[idx + 1],
				(c->nign - idx - 1) * sizeof(c->ign[0]));
			c->nign--;
		}
	}
	pthread_mutex_unlock(&c->ignore_lock);
	return ret;
}

void collector_detach(struct collector *c)
{
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(c->links[i]);
		c->links[i] = NULL;
	}
}

void collector_close(struct collector *c)
{
	if (!c)
		return;
	/* Links first: from here on no packet is counted, and nothing stays attached. */
	collector_detach(c);
	ring_buffer__free(c->rb);
	traffic_meter_bpf__destroy(c->skel);
	if (c->cgroup_fd >= 0)
		close(c->cgroup_fd);
	pthread_mutex_destroy(&c->ignore_lock);
	free(c->ign);
	free(c);
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_mountinfo(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

int cgroup2_mount(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		/* id parent major:minor root mountpoint opts [optional...] - fstype source superopts */
		char *fields[5], *sep, *save = NULL, *tok;
		int i = 0;

		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		*sep = '\0';
		for (tok = strtok_r(line, " ", &save); tok && i < 5; tok = strtok_r(NULL, " ", &save))
			fields[i++] = tok;
		if (i < 5)
			continue;
		unescape_mountinfo(fields[4]);
		if (strlen(fields[4]) >= len) {
			ret = -ENAMETOOLONG;
			break;
		}
		strcpy(buf, fields[4]);
		ret = 0;
		break;
	}
	free(line);
	fclose(f);
	return ret;
}

int cgroup_default_path(char *buf, size_t len)
{
	char mnt[4096];
	struct stat st;
	int ret = cgroup2_mount(mnt, sizeof(mnt));

	if (ret)
		return ret;
	if (snprintf(buf, len, "%s/user.slice", mnt) >= (int)len)
		return -ENAMETOOLONG;
	if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (snprintf(buf, len, "%s", mnt) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int cgroup_check(const char *path)
{
	struct statfs sfs;
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (statfs(path, &sfs))
		return -errno;
	if (sfs.f_type != CGROUP2_SUPER_MAGIC)
		return -EMEDIUMTYPE;
	return 0;
}
