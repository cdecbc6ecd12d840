// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot <-> JSON. Every plain field of a snapshot struct is one row of a table (name, type,
 * offset), and one loop each way walks the table, so the encoder and the decoder cannot drift
 * apart; what is not plain (owners, addresses, arrays, rates that may not exist yet) is written
 * by hand on both sides, next to each other.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "meter/cli.h"
#include "meter/users.h"
#include "backend/rowfmt.h"
#include "service/proto.h"

enum ftype { F_U64, F_U32, F_I32, F_U8, F_DBL, F_FLT, F_BOOL, F_STR };

struct field {
	const char *name;
	enum ftype type;
	size_t off;
	size_t size;		/* F_STR: buffer size */
};

#define FLD(st, name, type, member) { name, type, offsetof(st, member), sizeof(((st *)0)->member) }

static const struct field meter_fields[] = {
	FLD(struct snap_meter, "pid", F_I32, pid),
	FLD(struct snap_meter, "version", F_STR, version),
	FLD(struct snap_meter, "uptime", F_DBL, uptime_s),
	FLD(struct snap_meter, "cgroup", F_STR, cgroup),
	FLD(struct snap_meter, "nic", F_STR, nic),
	FLD(struct snap_meter, "iface", F_STR, iface),
	FLD(struct snap_meter, "host_netns", F_U32, host_netns),
	FLD(struct snap_meter, "window", F_DBL, window_s),
	FLD(struct snap_meter, "standalone", F_BOOL, standalone),
};

static const struct field stats_fields[] = {
	FLD(struct snap_stats, "events", F_U64, events),
	FLD(struct snap_stats, "events_per_s", F_DBL, events_per_s),
	FLD(struct snap_stats, "lost", F_U64, lost),
	FLD(struct snap_stats, "sock_lost", F_U64, sock_lost),
	FLD(struct snap_stats, "table_full", F_U64, table_full),
	FLD(struct snap_stats, "kernel_evicted", F_U64, kernel_evicted),
	FLD(struct snap_stats, "evicted", F_U64, evicted),
	FLD(struct snap_stats, "forgotten", F_U64, forgotten),
	FLD(struct snap_stats, "peers_folded", F_U64, peers_folded),
	FLD(struct snap_stats, "users", F_U32, users),
	FLD(struct snap_stats, "kernel_owners", F_U32, kernel_owners),
	FLD(struct snap_stats, "sockets", F_U32, sockets),
};

/* in_/out_ pairs are written by hand (see put_io). */
static const struct field user_fields[] = {
	FLD(struct snap_user, "idle", F_DBL, idle_s),
	FLD(struct snap_user, "peers", F_U32, npeers),
	FLD(struct snap_user, "processes", F_U32, nprocs),
};

static const struct field peer_fields[] = {
	FLD(struct snap_peer, "netns", F_U32, netns),
	FLD(struct snap_peer, "folded", F_U64, folded),
	FLD(struct snap_peer, "folded_more", F_BOOL, folded_more),
};

static const struct field proc_fields[] = {
	FLD(struct snap_proc, "pid", F_U32, tgid),
	FLD(struct snap_proc, "comm", F_STR, comm),
	FLD(struct snap_proc, "cgroup_id", F_U64, cgroup_id),
	FLD(struct snap_proc, "unit", F_STR, unit),
	FLD(struct snap_proc, "exited", F_BOOL, exited),
	FLD(struct snap_proc, "folded", F_U32, nfolded),
	FLD(struct snap_proc, "connections", F_U32, nconns),
};

static const struct field conn_fields[] = {
	FLD(struct snap_conn, "proto", F_U8, proto),
	FLD(struct snap_conn, "lport", F_U32, lport),
	FLD(struct snap_conn, "rport", F_U32, rport),
	FLD(struct snap_conn, "netns", F_U32, netns),
	FLD(struct snap_conn, "folded", F_U64, folded),
};

