/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal to lib/: the write side of the account database (format:
 * accountdb_format.h). Every change goes through one of two transactions,
 * both under the writers' lock:
 *
 * - a change (cb_store_change) edits a few accounts through a cb_dbtx and
 *   writes the delta only: its cost depends on the size of the delta, not
 *   of the database. When the delta grows past its bound the same
 *   transaction folds it into a new base.
 * - a rewrite (cb_store_rewrite) edits the whole list of accounts and
 *   writes a new base (imports, the migration of a version 1 database).
 *
 * Each file is written beside the old one, fsync'ed, rename()d over it and
 * its directory fsync'ed: a mapped file is never modified (readers would
 * get SIGBUS), and a writer killed at any point leaves the old or the new
 * state, both complete.
 */
#ifndef CB_ACCOUNTDB_STORE_H
#define CB_ACCOUNTDB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "account.h"
#include "accountdb_map.h"
#include "log.h"
#include "status.h"

/* An account removed in the delta (in cb_account.flags of delta lists). */
#define CB_ACCT_DELETED 0x4u

/* The database as a change sees it: the base and delta as they were when
 * the lock was taken, and the delta being built. */
struct cb_dbtx {
	struct cb_dbview view;
	struct cb_account *delta; /* the delta's records, removals included */
	size_t n_delta;
	bool changed;
	/* a login's change: the delta may grow to CB_DB_DELTA_LOGIN_FACTOR
	 * times its bound before this write folds it (the fold is left to an
	 * admin's write, which never keeps a user waiting) */
	bool login;
};

/* The current record of name (the delta's, else the base's), copied.
 * CB_ERR_NOT_FOUND if there is none (or it was removed). */
cb_status cb_dbtx_get(struct cb_dbtx *tx, const char *name, struct cb_account *out);

/* Is uid used by an account, or by one removed since the last base (its
 * files may still exist)? The account named for_name (NULL: none) does not
 * count: a name removed and added again gets its uid back. */
bool cb_dbtx_uid_used(struct cb_dbtx *tx, uint32_t uid, const char *for_name);

/* Add a or replace the record of a->name by a copy of a. Checked as
 * cb_store_check_account does. */
cb_status cb_dbtx_put(struct cb_dbtx *tx, const struct cb_account *a, const struct cb_log *log);

/* Remove name. CB_ERR_NOT_FOUND if there is no such account. */
cb_status cb_dbtx_remove(struct cb_dbtx *tx, const char *name);

/* What a writer does besides its edit, under the same lock (accountdb.c
 * supplies them): move a version 1 database's login data out before it is
 * rewritten, apply changes that earlier writers could not make, and, once
 * the new file is in place, forget them. Each may be NULL. */
struct cb_store_ops {
	cb_status (*migrate)(struct cb_account *list, size_t n, void *arg,
			     const struct cb_log *log);
	cb_status (*pending)(struct cb_dbtx *tx, void *arg, const struct cb_log *log);
	void (*committed)(void *arg, bool wrote);
	void *arg;
};

typedef cb_status (*cb_store_change_fn)(struct cb_dbtx *tx, void *arg, const struct cb_log *log);
typedef cb_status (*cb_store_rewrite_fn)(struct cb_account **list, size_t *n, void *arg,
					 const struct cb_log *log);

/* One change under the lock (waiting at most lock_wait_ms, else
 * CB_ERR_BUSY): an absent database is an empty one; an untrusted one is
 * refused. When edit returns CB_OK and changed something, the delta (or,
 * past its bound, a new base) is written; any other status leaves the
 * files alone and is returned. */
cb_status cb_store_change(const char *path, unsigned lock_wait_ms, cb_store_change_fn edit,
			  void *arg, const struct cb_store_ops *ops, const struct cb_log *log);

/* One rewrite under the lock: edit gets every current account (delta
 * applied; *list may be replaced), and its result becomes the new base.
 * With load false, edit starts from an empty list. */
cb_status cb_store_rewrite(const char *path, unsigned lock_wait_ms, bool load,
			   cb_store_rewrite_fn edit, void *arg, const struct cb_store_ops *ops,
			   const struct cb_log *log);

/* Every account of the database at path, delta applied (no lock: readers
 * see a consistent pair of files). */
cb_status cb_store_load(const char *path, struct cb_account **out, size_t *n,
			const struct cb_log *log);

/* A mapped record copied into a struct cb_account. */
cb_status cb_store_account_from_rec(const struct cb_dbrec *r, struct cb_account *a);

/* Is a a record the format can hold (name, login, paths, ids, groups)?
 * CB_ERR_INPUT with a logged reason if not. */
cb_status cb_store_check_account(const struct cb_account *a, const struct cb_log *log);

/* A CloudBase group name the format can hold. */
bool cb_store_group_name_ok(const char *g);

#endif
