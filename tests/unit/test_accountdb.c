/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the account database API: a record round trip, the sub
 * binding, uid choice (determinism across hosts, collisions with records
 * and with /etc/passwd), refusals, and the files written. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sys/stat.h>

#include "accountdb.h"
#include "accountdb_map.h"
#include "idmap.h"
#include "accountdb_testutil.h"

static void add_ok(const char *name, const char *login, const char *sub, uint32_t *uid)
{
	struct cb_account a = mkacct(name, login, sub, 0);

	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_OK);
	if (uid != NULL)
		*uid = a.uid;
	cb_account_free(&a);
}

static void test_round_trip(void **state)
{
	struct cb_account a = mkacct("alice", "Alice@Example.com", NULL, 0), r;
	const char *groups[] = {"admin", "ops", "user"};
	struct stat st;

	(void)state;
	SKIP_UNLESS_ROOT();
	a.gecos = strdup("Alice Liddell,,,");
	a.phone = strdup("+86-138 0000 0000");
	a.shell = strdup("/bin/bash");
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_OK);
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
	assert_null(r.sub);
	assert_int_equal(r.n_groups, 0);
	assert_int_equal(r.created, a.created);
	assert_int_equal(r.last_login, 0);
	assert_false(r.flags & CB_ACCT_UID_FROM_SUB);
	cb_account_free(&r);

	/* first login binds the sub and records the groups, uid unchanged */
	assert_int_equal(cb_accountdb_record_login(&fx.cfg, "alice", "sub-a", groups, 3, &fx.log),
			 CB_OK);
	assert_int_equal(cb_accountdb_get(&fx.cfg, "alice", &r, &fx.log), CB_OK);
	assert_string_equal(r.sub, "sub-a");
	assert_int_equal(r.uid, a.uid);
	assert_int_equal(r.n_groups, 3);
	assert_string_equal(r.groups[0], "admin");
	assert_string_equal(r.groups[2], "user");
	assert_true(r.last_login > 0);
	cb_account_free(&r);

	/* the file: root-owned 0644, the lock beside it */
	assert_int_equal(stat(fx.cfg.accounts_db, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_uid, 0);
	cb_account_free(&a);
}