static const struct field log_fields[] = {
	FLD(struct snap_log, "backend", F_STR, name),
	FLD(struct snap_log, "target", F_STR, target),
	FLD(struct snap_log, "records", F_U64, st.records),
	FLD(struct snap_log, "rows", F_U64, st.rows),
	FLD(struct snap_log, "bytes", F_U64, st.bytes),
	FLD(struct snap_log, "write_errors", F_U64, st.write_errors),
	FLD(struct snap_log, "dropped", F_U64, st.dropped),
	FLD(struct snap_log, "not_written", F_U64, st.not_written),
	FLD(struct snap_log, "rotations", F_U64, st.rotations),
	FLD(struct snap_log, "open_files", F_U32, st.open_files),
	FLD(struct snap_log, "healthy", F_BOOL, st.healthy),
	FLD(struct snap_log, "last_error", F_STR, st.last_error),
	FLD(struct snap_log, "remark", F_STR, st.remark),
};

static const struct field quota_fields[] = {
	FLD(struct snap_user, "limit", F_U64, quota_bytes),
	FLD(struct snap_user, "used", F_U64, quota_used),
	FLD(struct snap_user, "estimate", F_U64, quota_estimate),
};

#define N(t) (sizeof(t) / sizeof((t)[0]))

/*
 * A double with at most three decimals: rates and times do not need 17 digits. Past 1e15 the
 * decimals mean nothing and "%.3f" would not fit (1e300 is 305 digits): 17 significant digits
 * there, which read back as the same number. No "-0".
 */
static json_object *new_dbl(double d)
{
	char buf[64];

	if (!isfinite(d))
		return NULL;
	if (d == 0)
		d = 0;
	if (fabs(d) >= 1e15)
		snprintf(buf, sizeof(buf), "%.17g", d);
	else if (d == floor(d))
		snprintf(buf, sizeof(buf), "%.0f", d);
	else
		snprintf(buf, sizeof(buf), "%.3f", d);
	return json_object_new_double_s(d, buf);
}

/* A number a snapshot can hold. json-c reads NaN and Infinity; they are no number here. */
static bool get_finite(json_object *j, double *out)
{
	double d;

	if (!j)
		return false;
	d = json_object_get_double(j);
	if (!isfinite(d))
		return false;
	*out = d;
	return true;
}

/* The same for a float (the spark): what does not fit one is no number either. */
static float get_float(json_object *j)
{
	double d = 0;

	if (!get_finite(j, &d) || fabs(d) > FLT_MAX)
		return 0;
	return (float)d;
}

/*
 * n bytes of s as valid UTF-8 into dst, at most cap bytes: each byte that does not start a
 * valid sequence becomes U+FFFD, and a sequence that would not fit whole is left out, so the
 * text is never cut inside a character. Returns the bytes written.
 */
static size_t utf8_clean(char *dst, size_t cap, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k = 0, len;

	while (i < n) {
		len = u[i] < 0x80 ? 1 : rowfmt_utf8_len(u + i, n - i);
		if (k + (len ? len : 3) > cap)
			break;
		memcpy(dst + k, len ? s + i : "\xef\xbf\xbd", len ? len : 3);
		k += len ? len : 3;
		i += len ? len : 1;
	}
	return k;
}

json_object *proto_text(const char *s, size_t n)
{
	json_object *j;
	char *t;

	t = malloc(3 * n + 1);	/* every byte may become U+FFFD */
	if (!t)
		return NULL;
	j = json_object_new_string_len(t, (int)utf8_clean(t, 3 * n, s, n));
	free(t);
	return j;
}

static void put_fields(json_object *o, const void *base, const struct field *f, size_t n)
{
	const char *p = base;

	for (size_t i = 0; i < n; i++, f++) {
		const void *v = p + f->off;
		json_object *j = NULL;

		switch (f->type) {
		case F_U64:
			j = json_object_new_uint64(*(const uint64_t *)v);
			break;
		case F_U32:
			j = json_object_new_int64(f->size == 2 ? *(const uint16_t *)v :
						  *(const uint32_t *)v);
			break;
		case F_I32:
			j = json_object_new_int64(*(const int32_t *)v);
			break;
		case F_U8:
			j = json_object_new_int64(*(const uint8_t *)v);
			break;
		case F_DBL:
			j = new_dbl(*(const double *)v);
			break;
		case F_FLT:
			j = new_dbl(*(const float *)v);
			break;
		case F_BOOL:
			j = json_object_new_boolean(f->size == sizeof(int) ? *(const int *)v != 0 :
						    *(const bool *)v);
			break;
		case F_STR:
			j = proto_text(v, strnlen(v, f->size));
			break;
		}
		json_object_object_add(o, f->name, j);
	}
}

