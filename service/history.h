/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The history store: the meter's per-owner "vnstat" database (issue 11), one SQLite file.
 *
 * The meter queues deltas in memory (history_add, history_add_peer: no I/O, a short mutex) and
 * writes them every write interval (history_flush: one transaction); reports, quotas and the
 * service read it back with the query calls. Every call but history_close is thread-safe on
 * one handle; a flush blocks queries and flushes, never history_add. Other processes may read
 * the same file at the same time (WAL), and a second writer adds to the same buckets.
 *
 * Buckets. Every delta is added, in the same transaction, to one bucket of each period: 5 minutes,
 * hour, day, month, year. A bucket is named by its start, the unix time (seconds, UTC) of its
 * first second, with boundaries in LOCAL time as the process sees it (TZ): a day starts at local
 * midnight, so a DST day is still one bucket of 23 or 25 hours, and a month starts at 00:00 of day
 * month_start (1..28) of the calendar month, the billing day (month_start 15: 2026-03-20 is in the
 * bucket that starts 2026-03-15 00:00, 2026-03-10 in the one that starts 2026-02-15). Years are
 * calendar years. Five-minute buckets nest in hours, hours in days, and so on, so every level
 * sums to the same total over whole buckets of the coarser one.
 *
 * Schema (version HISTORY_SCHEMA_VERSION; PRAGMA application_id HISTORY_APP_ID):
 *   meta(key TEXT PRIMARY KEY, value)                       WITHOUT ROWID
 *     schema_version  layout of this file; a newer one than this code knows is refused (-EPROTO)
 *     month_start     the billing day the monthly buckets were made with (readers adopt it)
 *     horizon_<p>     for p in 5min, hour, day, month, year: every bucket of that period with
 *                     start >= horizon is still there (absent: none was ever pruned), so a
 *                     reader knows which period is complete for a range without knowing the
 *                     writer's retention
 *   traffic(period, start, owner, bytes_in, bytes_out, packets_in, packets_out)  WITHOUT ROWID
 *     PRIMARY KEY (period, start, owner); INDEX traffic_owner (owner, period, start)
 *     period is enum history_period's number, start the bucket start; one row per owner and
 *     bucket that saw traffic, counters added to by every flush (never overwritten).
 *   peers(owner, day, family, addr, netns, bytes_in, bytes_out)      WITHOUT ROWID
 *     PRIMARY KEY (owner, day, family, addr, netns)
 *     day is the start of the owner's daily bucket; family 4 or 6 with addr a 16-byte BLOB (IPv4
 *     in the first 4 bytes, the rest zero), netns the peer socket's network namespace inode (0 =
 *     the host's). At most peers_per_day rows per (owner, day) plus one row with family 0, addr
 *     all zero and netns 0, "other", which holds the exact sum of every peer folded away, so the
 *     peer rows of a day always add up to everything fed with history_add_peer for that day.
 * Integers are SQLite's signed 64 bits: owners and counters are stored bit for bit, so a
 * bucket counts up to 2^63 - 1 bytes.
 *
 * Direction index everywhere: [0] = in (received), [1] = out (sent), as TM_DIR_IN / TM_DIR_OUT.
 */
#ifndef SERVICE_HISTORY_H
#define SERVICE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define HISTORY_SCHEMA_VERSION	1
#define HISTORY_APP_ID		0x746d7470	/* "tmtp", so `file` and sqlite tools can tell */

/* Owners: the uid in the low 32 bits, a kind in bits 32..39. */
#define HIST_KIND_USER		0		/* a real user: the socket's uid */
#define HIST_KIND_NOSOCK	1		/* "(no socket)" */
#define HIST_KIND_KERNEL	2		/* "(kernel)" */
#define HIST_OWNER(kind, uid)	(((uint64_t)(kind) << 32) | (uint32_t)(uid))
#define HIST_OWNER_KIND(o)	((unsigned int)(((o) >> 32) & 0xff))
#define HIST_OWNER_UID(o)	((uint32_t)(o))

