/* SPDX-License-Identifier: BSD-3-Clause */
/* The account database: local accounts mapped to CloudBase identities.
 *
 * One file (config key accounts_db), written only by cloudbasectl and the
 * PAM module, read by the NSS module and the PAM module. Readers map it
 * read-only and check it before trusting it; writers take a lock, write a
 * new file, fsync and rename() it over the old one. See design.md.
 *
 * This header is the writer/owner side, used by PAM and cloudbasectl. The
 * allocation-free lookup side used by NSS is in accountdb_map.h.
 */
#ifndef CB_ACCOUNTDB_H
#define CB_ACCOUNTDB_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "log.h"
#include "status.h"

#define CB_NAME_MAX 32 /* local login name, bytes */
#define CB_MAX_GROUPS 1024 /* CloudBase groups kept per account */

struct cb_account {
	char *name; /* local login name */
	uint32_t uid;
	uint32_t gid; /* == uid: a private group of the same name */
	char *gecos;
	char *home;
	char *shell;
	char *login; /* CloudBase login: username, email or "+86 138..." */
	char *phone; /* "+86 13800000000" form, or NULL */
	char *sub; /* bound CloudBase sub, NULL until the first login */
	char **groups; /* CloudBase groups seen at the last login */
	size_t n_groups;
	int64_t created; /* seconds since the epoch */
	int64_t last_login; /* 0: never */
	uint32_t flags; /* CB_ACCT_UID_*: how the uid was chosen (read only) */
};

/* cb_account.flags */
#define CB_ACCT_UID_PROBED 0x1u /* the hashed uid was taken: probed onwards */
#define CB_ACCT_UID_FROM_SUB 0x2u /* hashed from the sub (else from the login) */

void cb_account_free(struct cb_account *acct);

/* Look up a local name. CB_ERR_NOT_FOUND when the database has no such
 * record; CB_ERR_UNSAFE_FILE / CB_ERR_CORRUPT when the file is not to be
 * trusted (logged once). The database missing altogether is
 * CB_ERR_NOT_FOUND too, with a log line. */
cb_status cb_accountdb_get(const struct cb_config *cfg, const char *name, struct cb_account *out,
			   const struct cb_log *log);

/* Add a record (cloudbasectl user add). uid/gid are chosen by the id
 * mapping when acct->uid is 0; created is set. CB_ERR_EXISTS if the name is
 * taken, CB_ERR_INPUT for an invalid name, login, phone, shell or home. */
cb_status cb_accountdb_add(const struct cb_config *cfg, struct cb_account *acct,
			   const struct cb_log *log);

/* Remove a record. CB_ERR_NOT_FOUND if absent. */
cb_status cb_accountdb_remove(const struct cb_config *cfg, const char *name,
			      const struct cb_log *log);

/* Forget the bound sub (cloudbasectl user unbind). */
cb_status cb_accountdb_unbind(const struct cb_config *cfg, const char *name,
			      const struct cb_log *log);

/* After a successful sign-in (PAM account phase): binds sub if the record
 * has none, refuses with CB_ERR_SUB_MISMATCH if it has another one (nothing
 * written), records the groups and the login time. Atomic, under the lock. */
cb_status cb_accountdb_record_login(const struct cb_config *cfg, const char *name, const char *sub,
				    const char *const *groups, size_t n_groups,
				    const struct cb_log *log);

/* Every record, for cloudbasectl user list. Free with cb_account_list_free. */
cb_status cb_accountdb_list(const struct cb_config *cfg, struct cb_account **out, size_t *n,
			    const struct cb_log *log);
void cb_account_list_free(struct cb_account *list, size_t n);

/* Is name a valid local login name (useradd's rules: 1-32 bytes, no ':',
 * '/', ',', white space, control bytes; not starting with '-'; not "." or
 * "..")? */
int cb_valid_local_name(const char *name);

/* Normalise a phone number to the "+CC NUMBER" form the service wants:
 * "+86 13800000000". Accepts what admins type ("+8613800000000",
 * "+86-138 0000 0000", "+86 138-0000-0000"); refuses anything that cannot
 * be one (CB_ERR_PHONE_INVALID). out must hold 24 bytes. */
cb_status cb_normalize_phone(const char *in, char *out, size_t outsz);

/* Additions beyond the first contract. */

/* The database path: cfg->accounts_db, or the compiled-in default
 * $(localstatedir)/lib/cloudbase/accounts.db. */
const char *cb_accountdb_path(const struct cb_config *cfg);

/* Is name taken by a local account or group (/etc/passwd, /etc/group, read
 * directly)? A CloudBase account must never shadow a local one. */
int cb_local_name_exists(const char *name);

/* Is name a local user (/etc/passwd, read directly, never through NSS)?
 * CB_OK: yes; CB_ERR_NOT_FOUND: no; anything else: /etc/passwd could not be
 * read, and the caller must refuse (neither "ours" nor "not ours"). */
cb_status cb_local_user_lookup(const char *name);

/* Write a whole database at path atomically (lock, temp file, fsync,
 * rename, fsync of the directory), replacing what was there. Every record
 * needs its uid set (gid == uid); names and uids must be unique
 * (CB_ERR_EXISTS). For bulk imports, benchmarks and tests. */
cb_status cb_accountdb_write_file(const char *path, const struct cb_account *accts, size_t n,
				  const struct cb_log *log);

/* Map the database and check every record and both indexes (cloudbasectl
 * status). *n_records (if not NULL) gets the count. */
cb_status cb_accountdb_check(const struct cb_config *cfg, size_t *n_records,
			     const struct cb_log *log);

/* Tests only: called at named points of a write ("locked", "temp-partial",
 * "temp-written", "renamed") so a test can kill the writer there. Not
 * reachable from the environment or the configuration. */
extern void (*cb_accountdb_test_hook)(const char *stage);

#endif
