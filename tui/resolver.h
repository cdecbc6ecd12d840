/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reverse DNS for the peers view, never on the UI thread: lookups are queued to one background
 * thread (getnameinfo with NI_NAMEREQD) and answered from a bounded cache, so a slow or dead
 * DNS server can only make names late, never the screen.
 */
#ifndef TUI_RESOLVER_H
#define TUI_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESOLVER_CACHE 1024	/* entries; the oldest is replaced when full */

/* Start the thread once; later calls do nothing. 0 or -errno. */
int resolver_start(void);

/*
 * The name of (family, addr) if known: copies it into buf and returns true. Unknown
 * addresses are queued and false is returned ("" in buf); failed lookups give "" too.
 * Before resolver_start() it only answers from the cache.
 */
bool resolver_lookup(uint8_t family, const uint8_t *addr, char *buf, size_t len);

#endif /* TUI_RESOLVER_H */
