// SPDX-License-Identifier: GPL-2.0
/*
 * The engine thread: drain -> backends + aggregator, flush, sample counters, evict, repeat.
 * Backend calls happen on this thread only; the aggregator is fed in batches under the lock so
 * a snapshot never waits on a disk write, and a snapshot is a copy, so nothing a caller does
 * with it (look names up, sort, draw, send) holds the engine up.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bpf/traffic_meter.h"
#include "meter/cgroup.h"
#include "meter/clock.h"
#include "meter/engine.h"
#include "meter/ignore.h"
#include "meter/sockets.h"

#define AGG_BATCH	4096		/* records fed to the aggregator per lock */
#define DRAIN_MS	20		/* most time from packet to backend */
#define SAMPLE_NS	250000000ULL	/* kernel counters are read this often */
#define FLUSH_NS	100000000ULL	/* backends flush: rows reach the file within ~120 ms */

struct engine {
	struct collector *col;
	struct ignore_list *ignore;
	struct backend *backends[SNAP_MAX_LOGS];
	size_t nbackends;
	struct agg *agg;
	struct sockets *socks;
	struct cgroup_names *cgnames;
	pthread_t thread;
	bool thread_started;
	bool finished;			/* detached and drained */
	pthread_mutex_t lock;		/* guards agg, stats, logs */
	atomic_bool stop;
	atomic_int reopen;		/* set from a signal handler */
	uint64_t last_sample, last_flush;
	uint64_t min_idle_ns;		/* owners idle this long may be evicted */
	size_t evict_high, evict_low;	/* past 3/4 of the owner table evict idle owners to 5/8 */
	struct collector_stats cstats;	/* copied at each sample, under the lock */
	struct snap_log logs[SNAP_MAX_LOGS];
	struct snap_meter meter;
	uint64_t start_mono;
	struct traffic_record batch[AGG_BATCH];
	size_t nbatch;
	/* engine_owner_open(): the backends belong to the engine thread, so it answers */
	pthread_mutex_t ask_lock;
	pthread_cond_t ask_cond;
	bool ask_pending;
	tm_owner_t ask_owner;
	int ask_ret;			/* a descriptor or -errno */
	char ask_path[4096];
};

static void feed_batch(struct engine *e)
{
	if (!e->nbatch)
		return;
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->nbatch; i++)
		agg_event(e->agg, &e->batch[i]);
	pthread_mutex_unlock(&e->lock);
	e->nbatch = 0;
}

static void on_packet(void *ctx, struct traffic_record *rec)
{
	struct engine *e = ctx;

	rec->proc = sockets_proc(e->socks, rec->cookie, e->last_sample);
	for (size_t i = 0; i < e->nbackends; i++)
		e->backends[i]->ops->write(e->backends[i], rec);
	e->batch[e->nbatch++] = *rec;
	if (e->nbatch == AGG_BATCH)
		feed_batch(e);
}

static void on_sock(void *ctx, const struct sock_record *s)
{
	struct engine *e = ctx;

	/* Batched records may point into the socket table: let them in before it changes. */
	feed_batch(e);
	sockets_update(e->socks, s, tm_now_ns());
}

static const struct collector_handlers handlers = {
	.packet = on_packet,
	.sock = on_sock,
};

static const char *unit_of(void *ctx, uint64_t id, const char *path, char *buf, size_t len)
{
	return cgroup_unit_name(path, buf, len);
}

/* Take an owner's entry out of the kernel's table, keeping what it counted. */
static void evict_kernel(struct engine *e, tm_owner_t owner)
{
	struct owner_total final;

	if (!collector_evict(e->col, owner, &final))
		agg_kernel_gone(e->agg, &final);
}

/*
 * Make room, losing nothing. The kernel's table: the least recently active owners leave it
 * whether idle or not, since lookup-and-delete hands over every byte they counted and their
 * next packet starts a new entry. The live table: only owners idle for two windows move to the
 * ledger (their rates, peers and processes go; their totals come back with them).
 */
static void evict(struct engine *e, uint64_t now)
{
	size_t have = collector_owner_count(e->col), live = agg_count(e->agg), n;
	tm_owner_t *v;

	if (have < e->evict_high && live < e->evict_high)
		return;
	v = calloc(e->evict_high, sizeof(*v));
	if (!v)
		return;
	if (have >= e->evict_high) {
		n = agg_pick_idle(e->agg, now, 0, true, have - e->evict_low, v);
		for (size_t i = 0; i < n; i++)
			evict_kernel(e, v[i]);
	}
	if (live >= e->evict_high) {
		size_t want = live - e->evict_low;

		n = agg_pick_idle(e->agg, now, e->min_idle_ns, false,
				  want < e->evict_high ? want : e->evict_high, v);
		for (size_t i = 0; i < n; i++) {
			/* out of the kernel first, or its next sample would count it twice */
			evict_kernel(e, v[i]);
			agg_evict(e->agg, v[i]);
		}
	}
	free(v);
}

