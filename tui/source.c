// SPDX-License-Identifier: GPL-2.0
/* The two sources: the embedded engine, and a client of the service socket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "meter/iplist.h"
#include "meter/users.h"
#include "service/client.h"
#include "service/proto.h"
#include "tui/source.h"

#define CALL_MS 5000		/* a meter that does not answer in this time is broken */

/* ---- the embedded engine ----------------------------------------------------------------- */

struct engine_source {
	struct source base;
	struct engine *e;
	struct keeper *k;
};

static int es_snapshot(struct source *s, const struct snap_request *req, struct snapshot *out,
		       char *err, size_t errlen)
{
	struct engine_source *es = (struct engine_source *)s;
	int ret = engine_snapshot(es->e, req, out);

	if (ret)
		snprintf(err, errlen, "snapshot: %s", strerror(-ret));
	else
		keeper_decorate(es->k, out);
	return ret;
}

static int es_history(struct source *s, const struct report_req *r, json_object **rep,
		      char *err, size_t errlen)
{
	struct history *h = keeper_history(((struct engine_source *)s)->k);

	*rep = NULL;
	if (!h) {
		snprintf(err, errlen, "no history kept (--no-history)");
		return -ENOENT;
	}
	*rep = report_build(h, r, true, err, errlen);
	return *rep ? 0 : -EIO;
}

static int es_ignore_add(struct source *s, const struct ip_prefix *p, char *err, size_t errlen)
{
	int ret = engine_ignore_add(((struct engine_source *)s)->e, p);

	if (ret)
		snprintf(err, errlen, "%s", ret == -EEXIST ? "already in the list" : strerror(-ret));
	return ret;
}

static int es_ignore_set(struct source *s, size_t idx, const struct ip_prefix *p, bool on,
			 char *err, size_t errlen)
{
	int ret = engine_ignore_set(((struct engine_source *)s)->e, idx, on);

	if (ret)
		snprintf(err, errlen, "%s", strerror(-ret));
	return ret;
}

static int es_ignore_del(struct source *s, size_t idx, const struct ip_prefix *p, char *err,
			 size_t errlen)
{
	int ret = engine_ignore_del(((struct engine_source *)s)->e, idx);

	if (ret)
		snprintf(err, errlen, "%s", strerror(-ret));
	return ret;
}

static void es_reopen(struct source *s)
{
	engine_request_reopen(((struct engine_source *)s)->e);
}

static void es_close(struct source *s)
{
	free(s);
}

static const struct source_ops engine_ops = {
	.snapshot = es_snapshot,
	.ignore_add = es_ignore_add,
	.ignore_set = es_ignore_set,
	.ignore_del = es_ignore_del,
	.history = es_history,
	.reopen = es_reopen,
	.close = es_close,
};

int source_engine_new(struct source **out, struct engine *e, struct keeper *k)
{
	struct engine_source *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->base.ops = &engine_ops;
	s->base.all_users = true;
	s->base.may_edit = true;
	snprintf(s->base.describe, sizeof(s->base.describe), "standalone (pid %d)", getpid());
	s->e = e;
	s->k = k;
	*out = &s->base;
	return 0;
}

/* ---- a client of the service ------------------------------------------------------------- */

struct client_source {
	struct source base;
	struct client_conn *conn;
};

static json_object *request(const char *cmd)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "v", json_object_new_int(PROTO_VERSION));
	json_object_object_add(o, "cmd", json_object_new_string(cmd));
	return o;
}

/* Send, wait, check "ok"; *resp is kept only when asked for. */
static int call(struct client_source *cs, json_object *req, json_object **resp, char *err,
		size_t errlen)
{
	json_object *r = NULL, *j;
	int ret = client_call(cs->conn, req, &r, NULL, CALL_MS, err, errlen);

	json_object_put(req);
	if (ret)
		return ret;
	if (!json_object_object_get_ex(r, "ok", &j) || !json_object_get_boolean(j)) {
		snprintf(err, errlen, "%s", client_error(r)[0] ? client_error(r) :
			 "the meter refused");
		json_object_put(r);
		return -EPERM;
	}
	if (resp)
		*resp = r;
	else
		json_object_put(r);
	return 0;
}

static void put_owner_arg(json_object *o, const char *key, tm_owner_t owner)
{
	char tok[OWNER_TOKEN_LEN];

	json_object_object_add(o, key, json_object_new_string(owner_token(owner, tok,
									   sizeof(tok))));
}

static int cs_snapshot(struct source *s, const struct snap_request *req, struct snapshot *out,
		       char *err, size_t errlen)
{
	struct client_source *cs = (struct client_source *)s;
	json_object *r = request("snapshot"), *resp, *snap;
	int ret;

	if (req->all_peers)
		json_object_object_add(r, "peers_of", json_object_new_string("*"));
	else if (req->peers)
		put_owner_arg(r, "peers_of", req->peers_of);
	if (req->procs) {
		if (req->procs_one)
			put_owner_arg(r, "processes", req->procs_of);
		else
			json_object_object_add(r, "processes", json_object_new_string("all"));
	}
	if (req->conns) {
		json_object *c = json_object_new_object();

		put_owner_arg(c, "owner", req->conns_owner);
		json_object_object_add(c, "pid", json_object_new_int64(req->conns_tgid));
		json_object_object_add(r, "connections", c);
	}
	ret = call(cs, r, &resp, err, errlen);
	if (ret)
		return ret;
	if (!json_object_object_get_ex(resp, "snapshot", &snap)) {
		snprintf(err, errlen, "the meter's answer has no snapshot");
		json_object_put(resp);
		return -EPROTO;
	}
	ret = proto_snapshot_from_json(snap, out, err, errlen);
	json_object_put(resp);
	return ret;
}

