// SPDX-License-Identifier: GPL-2.0
/*
 * Flow records: one JSON line per (owner, direction, local address, remote address[, netns])
 * per interval, with bytes, packets and the first and last packet's time, in one file for every
 * owner, <log_dir>/flows_<nic_id>.jsonl. With --log-format extended the protocol, the ports and
 * the socket's creator (pid, comm, cgroup) join the key. doc/FLOWS.md is the format.
 *
 * Intervals are aligned to wall-clock multiples of --flow-interval (flows_align()), as NetFlow
 * and IPFIX exporters cut active flows. Each packet record is added to its flow in a table; an
 * interval's flows are written about FLOWS_GRACE_NS after it ends (by tick(), so records still
 * in the ring buffer at the boundary land in their own interval), and everything left is written
 * at close, marked partial. Exact: every valid record is in exactly one line, so the lines'
 * sums per owner and direction equal the CSV's and the kernel's (when no event is lost and no
 * write fails: those are counted in the stats).
 *
 * Bounded: at most FLOWS_MAX flows are held. A record that needs one more (a flood of peers)
 * first writes every flow held, marked partial, and starts an empty table; so does a table that
 * cannot grow for want of memory. A key may then have several lines in an interval; the sums
 * stay exact. The table is keyed with SipHash-1-3 under a random key, since remote addresses
 * are chosen by whoever sends to us and must not be able to pile flows into one probe chain.
 *
 * One file for all owners, because that is what a shipper tails (one input, one checkpoint) and
 * what a store ingests; the price is that it cannot be handed to one user the way a CSV file
 * of their own can (tmtop log): it holds everyone's peers. So it is created 0600, or 0640 with
 * the reader group (the tmtop group: those who may see every user anyway), and never served to
 * an owner; the backend has no owner_open. Users read their own traffic from their CSV file or
 * the service; doc/FLOWS.md says how a shipper can split the stream per user.
 *
 * Lines are formatted by hand (rowfmt.h), like the CSV rows. Measured here (10^6 extended
 * lines of 424 bytes, -O2): 0.12-0.20 us a line by hand, 3.8-4.9 us with json-c (an object per
 * line, one allocation per key, json_object_to_json_string_ext), which also escapes every '/'
 * of a cgroup path as "\/" unless told not to and prints doubles with 17 digits, so a time in
 * microseconds comes out as 1795744559.9876544.
 *
 * The file is opened as the CSV backend opens its own: never through a symlink, never a FIFO,
 * a directory, a hard link, another user's file or one another meter holds; a taken name sends
 * the lines to flows_<nic_id>.<random>.jsonl of our own, created with O_EXCL, and the stats'
 * remark says so. Write errors drop the lines concerned (counted), never the file or the meter.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

/* uthash exit()s on OOM by default; library code must not, so it tells us instead. */
static __thread bool hash_oom;
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (hash_oom = true)
#include <uthash.h>

#include "bpf/traffic_meter.h"
#include "backend/backend.h"
#include "backend/flows.h"
#include "backend/rowfmt.h"

#define FLOWS_FIRST_CAP	1024		/* flows allocated at open; doubled up to FLOWS_MAX */
#define LINES_MAX	(FLOWS_BUFFER / 128)	/* a line is never shorter than 128 bytes */
#define RETRY_NS	1000000000LL	/* a failed open or rotation is retried once a second */
#define SPACE_NS	1000000000LL	/* the free-space floor is checked at most once a second */
#define TAIL_MAX	(FLOWS_LINE_MAX + 1)	/* bytes read back to find a torn last line */
#define NS		1000000000LL

/*
 * Compared and hashed as bytes: every field is set (zero when it does not apply) and the
 * layout has no padding, which the assert below keeps true.
 */
struct flow_key {
	int64_t start;			/* the interval's first second since the epoch */
	tm_owner_t owner;
	uint64_t cgroup_id;		/* extended: the socket's cgroup, 0 unknown */
	uint32_t netns;			/* the socket's network namespace when foreign, else 0 */
	uint32_t pid;			/* extended: the socket's creator, 0 unknown */
	uint8_t local[16];		/* network order; IPv4 in the first 4 bytes */
	uint8_t remote[16];
	char comm[16];			/* extended: NUL-padded; empty when pid is 0 */
	uint16_t lport, rport;		/* extended: 0 unless TCP or UDP */
	uint8_t direction, family, proto;	/* proto: extended only */
	uint8_t pad;
};

_Static_assert(sizeof(struct flow_key) == 88, "struct flow_key has padding");

/* A cgroup path shared by the flows of one cgroup, freed with the last of them. */
struct cg_name {
	uint64_t id;			/* hash key */
	unsigned int refs;		/* flows pointing here */
	UT_hash_handle hh;
	char path[];			/* at most FLOWS_CGROUP_MAX + 1 bytes, then cut */
};

struct flow {
	struct flow_key k;
	uint64_t bytes;
	uint64_t packets;
	int64_t first_ns, last_ns;	/* wall clock of the earliest and latest packet */
	struct cg_name *cg;		/* extended: the cgroup's path, NULL unknown */
	bool late;			/* created after its interval was written */
};

