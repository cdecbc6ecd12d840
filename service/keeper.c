// SPDX-License-Identifier: GPL-2.0
/*
 * The keeper thread (see keeper.h). Deltas come from the engine's exact, never decreasing
 * totals: what an owner's totals grew by since the keeper last looked, so the history is right
 * even when events were lost. Peers come from the exact per-peer figures; a peer folded into
 * "other" between two looks moved its bytes there, so other's growth is net of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#define HASH_NONFATAL_OOM 1
#include <uthash.h>
#include "meter/cli.h"
#include "meter/privdrop.h"
#include "meter/users.h"
#include "service/keeper.h"

#define TICK_S 5		/* how often totals become deltas and quotas are checked */

extern char **environ;

struct prev_owner {
	tm_owner_t owner;	/* hash key */
	uint64_t tot[4];	/* bytes[2] + packets[2] when last seen */
	UT_hash_handle hh;
};

struct peer_key {
	tm_owner_t owner;
	uint32_t netns;
	uint8_t family;
	uint8_t addr[16];
	uint8_t pad[3];
};

struct prev_peer {
	struct peer_key key;	/* hash key; family 0: the owner's "other" */
	uint64_t bytes[2];
	uint64_t seen;		/* the pass that last saw it */
	UT_hash_handle hh;
};

struct quota_state {
	tm_owner_t owner;	/* hash key */
	const struct quota_rule *rule;
	uint64_t used, estimate;
	time_t period_start;
	UT_hash_handle hh;
};

struct keeper {
	struct keeper_opts o;
	struct engine *e;
	struct history *h;
	pthread_t thread;
	pthread_mutex_t lock;		/* stop flag and quota states */
	pthread_cond_t cond;
	bool stop;
	struct prev_owner *owners;
	struct prev_peer *peers;
	uint64_t pass;
	struct quota_state *quotas;
	bool write_failing;		/* said once, until a write works again */
};

/* ---- quotas ------------------------------------------------------------------------------ */

int quota_parse(const char *arg, struct quota_rule *r, char *err, size_t errlen)
{
	char who[64], size[32], per[16];
	const char *eq = strchr(arg, '='), *slash;
	struct passwd pw, *pres = NULL;
	struct group gr, *gres = NULL;
	char buf[2048];

	memset(r, 0, sizeof(*r));
	slash = eq ? strchr(eq, '/') : NULL;
	if (!eq || !slash || eq == arg || (size_t)(eq - arg) >= sizeof(who) ||
	    (size_t)(slash - eq - 1) >= sizeof(size) || strlen(slash + 1) >= sizeof(per))
		goto bad;
	memcpy(who, arg, (size_t)(eq - arg));
	who[eq - arg] = '\0';
	memcpy(size, eq + 1, (size_t)(slash - eq - 1));
	size[slash - eq - 1] = '\0';
	strcpy(per, slash + 1);
	if (!strcmp(per, "day") || !strcmp(per, "d"))
		r->period = 'd';
	else if (!strcmp(per, "month") || !strcmp(per, "m"))
		r->period = 'm';
	else
		goto bad;
	if (cli_parse_size(size, &r->bytes) || !r->bytes)
		goto bad;
	snprintf(r->name, sizeof(r->name), "%s", who);
	if (!strcmp(who, "*")) {
		r->who = QUOTA_ALL;
	} else if (who[0] == '@') {
		r->who = QUOTA_GROUP;
		if (!getgrnam_r(who + 1, &gr, buf, sizeof(buf), &gres) && gres) {
			r->id = gres->gr_gid;
		} else {
			snprintf(err, errlen, "bad --quota '%s': no such group '%s'", arg, who + 1);
			return -EINVAL;
		}
	} else {
		tm_owner_t o;

		r->who = QUOTA_UID;
		if (!owner_parse_token(who, &o) && OWNER_IS_USER(o)) {
			r->id = OWNER_UID(o);
		} else if (!getpwnam_r(who, &pw, buf, sizeof(buf), &pres) && pres) {
			r->id = pres->pw_uid;
		} else {
			snprintf(err, errlen, "bad --quota '%s': no such user '%s'", arg, who);
			return -EINVAL;
		}
	}
	return 0;
bad:
	snprintf(err, errlen, "bad --quota '%s': use USER=SIZE/day or USER=SIZE/month, USER a name, "
		 "a uid, @group or * (e.g. alice=10G/month)", arg);
	return -EINVAL;
}

