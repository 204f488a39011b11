/* SPDX-License-Identifier: BSD-3-Clause */
/* The account database's operations: see accountdb.h. Storage and locking
 * are accountdb_store.c's, the format accountdb_format.h's.
 *
 * UIDS: see idmap.h. The key is the sub when known at creation, else the
 * login folded to lower case; taken ids (another record, one removed since
 * the last full write, /etc/passwd uids and gids, /etc/group gids) probe to
 * the next free one, and the record keeps a flag saying so. A uid never
 * changes once assigned.
 *
 * Every writer also does, under the same lock: the migration of a version 1
 * database (its subs, groups and login times move to the state store), and
 * the changes of mapped groups that logins could not make while the
 * database was busy (notes in the state store's nss-pending/).
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
#include "localfiles.h"
#include "nscd.h"
#include "shield.h"
#include "state.h"

#define DEFAULT_SHELL "/bin/sh"
#define DEFAULT_HOME_BASE "/home"

const char *cb_accountdb_path(const struct cb_config *cfg)
{
	return cb_config_accounts_db(cfg);
}

/* ---- reading ---- */

cb_status cb_accountdb_get(const struct cb_config *cfg, const char *name, struct cb_account *out,
			   const struct cb_log *log)
{
	const char *path = cb_accountdb_path(cfg);
	struct cb_dbview v;
	struct cb_dbrec r;
	cb_status rc;

	memset(out, 0, sizeof(*out));
	if (!cb_valid_local_name(name))
		return CB_ERR_NOT_FOUND;
	rc = cb_dbview_open(&v, path, log);
	if (rc != CB_OK)
		return rc;
	rc = cb_dbview_find_name(&v, name, &r);
	if (rc == CB_OK)
		rc = cb_store_account_from_rec(&r, out);
	else if (rc == CB_ERR_CORRUPT)
		cb_log(log, LOG_ERR, "%s: corrupt record for %s", path, name);
	cb_dbview_close(&v);
	return rc;
}

cb_status cb_accountdb_list(const struct cb_config *cfg, struct cb_account **out, size_t *n,
			    const struct cb_log *log)
{
	return cb_store_load(cb_accountdb_path(cfg), out, n, log);
}

cb_status cb_accountdb_check(const struct cb_config *cfg, size_t *n_records,
			     const struct cb_log *log)
{
	struct cb_account *list = NULL;
	size_t n = 0;
	cb_status rc;

	/* loading verifies both files in full, and that the delta fits its base */
	rc = cb_store_load(cb_accountdb_path(cfg), &list, &n, log);
	if (rc == CB_OK && access(cb_accountdb_path(cfg), F_OK) != 0)
		rc = CB_ERR_NOT_FOUND;
	cb_account_list_free(list, n);
	if (n_records != NULL)
		*n_records = n;
	return rc;
}

/* ---- groups ---- */