struct flows {
	struct backend base;
	unsigned int interval;		/* seconds */
	bool extended;
	/* the table: flows in a dense array, an open-addressing index of positions + 1 */
	struct flow *v;
	size_t n, cap, max;
	uint32_t *slot;
	size_t mask;			/* slots - 1; twice cap, a power of two */
	size_t hit[2];			/* the latest hits: a sender and its receiver alternate */
	uint64_t sipkey[2];
	int64_t oldest;			/* smallest start held; INT64_MAX when empty */
	int64_t written;		/* intervals before this one were written at their end */
	struct cg_name *cgs;
	/* the file */
	int dirfd;
	char *dir;
	char *nic;
	char name[NAME_MAX + 1];	/* flows_<nic>.jsonl, or our fallback when that was taken */
	char fallback[NAME_MAX + 1];	/* the last fallback, tried again after a reopen */
	int fd;				/* -1 while closed */
	uint64_t fsize;			/* bytes in the file as far as we wrote them */
	bool torn;			/* the file does not end in '\n': fence our lines off */
	int64_t retry_ns;		/* CLOCK_MONOTONIC before which a failed open waits */
	int64_t rotate_retry_ns;
	mode_t file_mode;
	gid_t gid;			/* (gid_t)-1: leave the group alone */
	uint64_t max_file_size;
	unsigned int max_files;
	uint64_t min_free;
	unsigned int min_free_pct;
	bool low_space;
	int64_t space_checked_ns;
	char *buf;			/* FLOWS_BUFFER + FLOWS_LINE_MAX bytes */
	size_t used;
	size_t prefix;			/* bytes at the start of buf that are no line (a fence) */
	size_t nlines;
	uint32_t line_end[LINES_MAX];	/* where each line in buf ends */
	uint64_t line_pkts[LINES_MAX];	/* the packets each line carries, for the stats */
	int64_t time_sec;		/* the interval start whose RFC 3339 text is cached */
	char time_text[20];
	struct backend_stats st;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static int64_t wall_ns(const struct timespec *ts)
{
	if (ts->tv_sec < 0)
		return 0;
	if (ts->tv_sec >= INT64_MAX / NS - 1)
		return INT64_MAX / NS * NS - NS;
	return (int64_t)ts->tv_sec * NS + (ts->tv_nsec > 0 ? ts->tv_nsec % NS : 0);
}

/* ---- the keyed hash ---------------------------------------------------------------------- */

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                         \
	do {                                                                             \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);               \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                   \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                   \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);               \
	} while (0)

/* SipHash-1-3 of the key's 11 words (its length is fixed, so no tail bytes). */
static uint64_t key_hash(const uint64_t sk[2], const struct flow_key *key)
{
	uint64_t w[sizeof(*key) / 8];
	uint64_t v0 = sk[0] ^ 0x736f6d6570736575ULL, v1 = sk[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = sk[0] ^ 0x6c7967656e657261ULL, v3 = sk[1] ^ 0x7465646279746573ULL;
	uint64_t b = (uint64_t)sizeof(*key) << 56;

	memcpy(w, key, sizeof(w));
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		v3 ^= w[i];
		SIPROUND;
		v0 ^= w[i];
	}
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- lines ------------------------------------------------------------------------------- */

char *flows_put_rfc3339(char *p, int64_t sec)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (sec < 0 || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999) {
		memcpy(p, sec < 0 ? "1970-01-01T00:00:00Z" : "9999-12-31T23:59:59Z", 20);
		return p + 20;
	}
	memcpy(p, rowfmt_digit_pairs + 2 * ((tm.tm_year + 1900) / 100), 2);
	memcpy(p + 2, rowfmt_digit_pairs + 2 * ((tm.tm_year + 1900) % 100), 2);
	p[4] = '-';
	memcpy(p + 5, rowfmt_digit_pairs + 2 * (tm.tm_mon + 1), 2);
	p[7] = '-';
	memcpy(p + 8, rowfmt_digit_pairs + 2 * tm.tm_mday, 2);
	p[10] = 'T';
	memcpy(p + 11, rowfmt_digit_pairs + 2 * tm.tm_hour, 2);
	p[13] = ':';
	memcpy(p + 14, rowfmt_digit_pairs + 2 * tm.tm_min, 2);
	p[16] = ':';
	memcpy(p + 17, rowfmt_digit_pairs + 2 * (tm.tm_sec > 59 ? 59 : tm.tm_sec), 2);
	p[19] = 'Z';
	return p + 20;
}

#define PUT_LIT(p, s)                          \
	do {                                   \
		memcpy(p, s, sizeof(s) - 1);   \
		p += sizeof(s) - 1;            \
	} while (0)

/*
 * "seconds.uuuuuu": microseconds keep 16 significant digits, which a JSON parser's double
 * holds exactly; nanoseconds would not survive one (jq, JavaScript, most shippers).
 */
static char *put_epoch_us(char *p, int64_t ns)
{
	uint32_t us = (uint32_t)(ns % NS / 1000);

	p = put_u64(p, (uint64_t)(ns / NS));
	*p++ = '.';
	for (int i = 5; i >= 0; i--) {
		p[i] = (char)('0' + us % 10);
		us /= 10;
	}
	return p + 6;
}

static char *put_addr(char *p, uint8_t family, const uint8_t *a)
{
	*p++ = '"';
	p = family == TM_AF_INET ? put_ipv4(p, a) : put_ipv6(p, a);
	*p++ = '"';
	return p;
}

