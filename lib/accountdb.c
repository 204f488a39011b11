/* SPDX-License-Identifier: BSD-3-Clause */
/* The account database: local accounts mapped to CloudBase identities.
 *
 * FILE FORMAT (version 1, host byte order, tagged so another order is
 * refused; all offsets from the start of the file):
 *
 *   header   96 bytes: magic "CBACCDB\n", version, byte-order tag, header
 *            and record sizes, n_records, n_slots, max_probe, file_size,
 *            the offsets of the four sections below, the string table size
 *            and a generation counter bumped by every write.
 *   records  n_records fixed 96-byte records: created, last_login, uid,
 *            gid (== uid), flags, n_groups, and {offset, length} pairs into
 *            the string table for name, gecos, home, shell, login, phone,
 *            sub and the groups blob (names back to back, each ending in
 *            NUL).
 *   by name  n_slots uint32 (a power of two, >= 2 * n_records): open
 *            addressing with linear probing, slot = FNV-1a 64 of the name
 *            folded to 32 bits; 0 marks an empty slot, else record + 1.
 *   by uid   the same, slot = Fibonacci hash of the uid.
 *   strings  starts with a NUL (the empty string is {0, 0}); each string is
 *            followed by a NUL and holds none.
 *
 * A lookup is one hash, at most max_probe + 1 slots (the writer records the
 * longest probe sequence, a few dozen at half load; readers refuse more than
 * CB_DB_MAX_PROBE, and a writer that gets more doubles the tables) and one record,
 * so a process touches a handful of pages whatever the size of the file.
 * Readers (accountdb_map.c) check the header once and every record they
 * hand out, and bound every loop, so a corrupt or hostile file gives
 * CB_ERR_CORRUPT, never a crash, a hang or another user's record.
 *
 * WRITES (accountdb_store.c): an exclusive flock(2) on "<db>.lock" (a
 * file that is never replaced), read the current file, change the records
 * in memory, write a whole new file "<db>.tmp-XXXXXX" beside it (mode
 * 0644, root-owned), fsync it, rename(2) it over the database and fsync
 * the directory. A mapped file is
 * never modified or truncated (readers would get SIGBUS), and a writer
 * killed at any point leaves the old or the new database, both complete.
 *
 * WHY 0644: NSS serves names, uids, homes and shells to every process, as
 * /etc/passwd does, and the NSS module runs as any user. The CloudBase
 * login, phone, sub and groups are identifiers, not credentials: knowing a
 * sub does not let anyone sign in (the service checks the password or SMS
 * code, and the PAM module compares the sub the service returns). A phone
 * number is personal data, though; hosts that must hide it from local
 * users should keep it out of the database (add users by login only).
 *
 * UIDS: see idmap.h. The key is the sub when known at creation, else the
 * login folded to lower case; taken ids (another record, /etc/passwd uids
 * and gids, /etc/group gids) probe to the next free one, and the record
 * keeps a flag saying so. A uid never changes once assigned.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accountdb.h"
#include "accountdb_format.h"
#include "accountdb_map.h"
#include "accountdb_store.h"
#include "idmap.h"

#ifndef CB_LOCALSTATEDIR
#define CB_LOCALSTATEDIR "/var"
#endif

#define DEFAULT_DB CB_LOCALSTATEDIR "/lib/cloudbase/accounts.db"
#define PASSWD_FILE "/etc/passwd"
#define GROUP_FILE "/etc/group"
#define DEFAULT_SHELL "/bin/sh"
#define DEFAULT_HOME_BASE "/home"

const char *cb_accountdb_path(const struct cb_config *cfg)
{
	return cfg != NULL && cfg->accounts_db != NULL ? cfg->accounts_db : DEFAULT_DB;
}

static struct cb_account *find(struct cb_account *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			return &list[i];
	return NULL;
}

/* ---- the public operations ---- */

cb_status cb_accountdb_get(const struct cb_config *cfg, const char *name, struct cb_account *out,
			   const struct cb_log *log)
{
	const char *path = cb_accountdb_path(cfg);
	struct cb_dbmap m;
	struct cb_dbrec r;
	cb_status rc;

	memset(out, 0, sizeof(*out));
	if (!cb_valid_local_name(name))
		return CB_ERR_NOT_FOUND;
	rc = cb_dbmap_open(&m, path, log);
	if (rc != CB_OK)
		return rc;
	rc = cb_dbmap_find_name(&m, name, &r);
	if (rc == CB_OK)
		rc = cb_store_account_from_rec(&r, out);
	else if (rc == CB_ERR_CORRUPT)
		cb_log(log, LOG_ERR, "%s: corrupt record for %s", path, name);
	cb_dbmap_close(&m);
	return rc;
}

