// SPDX-License-Identifier: GPL-2.0
/*
 * The socket server: one thread, poll() over the listening socket and the viewers, line-framed
 * JSON requests in, JSON answers out. Every viewer is a stranger until its credentials say
 * otherwise: its view is cut to its own uid before the snapshot is taken, its requests are rate
 * limited, its lines and its unread answers are bounded, and a viewer that breaks a rule is
 * told why and closed. Nothing a viewer does can reach the engine thread except a snapshot copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "meter/clock.h"
#include "meter/privdrop.h"
#include "meter/users.h"
#include "service/metrics.h"
#include "service/proto.h"
#include "service/report.h"
#include "service/service.h"

#define OUT_MAX		(32u << 20)	/* unread answers past this close the viewer */
/*
 * What strangers (viewers neither root nor in the tmtop group) may hold of the service, all of
 * them together: any local user can connect, and subordinate uids make one user many. A stranger
 * gets at most VIEWERS_PER_UID connections, strangers leave TRUSTED_SLOTS free for root and the
 * group, and their unread answers share STRANGER_OUT_MAX: a viewer whose answer would pass it
 * is closed like one past OUT_MAX. So strangers can neither lock the administrator out nor make
 * the service hold more than 64 MiB for them (plus 64 KiB of request buffer a slot).
 * Among themselves strangers share fairly: when their slots are full, a uid holding c of them
 * takes one from the uid holding the most, m, if m > c + 1 (its oldest viewer is told why and
 * closed), so one user hoarding slots cannot keep another from seeing their own traffic; only
 * as many distinct uids as there are slots can fill them.
 */
#define VIEWERS_PER_UID	8
#define TRUSTED_SLOTS	8
#define STRANGER_OUT_MAX (64u << 20)
#define OUT_KEEP	(64u << 10)	/* an answer buffer larger than this is freed once sent */
#define ACCEPT_PAUSE_MS	100		/* out of descriptors: the listener rests this long */
#define RATE_PER_S	20.0		/* requests a viewer may make per second ... */
#define RATE_BURST	40.0		/* ... and in one burst */
#define MAX_GROUPS	1024

struct client {
	int fd;				/* -1: free slot */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool trusted;			/* root or the tmtop group: every user */
	char *in;			/* PROTO_LINE_MAX + 1 */
	size_t inlen;
	char *out;
	size_t outlen, outoff, outcap;
	size_t *budget;			/* strangers: the service's stranger_out, else NULL */
	int pass_fd;			/* sent with the next answer (SCM_RIGHTS), -1 none */
	double tokens;
	uint64_t tok_ns;
	uint64_t serial;		/* order of arrival: the oldest of a uid yields first */
	bool closing;			/* close once the answer is out */
};

struct service {
	const struct service_opts *opts;
	int lfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int wake[2];			/* service_stop() writes here */
	pthread_t thread;
	bool started;
	struct engine *engine;
	gid_t tmtop_gid;		/* (gid_t)-1 when the group does not exist */
	struct metrics *metrics;	/* --metrics-listen, --metrics-file; NULL when off */
	struct keeper *keeper;		/* history and quotas; NULL without history */
	struct client clients[SERVICE_MAX_CLIENTS];
	size_t stranger_out;		/* answer buffers held for strangers, bytes */
	uint64_t accept_after_ns;	/* no accept() before (EMFILE) */
	uint64_t accepted;		/* viewers accepted so far: the next serial */
};

const struct option service_longopts[] = {
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "no-socket", no_argument, NULL, OPT_NO_SOCKET },
	{ "quota", required_argument, NULL, OPT_QUOTA },
	{ "quota-command", required_argument, NULL, OPT_QUOTA_COMMAND },
	/* service/metrics.c parses these */
	{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
	{ "metrics-file", required_argument, NULL, OPT_METRICS_FILE },
	{ "metrics-max-users", required_argument, NULL, OPT_METRICS_MAX_USERS },
	{ "metrics-interval", required_argument, NULL, OPT_METRICS_INTERVAL },
	{ 0 },
};

void service_defaults(struct service_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->socket_path = TM_DEFAULT_SOCKET;
	o->metrics_max_users = METRICS_DEFAULT_MAX_USERS;
	o->metrics_interval_s = METRICS_DEFAULT_INTERVAL_S;
}

