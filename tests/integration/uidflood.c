// SPDX-License-Identifier: GPL-2.0
/*
 * uidflood: many distinct uids, a few UDP datagrams each, over loopback only, from inside a
 * test cgroup. Run as root:
 *
 *   uidflood CGROUP FIRST_UID COUNT MANIFEST [WATCH_PID]
 *
 * The receiving socket is made before this process joins CGROUP, so only the senders are
 * watched. Then, for uid FIRST_UID + i (i < COUNT), a child joins no group, setresuid()s to the
 * uid and sends 2 + i % 2 datagrams of 10 + i % 50 payload bytes to 127.0.0.1; at most
 * PARALLEL children run at once. A child that sent everything is one line of MANIFEST,
 * "uid packets bytes" (bytes of the IP packets: payload + 28), so the test compares logs and
 * summaries with what was really sent. With WATCH_PID, the number of that process's open
 * descriptors is sampled every SAMPLE_EVERY children; the peak is printed at the end as
 * "peak_fds=N". Bounded in time: past DEADLINE_S it stops and exits 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PARALLEL	8
#define SAMPLE_EVERY	25
#define DEADLINE_S	240

struct slot {
	pid_t pid;
	unsigned int uid, packets, bytes;
};

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

static void drain(int fd)
{
	char buf[2048];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void __attribute__((noreturn)) child(int rfd, const struct sockaddr_in *to, unsigned int uid,
					    unsigned int packets, unsigned int size)
{
	char payload[64];
	int s;

	close(rfd);
	memset(payload, 'u', sizeof(payload));
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		_exit(2);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		_exit(3);
	for (unsigned int k = 0; k < packets; k++)
		if (sendto(s, payload, size, 0, (const struct sockaddr *)to, sizeof(*to)) !=
		    (ssize_t)size)
			_exit(4);
	_exit(0);
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct slot slots[PARALLEL] = { 0 };
	unsigned int first, count, next = 0, running = 0, failed = 0, reaped = 0;
	socklen_t alen = sizeof(to);
	pid_t watch = 0;
	int rfd, peak = -1, buf = 64 << 20;
	time_t deadline = time(NULL) + DEADLINE_S;
	char pidline[32], procs[4096];
	FILE *man;
	int cg;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: uidflood CGROUP FIRST_UID COUNT MANIFEST [WATCH_PID]\n");
		return 2;
	}
	first = (unsigned int)strtoul(argv[2], NULL, 10);
	count = (unsigned int)strtoul(argv[3], NULL, 10);
	if (argc == 6)
		watch = (pid_t)atoi(argv[5]);
	if (first < 1000 || first + count < first) {
		fprintf(stderr, "uidflood: uids from %u would include system users\n", first);
		return 2;
	}
	man = fopen(argv[4], "w");
	if (!man) {
		perror(argv[4]);
		return 1;
	}

	/* The receiver, outside the cgroup: never counted, and no ICMP "port unreachable". */
	rfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (rfd < 0 || setsockopt(rfd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) ||
	    bind(rfd, (struct sockaddr *)&to, sizeof(to)) ||
	    getsockname(rfd, (struct sockaddr *)&to, &alen)) {
		perror("uidflood: receiver");
		return 1;
	}

	/* Now into the watched cgroup: every child is born there. */
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", argv[1]);
	cg = open(procs, O_WRONLY | O_CLOEXEC);
	snprintf(pidline, sizeof(pidline), "%d\n", (int)getpid());
	if (cg < 0 || write(cg, pidline, strlen(pidline)) < 0) {
		perror("uidflood: joining the cgroup");
		return 1;
	}
	close(cg);

	while (next < count || running) {
		int status;
		pid_t p;

		while (next < count && running < PARALLEL && time(NULL) < deadline) {
			unsigned int i = next++, packets = 2 + i % 2, size = 10 + i % 50;
			struct slot *s = slots;

			while (s->pid)
				s++;
			p = fork();
			if (p < 0) {
				perror("uidflood: fork");
				failed++;
				break;
			}
			if (p == 0)
				child(rfd, &to, first + i, packets, size);
			*s = (struct slot){ p, first + i, packets, packets * (size + 28) };
			running++;
		}
		if (!running)
			break;
		p = waitpid(-1, &status, 0);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			perror("uidflood: waitpid");
			return 1;
		}
		for (int k = 0; k < PARALLEL; k++) {
			if (slots[k].pid != p)
				continue;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				fprintf(man, "%u %u %u\n", slots[k].uid, slots[k].packets,
					slots[k].bytes);
			else
				failed++;
			slots[k].pid = 0;
			running--;
		}
		drain(rfd);
		if (watch && ++reaped % SAMPLE_EVERY == 0) {
			int n = count_fds(watch);

			if (n > peak)
				peak = n;
		}
	}
	drain(rfd);
	if (watch) {
		int n = count_fds(watch);

		if (n > peak)
			peak = n;
		printf("peak_fds=%d\n", peak);
	}
	if (fclose(man)) {
		perror(argv[4]);
		return 1;
	}
	if (next < count)
		fprintf(stderr, "uidflood: deadline passed after %u of %u uids\n", next, count);
	if (failed)
		fprintf(stderr, "uidflood: %u senders failed\n", failed);
	return next < count || failed ? 1 : 0;
}