static void sample(struct engine *e, uint64_t now)
{
	struct owner_total *t = NULL;
	struct collector_stats cs;
	int n = collector_read_counters(e->col, &t);

	collector_get_stats(e->col, &cs);
	sockets_expire(e->socks, now);
	pthread_mutex_lock(&e->lock);
	if (n >= 0)
		agg_counters(e->agg, now, t, (size_t)n);
	agg_set_unattributed(e->agg, &cs.overflow);
	evict(e, now);
	e->cstats = cs;
	for (size_t i = 0; i < e->nbackends; i++) {
		struct backend *b = e->backends[i];

		b->ops->stats(b, &e->logs[i].st);
		/* A backend may move to a name of its own when its name was taken. */
		b->ops->describe(b, e->logs[i].target, sizeof(e->logs[i].target));
	}
	pthread_mutex_unlock(&e->lock);
	free(t);
	e->last_sample = now;
}

static void flush_backends(struct engine *e)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t i = 0; i < e->nbackends; i++) {
		struct backend *b = e->backends[i];

		if (b->ops->tick)
			b->ops->tick(b, &now);
		b->ops->flush(b);
	}
}

/* Answer a pending engine_owner_open() on the thread that owns the backends. */
static void answer(struct engine *e)
{
	pthread_mutex_lock(&e->ask_lock);
	if (e->ask_pending) {
		e->ask_ret = -ENOENT;
		e->ask_path[0] = '\0';
		for (size_t i = 0; i < e->nbackends && e->ask_ret == -ENOENT; i++)
			if (e->backends[i]->ops->owner_open)
				e->ask_ret = e->backends[i]->ops->owner_open(
					e->backends[i], e->ask_owner, e->ask_path,
					sizeof(e->ask_path));
		e->ask_pending = false;
		pthread_cond_broadcast(&e->ask_cond);
	}
	pthread_mutex_unlock(&e->ask_lock);
}

static void step(struct engine *e, int timeout_ms)
{
	uint64_t now;

	collector_poll(e->col, timeout_ms, &(struct collector_handlers){
		.packet = handlers.packet, .sock = handlers.sock, .ctx = e });
	feed_batch(e);
	now = tm_now_ns();
	if (atomic_exchange(&e->reopen, 0))
		for (size_t i = 0; i < e->nbackends; i++)
			e->backends[i]->ops->reopen(e->backends[i]);
	if (now - e->last_flush >= FLUSH_NS) {
		flush_backends(e);
		e->last_flush = now;
	}
	/*
	 * A flood of new owners (one uid a process, thousands of them) fills the kernel's table
	 * between two samples, and what finds it full is no longer charged per owner. So its
	 * fill is looked at every drain (one map lookup), and past the eviction mark the sample
	 * and its eviction come at once: the table's last quarter then absorbs what arrives in
	 * one drain interval, not in SAMPLE_NS.
	 */
	if (now - e->last_sample >= SAMPLE_NS ||
	    collector_owner_estimate(e->col) >= e->evict_high)
		sample(e, now);
	answer(e);
}