cb_status cb_accountdb_list(const struct cb_config *cfg, struct cb_account **out, size_t *n,
			    const struct cb_log *log)
{
	uint64_t gen;

	return cb_store_load(cb_accountdb_path(cfg), out, n, &gen, log);
}

cb_status cb_accountdb_check(const struct cb_config *cfg, size_t *n_records,
			     const struct cb_log *log)
{
	struct cb_dbmap m;
	cb_status rc = cb_dbmap_open(&m, cb_accountdb_path(cfg), log);

	if (rc != CB_OK)
		return rc;
	rc = cb_dbmap_verify(&m, log);
	if (n_records != NULL)
		*n_records = m.n_records;
	cb_dbmap_close(&m);
	return rc;
}

cb_status cb_local_user_lookup(const char *name)
{
	uint32_t id;

	return cb_group_file_gid(PASSWD_FILE, name, &id);
}

int cb_local_name_exists(const char *name)
{
	uint32_t id;

	return cb_group_file_gid(PASSWD_FILE, name, &id) == CB_OK ||
	       cb_group_file_gid(GROUP_FILE, name, &id) == CB_OK;
}

struct add_ctx {
	const struct cb_config *cfg;
	struct cb_account *acct; /* the caller's: uid, gid, created written back */
	struct cb_idset taken;
};

static bool id_taken(void *arg, uint32_t id)
{
	return cb_idset_has(arg, id);
}

static cb_status choose_uid(struct add_ctx *c, struct cb_account *a, size_t n_list,
			    struct cb_account *list, const struct cb_log *log)
{
	char key[CB_DB_MAX_LOGIN + 1];
	uint32_t probes = 0;
	cb_status rc;

	for (size_t i = 0; i < n_list; i++)
		if ((rc = cb_idset_add(&c->taken, list[i].uid)) != CB_OK)
			return rc;
	if ((rc = cb_idset_add_passwd(&c->taken, PASSWD_FILE, log)) != CB_OK ||
	    (rc = cb_idset_add_group(&c->taken, GROUP_FILE, log)) != CB_OK)
		return rc;
	if (a->uid != 0) {
		if (a->uid < c->cfg->uid_min || a->uid > c->cfg->uid_max ||
		    cb_idmap_reserved(a->uid)) {
			cb_log(log, LOG_ERR, "uid %u is outside %u-%u", a->uid, c->cfg->uid_min,
			       c->cfg->uid_max);
			return CB_ERR_INPUT;
		}
		if (cb_idset_has(&c->taken, a->uid)) {
			cb_log(log, LOG_ERR, "uid %u is already used", a->uid);
			return CB_ERR_EXISTS;
		}
		a->gid = a->uid;
		return CB_OK;
	}
	if (a->sub != NULL) {
		snprintf(key, sizeof(key), "%s", a->sub);
		a->flags |= CB_ACCT_UID_FROM_SUB;
	} else {
		size_t i;

		/* logins compare case-insensitively at the service */
		for (i = 0; i < sizeof(key) - 1 && a->login[i] != '\0'; i++)
			key[i] = (a->login[i] >= 'A' && a->login[i] <= 'Z')
					 ? (char)(a->login[i] + 32)
					 : a->login[i];
		key[i] = '\0';
	}
	rc = cb_idmap_pick(key, c->cfg->uid_min, c->cfg->uid_max, id_taken, &c->taken, &a->uid,
			   &probes);
	if (rc == CB_ERR_EXISTS)
		cb_log(log, LOG_ERR, "no free uid left in %u-%u", c->cfg->uid_min, c->cfg->uid_max);
	if (rc != CB_OK)
		return rc;
	if (probes > 0) {
		a->flags |= CB_ACCT_UID_PROBED;
		cb_log(log, LOG_NOTICE, "%s: hashed uid taken, probed %u ids on to %u", a->name,
		       probes, a->uid);
	}
	a->gid = a->uid;
	return CB_OK;
}

