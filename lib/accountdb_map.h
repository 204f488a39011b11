/* SPDX-License-Identifier: BSD-3-Clause */
/* The read side of the account database (format: accountdb_format.h): a
 * read-only mmap of each file, checked before it is trusted, and lookups
 * that never allocate (the NSS module calls them from every process on the
 * host). cb_dbmap is one file; cb_dbview is the database as readers see
 * it, the base with its delta applied.
 *
 * Every string of a struct cb_dbrec points into the mapping, is
 * NUL-terminated at [len] and holds no NUL before it; it stays valid until
 * cb_dbmap_close(). Every record handed out has been checked in full.
 */
#ifndef CB_ACCOUNTDB_MAP_H
#define CB_ACCOUNTDB_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "log.h"
#include "status.h"

struct cb_dbmap {
	const unsigned char *base; /* NULL: not open */
	size_t size;
	uint32_t version; /* CB_DB_VERSION or CB_DB_VERSION_1 */
	uint32_t kind; /* CB_DB_KIND_BASE or CB_DB_KIND_DELTA */
	uint32_t n_records;
	uint32_t n_slots;
	uint32_t max_probe;
	uint64_t generation;
	uint64_t base_generation; /* a delta's base */
	/* identity of the mapped file, to notice a rename() over it */
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	struct timespec ctime;
};

struct cb_dbrec {
	uint32_t index; /* position in the file, for enumeration */
	uint32_t uid;
	uint32_t gid;
	uint32_t flags; /* CB_DB_F_*; CB_DB_F_DELETED: a removal (delta only) */
	int64_t created;
	int64_t last_login; /* version 1 only */
	const char *name, *gecos, *home, *shell, *login, *phone;
	const char *email; /* version 2: "" for none; "" in version 1 */
	const char *sub; /* version 1 only: "" in version 2 */
	size_t name_len, gecos_len, home_len, shell_len, login_len, phone_len, email_len, sub_len;
	const char *groups; /* n_groups NUL-terminated names back to back */
	size_t groups_len;
	uint32_t n_groups;
};

/* Open and map path (cb_open_trusted: no symlink, regular file, root-owned,
 * not group/world-writable, in a root-owned directory not writable by group
 * or others, sticky or not: CB_TRUST_WRITTEN_DIR) and check its header and index geometry: a
 * base file (version 1 or 2) when kind is CB_DB_KIND_BASE, a delta when
 * CB_DB_KIND_DELTA. CB_ERR_NOT_FOUND if the file does not exist (not
 * logged), CB_ERR_UNSAFE_FILE, CB_ERR_CORRUPT, CB_ERR_SYSTEM, CB_ERR_NOMEM
 * otherwise (the reason logged). */
cb_status cb_dbmap_open(struct cb_dbmap *m, const char *path, uint32_t kind,
			const struct cb_log *log);

/* The same over an open descriptor (the caller keeps it). */
cb_status cb_dbmap_open_fd(struct cb_dbmap *m, int fd, const char *path, uint32_t kind,
			   const struct cb_log *log);

/* Unmap; m is left closed. Fine on a closed map. */
void cb_dbmap_close(struct cb_dbmap *m);

/* Has path been replaced or changed since m was opened? true also when it
 * cannot be stat()ed. One stat(2). */
bool cb_dbmap_stale(const struct cb_dbmap *m, const char *path);

/* Lookups: CB_OK, CB_ERR_NOT_FOUND, or CB_ERR_CORRUPT when the record the
 * index leads to fails its checks. The record returned always has exactly
 * the name or uid asked for. */
cb_status cb_dbmap_find_name(const struct cb_dbmap *m, const char *name, struct cb_dbrec *out);
cb_status cb_dbmap_find_uid(const struct cb_dbmap *m, uint32_t uid, struct cb_dbrec *out);

/* Record number idx (0 .. n_records - 1), for enumeration. */
cb_status cb_dbmap_get(const struct cb_dbmap *m, uint32_t idx, struct cb_dbrec *out);

/* Check every record and both indexes (cloudbasectl status, writers). */
cb_status cb_dbmap_verify(const struct cb_dbmap *m, const struct cb_log *log);

/* ---- the database as readers see it: the base with its delta ---- */

struct cb_dbview {
	struct cb_dbmap base;
	struct cb_dbmap delta; /* not open: there is none */
	bool use_delta; /* the delta belongs to this base */
	bool delta_absent; /* no delta file at open (cb_dbview_stale) */
};

/* Open the base at path and its delta (path + CB_DB_DELTA_SUFFIX). Retries
 * (a few times) when the base was replaced between the two opens. Statuses
 * as cb_dbmap_open for the base; a delta that cannot be trusted makes the
 * whole database untrusted. */
cb_status cb_dbview_open(struct cb_dbview *v, const char *path, const struct cb_log *log);
void cb_dbview_close(struct cb_dbview *v);

/* Has either file been replaced, created or removed since the open? */
bool cb_dbview_stale(const struct cb_dbview *v, const char *path);

/* Lookups through the delta first: a removal there hides the base's
 * record, a record there replaces it. Statuses as cb_dbmap_find_*. */
cb_status cb_dbview_find_name(const struct cb_dbview *v, const char *name, struct cb_dbrec *out);
cb_status cb_dbview_find_uid(const struct cb_dbview *v, uint32_t uid, struct cb_dbrec *out);

/* Enumeration: positions 0 .. cb_dbview_positions() - 1 cover the base's
 * records then the delta's. A position whose record is replaced or
 * removed by the delta gives CB_OK with *skip set (move on); past the end
 * CB_ERR_NOT_FOUND. */
uint64_t cb_dbview_positions(const struct cb_dbview *v);
cb_status cb_dbview_get(const struct cb_dbview *v, uint64_t pos, struct cb_dbrec *out, bool *skip);

/* Iterate a record's CloudBase groups: *pos starts at 0; returns the next
 * group name (NUL-terminated) or NULL at the end. */
const char *cb_dbrec_next_group(const struct cb_dbrec *r, size_t *pos);

#endif
