// SPDX-License-Identifier: GPL-2.0
/*
 * The service protocol's codec (service/proto.c): a snapshot with every kind of row goes to
 * JSON and back, and every field comes back as it was (times to the millisecond, rates to the
 * thousandth, the spark to whole bytes: what the protocol carries). Rates that do not exist
 * yet are null, not 0. Bad input is refused with an error line that names the field, and the
 * request-line parser copes with garbage, non-objects and a line as long as a server takes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "meter/users.h"
#include "service/proto.h"

#define NOSOCK	TM_OWNER_NOSOCK
#define KERNEL	TM_OWNER_KERNEL

static char err[256];

/* ---- a snapshot with everything in it ---------------------------------------------------- */

static struct snap_user users[4];
static struct snap_peer peers[4];
static struct snap_proc procs[3];
static struct snap_conn conns[3];
static struct ignore_entry ign[3];

static struct ip_prefix prefix(const char *s)
{
	struct ip_prefix p;
	char reason[160];

	assert_int_equal(iplist_parse_entry(s, &p, reason, sizeof(reason)), 0);
	return p;
}

static struct snapshot full_snapshot(void)
{
	struct snapshot s;

	memset(&s, 0, sizeof(s));
	memset(users, 0, sizeof(users));
	memset(peers, 0, sizeof(peers));
	memset(procs, 0, sizeof(procs));
	memset(conns, 0, sizeof(conns));
	s.version = SNAP_VERSION;
	s.seq = 123456789012ULL;
	s.taken = (struct timespec){ 1732985432, 123000000 };
	s.meter = (struct snap_meter){ .pid = 4242, .version = "0.2.0",
				       .started = { 1732900000, 0 }, .uptime_s = 85432.5,
				       .cgroup = "/sys/fs/cgroup/user.slice", .nic = "eth0",
				       .iface = "lo", .ignore_mode = TM_IGNORE_ANY,
				       .host_netns = 4026531840u, .window_s = 2,
				       .standalone = true };
	s.stats = (struct snap_stats){ .events = 1000000, .events_per_s = 1234.5, .lost = 7,
				       .sock_lost = 8, .table_full = 9, .kernel_evicted = 10,
				       .evicted = 11, .forgotten = 12, .peers_folded = 13,
				       .users = 4, .kernel_owners = 5, .sockets = 6 };
	s.totals.bytes[0] = UINT64_MAX;		/* exact: no rounding through a double */
	s.totals.bytes[1] = 9007199254740993ULL;	/* 2^53 + 1 */
	s.totals.packets[0] = 3;
	s.totals.packets[1] = 4;
	s.totals.rate[0] = 1000.25;
	s.totals.rate[1] = 0;
	s.totals.has_rate = true;

	users[0] = (struct snap_user){ .owner = 1000, .bytes = { 5000, 900000 },
				       .packets = { 50, 9000 }, .rate = { 4000.125, 100 },
				       .has_rate = true, .idle_s = 0.75, .npeers = 3, .nprocs = 2,
				       .has_top = true, .quota_period = 'm',
				       .quota_bytes = 10ULL << 30, .quota_used = 6ULL << 30,
				       .quota_estimate = 12ULL << 30 };
	users[0].top = (struct snap_peer){ .owner = 1000, .family = TM_AF_INET6,
					   .addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
					   .netns = 4026532000u, .bytes = { 1, 2 },
					   .packets = { 3, 4 }, .rate = { 5.5, 6 } };
	for (int i = 0; i < SNAP_SPARK; i++)
		users[0].spark[i] = (float)(i * 1000);
	/* No rate yet: null in JSON, has_rate false on the way back. */
	users[1] = (struct snap_user){ .owner = NOSOCK, .bytes = { 1, 0 }, .packets = { 1, 0 } };
	users[2] = (struct snap_user){ .owner = KERNEL, .bytes = { 0, 60 }, .packets = { 0, 1 },
				       .has_rate = true, .quota_period = 'd', .quota_bytes = 1 };
	users[3] = (struct snap_user){ .owner = 0, .has_rate = true, .idle_s = 3600 };
	s.users = users;
	s.nusers = 4;

