// SPDX-License-Identifier: GPL-2.0
/* The column tables (see table.h): users, peers, processes, connections, the ignore list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "meter/users.h"
#include "tui/format.h"
#include "tui/resolver.h"
#include "tui/table.h"

#define ROW(t, r) ((const t *)(r)->data)

static inline int cmp_u64(uint64_t x, uint64_t y)
{
	return x < y ? -1 : x > y;
}

static inline int cmp_dbl(double x, double y)
{
	return x < y ? -1 : x > y;
}

/* Row keys hold numbers most significant byte first: ties sort as the numbers do. */
static inline size_t put_be(uint8_t *buf, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return n;
}

/* ---- shared cell printers ---------------------------------------------------------------- */

static void cell_rate(const struct col_ctx *ctx, bool has, double v, enum tui_color color,
		      struct cell *out)
{
	out->color = color;
	out->magnitude = has ? v : 0;
	if (!has)
		snprintf(out->text, sizeof(out->text), "-");
	else if (ctx->raw)
		snprintf(out->text, sizeof(out->text), "%.0f", ctx->bits ? v * 8 : v);
	else
		fmt_rate(out->text, sizeof(out->text), v, ctx->bits);
}

static void cell_bytes(const struct col_ctx *ctx, uint64_t v, struct cell *out)
{
	out->color = COLOR_TOTAL;
	out->magnitude = (double)v;
	if (ctx->raw)
		snprintf(out->text, sizeof(out->text), "%llu", (unsigned long long)v);
	else
		fmt_bytes(out->text, sizeof(out->text), v);
}

static void cell_text(const struct col_ctx *ctx, const char *s, enum tui_color color,
		      struct cell *out)
{
	out->color = color;
	out->magnitude = -1;
	if (ctx->raw)
		fmt_token(out->text, sizeof(out->text), *s ? s : "-");
	else
		snprintf(out->text, sizeof(out->text), "%s", s);
}

/* "addr", with the network namespace it was seen in when that is not the meter's own. */
static void addr_text(const struct col_ctx *ctx, uint8_t family, const uint8_t *addr,
		      uint32_t netns, char *buf, size_t len)
{
	char a[64];

	fmt_addr(a, sizeof(a), family, addr);
	if (!netns)
		snprintf(buf, len, "%s", a);
	else if (ctx->raw)
		snprintf(buf, len, "%s@netns:%u", a, netns);
	else
		snprintf(buf, len, "%s [netns %u]", a, netns);
}

static bool match_text(const char *s, const char *filter)
{
	return s && strcasestr(s, filter);
}

/* ---- users ------------------------------------------------------------------------------- */

static void u_user(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_user *u = ROW(struct snap_user, r);

	cell_text(ctx, r->name, OWNER_IS_USER(u->owner) ? COLOR_NORMAL : COLOR_NOSOCK, out);
}

static void u_uid(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_user *u = ROW(struct snap_user, r);

	out->color = COLOR_NORMAL;
	out->magnitude = -1;
	if (OWNER_IS_USER(u->owner))
		snprintf(out->text, sizeof(out->text), "%u", OWNER_UID(u->owner));
	else
		snprintf(out->text, sizeof(out->text), "-");
}

static void u_in(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_user *u = ROW(struct snap_user, r);

	cell_rate(ctx, u->has_rate, u->rate[TM_DIR_IN], COLOR_RATE_IN, out);
}

static void u_out(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_user *u = ROW(struct snap_user, r);

	cell_rate(ctx, u->has_rate, u->rate[TM_DIR_OUT], COLOR_RATE_OUT, out);
}

static void u_totin(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	cell_bytes(ctx, ROW(struct snap_user, r)->bytes[TM_DIR_IN], out);
}

static void u_totout(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	cell_bytes(ctx, ROW(struct snap_user, r)->bytes[TM_DIR_OUT], out);
}

static void u_graph(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_user *u = ROW(struct snap_user, r);

	out->color = COLOR_GRAPH;
	out->magnitude = -1;
	spark_text(u->spark, SNAP_SPARK, ctx->graph_cells, ctx->ascii, out->text,
		   sizeof(out->text));
}

static void u_quota(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_user *u = ROW(struct snap_user, r);
	char a[FMT_LEN], b[FMT_LEN];

	out->magnitude = -1;
	out->color = COLOR_NORMAL;
	if (!u->quota_period) {
		snprintf(out->text, sizeof(out->text), "-");
		out->color = COLOR_ZERO;
		return;
	}
	if (u->quota_used >= u->quota_bytes)
		out->color = COLOR_ERROR;
	else if (u->quota_estimate > u->quota_bytes)
		out->color = COLOR_WARN;
	if (ctx->raw)
		snprintf(out->text, sizeof(out->text), "%llu/%llu%s",
			 (unsigned long long)u->quota_used, (unsigned long long)u->quota_bytes,
			 u->quota_period == 'd' ? "/day" : "/month");
	else
		snprintf(out->text, sizeof(out->text), "%3.0f%% of %s/%s",
			 u->quota_bytes ? 100.0 * (double)u->quota_used / (double)u->quota_bytes : 0,
			 fmt_bytes(a, sizeof(a), u->quota_bytes), u->quota_period == 'd' ? "d" : "m");
	(void)b;
}