static int get_fields(json_object *o, void *base, const struct field *f, size_t n, char *err,
		      size_t errlen)
{
	char *p = base;

	for (size_t i = 0; i < n; i++, f++) {
		void *v = p + f->off;
		const char *str;
		json_object *j;

		if (!json_object_object_get_ex(o, f->name, &j) || !j)
			continue;	/* absent: a newer or older peer; zero */
		switch (f->type) {
		case F_U64:
			*(uint64_t *)v = json_object_get_uint64(j);
			break;
		case F_U32:
			if (f->size == 2)
				*(uint16_t *)v = (uint16_t)json_object_get_int64(j);
			else
				*(uint32_t *)v = (uint32_t)json_object_get_int64(j);
			break;
		case F_I32:
			*(int32_t *)v = (int32_t)json_object_get_int64(j);
			break;
		case F_U8:
			*(uint8_t *)v = (uint8_t)json_object_get_int64(j);
			break;
		case F_DBL:
			*(double *)v = 0;
			get_finite(j, (double *)v);
			break;
		case F_FLT:
			*(float *)v = get_float(j);
			break;
		case F_BOOL:
			if (f->size == sizeof(int))
				*(int *)v = json_object_get_boolean(j);
			else
				*(bool *)v = json_object_get_boolean(j);
			break;
		case F_STR:
			if (!json_object_is_type(j, json_type_string)) {
				snprintf(err, errlen, "field %s: not a string", f->name);
				return -EINVAL;
			}
			/* valid UTF-8, cut at a character: encoding it again gives the same text */
			str = json_object_get_string(j);
			((char *)v)[utf8_clean(v, f->size - 1, str, strlen(str))] = '\0';
			break;
		}
	}
	return 0;
}

/* ---- the pieces written by hand ---------------------------------------------------------- */

/* The text of j, or NULL when j is not a string: json-c gives NULL for a JSON null. */
static const char *str_of(json_object *j)
{
	return json_object_is_type(j, json_type_string) ? json_object_get_string(j) : NULL;
}

void proto_put_owner(json_object *o, tm_owner_t owner, bool with_names)
{
	char tok[OWNER_TOKEN_LEN];

	json_object_object_add(o, "owner",
			       json_object_new_string(owner_token(owner, tok, sizeof(tok))));
	json_object_object_add(o, "uid", OWNER_IS_USER(owner) ?
			       json_object_new_int64(OWNER_UID(owner)) : NULL);
	if (with_names)
		json_object_object_add(o, "user", proto_text(owner_name(owner),
							   strlen(owner_name(owner))));
}

int proto_get_owner(json_object *o, tm_owner_t *owner)
{
	json_object *j;

	if (json_object_object_get_ex(o, "owner", &j) && json_object_is_type(j, json_type_string))
		return owner_parse_token(json_object_get_string(j), owner);
	if (json_object_object_get_ex(o, "uid", &j) && json_object_is_type(j, json_type_int)) {
		int64_t v = json_object_get_int64(j);

		if (v < 0 || v >= 0xffffffffLL)
			return -EINVAL;
		*owner = (tm_owner_t)v;
		return 0;
	}
	return -EINVAL;
}

const char *proto_addr(char *buf, size_t len, uint8_t family, const uint8_t *addr)
{
	if (family == TM_AF_INET)
		inet_ntop(AF_INET, addr, buf, (socklen_t)len);
	else if (family == TM_AF_INET6)
		inet_ntop(AF_INET6, addr, buf, (socklen_t)len);
	else
		snprintf(buf, len, "%s", "");
	return buf;
}