	s.have_peers = true;
	s.peers_of = 1000;
	peers[0] = (struct snap_peer){ .owner = 1000, .family = TM_AF_INET, .addr = { 8, 8, 8, 8 },
				       .bytes = { 100, 200 }, .packets = { 1, 2 },
				       .rate = { 10.5, 20 } };
	peers[1] = users[0].top;
	peers[2] = (struct snap_peer){ .owner = 1000, .family = TM_AF_INET,
				       .addr = { 10, 0, 0, 1 }, .netns = 4026532001u };
	peers[3] = (struct snap_peer){ .owner = 1000, .family = 0, .bytes = { 1 << 20, 0 },
				       .packets = { 1000, 0 }, .rate = { 99.875, 0 },
				       .folded = 65536, .folded_more = true };
	s.peers = peers;
	s.npeers = 4;

	s.have_procs = true;
	procs[0] = (struct snap_proc){ .owner = 1000, .tgid = 41, .comm = "curl",
				       .cgroup_id = 1234567890123ULL, .unit = "foo.scope",
				       .bytes = { 3000, 160 }, .packets = { 2, 2 },
				       .rate = { 1.5, 2.5 }, .has_rate = true, .nconns = 2 };
	procs[1] = (struct snap_proc){ .owner = 1000, .tgid = 0, .comm = "(exited)",
				       .exited = true, .nfolded = 3, .bytes = { 7, 8 } };
	procs[2] = (struct snap_proc){ .owner = NOSOCK, .tgid = 0, .comm = "(unknown)",
				       .has_rate = true };
	s.procs = procs;
	s.nprocs = 3;

	s.have_conns = true;
	s.conns_owner = 1000;
	s.conns_tgid = 41;
	conns[0] = (struct snap_conn){ .family = TM_AF_INET, .proto = 6, .lport = 40000,
				       .rport = 443, .addr = { 93, 184, 216, 34 },
				       .bytes = { 3000, 100 }, .packets = { 2, 1 },
				       .rate = { 0.125, 0 } };
	conns[1] = (struct snap_conn){ .family = TM_AF_INET6, .proto = 17, .lport = 5353,
				       .rport = 53, .addr = { [15] = 1 }, .netns = 4026532001u };
	conns[2] = (struct snap_conn){ .family = 0, .bytes = { 5, 5 }, .folded = 17 };
	s.conns = conns;
	s.nconns = 3;

	ign[0] = (struct ignore_entry){ .p = prefix("10.0.0.0/8"), .on = true };
	ign[1] = (struct ignore_entry){ .p = prefix("2001:db8::*"), .on = false };
	ign[2] = (struct ignore_entry){ .p = prefix("192.168.1.7"), .on = true };
	s.ignore = ign;
	s.nignore = 3;
	s.ignore_active = 2;

	s.nlogs = 2;
	snprintf(s.logs[0].name, sizeof(s.logs[0].name), "csv");
	snprintf(s.logs[0].target, sizeof(s.logs[0].target),
		 "/var/log/tmtop/traffic_user_eth0_<uid>.log");
	s.logs[0].st = (struct backend_stats){ .records = 100, .rows = 90, .bytes = 9000,
					       .write_errors = 1, .dropped = 2, .not_written = 3,
					       .rotations = 4, .open_files = 5, .healthy = 1 };
	snprintf(s.logs[0].st.last_error, sizeof(s.logs[0].st.last_error),
		 "/var/log/tmtop/x.log: No space left on device");
	snprintf(s.logs[0].st.remark, sizeof(s.logs[0].st.remark), "a \"quoted\" remark\n");
	snprintf(s.logs[1].name, sizeof(s.logs[1].name), "flows");
	return s;
}

/* ---- comparing, field by field ----------------------------------------------------------- */

#define EQ(f) assert_true(a->f == b->f)
#define EQS(f) assert_string_equal(a->f, b->f)
#define EQM(f) assert_memory_equal(a->f, b->f, sizeof(a->f))

