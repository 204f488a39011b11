/* SPDX-License-Identifier: BSD-3-Clause */
/* Offline login (offline_login) through real libpam: the emulator refused
 * (nothing listens), hung (the time budget) and answering 503 stand for an
 * outage; its decisions must never be overridden. Run by offline_tests.sh
 * (pam_tests.sh running this binary) under tests/ns-run. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>
#include <security/pam_appl.h>

#include "harness.h"
#include "state.h"
#include "testutil.h"

#define ALICE_PW "Alice-Passw0rd"
#define ALICE_PHONE "+86 13800000001"
#define PW_PROMPT "*Password: |"
#define OFFLINE_INFO                                                                               \
	"I:The CloudBase service cannot be reached: signed in with the password cached on this "   \
	"host.|"
#define OFFLINE_CODE                                                                               \
	"E:The CloudBase service cannot be reached, and a one-time code needs it. Try again "      \
	"later.|"
/* nothing listens there: connection refused */
#define DEAD_URL "https://127.0.0.1:1/auth/v1"

/* A whole small file, malloc'd and NUL-terminated, or NULL. */
/* the harness's name as the code tests use it */
#define last_delay g.last_delay

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65537);
	size_t n = 0;

	if (f != NULL && buf != NULL)
		n = fread(buf, 1, 65536, f);
	if (f != NULL)
		fclose(f);
	if (buf != NULL && n == 0) {
		free(buf);
		buf = NULL;
	}
	return buf;
}

static int setup(void **state)
{
	(void)state;
	ctl("POST", "/reset", NULL);
	remove_accounts();
	add_record("cbalice", "alice", ALICE_PHONE, NULL);
	write_method("password", "offline_login = yes\n");
	write_service("cb", "");
	log_reset();
	last_delay = 0;
	return 0;
}

static void online(const char *extra)
{
	char text[512];

	snprintf(text, sizeof(text), "offline_login = yes\n%s", extra != NULL ? extra : "");
	write_config(text);
}

static void offline(const char *extra)
{
	char text[512];

	snprintf(text, sizeof(text), "offline_login = yes\n%s", extra != NULL ? extra : "");
	write_config_url(DEAD_URL, text);
}

/* The user's verifier now (malloc'd), or NULL; *failures its counter. */
static char *verifier(unsigned *failures)
{
	struct cb_state st;
	char *v = NULL;

	if (load_state("cbalice", &st) == CB_OK && st.verifier != NULL) {
		v = strdup(st.verifier);
		if (failures != NULL)
			*failures = st.offline_failures;
	}
	cb_state_free(&st);
	return v;
}

static void sign_in_online(void)
{
	struct login_result r;

	online(NULL);
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_SUCCESS);
	assert_int_equal(r.acct, PAM_SUCCESS);
}

static void test_offline_success(void **state)
{
	struct login_result r;
	char path[512], *v, *text;
	unsigned failures = 9;
	struct stat sb;

	(void)state;
	sign_in_online();
	/* a yescrypt verifier, never the password, in a root-only record */
	v = verifier(&failures);
	assert_non_null(v);
	assert_true(strncmp(v, "$y$", 3) == 0);
	assert_int_equal(failures, 0);
	state_path("cbalice", path, sizeof(path));
	text = read_file(path);
	assert_non_null(text);
	assert_null(strstr(text, ALICE_PW));
	assert_non_null(strstr(text, v));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	free(text);

	/* refused: the cached password, said in the conversation and the log */
	offline(NULL);
	log_reset();
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_SUCCESS);
	assert_int_equal(r.acct, PAM_SUCCESS);
	assert_transcript(&r.conv, PW_PROMPT OFFLINE_INFO);
	assert_log("offline: user=cbalice service=cb rhost=203.0.113.9 signed in with the cached "
		   "password: the service is unreachable (transport_error)");
	assert_log("outcome=ok pam=Success offline sign-in with the cached password");
	/* the account phase passed on the groups of the last online sign-in,
	 * without a request (nothing listens anyway) */
	assert_log("account: user=cbalice service=cb rhost=203.0.113.9 request_id=- outcome=ok");

	/* a 503 and a hung service are outages too */
	online(NULL);
	fault("{\"path\": \"/signin\", \"fault\": \"status\", \"status\": 503, \"count\": 1}");
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_SUCCESS);
	assert_transcript(&r.conv, PW_PROMPT OFFLINE_INFO);
	assert_log("the service is unreachable (service_unavailable)");
	online("timeout = 2\n");
	fault("{\"path\": \"/signin\", \"fault\": \"hang\", \"count\": 1}");
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_SUCCESS);
	assert_log("the service is unreachable (timeout)");
	/* the online sign-in afterwards refreshes the verifier (a new salt) */
	ctl("DELETE", "/faults", NULL);
	sign_in_online();
	text = verifier(NULL);
	assert_non_null(text);
	assert_string_not_equal(text, v);
	free(text);
	free(v);
}