struct history_config {
	unsigned int keep_5min_h;	/* hours of 5-minute buckets; 0 = forever; default 48 */
	unsigned int keep_hour_d;	/* days of hourly buckets; 0 = forever; default 4 */
	unsigned int keep_day_d;	/* days of daily buckets and of peers; 0 = forever; 62 */
	unsigned int keep_month_m;	/* months of monthly buckets; 0 = forever; default 25 */
	unsigned int keep_year_y;	/* years of yearly buckets; 0 = forever (the default) */
	unsigned int month_start;	/* billing day 1..28 that starts a monthly bucket; 1 */
	unsigned int peers_per_day;	/* peers kept per owner and day besides "other"; 20;
					 * 0 keeps only "other" (peer bytes, no addresses) */
};

/* Numbers are stored in the file (traffic.period): never renumber. */
enum history_period {
	HIST_5MIN = 0,
	HIST_HOUR = 1,
	HIST_DAY = 2,
	HIST_MONTH = 3,
	HIST_YEAR = 4,
	HIST__COUNT
};

struct history_row {
	time_t start;			/* bucket start; for history_top_owners, `since` */
	uint64_t owner;
	uint64_t bytes[2];		/* [0] in, [1] out */
	uint64_t packets[2];
};

struct history_peer {
	uint8_t family;			/* 4, 6, or 0 for "other" */
	uint8_t addr[16];		/* IPv4 in the first 4 bytes, the rest 0; 0 for "other" */
	uint32_t netns;			/* network namespace inode, 0 = the host's; 0 for "other" */
	uint64_t bytes[2];
};

struct history;

/* Fill c with the defaults above (vnstat's retention). */
void history_config_default(struct history_config *c);

/*
 * Open or create the history at path. cfg may be NULL for the defaults; values out of range are
 * refused with -EINVAL (month_start outside 1..28, peers_per_day above 10000).
 *
 * The writer (readonly false) creates the file with mode 0600 if it is missing (the parent
 * directory must exist), switches it to WAL with synchronous=NORMAL (a crashed process loses
 * nothing committed; a power cut may lose the last commits, never consistency) and creates or
 * checks the schema. readonly true never creates or changes anything, refuses a file without
 * a history yet (-ENOENT), and takes month_start from the file, since the buckets were cut
 * with the writer's; history_flush on it returns -EROFS and history_add does nothing.
 *
 * The final path component is never followed: the file is opened with O_NOFOLLOW first (created
 * with O_EXCL), must be a regular file, and SQLite then opens the same name with
 * SQLITE_OPEN_NOFOLLOW, which refuses a symlink in any component; the parent directory is
 * resolved with realpath() beforehand so that a symlinked /var/lib still works, and the inode
 * SQLite got is checked against ours. SQLite opens its -wal and -shm with O_NOFOLLOW and the
 * database file's mode. A planted symlink gives -ELOOP, a directory -EISDIR, a missing
 * directory -ENOENT, a file that is not a history -EINVAL, a newer schema -EPROTO.
 *
 * Returns 0 and *out, or -errno with a one-line reason (no trailing newline) in err when errlen
 * is not 0.
 */
int history_open(struct history **out, const char *path, const struct history_config *cfg,
		 bool readonly, char *err, size_t errlen);

/*
 * Close h without flushing: call history_flush first to keep what is queued. No other call on h
 * may be running. NULL is a no-op.
 */
void history_close(struct history *h);

/*
 * Queue deltas (never totals): what owner received (bytes[0], packets[0]) and sent ([1]) since
 * the previous call, observed at wall time now. They count in the buckets that contain now,
 * whatever earlier calls said (a clock stepped back fills older buckets again, a suspend
 * leaves a gap). No I/O: a hash table update under a mutex that a flush holds only to swap
 * tables. A value of 2^63 or more can only be a wrapped negative difference and is counted as
 * 0. Without memory the delta is dropped.
 */
