/* SPDX-License-Identifier: BSD-3-Clause */
/* The module through glibc (and its entry points called directly):
 * positive lookups, a round trip of every record starting from a 1-byte
 * buffer and doubling on ERANGE, the NSS status and errno conventions,
 * many threads at once, initgroups, a replaced database noticed, and
 * inside nscd every write seen at once.
 * Run by nss_glibc.sh inside a namespace that overlays the test config on
 * /etc/cloudbase; CB_TEST_DB, CB_TEST_N and CB_TEST_ADM_GID describe the
 * database it built (see there for the record pattern). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accountdb.h"

extern int __nss_configure_lookup(const char *db, const char *service_line);

static unsigned n_users;
static long adm_gid = -1;
static void *module;

static void expect_name(unsigned i, char *out, size_t len)
{
	snprintf(out, len, "u%03u", i);
}

static uint32_t expect_uid(unsigned i)
{
	return 710000 + i;
}

static void expect_gecos(unsigned i, char *out, size_t len)
{
	int n = snprintf(out, len, "G%u", i);

	for (unsigned k = 0; k < 2 * i && (size_t)n + 1 < len; k++)
		out[n++] = 'x';
	out[n] = '\0';
}

static int setup(void **state)
{
	const char *dir = getenv("NSS_CLOUDBASE_DIR");
	char path[4096];

	(void)state;
	n_users = (unsigned)atoi(getenv("CB_TEST_N") ? getenv("CB_TEST_N") : "0");
	if (getenv("CB_TEST_ADM_GID") && *getenv("CB_TEST_ADM_GID"))
		adm_gid = atol(getenv("CB_TEST_ADM_GID"));
	if (n_users == 0 || dir == NULL)
		return -1;
	__nss_configure_lookup("passwd", "cloudbase");
	__nss_configure_lookup("group", "cloudbase");
	snprintf(path, sizeof(path), "%s/libnss_cloudbase.so.2", dir);
	module = dlopen(path, RTLD_NOW);
	return module != NULL ? 0 : -1;
}

static void check_pw(const struct passwd *pw, unsigned i, const char *buf, size_t len)
{
	char name[16], gecos[2048], home[64];
	const char *const fields[] = {pw->pw_name, pw->pw_passwd, pw->pw_gecos, pw->pw_dir,
				      pw->pw_shell};

	expect_name(i, name, sizeof(name));
	expect_gecos(i, gecos, sizeof(gecos));
	snprintf(home, sizeof(home), "/home/%s", name);
	assert_string_equal(pw->pw_name, name);
	assert_int_equal(pw->pw_uid, expect_uid(i));
	assert_int_equal(pw->pw_gid, expect_uid(i));
	assert_string_equal(pw->pw_gecos, gecos);
	assert_string_equal(pw->pw_dir, home);
	assert_string_equal(pw->pw_shell, "/bin/sh");
	assert_string_equal(pw->pw_passwd, "*");
	/* every pointer into the caller's buffer */
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
		assert_true(fields[f] >= buf && fields[f] + strlen(fields[f]) < buf + len);
}

static void test_positive_lookups(void **state)
{
	char buf[4096], name[16];
	struct passwd pw, *res;
	struct group gr, *gres;

	(void)state;
	for (unsigned i = 0; i < n_users; i++) {
		expect_name(i, name, sizeof(name));
		assert_int_equal(getpwnam_r(name, &pw, buf, sizeof(buf), &res), 0);
		assert_non_null(res);
		check_pw(&pw, i, buf, sizeof(buf));
		assert_int_equal(getpwuid_r(expect_uid(i), &pw, buf, sizeof(buf), &res), 0);
		assert_non_null(res);
		check_pw(&pw, i, buf, sizeof(buf));
		assert_int_equal(getgrnam_r(name, &gr, buf, sizeof(buf), &gres), 0);
		assert_non_null(gres);
		assert_int_equal(gr.gr_gid, expect_uid(i));
		assert_null(gr.gr_mem[0]);
		assert_int_equal(getgrgid_r(expect_uid(i), &gr, buf, sizeof(buf), &gres), 0);
		assert_non_null(gres);
		assert_string_equal(gr.gr_name, name);
	}
	assert_int_equal(getpwnam_r("nosuch", &pw, buf, sizeof(buf), &res), 0);
	assert_null(res);
	assert_int_equal(getpwuid_r(expect_uid(n_users), &pw, buf, sizeof(buf), &res), 0);
	assert_null(res);
}

