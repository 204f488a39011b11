/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <time.h>
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

/* Whoever may write the directory of a trusted file could remove it or
 * put another root-owned file in its place (an old copy, a file of another
 * purpose): the directory must be root's and not writable by group or
 * others, unless sticky (then only root renames or removes root's files).
 * Not even sticky where the stores write: another user could create the
 * lock file's name there first, and hold its lock. */
static bool dir_safe(const struct stat *st, unsigned flags)
{
	bool sticky_ok = (st->st_mode & S_ISVTX) != 0 && (flags & CB_TRUST_WRITTEN_DIR) == 0;

	return st->st_uid == 0 && ((st->st_mode & 022) == 0 || sticky_ok);
}

static cb_status check_parent(const char *path, unsigned flags, const struct cb_log *log)
{
	char *copy = strdup(path);
	struct stat st;
	cb_status rc = CB_OK;
	const char *dir;

	if (copy == NULL)
		return CB_ERR_NOMEM;
	dir = dirname(copy);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		cb_log(log, LOG_ERR, "%s: its directory %s cannot be checked, refused", path, dir);
		rc = CB_ERR_UNSAFE_FILE;
	} else if (!dir_safe(&st, flags)) {
		cb_log(log, LOG_ERR,
		       "%s: its directory %s (uid %u, mode %04o) may be written by others than "
		       "root%s, refused",
		       path, dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
		       (st.st_mode & S_ISVTX) != 0 && (flags & CB_TRUST_WRITTEN_DIR) != 0
			       ? " (sticky is not enough where the stores write)"
			       : "");
		rc = CB_ERR_UNSAFE_FILE;
	}
	free(copy);
	return rc;
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

		if (e == ENOENT && (flags & CB_TRUST_MAY_BE_ABSENT))
			return CB_ERR_NOT_FOUND;
		cb_log(log, LOG_ERR, "%s: cannot open: %s%s", path, cb_strerror(e),
		       e == ELOOP ? " (symlinks are refused)" : "");
		return e == ENOENT   ? CB_ERR_NOT_FOUND
		       : e == ENOMEM ? CB_ERR_NOMEM
				     : CB_ERR_UNSAFE_FILE;
	}
	if (fstat(fd, &sb) != 0) {
		cb_log(log, LOG_ERR, "%s: fstat: %s", path, cb_strerror(errno));
		close(fd);
		return CB_ERR_SYSTEM;
	}
	rc = check_stat(path, &sb, flags, max_size, log);
	if (rc == CB_OK)
		rc = check_parent(path, flags, log);
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
			cb_log(log, LOG_ERR, "%s: read: %s", path, cb_strerror(errno));
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

/* What the stores create belongs to root:root. A set-uid su or sudo runs
 * with the invoking user's group as its effective group, so a new file or
 * directory would be left in that group otherwise. (A caller whose
 * effective uid is not 0 cannot give files away: it keeps its own.) */
static int own_by_root(int fd)
{
	return geteuid() == 0 ? fchown(fd, 0, 0) : 0;
}

cb_status cb_ensure_dir(const char *dir, mode_t mode, bool mode_exact, const struct cb_log *log)
{
	struct stat st;
	bool created = false;

	if (mkdir(dir, mode) == 0)
		created = true;
	else if (errno != EEXIST) {
		cb_log(log, LOG_ERR, "%s: cannot create: %s", dir, cb_strerror(errno));
		return CB_ERR_SYSTEM;
	}
	/* the umask may have taken bits off: set the mode we mean */
	if (created && ((geteuid() == 0 && lchown(dir, 0, 0) != 0) || chmod(dir, mode) != 0)) {
		cb_log(log, LOG_ERR, "%s: chown or chmod: %s", dir, cb_strerror(errno));
		return CB_ERR_SYSTEM;
	}
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		cb_log(log, LOG_ERR, "%s: not a directory", dir);
		return CB_ERR_UNSAFE_FILE;
	}
	/* someone else able to write here could swap the files in it */
	if (!dir_safe(&st, CB_TRUST_WRITTEN_DIR) || (mode_exact && (st.st_mode & 07777) != mode)) {
		cb_log(log, LOG_ERR, "%s: directory not owned by root, or mode %04o is not %04o",
		       dir, (unsigned)(st.st_mode & 07777), (unsigned)mode);
		return CB_ERR_UNSAFE_FILE;
	}
	return CB_OK;
}

