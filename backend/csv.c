// SPDX-License-Identifier: GPL-2.0
/*
 * The default backend: one CSV file per owner, <log_dir>/traffic_user_<nic_id>_<owner>.log,
 * where <owner> is the uid, or "nosocket" / "kernel" for the two owners that are no uid.
 *
 * Files open at an owner's first record; rows are formatted by hand into a per-file buffer that
 * is written with one write(2) when full and on flush(). The buffer starts small and doubles up
 * to its size only for an owner that fills it between two flushes, so the many owners that send
 * a few packets cost a page each, not 64 KiB. At most max_open files stay open: the
 * least recently written one is flushed and closed to make room, and reopened (its tail read
 * back) when its owner sends again, so a flood of uids costs neither descriptors nor memory.
 * Everything runs on the engine's thread, except gzip of rotated files, which has its own.
 *
 * Invariant kept through crashes and write errors: every line of a file is complete, and
 * total_in/total_out of its last row equal the sum of the bytes of the rows in the file (rows
 * lost to an error are not counted), so appending after a restart continues exactly.
 *
 * Planted names. In a directory others can write (/tmp), the name of a future log may already
 * be taken: a file of another user, a directory, a FIFO, a symlink, a hard link, or a file
 * another logger holds. None of these is ever written through; the owner's rows go instead to
 * a file of our own with an unguessable name, traffic_user_<nic>_<owner>.<random>.log, created
 * with O_EXCL, and the stats' remark says so. Nothing planted can stop, divert or cost a row.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <linux/types.h>
#include <zlib.h>

/* uthash exit()s on OOM by default; library code must not, so it tells us instead. */
static __thread bool hash_oom;
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (hash_oom = true)
#include <uthash.h>

#include "bpf/traffic_meter.h"
#include "backend/backend.h"
#include "backend/csv.h"
#include "backend/rowfmt.h"

#define CSV_TAIL	4096		/* bytes read back from an existing file to find its last row */
#define RETRY_NS	1000000000LL	/* a failed file is retried at most once a second */
#define SPACE_NS	1000000000LL	/* the free-space floor is checked at most once a second */
#define FD_RESERVE	32		/* descriptors left to the rest of the process */

struct csv_file {
	tm_owner_t owner;		/* hash key */
	int fd;				/* -1 while closed or refused */
	int64_t retry_ns;		/* CLOCK_MONOTONIC time before which a failed open waits */
	uint64_t tot[2];		/* totals including the rows in buf */
	uint64_t ctot[2];		/* totals of the rows already in the file */
	uint64_t fsize;			/* bytes in the file as far as we wrote them */
	bool torn;			/* the file ends mid-line: buf starts with a '\n' */
	bool fallback;			/* name is our own unique name: the standard one was taken */
	unsigned int prefix;		/* lines at the start of buf that are not rows (0 or 1) */
	size_t rows;			/* rows in buf */
	size_t used;			/* bytes in buf */
	size_t cap;			/* bytes buf holds: from start_buf, grown up to bufsz */
	char *buf;			/* while open */
	char *name;			/* the file's name in the directory (malloc'd: most are
					 * 30 bytes, and every owner ever seen keeps an entry) */
	struct csv_file *newer, *older;	/* the open files, most recently written first */
	UT_hash_handle hh;
};

/*
 * The fallback name an owner was given, kept across a reopen (SIGHUP) that drops the entries
 * above: while the standard name stays taken, the owner goes on in the same fallback file
 * instead of a new one per reopen. At most FALLBACKS_MAX are kept; past that a reopen draws a
 * new name, as before.
 */
#define FALLBACKS_MAX	1024

struct fallback_name {
	tm_owner_t owner;		/* hash key */
	char *name;
	UT_hash_handle hh;
};

struct gz_job {
	char name[NAME_MAX + 1];
	struct gz_job *next;
};

/* Rotated files are compressed off the engine thread, one at a time. */
struct gz_worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct gz_job *head, *tail;
	bool stop;
	int dirfd;
	mode_t mode;
};

