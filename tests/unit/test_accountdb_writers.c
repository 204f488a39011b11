/* SPDX-License-Identifier: BSD-3-Clause */
/* Writers: 100 concurrent processes lose no record; a writer killed at any
 * stage of a write leaves a complete database (the old or the new one) and
 * no lock held; readers holding the old mapping keep working; a login that
 * finds the database busy leaves its change for the next writer.
 *
 * The kill points are system calls wrapped at link time (-Wl,--wrap, see
 * local.mk): nothing in the library itself is there for the tests. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "accountdb.h"
#include "accountdb_format.h"
#include "accountdb_map.h"
#include "state.h"
#include "accountdb_testutil.h"
#include "killpoints.h"

static int add_user(const char *name, const char *login)
{
	struct cb_account a = mkacct(name, login, 0);
	cb_status rc = cb_accountdb_add(&fx.cfg, &a, NULL, NULL);

	cb_account_free(&a);
	return rc == CB_OK ? 0 : 1;
}

static cb_status bind_sub(struct cb_state *st, void *arg, bool *write)
{
	if (st->sub != NULL)
		return strcmp(st->sub, arg) == 0 ? CB_OK : CB_ERR_SUB_MISMATCH;
	st->sub = strdup(arg);
	*write = true;
	return st->sub != NULL ? CB_OK : CB_ERR_NOMEM;
}

/* 100 writers add an account each, half of them then record a sign-in
 * (state record, mapped groups); 20 more race to bind one account to
 * their own sub: every record present, exactly one sub bound each. */
static void test_100_concurrent_writers(void **state)
{
	enum { WRITERS = 100, BINDERS = 20 };
	pid_t pids[WRITERS + BINDERS];
	int won = 0;
	struct cb_state st;
	size_t n;
	char name[32];

	(void)state;
	SKIP_UNLESS_ROOT();
	assert_int_equal(cb_config_set(&fx.cfg, "group_map", "g:daemon", 0, "t", NULL), CB_OK);
	assert_int_equal(add_user("shared", "shared@x"), 0);
	for (int i = 0; i < WRITERS + BINDERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0 && i >= WRITERS) {
			snprintf(name, sizeof(name), "sub-%d", i);
			_exit(cb_state_update(&fx.cfg, "shared", bind_sub, name, NULL) == CB_OK
				      ? 0
				      : 2);
		}
		if (pids[i] == 0) {
			const char *groups[] = {"g", "other"};
			int rc;

			snprintf(name, sizeof(name), "w%03d", i);
			rc = add_user(name, name);
			if (rc == 0 && i % 2)
				rc = cb_state_update(&fx.cfg, name, bind_sub, name, NULL) !=
					     CB_OK ||
				     cb_accountdb_set_groups(&fx.cfg, name, groups, 2, NULL) !=
					     CB_OK;
			_exit(rc);
		}
	}
	for (int i = 0; i < WRITERS + BINDERS; i++) {
		int ws;

		assert_int_equal(waitpid(pids[i], &ws, 0), pids[i]);
		assert_true(WIFEXITED(ws));
		if (i >= WRITERS) {
			assert_true(WEXITSTATUS(ws) == 0 || WEXITSTATUS(ws) == 2);
			won += WEXITSTATUS(ws) == 0;
		} else {
			assert_int_equal(WEXITSTATUS(ws), 0);
		}
	}
	assert_int_equal(won, 1);
	assert_int_equal(cb_state_load(&fx.cfg, "shared", &st, &fx.log), CB_OK);
	assert_non_null(st.sub);
	assert_int_equal(strncmp(st.sub, "sub-", 4), 0);
	cb_state_free(&st);
	assert_int_equal(cb_accountdb_check(&fx.cfg, &n, &fx.log), CB_OK);
	assert_int_equal(n, WRITERS + 1);
	for (int i = 0; i < WRITERS; i++) {
		struct cb_account r;

		snprintf(name, sizeof(name), "w%03d", i);
		assert_int_equal(cb_accountdb_get(&fx.cfg, name, &r, &fx.log), CB_OK);
		assert_int_equal(r.n_groups, i % 2 ? 1 : 0);
		cb_account_free(&r);
		if (i % 2) {
			assert_int_equal(cb_state_load(&fx.cfg, name, &st, &fx.log), CB_OK);
			assert_string_equal(st.sub, name);
			cb_state_free(&st);
		} else {
			assert_int_equal(cb_state_load(&fx.cfg, name, &st, &fx.log),
					 CB_ERR_NOT_FOUND);
		}
	}
}

/* ---- kill points (killpoints.h) ---- */

static size_t count_temps(void)
{
	char *dir = NULL;
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	assert_true(asprintf(&dir, "%s/db", fx.dir) > 0);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, "accounts.db.tmp-", 16) == 0;
	closedir(d);
	free(dir);
	return n;
}