static bool in_group(uint32_t uid, uint32_t gid)
{
	struct passwd pw, *pres = NULL;
	gid_t groups[256];
	int n = 256;
	char buf[2048];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pres) || !pres)
		return false;
	if (pres->pw_gid == gid)
		return true;
	if (getgrouplist(pres->pw_name, pres->pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

const struct quota_rule *quota_match(const struct quota_rule *rules, size_t n, tm_owner_t owner)
{
	const struct quota_rule *group = NULL, *all = NULL;

	if (!OWNER_IS_USER(owner))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct quota_rule *r = &rules[i];

		if (r->who == QUOTA_UID && r->id == OWNER_UID(owner))
			return r;
		if (r->who == QUOTA_ALL && !all)
			all = r;
		if (r->who == QUOTA_GROUP && !group && in_group(OWNER_UID(owner), r->id))
			group = r;
	}
	return group ? group : all;
}

/* The command of --quota-command, once: its own process, never waited for here. */
static void run_command(struct keeper *k, tm_owner_t owner, const struct quota_state *q)
{
	char uid[16], used[24], limit[24], start[24], per[8];
	char *argv[8];
	pid_t pid;

	snprintf(uid, sizeof(uid), "%u", OWNER_UID(owner));
	snprintf(used, sizeof(used), "%llu", (unsigned long long)q->used);
	snprintf(limit, sizeof(limit), "%llu", (unsigned long long)q->rule->bytes);
	snprintf(start, sizeof(start), "%lld", (long long)q->period_start);
	snprintf(per, sizeof(per), "%s", q->rule->period == 'd' ? "day" : "month");
	argv[0] = (char *)k->o.quota_command;
	argv[1] = (char *)owner_name(owner);
	argv[2] = uid;
	argv[3] = per;
	argv[4] = used;
	argv[5] = limit;
	argv[6] = start;
	argv[7] = NULL;
	if (posix_spawn(&pid, k->o.quota_command, NULL, NULL, argv, environ))
		syslog(LOG_ERR, "cannot run --quota-command %s: %m", k->o.quota_command);
}

static time_t period_end(struct keeper *k, enum history_period p, time_t start)
{
	/* the next bucket's start: a day may be 23 or 25 hours, a month 28 to 31 days */
	return history_bucket_start(k->h, p, start + (p == HIST_DAY ? 26 * 3600 : 32 * 86400));
}

static void check_quota(struct keeper *k, tm_owner_t owner, time_t now)
{
	const struct quota_rule *r = quota_match(k->o.quotas, k->o.nquotas, owner);
	enum history_period p;
	struct quota_state *q;
	uint64_t bytes[2];
	time_t start, end;
	char key[64];
	int64_t fired;

	if (!r)
		return;
	p = r->period == 'd' ? HIST_DAY : HIST_MONTH;
	if (history_usage(k->h, owner, p, now, bytes))
		return;
	start = history_bucket_start(k->h, p, now);
	end = period_end(k, p, start);
	pthread_mutex_lock(&k->lock);
	HASH_FIND(hh, k->quotas, &owner, sizeof(owner), q);
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q) {
			pthread_mutex_unlock(&k->lock);
			return;
		}
		q->owner = owner;
		HASH_ADD(hh, k->quotas, owner, sizeof(q->owner), q);
	}
	q->rule = r;
	q->used = bytes[0] + bytes[1];
	q->period_start = start;
	/* at this pace, the period's end */
	q->estimate = now > start && end > start ?
		      (uint64_t)((double)q->used * (double)(end - start) / (double)(now - start)) :
		      q->used;
	pthread_mutex_unlock(&k->lock);
	if (q->used < r->bytes)
		return;
	/* Once per user and period, whatever restarts happened: the note is in the database. */
	snprintf(key, sizeof(key), "quota:%llu:%c", (unsigned long long)owner, r->period);
	if (!history_note_get(k->h, key, &fired) && fired == start)
		return;
	if (history_note_set(k->h, key, start))
		return;	/* unable to remember it: better not fire than fire again and again */
	syslog(LOG_WARNING, "user %s (uid %u) used %llu bytes of the %llu allowed this %s (--quota %s)",
	       owner_name(owner), OWNER_UID(owner), (unsigned long long)q->used,
	       (unsigned long long)r->bytes, r->period == 'd' ? "day" : "month", r->name);
	if (k->o.quota_command)
		run_command(k, owner, q);
}