static void test_offline_wrong_and_locked(void **state)
{
	struct login_result r;
	unsigned failures = 0;
	char *v;

	(void)state;
	sign_in_online();
	offline("offline_max_failures = 2\n");
	assert_int_equal(code_login("cbalice", NULL, &r, ANS("not-her-password")), PAM_AUTH_ERR);
	assert_transcript(&r.conv, PW_PROMPT);
	assert_true(last_delay > 0);
	free(verifier(&failures));
	assert_int_equal(failures, 1);
	assert_log("wrong password (1 of offline_max_failures=2)");
	assert_int_equal(code_login("cbalice", NULL, &r, ANS("not-her-password-2")), PAM_AUTH_ERR);
	free(verifier(&failures));
	assert_int_equal(failures, 2);
	/* locked: the right password too, until an online sign-in */
	log_reset();
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_AUTHINFO_UNAVAIL);
	assert_log("offline_max_failures wrong passwords since the last online sign-in: refused");
	sign_in_online();
	v = verifier(&failures);
	assert_non_null(v);
	assert_int_equal(failures, 0);
	free(v);
	offline("offline_max_failures = 2\n");
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_SUCCESS);
}

static cb_status age(struct cb_state *st, void *arg, bool *write)
{
	st->verifier_set -= *(const int64_t *)arg;
	*write = true;
	return CB_OK;
}

static void test_offline_max_days(void **state)
{
	struct login_result r;
	int64_t days;
	char *v;

	(void)state;
	sign_in_online();
	offline("offline_max_days = 2\n");
	/* one day old: fine */
	days = 86400;
	edit_state("cbalice", age, &days);
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_SUCCESS);
	/* past the bound: refused and removed */
	edit_state("cbalice", age, &days);
	log_reset();
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_AUTHINFO_UNAVAIL);
	assert_log("the cached password is older than offline_max_days: refused");
	assert_log("offline: the cached password of cbalice removed");
	v = verifier(NULL);
	assert_null(v);
}

static cb_status age_signin(struct cb_state *st, void *arg, bool *write)
{
	int64_t by = *(const int64_t *)arg;

	st->last_login -= by;
	if (st->checked > 0)
		st->checked -= by;
	*write = true;
	return CB_OK;
}

static cb_status age_offline_use(struct cb_state *st, void *arg, bool *write)
{
	st->offline_used -= *(const int64_t *)arg;
	*write = true;
	return CB_OK;
}

/* pam_acct_mgmt alone on service, as sudo runs it on its cached
 * timestamp: another process than the sign-in, no pam_set_data. */
static int account_alone(const char *service)
{
	struct conv c;
	struct pam_conv conv = {harness_conv, &c};
	pam_handle_t *pamh = NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	assert_int_equal(pam_start_confdir(service, "cbalice", &conv, g.confdir, &pamh),
			 PAM_SUCCESS);
	rc = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, rc);
	drain_log();
	return rc;
}

/* The account phase without a sign-in after an offline one (sudo's cached
 * timestamp: tests/e2e/offline.py runs the real sudo): the offline
 * sign-in stands for account_check_interval, without a request, and the
 * log says so rather than claim the service's standing is that recent;
 * after the interval a live check is needed, which the outage refuses
 * (account_offline_grace 0). */
