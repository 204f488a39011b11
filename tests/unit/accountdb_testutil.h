/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers of the account database tests: a database in a fresh root-owned
 * directory, and accounts built in one line. */
#ifndef CB_ACCOUNTDB_TESTUTIL_H
#define CB_ACCOUNTDB_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accountdb.h"
#include "conf.h"
#include "testutil.h"

struct dbfix {
	char *dir;
	struct cb_config cfg;
	struct captured_log cap;
	struct cb_log log;
};

/* The database checks want root-owned files: the tests run as root (CI). */
#define SKIP_UNLESS_ROOT()                                                                         \
	do {                                                                                       \
		if (geteuid() != 0)                                                                \
			skip();                                                                    \
	} while (0)

static inline void dbfix_init(struct dbfix *f)
{
	f->dir = test_tmpdir();
	chmod(f->dir, 0755);
	cb_config_init(&f->cfg);
	if (asprintf(&f->cfg.accounts_db, "%s/db/accounts.db", f->dir) < 0)
		abort();
	f->log = capture_log(&f->cap);
}

static inline void dbfix_done(struct dbfix *f)
{
	cb_config_free(&f->cfg);
	test_rmtree(f->dir);
	free(f->dir);
}

/* The database of the test that runs. */
static struct dbfix fx;

/* cmocka setup and teardown: a fresh fx for each test. */
static inline int dbfix_setup(void **state)
{
	(void)state;
	dbfix_init(&fx);
	return 0;
}

static inline int dbfix_teardown(void **state)
{
	(void)state;
	dbfix_done(&fx);
	return 0;
}

/* An account for cb_accountdb_add / write_file; strings are strdup'ed. */
static inline struct cb_account mkacct(const char *name, const char *login, uint32_t uid)
{
	struct cb_account a;

	memset(&a, 0, sizeof(a));
	a.name = strdup(name);
	a.login = strdup(login);
	a.uid = a.gid = uid;
	if (uid != 0) { /* write_file wants complete records */
		a.gecos = strdup("");
		if (asprintf(&a.home, "/home/%s", name) < 0)
			abort();
		a.shell = strdup("/bin/sh");
	}
	return a;
}

#endif