/* grow *buf from 1 byte, doubling while the call says ERANGE */
static char *tiny(char *buf, size_t *len)
{
	char *p;

	*len = *len == 0 ? 1 : *len * 2;
	p = realloc(buf, *len);
	assert_non_null(p);
	return p;
}

static void test_round_trip_tiny_buffers(void **state)
{
	struct passwd pw, *res;
	struct group gr, *gres;
	unsigned count = 0, retries = 0;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	(void)state;
	setpwent();
	for (;;) {
		buf = tiny(NULL, &(size_t){0}), len = 1;
		while ((rc = getpwent_r(&pw, buf, len, &res)) == ERANGE) {
			buf = tiny(buf, &len);
			retries++;
		}
		if (rc == ENOENT || res == NULL) {
			free(buf);
			break;
		}
		assert_int_equal(rc, 0);
		assert_true(count < n_users);
		check_pw(&pw, count, buf, len);
		count++;
		free(buf);
	}
	endpwent();
	assert_int_equal(count, n_users);
	assert_true(retries > n_users); /* the 1-byte start really was too small */

	count = 0;
	setgrent();
	for (;;) {
		char name[16];

		buf = tiny(NULL, &(size_t){0}), len = 1;
		while ((rc = getgrent_r(&gr, buf, len, &gres)) == ERANGE)
			buf = tiny(buf, &len);
		if (rc == ENOENT || gres == NULL) {
			free(buf);
			break;
		}
		expect_name(count, name, sizeof(name));
		assert_string_equal(gr.gr_name, name);
		assert_int_equal(gr.gr_gid, expect_uid(count));
		assert_true((char *)gr.gr_mem >= buf && (char *)gr.gr_mem < buf + len);
		assert_int_equal((uintptr_t)gr.gr_mem % _Alignof(char *), 0);
		count++;
		free(buf);
	}
	endgrent();
	assert_int_equal(count, n_users);

	/* and by key */
	for (unsigned i = 0; i < n_users; i++) {
		char name[16];

		expect_name(i, name, sizeof(name));
		buf = tiny(NULL, &(size_t){0}), len = 1;
		while ((rc = getpwnam_r(name, &pw, buf, len, &res)) == ERANGE)
			buf = tiny(buf, &len);
		assert_int_equal(rc, 0);
		assert_non_null(res);
		check_pw(&pw, i, buf, len);
		free(buf);
	}
}

typedef enum nss_status (*getpwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*getgrgid_fn)(gid_t, struct group *, char *, size_t, int *);