static void test_account_after_offline(void **state)
{
	struct login_result r;
	int64_t hour = 3600;

	(void)state;
	sign_in_online();
	write_service("sudo", "acct_without_auth");
	/* the online sign-in beyond the interval: only the offline one is fresh */
	edit_state("cbalice", age_signin, &hour);
	offline(NULL);
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_SUCCESS);
	log_reset();
	assert_int_equal(account_alone("sudo"), PAM_SUCCESS);
	assert_log("sudo without a password prompt");
	assert_log("user cbalice: the offline sign-in ");
	assert_log(" s ago is used (account_check_interval 300 s); the service last vouched for "
		   "the account 36");
	assert_no_log("the standing recorded");
	assert_no_log("live check");
	edit_state("cbalice", age_offline_use, &hour);
	log_reset();
	assert_int_equal(account_alone("sudo"), PAM_AUTHINFO_UNAVAIL);
	assert_log("live check of the account's standing: transport_error");
	assert_log("account_offline_grace does not cover");
}

/* The service's decisions deny as without offline login. */
static void test_never_on_a_decision(void **state)
{
	struct login_result r;
	char *v;

	(void)state;
	sign_in_online();
	/* a wrong password: denied, the verifier stays */
	assert_int_equal(code_login("cbalice", NULL, &r, ANS("not-her-password")), PAM_AUTH_ERR);
	assert_no_log("offline: user=");
	v = verifier(NULL);
	assert_non_null(v);
	free(v);
	/* locked (invalid_status): denied, the verifier stays */
	fault("{\"path\": \"/signin\", \"fault\": \"status\", \"status\": 429, \"error\": "
	      "\"invalid_status\", \"count\": 1}");
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_MAXTRIES);
	assert_no_log("signed in with the cached password");
	v = verifier(NULL);
	assert_non_null(v);
	free(v);
	/* the password the verifier holds, refused: changed at CloudBase */
	ctl("POST", "/users", "{\"username\": \"alice\", \"password\": \"New-Passw0rd-1\"}");
	log_reset();
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_AUTH_ERR);
	assert_log("offline: the cached password of cbalice removed: the service refused the "
		   "password it holds");
	assert_null(verifier(NULL));
	/* blocked: denied, and the verifier goes */
	assert_int_equal(code_login("cbalice", NULL, &r, ANS("New-Passw0rd-1")), PAM_SUCCESS);
	assert_non_null(v = verifier(NULL));
	free(v);
	ctl("POST", "/users", "{\"username\": \"alice\", \"status\": \"BLOCKED\"}");
	assert_int_equal(code_login("cbalice", NULL, &r, ANS("New-Passw0rd-1")), PAM_MAXTRIES);
	assert_log("the service says the account is blocked");
	assert_null(verifier(NULL));
	offline(NULL);
	assert_int_equal(code_login("cbalice", NULL, &r, ANS("New-Passw0rd-1")),
			 PAM_AUTHINFO_UNAVAIL);
}

/* The service "auth" with try_first_pass after an earlier module that
 * puts first_pw in PAM_AUTHTOK. */
static void write_try_first_pass(const char *first_pw)
{
	char text[2048];

	assert_non_null(g.helper_so);
	snprintf(text, sizeof(text),
		 "auth     required %s set=%s\n"
		 "auth     required %s conf=%s try_first_pass\n"
		 "account  required %s conf=%s\n",
		 g.helper_so, first_pw, g.so, g.conf_path, g.so, g.conf_path);
	write_service_text("cbtry", text);
}

/* The service's "wrong password" for the cached one removes it for the
 * rest of the call too: the same password typed again (try_first_pass)
 * while the service is unreachable is not signed in offline. (Found by
 * fuzz_module: the copy read at the start of the call let it in.) */
static void test_removed_within_the_call(void **state)
{
	struct login_result r;

	(void)state;
	sign_in_online();
	write_try_first_pass(ALICE_PW);
	fault("{\"path\": \"/signin\", \"fault\": \"status\", \"status\": 400, \"error\": "
	      "\"invalid_password\", \"count\": 1}");
	fault("{\"path\": \"/signin\", \"fault\": \"status\", \"status\": 503, \"count\": 1}");
	log_reset();
	assert_int_equal(code_run("cbtry", "cbalice", NULL, &r, ANS(ALICE_PW)),
			 PAM_AUTHINFO_UNAVAIL);
	assert_transcript(&r.conv, PW_PROMPT);
	assert_log("offline: the cached password of cbalice removed: the service refused the "
		   "password it holds");
	assert_no_log("signed in with the cached password");
	assert_null(verifier(NULL));
}

