// SPDX-License-Identifier: GPL-2.0
/*
 * The collector: skeleton lifecycle (open -> rodata and map sizes -> load -> fill the ignore
 * tries -> attach the socket programs -> walk the existing sockets -> attach the packet
 * programs), batched ring-buffer draining, counter reads and evictions. The only code that
 * loads BPF.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "traffic_meter.skel.h"
#include "bpf/traffic_meter.h"
#include "meter/cgroup.h"
#include "meter/clock.h"
#include "meter/collector.h"
#include "meter/ignore.h"

_Static_assert(sizeof(struct tm_event) == 72, "tm_event layout changed: update both sides");
_Static_assert(sizeof(struct tm_sock_event) == 64, "tm_sock_event layout changed");
_Static_assert(sizeof(struct tm_counters) == 32, "tm_counters layout changed");
_Static_assert(sizeof(struct tm_lpm_v4) == 8 && sizeof(struct tm_lpm_v6) == 20, "lpm keys");

#define BATCH_KEYS 1024		/* owners per map lookup batch */

/* Packet records waiting for their turn: one queue per CPU, each in time order. */
struct evq {
	struct tm_event *v;
	size_t head, tail, cap;
};

struct collector {
	struct traffic_meter_bpf *skel;
	struct bpf_link *links[4];	/* ingress, egress, sock_create, sock_release */
	struct ring_buffer *rb;
	int cgroup_fd;
	int ncpus;
	int64_t clock_offset;		/* boot -> wall, re-sampled every drain */
	uint32_t host_netns;
	uint64_t events;		/* packet records delivered */
	uint64_t sock_records;
	uint64_t budget_end;		/* this drain stops at this record count */
	uint64_t deadline_ns;		/* ... or at this CLOCK_MONOTONIC time */
	uint64_t records;		/* every packet and socket record, for the budget */
	struct evq *queues;		/* ncpus + 1: the last holds TM_CPU_UNORDERED records */
	bool unsorted;			/* records were added to the last queue */
	bool detached;			/* no record comes after what is queued */
	bool backlog;			/* the last drain stopped on its budget */
	int busy_cpus;			/* CPUs whose batch was in use at the last flush */
	struct tm_batch *batches;	/* the batch array, mapped read-only: one slot per CPU */
	size_t batches_len;
	bool batch_ok;			/* the kernel takes BPF_MAP_LOOKUP_BATCH on this map */
	size_t nowners;			/* owners at the last read */
	uint64_t added_at_read;		/* TM_STAT_OWNER_NEW when that read started */
	__u64 *stat_vals;		/* ncpus values of one stats slot */
	const struct collector_handlers *h;	/* set for the duration of one drain */
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
		char *best = NULL, *save = NULL;

