/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Least privilege: once the programs are loaded and attached and what needs root is open, the
 * meter becomes an unprivileged user with no capabilities and no_new_privs, like tcpdump -Z.
 * On this kernel nothing after start-up needs privilege: draining the ring, reading and
 * evicting counters, editing the ignore tries, creating log files in a directory the user may
 * write, reopening them on SIGHUP, and detaching (closing the links) all work on the
 * descriptors already held.
 */
#ifndef METER_PRIVDROP_H
#define METER_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct run_as {
	bool keep_root;		/* --user root: everything stays as it was */
	bool switch_uid;	/* root at start: become uid/gid */
	uid_t uid;
	gid_t gid;
	char name[64];
	char note[160];		/* a warning for the operator (default user missing), or "" */
};

/*
 * Who to become: `name` (NULL = the default user). A default user that does not exist means
 * nobody, said in note (staying root without capabilities would still own every root file); a
 * named user that does not exist is an error. Started without root (systemd's User= with
 * ambient capabilities), the uid stays and only the capabilities go. 0 or -errno.
 */
int privdrop_resolve(const char *name, const char *default_name, struct run_as *r, char *err,
		     size_t errlen);

/* Can r create files in dir (whatever the path's parents allow: the meter keeps a descriptor)?
 * 0, or -EACCES with one line in err. Call while still root. */
int privdrop_check_dir(const struct run_as *r, const char *dir, char *err, size_t errlen);

/*
 * Make dir if missing (parents as root:root 0755), owned uid:gid with mode; an existing dir
 * is left alone unless fix is set, then its owner and mode become the asked ones. A uid or
 * gid of -1 leaves that id as it is. The mode is set before the owner, so a caller without
 * CAP_FOWNER can still hand over a directory it owns. 1 when it made dir, 0, or -errno.
 */
int privdrop_make_dir(const char *dir, uid_t uid, gid_t gid, mode_t mode, bool fix);

/* Become r: supplementary groups, gid, uid, no capabilities, no_new_privs. 0 or -errno. */
int privdrop_apply(const struct run_as *r, char *err, size_t errlen);

#endif /* METER_PRIVDROP_H */
