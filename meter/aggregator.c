// SPDX-License-Identifier: GPL-2.0
/*
 * The per-user aggregator (see aggregator.h for the contract).
 *
 * Time is a shared ring of AGG_SLOTS sample times, one slot per agg_counters() call. Every user
 * and every peer keeps its byte counts in the same slots, so an entity needs no times of its own,
 * only the sequence number of its first valid slot ("since"). A rate is (newest - oldest slot
 * inside the window) / elapsed, from never-reset counts: a missed call or a lost event never gives
 * a wrong number, and an entity whose counts stop moving decays to 0 as the window slides.
 *
 * Peers are a bounded Space-Saving table per user (Metwally et al., "Efficient computation of
 * frequent and top-k elements in data streams", 2005): K entries, a new peer evicts the smallest
 * and inherits its count as the over-count bound, so memory is fixed however many peers appear.
 */
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/traffic_meter.h"
#include "meter/aggregator.h"

/* uthash must not exit() inside a library: a failed table allocation only skips the add. */
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

/*
 * Slots in the time ring. 16 keeps a peer's history at 256 bytes; slots are thinned (see
 * take_slot()) so that AGG_SLOTS - 2 of them always span the window whatever the call rate.
 */
#define AGG_SLOTS		16
#define AGG_DEFAULT_WINDOW_NS	2000000000ULL
#define AGG_DEFAULT_PEERS	32
#define AGG_DEFAULT_MAX_USERS	4096

#define NSEC_PER_SEC		1e9

struct peer_key {
	uint8_t family;			/* TM_AF_INET or TM_AF_INET6 */
	uint8_t addr[16];		/* IPv4 in the first 4 bytes, the rest zero */
};

struct peer {
	struct peer_key key;		/* hash key: family + address */
	uint64_t bytes[2];		/* Space-Saving counts per direction (include error) */
	uint64_t error;			/* count inherited from the evicted entry */
	double rate[2];			/* bytes/s over the window, set at each sample */
	uint64_t since;			/* first valid slot sequence number */
	UT_hash_handle hh;
};

/* A peer's history, kept apart from struct peer so the per-event path stays in few lines. */
typedef uint64_t peer_ring_t[AGG_SLOTS][2];

struct user {
	uint32_t uid;			/* hash key */
	bool counted;			/* totals from the kernel counters, not from events */
	bool has_rate;			/* two valid slots exist */
	uint64_t bytes[2];		/* totals: counters, or event sums until counters arrive */
	uint64_t packets[2];
	uint64_t sampled[4];		/* bytes[2] + packets[2] at the last sample */
	double rate[2];
	uint64_t last_active_ns;	/* sample time of the last change in totals */
	uint64_t seen_seq;		/* last sample that listed this user in its totals */
	uint64_t since;			/* first valid slot sequence number */
	uint64_t ring[AGG_SLOTS][2];	/* bytes[] at each slot */
	struct peer *peers;		/* uthash head over pool */
	struct peer *pool;		/* K entries, allocated on the first event */
	uint64_t *count;		/* K: in + out bytes of pool[i], packed for peer_min() */
	peer_ring_t *pring;		/* K: history of pool[i] */
	unsigned int npeers;		/* pool entries in use */
	UT_hash_handle hh;
};

/*
 * An expired user that is still in the kernel's counters: its totals are remembered so the next
 * sample does not bring it straight back; it returns when the totals move.
 */
struct tomb {
	uint32_t uid;			/* hash key */
	uint64_t totals[4];		/* bytes[2] + packets[2] when it expired */
	uint64_t seen_seq;		/* last sample that still listed it */
	UT_hash_handle hh;
};

struct agg {
	struct agg_config cfg;		/* with defaults filled in */
	uint64_t min_gap_ns;		/* slots younger than this are overwritten, not appended */
	struct user *users;		/* uthash head */
	unsigned int nusers;
	struct user *last_user;		/* one-entry cache: events come in bursts per user */
	struct tomb *tombs;		/* uthash head */
	uint64_t times[AGG_SLOTS];	/* sample time of each slot */
	uint64_t ev_ring[AGG_SLOTS];	/* events counter at each slot */
	uint64_t nsamples;		/* slots ever appended; the newest slot is nsamples - 1 */
	uint64_t win_seq;		/* oldest slot inside the window at the last sample */
	uint64_t events;		/* agg_event() calls */
	double events_per_s;
	uint64_t lost;			/* as set by agg_set_lost() */
	uint64_t users_dropped;		/* user creations refused by max_users */
};

