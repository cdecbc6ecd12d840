// SPDX-License-Identifier: GPL-2.0
/*
 * Batch mode (-b), like top -b: a snapshot on stdout every interval, flushed, for scripts, cron
 * and tests. Plain text, one snapshot per interval:
 *
 *   # ignore: 10.0.0.0/8 192.168.0.0/16            (once, at start; "(none)" when empty)
 *   tmtop time=1732985432.123 elapsed=3.0 interval=1.0 units=bytes source=standalone
 *   totals in/s=120 out/s=4500 in=7890 out=123400 events=812 events/s=270 lost=0 users=2 ...
 *   ignore=2/2 log=/var/log/tmtop/traffic_user_lo_<uid>.log log_errors=0 rows=812 ...
 *   USER UID IN/s OUT/s TOT_IN TOT_OUT TOP_PEER
 *   alice 1000 120 4500 7890 123400 127.0.0.1
 *   (no_socket) - 0 0 120 0 -
 *   <blank line>
 *
 * --peers adds, after the users, one block per user: "PEERS <user> <uid>" then its peers
 * (ADDRESS NETNS IN/s OUT/s TOT_IN TOT_OUT), the "other(N)" row last; --processes adds one
 * "PROCESSES" block (PID USER IN/s OUT/s TOT_IN TOT_OUT CONNS COMMAND SERVICE). The columns
 * are the screen's own tables (tui/table.c), printed raw.
 *
 * Fields are whitespace-separated and never contain blanks (blanks become '_', control
 * characters '?'). Rates are integers in bytes/s (bits/s with --bits), "-" until a rate exists;
 * totals are exact byte counts from the kernel counters; an address seen in another network
 * namespace reads "addr@netns:INODE". A viewer that sees only its own traffic gets
 * "restricted" on the totals line instead of everyone's totals.
 *
 * --json prints one JSON object per snapshot instead (doc/PROTOCOL.md, "snapshot"), each user
 * carrying its peers ("peers": exact rows, largest first, then "other").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "tui/tui.h"
#include "tui/format.h"
#include "meter/clock.h"
#include "meter/users.h"
#include "service/proto.h"
#include <linux/types.h>
#include "bpf/traffic_meter.h"

#define JSON_PEERS 10	/* peers per user in JSON before the rest is summed into "other" */

static void print_ignore_list(const struct snapshot *s)
{
	char p[IP_PREFIX_STRLEN];
	int shown = 0;

	printf("# ignore:");
	for (size_t i = 0; i < s->nignore; i++) {
		if (!s->ignore[i].on)
			continue;
		printf(" %s", ip_prefix_format(&s->ignore[i].p, p, sizeof(p)));
		shown++;
	}
	printf("%s\n", s->restricted ? " (kept by the meter)" : shown ? "" : " (none)");
}

/* The header and rows of a pane, raw, through its table. */
static void print_table(const struct tui *t, const struct pane *p, size_t from, size_t n)
{
	struct col_ctx ctx = { .bits = t->bits, .raw = true };
	const struct table *tb = p->table;
	bool first = true;

	for (size_t i = 0; i < tb->ncols; i++) {
		if (!tb->cols[i].batch)
			continue;
		printf("%s%s", first ? "" : " ", tb->cols[i].batch);
		first = false;
	}
	putchar('\n');
	for (size_t r = from; r < from + n; r++) {
		first = true;
		for (size_t i = 0; i < tb->ncols; i++) {
			struct cell c = { .magnitude = -1 };

			if (!tb->cols[i].batch)
				continue;
			tb->cols[i].cell(&ctx, &p->rows[r], &c);
			printf("%s%s", first ? "" : " ", c.text[0] ? c.text : "-");
			first = false;
		}
		putchar('\n');
	}
}

