/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the account database API: a record round trip, the mapped
 * groups a sign-in records, the base and its delta (writes of one account,
 * folding, readers' view), uid choice (determinism across hosts,
 * collisions with records and with /etc/passwd), refusals, and the files
 * written. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "accountdb.h"
#include "accountdb_format.h"
#include "accountdb_map.h"
#include "idmap.h"
#include "localfiles.h"
#include "accountdb_testutil.h"

static void add_ok(const char *name, const char *login, const char *sub, uint32_t *uid)
{
	struct cb_account a = mkacct(name, login, 0);

	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, sub, &fx.log), CB_OK);
	if (uid != NULL)
		*uid = a.uid;
	cb_account_free(&a);
}

static void test_round_trip(void **state)
{
	struct cb_account a = mkacct("alice", "Alice@Example.com", 0), r;
	struct stat st;

	(void)state;
	SKIP_UNLESS_ROOT();
	a.gecos = strdup("Alice Liddell,,,");
	a.phone = strdup("+86-138 0000 0000");
	a.shell = strdup("/bin/bash");
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_OK);
	assert_true(a.uid >= fx.cfg.uid_min && a.uid <= fx.cfg.uid_max);
	assert_int_equal(a.gid, a.uid);
	assert_true(a.created > 0);

	assert_int_equal(cb_accountdb_get(&fx.cfg, "alice", &r, &fx.log), CB_OK);
	assert_string_equal(r.name, "alice");
	assert_int_equal(r.uid, a.uid);
	assert_int_equal(r.gid, a.uid);
	assert_string_equal(r.gecos, "Alice Liddell,,,");
	assert_string_equal(r.home, "/home/alice");
	assert_string_equal(r.shell, "/bin/bash");
	assert_string_equal(r.login, "Alice@Example.com");
	assert_string_equal(r.phone, "+86 13800000000");
	assert_null(r.legacy_sub);
	assert_int_equal(r.n_groups, 0);
	assert_int_equal(r.created, a.created);
	assert_false(r.flags & CB_ACCT_UID_FROM_SUB);
	cb_account_free(&r);

	/* the file: root-owned 0644 */
	assert_int_equal(stat(fx.cfg.accounts_db, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_uid, 0);
	cb_account_free(&a);
}

static void set_map(const char *map)
{
	assert_int_equal(cb_config_set(&fx.cfg, "group_map", map, 0, "test", &fx.log), CB_OK);
}

/* A sign-in's groups: only the mapped ones are kept, and the database is
 * written only when they change. */
