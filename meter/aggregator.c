// SPDX-License-Identifier: GPL-2.0
/*
 * The per-owner aggregator (see aggregator.h for the contract).
 *
 * Time is a shared ring of AGG_SLOTS sample times, one slot per agg_counters() call. Every
 * counted entity (owner, peer, process, connection) keeps its byte counts in the same slots, so
 * it needs no times of its own, only the sequence number of its first valid slot ("since"). A
 * rate is (newest - oldest slot inside the window) / elapsed, from never-reset counts: a missed
 * call or a lost record never gives a wrong number, and an entity whose counts stop moving
 * decays to 0 as the window slides.
 *
 * Bounded tables that stay exact: a table that is full sends newcomers to its "other" tally,
 * whose bytes are the exact sum of what it received; idle entries are folded into "other" at
 * sample time to make room. Folding adds the same amount to every slot of other's ring, so a
 * fold is never mistaken for traffic.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "bpf/traffic_meter.h"
#include "meter/aggregator.h"

/* uthash must not exit() inside a library: a failed table allocation only skips the add. */
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

/*
 * Every owner has a table of peers and one of processes, every process one of connections, and
 * most hold one or two entries. uthash starts each table at 32 buckets (512 bytes) and doubles
 * it as it fills; starting at 4 takes 1.3 KiB off each owner that sent a few packets (13 MiB for
 * 10,000 of them) and costs a busy table three more doublings. The macros are expanded where
 * HASH_ADD is used, below, so redefining them here applies to every table in this file.
 */
#undef HASH_INITIAL_NUM_BUCKETS
#undef HASH_INITIAL_NUM_BUCKETS_LOG2
#define HASH_INITIAL_NUM_BUCKETS 4U
#define HASH_INITIAL_NUM_BUCKETS_LOG2 2U

#define AGG_SLOTS		8
#define AGG_DEFAULT_WINDOW_NS	2000000000ULL
#define AGG_PEER_IDLE_NS	60000000000ULL
#define EXIT_CHECK_NS		2000000000ULL	/* processes are probed this often */
#define SPARK_SECS		(SNAP_SPARK * SNAP_SPARK_STEP)
#define SPARK_RING		(SPARK_SECS + 1)	/* the whole seconds shown + the current one */
#define NSEC_PER_SEC		1e9

struct tally {
	uint64_t bytes[2];		/* indexed by TM_DIR_* */
	uint64_t packets[2];
	uint64_t since;			/* first valid slot sequence number */
	uint64_t active_ns;		/* sample time its bytes last moved */
	uint64_t sampled;		/* in + out bytes at the last sample */
	double rate[2];
	bool has_rate;
	uint64_t ring[AGG_SLOTS][2];	/* bytes[] at each slot */
};

struct peer_key {
	uint8_t family;
	uint8_t pad[3];
	uint32_t netns;			/* 0: the meter's own namespace */
	uint8_t addr[16];
};

struct peer {
	struct peer_key key;		/* hash key */
	struct tally t;
	UT_hash_handle hh;
};

struct conn_key {
	uint8_t family;
	uint8_t proto;
	uint16_t lport;
	uint16_t rport;
	uint16_t pad;
	uint32_t netns;
	uint8_t addr[16];
};

struct conn {
	struct conn_key key;		/* hash key */
	struct tally t;
	UT_hash_handle hh;
};

/* Distinct peers an "other" row holds: a set of 64-bit key hashes, bounded. */
struct fold_set {
	uint64_t *v;			/* open addressing, 0 = empty */
	size_t cap, n;
	bool full;			/* stopped counting at AGG_FOLD_MAX */
};

struct others {
	struct tally t;
	struct fold_set set;
};

struct proc {
	uint32_t tgid;			/* hash key; 0: the creator is unknown */
	char comm[16];
	uint64_t cgroup_id;
	char unit[SNAP_UNIT_LEN];
	bool exited;
	uint32_t nfolded;		/* the "(exited)" row: processes folded into it */
	struct tally t;
	struct conn *conns;
	unsigned int nconns;
	struct conn *last_conn;
	struct others *other;		/* connections past the bound, on first need */
	UT_hash_handle hh;
};

struct user {
	tm_owner_t owner;		/* hash key */
	bool counted;			/* totals come from the kernel counters */
	uint64_t base[4];		/* bytes[2] + packets[2] of kernel entries gone earlier */
	uint64_t kern[4];		/* the kernel's current entry */
	uint64_t seen;			/* the agg_counters() call (epoch) that last listed it in
					 * the kernel's table; 0 once evicted from it */
	struct tally t;
	struct peer *peers;
	unsigned int npeers;
	struct peer *last_peer;		/* one-entry cache: floods repeat a peer */
	struct others *other;		/* peers past the bound, on first need */
	struct proc *procs;
	unsigned int nprocs;
	struct proc *last_proc;
	struct proc *gone;		/* "(exited)": processes folded away, on first need */
	float spark[SPARK_RING];	/* in+out bytes per second, by second % SPARK_RING */
	uint64_t spark_sec;		/* the second spark_base was taken in */
	uint64_t spark_base;		/* in+out bytes at the start of that second */
	UT_hash_handle hh;
};

struct ledger {
	tm_owner_t owner;		/* hash key */
	uint64_t tot[4];		/* bytes[2] + packets[2] when evicted */
	UT_hash_handle hh;
};