/* pam_chauthtok from old to new (typed twice); its code. */
static int change_password(const char *old, const char *new_pw)
{
	pam_handle_t *pamh = NULL;
	struct conv c;
	struct pam_conv conv = {harness_conv, &c};
	int rc;

	memset(&c, 0, sizeof(c));
	c.answers[0] = old;
	c.answers[1] = new_pw;
	c.answers[2] = new_pw;
	assert_int_equal(pam_start_confdir("cb", "cbalice", &conv, g.confdir, &pamh), PAM_SUCCESS);
	rc = pam_chauthtok(pamh, 0);
	pam_end(pamh, rc);
	drain_log();
	return rc;
}

/* Every sign-in's "blocked", and the "wrong password" for the cached
 * password of the sign-in a password change starts with, remove the
 * cached password, as the password sign-in's do. (Found by fuzz_module:
 * only pam_authenticate's password sign-in removed it.) */
static void test_removed_by_any_signin(void **state)
{
	struct login_result r;
	char *v;

	(void)state;
	/* the code sign-in (method sms) answered user_blocked */
	sign_in_online();
	online("method = sms\n");
	fault("{\"path\": \"/signin\", \"fault\": \"status\", \"status\": 403, \"error\": "
	      "\"user_blocked\", \"count\": 1}");
	log_reset();
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@code")), PAM_MAXTRIES);
	assert_log("offline: the cached password of cbalice removed: the service says the "
		   "account is blocked");
	assert_null(verifier(NULL));
	/* ... or its first step, sending the code */
	sign_in_online();
	online("method = sms\n");
	fault("{\"path\": \"/verification\", \"fault\": \"status\", \"status\": 403, "
	      "\"error\": \"user_blocked\", \"count\": 1}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@code")), PAM_MAXTRIES);
	assert_null(verifier(NULL));
	/* a password change whose sign-in with the cached password is refused
	 * (changed at CloudBase meanwhile) */
	sign_in_online();
	fault("{\"path\": \"/signin\", \"fault\": \"status\", \"status\": 400, \"error\": "
	      "\"invalid_password\", \"count\": 1}");
	log_reset();
	assert_int_equal(change_password(ALICE_PW, "Changed-Passw0rd-3"), PAM_AUTH_ERR);
	assert_log("offline: the cached password of cbalice removed: the service refused the "
		   "password it holds");
	assert_null(verifier(NULL));
	/* ... or answered user_blocked */
	sign_in_online();
	fault("{\"path\": \"/signin\", \"fault\": \"status\", \"status\": 403, \"error\": "
	      "\"user_blocked\", \"count\": 1}");
	assert_int_equal(change_password(ALICE_PW, "Changed-Passw0rd-3"), PAM_PERM_DENIED);
	assert_null(verifier(NULL));
	/* a wrong old password other than the cached one leaves it */
	sign_in_online();
	assert_int_equal(change_password("not-her-password", "Changed-Passw0rd-3"), PAM_AUTH_ERR);
	v = verifier(NULL);
	assert_non_null(v);
	free(v);
}

/* A service that has answered a sign-in of this call is not unreachable
 * for the next one: try_first_pass, the earlier module's password refused
 * by the service, then the cached password typed while the service answers
 * 503, is no offline sign-in. */
static void test_answered_within_the_call(void **state)
{
	struct login_result r;
	unsigned failures = 9;
	char *v;

	(void)state;
	sign_in_online();
	write_try_first_pass("not-hers");
	fault("{\"path\": \"/signin\", \"fault\": \"status\", \"status\": 400, \"error\": "
	      "\"invalid_password\", \"count\": 1}");
	fault("{\"path\": \"/signin\", \"fault\": \"status\", \"status\": 503, \"count\": 1}");
	log_reset();
	assert_int_equal(code_run("cbtry", "cbalice", NULL, &r, ANS(ALICE_PW)),
			 PAM_AUTHINFO_UNAVAIL);
	assert_log("offline: user=cbalice service=cbtry: the service is unreachable "
		   "(service_unavailable) and it answered an earlier sign-in of this login: "
		   "refused");
	assert_no_log("signed in with the cached password");
	/* nothing counted, nothing removed: the cached password still works,
	 * when the outage is the first thing the call meets */
	v = verifier(&failures);
	assert_non_null(v);
	assert_int_equal(failures, 0);
	free(v);
	write_try_first_pass(ALICE_PW);
	fault("{\"path\": \"/signin\", \"fault\": \"status\", \"status\": 503, \"count\": 1}");
	assert_int_equal(code_run("cbtry", "cbalice", NULL, &r, NULL), PAM_SUCCESS);
	assert_transcript(&r.conv, OFFLINE_INFO);
}

