/* SPDX-License-Identifier: GPL-2.0 */
/* tmtop log [-f] [-u USER]: print one's own CSV log through the running meter. */
#ifndef TUI_LOGCMD_H
#define TUI_LOGCMD_H

#include "tui/options.h"

/* Exit status: 0, or 1 when the meter does not hand the log over (said in one line). */
int logcmd_run(const struct tmtop_opts *o);

#endif /* TUI_LOGCMD_H */