struct agg {
	struct agg_config cfg;		/* with defaults filled in */
	uint64_t min_gap_ns;		/* slots younger than this are overwritten, not appended */
	struct user *users;
	unsigned int nusers;
	struct user *last_user;
	struct ledger *ledger;		/* insertion order: the head is the oldest */
	unsigned int nledger;
	uint64_t ledger_sum[4];		/* evicted owners' totals, ledger or forgotten */
	uint64_t unattributed[4];	/* the kernel's overflow counters */
	unsigned int npeers, nprocs, nconns;	/* across all owners, for the global bounds */
	uint64_t times[AGG_SLOTS];	/* sample time of each slot */
	uint64_t ev_ring[AGG_SLOTS];	/* events counter at each slot */
	uint64_t nsamples;		/* slots ever appended; the newest slot is nsamples - 1 */
	/*
	 * agg_counters() calls, from 1. Not the slot sequence: two calls closer than min_gap_ns
	 * share a slot, but each is a read of the kernel's whole table.
	 */
	uint64_t epoch;
	uint64_t win_seq;		/* oldest slot inside the window at the last sample */
	uint64_t now_ns;		/* time of the last sample */
	uint64_t last_exit_check;
	uint64_t events;
	double events_per_s;
	uint64_t evicted, forgotten, kernel_evicted, peers_folded;
};

/*
 * uthash's default (Jenkins) hash was a fifth of agg_event's cost; these keys are short and
 * fixed, so a multiply-shift mix does. Hot tables use the *_BYHASHVALUE macros everywhere.
 */
static inline unsigned int mix64(uint64_t x)
{
	return (unsigned int)((x * 0x9e3779b97f4a7c15ULL) >> 32);
}

static inline uint64_t key_hash64(const void *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL, w;
	const uint8_t *p = k;

	for (size_t i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	if (n % 8) {
		w = 0;
		memcpy(&w, p + n - n % 8, n % 8);
		h = (h ^ w) * 0x100000001b3ULL;
	}
	h ^= h >> 32;
	h *= 0xc2b2ae3d27d4eb4fULL;
	return (h ^ (h >> 29)) | 1;	/* never 0: 0 marks an empty fold-set slot */
}

static inline uint64_t newest_seq(const struct agg *a)
{
	return a->nsamples ? a->nsamples - 1 : 0;
}

struct agg *agg_new(const struct agg_config *cfg)
{
	struct agg *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (cfg)
		a->cfg = *cfg;
#define DEF(f, v) if (!a->cfg.f) a->cfg.f = (v)
	DEF(window_ns, AGG_DEFAULT_WINDOW_NS);
	DEF(peers_per_owner, AGG_DEFAULT_PEERS);
	DEF(max_peers, AGG_DEFAULT_MAX_PEERS);
	DEF(procs_per_owner, AGG_DEFAULT_PROCS);
	DEF(max_procs, AGG_DEFAULT_MAX_PROCS);
	DEF(conns_per_proc, AGG_DEFAULT_CONNS);
	DEF(max_conns, AGG_DEFAULT_MAX_CONNS);
	DEF(max_ledger, AGG_DEFAULT_LEDGER);
	DEF(peer_idle_ns, AGG_PEER_IDLE_NS);
#undef DEF
	a->min_gap_ns = a->cfg.window_ns / (AGG_SLOTS - 2);
	return a;
}

/* ---- tallies ----------------------------------------------------------------------------- */

/* A new tally's history starts at the newest slot with its current (zero) counts. */
static void tally_init(const struct agg *a, struct tally *t)
{
	uint64_t seq = newest_seq(a);

	memset(t, 0, sizeof(*t));
	t->since = seq;
	t->active_ns = a->now_ns;
}

static inline void tally_add(struct tally *t, unsigned int dir, uint64_t bytes, uint64_t packets)
{
	t->bytes[dir] += bytes;
	t->packets[dir] += packets;
}

/*
 * Add src's counts to dst as if they had always been there: every slot moves by the same
 * amount, so the rate does not see a jump.
 */
static void tally_fold(struct tally *dst, const struct tally *src)
{
	for (int d = 0; d < 2; d++) {
		dst->bytes[d] += src->bytes[d];
		dst->packets[d] += src->packets[d];
		for (int s = 0; s < AGG_SLOTS; s++)
			dst->ring[s][d] += src->bytes[d];
	}
	dst->sampled += src->bytes[0] + src->bytes[1];
}

/* Rate between the window start (or the entity's first slot if later) and the newest slot. */
static bool ring_rate(const struct agg *a, uint64_t since, uint64_t seq,
		      const uint64_t ring[AGG_SLOTS][2], double rate[2])
{
	uint64_t from = since > a->win_seq ? since : a->win_seq;
	uint64_t ns;

	if (from >= seq)
		return false;
	ns = a->times[seq % AGG_SLOTS] - a->times[from % AGG_SLOTS];
	if (!ns)
		return false;
	for (int d = 0; d < 2; d++) {
		uint64_t newv = ring[seq % AGG_SLOTS][d], oldv = ring[from % AGG_SLOTS][d];

		/* Unsigned differences survive rebasing; a backwards step is clamped to 0. */
		rate[d] = newv >= oldv ? (double)(newv - oldv) * NSEC_PER_SEC / (double)ns : 0;
	}
	return true;
}

static void tally_sample(const struct agg *a, struct tally *t, uint64_t seq, uint64_t now)
{
	unsigned int slot = seq % AGG_SLOTS;
	uint64_t sum = t->bytes[0] + t->bytes[1];

	if (sum != t->sampled) {
		t->sampled = sum;
		t->active_ns = now;
	}
	/* Slots that fell off the ring are no longer this entity's history. */
	if (seq >= AGG_SLOTS && t->since < seq - (AGG_SLOTS - 1))
		t->since = seq - (AGG_SLOTS - 1);
	t->ring[slot][0] = t->bytes[0];
	t->ring[slot][1] = t->bytes[1];
	t->has_rate = ring_rate(a, t->since, seq, t->ring, t->rate);
	if (!t->has_rate)
		t->rate[0] = t->rate[1] = 0;
}

/* ---- fold sets --------------------------------------------------------------------------- */

static bool fold_has(const struct fold_set *s, uint64_t h)
{
	if (!s->cap)
		return false;
	for (size_t i = h & (s->cap - 1); s->v[i]; i = (i + 1) & (s->cap - 1))
		if (s->v[i] == h)
			return true;
	return false;
}

static void fold_add(struct fold_set *s, uint64_t h)
{
	size_t i;

	if (s->full)
		return;
	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		uint64_t *v;

		/* A peer counted already is not one more: it must not stop the count. */
		if (fold_has(s, h))
			return;
		if (s->n + 1 > AGG_FOLD_MAX) {
			s->full = true;
			return;
		}
		v = calloc(ncap, sizeof(*v));
		if (!v) {
			s->full = true;
			return;
		}
		for (size_t j = 0; j < s->cap; j++) {
			if (!s->v[j])
				continue;
			for (i = s->v[j] & (ncap - 1); v[i]; i = (i + 1) & (ncap - 1))
				;
			v[i] = s->v[j];
		}
		free(s->v);
		s->v = v;
		s->cap = ncap;
	}
	for (i = h & (s->cap - 1); s->v[i]; i = (i + 1) & (s->cap - 1))
		if (s->v[i] == h)
			return;
	s->v[i] = h;
	s->n++;
}

