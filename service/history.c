// SPDX-License-Identifier: GPL-2.0
/*
 * The history store (see history.h for the contract and the schema).
 *
 * Two locks. pend_lock guards the queue (the hash tables history_add fills) and is held only for
 * a hash update or a swap, so the meter's thread never waits for the disk. db_lock serialises
 * everything that uses the SQLite connection: a flush swaps the queue out under pend_lock, writes
 * it under db_lock alone, and on failure merges it back in, so a failed flush loses nothing and
 * a committed one is never written again. Lock order: db_lock, then pend_lock.
 *
 * The queue is keyed by (owner, 5-minute bucket) and each entry remembers the start of its bucket
 * in every period, computed once per 5-minute window, so a delta lands in the buckets of the
 * history_add call that brought it whenever the flush runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sqlite3.h>

/* uthash exit()s on OOM by default; library code must not, so it tells us instead. */
static __thread bool hist_oom;
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (hist_oom = true)
#include <uthash.h>

#include "service/history.h"

#define BUSY_TIMEOUT_MS		1000	/* another writer (sqlite3 shell, backup) may lock */
#define PRUNE_INTERVAL		3600	/* seconds of `now` between two retention passes */
#define FIVE_MIN		300
#define MIN_PEER_QUEUE		64	/* distinct peers queued per owner and day, at least */
#define MAX_PEERS_PER_DAY	10000
#define DELTA_MAX		(UINT64_C(1) << 63)	/* at or above: a wrapped negative delta */

#define STR_(x)			#x
#define STR(x)			STR_(x)
#define HISTORY_SCHEMA_VERSION_STR	STR(HISTORY_SCHEMA_VERSION)

static const char *const period_name[HIST__COUNT] = { "5min", "hour", "day", "month", "year" };

struct pend_key {
	uint64_t owner;
	int64_t start5;			/* 5-minute bucket start */
};

struct pend {
	struct pend_key key;		/* hash key */
	time_t start[HIST__COUNT];	/* bucket of each period; start[HIST_5MIN] == key.start5 */
	uint64_t v[4];			/* bytes in, out, packets in, out */
	UT_hash_handle hh;
};

struct peer_key {
	uint64_t owner;
	int64_t day;			/* daily bucket start */
	uint32_t netns;
	uint8_t family;			/* 4, 6, 0 = "other" */
	uint8_t addr[16];
	uint8_t pad[3];			/* zero: the key is hashed as bytes */
};

struct ppeer {
	struct peer_key key;		/* hash key */
	uint64_t bytes[2];
	UT_hash_handle hh;
};

struct pday_key {
	uint64_t owner;
	int64_t day;
};

/* An (owner, day) with queued peers: counts them for the cap, and is what the flush folds. */
struct pday {
	struct pday_key key;		/* hash key */
	unsigned int npeers;		/* queued peers with family != 0 */
	UT_hash_handle hh;
};

struct queue {
	struct pend *traffic;		/* uthash heads */
	struct ppeer *peers;
	struct pday *days;
};

enum stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_UPSERT_TRAFFIC,
	ST_UPSERT_PEER,
	ST_FOLD_SUM,
	ST_FOLD_DELETE,
	ST_PRUNE_TRAFFIC,
	ST_NEXT_PEER_OWNER,
	ST_PRUNE_PEERS,
	ST_GET_META,
	ST_SET_META,
	ST_QUERY_ALL,
	ST_QUERY_OWNER,
	ST_TOP_OWNERS,
	ST_TOP_PEERS,
	ST_USAGE,
	ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_UPSERT_TRAFFIC] =
		"INSERT INTO traffic (period, start, owner, bytes_in, bytes_out, packets_in, "
		"packets_out) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
		"ON CONFLICT (period, start, owner) DO UPDATE "
		"SET bytes_in = bytes_in + excluded.bytes_in, "
		"bytes_out = bytes_out + excluded.bytes_out, "
		"packets_in = packets_in + excluded.packets_in, "
		"packets_out = packets_out + excluded.packets_out",
	[ST_UPSERT_PEER] =
		"INSERT INTO peers (owner, day, family, addr, netns, bytes_in, bytes_out) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (owner, day, family, addr, netns) "
		"DO UPDATE SET bytes_in = bytes_in + excluded.bytes_in, "
		"bytes_out = bytes_out + excluded.bytes_out",
	/* The same ordered set in both: the peers past the first ?3 of the day. */
	[ST_FOLD_SUM] =
		"SELECT count(*), ifnull(sum(bytes_in), 0), ifnull(sum(bytes_out), 0) FROM "
		"(SELECT bytes_in, bytes_out FROM peers "
		"WHERE owner = ?1 AND day = ?2 AND family <> 0 "
		"ORDER BY bytes_in + bytes_out DESC, family, addr, netns LIMIT -1 OFFSET ?3)",
	[ST_FOLD_DELETE] =
		"DELETE FROM peers WHERE owner = ?1 AND day = ?2 AND family <> 0 AND "
		"(family, addr, netns) IN (SELECT family, addr, netns FROM peers "
		"WHERE owner = ?1 AND day = ?2 AND family <> 0 "
		"ORDER BY bytes_in + bytes_out DESC, family, addr, netns LIMIT -1 OFFSET ?3)",
	[ST_PRUNE_TRAFFIC] = "DELETE FROM traffic WHERE period = ?1 AND start < ?2",
	/* Owner by owner, so the delete below is a key range and not a scan of every peer. */
	[ST_NEXT_PEER_OWNER] = "SELECT owner FROM peers WHERE owner >= ?1 ORDER BY owner LIMIT 1",
	[ST_PRUNE_PEERS] = "DELETE FROM peers WHERE owner = ?1 AND day < ?2",
	[ST_GET_META] = "SELECT value FROM meta WHERE key = ?1",
	[ST_SET_META] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
			"ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[ST_QUERY_ALL] =
		"SELECT start, owner, bytes_in, bytes_out, packets_in, packets_out FROM traffic "
		"WHERE period = ?1 AND start >= ?2 AND start < ?3 ORDER BY start, owner",
	/* Without statistics the planner would scan everyone's range of the primary key. */
	[ST_QUERY_OWNER] =
		"SELECT start, owner, bytes_in, bytes_out, packets_in, packets_out FROM traffic "
		"INDEXED BY traffic_owner "
		"WHERE owner = ?4 AND period = ?1 AND start >= ?2 AND start < ?3 ORDER BY start",
	/* Summed in C: SQLite's GROUP BY sorts every row first, at twice the cost. */
	[ST_TOP_OWNERS] =
		"SELECT owner, bytes_in, bytes_out, packets_in, packets_out FROM traffic "
		"WHERE period = ?1 AND start >= ?2 AND start < ?3",
	[ST_TOP_PEERS] =
		"SELECT family, addr, netns, sum(bytes_in), sum(bytes_out) FROM peers "
		"WHERE owner = ?1 AND day >= ?2 AND day < ?3 GROUP BY family, addr, netns "
		"ORDER BY family = 0, sum(bytes_in) + sum(bytes_out) DESC, family, addr, netns",
	[ST_USAGE] = "SELECT bytes_in, bytes_out FROM traffic "
		     "WHERE period = ?1 AND start = ?2 AND owner = ?3",
};