/* The next /signin answered with status, Content-Type type and body. */
static void signin_answer(int status, const char *type, const char *body)
{
	struct json_object *rule = json_object_new_object(), *h = json_object_new_object();

	json_object_object_add(rule, "fault", json_object_new_string("raw"));
	json_object_object_add(rule, "status", json_object_new_int(status));
	json_object_object_add(rule, "count", json_object_new_int(1));
	json_object_object_add(rule, "path", json_object_new_string("/signin"));
	json_object_object_add(h, "Content-Type", json_object_new_string(type));
	json_object_object_add(rule, "headers", h);
	json_object_object_add(rule, "body", json_object_new_string(body));
	fault(json_object_to_json_string_ext(rule, JSON_C_TO_STRING_PLAIN));
	json_object_put(rule);
}

/* An outage is an answer that is not the service's; any answer declared
 * JSON with a status of 2xx or 4xx is the service's, and one the module
 * cannot read denies as a malformed answer, never offline. (Found by
 * fuzz_module: every malformed answer counted as an outage.) */
static void test_outage_or_answer(void **state)
{
	static const struct {
		int status;
		const char *type, *body;
		bool outage;
	} rows[] = {
		{200, "application/json", "{}", false},
		{200, "application/json", "{\"error\":null,\"access_token\":\"t\",\"sub\":\"s\"}",
		 false},
		{200, "application/json", "{\"access_token\":\"t\"}", false},
		{400, "application/json", "{}", false},
		{403, "application/json", "{\"code\":\"USER_DISABLED\",\"message\":\"disabled\"}",
		 false},
		{200, "application/json", "<html>not JSON</html>", false},
		{200, "application/json", "{\"sub\":\"s\",}", false},
		/* not the service's: a captive portal's page, a redirect, a 5xx */
		{200, "text/html", "<html>log in to the Wi-Fi</html>", true},
		{302, "text/plain", "Found", true},
		{502, "application/json", "{}", true},
		/* the service's own word for its trouble */
		{400, "application/json", "{\"error\":\"unavailable\"}", true},
	};
	struct login_result r;
	char *v;

	(void)state;
	sign_in_online();
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		print_message("%d %s %s\n", rows[i].status, rows[i].type, rows[i].body);
		signin_answer(rows[i].status, rows[i].type, rows[i].body);
		log_reset();
		code_login("cbalice", NULL, &r, ANS(ALICE_PW));
		if (rows[i].outage) {
			assert_int_equal(r.auth, PAM_SUCCESS);
			assert_log("signed in with the cached password");
		} else {
			assert_int_equal(r.auth, PAM_AUTHINFO_UNAVAIL);
			assert_log("outcome=protocol_error");
			assert_no_log("offline: user=");
		}
		v = verifier(NULL);
		assert_non_null(v);
		free(v);
	}
}

/* A TLS failure is not an outage: no offline login on it. */
static void test_not_on_tls(void **state)
{
	struct login_result r;
	const char *dir = getenv("EMU_DIR_1"); /* the self-signed certificate */

	(void)state;
	sign_in_online();
	assert_non_null(dir);
	write_config_for(g.emu, read_int_file(dir, "port"), "offline_login = yes\n");
	log_reset();
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_AUTHINFO_UNAVAIL);
	assert_log("outcome=tls_error");
	assert_no_log("offline: user=");
}

