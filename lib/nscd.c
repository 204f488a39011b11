/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nscd.h"

#define WAIT_MS 2000

/* Wait for pid at most WAIT_MS; kill it after that. True if it exited 0
 * (or was reaped by the host's own SIGCHLD handler). */
static bool wait_bounded(pid_t pid)
{
	struct timespec pause = {0, 10 * 1000 * 1000};
	int ws;

	for (unsigned waited = 0; waited < WAIT_MS; waited += 10) {
		pid_t r = waitpid(pid, &ws, WNOHANG);

		if (r == pid)
			return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
		if (r < 0 && errno != EINTR)
			return errno == ECHILD;
		nanosleep(&pause, NULL);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	return false;
}

static bool invalidate(const char *db)
{
	char *const argv[] = {(char *)"nscd", (char *)"-i", (char *)(uintptr_t)db, NULL};
	char *const envp[] = {NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return false;
	for (int fd = 0; fd < 3; fd++)
		posix_spawn_file_actions_addopen(&fa, fd, "/dev/null",
						 fd == 0 ? O_RDONLY : O_WRONLY, 0);
	rc = posix_spawn(&pid, CB_NSCD_PROGRAM, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	return rc == 0 && wait_bounded(pid);
}

void cb_nscd_invalidate(const struct cb_log *log)
{
	struct stat st;

	if (stat(CB_NSCD_SOCKET, &st) != 0 || !S_ISSOCK(st.st_mode))
		return; /* nscd does not run: nothing cached */
	if (!invalidate("passwd") || !invalidate("group"))
		cb_log(log, LOG_WARNING,
		       "nscd runs, but its passwd and group caches could not be invalidated "
		       "(%s -i): changes show once its entries expire",
		       CB_NSCD_PROGRAM);
}
