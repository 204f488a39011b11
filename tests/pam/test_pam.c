/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_cloudbase.so through real libpam (pam_start_confdir) against the
 * CloudBase emulator. Run by pam_tests.sh, which starts the emulators and
 * runs this binary under tests/ns-run: there it binds its own /dev/log and
 * reads every line the module sends to syslog. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <security/pam_appl.h>

#include "accountdb.h"
#include "state.h"
#include "api.h"
#include "conf.h"
#include "secure.h"
#include "harness.h"
#include "testutil.h"

#define ALICE_SUB "9c5b1f3e-0a6d-4a57-9a43-2b8f0c7e1a01"
#define ALICE_PW "Alice-Passw0rd"
#define BOB_PW "Bob-Passw0rd"
#define SECRET "test-secret"
#define RHOST "203.0.113.9"

/* the harness's names as this file has always used them */
#define conf_path g.conf_path
#define ctl_body g.ctl_body
#define last_delay g.last_delay

/* ---- fixtures ------------------------------------------------------------ */

static void add_account(const char *name, const char *login, const char *sub)
{
	add_record(name, login, NULL, sub);
}

static int setup(void **state)
{
	(void)state;
	ctl("POST", "/reset", NULL);
	remove_accounts();
	add_account("cbalice", "alice", NULL);
	add_account("cbbob", "bob", NULL);
	add_account("cbcarol", "carol", NULL);
	add_account("cbdave", "dave", NULL);
	add_account("cbghost", "nosuchuser", NULL);
	add_account("cberin", "erin", NULL);
	write_config("");
	write_service("cb", "");
	log_reset();
	last_delay = 0;
	return 0;
}

/* ---- one transaction ----------------------------------------------------- */

struct result {
	int auth, acct, setcred, end;
	struct conv conv;
	double seconds;
};

enum { DO_AUTH = 1, DO_ACCT = 2, DO_SETCRED = 4 };

static pam_handle_t *begin(const char *service, const char *user, struct result *r)
{
	return harness_start(service, user, &r->conv, RHOST);
}

static void login_svc(const char *service, const char *user, struct result *r, unsigned what,
		      const char *a0, const char *a1)
{
	pam_handle_t *pamh;
	double t0;

	memset(r, 0, sizeof(*r));
	r->auth = r->acct = r->setcred = -1;
	r->conv.answers[0] = a0;
	r->conv.answers[1] = a1;
	pamh = begin(service, user, r);
	t0 = now_s();
	if (what & DO_AUTH)
		r->auth = pam_authenticate(pamh, 0);
	r->seconds = now_s() - t0;
	if ((what & DO_ACCT) && (!(what & DO_AUTH) || r->auth == PAM_SUCCESS))
		r->acct = pam_acct_mgmt(pamh, 0);
	if ((what & DO_SETCRED) && r->auth == PAM_SUCCESS)
		r->setcred = pam_setcred(pamh, PAM_ESTABLISH_CRED);
	r->end = pam_end(pamh, PAM_SUCCESS);
	drain_log();
}

static int login(const char *user, const char *password, struct result *r)
{
	login_svc("cb", user, r, DO_AUTH | DO_ACCT | DO_SETCRED, password, NULL);
	return r->auth;
}

static const char *self_exe;