void keeper_decorate(struct keeper *k, struct snapshot *s)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	for (size_t i = 0; i < s->nusers; i++) {
		struct snap_user *u = &s->users[i];
		struct quota_state *q;

		HASH_FIND(hh, k->quotas, &u->owner, sizeof(u->owner), q);
		if (!q)
			continue;
		u->quota_period = (uint8_t)q->rule->period;
		u->quota_bytes = q->rule->bytes;
		u->quota_used = q->used;
		u->quota_estimate = q->estimate;
	}
	pthread_mutex_unlock(&k->lock);
}

/* ---- deltas -------------------------------------------------------------------------------- */

static void owner_deltas(struct keeper *k, const struct snapshot *s, time_t now)
{
	for (size_t i = 0; i < s->nusers; i++) {
		const struct snap_user *u = &s->users[i];
		uint64_t tot[4] = { u->bytes[0], u->bytes[1], u->packets[0], u->packets[1] };
		uint64_t bytes[2], packets[2];
		struct prev_owner *p;

		HASH_FIND(hh, k->owners, &u->owner, sizeof(u->owner), p);
		if (!p) {
			p = calloc(1, sizeof(*p));
			if (!p)
				continue;
			p->owner = u->owner;
			HASH_ADD(hh, k->owners, owner, sizeof(p->owner), p);
		}
		if (tot[0] < p->tot[0] || tot[1] < p->tot[1] || tot[2] < p->tot[2] ||
		    tot[3] < p->tot[3]) {
			memcpy(p->tot, tot, sizeof(tot));	/* never happens; never negative */
			continue;
		}
		bytes[0] = tot[0] - p->tot[0];
		bytes[1] = tot[1] - p->tot[1];
		packets[0] = tot[2] - p->tot[2];
		packets[1] = tot[3] - p->tot[3];
		memcpy(p->tot, tot, sizeof(tot));
		if (bytes[0] | bytes[1] | packets[0] | packets[1])
			history_add(k->h, now, u->owner, bytes, packets);
		if (k->o.nquotas)
			check_quota(k, u->owner, now);
	}
}

static struct prev_peer *prev_peer_get(struct keeper *k, const struct snap_peer *sp)
{
	struct peer_key key = { .owner = sp->owner, .netns = sp->netns, .family = sp->family };
	struct prev_peer *p;

	memcpy(key.addr, sp->addr, 16);
	HASH_FIND(hh, k->peers, &key, sizeof(key), p);
	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->key = key;
	HASH_ADD(hh, k->peers, key, sizeof(p->key), p);
	return p;
}