static void put_prefix(json_object *o, const struct ip_prefix *p)
{
	char buf[IP_PREFIX_STRLEN];

	json_object_object_add(o, "prefix", json_object_new_string(ip_prefix_format(p, buf,
									       sizeof(buf))));
}

static int cs_ignore_add(struct source *s, const struct ip_prefix *p, char *err, size_t errlen)
{
	json_object *r = request("ignore-add");

	put_prefix(r, p);
	return call((struct client_source *)s, r, NULL, err, errlen);
}

static int cs_ignore_set(struct source *s, size_t idx, const struct ip_prefix *p, bool on,
			 char *err, size_t errlen)
{
	json_object *r = request("ignore-set");

	put_prefix(r, p);
	json_object_object_add(r, "on", json_object_new_boolean(on));
	return call((struct client_source *)s, r, NULL, err, errlen);
}

static int cs_ignore_del(struct source *s, size_t idx, const struct ip_prefix *p, char *err,
			 size_t errlen)
{
	json_object *r = request("ignore-del");

	put_prefix(r, p);
	return call((struct client_source *)s, r, NULL, err, errlen);
}

static int cs_history(struct source *s, const struct report_req *r, json_object **rep,
		      char *err, size_t errlen)
{
	json_object *req = request("history"), *resp, *j;
	int ret;

	*rep = NULL;
	json_object_object_add(req, "period", json_object_new_string(report_period_name(r->period)));
	if (r->since || r->until) {
		json_object_object_add(req, "since", json_object_new_int64(r->since));
		json_object_object_add(req, "until", json_object_new_int64(r->until));
	}
	if (r->one)
		put_owner_arg(req, "owner", r->owner);
	ret = call((struct client_source *)s, req, &resp, err, errlen);
	if (ret)
		return ret;
	if (json_object_object_get_ex(resp, "history", &j))
		*rep = json_object_get(j);
	json_object_put(resp);
	if (!*rep) {
		snprintf(err, errlen, "the meter's answer has no history");
		return -EPROTO;
	}
	return 0;
}

static void cs_reopen(struct source *s)
{
	/* The service reopens its logs on its own SIGHUP; a viewer has none to reopen. */
}

static void cs_close(struct source *s)
{
	client_close(((struct client_source *)s)->conn);
	free(s);
}

static const struct source_ops client_ops = {
	.snapshot = cs_snapshot,
	.ignore_add = cs_ignore_add,
	.ignore_set = cs_ignore_set,
	.ignore_del = cs_ignore_del,
	.history = cs_history,
	.reopen = cs_reopen,
	.close = cs_close,
};

int source_client_new(struct source **out, const char *path, char *err, size_t errlen)
{
	struct client_source *cs = calloc(1, sizeof(*cs));
	json_object *resp = NULL, *j;
	int ret;

	*out = NULL;
	if (!cs) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	cs->base.ops = &client_ops;
	cs->base.attached = true;
	ret = client_connect(&cs->conn, path, err, errlen);
	if (!ret)
		ret = call(cs, request("hello"), &resp, err, errlen);
	if (ret) {
		client_close(cs->conn);
		free(cs);
		return ret;
	}
	if (json_object_object_get_ex(resp, "access", &j))
		cs->base.all_users = !strcmp(json_object_get_string(j), "all");
	if (json_object_object_get_ex(resp, "may_edit", &j))
		cs->base.may_edit = json_object_get_boolean(j);
	snprintf(cs->base.describe, sizeof(cs->base.describe), "the meter at %s", path);
	json_object_put(resp);
	*out = &cs->base;
	return 0;
}

int source_client_log(const char *path, const char *owner, int *fd, char *logpath,
		      size_t pathlen, char *err, size_t errlen)
{
	struct client_conn *c;
	json_object *r, *resp = NULL, *j;
	int ret;

	*fd = -1;
	ret = client_connect(&c, path, err, errlen);
	if (ret)
		return ret;
	r = request("log");
	if (owner)
		json_object_object_add(r, "owner", json_object_new_string(owner));
	ret = client_call(c, r, &resp, fd, CALL_MS, err, errlen);
	json_object_put(r);
	client_close(c);
	if (ret)
		return ret;
	if (!json_object_object_get_ex(resp, "ok", &j) || !json_object_get_boolean(j) || *fd < 0) {
		snprintf(err, errlen, "%s", client_error(resp)[0] ? client_error(resp) :
			 "the meter passed no file");
		ret = json_object_object_get_ex(resp, "missing", &j) &&
		      json_object_get_boolean(j) ? -ENODATA : -EPERM;
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		json_object_put(resp);
		return ret;
	}
	if (json_object_object_get_ex(resp, "path", &j))
		snprintf(logpath, pathlen, "%s", json_object_get_string(j));
	json_object_put(resp);
	return 0;
}