static const char schema_sql[] =
	"CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;"
	"CREATE TABLE traffic (period INTEGER NOT NULL, start INTEGER NOT NULL, "
	"owner INTEGER NOT NULL, bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL, "
	"packets_in INTEGER NOT NULL, packets_out INTEGER NOT NULL, "
	"PRIMARY KEY (period, start, owner)) WITHOUT ROWID;"
	/* One owner's buckets (history_query with a filter) without reading everyone's. */
	"CREATE INDEX traffic_owner ON traffic (owner, period, start);"
	"CREATE TABLE peers (owner INTEGER NOT NULL, day INTEGER NOT NULL, "
	"family INTEGER NOT NULL, addr BLOB NOT NULL, netns INTEGER NOT NULL, "
	"bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL, "
	"PRIMARY KEY (owner, day, family, addr, netns)) WITHOUT ROWID;";

struct history {
	sqlite3 *db;
	bool readonly;
	struct history_config cfg;	/* validated; month_start from the file when readonly */
	unsigned int peer_cap;		/* distinct peers queued per (owner, day) */
	pthread_mutex_t db_lock;	/* the connection, stmts, errmsg, last_prune */
	pthread_mutex_t pend_lock;	/* q and the window cache */
	struct queue q;
	bool win_valid;			/* win_* describe the 5-minute bucket [win_lo, +300) */
	time_t win_lo;
	time_t win_start[HIST__COUNT];
	bool pruned;			/* a retention pass ran on this handle */
	time_t last_prune;		/* its `now` */
	sqlite3_stmt *st[ST__COUNT];
	char errmsg[256];
};

/* ---- errors ---------------------------------------------------------------------------- */

static int rc_errno(sqlite3 *db, int rc)
{
	int e;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_PERM:
		return -EPERM;
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CORRUPT:
		return -EUCLEAN;
	case SQLITE_NOTADB:
		return -EINVAL;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		/* The errno of the failed system call says more than SQLite's class of error. */
		e = db ? sqlite3_system_errno(db) : 0;
		if (e > 0)
			return -e;
		return (rc & 0xff) == SQLITE_IOERR ? -EIO : -ENOENT;
	default:
		return -EIO;
	}
}

/* Remember why rc happened for history_last_error; returns -errno. Under db_lock. */
static int sql_fail(struct history *h, int rc, const char *what)
{
	snprintf(h->errmsg, sizeof(h->errmsg), "%s: %s", what, sqlite3_errmsg(h->db));
	return rc_errno(h->db, rc);
}

