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

int privdrop_resolve(const char *name, const char *default_name, struct run_as *r, char *err,
		     size_t errlen)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	const char *want = name ? name : default_name;

	memset(r, 0, sizeof(*r));
	if (geteuid() != 0 || !strcmp(want, "root")) {
		r->keep_root = true;
		snprintf(r->name, sizeof(r->name), "%s", geteuid() ? "(unchanged)" : "root");
		return 0;
	}
	if (getpwnam_r(want, &pw, buf, sizeof(buf), &res) || !res) {
		if (name) {
			snprintf(err, errlen, "no such user '%s' for --user", name);
			return -ENOENT;
		}
		r->keep_root = true;
		snprintf(r->name, sizeof(r->name), "root");
		snprintf(r->note, sizeof(r->note), "user %s does not exist (make install creates "
			 "it): staying root; --user NAME to choose another", want);
		return 0;
	}
	if (!res->pw_uid) {
		r->keep_root = true;
		snprintf(r->name, sizeof(r->name), "root");
		return 0;
	}
	r->uid = res->pw_uid;
	r->gid = res->pw_gid;
	snprintf(r->name, sizeof(r->name), "%s", res->pw_name);
	return 0;
}

int privdrop_check_dir(const struct run_as *r, const char *dir, char *err, size_t errlen)
{
	int ok, saved;

	if (r->keep_root)
		return 0;
	/* Ask the kernel as that user: effective ids only, switched straight back. */
	if (setegid(r->gid) || seteuid(r->uid)) {
		saved = errno;
		seteuid(0);
		setegid(0);
		snprintf(err, errlen, "cannot check %s as user %s: %s", dir, r->name, strerror(saved));
		return -saved;
	}
	ok = access(dir, W_OK | X_OK) == 0 ? 0 : -errno;
	seteuid(0);
	setegid(0);
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
	}
	/* Through a descriptor: a symlink swapped in after mkdir is never followed. */
	{
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0)
			return -errno;
		if (fchown(fd, uid, gid) || fchmod(fd, mode)) {
			int e = -errno;

			close(fd);
			return e;
		}
		close(fd);
	}
	return 0;
}

int privdrop_apply(const struct run_as *r, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (!r->keep_root) {
		if (setgroups(1, &r->gid) || setresgid(r->gid, r->gid, r->gid) ||
		    setresuid(r->uid, r->uid, r->uid)) {
			snprintf(err, errlen, "cannot become user %s: %s", r->name, strerror(errno));
			return -errno;
		}
		/* Clearing them explicitly also covers a kernel with SECBIT_KEEP_CAPS set. */
		if (syscall(SYS_capset, &hdr, data)) {
			snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
			return -errno;
		}
		if (setuid(0) == 0) {
			snprintf(err, errlen, "dropping privileges did not stick");
			return -EPERM;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
