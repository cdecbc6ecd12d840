// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "meter/startup.h"

/*
 * The default log directory is ours: root owns it, the tmtop group (the meter's user and the
 * trusted viewers) may write and read, nobody else may even look inside, so no other user can
 * plant a file in it or stat a log to learn someone's activity. New files inherit the group.
 */
static int prepare_log_dir(const struct meter_cli *m, struct meter_start *s, char *err,
			   size_t errlen)
{
	gid_t g = s->group != (gid_t)-1 ? s->group : s->run.switch_uid ? s->run.gid : 0;
	int ret;

	/* Only root makes or fixes it; started without root, the directory is the admin's. */
	if (geteuid() == 0 && (!m->log_dir_given || !strcmp(m->log_dir, TM_DEFAULT_LOG_DIR))) {
		ret = privdrop_make_dir(m->log_dir, 0, g, 02770, true);
		if (ret < 0) {
			snprintf(err, errlen, "cannot create log directory %s: %s", m->log_dir,
				 strerror(-ret));
			return ret;
		}
	}
	return privdrop_check_dir(&s->run, m->log_dir, err, errlen);
}

int meter_startup(const struct meter_cli *m, bool log, bool standalone,
		  int (*before_drop)(void *ctx, struct meter_start *s, char *err, size_t errlen),
		  void *ctx, struct meter_start *out, char *err, size_t errlen)
{
	struct iplist ignore = { 0 };
	struct engine_opts eo;
	struct group gr, *gres = NULL;
	char grbuf[1024];
	int ret;

	/*
	 * One malloc arena for every thread. With one per thread (glibc's default) what the
	 * history keeper frees is never reused by the summary or a viewer's snapshot, and the
	 * peak adds up: 10,000 uids peaked at 59.6 MB, 54.9 MB with one arena. Nothing on the
	 * per-packet path allocates, so the threads do not contend for it. Before any thread.
	 */
	mallopt(M_ARENA_MAX, 1);
	memset(out, 0, sizeof(*out));
	out->group = (gid_t)-1;
	if (!getgrnam_r(TM_GROUP, &gr, grbuf, sizeof(grbuf), &gres) && gres)
		out->group = gres->gr_gid;
	ret = cli_load_ignore(m, &ignore, err, errlen);
	if (ret)
		return ret;
	ret = privdrop_resolve(m->run_as, TM_DEFAULT_USER, &out->run, err, errlen);
	if (ret)
		goto out;
	snprintf(out->note, sizeof(out->note), "%s", out->run.note);
	log = log && !m->counters_only;
	if (log) {
		ret = prepare_log_dir(m, out, err, errlen);
		if (ret)
			goto out;
	}
	cli_engine_opts(m, &ignore, log, &eo);
	eo.standalone = standalone;
	eo.backend_cfg.reader_gid = out->group != (gid_t)-1 ? out->group : (uint32_t)-1;
	ret = engine_start(&out->engine, &eo, err, errlen);
	if (ret)
		goto out;
	out->logging = eo.nbackends > 0;
	if (before_drop) {
		ret = before_drop(ctx, out, err, errlen);
		if (ret)
			goto fail;
	}
	ret = privdrop_apply(&out->run, err, errlen);
	if (ret)
		goto fail;
	goto out;
fail:
	engine_stop(out->engine);
	out->engine = NULL;
out:
	iplist_free(&ignore);
	return ret;
}
