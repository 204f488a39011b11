/* SPDX-License-Identifier: BSD-3-Clause */
/* Writers: 100 concurrent processes lose no record; a writer killed at any
 * stage of a write leaves a complete database (the old or the new one) and
 * no lock held; readers holding the old mapping keep working. */
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
#include "accountdb_map.h"
#include "accountdb_testutil.h"

static int add_user(const char *name, const char *login)
{
	struct cb_account a = mkacct(name, login, NULL, 0);
	cb_status rc = cb_accountdb_add(&fx.cfg, &a, NULL);

	cb_account_free(&a);
	return rc == CB_OK ? 0 : 1;
}

static void test_100_concurrent_writers(void **state)
{
	enum { WRITERS = 100 };
	pid_t pids[WRITERS];
	struct cb_account *list;
	size_t n;
	char name[32];

	(void)state;
	SKIP_UNLESS_ROOT();
	for (int i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			const char *groups[] = {"g"};
			int rc;

			snprintf(name, sizeof(name), "w%03d", i);
			rc = add_user(name, name);
			/* half of them log in right after: a second write each */
			if (rc == 0 && i % 2)
				rc = cb_accountdb_record_login(&fx.cfg, name, name, groups, 1,
							       NULL) != CB_OK;
			_exit(rc);
		}
	}
	for (int i = 0; i < WRITERS; i++) {
		int st;

		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(cb_accountdb_check(&fx.cfg, &n, &fx.log), CB_OK);
	assert_int_equal(n, WRITERS);
	assert_int_equal(cb_accountdb_list(&fx.cfg, &list, &n, &fx.log), CB_OK);
	for (int i = 0; i < WRITERS; i++) {
		struct cb_account r;

		snprintf(name, sizeof(name), "w%03d", i);
		assert_int_equal(cb_accountdb_get(&fx.cfg, name, &r, &fx.log), CB_OK);
		if (i % 2) {
			assert_non_null(r.sub);
			assert_string_equal(r.sub, name);
		} else {
			assert_null(r.sub);
		}
		cb_account_free(&r);
	}
	cb_account_list_free(list, n);
}

static const char *kill_stage;

static void kill_hook(const char *stage)
{
	if (strcmp(stage, kill_stage) == 0)
		raise(SIGKILL);
}

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
	static const char *const stages[] = {"locked", "temp-partial", "temp-written", "renamed"};
	/* after "renamed" the new file is in place; before it, the old one */
	static const int has_new[] = {0, 0, 0, 1};
	struct cb_dbmap held;
	struct cb_dbrec r;

	(void)state;
	SKIP_UNLESS_ROOT();
	assert_int_equal(add_user("base", "base@x"), 0);
	/* a reader that mapped the old file before all this */
	assert_int_equal(cb_dbmap_open(&held, fx.cfg.accounts_db, &fx.log), CB_OK);
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
			cb_accountdb_test_hook = kill_hook;
			_exit(add_user(name, name) == 0 ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
			fail_msg("writer not killed at %s", stages[s]);
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

static void test_lock_busy(void **state)
{
	char *lockpath = NULL;
	int fd;
	pid_t pid;
	int st;

	(void)state;
	SKIP_UNLESS_ROOT();
	assert_int_equal(add_user("first", "first@x"), 0);
	assert_true(asprintf(&lockpath, "%s.lock", fx.cfg.accounts_db) > 0);
	fd = open(lockpath, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	/* a writer waits for the lock, then gives up with BUSY (10 s) */
	pid = fork();
	if (pid == 0) {
		struct cb_account a = mkacct("second", "second@x", NULL, 0);

		_exit(cb_accountdb_add(&fx.cfg, &a, NULL) == CB_ERR_BUSY ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(fd);
	assert_int_equal(add_user("second", "second@x"), 0);
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
