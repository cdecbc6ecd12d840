// SPDX-License-Identifier: GPL-2.0
/*
 * traffic_meter_user: the meter as a service, with the seed's command line. Attaches to a
 * cgroup, logs every packet to per-user files, and (unless --no-socket) answers viewers on a
 * local socket, until SIGINT/SIGTERM; SIGHUP reopens the log files.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>
#include "bpf/traffic_meter.h"
#include "meter/cli.h"
#include "meter/startup.h"
#include "meter/users.h"
#include "service/service.h"

#define PROG "traffic_meter_user"

/* From a service thread: one line for the operator (the journal). */
static void report_line(const char *line)
{
	fprintf(stderr, PROG ": %s\n", line);
}

static void print_ignore_list(const struct snapshot *s)
{
	char buf[IP_PREFIX_STRLEN];

	fprintf(stderr, PROG ": ignoring %zu network%s (mode %s)%s", s->nignore,
		s->nignore == 1 ? "" : "s", cli_ignore_mode_name(s->meter.ignore_mode),
		s->nignore ? ":" : "");
	for (size_t i = 0; i < s->nignore; i++)
		fprintf(stderr, " %s", ip_prefix_format(&s->ignore[i].p, buf, sizeof(buf)));
	fputc('\n', stderr);
}

static void print_summary(const struct snapshot *s)
{
	fprintf(stderr, PROG ": stopped; %llu events logged, %llu lost (ring buffer full)",
		(unsigned long long)s->stats.events, (unsigned long long)s->stats.lost);
	if (s->stats.table_full || s->stats.kernel_evicted || s->stats.evicted)
		fprintf(stderr, ", %llu packets over a full owner table, %llu owners evicted "
			"(%llu from the kernel's table), %llu forgotten",
			(unsigned long long)s->stats.table_full, (unsigned long long)s->stats.evicted,
			(unsigned long long)s->stats.kernel_evicted,
			(unsigned long long)s->stats.forgotten);
	fputc('\n', stderr);
	for (size_t i = 0; i < s->nlogs; i++) {
		const struct backend_stats *b = &s->logs[i].st;

		fprintf(stderr, PROG ": %s: %llu rows, %llu bytes written to %s",
			s->logs[i].name, (unsigned long long)b->rows, (unsigned long long)b->bytes,
			s->logs[i].target);
		if (b->write_errors)
			fprintf(stderr, "; %llu write errors (%llu rows dropped; last: %s)",
				(unsigned long long)b->write_errors, (unsigned long long)b->dropped,
				b->last_error);
		if (b->not_written)
			fprintf(stderr, "; %llu rows not written (below the free-space floor)",
				(unsigned long long)b->not_written);
		if (b->rotations)
			fprintf(stderr, "; %llu files rotated (--max-file-size)",
				(unsigned long long)b->rotations);
		fputc('\n', stderr);
		if (b->remark[0])
			fprintf(stderr, PROG ": %s: note: %s\n", s->logs[i].name, b->remark);
	}
	for (size_t i = 0; i < s->nusers; i++) {
		const struct snap_user *u = &s->users[i];
		char tok[OWNER_TOKEN_LEN], name[64];

		fprintf(stderr, "  uid %-6s %-16s in %llu B (%llu pkts)  out %llu B (%llu pkts)\n",
			owner_token(u->owner, tok, sizeof(tok)),
			owner_name_r(u->owner, name, sizeof(name)),
			(unsigned long long)u->bytes[TM_DIR_IN],
			(unsigned long long)u->packets[TM_DIR_IN],
			(unsigned long long)u->bytes[TM_DIR_OUT],
			(unsigned long long)u->packets[TM_DIR_OUT]);
	}
}

static int owner_cmp(const void *a, const void *b)
{
	const struct snap_user *x = a, *y = b;

	return x->owner < y->owner ? -1 : x->owner > y->owner;
}

int main(int argc, char **argv)
{
	struct snap_request req = { 0 };
	struct service_opts so;
	struct service *svc = NULL;
	struct meter_start ms;
	struct meter_cli m;
	struct snapshot snap;
	char err[512] = "", targets[600];
	sigset_t sigs;
	int ret, sig;

	ret = service_parse(&m, &so, argc, argv, stdout, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, PROG ": %s\n", err);
	if (ret)
		return ret > 0 ? 0 : 2;
	so.report = report_line;

	/* Block the signals before any thread starts so only sigwait() sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = meter_startup(&m, true, false, service_before_drop, &(struct service_start){
		.opts = &so, .cli = &m, .out = &svc }, &ms, err, sizeof(err));
	if (ret) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	if (ms.note[0])
		fprintf(stderr, PROG ": %s\n", ms.note);
	ret = service_start(svc, ms.engine, err, sizeof(err));
	if (ret) {
		fprintf(stderr, PROG ": %s\n", err);
		service_free(svc);
		engine_stop(ms.engine);
		return 1;
	}
	/* Where each backend writes, from the backends themselves (-o csv,flows names two). */
	targets[0] = '\0';
	if (!engine_snapshot(ms.engine, &req, &snap)) {
		size_t n = 0;

		print_ignore_list(&snap);
		for (size_t i = 0; i < snap.nlogs && n < sizeof(targets); i++)
			n += (size_t)snprintf(targets + n, sizeof(targets) - n, "%s%s",
					      i ? " and " : "", snap.logs[i].target);
		snapshot_free(&snap);
	}
	if (m.counters_only)
		fprintf(stderr, PROG ": counting %s in the kernel only (no events, no logs); "
			"Ctrl+C to stop\n", m.cgroup_path);
	else
		fprintf(stderr, PROG ": watching %s, logging to %s%s%s; running as %s; Ctrl+C to "
			"stop\n", m.cgroup_path, targets, service_path(svc) ? ", serving " : "",
			service_path(svc) ? service_path(svc) : "", ms.run.name);
	if (service_metrics_url(svc))
		fprintf(stderr, PROG ": metrics at %s\n", service_metrics_url(svc));
	if (so.metrics_file)
		fprintf(stderr, PROG ": metrics written to %s every %u s\n", so.metrics_file,
			so.metrics_interval_s);

	for (;;) {
		if (sigwait(&sigs, &sig))
			continue;
		if (sig == SIGHUP) {
			engine_request_reopen(ms.engine);
			continue;
		}
		break;
	}
	/* Drained and detached first: the history's last write and the summary see it all. */
	engine_finish(ms.engine);
	service_stop(svc);
	req.ledger = true;	/* every owner ever seen, the evicted ones too */
	if (!engine_snapshot(ms.engine, &req, &snap)) {
		qsort(snap.users, snap.nusers, sizeof(*snap.users), owner_cmp);
		print_summary(&snap);
		snapshot_free(&snap);
	}
	service_free(svc);
	engine_stop(ms.engine);
	users_cache_free();
	return 0;
}
