/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Owner -> name, cached (getpwuid_r once per uid). Thread-safe. A lookup may be slow (LDAP,
 * sssd): call it outside any lock the engine holds, never from the engine thread.
 */
#ifndef METER_USERS_H
#define METER_USERS_H

#include <stdbool.h>
#include <stdint.h>
#include "backend/record.h"

/* The login name, "(no socket)", "(kernel)", or the decimal uid when no account has it.
 * The pointer stays valid until users_cache_free(). */
const char *owner_name(tm_owner_t owner);

/*
 * The same into buf, without adding to the cache: for a one-off pass over every owner ever
 * seen (the exit summary), which would otherwise leave one entry per owner behind it.
 */
const char *owner_name_r(tm_owner_t owner, char *buf, size_t len);

/* A user name or a decimal uid; 0 or -ENOENT. Also "(no socket)"/"nosocket", "(kernel)"/"kernel". */
int owner_lookup(const char *name, tm_owner_t *out);

void users_cache_free(void);

#endif /* METER_USERS_H */
