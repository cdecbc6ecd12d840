// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "service/client.h"
#include "service/proto.h"

#define ANSWER_MAX (256u << 20)		/* a snapshot of every user and peer fits */

struct client_conn {
	int fd;
	char *buf;			/* bytes read past the last answer */
	size_t len, cap;
};

int client_connect(struct client_conn **out, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct client_conn *c;
	int ret;

	*out = NULL;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		free(c);
		return ret;
	}
	strcpy(sa.sun_path, path);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		snprintf(err, errlen, "cannot reach the meter at %s: %s", path, strerror(errno));
		close(c->fd);
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

void client_close(struct client_conn *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int client_call(struct client_conn *c, json_object *req, json_object **resp, int *fd,
		int timeout_ms, char *err, size_t errlen)
{
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	long long deadline = mono_ms() + timeout_ms;
	char *nl;
	int ret;

	*resp = NULL;
	if (fd)
		*fd = -1;
	ret = send_all(c->fd, s, strlen(s));
	if (!ret)
		ret = send_all(c->fd, "\n", 1);
	/* A meter that refuses a viewer ("too many viewers") says why and closes at once: the
	 * reason may still be there to read after our write found the socket closed. */
	if (ret) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

		if (ret != -EPIPE || poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLIN)) {
			snprintf(err, errlen, "the meter closed the connection (%s)",
				 strerror(-ret));
			return ret;
		}
	}
	while (!(nl = c->len ? memchr(c->buf, '\n', c->len) : NULL)) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		long long left = deadline - mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			snprintf(err, errlen, "no answer from the meter in %d ms", timeout_ms);
			return -ETIMEDOUT;
		}
		if (c->cap - c->len < 65536) {
			size_t cap = c->cap ? c->cap * 2 : 262144;
			char *p;

			if (cap > ANSWER_MAX) {
				snprintf(err, errlen, "the meter's answer is too long");
				return -EMSGSIZE;
			}
			p = realloc(c->buf, cap);
			if (!p) {
				snprintf(err, errlen, "out of memory");
				return -ENOMEM;
			}
			c->buf = p;
			c->cap = cap;
		}
		iov.iov_base = c->buf + c->len;
		iov.iov_len = c->cap - c->len;
		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "the meter closed the connection");
			return n < 0 ? -errno : -ECONNRESET;
		}
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
				int got;

				memcpy(&got, CMSG_DATA(cm), sizeof(got));
				if (fd && *fd < 0)
					*fd = got;
				else
					close(got);
			}
		}
		c->len += (size_t)n;
	}
	*resp = proto_parse_line(c->buf, (size_t)(nl - c->buf), err, errlen);
	c->len -= (size_t)(nl + 1 - c->buf);
	memmove(c->buf, nl + 1, c->len);
	if (!*resp) {
		if (fd && *fd >= 0) {
			close(*fd);
			*fd = -1;
		}
		return -EPROTO;
	}
	return 0;
}

const char *client_error(json_object *resp)
{
	json_object *j;

	if (resp && json_object_object_get_ex(resp, "error", &j))
		return json_object_get_string(j);
	return "";
}
