/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileutil.h"
#include "secure.h"

static cb_status check_stat(const char *path, const struct stat *st, unsigned flags,
			    size_t max_size, const struct cb_log *log)
{
	if (!S_ISREG(st->st_mode)) {
		cb_log(log, LOG_ERR, "%s: not a regular file, refused", path);
		return CB_ERR_UNSAFE_FILE;
	}
	if (st->st_uid != 0) {
		cb_log(log, LOG_ERR, "%s: owned by uid %u, not root, refused", path,
		       (unsigned)st->st_uid);
		return CB_ERR_UNSAFE_FILE;
	}
	if ((flags & CB_TRUST_SECRET) ? (st->st_mode & 077) != 0 : (st->st_mode & 022) != 0) {
		cb_log(log, LOG_ERR, "%s: mode %04o is too open, refused", path,
		       (unsigned)(st->st_mode & 07777));
		return CB_ERR_UNSAFE_FILE;
	}
	if (st->st_size < 0 || (unsigned long long)st->st_size > max_size) {
		cb_log(log, LOG_ERR, "%s: larger than %zu bytes, refused", path, max_size);
		return CB_ERR_UNSAFE_FILE;
	}
	return CB_OK;
}

cb_status cb_open_trusted(const char *path, unsigned flags, size_t max_size, int *fdp,
			  struct stat *st, const struct cb_log *log)
{
	struct stat sb;
	cb_status rc;
	int fd;

	*fdp = -1;
	/* O_NONBLOCK: opening a FIFO planted at the path must not hang */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;

		cb_log(log, LOG_ERR, "%s: cannot open: %s%s", path, strerror(e),
		       e == ELOOP ? " (symlinks are refused)" : "");
		return e == ENOENT   ? CB_ERR_NOT_FOUND
		       : e == ENOMEM ? CB_ERR_NOMEM
				     : CB_ERR_UNSAFE_FILE;
	}
	if (fstat(fd, &sb) != 0) {
		cb_log(log, LOG_ERR, "%s: fstat: %s", path, strerror(errno));
		close(fd);
		return CB_ERR_SYSTEM;
	}
	rc = check_stat(path, &sb, flags, max_size, log);
	if (rc != CB_OK) {
		close(fd);
		return rc;
	}
	if (fcntl(fd, F_SETFL, 0) != 0) {
		close(fd);
		return CB_ERR_SYSTEM;
	}
	*fdp = fd;
	if (st != NULL)
		*st = sb;
	return CB_OK;
}

cb_status cb_read_trusted(const char *path, unsigned flags, size_t max_size, char **out,
			  size_t *lenp, const struct cb_log *log)
{
	struct stat st;
	size_t len = 0;
	char *buf;
	cb_status rc;
	int fd;

	*out = NULL;
	rc = cb_open_trusted(path, flags, max_size, &fd, &st, log);
	if (rc != CB_OK)
		return rc;
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return CB_ERR_NOMEM;
	}
	/* read at most the size fstat saw, plus one byte to notice growth */
	for (;;) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cb_log(log, LOG_ERR, "%s: read: %s", path, strerror(errno));
			rc = CB_ERR_SYSTEM;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > (size_t)st.st_size) {
			cb_log(log, LOG_ERR, "%s: changed while read, refused", path);
			rc = CB_ERR_UNSAFE_FILE;
			break;
		}
	}
	close(fd);
	if (rc == CB_OK && memchr(buf, '\0', len) != NULL) {
		cb_log(log, LOG_ERR, "%s: contains a NUL byte, refused", path);
		rc = CB_ERR_CONFIG;
	}
	if (rc != CB_OK) {
		cb_wipe(buf, len);
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	if (lenp != NULL)
		*lenp = len;
	return CB_OK;
}