int service_option(struct service_opts *o, int opt, const char *arg, char *err, size_t errlen)
{
	switch (opt) {
	case OPT_SOCKET:
		if (!*arg || strlen(arg) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(err, errlen, "bad --socket '%s': a path of 1 to %zu bytes", arg,
				 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return -EINVAL;
		}
		o->socket_path = arg;
		o->no_socket = false;
		return 1;
	case OPT_NO_SOCKET:
		o->no_socket = true;
		return 1;
	case OPT_QUOTA:
		if (o->keep.nquotas == KEEPER_MAX_QUOTAS) {
			snprintf(err, errlen, "too many --quota rules (at most %d)", KEEPER_MAX_QUOTAS);
			return -EINVAL;
		}
		if (quota_parse(arg, &o->keep.quotas[o->keep.nquotas], err, errlen))
			return -EINVAL;
		o->keep.nquotas++;
		return 1;
	case OPT_QUOTA_COMMAND:
		if (arg[0] != '/') {
			snprintf(err, errlen, "bad --quota-command '%s': an absolute path (it is run "
				 "without a shell, with the user, uid, period, bytes used, limit and "
				 "period start as arguments)", arg);
			return -EINVAL;
		}
		o->keep.quota_command = arg;
		return 1;
	default:
		return metrics_option(o, opt, arg, err, errlen);
	}
}

void service_usage(FILE *out)
{
	fprintf(out,
		"Serving viewers:\n"
		"      --socket PATH      answer tmtop and scripts here (default " TM_DEFAULT_SOCKET ")\n"
		"      --no-socket        serve no socket\n"
		"Quotas (accounting only: traffic is never blocked):\n"
		"      --quota WHO=SIZE/day|month  WHO a user, a uid, @group or *; repeatable, the\n"
		"                         most specific rule applies (e.g. alice=10G/month)\n"
		"      --quota-command PATH  run once per user and period when a quota is crossed,\n"
		"                         with: user uid period used limit period-start\n");
	metrics_usage(out);
}

#define LOGGER		"traffic_meter_user"
#define LOGGER_USAGE	LOGGER " [options] [cgroup_path] [nic_id]"

static void logger_usage(FILE *out)
{
	fprintf(out,
		"Usage: " LOGGER_USAGE "\n"
		"Meter every packet of a cgroup subtree per user: log it to per-user CSV files and\n"
		"answer tmtop viewers on a local socket. Runs until SIGINT or SIGTERM; SIGHUP reopens\n"
		"the log files.\n\n"
		"  cgroup_path            cgroup v2 directory to watch (default: <cgroup2 mount>/user.slice,\n"
		"                         else the cgroup v2 root; \"\" means the default)\n"
		"  nic_id                 label used in log file names (default: unknown; it does not filter)\n\n");
	cli_meter_usage(out, true);
	service_usage(out);
	fprintf(out, "  -h, --help             show this help\n"
		     "  -V, --version          show the version\n");
}

int service_parse(struct meter_cli *m, struct service_opts *so, int argc, char **argv,
		  FILE *out, char *err, size_t errlen)
{
	static struct option longopts[64];
	size_t n = 0;
	int opt, ret;

	for (const struct option *o = cli_meter_longopts; o->name; o++)
		longopts[n++] = *o;
	for (const struct option *o = service_longopts; o->name; o++)
		longopts[n++] = *o;
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n++] = (struct option){ "version", no_argument, NULL, 'V' };
	longopts[n] = (struct option){ 0 };

	cli_meter_defaults(m);
	service_defaults(so);
	optind = 0;	/* a full restart of getopt, as tmtop_parse() does */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":d:i:o:vhVZ:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': opt = OPT_LOG_DIR; break;
		case 'i': opt = OPT_IGNORE_FILE; break;
		case 'o': opt = OPT_OUTPUT; break;
		case 'v': opt = OPT_VERBOSE; break;
		case 'Z': opt = OPT_RUN_AS; break;
		case 'h':
			logger_usage(out);
			return 1;
		case 'V':
			fprintf(out, LOGGER " %s\n", TM_VERSION);
			return 1;
		case ':':
			snprintf(err, errlen, "option '%s' needs an argument", argv[optind - 1]);
			return -EINVAL;
		case '?':
			if (optopt && optopt < 0x100)
				snprintf(err, errlen, "unknown option '-%c' (see --help)", optopt);
			else
				snprintf(err, errlen, "unknown option '%s' (see --help)",
					 argv[optind - 1]);
			return -EINVAL;
		}
		ret = cli_meter_option(m, opt, optarg, err, errlen);
		if (!ret)
			ret = service_option(so, opt, optarg, err, errlen);
		if (ret < 0)
			return ret;
	}
	ret = cli_meter_positional(m, argc, argv, optind, LOGGER_USAGE, "--iface", err, errlen);
	if (ret)
		return ret;
	if (so->keep.nquotas && m->no_history) {
		/* quotas are counted in the history: without it they would never fire */
		snprintf(err, errlen, "--quota needs the history database: it cannot be used with "
			 "--no-history");
		return -EINVAL;
	}
	keeper_opts_from_cli(m, &so->keep);
	return 0;
}