static int seterr(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* ---- local time -------------------------------------------------------------------------- */

/* First second of the local day year/mon/mday, fields normalised by mktime (mon -1 is fine). */
static time_t local_midnight(int year, int mon, int mday)
{
	struct tm tm = { .tm_year = year, .tm_mon = mon, .tm_mday = mday, .tm_isdst = -1 };

	/*
	 * Where a DST change skips midnight, glibc gives the first instant that exists (01:00),
	 * which is the true start of that day.
	 */
	return mktime(&tm);
}

static time_t bucket_start(unsigned int month_start, enum history_period p, time_t t)
{
	struct tm tm;
	time_t r;

	if (!localtime_r(&t, &tm))
		return (time_t)-1;
	/*
	 * Minutes and hours by subtraction: offsets move in whole quarter hours, so local 5-minute
	 * and hour boundaries are a fixed distance back, and a repeated DST hour gets two buckets.
	 */
	switch (p) {
	case HIST_5MIN:
		return t - (tm.tm_min % 5) * 60 - tm.tm_sec;
	case HIST_HOUR:
		return t - tm.tm_min * 60 - tm.tm_sec;
	case HIST_DAY:
		r = local_midnight(tm.tm_year, tm.tm_mon, tm.tm_mday);
		break;
	case HIST_MONTH:
		r = local_midnight(tm.tm_year,
				   tm.tm_mday >= (int)month_start ? tm.tm_mon : tm.tm_mon - 1,
				   (int)month_start);
		break;
	case HIST_YEAR:
		r = local_midnight(tm.tm_year, 0, 1);
		break;
	default:
		return (time_t)-1;
	}
	return r > t ? (time_t)-1 : r;
}

time_t history_bucket_start(const struct history *h, enum history_period p, time_t t)
{
	return bucket_start(h ? h->cfg.month_start : 1, p, t);
}

/*
 * Start of the oldest bucket of p that retention keeps at now: a bucket goes once all of it lies
 * before now minus the retention. 0 when p is kept forever.
 */
static time_t retention_cutoff(const struct history *h, enum history_period p, time_t now)
{
	const struct history_config *c = &h->cfg;
	struct tm tm;
	time_t b;

	switch (p) {
	case HIST_5MIN:
		if (!c->keep_5min_h)
			return 0;
		return history_bucket_start(h, p, now - (time_t)c->keep_5min_h * 3600);
	case HIST_HOUR:
		if (!c->keep_hour_d || !localtime_r(&now, &tm))
			return 0;
		tm.tm_mday -= (int)c->keep_hour_d;	/* calendar days: a DST week is 167 h */
		tm.tm_isdst = -1;
		b = mktime(&tm);
		return b == (time_t)-1 ? 0 : history_bucket_start(h, p, b);
	case HIST_DAY:
		b = history_bucket_start(h, p, now);
		if (!c->keep_day_d || b == (time_t)-1 || !localtime_r(&b, &tm))
			return 0;
		return local_midnight(tm.tm_year, tm.tm_mon, tm.tm_mday - (int)c->keep_day_d);
	case HIST_MONTH:
		b = history_bucket_start(h, p, now);
		if (!c->keep_month_m || b == (time_t)-1 || !localtime_r(&b, &tm))
			return 0;
		return local_midnight(tm.tm_year, tm.tm_mon - (int)c->keep_month_m,
				      (int)c->month_start);
	case HIST_YEAR:
		if (!c->keep_year_y || !localtime_r(&now, &tm))
			return 0;
		return local_midnight(tm.tm_year - (int)c->keep_year_y, 0, 1);
	default:
		return 0;
	}
}

/* Point the window cache at the 5-minute bucket holding now. Under pend_lock. */
static bool window(struct history *h, time_t now)
{
	time_t s5;

	if (h->win_valid && now >= h->win_lo && now - h->win_lo < FIVE_MIN)
		return true;
	s5 = history_bucket_start(h, HIST_5MIN, now);
	if (s5 == (time_t)-1)
		return false;
	for (int p = 0; p < HIST__COUNT; p++) {
		h->win_start[p] = history_bucket_start(h, p, s5);
		if (h->win_start[p] == (time_t)-1) {
			h->win_valid = false;
			return false;
		}
	}
	h->win_lo = s5;
	h->win_valid = true;
	return true;
}

/* ---- the queue --------------------------------------------------------------------------- */

static void queue_free(struct queue *q)
{
	struct pend *e, *etmp;
	struct ppeer *p, *ptmp;
	struct pday *d, *dtmp;

	HASH_ITER(hh, q->traffic, e, etmp) {
		HASH_DEL(q->traffic, e);
		free(e);
	}
	HASH_ITER(hh, q->peers, p, ptmp) {
		HASH_DEL(q->peers, p);
		free(p);
	}
	HASH_ITER(hh, q->days, d, dtmp) {
		HASH_DEL(q->days, d);
		free(d);
	}
}

/* Add e to q, or its counts to q's entry of the same key. Takes e (freed on OOM). */
static void queue_traffic(struct queue *q, struct pend *e)
{
	struct pend *old;

	HASH_FIND(hh, q->traffic, &e->key, sizeof(e->key), old);
	if (old) {
		for (int i = 0; i < 4; i++)
			old->v[i] += e->v[i];
		free(e);
		return;
	}
	hist_oom = false;
	HASH_ADD(hh, q->traffic, key, sizeof(e->key), e);
	if (hist_oom)
		free(e);
}

static void add_bytes(struct ppeer *to, const uint64_t bytes[2])
{
	to->bytes[0] += bytes[0];
	to->bytes[1] += bytes[1];
}

/*
 * Add n to q, or its bytes to q's entry of the same key; a new peer beyond cap distinct ones of
 * its (owner, day) becomes that day's "other". Takes n (freed when merged or on OOM).
 */
static void queue_peer(struct queue *q, struct ppeer *n, unsigned int cap)
{
	struct pday_key dk = { .owner = n->key.owner, .day = n->key.day };
	struct ppeer *old;
	struct pday *d;

	HASH_FIND(hh, q->peers, &n->key, sizeof(n->key), old);
	if (old)
		goto merge;
	HASH_FIND(hh, q->days, &dk, sizeof(dk), d);
	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d)
			goto drop;
		d->key = dk;
		hist_oom = false;
		HASH_ADD(hh, q->days, key, sizeof(d->key), d);
		if (hist_oom) {
			free(d);
			goto drop;
		}
	}
	if (n->key.family && d->npeers >= cap) {
		n->key.family = 0;
		n->key.netns = 0;
		memset(n->key.addr, 0, sizeof(n->key.addr));
		HASH_FIND(hh, q->peers, &n->key, sizeof(n->key), old);
		if (old)
			goto merge;
	}
	hist_oom = false;
	HASH_ADD(hh, q->peers, key, sizeof(n->key), n);
	if (hist_oom)
		goto drop;
	if (n->key.family)
		d->npeers++;
	return;
merge:
	add_bytes(old, n->bytes);
drop:
	free(n);
}

/* Put a queue that failed to flush back in front of what arrived meanwhile. Under pend_lock. */
static void requeue(struct history *h, struct queue *q)
{
	struct pend *e, *etmp;
	struct ppeer *p, *ptmp;

	HASH_ITER(hh, q->traffic, e, etmp) {
		HASH_DEL(q->traffic, e);
		queue_traffic(&h->q, e);
	}
	HASH_ITER(hh, q->peers, p, ptmp) {
		HASH_DEL(q->peers, p);
		queue_peer(&h->q, p, h->peer_cap);
	}
	queue_free(q);		/* the days: queue_peer counted them again */
}

static inline uint64_t sane(uint64_t v)
{
	return v >= DELTA_MAX ? 0 : v;
}

