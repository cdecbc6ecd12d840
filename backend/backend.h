/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Output backends are objects: an ops table plus an instance that every call passes back
 * (htop's classes pass `this` the same way). The seed's init/write/close over global state
 * became open/write/close on an instance, plus flush, reopen, stats and describe. A new target
 * is one file implementing struct backend_ops and one entry in the registry (backend.c).
 *
 * Every call happens on the engine's thread, except stats() and describe(), which the engine
 * calls on that thread too and copies out; backends therefore need no locking.
 */
#ifndef BACKEND_H
#define BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "backend/record.h"

/* What every backend is configured with; each takes what applies to it. */
struct backend_config {
	const char *log_dir;		/* directory for the files */
	const char *nic_id;		/* label in file names */
	int dirfd;			/* log_dir opened by the caller (-1: open log_dir) */
	size_t buffer_bytes;		/* per-file write buffer; 0 = backend default */
	unsigned int max_open;		/* open files kept at most; 0 = backend default */
	uint64_t max_file_size;		/* rotate a file past this size; 0 = never */
	unsigned int max_files;		/* rotated files kept per log; 0 = default */
	uint64_t min_free;		/* stop writing below this many free bytes; 0 = no floor */
	unsigned int min_free_pct;	/* ... or below this percentage free; 0 = no floor */
	bool compress;			/* gzip the files (csv) */
	bool extended;			/* csv: the extended columns (proto ... cgroup) */
	unsigned int flow_interval_s;	/* flows: seconds per record interval; 0 = 60 */
	uint32_t reader_gid;		/* group that may read every file (the tmtop group); -1 none */
	bool owner_read;		/* a user may read the files of their own uid */
};

struct backend_stats {
	uint64_t records;		/* records accepted */
	uint64_t rows;			/* rows (or lines) that reached the files */
	uint64_t bytes;			/* bytes written to the files */
	uint64_t write_errors;		/* failed writes (disk full, I/O error, refused file) */
	uint64_t dropped;		/* records lost to those errors */
	uint64_t not_written;		/* records held back by a size or free-space limit */
	uint64_t rotations;		/* files rotated for --max-file-size */
	unsigned int open_files;	/* files open now */
	int last_errno;			/* errno of the most recent error, 0 when healthy */
	char last_error[256];		/* e.g. "/var/log/tmtop/traffic_user_lo_1000.log: No space left" */
	char remark[256];		/* not an error, but worth knowing (a file name taken, ...) */
	int healthy;			/* 1 when the last write or flush succeeded */
};

struct backend;

struct backend_ops {
	const char *name;
	/* A new instance from cfg; 0 or -errno with one line in err. */
	int (*open)(struct backend **out, const struct backend_config *cfg, char *err,
		    size_t errlen);
	int (*write)(struct backend *b, const struct traffic_record *rec);	/* buffered */
	int (*flush)(struct backend *b);	/* push buffered data to the OS; 0 or -errno */
	int (*reopen)(struct backend *b);	/* SIGHUP: reopen files (logrotate) */
	void (*tick)(struct backend *b, const struct timespec *now);	/* periodic; optional */
	/*
	 * The meter stops: no record follows, so write what is held back (the flows' open
	 * intervals) before the final stats are read. Optional; close() does it too.
	 */
	void (*finish)(struct backend *b);
	void (*stats)(struct backend *b, struct backend_stats *out);
	/* Where the output goes, for people: "/var/log/tmtop/traffic_user_lo_<uid>.log". */
	size_t (*describe)(struct backend *b, char *buf, size_t len);
	/*
	 * The file of one owner, if the backend keeps one per owner (for `tmtop log`): its path in
	 * buf and a read-only descriptor, or -errno. Only a file the backend itself wrote is
	 * opened, never whatever someone planted at its name.
	 */
	int (*owner_open)(struct backend *b, tm_owner_t owner, char *buf, size_t len);
	void (*close)(struct backend *b);	/* flush and release everything */
};

/* Every instance starts with this. */
struct backend {
	const struct backend_ops *ops;
};

/* NULL when no backend has that name. */
const struct backend_ops *backend_find(const char *name);

/* "csv, flows" for --help and errors. */
const char *backend_names(void);

extern const struct backend_ops csv_backend_ops;
extern const struct backend_ops flows_backend_ops;

#endif /* BACKEND_H */