static bool any_quota(const struct snapshot *s)
{
	for (size_t i = 0; i < s->nusers; i++)
		if (s->users[i].quota_period)
			return true;
	return false;
}

static void u_top(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_user *u = ROW(struct snap_user, r);

	out->magnitude = -1;
	if (!u->has_top) {
		snprintf(out->text, sizeof(out->text), "-");
		out->color = COLOR_ZERO;
		return;
	}
	out->color = u->top.netns ? COLOR_WARN : COLOR_PEER;
	addr_text(ctx, u->top.family, u->top.addr, u->top.netns, out->text, sizeof(out->text));
}

static int u_cmp_name(const struct row *a, const struct row *b)
{
	int r = strcasecmp(a->name, b->name);

	return r ? r : strcmp(a->name, b->name);
}

static int u_cmp_uid(const struct row *a, const struct row *b)
{
	return cmp_u64(ROW(struct snap_user, a)->owner, ROW(struct snap_user, b)->owner);
}

/* A user without a rate yet sorts below every user with one, even 0: "-" goes last. */
static double u_rate(const struct row *r, int dir)
{
	const struct snap_user *u = ROW(struct snap_user, r);

	if (!u->has_rate)
		return -1;
	return dir < 0 ? u->rate[0] + u->rate[1] : u->rate[dir];
}

static int u_cmp_rate(const struct row *a, const struct row *b)
{
	return cmp_dbl(u_rate(a, -1), u_rate(b, -1));
}

static int u_cmp_in(const struct row *a, const struct row *b)
{
	return cmp_dbl(u_rate(a, TM_DIR_IN), u_rate(b, TM_DIR_IN));
}

static int u_cmp_out(const struct row *a, const struct row *b)
{
	return cmp_dbl(u_rate(a, TM_DIR_OUT), u_rate(b, TM_DIR_OUT));
}

static int u_cmp_totin(const struct row *a, const struct row *b)
{
	return cmp_u64(ROW(struct snap_user, a)->bytes[0], ROW(struct snap_user, b)->bytes[0]);
}

static int u_cmp_totout(const struct row *a, const struct row *b)
{
	return cmp_u64(ROW(struct snap_user, a)->bytes[1], ROW(struct snap_user, b)->bytes[1]);
}

static int u_cmp_quota(const struct row *a, const struct row *b)
{
	const struct snap_user *x = ROW(struct snap_user, a), *y = ROW(struct snap_user, b);
	double fx = x->quota_bytes ? (double)x->quota_used / (double)x->quota_bytes : -1;
	double fy = y->quota_bytes ? (double)y->quota_used / (double)y->quota_bytes : -1;

	return cmp_dbl(fx, fy);
}

static size_t u_key(const struct row *r, uint8_t *buf, size_t len)
{
	return put_be(buf, ROW(struct snap_user, r)->owner, 8);
}

static bool u_match(const struct row *r, const char *filter)
{
	char tok[OWNER_TOKEN_LEN];

	return match_text(r->name, filter) ||
	       match_text(owner_token(ROW(struct snap_user, r)->owner, tok, sizeof(tok)), filter);
}

static const struct column user_cols[] = {
	{ .id = "user", .title = "USER", .batch = "USER",
	  .help = "user name (or uid without one)", .width = 13, .cmp = u_cmp_name,
	  .cell = u_user },
	{ .id = "uid", .title = "UID", .batch = "UID", .help = "numeric uid", .width = 7,
	  .right = true, .cmp = u_cmp_uid, .cell = u_uid },
	{ .id = "rate", .title = "RATE", .help = "in + out rate", .right = true, .desc = true,
	  .hidden = true, .marks = "in out", .cmp = u_cmp_rate },
	{ .id = "in", .title = "IN/s", .batch = "IN/s", .help = "receive rate", .width = 8,
	  .right = true, .desc = true, .cmp = u_cmp_in, .cell = u_in },
	{ .id = "out", .title = "OUT/s", .batch = "OUT/s", .help = "send rate", .width = 8,
	  .right = true, .desc = true, .cmp = u_cmp_out, .cell = u_out },
	{ .id = "totin", .title = "TOT IN", .batch = "TOT_IN", .help = "bytes received, exact",
	  .width = 8, .right = true, .desc = true, .cmp = u_cmp_totin, .cell = u_totin },
	{ .id = "totout", .title = "TOT OUT", .batch = "TOT_OUT", .help = "bytes sent, exact",
	  .width = 8, .right = true, .desc = true, .cmp = u_cmp_totout, .cell = u_totout },
	{ .title = "LAST MINUTE", .help = "in + out rate over the last minute", .width = 15,
	  .min_screen = 96, .cell = u_graph },
	{ .id = "quota", .title = "QUOTA", .help = "use of the user's quota this day or month",
	  .width = 15, .right = true, .desc = true, .present = any_quota, .cmp = u_cmp_quota,
	  .cell = u_quota },
	{ .title = "TOP PEER", .batch = "TOP_PEER", .help = "the peer with the highest rate",
	  .cell = u_top },
};

