/* SPDX-License-Identifier: BSD-3-Clause */
/* The host's own account files, /etc/passwd and /etc/group, read
 * directly: never through NSS, which could recurse into this very module
 * (and would answer for CloudBase accounts too). A CloudBase account must
 * never shadow a local one, and a uid must never be one the host uses. */
#ifndef CB_LOCALFILES_H
#define CB_LOCALFILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "idmap.h"
#include "log.h"
#include "status.h"

#define CB_PASSWD_FILE "/etc/passwd"
#define CB_GROUP_FILE "/etc/group"

/* The third field (uid in passwd(5), gid in group(5)) of the line for name
 * in the file at path. CB_ERR_NOT_FOUND if there is none (or the file is
 * missing), CB_ERR_SYSTEM if the file could not be read to its end: a line
 * that could not be read may have been the one. */
cb_status cb_localfile_id(const char *path, const char *name, uint32_t *id);

/* Add every id of a passwd(5) file (uid and gid fields) or a group(5)
 * file (gid field) to s. A missing file adds nothing; one that cannot be
 * read is CB_ERR_SYSTEM (logged). Lines starting with '#', '+' or '-'
 * (NIS compat) are skipped. */
cb_status cb_localfile_add_passwd_ids(struct cb_idset *s, const char *path,
				      const struct cb_log *log);
cb_status cb_localfile_add_group_ids(struct cb_idset *s, const char *path,
				     const struct cb_log *log);

/* Is name a local user (CB_PASSWD_FILE)? CB_OK: yes; CB_ERR_NOT_FOUND: no;
 * anything else: the file could not be read, and the caller must refuse
 * (neither "ours" nor "not ours"). */
cb_status cb_local_user_lookup(const char *name);

/* The gid of the local group name (CB_GROUP_FILE); statuses as above. */
cb_status cb_local_group_gid(const char *name, uint32_t *gid);

/* Is name taken by a local user or group? Unreadable files count as taken. */
int cb_local_name_exists(const char *name);

/* The same question for many names (user import): every local user and
 * group name read once, sorted. A name is in it when cb_local_name_exists
 * would say so: a line of either file whose first field it is and whose
 * third field is an id. Files that cannot be read are CB_ERR_SYSTEM
 * (logged): the caller refuses. */
struct cb_local_names {
	char **names;
	size_t n;
};

cb_status cb_local_names_load(struct cb_local_names *s, const struct cb_log *log);
bool cb_local_names_has(const struct cb_local_names *s, const char *name);
void cb_local_names_free(struct cb_local_names *s);

#endif