static struct others *others_get(const struct agg *a, struct others **o)
{
	if (!*o) {
		*o = calloc(1, sizeof(**o));
		if (*o)
			tally_init(a, &(*o)->t);
	}
	return *o;
}

static void others_free(struct others *o)
{
	if (o) {
		free(o->set.v);
		free(o);
	}
}

/* ---- owners ------------------------------------------------------------------------------ */

static void proc_free(struct agg *a, struct proc *p)
{
	struct conn *c, *tmp;

	HASH_ITER(hh, p->conns, c, tmp) {
		HASH_DELETE(hh, p->conns, c);
		free(c);
	}
	a->nconns -= p->nconns;
	others_free(p->other);
	free(p);
}

static void user_free(struct agg *a, struct user *u)
{
	struct peer *p, *ptmp;
	struct proc *r, *rtmp;

	HASH_ITER(hh, u->peers, p, ptmp) {
		HASH_DELETE(hh, u->peers, p);
		free(p);
	}
	a->npeers -= u->npeers;
	HASH_ITER(hh, u->procs, r, rtmp) {
		HASH_DELETE(hh, u->procs, r);
		a->nprocs--;
		proc_free(a, r);
	}
	if (u->gone)
		proc_free(a, u->gone);
	others_free(u->other);
	free(u);
}

void agg_free(struct agg *a)
{
	struct user *u, *utmp;
	struct ledger *l, *ltmp;

	if (!a)
		return;
	HASH_ITER(hh, a->users, u, utmp) {
		HASH_DELETE(hh, a->users, u);
		user_free(a, u);
	}
	HASH_ITER(hh, a->ledger, l, ltmp) {
		HASH_DELETE(hh, a->ledger, l);
		free(l);
	}
	free(a);
}

static inline struct user *user_find(const struct agg *a, tm_owner_t owner)
{
	struct user *u;

	HASH_FIND_BYHASHVALUE(hh, a->users, &owner, sizeof(owner), mix64(owner), u);
	return u;
}

static struct user *user_new(struct agg *a, tm_owner_t owner)
{
	struct user *u = calloc(1, sizeof(*u));
	struct ledger *l;

	if (!u)
		return NULL;
	u->owner = owner;
	tally_init(a, &u->t);
	u->spark_sec = a->now_ns / 1000000000ULL;
	/* An owner evicted earlier comes back with its totals: nothing on screen goes back. */
	HASH_FIND(hh, a->ledger, &owner, sizeof(owner), l);
	if (l) {
		memcpy(u->base, l->tot, sizeof(u->base));
		for (int i = 0; i < 4; i++)
			a->ledger_sum[i] -= l->tot[i];
		HASH_DELETE(hh, a->ledger, l);
		free(l);
		a->nledger--;
		u->counted = true;
		u->t.bytes[0] = u->base[0];
		u->t.bytes[1] = u->base[1];
		u->t.packets[0] = u->base[2];
		u->t.packets[1] = u->base[3];
		for (int s = 0; s < AGG_SLOTS; s++) {
			u->t.ring[s][0] = u->base[0];
			u->t.ring[s][1] = u->base[1];
		}
		u->t.sampled = u->base[0] + u->base[1];
	}
	u->spark_base = u->t.bytes[0] + u->t.bytes[1];
	HASH_ADD_BYHASHVALUE(hh, a->users, owner, sizeof(u->owner), mix64(owner), u);
	if (!a->users) {
		free(u);
		return NULL;
	}
	a->nusers++;
	return u;
}