static bool has(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

bool cb_accountdb_same_groups(char *const *a, size_t na, char *const *b, size_t nb)
{
	for (size_t i = 0; i < na; i++)
		if (!has(b, nb, a[i]))
			return false;
	for (size_t i = 0; i < nb; i++)
		if (!has(a, na, b[i]))
			return false;
	return true;
}

static void free_names(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

cb_status cb_accountdb_mapped_groups(const struct cb_config *cfg, const char *const *groups,
				     size_t n, char ***out, size_t *n_out)
{
	char **list = NULL;
	size_t k = 0;

	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; i < n && k < CB_DB_MAX_GROUPS; i++) {
		char **p;

		if (cb_config_map_group(cfg, groups[i]) == NULL ||
		    !cb_store_group_name_ok(groups[i]) || has(list, k, groups[i]))
			continue;
		p = realloc(list, (k + 1) * sizeof(*p));
		if (p == NULL || (p[k] = strdup(groups[i])) == NULL) {
			free_names(p != NULL ? p : list, k);
			return CB_ERR_NOMEM;
		}
		list = p;
		k++;
	}
	*out = list;
	*n_out = k;
	return CB_OK;
}

/* ---- what every writer does besides its edit ---- */

struct writer {
	const struct cb_config *cfg;
	struct cb_state_pending pending;
	bool listed;
	bool wrote;
	const struct cb_log *log;
};

/* arg: the account as a version 1 database had it */
static cb_status legacy_edit(struct cb_state *st, void *arg, bool *write)
{
	const struct cb_account *a = arg;

	/* a record the state store has already is newer than the database's */
	if (st->generation != 0)
		return CB_OK;
	if (a->legacy_sub != NULL && (st->sub = strdup(a->legacy_sub)) == NULL)
		return CB_ERR_NOMEM;
	st->last_login = a->legacy_last_login;
	*write = true;
	return cb_state_set_groups(st, (const char *const *)a->groups, a->n_groups, NULL);
}

/* Version 1 kept login data in each record: move it to the state store,
 * keep only the mapped groups. */
static cb_status migrate(struct cb_account *list, size_t n, void *arg, const struct cb_log *log)
{
	const struct writer *w = arg;
	size_t moved = 0;

	for (size_t i = 0; i < n; i++) {
		struct cb_account *a = &list[i];
		char **mapped;
		size_t n_mapped;
		cb_status rc = CB_OK;

		if (a->legacy_sub != NULL || a->legacy_last_login != 0 || a->n_groups > 0) {
			rc = cb_state_update(w->cfg, a->name, legacy_edit, a, log);
			moved++;
		}
		if (rc == CB_OK)
			rc = cb_accountdb_mapped_groups(w->cfg, (const char *const *)a->groups,
							a->n_groups, &mapped, &n_mapped);
		if (rc != CB_OK) {
			cb_log(log, LOG_ERR, "%s: login data not moved to the state store: %s",
			       a->name, cb_status_name(rc));
			return rc;
		}
		free_names(a->groups, a->n_groups);
		a->groups = mapped;
		a->n_groups = n_mapped;
		free(a->legacy_sub);
		a->legacy_sub = NULL;
		a->legacy_last_login = 0;
	}
	if (moved > 0)
		cb_log(log, LOG_NOTICE, "login data of %zu accounts moved to the state store",
		       moved);
	return CB_OK;
}

/* A note: the user's mapped groups, from the state store, into the record. */
static cb_status apply_note(struct cb_dbtx *tx, const struct cb_config *cfg, const char *user,
			    const struct cb_log *log)
{
	struct cb_account a;
	struct cb_state st;
	char **mapped = NULL;
	size_t n_mapped = 0;
	cb_status rc = cb_dbtx_get(tx, user, &a);

	if (rc == CB_ERR_NOT_FOUND)
		return CB_OK; /* removed since: nothing to map */
	if (rc != CB_OK)
		return rc;
	rc = cb_state_load(cfg, user, &st, log);
	if (rc == CB_OK)
		rc = cb_accountdb_mapped_groups(cfg, (const char *const *)st.groups, st.n_groups,
						&mapped, &n_mapped);
	if (rc == CB_OK && !cb_accountdb_same_groups(a.groups, a.n_groups, mapped, n_mapped)) {
		free_names(a.groups, a.n_groups);
		a.groups = mapped;
		a.n_groups = n_mapped;
		mapped = NULL;
		n_mapped = 0;
		rc = cb_dbtx_put(tx, &a, log);
	}
	if (rc != CB_OK)
		cb_log(log, LOG_WARNING, "%s: mapped groups left for a later write: %s", user,
		       cb_status_name(rc));
	free_names(mapped, n_mapped);
	cb_account_free(&a);
	cb_state_free(&st);
	/* a note that cannot be applied now stays for the next writer */
	return CB_OK;
}

static cb_status pending(struct cb_dbtx *tx, void *arg, const struct cb_log *log)
{
	struct writer *w = arg;
	cb_status rc = cb_state_pending_list(w->cfg, &w->pending, log);

	w->listed = rc == CB_OK;
	for (size_t i = 0; rc == CB_OK && i < w->pending.n; i++)
		rc = apply_note(tx, w->cfg, w->pending.users[i], log);
	return rc;
}

static void committed(void *arg, bool wrote)
{
	struct writer *w = arg;

	if (w->listed)
		cb_state_pending_done(w->cfg, &w->pending, true);
	w->listed = false;
	w->wrote = wrote;
}

/* After the lock is released: what NSS serves may have changed. */
static void writer_done(struct writer *w)
{
	if (w->listed)
		cb_state_pending_done(w->cfg, &w->pending, false);
	if (w->wrote)
		cb_nscd_invalidate(w->log);
}

static cb_status change(const struct cb_config *cfg, unsigned wait_ms, cb_store_change_fn edit,
			void *arg, const struct cb_log *log)
{
	struct writer w = {cfg, {0}, false, false, log};
	struct cb_store_ops ops = {migrate, pending, committed, &w};
	cb_status rc = cb_store_change(cb_accountdb_path(cfg), wait_ms, edit, arg, &ops, log);

	writer_done(&w);
	return rc;
}

/* ---- add ---- */

struct uid_choice {
	const struct cb_config *cfg;
	const char *sub; /* the key when set, else the login */
	cb_id_taken_fn taken;
	void *arg;
};

static void uid_key(const struct cb_account *a, const char *sub, char *key, size_t keysz)
{
	size_t i;

	if (sub != NULL) {
		snprintf(key, keysz, "%s", sub);
		return;
	}
	/* logins compare case-insensitively at the service */
	for (i = 0; i < keysz - 1 && a->login[i] != '\0'; i++)
		key[i] = (a->login[i] >= 'A' && a->login[i] <= 'Z') ? (char)(a->login[i] + 32)
								    : a->login[i];
	key[i] = '\0';
}

static cb_status choose_uid(const struct uid_choice *u, struct cb_account *a,
			    const struct cb_log *log)
{
	char key[CB_DB_MAX_LOGIN + 1];
	uint32_t probes = 0;
	cb_status rc;

	if (a->uid != 0) {
		if (a->uid < u->cfg->uid_min || a->uid > u->cfg->uid_max ||
		    cb_idmap_reserved(a->uid)) {
			cb_log(log, LOG_ERR, "%s: uid %u is outside %u-%u", a->name, a->uid,
			       u->cfg->uid_min, u->cfg->uid_max);
			return CB_ERR_INPUT;
		}
		if (u->taken(u->arg, a->uid)) {
			cb_log(log, LOG_ERR, "%s: uid %u is already used", a->name, a->uid);
			return CB_ERR_EXISTS;
		}
		a->gid = a->uid;
		return CB_OK;
	}
	uid_key(a, u->sub, key, sizeof(key));
	if (u->sub != NULL)
		a->flags |= CB_ACCT_UID_FROM_SUB;
	rc = cb_idmap_pick(key, u->cfg->uid_min, u->cfg->uid_max, u->taken, u->arg, &a->uid,
			   &probes);
	if (rc == CB_ERR_EXISTS)
		cb_log(log, LOG_ERR, "no free uid left in %u-%u", u->cfg->uid_min, u->cfg->uid_max);
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

struct add_ctx {
	const struct cb_config *cfg;
	struct cb_account *acct; /* the caller's: uid, gid, created, flags written back */
	const char *sub;
	struct cb_idset local; /* ids of /etc/passwd and /etc/group */
	struct cb_dbtx *tx;
};

static bool add_taken(void *arg, uint32_t id)
{
	struct add_ctx *c = arg;

	return cb_idset_has(&c->local, id) || cb_dbtx_uid_used(c->tx, id, c->acct->name);
}

static cb_status edit_add(struct cb_dbtx *tx, void *arg, const struct cb_log *log)
{
	struct add_ctx *c = arg;
	struct uid_choice u = {c->cfg, c->sub, add_taken, c};
	struct cb_account a = *c->acct, cur;
	cb_status rc = cb_dbtx_get(tx, a.name, &cur);

	cb_account_free(&cur);
	if (rc == CB_OK) {
		cb_log(log, LOG_ERR, "%s: already in the account database", a.name);
		return CB_ERR_EXISTS;
	}
	if (rc != CB_ERR_NOT_FOUND)
		return rc;
	c->tx = tx;
	a.flags = 0;
	a.groups = NULL;
	a.n_groups = 0;
	rc = choose_uid(&u, &a, log);
	if (rc != CB_OK)
		return rc;
	if (a.created == 0)
		a.created = (int64_t)time(NULL);
	rc = cb_dbtx_put(tx, &a, log);
	if (rc == CB_OK) {
		c->acct->uid = a.uid;
		c->acct->gid = a.gid;
		c->acct->created = a.created;
		c->acct->flags = a.flags;
	}
	return rc;
}

static cb_status replace_str(char **slot, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL)
		return CB_ERR_NOMEM;
	free(*slot);
	*slot = copy;
	return CB_OK;
}

static cb_status refuse_local(const struct cb_account *a, bool exists, const struct cb_log *log)
{
	if (!exists)
		return CB_OK;
	cb_log(log, LOG_ERR, "%s: a local account or group of that name exists", a->name);
	return CB_ERR_EXISTS;
}

static cb_status not_local(const struct cb_account *a, const struct cb_log *log)
{
	return refuse_local(a, cb_local_name_exists(a->name), log);
}

/* Fill in defaults and normalise what the admin typed. Strings set here
 * are owned by the caller's struct from then on. */
static cb_status prepare_new(const struct cb_config *cfg, struct cb_account *a,
			     const struct cb_log *log)
{
	char phone[CB_PHONE_MAX + 1];

	if (!cb_valid_local_name(a->name)) {
		cb_log(log, LOG_ERR,
		       "invalid local name (1-32 bytes; no ':', '/', ',', white "
		       "space or control characters; not starting with '-'; not "
		       "all digits)");
		return CB_ERR_INPUT;
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
		if (replace_str(&a->phone, phone) != CB_OK)
			return CB_ERR_NOMEM;
	}
	if (a->email != NULL && !cb_valid_email(a->email)) {
		cb_log(log, LOG_ERR,
		       "%s: invalid e-mail address (at most 254 bytes, one '@', a domain with a "
		       "dot, no spaces or control characters)",
		       a->name);
		return CB_ERR_INPUT;
	}
	/* a login that is a phone number is stored as the service spells it */
	if (a->login[0] == '+' && cb_normalize_phone(a->login, phone, sizeof(phone)) == CB_OK &&
	    replace_str(&a->login, phone) != CB_OK)
		return CB_ERR_NOMEM;
	if (a->shell == NULL && replace_str(&a->shell, cfg->default_shell ? cfg->default_shell
									  : DEFAULT_SHELL) != CB_OK)
		return CB_ERR_NOMEM;
	if (a->home == NULL &&
	    asprintf(&a->home, "%s/%s", cfg->home_base ? cfg->home_base : DEFAULT_HOME_BASE,
		     a->name) < 0) {
		a->home = NULL;
		return CB_ERR_NOMEM;
	}
	if (a->gecos == NULL && replace_str(&a->gecos, "") != CB_OK)
		return CB_ERR_NOMEM;
	a->gid = a->uid;
	return CB_OK;
}

static cb_status load_local_ids(struct cb_idset *s, const struct cb_log *log)
{
	cb_status rc = cb_localfile_add_passwd_ids(s, CB_PASSWD_FILE, log);

	return rc == CB_OK ? cb_localfile_add_group_ids(s, CB_GROUP_FILE, log) : rc;
}

cb_status cb_accountdb_add(const struct cb_config *cfg, struct cb_account *acct, const char *sub,
			   const struct cb_log *log)
{
	struct add_ctx c = {cfg, acct, sub != NULL && sub[0] != '\0' ? sub : NULL, {0}, NULL};
	cb_status rc = prepare_new(cfg, acct, log);

	if (rc == CB_OK)
		rc = not_local(acct, log);
	if (rc == CB_OK)
		rc = load_local_ids(&c.local, log);
	if (rc == CB_OK)
		rc = change(cfg, CB_ACCOUNTDB_WAIT_ADMIN_MS, edit_add, &c, log);
	cb_idset_free(&c.local);
	return rc;
}

/* ---- remove ---- */

static cb_status edit_remove(struct cb_dbtx *tx, void *arg, const struct cb_log *log)
{
	(void)log;
	return cb_dbtx_remove(tx, arg);
}

cb_status cb_accountdb_remove(const struct cb_config *cfg, const char *name,
			      const struct cb_log *log)
{
	if (!cb_valid_local_name(name))
		return CB_ERR_NOT_FOUND;
	return change(cfg, CB_ACCOUNTDB_WAIT_ADMIN_MS, edit_remove, (void *)(uintptr_t)name, log);
}

/* ---- groups after a sign-in ---- */

struct groups_ctx {
	const struct cb_config *cfg;
	const char *name;
	char **mapped;
	size_t n_mapped;
};

static cb_status edit_groups(struct cb_dbtx *tx, void *arg, const struct cb_log *log)
{
	const struct groups_ctx *g = arg;
	struct cb_account a;
	cb_status rc = cb_dbtx_get(tx, g->name, &a);

	tx->login = true;
	if (rc == CB_OK &&
	    !cb_accountdb_same_groups(a.groups, a.n_groups, g->mapped, g->n_mapped)) {
		rc = cb_account_set_groups(&a, (const char *const *)g->mapped, g->n_mapped);
		if (rc == CB_OK)
			rc = cb_dbtx_put(tx, &a, log);
	}
	cb_account_free(&a);
	return rc;
}

static cb_status set_groups_shielded(void *arg, const struct cb_log *log)
{
	const struct groups_ctx *g = arg;
	cb_status rc = change(g->cfg, CB_ACCOUNTDB_WAIT_LOGIN_MS, edit_groups, (void *)g, log);

	if (rc != CB_ERR_BUSY)
		return rc;
	cb_log(log, LOG_NOTICE,
	       "%s: the account database is busy: its mapped groups are left for its next writer",
	       g->name);
	return cb_state_pending_add(g->cfg, g->name, log);
}

cb_status cb_accountdb_set_groups(const struct cb_config *cfg, const char *name,
				  const char *const *groups, size_t n, const struct cb_log *log)
{
	struct groups_ctx g = {cfg, name, NULL, 0};
	cb_status rc;

	if (!cb_valid_local_name(name))
		return CB_ERR_NOT_FOUND;
	rc = cb_accountdb_mapped_groups(cfg, groups, n, &g.mapped, &g.n_mapped);
	if (rc == CB_OK)
		rc = cb_shield_run(set_groups_shielded, &g, log);
	free_names(g.mapped, g.n_mapped);
	return rc;
}

/* ---- import ---- */

struct import_ctx {
	const struct cb_config *cfg;
	struct cb_account *in;
	size_t n_in;
	bool replace;
	char **removed;
	size_t n_removed;
	size_t bad; /* 1-based index of the first bad entry */
	struct cb_idset taken;
	/* read once: per entry, that was two file reads per account */
	struct cb_local_names local;
};

/* Open addressing over names: an import matches a million of them. */
struct name_index {
	size_t *slots; /* entry + 1; 0: empty */
	size_t cap;
};

static size_t name_slot(const char *name, size_t cap)
{
	return (size_t)cb_fnv1a64(name, strlen(name)) & (cap - 1);
}

static cb_status index_init(struct name_index *ix, size_t n)
{
	ix->cap = 16;
	while (ix->cap < 2 * n + 1)
		ix->cap *= 2;
	ix->slots = calloc(ix->cap, sizeof(*ix->slots));
	return ix->slots != NULL ? CB_OK : CB_ERR_NOMEM;
}

/* The entry of list named name, or -1; with add, insert entry i if absent. */
static long index_find(struct name_index *ix, const struct cb_account *list, const char *name,
		       long add)
{
	size_t s = name_slot(name, ix->cap);

	for (; ix->slots[s] != 0; s = (s + 1) & (ix->cap - 1))
		if (strcmp(list[ix->slots[s] - 1].name, name) == 0)
			return (long)(ix->slots[s] - 1);
	if (add >= 0)
		ix->slots[s] = (size_t)add + 1;
	return -1;
}

static bool import_taken(void *arg, uint32_t id)
{
	return cb_idset_has(arg, id);
}

/* in becomes the new record of an existing account cur: what the admin
 * sets; the uid, its origin, the creation time and the groups stay. */
static cb_status import_update(struct cb_account *cur, struct cb_account *in,
			       const struct cb_log *log)
{
	cb_status rc;

	if (in->uid != 0 && in->uid != cur->uid) {
		cb_log(log, LOG_ERR, "%s: uid %u given, the account has %u", in->name, in->uid,
		       cur->uid);
		return CB_ERR_EXISTS;
	}
	in->uid = in->gid = cur->uid;
	in->created = cur->created;
	in->flags = cur->flags;
	rc = cb_account_set_groups(in, (const char *const *)cur->groups, cur->n_groups);
	if (rc == CB_OK)
		rc = cb_store_check_account(in, log);
	if (rc == CB_OK) {
		cb_account_free(cur);
		rc = cb_account_copy(in, cur);
	}
	return rc;
}

static cb_status import_new(struct import_ctx *c, struct cb_account *in, const struct cb_log *log)
{
	struct uid_choice u = {c->cfg, NULL, import_taken, &c->taken};
	cb_status rc;

	in->flags = 0;
	rc = choose_uid(&u, in, log);
	if (rc == CB_OK && in->created == 0)
		in->created = (int64_t)time(NULL);
	if (rc == CB_OK)
		rc = cb_store_check_account(in, log);
	if (rc == CB_OK)
		rc = cb_idset_add(&c->taken, in->uid);
	return rc;
}

static cb_status grow_list(struct cb_account **list, size_t n, size_t more)
{
	struct cb_account *p = realloc(*list, (n + more + 1) * sizeof(*p));

	if (p == NULL)
		return CB_ERR_NOMEM;
	*list = p;
	return CB_OK;
}

/* Replace: keep only the accounts named in the input (seen[i]); the names
 * dropped go to c->removed. */
static cb_status drop_unseen(struct import_ctx *c, struct cb_account *list, size_t *n,
			     const bool *seen)
{
	size_t k = 0;

	for (size_t i = 0; i < *n; i++) {
		char **p;

		if (seen[i]) {
			list[k++] = list[i];
			continue;
		}
		p = realloc(c->removed, (c->n_removed + 1) * sizeof(*p));
		if (p == NULL)
			return CB_ERR_NOMEM;
		c->removed = p;
		c->removed[c->n_removed++] = list[i].name;
		list[i].name = NULL;
		cb_account_free(&list[i]);
	}
	*n = k;
	return CB_OK;
}

/* One entry of the input: an update of old[at], or a new account. */
static cb_status import_entry(struct import_ctx *c, struct cb_account *in, struct cb_account *old,
			      long at, const struct cb_log *log)
{
	cb_status rc = prepare_new(c->cfg, in, log);

	if (rc != CB_OK)
		return rc;
	if (at >= 0)
		return import_update(&old[at], in, log);
	rc = refuse_local(in, cb_local_names_has(&c->local, in->name), log);
	return rc == CB_OK ? import_new(c, in, log) : rc;
}

static cb_status edit_import(struct cb_account **list, size_t *n, void *arg,
			     const struct cb_log *log)
{
	struct import_ctx *c = arg;
	struct name_index old = {0}, fresh = {0};
	struct cb_account *added = calloc(c->n_in + 1, sizeof(*added));
	bool *seen = calloc(*n + 1, sizeof(*seen));
	size_t n_added = 0;
	cb_status rc = seen != NULL && added != NULL ? CB_OK : CB_ERR_NOMEM;

	if (rc == CB_OK)
		rc = index_init(&old, *n);
	if (rc == CB_OK)
		rc = index_init(&fresh, c->n_in);
	for (size_t i = 0; rc == CB_OK && i < *n; i++) {
		index_find(&old, *list, (*list)[i].name, (long)i);
		rc = cb_idset_add(&c->taken, (*list)[i].uid);
	}
	for (size_t i = 0; rc == CB_OK && i < c->n_in; i++) {
		struct cb_account *in = &c->in[i];
		long at = -1;

		c->bad = i + 1;
		if (!cb_valid_local_name(in->name)) {
			cb_log(log, LOG_ERR, "invalid local name");
			rc = CB_ERR_INPUT;
		} else if (index_find(&fresh, c->in, in->name, (long)i) >= 0) {
			cb_log(log, LOG_ERR, "%s: named twice", in->name);
			rc = CB_ERR_EXISTS;
		} else {
			at = index_find(&old, *list, in->name, -1);
			rc = import_entry(c, in, *list, at, log);
		}
		if (rc == CB_OK && at >= 0)
			seen[at] = true;
		if (rc == CB_OK && at < 0 && (rc = cb_account_copy(in, &added[n_added])) == CB_OK)
			n_added++;
	}
	if (rc == CB_OK && c->replace)
		rc = drop_unseen(c, *list, n, seen);
	if (rc == CB_OK)
		rc = grow_list(list, *n, n_added);
	if (rc == CB_OK) {
		memcpy(*list + *n, added, n_added * sizeof(*added));
		*n += n_added;
		n_added = 0;
		c->bad = 0;
	}
	cb_account_list_free(added, n_added);
	free(seen);
	free(old.slots);
	free(fresh.slots);
	return rc;
}

cb_status cb_accountdb_import(const struct cb_config *cfg, struct cb_account *list, size_t n,
			      bool replace, char ***removed, size_t *n_removed, size_t *bad_index,
			      const struct cb_log *log)
{
	struct import_ctx c = {cfg, list, n, replace, NULL, 0, 0, {0}, {NULL, 0}};
	struct writer w = {cfg, {0}, false, false, log};
	struct cb_store_ops ops = {migrate, NULL, committed, &w};
	cb_status rc = load_local_ids(&c.taken, log);

	if (rc == CB_OK)
		rc = cb_local_names_load(&c.local, log);
	if (rc == CB_OK)
		rc = cb_store_rewrite(cb_accountdb_path(cfg), CB_ACCOUNTDB_WAIT_ADMIN_MS, true,
				      edit_import, &c, &ops, log);
	writer_done(&w);
	cb_idset_free(&c.taken);
	cb_local_names_free(&c.local);
	if (bad_index != NULL)
		*bad_index = rc == CB_OK ? 0 : c.bad;
	if (rc == CB_OK && removed != NULL) {
		*removed = c.removed;
		*n_removed = c.n_removed;
	} else {
		free_names(c.removed, c.n_removed);
	}
	return rc;
}

/* ---- tests and benchmarks ---- */

struct replace_ctx {
	const struct cb_account *accts;
	size_t n;
};

static cb_status edit_replace(struct cb_account **list, size_t *n, void *arg,
			      const struct cb_log *log)
{
	const struct replace_ctx *c = arg;

	(void)log;
	*list = calloc(c->n + 1, sizeof(**list));
	if (*list == NULL)
		return CB_ERR_NOMEM;
	for (*n = 0; *n < c->n; (*n)++)
		if (cb_account_copy(&c->accts[*n], &(*list)[*n]) != CB_OK)
			return CB_ERR_NOMEM;
	return CB_OK;
}

cb_status cb_accountdb_write_file(const char *path, const struct cb_account *accts, size_t n,
				  const struct cb_log *log)
{
	struct replace_ctx c = {accts, n};

	return cb_store_rewrite(path, CB_ACCOUNTDB_WAIT_ADMIN_MS, false, edit_replace, &c, NULL,
				log);
}