/* One login in a fresh process (exec of this binary with --login-once). */
static int login_in_child(const char *user, const char *password, const char *keylog)
{
	char cmd[2048];
	int rc;

	snprintf(cmd, sizeof(cmd), "SSLKEYLOGFILE='%s' '%s' --login-once '%s' '%s' '%s'", keylog,
		 self_exe, g.dir, user, password);
	rc = system(cmd);
	drain_log();
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The same under valgrind: no invalid access, no leak. */
__attribute__((unused)) static int login_in_valgrind(const char *user, const char *password)
{
	return login_once_in_valgrind(self_exe, user, password, (const char *)NULL);
}

static int login_once(char **argv)
{
	struct result r;

	pam_handle_t *pamh;
	int rc;

	g.dir = argv[2];
	memset(&r, 0, sizeof(r));
	r.conv.answers[0] = argv[4];
	pamh = begin("cb", argv[3], &r);
	rc = pam_authenticate(pamh, 0);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, 0);
	/* the whole life of a login: credentials, a session, its end (revoke) */
	if (rc == PAM_SUCCESS)
		rc = pam_setcred(pamh, PAM_ESTABLISH_CRED);
	if (rc == PAM_SUCCESS)
		rc = pam_open_session(pamh, 0);
	if (rc == PAM_SUCCESS)
		rc = pam_close_session(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

/* ---- the tests ------------------------------------------------------------ */

static void test_success(void **state)
{
	struct result r;
	char *sub;

	(void)state;
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SUCCESS);
	assert_int_equal(r.acct, PAM_SUCCESS);
	assert_int_equal(r.setcred, PAM_SUCCESS);
	assert_string_equal(r.conv.prompts, "*Password: |");
	assert_int_equal(last_delay, 0);
	/* one connection, one TLS handshake, one request */
	assert_int_equal(stat_of("tls_handshakes"), 1);
	assert_int_equal(path_count("/auth/v1/signin"), 1);
	/* the decision line names user, service, rhost, a UUIDv4 request id */
	assert_log("auth: user=cbalice service=cb rhost=" RHOST " request_id=");
	assert_log("outcome=ok");
	assert_log("account: user=cbalice service=cb rhost=" RHOST);
	{
		const char *p = strstr(g.testlog, "request_id=");

		assert_non_null(p);
		assert_int_equal(p[11 + 14], '4'); /* version nibble */
		/* the service saw the same id */
		ctl("GET", "/requests", NULL);
		assert_non_null(strstr(ctl_body, "\"x-request-id\""));
		{
			char id[37];

			memcpy(id, p + 11, 36);
			id[36] = '\0';
			assert_non_null(strstr(ctl_body, id));
		}
		/* Basic client authentication with the secret, and the device id */
		assert_non_null(strstr(ctl_body, "\"basic_user\":\"test-env\""));
		assert_non_null(strstr(ctl_body, "\"basic_secret_present\":true"));
		{
			char mid[64] = "", want[128];
			FILE *f = fopen("/etc/machine-id", "r");

			if (f != NULL && fscanf(f, "%63s", mid) == 1) {
				snprintf(want, sizeof(want), "\"device_id\":\"%s\"", mid);
				assert_non_null(strstr(ctl_body, want));
			}
			if (f != NULL)
				fclose(f);
		}
	}
	/* the account phase bound the sub on this first login */
	sub = account_sub("cbalice");
	assert_non_null(sub);
	assert_string_equal(sub, ALICE_SUB);
	free(sub);
}

static void test_wrong_password(void **state)
{
	struct result r;

	(void)state;
	assert_int_equal(login("cbalice", "not-her-password", &r), PAM_AUTH_ERR);
	assert_int_equal(r.acct, -1);
	/* libpam randomises the delay around what the module asked (2 s) */
	assert_true(last_delay >= 1000000);
	assert_log("outcome=auth");
	assert_log("error=invalid_password");
}

static void test_wrong_password_variant(void **state)
{
	struct result r;

	(void)state;
	ctl("POST", "/variants", "{\"name\":\"invalid-username-or-password\",\"enabled\":true}");
	assert_int_equal(login("cbalice", "nope", &r), PAM_AUTH_ERR);
	assert_log("error=invalid_username_or_password");
	/* older services: 200 with an error key is an error all the same */
	ctl("POST", "/variants", "{\"name\":\"error-200\",\"enabled\":true}");
	assert_int_equal(login("cbalice", "nope", &r), PAM_AUTH_ERR);
	assert_log("status=200 error=invalid_username_or_password");
}

static void test_unknown_cloud_user(void **state)
{
	struct result r;

	(void)state;
	assert_int_equal(login("cbghost", "whatever-pw", &r), PAM_USER_UNKNOWN);
	assert_log("outcome=user_unknown");
}

static void test_unmanaged_local_user(void **state)
{
	struct result r;
	char text[2048];

	(void)state;
	assert_int_equal(login("cbstranger", "pw", &r), PAM_USER_UNKNOWN);
	/* asked as a managed user would be (the answer is never used) */
	assert_string_equal(r.conv.prompts, "*Password: |");
	assert_true(last_delay >= 1000000); /* the same delay as a wrong password */
	/* a name no local account can have: never looked up, same answer */
	last_delay = 0;
	assert_int_equal(login("no:such/name", "pw", &r), PAM_USER_UNKNOWN);
	assert_true(last_delay >= 1000000);
	assert_int_equal(stat_of("requests"), 0);
	/* the typed name may be a password: not logged without debug */
	assert_log("user=(unknown)");
	assert_false(log_has("cbstranger"));
	write_config("debug = yes\n");
	assert_int_equal(login("cbstranger", "pw", &r), PAM_USER_UNKNOWN);
	assert_log("user=cbstranger"); /* with debug it is */
	write_config("");

	/* ignore_unknown_user: PAM_IGNORE, which this stack turns into a jump
	 * over pam_deny (any other code would stop at it) */
	snprintf(text, sizeof(text),
		 "auth [ignore=1 default=die] %s conf=%s ignore_unknown_user\n"
		 "auth requisite pam_deny.so\n"
		 "auth required pam_permit.so\n"
		 "account [ignore=1 default=die] %s conf=%s ignore_unknown_user\n"
		 "account requisite pam_deny.so\n"
		 "account required pam_permit.so\n",
		 g.so, conf_path, g.so, conf_path);
	write_service_text("cbignore", text);
	login_svc("cbignore", "cbstranger", &r, DO_AUTH | DO_ACCT, "pw", NULL);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.acct, PAM_SUCCESS);
	/* ... while a managed user still goes through the module */
	login_svc("cbignore", "cbalice", &r, DO_AUTH, "wrong", NULL);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	/* a local account (root) is left to the stack before the config is
	 * read: a broken cloudbase.conf locks out CloudBase users only */
	{
		char *p = test_write(g.dir, "cloudbase.conf", "this is not a config\n", 0666);

		free(p);
		login_svc("cbignore", "root", &r, DO_AUTH | DO_ACCT, "pw", NULL);
		assert_int_equal(r.auth, PAM_SUCCESS);
		assert_int_equal(r.acct, PAM_SUCCESS);
		login_svc("cbignore", "cbalice", &r, DO_AUTH, ALICE_PW, NULL);
		assert_int_equal(r.auth, PAM_SERVICE_ERR);
		write_config("");
	}
}

static void test_pending_and_blocked(void **state)
{
	struct result r;

	(void)state;
	assert_int_equal(login("cbcarol", "Carol-Passw0rd", &r), PAM_MAXTRIES);
	assert_non_null(strstr(r.conv.messages, "not activated"));
	assert_log("error=user_pending");
	assert_int_equal(login("cbdave", "Dave-Passw0rd", &r), PAM_MAXTRIES);
	assert_non_null(strstr(r.conv.messages, "blocked"));
	assert_log("error=user_blocked");
}

static void test_password_not_set(void **state)
{
	struct result r;

	(void)state;
	assert_int_equal(login("cberin", "anything", &r), PAM_AUTH_ERR);
	assert_non_null(strstr(r.conv.messages, "SMS"));
	assert_log("error=password_not_set");
}

static void test_sub_mismatch(void **state)
{
	struct result r;

	(void)state;
	add_account("cbalice2", "alice", "00000000-0000-4000-8000-000000000000");
	ctl("POST", "/stats/reset", NULL);
	assert_int_equal(login("cbalice2", ALICE_PW, &r), PAM_MAXTRIES);
	assert_non_null(strstr(r.conv.messages, "belongs to another CloudBase user"));
	assert_log("possible account takeover");
	assert_log("outcome=sub_mismatch");
	/* the service accepted the sign-in, the host refused it: revoked there,
	 * and nothing recorded here */
	assert_int_equal(path_count("/auth/v1/revoke"), 1);
	{
		char *sub = account_sub("cbalice2");

		assert_string_equal(sub, "00000000-0000-4000-8000-000000000000");
		free(sub);
	}
}

/* One login in a forked child: its PAM result as the exit status. */
static pid_t login_in_fork(const char *user, const char *password)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct result r;

		login_svc("cb", user, &r, DO_AUTH | DO_ACCT, password, NULL);
		_exit(r.auth != PAM_SUCCESS ? r.auth : r.acct);
	}
	return pid;
}

/* 100 first logins of 100 users and 20 first logins of one user, all at
 * once: every record present and bound to its own sub, the one user's
 * record whole, both stores valid. */