static struct user *user_get(struct agg *a, tm_owner_t owner)
{
	struct user *u = a->last_user;

	if (u && u->owner == owner)
		return u;
	u = user_find(a, owner);
	if (!u)
		u = user_new(a, owner);
	if (u)
		a->last_user = u;
	return u;
}

/* ---- peers, processes, connections ------------------------------------------------------- */

static struct peer *peer_get(struct agg *a, struct user *u, const struct peer_key *key)
{
	unsigned int hv;
	struct peer *p = u->last_peer;

	if (p && !memcmp(&p->key, key, sizeof(*key)))
		return p;
	hv = (unsigned int)key_hash64(key, sizeof(*key));
	HASH_FIND_BYHASHVALUE(hh, u->peers, key, sizeof(*key), hv, p);
	if (!p) {
		if (u->npeers >= a->cfg.peers_per_owner || a->npeers >= a->cfg.max_peers)
			return NULL;
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->key = *key;
		tally_init(a, &p->t);
		HASH_ADD_BYHASHVALUE(hh, u->peers, key, sizeof(p->key), hv, p);
		if (!u->peers) {
			free(p);
			return NULL;
		}
		u->npeers++;
		a->npeers++;
	}
	u->last_peer = p;
	return p;
}

static struct proc *proc_get(struct agg *a, struct user *u, const struct proc_ident *pi)
{
	uint32_t tgid = pi ? pi->tgid : 0;
	struct proc *p = u->last_proc;

	if (!p || p->tgid != tgid) {
		HASH_FIND_BYHASHVALUE(hh, u->procs, &tgid, sizeof(tgid), mix64(tgid), p);
		if (!p) {
			if (u->nprocs >= a->cfg.procs_per_owner || a->nprocs >= a->cfg.max_procs)
				tgid = 0;	/* past the bound: the "(unknown)" row takes it */
			if (!tgid)
				HASH_FIND_BYHASHVALUE(hh, u->procs, &tgid, sizeof(tgid), mix64(tgid),
						      p);
		}
		if (!p) {
			p = calloc(1, sizeof(*p));
			if (!p)
				return NULL;
			p->tgid = tgid;
			tally_init(a, &p->t);
			HASH_ADD_BYHASHVALUE(hh, u->procs, tgid, sizeof(p->tgid), mix64(tgid), p);
			if (!u->procs) {
				free(p);
				return NULL;
			}
			u->nprocs++;
			a->nprocs++;
		}
		u->last_proc = p;
	}
	/* The name of its newest socket: a process that execs shows its new command. */
	if (pi && p->tgid && (memcmp(p->comm, pi->comm, sizeof(p->comm)) ||
			      p->cgroup_id != pi->cgroup_id)) {
		memcpy(p->comm, pi->comm, sizeof(p->comm));
		p->cgroup_id = pi->cgroup_id;
		p->unit[0] = '\0';
		if (a->cfg.unit)
			a->cfg.unit(a->cfg.unit_ctx, pi->cgroup_id, pi->cgroup, p->unit,
				    sizeof(p->unit));
	}
	return p;
}

static struct conn *conn_get(struct agg *a, struct proc *p, const struct conn_key *key)
{
	struct conn *c = p->last_conn;
	unsigned int hv;

	if (c && !memcmp(&c->key, key, sizeof(*key)))
		return c;
	hv = (unsigned int)key_hash64(key, sizeof(*key));
	HASH_FIND_BYHASHVALUE(hh, p->conns, key, sizeof(*key), hv, c);
	if (!c) {
		if (p->nconns >= a->cfg.conns_per_proc || a->nconns >= a->cfg.max_conns)
			return NULL;
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		c->key = *key;
		tally_init(a, &c->t);
		HASH_ADD_BYHASHVALUE(hh, p->conns, key, sizeof(c->key), hv, c);
		if (!p->conns) {
			free(c);
			return NULL;
		}
		p->nconns++;
		a->nconns++;
	}
	p->last_conn = c;
	return c;
}

void agg_event(struct agg *a, const struct traffic_record *rec)
{
	unsigned int dir = rec->direction;
	const uint8_t *addr;
	struct peer_key pk;
	struct conn_key ck;
	struct user *u;
	struct peer *p;
	struct proc *pr;
	struct conn *c;
	size_t alen;

	if (dir > TM_DIR_OUT)
		return;
	a->events++;
	u = user_get(a, rec->owner);
	if (!u)
		return;
	if (!u->counted)
		/* Show something until the first counter sample replaces it with exact totals. */
		tally_add(&u->t, dir, rec->bytes, 1);

	addr = dir == TM_DIR_OUT ? rec->dst : rec->src;
	alen = rec->family == TM_AF_INET ? 4 : 16;
	memset(&pk, 0, sizeof(pk));
	pk.family = rec->family;
	pk.netns = rec->foreign_netns ? rec->netns : 0;
	memcpy(pk.addr, addr, alen);
	p = peer_get(a, u, &pk);
	if (p) {
		tally_add(&p->t, dir, rec->bytes, 1);
	} else if (others_get(a, &u->other)) {
		tally_add(&u->other->t, dir, rec->bytes, 1);
		fold_add(&u->other->set, key_hash64(&pk, sizeof(pk)));
	}

	pr = proc_get(a, u, rec->proc);
	if (!pr)
		return;
	tally_add(&pr->t, dir, rec->bytes, 1);
	memset(&ck, 0, sizeof(ck));
	ck.family = rec->family;
	ck.proto = rec->proto;
	ck.lport = dir == TM_DIR_OUT ? rec->sport : rec->dport;
	ck.rport = dir == TM_DIR_OUT ? rec->dport : rec->sport;
	ck.netns = pk.netns;
	memcpy(ck.addr, addr, alen);
	c = conn_get(a, pr, &ck);
	if (c) {
		tally_add(&c->t, dir, rec->bytes, 1);
	} else if (others_get(a, &pr->other)) {
		tally_add(&pr->other->t, dir, rec->bytes, 1);
		fold_add(&pr->other->set, key_hash64(&ck, sizeof(ck)));
	}
}