		for (char *l = strtok_r(line, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (*l && !strstr(l, "END PROG LOAD LOG") && !strstr(l, "processed "))
				best = l;
		if (best)
			snprintf(last_libbpf_msg, sizeof(last_libbpf_msg), "%s", best);
	}
	return libbpf_verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static void packet_record(struct collector *c, const struct tm_event *e)
{
	struct traffic_record rec;

	rec.owner = TM_OWNER(e->kind, e->uid);
	rec.bytes = e->bytes;
	rec.direction = e->direction;
	rec.family = e->family;
	rec.proto = e->proto;
	rec.sport = e->sport;
	rec.dport = e->dport;
	rec.netns = e->netns;
	rec.foreign_netns = e->netns && e->netns != c->host_netns;
	rec.cookie = e->cookie;
	memcpy(rec.src, e->saddr, 16);
	memcpy(rec.dst, e->daddr, 16);
	rec.ts = tm_boot_to_wall(e->ts_boot_ns, c->clock_offset);
	rec.proc = NULL;
	c->events++;
	if (c->h && c->h->packet)
		c->h->packet(c->h->ctx, &rec);
}

static void sock_record(struct collector *c, const struct tm_sock_event *e)
{
	struct sock_record s;

	memset(&s, 0, sizeof(s));
	s.closed = e->type == TM_REC_SOCK_CLOSE;
	s.origin = e->origin;
	s.proto = e->proto;
	s.owner = TM_OWNER(e->kind, e->uid);
	s.tgid = e->tgid;
	s.cookie = e->cookie;
	s.cgroup_id = e->cgroup_id;
	s.netns = e->netns;
	memcpy(s.comm, e->comm, sizeof(e->comm));
	s.comm[sizeof(s.comm) - 1] = '\0';
	c->sock_records++;
	if (c->h && c->h->sock)
		c->h->sock(c->h->ctx, &s);
}

static int evq_push(struct evq *q, const struct tm_event *e)
{
	if (q->tail == q->cap && q->head) {
		memmove(q->v, q->v + q->head, (q->tail - q->head) * sizeof(*e));
		q->tail -= q->head;
		q->head = 0;
	}
	if (q->tail == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 256;
		struct tm_event *v = realloc(q->v, ncap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		q->v = v;
		q->cap = ncap;
	}
	q->v[q->tail++] = *e;
	return 0;
}

/* A packet record into its CPU's queue; straight through when there is no memory for it. */
static void queue_packet(struct collector *c, const struct tm_event *e)
{
	int q = e->cpu < c->ncpus ? e->cpu : c->ncpus;

	if (q == c->ncpus)
		c->unsorted = true;
	if (evq_push(&c->queues[q], e))
		packet_record(c, e);
}

static int handle_record(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;
	const __u8 *type = data;

	if (size >= sizeof(struct tm_event) && *type == TM_REC_PACKET) {
		/* A batch: one CPU's packet records back to back, in time order. */
		for (size_t off = 0; off + sizeof(struct tm_event) <= size;
		     off += sizeof(struct tm_event)) {
			queue_packet(c, (const struct tm_event *)((const char *)data + off));
			c->records++;
		}
	} else if (size >= sizeof(struct tm_sock_event) &&
		 (*type == TM_REC_SOCK || *type == TM_REC_SOCK_CLOSE)) {
		/* At once: a socket's creator is known before its packets are handed on. */
		sock_record(c, data);
		c->records++;
	}
	/*
	 * Under a flood the ring never empties and ring_buffer__consume() would never return,
	 * starving the flush, the counter samples and the stop request. A negative return
	 * makes libbpf stop after this record (already consumed). A count alone is no bound
	 * when records are slow to handle (a socket record looks its cgroup up): when each
	 * packet was handled here too, 45,000 records of 10,000 new uids kept one drain going
	 * for six seconds, with nothing flushed or sampled and the owner table overflowing.
	 * So time bounds it too.
	 */
	if (c->records >= c->budget_end)
		return -EAGAIN;
	return tm_now_ns() >= c->deadline_ns ? -EAGAIN : 0;
}

static int cmp_ts(const void *a, const void *b)
{
	const struct tm_event *x = a, *y = b;

	return x->ts_boot_ns < y->ts_boot_ns ? -1 : x->ts_boot_ns > y->ts_boot_ns;
}

static inline uint64_t head_ts(const struct evq *q)
{
	return q->v[q->head].ts_boot_ns;
}

static void sift_down(struct collector *c, int *heap, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < n && head_ts(&c->queues[heap[l]]) < head_ts(&c->queues[heap[m]]))
			m = l;
		if (l + 1 < n && head_ts(&c->queues[heap[l + 1]]) < head_ts(&c->queues[heap[m]]))
			m = l + 1;
		if (m == i)
			return;
		int t = heap[i];

		heap[i] = heap[m];
		heap[m] = t;
		i = m;
	}
}

/*
 * Hand on, in time order, every queued record up to the horizon: a merge of the CPUs' queues,
 * each already in order. The horizon is the time the drain's flush began: every record older
 * than it has reached the ring (its CPU was flushed after it), so nothing older can follow.
 * Newer ones wait for the next drain.
 */
static bool hand_on(struct collector *c, uint64_t horizon)
{
	int nq = c->ncpus + 1, heap[nq];
	size_t n = 0, done = 0;
	bool stopped = false;

	if (c->unsorted) {
		struct evq *u = &c->queues[c->ncpus];

		qsort(u->v + u->head, u->tail - u->head, sizeof(*u->v), cmp_ts);
		c->unsorted = false;
	}
	for (int q = 0; q < nq; q++)
		if (c->queues[q].head < c->queues[q].tail && head_ts(&c->queues[q]) <= horizon)
			heap[n++] = q;
	for (size_t i = n / 2; i-- > 0;)
		sift_down(c, heap, n, i);
	while (n) {
		struct evq *q = &c->queues[heap[0]];

		/*
		 * Handing on is where records cost (a new uid's file is opened, another closed):
		 * past the drain's time the rest waits at the queues' heads for the next drain,
		 * still the oldest, so the order holds and the engine gets to flush and sample.
		 */
		if (!(++done & 255) && tm_now_ns() >= c->deadline_ns) {
			stopped = true;
			break;
		}
		packet_record(c, &q->v[q->head++]);
		if (q->head == q->tail || head_ts(q) > horizon)
			heap[0] = heap[--n];
		sift_down(c, heap, n, 0);
	}
	for (int q = 0; q < nq; q++)
		if (c->queues[q].head == c->queues[q].tail)
			c->queues[q].head = c->queues[q].tail = 0;
	return stopped;
}

/* Packet records consumed from the ring and not yet handed on. */
static size_t queued(const struct collector *c)
{
	size_t n = 0;

	for (int q = 0; q <= c->ncpus; q++)
		n += c->queues[q].tail - c->queues[q].head;
	return n;
}

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint32_t own_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (uint32_t)st.st_ino;
}