static void peer_eq(const struct snap_peer *a, const struct snap_peer *b)
{
	EQ(owner);
	EQ(family);
	EQM(addr);
	EQ(netns);
	EQM(bytes);
	EQM(packets);
	EQ(rate[0]);
	EQ(rate[1]);
	EQ(folded);
	EQ(folded_more);
}

static void user_eq(const struct snap_user *a, const struct snap_user *b)
{
	EQ(owner);
	EQM(bytes);
	EQM(packets);
	EQ(has_rate);
	EQ(rate[0]);
	EQ(rate[1]);
	EQ(idle_s);
	EQ(npeers);
	EQ(nprocs);
	EQ(has_top);
	if (a->has_top)
		peer_eq(&a->top, &b->top);
	for (int i = 0; i < SNAP_SPARK; i++)
		EQ(spark[i]);
	EQ(quota_period);
	EQ(quota_bytes);
	EQ(quota_used);
	EQ(quota_estimate);
}

static void proc_eq(const struct snap_proc *a, const struct snap_proc *b)
{
	EQ(owner);
	EQ(tgid);
	EQS(comm);
	EQ(cgroup_id);
	EQS(unit);
	EQ(exited);
	EQ(nfolded);
	EQM(bytes);
	EQM(packets);
	EQ(has_rate);
	EQ(rate[0]);
	EQ(rate[1]);
	EQ(nconns);
}

static void conn_eq(const struct snap_conn *a, const struct snap_conn *b)
{
	EQ(family);
	EQ(proto);
	EQ(lport);
	EQ(rport);
	EQM(addr);
	EQ(netns);
	EQM(bytes);
	EQM(packets);
	EQ(rate[0]);
	EQ(rate[1]);
	EQ(folded);
}

static void snap_eq(const struct snapshot *a, const struct snapshot *b)
{
	EQ(version);
	EQ(seq);
	EQ(taken.tv_sec);
	EQ(taken.tv_nsec);
	EQ(restricted);
	EQ(meter.pid);
	EQS(meter.version);
	EQ(meter.started.tv_sec);
	EQ(meter.uptime_s);
	EQS(meter.cgroup);
	EQS(meter.nic);
	EQS(meter.iface);
	EQ(meter.ignore_mode);
	EQ(meter.host_netns);
	EQ(meter.window_s);
	EQ(meter.standalone);
	EQ(stats.events);
	EQ(stats.events_per_s);
	EQ(stats.lost);
	EQ(stats.sock_lost);
	EQ(stats.table_full);
	EQ(stats.kernel_evicted);
	EQ(stats.evicted);
	EQ(stats.forgotten);
	EQ(stats.peers_folded);
	EQ(stats.users);
	EQ(stats.kernel_owners);
	EQ(stats.sockets);
	EQM(totals.bytes);
	EQM(totals.packets);
	EQ(totals.rate[0]);
	EQ(totals.rate[1]);
	EQ(totals.has_rate);
	EQ(nusers);
	for (size_t i = 0; i < a->nusers; i++)
		user_eq(&a->users[i], &b->users[i]);
	EQ(have_peers);
	EQ(peers_of);
	EQ(npeers);
	for (size_t i = 0; i < a->npeers; i++)
		peer_eq(&a->peers[i], &b->peers[i]);
	EQ(have_procs);
	EQ(nprocs);
	for (size_t i = 0; i < a->nprocs; i++)
		proc_eq(&a->procs[i], &b->procs[i]);
	EQ(have_conns);
	EQ(conns_owner);
	EQ(conns_tgid);
	EQ(nconns);
	for (size_t i = 0; i < a->nconns; i++)
		conn_eq(&a->conns[i], &b->conns[i]);
	EQ(nignore);
	for (size_t i = 0; i < a->nignore; i++) {
		EQ(ignore[i].on);
		EQ(ignore[i].p.family);
		EQ(ignore[i].p.len);
		EQM(ignore[i].p.addr);
	}
	EQ(ignore_active);
	EQ(nlogs);
	for (size_t i = 0; i < a->nlogs; i++) {
		EQS(logs[i].name);
		EQS(logs[i].target);
		EQ(logs[i].st.records);
		EQ(logs[i].st.rows);
		EQ(logs[i].st.bytes);
		EQ(logs[i].st.write_errors);
		EQ(logs[i].st.dropped);
		EQ(logs[i].st.not_written);
		EQ(logs[i].st.rotations);
		EQ(logs[i].st.open_files);
		EQ(logs[i].st.healthy);
		EQS(logs[i].st.last_error);
		EQS(logs[i].st.remark);
	}
}

