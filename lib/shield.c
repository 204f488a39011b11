/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shield.h"

/* One log line or the result, child to parent: 'L', priority, length
 * (two bytes), text; or 'S', status. */
#define FRAME_LOG 'L'
#define FRAME_STATUS 'S'

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the parent is gone: nothing to tell */
		p += w;
		len -= (size_t)w;
	}
}

static void pipe_sink(void *arg, int priority, const char *msg)
{
	int fd = *(const int *)arg;
	size_t len = strnlen(msg, CB_LOG_MAX);
	unsigned char hdr[4] = {FRAME_LOG, (unsigned char)priority, (unsigned char)(len >> 8),
				(unsigned char)(len & 0xff)};

	write_all(fd, hdr, sizeof(hdr));
	write_all(fd, msg, len);
}

/* Nothing the invoking user set may make the write fail half-way: a file
 * size limit would kill it with SIGXFSZ, a CPU limit with SIGXCPU. A soft
 * limit goes back up to the hard one; a hard limit the user lowered needs
 * CAP_SYS_RESOURCE to undo, and where that is missing the writer refuses
 * before writing (cb_replace_file checks RLIMIT_FSIZE) rather than die. */
static void reset_limits(void)
{
	static const int unlimited[] = {RLIMIT_FSIZE, RLIMIT_CPU};
	struct rlimit inf = {RLIM_INFINITY, RLIM_INFINITY}, nofile, cur;

	for (size_t i = 0; i < sizeof(unlimited) / sizeof(unlimited[0]); i++) {
		if (setrlimit(unlimited[i], &inf) == 0 || getrlimit(unlimited[i], &cur) != 0)
			continue;
		cur.rlim_cur = cur.rlim_max;
		setrlimit(unlimited[i], &cur);
	}
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < 64) {
		nofile.rlim_cur = 64;
		if (nofile.rlim_max < 64)
			nofile.rlim_max = 64;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	setpriority(PRIO_PROCESS, 0, 0);
}

static _Noreturn void child(int fd, cb_shield_fn fn, void *arg, const struct cb_log *log)
{
	struct cb_log plog = {pipe_sink, &fd, log != NULL && log->debug};
	struct sigaction ign;
	sigset_t all;
	cb_status st = CB_ERR_SYSTEM;
	unsigned char frame[2];

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, NULL);
	/* signals root may still send end the write; no handler of the host
	 * process runs in here */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if (setresuid(0, 0, 0) == 0) {
		reset_limits();
		st = fn(arg, &plog);
	} else {
		cb_log(&plog, LOG_ERR, "cannot drop the invoking user's uid: %s",
		       cb_strerror(errno));
	}
	frame[0] = FRAME_STATUS;
	frame[1] = (unsigned char)st;
	write_all(fd, frame, sizeof(frame));
	_exit(0);
}

static bool read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t r = read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		len -= (size_t)r;
	}
	return true;
}

/* Relay the child's log lines; its status, or CB_ERR_SYSTEM if it died
 * before sending one. */
static cb_status relay(int fd, const struct cb_log *log)
{
	unsigned char hdr[4];
	char msg[CB_LOG_MAX + 1];

	while (read_full(fd, hdr, 1)) {
		if (hdr[0] == FRAME_STATUS)
			return read_full(fd, hdr + 1, 1) && hdr[1] < CB_STATUS_MAX_
				       ? (cb_status)hdr[1]
				       : CB_ERR_SYSTEM;
		if (hdr[0] != FRAME_LOG || !read_full(fd, hdr + 1, 3))
			break;
		size_t len = (size_t)hdr[2] << 8 | hdr[3];

		if (len > CB_LOG_MAX || !read_full(fd, msg, len))
			break;
		msg[len] = '\0';
		cb_log(log, hdr[1], "%s", msg);
	}
	cb_log(log, LOG_ERR, "the writing child process ended without a result");
	return CB_ERR_SYSTEM;
}

cb_status cb_shield_run(cb_shield_fn fn, void *arg, const struct cb_log *log)
{
	uid_t r, e, s;
	int fds[2];
	pid_t pid;
	cb_status st;

	if (getresuid(&r, &e, &s) != 0 || e != 0 || (r == 0 && s == 0))
		return fn(arg, log);
	if (pipe2(fds, O_CLOEXEC) != 0) {
		cb_log(log, LOG_ERR, "pipe: %s", cb_strerror(errno));
		return CB_ERR_SYSTEM;
	}
	pid = fork();
	if (pid < 0) {
		cb_log(log, LOG_ERR, "fork: %s", cb_strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return CB_ERR_SYSTEM;
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], fn, arg, log);
	}
	close(fds[1]);
	st = relay(fds[0], log);
	close(fds[0]);
	/* the result came through the pipe; the host may have reaped the child
	 * already (its own SIGCHLD handler, or SIG_IGN): ECHILD is fine */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return st;
}