void history_add(struct history *h, time_t now, uint64_t owner, const uint64_t bytes[2],
		 const uint64_t packets[2])
{
	uint64_t v[4] = { 0 };
	struct pend_key k;
	struct pend *e;

	if (!h || h->readonly)
		return;
	if (bytes) {
		v[0] = sane(bytes[0]);
		v[1] = sane(bytes[1]);
	}
	if (packets) {
		v[2] = sane(packets[0]);
		v[3] = sane(packets[1]);
	}
	if (!(v[0] | v[1] | v[2] | v[3]))
		return;		/* no traffic, no row */

	pthread_mutex_lock(&h->pend_lock);
	if (!window(h, now))
		goto out;
	k.owner = owner;
	k.start5 = h->win_lo;
	HASH_FIND(hh, h->q.traffic, &k, sizeof(k), e);
	if (e) {
		for (int i = 0; i < 4; i++)
			e->v[i] += v[i];
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto out;
	e->key = k;
	memcpy(e->start, h->win_start, sizeof(e->start));
	memcpy(e->v, v, sizeof(v));
	queue_traffic(&h->q, e);
out:
	pthread_mutex_unlock(&h->pend_lock);
}

void history_add_peer(struct history *h, time_t now, uint64_t owner, uint8_t family,
		      const uint8_t addr[16], uint32_t netns, const uint64_t bytes[2])
{
	struct peer_key k;
	struct ppeer *n;
	uint64_t b[2];

	if (!h || h->readonly || !bytes)
		return;
	b[0] = sane(bytes[0]);
	b[1] = sane(bytes[1]);
	if (!(b[0] | b[1]))
		return;

	memset(&k, 0, sizeof(k));
	k.owner = owner;
	if ((family == 4 || family == 6) && addr) {
		k.family = family;
		memcpy(k.addr, addr, family == 4 ? 4 : 16);	/* IPv4: the rest stays zero */
		k.netns = netns;
	}

	pthread_mutex_lock(&h->pend_lock);
	if (!window(h, now))
		goto out;
	k.day = h->win_start[HIST_DAY];
	HASH_FIND(hh, h->q.peers, &k, sizeof(k), n);
	if (n) {
		add_bytes(n, b);
		goto out;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		goto out;
	n->key = k;
	n->bytes[0] = b[0];
	n->bytes[1] = b[1];
	queue_peer(&h->q, n, h->peer_cap);
out:
	pthread_mutex_unlock(&h->pend_lock);
}

/* ---- statements ---------------------------------------------------------------------------- */

static inline void bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	sqlite3_bind_int64(st, i, (sqlite3_int64)v);	/* bit for bit, see history.h */
}

/* Step a statement that returns no row, then reset it. */
static int step_done(struct history *h, enum stmt s, const char *what)
{
	sqlite3_stmt *st = h->st[s];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sql_fail(h, rc, what);
	return 0;
}

static int meta_get(struct history *h, const char *key, int64_t *val, bool *found)
{
	sqlite3_stmt *st = h->st[ST_GET_META];
	int rc;

	*found = false;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*val = sqlite3_column_int64(st, 0);
		*found = true;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sql_fail(h, rc, "reading meta");
	return 0;
}

static int meta_set(struct history *h, const char *key, int64_t val)
{
	sqlite3_bind_text(h->st[ST_SET_META], 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(h->st[ST_SET_META], 2, val);
	return step_done(h, ST_SET_META, "writing meta");
}

/* ---- flush ------------------------------------------------------------------------------- */

static int write_traffic(struct history *h, struct pend *list)
{
	sqlite3_stmt *st = h->st[ST_UPSERT_TRAFFIC];
	struct pend *e, *tmp;
	int err;

	HASH_ITER(hh, list, e, tmp) {
		for (int p = 0; p < HIST__COUNT; p++) {
			sqlite3_bind_int(st, 1, p);
			sqlite3_bind_int64(st, 2, e->start[p]);
			bind_u64(st, 3, e->key.owner);
			for (int i = 0; i < 4; i++)
				bind_u64(st, 4 + i, e->v[i]);
			err = step_done(h, ST_UPSERT_TRAFFIC, "writing traffic");
			if (err)
				return err;
		}
	}
	return 0;
}

static int upsert_peer(struct history *h, const struct peer_key *k, uint64_t in, uint64_t out)
{
	sqlite3_stmt *st = h->st[ST_UPSERT_PEER];

	bind_u64(st, 1, k->owner);
	sqlite3_bind_int64(st, 2, k->day);
	sqlite3_bind_int(st, 3, k->family);
	sqlite3_bind_blob(st, 4, k->addr, sizeof(k->addr), SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, k->netns);
	bind_u64(st, 6, in);
	bind_u64(st, 7, out);
	return step_done(h, ST_UPSERT_PEER, "writing peers");
}

/* Cut one (owner, day) back to peers_per_day peers; the rest goes into its "other" row. */
static int fold_day(struct history *h, const struct pday_key *dk)
{
	sqlite3_stmt *st = h->st[ST_FOLD_SUM];
	struct peer_key other;
	int64_t n = 0, in = 0, out = 0;
	int rc;

	for (enum stmt s = ST_FOLD_SUM; s <= ST_FOLD_DELETE; s++) {
		bind_u64(h->st[s], 1, dk->owner);
		sqlite3_bind_int64(h->st[s], 2, dk->day);
		sqlite3_bind_int64(h->st[s], 3, h->cfg.peers_per_day);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
		in = sqlite3_column_int64(st, 1);
		out = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return sql_fail(h, rc, "folding peers");
	if (!n)
		return 0;

	memset(&other, 0, sizeof(other));
	other.owner = dk->owner;
	other.day = dk->day;
	rc = upsert_peer(h, &other, (uint64_t)in, (uint64_t)out);
	return rc ? rc : step_done(h, ST_FOLD_DELETE, "folding peers");
}

static int prune_peers(struct history *h, time_t cutoff)
{
	sqlite3_stmt *next = h->st[ST_NEXT_PEER_OWNER];
	int64_t cur = INT64_MIN, owner;
	int rc, err;

	for (;;) {
		sqlite3_bind_int64(next, 1, cur);
		rc = sqlite3_step(next);
		owner = rc == SQLITE_ROW ? sqlite3_column_int64(next, 0) : 0;
		sqlite3_reset(next);
		if (rc == SQLITE_DONE)
			return 0;
		if (rc != SQLITE_ROW)
			return sql_fail(h, rc, "pruning peers");
		sqlite3_bind_int64(h->st[ST_PRUNE_PEERS], 1, owner);
		sqlite3_bind_int64(h->st[ST_PRUNE_PEERS], 2, cutoff);
		err = step_done(h, ST_PRUNE_PEERS, "pruning peers");
		if (err || owner == INT64_MAX)
			return err;
		cur = owner + 1;
	}
}

static int prune(struct history *h, time_t now)
{
	char key[32];
	int64_t old;
	bool found;
	int err;

	for (int p = 0; p < HIST__COUNT; p++) {
		time_t cut = retention_cutoff(h, p, now);

		if (cut <= 0)
			continue;
		sqlite3_bind_int(h->st[ST_PRUNE_TRAFFIC], 1, p);
		sqlite3_bind_int64(h->st[ST_PRUNE_TRAFFIC], 2, cut);
		err = step_done(h, ST_PRUNE_TRAFFIC, "pruning traffic");
		if (err)
			return err;
		if (p == HIST_DAY) {
			err = prune_peers(h, cut);
			if (err)
				return err;
		}
		/* A clock stepped back prunes less; what is gone stays gone. */
		snprintf(key, sizeof(key), "horizon_%s", period_name[p]);
		err = meta_get(h, key, &old, &found);
		if (!err && (!found || old < cut))
			err = meta_set(h, key, cut);
		if (err)
			return err;
	}
	return 0;
}

int history_flush(struct history *h, time_t now, bool force)
{
	struct queue q;
	struct pday *d, *dtmp;
	struct ppeer *p, *ptmp;
	bool do_prune;
	int err;

	if (!h)
		return -EINVAL;
	if (h->readonly)
		return -EROFS;

	pthread_mutex_lock(&h->db_lock);
	pthread_mutex_lock(&h->pend_lock);
	q = h->q;
	memset(&h->q, 0, sizeof(h->q));
	pthread_mutex_unlock(&h->pend_lock);

	do_prune = force || !h->pruned || now - h->last_prune >= PRUNE_INTERVAL ||
		   now < h->last_prune;
	if (!q.traffic && !q.peers && !do_prune) {
		pthread_mutex_unlock(&h->db_lock);
		return 0;
	}

	err = step_done(h, ST_BEGIN, "starting a transaction");
	if (!err)
		err = write_traffic(h, q.traffic);
	HASH_ITER(hh, q.peers, p, ptmp) {
		if (err)
			break;
		err = upsert_peer(h, &p->key, p->bytes[0], p->bytes[1]);
	}
	HASH_ITER(hh, q.days, d, dtmp) {
		if (err)
			break;
		err = fold_day(h, &d->key);
	}
	if (!err && do_prune)
		err = prune(h, now);
	if (!err)
		err = step_done(h, ST_COMMIT, "committing");

	if (err) {
		/* SQLite may have rolled back by itself already (a full disk does). */
		if (!sqlite3_get_autocommit(h->db)) {
			sqlite3_step(h->st[ST_ROLLBACK]);
			sqlite3_reset(h->st[ST_ROLLBACK]);
		}
		pthread_mutex_lock(&h->pend_lock);
		requeue(h, &q);
		pthread_mutex_unlock(&h->pend_lock);
	} else {
		queue_free(&q);
		if (do_prune) {
			h->pruned = true;
			h->last_prune = now;
		}
	}
	pthread_mutex_unlock(&h->db_lock);
	return err;
}

/* ---- queries ----------------------------------------------------------------------------- */

/* Collect rows of a statement shaped (start, owner, bytes in, out, packets in, out). */
static int collect_rows(struct history *h, sqlite3_stmt *st, struct history_row **rows)
{
	struct history_row *v = NULL, *nv;
	size_t n = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
		}
		v[n].start = (time_t)sqlite3_column_int64(st, 0);
		v[n].owner = (uint64_t)sqlite3_column_int64(st, 1);
		for (int i = 0; i < 2; i++) {
			v[n].bytes[i] = (uint64_t)sqlite3_column_int64(st, 2 + i);
			v[n].packets[i] = (uint64_t)sqlite3_column_int64(st, 4 + i);
		}
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return rc == SQLITE_NOMEM ? -ENOMEM : sql_fail(h, rc, "querying");
	}
	if (n > INT_MAX) {
		free(v);
		return -EOVERFLOW;
	}
	*rows = v;
	return (int)n;
}

int history_query(struct history *h, enum history_period p, const uint64_t *owner_filter,
		  time_t since, time_t until, struct history_row **rows)
{
	sqlite3_stmt *st;
	int ret;

	if (!h || !rows || (unsigned int)p >= HIST__COUNT)
		return -EINVAL;
	*rows = NULL;
	pthread_mutex_lock(&h->db_lock);
	st = h->st[owner_filter ? ST_QUERY_OWNER : ST_QUERY_ALL];
	sqlite3_bind_int(st, 1, p);
	sqlite3_bind_int64(st, 2, since);
	sqlite3_bind_int64(st, 3, until);
	if (owner_filter)
		bind_u64(st, 4, *owner_filter);
	ret = collect_rows(h, st, rows);
	pthread_mutex_unlock(&h->db_lock);
	return ret;
}

/* The finest period whose buckets from since on are all still in the file. Under db_lock. */
static int finest_period(struct history *h, time_t since, enum history_period *p)
{
	char key[32];
	int64_t horizon;
	bool found;
	int err;

	for (int i = 0; i < HIST__COUNT; i++) {
		snprintf(key, sizeof(key), "horizon_%s", period_name[i]);
		err = meta_get(h, key, &horizon, &found);
		if (err)
			return err;
		if (!found || horizon <= since) {
			*p = i;
			return 0;
		}
	}
	*p = HIST_YEAR;		/* older than anything kept: the coarsest is all there is */
	return 0;
}

struct total {
	uint64_t owner;			/* hash key */
	size_t idx;			/* into the rows being summed */
	UT_hash_handle hh;
};

static int cmp_total(const void *a, const void *b)
{
	const struct history_row *x = a, *y = b;
	uint64_t sx = x->bytes[0] + x->bytes[1], sy = y->bytes[0] + y->bytes[1];

	if (sx != sy)
		return sx > sy ? -1 : 1;
	return x->owner < y->owner ? -1 : x->owner > y->owner;
}

/* Sum the rows of st per owner into *rows, sorted by cmp_total. Returns the count or -errno. */
static int sum_owners(struct history *h, sqlite3_stmt *st, time_t since,
		      struct history_row **rows)
{
	struct history_row *v = NULL, *nv;
	struct total *tab = NULL, *t, *tmp;
	size_t n = 0, cap = 0;
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t owner = (uint64_t)sqlite3_column_int64(st, 0);

		HASH_FIND(hh, tab, &owner, sizeof(owner), t);
		if (!t) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				nv = realloc(v, cap * sizeof(*v));
				if (!nv)
					break;
				v = nv;
			}
			t = calloc(1, sizeof(*t));
			if (!t)
				break;
			t->owner = owner;
			t->idx = n;
			hist_oom = false;
			HASH_ADD(hh, tab, owner, sizeof(t->owner), t);
			if (hist_oom) {
				free(t);
				break;
			}
			memset(&v[n], 0, sizeof(v[n]));
			v[n].start = since;
			v[n].owner = owner;
			n++;
		}
		for (int i = 0; i < 2; i++) {
			v[t->idx].bytes[i] += (uint64_t)sqlite3_column_int64(st, 1 + i);
			v[t->idx].packets[i] += (uint64_t)sqlite3_column_int64(st, 3 + i);
		}
	}
	if (rc == SQLITE_ROW)
		ret = -ENOMEM;
	else if (rc != SQLITE_DONE)
		ret = sql_fail(h, rc, "summing");
	sqlite3_reset(st);
	HASH_ITER(hh, tab, t, tmp) {
		HASH_DEL(tab, t);
		free(t);
	}
	if (!ret && n > INT_MAX)
		ret = -EOVERFLOW;
	if (ret) {
		free(v);
		return ret;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_total);
	*rows = v;
	return (int)n;
}

