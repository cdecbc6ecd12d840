/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What only the long-running meter does: serve viewers on a local socket (doc/PROTOCOL.md),
 * keep the history and the quotas, and export metrics. Who sees what is decided here, from the
 * peer's credentials (SO_PEERCRED, SO_PEERGROUPS): root and members of the tmtop group see
 * every user; anyone else sees only their own uid, and only root changes the ignore list.
 */
#ifndef SERVICE_SERVICE_H
#define SERVICE_SERVICE_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include "meter/cli.h"
#include "meter/engine.h"
#include "meter/startup.h"
#include "service/keeper.h"

#define SERVICE_MAX_CLIENTS	64	/* viewers at once; more are told so and closed */

enum service_opt {
	OPT_SOCKET = OPT__METER_END,
	OPT_NO_SOCKET,
	OPT_METRICS_LISTEN,
	OPT_METRICS_FILE,
	OPT_METRICS_MAX_USERS,
	OPT_METRICS_INTERVAL,
	OPT_QUOTA,
	OPT_QUOTA_COMMAND,
	OPT__SERVICE_END,
};

struct service_opts {
	const char *socket_path;
	bool no_socket;
	const char *metrics_listen;	/* ADDR:PORT, NULL = off */
	const char *metrics_file;	/* NULL = off */
	unsigned int metrics_max_users;
	unsigned int metrics_interval_s;	/* how often metrics_file is written */
	/* One line for the operator from a service thread (a metrics file that cannot be
	 * written, and when it can again); NULL: say nothing. */
	void (*report)(const char *line);
	struct keeper_opts keep;	/* history and quotas */
};

extern const struct option service_longopts[];
void service_defaults(struct service_opts *o);
/* 1 handled, 0 not ours, -EINVAL with err. */
int service_option(struct service_opts *o, int opt, const char *arg, char *err, size_t errlen);
void service_usage(FILE *out);

/*
 * traffic_meter_user's whole command line: the seed's letters (-d log dir, -i ignore file,
 * -o output, -v verbose, -Z user), the shared meter options, the service's, and the
 * positional [cgroup_path] [nic_id]. 0: run; 1: --help or --version was printed to out, exit
 * 0; -errno: err has one line (a bad option, or a cgroup that cannot be used).
 */
int service_parse(struct meter_cli *m, struct service_opts *so, int argc, char **argv,
		  FILE *out, char *err, size_t errlen);

struct service;

/* For meter_startup(): bind the socket and open what needs root, before the switch. */
struct service_start {
	const struct service_opts *opts;
	const struct meter_cli *cli;
	struct service **out;
};
int service_before_drop(void *ctx, struct meter_start *s, char *err, size_t errlen);

/* Start serving (after the switch). svc may be NULL (nothing to serve). 0 or -errno. */
int service_start(struct service *svc, struct engine *e, char *err, size_t errlen);
const char *service_path(const struct service *svc);
/* "http://127.0.0.1:9477/metrics" when --metrics-listen is on, else NULL. */
const char *service_metrics_url(const struct service *svc);

/* Stop the threads (the last history write included) and remove the socket; safe with NULL. */
void service_stop(struct service *svc);
void service_free(struct service *svc);

/* Is a process with these credentials trusted with everyone's traffic? */
bool service_trusted(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups, gid_t tmtop);

#endif /* SERVICE_SERVICE_H */