/* ---- samples ----------------------------------------------------------------------------- */

/*
 * Pick the slot for a sample at now and return its sequence number. The newest slot is
 * overwritten while it is younger than min_gap after its predecessor, so every other slot is
 * at least min_gap apart and the ring always reaches a full window back.
 */
static uint64_t take_slot(struct agg *a, uint64_t now)
{
	uint64_t n = a->nsamples;

	if (n >= 2 && a->times[(n - 1) % AGG_SLOTS] - a->times[(n - 2) % AGG_SLOTS] < a->min_gap_ns)
		n--;
	else
		a->nsamples++;
	a->times[n % AGG_SLOTS] = now;
	return n;
}

/* Oldest slot inside the window; the one before the newest if the calls are sparser. */
static uint64_t window_start(const struct agg *a, uint64_t seq, uint64_t now)
{
	uint64_t first = seq >= AGG_SLOTS - 1 ? seq - (AGG_SLOTS - 1) : 0;
	uint64_t s;

	if (seq == 0)
		return 0;
	for (s = first; s < seq - 1; s++)
		if (now - a->times[s % AGG_SLOTS] <= a->cfg.window_ns)
			break;
	return s;
}

static void user_totals(struct user *u)
{
	u->t.bytes[0] = u->base[0] + u->kern[0];
	u->t.bytes[1] = u->base[1] + u->kern[1];
	u->t.packets[0] = u->base[2] + u->kern[2];
	u->t.packets[1] = u->base[3] + u->kern[3];
}

/* One kernel entry: the owner's totals become base + the entry. */
static void apply_total(struct agg *a, const struct owner_total *t)
{
	uint64_t k[4] = { t->bytes[0], t->bytes[1], t->packets[0], t->packets[1] };
	struct user *u = user_find(a, t->owner);

	if (!u) {
		u = user_new(a, t->owner);
		if (!u)
			return;
	}
	u->seen = a->epoch;
	if (!u->counted) {
		/*
		 * Switch from event sums to exact totals. Shift the history by the difference so
		 * the rate keeps the event-based estimate instead of showing the jump as traffic.
		 */
		for (int d = 0; d < 2; d++) {
			uint64_t delta = u->base[d] + k[d] - u->t.bytes[d];

			for (int s = 0; s < AGG_SLOTS; s++)
				u->t.ring[s][d] += delta;
			u->t.sampled += delta;
		}
		u->spark_base += (u->base[0] + k[0] - u->t.bytes[0]) +
				 (u->base[1] + k[1] - u->t.bytes[1]);
		u->counted = true;
	} else {
		for (int i = 0; i < 4; i++) {
			if (k[i] < u->kern[i]) {
				/* The entry restarted under us (reload): keep what it had. */
				for (int j = 0; j < 4; j++)
					u->base[j] += u->kern[j];
				break;
			}
		}
	}
	memcpy(u->kern, k, sizeof(k));
	user_totals(u);
}

static void spark_sample(struct user *u, uint64_t now)
{
	uint64_t sec = now / 1000000000ULL, sum = u->t.bytes[0] + u->t.bytes[1];

	if (sec != u->spark_sec) {
		/* Seconds without a sample (a stall) are zero, not the previous value. */
		uint64_t gap = sec - u->spark_sec;

		for (uint64_t s = 1; s < gap && s < SPARK_RING; s++)
			u->spark[(u->spark_sec + s) % SPARK_RING] = 0;
		u->spark[sec % SPARK_RING] = 0;
		u->spark_sec = sec;
	}
	u->spark[sec % SPARK_RING] += (float)(sum - u->spark_base);
	u->spark_base = sum;
}

/* Fold the exited processes whose rate fell to zero into the "(exited)" row. */
static void reap_procs(struct agg *a, struct user *u, bool probe)
{
	struct proc *p, *tmp;

	HASH_ITER(hh, u->procs, p, tmp) {
		if (!p->tgid)
			continue;
		if (probe && !p->exited) {
			if (a->cfg.alive)
				p->exited = !a->cfg.alive(a->cfg.alive_ctx, p->tgid);
			else
				p->exited = kill((pid_t)p->tgid, 0) < 0 && errno == ESRCH;
		}
		if (!p->exited || (p->t.has_rate && p->t.rate[0] + p->t.rate[1] > 0))
			continue;
		if (!u->gone) {
			u->gone = calloc(1, sizeof(*u->gone));
			if (!u->gone)
				continue;
			tally_init(a, &u->gone->t);
			u->gone->exited = true;
			snprintf(u->gone->comm, sizeof(u->gone->comm), "(exited)");
		}
		tally_fold(&u->gone->t, &p->t);
		u->gone->nfolded++;
		if (u->last_proc == p)
			u->last_proc = NULL;
		HASH_DELETE(hh, u->procs, p);
		u->nprocs--;
		a->nprocs--;
		proc_free(a, p);
	}
}

