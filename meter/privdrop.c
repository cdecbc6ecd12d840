// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include "meter/privdrop.h"

static int lookup(const char *name, struct run_as *r)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) || !res)
		return -ENOENT;
	r->uid = res->pw_uid;
	r->gid = res->pw_gid;
	snprintf(r->name, sizeof(r->name), "%s", res->pw_name);
	return 0;
}

int privdrop_resolve(const char *name, const char *default_name, struct run_as *r, char *err,
		     size_t errlen)
{
	const char *want = name ? name : default_name;

	memset(r, 0, sizeof(*r));
	if (!strcmp(want, "root")) {
		r->keep_root = true;
		snprintf(r->name, sizeof(r->name), "root");
		return 0;
	}
	if (geteuid() != 0) {
		snprintf(r->name, sizeof(r->name), "uid %u without capabilities", geteuid());
		return 0;
	}
	if (lookup(want, r)) {
		if (name) {
			snprintf(err, errlen, "no such user '%s' for --user", name);
			return -ENOENT;
		}
		if (lookup("nobody", r)) {
			snprintf(err, errlen, "neither user %s nor nobody exists: create %s (make "
				 "install does) or give --user NAME", want, want);
			return -ENOENT;
		}
		snprintf(r->note, sizeof(r->note), "user %s does not exist (make install creates "
			 "it): running as nobody; --user NAME to choose another", want);
	}
	if (!r->uid) {
		r->keep_root = true;	/* a name for uid 0 is root */
		return 0;
	}
	r->switch_uid = true;
	return 0;
}

int privdrop_check_dir(const struct run_as *r, const char *dir, char *err, size_t errlen)
{
	int fd, ok, saved;

	if (!r->switch_uid)
		return 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		saved = errno;
		snprintf(err, errlen, "cannot open %s: %s", dir, strerror(saved));
		return -saved;
	}
	/* Ask the kernel as that user: effective ids only, switched straight back. */
	if (setegid(r->gid) || seteuid(r->uid)) {
		saved = errno;
		(void)!seteuid(0);
		(void)!setegid(0);
		close(fd);
		snprintf(err, errlen, "cannot check %s as user %s: %s", dir, r->name, strerror(saved));
		return -saved;
	}
	ok = faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) == 0 ? 0 : -errno;
	(void)!seteuid(0);
	(void)!setegid(0);
	close(fd);
	if (ok)
		snprintf(err, errlen, "%s is not writable by user %s, which the meter runs as once "
			 "started (give it write access, or use --user root)", dir, r->name);
	return ok;
}

int privdrop_make_dir(const char *dir, uid_t uid, gid_t gid, mode_t mode, bool fix)
{
	char path[PATH_MAX];
	struct stat st;
	size_t n = strlen(dir);
	bool created = true;
	int fd, ret = 0;

	if (!n || n >= sizeof(path))
		return -ENAMETOOLONG;
	strcpy(path, dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, mode & 07777)) {
		if (errno != EEXIST)
			return -errno;
		if (lstat(path, &st))
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		if (!fix)
			return 0;
		created = false;
	}
	/* Through a descriptor: a symlink swapped in after mkdir is never followed. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		goto fail;
	/*
	 * Only what differs, and the mode while the directory is still ours: a root whose
	 * capabilities are the service unit's few (no CAP_FOWNER) may chmod only what it owns.
	 */
	if ((st.st_mode & 07777) != (mode & 07777) && fchmod(fd, mode))
		goto fail;
	if ((uid != (uid_t)-1 && st.st_uid != uid) || (gid != (gid_t)-1 && st.st_gid != gid)) {
		if (fchown(fd, uid, gid))
			goto fail;
		/* chown may clear set-id bits; put back exactly what was asked */
		if (fstat(fd, &st) || ((st.st_mode & 07777) != (mode & 07777) && fchmod(fd, mode)))
			goto fail;
	}
	close(fd);
	return created;
fail:
	ret = -errno;
	close(fd);
	return ret;
}

int privdrop_apply(const struct run_as *r, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (r->keep_root)
		return 0;	/* asked for: --user root keeps root, capabilities and all */
	if (r->switch_uid) {
		if (setgroups(1, &r->gid) || setresgid(r->gid, r->gid, r->gid) ||
		    setresuid(r->uid, r->uid, r->uid)) {
			snprintf(err, errlen, "cannot become user %s: %s", r->name, strerror(errno));
			return -errno;
		}
		if (setuid(0) == 0) {
			snprintf(err, errlen, "dropping privileges did not stick");
			return -EPERM;
		}
	}
	/* Clearing them explicitly also covers SECBIT_KEEP_CAPS and ambient capabilities. */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capset, &hdr, data)) {
		snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
		return -errno;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		return -errno;
	}
	/*
	 * Not dumpable: the user we run as may be shared (nobody), and any process of it could
	 * otherwise ptrace us or take our BPF descriptors (pidfd_getfd) to edit the ignore list or
	 * read everyone's traffic. The uid switch does this already unless fs.suid_dumpable says
	 * otherwise; this holds whatever it says, and with --user of a non-root uid too.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
		snprintf(err, errlen, "cannot make the process undumpable: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