static cb_status edit_add(struct cb_account **list, size_t *n, void *arg, const struct cb_log *log)
{
	struct add_ctx *c = arg;
	struct cb_account a = *c->acct;
	cb_status rc;

	if (find(*list, *n, a.name) != NULL) {
		cb_log(log, LOG_ERR, "%s: already in the account database", a.name);
		return CB_ERR_EXISTS;
	}
	a.flags = 0;
	rc = choose_uid(c, &a, *n, *list, log);
	if (rc != CB_OK)
		return rc;
	if (a.created == 0)
		a.created = (int64_t)time(NULL);
	rc = cb_store_check_account(&a, log);
	if (rc == CB_OK)
		rc = cb_store_append(list, n, &a);
	if (rc == CB_OK) {
		c->acct->uid = a.uid;
		c->acct->gid = a.gid;
		c->acct->created = a.created;
		c->acct->flags = a.flags;
	}
	return rc;
}

/* Fill in defaults and normalise what the admin typed. Strings set here
 * are owned by the caller's struct from then on. */
static cb_status prepare_new(const struct cb_config *cfg, struct cb_account *a,
			     const struct cb_log *log)
{
	char phone[24];

	if (!cb_valid_local_name(a->name)) {
		cb_log(log, LOG_ERR,
		       "invalid local name (1-32 bytes; no ':', '/', ',', white "
		       "space or control characters; not starting with '-'; not "
		       "all digits)");
		return CB_ERR_INPUT;
	}
	if (cb_local_name_exists(a->name)) {
		cb_log(log, LOG_ERR, "%s: a local account or group of that name exists", a->name);
		return CB_ERR_EXISTS;
	}
	if (a->login == NULL || a->login[0] == '\0') {
		cb_log(log, LOG_ERR, "%s: a CloudBase login is required", a->name);
		return CB_ERR_INPUT;
	}
	if (a->phone != NULL) {
		if (cb_normalize_phone(a->phone, phone, sizeof(phone)) != CB_OK) {
			cb_log(log, LOG_ERR, "%s: invalid phone number", a->name);
			return CB_ERR_INPUT;
		}
		free(a->phone);
		if ((a->phone = strdup(phone)) == NULL)
			return CB_ERR_NOMEM;
	}
	/* a login that is a phone number is stored as the service spells it */
	if (a->login[0] == '+' && cb_normalize_phone(a->login, phone, sizeof(phone)) == CB_OK) {
		free(a->login);
		if ((a->login = strdup(phone)) == NULL)
			return CB_ERR_NOMEM;
	}
	if (a->sub != NULL && a->sub[0] == '\0') {
		free(a->sub);
		a->sub = NULL;
	}
	if (a->shell == NULL &&
	    (a->shell = strdup(cfg->default_shell ? cfg->default_shell : DEFAULT_SHELL)) == NULL)
		return CB_ERR_NOMEM;
	if (a->home == NULL &&
	    asprintf(&a->home, "%s/%s", cfg->home_base ? cfg->home_base : DEFAULT_HOME_BASE,
		     a->name) < 0) {
		a->home = NULL;
		return CB_ERR_NOMEM;
	}
	if (a->gecos == NULL && (a->gecos = strdup("")) == NULL)
		return CB_ERR_NOMEM;
	a->gid = a->uid;
	return CB_OK;
}

cb_status cb_accountdb_add(const struct cb_config *cfg, struct cb_account *acct,
			   const struct cb_log *log)
{
	struct add_ctx c = {cfg, acct, {0}};
	cb_status rc = prepare_new(cfg, acct, log);

	if (rc == CB_OK)
		rc = cb_store_transact(cb_accountdb_path(cfg), true, edit_add, &c, log);
	cb_idset_free(&c.taken);
	return rc;
}

static cb_status edit_remove(struct cb_account **list, size_t *n, void *arg,
			     const struct cb_log *log)
{
	struct cb_account *a = find(*list, *n, arg);

	(void)log;
	if (a == NULL)
		return CB_ERR_NOT_FOUND;
	cb_account_free(a);
	memmove(a, a + 1, (size_t)(*list + *n - (a + 1)) * sizeof(*a));
	(*n)--;
	return CB_OK;
}

cb_status cb_accountdb_remove(const struct cb_config *cfg, const char *name,
			      const struct cb_log *log)
{
	if (!cb_valid_local_name(name))
		return CB_ERR_NOT_FOUND;
	return cb_store_transact(cb_accountdb_path(cfg), true, edit_remove, (void *)(uintptr_t)name,
				 log);
}