/*
 * uthash's default (Jenkins) hash was a fifth of agg_event's cost, and a peer flood hashed every
 * key twice; these keys are short and fixed, so a multiply-shift mix does. Tables hashed this way
 * use the *_BYHASHVALUE macros everywhere; the tombstone table, off the hot path, keeps the
 * default.
 */
static inline unsigned int uid_hash(uint32_t uid)
{
	return (unsigned int)((uid * 0x9e3779b97f4a7c15ULL) >> 32);
}

static inline unsigned int peer_hash(const struct peer_key *k)
{
	uint64_t x, y;

	memcpy(&x, k->addr, 8);
	memcpy(&y, k->addr + 8, 8);
	x = (x ^ k->family) * 0x9e3779b97f4a7c15ULL;
	y = (y + (x >> 29)) * 0xc2b2ae3d27d4eb4fULL;
	return (unsigned int)((x ^ y) >> 32);
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
	if (!a->cfg.window_ns)
		a->cfg.window_ns = AGG_DEFAULT_WINDOW_NS;
	if (!a->cfg.peers_per_user)
		a->cfg.peers_per_user = AGG_DEFAULT_PEERS;
	if (!a->cfg.max_users)
		a->cfg.max_users = AGG_DEFAULT_MAX_USERS;
	a->min_gap_ns = a->cfg.window_ns / (AGG_SLOTS - 2);
	return a;
}

static void user_free(struct user *u)
{
	HASH_CLEAR(hh, u->peers);	/* frees the bucket array; the entries live in pool */
	free(u->pool);
	free(u->count);
	free(u->pring);
	free(u);
}

static void user_del(struct agg *a, struct user *u)
{
	HASH_DEL(a->users, u);
	if (a->last_user == u)
		a->last_user = NULL;
	a->nusers--;
	user_free(u);
}

void agg_free(struct agg *a)
{
	struct user *u, *utmp;
	struct tomb *t, *ttmp;

	if (!a)
		return;
	HASH_ITER(hh, a->users, u, utmp) {
		HASH_DEL(a->users, u);
		user_free(u);
	}
	HASH_ITER(hh, a->tombs, t, ttmp) {
		HASH_DEL(a->tombs, t);
		free(t);
	}
	free(a);
}

static void tomb_del(struct agg *a, uint32_t uid)
{
	struct tomb *t;

	HASH_FIND(hh, a->tombs, &uid, sizeof(uid), t);
	if (t) {
		HASH_DEL(a->tombs, t);
		free(t);
	}
}

static struct user *user_new(struct agg *a, uint32_t uid)
{
	struct user *u;

	if (a->nusers >= a->cfg.max_users) {
		a->users_dropped++;
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->uid = uid;
	/* A zero baseline at the newest slot: the first sample then yields a rate at once. */
	u->since = newest_seq(a);
	u->last_active_ns = a->nsamples ? a->times[newest_seq(a) % AGG_SLOTS] : 0;
	HASH_ADD_BYHASHVALUE(hh, a->users, uid, sizeof(u->uid), uid_hash(uid), u);
	if (!a->users) {
		free(u);
		return NULL;
	}
	a->nusers++;
	return u;
}

static inline struct user *user_find(const struct agg *a, uint32_t uid)
{
	struct user *u;

	HASH_FIND_BYHASHVALUE(hh, a->users, &uid, sizeof(uid), uid_hash(uid), u);
	return u;
}

/*
 * Space-Saving: the entry with the smallest count, to be replaced by a new peer. A linear scan
 * over a packed array: K is small, and in a flood this runs on nearly every event.
 */
static unsigned int peer_min(const struct user *u)
{
	unsigned int min = 0;
	uint64_t minc = u->count[0];

	for (unsigned int i = 1; i < u->npeers; i++) {
		if (u->count[i] < minc) {
			min = i;
			minc = u->count[i];
		}
	}
	return min;
}

static bool peers_alloc(struct agg *a, struct user *u)
{
	unsigned int k = a->cfg.peers_per_user;

	u->pool = calloc(k, sizeof(*u->pool));
	u->count = calloc(k, sizeof(*u->count));
	u->pring = calloc(k, sizeof(*u->pring));
	if (u->pool && u->count && u->pring)
		return true;
	free(u->pool);
	free(u->count);
	free(u->pring);
	u->pool = NULL;
	u->count = NULL;
	u->pring = NULL;
	return false;
}

static struct peer *peer_get(struct agg *a, struct user *u, const struct peer_key *key)
{
	unsigned int hv = peer_hash(key);
	uint64_t seq = newest_seq(a);
	struct peer *p;

