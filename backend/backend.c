// SPDX-License-Identifier: GPL-2.0
/* The backend registry: one entry per backend; names and help text come from here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "backend/backend.h"
#include "bpf/traffic_meter.h"

static const struct backend_ops *const backends[] = {
	&csv_backend_ops,
	&flows_backend_ops,
};

#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

const struct backend_ops *backend_find(const char *name)
{
	for (size_t i = 0; i < NBACKENDS; i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

const char *backend_names(void)
{
	static char names[128];

	if (!names[0]) {
		size_t n = 0;

		for (size_t i = 0; i < NBACKENDS && n < sizeof(names); i++)
			n += snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "",
				      backends[i]->name);
	}
	return names;
}

const char *owner_token(tm_owner_t owner, char *buf, size_t len)
{
	switch (OWNER_KIND(owner)) {
	case TM_KIND_USER:
		snprintf(buf, len, "%u", OWNER_UID(owner));
		break;
	case TM_KIND_NOSOCK:
		snprintf(buf, len, "nosocket");
		break;
	case TM_KIND_KERNEL:
		snprintf(buf, len, "kernel");
		break;
	default:
		snprintf(buf, len, "kind%u-%u", OWNER_KIND(owner), OWNER_UID(owner));
	}
	return buf;
}

int owner_parse_token(const char *s, tm_owner_t *out)
{
	unsigned long long v = 0;

	if (!strcmp(s, "nosocket")) {
		*out = TM_OWNER_NOSOCK;
		return 0;
	}
	if (!strcmp(s, "kernel")) {
		*out = TM_OWNER_KERNEL;
		return 0;
	}
	if (!*s || strlen(s) > 10)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(*p - '0');
	}
	/* (uid_t)-1 is no uid: setuid(-1) means "leave it" and the kernel refuses it */
	if (v >= 0xffffffffULL)
		return -EINVAL;
	*out = (tm_owner_t)v;
	return 0;
}