int proto_parse_addr(const char *s, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (!*s) {
		*family = 0;
		return 0;
	}
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = TM_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = TM_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* "in_bytes", "out_bytes", "in_packets", "out_packets", "in_rate", "out_rate" (rate null
 * when has_rate is false). */
static void put_io(json_object *o, const uint64_t bytes[2], const uint64_t packets[2],
		   const double rate[2], bool has_rate)
{
	json_object_object_add(o, "in_bytes", json_object_new_uint64(bytes[TM_DIR_IN]));
	json_object_object_add(o, "out_bytes", json_object_new_uint64(bytes[TM_DIR_OUT]));
	json_object_object_add(o, "in_packets", json_object_new_uint64(packets[TM_DIR_IN]));
	json_object_object_add(o, "out_packets", json_object_new_uint64(packets[TM_DIR_OUT]));
	json_object_object_add(o, "in_rate", has_rate ? new_dbl(rate[TM_DIR_IN]) : NULL);
	json_object_object_add(o, "out_rate", has_rate ? new_dbl(rate[TM_DIR_OUT]) : NULL);
}

static bool get_io(json_object *o, uint64_t bytes[2], uint64_t packets[2], double rate[2])
{
	json_object *j;
	bool has = false;

	if (json_object_object_get_ex(o, "in_bytes", &j))
		bytes[TM_DIR_IN] = json_object_get_uint64(j);
	if (json_object_object_get_ex(o, "out_bytes", &j))
		bytes[TM_DIR_OUT] = json_object_get_uint64(j);
	if (json_object_object_get_ex(o, "in_packets", &j))
		packets[TM_DIR_IN] = json_object_get_uint64(j);
	if (json_object_object_get_ex(o, "out_packets", &j))
		packets[TM_DIR_OUT] = json_object_get_uint64(j);
	if (json_object_object_get_ex(o, "in_rate", &j) && get_finite(j, &rate[TM_DIR_IN]))
		has = true;
	if (json_object_object_get_ex(o, "out_rate", &j) && get_finite(j, &rate[TM_DIR_OUT]))
		has = true;
	return has;
}

json_object *proto_peer_to_json(const struct snap_peer *p)
{
	json_object *o = json_object_new_object();
	char a[64];

	json_object_object_add(o, "other", json_object_new_boolean(!p->family));
	json_object_object_add(o, "addr", json_object_new_string(proto_addr(a, sizeof(a),
								p->family, p->addr)));
	put_io(o, p->bytes, p->packets, p->rate, true);
	put_fields(o, p, peer_fields, N(peer_fields));
	return o;
}

static int peer_from_json(json_object *o, struct snap_peer *p, char *err, size_t errlen)
{
	json_object *j;

	if (json_object_object_get_ex(o, "addr", &j) &&
	    (!str_of(j) || proto_parse_addr(str_of(j), &p->family, p->addr))) {
		snprintf(err, errlen, "peer: bad addr %s", json_object_to_json_string(j));
		return -EINVAL;
	}
	get_io(o, p->bytes, p->packets, p->rate);
	return get_fields(o, p, peer_fields, N(peer_fields), err, errlen);
}

static json_object *user_to_json(const struct snap_user *u, bool with_names)
{
	json_object *o = json_object_new_object(), *sp;

	proto_put_owner(o, u->owner, with_names);
	put_io(o, u->bytes, u->packets, u->rate, u->has_rate);
	put_fields(o, u, user_fields, N(user_fields));
	if (u->has_top) {
		json_object *t = proto_peer_to_json(&u->top);

		json_object_object_add(o, "top_peer", t);
	} else {
		json_object_object_add(o, "top_peer", NULL);
	}
	sp = json_object_new_array_ext(SNAP_SPARK);
	for (int i = 0; i < SNAP_SPARK; i++)
		json_object_array_add(sp, new_dbl(round(u->spark[i])));
	json_object_object_add(o, "spark", sp);
	if (u->quota_period) {
		json_object *q = json_object_new_object();

		json_object_object_add(q, "period", json_object_new_string(
			u->quota_period == 'd' ? "day" : "month"));
		put_fields(q, u, quota_fields, N(quota_fields));
		json_object_object_add(o, "quota", q);
	}
	return o;
}

static int user_from_json(json_object *o, struct snap_user *u, char *err, size_t errlen)
{
	json_object *j;
	int ret;

	if (proto_get_owner(o, &u->owner)) {
		snprintf(err, errlen, "user: bad owner");
		return -EINVAL;
	}
	u->has_rate = get_io(o, u->bytes, u->packets, u->rate);
	ret = get_fields(o, u, user_fields, N(user_fields), err, errlen);
	if (ret)
		return ret;
	if (json_object_object_get_ex(o, "top_peer", &j) && j) {
		ret = peer_from_json(j, &u->top, err, errlen);
		if (ret)
			return ret;
		u->top.owner = u->owner;
		u->has_top = true;
	}
	if (json_object_object_get_ex(o, "spark", &j) && json_object_is_type(j, json_type_array))
		for (size_t i = 0; i < SNAP_SPARK && i < json_object_array_length(j); i++)
			u->spark[i] = get_float(json_object_array_get_idx(j, i));
	if (json_object_object_get_ex(o, "quota", &j) && j) {
		json_object *p;

		if (json_object_object_get_ex(j, "period", &p))
			u->quota_period = str_of(p) && !strcmp(str_of(p), "day") ? 'd' : 'm';
		ret = get_fields(j, u, quota_fields, N(quota_fields), err, errlen);
	}
	return ret;
}

static json_object *proc_to_json(const struct snap_proc *p, bool with_names)
{
	json_object *o = json_object_new_object();

	proto_put_owner(o, p->owner, with_names);
	put_io(o, p->bytes, p->packets, p->rate, p->has_rate);
	put_fields(o, p, proc_fields, N(proc_fields));
	return o;
}

static int proc_from_json(json_object *o, struct snap_proc *p, char *err, size_t errlen)
{
	if (proto_get_owner(o, &p->owner)) {
		snprintf(err, errlen, "process: bad owner");
		return -EINVAL;
	}
	p->has_rate = get_io(o, p->bytes, p->packets, p->rate);
	return get_fields(o, p, proc_fields, N(proc_fields), err, errlen);
}

static json_object *conn_to_json(const struct snap_conn *c)
{
	json_object *o = json_object_new_object();
	char a[64];

	json_object_object_add(o, "other", json_object_new_boolean(!c->family));
	json_object_object_add(o, "addr", json_object_new_string(proto_addr(a, sizeof(a),
								c->family, c->addr)));
	put_io(o, c->bytes, c->packets, c->rate, true);
	put_fields(o, c, conn_fields, N(conn_fields));
	return o;
}

static int conn_from_json(json_object *o, struct snap_conn *c, char *err, size_t errlen)
{
	json_object *j;

	if (json_object_object_get_ex(o, "addr", &j) &&
	    (!str_of(j) || proto_parse_addr(str_of(j), &c->family, c->addr))) {
		snprintf(err, errlen, "connection: bad addr %s", json_object_to_json_string(j));
		return -EINVAL;
	}
	get_io(o, c->bytes, c->packets, c->rate);
	return get_fields(o, c, conn_fields, N(conn_fields), err, errlen);
}

/* ---- the snapshot ------------------------------------------------------------------------ */

json_object *proto_snapshot_to_json(const struct snapshot *s, bool with_names)
{
	json_object *o = json_object_new_object(), *m, *st, *t, *a;
	char buf[IP_PREFIX_STRLEN];

	if (!o)
		return NULL;
	json_object_object_add(o, "v", json_object_new_int(PROTO_VERSION));
	json_object_object_add(o, "seq", json_object_new_uint64(s->seq));
	json_object_object_add(o, "time", new_dbl((double)s->taken.tv_sec +
						  (double)(s->taken.tv_nsec / 1000000) / 1000));
	json_object_object_add(o, "restricted", json_object_new_boolean(s->restricted));

	m = json_object_new_object();
	put_fields(m, &s->meter, meter_fields, N(meter_fields));
	json_object_object_add(m, "started", json_object_new_int64(s->meter.started.tv_sec));
	json_object_object_add(m, "ignore_mode",
			       json_object_new_string(cli_ignore_mode_name(s->meter.ignore_mode)));
	json_object_object_add(o, "meter", m);

	if (!s->restricted) {
		st = json_object_new_object();
		put_fields(st, &s->stats, stats_fields, N(stats_fields));
		json_object_object_add(o, "stats", st);
		t = json_object_new_object();
		put_io(t, s->totals.bytes, s->totals.packets, s->totals.rate, s->totals.has_rate);
		json_object_object_add(o, "totals", t);
	}

	a = json_object_new_array_ext((int)s->nusers);
	for (size_t i = 0; i < s->nusers; i++)
		json_object_array_add(a, user_to_json(&s->users[i], with_names));
	json_object_object_add(o, "users", a);

	if (s->have_peers) {
		json_object *p = json_object_new_object(), *l = json_object_new_array();
		bool all = s->npeers && s->peers_of != s->peers[0].owner;

		for (size_t i = 0; i < s->npeers; i++) {
			json_object *pj = proto_peer_to_json(&s->peers[i]);

			all |= s->peers[i].owner != s->peers_of;
			json_object_array_add(l, pj);
		}
		/* Peers of several owners name theirs; one owner's peers say it once. The one
		 * asked for is said even then, so that it reads back as it was. */
		if (all)
			for (size_t i = 0; i < s->npeers; i++)
				proto_put_owner(json_object_array_get_idx(l, i), s->peers[i].owner,
						false);
		if (!all || s->peers_of)
			proto_put_owner(p, s->peers_of, with_names);
		json_object_object_add(p, "list", l);
		json_object_object_add(o, "peers", p);
	}
	if (s->have_procs) {
		a = json_object_new_array_ext((int)s->nprocs);
		for (size_t i = 0; i < s->nprocs; i++)
			json_object_array_add(a, proc_to_json(&s->procs[i], with_names));
		json_object_object_add(o, "processes", a);
	}
	if (s->have_conns) {
		json_object *c = json_object_new_object(), *l = json_object_new_array();

		proto_put_owner(c, s->conns_owner, with_names);
		json_object_object_add(c, "pid", json_object_new_int64(s->conns_tgid));
		for (size_t i = 0; i < s->nconns; i++)
			json_object_array_add(l, conn_to_json(&s->conns[i]));
		json_object_object_add(c, "list", l);
		json_object_object_add(o, "connections", c);
	}
	if (!s->restricted) {
		a = json_object_new_array_ext((int)s->nignore);
		for (size_t i = 0; i < s->nignore; i++) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "prefix", json_object_new_string(
				ip_prefix_format(&s->ignore[i].p, buf, sizeof(buf))));
			json_object_object_add(e, "on", json_object_new_boolean(s->ignore[i].on));
			json_object_array_add(a, e);
		}
		json_object_object_add(o, "ignore", a);
		json_object_object_add(o, "ignore_active", json_object_new_int64(
			(int64_t)s->ignore_active));
		a = json_object_new_array();
		for (size_t i = 0; i < s->nlogs; i++) {
			json_object *e = json_object_new_object();

			put_fields(e, &s->logs[i], log_fields, N(log_fields));
			json_object_array_add(a, e);
		}
		json_object_object_add(o, "logs", a);
	}
	return o;
}