static void test_set_groups(void **state)
{
	const char *signin[] = {"user", "admin", "ops", "admin"};
	const char *fewer[] = {"user", "ops", "other"};
	struct cb_account r;
	struct stat before, after;
	char delta[512];

	(void)state;
	SKIP_UNLESS_ROOT();
	set_map("admin:sudo ops:adm");
	add_ok("carol", "carol", NULL, NULL);
	snprintf(delta, sizeof(delta), "%s.delta", fx.cfg.accounts_db);
	assert_int_equal(cb_accountdb_set_groups(&fx.cfg, "carol", signin, 4, &fx.log), CB_OK);
	assert_int_equal(cb_accountdb_get(&fx.cfg, "carol", &r, &fx.log), CB_OK);
	assert_int_equal(r.n_groups, 2);
	assert_string_equal(r.groups[0], "admin");
	assert_string_equal(r.groups[1], "ops");
	cb_account_free(&r);
	/* the same mapped groups in another order: nothing written */
	assert_int_equal(stat(delta, &before), 0);
	assert_int_equal(cb_accountdb_set_groups(&fx.cfg, "carol", (const char *[]){"ops", "admin"},
						 2, &fx.log),
			 CB_OK);
	assert_int_equal(stat(delta, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	/* admin removed at CloudBase: the database drops it */
	assert_int_equal(cb_accountdb_set_groups(&fx.cfg, "carol", fewer, 3, &fx.log), CB_OK);
	assert_int_equal(cb_accountdb_get(&fx.cfg, "carol", &r, &fx.log), CB_OK);
	assert_int_equal(r.n_groups, 1);
	assert_string_equal(r.groups[0], "ops");
	cb_account_free(&r);
	assert_int_equal(cb_accountdb_set_groups(&fx.cfg, "nosuch", fewer, 3, &fx.log),
			 CB_ERR_NOT_FOUND);
}

static uint64_t generation_of(const char *path, uint32_t kind)
{
	struct cb_dbmap m;
	uint64_t g;

	assert_int_equal(cb_dbmap_open(&m, path, kind, &fx.log), CB_OK);
	g = kind == CB_DB_KIND_DELTA ? m.base_generation : m.generation;
	cb_dbmap_close(&m);
	return g;
}

/* Changes go to the delta; the base is rewritten only past its bound,
 * and readers see every change throughout. */
static void test_delta_and_fold(void **state)
{
	char name[32], delta[512];
	struct cb_account r, *list;
	struct stat base0, base1;
	uint64_t g0;
	size_t n;

	(void)state;
	SKIP_UNLESS_ROOT();
	snprintf(delta, sizeof(delta), "%s.delta", fx.cfg.accounts_db);
	/* the first write makes a base (a delta needs one) */
	add_ok("d0", "d0@x", NULL, NULL);
	assert_int_equal(stat(fx.cfg.accounts_db, &base0), 0);
	g0 = generation_of(fx.cfg.accounts_db, CB_DB_KIND_BASE);
	/* the next ones go to the delta only */
	for (unsigned i = 1; i < CB_DB_DELTA_MIN; i++) {
		snprintf(name, sizeof(name), "d%u", i);
		add_ok(name, name, NULL, NULL);
	}
	assert_int_equal(stat(fx.cfg.accounts_db, &base1), 0);
	assert_int_equal(base0.st_ino, base1.st_ino);
	assert_int_equal(generation_of(delta, CB_DB_KIND_DELTA), g0);
	assert_int_equal(cb_accountdb_get(&fx.cfg, "d5", &r, &fx.log), CB_OK);
	cb_account_free(&r);
	/* a removal in the delta hides the base's record */
	assert_int_equal(cb_accountdb_remove(&fx.cfg, "d0", &fx.log), CB_OK);
	assert_int_equal(cb_accountdb_get(&fx.cfg, "d0", &r, &fx.log), CB_ERR_NOT_FOUND);
	assert_int_equal(cb_accountdb_list(&fx.cfg, &list, &n, &fx.log), CB_OK);
	assert_int_equal(n, CB_DB_DELTA_MIN - 1);
	cb_account_list_free(list, n);
	/* past the bound the delta is folded into a new base */
	for (unsigned i = CB_DB_DELTA_MIN; i < CB_DB_DELTA_MIN + 2; i++) {
		snprintf(name, sizeof(name), "d%u", i);
		add_ok(name, name, NULL, NULL);
	}
	assert_int_equal(stat(fx.cfg.accounts_db, &base1), 0);
	assert_int_not_equal(base0.st_ino, base1.st_ino);
	assert_true(generation_of(fx.cfg.accounts_db, CB_DB_KIND_BASE) > g0);
	assert_int_equal(cb_accountdb_list(&fx.cfg, &list, &n, &fx.log), CB_OK);
	assert_int_equal(n, CB_DB_DELTA_MIN + 1);
	cb_account_list_free(list, n);
	assert_int_equal(cb_accountdb_get(&fx.cfg, "d0", &r, &fx.log), CB_ERR_NOT_FOUND);
	assert_int_equal(cb_accountdb_check(&fx.cfg, &n, &fx.log), CB_OK);
	assert_int_equal(n, CB_DB_DELTA_MIN + 1);
}

/* Logins' changes of mapped groups never wait for a fold within the
 * login factor: the delta grows past its bound; the next admin write
 * folds it. */
static void test_login_defers_fold(void **state)
{
	const unsigned n_accts = 2 * CB_DB_DELTA_MIN + 8;
	const char *admin[] = {"admin"};
	char name[32];
	struct stat base0, base1;
	struct cb_account r;
	size_t n;

	(void)state;
	SKIP_UNLESS_ROOT();
	set_map("admin:sudo");
	for (unsigned i = 0; i < n_accts; i++) {
		snprintf(name, sizeof(name), "l%u", i);
		add_ok(name, name, NULL, NULL);
	}
	assert_int_equal(stat(fx.cfg.accounts_db, &base0), 0);
	/* a login's change for every account: twice the bound of records in
	 * the delta, below the login factor */
	for (unsigned i = 0; i < n_accts; i++) {
		snprintf(name, sizeof(name), "l%u", i);
		assert_int_equal(cb_accountdb_set_groups(&fx.cfg, name, admin, 1, &fx.log), CB_OK);
	}
	assert_int_equal(stat(fx.cfg.accounts_db, &base1), 0);
	assert_int_equal(base0.st_ino, base1.st_ino); /* no fold */
	assert_int_equal(cb_accountdb_get(&fx.cfg, "l0", &r, &fx.log), CB_OK);
	assert_int_equal(r.n_groups, 1);
	assert_string_equal(r.groups[0], "admin");
	cb_account_free(&r);
	/* an admin's write folds */
	add_ok("lx", "lx", NULL, NULL);
	assert_int_equal(stat(fx.cfg.accounts_db, &base1), 0);
	assert_int_not_equal(base0.st_ino, base1.st_ino);
	assert_int_equal(cb_accountdb_check(&fx.cfg, &n, &fx.log), CB_OK);
	assert_int_equal(n, n_accts + 1);
	assert_int_equal(cb_accountdb_get(&fx.cfg, "l1", &r, &fx.log), CB_OK);
	assert_int_equal(r.n_groups, 1);
	cb_account_free(&r);
}

/* A fold keeps the delta's version of a record the base also has (once),
 * drops a removed one, and keeps every record the delta did not touch. */
static void test_fold_replaces_base_records(void **state)
{
	const char *admin[] = {"admin"};
	struct cb_account list[8], r, *all;
	struct stat base0, base1;
	char name[32];
	size_t n, bad = 0, seen_b3 = 0;

	(void)state;
	SKIP_UNLESS_ROOT();
	set_map("admin:sudo");
	for (size_t i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "b%zu", i);
		list[i] = mkacct(name, name, 0);
	}
	assert_int_equal(cb_accountdb_import(&fx.cfg, list, 8, false, NULL, NULL, &bad, &fx.log),
			 CB_OK);
	for (size_t i = 0; i < 8; i++)
		cb_account_free(&list[i]);
	assert_int_equal(stat(fx.cfg.accounts_db, &base0), 0);
	/* in the delta: b3 replaced, b5 removed; then past the bound */
	assert_int_equal(cb_accountdb_set_groups(&fx.cfg, "b3", admin, 1, &fx.log), CB_OK);
	assert_int_equal(cb_accountdb_remove(&fx.cfg, "b5", &fx.log), CB_OK);
	for (unsigned i = 0; i < CB_DB_DELTA_MIN; i++) {
		snprintf(name, sizeof(name), "n%u", i);
		add_ok(name, name, NULL, NULL);
	}
	assert_int_equal(stat(fx.cfg.accounts_db, &base1), 0);
	assert_int_not_equal(base0.st_ino, base1.st_ino);
	assert_int_equal(cb_accountdb_check(&fx.cfg, &n, &fx.log), CB_OK);
	assert_int_equal(n, 8 - 1 + CB_DB_DELTA_MIN);
	assert_int_equal(cb_accountdb_list(&fx.cfg, &all, &n, &fx.log), CB_OK);
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(all[i].name, "b5");
		seen_b3 += strcmp(all[i].name, "b3") == 0;
	}
	cb_account_list_free(all, n);
	assert_int_equal(seen_b3, 1);
	assert_int_equal(cb_accountdb_get(&fx.cfg, "b3", &r, &fx.log), CB_OK);
	assert_int_equal(r.n_groups, 1);
	assert_string_equal(r.groups[0], "admin");
	cb_account_free(&r);
	assert_int_equal(cb_accountdb_get(&fx.cfg, "b4", &r, &fx.log), CB_OK);
	cb_account_free(&r);
}

