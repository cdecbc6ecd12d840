// SPDX-License-Identifier: GPL-2.0
/*
 * tmtop: htop for the network, per user. A thin main: parse the command line, find the source
 * (the running meter's socket, or a standalone meter for root), run the screen or batch mode,
 * and say on the way out what a standalone meter logged.
 */
#include <errno.h>
#include <locale.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "meter/startup.h"
#include "service/keeper.h"
#include "meter/users.h"
#include "tui/options.h"
#include "tui/logcmd.h"
#include "tui/report.h"
#include "tui/source.h"
#include "tui/tui.h"

#define PROG "tmtop"

static struct keeper_opts kopts;

/* As root, before the switch: the history's directory. */
static int before_drop(void *ctx, struct meter_start *s, char *err, size_t errlen)
{
	return keeper_prepare(&kopts, s->run.switch_uid ? s->run.uid : 0,
			      s->run.switch_uid ? s->run.gid : 0, err, errlen);
}

/* Attach to the meter, or run one: 0 with *src set, or an exit status. */
static int find_source(struct tmtop_opts *o, struct meter_start *ms, struct keeper **k,
		       struct source **src, const char **how)
{
	char err[512] = "";
	int ret;

	*src = NULL;
	if (!o->standalone) {
		ret = source_client_new(src, o->socket_path, err, sizeof(err));
		if (!ret) {
			if (o->m.meter_options) {
				(*src)->ops->close(*src);
				*src = NULL;
				fprintf(stderr, PROG ": the meter at %s is running, and options that "
					"configure a meter were given: use --standalone to run one of "
					"your own (root), or leave them out to watch the running one\n",
					o->socket_path);
				return 2;
			}
			*how = "meter";
			return 0;
		}
		if (o->socket_given || (ret != -ENOENT && ret != -ECONNREFUSED)) {
			fprintf(stderr, PROG ": %s\n", err);
			return 1;
		}
		if (geteuid() != 0) {
			fprintf(stderr, PROG ": no meter is running (nothing answers on %s): start it "
				"with 'sudo systemctl start tmtop' or 'sudo traffic_meter_user', or "
				"run 'sudo tmtop'\n", o->socket_path);
			return 1;
		}
	} else if (geteuid() != 0) {
		fprintf(stderr, PROG ": --standalone loads BPF programs: it needs root (without it, "
			"tmtop shows the running meter)\n");
		return 1;
	} else if (!o->m.log_dir_given && !o->no_log &&
		   !source_client_new(src, o->socket_path, err, sizeof(err))) {
		/* The service logs already: a second copy of every log helps nobody. */
		(*src)->ops->close(*src);
		*src = NULL;
		o->no_log = true;
		fprintf(stderr, PROG ": the meter at %s is logging; this standalone tmtop does not "
			"(--log-dir DIR to log anyway)\n", o->socket_path);
		/* nor does it count the same traffic into the service's history a second time */
		if (!o->m.history_db_given)
			o->m.no_history = true;
	}
	keeper_opts_from_cli(&o->m, &kopts);
	ret = meter_startup(&o->m, !o->no_log, true, before_drop, NULL, ms, err, sizeof(err));
	if (ret) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	if (ms->note[0])
		fprintf(stderr, PROG ": %s\n", ms->note);
	ret = keeper_start(k, &kopts, ms->engine, err, sizeof(err));
	if (ret) {
		engine_stop(ms->engine);
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	if (source_engine_new(src, ms->engine, *k)) {
		keeper_stop(*k);
		engine_stop(ms->engine);
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	*how = "standalone";
	return 0;
}

/* One line on the way out: where a standalone meter logged, how much. */
static void say_logged(struct engine *e)
{
	struct snap_request req = { 0 };
	struct snapshot s;

	if (engine_snapshot(e, &req, &s))
		return;
	for (size_t i = 0; i < s.nlogs; i++) {
		const struct backend_stats *b = &s.logs[i].st;

		fprintf(stderr, PROG ": logged %llu rows, %llu bytes to %s", (unsigned long long)b->rows,
			(unsigned long long)b->bytes, s.logs[i].target);
		if (b->dropped || b->not_written)
			fprintf(stderr, " (%llu rows lost to write errors, %llu not written: %s)",
				(unsigned long long)b->dropped, (unsigned long long)b->not_written,
				b->last_error);
		fputc('\n', stderr);
	}
	snapshot_free(&s);
}

int main(int argc, char **argv)
{
	static struct tmtop_opts o;	/* 4 KiB of path: keep it off the stack */
	struct meter_start ms = { 0 };
	struct batch_opts bo = { 0 };
	struct source *src = NULL;
	struct keeper *keeper = NULL;
	struct tui t = { 0 };
	char err[512] = "", desc[600], log_note[600];
	const char *how = "";
	int rc;

	setlocale(LC_ALL, "");
	rc = tmtop_parse(&o, argc, argv, stdout, err, sizeof(err));
	if (rc == 1)
		return 0;
	if (rc < 0) {
		fprintf(stderr, PROG ": %s\n", err[0] ? err : strerror(-rc));
		return 2;
	}
	tui_signals_install(o.batch || o.cmd == CMD_LOG);
	if (o.cmd == CMD_LOG)
		return logcmd_run(&o);
	if (o.cmd == CMD_REPORT)
		return report_run(&o.report);

	if (!o.batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		fprintf(stderr, PROG ": not a terminal (use -b for batch mode)\n");
		return 1;
	}
	if (o.user && owner_lookup(o.user, &t.only)) {
		fprintf(stderr, PROG ": no such user '%s' for -u\n", o.user);
		return 2;
	}
	t.has_only = o.user != NULL;
	/* A standalone meter's rate window spans at least two refreshes. */
	o.m.window_ns = o.delay > 1.0 ? (uint64_t)(2 * o.delay * 1e9) : 2000000000ULL;
	rc = find_source(&o, &ms, &keeper, &src, &how);
	if (rc)
		return rc;
	if (!src->attached && ms.logging && ms.engine) {
		struct snap_request req = { 0 };
		struct snapshot s;

		if (!engine_snapshot(ms.engine, &req, &s)) {
			snprintf(log_note, sizeof(log_note), "%s", s.nlogs ? s.logs[0].target : "");
			snapshot_free(&s);
			t.log_note = log_note;
			if (o.batch)
				fprintf(stderr, PROG ": logging to %s\n", log_note);
		}
	}
	if (!src->all_users && !t.has_only) {
		/* What the meter shows this user anyway; said so the header can. */
		t.has_only = true;
		t.only = getuid();
	}

	t.src = src;
	t.delay = o.delay;
	t.mono = o.mono;
	t.bits = o.bits;
	t.resolve = o.resolve;
	t.ascii = o.ascii || strcmp(nl_langinfo(CODESET), "UTF-8");
	if (o.filter)
		snprintf(t.filter, sizeof(t.filter), "%s", o.filter);
	tui_init(&t);
	if (o.sort) {
		for (int v = 0; v < VIEW__COUNT; v++) {
			int k = t.panes[v].table ? table_find(t.panes[v].table, o.sort) : -1;

			if (k >= 0 && t.panes[v].table->cols[k].cmp)
				t.panes[v].sort = k;
		}
	}
	for (int v = 0; v < VIEW__COUNT; v++)
		t.panes[v].invert = o.invert;

	if (o.batch) {
		if (src->attached)
			snprintf(desc, sizeof(desc), "meter:%s", o.socket_path);
		else
			snprintf(desc, sizeof(desc), "%s", how);
		bo.iterations = o.iterations;
		bo.json = o.json;
		bo.processes = o.processes;
		bo.peers = o.peers;
		bo.source_desc = desc;
		rc = batch_run(&t, &bo);
	} else {
		rc = screen_run(&t);
	}

	src->ops->close(src);
	if (ms.engine) {
		/* Drains what is queued, flushes the logs and detaches, whichever way we got here. */
		engine_finish(ms.engine);
		keeper_stop(keeper);	/* the history up to the last packet */
		if (ms.logging)
			say_logged(ms.engine);
		engine_stop(ms.engine);
	}
	tui_free(&t);
	users_cache_free();
	return rc;
}
