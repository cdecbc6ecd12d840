// SPDX-License-Identifier: GPL-2.0
/* tmtop log: the caller's own log, read through a descriptor the running meter passes. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "tui/logcmd.h"
#include "tui/source.h"
#include "tui/tui.h"

#define PROG "tmtop"

/*
 * tmtop log -f follows a rotation like tail -F: after RELOOK_IDLE idle looks at the end of the
 * file it asks the meter again, and when the meter now writes another file (rotated by size, or
 * moved by logrotate and reopened on SIGHUP) it reads that one from its start. The old file is
 * read to its end once more after the meter named the new one, so the rows written to it
 * before the switch are not skipped. A meter that does not answer for a while (a restart) is
 * asked again at the next idle spell.
 */
#define IDLE_MS		250
#define RELOOK_IDLE	4

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

int logcmd_run(const struct tmtop_opts *o)
{
	char err[512] = "", path[4096] = "", buf[65536];
	int fd, next = -1, ret, idle = 0;
	ssize_t n;

	ret = source_client_log(o->socket_path, o->log_owner, &fd, path, sizeof(path), err,
				sizeof(err));
	if (ret == -ENODATA && o->follow) {
		/* like tail -F on a file not there yet: its first row will make it */
		fprintf(stderr, PROG ": %s; waiting for it (Ctrl+C to stop)\n", err);
		while (ret == -ENODATA && !tui_sig_quit) {
			poll(NULL, 0, RELOOK_IDLE * IDLE_MS);
			ret = source_client_log(o->socket_path, o->log_owner, &fd, path,
						sizeof(path), err, sizeof(err));
		}
		if (tui_sig_quit && !ret)
			close(fd);
		if (tui_sig_quit)
			return 0;
	}
	if (ret) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			poll(NULL, 0, 100);
			continue;
		}
		if (n < 0) {
			fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
			close(fd);
			return 1;
		}
		if (n == 0) {
			if (!o->follow || tui_sig_quit)
				break;
			if (next >= 0) {
				close(fd);	/* read to its end: the new file, from its first byte */
				fd = next;
				next = -1;
				continue;
			}
			if (++idle % RELOOK_IDLE == 0 &&
			    !source_client_log(o->socket_path, o->log_owner, &next, path,
					       sizeof(path), err, sizeof(err)) && same_file(fd, next)) {
				close(next);
				next = -1;
			}
			if (next < 0)
				poll(NULL, 0, IDLE_MS);	/* like tail -f: the meter appends, we wait */
			continue;
		}
		idle = 0;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			break;	/* a closed pipe ends it quietly */
		if (o->follow)
			fflush(stdout);
	}
	if (next >= 0)
		close(next);
	close(fd);
	return 0;
}