/*
 * Sockets that existed before the meter: one pass of the task_file iterator tags them in
 * socket storage and queues their records. The socket programs are attached first, so a socket
 * created during the walk is tagged by sock_create instead.
 */
static int walk_sockets(struct collector *c, char *err, size_t errlen)
{
	struct bpf_link *link = bpf_program__attach_iter(c->skel->progs.tm_iter_sockets, NULL);
	char buf[256];
	int fd, ret = 0;
	ssize_t n;

	if (!link) {
		ret = -errno;
		snprintf(err, errlen, "cannot walk the existing sockets: %s", strerror(errno));
		return ret;
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot walk the existing sockets: %s", strerror(errno));
	} else {
		while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
			;
		close(fd);
	}
	bpf_link__destroy(link);
	return ret;
}

static int attach(struct collector *c, int idx, struct bpf_program *prog, const char *path,
		  char *err, size_t errlen)
{
	int ret;

	c->links[idx] = bpf_program__attach_cgroup(prog, c->cgroup_fd);
	if (c->links[idx])
		return 0;
	ret = -errno;
	snprintf(err, errlen, "failed to attach to %s: %s%s", path, strerror(-ret),
		 ret == -EPERM ? " (run as root)" : " (is it a cgroup v2 directory?)");
	return ret;
}