#define GET_ARRAY(name, field, count, type, conv)                                           \
	do {                                                                                \
		json_object *arr_;                                                          \
		if (!json_object_object_get_ex(o, name, &arr_) || !arr_)                    \
			break;                                                              \
		if (!json_object_is_type(arr_, json_type_array)) {                          \
			snprintf(err, errlen, "%s: not an array", name);                    \
			ret = -EINVAL;                                                      \
			goto fail;                                                          \
		}                                                                           \
		count = json_object_array_length(arr_);                                     \
		field = calloc(count ? count : 1, sizeof(type));                            \
		if (!field) {                                                               \
			ret = -ENOMEM;                                                      \
			goto fail;                                                          \
		}                                                                           \
		for (size_t i_ = 0; i_ < count; i_++) {                                     \
			ret = conv(json_object_array_get_idx(arr_, i_), &field[i_], err, errlen); \
			if (ret)                                                            \
				goto fail;                                                  \
		}                                                                           \
	} while (0)

static int list_from(json_object *parent, const char *key, json_object **list)
{
	return json_object_object_get_ex(parent, key, list) &&
	       json_object_is_type(*list, json_type_array) ? 0 : -EINVAL;
}

int proto_snapshot_from_json(json_object *o, struct snapshot *s, char *err, size_t errlen)
{
	json_object *j, *l;
	int ret = 0;

	memset(s, 0, sizeof(*s));
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "snapshot: not an object");
		return -EINVAL;
	}
	if (!json_object_object_get_ex(o, "v", &j) || json_object_get_int(j) != PROTO_VERSION) {
		snprintf(err, errlen, "snapshot: protocol version %d, this tmtop speaks %d",
			 j ? json_object_get_int(j) : 0, PROTO_VERSION);
		return -EPROTO;
	}
	s->version = SNAP_VERSION;
	if (json_object_object_get_ex(o, "seq", &j))
		s->seq = json_object_get_uint64(j);
	if (json_object_object_get_ex(o, "time", &j)) {
		double t;

		/* Milliseconds, as written, rounded (1.123 is 1.12299999... as a double); a
		 * time before 1970 or past the year 30000 is no time. */
		if (get_finite(j, &t) && t >= 0 && t < 1e12) {
			long long ms = llround(t * 1000);

			s->taken.tv_sec = (time_t)(ms / 1000);
			s->taken.tv_nsec = (long)(ms % 1000) * 1000000;
		}
	}
	if (json_object_object_get_ex(o, "restricted", &j))
		s->restricted = json_object_get_boolean(j);
	if (json_object_object_get_ex(o, "meter", &j)) {
		json_object *k;

		ret = get_fields(j, &s->meter, meter_fields, N(meter_fields), err, errlen);
		if (ret)
			goto fail;
		if (json_object_object_get_ex(j, "started", &k))
			s->meter.started.tv_sec = json_object_get_int64(k);
		if (json_object_object_get_ex(j, "ignore_mode", &k)) {
			int mode = str_of(k) ? cli_ignore_mode(str_of(k)) : -EINVAL;

			s->meter.ignore_mode = (uint8_t)(mode < 0 ? 0 : mode);
		}
	}
	/* A restricted snapshot has no stats, totals, ignore list or logs (snapshot.h): what
	 * claims otherwise is not taken, as the encoder would not say it again. */
	if (!s->restricted && json_object_object_get_ex(o, "stats", &j)) {
		ret = get_fields(j, &s->stats, stats_fields, N(stats_fields), err, errlen);
		if (ret)
			goto fail;
	}
	if (!s->restricted && json_object_object_get_ex(o, "totals", &j))
		s->totals.has_rate = get_io(j, s->totals.bytes, s->totals.packets, s->totals.rate);

	GET_ARRAY("users", s->users, s->nusers, struct snap_user, user_from_json);
	if (json_object_object_get_ex(o, "peers", &j) && j) {
		tm_owner_t who = 0;

		if (list_from(j, "list", &l)) {
			snprintf(err, errlen, "peers: no list");
			ret = -EINVAL;
			goto fail;
		}
		s->npeers = json_object_array_length(l);
		s->peers = calloc(s->npeers ? s->npeers : 1, sizeof(*s->peers));
		if (!s->peers) {
			ret = -ENOMEM;
			goto fail;
		}
		proto_get_owner(j, &who);
		s->peers_of = who;
		for (size_t i = 0; i < s->npeers; i++) {
			json_object *pj = json_object_array_get_idx(l, i);

			ret = peer_from_json(pj, &s->peers[i], err, errlen);
			if (ret)
				goto fail;
			s->peers[i].owner = who;
			proto_get_owner(pj, &s->peers[i].owner);
		}
		s->have_peers = true;
	}
	if (json_object_object_get_ex(o, "processes", &j) && j) {
		GET_ARRAY("processes", s->procs, s->nprocs, struct snap_proc, proc_from_json);
		s->have_procs = true;
	}
	if (json_object_object_get_ex(o, "connections", &j) && j) {
		json_object *k;

		if (list_from(j, "list", &l)) {
			snprintf(err, errlen, "connections: no list");
			ret = -EINVAL;
			goto fail;
		}
		proto_get_owner(j, &s->conns_owner);
		if (json_object_object_get_ex(j, "pid", &k))
			s->conns_tgid = (uint32_t)json_object_get_int64(k);
		s->nconns = json_object_array_length(l);
		s->conns = calloc(s->nconns ? s->nconns : 1, sizeof(*s->conns));
		if (!s->conns) {
			ret = -ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < s->nconns; i++) {
			ret = conn_from_json(json_object_array_get_idx(l, i), &s->conns[i], err,
					     errlen);
			if (ret)
				goto fail;
		}
		s->have_conns = true;
	}
	if (s->restricted)
		return 0;
	if (json_object_object_get_ex(o, "ignore", &l) && json_object_is_type(l, json_type_array)) {
		s->nignore = json_object_array_length(l);
		s->ignore = calloc(s->nignore ? s->nignore : 1, sizeof(*s->ignore));
		if (!s->ignore) {
			ret = -ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < s->nignore; i++) {
			json_object *e = json_object_array_get_idx(l, i), *k;
			char reason[160];

			if (!json_object_object_get_ex(e, "prefix", &k) || !str_of(k) ||
			    iplist_parse_entry(str_of(k), &s->ignore[i].p, reason, sizeof(reason))) {
				snprintf(err, errlen, "ignore: bad prefix %s",
					 json_object_to_json_string(k));
				ret = -EINVAL;
				goto fail;
			}
			if (json_object_object_get_ex(e, "on", &k))
				s->ignore[i].on = json_object_get_boolean(k);
		}
	}
	if (json_object_object_get_ex(o, "ignore_active", &j))
		s->ignore_active = (size_t)json_object_get_int64(j);
	if (json_object_object_get_ex(o, "logs", &l) && json_object_is_type(l, json_type_array)) {
		s->nlogs = json_object_array_length(l);
		if (s->nlogs > SNAP_MAX_LOGS)
			s->nlogs = SNAP_MAX_LOGS;
		for (size_t i = 0; i < s->nlogs; i++) {
			ret = get_fields(json_object_array_get_idx(l, i), &s->logs[i], log_fields,
					 N(log_fields), err, errlen);
			if (ret)
				goto fail;
		}
	}
	return 0;
