/* SPDX-License-Identifier: BSD-3-Clause */
/* Files that decide who may log in (config, client secret, account
 * database, state store): opened only when they pass every check, and
 * written only by atomic replacement. */
#ifndef CB_FILEUTIL_H
#define CB_FILEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "log.h"
#include "status.h"

enum cb_trust_flags {
	/* refuse any permission bit for group/other (private keys, secrets):
	 * 0600 or 0400 only, like ssh refuses a loose private key */
	CB_TRUST_SECRET = 1 << 0,
	/* a missing file is a normal state: CB_ERR_NOT_FOUND without a log line */
	CB_TRUST_MAY_BE_ABSENT = 1 << 1,
	/* the file's directory is one the stores write (locks, new copies):
	 * not writable by group or others even when sticky, as cb_ensure_dir
	 * wants it; a reader that took a sticky one would serve what every
	 * writer refuses to update */
	CB_TRUST_WRITTEN_DIR = 1 << 2,
};

/* Open path for reading if it is a regular file (not a symlink: O_NOFOLLOW;
 * not a FIFO or device: checked after a non-blocking open), owned by root,
 * not group/world-writable (with CB_TRUST_SECRET: no group/other bits at
 * all), and at most max_size bytes, in a directory that is root's and not
 * writable by group or others (unless sticky, and not even then with
 * CB_TRUST_WRITTEN_DIR). On success *fdp is an O_CLOEXEC fd in
 * blocking mode and *st (if not NULL) its fstat. Every refusal is logged
 * with the path and the reason. */
cb_status cb_open_trusted(const char *path, unsigned flags, size_t max_size, int *fdp,
			  struct stat *st, const struct cb_log *log);

/* Read a whole trusted file into a NUL-terminated malloc'd buffer.
 * Refuses files containing NUL bytes. With CB_TRUST_SECRET the buffer is
 * meant to be freed with cb_free_secret. */
cb_status cb_read_trusted(const char *path, unsigned flags, size_t max_size, char **out,
			  size_t *lenp, const struct cb_log *log);

/* Make sure dir exists as a directory owned by root with exactly mode
 * (set explicitly: the caller's umask does not count; a new one root:root
 * when the caller's effective uid is 0) and not writable by group or
 * others. An existing directory keeps its mode when it is safe (mode_exact
 * false) or is refused unless it has exactly mode (true).
 * CB_ERR_UNSAFE_FILE (logged) when it cannot be trusted. */
cb_status cb_ensure_dir(const char *dir, mode_t mode, bool mode_exact, const struct cb_log *log);

/* Replace path by len bytes: a new file tmp_prefix + six random
 * characters (same file system, created O_EXCL with mode, root:root when
 * the caller's effective uid is 0, else the caller's), written, fsync'ed,
 * rename(2)d over path, then the directory of path fsync'ed. A writer
 * killed at any point leaves the old content or the new one (and maybe a
 * temporary file: remove it under the writers' lock). Refuses, before
 * writing, a len above the caller's RLIMIT_FSIZE (write(2) would raise
 * SIGXFSZ). */
cb_status cb_replace_file(const char *path, const char *tmp_prefix, const unsigned char *buf,
			  size_t len, mode_t mode, const struct cb_log *log);

/* fsync(2) a directory. */
cb_status cb_fsync_dir(const char *dir, const struct cb_log *log);

/* Take an exclusive flock(2) on path (created 0600, root:root as for
 * cb_replace_file, if absent),
 * waiting at most wait_ms; *fdp then holds it until closed. CB_ERR_BUSY
 * when another holder kept it that long. */
cb_status cb_lock_file(const char *path, unsigned wait_ms, int *fdp, const struct cb_log *log);

#endif