static void print_text(struct tui *t, const struct batch_opts *o)
{
	const struct snapshot *s = &t->snap;
	struct timespec now;
	char tok[OWNER_TOKEN_LEN];

	clock_gettime(CLOCK_REALTIME, &now);
	printf("tmtop time=%lld.%03ld elapsed=%.1f interval=%.1f units=%s source=%s", (long long)now.tv_sec,
	       now.tv_nsec / 1000000, (double)(tm_now_ns() - t->start_ns) / 1e9, t->delay,
	       t->bits ? "bits" : "bytes", o->source_desc);
	if (t->src->attached)
		printf(" meter_pid=%d meter_uptime=%.0f", s->meter.pid, s->meter.uptime_s);
	putchar('\n');
	if (s->restricted) {
		printf("totals restricted uid=%u\n", (unsigned int)t->only);
	} else {
		printf("totals");
		if (s->totals.has_rate)
			printf(" in/s=%.0f out/s=%.0f", s->totals.rate[TM_DIR_IN] * (t->bits ? 8 : 1),
			       s->totals.rate[TM_DIR_OUT] * (t->bits ? 8 : 1));
		else
			printf(" in/s=- out/s=-");
		printf(" in=%llu out=%llu events=%llu events/s=%.0f lost=%llu users=%u "
		       "evicted=%llu table_full=%llu forgotten=%llu kernel_evicted=%llu\n",
		       (unsigned long long)s->totals.bytes[TM_DIR_IN],
		       (unsigned long long)s->totals.bytes[TM_DIR_OUT],
		       (unsigned long long)s->stats.events, s->stats.events_per_s,
		       (unsigned long long)s->stats.lost, s->stats.users,
		       (unsigned long long)s->stats.evicted, (unsigned long long)s->stats.table_full,
		       (unsigned long long)s->stats.forgotten,
		       (unsigned long long)s->stats.kernel_evicted);
		if (s->nlogs) {
			const struct backend_stats *b = &s->logs[0].st;

			printf("ignore=%zu/%zu log=%s log_errors=%llu rows=%llu not_written=%llu\n",
			       s->ignore_active, s->nignore, s->logs[0].target,
			       (unsigned long long)b->write_errors, (unsigned long long)b->rows,
			       (unsigned long long)b->not_written);
		} else {
			printf("ignore=%zu/%zu log=off log_errors=0\n", s->ignore_active, s->nignore);
		}
	}
	print_table(t, &t->panes[VIEW_USERS], 0, (size_t)t->panes[VIEW_USERS].list.n);
	if (o->peers) {
		struct pane *pp = &t->panes[VIEW_PEERS];

		for (int i = 0; i < t->panes[VIEW_USERS].list.n; i++) {
			const struct snap_user *u = t->panes[VIEW_USERS].rows[i].data;
			char name[64];
			int n;

			printf("PEERS %s %s\n", fmt_token(name, sizeof(name), owner_name(u->owner)),
			       OWNER_IS_USER(u->owner) ? owner_token(u->owner, tok, sizeof(tok)) : "-");
			free(pp->rows);
			pp->rows = NULL;
			n = table_rows(&tbl_peers, s, NULL, &u->owner, pp->sort, pp->invert,
				       &pp->rows);
			print_table(t, pp, 0, n > 0 ? (size_t)n : 0);
		}
	}
	if (o->processes)
		print_table(t, &t->panes[VIEW_PROCS], 0, (size_t)t->panes[VIEW_PROCS].list.n);
	putchar('\n');
}

/* A user's peers as JSON: the JSON_PEERS largest exactly, then one "other" with the rest. */
static json_object *user_peers(const struct tui *t, tm_owner_t owner)
{
	struct snap_peer other = { .owner = owner };
	json_object *a = json_object_new_array();
	struct row *rows = NULL;
	int n = table_rows(&tbl_peers, &t->snap, NULL, &owner, tbl_peers.default_sort, false,
			   &rows);
	int shown = 0;

	for (int i = 0; i < n; i++) {
		const struct snap_peer *p = rows[i].data;

		if (p->family && shown < JSON_PEERS) {
			json_object_array_add(a, proto_peer_to_json(p));
			shown++;
			continue;
		}
		for (int d = 0; d < 2; d++) {
			other.bytes[d] += p->bytes[d];
			other.packets[d] += p->packets[d];
			other.rate[d] += p->rate[d];
		}
		other.folded += p->family ? 1 : p->folded;
		other.folded_more |= p->folded_more;
	}
	if (other.folded)
		json_object_array_add(a, proto_peer_to_json(&other));
	free(rows);
	return a;
}