static void peer_deltas(struct keeper *k, const struct snapshot *s, time_t now)
{
	struct vanished {
		tm_owner_t owner;
		uint64_t bytes[2];
		UT_hash_handle hh;
	} *gone = NULL, *v, *vtmp;
	struct prev_peer *p, *tmp;
	uint64_t d[2];

	k->pass++;
	for (size_t i = 0; i < s->npeers; i++) {
		const struct snap_peer *sp = &s->peers[i];

		if (!sp->family || !(p = prev_peer_get(k, sp)))
			continue;
		for (int dir = 0; dir < 2; dir++)
			d[dir] = sp->bytes[dir] >= p->bytes[dir] ? sp->bytes[dir] - p->bytes[dir] : 0;
		memcpy(p->bytes, sp->bytes, sizeof(p->bytes));
		p->seen = k->pass;
		if (d[0] | d[1])
			history_add_peer(k->h, now, sp->owner, sp->family, sp->addr, sp->netns, d);
	}
	/* A peer not seen again was folded into its owner's "other" (or its owner left). */
	HASH_ITER(hh, k->peers, p, tmp) {
		if (p->seen == k->pass || !p->key.family)
			continue;
		HASH_FIND(hh, gone, &p->key.owner, sizeof(p->key.owner), v);
		if (!v && (v = calloc(1, sizeof(*v)))) {
			v->owner = p->key.owner;
			HASH_ADD(hh, gone, owner, sizeof(v->owner), v);
		}
		if (v) {
			v->bytes[0] += p->bytes[0];
			v->bytes[1] += p->bytes[1];
		}
		HASH_DEL(k->peers, p);
		free(p);
	}
	/* "other" grew by the folded peers' bytes plus new traffic: only the latter is new. */
	for (size_t i = 0; i < s->npeers; i++) {
		const struct snap_peer *sp = &s->peers[i];

		if (sp->family || !(p = prev_peer_get(k, sp)))
			continue;
		HASH_FIND(hh, gone, &sp->owner, sizeof(sp->owner), v);
		for (int dir = 0; dir < 2; dir++) {
			uint64_t was = p->bytes[dir] + (v ? v->bytes[dir] : 0);

			d[dir] = sp->bytes[dir] >= was ? sp->bytes[dir] - was : 0;
		}
		memcpy(p->bytes, sp->bytes, sizeof(p->bytes));
		p->seen = k->pass;
		if (d[0] | d[1])
			history_add_peer(k->h, now, sp->owner, 0, sp->addr, 0, d);
	}
	/* an owner that left the live table takes its "other" along */
	HASH_ITER(hh, k->peers, p, tmp) {
		if (p->seen != k->pass) {
			HASH_DEL(k->peers, p);
			free(p);
		}
	}
	HASH_ITER(hh, gone, v, vtmp) {
		HASH_DEL(gone, v);
		free(v);
	}
}

static void look(struct keeper *k, bool peers)
{
	struct snap_request req = { .all_peers = peers };
	struct snapshot s;
	time_t now = time(NULL);

	if (engine_snapshot(k->e, &req, &s))
		return;
	owner_deltas(k, &s, now);
	if (peers)
		peer_deltas(k, &s, now);
	snapshot_free(&s);
}

static void write_down(struct keeper *k, bool force)
{
	char why[256];
	int ret = history_flush(k->h, time(NULL), force);

	if (!ret) {
		if (k->write_failing)
			syslog(LOG_NOTICE, "history: writing to %s works again", k->o.db_path);
		k->write_failing = false;
		return;
	}
	if (k->write_failing)
		return;
	history_last_error(k->h, why, sizeof(why));
	syslog(LOG_ERR, "history: cannot write %s: %s%s%s (kept in memory, retried)",
	       k->o.db_path, strerror(-ret), why[0] ? ": " : "", why);
	fprintf(stderr, "traffic meter: history: cannot write %s: %s (kept in memory, retried)\n",
		k->o.db_path, strerror(-ret));
	k->write_failing = true;
}