int collector_open(struct collector **out, const struct collector_opts *opts, char *err,
		   size_t errlen)
{
	struct collector *c;
	size_t ring = opts->ring_bytes ? opts->ring_bytes : (size_t)TM_DEFAULT_RING_MB << 20;
	struct stat st;
	int ret, level;

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
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0 || c->ncpus >= TM_CPU_UNORDERED) {
		ret = c->ncpus <= 0 ? (c->ncpus ? c->ncpus : -EINVAL) : -E2BIG;
		snprintf(err, errlen, "cannot count CPUs: %s", strerror(-ret));
		goto cleanup;
	}
	c->stat_vals = calloc((size_t)c->ncpus, sizeof(*c->stat_vals));
	c->queues = calloc((size_t)c->ncpus + 1, sizeof(*c->queues));
	if (!c->stat_vals || !c->queues) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	c->host_netns = own_netns();

	c->cgroup_fd = open(opts->cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->cgroup_fd < 0 || fstat(c->cgroup_fd, &st)) {
		ret = -errno;
		snprintf(err, errlen, "cannot open cgroup %s: %s", opts->cgroup_path,
			 strerror(errno));
		goto cleanup;
	}
	level = cgroup_level(opts->cgroup_path);
	if (level < 0) {
		ret = level;
		snprintf(err, errlen, "cannot place cgroup %s under the cgroup v2 mount: %s",
			 opts->cgroup_path, strerror(-ret));
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
	c->skel->rodata->host_netns = c->host_netns;
	c->skel->rodata->emit_events = !opts->counters_only;
	c->skel->rodata->measure_floor = opts->measure_floor;
	c->skel->rodata->batch_records = !opts->no_batch;
	/* Wake the reader early only when a quarter of the ring is queued; else it drains on
	 * its timer. A wake-up per event costs the watched traffic half its rate. */
	c->skel->rodata->wakeup_bytes = ring / 4;
	/* A cgroup v2 directory's inode number is its cgroup id. */
	c->skel->rodata->target_cgroup_id = st.st_ino;
	c->skel->rodata->target_level = (__u32)level;
	if (opts->counters_only)
		ring = (size_t)sysconf(_SC_PAGESIZE);
	ret = bpf_map__set_max_entries(c->skel->maps.owner_counters,
				       opts->max_owners ? opts->max_owners : TM_MAX_OWNERS);
	if (!ret)
		ret = bpf_map__set_max_entries(c->skel->maps.events, (__u32)ring);
	if (!ret)
		ret = bpf_map__set_max_entries(c->skel->maps.batch, (__u32)c->ncpus);
	if (ret) {
		snprintf(err, errlen, "bad ring buffer size %zu: %s", ring, strerror(-ret));
		goto cleanup;
	}

	ret = traffic_meter_bpf__load(c->skel);
	if (ret) {
		if (ret == -EPERM || ret == -EACCES)
			snprintf(err, errlen, "failed to load BPF programs: %s (run as root, or "
				 "with CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON)", strerror(-ret));
		else if (strstr(last_libbpf_msg, "bpf_rdonly_cast") ||
			 strstr(last_libbpf_msg, "bpf_cast_to_kern_ctx") ||
			 strstr(last_libbpf_msg, "kfunc"))
			snprintf(err, errlen, "failed to load BPF programs: this kernel lacks the "
				 "kfuncs tmtop reads socket owners with (Linux 6.3 or later): %s",
				 last_libbpf_msg);
		else
			snprintf(err, errlen, "failed to load BPF programs: %s%s%s", strerror(-ret),
				 last_libbpf_msg[0] ? ": " : "", last_libbpf_msg);
		goto cleanup;
	}

	/* Fill the ignore list before attaching so no packet is counted that should not be. */
	if (opts->fill_ignore) {
		struct ignore_maps maps = {
			.v4 = bpf_map__fd(c->skel->maps.ignore_v4),
			.v6 = bpf_map__fd(c->skel->maps.ignore_v6),
			.gen = bpf_map__fd(c->skel->maps.ignore_gen),
		};

		ret = opts->fill_ignore(opts->fill_ctx, &maps);
		if (ret) {
			snprintf(err, errlen, "cannot load the ignore list into the kernel: %s "
				 "(at most %d entries per family)", strerror(-ret), TM_MAX_IGNORE);
			goto cleanup;
		}
	}

	if (!opts->counters_only) {
		c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), handle_record, c,
					 NULL);
		if (!c->rb) {
			ret = -errno;
			snprintf(err, errlen, "failed to create ring buffer reader: %s",
				 strerror(errno));
			goto cleanup;
		}
	}
	c->clock_offset = tm_clock_offset_ns();
	c->batch_ok = true;
	c->batches_len = (size_t)c->ncpus * sizeof(struct tm_batch);
	c->batches = mmap(NULL, c->batches_len, PROT_READ, MAP_SHARED,
			  bpf_map__fd(c->skel->maps.batch), 0);
	if (c->batches == MAP_FAILED)
		c->batches = NULL;	/* flush every CPU each time instead */

	ret = attach(c, 2, c->skel->progs.tm_sock_create, opts->cgroup_path, err, errlen);
	if (!ret)
		ret = attach(c, 3, c->skel->progs.tm_sock_release, opts->cgroup_path, err, errlen);
	if (!ret && !opts->counters_only)
		ret = walk_sockets(c, err, errlen);
	if (!ret)
		ret = attach(c, 0, c->skel->progs.tm_ingress, opts->cgroup_path, err, errlen);
	if (!ret)
		ret = attach(c, 1, c->skel->progs.tm_egress, opts->cgroup_path, err, errlen);
	if (ret)
		goto cleanup;
	*out = c;
	return 0;