bool service_trusted(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups, gid_t tmtop)
{
	if (uid == 0)
		return true;
	if (tmtop == (gid_t)-1)
		return false;
	if (gid == tmtop)
		return true;
	for (size_t i = 0; i < ngroups; i++)
		if (groups[i] == tmtop)
			return true;
	return false;
}

/* ---- the socket -------------------------------------------------------------------------- */

/* Someone answers on path: another meter is running there. */
static bool path_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return live;
}

static int bind_socket(struct service *svc, const struct run_as *run, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[PATH_MAX], *slash;
	bool own_dir = !strcmp(svc->opts->socket_path, TM_DEFAULT_SOCKET);
	struct stat st;
	mode_t old;
	int ret;

	snprintf(svc->path, sizeof(svc->path), "%s", svc->opts->socket_path);
	snprintf(dir, sizeof(dir), "%s", svc->path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir && geteuid() == 0) {
		*slash = '\0';
		/*
		 * Made (or taken back) as root's first and handed to the meter's user only once
		 * the socket is bound: binding in a directory root does not own would need
		 * CAP_DAC_OVERRIDE, which the service unit does not grant.
		 */
		ret = privdrop_make_dir(dir, 0, (gid_t)-1, 0755, own_dir);
		if (ret < 0) {
			snprintf(err, errlen, "cannot create %s for the socket: %s", dir,
				 strerror(-ret));
			return ret;
		}
		own_dir |= ret > 0;
	} else {
		own_dir = false;
	}
	if (!lstat(svc->path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket: not touching it",
				 svc->path);
			return -EEXIST;
		}
		if (path_answers(svc->path)) {
			snprintf(err, errlen, "another meter already answers on %s (stop it, or use "
				 "--socket PATH)", svc->path);
			return -EADDRINUSE;
		}
		unlink(svc->path);	/* a meter that died without cleaning up */
	}
	svc->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (svc->lfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot make a socket: %s", strerror(errno));
		return ret;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", svc->path);
	/* Anyone may connect; what they get is decided per connection from their credentials. */
	old = umask(0111);
	ret = bind(svc->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret || listen(svc->lfd, 64)) {
		ret = -errno;
		snprintf(err, errlen, "cannot serve %s: %s", svc->path, strerror(errno));
		close(svc->lfd);
		svc->lfd = -1;
		return ret;
	}
	/* Our own run directory: the meter's user may remove the socket when it stops. */
	if (own_dir) {
		ret = privdrop_make_dir(dir, run->switch_uid ? run->uid : 0,
					run->switch_uid ? run->gid : 0, 0755, true);
		if (ret < 0) {
			snprintf(err, errlen, "cannot give %s to user %s: %s", dir, run->name,
				 strerror(-ret));
			close(svc->lfd);
			svc->lfd = -1;
			unlink(svc->path);
			return ret;
		}
	}
	return 0;
}

int service_before_drop(void *ctx, struct meter_start *s, char *err, size_t errlen)
{
	struct service_start *st = ctx;
	struct service *svc;
	int ret;

	*st->out = NULL;
	svc = calloc(1, sizeof(*svc));
	if (!svc) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	svc->opts = st->opts;
	svc->lfd = -1;
	svc->wake[0] = svc->wake[1] = -1;
	svc->tmtop_gid = s->group;
	for (int i = 0; i < SERVICE_MAX_CLIENTS; i++)
		svc->clients[i].fd = -1;
	if (pipe2(svc->wake, O_CLOEXEC | O_NONBLOCK)) {
		ret = -errno;
		snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
		goto fail;
	}
	if (!st->opts->no_socket) {
		ret = bind_socket(svc, &s->run, err, errlen);
		if (ret)
			goto fail;
	}
	ret = metrics_open(&svc->metrics, st->opts, err, errlen);
	if (ret)
		goto fail;
	ret = keeper_prepare(&st->opts->keep, s->run.switch_uid ? s->run.uid : 0,
			     s->run.switch_uid ? s->run.gid : 0, err, errlen);
	if (ret)
		goto fail;
	*st->out = svc;
	return 0;
fail:
	service_free(svc);
	return ret;
}

