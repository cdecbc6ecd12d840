/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where the screen's numbers come from. There are two sources with one interface: the
 * embedded engine (tmtop --standalone, root) and a client of the service socket (any user).
 * The screen, batch mode and their tests never know which one they read.
 */
#ifndef TUI_SOURCE_H
#define TUI_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include "meter/engine.h"
#include "meter/snapshot.h"
#include "service/keeper.h"
#include "service/report.h"

struct source;

struct source_ops {
	/* 0, or -errno with one line in err (the meter went away, ...). */
	int (*snapshot)(struct source *s, const struct snap_request *req, struct snapshot *out,
			char *err, size_t errlen);
	/* Ignore-list edits; the entry is named by index and prefix (the prefix guards
	 * against a list that changed under a remote viewer). */
	int (*ignore_add)(struct source *s, const struct ip_prefix *p, char *err, size_t errlen);
	int (*ignore_set)(struct source *s, size_t idx, const struct ip_prefix *p, bool on,
			  char *err, size_t errlen);
	int (*ignore_del)(struct source *s, size_t idx, const struct ip_prefix *p, char *err,
			  size_t errlen);
	/* The history as a report object (service/report.h); -errno with err. */
	int (*history)(struct source *s, const struct report_req *r, json_object **rep, char *err,
		       size_t errlen);
	void (*reopen)(struct source *s);	/* SIGHUP: reopen the logs (engine only) */
	void (*close)(struct source *s);
};

struct source {
	const struct source_ops *ops;
	bool attached;		/* a client of the service */
	bool all_users;		/* sees every user (root, the tmtop group, or standalone) */
	bool may_edit;		/* may change the ignore list */
	char describe[160];	/* "meter pid 123, up 2d 03:04:05" / "standalone" */
};

/* The embedded engine and its keeper (may be NULL: no history), neither owned. */
int source_engine_new(struct source **out, struct engine *e, struct keeper *k);

/* A client of the service at path: connects and says hello. -ENOENT/-ECONNREFUSED when no
 * meter answers there (err says so), other -errno for a meter that misbehaves. */
int source_client_new(struct source **out, const char *path, char *err, size_t errlen);

/* A read-only descriptor of the caller's own log (or owner's, when trusted), from the
 * service; -errno with err: -ENODATA when the file is not there yet (no row of that owner). */
int source_client_log(const char *path, const char *owner, int *fd, char *logpath,
		      size_t pathlen, char *err, size_t errlen);

#endif /* TUI_SOURCE_H */
