// SPDX-License-Identifier: GPL-2.0
/*
 * The engine thread: drain -> backend + aggregator, flush, sample counters, repeat. Backend
 * calls happen on this thread only; the aggregator is fed in batches under the lock so a
 * reader (the screen) never waits on a disk write.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "meter/clock.h"
#include "meter/monitor.h"

#define AGG_BATCH 4096		/* records fed to the aggregator per lock */
#define FLUSH_NS 100000000ULL	/* backend flush period: rows reach the file within ~120 ms */

struct monitor {
	struct collector *col;
	const struct output_backend *backend;	/* NULL when not logging */
	struct agg *agg;			/* NULL when not aggregating */
	pthread_t thread;
	bool thread_started;
	bool finished;				/* detached and drained */
	pthread_mutex_t lock;			/* guards agg and stats */
	atomic_bool stop;
	volatile sig_atomic_t reopen;		/* set from a signal handler */
	int drain_ms;
	uint64_t sample_ns;
	uint64_t last_sample, last_flush;
	struct monitor_stats stats;
	struct traffic_record batch[AGG_BATCH];
	size_t nbatch;
};

static void feed_batch(struct monitor *m)
{
	if (!m->nbatch)
		return;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nbatch; i++)
		agg_event(m->agg, &m->batch[i]);
	pthread_mutex_unlock(&m->lock);
	m->nbatch = 0;
}

static void on_event(void *ctx, const struct traffic_record *rec)
{
	struct monitor *m = ctx;

	if (m->backend)
		m->backend->write(rec);
	if (m->agg) {
		m->batch[m->nbatch++] = *rec;
		if (m->nbatch == AGG_BATCH)
			feed_batch(m);
	}
}

static void sample(struct monitor *m, uint64_t now)
{
	struct uid_total *t = NULL;
	uint64_t lost = collector_lost(m->col);
	struct backend_stats bs = {};
	int n = m->agg ? collector_read_counters(m->col, &t) : 0;

	if (m->backend && m->backend->stats)
		m->backend->stats(&bs);
	pthread_mutex_lock(&m->lock);
	if (m->agg && n >= 0) {
		agg_counters(m->agg, now, t, (size_t)n);
		agg_set_lost(m->agg, lost);
	}
	m->stats.events = collector_events(m->col);
	m->stats.lost = lost;
	m->stats.backend = bs;
	pthread_mutex_unlock(&m->lock);
	free(t);
	m->last_sample = now;
}

static void step(struct monitor *m, int timeout_ms)
{
	uint64_t now;

	collector_poll(m->col, timeout_ms, on_event, m);
	feed_batch(m);
	now = tm_now_ns();
	if (m->backend) {
		if (m->reopen) {
			m->reopen = 0;
			if (m->backend->reopen)
				m->backend->reopen();
		}
		if (m->backend->flush && now - m->last_flush >= FLUSH_NS) {
			m->backend->flush();
			m->last_flush = now;
		}
	}
	if (now - m->last_sample >= m->sample_ns)
		sample(m, now);
}

static void *run(void *arg)
{
	struct monitor *m = arg;
	sigset_t all;

	/* Signals belong to the main thread (the UI or the logger's wait). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!atomic_load(&m->stop))
		step(m, collector_backlog(m->col) ? 0 : m->drain_ms);
	return NULL;
}

int monitor_start(struct monitor **out, const struct monitor_opts *opts, char *err, size_t errlen)
{
	struct monitor *m = calloc(1, sizeof(*m));
	int ret;

	*out = NULL;
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->drain_ms = opts->drain_ms > 0 ? opts->drain_ms : 20;
	m->sample_ns = (uint64_t)(opts->sample_ms > 0 ? opts->sample_ms : 250) * 1000000ULL;

	if (opts->aggregate) {
		m->agg = agg_new(&opts->agg);
		if (!m->agg) {
			snprintf(err, errlen, "out of memory");
			ret = -ENOMEM;
			goto fail;
		}
	}
	/* The backend first: a bad log directory must not leave programs attached. */
	if (opts->backend) {
		ret = opts->backend->init((void *)&opts->backend_cfg);
		if (ret) {
			snprintf(err, errlen, "cannot start %s output in %s: %s", opts->backend->name,
				 opts->backend_cfg.log_dir ? opts->backend_cfg.log_dir : "?",
				 strerror(-ret));
			goto fail;
		}
		m->backend = opts->backend;
		m->stats.logging = true;
	}
	ret = collector_open(&m->col, &opts->collector, err, errlen);
	if (ret)
		goto fail;
	m->last_flush = m->last_sample = tm_now_ns();
	sample(m, m->last_sample);
	ret = -pthread_create(&m->thread, NULL, run, m);
	if (ret) {
		snprintf(err, errlen, "cannot start the engine thread: %s", strerror(-ret));
		goto fail;
	}
	m->thread_started = true;
	*out = m;
	return 0;
fail:
	monitor_stop(m);
	return ret;
}

void monitor_lock(struct monitor *m)
{
	pthread_mutex_lock(&m->lock);
}

void monitor_unlock(struct monitor *m)
{
	pthread_mutex_unlock(&m->lock);
}

struct agg *monitor_agg(struct monitor *m)
{
	return m->agg;
}

void monitor_get_stats(struct monitor *m, struct monitor_stats *out)
{
	pthread_mutex_lock(&m->lock);
	*out = m->stats;
	pthread_mutex_unlock(&m->lock);
}

struct collector *monitor_collector(struct monitor *m)
{
	return m->col;
}

void monitor_request_reopen(struct monitor *m)
{
	m->reopen = 1;
}

void monitor_finish(struct monitor *m, struct monitor_summary *sum)
{
	if (m->thread_started) {
		atomic_store(&m->stop, true);
		pthread_join(m->thread, NULL);
		m->thread_started = false;
	}
	if (m->col && !m->finished) {
		/* Detach, then drain what the kernel queued before: every event reaches the log. */
		collector_detach(m->col);
		while (collector_drain(m->col, on_event, m) > 0)
			;
		feed_batch(m);
		if (m->backend && m->backend->flush)
			m->backend->flush();
		sample(m, tm_now_ns());
	}
	m->finished = true;
	if (sum) {
		int n;

		memset(sum, 0, sizeof(*sum));
		sum->stats = m->stats;
		n = m->col ? collector_read_counters(m->col, &sum->totals) : 0;
		sum->ntotals = n > 0 ? (size_t)n : 0;
	}
}

void monitor_stop(struct monitor *m)
{
	if (!m)
		return;
	monitor_finish(m, NULL);
	if (m->backend)
		m->backend->close();
	collector_close(m->col);
	if (m->agg)
		agg_free(m->agg);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