/* One line ending in '\n'; needs FLOWS_LINE_MAX bytes at p. */
static char *put_line(struct flows *fl, char *p, const struct flow *f, bool partial)
{
	const struct flow_key *k = &f->k;

	if (fl->time_sec != k->start) {
		flows_put_rfc3339(fl->time_text, k->start);
		fl->time_sec = k->start;
	}
	PUT_LIT(p, "{\"v\":1,\"time\":\"");
	memcpy(p, fl->time_text, 20);
	p += 20;
	PUT_LIT(p, "\",\"start\":");
	p = put_u64(p, (uint64_t)k->start);
	PUT_LIT(p, ",\"end\":");
	p = put_u64(p, (uint64_t)k->start + fl->interval);
	PUT_LIT(p, ",\"owner\":\"");
	if (OWNER_IS_USER(k->owner)) {
		p = put_u64(p, OWNER_UID(k->owner));
		PUT_LIT(p, "\",\"uid\":");
		p = put_u64(p, OWNER_UID(k->owner));
	} else {
		char tok[OWNER_TOKEN_LEN];
		size_t n = strlen(owner_token(k->owner, tok, sizeof(tok)));

		memcpy(p, tok, n);
		p += n;
		*p++ = '"';
	}
	if (k->direction == TM_DIR_OUT)
		PUT_LIT(p, ",\"direction\":\"out\",\"family\":");
	else
		PUT_LIT(p, ",\"direction\":\"in\",\"family\":");
	*p++ = k->family == TM_AF_INET ? '4' : '6';
	PUT_LIT(p, ",\"local_addr\":");
	p = put_addr(p, k->family, k->local);
	PUT_LIT(p, ",\"remote_addr\":");
	p = put_addr(p, k->family, k->remote);
	if (k->netns) {
		PUT_LIT(p, ",\"netns\":");
		p = put_u64(p, k->netns);
	}
	if (fl->extended) {
		PUT_LIT(p, ",\"proto\":\"");
		p = put_proto(p, k->proto);
		*p++ = '"';
		if (k->lport || k->rport) {
			PUT_LIT(p, ",\"local_port\":");
			p = put_u64(p, k->lport);
			PUT_LIT(p, ",\"remote_port\":");
			p = put_u64(p, k->rport);
		}
		if (k->pid) {
			PUT_LIT(p, ",\"pid\":");
			p = put_u64(p, k->pid);
			PUT_LIT(p, ",\"comm\":");
			p = put_json_text(p, k->comm, sizeof(k->comm) - 1);
		}
		if (f->cg && f->cg->path[0]) {
			PUT_LIT(p, ",\"cgroup\":");
			p = put_json_text(p, f->cg->path, FLOWS_CGROUP_MAX);
		}
	}
	PUT_LIT(p, ",\"bytes\":");
	p = put_u64(p, f->bytes);
	PUT_LIT(p, ",\"packets\":");
	p = put_u64(p, f->packets);
	PUT_LIT(p, ",\"first\":");
	p = put_epoch_us(p, f->first_ns);
	PUT_LIT(p, ",\"last\":");
	p = put_epoch_us(p, f->last_ns);
	if (partial)
		PUT_LIT(p, ",\"partial\":true}\n");
	else
		PUT_LIT(p, ",\"partial\":false}\n");
	return p;
}

/* ---- errors and remarks ------------------------------------------------------------------ */

/* err is a positive errno; why replaces strerror(err) when given. */
static void note_error(struct flows *fl, int err, const char *why)
{
	fl->st.write_errors++;
	fl->st.last_errno = err;
	fl->st.healthy = 0;
	snprintf(fl->st.last_error, sizeof(fl->st.last_error), "%s/%s: %s", fl->dir, fl->name,
		 why ? why : strerror(err));
}

static void note_remark(struct flows *fl, const char *why)
{
	snprintf(fl->st.remark, sizeof(fl->st.remark), "%s/%s: %s", fl->dir, fl->name, why);
}

/* ---- the file ---------------------------------------------------------------------------- */

static void std_name(struct flows *fl)
{
	snprintf(fl->name, sizeof(fl->name), "flows_%s.jsonl", fl->nic);
}

static void buf_reset(struct flows *fl)
{
	fl->used = 0;
	fl->nlines = 0;
	fl->prefix = 0;
}

static int pread_all(int fd, char *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		got += (size_t)r;
	}
	return 0;
}

/*
 * An existing file must end with a complete line before ours. A last line of ours torn by a
 * crash mid-write (it starts like our lines and is shorter than any) is cut off: it is no JSON
 * and never will be. Anything else unterminated is left alone and fenced off with a '\n'.
 */
static int check_tail(struct flows *fl, uint64_t size)
{
	size_t n = size < TAIL_MAX ? (size_t)size : TAIL_MAX;
	char *tail;
	const char *nl, *frag;
	size_t flen;
	int ret;

	fl->torn = false;
	if (!size)
		return 0;
	tail = malloc(n);
	if (!tail)
		return -ENOMEM;
	ret = pread_all(fl->fd, tail, n, size - n);
	if (ret || tail[n - 1] == '\n')
		goto out;
	nl = memrchr(tail, '\n', n);
	frag = nl ? nl + 1 : tail;
	flen = (size_t)(tail + n - frag);
	if ((nl || n == size) && flen < FLOWS_LINE_MAX && flen >= 5 &&
	    !memcmp(frag, "{\"v\":", 5) && ftruncate(fl->fd, (off_t)(size - flen)) == 0) {
		fl->fsize = size - flen;
		note_remark(fl, "a line torn by an earlier crash was cut off");
	} else {
		fl->torn = true;
		note_remark(fl, "the file did not end with a complete line; fenced off with a line "
			    "break");
	}
out:
	free(tail);
	return ret;
}

static int open_name(const struct flows *fl, const char *name, int extra)
{
	/*
	 * O_RDWR because the tail is read back; O_NONBLOCK so a FIFO planted at the path cannot
	 * hang the engine (cleared once fstat proved a regular file); O_NOFOLLOW refuses a
	 * symlink as the last component, and O_CREAT|O_EXCL never follows one either.
	 */
	return openat(fl->dirfd, name, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		      O_NONBLOCK | extra, fl->file_mode);
}

