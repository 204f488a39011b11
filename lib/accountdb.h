/* SPDX-License-Identifier: BSD-3-Clause */
/* The account database: local accounts mapped to CloudBase identities,
 * what the NSS module serves (format: accountdb_format.h).
 *
 * Written by cloudbasectl and by the PAM module (only when a sign-in
 * changes what NSS must answer: the mapped groups), read by both and by
 * NSS. What logins learn (the bound sub, tokens, times) is in the state
 * store (state.h), not here.
 *
 * This header is the owner side, used by PAM and cloudbasectl; the
 * allocation-free lookup side used by NSS is accountdb_map.h.
 */
#ifndef CB_ACCOUNTDB_H
#define CB_ACCOUNTDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "account.h"
#include "conf.h"
#include "log.h"
#include "names.h"
#include "status.h"

/* How long writers wait for the database's lock, in milliseconds: an
 * admin's command, and a login (which then leaves its change for the next
 * writer rather than fail: cb_accountdb_set_groups). */
#define CB_ACCOUNTDB_WAIT_ADMIN_MS 10000u
#define CB_ACCOUNTDB_WAIT_LOGIN_MS 1000u

/* The database path (cb_config_accounts_db). */
const char *cb_accountdb_path(const struct cb_config *cfg);

/* Look up a local name. CB_ERR_NOT_FOUND when the database has no such
 * record (or no database exists); CB_ERR_UNSAFE_FILE / CB_ERR_CORRUPT when
 * a file is not to be trusted (logged). */
cb_status cb_accountdb_get(const struct cb_config *cfg, const char *name, struct cb_account *out,
			   const struct cb_log *log);

/* Add a record (cloudbasectl user add). The admin's text is normalised
 * (phone, a login that is a phone number) and defaults filled in (shell,
 * home, gecos); when acct->uid is 0 the uid is chosen by the id mapping
 * (idmap.h) from sub when given, else from the login; uid, gid, created and
 * flags are written back to acct. CB_ERR_EXISTS if the name, a local
 * account or group of that name, or the uid is taken; CB_ERR_INPUT for an
 * invalid name, login, phone, shell or home (logged). */
cb_status cb_accountdb_add(const struct cb_config *cfg, struct cb_account *acct, const char *sub,
			   const struct cb_log *log);

/* Remove a record. CB_ERR_NOT_FOUND if absent. (The user's state record is
 * the caller's: cb_state_remove.) */
cb_status cb_accountdb_remove(const struct cb_config *cfg, const char *name,
			      const struct cb_log *log);

/* The CloudBase groups of a sign-in that group_map maps (what NSS needs),
 * in their order, each once. *out is malloc'd (free each and it). */
cb_status cb_accountdb_mapped_groups(const struct cb_config *cfg, const char *const *groups,
				     size_t n, char ***out, size_t *n_out);

/* Do two group lists hold the same names (order aside)? */
bool cb_accountdb_same_groups(char *const *a, size_t na, char *const *b, size_t nb);

/* After a sign-in: make the record's groups the mapped subset of the
 * sign-in's CloudBase groups, if they differ. When the database stays
 * busy for CB_ACCOUNTDB_WAIT_LOGIN_MS, a note is left for its next writer
 * (state.h) and CB_OK is returned: a login is never refused because NSS's
 * database is busy. Runs where the invoking user cannot stall it
 * (shield.h). CB_ERR_NOT_FOUND if there is no such account. */
cb_status cb_accountdb_set_groups(const struct cb_config *cfg, const char *name,
				  const char *const *groups, size_t n, const struct cb_log *log);

/* Bulk provisioning (cloudbasectl user import), one transaction: each
 * account is added, or updates the record of its name (gecos, home, shell,
 * login, phone; a uid given must be the record's); with replace, records
 * not in the list are removed, and their names returned in *removed (may
 * be NULL; free each and it). All or nothing: the first bad entry is
 * logged with its position (1-based) in *bad_index and nothing changes. */
cb_status cb_accountdb_import(const struct cb_config *cfg, struct cb_account *list, size_t n,
			      bool replace, char ***removed, size_t *n_removed, size_t *bad_index,
			      const struct cb_log *log);

/* Every record, for cloudbasectl user list/export. Free with
 * cb_account_list_free. */
cb_status cb_accountdb_list(const struct cb_config *cfg, struct cb_account **out, size_t *n,
			    const struct cb_log *log);

/* Check every record and both indexes of both files (cloudbasectl status).
 * *n_records (if not NULL) gets the number of accounts. */
cb_status cb_accountdb_check(const struct cb_config *cfg, size_t *n_records,
			     const struct cb_log *log);

/* Write a whole database at path (a new base, under the lock), replacing
 * what was there. Every record needs its uid set (gid == uid); names and
 * uids must be unique (CB_ERR_EXISTS). For tests and benchmarks. */
cb_status cb_accountdb_write_file(const char *path, const struct cb_account *accts, size_t n,
				  const struct cb_log *log);

#endif