/* A name of /etc/group that /etc/passwd does not have (Debian: nogroup,
 * sudo...), or NULL. Read here with stdio, not with the code under test. */
static char *group_only_name(void)
{
	char *line = NULL, *found = NULL;
	size_t cap = 0;
	FILE *f = fopen(CB_GROUP_FILE, "re");

	while (f != NULL && found == NULL && getline(&line, &cap, f) > 0) {
		char *colon = strchr(line, ':');

		if (colon == NULL || colon == line || line[0] == '#')
			continue;
		*colon = '\0';
		if (cb_valid_local_name(line) && cb_local_user_lookup(line) == CB_ERR_NOT_FOUND)
			found = strdup(line);
	}
	free(line);
	if (f != NULL)
		fclose(f);
	return found;
}

static cb_status import_names(const char *a, const char *b, size_t *bad)
{
	struct cb_account list[2] = {mkacct(a, a, 0), mkacct(b, b, 0)};
	cb_status rc = cb_accountdb_import(&fx.cfg, list, 2, false, NULL, NULL, bad, &fx.log);

	cb_account_free(&list[0]);
	cb_account_free(&list[1]);
	return rc;
}

/* An import refuses a name of a local user or of a local group (the names
 * are read once per import, not once per entry) and writes nothing. */
static void test_import_refuses_local_names(void **state)
{
	char *grp = group_only_name();
	struct cb_local_names names;
	struct stat st;
	size_t bad = 0;

	(void)state;
	SKIP_UNLESS_ROOT();
	assert_non_null(grp);
	assert_int_equal(cb_local_names_load(&names, &fx.log), CB_OK);
	assert_true(cb_local_names_has(&names, "root"));
	assert_true(cb_local_names_has(&names, grp));
	assert_false(cb_local_names_has(&names, "no-such-local-name"));
	assert_false(cb_local_names_has(&names, "roo"));
	cb_local_names_free(&names);

	assert_int_equal(import_names("imp1", "root", &bad), CB_ERR_EXISTS);
	assert_int_equal(bad, 2);
	assert_int_equal(import_names("imp1", grp, &bad), CB_ERR_EXISTS);
	assert_int_equal(bad, 2);
	assert_int_equal(stat(fx.cfg.accounts_db, &st), -1);
	assert_int_equal(import_names("imp1", "imp2", &bad), CB_OK);
	assert_int_equal(bad, 0);
	assert_int_equal(stat(fx.cfg.accounts_db, &st), 0);
	free(grp);
}