enum open_result {
	OPEN_OK,
	OPEN_TAKEN,		/* the name holds something that is not ours to write */
	OPEN_ERROR,		/* a real error: counted, retried later */
};

static enum open_result try_open(struct flows *fl, const char **why, int *err)
{
	bool created = false;
	struct stat st;
	int fd;

	*why = NULL;
	fd = open_name(fl, fl->name, 0);
	if (fd < 0 && errno == ENOENT) {
		/* O_EXCL tells us the file is our own creation (the owner check below needs it). */
		fd = open_name(fl, fl->name, O_CREAT | O_EXCL);
		if (fd >= 0)
			created = true;
		else if (errno == EEXIST)
			fd = open_name(fl, fl->name, 0);
		else if (errno != ENOENT) {
			*err = errno;	/* the directory refuses: no plant can cause this */
			return OPEN_ERROR;
		}
	}
	if (fd < 0) {
		*err = errno;
		switch (errno) {
		case ELOOP:
			*why = "a symbolic link";
			return OPEN_TAKEN;
		case EISDIR:
			*why = "a directory";
			return OPEN_TAKEN;
		case EACCES:
		case EPERM:
		case ENXIO:
		case ETXTBSY:
			*why = "a file we may not write";
			return OPEN_TAKEN;
		default:
			return OPEN_ERROR;
		}
	}
	if (fstat(fd, &st) < 0) {
		*err = errno;
		close(fd);
		return OPEN_ERROR;
	}
	if (!S_ISREG(st.st_mode))
		*why = "not a regular file";
	else if (st.st_nlink != 1)
		*why = "a hard-linked file";
	/* A file someone else planted (e.g. world-readable, in /tmp) would leak flows to them. */
	else if (!created && st.st_uid != geteuid())
		*why = "a file owned by another user";
	/* Two meters appending to one file would interleave partial lines. */
	else if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		*why = errno == EWOULDBLOCK ? "in use by another tmtop or traffic_meter_user" :
					      "a file that cannot be locked";
	if (*why) {
		close(fd);
		return OPEN_TAKEN;
	}
	if (fcntl(fd, F_SETFL, O_APPEND) < 0) {
		*err = errno;
		close(fd);
		return OPEN_ERROR;
	}
	if (created && fl->gid != (gid_t)-1 && fchown(fd, (uid_t)-1, fl->gid) == 0)
		fchmod(fd, fl->file_mode);
	fl->fd = fd;
	fl->fsize = (uint64_t)st.st_size;
	return OPEN_OK;
}

/*
 * A name of our own, for when the standard one was taken: the fallback of before a reopen
 * (SIGHUP) if not tried yet, so a name that stays taken does not make a new file per reopen
 * (file_open checks it like any name), else a new unguessable one.
 */