/* Encode, print, parse as a line, decode: the whole trip a snapshot makes over the socket. */
static int round_trip(const struct snapshot *in, bool with_names, struct snapshot *out,
		      char **text)
{
	json_object *o = proto_snapshot_to_json(in, with_names), *back;
	const char *t;
	int ret;

	assert_non_null(o);
	t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	assert_null(strchr(t, '\n'));	/* one line: the protocol is line-framed */
	if (text)
		*text = strdup(t);
	back = proto_parse_line(t, strlen(t), err, sizeof(err));
	json_object_put(o);
	if (!back)
		fail_msg("parse: %s", err);
	err[0] = '\0';
	ret = proto_snapshot_from_json(back, out, err, sizeof(err));
	json_object_put(back);
	return ret;
}

static void test_round_trip(void **state)
{
	struct snapshot s = full_snapshot(), back, again;
	char *text;

	for (int names = 0; names < 2; names++) {
		assert_int_equal(round_trip(&s, names, &back, &text), 0);
		snap_eq(&s, &back);
		/* Names are for people and scripts: present only when asked for. */
		if (names)
			assert_non_null(strstr(text, "\"user\":\"root\""));
		else
			assert_null(strstr(text, "\"user\":"));
		free(text);
		/* ... and a decoded snapshot goes round again unchanged. */
		assert_int_equal(round_trip(&back, names, &again, NULL), 0);
		snap_eq(&back, &again);
		snapshot_free(&back);
		snapshot_free(&again);
	}
}

/*
 * A process may name itself with any bytes (prctl, a crafted argv[0]) and a unit or a user name
 * may be anything: the answer stays valid UTF-8, each stray byte U+FFFD, valid text untouched.
 */
static void test_text_stays_utf8(void **state)
{
	struct snapshot s = full_snapshot(), back;
	json_object *o;
	char *text;

	snprintf(s.procs[0].comm, sizeof(s.procs[0].comm), "a\xff\xc3(\xe2\x82\xac\xed\xa0\x80");
	snprintf(s.procs[0].unit, sizeof(s.procs[0].unit), "caf\xc3\xa9.service");
	assert_int_equal(round_trip(&s, true, &back, &text), 0);
	assert_non_null(strstr(text, "\"comm\":\"a\xef\xbf\xbd\xef\xbf\xbd(\xe2\x82\xac"
				     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""));
	assert_non_null(strstr(text, "\"unit\":\"caf\xc3\xa9.service\""));
	free(text);
	snapshot_free(&back);
	/* proto_text itself: the length counts, not a NUL */
	o = proto_text("x\x80y!", 3);

	assert_string_equal(json_object_get_string(o), "x\xef\xbf\xbdy");
	json_object_put(o);
}

/* Fields that are not there yet are null, never a 0 that looks like a measurement. */
static void test_null_rates(void **state)
{
	struct snapshot s = full_snapshot(), back;
	char *text;

	s.totals.has_rate = false;
	s.users[0].has_rate = false;
	s.users[0].has_top = false;
	assert_int_equal(round_trip(&s, false, &back, &text), 0);
	assert_non_null(strstr(text, "\"totals\":{\"in_bytes\":18446744073709551615,"
				     "\"out_bytes\":9007199254740993,\"in_packets\":3,"
				     "\"out_packets\":4,\"in_rate\":null,\"out_rate\":null}"));
	assert_non_null(strstr(text, "\"owner\":\"nosocket\",\"uid\":null,"));
	assert_non_null(strstr(text, "\"top_peer\":null"));
	assert_false(back.totals.has_rate);
	assert_true(back.totals.rate[0] == 0);
	assert_false(back.users[0].has_rate);
	assert_true(back.users[0].rate[0] == 0);
	assert_false(back.users[0].has_top);
	assert_false(back.users[1].has_rate);
	assert_true(back.users[2].has_rate);	/* a rate of 0 is a rate */
	assert_true(back.users[2].rate[0] == 0);
	snapshot_free(&back);
	free(text);
}