fail:
	snapshot_free(s);
	return ret;
}

/*
 * One JSON object, and nothing after it but blanks: json-c's strict mode (no trailing commas,
 * comments or leading zeros), and the bytes after the object checked by hand, since json-c
 * returns the first object of "{}{}" or "{}x" as a success. A request is also valid UTF-8;
 * an answer is not checked for it (a command name is the kernel's bytes).
 */
static json_object *parse_line(const char *line, size_t len, bool utf8, char *err,
			       size_t errlen)
{
	struct json_tokener *tok = json_tokener_new_ex(32);
	json_object *o;
	enum json_tokener_error e;
	size_t end;

	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | (utf8 ? JSON_TOKENER_VALIDATE_UTF8 : 0));
	o = json_tokener_parse_ex(tok, line, (int)len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	while (o && e == json_tokener_success && end < len &&
	       (line[end] == ' ' || line[end] == '\t' || line[end] == '\r'))
		end++;
	if (!o && e == json_tokener_success) {
		snprintf(err, errlen, "a request is a JSON object");	/* it was "null" */
	} else if (!o || e != json_tokener_success || end < len) {
		/* json-c's "continue" means it wanted more: the line ended too soon. */
		snprintf(err, errlen, "not JSON at offset %zu: %s", end,
			 e == json_tokener_success ? "unexpected data after the object" :
			 json_tokener_error_desc(e == json_tokener_continue ?
						 json_tokener_error_parse_eof : e));
		json_object_put(o);
		o = NULL;
	} else if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "a request is a JSON object");
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

json_object *proto_parse_line(const char *line, size_t len, char *err, size_t errlen)
{
	return parse_line(line, len, false, err, errlen);
}

json_object *proto_parse_request(const char *line, size_t len, char *err, size_t errlen)
{
	return parse_line(line, len, true, err, errlen);
}
