/* SPDX-License-Identifier: BSD-3-Clause */
/* Opening files that decide who may log in: config, client secret,
 * account database. A file is trusted only when it passes every check. */
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
};

/* Open path for reading if it is a regular file (not a symlink: O_NOFOLLOW;
 * not a FIFO or device: checked after a non-blocking open), owned by root,
 * not group/world-writable (with CB_TRUST_SECRET: no group/other bits at
 * all), and at most max_size bytes. On success *fdp is an O_CLOEXEC fd in
 * blocking mode and *st (if not NULL) its fstat. Every refusal is logged
 * with the path and the reason. */
cb_status cb_open_trusted(const char *path, unsigned flags, size_t max_size, int *fdp,
			  struct stat *st, const struct cb_log *log);

/* Read a whole trusted file into a NUL-terminated malloc'd buffer.
 * Refuses files containing NUL bytes. With CB_TRUST_SECRET the buffer is
 * meant to be freed with cb_free_secret. */
cb_status cb_read_trusted(const char *path, unsigned flags, size_t max_size, char **out,
			  size_t *lenp, const struct cb_log *log);

#endif
