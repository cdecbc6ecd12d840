// SPDX-License-Identifier: GPL-2.0
/*
 * The default backend: one CSV file per uid, <log_dir>/traffic_user_<nic_id>_<uid>.log.
 *
 * Files open lazily at a uid's first record and stay open; rows are formatted by hand into a
 * per-file buffer that is written with one write(2) when full and on flush(). Everything runs
 * on the engine's thread, so there is no locking.
 *
 * Invariant kept through crashes and write errors: every line of a file is complete, and
 * total_in/total_out of its last row equal the sum of the bytes of the rows in the file
 * (rows lost to an error are not counted), so appending after a restart continues exactly.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <linux/types.h>

/* uthash exit()s on OOM by default; library code must not, so it tells us instead. */
static bool hash_oom;
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (hash_oom = true)
#include <uthash.h>

#include "traffic_meter.h"
#include "backend/backend.h"
#include "backend/csv.h"

#define CSV_TAIL	4096	/* bytes read back from an existing file to find its last row */
#define RETRY_NS	1000000000LL	/* a refused file is retried at most once a second */

struct csv_file {
	uint32_t uid;			/* hash key */
	int fd;				/* -1 while refused */
	int64_t retry_ns;		/* CLOCK_MONOTONIC time before which a refused open waits */
	uint64_t tot[2];		/* totals including the rows in buf */
	uint64_t ctot[2];		/* totals of the rows already in the file */
	uint64_t fsize;			/* bytes in the file as far as we wrote them */
	bool torn;			/* the file ends mid-line: buf starts with a '\n' */
	unsigned int prefix;		/* lines at the start of buf that are not rows (0 or 1) */
	size_t rows;			/* rows in buf */
	size_t used;			/* bytes in buf */
	char *buf;
	UT_hash_handle hh;
};

static struct {
	bool active;
	int dirfd;
	char *dir;
	char *nic;
	size_t bufsz;
	struct csv_file *files;
	struct csv_file *last;		/* most records come in runs of one uid */
	struct backend_stats st;
} g = { .dirfd = -1 };

/* ---- formatting ------------------------------------------------------------------------- */