/* The code methods need the service; password+X may skip the code. */
static void test_factors(void **state)
{
	struct login_result r;

	(void)state;
	sign_in_online();
	offline("method = sms\n");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@code")),
			 PAM_AUTHINFO_UNAVAIL);
	assert_transcript(&r.conv, OFFLINE_CODE);
	offline("method = password+sms\n");
	log_reset();
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS(ALICE_PW, "@code")),
			 PAM_AUTHINFO_UNAVAIL);
	assert_transcript(&r.conv, PW_PROMPT OFFLINE_CODE);
	assert_log("no offline sign-in, the second factor needs the service "
		   "(offline_second_factor=require)");
	offline("method = password+sms\noffline_second_factor = skip\n");
	log_reset();
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS(ALICE_PW)), PAM_SUCCESS);
	assert_transcript(&r.conv, PW_PROMPT OFFLINE_INFO);
	assert_log("<84>"); /* LOG_WARNING */
	assert_log("password+sms: offline sign-in of cbalice without the second factor "
		   "(offline_second_factor=skip)");
	/* a wrong password is still wrong, and asks no code either (a right
	 * one asks none) */
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("nope-nope")), PAM_AUTH_ERR);
	assert_transcript(&r.conv, PW_PROMPT);
}

/* offline_login off: no offline sign-in, and the next online sign-in
 * removes what was cached. */
static void test_off(void **state)
{
	struct login_result r;

	(void)state;
	sign_in_online();
	write_config_url(DEAD_URL, "");
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_AUTHINFO_UNAVAIL);
	assert_no_log("offline: user=");
	write_config("");
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_SUCCESS);
	assert_null(verifier(NULL));
}

/* A record that is not root's 0600 is not trusted: no offline login. */
static void test_untrusted_record(void **state)
{
	struct login_result r;
	char path[512];

	(void)state;
	sign_in_online();
	state_path("cbalice", path, sizeof(path));
	assert_int_equal(chmod(path, 0644), 0);
	offline(NULL);
	log_reset();
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_SERVICE_ERR);
	assert_log("the state record of cbalice cannot be used: refused");
	assert_no_log("signed in with the cached password");
	assert_int_equal(chmod(path, 0600), 0);
}

/* A password change replaces the verifier. */
static void test_chauthtok(void **state)
{
	struct login_result r;
	pam_handle_t *pamh = NULL;
	struct conv c;
	struct pam_conv conv = {harness_conv, &c};

	(void)state;
	sign_in_online();
	memset(&c, 0, sizeof(c));
	c.answers[0] = ALICE_PW;
	c.answers[1] = "Changed-Passw0rd-2";
	c.answers[2] = "Changed-Passw0rd-2";
	assert_int_equal(pam_start_confdir("cb", "cbalice", &conv, g.confdir, &pamh), PAM_SUCCESS);
	assert_int_equal(pam_chauthtok(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
	drain_log();
	offline(NULL);
	assert_int_equal(code_login("cbalice", NULL, &r, ANS(ALICE_PW)), PAM_AUTH_ERR);
	assert_int_equal(code_login("cbalice", NULL, &r, ANS("Changed-Passw0rd-2")), PAM_SUCCESS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_offline_success, setup),
		cmocka_unit_test_setup(test_offline_wrong_and_locked, setup),
		cmocka_unit_test_setup(test_offline_max_days, setup),
		cmocka_unit_test_setup(test_account_after_offline, setup),
		cmocka_unit_test_setup(test_never_on_a_decision, setup),
		cmocka_unit_test_setup(test_removed_within_the_call, setup),
		cmocka_unit_test_setup(test_outage_or_answer, setup),
		cmocka_unit_test_setup(test_answered_within_the_call, setup),
		cmocka_unit_test_setup(test_removed_by_any_signin, setup),
		cmocka_unit_test_setup(test_not_on_tls, setup),
		cmocka_unit_test_setup(test_factors, setup),
		cmocka_unit_test_setup(test_off, setup),
		cmocka_unit_test_setup(test_untrusted_record, setup),
		cmocka_unit_test_setup(test_chauthtok, setup),
	};
	int rc;

	if (!harness_init(false)) {
		fprintf(stderr, "# run through offline_tests.sh\n");
		return 99;
	}
	rc = cmocka_run_group_tests_name("offline", tests, NULL, NULL);
	harness_done();
	return rc;
}