cleanup:
	collector_close(c);
	return ret < 0 ? ret : -EINVAL;
}

/*
 * Every CPU's pending counts into owner_counters and its partial batch into the ring: a packet
 * waits at most one drain for its row, and a counter read sees every packet before it. Only
 * the CPUs whose slot holds something are interrupted, so an idle machine gets no IPIs.
 * Returns how many CPUs were busy (their slot in use by a program that will finish it).
 */
static int flush_cpus(struct collector *c)
{
	int fd = bpf_program__fd(c->skel->progs.tm_flush), busy = 0;

	for (int cpu = 0; cpu < c->ncpus; cpu++) {
		const volatile struct tm_batch *b = c->batches ? &c->batches[cpu] : NULL;
		LIBBPF_OPTS(bpf_test_run_opts, opts, .flags = BPF_F_TEST_RUN_ON_CPU,
			    .cpu = (__u32)cpu);

		if (b && !b->count && !(b->pending.packets[0] | b->pending.packets[1]))
			continue;
		/*
		 * ENXIO: an offline CPU; what it holds goes out when it is back and sends. A slot
		 * in use is free again within a program's run: a few tries usually find it so.
		 */
		for (int tries = 0; tries < 3; tries++) {
			opts.retval = 0;
			if (bpf_prog_test_run_opts(fd, &opts) || !opts.retval)
				break;
		}
		if (opts.retval)
			busy++;
	}
	return busy;
}

int collector_drain(struct collector *c, const struct collector_handlers *h)
{
	uint64_t before = c->events, horizon;
	bool stopped;
	int ret;

	if (!c->rb)
		return 0;
	horizon = c->detached ? UINT64_MAX : boot_ns();
	c->busy_cpus = flush_cpus(c);
	c->clock_offset = tm_clock_offset_ns();
	c->h = h;
	c->budget_end = c->records + COLLECTOR_DRAIN_BUDGET;
	c->deadline_ns = tm_now_ns() + COLLECTOR_DRAIN_NS;
	/*
	 * Records waiting from the last drain come first; more are taken from the ring only
	 * while fewer than a budget wait, so a slow engine leaves the backlog in the ring
	 * (bounded, and counted when it overflows) rather than in memory of ours.
	 */
	ret = queued(c) < COLLECTOR_DRAIN_BUDGET ? ring_buffer__consume(c->rb) : -EAGAIN;
	stopped = hand_on(c, horizon);
	c->h = NULL;
	c->backlog = ret == -EAGAIN || c->busy_cpus || stopped;
	if (ret < 0 && ret != -EAGAIN)
		return ret;
	return (int)(c->events - before);
}