const struct table tbl_users = {
	.name = "users",
	.cols = user_cols,
	.ncols = sizeof(user_cols) / sizeof(user_cols[0]),
	.default_sort = 2,
	.key = u_key,
	.match = u_match,
};

/* ---- peers ------------------------------------------------------------------------------- */

static void p_addr(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_peer *p = ROW(struct snap_peer, r);

	out->magnitude = -1;
	if (!p->family) {
		out->color = COLOR_ZERO;
		snprintf(out->text, sizeof(out->text), ctx->raw ? "other(%llu%s)" :
			 "other (%llu%s peers)", (unsigned long long)p->folded,
			 p->folded_more ? "+" : "");
		return;
	}
	out->color = COLOR_PEER;
	fmt_addr(out->text, sizeof(out->text), p->family, p->addr);
}

static void p_netns(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_peer *p = ROW(struct snap_peer, r);

	out->magnitude = -1;
	out->color = p->netns ? COLOR_WARN : COLOR_ZERO;
	if (p->netns)
		snprintf(out->text, sizeof(out->text), "%u", p->netns);
	else
		snprintf(out->text, sizeof(out->text), "%s", ctx->raw ? "-" : "host");
}

static void p_in(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	cell_rate(ctx, true, ROW(struct snap_peer, r)->rate[TM_DIR_IN], COLOR_RATE_IN, out);
}

static void p_out(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	cell_rate(ctx, true, ROW(struct snap_peer, r)->rate[TM_DIR_OUT], COLOR_RATE_OUT, out);
}

static void p_totin(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	cell_bytes(ctx, ROW(struct snap_peer, r)->bytes[TM_DIR_IN], out);
}

static void p_totout(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	cell_bytes(ctx, ROW(struct snap_peer, r)->bytes[TM_DIR_OUT], out);
}

static void p_name(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_peer *p = ROW(struct snap_peer, r);
	bool ok;

	out->magnitude = -1;
	out->text[0] = '\0';
	out->color = COLOR_ZERO;
	if (!ctx->resolve || !p->family || p->netns)
		return;	/* a name from our resolver means nothing for another namespace */
	ok = resolver_lookup(p->family, p->addr, out->text, sizeof(out->text));
	out->color = ok ? COLOR_NORMAL : COLOR_ZERO;
	if (!ok)
		snprintf(out->text, sizeof(out->text), "...");
}

static double p_rate(const struct row *r, int dir)
{
	const struct snap_peer *p = ROW(struct snap_peer, r);

	return dir < 0 ? p->rate[0] + p->rate[1] : p->rate[dir];
}

static int p_cmp_rate(const struct row *a, const struct row *b)
{
	int c = cmp_dbl(p_rate(a, -1), p_rate(b, -1));
	const struct snap_peer *x = ROW(struct snap_peer, a), *y = ROW(struct snap_peer, b);

	return c ? c : cmp_u64(x->bytes[0] + x->bytes[1], y->bytes[0] + y->bytes[1]);
}

static int p_cmp_in(const struct row *a, const struct row *b)
{
	return cmp_dbl(p_rate(a, TM_DIR_IN), p_rate(b, TM_DIR_IN));
}

static int p_cmp_out(const struct row *a, const struct row *b)
{
	return cmp_dbl(p_rate(a, TM_DIR_OUT), p_rate(b, TM_DIR_OUT));
}

static int p_cmp_totin(const struct row *a, const struct row *b)
{
	return cmp_u64(ROW(struct snap_peer, a)->bytes[0], ROW(struct snap_peer, b)->bytes[0]);
}

static int p_cmp_totout(const struct row *a, const struct row *b)
{
	return cmp_u64(ROW(struct snap_peer, a)->bytes[1], ROW(struct snap_peer, b)->bytes[1]);
}

