/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup v2 in user space: where it is mounted, the default attach point, checks on a path,
 * and a cgroup id back to its path and to a name people know (a systemd unit, a container).
 */
#ifndef METER_CGROUP_H
#define METER_CGROUP_H

#include <stddef.h>
#include <stdint.h>

/* The cgroup v2 mount point from /proc/self/mountinfo. 0 or -ENOENT. */
int cgroup2_mount(char *buf, size_t len);

/* The default attach point: <mount>/user.slice if it exists, else the mount. */
int cgroup_default_path(char *buf, size_t len);

/* 0 if path is a cgroup v2 directory, else -ENOENT / -ENOTDIR / -EMEDIUMTYPE (not cgroup2). */
int cgroup_check(const char *path);

/* Depth of a cgroup v2 directory below the mount (the mount itself is 0), or -errno. */
int cgroup_level(const char *path);

/*
 * The path of cgroup `id` below the mount ("/system.slice/nginx.service"), from a cache that
 * is rebuilt by walking the hierarchy at most once a second when an id is unknown. Returns
 * false and "" when it cannot be found (the cgroup is gone). Not thread-safe.
 */
struct cgroup_names;
struct cgroup_names *cgroup_names_new(void);
void cgroup_names_free(struct cgroup_names *n);
const char *cgroup_names_path(struct cgroup_names *n, uint64_t id);

/*
 * A name people know for a cgroup path: the innermost systemd unit ("nginx.service",
 * "user@1000.service", "session-3.scope"), "docker:<12 hex>" or "podman:<12 hex>" for a
 * container, else the path itself. Writes into buf and returns it.
 */
char *cgroup_unit_name(const char *path, char *buf, size_t len);

#endif /* METER_CGROUP_H */
