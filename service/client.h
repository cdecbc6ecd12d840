/* SPDX-License-Identifier: GPL-2.0 */
/* A viewer's end of the service socket: connect, ask, read one answer (and a passed fd). */
#ifndef SERVICE_CLIENT_H
#define SERVICE_CLIENT_H

#include <stddef.h>
#include <json-c/json.h>

struct client_conn;

/* Connect to path; 0, -ENOENT / -ECONNREFUSED (nobody serves there), or -errno, with err. */
int client_connect(struct client_conn **out, const char *path, char *err, size_t errlen);
void client_close(struct client_conn *c);

/*
 * Send req (a JSON object; not consumed) and wait up to timeout_ms for the answer line. *resp
 * is the parsed answer (put it); *fd, when not NULL, gets a descriptor the server passed, or
 * -1. 0, or -errno with err ("the meter closed the connection", "no answer in 5 s").
 */
int client_call(struct client_conn *c, json_object *req, json_object **resp, int *fd,
		int timeout_ms, char *err, size_t errlen);

/* The answer's "error" text, or "" */
const char *client_error(json_object *resp);

#endif /* SERVICE_CLIENT_H */