/* A name removed and added again gets its uid back; another name never
 * gets a uid removed since the last base (its files may remain). */
static void test_removed_uid(void **state)
{
	struct cb_account a;
	uint32_t uid, again;

	(void)state;
	SKIP_UNLESS_ROOT();
	add_ok("base", "base@x", NULL, NULL); /* the base */
	add_ok("ruth", "ruth@x", NULL, &uid);
	assert_int_equal(cb_accountdb_remove(&fx.cfg, "ruth", &fx.log), CB_OK);
	add_ok("ruth", "ruth@x", NULL, &again);
	assert_int_equal(again, uid);
	assert_int_equal(cb_accountdb_remove(&fx.cfg, "ruth", &fx.log), CB_OK);
	a = mkacct("other", "other@x", uid);
	free(a.gecos), a.gecos = NULL;
	free(a.home), a.home = NULL;
	free(a.shell), a.shell = NULL;
	/* ruth was in the delta only: once forgotten, her uid is free */
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_OK);
	cb_account_free(&a);
	/* a base record removed in the delta keeps its uid taken */
	assert_int_equal(cb_accountdb_get(&fx.cfg, "base", &a, &fx.log), CB_OK);
	uid = a.uid;
	cb_account_free(&a);
	assert_int_equal(cb_accountdb_remove(&fx.cfg, "base", &fx.log), CB_OK);
	a = mkacct("taker", "taker@x", uid);
	free(a.gecos), a.gecos = NULL;
	free(a.home), a.home = NULL;
	free(a.shell), a.shell = NULL;
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_ERR_EXISTS);
	cb_account_free(&a);
}

static void test_remove_and_list(void **state)
{
	struct cb_account *list, r;
	size_t n;

	(void)state;
	SKIP_UNLESS_ROOT();
	add_ok("u1", "u1@x", NULL, NULL);
	add_ok("u2", "u2@x", "sub2", NULL);
	add_ok("u3", "u3@x", NULL, NULL);
	assert_int_equal(cb_accountdb_remove(&fx.cfg, "u2", &fx.log), CB_OK);
	assert_int_equal(cb_accountdb_remove(&fx.cfg, "u2", &fx.log), CB_ERR_NOT_FOUND);
	assert_int_equal(cb_accountdb_get(&fx.cfg, "u2", &r, &fx.log), CB_ERR_NOT_FOUND);
	assert_int_equal(cb_accountdb_list(&fx.cfg, &list, &n, &fx.log), CB_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "u1");
	assert_string_equal(list[1].name, "u3");
	cb_account_list_free(list, n);
}

