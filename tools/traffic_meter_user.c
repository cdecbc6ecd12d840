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
#define USAGE PROG " [options] [cgroup_path] [nic_id]"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " USAGE "\n"
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

/* From a service thread: one line for the operator (the journal). */
static void report_line(const char *line)
{
	fprintf(stderr, PROG ": %s\n", line);
}

static int parse(int argc, char **argv, struct meter_cli *m, struct service_opts *so)
{
	static struct option longopts[64];
	char err[512] = "";
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
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":d:i:o:vhVZ:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': opt = OPT_LOG_DIR; break;
		case 'i': opt = OPT_IGNORE_FILE; break;
		case 'o': opt = OPT_OUTPUT; break;
		case 'v': opt = OPT_VERBOSE; break;
		case 'Z': opt = OPT_RUN_AS; break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf(PROG " %s\n", TM_VERSION);
			return 1;
		case ':':
			fprintf(stderr, PROG ": option '%s' needs an argument\n", argv[optind - 1]);
			return -EINVAL;
		case '?':
			if (optopt && optopt < 0x100)
				fprintf(stderr, PROG ": unknown option '-%c' (see --help)\n", optopt);
			else
				fprintf(stderr, PROG ": unknown option '%s' (see --help)\n",
					argv[optind - 1]);
			return -EINVAL;
		}
		ret = cli_meter_option(m, opt, optarg, err, sizeof(err));
		if (!ret)
			ret = service_option(so, opt, optarg, err, sizeof(err));
		if (ret < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			return ret;
		}
	}
	ret = cli_meter_positional(m, argc, argv, optind, USAGE, "--iface", err, sizeof(err));
	if (ret) {
		fprintf(stderr, PROG ": %s\n", err);
		return ret;
	}
	return 0;
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
		fputc('\n', stderr);
		if (b->remark[0])
			fprintf(stderr, PROG ": %s: note: %s\n", s->logs[i].name, b->remark);
	}
	for (size_t i = 0; i < s->nusers; i++) {
		const struct snap_user *u = &s->users[i];
		char tok[OWNER_TOKEN_LEN];

		fprintf(stderr, "  uid %-6s %-16s in %llu B (%llu pkts)  out %llu B (%llu pkts)\n",
			owner_token(u->owner, tok, sizeof(tok)), owner_name(u->owner),
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
	char err[512] = "";
	sigset_t sigs;
	int ret, sig;

	ret = parse(argc, argv, &m, &so);
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
	if (!engine_snapshot(ms.engine, &req, &snap)) {
		print_ignore_list(&snap);
		snapshot_free(&snap);
	}
	if (m.counters_only)
		fprintf(stderr, PROG ": counting %s in the kernel only (no events, no logs); "
			"Ctrl+C to stop\n", m.cgroup_path);
	else
		fprintf(stderr, PROG ": watching %s, logging to %s/traffic_user_%s_<uid>.log%s%s; "
			"running as %s; Ctrl+C to stop\n", m.cgroup_path, m.log_dir, m.nic_id,
			service_path(svc) ? ", serving " : "", service_path(svc) ? service_path(svc) : "",
			ms.run.name);
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
	service_stop(svc);
	engine_finish(ms.engine);
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