static const char digit_pairs[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static inline unsigned int digits_u64(uint64_t v)
{
	unsigned int n = 1;

	while (v >= 10000) {
		v /= 10000;
		n += 4;
	}
	return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

/*
 * Digits written backwards straight into place: with the length known first there is no
 * variable-length memcpy, which the profile showed as a libc call per field.
 */
static inline char *put_u64(char *p, uint64_t v)
{
	unsigned int n = digits_u64(v);
	char *t = p + n;

	while (v >= 100) {
		unsigned int r = v % 100;

		v /= 100;
		t -= 2;
		t[0] = digit_pairs[2 * r];
		t[1] = digit_pairs[2 * r + 1];
	}
	if (v >= 10) {
		t[-2] = digit_pairs[2 * v];
		t[-1] = digit_pairs[2 * v + 1];
	} else {
		t[-1] = (char)('0' + v);
	}
	return p + n;
}

/* Exactly nine digits: the nanoseconds after the point. */
static inline char *put_ns9(char *p, uint32_t v)
{
	p[8] = '0' + v % 10;
	v /= 10;
	for (int i = 6; i >= 0; i -= 2) {
		memcpy(p + i, digit_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	return p + 9;
}

static inline char *put_octet(char *p, unsigned int v)
{
	if (v >= 100) {
		*p++ = '0' + v / 100;
		v %= 100;
		memcpy(p, digit_pairs + 2 * v, 2);
		return p + 2;
	}
	if (v >= 10) {
		memcpy(p, digit_pairs + 2 * v, 2);
		return p + 2;
	}
	*p = '0' + v;
	return p + 1;
}

static inline char *put_ipv4(char *p, const uint8_t *a)
{
	p = put_octet(p, a[0]);
	*p++ = '.';
	p = put_octet(p, a[1]);
	*p++ = '.';
	p = put_octet(p, a[2]);
	*p++ = '.';
	return put_octet(p, a[3]);
}

static inline char *put_hex16(char *p, unsigned int v)
{
	static const char hex[] = "0123456789abcdef";
	int shift = v >= 0x1000 ? 12 : v >= 0x100 ? 8 : v >= 0x10 ? 4 : 0;

	for (; shift >= 0; shift -= 4)
		*p++ = hex[(v >> shift) & 0xf];
	return p;
}

/*
 * RFC 5952 by hand, because glibc's inet_ntop formats each group with sprintf. The two forms
 * where glibc prints an embedded IPv4 address go to inet_ntop itself, since the spec promises
 * its exact output: ::ffff:a.b.c.d, and ::a.b.c.d (six leading zero groups, the seventh not
 * zero). ::1 and :: stay on the fast path: loopback floods are all ::1.
 */
static char *put_ipv6(char *p, const uint8_t *a)
{
	unsigned int w[8];
	int best = -1, best_len = 0, cur = -1, cur_len = 0;

	for (int i = 0; i < 8; i++)
		w[i] = (unsigned int)a[2 * i] << 8 | a[2 * i + 1];
	if (!(w[0] | w[1] | w[2] | w[3] | w[4]) && (w[5] == 0xffff || (!w[5] && w[6]))) {
		char s[INET6_ADDRSTRLEN];
		size_t n;

		inet_ntop(AF_INET6, a, s, sizeof(s));
		n = strlen(s);
		memcpy(p, s, n);
		return p + n;
	}
	/* Longest run of zero groups, the first one on a tie; a single zero is not compressed. */
	for (int i = 0; i < 8; i++) {
		if (w[i]) {
			cur = -1;
			continue;
		}
		if (cur < 0) {
			cur = i;
			cur_len = 0;
		}
		if (++cur_len > best_len) {
			best = cur;
			best_len = cur_len;
		}
	}
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			*p++ = ':';
			if (i + best_len == 8)
				*p++ = ':';
			i += best_len - 1;
			continue;
		}
		if (i)
			*p++ = ':';
		p = put_hex16(p, w[i]);
	}
	return p;
}

/* Needs CSV_ROW_MAX bytes at p; the caller has checked direction and family. */
static inline char *put_row(char *p, const struct traffic_record *rec, uint64_t tin, uint64_t tout)
{
	int64_t sec = rec->ts.tv_sec;
	long nsec = rec->ts.tv_nsec;

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
	/* A wall clock before 1970 cannot be a real packet time; keep the field parseable. */
	if (sec < 0) {
		sec = 0;
		nsec = 0;
	}
	if (nsec < 0 || nsec > 999999999)
		nsec = nsec < 0 ? 0 : 999999999;
	p = put_u64(p, (uint64_t)sec);
	*p++ = '.';
	p = put_ns9(p, (uint32_t)nsec);
	*p++ = ',';
	p = put_u64(p, tin);
	*p++ = ',';
	p = put_u64(p, tout);
	*p++ = '\n';
	return p;
}

static inline bool record_ok(const struct traffic_record *rec)
{
	return (rec->direction == TM_DIR_IN || rec->direction == TM_DIR_OUT) &&
	       (rec->family == TM_AF_INET || rec->family == TM_AF_INET6);
}

size_t csv_format_row(char *buf, size_t len, const struct traffic_record *rec,
		      uint64_t total_in, uint64_t total_out)
{
	char tmp[CSV_ROW_MAX];
	size_t n;

	if (!record_ok(rec))
		return 0;
	n = put_row(tmp, rec, total_in, total_out) - tmp;
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

int csv_parse_totals(const char *line, size_t len, uint64_t *in, uint64_t *out)
{
	const char *f[7];
	size_t flen[7];
	size_t nf = 0, start = 0;
	uint64_t v, tin, tout;
	const char *dot;

	if (len && line[len - 1] == '\n')
		len--;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ',')
			continue;
		if (nf == 7)
			return -EINVAL;
		f[nf] = line + start;
		flen[nf++] = i - start;
		start = i + 1;
	}
	if (nf != 7)
		return -EINVAL;
	if (!(flen[0] == 2 && !memcmp(f[0], "in", 2)) && !(flen[0] == 3 && !memcmp(f[0], "out", 3)))
		return -EINVAL;
	if (!parse_u64(f[1], flen[1], &v) || !flen[2] || !flen[3])
		return -EINVAL;
	dot = memchr(f[4], '.', flen[4]);
	if (!dot || !parse_u64(f[4], dot - f[4], &v) || f[4] + flen[4] - dot - 1 != 9 ||
	    !parse_u64(dot + 1, 9, &v))
		return -EINVAL;
	if (!parse_u64(f[5], flen[5], &tin) || !parse_u64(f[6], flen[6], &tout))
		return -EINVAL;
	*in = tin;
	*out = tout;
	return 0;
}

/* ---- errors ------------------------------------------------------------------------------ */

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* "path: why"; a long path is cut, the message is for people. */
static void set_last_error(const struct csv_file *f, const char *why)
{
	snprintf(g.st.last_error, sizeof(g.st.last_error), "%s/traffic_user_%s_%u.log: %s", g.dir,
		 g.nic, f->uid, why);
}

/* err is a positive errno; why replaces strerror(err) when given. */
static void note_error(const struct csv_file *f, int err, const char *why)
{
	g.st.write_errors++;
	g.st.last_errno = err;
	g.st.healthy = 0;
	set_last_error(f, why ? why : strerror(err));
}

/* A remark that is not a failure: the file is written, but the user should know. */
static void note_remark(const struct csv_file *f, const char *why)
{
	set_last_error(f, why);
}

/* ---- files ------------------------------------------------------------------------------- */

/* Empty buf, then put back what must precede the next row. */
static void buf_reset(struct csv_file *f)
{
	f->used = 0;
	f->rows = 0;
	f->prefix = 0;
	if (f->torn) {
		/* Terminate the fragment so our next row starts on a line of its own. */
		f->buf[f->used++] = '\n';
		f->prefix = 1;
	} else if (!f->fsize) {
		memcpy(f->buf, CSV_HEADER, sizeof(CSV_HEADER) - 1);
		f->used = sizeof(CSV_HEADER) - 1;
		f->prefix = 1;
	}
}

static void file_set_totals(struct csv_file *f, uint64_t tin, uint64_t tout)
{
	f->tot[TM_DIR_IN] = f->ctot[TM_DIR_IN] = tin;
	f->tot[TM_DIR_OUT] = f->ctot[TM_DIR_OUT] = tout;
}

/*
 * Find where an existing file's totals stand. A last line without '\n' shorter than a row is a
 * row torn by a crash mid-write: it is truncated off, since it can never be completed and
 * carries no trustworthy totals (the row before it does). A longer unterminated tail, or a last
 * line that is not one of our rows, means the file is not ours: we leave its content alone,
 * start our totals at 0 after a line break, and say so in last_error.
 */
static int file_load_tail(struct csv_file *f, uint64_t size)
{
	char tail[CSV_TAIL];
	size_t n = size < CSV_TAIL ? size : CSV_TAIL;
	bool whole = n == size;		/* tail starts at the beginning of the file */
	uint64_t tin, tout;
	const char *nl, *line;
	size_t got = 0;

	file_set_totals(f, 0, 0);
	f->torn = false;
	f->fsize = size;
	while (got < n) {
		ssize_t r = pread(f->fd, tail + got, n - got, size - n + got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		got += r;
	}
	if (!n)
		return 0;
	if (tail[n - 1] != '\n') {
		size_t frag;

		nl = memrchr(tail, '\n', n);
		frag = nl ? (size_t)(tail + n - nl - 1) : n;
		if ((!nl && !whole) || frag >= CSV_ROW_MAX) {
			f->torn = true;
			note_remark(f, "not a tmtop log (long unterminated line); totals restart at 0");
			return 0;
		}
		if (ftruncate(f->fd, size - frag) == 0)
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
	if ((size_t)(tail + n - line) == sizeof(CSV_HEADER) - 1 &&
	    !memcmp(line, CSV_HEADER, sizeof(CSV_HEADER) - 1))
		return 0;
	if (csv_parse_totals(line, tail + n - line, &tin, &tout) < 0)
		goto foreign;
	file_set_totals(f, tin, tout);
	return 0;
foreign:
	note_remark(f, "last line is not a tmtop row; totals restart at 0");
	return 0;
}

static int open_name(const char *name, int extra)
{
	/*
	 * O_RDWR because the tail is read back; O_NONBLOCK so a FIFO planted at the path cannot
	 * hang the engine (cleared once fstat proved a regular file); O_NOFOLLOW refuses a
	 * symlink as the last component, and O_CREAT|O_EXCL never follows one either.
	 */
	return openat(g.dirfd, name, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
			  O_NONBLOCK | extra, 0600);
}

/*
 * Open (or create) f's file. On refusal the file stays closed, the error is counted once and
 * the next attempt waits RETRY_NS, so a hostile path costs one syscall burst a second.
 */
static int file_open(struct csv_file *f)
{
	char name[NAME_MAX + 1];
	const char *why = NULL;
	bool created = false;
	struct stat st;
	int64_t now = mono_ns();
	int err, fd;

	if (now < f->retry_ns)
		return -EAGAIN;
	snprintf(name, sizeof(name), "traffic_user_%s_%u.log", g.nic, f->uid);
	fd = open_name(name, 0);
	if (fd < 0 && errno == ENOENT) {
		/* O_EXCL tells us the file is our own creation (the owner check below needs it). */
		fd = open_name(name, O_CREAT | O_EXCL);
		if (fd >= 0)
			created = true;
		else if (errno == EEXIST)
			fd = open_name(name, 0);
	}
	if (fd < 0) {
		err = errno;
		if (err == ELOOP)
			why = "refused: is a symbolic link";
		goto refuse;
	}
	if (fstat(fd, &st) < 0) {
		err = errno;
		goto refuse_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		err = EINVAL;
		why = "refused: not a regular file";
		goto refuse_fd;
	}
	if (st.st_nlink != 1) {
		err = EMLINK;
		why = "refused: hard-linked file";
		goto refuse_fd;
	}
	/* A file someone else planted (e.g. world-readable, in /tmp) would leak our rows to them. */
	if (!created && st.st_uid != geteuid()) {
		err = EPERM;
		why = "refused: owned by another user";
		goto refuse_fd;
	}
	/* Two loggers appending to one file would interleave rows and break the totals. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno;
		if (err == EWOULDBLOCK)
			why = "refused: in use by another tmtop or traffic_meter_user";
		goto refuse_fd;
	}
	if (fcntl(fd, F_SETFL, O_APPEND) < 0) {
		err = errno;
		goto refuse_fd;
	}
	if (!f->buf) {
		f->buf = malloc(g.bufsz);
		if (!f->buf) {
			err = ENOMEM;
			goto refuse_fd;
		}
	}
	f->fd = fd;
	err = -file_load_tail(f, st.st_size);
	if (err) {
		f->fd = -1;
		goto refuse_fd;
	}
	f->retry_ns = 0;
	buf_reset(f);
	return 0;

refuse_fd:
	close(fd);
refuse:
	f->retry_ns = now + RETRY_NS;
	note_error(f, err, why);
	return -err;
}

/*
 * The write failed after `done` bytes of buf reached the file. Complete lines that made it are
 * kept (and their totals become the file's); a trailing fragment is truncated off so the file
 * still ends with '\n'. If even that fails, the file is marked torn and the next write starts
 * with '\n', sacrificing the fragment as one unparseable line rather than gluing our next row
 * onto it. Everything else in buf is dropped and the totals roll back to what the file holds.
 */
static void file_write_failed(struct csv_file *f, size_t done, int err)
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
		if (fstat(f->fd, &st) == 0 && (uint64_t)st.st_size == before + done &&
		    ftruncate(f->fd, f->fsize) == 0) {
			/* the fragment is gone */
		} else {
			f->torn = true;
		}
	}
	if (kept_rows) {
		/* The last kept line is a row, never the prefix: take its totals. */
		const char *end = f->buf + keep - 1;
		const char *start = memrchr(f->buf, '\n', end - f->buf);

		start = start ? start + 1 : f->buf;
		if (csv_parse_totals(start, end - start, &f->ctot[TM_DIR_IN], &f->ctot[TM_DIR_OUT]))
			f->torn = true;	/* cannot happen with our own rows; stay safe */
	}
	g.st.dropped += f->rows - kept_rows;
	f->tot[TM_DIR_IN] = f->ctot[TM_DIR_IN];
	f->tot[TM_DIR_OUT] = f->ctot[TM_DIR_OUT];
	note_error(f, err, NULL);
	buf_reset(f);
}

static int file_flush(struct csv_file *f)
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
		done += r;	/* a short write: retry the remainder */
	}
	if (err) {
		file_write_failed(f, done, err);
		return -err;
	}
	f->fsize += f->used;
	f->torn = false;
	f->ctot[TM_DIR_IN] = f->tot[TM_DIR_IN];
	f->ctot[TM_DIR_OUT] = f->tot[TM_DIR_OUT];
	g.st.healthy = 1;
	g.st.last_errno = 0;
	buf_reset(f);
	return 0;
}