static void test_concurrent_first_logins(void **state)
{
	enum { USERS = 100, SAME = 20 };
	pid_t pids[USERS + SAME];
	struct cb_config cfg;
	char name[32], body[256], db[600];

	(void)state;
	/* 120 TLS handshakes at once on two cores: time for all of them */
	write_config("connect_timeout = 20\ntimeout = 60\n");
	for (int i = 0; i < USERS; i++) {
		snprintf(name, sizeof(name), "cc%03d", i);
		snprintf(body, sizeof(body),
			 "{\"username\":\"%s\",\"password\":\"Cc-Passw0rd-%d\",\"sub\":\"sub-%s\","
			 "\"groups\":[\"user\"],\"status\":\"ACTIVE\",\"has_password\":true}",
			 name, i, name);
		ctl("POST", "/users", body);
		add_account(name, name, NULL);
	}
	for (int i = 0; i < USERS + SAME; i++) {
		char pw[32];

		snprintf(name, sizeof(name), "cc%03d", i);
		snprintf(pw, sizeof(pw), "Cc-Passw0rd-%d", i);
		pids[i] = i < USERS ? login_in_fork(name, pw) : login_in_fork("cbalice", ALICE_PW);
	}
	for (int i = 0; i < USERS + SAME; i++) {
		int ws;

		assert_int_equal(waitpid(pids[i], &ws, 0), pids[i]);
		if (!WIFEXITED(ws) || WEXITSTATUS(ws) != PAM_SUCCESS) {
			drain_log();
			fprintf(stderr, "# login %d: status %d; log:\n%s", i, ws, g.testlog);
			fail();
		}
	}
	cb_config_init(&cfg);
	snprintf(db, sizeof(db), "%s/accounts.db", g.dir);
	cfg.accounts_db = strdup(db);
	assert_int_equal(cb_accountdb_check(&cfg, NULL, NULL), CB_OK);
	for (int i = 0; i < USERS; i++) {
		char *sub, want[40];

		snprintf(name, sizeof(name), "cc%03d", i);
		snprintf(want, sizeof(want), "sub-%s", name);
		sub = account_sub(name);
		assert_non_null(sub);
		assert_string_equal(sub, want);
		free(sub);
	}
	{
		struct cb_state st;

		assert_int_equal(cb_state_load(&cfg, "cbalice", &st, NULL), CB_OK);
		assert_string_equal(st.sub, ALICE_SUB);
		/* their processes are gone: each sign-in revoked the ended ones
		 * it found, the record kept at most its bound */
		assert_true(st.n_sessions >= 1 && st.n_sessions <= CB_STATE_MAX_SESSIONS);
		cb_state_free(&st);
	}
	cb_config_free(&cfg);
}

/* A version 1 database (release 0.1.0's, tests/unit/fixtures) binds its
 * accounts until its migration: its sub is honoured, and nothing is
 * written for a sign-in it refuses. */
static void test_version1_binding(void **state)
{
	struct result r;
	char cmd[1024];

	(void)state;
	remove_accounts();
	snprintf(cmd, sizeof(cmd), "cp '%s/tests/unit/fixtures/accounts-v1.db' '%s/accounts.db'",
		 getenv("top_srcdir"), g.dir);
	assert_int_equal(system(cmd), 0);
	/* the fixture's alice is bound to "sub-alice": the emulator's alice
	 * (Alice@Example.com signs in as her) is another CloudBase user */
	assert_int_equal(login("alice", ALICE_PW, &r), PAM_MAXTRIES);
	assert_log("possible account takeover");
	assert_log("outcome=sub_mismatch");
	assert_null(account_sub("alice"));
	remove_accounts();
}

static void test_lockout(void **state)
{
	struct result r;

	(void)state;
	for (int i = 0; i < 5; i++)
		assert_int_equal(login("cbbob", "wrong-again", &r), PAM_AUTH_ERR);
	/* locked now: even the right password gets "try later" */
	assert_int_equal(login("cbbob", BOB_PW, &r), PAM_MAXTRIES);
	assert_non_null(strstr(r.conv.messages, "Too many failed"));
	assert_log("error=invalid_status");
	assert_log("outcome=locked");
}

static void test_first_pass(void **state)
{
	struct result r;
	char text[4096];

	(void)state;
	/* use_first_pass: the earlier module's password, no prompt; and the
	 * module sets PAM_AUTHTOK itself for later ones after a prompt */
	snprintf(text, sizeof(text),
		 "auth required %s set=" ALICE_PW "\n"
		 "auth required %s conf=%s use_first_pass\n",
		 g.helper_so, g.so, conf_path);
	write_service_text("cbfirst", text);
	login_svc("cbfirst", "cbalice", &r, DO_AUTH, NULL, NULL);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_string_equal(r.conv.prompts, "");

	/* use_first_pass with nothing before it: refused, never prompts */
	snprintf(text, sizeof(text), "auth required %s conf=%s use_first_pass\n", g.so, conf_path);
	write_service_text("cbfirst2", text);
	login_svc("cbfirst2", "cbalice", &r, DO_AUTH, ALICE_PW, NULL);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	assert_string_equal(r.conv.prompts, "");

	/* try_first_pass: a wrong earlier password leads to one prompt */
	snprintf(text, sizeof(text),
		 "auth required %s set=not-hers\n"
		 "auth required %s conf=%s try_first_pass\n"
		 "auth required %s expect=" ALICE_PW "\n",
		 g.helper_so, g.so, conf_path, g.helper_so);
	write_service_text("cbtry", text);
	ctl("POST", "/stats/reset", NULL);
	login_svc("cbtry", "cbalice", &r, DO_AUTH, ALICE_PW, NULL);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_string_equal(r.conv.prompts, "*Password: |");
	/* both tries on one connection */
	assert_int_equal(path_count("/auth/v1/signin"), 2);
	assert_int_equal(stat_of("tls_handshakes"), 1);

	/* a prompted password is handed on in PAM_AUTHTOK */
	snprintf(text, sizeof(text),
		 "auth required %s conf=%s\n"
		 "auth required %s expect=" ALICE_PW "\n",
		 g.so, conf_path, g.helper_so);
	write_service_text("cbhandon", text);
	login_svc("cbhandon", "cbalice", &r, DO_AUTH, ALICE_PW, NULL);
	assert_int_equal(r.auth, PAM_SUCCESS);
}