int collector_poll(struct collector *c, int timeout_ms, const struct collector_handlers *h)
{
	struct pollfd pfd;

	if (!c->rb) {
		usleep((useconds_t)timeout_ms * 1000);
		return 0;
	}
	/*
	 * Records are submitted without wake-ups, so this sleeps the whole timeout unless the
	 * fill threshold wakes the epoll fd early; either way everything queued is drained.
	 */
	pfd.fd = ring_buffer__epoll_fd(c->rb);
	pfd.events = POLLIN;
	if (poll(&pfd, 1, timeout_ms) < 0 && errno == EINTR)
		return -EINTR;
	return collector_drain(c, h);
}

bool collector_backlog(const struct collector *c)
{
	return c->backlog;
}

static void sum_cpus(const struct collector *c, const struct tm_counters *vals,
		     struct owner_total *t)
{
	for (int cpu = 0; cpu < c->ncpus; cpu++) {
		for (int d = 0; d < 2; d++) {
			t->bytes[d] += vals[cpu].bytes[d];
			t->packets[d] += vals[cpu].packets[d];
		}
	}
}

static int grow(struct owner_total **res, size_t *cap, size_t need)
{
	struct owner_total *r;
	size_t ncap = *cap ? *cap : 64;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	r = realloc(*res, ncap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	*res = r;
	*cap = ncap;
	return 0;
}

/* One syscall per BATCH_KEYS owners instead of two per owner: 16k owners every 250 ms. */
static int read_batched(struct collector *c, int fd, struct owner_total **res, size_t *n,
			size_t *cap)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u64 *keys = calloc(BATCH_KEYS, sizeof(*keys));
	struct tm_counters *vals = calloc((size_t)BATCH_KEYS * c->ncpus, sizeof(*vals));
	__u64 in = 0, outb = 0;
	bool first = true;
	int ret = 0;

	if (!keys || !vals) {
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 count = BATCH_KEYS;
		int err = bpf_map_lookup_batch(fd, first ? NULL : &in, &outb, keys, vals, &count,
					       &opts);

		if (err && errno != ENOENT) {
			ret = -errno;
			break;
		}
		if (grow(res, cap, *n + count)) {
			ret = -ENOMEM;
			break;
		}
		for (__u32 i = 0; i < count; i++) {
			struct owner_total *t = &(*res)[(*n)++];

			memset(t, 0, sizeof(*t));
			t->owner = keys[i];
			sum_cpus(c, vals + (size_t)i * c->ncpus, t);
		}
		if (err)
			break;	/* ENOENT: that was the last batch */
		in = outb;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return ret;
}

static int read_one_by_one(struct collector *c, int fd, struct owner_total **res, size_t *n,
			   size_t *cap)
{
	struct tm_counters *vals = calloc(c->ncpus, sizeof(*vals));
	__u64 key, next;
	void *prev = NULL;

	if (!vals)
		return -ENOMEM;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct owner_total *t;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;	/* evicted meanwhile */
		if (grow(res, cap, *n + 1)) {
			free(vals);
			return -ENOMEM;
		}
		t = &(*res)[(*n)++];
		memset(t, 0, sizeof(*t));
		t->owner = key;
		sum_cpus(c, vals, t);
	}
	free(vals);
	return 0;
}

/* Entries the kernel ever added to the owner table (TM_STAT_OWNER_NEW); 0 if unreadable. */
static uint64_t owners_added(struct collector *c)
{
	__u32 key = TM_STAT_OWNER_NEW;
	uint64_t sum = 0;

	if (!c->stat_vals || bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.stats), &key,
						 c->stat_vals))
		return 0;
	for (int cpu = 0; cpu < c->ncpus; cpu++)
		sum += c->stat_vals[cpu];
	return sum;
}

