/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The service protocol's codec (doc/PROTOCOL.md): a snapshot to JSON and back, field by field,
 * with the same names everywhere JSON leaves tmtop (the socket, tmtop -b --json, tmtop report
 * --json, flow records). json-c, from the distribution: small, C, and fuzzed upstream.
 */
#ifndef SERVICE_PROTO_H
#define SERVICE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "meter/snapshot.h"

#define PROTO_VERSION	1
#define PROTO_LINE_MAX	(64 * 1024)	/* longest request line a server accepts */

/* Owner as JSON: "uid" (a number, null for the special owners), "owner" (its token) and, when
 * with_names, "user" (the name). */
void proto_put_owner(json_object *o, tm_owner_t owner, bool with_names);
/* From "owner" (or "uid"); 0 or -EINVAL. */
int proto_get_owner(json_object *o, tm_owner_t *owner);

/* The address as text ("127.0.0.1", "::1"); "" for family 0. */
const char *proto_addr(char *buf, size_t len, uint8_t family, const uint8_t *addr);
int proto_parse_addr(const char *s, uint8_t *family, uint8_t addr[16]);

/* One peer (the same object the snapshot's peer lists hold). */
json_object *proto_peer_to_json(const struct snap_peer *p);

/* The whole snapshot; names are looked up (cached) when with_names. NULL on ENOMEM. */
json_object *proto_snapshot_to_json(const struct snapshot *s, bool with_names);

/* Back into a snapshot the caller frees with snapshot_free(). 0 or -EINVAL/-ENOMEM, with
 * one line in err naming the field that was wrong. */
int proto_snapshot_from_json(json_object *o, struct snapshot *s, char *err, size_t errlen);

/*
 * A JSON string of n bytes of s, in valid UTF-8: a command name, a cgroup path or a name from
 * the directory service is any bytes a user chose, and a byte that is not UTF-8 would make the
 * whole answer unreadable to a strict decoder (Python's json, jq). Each such byte becomes
 * U+FFFD, as in the flow records and the metrics. NULL when out of memory.
 */
json_object *proto_text(const char *s, size_t n);

/* An answer line: parsed object, or NULL with err ("not JSON at offset 12: ..."). Strict
 * JSON, one object, nothing after it but blanks. */
json_object *proto_parse_line(const char *line, size_t len, char *err, size_t errlen);
/* A request line: the same, and valid UTF-8. */
json_object *proto_parse_request(const char *line, size_t len, char *err, size_t errlen);

#endif /* SERVICE_PROTO_H */
