/* SPDX-License-Identifier: BSD-3-Clause */
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include "killpoints.h"

enum kill_stage kill_stage = KILL_NONE;

int __real_flock(int fd, int op);
ssize_t __real_write(int fd, const void *buf, size_t n);
int __real_rename(const char *from, const char *to);
int __wrap_flock(int fd, int op);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
int __wrap_rename(const char *from, const char *to);

int __wrap_flock(int fd, int op)
{
	int rc = __real_flock(fd, op);

	if (rc == 0 && (op & LOCK_EX) && kill_stage == KILL_LOCKED)
		raise(SIGKILL);
	return rc;
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	if (kill_stage == KILL_PARTIAL && n > 1) {
		(void)__real_write(fd, buf, n / 2);
		raise(SIGKILL);
	}
	return __real_write(fd, buf, n);
}

int __wrap_rename(const char *from, const char *to)
{
	int rc;

	if (kill_stage == KILL_BEFORE_RENAME)
		raise(SIGKILL);
	rc = __real_rename(from, to);
	if (kill_stage == KILL_RENAMED)
		raise(SIGKILL);
	return rc;
}