int collector_read_counters(struct collector *c, struct owner_total **out)
{
	int fd = bpf_map__fd(c->skel->maps.owner_counters);
	struct owner_total *res = NULL;
	size_t n = 0, cap = 0;
	int ret = -EINVAL;
	/* Before the walk: an entry added during it is counted twice, never missed. */
	uint64_t added = owners_added(c);

	*out = NULL;
	flush_cpus(c);
	if (c->batch_ok) {
		ret = read_batched(c, fd, &res, &n, &cap);
		if (ret == -EINVAL || ret == -ENOTSUP || ret == -EOPNOTSUPP) {
			c->batch_ok = false;	/* an older kernel: fall back for good */
			n = 0;
		}
	}
	if (!c->batch_ok)
		ret = read_one_by_one(c, fd, &res, &n, &cap);
	if (ret) {
		free(res);
		return ret;
	}
	c->nowners = n;
	c->added_at_read = added;
	*out = res;
	return (int)n;
}

size_t collector_owner_count(const struct collector *c)
{
	return c->nowners;
}

size_t collector_owner_estimate(struct collector *c)
{
	uint64_t added = owners_added(c);

	return c->nowners + (added > c->added_at_read ? (size_t)(added - c->added_at_read) : 0);
}

int collector_evict(struct collector *c, tm_owner_t owner, struct owner_total *final)
{
	struct tm_counters *vals = calloc(c->ncpus, sizeof(*vals));
	__u64 key = owner;
	int ret = 0;

	if (!vals)
		return -ENOMEM;
	memset(final, 0, sizeof(*final));
	final->owner = owner;
	if (bpf_map_lookup_and_delete_elem(bpf_map__fd(c->skel->maps.owner_counters), &key,
					   vals))
		ret = -errno;
	else
		sum_cpus(c, vals, final);
	free(vals);
	if (!ret && c->nowners)
		c->nowners--;
	return ret;
}

static uint64_t stat_sum(const struct collector *c, const __u64 *vals)
{
	uint64_t sum = 0;

	for (int cpu = 0; cpu < c->ncpus; cpu++)
		sum += vals[cpu];
	return sum;
}

void collector_get_stats(struct collector *c, struct collector_stats *out)
{
	__u64 *vals = calloc(c->ncpus, sizeof(*vals));
	struct tm_counters *cv = calloc(c->ncpus, sizeof(*cv));
	int fd = bpf_map__fd(c->skel->maps.stats);
	__u32 key;

	memset(out, 0, sizeof(*out));
	out->events = c->events;
	out->sock_records = c->sock_records;
	out->host_netns = c->host_netns;
	if (vals) {
		key = TM_STAT_RING_FULL;
		if (!bpf_map_lookup_elem(fd, &key, vals))
			out->lost = stat_sum(c, vals);
		key = TM_STAT_SOCK_LOST;
		if (!bpf_map_lookup_elem(fd, &key, vals))
			out->sock_lost = stat_sum(c, vals);
		key = TM_STAT_TABLE_FULL;
		if (!bpf_map_lookup_elem(fd, &key, vals))
			out->table_full = stat_sum(c, vals);
	}
	key = 0;
	if (cv && !bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.overflow_counters), &key, cv))
		sum_cpus(c, cv, &out->overflow);
	free(vals);
	free(cv);
}

void collector_detach(struct collector *c)
{
	/* The packet programs only: sock_release still frees what we were told about. */
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(c->links[i]);
		c->links[i] = NULL;
	}
	c->detached = true;	/* the next drains hand on everything */
}

void collector_close(struct collector *c)
{
	if (!c)
		return;
	/* Links first: from here on no packet is counted, and nothing stays attached. */
	for (int i = 0; i < 4; i++) {
		bpf_link__destroy(c->links[i]);
		c->links[i] = NULL;
	}
	ring_buffer__free(c->rb);
	if (c->batches)
		munmap(c->batches, c->batches_len);
	for (int q = 0; c->queues && q <= c->ncpus; q++)
		free(c->queues[q].v);
	free(c->queues);
	traffic_meter_bpf__destroy(c->skel);
	if (c->cgroup_fd >= 0)
		close(c->cgroup_fd);
	free(c->stat_vals);
	free(c);
}