/* A viewer's own view: no stats, totals, ignore list or logs cross the socket. */
static void test_restricted(void **state)
{
	struct snapshot s = full_snapshot(), back;
	char *text;

	s.restricted = true;
	s.nusers = 1;
	assert_int_equal(round_trip(&s, false, &back, &text), 0);
	assert_null(strstr(text, "\"stats\""));
	assert_null(strstr(text, "\"totals\""));
	assert_null(strstr(text, "\"ignore\""));
	assert_null(strstr(text, "\"logs\""));
	assert_true(back.restricted);
	assert_int_equal(back.stats.events, 0);
	assert_int_equal(back.totals.bytes[0], 0);
	assert_int_equal(back.nignore, 0);
	assert_int_equal(back.nlogs, 0);
	assert_int_equal(back.nusers, 1);
	user_eq(&s.users[0], &back.users[0]);
	snapshot_free(&back);
	free(text);
}

/* What a snapshot without peers, processes or connections says: nothing about them. */
static void test_minimal(void **state)
{
	struct snapshot s = { .version = SNAP_VERSION }, back;
	char *text;

	assert_int_equal(round_trip(&s, false, &back, &text), 0);
	assert_null(strstr(text, "\"peers\""));
	assert_null(strstr(text, "\"processes\""));
	assert_null(strstr(text, "\"connections\""));
	assert_non_null(strstr(text, "\"users\":[]"));
	assert_false(back.have_peers || back.have_procs || back.have_conns);
	assert_int_equal(back.nusers, 0);
	snap_eq(&s, &back);
	snapshot_free(&back);
	free(text);
	/* The peers asked for may be none: still a list, still whose. */
	s.have_peers = true;
	s.peers_of = 1000;
	assert_int_equal(round_trip(&s, false, &back, NULL), 0);
	assert_true(back.have_peers);
	assert_int_equal(back.peers_of, 1000);
	assert_int_equal(back.npeers, 0);
	snapshot_free(&back);
}

/* Every owner's peers (history, flows): each peer names its owner. */
static void test_peers_of_several_owners(void **state)
{
	struct snapshot s = full_snapshot(), back;
	char *text;

	s.peers_of = 0;
	s.peers[1].owner = 33;
	s.peers[2].owner = NOSOCK;
	assert_int_equal(round_trip(&s, false, &back, &text), 0);
	assert_int_equal(back.peers_of, 0);
	for (size_t i = 0; i < s.npeers; i++)
		peer_eq(&s.peers[i], &back.peers[i]);
	assert_non_null(strstr(text, "\"owner\":\"33\""));
	snapshot_free(&back);
	free(text);
	/* The owner asked for reads back even when the list holds others. */
	s.peers_of = 1000;
	assert_int_equal(round_trip(&s, false, &back, NULL), 0);
	snap_eq(&s, &back);
	snapshot_free(&back);
}

