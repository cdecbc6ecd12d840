/* SPDX-License-Identifier: GPL-2.0 */
/* uid -> user name, cached (getpwuid_r once per uid). Thread-safe. */
#ifndef METER_USERS_H
#define METER_USERS_H

#include <stdint.h>

/* Name for uid: the login name, "(no socket)" for 65534 without a passwd entry being
 * meaningful here, or the decimal uid. The pointer stays valid until users_cache_free(). */
const char *users_name(uint32_t uid);
void users_cache_free(void);

#endif /* METER_USERS_H */