struct csv {
	struct backend base;
	int dirfd;
	char *dir;
	char *nic;
	size_t bufsz;			/* a file's buffer at most */
	size_t start_buf;		/* ... and when it opens */
	size_t rowmax;			/* longest row in this format */
	bool extended;
	const char *header;
	size_t header_len;
	unsigned int max_open, nopen;
	uint64_t max_file_size;
	unsigned int max_files;
	uint64_t min_free;
	unsigned int min_free_pct;
	bool compress;
	mode_t file_mode;
	gid_t gid;			/* (gid_t)-1: leave the group alone */
	bool low_space;			/* below the free-space floor: rows are not written */
	int64_t space_checked_ns;
	struct csv_file *files;		/* every owner seen, open or not */
	struct fallback_name *fallbacks;	/* owner -> its fallback name, across reopens */
	unsigned int nfallbacks;
	struct csv_file *last;		/* most records come in runs of one owner */
	struct csv_file *newest, *oldest;
	struct gz_worker *gz;
	struct backend_stats st;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- rows -------------------------------------------------------------------------------- */

static inline bool record_ok(const struct traffic_record *rec)
{
	return (rec->direction == TM_DIR_IN || rec->direction == TM_DIR_OUT) &&
	       (rec->family == TM_AF_INET || rec->family == TM_AF_INET6);
}

/* The seven columns of the seed; needs CSV_ROW_MAX bytes at p, the record checked. */
static inline char *put_row(char *p, const struct traffic_record *rec, uint64_t tin, uint64_t tout)
{
	if (rec->direction == TM_DIR_OUT) {
		memcpy(p, "out,", 4);
		p += 4;
	} else {
		memcpy(p, "in,", 3);
		p += 3;
	}
	p = put_u64(p, rec->bytes);
	*p++ = ',';
	if (rec->family == TM_AF_INET) {
		p = put_ipv4(p, rec->src);
		*p++ = ',';
		p = put_ipv4(p, rec->dst);
	} else {
		p = put_ipv6(p, rec->src);
		*p++ = ',';
		p = put_ipv6(p, rec->dst);
	}
	*p++ = ',';
	p = put_ts(p, &rec->ts);
	*p++ = ',';
	p = put_u64(p, tin);
	*p++ = ',';
	p = put_u64(p, tout);
	*p++ = '\n';
	return p;
}

/* proto,sport,dport,pid,comm,cgroup after the seven; empty fields when unknown. */
static char *put_extended(char *p, const struct traffic_record *rec)
{
	const struct proc_ident *pi = rec->proc;

	p[-1] = ',';		/* over put_row's '\n' */
	p = put_proto(p, rec->proto);
	*p++ = ',';
	if (rec->sport || rec->dport) {
		p = put_u64(p, rec->sport);
		*p++ = ',';
		p = put_u64(p, rec->dport);
	} else {
		*p++ = ',';
	}
	*p++ = ',';
	if (pi && pi->tgid) {
		p = put_u64(p, pi->tgid);
		*p++ = ',';
		p = put_csv_text(p, pi->comm, sizeof(pi->comm) - 1);
	} else {
		*p++ = ',';
	}
	*p++ = ',';
	if (pi && pi->cgroup)
		p = put_csv_text(p, pi->cgroup, CSV_CGROUP_MAX);
	*p++ = '\n';
	return p;
}

size_t csv_format_row(char *buf, size_t len, const struct traffic_record *rec,
		      uint64_t total_in, uint64_t total_out, bool extended)
{
	char tmp[CSV_ROW_MAX_EXT];
	char *end;
	size_t n;

	if (!record_ok(rec))
		return 0;
	end = put_row(tmp, rec, total_in, total_out);
	if (extended)
		end = put_extended(end, rec);
	n = (size_t)(end - tmp);
	if (n + 1 > len)
		return 0;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
	return n;
}

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (!n || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned int d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* The first seven fields are never quoted, so the extended ones after them need no parsing. */
int csv_parse_totals(const char *line, size_t len, uint64_t *in, uint64_t *out)
{
	const char *f[7];
	size_t flen[7];
	size_t nf = 0, start = 0, i;
	uint64_t v, tin, tout;
	const char *dot;

	if (len && line[len - 1] == '\n')
		len--;
	if (memchr(line, '\n', len))
		return -EINVAL;
	for (i = 0; i <= len && nf < 7; i++) {
		if (i < len && line[i] != ',')
			continue;
		f[nf] = line + start;
		flen[nf++] = i - start;
		start = i + 1;
	}
	if (nf != 7)
		return -EINVAL;
	/* Seed rows end after the seventh field; extended rows carry exactly six more. */
	if (i <= len) {
		size_t commas = 0;
		bool quoted = false;

		for (size_t j = i; j < len; j++) {
			if (line[j] == '"')
				quoted = !quoted;
			else if (line[j] == ',' && !quoted)
				commas++;
		}
		if (commas != 5 || quoted)
			return -EINVAL;
	}
	if (!(flen[0] == 2 && !memcmp(f[0], "in", 2)) && !(flen[0] == 3 && !memcmp(f[0], "out", 3)))
		return -EINVAL;
	if (!parse_u64(f[1], flen[1], &v) || !flen[2] || !flen[3])
		return -EINVAL;
	dot = memchr(f[4], '.', flen[4]);
	if (!dot || !parse_u64(f[4], (size_t)(dot - f[4]), &v) ||
	    f[4] + flen[4] - dot - 1 != 9 || !parse_u64(dot + 1, 9, &v))
		return -EINVAL;
	if (!parse_u64(f[5], flen[5], &tin) || !parse_u64(f[6], flen[6], &tout))
		return -EINVAL;
	*in = tin;
	*out = tout;
	return 0;
}

/* ---- errors and remarks ------------------------------------------------------------------ */

static void file_std_name(const struct csv *c, tm_owner_t owner, char *buf, size_t len)
{
	char tok[OWNER_TOKEN_LEN];

	snprintf(buf, len, "traffic_user_%s_%s.log", c->nic, owner_token(owner, tok, sizeof(tok)));
}

/* err is a positive errno; why replaces strerror(err) when given. */
static void note_error(struct csv *c, const struct csv_file *f, int err, const char *why)
{
	c->st.write_errors++;
	c->st.last_errno = err;
	c->st.healthy = 0;
	snprintf(c->st.last_error, sizeof(c->st.last_error), "%s/%s: %s", c->dir, f->name,
		 why ? why : strerror(err));
}

/* Not a failure: the rows are written, but the operator should know. */
static void note_remark(struct csv *c, const struct csv_file *f, const char *why)
{
	snprintf(c->st.remark, sizeof(c->st.remark), "%s/%s: %s", c->dir, f->name, why);
}

/* ---- compression of rotated files -------------------------------------------------------- */

static int gz_file(int dirfd, const char *name, mode_t mode)
{
	char out[NAME_MAX + 8], tmp[NAME_MAX + 16], buf[65536];
	int in = -1, fd = -1, ret = 0;
	gzFile z = NULL;
	ssize_t n;

	snprintf(out, sizeof(out), "%s.gz", name);
	snprintf(tmp, sizeof(tmp), "%s.gz.tmp", name);
	in = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -errno;
	unlinkat(dirfd, tmp, 0);	/* a previous crash's leftover; ours, by the name pattern */
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	z = gzdopen(fd, "wb1");		/* level 1: logs compress ~8x even at the fastest level */
	if (!z) {
		ret = -ENOMEM;
		close(fd);
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (gzwrite(z, buf, (unsigned int)n) != n) {
			ret = -EIO;
			break;
		}
	}
	if (n < 0)
		ret = -errno;
	if (gzclose(z) != Z_OK && !ret)
		ret = -EIO;
	if (!ret && renameat(dirfd, tmp, dirfd, out) < 0)
		ret = -errno;
	if (!ret) {
		/*
		 * Gone already: a rotation pruned it (past --max-files) while it was being
		 * compressed. Then the copy goes too, or it would outlive the limit.
		 */
		if (unlinkat(dirfd, name, 0) < 0 && errno == ENOENT)
			unlinkat(dirfd, out, 0);
	} else {
		unlinkat(dirfd, tmp, 0);
	}
out:
	close(in);
	return ret;
}

static void *gz_run(void *arg)
{
	struct gz_worker *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct gz_job *j;

		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		j = w->head;
		if (!j)
			break;		/* stop requested and nothing left */
		w->head = j->next;
		if (!w->head)
			w->tail = NULL;
		pthread_mutex_unlock(&w->lock);
		gz_file(w->dirfd, j->name, w->mode);
		free(j);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void gz_queue(struct csv *c, const char *name)
{
	struct gz_worker *w = c->gz;
	struct gz_job *j;

	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return;
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->cond, NULL);
		w->dirfd = c->dirfd;
		w->mode = c->file_mode;
		if (pthread_create(&w->thread, NULL, gz_run, w)) {
			pthread_mutex_destroy(&w->lock);
			pthread_cond_destroy(&w->cond);
			free(w);
			return;
		}
		c->gz = w;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	snprintf(j->name, sizeof(j->name), "%s", name);
	pthread_mutex_lock(&w->lock);
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Finish what is queued: a rotated file is never left half compressed at exit. */
static void gz_stop(struct csv *c)
{
	struct gz_worker *w = c->gz;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
	c->gz = NULL;
}

/* ---- the open-file list ------------------------------------------------------------------ */

static void lru_unlink(struct csv *c, struct csv_file *f)
{
	if (f->newer)
		f->newer->older = f->older;
	else if (c->newest == f)
		c->newest = f->older;
	if (f->older)
		f->older->newer = f->newer;
	else if (c->oldest == f)
		c->oldest = f->newer;
	f->newer = f->older = NULL;
}

static void lru_push(struct csv *c, struct csv_file *f)
{
	f->older = c->newest;
	f->newer = NULL;
	if (c->newest)
		c->newest->newer = f;
	c->newest = f;
	if (!c->oldest)
		c->oldest = f;
}

/* ---- files ------------------------------------------------------------------------------- */

/* Empty buf, then put back what must precede the next row. */
static void buf_reset(struct csv *c, struct csv_file *f)
{
	f->used = 0;
	f->rows = 0;
	f->prefix = 0;
	if (f->torn) {
		/* Terminate the fragment so our next row starts on a line of its own. */
		f->buf[f->used++] = '\n';
		f->prefix = 1;
	} else if (!f->fsize) {
		memcpy(f->buf, c->header, c->header_len);
		f->used = c->header_len;
		f->prefix = 1;
	}
}

static void file_set_totals(struct csv_file *f, uint64_t tin, uint64_t tout)
{
	f->tot[TM_DIR_IN] = f->ctot[TM_DIR_IN] = tin;
	f->tot[TM_DIR_OUT] = f->ctot[TM_DIR_OUT] = tout;
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

/* The file's first line is the other format's header: it must not get our rows. */
static bool other_format(struct csv *c, int fd, uint64_t size)
{
	const char *other = c->extended ? CSV_HEADER : CSV_HEADER_EXT;
	size_t olen = strlen(other);
	char head[sizeof(CSV_HEADER_EXT)];

	if (size < olen || pread_all(fd, head, olen, 0))
		return false;
	return !memcmp(head, other, olen);
}

/*
 * Find where an existing file's totals stand. A last line without '\n' shorter than a row is a
 * row torn by a crash mid-write: it is truncated off, since it can never be completed and
 * carries no trustworthy totals (the row before it does). A longer unterminated tail, or a last
 * line that is not one of our rows, means the file is not ours: we leave its content alone,
 * start our totals at 0 after a line break, and say so in the remark.
 */
static int file_load_tail(struct csv *c, struct csv_file *f, uint64_t size)
{
	char tail[CSV_TAIL];
	size_t n = size < CSV_TAIL ? (size_t)size : CSV_TAIL;
	bool whole = n == size;		/* tail starts at the beginning of the file */
	uint64_t tin, tout;
	const char *nl, *line;
	int ret;

	file_set_totals(f, 0, 0);
	f->torn = false;
	f->fsize = size;
	if (!n)
		return 0;
	ret = pread_all(f->fd, tail, n, size - n);
	if (ret)
		return ret;
	if (tail[n - 1] != '\n') {
		size_t frag;

		nl = memrchr(tail, '\n', n);
		frag = nl ? (size_t)(tail + n - nl - 1) : n;
		if ((!nl && !whole) || frag >= c->rowmax) {
			f->torn = true;
			note_remark(c, f, "not a tmtop log (long unterminated line); totals restart "
				    "at 0");
			return 0;
		}
		if (ftruncate(f->fd, (off_t)(size - frag)) == 0)
			f->fsize = size - frag;
		else
			f->torn = true;	/* cannot cut it: fence it off with a line break */
		n -= frag;
		if (!n)
			return 0;
	}
	nl = n >= 2 ? memrchr(tail, '\n', n - 1) : NULL;
	if (!nl && !whole)
		goto foreign;
	line = nl ? nl + 1 : tail;
	if ((size_t)(tail + n - line) == c->header_len && !memcmp(line, c->header, c->header_len))
		return 0;
	if (csv_parse_totals(line, (size_t)(tail + n - line), &tin, &tout) < 0)
		goto foreign;
	file_set_totals(f, tin, tout);
	return 0;
foreign:
	note_remark(c, f, "last line is not a tmtop row; totals restart at 0");
	return 0;
}

static int open_name(const struct csv *c, const char *name, int extra)
{
	/*
	 * O_RDWR because the tail is read back; O_NONBLOCK so a FIFO planted at the path cannot
	 * hang the engine (cleared once fstat proved a regular file); O_NOFOLLOW refuses a
	 * symlink as the last component, and O_CREAT|O_EXCL never follows one either.
	 */
	return openat(c->dirfd, name, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		      O_NONBLOCK | extra, c->file_mode);
}

enum open_result {
	OPEN_OK,
	OPEN_TAKEN,		/* the name holds something that is not ours to write */
	OPEN_ERROR,		/* a real error: counted, retried later */
	OPEN_OTHER_FORMAT,	/* our own file in the other format: rotate it away first */
};

/*
 * Open or create f->name and check what we got. *why says what took the name, or what went
 * wrong; *err is the errno for OPEN_ERROR.
 */
static enum open_result try_open(struct csv *c, struct csv_file *f, int *fdp, const char **why,
				 int *err)
{
	bool created = false;
	struct stat st;
	int fd;

	*why = NULL;
	fd = open_name(c, f->name, 0);
	if (fd < 0 && errno == ENOENT) {
		/* O_EXCL tells us the file is our own creation (the owner check below needs it). */
		fd = open_name(c, f->name, O_CREAT | O_EXCL);
		if (fd >= 0)
			created = true;
		else if (errno == EEXIST)
			fd = open_name(c, f->name, 0);
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
	/* A file someone else planted (e.g. world-readable, in /tmp) would leak rows to them. */
	else if (!created && st.st_uid != geteuid())
		*why = "a file owned by another user";
	/* Two loggers appending to one file would interleave rows and break the totals. */
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
	if (created && c->gid != (gid_t)-1 && fchown(fd, (uid_t)-1, c->gid) == 0)
		fchmod(fd, c->file_mode);
	*fdp = fd;
	/* f->fd is still -1 here: the check reads the descriptor just opened. */
	if (!created && other_format(c, fd, (uint64_t)st.st_size)) {
		close(fd);
		return OPEN_OTHER_FORMAT;
	}
	f->fsize = (uint64_t)st.st_size;
	return OPEN_OK;
}

/* Remember name as owner's fallback (best effort: a full table or no memory just forgets). */
static void fallback_remember(struct csv *c, tm_owner_t owner, const char *name)
{
	struct fallback_name *fb;
	char *copy;

	HASH_FIND(hh, c->fallbacks, &owner, sizeof(owner), fb);
	if (!fb && c->nfallbacks >= FALLBACKS_MAX)
		return;
	copy = strdup(name);
	if (!copy)
		return;
	if (fb) {
		free(fb->name);
		fb->name = copy;
		return;
	}
	fb = calloc(1, sizeof(*fb));
	if (!fb) {
		free(copy);
		return;
	}
	fb->owner = owner;
	fb->name = copy;
	hash_oom = false;
	HASH_ADD(hh, c->fallbacks, owner, sizeof(fb->owner), fb);
	if (hash_oom) {
		free(copy);
		free(fb);
		return;
	}
	c->nfallbacks++;
}

/*
 * A name of our own for an owner whose standard name was taken: the fallback it had before
 * a reopen if it has not been tried yet (file_open checks it like any name, so a plant there
 * moves on), else a new unguessable one.
 */
static int make_fallback(struct csv *c, struct csv_file *f)
{
	static const char set[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	char tok[OWNER_TOKEN_LEN];
	struct fallback_name *fb;
	unsigned char rnd[8];

	HASH_FIND(hh, c->fallbacks, &f->owner, sizeof(f->owner), fb);
	if (fb && strcmp(f->name, fb->name)) {
		char *copy = strdup(fb->name);

		if (!copy)
			return -ENOMEM;
		free(f->name);
		f->name = copy;
		f->fallback = true;
		return 0;
	}
	for (int attempt = 0; attempt < 64; attempt++) {
		char sfx[9], name[NAME_MAX + 1], *copy;
		int fd;

		if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
			for (size_t i = 0; i < sizeof(rnd); i++)
				rnd[i] = (unsigned char)(random() >> 7);
		for (size_t i = 0; i < 8; i++)
			sfx[i] = set[rnd[i] % (sizeof(set) - 1)];
		sfx[8] = '\0';
		snprintf(name, sizeof(name), "traffic_user_%s_%s.%s.log", c->nic,
			 owner_token(f->owner, tok, sizeof(tok)), sfx);
		copy = strdup(name);
		if (!copy)
			return -ENOMEM;
		fd = open_name(c, name, O_CREAT | O_EXCL);
		if (fd >= 0) {
			close(fd);
			free(f->name);
			f->name = copy;
			f->fallback = true;
			fallback_remember(c, f->owner, name);
			return 0;
		}
		free(copy);
		if (errno != EEXIST && errno != ELOOP && errno != EISDIR)
			return -errno;
	}
	return -EEXIST;
}

static int file_flush(struct csv *c, struct csv_file *f);
static int rotate_name(struct csv *c, struct csv_file *f);

/* Make room for one more descriptor: flush and close the least recently written file. */
static void file_close(struct csv *c, struct csv_file *f)
{
	if (f->fd < 0)
		return;
	file_flush(c, f);
	close(f->fd);	/* closing also drops the flock */
	f->fd = -1;
	free(f->buf);
	f->buf = NULL;
	f->cap = 0;
	lru_unlink(c, f);
	c->nopen--;
}

/*
 * Open (or create) f's file. A taken name moves the owner to a fallback name of our own at
 * once (no row is lost to a plant); a real error is counted once and the next attempt waits
 * RETRY_NS, so a failing path costs one syscall burst a second.
 */
static int file_open(struct csv *c, struct csv_file *f)
{
	int64_t now = mono_ns();
	const char *why = NULL;
	int err = 0, fd = -1;
	char msg[160];

	if (now < f->retry_ns)
		return -EAGAIN;
	while (c->nopen >= c->max_open && c->oldest)
		file_close(c, c->oldest);
	for (int attempt = 0; attempt < 4; attempt++) {
		enum open_result r = try_open(c, f, &fd, &why, &err);

		if (r == OPEN_OK)
			goto opened;
		if (r == OPEN_OTHER_FORMAT) {
			/* Our own file in the other column layout: it becomes a rotated file. */
			err = -rotate_name(c, f);
			if (err)
				break;
			continue;
		}
		if (r == OPEN_ERROR) {
			if ((err == EMFILE || err == ENFILE) && c->oldest) {
				file_close(c, c->oldest);
				continue;
			}
			break;
		}
		snprintf(msg, sizeof(msg), "the name was taken (%s); logging to a file of our own", why);
		err = -make_fallback(c, f);
		if (err)
			break;
		note_remark(c, f, msg);
	}
	if (!err)
		err = EIO;
	f->retry_ns = now + RETRY_NS;
	note_error(c, f, err, why);
	return -err;

opened:
	f->buf = malloc(c->start_buf);
	f->cap = c->start_buf;
	if (!f->buf) {
		close(fd);
		f->retry_ns = now + RETRY_NS;
		note_error(c, f, ENOMEM, NULL);
		return -ENOMEM;
	}
	f->fd = fd;
	err = -file_load_tail(c, f, f->fsize);
	if (err) {
		close(fd);
		f->fd = -1;
		free(f->buf);
		f->buf = NULL;
		f->retry_ns = now + RETRY_NS;
		note_error(c, f, err, NULL);
		return -err;
	}
	f->retry_ns = 0;
	buf_reset(c, f);
	lru_push(c, f);
	c->nopen++;
	return 0;
}

/*
 * The write failed after `done` bytes of buf reached the file. Complete lines that made it are
 * kept (and their totals become the file's); a trailing fragment is truncated off so the file
 * still ends with '\n'. If even that fails, the file is marked torn and the next write starts
 * with '\n', sacrificing the fragment as one unparseable line rather than gluing our next row
 * onto it. Everything else in buf is dropped and the totals roll back to what the file holds.
 */
static void file_write_failed(struct csv *c, struct csv_file *f, size_t done, int err)
{
	const char *nl = done ? memrchr(f->buf, '\n', done) : NULL;
	size_t keep = nl ? (size_t)(nl - f->buf) + 1 : 0;
	size_t lines = 0, kept_rows;
	uint64_t before = f->fsize;
	struct stat st;

	for (const char *p = f->buf; p < f->buf + keep; p++)
		lines += *p == '\n';
	if (lines >= f->prefix) {
		kept_rows = lines - f->prefix;
		f->torn = false;	/* our '\n' prefix, if any, made it */
	} else {
		kept_rows = 0;
	}
	f->fsize += keep;
	if (done > keep) {
		/* Only cut what we wrote ourselves: the size must be exactly what we expect. */
		if (!(fstat(f->fd, &st) == 0 && (uint64_t)st.st_size == before + done &&
		      ftruncate(f->fd, (off_t)f->fsize) == 0))
			f->torn = true;
	}
	if (kept_rows) {
		/* The last kept line is a row, never the prefix: take its totals. */
		const char *end = f->buf + keep - 1;
		const char *start = memrchr(f->buf, '\n', (size_t)(end - f->buf));

		start = start ? start + 1 : f->buf;
		if (csv_parse_totals(start, (size_t)(end - start), &f->ctot[TM_DIR_IN],
				     &f->ctot[TM_DIR_OUT]))
			f->torn = true;	/* cannot happen with our own rows; stay safe */
	}
	c->st.rows += kept_rows;
	c->st.bytes += keep;
	c->st.dropped += f->rows - kept_rows;
	f->tot[TM_DIR_IN] = f->ctot[TM_DIR_IN];
	f->tot[TM_DIR_OUT] = f->ctot[TM_DIR_OUT];
	note_error(c, f, err, NULL);
	buf_reset(c, f);
}

static int file_flush(struct csv *c, struct csv_file *f)
{
	size_t done = 0;
	int err = 0;

	if (f->fd < 0 || !f->rows)
		return 0;
	while (done < f->used) {
		ssize_t r = write(f->fd, f->buf + done, f->used - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? errno : EIO;
			break;
		}
		done += (size_t)r;	/* a short write: retry the remainder */
	}
	if (err) {
		file_write_failed(c, f, done, err);
		return -err;
	}
	c->st.rows += f->rows;
	c->st.bytes += f->used;
	f->fsize += f->used;
	f->torn = false;
	f->ctot[TM_DIR_IN] = f->tot[TM_DIR_IN];
	f->ctot[TM_DIR_OUT] = f->tot[TM_DIR_OUT];
	c->st.healthy = 1;
	c->st.last_errno = 0;
	buf_reset(c, f);
	return 0;
}

/* ---- rotation ---------------------------------------------------------------------------- */

/* Is `d` one of f->name's rotated files ("<name>.<N>" or "<name>.<N>.gz")? Returns N or 0. */
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
 * Move f->name aside to "<name>.<N>", N one past the highest existing, then delete our own
 * rotated files beyond the newest max_files. Only files of our own uid are ever deleted.
 */
static int rotate_name(struct csv *c, struct csv_file *f)
{
	size_t nlen = strlen(f->name), nseq = 0, cap = 0;
	unsigned long *seqs = NULL, top = 0;
	char to[NAME_MAX + 1];
	struct dirent *d;
	int ret = 0, dfd;
	DIR *dir;

	dfd = openat(c->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return -errno;
	}
	while ((d = readdir(dir))) {
		unsigned long n = rotated_seq(d->d_name, f->name, nlen);
		struct stat st;

		if (!n)
			continue;
		if (n > top)
			top = n;
		if (fstatat(c->dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) || st.st_uid != geteuid())
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
	if (snprintf(to, sizeof(to), "%s.%lu", f->name, top + 1) >= (int)sizeof(to)) {
		free(seqs);
		return -ENAMETOOLONG;
	}
	if (renameat2(c->dirfd, f->name, c->dirfd, to, RENAME_NOREPLACE) < 0) {
		ret = -errno;
		free(seqs);
		return ret;
	}
	c->st.rotations++;
	if (c->compress)
		gz_queue(c, to);
	/* Keep the newest max_files, counting the one just made. */
	if (nseq) {	/* seqs is NULL when there were none, and qsort may not get NULL */
		size_t u = 1;

		qsort(seqs, nseq, sizeof(*seqs), seq_cmp);
		/* <name>.N and <name>.N.gz both seen mid-compression are one file. */
		for (size_t i = 1; i < nseq; i++)
			if (seqs[i] != seqs[u - 1])
				seqs[u++] = seqs[i];
		nseq = u;
	}
	for (size_t i = 0; i + c->max_files < nseq + 1 && i < nseq; i++) {
		char old[NAME_MAX + 8];

		snprintf(old, sizeof(old), "%s.%lu", f->name, seqs[i]);
		if (unlinkat(c->dirfd, old, 0) < 0 && errno == ENOENT) {
			snprintf(old, sizeof(old), "%s.%lu.gz", f->name, seqs[i]);
			unlinkat(c->dirfd, old, 0);
		}
	}
	free(seqs);
	return 0;
}

/* Close, move aside, and start a fresh file with totals at 0. */
static int file_rotate(struct csv *c, struct csv_file *f, const char *why)
{
	int ret;

	file_close(c, f);
	ret = rotate_name(c, f);
	if (ret) {
		note_error(c, f, -ret, "cannot rotate");
		return ret;
	}
	note_remark(c, f, why);
	return file_open(c, f);
}

/* ---- the free-space floor ---------------------------------------------------------------- */

static void check_space(struct csv *c)
{
	int64_t now = mono_ns();
	struct statvfs sv;
	uint64_t avail, total;
	bool low = false;

	if (!c->min_free && !c->min_free_pct)
		return;
	if (now - c->space_checked_ns < SPACE_NS)
		return;
	c->space_checked_ns = now;
	if (fstatvfs(c->dirfd, &sv))
		return;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	total = (uint64_t)sv.f_blocks * sv.f_frsize;
	if (c->min_free && avail < c->min_free)
		low = true;
	if (c->min_free_pct && avail * 100 < total * c->min_free_pct)
		low = true;
	if (low && !c->low_space)
		snprintf(c->st.last_error, sizeof(c->st.last_error), "%s: below the free-space "
			 "floor; rows are counted but not written", c->dir);
	c->low_space = low;
	if (low)
		c->st.healthy = 0;
}

/* ---- the backend ------------------------------------------------------------------------- */

static void free_all(struct csv *c)
{
	struct csv_file *f, *tmp;

	HASH_ITER(hh, c->files, f, tmp) {
		file_close(c, f);
		HASH_DEL(c->files, f);
		free(f->name);
		free(f);
	}
	c->last = NULL;
}

static int flush_all(struct csv *c)
{
	int ret = 0, err;
	bool failed = false, wrote = false;

	for (struct csv_file *f = c->newest; f; f = f->older) {
		if (!f->rows)
			continue;
		wrote = true;
		err = file_flush(c, f);
		if (err) {
			ret = err;
			failed = true;
		}
	}
	/* One bad file in a pass keeps the whole backend unhealthy, whatever the order. */
	if (wrote)
		c->st.healthy = !failed && !c->low_space;
	return ret;
}

static void csv_close(struct backend *b)
{
	struct csv *c = (struct csv *)b;
	struct fallback_name *fb, *tmp;

	if (!c)
		return;
	flush_all(c);
	free_all(c);
	HASH_ITER(hh, c->fallbacks, fb, tmp) {
		HASH_DEL(c->fallbacks, fb);
		free(fb->name);
		free(fb);
	}
	gz_stop(c);
	if (c->dirfd >= 0)
		close(c->dirfd);
	free(c->dir);
	free(c->nic);
	free(c);
}

static int csv_open(struct backend **out, const struct backend_config *cfg, char *err,
		    size_t errlen)
{
	const char *nic = cfg->nic_id ? cfg->nic_id : "unknown";
	unsigned int max_open = cfg->max_open ? cfg->max_open : CSV_DEFAULT_MAX_OPEN;
	struct rlimit rl;
	struct csv *c;
	int ret;

	*out = NULL;
	/* The label is part of a file name: a '/' would escape the log directory. */
	if (!*nic || strchr(nic, '/') || !strcmp(nic, ".") || !strcmp(nic, "..")) {
		snprintf(err, errlen, "bad nic_id '%s': it becomes part of a file name", nic);
		return -EINVAL;
	}
	if (strlen(nic) + sizeof("traffic_user__nosocket.XXXXXXXX.log.999999999.gz") > NAME_MAX) {
		snprintf(err, errlen, "nic_id '%s' is too long for a file name", nic);
		return -ENAMETOOLONG;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->base.ops = &csv_backend_ops;
	c->st.healthy = 1;
	c->dirfd = cfg->dirfd >= 0 ? fcntl(cfg->dirfd, F_DUPFD_CLOEXEC, 3) :
		   open(cfg->log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open log directory %s: %s", cfg->log_dir,
			 strerror(errno));
		goto fail;
	}
	if (faccessat(c->dirfd, ".", W_OK | X_OK, AT_EACCESS) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot write to log directory %s: %s", cfg->log_dir,
			 strerror(errno));
		goto fail;
	}
	c->dir = strdup(cfg->log_dir);
	c->nic = strdup(nic);
	if (!c->dir || !c->nic) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	c->extended = cfg->extended;
	c->header = c->extended ? CSV_HEADER_EXT : CSV_HEADER;
	c->header_len = strlen(c->header);
	c->rowmax = c->extended ? CSV_ROW_MAX_EXT : CSV_ROW_MAX;
	c->bufsz = cfg->buffer_bytes ? cfg->buffer_bytes : CSV_DEFAULT_BUFFER;
	if (c->bufsz < CSV_MIN_BUFFER)
		c->bufsz = CSV_MIN_BUFFER;
	if (c->bufsz < 2 * c->rowmax)
		c->bufsz = 2 * c->rowmax;
	c->start_buf = 2 * c->rowmax > CSV_MIN_BUFFER ? 2 * c->rowmax : CSV_MIN_BUFFER;
	if (c->start_buf > c->bufsz)
		c->start_buf = c->bufsz;
	/* Never more files than the descriptor limit allows, whatever was asked. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)max_open + 2 * FD_RESERVE)
		max_open = rl.rlim_cur > 2 * FD_RESERVE ? (unsigned int)(rl.rlim_cur / 2) : 4;
	c->max_open = max_open;
	c->max_file_size = cfg->max_file_size;
	c->max_files = cfg->max_files ? cfg->max_files : CSV_DEFAULT_MAX_FILES;
	c->min_free = cfg->min_free;
	c->min_free_pct = cfg->min_free_pct;
	c->compress = cfg->compress;
	c->gid = cfg->reader_gid == (uint32_t)-1 ? (gid_t)-1 : (gid_t)cfg->reader_gid;
	c->file_mode = c->gid == (gid_t)-1 ? 0600 : 0640;
	check_space(c);
	*out = &c->base;
	return 0;
fail:
	csv_close(&c->base);
	return ret;
}

/* Room for more rows before the next flush: double f's buffer, up to bufsz. */
static bool buf_grow(struct csv *c, struct csv_file *f)
{
	size_t ncap = f->cap * 2 < c->bufsz ? f->cap * 2 : c->bufsz;
	char *nbuf;

	if (ncap <= f->cap)
		return false;
	nbuf = realloc(f->buf, ncap);
	if (!nbuf)
		return false;	/* a flush makes room as well */
	f->buf = nbuf;
	f->cap = ncap;
	return true;
}

static struct csv_file *file_get(struct csv *c, tm_owner_t owner)
{
	char name[NAME_MAX + 1];
	struct csv_file *f;

	HASH_FIND(hh, c->files, &owner, sizeof(owner), f);
	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->owner = owner;
	f->fd = -1;
	file_std_name(c, owner, name, sizeof(name));
	f->name = strdup(name);
	if (!f->name) {
		free(f);
		return NULL;
	}
	hash_oom = false;
	HASH_ADD(hh, c->files, owner, sizeof(f->owner), f);
	if (hash_oom) {
		free(f->name);
		free(f);
		return NULL;
	}
	return f;
}

static int csv_write(struct backend *b, const struct traffic_record *rec)
{
	struct csv *c = (struct csv *)b;
	struct csv_file *f = c->last;
	unsigned int dir = rec->direction;
	char *end;
	int err;

	if (!record_ok(rec))
		return -EINVAL;
	c->st.records++;
	if (c->low_space) {
		c->st.not_written++;
		return -ENOSPC;
	}
	if (!f || f->owner != rec->owner) {
		f = file_get(c, rec->owner);
		if (!f) {
			c->st.dropped++;
			return -ENOMEM;
		}
		c->last = f;
	}
	if (f->fd < 0) {
		err = file_open(c, f);
		if (err) {
			c->st.dropped++;
			return err;
		}
	} else if (f != c->newest) {
		lru_unlink(c, f);
		lru_push(c, f);
	}
	/* Totals never wrap silently: a file whose totals would pass 2^64 is rotated. */
	if (f->tot[dir] > UINT64_MAX - rec->bytes ||
	    (c->max_file_size && f->rows + f->fsize > 0 &&
	     f->fsize + f->used + c->rowmax > c->max_file_size)) {
		err = file_rotate(c, f, f->tot[dir] > UINT64_MAX - rec->bytes ?
				  "totals would pass 2^64: rotated" : "rotated (--max-file-size)");
		if (err) {
			c->st.dropped++;
			return err;
		}
	}
	if (f->cap - f->used < c->rowmax && !buf_grow(c, f))
		file_flush(c, f);	/* on failure the rows are counted and dropped; keep going */
	f->tot[dir] += rec->bytes;
	end = put_row(f->buf + f->used, rec, f->tot[TM_DIR_IN], f->tot[TM_DIR_OUT]);
	if (c->extended)
		end = put_extended(end, rec);
	f->used = (size_t)(end - f->buf);
	f->rows++;
	return 0;
}

static int csv_flush(struct backend *b)
{
	struct csv *c = (struct csv *)b;

	check_space(c);
	return flush_all(c);
}

static int csv_reopen(struct backend *b)
{
	struct csv *c = (struct csv *)b;
	int ret = flush_all(c);

	/* Dropping the entries is enough: the next record per owner opens its name afresh. */
	free_all(c);
	return ret;
}

static void csv_stats(struct backend *b, struct backend_stats *out)
{
	struct csv *c = (struct csv *)b;

	*out = c->st;
	out->open_files = c->nopen;
}

static size_t csv_describe(struct backend *b, char *buf, size_t len)
{
	struct csv *c = (struct csv *)b;
	int n = snprintf(buf, len, "%s/traffic_user_%s_<uid>.log", c->dir, c->nic);

	return n < 0 ? 0 : (size_t)n;
}

static int csv_owner_open(struct backend *b, tm_owner_t owner, char *buf, size_t len)
{
	struct csv *c = (struct csv *)b;
	char name[NAME_MAX + 1];
	struct stat st, ours;
	struct csv_file *f;
	bool mine;
	int fd;

	HASH_FIND(hh, c->files, &owner, sizeof(owner), f);
	if (f)
		snprintf(name, sizeof(name), "%s", f->name);
	else
		file_std_name(c, owner, name, sizeof(name));
	if (snprintf(buf, len, "%s/%s", c->dir, name) >= (int)len)
		return -ENAMETOOLONG;
	fd = openat(c->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int e = errno;

		close(fd);
		return -e;
	}
	/* The file being written: the very same one. Else one this meter's user made. */
	if (f && f->fd >= 0 && !fstat(f->fd, &ours))
		mine = st.st_dev == ours.st_dev && st.st_ino == ours.st_ino;
	else
		mine = S_ISREG(st.st_mode) && st.st_nlink == 1 && st.st_uid == geteuid();
	if (!mine) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

const struct backend_ops csv_backend_ops = {
	.name = "csv",
	.open = csv_open,
	.write = csv_write,
	.flush = csv_flush,
	.reopen = csv_reopen,
	.stats = csv_stats,
	.describe = csv_describe,
	.owner_open = csv_owner_open,
	.close = csv_close,
};