static void test_require_groups(void **state)
{
	struct result r;

	(void)state;
	write_config("require_groups = admin, ops\n");
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SUCCESS);
	assert_int_equal(r.acct, PAM_SUCCESS);
	ctl("POST", "/stats/reset", NULL);
	assert_int_equal(login("cbbob", BOB_PW, &r), PAM_SUCCESS);
	assert_int_equal(r.acct, PAM_PERM_DENIED);
	assert_log("none of require_groups");
	/* the service accepted the sign-in, the host refused it: revoked at
	 * once, and no session of it left in the state store */
	assert_int_equal(path_count("/auth/v1/revoke"), 1);
	assert_log("revoked");
	{
		struct cb_state st;

		assert_int_equal(load_state("cbbob", &st), CB_OK);
		assert_int_equal(st.n_sessions, 0);
		/* the groups of the refused sign-in are recorded all the same */
		assert_int_equal(st.n_groups, 1);
		cb_state_free(&st);
	}
	/* no groups in the answer at all: denied too */
	ctl("POST", "/variants", "{\"name\":\"no-groups\",\"enabled\":true}");
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SUCCESS);
	assert_int_equal(r.acct, PAM_PERM_DENIED);
}

static void test_acct_without_auth(void **state)
{
	struct result r;

	(void)state;
	/* e.g. an SSH public-key login: pam_authenticate never ran */
	login_svc("cb", "cbalice", &r, DO_ACCT, NULL, NULL);
	assert_int_equal(r.acct, PAM_PERM_DENIED);
	assert_log("did not authenticate through pam_cloudbase");
	write_config("acct_without_auth = yes\n");
	/* never signed in on this host: nothing to judge the account by */
	login_svc("cb", "cbalice", &r, DO_ACCT, NULL, NULL);
	assert_int_equal(r.acct, PAM_PERM_DENIED);
	assert_log("has never signed in on this host");
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SUCCESS);
	login_svc("cb", "cbalice", &r, DO_ACCT, NULL, NULL);
	assert_int_equal(r.acct, PAM_SUCCESS);
	login_svc("cb", "cbstranger", &r, DO_ACCT, NULL, NULL);
	assert_int_equal(r.acct, PAM_USER_UNKNOWN);
}

/* The refresh token of alice's newest session on this host (the state
 * store), or NULL; malloc'd. */
static char *stored_refresh(const char *user)
{
	struct cb_state st;
	char *rt = NULL;

	if (load_state(user, &st) == CB_OK && st.n_sessions > 0 &&
	    st.sessions[st.n_sessions - 1].refresh_token != NULL)
		rt = strdup(st.sessions[st.n_sessions - 1].refresh_token);
	cb_state_free(&st);
	return rt;
}

static int account_only(const char *user)
{
	struct result r;

	login_svc("cb", user, &r, DO_ACCT, NULL, NULL);
	return r.acct;
}

/* The account phase without a sign-in (sudo's cached credentials, root's
 * su, an SSH key) checks the account's standing live, with the refresh
 * token of the user's newest session here: it follows the service's
 * decisions, rotates the stored token, and uses a recorded result within
 * account_check_interval. */
static void test_live_check(void **state)
{
	char *rt0, *rt1;

	(void)state;
	write_config("acct_without_auth = yes\naccount_check_interval = 0\n"
		     "require_groups = admin\n");
	assert_int_equal(account_only("cbalice"), PAM_PERM_DENIED); /* never signed in */
	assert_log("has never signed in on this host");
	{
		struct result r;

		assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SUCCESS);
	}
	rt0 = stored_refresh("cbalice");
	assert_non_null(rt0);
	ctl("POST", "/stats/reset", NULL);
	/* in good standing: one refresh, one /user/me; the rotated token stored */
	assert_int_equal(account_only("cbalice"), PAM_SUCCESS);
	assert_int_equal(path_count("/auth/v1/token"), 1);
	assert_int_equal(path_count("/auth/v1/user/me"), 1);
	assert_log("live check of the account's standing: ok");
	rt1 = stored_refresh("cbalice");
	assert_non_null(rt1);
	assert_string_not_equal(rt1, rt0);
	/* and again: the rotated one works (the old one would end the session) */
	assert_int_equal(account_only("cbalice"), PAM_SUCCESS);
	/* removed from the required group at CloudBase: refused */
	ctl("POST", "/users", "{\"username\": \"alice\", \"groups\": [\"user\"]}");
	assert_int_equal(account_only("cbalice"), PAM_PERM_DENIED);
	assert_log("none of require_groups");
	ctl("POST", "/users", "{\"username\": \"alice\", \"groups\": [\"user\", \"admin\"]}");
	assert_int_equal(account_only("cbalice"), PAM_SUCCESS);
	/* blocked at CloudBase: refused, told, the stored session forgotten */
	ctl("POST", "/users", "{\"username\": \"alice\", \"status\": \"BLOCKED\"}");
	assert_int_equal(account_only("cbalice"), PAM_ACCT_EXPIRED);
	assert_log("outcome=user_blocked");
	free(rt1);
	rt1 = stored_refresh("cbalice");
	assert_null(rt1);
	/* unblocked, but no session to check with any more: sign in again */
	ctl("POST", "/users", "{\"username\": \"alice\", \"status\": \"ACTIVE\"}");
	assert_int_equal(account_only("cbalice"), PAM_PERM_DENIED);
	assert_log("no CloudBase session of this host to check the account with");
	free(rt0);
}

/* Within account_check_interval the recorded standing is used (nothing
 * sent); an unreachable service denies unless account_offline_grace
 * covers the recorded standing; two checks at once never present one
 * refresh token twice. */
static void test_live_check_policy(void **state)
{
	struct result r;
	pid_t a, b;
	int wa, wb;

	(void)state;
	write_config("acct_without_auth = yes\n");
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SUCCESS);
	ctl("POST", "/stats/reset", NULL);
	/* signed in a moment ago: within the default 300 s, nothing is sent,
	 * even if the user was blocked since */
	ctl("POST", "/users", "{\"username\": \"alice\", \"status\": \"BLOCKED\"}");
	assert_int_equal(account_only("cbalice"), PAM_SUCCESS);
	assert_int_equal(stat_of("requests"), 0);
	assert_log("the standing recorded");
	ctl("POST", "/users", "{\"username\": \"alice\", \"status\": \"ACTIVE\"}");
	/* the service unreachable: refused by default ... */
	write_config("acct_without_auth = yes\naccount_check_interval = 0\n");
	fault("{\"fault\": \"status\", \"status\": 503, \"count\": 100}");
	assert_int_equal(account_only("cbalice"), PAM_AUTHINFO_UNAVAIL);
	assert_log("account_offline_grace does not cover");
	/* ... allowed on the recorded standing within account_offline_grace */
	write_config("acct_without_auth = yes\naccount_check_interval = 0\n"
		     "account_offline_grace = 3600\n");
	assert_int_equal(account_only("cbalice"), PAM_SUCCESS);
	assert_log("allowed on the standing recorded");
	/* an answer of the service that cannot be read is no outage: the
	 * grace does not stand in for it (cb_api_unreachable) */
	ctl("DELETE", "/faults", NULL);
	raw_answer("/token", "{}");
	log_reset();
	assert_int_equal(account_only("cbalice"), PAM_AUTHINFO_UNAVAIL);
	assert_log("live check of the account's standing: protocol_error");
	assert_no_log("allowed on the standing recorded");
	ctl("DELETE", "/faults", NULL);
	/* two checks at once: the second waits for the first and uses the
	 * token it stored; no refresh token is presented twice */
	ctl("POST", "/stats/reset", NULL);
	a = fork();
	if (a == 0)
		_exit(account_only("cbalice"));
	b = fork();
	if (b == 0)
		_exit(account_only("cbalice"));
	assert_int_equal(waitpid(a, &wa, 0), a);
	assert_int_equal(waitpid(b, &wb, 0), b);
	assert_int_equal(WEXITSTATUS(wa), PAM_SUCCESS);
	assert_int_equal(WEXITSTATUS(wb), PAM_SUCCESS);
	assert_int_equal(account_only("cbalice"), PAM_SUCCESS);
}

