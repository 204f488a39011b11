/* SPDX-License-Identifier: BSD-3-Clause */
/* One local account mapped to a CloudBase identity: what the account
 * database (accountdb.h) holds for a name, in memory. */
#ifndef CB_ACCOUNT_H
#define CB_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

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
	char *email; /* for the e-mail code methods (cb_valid_email), or NULL */
	/* The user's CloudBase groups that group_map maps to local groups, as
	 * of the last sign-in: what NSS initgroups serves. (A version 1
	 * database held every CloudBase group of the last login here.) */
	char **groups;
	size_t n_groups;
	int64_t created; /* seconds since the epoch */
	uint32_t flags; /* CB_ACCT_*: how the uid was chosen (read only) */
	/* Read from a version 1 database only (before its migration): what
	 * logins recorded there, and now live in the state store. */
	char *legacy_sub;
	int64_t legacy_last_login;
};

/* cb_account.flags */
#define CB_ACCT_UID_PROBED 0x1u /* the hashed uid was taken: probed onwards */
#define CB_ACCT_UID_FROM_SUB 0x2u /* hashed from the sub (else from the login) */

void cb_account_free(struct cb_account *acct);

/* A deep copy of src into *dst. CB_ERR_NOMEM leaves *dst empty. */
cb_status cb_account_copy(const struct cb_account *src, struct cb_account *dst);

/* Replace a's groups by a copy of the n names in groups. */
cb_status cb_account_set_groups(struct cb_account *a, const char *const *groups, size_t n);

void cb_account_list_free(struct cb_account *list, size_t n);

#endif
