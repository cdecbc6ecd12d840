// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#define HASH_NONFATAL_OOM 1
#include <uthash.h>
#include "meter/cgroup.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define NAMES_MAX	65536		/* cgroups remembered; the cache is dropped past this */
#define REWALK_NS	1000000000LL	/* an unknown id rewalks the tree at most once a second */

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_mountinfo(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

int cgroup2_mount(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		/* id parent major:minor root mountpoint opts [optional...] - fstype source superopts */
		char *fields[5], *sep, *save = NULL, *tok;
		int i = 0;

		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		*sep = '\0';
		for (tok = strtok_r(line, " ", &save); tok && i < 5; tok = strtok_r(NULL, " ", &save))
			fields[i++] = tok;
		if (i < 5)
			continue;
		unescape_mountinfo(fields[4]);
		if (strlen(fields[4]) >= len) {
			ret = -ENAMETOOLONG;
			break;
		}
		strcpy(buf, fields[4]);
		ret = 0;
		break;
	}
	free(line);
	fclose(f);
	return ret;
}

int cgroup_default_path(char *buf, size_t len)
{
	char mnt[PATH_MAX];
	struct stat st;
	int ret = cgroup2_mount(mnt, sizeof(mnt));

	if (ret)
		return ret;
	if (snprintf(buf, len, "%s/user.slice", mnt) >= (int)len)
		return -ENAMETOOLONG;
	if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (snprintf(buf, len, "%s", mnt) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int cgroup_check(const char *path)
{
	struct statfs sfs;
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (statfs(path, &sfs))
		return -errno;
	if (sfs.f_type != CGROUP2_SUPER_MAGIC)
		return -EMEDIUMTYPE;
	return 0;
}

int cgroup_level(const char *path)
{
	char mnt[PATH_MAX], rmnt[PATH_MAX], rpath[PATH_MAX];
	const char *p;
	int level = 0;

	if (cgroup2_mount(mnt, sizeof(mnt)) || !realpath(mnt, rmnt))
		return -ENOENT;
	if (!realpath(path, rpath))
		return -errno;
	if (strncmp(rpath, rmnt, strlen(rmnt)))
		return -EXDEV;
	p = rpath + strlen(rmnt);
	if (*p && *p != '/')
		return -EXDEV;
	for (; *p; p++)
		if (*p == '/' && p[1])
			level++;
	return level;
}

/* ---- id -> path -------------------------------------------------------------------------- */

struct cg_entry {
	uint64_t id;
	char *path;		/* below the mount, "/" for the root */
	UT_hash_handle hh;
};

struct cgroup_names {
	char mnt[PATH_MAX];
	size_t mlen;
	struct cg_entry *map;
	size_t n;
	long long walked_ns;
};

static struct cgroup_names *walking;	/* nftw has no context argument */

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void names_clear(struct cgroup_names *n)
{
	struct cg_entry *e, *tmp;

	HASH_ITER(hh, n->map, e, tmp) {
		HASH_DEL(n->map, e);
		free(e->path);
		free(e);
	}
	n->n = 0;
}

static int walk_one(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	struct cgroup_names *n = walking;
	struct cg_entry *e;
	uint64_t id = sb->st_ino;

	if (type != FTW_D)
		return 0;
	if (n->n >= NAMES_MAX)
		return 1;
	HASH_FIND(hh, n->map, &id, sizeof(id), e);
	if (e)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return 1;
	e->id = id;
	e->path = strdup(fpath[n->mlen] ? fpath + n->mlen : "/");
	if (!e->path) {
		free(e);
		return 1;
	}
	HASH_ADD(hh, n->map, id, sizeof(e->id), e);
	n->n++;
	return 0;
}

struct cgroup_names *cgroup_names_new(void)
{
	struct cgroup_names *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	if (cgroup2_mount(n->mnt, sizeof(n->mnt)))
		n->mnt[0] = '\0';
	n->mlen = strlen(n->mnt);
	n->walked_ns = -REWALK_NS;
	return n;
}

void cgroup_names_free(struct cgroup_names *n)
{
	if (!n)
		return;
	names_clear(n);
	free(n);
}

const char *cgroup_names_path(struct cgroup_names *n, uint64_t id)
{
	struct cg_entry *e;
	long long now;

	if (!n || !id || !n->mnt[0])
		return "";
	HASH_FIND(hh, n->map, &id, sizeof(id), e);
	if (e)
		return e->path;
	now = mono_ns();
	if (now - n->walked_ns < REWALK_NS)
		return "";
	n->walked_ns = now;
	if (n->n >= NAMES_MAX)
		names_clear(n);	/* stale names of removed cgroups: start over */
	walking = n;
	nftw(n->mnt, walk_one, 16, FTW_PHYS | FTW_MOUNT);
	walking = NULL;
	HASH_FIND(hh, n->map, &id, sizeof(id), e);
	return e ? e->path : "";
}

/* 12 hex digits of a container id after `prefix` in a scope name, or false. */
static bool container_id(const char *comp, const char *prefix, char *out)
{
	size_t pl = strlen(prefix), i;

	if (strncmp(comp, prefix, pl))
		return false;
	for (i = 0; i < 12; i++) {
		char ch = comp[pl + i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return false;
		out[i] = ch;
	}
	out[12] = '\0';
	return true;
}

char *cgroup_unit_name(const char *path, char *buf, size_t len)
{
	const char *unit = NULL, *p = path;
	size_t ulen = 0;

	if (!path || !*path) {
		snprintf(buf, len, "-");
		return buf;
	}
	/* The innermost component that is a unit wins: a service inside user@1000.service. */
	while (*p) {
		const char *start, *end;
		size_t n;
		char id[13];

		while (*p == '/')
			p++;
		start = p;
		while (*p && *p != '/')
			p++;
		end = p;
		n = (size_t)(end - start);
		if (n >= 7 && n < 256) {
			char comp[256];

			memcpy(comp, start, n);
			comp[n] = '\0';
			if (container_id(comp, "docker-", id)) {
				snprintf(buf, len, "docker:%s", id);
				return buf;
			}
			if (container_id(comp, "libpod-", id)) {
				snprintf(buf, len, "podman:%s", id);
				return buf;
			}
			if ((n > 8 && !strcmp(comp + n - 8, ".service")) ||
			    (n > 6 && !strcmp(comp + n - 6, ".scope"))) {
				unit = start;
				ulen = n;
			}
		}
	}
	if (unit)
		snprintf(buf, len, "%.*s", (int)ulen, unit);
	else
		snprintf(buf, len, "%s", path);
	return buf;
}