static void test_missing_database(void **state)
{
	struct cb_account *list, r;
	size_t n = 99;

	(void)state;
	SKIP_UNLESS_ROOT();
	assert_int_equal(cb_accountdb_get(&fx.cfg, "alice", &r, &fx.log), CB_ERR_NOT_FOUND);
	assert_int_equal(cb_accountdb_list(&fx.cfg, &list, &n, &fx.log), CB_OK);
	assert_int_equal(n, 0);
	assert_int_equal(cb_accountdb_remove(&fx.cfg, "alice", &fx.log), CB_ERR_NOT_FOUND);
}

static void test_refusals(void **state)
{
	struct cb_account a;
	uint32_t uid;

	(void)state;
	SKIP_UNLESS_ROOT();
	add_ok("dave", "dave@x", NULL, &uid);
	/* the same name twice */
	a = mkacct("dave", "other@x", 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_ERR_EXISTS);
	cb_account_free(&a);
	/* a local account's name: the CloudBase user would take it over */
	a = mkacct("root", "root@x", 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_ERR_EXISTS);
	cb_account_free(&a);
	/* invalid names, login, phone, shell */
	a = mkacct("-x", "x", 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
	a = mkacct("a:b", "x", 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
	a = mkacct("eve", "", 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
	a = mkacct("eve", "eve\n", 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
	a = mkacct("eve", "eve", 0);
	a.phone = strdup("12");
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
	a = mkacct("eve", "eve", 0);
	a.shell = strdup("bin/sh");
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
	a = mkacct("eve", "eve", 0);
	a.gecos = strdup("a:b");
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
	/* an explicit uid already taken, or outside the range */
	a = mkacct("eve", "eve", uid);
	free(a.gecos), a.gecos = NULL;
	free(a.home), a.home = NULL;
	free(a.shell), a.shell = NULL;
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_ERR_EXISTS);
	cb_account_free(&a);
	a = mkacct("eve", "eve", 0);
	a.uid = 1000;
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
}

static void test_uid_deterministic_across_hosts(void **state)
{
	struct dbfix other;
	struct cb_account a = mkacct("frank", "Frank@Example.com", 0);
	struct cb_account b = mkacct("frank2", "frank@example.com", 0);
	struct cb_account c = mkacct("grace", "grace@x", 0);
	uint32_t expect;

	(void)state;
	SKIP_UNLESS_ROOT();
	dbfix_init(&other);
	/* the login is folded to lower case: the same person on two hosts */
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_OK);
	assert_int_equal(cb_accountdb_add(&other.cfg, &b, NULL, &other.log), CB_OK);
	assert_int_equal(a.uid, b.uid);
	assert_int_equal(a.uid, cb_idmap_hash("frank@example.com", 200000, 2000199999));
	/* with a sub, the sub is the key */
	expect = cb_idmap_hash("sub-grace", 200000, 2000199999);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &c, "sub-grace", &fx.log), CB_OK);
	assert_int_equal(c.uid, expect);
	assert_true(c.flags & CB_ACCT_UID_FROM_SUB);
	cb_account_free(&a);
	cb_account_free(&b);
	cb_account_free(&c);
	dbfix_done(&other);
}

static void test_uid_collision_with_record(void **state)
{
	struct cb_account a, r;
	uint32_t first;

	(void)state;
	SKIP_UNLESS_ROOT();
	/* the same login under two names: the second one's hashed uid is taken */
	add_ok("h1", "same@x", NULL, &first);
	a = mkacct("h2", "same@x", 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_OK);
	assert_int_equal(a.uid, first + 1);
	assert_true(a.flags & CB_ACCT_UID_PROBED);
	assert_int_equal(cb_accountdb_get(&fx.cfg, "h2", &r, &fx.log), CB_OK);
	assert_true(r.flags & CB_ACCT_UID_PROBED); /* recorded */
	assert_int_equal(r.uid, first + 1);
	cb_account_free(&r);
	cb_account_free(&a);
}