int history_top_owners(struct history *h, time_t since, time_t until, size_t top,
		       struct history_row **rows)
{
	sqlite3_stmt *st;
	enum history_period p;
	int ret;

	if (!h || !rows)
		return -EINVAL;
	*rows = NULL;
	pthread_mutex_lock(&h->db_lock);
	ret = finest_period(h, since, &p);
	if (!ret) {
		st = h->st[ST_TOP_OWNERS];
		sqlite3_bind_int(st, 1, p);
		sqlite3_bind_int64(st, 2, since);
		sqlite3_bind_int64(st, 3, until);
		ret = sum_owners(h, st, since, rows);
	}
	pthread_mutex_unlock(&h->db_lock);
	if (ret > 0 && top && (size_t)ret > top) {
		struct history_row *nv = realloc(*rows, top * sizeof(**rows));

		if (nv)
			*rows = nv;	/* else the longer block is as good */
		ret = (int)top;
	}
	return ret;
}

int history_top_peers(struct history *h, uint64_t owner, time_t since, time_t until, size_t top,
		      struct history_peer **peers)
{
	struct history_peer *v = NULL, *nv, other = { 0 };
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (!h || !peers)
		return -EINVAL;
	*peers = NULL;
	pthread_mutex_lock(&h->db_lock);
	st = h->st[ST_TOP_PEERS];
	bind_u64(st, 1, owner);
	sqlite3_bind_int64(st, 2, since);
	sqlite3_bind_int64(st, 3, until);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct history_peer r = { 0 };
		const void *blob = sqlite3_column_blob(st, 1);