static void file_free(struct csv_file *f)
{
	if (f->fd >= 0)
		close(f->fd);	/* closing also drops the flock */
	free(f->buf);
	free(f);
}

/* Flush every file; 0 or the last -errno. */
static int flush_all(void)
{
	struct csv_file *f, *tmp;
	int ret = 0, err;
	bool failed = false, wrote = false;

	HASH_ITER(hh, g.files, f, tmp) {
		if (f->fd < 0 || !f->rows)
			continue;
		wrote = true;
		err = file_flush(f);
		if (err) {
			ret = err;
			failed = true;
		}
	}
	/* One bad file in a pass keeps the whole backend unhealthy, whatever the order. */
	if (wrote)
		g.st.healthy = !failed;
	return ret;
}

static void free_all(void)
{
	struct csv_file *f, *tmp;

	HASH_ITER(hh, g.files, f, tmp) {
		HASH_DEL(g.files, f);
		file_free(f);
	}
	g.last = NULL;
}

/* ---- backend interface ------------------------------------------------------------------- */

static int csv_init(void *config)
{
	const struct backend_config *cfg = config;
	const char *nic;
	int err;

	if (g.active)
		return -EBUSY;
	if (!cfg || !cfg->log_dir || !*cfg->log_dir)
		return -EINVAL;
	nic = cfg->nic_id ? cfg->nic_id : "unknown";
	/* The label is part of a file name: a '/' would escape the log directory. */
	if (strchr(nic, '/'))
		return -EINVAL;
	if (strlen(nic) + sizeof("traffic_user__4294967295.log") > NAME_MAX + 1)
		return -ENAMETOOLONG;

	memset(&g.st, 0, sizeof(g.st));
	g.st.healthy = 1;
	g.dirfd = open(cfg->log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g.dirfd < 0)
		return -errno;
	if (faccessat(g.dirfd, ".", W_OK | X_OK, AT_EACCESS) < 0) {
		err = -errno;
		goto fail;
	}
	g.dir = strdup(cfg->log_dir);
	g.nic = strdup(nic);
	if (!g.dir || !g.nic) {
		err = -ENOMEM;
		goto fail;
	}
	g.bufsz = cfg->buffer_bytes ? cfg->buffer_bytes : CSV_DEFAULT_BUFFER;
	if (g.bufsz < CSV_MIN_BUFFER)
		g.bufsz = CSV_MIN_BUFFER;
	g.files = NULL;
	g.last = NULL;
	g.active = true;
	return 0;

fail:
	free(g.dir);
	free(g.nic);
	g.dir = g.nic = NULL;
	close(g.dirfd);
	g.dirfd = -1;
	return err;
}