	HASH_FIND_BYHASHVALUE(hh, u->peers, key, sizeof(*key), hv, p);
	if (p)
		return p;
	if (!u->pool && !peers_alloc(a, u))
		return NULL;
	if (u->npeers < a->cfg.peers_per_user) {
		p = &u->pool[u->npeers];
		memset(p, 0, sizeof(*p));
		u->count[u->npeers] = 0;
		p->key = *key;
		HASH_ADD_BYHASHVALUE(hh, u->peers, key, sizeof(p->key), hv, p);
		if (!u->peers)
			return NULL;
		u->npeers++;
	} else {
		/*
		 * Full: evict the smallest. The newcomer keeps the evicted counts (and their
		 * in/out split) so the counts stay an upper bound; error says by how much.
		 */
		p = &u->pool[peer_min(u)];
		HASH_DEL(u->peers, p);
		p->key = *key;
		p->error = p->bytes[0] + p->bytes[1];
		p->rate[0] = p->rate[1] = 0;
		HASH_ADD_BYHASHVALUE(hh, u->peers, key, sizeof(p->key), hv, p);
		if (!u->peers) {
			/* Only possible with K = 1: the table was freed and could not come back. */
			u->npeers = 0;
			return NULL;
		}
	}
	/* Baseline at the newest slot: inherited bytes are not traffic, so not rate either. */
	p->since = seq;
	u->pring[p - u->pool][seq % AGG_SLOTS][0] = p->bytes[0];
	u->pring[p - u->pool][seq % AGG_SLOTS][1] = p->bytes[1];
	return p;
}

void agg_event(struct agg *a, const struct traffic_record *rec)
{
	unsigned int dir = rec->direction;
	const uint8_t *addr;
	struct peer_key key;
	struct user *u;
	struct peer *p;

	if (dir > TM_DIR_OUT)
		return;
	a->events++;

	u = a->last_user;
	if (!u || u->uid != rec->uid) {
		u = user_find(a, rec->uid);
		if (!u) {
			u = user_new(a, rec->uid);
			if (!u)
				return;
			tomb_del(a, rec->uid);
		}
		a->last_user = u;
	}
	if (!u->counted) {
		/* Show something until the first counter sample replaces it with exact totals. */
		u->bytes[dir] += rec->bytes;
		u->packets[dir]++;
	}

	addr = dir == TM_DIR_OUT ? rec->dst : rec->src;
	memset(&key, 0, sizeof(key));
	key.family = rec->family;
	memcpy(key.addr, addr, rec->family == TM_AF_INET ? 4 : 16);
	p = peer_get(a, u, &key);
	if (p) {
		p->bytes[dir] += rec->bytes;
		u->count[p - u->pool] += rec->bytes;
	}
}

/*
 * Pick the slot for a sample at now and return its sequence number. The newest slot is
 * overwritten while it is younger than min_gap after its predecessor, so every other slot is at
 * least min_gap apart and the ring always reaches a full window back, however often we are called.
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

/* Oldest slot inside the window; the one before the newest if the calls are sparser than that. */
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

/*
 * Rate between the window start (or the entity's first slot if later) and the newest slot.
 * Returns false while the entity has only one slot.
 */
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

/* Apply one counter entry to its user; creates the user unless expired and unchanged. */
static void apply_total(struct agg *a, const struct uid_total *t, uint64_t seq)
{
	uint64_t tot[4] = { t->bytes[0], t->bytes[1], t->packets[0], t->packets[1] };
	struct user *u = user_find(a, t->uid);

	if (!u) {
		struct tomb *tb;

		HASH_FIND(hh, a->tombs, &t->uid, sizeof(t->uid), tb);
		if (tb) {
			if (!memcmp(tb->totals, tot, sizeof(tot))) {
				tb->seen_seq = seq;
				return;
			}
			HASH_DEL(a->tombs, tb);
			free(tb);
		}
		u = user_new(a, t->uid);
		if (!u)
			return;
	}
	u->seen_seq = seq;

	if (!u->counted) {
		/*
		 * Switch from event sums to exact totals. Shift the history by the difference so
		 * the rate keeps the event-based estimate instead of showing the jump as traffic.
		 */
		uint64_t first = u->since;

		if (seq >= AGG_SLOTS - 1 && first < seq - (AGG_SLOTS - 1))
			first = seq - (AGG_SLOTS - 1);
		for (int d = 0; d < 2; d++) {
			uint64_t delta = t->bytes[d] - u->bytes[d];

			for (uint64_t s = first; s < seq; s++)
				u->ring[s % AGG_SLOTS][d] += delta;
		}
		u->counted = true;
	} else if (t->bytes[0] < u->bytes[0] || t->bytes[1] < u->bytes[1] ||
		   t->packets[0] < u->packets[0] || t->packets[1] < u->packets[1]) {
		/* Counters never shrink: the program was reloaded. Start the window over. */
		u->since = seq;
	}
	memcpy(u->bytes, t->bytes, sizeof(u->bytes));
	memcpy(u->packets, t->packets, sizeof(u->packets));
}

static void sample_user(struct agg *a, struct user *u, uint64_t seq, uint64_t now)
{
	uint64_t tot[4] = { u->bytes[0], u->bytes[1], u->packets[0], u->packets[1] };
	unsigned int slot = seq % AGG_SLOTS;

	if (memcmp(tot, u->sampled, sizeof(tot))) {
		memcpy(u->sampled, tot, sizeof(tot));
		u->last_active_ns = now;
	}
	/* Slots that fell off the ring are no longer this entity's history. */
	if (seq >= AGG_SLOTS && u->since < seq - (AGG_SLOTS - 1))
		u->since = seq - (AGG_SLOTS - 1);
	u->ring[slot][0] = u->bytes[0];
	u->ring[slot][1] = u->bytes[1];
	u->has_rate = ring_rate(a, u->since, seq, u->ring, u->rate);
	if (!u->has_rate)
		u->rate[0] = u->rate[1] = 0;

	for (unsigned int i = 0; i < u->npeers; i++) {
		struct peer *p = &u->pool[i];

		if (seq >= AGG_SLOTS && p->since < seq - (AGG_SLOTS - 1))
			p->since = seq - (AGG_SLOTS - 1);
		u->pring[i][slot][0] = p->bytes[0];
		u->pring[i][slot][1] = p->bytes[1];
		if (!ring_rate(a, p->since, seq, u->pring[i], p->rate))
			p->rate[0] = p->rate[1] = 0;
	}
}

static void expire_user(struct agg *a, struct user *u)
{
	if (u->counted) {
		struct tomb *t = calloc(1, sizeof(*t));

		/* Without a tombstone the next sample would bring it straight back. */
		if (t) {
			t->uid = u->uid;
			memcpy(t->totals, u->bytes, sizeof(u->bytes));
			memcpy(t->totals + 2, u->packets, sizeof(u->packets));
			t->seen_seq = u->seen_seq;
			HASH_ADD(hh, a->tombs, uid, sizeof(t->uid), t);
			if (!a->tombs)
				free(t);
		}
	}
	user_del(a, u);
}

void agg_counters(struct agg *a, uint64_t now_ns, const struct uid_total *t, size_t n)
{
	struct user *u, *utmp;
	struct tomb *tb, *ttmp;
	uint64_t seq, from;

	/* Monotonic input is the contract; a step back is clamped rather than trusted. */
	if (a->nsamples && now_ns < a->times[newest_seq(a) % AGG_SLOTS])
		now_ns = a->times[newest_seq(a) % AGG_SLOTS];
	seq = take_slot(a, now_ns);
	a->win_seq = window_start(a, seq, now_ns);

	for (size_t i = 0; i < n; i++)
		apply_total(a, &t[i], seq);

	HASH_ITER(hh, a->users, u, utmp) {
		sample_user(a, u, seq, now_ns);
		if (a->cfg.idle_expire_ns && now_ns - u->last_active_ns > a->cfg.idle_expire_ns)
			expire_user(a, u);
	}

	/* Tombstones mirror the kernel's table: drop those it no longer lists. */
	HASH_ITER(hh, a->tombs, tb, ttmp) {
		if (tb->seen_seq != seq) {
			HASH_DEL(a->tombs, tb);
			free(tb);
		}
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

void agg_set_lost(struct agg *a, uint64_t lost)
{
	a->lost = lost;
}

void agg_get_totals(const struct agg *a, struct agg_totals *out)
{
	const struct user *u;

	memset(out, 0, sizeof(*out));
	for (u = a->users; u; u = u->hh.next) {
		for (int d = 0; d < 2; d++) {
			out->bytes[d] += u->bytes[d];
			out->rate[d] += u->rate[d];
		}
	}
	out->has_rate = a->nsamples >= 2;
	out->events = a->events;
	out->events_per_s = a->events_per_s;
	out->lost = a->lost;
	out->users = a->nusers;
}

static void peer_export(const struct peer *p, struct agg_peer *out)
{
	out->family = p->key.family;
	memcpy(out->addr, p->key.addr, sizeof(out->addr));
	memcpy(out->bytes, p->bytes, sizeof(out->bytes));
	out->error = p->error;
	memcpy(out->rate, p->rate, sizeof(out->rate));
}

/* Peer order: rate (in+out), then bytes (in+out), both descending; then address for stability. */
static int peer_cmp(const void *x, const void *y)
{
	const struct agg_peer *p = x, *q = y;
	double rp = p->rate[0] + p->rate[1], rq = q->rate[0] + q->rate[1];
	uint64_t bp = p->bytes[0] + p->bytes[1], bq = q->bytes[0] + q->bytes[1];

	if (rp != rq)
		return rp > rq ? -1 : 1;
	if (bp != bq)
		return bp > bq ? -1 : 1;
	if (p->family != q->family)
		return p->family < q->family ? -1 : 1;
	return memcmp(p->addr, q->addr, sizeof(p->addr));
}

static void user_export(const struct user *u, struct agg_user *out)
{
	const struct peer *top = NULL;
	struct agg_peer cand, best;

	memset(out, 0, sizeof(*out));
	out->uid = u->uid;
	memcpy(out->bytes, u->bytes, sizeof(out->bytes));
	memcpy(out->packets, u->packets, sizeof(out->packets));
	memcpy(out->rate, u->rate, sizeof(out->rate));
	out->has_rate = u->has_rate;
	out->last_active_ns = u->last_active_ns;
	out->npeers = u->npeers;
	for (unsigned int i = 0; i < u->npeers; i++) {
		peer_export(&u->pool[i], &cand);
		if (!top || peer_cmp(&cand, &best) < 0) {
			top = &u->pool[i];
			best = cand;
		}
	}
	if (top) {
		out->has_top = true;
		out->top = best;
	}
}

bool agg_user_get(const struct agg *a, uint32_t uid, struct agg_user *out)
{
	const struct user *u = user_find(a, uid);

	if (!u)
		return false;
	user_export(u, out);
	return true;
}

size_t agg_peers(const struct agg *a, uint32_t uid, struct agg_peer *out, size_t max)
{
	const struct user *u = user_find(a, uid);
	struct agg_peer *all;
	size_t n;

	if (!u || !u->npeers || !max)
		return 0;
	all = malloc(u->npeers * sizeof(*all));
	if (!all)
		return 0;
	for (unsigned int i = 0; i < u->npeers; i++)
		peer_export(&u->pool[i], &all[i]);
	qsort(all, u->npeers, sizeof(*all), peer_cmp);
	n = u->npeers < max ? u->npeers : max;
	memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}

struct sort_ent {
	const struct user *u;
	char name[64];			/* a copy: name_fn may reuse one static buffer */
	char uidbuf[12];		/* decimal uid, for the filter */
};

struct sort_ctx {
	enum agg_sort sort;
	bool invert;
};

/* A user without a rate yet sorts below every user with one, even 0: "-" goes last. */
static inline double sort_rate(const struct user *u, int which)
{
	if (!u->has_rate)
		return -1;
	return which < 0 ? u->rate[0] + u->rate[1] : u->rate[which];
}

static inline int cmp_num(double x, double y)
{
	return x < y ? -1 : x > y;
}

static inline int cmp_u64(uint64_t x, uint64_t y)
{
	return x < y ? -1 : x > y;
}

static int user_cmp(const void *x, const void *y, void *arg)
{
	const struct sort_ent *e = x, *f = y;
	const struct sort_ctx *c = arg;
	const struct user *u = e->u, *v = f->u;
	int r = 0;

	/* r is the ascending order; numbers are then flipped to descend by default. */
	switch (c->sort) {
	case AGG_SORT_IN_RATE:
		r = -cmp_num(sort_rate(u, TM_DIR_IN), sort_rate(v, TM_DIR_IN));
		break;
	case AGG_SORT_OUT_RATE:
		r = -cmp_num(sort_rate(u, TM_DIR_OUT), sort_rate(v, TM_DIR_OUT));
		break;
	case AGG_SORT_IN_TOTAL:
		r = -cmp_u64(u->bytes[TM_DIR_IN], v->bytes[TM_DIR_IN]);
		break;
	case AGG_SORT_OUT_TOTAL:
		r = -cmp_u64(u->bytes[TM_DIR_OUT], v->bytes[TM_DIR_OUT]);
		break;
	case AGG_SORT_USER:
		r = strcasecmp(e->name, f->name);
		if (!r)
			r = strcmp(e->name, f->name);
		break;
	case AGG_SORT_UID:
		r = cmp_u64(u->uid, v->uid);
		break;
	case AGG_SORT_RATE:
	default:
		r = -cmp_num(sort_rate(u, -1), sort_rate(v, -1));
		break;
	}
	if (c->invert)
		r = -r;
	/* Ties: ascending uid whatever the direction, so equal rows never swap on refresh. */
	if (!r)
		r = cmp_u64(u->uid, v->uid);
	return r;
}

static bool user_matches(const struct sort_ent *e, const char *filter)
{
	if (!filter || !*filter)
		return true;
	return strcasestr(e->name, filter) || strstr(e->uidbuf, filter);
}

size_t agg_users(const struct agg *a, const struct agg_view *view, struct agg_user *out, size_t max)
{
	static const struct agg_view defview = { .sort = AGG_SORT_RATE };
	struct sort_ctx ctx;
	struct sort_ent *ents;
	const struct user *u;
	size_t n = 0;

	if (!view)
		view = &defview;
	if (!max || !a->nusers)
		return 0;
	ents = malloc(a->nusers * sizeof(*ents));
	if (!ents)
		return 0;
	for (u = a->users; u; u = u->hh.next) {
		struct sort_ent *e = &ents[n];
		const char *name;

		e->u = u;
		snprintf(e->uidbuf, sizeof(e->uidbuf), "%u", u->uid);
		name = view->name ? view->name(view->name_ctx, u->uid) : NULL;
		snprintf(e->name, sizeof(e->name), "%s", name ? name : e->uidbuf);
		if (user_matches(e, view->filter))
			n++;
	}
	ctx.sort = view->sort < AGG_SORT__COUNT ? view->sort : AGG_SORT_RATE;
	ctx.invert = view->invert;
	qsort_r(ents, n, sizeof(*ents), user_cmp, &ctx);
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++)
		user_export(ents[i].u, &out[i]);
	free(ents);
	return n;
}

const char *agg_sort_name(enum agg_sort s)
{
	static const char *const names[AGG_SORT__COUNT] = {
		[AGG_SORT_RATE] = "RATE",
		[AGG_SORT_IN_RATE] = "IN/s",
		[AGG_SORT_OUT_RATE] = "OUT/s",
		[AGG_SORT_IN_TOTAL] = "TOT IN",
		[AGG_SORT_OUT_TOTAL] = "TOT OUT",
		[AGG_SORT_USER] = "USER",
		[AGG_SORT_UID] = "UID",
	};

	if ((unsigned int)s >= AGG_SORT__COUNT)
		return "?";
	return names[s];
}