static void test_killed_writer(void **state)
{
	static const enum kill_stage stages[] = {KILL_LOCKED, KILL_PARTIAL, KILL_BEFORE_RENAME,
						 KILL_RENAMED};
	/* after "renamed" the new file is in place; before it, the old one */
	static const int has_new[] = {0, 0, 0, 1};
	struct cb_dbmap held;
	struct cb_dbrec r;

	(void)state;
	SKIP_UNLESS_ROOT();
	assert_int_equal(add_user("base", "base@x"), 0);
	/* a reader that mapped the old file before all this */
	assert_int_equal(cb_dbmap_open(&held, fx.cfg.accounts_db, CB_DB_KIND_BASE, &fx.log), CB_OK);
	for (size_t s = 0; s < sizeof(stages) / sizeof(stages[0]); s++) {
		char name[32];
		size_t n;
		int st;
		pid_t pid;

		snprintf(name, sizeof(name), "killed%zu", s);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			kill_stage = stages[s];
			_exit(add_user(name, name) == 0 ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
			fail_msg("writer not killed at stage %d", (int)stages[s]);
		/* the database is complete, old or new as the stage says */
		assert_int_equal(cb_accountdb_check(&fx.cfg, &n, &fx.log), CB_OK);
		assert_int_equal(cb_dbmap_find_name(&held, "base", &r), CB_OK);
		{
			struct cb_account a;
			cb_status rc = cb_accountdb_get(&fx.cfg, name, &a, &fx.log);

			assert_int_equal(rc, has_new[s] ? CB_OK : CB_ERR_NOT_FOUND);
			cb_account_free(&a);
		}
		/* the lock died with the writer: the next write goes through, and
		 * clears a temp file the killed writer left */
		snprintf(name, sizeof(name), "after%zu", s);
		assert_int_equal(add_user(name, name), 0);
		assert_int_equal(count_temps(), 0);
	}
	cb_dbmap_close(&held);
	/* only the writer's own temp names are cleaned: an admin's copy stays */
	{
		char *backup = NULL;
		FILE *f;

		assert_true(asprintf(&backup, "%s.backup", fx.cfg.accounts_db) > 0);
		f = fopen(backup, "w");
		assert_non_null(f);
		fclose(f);
		assert_int_equal(add_user("last", "last@x"), 0);
		assert_int_equal(access(backup, F_OK), 0);
		free(backup);
	}
}

static cb_status set_signin_groups(struct cb_state *st, void *arg, bool *write)
{
	const char *groups[] = {"g", "other"};

	(void)arg;
	*write = true;
	return cb_state_set_groups(st, groups, 2, NULL);
}

/* A writer that holds the lock long (an import) makes an admin's write
 * wait and then give up; a login's change of mapped groups is not refused
 * but left as a note, which the next writer applies. */
static void test_lock_busy(void **state)
{
	const char *groups[] = {"g"};
	struct cb_state_pending p;
	char *lockpath = NULL;
	struct cb_account r;
	int fd, ws;
	pid_t pid;

	(void)state;
	SKIP_UNLESS_ROOT();
	assert_int_equal(cb_config_set(&fx.cfg, "group_map", "g:daemon", 0, "t", NULL), CB_OK);
	assert_int_equal(add_user("first", "first@x"), 0);
	assert_true(asprintf(&lockpath, "%s.lock", fx.cfg.accounts_db) > 0);
	fd = open(lockpath, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	pid = fork();
	if (pid == 0) {
		struct cb_account a = mkacct("second", "second@x", 0);

		_exit(cb_accountdb_add(&fx.cfg, &a, NULL, NULL) == CB_ERR_BUSY ? 0 : 1);
	}
	/* the login's write: CB_OK at once (1 s), and a note */
	assert_int_equal(cb_accountdb_set_groups(&fx.cfg, "first", groups, 1, &fx.log), CB_OK);
	assert_non_null(strstr(fx.cap.text, "busy"));
	assert_int_equal(cb_state_pending_list(&fx.cfg, &p, &fx.log), CB_OK);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.users[0], "first");
	cb_state_pending_done(&fx.cfg, &p, false);
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	close(fd);
	/* the state store has the sign-in's groups; the next write maps them */
	assert_int_equal(cb_state_update(&fx.cfg, "first", set_signin_groups, NULL, &fx.log),
			 CB_OK);
	assert_int_equal(add_user("second", "second@x"), 0);
	assert_int_equal(cb_accountdb_get(&fx.cfg, "first", &r, &fx.log), CB_OK);
	assert_int_equal(r.n_groups, 1);
	assert_string_equal(r.groups[0], "g");
	cb_account_free(&r);
	assert_int_equal(cb_state_pending_list(&fx.cfg, &p, &fx.log), CB_OK);
	assert_int_equal(p.n, 0);
	cb_state_pending_done(&fx.cfg, &p, false);
	free(lockpath);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_100_concurrent_writers, dbfix_setup,
						dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_killed_writer, dbfix_setup, dbfix_teardown),
		cmocka_unit_test_setup_teardown(test_lock_busy, dbfix_setup, dbfix_teardown),
	};

	return cmocka_run_group_tests_name("accountdb_writers", tests, NULL, NULL);
}