const char *service_path(const struct service *svc)
{
	return svc && svc->lfd >= 0 ? svc->path : NULL;
}

const char *service_metrics_url(const struct service *svc)
{
	return svc ? metrics_url(svc->metrics) : NULL;
}

/* ---- viewers ----------------------------------------------------------------------------- */

static void client_close(struct client *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	if (c->pass_fd >= 0)
		close(c->pass_fd);
	free(c->in);
	free(c->out);
	if (c->budget)
		*c->budget -= c->outcap;
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->pass_fd = -1;
}

static int queue(struct client *c, const char *s, size_t n)
{
	if (c->outlen + n > OUT_MAX)
		return -ENOBUFS;
	if (c->outlen + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;
		char *p;

		while (cap < c->outlen + n)
			cap *= 2;
		if (c->budget && *c->budget - c->outcap + cap > STRANGER_OUT_MAX)
			return -ENOBUFS;
		p = realloc(c->out, cap);
		if (!p)
			return -ENOMEM;
		if (c->budget)
			*c->budget += cap - c->outcap;
		c->out = p;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, s, n);
	c->outlen += n;
	return 0;
}

static void reply(struct client *c, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);

	if (queue(c, s, strlen(s)) || queue(c, "\n", 1))
		c->closing = true;	/* it does not read what it asks for */
	json_object_put(o);
}

static json_object *answer(bool ok)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "v", json_object_new_int(PROTO_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	return o;
}