static void test_uid_collision_with_etc_passwd(void **state)
{
	struct cb_idset local = {0};
	struct cb_account a;
	char key[32];
	uint32_t home = 0;
	int k;

	(void)state;
	SKIP_UNLESS_ROOT();
	/* a range low enough to hold the host's own accounts (1: daemon on
	 * Debian), and a login whose home slot is one of them */
	assert_int_equal(cb_localfile_add_passwd_ids(&local, "/etc/passwd", NULL), CB_OK);
	fx.cfg.uid_min = 1;
	fx.cfg.uid_max = 999;
	for (k = 0; k < 100000; k++) {
		snprintf(key, sizeof(key), "p%d@x", k);
		home = cb_idmap_hash(key, 1, 999);
		if (cb_idset_has(&local, home) && !cb_idmap_reserved(home))
			break;
	}
	if (k == 100000)
		skip(); /* no local account in 1-999 */
	a = mkacct("pw1", key, 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, NULL, &fx.log), CB_OK);
	assert_int_not_equal(a.uid, home);
	assert_false(cb_idset_has(&local, a.uid));
	assert_true(a.flags & CB_ACCT_UID_PROBED);
	assert_true(a.uid >= 1 && a.uid <= 999);
	cb_account_free(&a);
	cb_idset_free(&local);
}

static void test_write_file_refuses_duplicates(void **state)
{
	struct cb_account l[3];

	(void)state;
	SKIP_UNLESS_ROOT();
	l[0] = mkacct("a1", "a1", 300001);
	l[1] = mkacct("a2", "a2", 300001);
	assert_int_equal(cb_accountdb_write_file(fx.cfg.accounts_db, l, 2, &fx.log), CB_ERR_EXISTS);
	l[2] = mkacct("a1", "a3", 300003);
	assert_int_equal(cb_accountdb_write_file(fx.cfg.accounts_db,
						 (struct cb_account[]){l[0], l[2]}, 2, &fx.log),
			 CB_ERR_EXISTS);
	assert_int_equal(cb_accountdb_write_file(fx.cfg.accounts_db, (struct cb_account[]){l[0]}, 1,
						 &fx.log),
			 CB_OK);
	for (int i = 0; i < 3; i++)
		cb_account_free(&l[i]);
}

static void test_large_database(void **state)
{
	const uint32_t n = 20000;
	struct cb_account *l = calloc(n, sizeof(*l));
	struct cb_dbmap m;
	struct cb_dbrec r;
	char name[32];

	(void)state;
	SKIP_UNLESS_ROOT();
	for (uint32_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "user%u", i);
		l[i] = mkacct(name, name, 300000 + i * 7);
	}
	assert_int_equal(cb_accountdb_write_file(fx.cfg.accounts_db, l, n, &fx.log), CB_OK);
	assert_int_equal(cb_dbmap_open(&m, fx.cfg.accounts_db, CB_DB_KIND_BASE, &fx.log), CB_OK);
	assert_int_equal(cb_dbmap_verify(&m, &fx.log), CB_OK);
	for (uint32_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "user%u", i);
		assert_int_equal(cb_dbmap_find_name(&m, name, &r), CB_OK);
		assert_int_equal(r.uid, 300000 + i * 7);
		assert_int_equal(cb_dbmap_find_uid(&m, 300000 + i * 7, &r), CB_OK);
		assert_string_equal(r.name, name);
		assert_int_equal(cb_dbmap_find_uid(&m, 300001 + i * 7, &r), CB_ERR_NOT_FOUND);
	}
	assert_int_equal(cb_dbmap_find_name(&m, "user20000", &r), CB_ERR_NOT_FOUND);
	/* the probe bound stays small at half load */
	assert_true(m.max_probe < 64);
	cb_dbmap_close(&m);
	cb_account_list_free(l, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, dbfix_setup, dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_set_groups, dbfix_setup, dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_delta_and_fold, dbfix_setup, dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_fold_replaces_base_records, dbfix_setup,
						dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_login_defers_fold, dbfix_setup,
						dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_import_refuses_local_names, dbfix_setup,
						dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_removed_uid, dbfix_setup, dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_remove_and_list, dbfix_setup, dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_missing_database, dbfix_setup, dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_refusals, dbfix_setup, dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_uid_deterministic_across_hosts, dbfix_setup,
						dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_uid_collision_with_record, dbfix_setup,
						dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_uid_collision_with_etc_passwd, dbfix_setup,
						dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_write_file_refuses_duplicates, dbfix_setup,
						dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_large_database, dbfix_setup, dbfix_teardown),
	};

	return cmocka_run_group_tests_name("accountdb", tests, NULL, NULL);
}