static int make_fallback(struct flows *fl)
{
	static const char set[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	unsigned char rnd[8];

	if (fl->fallback[0] && strcmp(fl->name, fl->fallback)) {
		memcpy(fl->name, fl->fallback, sizeof(fl->name));
		return 0;
	}
	for (int attempt = 0; attempt < 64; attempt++) {
		char sfx[9];
		int fd;

		if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
			for (size_t i = 0; i < sizeof(rnd); i++)
				rnd[i] = (unsigned char)(random() >> 7);
		for (size_t i = 0; i < 8; i++)
			sfx[i] = set[rnd[i] % (sizeof(set) - 1)];
		sfx[8] = '\0';
		snprintf(fl->name, sizeof(fl->name), "flows_%s.%s.jsonl", fl->nic, sfx);
		fd = open_name(fl, fl->name, O_CREAT | O_EXCL);
		if (fd >= 0) {
			close(fd);
			memcpy(fl->fallback, fl->name, sizeof(fl->fallback));
			return 0;
		}
		if (errno != EEXIST && errno != ELOOP && errno != EISDIR)
			return -errno;
	}
	return -EEXIST;
}

/* Open (or create) the file; a taken name moves us to a fallback name at once. */
static int file_open(struct flows *fl)
{
	int64_t now = mono_ns();
	const char *why = NULL;
	char msg[160];
	int err = 0;

	if (now < fl->retry_ns)
		return -EAGAIN;
	for (int attempt = 0; attempt < 4; attempt++) {
		enum open_result r = try_open(fl, &why, &err);

		if (r == OPEN_OK)
			goto opened;
		if (r == OPEN_ERROR)
			break;
		snprintf(msg, sizeof(msg), "the name was taken (%s); writing to a file of our own",
			 why);
		err = -make_fallback(fl);
		if (err)
			break;
		note_remark(fl, msg);
	}
	if (!err)
		err = EIO;
	fl->retry_ns = now + RETRY_NS;
	note_error(fl, err, why);
	return -err;
opened:
	err = -check_tail(fl, fl->fsize);
	if (err) {
		close(fl->fd);
		fl->fd = -1;
		fl->retry_ns = now + RETRY_NS;
		note_error(fl, err, NULL);
		return -err;
	}
	fl->retry_ns = 0;
	fl->st.open_files = 1;
	return 0;
}

/*
 * The write failed after `done` bytes of buf reached the file. Complete lines that made it
 * stay; a trailing fragment is cut off so the file still ends with '\n' (or, failing that,
 * fenced off before our next line). The lines that did not make it are counted as dropped.
 */
static void write_failed(struct flows *fl, size_t done, int err)
{
	size_t keep = done >= fl->prefix ? fl->prefix : 0, lines = 0;
	uint64_t before = fl->fsize;
	struct stat st;

	while (lines < fl->nlines && fl->line_end[lines] <= done)
		keep = fl->line_end[lines++];
	for (size_t i = lines; i < fl->nlines; i++)
		fl->st.dropped += fl->line_pkts[i];
	if (fl->prefix && done >= fl->prefix)
		fl->torn = false;	/* the fence made it */
	fl->fsize += keep;
	if (done > keep) {
		/* Only cut what we wrote ourselves: the size must be exactly what we expect. */
		if (!(fstat(fl->fd, &st) == 0 && (uint64_t)st.st_size == before + done &&
		      ftruncate(fl->fd, (off_t)fl->fsize) == 0))
			fl->torn = true;
	}
	fl->st.rows += lines;
	fl->st.bytes += keep;
	note_error(fl, err, NULL);
	buf_reset(fl);
}

/* Write buf out: 0 or -errno (the lines then counted as dropped). */
static int buf_write(struct flows *fl)
{
	size_t done = 0;
	int err = 0;

	if (!fl->nlines) {
		buf_reset(fl);
		return 0;
	}
	while (done < fl->used) {
		ssize_t r = write(fl->fd, fl->buf + done, fl->used - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? errno : EIO;
			break;
		}
		done += (size_t)r;	/* a short write: retry the remainder */
	}
	if (err) {
		write_failed(fl, done, err);
		return -err;
	}
	fl->st.rows += fl->nlines;
	fl->st.bytes += fl->used;
	fl->fsize += fl->used;
	fl->torn = false;
	fl->st.healthy = 1;
	fl->st.last_errno = 0;
	buf_reset(fl);
	return 0;
}

static void file_close(struct flows *fl)
{
	if (fl->fd < 0)
		return;
	buf_write(fl);
	close(fl->fd);		/* closing also drops the flock */
	fl->fd = -1;
	fl->st.open_files = 0;
}

/* Is `d` one of name's rotated files ("<name>.<N>" or "<name>.<N>.gz")? Returns N or 0. */
static unsigned long rotated_seq(const char *d, const char *name, size_t nlen)
{
	unsigned long n = 0;
	const char *p;

	if (strncmp(d, name, nlen) || d[nlen] != '.')
		return 0;
	for (p = d + nlen + 1; *p >= '0' && *p <= '9'; p++)
		n = n * 10 + (unsigned long)(*p - '0');
	if (p == d + nlen + 1 || n == 0 || n > 999999999 || (*p && strcmp(p, ".gz")))
		return 0;
	return n;
}

static int seq_cmp(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/*
 * Move the file aside to "<name>.<N>", N one past the highest existing (the CSV's scheme), then
 * delete our own rotated files beyond the newest max_files. Only files of our uid are deleted.
 */
static int rotate_name(struct flows *fl)
{
	size_t nlen = strlen(fl->name), nseq = 0, cap = 0;
	unsigned long *seqs = NULL, top = 0;
	char to[NAME_MAX + 1];
	struct dirent *d;
	int ret = 0, dfd;
	DIR *dir;

	dfd = openat(fl->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return -errno;
	}
	while ((d = readdir(dir))) {
		unsigned long n = rotated_seq(d->d_name, fl->name, nlen);
		struct stat st;

		if (!n)
			continue;
		if (n > top)
			top = n;
		if (fstatat(fl->dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    st.st_uid != geteuid())
			continue;
		if (nseq == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			unsigned long *v = realloc(seqs, ncap * sizeof(*v));

			if (!v)
				break;
			seqs = v;
			cap = ncap;
		}
		seqs[nseq++] = n;
	}
	closedir(dir);
	if (snprintf(to, sizeof(to), "%s.%lu", fl->name, top + 1) >= (int)sizeof(to)) {
		free(seqs);
		return -ENAMETOOLONG;
	}
	if (renameat2(fl->dirfd, fl->name, fl->dirfd, to, RENAME_NOREPLACE) < 0) {
		ret = -errno;
		free(seqs);
		return ret;
	}
	fl->st.rotations++;
	if (nseq)
		qsort(seqs, nseq, sizeof(*seqs), seq_cmp);
	for (size_t i = 0; i + fl->max_files < nseq + 1 && i < nseq; i++) {
		char old[NAME_MAX + 8];

		snprintf(old, sizeof(old), "%s.%lu", fl->name, seqs[i]);
		if (unlinkat(fl->dirfd, old, 0) < 0 && errno == ENOENT) {
			snprintf(old, sizeof(old), "%s.%lu.gz", fl->name, seqs[i]);
			unlinkat(fl->dirfd, old, 0);
		}
	}
	free(seqs);
	return 0;
}

/*
 * --max-file-size: close, move aside, start a new file. A rotation that fails keeps the lines
 * in the current file (a size limit is no reason to lose records; --min-free guards the disk)
 * and is retried a second later.
 */
static void file_rotate(struct flows *fl)
{
	int64_t now = mono_ns();
	int ret;

	if (now < fl->rotate_retry_ns)
		return;
	file_close(fl);
	ret = rotate_name(fl);
	if (ret) {
		fl->rotate_retry_ns = now + RETRY_NS;
		note_error(fl, -ret, "cannot rotate");
	} else {
		note_remark(fl, "rotated (--max-file-size)");
	}
	file_open(fl);
}

static void check_space(struct flows *fl)
{
	int64_t now = mono_ns();
	struct statvfs sv;
	uint64_t avail, total;
	bool low = false;

	if (!fl->min_free && !fl->min_free_pct)
		return;
	if (now - fl->space_checked_ns < SPACE_NS)
		return;
	fl->space_checked_ns = now;
	if (fstatvfs(fl->dirfd, &sv))
		return;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	total = (uint64_t)sv.f_blocks * sv.f_frsize;
	if (fl->min_free && avail < fl->min_free)
		low = true;
	if (fl->min_free_pct && avail * 100 < total * fl->min_free_pct)
		low = true;
	if (low && !fl->low_space)
		snprintf(fl->st.last_error, sizeof(fl->st.last_error), "%s: below the free-space "
			 "floor; flow records are counted but not written", fl->dir);
	fl->low_space = low;
	if (low)
		fl->st.healthy = 0;
}

/* ---- writing flows ----------------------------------------------------------------------- */

enum sink {
	SINK_FILE,		/* lines go to the file */
	SINK_LOW,		/* held back by the free-space floor: not_written */
	SINK_NONE,		/* no file (refused, retry pending): dropped */
};

static enum sink sink_open(struct flows *fl)
{
	check_space(fl);
	if (fl->low_space)
		return SINK_LOW;
	if (fl->fd < 0 && file_open(fl))
		return SINK_NONE;
	return SINK_FILE;
}

static void emit_line(struct flows *fl, enum sink sink, const struct flow *f, bool partial)
{
	char *end;

	if (sink == SINK_LOW) {
		fl->st.not_written += f->packets;
		return;
	}
	if (sink == SINK_NONE || fl->fd < 0) {
		fl->st.dropped += f->packets;
		return;
	}
	if (fl->used > FLOWS_BUFFER || fl->nlines == LINES_MAX)
		buf_write(fl);	/* buf has FLOWS_LINE_MAX bytes beyond FLOWS_BUFFER */
	if (!fl->used && fl->torn) {
		fl->buf[fl->used++] = '\n';
		fl->prefix = 1;
	}
	end = put_line(fl, fl->buf + fl->used, f, partial);
	/* After a failed rotation the lines go on into the file until the retry is due. */
	if (fl->max_file_size && fl->fsize + fl->used > 0 &&
	    fl->fsize + (size_t)(end - fl->buf) > fl->max_file_size &&
	    (!fl->rotate_retry_ns || mono_ns() >= fl->rotate_retry_ns)) {
		/* Format again after the rotation: the new file needs no fence. */
		buf_write(fl);
		file_rotate(fl);
		if (fl->fd < 0) {
			fl->st.dropped += f->packets;
			return;
		}
		if (fl->torn) {
			fl->buf[fl->used++] = '\n';
			fl->prefix = 1;
		}
		end = put_line(fl, fl->buf + fl->used, f, partial);
	}
	fl->line_end[fl->nlines] = (uint32_t)(end - fl->buf);
	fl->line_pkts[fl->nlines++] = f->packets;
	fl->used = (size_t)(end - fl->buf);
}

static void cg_put(struct flows *fl, struct cg_name *cg)
{
	if (cg && !--cg->refs) {
		HASH_DEL(fl->cgs, cg);
		free(cg);
	}
}

static struct cg_name *cg_get(struct flows *fl, uint64_t id, const char *path)
{
	struct cg_name *cg;
	size_t n;

	HASH_FIND(hh, fl->cgs, &id, sizeof(id), cg);
	if (cg) {
		cg->refs++;
		return cg;
	}
	n = strnlen(path, FLOWS_CGROUP_MAX + 1);
	cg = malloc(sizeof(*cg) + n + 1);
	if (!cg)
		return NULL;	/* the line goes without the path; the key keeps the id */
	cg->id = id;
	cg->refs = 1;
	memcpy(cg->path, path, n);
	cg->path[n] = '\0';
	hash_oom = false;
	HASH_ADD(hh, fl->cgs, id, sizeof(cg->id), cg);
	if (hash_oom) {
		free(cg);
		return NULL;
	}
	return cg;
}

static void index_clear(struct flows *fl)
{
	memset(fl->slot, 0, (fl->mask + 1) * sizeof(*fl->slot));
	fl->hit[0] = fl->hit[1] = SIZE_MAX;
}

static void index_add(struct flows *fl, size_t pos)
{
	size_t i = key_hash(fl->sipkey, &fl->v[pos].k) & fl->mask;

	while (fl->slot[i])
		i = (i + 1) & fl->mask;
	fl->slot[i] = (uint32_t)pos + 1;
}

/*
 * Write the flows whose interval ended by `upto` (ns; INT64_MAX: all) and keep the rest. A line
 * is partial when its interval had not ended at `now` or its flow came late.
 */
static void emit(struct flows *fl, int64_t upto, int64_t now)
{
	enum sink sink = SINK_NONE;
	bool opened = false;
	size_t keep = 0;

	fl->oldest = INT64_MAX;
	for (size_t i = 0; i < fl->n; i++) {
		struct flow *f = &fl->v[i];
		int64_t end_ns = (f->k.start + (int64_t)fl->interval) * NS;

		if (end_ns > upto) {
			if (f->k.start < fl->oldest)
				fl->oldest = f->k.start;
			if (keep != i)
				fl->v[keep] = *f;
			keep++;
			continue;
		}
		if (!opened) {
			sink = sink_open(fl);
			opened = true;
		}
		emit_line(fl, sink, f, f->late || end_ns > now);
		cg_put(fl, f->cg);
	}
	if (opened && fl->fd >= 0)
		buf_write(fl);
	if (keep == fl->n)
		return;
	fl->n = keep;
	index_clear(fl);
	for (size_t i = 0; i < fl->n; i++)
		index_add(fl, i);
}

static int64_t now_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return wall_ns(&ts);
}

/* Twice the room, up to the cap; -ENOMEM leaves the table as it was. */
static int grow(struct flows *fl)
{
	size_t cap = fl->cap * 2 > fl->max ? fl->max : fl->cap * 2;
	size_t nslots = fl->mask + 1;
	struct flow *v;
	uint32_t *slot;

	while (nslots < 2 * cap)
		nslots *= 2;
	v = realloc(fl->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	fl->v = v;
	slot = calloc(nslots, sizeof(*slot));
	if (!slot)
		return -ENOMEM;	/* v is larger, cap unchanged: harmless */
	free(fl->slot);
	fl->slot = slot;
	fl->mask = nslots - 1;
	fl->cap = cap;
	fl->hit[0] = fl->hit[1] = SIZE_MAX;
	for (size_t i = 0; i < fl->n; i++)
		index_add(fl, i);
	return 0;
}

/* The flow of key k, created empty if new. */
static struct flow *flow_get(struct flows *fl, const struct flow_key *k,
			     const struct proc_ident *pi)
{
	size_t i, pos;
	uint64_t h;
	struct flow *f;

	for (int j = 0; j < 2; j++) {
		pos = fl->hit[j];
		if (pos < fl->n && !memcmp(&fl->v[pos].k, k, sizeof(*k))) {
			if (j) {
				fl->hit[1] = fl->hit[0];
				fl->hit[0] = pos;
			}
			return &fl->v[pos];
		}
	}
	h = key_hash(fl->sipkey, k);
	for (i = h & fl->mask; fl->slot[i]; i = (i + 1) & fl->mask) {
		pos = fl->slot[i] - 1;
		if (!memcmp(&fl->v[pos].k, k, sizeof(*k)))
			goto found;
	}
	if (fl->n == fl->cap) {
		/* Full (or no memory to grow): write everything now, marked partial. */
		if (fl->cap == fl->max || grow(fl))
			emit(fl, INT64_MAX, now_wall_ns());
		/* Either way the index changed under i. */
		for (i = h & fl->mask; fl->slot[i]; i = (i + 1) & fl->mask)
			;
	}
	pos = fl->n++;
	fl->slot[i] = (uint32_t)pos + 1;
	f = &fl->v[pos];
	memset(f, 0, sizeof(*f));
	f->k = *k;
	f->first_ns = INT64_MAX;
	f->last_ns = INT64_MIN;
	f->late = k->start < fl->written;
	if (fl->extended && pi && k->cgroup_id && pi->cgroup && pi->cgroup[0])
		f->cg = cg_get(fl, k->cgroup_id, pi->cgroup);
	if (k->start < fl->oldest)
		fl->oldest = k->start;
found:
	fl->hit[1] = fl->hit[0];
	fl->hit[0] = pos;
	return &fl->v[pos];
}

/* ---- the backend ------------------------------------------------------------------------- */

static inline bool record_ok(const struct traffic_record *rec)
{
	return (rec->direction == TM_DIR_IN || rec->direction == TM_DIR_OUT) &&
	       (rec->family == TM_AF_INET || rec->family == TM_AF_INET6);
}

static int flows_write(struct backend *b, const struct traffic_record *rec)
{
	struct flows *fl = (struct flows *)b;
	const struct proc_ident *pi = rec->proc;
	size_t alen = rec->family == TM_AF_INET ? 4 : 16;
	bool out = rec->direction == TM_DIR_OUT;
	int64_t ns = wall_ns(&rec->ts);
	struct flow_key k;
	struct flow *f;

	if (!record_ok(rec))
		return -EINVAL;
	fl->st.records++;
	memset(&k, 0, sizeof(k));
	k.start = flows_align(ns / NS, fl->interval);
	k.owner = rec->owner;
	k.netns = rec->foreign_netns ? rec->netns : 0;
	memcpy(k.local, out ? rec->src : rec->dst, alen);
	memcpy(k.remote, out ? rec->dst : rec->src, alen);
	k.direction = rec->direction;
	k.family = rec->family;
	if (fl->extended) {
		k.proto = rec->proto;
		k.lport = out ? rec->sport : rec->dport;
		k.rport = out ? rec->dport : rec->sport;
		if (pi && pi->tgid) {
			k.pid = pi->tgid;
			memcpy(k.comm, pi->comm, strnlen(pi->comm, sizeof(k.comm) - 1));
		}
		if (pi)
			k.cgroup_id = pi->cgroup_id;
	}
	f = flow_get(fl, &k, pi);
	f->bytes += rec->bytes;
	f->packets++;
	if (ns < f->first_ns)
		f->first_ns = ns;
	if (ns > f->last_ns)
		f->last_ns = ns;
	return 0;
}

/* Every interval that ended FLOWS_GRACE_NS ago is complete: its records have all arrived. */
static void flows_tick(struct backend *b, const struct timespec *now)
{
	struct flows *fl = (struct flows *)b;
	int64_t t = wall_ns(now), upto = t - FLOWS_GRACE_NS;
	int64_t done;

	if (upto < 0)
		return;
	/* Not kept monotonic: after a step back of the clock, new flows are not late ones. */
	done = flows_align(upto / NS, fl->interval);
	fl->written = done;
	if (!fl->n || (fl->oldest + (int64_t)fl->interval) * NS > upto)
		return;
	emit(fl, upto, t);
}

static int flows_flush(struct backend *b)
{
	struct flows *fl = (struct flows *)b;

	check_space(fl);
	if (fl->fd < 0)
		return 0;
	return buf_write(fl);
}

static int flows_reopen(struct backend *b)
{
	struct flows *fl = (struct flows *)b;

	/* The flows stay: they go to the new file at their interval's end. */
	file_close(fl);
	std_name(fl);
	fl->retry_ns = 0;
	fl->rotate_retry_ns = 0;
	return 0;
}

static void flows_stats(struct backend *b, struct backend_stats *out)
{
	struct flows *fl = (struct flows *)b;

	*out = fl->st;
	out->open_files = fl->fd >= 0;
}

static size_t flows_describe(struct backend *b, char *buf, size_t len)
{
	struct flows *fl = (struct flows *)b;
	int n = snprintf(buf, len, "%s/%s", fl->dir, fl->name);

	return n < 0 ? 0 : (size_t)n;
}

/* Everything held, now: the intervals not yet ended are marked partial. */
static void flows_finish(struct backend *b)
{
	struct flows *fl = (struct flows *)b;

	if (fl->n)
		emit(fl, INT64_MAX, now_wall_ns());
}

static void flows_close(struct backend *b)
{
	struct flows *fl = (struct flows *)b;
	struct cg_name *cg, *tmp;

	if (!fl)
		return;
	if (fl->dirfd >= 0)
		flows_finish(b);
	file_close(fl);
	HASH_ITER(hh, fl->cgs, cg, tmp) {
		HASH_DEL(fl->cgs, cg);
		free(cg);
	}
	if (fl->dirfd >= 0)
		close(fl->dirfd);
	free(fl->v);
	free(fl->slot);
	free(fl->buf);
	free(fl->dir);
	free(fl->nic);
	free(fl);
}

static int flows_open(struct backend **out, const struct backend_config *cfg, char *err,
		      size_t errlen)
{
	const char *nic = cfg->nic_id ? cfg->nic_id : "unknown";
	struct flows *fl;
	int ret;

	*out = NULL;
	/* The label is part of a file name: a '/' would escape the log directory. */
	if (!*nic || strchr(nic, '/') || !strcmp(nic, ".") || !strcmp(nic, "..")) {
		snprintf(err, errlen, "bad nic_id '%s': it becomes part of a file name", nic);
		return -EINVAL;
	}
	if (strlen(nic) + sizeof("flows_.XXXXXXXX.jsonl.999999999.gz") > NAME_MAX) {
		snprintf(err, errlen, "nic_id '%s' is too long for a file name", nic);
		return -ENAMETOOLONG;
	}
	fl = calloc(1, sizeof(*fl));
	if (!fl) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	fl->base.ops = &flows_backend_ops;
	fl->st.healthy = 1;
	fl->fd = -1;
	fl->interval = cfg->flow_interval_s ? cfg->flow_interval_s : FLOWS_DEFAULT_INTERVAL;
	fl->extended = cfg->extended;
	fl->max = FLOWS_MAX;
	fl->oldest = INT64_MAX;
	fl->time_sec = -1;
	fl->dirfd = cfg->dirfd >= 0 ? fcntl(cfg->dirfd, F_DUPFD_CLOEXEC, 3) :
		    open(cfg->log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fl->dirfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open log directory %s: %s", cfg->log_dir,
			 strerror(errno));
		goto fail;
	}
	if (faccessat(fl->dirfd, ".", W_OK | X_OK, AT_EACCESS) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot write to log directory %s: %s", cfg->log_dir,
			 strerror(errno));
		goto fail;
	}
	fl->dir = strdup(cfg->log_dir ? cfg->log_dir : ".");
	fl->nic = strdup(nic);
	fl->buf = malloc(FLOWS_BUFFER + FLOWS_LINE_MAX);
	fl->cap = FLOWS_FIRST_CAP;
	fl->v = malloc(fl->cap * sizeof(*fl->v));
	fl->mask = 2 * fl->cap - 1;
	fl->slot = calloc(fl->mask + 1, sizeof(*fl->slot));
	if (!fl->dir || !fl->nic || !fl->buf || !fl->v || !fl->slot) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	fl->hit[0] = fl->hit[1] = SIZE_MAX;
	if (getrandom(fl->sipkey, sizeof(fl->sipkey), GRND_NONBLOCK) != sizeof(fl->sipkey)) {
		fl->sipkey[0] = (uint64_t)mono_ns() ^ ((uint64_t)random() << 32);
		fl->sipkey[1] = (uint64_t)now_wall_ns() ^ (uint64_t)(uintptr_t)fl;
	}
	fl->max_file_size = cfg->max_file_size;
	fl->max_files = cfg->max_files ? cfg->max_files : FLOWS_DEFAULT_MAX_FILES;
	fl->min_free = cfg->min_free;
	fl->min_free_pct = cfg->min_free_pct;
	fl->gid = cfg->reader_gid == (uint32_t)-1 ? (gid_t)-1 : (gid_t)cfg->reader_gid;
	fl->file_mode = fl->gid == (gid_t)-1 ? 0600 : 0640;
	std_name(fl);
	check_space(fl);
	*out = &fl->base;
	return 0;
fail:
	flows_close(&fl->base);
	return ret;
}

const struct backend_ops flows_backend_ops = {
	.name = "flows",
	.open = flows_open,
	.write = flows_write,
	.flush = flows_flush,
	.reopen = flows_reopen,
	.tick = flows_tick,
	.finish = flows_finish,
	.stats = flows_stats,
	.describe = flows_describe,
	.close = flows_close,
};
