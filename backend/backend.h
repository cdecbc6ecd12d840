/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Output backends: the seed's three-function interface plus a name and optional flush,
 * reopen and stats. A new target is one file implementing this and one line in backend.c.
 */
#ifndef BACKEND_H
#define BACKEND_H

#include <stdint.h>
#include "meter/record.h"

/* What every backend is configured with; each takes what applies to it. */
struct backend_config {
	const char *log_dir;	/* directory for per-user files (csv) */
	const char *nic_id;	/* label in file names */
	size_t buffer_bytes;	/* per-file write buffer; 0 = backend default */
};

struct backend_stats {
	uint64_t records;	/* records accepted */
	uint64_t write_errors;	/* failed writes (disk full, I/O error, refused file) */
	uint64_t dropped;	/* records lost to those errors */
	int last_errno;		/* errno of the most recent error, 0 when healthy */
	char last_error[256];	/* e.g. "/tmp/traffic_user_lo_1000.log: No space left on device" */
	int healthy;		/* 1 when the last write or flush succeeded */
};

struct output_backend {
	const char *name;
	int  (*init)(void *config);	/* struct backend_config *; 0 or -errno */
	int  (*write)(const struct traffic_record *rec);	/* buffered; never blocks for long */
	void (*close)(void);		/* flush and release everything */
	int  (*flush)(void);		/* push buffered rows to the OS; optional */
	int  (*reopen)(void);		/* SIGHUP: reopen files (logrotate); optional */
	void (*stats)(struct backend_stats *out);	/* optional */
};

/* NULL when no backend has that name. */
const struct output_backend *backend_find(const char *name);

/* "csv, ..." for --help. */
const char *backend_names(void);

extern const struct output_backend csv_backend;

#endif /* BACKEND_H */
