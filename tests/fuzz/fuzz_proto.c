// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the service protocol's parsers (service/proto.c). The input is one
 * line as a viewer reads it from the meter's socket (or a server from a viewer):
 *  - proto_parse_line() and proto_parse_request() never read past it and either return an
 *    object or say why not, and what the stricter request parser takes the other takes too;
 *  - proto_snapshot_from_json() on whatever parsed either refuses it with an error line and
 *    nothing left allocated, or gives a snapshot;
 *  - that snapshot encoded and decoded again is the same snapshot, field by field, as far as
 *    the protocol carries it (times to the millisecond, doubles as proto.c writes them, the
 *    spark in whole bytes, strings as valid UTF-8), and encoding both gives the same text,
 *    always valid UTF-8: nothing a peer sends can make the codec drift, crash or leak.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "bpf/traffic_meter.h"
#include "service/proto.h"

/* A double as proto.c's new_dbl() writes it: equal text is an equal value on the wire. */
static void dtext(double d, char *buf, size_t len)
{
	if (!isfinite(d))
		snprintf(buf, len, "null");
	else if (d == 0)
		snprintf(buf, len, "0");
	else if (fabs(d) >= 1e15)
		snprintf(buf, len, "%.17g", d);
	else if (d == floor(d))
		snprintf(buf, len, "%.0f", d);
	else
		snprintf(buf, len, "%.3f", d);
}

static void same_dbl(double a, double b)
{
	char x[64], y[64];

	dtext(a, x, sizeof(x));
	dtext(b, y, sizeof(y));
	if (strcmp(x, y))
		abort();
}

#define SAME(f)		do { if (a->f != b->f) abort(); } while (0)
#define SAME_D(f)	same_dbl(a->f, b->f)
#define SAME_S(f)	do { if (strcmp(a->f, b->f)) abort(); } while (0)
#define SAME_M(f)	do { if (memcmp(a->f, b->f, sizeof(a->f))) abort(); } while (0)

static void same_peer(const struct snap_peer *a, const struct snap_peer *b)
{
	SAME(owner);
	SAME(family);
	SAME_M(addr);
	SAME(netns);
	SAME_M(bytes);
	SAME_M(packets);
	SAME_D(rate[0]);
	SAME_D(rate[1]);
	SAME(folded);
	SAME(folded_more);
}

static void same_user(const struct snap_user *a, const struct snap_user *b)
{
	SAME(owner);
	SAME_M(bytes);
	SAME_M(packets);
	SAME(has_rate);
	SAME_D(rate[0]);
	SAME_D(rate[1]);
	SAME_D(idle_s);
	SAME(npeers);
	SAME(nprocs);
	SAME(has_top);
	if (a->has_top)
		same_peer(&a->top, &b->top);
	for (int i = 0; i < SNAP_SPARK; i++)
		same_dbl(round(a->spark[i]), round(b->spark[i]));
	SAME(quota_period);
	if (a->quota_period) {
		SAME(quota_bytes);
		SAME(quota_used);
		SAME(quota_estimate);
	}
}

static void same_proc(const struct snap_proc *a, const struct snap_proc *b)
{
	SAME(owner);
	SAME(tgid);
	SAME_S(comm);
	SAME(cgroup_id);
	SAME_S(unit);
	SAME(exited);
	SAME(nfolded);
	SAME_M(bytes);
	SAME_M(packets);
	SAME(has_rate);
	SAME_D(rate[0]);
	SAME_D(rate[1]);
	SAME(nconns);
}

static void same_conn(const struct snap_conn *a, const struct snap_conn *b)
{
	SAME(family);
	SAME(proto);
	SAME(lport);
	SAME(rport);
	SAME_M(addr);
	SAME(netns);
	SAME_M(bytes);
	SAME_M(packets);
	SAME_D(rate[0]);
	SAME_D(rate[1]);
	SAME(folded);
}