/* A table at 90 % of its bound folds its idle peers into "other" to make room. */
static void fold_idle_peers(struct agg *a, struct user *u, uint64_t now)
{
	struct peer *p, *tmp;

	if (u->npeers * 10 < a->cfg.peers_per_owner * 9 && a->npeers * 10 < a->cfg.max_peers * 9)
		return;
	HASH_ITER(hh, u->peers, p, tmp) {
		if (now - p->t.active_ns < a->cfg.peer_idle_ns)
			continue;
		/* Made on first need: a full table of busy peers shows no empty "other" row. */
		if (!others_get(a, &u->other))
			return;
		tally_fold(&u->other->t, &p->t);
		fold_add(&u->other->set, key_hash64(&p->key, sizeof(p->key)));
		if (u->last_peer == p)
			u->last_peer = NULL;
		HASH_DELETE(hh, u->peers, p);
		free(p);
		u->npeers--;
		a->npeers--;
		a->peers_folded++;
	}
}

static void sample_user(struct agg *a, struct user *u, uint64_t seq, uint64_t now, bool probe)
{
	struct peer *p;
	struct proc *r;

	tally_sample(a, &u->t, seq, now);
	spark_sample(u, now);
	for (p = u->peers; p; p = p->hh.next)
		tally_sample(a, &p->t, seq, now);
	if (u->other)
		tally_sample(a, &u->other->t, seq, now);
	for (r = u->procs; r; r = r->hh.next) {
		tally_sample(a, &r->t, seq, now);
		for (struct conn *c = r->conns; c; c = c->hh.next)
			tally_sample(a, &c->t, seq, now);
		if (r->other)
			tally_sample(a, &r->other->t, seq, now);
	}
	if (u->gone)
		tally_sample(a, &u->gone->t, seq, now);
	reap_procs(a, u, probe);
	fold_idle_peers(a, u, now);
}

void agg_counters(struct agg *a, uint64_t now_ns, const struct owner_total *t, size_t n)
{
	struct user *u;
	uint64_t seq, from;
	bool probe;

	/* Monotonic input is the contract; a step back is clamped rather than trusted. */
	if (a->nsamples && now_ns < a->times[newest_seq(a) % AGG_SLOTS])
		now_ns = a->times[newest_seq(a) % AGG_SLOTS];
	a->now_ns = now_ns;
	a->epoch++;
	seq = take_slot(a, now_ns);
	a->win_seq = window_start(a, seq, now_ns);

	for (size_t i = 0; i < n; i++)
		apply_total(a, &t[i]);

	probe = now_ns - a->last_exit_check >= EXIT_CHECK_NS;
	if (probe)
		a->last_exit_check = now_ns;
	for (u = a->users; u; u = u->hh.next) {
		/* Its kernel entry is gone without us evicting it: keep what it had counted. */
		if (u->counted && u->seen != a->epoch && (u->kern[0] | u->kern[1] | u->kern[2] |
							  u->kern[3])) {
			for (int i = 0; i < 4; i++)
				u->base[i] += u->kern[i];
			memset(u->kern, 0, sizeof(u->kern));
			user_totals(u);
		}
		sample_user(a, u, seq, now_ns, probe);
	}

	a->ev_ring[seq % AGG_SLOTS] = a->events;
	from = a->win_seq;
	a->events_per_s = 0;
	if (from < seq && a->times[seq % AGG_SLOTS] > a->times[from % AGG_SLOTS]) {
		uint64_t ev = a->events - a->ev_ring[from % AGG_SLOTS];
		uint64_t ns = a->times[seq % AGG_SLOTS] - a->times[from % AGG_SLOTS];

		a->events_per_s = (double)ev * NSEC_PER_SEC / (double)ns;
	}
}

void agg_set_unattributed(struct agg *a, const struct owner_total *t)
{
	a->unattributed[0] = t->bytes[0];
	a->unattributed[1] = t->bytes[1];
	a->unattributed[2] = t->packets[0];
	a->unattributed[3] = t->packets[1];
}

size_t agg_count(const struct agg *a)
{
	return a->nusers;
}

/* ---- eviction ---------------------------------------------------------------------------- */

struct idle_ent {
	uint64_t active_ns;
	tm_owner_t owner;
};

static int idle_cmp(const void *x, const void *y)
{
	const struct idle_ent *p = x, *q = y;

	if (p->active_ns != q->active_ns)
		return p->active_ns < q->active_ns ? -1 : 1;
	return p->owner < q->owner ? -1 : p->owner > q->owner;
}

size_t agg_pick_idle(const struct agg *a, uint64_t now_ns, uint64_t min_idle_ns, bool in_kernel,
		     size_t want, tm_owner_t *out)
{
	struct idle_ent *v;
	const struct user *u;
	size_t n = 0;

	if (!want || !a->nusers)
		return 0;
	v = malloc(a->nusers * sizeof(*v));
	if (!v)
		return 0;
	for (u = a->users; u; u = u->hh.next) {
		if (in_kernel && (!u->counted || u->seen != a->epoch))
			continue;
		if (now_ns - u->t.active_ns >= min_idle_ns)
			v[n++] = (struct idle_ent){ u->t.active_ns, u->owner };
	}
	qsort(v, n, sizeof(*v), idle_cmp);
	if (n > want)
		n = want;
	for (size_t i = 0; i < n; i++)
		out[i] = v[i].owner;
	free(v);
	return n;
}