/* A live check's refusal is the recorded standing within
 * account_check_interval, even when it came in the same second as the
 * sign-in before it (the state store keeps seconds): the next account
 * phase does not let a user blocked at CloudBase in. A sign-in after the
 * refusal supersedes it, in the same second too. */
static void test_live_check_refusal_recorded(void **state)
{
	struct timespec ts;
	struct result r;

	(void)state;
	write_config("acct_without_auth = yes\naccount_check_interval = 0\n");
	/* begin just after a second starts: sign-in and check in one second */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec = 0;
	ts.tv_nsec = 1000000000L - ts.tv_nsec + 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec = 1;
		ts.tv_nsec -= 1000000000L;
	}
	nanosleep(&ts, NULL);
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SUCCESS);
	ctl("POST", "/users", "{\"username\": \"alice\", \"status\": \"BLOCKED\"}");
	assert_int_equal(account_only("cbalice"), PAM_ACCT_EXPIRED);
	ctl("POST", "/users", "{\"username\": \"alice\", \"status\": \"ACTIVE\"}");
	/* within the interval: the refusal, nothing sent */
	write_config("acct_without_auth = yes\naccount_check_interval = 300\n");
	ctl("POST", "/stats/reset", NULL);
	assert_int_equal(account_only("cbalice"), PAM_PERM_DENIED);
	assert_log("refused by the live check");
	assert_int_equal(stat_of("requests"), 0);
	/* a new sign-in supersedes the refusal */
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SUCCESS);
	assert_int_equal(account_only("cbalice"), PAM_SUCCESS);
	assert_log("the standing recorded");
}

/* A sign-in answer without a refresh token (the field is optional) leaves a
 * session the account phase cannot check the account with: it says so and
 * denies. The account phase used to look that session up by a NULL id
 * there, which crashed the process (sudo's, su's); fuzz_module found it. */
static void test_live_check_no_refresh_token(void **state)
{
	struct result r;

	(void)state;
	write_config("acct_without_auth = yes\naccount_check_interval = 0\n");
	fault("{\"fault\":\"raw\",\"status\":200,\"count\":1,\"path\":\"/signin\","
	      "\"headers\":{\"Content-Type\":\"application/json\"},"
	      "\"body\":\"{\\\"access_token\\\":\\\"at-1\\\",\\\"expires_in\\\":7200,"
	      "\\\"sub\\\":\\\"" ALICE_SUB "\\\"}\"}");
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SUCCESS);
	assert_int_equal(account_only("cbalice"), PAM_PERM_DENIED);
	assert_log("no CloudBase session of this host to check the account with");
	assert_log("outcome=token_invalid");
}

static void test_wrong_client_secret(void **state)
{
	struct result r;
	char *p;

	(void)state;
	p = test_write(g.dir, "secret", "not-the-secret\n", 0600);
	free(p);
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_AUTHINFO_UNAVAIL);
	assert_log("error=unauthorized_client");
	assert_log("outcome=client");
	p = test_write(g.dir, "secret", SECRET "\n", 0600);
	free(p);
}

struct fault_case {
	const char *rule;
	int expect;
	const char *outcome;
};

static void test_faults(void **state)
{
	static const struct fault_case cases[] = {
		{"{\"fault\":\"status\",\"status\":500}", PAM_AUTHINFO_UNAVAIL, "outcome=service"},
		{"{\"fault\":\"status\",\"status\":503}", PAM_AUTHINFO_UNAVAIL, "outcome=service"},
		{"{\"fault\":\"status\",\"status\":502,\"error\":\"invalid_password\"}",
		 PAM_AUTHINFO_UNAVAIL, "outcome=service"},
		{"{\"fault\":\"status\",\"status\":403}", PAM_AUTHINFO_UNAVAIL, "outcome=client"},
		{"{\"fault\":\"malformed\"}", PAM_AUTHINFO_UNAVAIL, "outcome=protocol"},
		{"{\"fault\":\"truncated\"}", PAM_AUTHINFO_UNAVAIL, "outcome=protocol"},
		{"{\"fault\":\"empty\"}", PAM_AUTHINFO_UNAVAIL, "outcome=protocol"},
		{"{\"fault\":\"html\"}", PAM_AUTHINFO_UNAVAIL, "outcome=protocol"},
		{"{\"fault\":\"oversized\"}", PAM_AUTHINFO_UNAVAIL, "larger than 64 KiB"},
		{"{\"fault\":\"oversized\",\"bytes\":65537}", PAM_AUTHINFO_UNAVAIL,
		 "outcome=protocol"},
		{"{\"fault\":\"redirect\"}", PAM_AUTHINFO_UNAVAIL, "outcome=protocol"},
		{"{\"fault\":\"close\"}", PAM_AUTHINFO_UNAVAIL, "outcome=transport"},
		{"{\"fault\":\"raw\",\"status\":200,\"headers\":{\"Content-Type\":"
		 "\"application/json\"},\"body\":\"{\\\"access_token\\\":\\\"a\\\",\\\"sub\\\":"
		 "\\\"" ALICE_SUB "\\\",\\\"expires_in\\\":1.9}\"}",
		 PAM_AUTHINFO_UNAVAIL, "outcome=protocol"},
		{"{\"fault\":\"raw\",\"status\":200,\"headers\":{\"Content-Type\":"
		 "\"text/plain\"},\"body\":\"{}\"}",
		 PAM_AUTHINFO_UNAVAIL, "outcome=protocol"},
	};
	struct result r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ctl("DELETE", "/faults", NULL);
		log_reset();
		fault(cases[i].rule);
		login("cbalice", ALICE_PW, &r);
		if (r.auth != cases[i].expect || !log_has(cases[i].outcome)) {
			fprintf(stderr, "# fault %s: pam %d, log:\n%s", cases[i].rule, r.auth,
				g.testlog);
			fail();
		}
		assert_log("auth: user=cbalice");
	}
	/* extra fields are tolerated */
	ctl("DELETE", "/faults", NULL);
	fault("{\"fault\":\"extra-fields\"}");
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SUCCESS);
}