static void test_sub_mismatch_refused(void **state)
{
	const char *g1[] = {"admin"};
	const char *g2[] = {"user"};
	struct cb_account r;
	struct stat before, after;

	(void)state;
	SKIP_UNLESS_ROOT();
	add_ok("carol", "carol", NULL, NULL);
	assert_int_equal(cb_accountdb_record_login(&fx.cfg, "carol", "sub-c", g1, 1, &fx.log),
			 CB_OK);
	assert_int_equal(stat(fx.cfg.accounts_db, &before), 0);
	assert_int_equal(cb_accountdb_record_login(&fx.cfg, "carol", "sub-evil", g2, 1, &fx.log),
			 CB_ERR_SUB_MISMATCH);
	assert_non_null(strstr(fx.cap.text, "account takeover"));
	/* nothing written: the same file, the old groups */
	assert_int_equal(stat(fx.cfg.accounts_db, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(cb_accountdb_get(&fx.cfg, "carol", &r, &fx.log), CB_OK);
	assert_string_equal(r.sub, "sub-c");
	assert_string_equal(r.groups[0], "admin");
	cb_account_free(&r);
	/* unbind, then another sub may bind */
	assert_int_equal(cb_accountdb_unbind(&fx.cfg, "carol", &fx.log), CB_OK);
	assert_int_equal(cb_accountdb_get(&fx.cfg, "carol", &r, &fx.log), CB_OK);
	assert_null(r.sub);
	cb_account_free(&r);
	assert_int_equal(cb_accountdb_record_login(&fx.cfg, "carol", "sub-new", NULL, 0, &fx.log),
			 CB_OK);
	assert_int_equal(cb_accountdb_get(&fx.cfg, "carol", &r, &fx.log), CB_OK);
	assert_string_equal(r.sub, "sub-new");
	assert_int_equal(r.n_groups, 0);
	cb_account_free(&r);
	assert_int_equal(cb_accountdb_record_login(&fx.cfg, "nosuch", "s", NULL, 0, &fx.log),
			 CB_ERR_NOT_FOUND);
	assert_int_equal(cb_accountdb_record_login(&fx.cfg, "carol", "", NULL, 0, &fx.log),
			 CB_ERR_INPUT);
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
	assert_int_equal(cb_accountdb_unbind(&fx.cfg, "u2", &fx.log), CB_ERR_NOT_FOUND);
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
	a = mkacct("dave", "other@x", NULL, 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_ERR_EXISTS);
	cb_account_free(&a);
	/* a local account's name: the CloudBase user would take it over */
	a = mkacct("root", "root@x", NULL, 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_ERR_EXISTS);
	cb_account_free(&a);
	/* invalid names, login, phone, shell */
	a = mkacct("-x", "x", NULL, 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
	a = mkacct("a:b", "x", NULL, 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
	a = mkacct("eve", "", NULL, 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
	a = mkacct("eve", "eve\n", NULL, 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
	a = mkacct("eve", "eve", NULL, 0);
	a.phone = strdup("12");
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
	a = mkacct("eve", "eve", NULL, 0);
	a.shell = strdup("bin/sh");
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
	a = mkacct("eve", "eve", NULL, 0);
	a.gecos = strdup("a:b");
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
	/* an explicit uid already taken, or outside the range */
	a = mkacct("eve", "eve", NULL, uid);
	free(a.gecos), a.gecos = NULL;
	free(a.home), a.home = NULL;
	free(a.shell), a.shell = NULL;
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_ERR_EXISTS);
	cb_account_free(&a);
	a = mkacct("eve", "eve", NULL, 0);
	a.uid = 1000;
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_ERR_INPUT);
	cb_account_free(&a);
}

static void test_uid_deterministic_across_hosts(void **state)
{
	struct dbfix other;
	struct cb_account a = mkacct("frank", "Frank@Example.com", NULL, 0);
	struct cb_account b = mkacct("frank2", "frank@example.com", NULL, 0);
	struct cb_account c = mkacct("grace", "grace@x", "sub-grace", 0);
	uint32_t expect;

	(void)state;
	SKIP_UNLESS_ROOT();
	dbfix_init(&other);
	/* the login is folded to lower case: the same person on two hosts */
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_OK);
	assert_int_equal(cb_accountdb_add(&other.cfg, &b, &other.log), CB_OK);
	assert_int_equal(a.uid, b.uid);
	assert_int_equal(a.uid, cb_idmap_hash("frank@example.com", 200000, 2000199999));
	/* with a sub, the sub is the key */
	expect = cb_idmap_hash("sub-grace", 200000, 2000199999);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &c, &fx.log), CB_OK);
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
	a = mkacct("h2", "same@x", NULL, 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_OK);
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
	assert_int_equal(cb_idset_add_passwd(&local, "/etc/passwd", NULL), CB_OK);
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
	a = mkacct("pw1", key, NULL, 0);
	assert_int_equal(cb_accountdb_add(&fx.cfg, &a, &fx.log), CB_OK);
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
	l[0] = mkacct("a1", "a1", NULL, 300001);
	l[1] = mkacct("a2", "a2", NULL, 300001);
	assert_int_equal(cb_accountdb_write_file(fx.cfg.accounts_db, l, 2, &fx.log), CB_ERR_EXISTS);
	l[2] = mkacct("a1", "a3", NULL, 300003);
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
		l[i] = mkacct(name, name, NULL, 300000 + i * 7);
	}
	assert_int_equal(cb_accountdb_write_file(fx.cfg.accounts_db, l, n, &fx.log), CB_OK);
	assert_int_equal(cb_dbmap_open(&m, fx.cfg.accounts_db, &fx.log), CB_OK);
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
		cmocka_unit_test_setup_teardown(test_sub_mismatch_refused, dbfix_setup,
						dbfix_teardown),
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
