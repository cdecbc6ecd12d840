/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User space's mirror of the kernel's per-socket records: socket cookie -> who made it. Packet
 * records carry only the cookie; the process, its command and its cgroup come from here. Bounded:
 * released sockets leave after a grace period (their last packets may still be queued), and when
 * the table is full, sockets unused for a minute make room. Engine thread only.
 */
#ifndef METER_SOCKETS_H
#define METER_SOCKETS_H

#include <stddef.h>
#include <stdint.h>
#include "backend/record.h"
#include "meter/collector.h"

#define SOCKETS_MAX 65536

struct sockets;
struct cgroup_names;

struct sockets *sockets_new(size_t max, struct cgroup_names *names);
void sockets_free(struct sockets *s);

/* A TM_REC_SOCK adds (or refreshes) a socket; a TM_REC_SOCK_CLOSE marks it released. */
void sockets_update(struct sockets *s, const struct sock_record *r, uint64_t now_ns);

/* The creator of the socket with this cookie, or NULL when unknown. */
const struct proc_ident *sockets_proc(struct sockets *s, uint64_t cookie, uint64_t now_ns);

/* Forget released sockets older than the grace period. */
void sockets_expire(struct sockets *s, uint64_t now_ns);

size_t sockets_count(const struct sockets *s);
uint64_t sockets_dropped(const struct sockets *s);	/* refused: the table was full */

#endif /* METER_SOCKETS_H */