static void reply_error(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reply_error(struct client *c, const char *fmt, ...)
{
	json_object *o = answer(false);
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", proto_text(msg, strlen(msg)));
	reply(c, o);
}

static bool get_owner_arg(json_object *req, const char *key, tm_owner_t *out)
{
	json_object *j;

	if (!json_object_object_get_ex(req, key, &j) || !j)
		return false;
	if (json_object_is_type(j, json_type_int)) {
		int64_t v = json_object_get_int64(j);

		if (v < 0 || v >= 0xffffffffLL)
			return false;
		*out = (tm_owner_t)v;
		return true;
	}
	return json_object_is_type(j, json_type_string) &&
	       !owner_lookup(json_object_get_string(j), out);
}

static void cmd_hello(struct service *svc, struct client *c, json_object *req)
{
	json_object *o = answer(true);

	json_object_object_add(o, "server", json_object_new_string("traffic_meter_user"));
	json_object_object_add(o, "version", json_object_new_string(TM_VERSION));
	json_object_object_add(o, "protocol", json_object_new_int(PROTO_VERSION));
	json_object_object_add(o, "access", json_object_new_string(c->trusted ? "all" : "own"));
	json_object_object_add(o, "may_edit", json_object_new_boolean(c->uid == 0));
	json_object_object_add(o, "uid", json_object_new_int64(c->uid));
	reply(c, o);
}

static void cmd_snapshot(struct service *svc, struct client *c, json_object *req)
{
	struct snap_request r = { 0 };
	struct snapshot s;
	json_object *o, *j;
	tm_owner_t who;
	int ret;

	if (!c->trusted) {
		r.restrict_owner = true;
		r.owner = c->uid;
	}
	if (json_object_object_get_ex(req, "peers_of", &j) && json_object_is_type(j, json_type_string) &&
	    !strcmp(json_object_get_string(j), "*")) {
		/* everyone's peers; a restricted viewer gets its own */
		r.all_peers = c->trusted;
		r.peers = !c->trusted;
		r.peers_of = c->uid;
	} else if (get_owner_arg(req, "peers_of", &who)) {
		r.peers = true;
		r.peers_of = who;
	}
	if (json_object_object_get_ex(req, "processes", &j) && j) {
		r.procs = true;
		if (get_owner_arg(req, "processes", &who)) {
			r.procs_one = true;
			r.procs_of = who;
		}
	}
	if (json_object_object_get_ex(req, "connections", &j) && j &&
	    get_owner_arg(j, "owner", &who)) {
		json_object *p;

		r.conns = true;
		r.conns_owner = who;
		if (json_object_object_get_ex(j, "pid", &p))
			r.conns_tgid = (uint32_t)json_object_get_int64(p);
	}
	ret = engine_snapshot(svc->engine, &r, &s);
	if (ret) {
		reply_error(c, "snapshot failed: %s", strerror(-ret));
		return;
	}
	keeper_decorate(svc->keeper, &s);
	o = answer(true);
	/* Names are looked up here, on the server's thread: a slow name service never holds
	 * up the engine, only this answer. */
	json_object_object_add(o, "snapshot", proto_snapshot_to_json(&s, true));
	snapshot_free(&s);
	reply(c, o);
}

/* The index of an ignore entry, by "index" or by "prefix". */
static int ignore_index(struct service *svc, json_object *req, size_t *idx, char *why,
			size_t whylen)
{
	struct snap_request r = { 0 };
	struct ip_prefix p;
	struct snapshot s;
	json_object *j;
	int ret = -ENOENT;

	if (json_object_object_get_ex(req, "index", &j) && json_object_is_type(j, json_type_int)) {
		int64_t v = json_object_get_int64(j);

		if (v < 0) {
			snprintf(why, whylen, "bad index");
			return -EINVAL;
		}
		*idx = (size_t)v;
		return 0;
	}
	if (!json_object_object_get_ex(req, "prefix", &j) ||
	    !json_object_is_type(j, json_type_string) ||
	    iplist_parse_entry(json_object_get_string(j), &p, why, whylen)) {
		if (!why[0])
			snprintf(why, whylen, "give \"index\" or \"prefix\"");
		return -EINVAL;
	}
	if (engine_snapshot(svc->engine, &r, &s))
		return -ENOMEM;
	for (size_t i = 0; i < s.nignore; i++) {
		if (s.ignore[i].p.family == p.family && s.ignore[i].p.len == p.len &&
		    !memcmp(s.ignore[i].p.addr, p.addr, 16)) {
			*idx = i;
			ret = 0;
			break;
		}
	}
	snapshot_free(&s);
	if (ret)
		snprintf(why, whylen, "no such entry in the ignore list");
	return ret;
}

static void cmd_ignore(struct service *svc, struct client *c, json_object *req, const char *cmd)
{
	char why[160] = "";
	json_object *j;
	size_t idx;
	int ret;

	if (c->uid != 0) {
		reply_error(c, "only root may change the ignore list");
		return;
	}
	if (!strcmp(cmd, "ignore-add")) {
		struct ip_prefix p;

		if (!json_object_object_get_ex(req, "prefix", &j) ||
		    !json_object_is_type(j, json_type_string)) {
			reply_error(c, "ignore-add needs \"prefix\"");
			return;
		}
		if (iplist_parse_entry(json_object_get_string(j), &p, why, sizeof(why))) {
			reply_error(c, "not added: %s", why);
			return;
		}
		ret = engine_ignore_add(svc->engine, &p);
	} else {
		ret = ignore_index(svc, req, &idx, why, sizeof(why));
		if (ret) {
			reply_error(c, "%s: %s", cmd, why[0] ? why : strerror(-ret));
			return;
		}
		if (!strcmp(cmd, "ignore-del")) {
			ret = engine_ignore_del(svc->engine, idx);
		} else {
			bool on = true;

			if (json_object_object_get_ex(req, "on", &j))
				on = json_object_get_boolean(j);
			ret = engine_ignore_set(svc->engine, idx, on);
		}
	}
	if (ret == -EEXIST)
		reply_error(c, "already in the ignore list");
	else if (ret)
		reply_error(c, "%s failed: %s", cmd, strerror(-ret));
	else
		reply(c, answer(true));
}

/* A read-only descriptor of the caller's own log file, passed over the socket. */
static void cmd_log(struct service *svc, struct client *c, json_object *req)
{
	tm_owner_t who = c->uid;
	char path[PATH_MAX];
	json_object *o;
	int fd;

	if (get_owner_arg(req, "owner", &who) && who != c->uid && !c->trusted) {
		reply_error(c, "you may read only your own log");
		return;
	}
	fd = engine_owner_open(svc->engine, who, path, sizeof(path));
	if (fd == -EPERM) {
		reply_error(c, "%s: not a log this meter wrote (something else holds the name)",
			    path);
		return;
	}
	if (fd == -ENOENT && path[0]) {
		char msg[PATH_MAX + 32];

		/* "missing": the file may come with the owner's first row (tmtop log -f waits) */
		o = answer(false);
		snprintf(msg, sizeof(msg), "%s: no log file yet", path);
		json_object_object_add(o, "error", proto_text(msg, strlen(msg)));
		json_object_object_add(o, "missing", json_object_new_boolean(true));
		reply(c, o);
		return;
	}
	if (fd < 0) {
		reply_error(c, "no log file: %s", strerror(-fd));
		return;
	}
	if (c->pass_fd >= 0)
		close(c->pass_fd);
	c->pass_fd = fd;
	o = answer(true);
	json_object_object_add(o, "path", proto_text(path, strlen(path)));
	reply(c, o);
}

/* History, as a report (service/report.h): a stranger gets its own uid's only. */
static void cmd_history(struct service *svc, struct client *c, json_object *req)
{
	struct history *h = keeper_history(svc->keeper);
	struct report_req r = { .period = HIST_DAY };
	char err[200];
	json_object *j, *o, *rep;

	if (!h) {
		reply_error(c, "this meter keeps no history (started with --no-history)");
		return;
	}
	if (json_object_object_get_ex(req, "period", &j) &&
	    report_period_parse(json_object_get_string(j), &r.period)) {
		reply_error(c, "bad period: use 5min, hour, day, month or year");
		return;
	}
	if (json_object_object_get_ex(req, "since", &j))
		r.since = json_object_get_int64(j);
	if (json_object_object_get_ex(req, "until", &j))
		r.until = json_object_get_int64(j);
	if (json_object_object_get_ex(req, "top", &j)) {
		int64_t v = json_object_get_int64(j);

		r.top = v > 0 && v < 100000 ? (size_t)v : 0;
	}
	r.one = get_owner_arg(req, "owner", &r.owner);
	if (!c->trusted) {
		if (r.one && r.owner != c->uid) {
			reply_error(c, "you may read only your own history");
			return;
		}
		r.one = true;
		r.owner = c->uid;
	}
	r.quotas = svc->opts->keep.quotas;
	r.nquotas = svc->opts->keep.nquotas;
	rep = report_build(h, &r, true, err, sizeof(err));
	if (!rep) {
		reply_error(c, "%s", err);
		return;
	}
	o = answer(true);
	json_object_object_add(o, "history", rep);
	reply(c, o);
}

static bool rate_ok(struct client *c)
{
	uint64_t now = tm_now_ns();

	c->tokens += (double)(now - c->tok_ns) / 1e9 * RATE_PER_S;
	if (c->tokens > RATE_BURST)
		c->tokens = RATE_BURST;
	c->tok_ns = now;
	if (c->tokens < 1)
		return false;
	c->tokens -= 1;
	return true;
}

static void handle_line(struct service *svc, struct client *c, const char *line, size_t len)
{
	char err[200];
	json_object *req, *j;
	const char *cmd;

	if (!rate_ok(c)) {
		reply_error(c, "too many requests: at most %.0f a second", RATE_PER_S);
		return;
	}
	req = proto_parse_request(line, len, err, sizeof(err));
	if (!req) {
		reply_error(c, "%s", err);
		return;
	}
	if (json_object_object_get_ex(req, "v", &j) &&
	    (!json_object_is_type(j, json_type_int) || json_object_get_int64(j) != PROTO_VERSION))
		reply_error(c, "protocol version %s is not spoken here (this meter speaks %d)",
			    json_object_to_json_string(j), PROTO_VERSION);
	else if (!json_object_object_get_ex(req, "cmd", &j) ||
		 !json_object_is_type(j, json_type_string))
		reply_error(c, "a request needs \"cmd\": hello, snapshot, history, ignore-add, "
			    "ignore-set, ignore-del or log");
	else if (!strcmp(cmd = json_object_get_string(j), "hello"))
		cmd_hello(svc, c, req);
	else if (!strcmp(cmd, "snapshot"))
		cmd_snapshot(svc, c, req);
	else if (!strcmp(cmd, "ignore-add") || !strcmp(cmd, "ignore-set") ||
		 !strcmp(cmd, "ignore-del"))
		cmd_ignore(svc, c, req, cmd);
	else if (!strcmp(cmd, "log"))
		cmd_log(svc, c, req);
	else if (!strcmp(cmd, "history"))
		cmd_history(svc, c, req);
	else
		reply_error(c, "unknown cmd '%.40s'", cmd);
	json_object_put(req);
}

static void client_read(struct service *svc, struct client *c)
{
	ssize_t n = read(c->fd, c->in + c->inlen, PROTO_LINE_MAX - c->inlen);
	char *nl, *start;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			client_close(c);
		return;
	}
	c->inlen += (size_t)n;
	start = c->in;
	while (!c->closing && (nl = memchr(start, '\n', c->inlen - (size_t)(start - c->in)))) {
		handle_line(svc, c, start, (size_t)(nl - start));
		start = nl + 1;
	}
	c->inlen -= (size_t)(start - c->in);
	memmove(c->in, start, c->inlen);
	if (c->inlen == PROTO_LINE_MAX) {
		reply_error(c, "request line longer than %d bytes", PROTO_LINE_MAX);
		c->closing = true;
		c->inlen = 0;
	}
}