static int p_cmp_addr(const struct row *a, const struct row *b)
{
	const struct snap_peer *x = ROW(struct snap_peer, a), *y = ROW(struct snap_peer, b);

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

static int p_cmp_netns(const struct row *a, const struct row *b)
{
	return cmp_u64(ROW(struct snap_peer, a)->netns, ROW(struct snap_peer, b)->netns);
}

static size_t p_key(const struct row *r, uint8_t *buf, size_t len)
{
	const struct snap_peer *p = ROW(struct snap_peer, r);

	buf[0] = p->family;
	memcpy(buf + 1, p->addr, 16);
	return 17 + put_be(buf + 17, p->netns, 4);
}

static bool p_match(const struct row *r, const char *filter)
{
	struct col_ctx ctx = { 0 };
	struct cell c;

	p_addr(&ctx, r, &c);
	return match_text(c.text, filter);
}

static const struct column peer_cols[] = {
	{ .id = "addr", .title = "ADDRESS", .batch = "ADDRESS", .help = "the peer's address",
	  .width = 22, .cmp = p_cmp_addr, .cell = p_addr },
	{ .id = "netns", .title = "NETNS", .batch = "NETNS",
	  .help = "network namespace it was seen in (host: the meter's own)", .width = 10,
	  .right = true, .cmp = p_cmp_netns, .cell = p_netns },
	{ .id = "rate", .title = "RATE", .help = "in + out rate", .right = true, .desc = true,
	  .hidden = true, .marks = "in out", .cmp = p_cmp_rate },
	{ .id = "in", .title = "IN/s", .batch = "IN/s", .help = "rate from the peer", .width = 8,
	  .right = true, .desc = true, .cmp = p_cmp_in, .cell = p_in },
	{ .id = "out", .title = "OUT/s", .batch = "OUT/s", .help = "rate to the peer", .width = 8,
	  .right = true, .desc = true, .cmp = p_cmp_out, .cell = p_out },
	{ .id = "totin", .title = "TOT IN", .batch = "TOT_IN",
	  .help = "bytes from the peer, exact", .width = 8, .right = true, .desc = true,
	  .cmp = p_cmp_totin, .cell = p_totin },
	{ .id = "totout", .title = "TOT OUT", .batch = "TOT_OUT",
	  .help = "bytes to the peer, exact", .width = 8, .right = true, .desc = true,
	  .cmp = p_cmp_totout, .cell = p_totout },
	{ .title = "NAME", .help = "reverse DNS (n turns it on)", .cell = p_name },
};

const struct table tbl_peers = {
	.name = "peers",
	.cols = peer_cols,
	.ncols = sizeof(peer_cols) / sizeof(peer_cols[0]),
	.default_sort = 2,
	.key = p_key,
	.match = p_match,
};

/* ---- processes --------------------------------------------------------------------------- */

static void r_pid(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_proc *p = ROW(struct snap_proc, r);

	out->magnitude = -1;
	out->color = p->exited ? COLOR_ZERO : COLOR_NORMAL;
	if (p->tgid)
		snprintf(out->text, sizeof(out->text), "%u", p->tgid);
	else
		snprintf(out->text, sizeof(out->text), "-");
}

static void r_user(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	cell_text(ctx, r->name, COLOR_NORMAL, out);
}

static void r_comm(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_proc *p = ROW(struct snap_proc, r);
	char buf[64];

	if (p->nfolded)
		snprintf(buf, sizeof(buf), ctx->raw ? "(exited:%u)" : "(%u exited)", p->nfolded);
	else if (p->exited && p->tgid)
		snprintf(buf, sizeof(buf), ctx->raw ? "%s(exited)" : "%s (exited)", p->comm);
	else
		snprintf(buf, sizeof(buf), "%s", p->comm);
	cell_text(ctx, buf, p->exited ? COLOR_ZERO : p->tgid ? COLOR_NORMAL : COLOR_NOSOCK, out);
}

static void r_unit(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_proc *p = ROW(struct snap_proc, r);

	cell_text(ctx, p->unit[0] ? p->unit : "-", COLOR_PEER, out);
}

static void r_in(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_proc *p = ROW(struct snap_proc, r);

	cell_rate(ctx, p->has_rate, p->rate[TM_DIR_IN], COLOR_RATE_IN, out);
}

static void r_out(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_proc *p = ROW(struct snap_proc, r);

	cell_rate(ctx, p->has_rate, p->rate[TM_DIR_OUT], COLOR_RATE_OUT, out);
}

static void r_totin(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	cell_bytes(ctx, ROW(struct snap_proc, r)->bytes[TM_DIR_IN], out);
}

static void r_totout(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	cell_bytes(ctx, ROW(struct snap_proc, r)->bytes[TM_DIR_OUT], out);
}

static void r_conns(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	out->magnitude = -1;
	out->color = COLOR_NORMAL;
	snprintf(out->text, sizeof(out->text), "%u", ROW(struct snap_proc, r)->nconns);
}

static double r_rate(const struct row *r, int dir)
{
	const struct snap_proc *p = ROW(struct snap_proc, r);

	if (!p->has_rate)
		return -1;
	return dir < 0 ? p->rate[0] + p->rate[1] : p->rate[dir];
}

static int r_cmp_rate(const struct row *a, const struct row *b)
{
	return cmp_dbl(r_rate(a, -1), r_rate(b, -1));
}

static int r_cmp_in(const struct row *a, const struct row *b)
{
	return cmp_dbl(r_rate(a, TM_DIR_IN), r_rate(b, TM_DIR_IN));
}

static int r_cmp_out(const struct row *a, const struct row *b)
{
	return cmp_dbl(r_rate(a, TM_DIR_OUT), r_rate(b, TM_DIR_OUT));
}

static int r_cmp_totin(const struct row *a, const struct row *b)
{
	return cmp_u64(ROW(struct snap_proc, a)->bytes[0], ROW(struct snap_proc, b)->bytes[0]);
}

static int r_cmp_totout(const struct row *a, const struct row *b)
{
	return cmp_u64(ROW(struct snap_proc, a)->bytes[1], ROW(struct snap_proc, b)->bytes[1]);
}

static int r_cmp_pid(const struct row *a, const struct row *b)
{
	return cmp_u64(ROW(struct snap_proc, a)->tgid, ROW(struct snap_proc, b)->tgid);
}

static int r_cmp_comm(const struct row *a, const struct row *b)
{
	return strcmp(ROW(struct snap_proc, a)->comm, ROW(struct snap_proc, b)->comm);
}

static int r_cmp_unit(const struct row *a, const struct row *b)
{
	return strcmp(ROW(struct snap_proc, a)->unit, ROW(struct snap_proc, b)->unit);
}

static size_t r_key(const struct row *r, uint8_t *buf, size_t len)
{
	const struct snap_proc *p = ROW(struct snap_proc, r);

	put_be(buf, p->owner, 8);
	put_be(buf + 8, p->tgid, 4);
	buf[12] = p->nfolded ? 1 : 0;
	return 13;
}

static bool r_match(const struct row *r, const char *filter)
{
	const struct snap_proc *p = ROW(struct snap_proc, r);
	char pid[16];

	snprintf(pid, sizeof(pid), "%u", p->tgid);
	return match_text(r->name, filter) || match_text(p->comm, filter) ||
	       match_text(p->unit, filter) || match_text(pid, filter);
}

static const struct column proc_cols[] = {
	{ .id = "pid", .title = "PID", .batch = "PID", .help = "process id", .width = 7,
	  .right = true, .cmp = r_cmp_pid, .cell = r_pid },
	{ .id = "user", .title = "USER", .batch = "USER", .help = "the socket owner", .width = 10,
	  .cmp = u_cmp_name, .cell = r_user },
	{ .id = "rate", .title = "RATE", .help = "in + out rate", .right = true, .desc = true,
	  .hidden = true, .marks = "in out", .cmp = r_cmp_rate },
	{ .id = "in", .title = "IN/s", .batch = "IN/s", .help = "receive rate", .width = 8,
	  .right = true, .desc = true, .cmp = r_cmp_in, .cell = r_in },
	{ .id = "out", .title = "OUT/s", .batch = "OUT/s", .help = "send rate", .width = 8,
	  .right = true, .desc = true, .cmp = r_cmp_out, .cell = r_out },
	{ .id = "totin", .title = "TOT IN", .batch = "TOT_IN", .help = "bytes received",
	  .width = 8, .right = true, .desc = true, .cmp = r_cmp_totin, .cell = r_totin },
	{ .id = "totout", .title = "TOT OUT", .batch = "TOT_OUT", .help = "bytes sent",
	  .width = 8, .right = true, .desc = true, .cmp = r_cmp_totout, .cell = r_totout },
	{ .title = "CONN", .batch = "CONNS", .help = "connections tracked", .width = 5,
	  .right = true, .cell = r_conns },
	{ .id = "command", .title = "COMMAND", .batch = "COMMAND",
	  .help = "command name when it made its socket", .width = 16, .cmp = r_cmp_comm,
	  .cell = r_comm },
	{ .id = "service", .title = "SERVICE/CONTAINER", .batch = "SERVICE",
	  .help = "systemd unit, container or cgroup", .cmp = r_cmp_unit, .cell = r_unit },
};

const struct table tbl_procs = {
	.name = "processes",
	.cols = proc_cols,
	.ncols = sizeof(proc_cols) / sizeof(proc_cols[0]),
	.default_sort = 2,
	.key = r_key,
	.match = r_match,
};

/* ---- connections ------------------------------------------------------------------------- */

static void c_proto(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_conn *c = ROW(struct snap_conn, r);

	out->magnitude = -1;
	out->color = COLOR_NORMAL;
	switch (c->proto) {
	case IPPROTO_TCP:
		snprintf(out->text, sizeof(out->text), "tcp%s", c->family == TM_AF_INET6 ? "6" : "");
		break;
	case IPPROTO_UDP:
		snprintf(out->text, sizeof(out->text), "udp%s", c->family == TM_AF_INET6 ? "6" : "");
		break;
	case IPPROTO_ICMP:
		snprintf(out->text, sizeof(out->text), "icmp");
		break;
	case IPPROTO_ICMPV6:
		snprintf(out->text, sizeof(out->text), "icmp6");
		break;
	default:
		snprintf(out->text, sizeof(out->text), c->family ? "%u" : "-", c->proto);
	}
}

static void c_lport(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_conn *c = ROW(struct snap_conn, r);

	out->magnitude = -1;
	out->color = COLOR_NORMAL;
	snprintf(out->text, sizeof(out->text), c->lport || c->rport ? "%u" : "-", c->lport);
}

static void c_remote(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct snap_conn *c = ROW(struct snap_conn, r);
	char a[96];

	out->magnitude = -1;
	if (!c->family) {
		out->color = COLOR_ZERO;
		snprintf(out->text, sizeof(out->text), ctx->raw ? "other(%llu)" :
			 "other (%llu connections)", (unsigned long long)c->folded);
		return;
	}
	out->color = c->netns ? COLOR_WARN : COLOR_PEER;
	addr_text(ctx, c->family, c->addr, c->netns, a, sizeof(a));
	if (c->lport || c->rport)
		snprintf(out->text, sizeof(out->text), c->family == TM_AF_INET6 ? "[%s]:%u" :
			 "%s:%u", a, c->rport);
	else
		snprintf(out->text, sizeof(out->text), "%s", a);
}

static void c_in(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	cell_rate(ctx, true, ROW(struct snap_conn, r)->rate[TM_DIR_IN], COLOR_RATE_IN, out);
}

static void c_out(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	cell_rate(ctx, true, ROW(struct snap_conn, r)->rate[TM_DIR_OUT], COLOR_RATE_OUT, out);
}

static void c_totin(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	cell_bytes(ctx, ROW(struct snap_conn, r)->bytes[TM_DIR_IN], out);
}

static void c_totout(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	cell_bytes(ctx, ROW(struct snap_conn, r)->bytes[TM_DIR_OUT], out);
}

static double c_rate(const struct row *r, int dir)
{
	const struct snap_conn *c = ROW(struct snap_conn, r);

	return dir < 0 ? c->rate[0] + c->rate[1] : c->rate[dir];
}

static int c_cmp_rate(const struct row *a, const struct row *b)
{
	return cmp_dbl(c_rate(a, -1), c_rate(b, -1));
}

static int c_cmp_in(const struct row *a, const struct row *b)
{
	return cmp_dbl(c_rate(a, TM_DIR_IN), c_rate(b, TM_DIR_IN));
}

static int c_cmp_out(const struct row *a, const struct row *b)
{
	return cmp_dbl(c_rate(a, TM_DIR_OUT), c_rate(b, TM_DIR_OUT));
}

static int c_cmp_totin(const struct row *a, const struct row *b)
{
	return cmp_u64(ROW(struct snap_conn, a)->bytes[0], ROW(struct snap_conn, b)->bytes[0]);
}

static int c_cmp_totout(const struct row *a, const struct row *b)
{
	return cmp_u64(ROW(struct snap_conn, a)->bytes[1], ROW(struct snap_conn, b)->bytes[1]);
}

static int c_cmp_lport(const struct row *a, const struct row *b)
{
	return cmp_u64(ROW(struct snap_conn, a)->lport, ROW(struct snap_conn, b)->lport);
}

static int c_cmp_proto(const struct row *a, const struct row *b)
{
	return cmp_u64(ROW(struct snap_conn, a)->proto, ROW(struct snap_conn, b)->proto);
}

static size_t c_key(const struct row *r, uint8_t *buf, size_t len)
{
	const struct snap_conn *c = ROW(struct snap_conn, r);

	buf[0] = c->family;
	buf[1] = c->proto;
	put_be(buf + 2, c->lport, 2);
	put_be(buf + 4, c->rport, 2);
	memcpy(buf + 6, c->addr, 16);
	return 22 + put_be(buf + 22, c->netns, 4);
}

static bool c_match(const struct row *r, const char *filter)
{
	struct col_ctx ctx = { 0 };
	struct cell c;

	c_remote(&ctx, r, &c);
	return match_text(c.text, filter);
}

static const struct column conn_cols[] = {
	{ .id = "proto", .title = "PROTO", .batch = "PROTO", .help = "protocol", .width = 6,
	  .cmp = c_cmp_proto, .cell = c_proto },
	{ .id = "lport", .title = "LOCAL", .batch = "LPORT", .help = "local port", .width = 6,
	  .right = true, .cmp = c_cmp_lport, .cell = c_lport },
	{ .id = "rate", .title = "RATE", .help = "in + out rate", .right = true, .desc = true,
	  .hidden = true, .marks = "in out", .cmp = c_cmp_rate },
	{ .id = "in", .title = "IN/s", .batch = "IN/s", .help = "receive rate", .width = 8,
	  .right = true, .desc = true, .cmp = c_cmp_in, .cell = c_in },
	{ .id = "out", .title = "OUT/s", .batch = "OUT/s", .help = "send rate", .width = 8,
	  .right = true, .desc = true, .cmp = c_cmp_out, .cell = c_out },
	{ .id = "totin", .title = "TOT IN", .batch = "TOT_IN", .help = "bytes received",
	  .width = 8, .right = true, .desc = true, .cmp = c_cmp_totin, .cell = c_totin },
	{ .id = "totout", .title = "TOT OUT", .batch = "TOT_OUT", .help = "bytes sent",
	  .width = 8, .right = true, .desc = true, .cmp = c_cmp_totout, .cell = c_totout },
	{ .title = " REMOTE", .batch = "REMOTE", .help = "peer address and port",
	  .cell = c_remote },
};

const struct table tbl_conns = {
	.name = "connections",
	.cols = conn_cols,
	.ncols = sizeof(conn_cols) / sizeof(conn_cols[0]),
	.default_sort = 2,
	.key = c_key,
	.match = c_match,
};

/* ---- the ignore list --------------------------------------------------------------------- */

static void i_on(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct ignore_entry *e = ROW(struct ignore_entry, r);

	out->magnitude = -1;
	out->color = e->on ? COLOR_CHECK_ON : COLOR_CHECK_OFF;
	snprintf(out->text, sizeof(out->text), "%s", e->on ? "[x]" : "[ ]");
}

static void i_prefix(const struct col_ctx *ctx, const struct row *r, struct cell *out)
{
	const struct ignore_entry *e = ROW(struct ignore_entry, r);

	out->magnitude = -1;
	out->color = e->on ? COLOR_NORMAL : COLOR_ZERO;
	ip_prefix_format(&e->p, out->text, sizeof(out->text));
}

static size_t i_key(const struct row *r, uint8_t *buf, size_t len)
{
	const struct ignore_entry *e = ROW(struct ignore_entry, r);

	buf[0] = e->p.family;
	buf[1] = e->p.len;
	memcpy(buf + 2, e->p.addr, 16);
	return 18;
}

static bool i_match(const struct row *r, const char *filter)
{
	return true;
}

static const struct column ignore_cols[] = {
	{ .title = "ON", .help = "active in the kernel", .width = 3, .cell = i_on },
	{ .title = "PREFIX", .help = "network", .cell = i_prefix },
};

const struct table tbl_ignore = {
	.name = "ignore",
	.cols = ignore_cols,
	.ncols = 2,
	.default_sort = -1,
	.key = i_key,
	.match = i_match,
};

/* ---- derived from the tables ------------------------------------------------------------- */

int table_find(const struct table *t, const char *id)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (t->cols[i].id && !strcasecmp(t->cols[i].id, id))
			return (int)i;
	return -1;
}

