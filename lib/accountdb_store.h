/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal to lib/: the storage side of the account database, shared by
 * accountdb.c (the operations) and accountdb_store.c (records in memory,
 * the file image, locking and atomic replacement). */
#ifndef CB_ACCOUNTDB_STORE_H
#define CB_ACCOUNTDB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accountdb.h"
#include "accountdb_map.h"

/* A change to the records in memory, under the lock. CB_OK: write the
 * result; anything else: leave the file alone and return that. */
typedef cb_status (*cb_store_edit_fn)(struct cb_account **list, size_t *n, void *arg,
				      const struct cb_log *log);

/* Lock "<path>.lock", read every record (when load; an absent file is an
 * empty database; a corrupt one is refused), edit, then write a new file
 * beside the old one, fsync it, rename() it over and fsync the directory. */
cb_status cb_store_transact(const char *path, bool load, cb_store_edit_fn edit, void *arg,
			    const struct cb_log *log);

/* Every record of the file at path (no lock). */
cb_status cb_store_load(const char *path, struct cb_account **out, size_t *n, uint64_t *gen,
			const struct cb_log *log);

/* A mapped record copied into a struct cb_account. */
cb_status cb_store_account_from_rec(const struct cb_dbrec *r, struct cb_account *a);

/* Append a deep copy of a to *list. */
cb_status cb_store_append(struct cb_account **list, size_t *n, const struct cb_account *a);

/* s is at most max bytes of printable text (no control bytes; with
 * no_colon, no ':' either: a passwd field). */
int cb_store_text_ok(const char *s, size_t max, int no_colon);

/* Is a a record the format can hold (name, login, paths, ids, groups)?
 * CB_ERR_INPUT with a logged reason if not. */
cb_status cb_store_check_account(const struct cb_account *a, const struct cb_log *log);

/* A CloudBase group name the format can hold. */
int cb_store_group_name_ok(const char *g);

#endif
