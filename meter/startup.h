/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Starting a meter, the same for the service and a standalone tmtop: the ignore list, the log
 * directory (created and given to the meter's user when it is the default one), the engine,
 * then the switch to the unprivileged user. What needs root happens here and nowhere after.
 */
#ifndef METER_STARTUP_H
#define METER_STARTUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "meter/cli.h"
#include "meter/engine.h"
#include "meter/privdrop.h"

struct meter_start {
	struct engine *engine;
	struct run_as run;		/* whom the process became */
	gid_t group;			/* the tmtop group, (gid_t)-1 when it does not exist */
	bool logging;			/* backends are open */
	char note[256];			/* a warning for the operator, or "" */
};

/*
 * Start a meter from the command line. `log`: open the backends. `before_drop` runs as root
 * after the engine started and before the switch (the service binds its socket there); it may
 * be NULL. 0 or -errno with one line in err; on failure nothing stays attached.
 */
int meter_startup(const struct meter_cli *m, bool log, bool standalone,
		  int (*before_drop)(void *ctx, struct meter_start *s, char *err, size_t errlen),
		  void *ctx, struct meter_start *out, char *err, size_t errlen);

#endif /* METER_STARTUP_H */