/* Single fields: owner tokens and addresses both ways. */
static void test_owner_and_addr(void **state)
{
	json_object *o = json_object_new_object();
	uint8_t fam, a[16], v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	char buf[64];
	tm_owner_t w = 1;

	proto_put_owner(o, 4294967294u, false);
	assert_int_equal(proto_get_owner(o, &w), 0);
	assert_int_equal(w, 4294967294u);
	json_object_put(o);
	o = json_object_new_object();
	proto_put_owner(o, KERNEL, true);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			    "{\"owner\":\"kernel\",\"uid\":null,\"user\":\"(kernel)\"}");
	assert_int_equal(proto_get_owner(o, &w), 0);
	assert_int_equal(w, KERNEL);
	json_object_put(o);
	/* "uid" alone works; anything else does not. */
	o = json_tokener_parse("{\"uid\":1000}");
	assert_int_equal(proto_get_owner(o, &w), 0);
	assert_int_equal(w, 1000);
	json_object_put(o);
	for (const char *bad[] = { "{\"uid\":-1}", "{\"uid\":4294967295}", "{\"uid\":\"5\"}",
				   "{\"owner\":\"alice\"}", "{\"owner\":\"\"}", "{}",
				   "{\"owner\":\"12345678901\"}" },
	     **p = bad; p < bad + 7; p++) {
		o = json_tokener_parse(*p);
		w = 77;
		assert_int_equal(proto_get_owner(o, &w), -EINVAL);
		assert_int_equal(w, 77);
		json_object_put(o);
	}
	assert_string_equal(proto_addr(buf, sizeof(buf), TM_AF_INET6, v6), "2001:db8::1");
	assert_string_equal(proto_addr(buf, sizeof(buf), 0, v6), "");
	assert_int_equal(proto_parse_addr("2001:db8::1", &fam, a), 0);
	assert_int_equal(fam, TM_AF_INET6);
	assert_memory_equal(a, v6, 16);
	assert_int_equal(proto_parse_addr("", &fam, a), 0);
	assert_int_equal(fam, 0);
	assert_int_equal(proto_parse_addr("10.0.0.256", &fam, a), -EINVAL);
	assert_int_equal(proto_parse_addr("10.0.0.0/8", &fam, a), -EINVAL);
}

static int decode_text(const char *text, struct snapshot *s)
{
	json_object *o = json_tokener_parse(text);
	int ret;

	if (!o)
		fail_msg("test input is not JSON: %s", text);
	err[0] = '\0';
	ret = proto_snapshot_from_json(o, s, err, sizeof(err));
	json_object_put(o);
	if (ret) {
		/* Refused: nothing left to free, nothing half-filled. */
		assert_null(s->users);
		assert_null(s->peers);
		assert_null(s->procs);
		assert_null(s->conns);
		assert_null(s->ignore);
	}
	return ret;
}

static void bad_input(const char *text, int want, const char *field)
{
	struct snapshot s;
	int ret = decode_text(text, &s);

	if (ret != want)
		fail_msg("%s: %d, want %d (%s)", text, ret, want, err);
	if (!strstr(err, field))
		fail_msg("%s: error '%s' does not name '%s'", text, err, field);
	assert_null(strchr(err, '\n'));
}

static void test_bad_input(void **state)
{
	bad_input("{\"v\":2}", -EPROTO, "protocol version 2");
	bad_input("{}", -EPROTO, "protocol version");
	bad_input("{\"v\":1.9e10}", -EPROTO, "protocol version");
	bad_input("[1,2]", -EINVAL, "not an object");
	bad_input("\"snapshot\"", -EINVAL, "not an object");
	bad_input("{\"v\":1,\"users\":{}}", -EINVAL, "users: not an array");
	bad_input("{\"v\":1,\"users\":[{\"owner\":\"alice\"}]}", -EINVAL, "user: bad owner");
	bad_input("{\"v\":1,\"users\":[{}]}", -EINVAL, "user: bad owner");
	bad_input("{\"v\":1,\"users\":[{\"owner\":\"1\",\"top_peer\":{\"addr\":\"x\"}}]}", -EINVAL,
		  "peer: bad addr");
	bad_input("{\"v\":1,\"peers\":{}}", -EINVAL, "peers: no list");
	bad_input("{\"v\":1,\"peers\":{\"list\":5}}", -EINVAL, "peers: no list");
	bad_input("{\"v\":1,\"peers\":{\"list\":[{\"addr\":\"1.2.3\"}]}}", -EINVAL,
		  "peer: bad addr \"1.2.3\"");
	bad_input("{\"v\":1,\"peers\":{\"list\":[{\"addr\":null}]}}", -EINVAL,
		  "peer: bad addr null");
	bad_input("{\"v\":1,\"peers\":{\"list\":[{\"addr\":[]}]}}", -EINVAL, "peer: bad addr");
	bad_input("{\"v\":1,\"processes\":[{\"pid\":1}]}", -EINVAL, "process: bad owner");
	bad_input("{\"v\":1,\"processes\":{\"pid\":1}}", -EINVAL, "processes: not an array");
	bad_input("{\"v\":1,\"processes\":[{\"owner\":\"1\",\"comm\":5}]}", -EINVAL,
		  "field comm: not a string");
	bad_input("{\"v\":1,\"connections\":{}}", -EINVAL, "connections: no list");
	bad_input("{\"v\":1,\"connections\":{\"list\":[{\"addr\":\"::g\"}]}}", -EINVAL,
		  "connection: bad addr");
	bad_input("{\"v\":1,\"connections\":{\"list\":[{\"addr\":null}]}}", -EINVAL,
		  "connection: bad addr");
	bad_input("{\"v\":1,\"ignore\":[{\"prefix\":\"10.*.1.*\"}]}", -EINVAL,
		  "ignore: bad prefix \"10.*.1.*\"");
	bad_input("{\"v\":1,\"ignore\":[{\"prefix\":null}]}", -EINVAL, "ignore: bad prefix");
	bad_input("{\"v\":1,\"ignore\":[{\"on\":true}]}", -EINVAL, "ignore: bad prefix");
	bad_input("{\"v\":1,\"ignore\":[7]}", -EINVAL, "ignore: bad prefix");
	bad_input("{\"v\":1,\"meter\":{\"version\":5}}", -EINVAL, "field version");
	bad_input("{\"v\":1,\"logs\":[{\"last_error\":{}}]}", -EINVAL, "field last_error");
}