static void *run(void *arg)
{
	struct engine *e = arg;
	sigset_t all;

	/* Signals belong to the main thread (the screen or the logger's wait). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!atomic_load(&e->stop))
		step(e, collector_backlog(e->col) ? 0 : DRAIN_MS);
	return NULL;
}

static int fill_ignore(void *ctx, const struct ignore_maps *maps)
{
	return ignore_attach(ctx, maps);
}

static int open_backends(struct engine *e, const struct engine_opts *o, char *err, size_t errlen)
{
	for (size_t i = 0; i < o->nbackends && i < SNAP_MAX_LOGS; i++) {
		struct backend *b;
		int ret = o->backends[i]->open(&b, &o->backend_cfg, err, errlen);

		if (ret)
			return ret;
		e->backends[e->nbackends] = b;
		snprintf(e->logs[e->nbackends].name, sizeof(e->logs[0].name), "%s",
			 o->backends[i]->name);
		b->ops->describe(b, e->logs[e->nbackends].target, sizeof(e->logs[0].target));
		e->nbackends++;
	}
	return 0;
}

int engine_start(struct engine **out, const struct engine_opts *o, char *err, size_t errlen)
{
	struct engine *e = calloc(1, sizeof(*e));
	struct collector_opts co;
	struct agg_config ac;
	int ret;

	*out = NULL;
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->ask_lock, NULL);
	pthread_cond_init(&e->ask_cond, NULL);
	ac = o->agg;
	ac.unit = unit_of;
	e->agg = agg_new(&ac);
	e->cgnames = cgroup_names_new();
	e->socks = sockets_new(SOCKETS_MAX, e->cgnames);
	e->ignore = ignore_new(o->ignore);
	if (!e->agg || !e->cgnames || !e->socks || !e->ignore) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	e->min_idle_ns = 2 * (o->agg.window_ns ? o->agg.window_ns : 2000000000ULL);
	{
		size_t max = o->collector.max_owners ? o->collector.max_owners : TM_MAX_OWNERS;

		e->evict_high = max / 4 * 3;
		e->evict_low = max / 8 * 5;
	}
	/* The backends first: a bad log directory must not leave programs attached. */
	ret = open_backends(e, o, err, errlen);
	if (ret)
		goto fail;
	co = o->collector;
	co.fill_ignore = fill_ignore;
	co.fill_ctx = e->ignore;
	ret = collector_open(&e->col, &co, err, errlen);
	if (ret)
		goto fail;

	e->meter.pid = getpid();
	snprintf(e->meter.version, sizeof(e->meter.version), "%s", TM_VERSION);
	clock_gettime(CLOCK_REALTIME, &e->meter.started);
	snprintf(e->meter.cgroup, sizeof(e->meter.cgroup), "%s", co.cgroup_path);
	snprintf(e->meter.nic, sizeof(e->meter.nic), "%s", o->nic_id ? o->nic_id : "unknown");
	snprintf(e->meter.iface, sizeof(e->meter.iface), "%s", o->iface ? o->iface : "");
	e->meter.ignore_mode = (uint8_t)co.ignore_mode;
	e->meter.standalone = o->standalone;
	e->start_mono = e->last_flush = e->last_sample = tm_now_ns();
	sample(e, e->last_sample);
	e->meter.host_netns = e->cstats.host_netns;
	ret = -pthread_create(&e->thread, NULL, run, e);
	if (ret) {
		snprintf(err, errlen, "cannot start the engine thread: %s", strerror(-ret));
		goto fail;
	}
	e->thread_started = true;
	*out = e;
	return 0;
fail:
	engine_stop(e);
	return ret;
}

static int copy_ignore(struct engine *e, struct snapshot *s)
{
	size_t n = ignore_copy(e->ignore, NULL, 0, NULL);

	/* The list may grow between the two calls: copy what fits, retry once if it grew. */
	for (int attempt = 0; attempt < 2; attempt++) {
		size_t got;

		free(s->ignore);
		s->ignore = calloc(n ? n : 1, sizeof(*s->ignore));
		if (!s->ignore)
			return -ENOMEM;
		got = ignore_copy(e->ignore, s->ignore, n, &s->ignore_active);
		if (got <= n) {
			s->nignore = got;
			return 0;
		}
		n = got;
	}
	s->nignore = n;
	return 0;
}