static void client_write(struct client *c)
{
	while (c->outoff < c->outlen) {
		struct iovec iov = { c->out + c->outoff, c->outlen - c->outoff };
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (c->pass_fd >= 0) {
			struct cmsghdr *cm;

			memset(cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &c->pass_fd, sizeof(int));
		}
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				client_close(c);
			return;
		}
		if (c->pass_fd >= 0) {
			close(c->pass_fd);
			c->pass_fd = -1;
		}
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
	if (c->outcap > OUT_KEEP) {
		/* a big answer went out: its buffer need not stay for the small ones */
		free(c->out);
		c->out = NULL;
		if (c->budget)
			*c->budget -= c->outcap;
		c->outcap = 0;
	}
	if (c->closing)
		client_close(c);
}

static void refuse(int fd, const char *why)
{
	char line[160];
	int n = snprintf(line, sizeof(line), "{\"v\":1,\"ok\":false,\"error\":\"%s\"}\n", why);

	/* best effort: the viewer is closed whatever write() says */
	(void)!write(fd, line, (size_t)n);
	close(fd);
}

/*
 * Strangers' slots are full and a stranger holding `mine` of them asks for one. Among the uids
 * holding the most, when that is more than mine + 1, the oldest viewer is told why and closed,
 * and its slot returned; NULL when sharing is already fair.
 */