void agg_kernel_gone(struct agg *a, const struct owner_total *final)
{
	struct user *u = user_find(a, final->owner);
	uint64_t k[4] = { final->bytes[0], final->bytes[1], final->packets[0], final->packets[1] };

	a->kernel_evicted++;
	if (!u)
		return;
	/* The final values are at least what the last sample read: take them over kern. */
	for (int i = 0; i < 4; i++)
		u->base[i] += k[i];
	memset(u->kern, 0, sizeof(u->kern));
	/* No longer in the table: not a candidate again until a read lists it. */
	u->seen = 0;
	if (u->counted)
		user_totals(u);
}

void agg_evict(struct agg *a, tm_owner_t owner)
{
	struct user *u = user_find(a, owner);
	struct ledger *l;
	uint64_t tot[4];

	if (!u)
		return;
	tot[0] = u->t.bytes[0];
	tot[1] = u->t.bytes[1];
	tot[2] = u->t.packets[0];
	tot[3] = u->t.packets[1];
	if (a->nledger >= a->cfg.max_ledger && a->ledger) {
		/* The oldest entry goes; its totals stay in ledger_sum, so the header does too. */
		l = a->ledger;
		HASH_DELETE(hh, a->ledger, l);
		free(l);
		a->nledger--;
		a->forgotten++;
	}
	l = calloc(1, sizeof(*l));
	if (l) {
		l->owner = owner;
		memcpy(l->tot, tot, sizeof(tot));
		HASH_ADD(hh, a->ledger, owner, sizeof(l->owner), l);
		if (a->ledger)
			a->nledger++;
		else
			a->forgotten++;
	} else {
		a->forgotten++;
	}
	for (int i = 0; i < 4; i++)
		a->ledger_sum[i] += tot[i];
	if (a->last_user == u)
		a->last_user = NULL;
	HASH_DELETE(hh, a->users, u);
	a->nusers--;
	a->evicted++;
	user_free(a, u);
}

/* ---- export ------------------------------------------------------------------------------ */

void agg_export_totals(const struct agg *a, struct snapshot *s)
{
	const struct user *u;

	memset(&s->totals, 0, sizeof(s->totals));
	for (int d = 0; d < 2; d++) {
		s->totals.bytes[d] = a->ledger_sum[d] + a->unattributed[d];
		s->totals.packets[d] = a->ledger_sum[2 + d] + a->unattributed[2 + d];
	}
	for (u = a->users; u; u = u->hh.next) {
		for (int d = 0; d < 2; d++) {
			s->totals.bytes[d] += u->t.bytes[d];
			s->totals.packets[d] += u->t.packets[d];
			s->totals.rate[d] += u->t.rate[d];
		}
	}
	s->totals.has_rate = a->nsamples >= 2;
	s->seq = a->nsamples;
	s->stats.events_per_s = a->events_per_s;
	s->stats.evicted = a->evicted;
	s->stats.forgotten = a->forgotten;
	s->stats.kernel_evicted = a->kernel_evicted;
	s->stats.peers_folded = a->peers_folded;
	s->stats.users = a->nusers;
	s->meter.window_s = (double)a->cfg.window_ns / NSEC_PER_SEC;
}

static void export_tally(const struct tally *t, uint64_t bytes[2], uint64_t packets[2],
			 double rate[2])
{
	memcpy(bytes, t->bytes, sizeof(t->bytes));
	memcpy(packets, t->packets, sizeof(t->packets));
	memcpy(rate, t->rate, sizeof(t->rate));
}

static void peer_export(const struct user *u, const struct peer *p, struct snap_peer *out)
{
	memset(out, 0, sizeof(*out));
	out->owner = u->owner;
	out->family = p->key.family;
	memcpy(out->addr, p->key.addr, sizeof(out->addr));
	out->netns = p->key.netns;
	export_tally(&p->t, out->bytes, out->packets, out->rate);
}

static void others_export(const struct user *u, const struct others *o, struct snap_peer *out)
{
	memset(out, 0, sizeof(*out));
	out->owner = u->owner;
	export_tally(&o->t, out->bytes, out->packets, out->rate);
	out->folded = o->set.n;
	out->folded_more = o->set.full;
}

/* Rate (in+out), then bytes, both descending: the "top" order. */
static bool peer_better(const struct snap_peer *p, const struct snap_peer *q)
{
	double rp = p->rate[0] + p->rate[1], rq = q->rate[0] + q->rate[1];

	if (rp != rq)
		return rp > rq;
	return p->bytes[0] + p->bytes[1] > q->bytes[0] + q->bytes[1];
}