static cb_status edit_unbind(struct cb_account **list, size_t *n, void *arg,
			     const struct cb_log *log)
{
	struct cb_account *a = find(*list, *n, arg);

	(void)log;
	if (a == NULL)
		return CB_ERR_NOT_FOUND;
	free(a->sub);
	a->sub = NULL;
	return CB_OK;
}

cb_status cb_accountdb_unbind(const struct cb_config *cfg, const char *name,
			      const struct cb_log *log)
{
	if (!cb_valid_local_name(name))
		return CB_ERR_NOT_FOUND;
	return cb_store_transact(cb_accountdb_path(cfg), true, edit_unbind, (void *)(uintptr_t)name,
				 log);
}

struct login_ctx {
	const char *name;
	const char *sub;
	const char *const *groups;
	size_t n_groups;
};

static cb_status set_groups(struct cb_account *a, const struct login_ctx *c,
			    const struct cb_log *log)
{
	char **g = NULL;
	size_t n = 0, blob = 0;

	if (c->n_groups > 0 && (g = calloc(c->n_groups, sizeof(*g))) == NULL)
		return CB_ERR_NOMEM;
	for (size_t i = 0; i < c->n_groups && n < CB_MAX_GROUPS; i++) {
		/* a group name the format cannot hold maps to nothing: skip it */
		if (!cb_store_group_name_ok(c->groups[i]) ||
		    blob + strlen(c->groups[i]) + 1 > CB_DB_MAX_GROUPS_BLOB) {
			cb_log(log, LOG_WARNING, "%s: CloudBase group name skipped (invalid)",
			       a->name);
			continue;
		}
		if ((g[n] = strdup(c->groups[i])) == NULL) {
			for (size_t j = 0; j < n; j++)
				free(g[j]);
			free(g);
			return CB_ERR_NOMEM;
		}
		blob += strlen(g[n]) + 1;
		n++;
	}
	for (size_t i = 0; i < a->n_groups; i++)
		free(a->groups[i]);
	free(a->groups);
	a->groups = g;
	a->n_groups = n;
	return CB_OK;
}

static cb_status edit_login(struct cb_account **list, size_t *n, void *arg,
			    const struct cb_log *log)
{
	const struct login_ctx *c = arg;
	struct cb_account *a = find(*list, *n, c->name);

	if (a == NULL)
		return CB_ERR_NOT_FOUND;
	if (a->sub != NULL && strcmp(a->sub, c->sub) != 0) {
		cb_log(log, LOG_WARNING,
		       "%s: signed in as another CloudBase user than the one bound to this "
		       "account, refused (possible account takeover)",
		       a->name);
		return CB_ERR_SUB_MISMATCH;
	}
	if (a->sub == NULL && (a->sub = strdup(c->sub)) == NULL)
		return CB_ERR_NOMEM;
	a->last_login = (int64_t)time(NULL);
	return set_groups(a, c, log);
}

cb_status cb_accountdb_record_login(const struct cb_config *cfg, const char *name, const char *sub,
				    const char *const *groups, size_t n_groups,
				    const struct cb_log *log)
{
	struct login_ctx c = {name, sub, groups, n_groups};

	if (!cb_valid_local_name(name))
		return CB_ERR_NOT_FOUND;
	if (sub == NULL || sub[0] == '\0' || !cb_store_text_ok(sub, CB_DB_MAX_SUB, 0) ||
	    (n_groups > 0 && groups == NULL)) {
		cb_log(log, LOG_ERR, "%s: invalid sub from the service", name);
		return CB_ERR_INPUT;
	}
	return cb_store_transact(cb_accountdb_path(cfg), true, edit_login, &c, log);
}

struct replace_ctx {
	const struct cb_account *accts;
	size_t n;
};

static cb_status edit_replace(struct cb_account **list, size_t *n, void *arg,
			      const struct cb_log *log)
{
	const struct replace_ctx *c = arg;

	(void)log;
	cb_account_list_free(*list, *n);
	*list = NULL;
	*n = 0;
	for (size_t i = 0; i < c->n; i++) {
		cb_status rc = cb_store_append(list, n, &c->accts[i]);

		if (rc != CB_OK)
			return rc;
	}
	return CB_OK;
}

cb_status cb_accountdb_write_file(const char *path, const struct cb_account *accts, size_t n,
				  const struct cb_log *log)
{
	struct replace_ctx c = {accts, n};

	return cb_store_transact(path, false, edit_replace, &c, log);
}