int engine_snapshot(struct engine *e, const struct snap_request *req, struct snapshot *s)
{
	const tm_owner_t *only = req->restrict_owner ? &req->owner : NULL;
	int ret = 0;

	memset(s, 0, sizeof(*s));
	s->version = SNAP_VERSION;
	s->restricted = req->restrict_owner;
	clock_gettime(CLOCK_REALTIME, &s->taken);

	pthread_mutex_lock(&e->lock);
	s->meter = e->meter;
	s->meter.uptime_s = (double)(tm_now_ns() - e->start_mono) / 1e9;
	agg_export_totals(e->agg, s);
	s->stats.events = e->cstats.events;
	s->stats.lost = e->cstats.lost;
	s->stats.sock_lost = e->cstats.sock_lost;
	s->stats.table_full = e->cstats.table_full;
	s->stats.kernel_owners = (uint32_t)collector_owner_count(e->col);
	s->stats.sockets = (uint32_t)sockets_count(e->socks);
	s->nlogs = e->nbackends;
	memcpy(s->logs, e->logs, sizeof(s->logs));

	{
		size_t live = agg_count(e->agg), gone = req->ledger && !only ?
			      agg_ledger_count(e->agg) : 0;

		s->users = calloc(only ? 1 : live + gone + 1, sizeof(*s->users));
		if (!s->users) {
			ret = -ENOMEM;
			goto unlock;
		}
		s->nusers = agg_export_users(e->agg, only, s->users, only ? 1 : live);
		s->nusers += agg_export_ledger(e->agg, s->users + s->nusers, gone);
	}
	if (req->all_peers && !only) {
		ret = agg_export_peers(e->agg, NULL, &s->peers, &s->npeers);
		s->have_peers = !ret;
	} else if (req->peers && (!only || req->peers_of == *only)) {
		ret = agg_export_peers(e->agg, &req->peers_of, &s->peers, &s->npeers);
		s->peers_of = req->peers_of;
		s->have_peers = !ret;
	}
	if (ret == -ENOENT)
		ret = 0;
	if (!ret && req->procs) {
		const tm_owner_t *who = only ? only : req->procs_one ? &req->procs_of : NULL;

		ret = agg_export_procs(e->agg, who, &s->procs, &s->nprocs);
		s->have_procs = !ret;
	}
	if (!ret && req->conns && (!only || req->conns_owner == *only)) {
		ret = agg_export_conns(e->agg, req->conns_owner, req->conns_tgid, &s->conns,
				       &s->nconns);
		s->conns_owner = req->conns_owner;
		s->conns_tgid = req->conns_tgid;
		s->have_conns = !ret;
		if (ret == -ENOENT)
			ret = 0;
	}
unlock:
	pthread_mutex_unlock(&e->lock);
	if (!ret && !only)
		ret = copy_ignore(e, s);
	if (only) {
		/* Nothing of anyone else: not the totals, not the counts, not the logs. */
		memset(&s->stats, 0, sizeof(s->stats));
		memset(&s->totals, 0, sizeof(s->totals));
		s->nlogs = 0;
		memset(s->logs, 0, sizeof(s->logs));
		s->meter.cgroup[0] = '\0';
	}
	if (ret)
		snapshot_free(s);
	return ret;
}

int engine_ignore_add(struct engine *e, const struct ip_prefix *p)
{
	return ignore_add(e->ignore, p);
}

int engine_ignore_set(struct engine *e, size_t idx, bool on)
{
	return ignore_set(e->ignore, idx, on);
}

int engine_ignore_del(struct engine *e, size_t idx)
{
	return ignore_del(e->ignore, idx);
}

int engine_owner_open(struct engine *e, tm_owner_t owner, char *buf, size_t len)
{
	int ret;

	pthread_mutex_lock(&e->ask_lock);
	while (e->ask_pending)
		pthread_cond_wait(&e->ask_cond, &e->ask_lock);
	if (!e->thread_started) {
		/* Stopped: nothing else touches the backends now. */
		e->ask_pending = true;
		e->ask_owner = owner;
		pthread_mutex_unlock(&e->ask_lock);
		answer(e);
		pthread_mutex_lock(&e->ask_lock);
	} else {
		e->ask_pending = true;
		e->ask_owner = owner;
		while (e->ask_pending)
			pthread_cond_wait(&e->ask_cond, &e->ask_lock);
	}
	ret = e->ask_ret;
	if (snprintf(buf, len, "%s", e->ask_path) >= (int)len && ret >= 0) {
		close(ret);
		ret = -ENAMETOOLONG;
	}
	pthread_mutex_unlock(&e->ask_lock);
	return ret;
}

void engine_request_reopen(struct engine *e)
{
	atomic_store(&e->reopen, 1);
}

void engine_finish(struct engine *e)
{
	struct collector_handlers h = { .packet = on_packet, .sock = on_sock, .ctx = e };

	if (e->thread_started) {
		atomic_store(&e->stop, true);
		pthread_join(e->thread, NULL);
		e->thread_started = false;
	}
	if (e->col && !e->finished) {
		/* Detach, then drain what the kernel queued before: every record reaches the log. */
		collector_detach(e->col);
		while (collector_drain(e->col, &h) > 0 || collector_backlog(e->col))
			;
		feed_batch(e);
		for (size_t i = 0; i < e->nbackends; i++)
			if (e->backends[i]->ops->finish)
				e->backends[i]->ops->finish(e->backends[i]);
		flush_backends(e);
		sample(e, tm_now_ns());
	}
	e->finished = true;
}

void engine_stop(struct engine *e)
{
	if (!e)
		return;
	engine_finish(e);
	for (size_t i = 0; i < e->nbackends; i++)
		e->backends[i]->ops->close(e->backends[i]);
	collector_close(e->col);
	sockets_free(e->socks);
	cgroup_names_free(e->cgnames);
	agg_free(e->agg);
	ignore_free(e->ignore);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->ask_lock);
	pthread_cond_destroy(&e->ask_cond);
	free(e);
}