static void same_snapshot(const struct snapshot *a, const struct snapshot *b)
{
	SAME(version);
	SAME(seq);
	SAME(taken.tv_sec);
	SAME(taken.tv_nsec);
	SAME(restricted);
	SAME(meter.pid);
	SAME_S(meter.version);
	SAME(meter.started.tv_sec);
	SAME_D(meter.uptime_s);
	SAME_S(meter.cgroup);
	SAME_S(meter.nic);
	SAME_S(meter.iface);
	SAME(meter.ignore_mode);
	SAME(meter.host_netns);
	SAME_D(meter.window_s);
	SAME(meter.standalone);
	SAME(stats.events);
	SAME_D(stats.events_per_s);
	SAME(stats.lost);
	SAME(stats.sock_lost);
	SAME(stats.table_full);
	SAME(stats.kernel_evicted);
	SAME(stats.evicted);
	SAME(stats.forgotten);
	SAME(stats.peers_folded);
	SAME(stats.users);
	SAME(stats.kernel_owners);
	SAME(stats.sockets);
	SAME_M(totals.bytes);
	SAME_M(totals.packets);
	SAME(totals.has_rate);
	SAME_D(totals.rate[0]);
	SAME_D(totals.rate[1]);
	SAME(nusers);
	for (size_t i = 0; i < a->nusers; i++)
		same_user(&a->users[i], &b->users[i]);
	SAME(have_peers);
	SAME(peers_of);
	SAME(npeers);
	for (size_t i = 0; i < a->npeers; i++)
		same_peer(&a->peers[i], &b->peers[i]);
	SAME(have_procs);
	SAME(nprocs);
	for (size_t i = 0; i < a->nprocs; i++)
		same_proc(&a->procs[i], &b->procs[i]);
	SAME(have_conns);
	SAME(conns_owner);
	SAME(conns_tgid);
	SAME(nconns);
	for (size_t i = 0; i < a->nconns; i++)
		same_conn(&a->conns[i], &b->conns[i]);
	SAME(nignore);
	for (size_t i = 0; i < a->nignore; i++) {
		SAME(ignore[i].on);
		SAME(ignore[i].p.family);
		SAME(ignore[i].p.len);
		SAME_M(ignore[i].p.addr);
	}
	SAME(ignore_active);
	SAME(nlogs);
	for (size_t i = 0; i < a->nlogs; i++) {
		SAME_S(logs[i].name);
		SAME_S(logs[i].target);
		SAME(logs[i].st.records);
		SAME(logs[i].st.rows);
		SAME(logs[i].st.bytes);
		SAME(logs[i].st.write_errors);
		SAME(logs[i].st.dropped);
		SAME(logs[i].st.not_written);
		SAME(logs[i].st.rotations);
		SAME(logs[i].st.open_files);
		SAME(logs[i].st.healthy);
		SAME_S(logs[i].st.last_error);
		SAME_S(logs[i].st.remark);
	}
}

/* Decode; on refusal there must be a reason and nothing to free. */
static int decode(json_object *o, struct snapshot *s)
{
	char err[256] = "";
	int ret = proto_snapshot_from_json(o, s, err, sizeof(err));

	if (ret) {
		if ((ret != -EINVAL && ret != -EPROTO && ret != -ENOMEM) || !err[0] ||
		    strchr(err, '\n') || s->users || s->peers || s->procs || s->conns || s->ignore)
			abort();
	}
	return ret;
}

/* Encode s and parse the text back as a line: what the other end of the socket gets. */
static json_object *over_the_wire(const struct snapshot *s, bool with_names, char **text)
{
	json_object *o = proto_snapshot_to_json(s, with_names), *back;
	const char *t;
	char err[256];

	if (!o)
		abort();
	t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (!t || strchr(t, '\n'))
		abort();	/* the protocol is line-framed */
	if (text)
		*text = strdup(t);
	/* what we write, we read, even as strictly as a request: valid UTF-8 whatever the
	 * strings held */
	back = proto_parse_request(t, strlen(t), err, sizeof(err));
	json_object_put(o);
	if (!back)
		abort();
	return back;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot s1, s2, s3;
	char err[256] = "", *t1, *t2;
	json_object *o;

	if (size > PROTO_LINE_MAX)
		return 0;	/* a server closes a viewer that sends more */
	/* A request is parsed more strictly than an answer, never less. */
	o = proto_parse_request((const char *)data, size, err, sizeof(err));
	if (o) {
		json_object_put(o);
		o = proto_parse_line((const char *)data, size, err, sizeof(err));
		if (!o)
			abort();
	} else {
		if (!err[0] || strchr(err, '\n'))
			abort();
		o = proto_parse_line((const char *)data, size, err, sizeof(err));
	}
	if (!o) {
		struct json_tokener *tok = json_tokener_new();
		json_object *any;

		if (!err[0] || strchr(err, '\n') || !tok)
			abort();
		/* What is JSON but no object: the decoder refuses it too. */
		any = json_tokener_parse_ex(tok, (const char *)data, (int)size);
		if (any && !json_object_is_type(any, json_type_object) && !decode(any, &s1))
			abort();
		json_object_put(any);
		json_tokener_free(tok);
		return 0;
	}
	if (decode(o, &s1)) {
		json_object_put(o);
		return 0;
	}
	json_object_put(o);

	/* Once round: the same snapshot, and the same text when encoded again. */
	o = over_the_wire(&s1, false, &t1);
	if (decode(o, &s2))
		abort();
	json_object_put(o);
	same_snapshot(&s1, &s2);
	o = over_the_wire(&s2, false, &t2);
	if (strcmp(t1, t2))
		abort();
	json_object_put(o);
	free(t1);
	free(t2);

	/* With names (for people and scripts) it still reads back the same. */
	o = over_the_wire(&s1, true, NULL);
	if (decode(o, &s3))
		abort();
	json_object_put(o);
	same_snapshot(&s1, &s3);

	snapshot_free(&s1);
	snapshot_free(&s2);
	snapshot_free(&s3);
	return 0;
}