cb_status cb_fsync_dir(const char *dir, const struct cb_log *log)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cb_status rc = CB_OK;

	if (fd < 0 || fsync(fd) != 0) {
		cb_log(log, LOG_ERR, "%s: fsync: %s", dir, cb_strerror(errno));
		rc = CB_ERR_SYSTEM;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

static cb_status check_fsize_limit(const char *path, size_t len, const struct cb_log *log)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= (rlim_t)len)
		return CB_OK;
	cb_log(log, LOG_ERR, "%s: the file size limit (%llu bytes) is below the %zu bytes to write",
	       path, (unsigned long long)rl.rlim_cur, len);
	return CB_ERR_SYSTEM;
}

static cb_status write_all(int fd, const unsigned char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, buf + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return CB_ERR_SYSTEM;
		done += (size_t)w;
	}
	return CB_OK;
}

cb_status cb_replace_file(const char *path, const char *tmp_prefix, const unsigned char *buf,
			  size_t len, mode_t mode, const struct cb_log *log)
{
	char *tmp = NULL, *copy = NULL;
	cb_status rc;
	int fd = -1;

	rc = check_fsize_limit(path, len, log);
	if (rc != CB_OK)
		return rc;
	if (asprintf(&tmp, "%sXXXXXX", tmp_prefix) < 0)
		return CB_ERR_NOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		cb_log(log, LOG_ERR, "%s: cannot create: %s", tmp, cb_strerror(errno));
		free(tmp);
		return CB_ERR_SYSTEM;
	}
	if (own_by_root(fd) != 0 || fchmod(fd, mode) != 0 || write_all(fd, buf, len) != CB_OK ||
	    fsync(fd) != 0) {
		cb_log(log, LOG_ERR, "%s: write: %s", tmp, cb_strerror(errno));
		rc = CB_ERR_SYSTEM;
	}
	if (close(fd) != 0 && rc == CB_OK)
		rc = CB_ERR_SYSTEM;
	if (rc == CB_OK && rename(tmp, path) != 0) {
		cb_log(log, LOG_ERR, "%s: rename: %s", path, cb_strerror(errno));
		rc = CB_ERR_SYSTEM;
	}
	if (rc != CB_OK)
		unlink(tmp);
	free(tmp);
	if (rc == CB_OK) {
		copy = strdup(path);
		rc = copy != NULL ? cb_fsync_dir(dirname(copy), log) : CB_ERR_NOMEM;
		free(copy);
	}
	return rc;
}

cb_status cb_lock_file(const char *path, unsigned wait_ms, int *fdp, const struct cb_log *log)
{
	struct timespec pause = {0, 2 * 1000 * 1000};
	int fd;

	*fdp = -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0 || own_by_root(fd) != 0) {
		cb_log(log, LOG_ERR, "%s: %s", path, cb_strerror(errno));
		if (fd >= 0)
			close(fd);
		return CB_ERR_SYSTEM;
	}
	for (unsigned waited = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; waited += 2) {
		int e = errno;

		if ((e != EWOULDBLOCK && e != EINTR) || waited >= wait_ms) {
			cb_log(log, LOG_ERR, "%s: cannot lock: %s", path,
			       e == EWOULDBLOCK ? "held by another writer" : cb_strerror(e));
			close(fd);
			return e == EWOULDBLOCK ? CB_ERR_BUSY : CB_ERR_SYSTEM;
		}
		nanosleep(&pause, NULL);
	}
	*fdp = fd;
	return CB_OK;
}