static void *run(void *arg)
{
	struct keeper *k = arg;
	struct timespec until;
	time_t last_write = time(NULL);
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&k->lock);
	while (!k->stop) {
		bool write;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += TICK_S;
		while (!k->stop && pthread_cond_timedwait(&k->cond, &k->lock, &until) != ETIMEDOUT)
			;
		if (k->stop)
			break;
		pthread_mutex_unlock(&k->lock);
		write = time(NULL) - last_write >= (time_t)k->o.interval_s ||
			time(NULL) < last_write;
		look(k, write);
		if (write) {
			write_down(k, false);
			last_write = time(NULL);
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;	/* quota commands that finished */
		pthread_mutex_lock(&k->lock);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

/* ---- life -------------------------------------------------------------------------------- */

void keeper_opts_from_cli(const struct meter_cli *m, struct keeper_opts *o)
{
	o->db_path = m->no_history ? NULL : m->history_db;
	o->interval_s = m->history_interval;
	history_config_default(&o->hcfg);
	o->hcfg.keep_5min_h = m->keep[0];
	o->hcfg.keep_hour_d = m->keep[1];
	o->hcfg.keep_day_d = m->keep[2];
	o->hcfg.keep_month_m = m->keep[3];
	o->hcfg.keep_year_y = m->keep[4];
	o->hcfg.month_start = m->month_start;
}

int keeper_prepare(const struct keeper_opts *o, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };	/* the database, its journals */
	char dir[PATH_MAX], *slash;
	int ret;

	/* Only the default place is made (and made ours); a path given is the admin's. */
	if (!o->db_path || geteuid() != 0 || strcmp(o->db_path, TM_DEFAULT_HISTORY))
		return 0;
	snprintf(dir, sizeof(dir), "%s", o->db_path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	/*
	 * Files an earlier run as another user left, or that systemd's StateDirectory= made
	 * root's, go back to the meter's user first: once the directory is handed over, root may
	 * not search it without CAP_DAC_OVERRIDE, which the service unit does not grant.
	 */
	for (size_t i = 0; i < 3; i++) {
		char f[PATH_MAX];
		int fd;

		snprintf(f, sizeof(f), "%s%s", o->db_path, sfx[i]);
		fd = open(f, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		(void)!fchown(fd, uid, gid);	/* if it fails, opening says why */
		close(fd);
	}
	/* The default place is ours: the meter's user owns it, nobody else reads it. */
	ret = privdrop_make_dir(dir, uid, gid, 0750, true);
	if (ret < 0) {
		snprintf(err, errlen, "cannot create %s for the history: %s", dir, strerror(-ret));
		return ret;
	}
	return 0;
}

int keeper_start(struct keeper **out, const struct keeper_opts *o, struct engine *e, char *err,
		 size_t errlen)
{
	struct keeper *k;
	int ret;

	*out = NULL;
	if (!o->db_path)
		return 0;
	k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	k->o = *o;
	if (!k->o.interval_s)
		k->o.interval_s = 60;
	k->e = e;
	pthread_mutex_init(&k->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&k->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	ret = history_open(&k->h, o->db_path, &o->hcfg, false, err, errlen);
	if (ret) {
		size_t n = strlen(err);

		/* history_open's reason already names the database */
		snprintf(err + n, errlen > n ? errlen - n : 0, " (--no-history to run without)");
		goto fail;
	}
	openlog("tmtop", LOG_PID, LOG_DAEMON);
	ret = -pthread_create(&k->thread, NULL, run, k);
	if (ret) {
		snprintf(err, errlen, "cannot start the history thread: %s", strerror(-ret));
		goto fail;
	}
	*out = k;
	return 0;
fail:
	history_close(k->h);
	pthread_mutex_destroy(&k->lock);
	pthread_cond_destroy(&k->cond);
	free(k);
	return ret;
}

void keeper_stop(struct keeper *k)
{
	struct prev_owner *o, *otmp;
	struct prev_peer *p, *ptmp;
	struct quota_state *q, *qtmp;

	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	k->stop = true;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
	/* The last look: everything up to now is written down. */
	look(k, true);
	write_down(k, true);
	history_close(k->h);
	HASH_ITER(hh, k->owners, o, otmp) {
		HASH_DEL(k->owners, o);
		free(o);
	}
	HASH_ITER(hh, k->peers, p, ptmp) {
		HASH_DEL(k->peers, p);
		free(p);
	}
	HASH_ITER(hh, k->quotas, q, qtmp) {
		HASH_DEL(k->quotas, q);
		free(q);
	}
	pthread_mutex_destroy(&k->lock);
	pthread_cond_destroy(&k->cond);
	free(k);
}

struct history *keeper_history(struct keeper *k)
{
	return k ? k->h : NULL;
}