const char *table_sort_names(const struct table *t, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < t->ncols && n < len; i++)
		if (t->cols[i].id && t->cols[i].cmp)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", t->cols[i].id);
	return buf;
}

int table_step_sort(const struct table *t, int cur, int dir)
{
	int n = (int)t->ncols, i = cur;

	for (int k = 0; k < n; k++) {
		i = ((i + dir) % n + n) % n;
		if (t->cols[i].cmp)
			return i;
	}
	return cur;
}

bool table_col_sorted(const struct table *t, int col, int sort)
{
	const char *marks, *id = t->cols[col].id;
	size_t n;

	if (col == sort)
		return true;
	if (sort < 0 || !t->cols[sort].hidden || !id)
		return false;
	marks = t->cols[sort].marks;
	n = strlen(id);
	for (const char *p = marks; p && (p = strstr(p, id)); p += n)
		if ((p == marks || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

struct sort_ctx {
	const struct column *col;
	bool invert;
	const struct table *t;
};

static int row_cmp(const void *x, const void *y, void *arg)
{
	const struct row *a = x, *b = y;
	const struct sort_ctx *c = arg;
	uint8_t ka[64], kb[64];
	size_t la, lb;
	int r = 0;

	if (a->pinned_last != b->pinned_last)
		return a->pinned_last ? 1 : -1;
	if (c->col && c->col->cmp) {
		r = c->col->cmp(a, b);
		if (c->col->desc)
			r = -r;
		if (c->invert)
			r = -r;
	}
	if (r)
		return r;
	/* Ties: by identity, whatever the direction, so equal rows never swap on refresh. */
	la = c->t->key(a, ka, sizeof(ka));
	lb = c->t->key(b, kb, sizeof(kb));
	r = memcmp(ka, kb, la < lb ? la : lb);
	return r ? r : (la > lb) - (la < lb);
}

int table_rows(const struct table *t, const struct snapshot *s, const char *filter,
	       const tm_owner_t *only, int sort, bool invert, struct row **out)
{
	const void *base;
	size_t n, size, k = 0;
	struct row *v;
	struct sort_ctx ctx = { NULL, invert, t };

	*out = NULL;
	if (t == &tbl_users) {
		base = s->users, n = s->nusers, size = sizeof(*s->users);
	} else if (t == &tbl_peers) {
		base = s->peers, n = s->npeers, size = sizeof(*s->peers);
	} else if (t == &tbl_procs) {
		base = s->procs, n = s->nprocs, size = sizeof(*s->procs);
	} else if (t == &tbl_conns) {
		base = s->conns, n = s->nconns, size = sizeof(*s->conns);
	} else {
		base = s->ignore, n = s->nignore, size = sizeof(*s->ignore);
	}
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct row *r = &v[k];
		const void *d = (const char *)base + i * size;
		tm_owner_t owner = 0;
		bool has_owner = true;

		r->data = d;
		if (t == &tbl_users) {
			owner = ((const struct snap_user *)d)->owner;
		} else if (t == &tbl_procs) {
			const struct snap_proc *p = d;

			owner = p->owner;
			r->pinned_last = p->nfolded > 0;
		} else if (t == &tbl_peers) {
			owner = ((const struct snap_peer *)d)->owner;
			r->pinned_last = !((const struct snap_peer *)d)->family;
			has_owner = false;
		} else if (t == &tbl_conns) {
			r->pinned_last = !((const struct snap_conn *)d)->family;
			has_owner = false;
		} else {
			has_owner = false;
		}
		if (has_owner)
			r->name = owner_name(owner);
		if (only && (t == &tbl_users || t == &tbl_procs || t == &tbl_peers) &&
		    owner != *only)
			continue;
		if (filter && *filter && !r->pinned_last && !t->match(r, filter))
			continue;
		k++;
	}
	if (sort >= 0 && (size_t)sort < t->ncols)
		ctx.col = &t->cols[sort];
	if (t != &tbl_ignore)
		qsort_r(v, k, sizeof(*v), row_cmp, &ctx);
	*out = v;
	return (int)k;
}

char *spark_text(const float *spark, size_t n, int cells, bool ascii, char *buf, size_t len)
{
	static const char *const blocks[] = { " ", "\u2581", "\u2582", "\u2583", "\u2584",
					      "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char ascii_lv[] = " .:-=+*#%@";
	size_t per, o = 0;
	float max = 0, v[SNAP_SPARK];
	int shown;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (cells <= 0 || !n)
		return buf;
	if (n > SNAP_SPARK) {
		spark += n - SNAP_SPARK;	/* the newest points; v holds no more */
		n = SNAP_SPARK;
	}
	per = (n + (size_t)cells - 1) / (size_t)cells;
	shown = (int)((n + per - 1) / per);
	/* Cells end at the newest point; the oldest cell may average fewer points. */
	for (int i = 0; i < shown; i++) {
		size_t end = n - (size_t)(shown - 1 - i) * per;
		size_t start = end > per ? end - per : 0;
		float sum = 0;

		for (size_t j = start; j < end; j++)
			sum += spark[j];
		v[i] = sum / (float)(end - start);
		/* From a snapshot that may have crossed a socket: no NaN or negative level. */
		if (!(v[i] > 0))
			v[i] = 0;
		else if (v[i] > 1e30f)
			v[i] = 1e30f;
		if (v[i] > max)
			max = v[i];
	}
	for (int i = 0; i < shown && o + 4 < len; i++) {
		if (ascii) {
			int lv = max > 0 ? (int)(v[i] / max * 9.0f + 0.5f) : 0;

			if (v[i] > 0 && lv == 0)
				lv = 1;
			buf[o++] = ascii_lv[lv];
		} else {
			int lv = max > 0 ? (int)(v[i] / max * 8.0f + 0.5f) : 0;
			size_t bl;

			if (v[i] > 0 && lv == 0)
				lv = 1;	/* any traffic shows */
			bl = strlen(blocks[lv]);
			memcpy(buf + o, blocks[lv], bl);
			o += bl;
		}
	}
	buf[o] = '\0';
	return buf;
}