/* What is odd but harmless is taken, without crashing or inventing numbers. */
static void test_odd_input(void **state)
{
	struct snapshot s;

	assert_int_equal(decode_text("{\"v\":1,\"meter\":{\"ignore_mode\":null},\"users\":[{"
				     "\"owner\":\"5\",\"quota\":{\"period\":null,\"limit\":9},"
				     "\"in_rate\":NaN,\"out_rate\":Infinity,"
				     "\"spark\":[1e300,-Infinity,null,\"x\",3]}],"
				     "\"time\":1e300,\"unknown\":{\"field\":[1]}}", &s), 0);
	assert_int_equal(s.meter.ignore_mode, 0);
	assert_int_equal(s.nusers, 1);
	assert_int_equal(s.users[0].quota_period, 'm');
	assert_int_equal(s.users[0].quota_bytes, 9);
	assert_false(s.users[0].has_rate);	/* no finite rate: none */
	assert_true(s.users[0].spark[0] == 0 && s.users[0].spark[1] == 0);
	assert_true(s.users[0].spark[4] == 3);
	assert_int_equal(s.taken.tv_sec, 0);
	snapshot_free(&s);
	/* More logs than a snapshot holds: the first SNAP_MAX_LOGS. */
	assert_int_equal(decode_text("{\"v\":1,\"logs\":[{\"rows\":1},{},{},{},{},{\"rows\":6}]}",
				     &s), 0);
	assert_int_equal(s.nlogs, SNAP_MAX_LOGS);
	assert_int_equal(s.logs[0].st.rows, 1);
	snapshot_free(&s);
	/* Milliseconds, rounded the way they were written. */
	assert_int_equal(decode_text("{\"v\":1,\"time\":1732985432.123}", &s), 0);
	assert_int_equal(s.taken.tv_sec, 1732985432);
	assert_int_equal(s.taken.tv_nsec, 123000000);
	snapshot_free(&s);
	assert_int_equal(decode_text("{\"v\":1,\"time\":-5}", &s), 0);
	assert_int_equal(s.taken.tv_sec, 0);
	snapshot_free(&s);
}

