/* SPDX-License-Identifier: BSD-3-Clause */
/* A version 1 account database, written by release 0.1.0's own code
 * (fixtures/accounts-v1.db, its dump in fixtures/accounts-v1.txt), is read
 * as it is, and the first write moves its login data to the state store
 * and rewrites it as version 2: every field survives, in the store it now
 * belongs to. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>

#include "accountdb.h"
#include "accountdb_format.h"
#include "accountdb_map.h"
#include "state.h"
#include "accountdb_testutil.h"

enum {
	F_NAME,
	F_UID,
	F_GID,
	F_GECOS,
	F_HOME,
	F_SHELL,
	F_LOGIN,
	F_PHONE,
	F_SUB,
	F_CREATED,
	F_LAST,
	F_FLAGS,
	F_GROUPS,
	N_F
};

struct row {
	char *f[N_F];
};

static struct row rows[16];
static size_t n_rows;
static struct dbfix fx;

static void load_dump(void)
{
	char path[1024], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/unit/fixtures/accounts-v1.txt",
		 getenv("top_srcdir"));
	f = fopen(path, "r");
	assert_non_null(f);
	n_rows = 0;
	while (fgets(line, sizeof(line), f) != NULL && n_rows < 16) {
		char *p = line;

		line[strcspn(line, "\n")] = '\0';
		for (int i = 0; i < N_F; i++) {
			char *bar = strchr(p, '|');

			if (bar != NULL)
				*bar = '\0';
			rows[n_rows].f[i] = strdup(p);
			p = bar != NULL ? bar + 1 : p + strlen(p);
		}
		n_rows++;
	}
	fclose(f);
	assert_int_equal(n_rows, 5);
}

static int setup(void **state)
{
	char cmd[2048];

	(void)state;
	dbfix_init(&fx);
	load_dump();
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/db && cp %s/tests/unit/fixtures/accounts-v1.db %s && chmod 0644 %s",
		 fx.dir, getenv("top_srcdir"), fx.cfg.accounts_db, fx.cfg.accounts_db);
	assert_int_equal(system(cmd), 0);
	/* what the fixture's release mapped: admin is the one mapped group */
	assert_int_equal(cb_config_set(&fx.cfg, "group_map", "admin:sudo", 0, "test", NULL), CB_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_rows; i++)
		for (int k = 0; k < N_F; k++)
			free(rows[i].f[k]);
	dbfix_done(&fx);
	return 0;
}

static const char *str_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

static void join_groups(char *const *g, size_t n, char *out, size_t outsz)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, outsz - o, "%s%s", i ? "," : "", g[i]);
}

/* The fields NSS serves, and how the uid was chosen, equal the dump's. */
static void check_nss_fields(const struct row *w, const struct cb_account *a)
{
	char num[32];

	assert_string_equal(a->name, w->f[F_NAME]);
	snprintf(num, sizeof(num), "%u", a->uid);
	assert_string_equal(num, w->f[F_UID]);
	snprintf(num, sizeof(num), "%u", a->gid);
	assert_string_equal(num, w->f[F_GID]);
	assert_string_equal(a->gecos, w->f[F_GECOS]);
	assert_string_equal(a->home, w->f[F_HOME]);
	assert_string_equal(a->shell, w->f[F_SHELL]);
	assert_string_equal(a->login, w->f[F_LOGIN]);
	assert_string_equal(str_or_empty(a->phone), w->f[F_PHONE]);
	snprintf(num, sizeof(num), "%" PRId64, a->created);
	assert_string_equal(num, w->f[F_CREATED]);
	snprintf(num, sizeof(num), "%u", a->flags);
	assert_string_equal(num, w->f[F_FLAGS]);
}

static void test_read_before_migration(void **state)
{
	char groups[512], num[32];

	(void)state;
	SKIP_UNLESS_ROOT();
	for (size_t i = 0; i < n_rows; i++) {
		struct cb_account a;

		assert_int_equal(cb_accountdb_get(&fx.cfg, rows[i].f[F_NAME], &a, NULL), CB_OK);
		check_nss_fields(&rows[i], &a);
		/* the login data, as the old release recorded it */
		assert_string_equal(str_or_empty(a.legacy_sub), rows[i].f[F_SUB]);
		snprintf(num, sizeof(num), "%" PRId64, a.legacy_last_login);
		assert_string_equal(num, rows[i].f[F_LAST]);
		join_groups(a.groups, a.n_groups, groups, sizeof(groups));
		assert_string_equal(groups, rows[i].f[F_GROUPS]);
		cb_account_free(&a);
	}
	assert_int_equal(cb_accountdb_check(&fx.cfg, NULL, &fx.log), CB_OK);
}