static struct client *fair_share(struct service *svc, int mine)
{
	static const char why[] = "{\"v\":1,\"ok\":false,\"error\":\"closed: another user "
		"needed a viewer slot (users who are not root or in the tmtop group share them "
		"fairly)\"}\n";
	struct client *victim = NULL;
	int most = 0;

	for (int i = 0; i < SERVICE_MAX_CLIENTS; i++) {
		struct client *a = &svc->clients[i];
		int n = 0;

		if (a->fd < 0 || a->trusted)
			continue;
		for (int j = 0; j < SERVICE_MAX_CLIENTS; j++) {
			const struct client *b = &svc->clients[j];

			n += b->fd >= 0 && !b->trusted && b->uid == a->uid;
		}
		if (n > most || (n == most && a->serial < victim->serial)) {
			most = n;
			victim = a;
		}
	}
	if (!victim || most <= mine + 1)
		return NULL;
	/* best effort, like refuse(): an answer it was still reading is cut short */
	(void)!write(victim->fd, why, sizeof(why) - 1);
	client_close(victim);
	return victim;
}

static void client_accept(struct service *svc)
{
	gid_t groups[MAX_GROUPS];
	socklen_t glen = sizeof(groups), len = sizeof(struct ucred);
	struct ucred cred;
	struct client *c = NULL;
	int fd = accept4(svc->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int strangers = 0, same_uid = 0;
	bool trusted;

	if (fd < 0) {
		/* The connection stays queued and poll() would report it at once, forever. */
		if (errno == EMFILE || errno == ENFILE)
			svc->accept_after_ns = tm_now_ns() + ACCEPT_PAUSE_MS * 1000000ULL;
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		close(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen))
		glen = 0;	/* more groups than we ask for: trust by uid and gid only */
	trusted = service_trusted(cred.uid, cred.gid, groups, glen / sizeof(gid_t),
				  svc->tmtop_gid);
	for (int i = 0; i < SERVICE_MAX_CLIENTS; i++) {
		struct client *o = &svc->clients[i];

		if (o->fd < 0) {
			if (!c)
				c = o;
			continue;
		}
		if (!o->trusted) {
			strangers++;
			same_uid += o->uid == cred.uid;
		}
	}
	if (!trusted && same_uid >= VIEWERS_PER_UID) {
		refuse(fd, "too many viewers of this user");
		return;
	}
	if (!trusted && strangers >= SERVICE_MAX_CLIENTS - TRUSTED_SLOTS) {
		c = fair_share(svc, same_uid);
		if (!c) {
			refuse(fd, "too many viewers");
			return;
		}
	}
	if (!c) {
		refuse(fd, "too many viewers");
		return;
	}
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->pass_fd = -1;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->pid = cred.pid;
	c->trusted = trusted;
	c->budget = trusted ? NULL : &svc->stranger_out;
	c->tokens = RATE_BURST;
	c->tok_ns = tm_now_ns();
	c->serial = svc->accepted++;
	c->in = malloc(PROTO_LINE_MAX + 1);
	if (!c->in)
		client_close(c);
}

static void *serve(void *arg)
{
	struct service *svc = arg;
	struct pollfd pfd[SERVICE_MAX_CLIENTS + 2];
	int map[SERVICE_MAX_CLIENTS + 2];
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		uint64_t now = tm_now_ns();
		int timeout = -1;
		nfds_t n = 0;

		pfd[n++] = (struct pollfd){ .fd = svc->wake[0], .events = POLLIN };
		if (svc->lfd >= 0 && now >= svc->accept_after_ns)
			pfd[n++] = (struct pollfd){ .fd = svc->lfd, .events = POLLIN };
		else if (svc->lfd >= 0)
			timeout = (int)((svc->accept_after_ns - now) / 1000000ULL) + 1;
		for (int i = 0; i < SERVICE_MAX_CLIENTS; i++) {
			struct client *c = &svc->clients[i];

			if (c->fd < 0)
				continue;
			map[n] = i;
			pfd[n++] = (struct pollfd){ .fd = c->fd, .events =
				(c->closing ? 0 : POLLIN) | (c->outlen ? POLLOUT : 0) };
		}
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		for (nfds_t k = 1; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			if (pfd[k].fd == svc->lfd) {
				client_accept(svc);
				continue;
			}
			struct client *c = &svc->clients[map[k]];

			if (pfd[k].revents & POLLIN)
				client_read(svc, c);
			if (c->fd >= 0 && c->outlen)
				client_write(c);
			if (c->fd >= 0 && (pfd[k].revents & (POLLHUP | POLLERR)) && !c->outlen &&
			    !(pfd[k].revents & POLLIN))
				client_close(c);
		}
	}
	return NULL;
}