void history_add(struct history *h, time_t now, uint64_t owner, const uint64_t bytes[2],
		 const uint64_t packets[2]);

/*
 * Queue bytes exchanged with one peer (family 4 or 6; another family counts as "other"), for
 * the owner's day that contains now. At most 4 * peers_per_day (at least 64) distinct peers per
 * owner and day are queued between flushes; bytes of further peers go to that day's "other"
 * row, so sums stay exact while a scan cannot grow memory.
 */
void history_add_peer(struct history *h, time_t now, uint64_t owner, uint8_t family,
		      const uint8_t addr[16], uint32_t netns, const uint64_t bytes[2]);

/*
 * Write everything queued in one transaction: each delta into its bucket of all five periods,
 * peers into their day, then each (owner, day) written to is cut back to peers_per_day peers,
 * the rest folded into "other". In the same transaction, at most once an hour of `now` (or
 * when force, or when now went back), buckets and peers past the retention are deleted: a
 * bucket goes once all of it lies before now minus the retention of its period (5 minutes and
 * hours count hours, days/months/years count calendar units in local time). Retention trusts
 * now: a clock set years ahead prunes what it takes for old, a clock stepped back prunes less.
 *
 * Returns 0, or -errno with nothing written: the deltas are queued again and the next flush
 * retries them, so nothing is lost or counted twice (-EBUSY: another writer held the file
 * for a second; -EROFS: a read-only handle). Blocks queries on h while it runs.
 */
int history_flush(struct history *h, time_t now, bool force);

/*
 * Buckets of period p with start in [since, until), of one owner (owner_filter != NULL) or of
 * every owner, ordered by start, then owner. *rows is malloc'd (NULL when there are none) and
 * the caller frees it. Returns the number of rows or -errno. Queued deltas are not included.
 */
int history_query(struct history *h, enum history_period p, const uint64_t *owner_filter,
		  time_t since, time_t until, struct history_row **rows);

/*
 * Totals per owner of the buckets with start in [since, until), of the finest period whose
 * buckets are all still there from since on (per the file's horizons; callers align since with
 * history_bucket_start of the period they mean). Sorted by bytes in + out, descending, then
 * owner; at most top rows (0 = all); start is since. *rows malloc'd; returns the count or -errno.
 */
int history_top_owners(struct history *h, time_t since, time_t until, size_t top,
		       struct history_row **rows);

/*
 * One owner's peers summed over the days with start in [since, until), by bytes in + out
 * descending; at most top of them (0 = all), then one "other" row (family 0) holding what was
 * folded away plus the peers beyond top, if that is not zero, so the rows add up to the owner's
 * peer bytes in the range. *peers malloc'd; returns the count or -errno.
 */
int history_top_peers(struct history *h, uint64_t owner, time_t since, time_t until, size_t top,
		      struct history_peer **peers);

/*
 * Bytes of owner in the bucket of period p that contains now (the day, or the billing month,
 * ...), written or still queued: what a quota compares against. Returns 0 or -errno.
 */
int history_usage(struct history *h, uint64_t owner, enum history_period p, time_t now,
		  uint64_t bytes[2]);

/*
 * Start of the bucket of period p that contains t, in local time, months from h's month_start.
 * Returns (time_t)-1 for an unknown period or a time the C library cannot convert.
 */
time_t history_bucket_start(const struct history *h, enum history_period p, time_t t);

/*
 * Small notes the meter keeps with its history (a quota that fired in this period, so a restart
 * does not fire it again), as integers under a key of at most 100 bytes; stored in meta as
 * "note:<key>". 0, -ENOENT for a key never set, -EROFS on a read-only handle, or -errno.
 */
int history_note_get(struct history *h, const char *key, int64_t *val);
int history_note_set(struct history *h, const char *key, int64_t val);

/*
 * The reason for the last failure of a flush or query on h, as SQLite said it, into buf (one
 * line, "" when none). For the service's log line.
 */
void history_last_error(struct history *h, char *buf, size_t len);

#endif /* SERVICE_HISTORY_H */