static void test_parse_line(void **state)
{
	static const char *const garbage[] = {
		"", "hello", "{", "{\"cmd\":", "{\"cmd\":\"snapshot\"", "\x01\x02", "\xff\xfe{}",
		"{\"a\" 1}", "{\"a\":tru}",
	};
	json_object *o;
	char *line;
	size_t n;

	o = proto_parse_line("{\"cmd\":\"snapshot\"}", 18, err, sizeof(err));
	assert_non_null(o);
	json_object_put(o);
	/* The length given counts, not a NUL: a line from a buffer. */
	o = proto_parse_line("{\"cmd\":1}garbage", 9, err, sizeof(err));
	assert_non_null(o);
	json_object_put(o);
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		err[0] = '\0';
		assert_null(proto_parse_line(garbage[i], strlen(garbage[i]), err, sizeof(err)));
		if (strncmp(err, "not JSON at offset", 18))
			fail_msg("'%s': %s", garbage[i], err);
	}
	/* Strict JSON, one object and nothing after it but blanks; a request is valid UTF-8. */
	for (const char *bad[] = { "{\"cmd\":1}x", "{\"cmd\":1}{}", "{\"cmd\":1,}",
				   "{\"cmd\":1/*c*/}", "{\"cmd\":01}" }, **p = bad; p < bad + 5; p++) {
		err[0] = '\0';
		assert_null(proto_parse_line(*p, strlen(*p), err, sizeof(err)));
		if (strncmp(err, "not JSON at offset", 18))
			fail_msg("'%s': %s", *p, err);
	}
	assert_null(proto_parse_line("{\"cmd\":1} x", 11, err, sizeof(err)));
	assert_string_equal(err, "not JSON at offset 10: unexpected character");
	o = proto_parse_request("{\"cmd\":\"snapshot\"} \r", 20, err, sizeof(err));
	assert_non_null(o);
	json_object_put(o);
	assert_null(proto_parse_request("{\"cmd\":\"\xff\"}", 11, err, sizeof(err)));
	assert_non_null(strstr(err, "invalid utf-8"));
	o = proto_parse_line("{\"comm\":\"\xff\"}", 12, err, sizeof(err));	/* an answer */
	assert_non_null(o);
	json_object_put(o);
	/* A line that ends too soon says so. */
	assert_null(proto_parse_line("{\"cmd\":", 7, err, sizeof(err)));
	assert_string_equal(err, "not JSON at offset 7: unexpected end of data");
	for (const char *nonobj[] = { "[1,2]", "\"cmd\"", "true ", "null ", "12 " }, **p = nonobj;
	     p < nonobj + 5; p++) {
		err[0] = '\0';
		assert_null(proto_parse_line(*p, strlen(*p), err, sizeof(err)));
		assert_string_equal(err, "a request is a JSON object");
	}
	/* A line as long as a server takes: parsed whole, in one piece. */
	line = malloc(PROTO_LINE_MAX + 1);
	assert_non_null(line);
	n = (size_t)snprintf(line, PROTO_LINE_MAX, "{\"cmd\":\"x\",\"pad\":\"");
	memset(line + n, 'a', PROTO_LINE_MAX - n - 2);
	memcpy(line + PROTO_LINE_MAX - 2, "\"}", 2);
	o = proto_parse_line(line, PROTO_LINE_MAX, err, sizeof(err));
	assert_non_null(o);
	assert_int_equal(strlen(json_object_get_string(json_object_object_get(o, "pad"))),
			 PROTO_LINE_MAX - n - 2);
	json_object_put(o);
	/* ... and one of garbage, or too deep, is refused with where it went wrong. */
	memset(line, '{', PROTO_LINE_MAX);
	assert_null(proto_parse_line(line, PROTO_LINE_MAX, err, sizeof(err)));
	assert_non_null(strstr(err, "not JSON at offset"));
	for (size_t i = 0; i < PROTO_LINE_MAX; i++)
		line[i] = "[]"[i >= PROTO_LINE_MAX / 2];
	assert_null(proto_parse_line(line, PROTO_LINE_MAX, err, sizeof(err)));
	assert_non_null(strstr(err, "not JSON at offset"));
	memset(line, 'x', PROTO_LINE_MAX);
	assert_null(proto_parse_line(line, PROTO_LINE_MAX, err, sizeof(err)));
	free(line);
}

static int teardown_group(void **state)
{
	users_cache_free();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_text_stays_utf8),
		cmocka_unit_test(test_null_rates),
		cmocka_unit_test(test_restricted),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_peers_of_several_owners),
		cmocka_unit_test(test_owner_and_addr),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_odd_input),
		cmocka_unit_test(test_parse_line),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, teardown_group);
}