static void user_export(const struct agg *a, const struct user *u, struct snap_user *out)
{
	uint64_t sec = u->spark_sec;

	memset(out, 0, sizeof(*out));
	out->owner = u->owner;
	export_tally(&u->t, out->bytes, out->packets, out->rate);
	out->has_rate = u->t.has_rate;
	out->idle_s = a->now_ns > u->t.active_ns ? (double)(a->now_ns - u->t.active_ns) / 1e9 : 0;
	out->npeers = u->npeers;
	out->nprocs = u->nprocs;
	for (const struct peer *p = u->peers; p; p = p->hh.next) {
		struct snap_peer cand;

		peer_export(u, p, &cand);
		if (!out->has_top || peer_better(&cand, &out->top)) {
			out->top = cand;
			out->has_top = true;
		}
	}
	/* Whole seconds before the current one, in steps, oldest first: a finished picture. */
	for (int i = 0; i < SNAP_SPARK; i++) {
		float sum = 0;

		for (int j = 0; j < SNAP_SPARK_STEP; j++) {
			uint64_t back = (uint64_t)(SNAP_SPARK - i) * SNAP_SPARK_STEP - (uint64_t)j;

			if (back <= sec)
				sum += u->spark[(sec - back) % SPARK_RING];
		}
		out->spark[i] = sum / SNAP_SPARK_STEP;
	}
}

size_t agg_export_users(const struct agg *a, const tm_owner_t *only, struct snap_user *out,
			size_t max)
{
	size_t n = 0;

	if (only) {
		const struct user *u = user_find(a, *only);

		if (!u || !max)
			return 0;
		user_export(a, u, out);
		return 1;
	}
	for (const struct user *u = a->users; u && n < max; u = u->hh.next)
		user_export(a, u, &out[n++]);
	return n;
}

size_t agg_ledger_count(const struct agg *a)
{
	return a->nledger;
}

size_t agg_export_ledger(const struct agg *a, struct snap_user *out, size_t max)
{
	size_t n = 0;

	for (const struct ledger *l = a->ledger; l && n < max; l = l->hh.next, n++) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].owner = l->owner;
		out[n].bytes[0] = l->tot[0];
		out[n].bytes[1] = l->tot[1];
		out[n].packets[0] = l->tot[2];
		out[n].packets[1] = l->tot[3];
		out[n].idle_s = -1;	/* evicted: idle for longer than the live table knows */
	}
	return n;
}

int agg_export_peers(const struct agg *a, const tm_owner_t *only, struct snap_peer **out,
		     size_t *n)
{
	const struct user *one = only ? user_find(a, *only) : NULL;
	struct snap_peer *v;
	size_t k = 0, cap = 0;

	*out = NULL;
	*n = 0;
	if (only && !one)
		return -ENOENT;
	for (const struct user *u = one ? one : a->users; u; u = one ? NULL : u->hh.next)
		cap += u->npeers + 1;
	v = calloc(cap ? cap : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (const struct user *u = one ? one : a->users; u; u = one ? NULL : u->hh.next) {
		for (const struct peer *p = u->peers; p; p = p->hh.next)
			peer_export(u, p, &v[k++]);
		if (u->other)
			others_export(u, u->other, &v[k++]);
	}
	*out = v;
	*n = k;
	return 0;
}

static void proc_export(const struct user *u, const struct proc *p, struct snap_proc *out)
{
	memset(out, 0, sizeof(*out));
	out->owner = u->owner;
	out->tgid = p->tgid;
	memcpy(out->comm, p->comm, sizeof(out->comm));
	if (!p->tgid && !p->exited)
		snprintf(out->comm, sizeof(out->comm), "(unknown)");
	out->cgroup_id = p->cgroup_id;
	memcpy(out->unit, p->unit, sizeof(out->unit));
	out->exited = p->exited;
	out->nfolded = p->nfolded;
	export_tally(&p->t, out->bytes, out->packets, out->rate);
	out->has_rate = p->t.has_rate;
	out->nconns = p->nconns;
}

int agg_export_procs(const struct agg *a, const tm_owner_t *only, struct snap_proc **out,
		     size_t *n)
{
	size_t cap = 0, k = 0;
	struct snap_proc *v;
	const struct user *one = only ? user_find(a, *only) : NULL;

	*out = NULL;
	*n = 0;
	if (only && !one)
		return 0;
	for (const struct user *u = one ? one : a->users; u; u = one ? NULL : u->hh.next)
		cap += u->nprocs + (u->gone ? 1 : 0);
	v = calloc(cap ? cap : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (const struct user *u = one ? one : a->users; u; u = one ? NULL : u->hh.next) {
		for (const struct proc *p = u->procs; p; p = p->hh.next)
			proc_export(u, p, &v[k++]);
		if (u->gone)
			proc_export(u, u->gone, &v[k++]);
	}
	*out = v;
	*n = k;
	return 0;
}

int agg_export_conns(const struct agg *a, tm_owner_t owner, uint32_t tgid, struct snap_conn **out,
		     size_t *n)
{
	const struct user *u = user_find(a, owner);
	const struct proc *p = NULL;
	struct snap_conn *v;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (u)
		HASH_FIND_BYHASHVALUE(hh, u->procs, &tgid, sizeof(tgid), mix64(tgid), p);
	if (!p)
		return -ENOENT;
	v = calloc(p->nconns + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (const struct conn *c = p->conns; c; c = c->hh.next) {
		struct snap_conn *o = &v[k++];

		o->family = c->key.family;
		o->proto = c->key.proto;
		o->lport = c->key.lport;
		o->rport = c->key.rport;
		memcpy(o->addr, c->key.addr, sizeof(o->addr));
		o->netns = c->key.netns;
		export_tally(&c->t, o->bytes, o->packets, o->rate);
	}
	if (p->other) {
		struct snap_conn *o = &v[k++];

		export_tally(&p->other->t, o->bytes, o->packets, o->rate);
		o->folded = p->other->set.n;
	}
	*out = v;
	*n = k;
	return 0;
}