static void test_timeouts(void **state)
{
	static const char *const rules[] = {
		"{\"fault\":\"hang\"}",
		"{\"fault\":\"drip\",\"interval\":0.5}",
		"{\"fault\":\"latency\",\"seconds\":4}",
	};
	struct result r;

	(void)state;
	write_config("timeout = 2\n");
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		ctl("DELETE", "/faults", NULL);
		fault(rules[i]);
		login("cbalice", ALICE_PW, &r);
		assert_int_equal(r.auth, PAM_AUTHINFO_UNAVAIL);
		/* bounded by timeout + 1 s */
		if (r.seconds > 3.0 || r.seconds < 1.5) {
			fprintf(stderr, "# %s took %.2f s\n", rules[i], r.seconds);
			fail();
		}
		assert_log("outcome=timeout");
	}
	ctl("DELETE", "/faults", NULL);

	/* the budget is per login, not per request: chauthtok's three requests
	 * each 1.2 s slow run out of the 2 s together */
	fault("{\"fault\":\"latency\",\"seconds\":1.2,\"count\":3}");
	{
		pam_handle_t *pamh;
		double t0;

		memset(&r, 0, sizeof(r));
		r.conv.answers[0] = ALICE_PW;
		r.conv.answers[1] = "New-Alice-Passw0rd9";
		r.conv.answers[2] = "New-Alice-Passw0rd9";
		pamh = begin("cb", "cbalice", &r);
		t0 = now_s();
		assert_int_equal(pam_chauthtok(pamh, 0), PAM_AUTHTOK_ERR);
		r.seconds = now_s() - t0;
		pam_end(pamh, PAM_SUCCESS);
		assert_true(r.seconds < 3.0);
		assert_log("outcome=timeout");
	}
	ctl("DELETE", "/faults", NULL);
}

static void test_tls_faults(void **state)
{
	static const char *const kinds[] = {"wrong-host", "self-signed", "expired",
					    "not-yet-valid"};
	struct result r;
	char var[64];

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const char *dir;

		snprintf(var, sizeof(var), "EMU_DIR_%zu", i);
		dir = getenv(var);
		assert_non_null(dir);
		/* the good emulator's CA: only the served certificate is bad */
		write_config_for(g.emu, read_int_file(dir, "port"), "");
		login("cbalice", ALICE_PW, &r);
		if (r.auth != PAM_AUTHINFO_UNAVAIL || !log_has("outcome=tls")) {
			fprintf(stderr, "# cert %s: pam %d, log:\n%s", kinds[i], r.auth, g.testlog);
			fail();
		}
	}
}

static void test_proxy_env_ignored(void **state)
{
	struct result r;
	char text[256], keylog[512];

	(void)state;
	/* pam_tests.sh set the hostile variables for the whole run: http_proxy
	 * & co point to a closed port, SSL_CERT_FILE/DIR and CURL_CA_BUNDLE
	 * nowhere */
	assert_non_null(getenv("HTTPS_PROXY"));
	assert_non_null(getenv("https_proxy"));
	assert_non_null(getenv("ALL_PROXY"));
	assert_non_null(getenv("SSL_CERT_FILE"));
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SUCCESS);

	/* SSLKEYLOGFILE is read once, at libcurl's global init, which this
	 * process did long ago: a fresh process logs in with it set */
	snprintf(keylog, sizeof(keylog), "%s/keylog", g.dir);
	assert_int_equal(login_in_child("cbalice", ALICE_PW, keylog), PAM_SUCCESS);
	assert_int_equal(access(keylog, F_OK), -1);

	/* the proxy key does take effect (a closed port: nothing gets through) */
	write_config("proxy = http://127.0.0.1:9\n");
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_AUTHINFO_UNAVAIL);
	assert_log("outcome=transport");
	write_config("");

	/* and the CA from the environment is not trusted either: the config
	 * names an empty CA directory, the environment the emulator's CA */
	snprintf(text, sizeof(text), "%s/emptyca", g.dir);
	mkdir(text, 0755);
	setenv("SSL_CERT_DIR", text, 1);
	snprintf(text, sizeof(text), "%s/ca.pem", g.emu);
	setenv("SSL_CERT_FILE", text, 1);
	setenv("CURL_CA_BUNDLE", text, 1);
	{
		char extra[600];

		snprintf(extra, sizeof(extra), "ca_path = %s/emptyca\n", g.dir);
		write_config_for(g.emu, g.port, extra);
	}
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_AUTHINFO_UNAVAIL);
	assert_log("outcome=tls");
	setenv("SSL_CERT_FILE", "/nonexistent/ca.pem", 1);
	setenv("CURL_CA_BUNDLE", "/nonexistent/ca.pem", 1);
	setenv("SSL_CERT_DIR", "/nonexistent", 1);
}

static void test_unsafe_files(void **state)
{
	struct result r;
	char *p;

	(void)state;
	chmod(conf_path, 0666);
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SERVICE_ERR);
	assert_string_equal(r.conv.prompts, "");
	chmod(conf_path, 0644);
	assert_int_equal(chown(conf_path, 1, 0), 0);
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SERVICE_ERR);
	assert_int_equal(chown(conf_path, 0, 0), 0);
	p = test_write(g.dir, "secret", SECRET "\n", 0644);
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SERVICE_ERR);
	chmod(p, 0600);
	free(p);
	assert_int_equal(stat_of("requests"), 0);
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SUCCESS);
}

static void test_input_limits(void **state)
{
	struct result r;
	char big[600];

	(void)state;
	assert_int_equal(login("cbalice", "", &r), PAM_AUTH_ERR);
	memset(big, 'x', sizeof(big));
	big[513] = '\0';
	assert_int_equal(login("cbalice", big, &r), PAM_AUTH_ERR);
	assert_int_equal(stat_of("requests"), 0); /* refused before any request */
	assert_log("outcome=bad_input");
	big[512] = '\0';
	assert_int_equal(login("cbalice", big, &r), PAM_AUTH_ERR);
	assert_int_equal(stat_of("requests"), 1); /* 512 bytes are fine to send */
}