		r.family = (uint8_t)sqlite3_column_int(st, 0);
		if (blob && sqlite3_column_bytes(st, 1) == (int)sizeof(r.addr))
			memcpy(r.addr, blob, sizeof(r.addr));
		r.netns = (uint32_t)sqlite3_column_int64(st, 2);
		r.bytes[0] = (uint64_t)sqlite3_column_int64(st, 3);
		r.bytes[1] = (uint64_t)sqlite3_column_int64(st, 4);
		if (!r.family || (top && n >= top)) {
			other.bytes[0] += r.bytes[0];
			other.bytes[1] += r.bytes[1];
			continue;
		}
		if (n + 1 >= cap) {	/* room for "other" too */
			cap = cap ? cap * 2 : 32;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				ret = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[n++] = r;
	}
	sqlite3_reset(st);
	if (!ret && rc != SQLITE_DONE)
		ret = sql_fail(h, rc, "querying peers");
	pthread_mutex_unlock(&h->db_lock);
	if (ret) {
		free(v);
		return ret;
	}
	if (other.bytes[0] || other.bytes[1]) {
		if (n + 1 > cap) {
			nv = realloc(v, (n + 1) * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = other;
	}
	if (n > INT_MAX) {
		free(v);
		return -EOVERFLOW;
	}
	*peers = v;
	return (int)n;
}

int history_note_get(struct history *h, const char *key, int64_t *val)
{
	char k[128];
	bool found;
	int ret;

	if (!h || snprintf(k, sizeof(k), "note:%s", key) >= (int)sizeof(k))
		return -EINVAL;
	pthread_mutex_lock(&h->db_lock);
	ret = meta_get(h, k, val, &found);
	pthread_mutex_unlock(&h->db_lock);
	return ret ? ret : found ? 0 : -ENOENT;
}

int history_note_set(struct history *h, const char *key, int64_t val)
{
	char k[128];
	int ret;

	if (!h || snprintf(k, sizeof(k), "note:%s", key) >= (int)sizeof(k))
		return -EINVAL;
	if (h->readonly)
		return -EROFS;
	pthread_mutex_lock(&h->db_lock);
	ret = meta_set(h, k, val);
	pthread_mutex_unlock(&h->db_lock);
	return ret;
}

int history_usage(struct history *h, uint64_t owner, enum history_period p, time_t now,
		  uint64_t bytes[2])
{
	sqlite3_stmt *st;
	struct pend *e, *tmp;
	time_t b;
	int rc, ret = 0;

	if (!h || !bytes || (unsigned int)p >= HIST__COUNT)
		return -EINVAL;
	bytes[0] = bytes[1] = 0;
	b = history_bucket_start(h, p, now);
	if (b == (time_t)-1)
		return -ERANGE;

	/* db_lock first: a flush in progress holds its deltas in neither the file nor the queue. */
	pthread_mutex_lock(&h->db_lock);
	st = h->st[ST_USAGE];
	sqlite3_bind_int(st, 1, p);
	sqlite3_bind_int64(st, 2, b);
	bind_u64(st, 3, owner);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		bytes[0] = (uint64_t)sqlite3_column_int64(st, 0);
		bytes[1] = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = sql_fail(h, rc, "reading usage");

	pthread_mutex_lock(&h->pend_lock);
	HASH_ITER(hh, h->q.traffic, e, tmp) {
		if (e->key.owner == owner && e->start[p] == b) {
			bytes[0] += e->v[0];
			bytes[1] += e->v[1];
		}
	}
	pthread_mutex_unlock(&h->pend_lock);
	pthread_mutex_unlock(&h->db_lock);
	return ret;
}

void history_last_error(struct history *h, char *buf, size_t len)
{
	if (!buf || !len)
		return;
	if (!h) {
		buf[0] = '\0';
		return;
	}
	pthread_mutex_lock(&h->db_lock);
	snprintf(buf, len, "%s", h->errmsg);
	pthread_mutex_unlock(&h->db_lock);
}

/* ---- open and close ------------------------------------------------------------------------ */

void history_config_default(struct history_config *c)
{
	*c = (struct history_config){
		.keep_5min_h = 48,
		.keep_hour_d = 4,
		.keep_day_d = 62,
		.keep_month_m = 25,
		.keep_year_y = 0,
		.month_start = 1,
		.peers_per_day = 20,
	};
}

/*
 * Open path without following a symlink at its last component; the parent is resolved first
 * so that the name handed to SQLite (in full, *real) has no symlink left anywhere.
 */
static int open_file(const char *path, bool readonly, char **real, struct stat *st, char *err,
		     size_t errlen)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char *dir, *rdir;
	int fd, e;

	if (!*path)
		return seterr(err, errlen, -EINVAL, "history: empty path");
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return seterr(err, errlen, -EISDIR, "history %s: is a directory", path);
	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return seterr(err, errlen, -ENOMEM, "history %s: out of memory", path);
	rdir = realpath(dir, NULL);
	e = errno;
	if (!rdir) {
		if (e == ENOENT)
			seterr(err, errlen, -e, "history %s: directory %s does not exist", path,
			       dir);
		else if (e == ENOTDIR)
			seterr(err, errlen, -e, "history %s: %s is not a directory", path, dir);
		else
			seterr(err, errlen, -e, "history %s: %s: %s", path, dir, strerror(e));
		free(dir);
		return -e;
	}
	free(dir);
	if (asprintf(real, "%s/%s", strcmp(rdir, "/") ? rdir : "", base) < 0) {
		free(rdir);
		*real = NULL;
		return seterr(err, errlen, -ENOMEM, "history %s: out of memory", path);
	}
	free(rdir);

	/* O_NONBLOCK: a FIFO planted at the path must not hang the meter; it fails S_ISREG. */
	if (readonly) {
		fd = open(*real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	} else {
		/* O_EXCL so that a file we create is ours and gets 0600 whatever the umask. */
		fd = open(*real, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 && fchmod(fd, 0600) < 0) {
			e = errno;
			close(fd);
			return seterr(err, errlen, -e, "history %s: chmod: %s", path, strerror(e));
		}
		if (fd < 0 && errno == EEXIST)
			fd = open(*real, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	}
	if (fd < 0) {
		e = errno;
		if (e == ELOOP)
			return seterr(err, errlen, -e,
				      "history %s: is a symbolic link, refusing to follow it",
				      path);
		if (e == EISDIR)
			return seterr(err, errlen, -e, "history %s: is a directory", path);
		if (e == ENOENT && readonly)
			return seterr(err, errlen, -e,
				      "history %s: no such file (has the meter written any yet?)",
				      path);
		return seterr(err, errlen, -e, "history %s: %s", path, strerror(e));
	}
	if (fstat(fd, st) < 0) {
		e = errno;
		close(fd);
		return seterr(err, errlen, -e, "history %s: %s", path, strerror(e));
	}
	if (S_ISDIR(st->st_mode)) {
		close(fd);
		return seterr(err, errlen, -EISDIR, "history %s: is a directory", path);
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return seterr(err, errlen, -EINVAL, "history %s: not a regular file", path);
	}
	return fd;
}

static int exec_sql(struct history *h, const char *sql, const char *what)
{
	int rc = sqlite3_exec(h->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sql_fail(h, rc, what);
}

static int query_int(struct history *h, const char *sql, int64_t *val)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(h->db, sql, -1, &st, NULL), ret;

	if (rc != SQLITE_OK)
		return sql_fail(h, rc, "reading the schema");
	rc = sqlite3_step(st);
	*val = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	ret = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(h, rc, "reading the schema");
	sqlite3_finalize(st);
	return ret;
}

/* Create the schema in an empty file or check the one there. Returns 0 or -errno with err. */
static int check_schema(struct history *h, const char *path, char *err, size_t errlen)
{
	int64_t tables, meta, app, version, ms;
	bool found;
	int ret;

	ret = query_int(h, "SELECT count(*) FROM sqlite_master", &tables);
	if (!ret)
		ret = query_int(h, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
				   "name = 'meta'", &meta);
	if (!ret)
		ret = query_int(h, "PRAGMA application_id", &app);
	if (ret == -EINVAL)	/* SQLITE_NOTADB */
		return seterr(err, errlen, ret, "history %s: not a tmtop history database (%s)",
			      path, sqlite3_errmsg(h->db));
	if (ret)
		return seterr(err, errlen, ret, "history %s: %s", path, h->errmsg);

	if (!tables) {
		char sql[64];

		if (h->readonly)
			return seterr(err, errlen, -ENOENT, "history %s: no history in it yet",
				      path);
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", HISTORY_APP_ID);
		ret = exec_sql(h, schema_sql, "creating the schema");
		if (!ret)
			ret = exec_sql(h, sql, "creating the schema");
		if (!ret)
			ret = exec_sql(h, "INSERT INTO meta (key, value) VALUES ('schema_version', "
					  HISTORY_SCHEMA_VERSION_STR ")", "creating the schema");
		if (ret)
			return seterr(err, errlen, ret, "history %s: %s", path, h->errmsg);
		meta = 1;
		app = HISTORY_APP_ID;
	}
	if (!meta || app != HISTORY_APP_ID)
		return seterr(err, errlen, -EINVAL,
			      "history %s: not a tmtop history database (it holds other tables)",
			      path);
	/* Before preparing anything: a newer layout may not have the tables we expect. */
	ret = query_int(h, "SELECT value FROM meta WHERE key = 'schema_version'", &version);
	if (ret)
		return seterr(err, errlen, ret, "history %s: %s", path, h->errmsg);
	if (version < 1)
		return seterr(err, errlen, -EINVAL,
			      "history %s: not a tmtop history database (no schema version)", path);
	if (version > HISTORY_SCHEMA_VERSION)
		return seterr(err, errlen, -EPROTO,
			      "history %s: schema version %lld is newer than this tmtop knows "
			      "(%d); upgrade tmtop", path, (long long)version,
			      HISTORY_SCHEMA_VERSION);

	for (int i = 0; i < ST__COUNT; i++) {
		int rc = sqlite3_prepare_v3(h->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &h->st[i], NULL);

		if (rc != SQLITE_OK) {
			ret = sql_fail(h, rc, "preparing statements");
			return seterr(err, errlen, ret, "history %s: %s", path, h->errmsg);
		}
	}

	if (h->readonly) {
		/* The writer's billing day cut the monthly buckets; adopt it to find them. */
		ret = meta_get(h, "month_start", &ms, &found);
		if (ret)
			return seterr(err, errlen, ret, "history %s: %s", path, h->errmsg);
		if (found && ms >= 1 && ms <= 28)
			h->cfg.month_start = (unsigned int)ms;
		return 0;
	}
	/* A changed billing day applies from now on; older monthly buckets keep their start. */
	ret = meta_set(h, "month_start", h->cfg.month_start);
	if (ret)
		return seterr(err, errlen, ret, "history %s: %s", path, h->errmsg);
	return 0;
}

static int open_db(struct history *h, const char *path, const char *real,
		   const struct stat *mine, char *err, size_t errlen)
{
	int flags = SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX;	/* we lock ourselves */
	struct stat now;
	int rc, ret;

	flags |= h->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	rc = sqlite3_open_v2(real, &h->db, flags, NULL);
	if (rc != SQLITE_OK) {
		ret = h->db ? rc_errno(h->db, rc) : -ENOMEM;
		if (sqlite3_extended_errcode(h->db) == SQLITE_CANTOPEN_SYMLINK)
			ret = -ELOOP;
		return seterr(err, errlen, ret, "history %s: %s", path,
			      h->db ? sqlite3_errmsg(h->db) : "out of memory");
	}
	/* SQLite opened the name again: it must still be the file we checked. */
	if (lstat(real, &now) < 0 || now.st_dev != mine->st_dev || now.st_ino != mine->st_ino)
		return seterr(err, errlen, -EAGAIN, "history %s: replaced while being opened",
			      path);
	return 0;
}

int history_open(struct history **out, const char *path, const struct history_config *cfg,
		 bool readonly, char *err, size_t errlen)
{
	struct history *h;
	struct stat st;
	char *real = NULL;
	int fd, ret;

	if (err && errlen)
		err[0] = '\0';
	if (!out || !path)
		return seterr(err, errlen, -EINVAL, "history: no path");
	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return seterr(err, errlen, -ENOMEM, "history %s: out of memory", path);
	if (cfg)
		h->cfg = *cfg;
	else
		history_config_default(&h->cfg);
	if (h->cfg.month_start < 1 || h->cfg.month_start > 28 ||
	    h->cfg.peers_per_day > MAX_PEERS_PER_DAY) {
		free(h);
		return seterr(err, errlen, -EINVAL,
			      "history %s: month_start must be 1..28 and peers_per_day 0..%d", path,
			      MAX_PEERS_PER_DAY);
	}
	h->readonly = readonly;
	h->peer_cap = 4 * h->cfg.peers_per_day;
	if (h->peer_cap < MIN_PEER_QUEUE)
		h->peer_cap = MIN_PEER_QUEUE;
	pthread_mutex_init(&h->db_lock, NULL);
	pthread_mutex_init(&h->pend_lock, NULL);

	fd = open_file(path, readonly, &real, &st, err, errlen);
	if (fd < 0) {
		ret = fd;
		goto fail;
	}
	ret = open_db(h, path, real, &st, err, errlen);
	/*
	 * Close our descriptor before SQLite takes its first lock: closing any descriptor of a file
	 * drops every POSIX lock the process holds on it.
	 */
	close(fd);
	if (ret)
		goto fail;

	sqlite3_busy_timeout(h->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(h->db, 1);
	if (!readonly) {
		/*
		 * WAL: readers (tmtop report) never block the meter's flush; synchronous=NORMAL
		 * syncs at checkpoints only, which keeps every commit across a crash of the
		 * process and costs no fsync per flush. A 512 KiB page cache, not SQLite's 2 MiB:
		 * a flush writes each page once a minute, and the rest is the meter's peak RSS
		 * (about 1 MiB of it when 10,000 owners are written at once).
		 */
		ret = exec_sql(h, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
			       "PRAGMA cache_size = -512;", "switching to WAL");
		if (ret == -EINVAL) {
			seterr(err, errlen, ret, "history %s: not a tmtop history database (%s)",
			       path, sqlite3_errmsg(h->db));
			goto fail;
		}
		if (ret) {
			seterr(err, errlen, ret, "history %s: %s", path, h->errmsg);
			goto fail;
		}
		ret = exec_sql(h, "BEGIN IMMEDIATE", "locking");
		if (ret) {
			seterr(err, errlen, ret, "history %s: %s", path, h->errmsg);
			goto fail;
		}
	}
	ret = check_schema(h, path, err, errlen);
	if (!readonly && ret)
		exec_sql(h, "ROLLBACK", "rolling back");
	else if (!readonly)
		ret = exec_sql(h, "COMMIT", "committing");
	if (ret) {
		if (err && errlen && !err[0])
			seterr(err, errlen, ret, "history %s: %s", path, h->errmsg);
		goto fail;
	}
	free(real);
	h->errmsg[0] = '\0';
	*out = h;
	return 0;
fail:
	free(real);
	history_close(h);
	return ret;
}

void history_close(struct history *h)
{
	if (!h)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(h->st[i]);
	/* The last connection checkpoints the WAL into the file and removes it. */
	sqlite3_close(h->db);
	queue_free(&h->q);
	pthread_mutex_destroy(&h->db_lock);
	pthread_mutex_destroy(&h->pend_lock);
	free(h);
}