static void test_first_write_migrates(void **state)
{
	struct cb_account add = mkacct("frank", "frank@x", 0);
	struct cb_dbmap m;
	struct cb_state st;
	char groups[512], num[32];

	(void)state;
	SKIP_UNLESS_ROOT();
	assert_int_equal(cb_accountdb_add(&fx.cfg, &add, NULL, &fx.log), CB_OK);
	cb_account_free(&add);
	assert_non_null(strstr(fx.cap.text, "moved to the state store"));
	assert_int_equal(cb_dbmap_open(&m, fx.cfg.accounts_db, CB_DB_KIND_BASE, &fx.log), CB_OK);
	assert_int_equal(m.version, CB_DB_VERSION);
	cb_dbmap_close(&m);
	for (size_t i = 0; i < n_rows; i++) {
		const struct row *w = &rows[i];
		struct cb_account a;
		cb_status rc;

		assert_int_equal(cb_accountdb_get(&fx.cfg, w->f[F_NAME], &a, NULL), CB_OK);
		check_nss_fields(w, &a);
		assert_null(a.legacy_sub);
		assert_int_equal(a.legacy_last_login, 0);
		/* only the mapped groups stay for NSS */
		join_groups(a.groups, a.n_groups, groups, sizeof(groups));
		assert_string_equal(groups, strstr(w->f[F_GROUPS], "admin") ? "admin" : "");
		cb_account_free(&a);
		/* the rest is in the state store */
		rc = cb_state_load(&fx.cfg, w->f[F_NAME], &st, &fx.log);
		if (w->f[F_SUB][0] == '\0' && strcmp(w->f[F_LAST], "0") == 0 &&
		    w->f[F_GROUPS][0] == '\0') {
			assert_int_equal(rc, CB_ERR_NOT_FOUND); /* nothing to move */
			continue;
		}
		assert_int_equal(rc, CB_OK);
		assert_string_equal(str_or_empty(st.sub), w->f[F_SUB]);
		snprintf(num, sizeof(num), "%" PRId64, st.last_login);
		assert_string_equal(num, w->f[F_LAST]);
		join_groups(st.groups, st.n_groups, groups, sizeof(groups));
		assert_string_equal(groups, w->f[F_GROUPS]);
		cb_state_free(&st);
	}
	assert_int_equal(cb_accountdb_get(&fx.cfg, "frank", &add, NULL), CB_OK);
	cb_account_free(&add);
	assert_int_equal(cb_accountdb_check(&fx.cfg, NULL, &fx.log), CB_OK);
}

static cb_status bind_newer(struct cb_state *st, void *arg, bool *write)
{
	(void)arg;
	st->sub = strdup("sub-newer");
	*write = true;
	return st->sub != NULL ? CB_OK : CB_ERR_NOMEM;
}

/* A login on the new release before the first write recorded a newer state
 * for carol: the migration leaves it alone. */
static void test_newer_state_kept(void **state)
{
	struct cb_state st;

	(void)state;
	SKIP_UNLESS_ROOT();
	assert_int_equal(cb_state_update(&fx.cfg, "carol", bind_newer, NULL, &fx.log), CB_OK);
	assert_int_equal(cb_accountdb_remove(&fx.cfg, "erin", &fx.log), CB_OK);
	assert_int_equal(cb_state_load(&fx.cfg, "carol", &st, &fx.log), CB_OK);
	assert_string_equal(st.sub, "sub-newer");
	assert_int_equal(st.n_groups, 0);
	cb_state_free(&st);
	assert_int_equal(cb_state_load(&fx.cfg, "alice", &st, &fx.log), CB_OK);
	assert_string_equal(st.sub, "sub-alice");
	cb_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_before_migration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_write_migrates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_state_kept, setup, teardown),
	};

	return cmocka_run_group_tests_name("migration", tests, NULL, NULL);
}