static int csv_write(const struct traffic_record *rec)
{
	struct csv_file *f = g.last;
	int err;

	if (!g.active)
		return -EBADF;
	if (!record_ok(rec))
		return -EINVAL;
	g.st.records++;
	if (!f || f->uid != rec->uid) {
		HASH_FIND(hh, g.files, &rec->uid, sizeof(rec->uid), f);
		if (!f) {
			f = calloc(1, sizeof(*f));
			if (!f) {
				g.st.dropped++;
				return -ENOMEM;
			}
			f->uid = rec->uid;
			f->fd = -1;
			hash_oom = false;
			HASH_ADD(hh, g.files, uid, sizeof(f->uid), f);
			if (hash_oom) {
				free(f);
				g.st.dropped++;
				return -ENOMEM;
			}
		}
		g.last = f;
	}
	if (f->fd < 0) {
		err = file_open(f);
		if (err) {
			g.st.dropped++;
			return err;
		}
	}
	if (g.bufsz - f->used < CSV_ROW_MAX)
		file_flush(f);	/* on failure the rows are counted and dropped; keep going */
	f->tot[rec->direction] += rec->bytes;
	f->used = put_row(f->buf + f->used, rec, f->tot[TM_DIR_IN], f->tot[TM_DIR_OUT]) - f->buf;
	f->rows++;
	return 0;
}

static int csv_flush(void)
{
	if (!g.active)
		return 0;
	return flush_all();
}

static int csv_reopen(void)
{
	int ret;

	if (!g.active)
		return 0;
	/* Dropping the entries is enough: the next record per uid opens its path afresh. */
	ret = flush_all();
	free_all();
	return ret;
}

static void csv_close(void)
{
	if (!g.active)
		return;
	flush_all();
	free_all();
	close(g.dirfd);
	g.dirfd = -1;
	free(g.dir);
	free(g.nic);
	g.dir = g.nic = NULL;
	g.active = false;
}

static void csv_stats(struct backend_stats *out)
{
	*out = g.st;
}

const struct output_backend csv_backend = {
	.name = "csv",
	.init = csv_init,
	.write = csv_write,
	.close = csv_close,
	.flush = csv_flush,
	.reopen = csv_reopen,
	.stats = csv_stats,
};