static void print_json(struct tui *t, const struct batch_opts *o)
{
	json_object *j = proto_snapshot_to_json(&t->snap, true), *users, *peers;

	if (!j)
		return;
	json_object_object_add(j, "source", json_object_new_string(o->source_desc));
	/* users in the order the text shows them, each with its peers */
	users = json_object_new_array();
	for (int i = 0; i < t->panes[VIEW_USERS].list.n; i++) {
		const struct snap_user *u = t->panes[VIEW_USERS].rows[i].data;
		json_object *all, *uj = NULL;

		if (json_object_object_get_ex(j, "users", &all)) {
			for (size_t k = 0; k < json_object_array_length(all); k++) {
				json_object *c = json_object_array_get_idx(all, k), *ow;

				if (json_object_object_get_ex(c, "owner", &ow)) {
					tm_owner_t x;

					if (!owner_parse_token(json_object_get_string(ow), &x) &&
					    x == u->owner) {
						uj = json_object_get(c);
						break;
					}
				}
			}
		}
		if (!uj)
			continue;
		json_object_object_add(uj, "peers", user_peers(t, u->owner));
		json_object_array_add(users, uj);
	}
	json_object_object_add(j, "users", users);
	if (json_object_object_get_ex(j, "peers", &peers))
		json_object_object_del(j, "peers");	/* now inside each user */
	puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
}

/* Sleep until deadline (monotonic ns) in short steps so signals are seen promptly. */
static void sleep_until(struct tui *t, uint64_t deadline)
{
	while (!tui_sig_quit) {
		uint64_t now = tm_now_ns(), left;
		struct timespec ts;

		if (tui_sig_hup) {
			tui_sig_hup = 0;
			t->src->ops->reopen(t->src);	/* logrotate, as in the logger */
		}
		if (now >= deadline)
			return;
		left = deadline - now;
		if (left > 100000000ULL)
			left = 100000000ULL;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left;
		nanosleep(&ts, NULL);
	}
}

/* One snapshot with what batch mode shows: everyone's peers for --peers and --json. */
static bool batch_refresh(struct tui *t, const struct batch_opts *o)
{
	struct snap_request req = { 0 };
	struct snapshot s;
	char err[TUI_STATUS_LEN];

	req.all_peers = o->peers || o->json;
	req.procs = o->processes;
	if (t->src->ops->snapshot(t->src, &req, &s, err, sizeof(err))) {
		fprintf(stderr, "tmtop: %s\n", err);
		return false;
	}
	if (t->have_snap)
		snapshot_free(&t->snap);
	t->snap = s;
	t->have_snap = true;
	pane_rebuild(t, &t->panes[VIEW_USERS], t->has_only ? &t->only : NULL);
	if (o->processes)
		pane_rebuild(t, &t->panes[VIEW_PROCS], t->has_only ? &t->only : NULL);
	return true;
}

int batch_run(struct tui *t, const struct batch_opts *o)
{
	uint64_t next = tm_now_ns();
	long i;

	if (!batch_refresh(t, o))
		return 1;
	if (!o->json) {
		print_ignore_list(&t->snap);
		fflush(stdout);
	}
	/* The first snapshot comes after one interval: before it there is no rate to show. */
	for (i = 0; !o->iterations || i < o->iterations; i++) {
		next += (uint64_t)(t->delay * 1e9);
		sleep_until(t, next);
		if (tui_sig_quit)
			break;
		if (!batch_refresh(t, o))
			return 1;
		if (o->json)
			print_json(t, o);
		else
			print_text(t, o);
		if (fflush(stdout) == EOF || ferror(stdout)) {
			/* A closed pipe (tmtop -b | head) ends batch mode quietly, like top. */
			return errno == EPIPE ? 0 : 1;
		}
	}
	return 0;
}