int service_start(struct service *svc, struct engine *e, char *err, size_t errlen)
{
	int ret;

	if (!svc)
		return 0;
	svc->engine = e;
	ret = keeper_start(&svc->keeper, &svc->opts->keep, e, err, errlen);
	if (ret)
		return ret;
	ret = metrics_start(svc->metrics, e, err, errlen);
	if (ret)
		return ret;
	ret = -pthread_create(&svc->thread, NULL, serve, svc);
	if (ret) {
		snprintf(err, errlen, "cannot start the service thread: %s", strerror(-ret));
		return ret;
	}
	svc->started = true;
	return 0;
}

void service_stop(struct service *svc)
{
	if (!svc)
		return;
	metrics_stop(svc->metrics);
	if (svc->started) {
		/* the pipe is ours and empty: it cannot fail short of EBADF */
		(void)!write(svc->wake[1], "x", 1);
		pthread_join(svc->thread, NULL);
		svc->started = false;
	}
	for (int i = 0; i < SERVICE_MAX_CLIENTS; i++)
		client_close(&svc->clients[i]);
	keeper_stop(svc->keeper);	/* the last history write */
	svc->keeper = NULL;
	if (svc->lfd >= 0) {
		close(svc->lfd);
		svc->lfd = -1;
		unlink(svc->path);	/* may fail after the switch if the directory is root's */
	}
}

void service_free(struct service *svc)
{
	if (!svc)
		return;
	service_stop(svc);
	metrics_free(svc->metrics);
	if (svc->wake[0] >= 0)
		close(svc->wake[0]);
	if (svc->wake[1] >= 0)
		close(svc->wake[1]);
	free(svc);
}