static void test_status_conventions(void **state)
{
	getpwnam_fn pwnam = (getpwnam_fn)dlsym(module, "_nss_cloudbase_getpwnam_r");
	getgrgid_fn grgid = (getgrgid_fn)dlsym(module, "_nss_cloudbase_getgrgid_r");
	char buf[1024];
	struct passwd pw;
	struct group gr;
	int err = 0;

	(void)state;
	assert_non_null(pwnam);
	assert_non_null(grgid);
	/* found */
	assert_int_equal(pwnam("u001", &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	/* not found: errno untouched */
	errno = EBADF;
	err = 0;
	assert_int_equal(pwnam("nosuch", &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_int_equal(errno, EBADF);
	assert_int_equal(pwnam("-bad:name", &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_int_equal(errno, EBADF);
	/* too small: TRYAGAIN + ERANGE, for every size below the need */
	for (size_t len = 0; len < 20; len++) {
		err = 0;
		assert_int_equal(pwnam("u001", &pw, buf, len, &err), NSS_STATUS_TRYAGAIN);
		assert_int_equal(err, ERANGE);
	}
	/* an odd buffer address: gr_mem still aligned inside it */
	assert_int_equal(grgid(expect_uid(3), &gr, buf + 1, sizeof(buf) - 1, &err),
			 NSS_STATUS_SUCCESS);
	assert_int_equal((uintptr_t)gr.gr_mem % _Alignof(char *), 0);
	assert_true((char *)gr.gr_mem > buf);
	assert_int_equal(grgid(expect_uid(3), &gr, buf + 1, 9, &err), NSS_STATUS_TRYAGAIN);
	assert_int_equal(err, ERANGE);
	assert_int_equal(grgid(0, &gr, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
}

static void *hammer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	char buf[2048], name[16];
	struct passwd pw, *res;
	intptr_t bad = 0;

	for (int k = 0; k < 5000; k++) {
		unsigned i = (unsigned)rand_r(&seed) % (n_users + 10);
		int rc;

		expect_name(i, name, sizeof(name));
		rc = (k & 1) ? getpwnam_r(name, &pw, buf, sizeof(buf), &res)
			     : getpwuid_r(expect_uid(i), &pw, buf, sizeof(buf), &res);
		if (rc != 0 || (i < n_users) != (res != NULL) ||
		    (res != NULL && (strcmp(pw.pw_name, name) != 0 || pw.pw_uid != expect_uid(i))))
			bad++;
	}
	return (void *)bad;
}

static void test_threads(void **state)
{
	enum { THREADS = 16 };
	pthread_t t[THREADS];

	(void)state;
	for (uintptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)(i + 1)), 0);
	for (int i = 0; i < THREADS; i++) {
		void *bad;

		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_int_equal((intptr_t)bad, 0);
	}
}

static atomic_int stop_spinning;

static void *spin(void *arg)
{
	char buf[1024];
	struct passwd pw, *res;

	(void)arg;
	while (!atomic_load(&stop_spinning))
		(void)getpwnam_r("u002", &pw, buf, sizeof(buf), &res);
	return NULL;
}

/* fork() while other threads are inside the module: each child must still
 * look users up, including after a second, when a lookup takes the write
 * side of the module's lock to re-check the database (a lock inherited in
 * a held state would hang it there). */
static void test_fork_while_looking_up(void **state)
{
	enum { CHILDREN = 30 };
	pthread_t t[4];
	pid_t pids[CHILDREN];
	int waited = 0, left = CHILDREN;

	(void)state;
	atomic_store(&stop_spinning, 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, spin, NULL), 0);
	for (int k = 0; k < CHILDREN; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0) {
			char buf[1024];
			struct passwd pw, *res = NULL, *res2 = NULL;

			getpwnam_r("u001", &pw, buf, sizeof(buf), &res);
			usleep(1100 * 1000);
			getpwnam_r("u003", &pw, buf, sizeof(buf), &res2);
			_exit(res != NULL && res2 != NULL ? 0 : 1);
		}
		usleep(5000);
	}
	atomic_store(&stop_spinning, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	while (left > 0 && waited < 800) {
		for (int k = 0; k < CHILDREN; k++) {
			int st;

			if (pids[k] == 0 || waitpid(pids[k], &st, WNOHANG) != pids[k])
				continue;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				fail_msg("child %d failed its lookups", k);
			pids[k] = 0;
			left--;
		}
		usleep(10000);
		waited++;
	}
	for (int k = 0; k < CHILDREN; k++)
		if (pids[k] != 0) {
			kill(pids[k], SIGKILL);
			waitpid(pids[k], NULL, 0);
		}
	if (left > 0)
		fail_msg("%d children hung after fork", left);
}

static void test_initgroups(void **state)
{
	gid_t groups[64];
	int ng;

	(void)state;
	if (adm_gid < 0)
		skip();
	/* u000, u003, ...: CloudBase group admin, mapped to adm */
	for (unsigned i = 0; i < 6 && i < n_users; i++) {
		char name[16];
		int has_adm = 0, has_private = 0;

		expect_name(i, name, sizeof(name));
		ng = 64;
		assert_true(getgrouplist(name, expect_uid(i), groups, &ng) >= 0);
		for (int k = 0; k < ng; k++) {
			has_adm |= groups[k] == (gid_t)adm_gid;
			has_private |= groups[k] == expect_uid(i);
		}
		assert_true(has_private);
		assert_int_equal(has_adm, i % 3 == 0);
	}
}

static void test_replaced_database_noticed(void **state)
{
	struct cb_config cfg;
	struct cb_account a = {0};
	char buf[1024];
	struct passwd pw, *res = NULL;
	struct timespec t0, t1;
	double waited;

	(void)state;
	/* the module has the old file mapped; a writer renames a new one over it */
	assert_int_equal(getpwnam_r("u001", &pw, buf, sizeof(buf), &res), 0);
	assert_non_null(res);
	cb_config_init(&cfg);
	cfg.accounts_db = strdup(getenv("CB_TEST_DB"));
	a.name = strdup("newbie");
	a.login = strdup("newbie@example.com");
	assert_int_equal(cb_accountdb_add(&cfg, &a, NULL, NULL), CB_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		usleep(20000);
		assert_int_equal(getpwnam_r("newbie", &pw, buf, sizeof(buf), &res), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	} while (res == NULL && waited < 5);
	assert_non_null(res);
	assert_int_equal(pw.pw_uid, a.uid);
	assert_true(waited < 2.5); /* re-checked at most once a second */
	print_message("# new record seen after %.2f s\n", waited);
	assert_int_equal(getpwnam_r("u002", &pw, buf, sizeof(buf), &res), 0);
	assert_non_null(res);
	cb_account_free(&a);
	cb_config_free(&cfg);
}

/* Run in a process named nscd (main re-executes the test so): nscd
 * caches what the module answers, negative answers too, and the writers
 * of the database run "nscd -i" right after each write; a lookup nscd
 * makes then must see the write. A view kept for up to a second would be
 * cached again: a user just added "unknown" for 20 s, a removed one known
 * for 10 minutes (Debian's nscd.conf). */
static int as_nscd(void)
{
	struct cb_config cfg;
	struct cb_account a = {0};
	char buf[1024];
	struct passwd pw, *res = NULL;
	int bad = 0;

	__nss_configure_lookup("passwd", "cloudbase");
	cb_config_init(&cfg);
	cfg.accounts_db = strdup(getenv("CB_TEST_DB"));
	a.name = strdup("nscdnew");
	a.login = strdup("nscdnew@example.com");
	/* the failed lookup just before the write: the module looked now */
	if (getpwnam_r("nscdnew", &pw, buf, sizeof(buf), &res) != 0 || res != NULL)
		bad |= 1;
	if (cb_accountdb_add(&cfg, &a, NULL, NULL) != CB_OK)
		bad |= 2;
	if (getpwnam_r("nscdnew", &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		bad |= 4;
	if (cb_accountdb_remove(&cfg, "nscdnew", NULL) != CB_OK)
		bad |= 8;
	if (getpwnam_r("nscdnew", &pw, buf, sizeof(buf), &res) != 0 || res != NULL)
		bad |= 16;
	if (bad)
		fprintf(stderr,
			"as nscd: failed steps %#x (4: add not seen, 16: remove not seen)\n",
			(unsigned)bad);
	cb_account_free(&a);
	cb_config_free(&cfg);
	return bad;
}

static void test_nscd_sees_every_write(void **state)
{
	char *const argv[] = {(char *)"nscd", NULL};
	pid_t pid;
	int ws;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("CB_TEST_AS_NSCD", "1", 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
}

static bool in_groups(const char *name, gid_t primary, gid_t want)
{
	gid_t groups[64];
	int ng = 64;

	if (getgrouplist(name, primary, groups, &ng) < 0)
		return false;
	for (int k = 0; k < ng; k++)
		if (groups[k] == want)
			return true;
	return false;
}

/* What the PAM auth phase does when a sign-in's mapped groups change,
 * seen by NSS: the mapped local group appears, then goes. */
static void test_recorded_groups_served(void **state)
{
	const char *groups[] = {"user", "admin"};
	struct cb_config cfg;
	struct cb_account a;

	(void)state;
	if (adm_gid < 0)
		skip();
	cb_config_init(&cfg);
	cfg.accounts_db = strdup(getenv("CB_TEST_DB"));
	assert_int_equal(cb_config_set(&cfg, "group_map", "admin:adm", 0, "test", NULL), CB_OK);
	/* u001 has CloudBase group "user" only: no adm yet */
	assert_false(in_groups("u001", expect_uid(1), (gid_t)adm_gid));
	assert_int_equal(cb_accountdb_set_groups(&cfg, "u001", groups, 2, NULL), CB_OK);
	/* at once, not after the once-a-second re-check of lookups: the
	 * session that follows the login calls initgroups within milliseconds */
	assert_true(in_groups("u001", expect_uid(1), (gid_t)adm_gid));
	assert_int_equal(cb_accountdb_get(&cfg, "u001", &a, NULL), CB_OK);
	assert_int_equal(a.uid, expect_uid(1)); /* recording groups never moves the uid */
	cb_account_free(&a);
	/* admin removed at CloudBase: gone at once too */
	assert_int_equal(cb_accountdb_set_groups(&cfg, "u001", groups, 1, NULL), CB_OK);
	assert_false(in_groups("u001", expect_uid(1), (gid_t)adm_gid));
	cb_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positive_lookups),
		cmocka_unit_test(test_round_trip_tiny_buffers),
		cmocka_unit_test(test_status_conventions),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_fork_while_looking_up),
		cmocka_unit_test(test_initgroups),
		cmocka_unit_test(test_replaced_database_noticed),
		cmocka_unit_test(test_recorded_groups_served),
		cmocka_unit_test(test_nscd_sees_every_write),
	};

	if (getenv("CB_TEST_AS_NSCD") != NULL)
		return as_nscd();

	return cmocka_run_group_tests_name("nss_glibc", tests, setup, NULL);
}