/* Every method is implemented now (test_sms covers the SMS ones); here:
 * method=sms for a record without a phone number denies unasked. */
static void test_method_sms_no_phone(void **state)
{
	struct result r;

	(void)state;
	write_config("method = sms\n");
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_MAXTRIES);
	assert_log("sms: no phone number on record for cbalice");
	assert_string_equal(r.conv.prompts, "");
	assert_int_equal(stat_of("requests"), 0);
}

static pam_handle_t *open_login(struct result *r)
{
	pam_handle_t *pamh;

	memset(r, 0, sizeof(*r));
	r->conv.answers[0] = ALICE_PW;
	pamh = begin("cb", "cbalice", r);
	assert_int_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
	assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_SUCCESS);
	assert_int_equal(pam_setcred(pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_int_equal(pam_open_session(pamh, 0), PAM_SUCCESS);
	return pamh;
}

/* Sessions at the service: a login's session is revoked at logout unless
 * it is the user's newest on this host, which is kept for the account
 * phase's checks and revoked by the next sign-in. */
static void test_session_and_setcred(void **state)
{
	struct result r1, r2, r3;
	pam_handle_t *a, *b, *c;

	(void)state;
	memset(&r1, 0, sizeof(r1));
	a = begin("cb", "cbalice", &r1);
	/* setcred has nothing to establish: success for a managed user even
	 * before (or without) our authentication, as sshd's monitor calls it
	 * after a keyboard-interactive sign-in in its child */
	assert_int_equal(pam_setcred(a, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	pam_end(a, PAM_SUCCESS);
	a = open_login(&r1);
	b = open_login(&r2);
	/* b is the newest: kept at its logout, nothing sent */
	assert_int_equal(pam_close_session(b, 0), PAM_SUCCESS);
	pam_end(b, PAM_SUCCESS);
	drain_log();
	assert_log("session kept for account checks");
	assert_int_equal(path_count("/auth/v1/revoke"), 0);
	/* a is older: revoked at its logout */
	assert_int_equal(pam_close_session(a, 0), PAM_SUCCESS);
	pam_end(a, PAM_SUCCESS);
	drain_log();
	assert_log("session revoked");
	assert_int_equal(path_count("/auth/v1/revoke"), 1);
	/* the next sign-in revokes b, whose login has ended */
	c = open_login(&r3);
	drain_log();
	assert_int_equal(path_count("/auth/v1/revoke"), 2);
	pam_end(c, PAM_SUCCESS);
	/* one handle per phase that talks to the service: three sign-ins, one
	 * logout's revoke (the next sign-in's revoke shares its connection) */
	assert_int_equal(stat_of("tls_handshakes"), 4);
	{
		char *sub = account_sub("cbalice");

		assert_string_equal(sub, ALICE_SUB);
		free(sub);
	}
}

static void test_chauthtok(void **state)
{
	struct result r;
	pam_handle_t *pamh;

	(void)state;
	/* a session held from before (its process, this one, still runs) */
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SUCCESS);
	ctl("POST", "/stats/reset", NULL);
	memset(&r, 0, sizeof(r));
	r.conv.answers[0] = ALICE_PW;
	r.conv.answers[1] = "New-Alice-Passw0rd9";
	r.conv.answers[2] = "New-Alice-Passw0rd9";
	pamh = begin("cb", "cbalice", &r);
	assert_int_equal(pam_chauthtok(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
	assert_string_equal(r.conv.prompts, "*Current CloudBase password: |*New CloudBase "
					    "password: |*Retype new CloudBase password: |");
	/* signin, sudo, patch, the revoke of its own sign-in: one TLS
	 * handshake */
	assert_int_equal(stat_of("tls_handshakes"), 1);
	assert_int_equal(path_count("/auth/v1/user/password"), 1);
	assert_int_equal(path_count("/auth/v1/revoke"), 1);
	assert_int_equal(login("cbalice", "New-Alice-Passw0rd9", &r), PAM_SUCCESS);
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_AUTH_ERR);
	/* the change signed the earlier session out at the service: the state
	 * store forgot it, and holds only the one sign-in since */
	{
		struct cb_state st;

		assert_int_equal(load_state("cbalice", &st), CB_OK);
		assert_int_equal(st.n_sessions, 1);
		cb_state_free(&st);
	}

	/* a weak new password is refused by the service */
	memset(&r, 0, sizeof(r));
	r.conv.answers[0] = "New-Alice-Passw0rd9";
	r.conv.answers[1] = "weak";
	r.conv.answers[2] = "weak";
	pamh = begin("cb", "cbalice", &r);
	assert_int_equal(pam_chauthtok(pamh, 0), PAM_AUTHTOK_ERR);
	pam_end(pamh, PAM_SUCCESS);
	assert_log("error=weak_password");
}

/* The API calls the SMS flow and the session phases build on, one after the
 * other on one handle: send a code, verify it, sign in with the
 * verification token, introspect, /user/me, refresh, revoke. */
static void test_api_calls(void **state)
{
	struct cb_config cfg;
	struct cb_log log = {NULL, NULL, false};
	struct cb_api *api = NULL;
	struct cb_verification v;
	struct cb_tokens tok, tok2;
	struct cb_introspection in;
	struct cb_user me;
	struct json_object *o, *code;
	char *vtoken = NULL;

	(void)state;
	cb_config_init(&cfg);
	assert_int_equal(cb_config_load_file(&cfg, conf_path, CB_CONF_STRICT, &log), CB_OK);
	assert_int_equal(cb_api_open(&api, &cfg, &log), CB_OK);

	assert_int_equal(cb_api_verification_send(api, CB_CONTACT_PHONE, "+86 13800000001", &v),
			 CB_OK);
	assert_non_null(v.verification_id);
	assert_true(v.is_user);
	ctl("GET", "/outbox?phone=%2B86%2013800000001", NULL);
	o = json_tokener_parse(ctl_body);
	assert_true(json_object_object_get_ex(o, "code", &code));
	/* a wrong code first: re-prompting is the flow's business */
	assert_int_equal(cb_api_verification_verify(api, v.verification_id, "000000", &vtoken),
			 strcmp(json_object_get_string(code), "000000") == 0 ? CB_OK
									     : CB_ERR_CODE_INVALID);
	cb_free_secret(vtoken);
	assert_int_equal(cb_api_verification_verify(api, v.verification_id,
						    json_object_get_string(code), &vtoken),
			 CB_OK);
	json_object_put(o);
	cb_verification_free(&v);
	assert_int_equal(cb_api_signin_verification_token(api, vtoken, &tok), CB_OK);
	assert_string_equal(tok.sub, ALICE_SUB);
	assert_int_equal(tok.n_groups, 2);
	/* single use */
	assert_int_not_equal(cb_api_signin_verification_token(api, vtoken, &tok2), CB_OK);
	cb_free_secret(vtoken);

	assert_int_equal(cb_api_introspect(api, tok.access_token, &in), CB_OK);
	assert_true(in.active);
	assert_string_equal(in.sub, ALICE_SUB);
	cb_introspection_free(&in);
	assert_int_equal(cb_api_user_me(api, tok.access_token, &me), CB_OK);
	assert_string_equal(me.username, "alice");
	assert_string_equal(me.status, "ACTIVE");
	assert_int_equal(me.n_groups, 2);
	cb_user_free(&me);

	assert_int_equal(cb_api_token_refresh(api, tok.refresh_token, &tok2), CB_OK);
	assert_string_not_equal(tok2.refresh_token, tok.refresh_token);
	assert_int_equal(cb_api_revoke(api, tok2.access_token), CB_OK);
	assert_int_equal(cb_api_introspect(api, tok2.access_token, &in), CB_OK);
	assert_false(in.active);
	assert_int_equal(cb_api_user_me(api, tok2.access_token, &me), CB_ERR_TOKEN);
	/* the old refresh token stopped working */
	{
		struct cb_tokens t3;

		assert_int_equal(cb_api_token_refresh(api, tok.refresh_token, &t3), CB_ERR_TOKEN);
	}
	cb_tokens_free(&tok);
	cb_tokens_free(&tok2);

	/* every request of the handle over one TLS connection */
	assert_int_equal(stat_of("tls_handshakes"), 1);
	cb_api_close(api);
	cb_config_free(&cfg);
}

/* valgrind and ASan exclude each other: a sanitizer build leaves it out */
#ifndef __SANITIZE_ADDRESS__
static void test_valgrind(void **state)
{
	(void)state;
	assert_int_equal(login_in_valgrind("cbalice", ALICE_PW), PAM_SUCCESS);
	assert_int_equal(login_in_valgrind("cbalice", "wrong-pw"), PAM_AUTH_ERR);
	fault("{\"fault\":\"oversized\"}");
	assert_int_equal(login_in_valgrind("cbalice", ALICE_PW), PAM_AUTHINFO_UNAVAIL);
	fault("{\"fault\":\"malformed\"}");
	assert_int_equal(login_in_valgrind("cbalice", ALICE_PW), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(login_in_valgrind("cbstranger", ALICE_PW), PAM_USER_UNKNOWN);
	assert_log("session kept for account checks"); /* the success ran to the end */
}
#endif

/* Last: nothing secret reached syslog in the whole run, debug included. */
static void test_no_secret_in_log(void **state)
{
	struct result r;

	(void)state;
	write_config("debug = yes\n");
	assert_int_equal(login("cbalice", ALICE_PW, &r), PAM_SUCCESS);
	assert_int_equal(login("cbbob", "wrong-pw-here", &r), PAM_AUTH_ERR);
	assert_log("signin for cbalice"); /* debug lines did flow */
	drain_log();
	assert_true(g.loglen > 1000);
	assert_null(strstr(g.log, SECRET));
	assert_null(strstr(g.log, ALICE_PW));
	assert_null(strstr(g.log, BOB_PW));
	assert_null(strstr(g.log, "wrong-pw-here"));
	assert_null(strstr(g.log, "New-Alice"));
	assert_null(strstr(g.log, "eyJ")); /* no JWT */
	assert_null(strstr(g.log, "Basic "));
}

/* pam_cbtest_authtok.so, which the use_first_pass tests stack before the
 * module: pam_tests.sh names it. */
static int need_helper(void **state)
{
	(void)state;
	if (g.helper_so != NULL)
		return 0;
	fprintf(stderr, "# PAM_CBTEST_SO is not set: run through pam_tests.sh\n");
	return -1;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_success, setup),
		cmocka_unit_test_setup(test_wrong_password, setup),
		cmocka_unit_test_setup(test_wrong_password_variant, setup),
		cmocka_unit_test_setup(test_unknown_cloud_user, setup),
		cmocka_unit_test_setup(test_unmanaged_local_user, setup),
		cmocka_unit_test_setup(test_pending_and_blocked, setup),
		cmocka_unit_test_setup(test_password_not_set, setup),
		cmocka_unit_test_setup(test_sub_mismatch, setup),
		cmocka_unit_test_setup(test_version1_binding, setup),
		cmocka_unit_test_setup(test_concurrent_first_logins, setup),
		cmocka_unit_test_setup(test_lockout, setup),
		cmocka_unit_test_setup(test_first_pass, setup),
		cmocka_unit_test_setup(test_require_groups, setup),
		cmocka_unit_test_setup(test_acct_without_auth, setup),
		cmocka_unit_test_setup(test_live_check, setup),
		cmocka_unit_test_setup(test_live_check_policy, setup),
		cmocka_unit_test_setup(test_live_check_refusal_recorded, setup),
		cmocka_unit_test_setup(test_live_check_no_refresh_token, setup),
		cmocka_unit_test_setup(test_wrong_client_secret, setup),
		cmocka_unit_test_setup(test_faults, setup),
		cmocka_unit_test_setup(test_timeouts, setup),
		cmocka_unit_test_setup(test_tls_faults, setup),
		cmocka_unit_test_setup(test_proxy_env_ignored, setup),
		cmocka_unit_test_setup(test_unsafe_files, setup),
		cmocka_unit_test_setup(test_input_limits, setup),
		cmocka_unit_test_setup(test_method_sms_no_phone, setup),
		cmocka_unit_test_setup(test_session_and_setcred, setup),
		cmocka_unit_test_setup(test_chauthtok, setup),
		cmocka_unit_test_setup(test_api_calls, setup),
#ifndef __SANITIZE_ADDRESS__
		cmocka_unit_test_setup(test_valgrind, setup),
#endif
		cmocka_unit_test_setup(test_no_secret_in_log, setup),
	};

	self_exe = argv[0];
	if (argc == 5 && strcmp(argv[1], "--login-once") == 0) {
		g.logfd = -1;
		return login_once(argv);
	}
	return harness_main("pam", tests, need_helper);
}
