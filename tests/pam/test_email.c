/* SPDX-License-Identifier: BSD-3-Clause */
/* The e-mail code methods of pam_cloudbase.so (email, password+email, and
 * the menus that offer an e-mail code) through real libpam against the
 * emulator. Run by email_tests.sh (pam_tests.sh running this binary) under
 * tests/ns-run. The SMS twins of these tests are in test_sms.c; what the
 * two channels share is tested there once. */
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

#include <json-c/json.h>
#include <security/pam_appl.h>

#include "harness.h"
#include "testutil.h"

#define ALICE_SUB "9c5b1f3e-0a6d-4a57-9a43-2b8f0c7e1a01"
#define ALICE_PW "Alice-Passw0rd"
#define ALICE_PHONE "+86 13800000001"
#define ALICE_EMAIL "alice@example.com"
#define BOB_EMAIL "bob@example.com"
#define ALICE_PROMPT "*E-mail code sent to a***@example.com: |"
#define PW_PROMPT "*Password: |"
#define WRONG "E:Wrong code. Try again.|"
#define TOO_MANY "E:Too many wrong codes. Sign in again to get a new one.|"
#define MENU3 "Sign in with 1) password, 2) SMS code or 3) e-mail code: |"

/* the harness's name as the code tests use it */
#define last_delay g.last_delay

static int setup(void **state)
{
	(void)state;
	ctl("POST", "/reset", NULL);
	remove_accounts();
	add_record_email("cbalice", "alice", ALICE_PHONE, ALICE_EMAIL, NULL);
	add_record_email("cbbymail", BOB_EMAIL, NULL, NULL, NULL); /* the login is the address */
	add_record_email("cbfrank", "frank", NULL, NULL, NULL); /* no address on record */
	add_record_email("cbghost", "nosuchuser", NULL, "nobody@example.com", NULL);
	add_record_email("cbbadmail", "alice@example", NULL, NULL, NULL); /* not an address */
	add_record_email("cbalice_bobmail", "alice", NULL, BOB_EMAIL, NULL);
	add_record_email("cbalice_nomail", "alice", NULL, NULL, NULL);
	write_method("email", NULL);
	write_service("cb", "");
	log_reset();
	last_delay = 0;
	return 0;
}

/* The x-request-id of the emulator's last request to path, or "". */
static void request_id_of(const char *path, char *out, size_t outsz)
{
	struct json_object *o, *list, *e, *v;

	out[0] = '\0';
	ctl("GET", "/requests", NULL);
	o = json_tokener_parse(g.ctl_body);
	if (o != NULL && json_object_object_get_ex(o, "requests", &list))
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			e = json_object_array_get_idx(list, i);
			if (json_object_object_get_ex(e, "path", &v) &&
			    strcmp(json_object_get_string(v), path) == 0 &&
			    json_object_object_get_ex(e, "request_id", &v))
				snprintf(out, outsz, "%s", json_object_get_string(v));
		}
	json_object_put(o);
}

/* ---- method=email ------------------------------------------------------------ */

static void test_email_success(void **state)
{
	struct login_result r;
	char paths[256], rid[64], line[160];
	bool one;
	char *sub;

	(void)state;
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS("@code")), PAM_SUCCESS);
	assert_int_equal(r.acct, PAM_SUCCESS);
	/* the masked address is in the prompt; echo off by default */
	assert_transcript(&r.conv, ALICE_PROMPT);
	/* send, verify, sign in: one connection, one TLS handshake */
	one = request_log(paths, sizeof(paths), false) == 1;
	assert_string_equal(paths, "verification,verification/verify,signin");
	assert_true(one);
	assert_int_equal(stat_of("tls_handshakes"), 1);
	assert_int_equal(outbox_count(ALICE_EMAIL), 1);
	assert_int_equal(outbox_count(ALICE_PHONE), 0); /* the e-mail outbox, not the SMS one */
	ctl("GET", "/requests", NULL);
	assert_non_null(strstr(g.ctl_body, "\"email\":\"" ALICE_EMAIL "\""));
	assert_non_null(strstr(g.ctl_body, "\"target\":\"USER\""));
	assert_null(strstr(g.ctl_body, "\"phone_number\""));
	assert_log("email: code sent to a***@example.com for cbalice request_id=");
	/* the decision line names the sign-in's request */
	request_id_of("/auth/v1/signin", rid, sizeof(rid));
	assert_true(rid[0] != '\0');
	snprintf(line, sizeof(line),
		 "auth: user=cbalice service=cb rhost=203.0.113.9 request_id=%s "
		 "outcome=ok",
		 rid);
	assert_log(line);
	sub = account_sub("cbalice");
	assert_non_null(sub);
	assert_string_equal(sub, ALICE_SUB);
	free(sub);
}

static void test_email_login_is_address(void **state)
{
	struct login_result r;

	(void)state;
	assert_int_equal(code_login("cbbymail", BOB_EMAIL, &r, ANS("@code")), PAM_SUCCESS);
	assert_transcript(&r.conv, "*E-mail code sent to b***@example.com: |");
	assert_int_equal(outbox_count(BOB_EMAIL), 1);
}

static void test_email_wrong_then_right(void **state)
{
	struct login_result r;

	(void)state;
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS("@wrong", "@code")),
			 PAM_SUCCESS);
	assert_transcript(&r.conv, ALICE_PROMPT WRONG ALICE_PROMPT);
	/* the same verification id: one e-mail, two verifies */
	assert_int_equal(outbox_count(ALICE_EMAIL), 1);
	assert_int_equal(path_count("/auth/v1/verification"), 1);
	assert_int_equal(path_count("/auth/v1/verification/verify"), 2);
	assert_int_equal(stat_of("tls_handshakes"), 1);
	assert_log("email: wrong code for cbalice (1 of 3)");
}

static void test_email_all_wrong(void **state)
{
	struct login_result r;

	(void)state;
	assert_int_equal(
		code_login("cbalice", ALICE_EMAIL, &r, ANS("@wrong", "x1", "@wrong", "@code")),
		PAM_MAXTRIES);
	assert_transcript(
		&r.conv, ALICE_PROMPT WRONG ALICE_PROMPT
		"E:The code is the 6 digits from the e-mail. Try again.|" ALICE_PROMPT TOO_MANY);
	assert_int_equal(path_count("/auth/v1/verification/verify"), 2);
	assert_int_equal(path_count("/auth/v1/signin"), 0);
	assert_true(last_delay > 0);
	assert_log("email: too many wrong codes for cbalice (otp_retries=3)");
	assert_log("outcome=code_aborted");
}

static void test_email_expired(void **state)
{
	struct login_result r;

	(void)state;
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS("@expire", "@code")),
			 PAM_AUTH_ERR);
	assert_transcript(&r.conv,
			  ALICE_PROMPT "E:The code has expired. Sign in again to get a new one.|");
	assert_int_equal(path_count("/auth/v1/verification/verify"), 1);
	assert_int_equal(path_count("/auth/v1/signin"), 0);
	assert_log("email: code expired for cbalice");
	assert_log("outcome=code_expired");
}

static void test_email_rate_limited(void **state)
{
	struct login_result r;

	(void)state;
	/* an SMS code to the same user does not hold the e-mail back: each
	 * channel has its own limit */
	write_method("sms", NULL);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("")), PAM_AUTH_ERR);
	assert_int_equal(outbox_count(ALICE_PHONE), 1);
	write_method("email", NULL);
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS("")), PAM_AUTH_ERR);
	assert_int_equal(outbox_count(ALICE_EMAIL), 1);
	/* a second e-mail within 60 s: the wait, no code prompt, no resend */
	ctl("POST", "/clock", "{\"advance\": 20}");
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS("@code")), PAM_MAXTRIES);
	assert_transcript(&r.conv,
			  "E:A code was sent to this address moments ago. Wait 40 seconds and "
			  "try again.|");
	assert_int_equal(path_count("/auth/v1/verification/verify"), 0);
	assert_int_equal(outbox_count(ALICE_EMAIL), 1);
	assert_log("email: sending to a***@example.com for cbalice rate limited: retry after 40 s");
	assert_log("outcome=rate_limited");
}

static void test_email_unknown_address(void **state)
{
	struct login_result r;

	(void)state;
	assert_int_equal(code_login("cbghost", "nobody@example.com", &r, ANS("@code")),
			 PAM_MAXTRIES);
	assert_transcript(&r.conv,
			  "E:No CloudBase account has the e-mail address on record. Contact "
			  "your administrator.|");
	assert_int_equal(outbox_count("nobody@example.com"), 0);
	assert_log("error=user_not_found");
	assert_log("email: the service knows no user with the e-mail address n***@example.com of "
		   "cbghost");
	assert_log("outcome=user_unknown");
}

static void test_email_malformed_in_record(void **state)
{
	struct login_result r;

	(void)state;
	/* nothing is sent for an address the module would not send to */
	assert_int_equal(code_login("cbbadmail", "alice@example", &r, ANS("@code")), PAM_MAXTRIES);
	assert_transcript(&r.conv,
			  "E:The e-mail address on record cannot receive codes. Contact your "
			  "administrator.|");
	assert_int_equal(path_count("/auth/v1/verification"), 0);
	assert_log("account record of cbbadmail: the e-mail address is not valid");
	assert_log("outcome=email_invalid");
	/* the same refusal under password+email, before the password prompt */
	write_method("password+email", NULL);
	assert_int_equal(code_login("cbbadmail", "alice@example", &r, ANS(ALICE_PW, "@code")),
			 PAM_MAXTRIES);
	assert_transcript(&r.conv,
			  "E:The e-mail address on record cannot receive codes. Contact your "
			  "administrator.|");
	assert_int_equal(path_count("/auth/v1/signin"), 0);
	/* and one the service refuses as malformed, though it passed here */
	write_method("email", NULL);
	fault("{\"path\": \"/verification\", \"fault\": \"status\", \"status\": 400, "
	      "\"error\": \"invalid_argument\", \"error_description\": \"invalid email address\"}");
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS("@code")), PAM_MAXTRIES);
	assert_transcript(&r.conv,
			  "E:The e-mail address on record cannot receive codes. Contact your "
			  "administrator.|");
	assert_log("email: the service refuses the e-mail address a***@example.com of cbalice");
}

static void test_email_no_address(void **state)
{
	struct login_result r;

	(void)state;
	assert_int_equal(code_login("cbfrank", "frank@example.com", &r, ANS("@code")),
			 PAM_MAXTRIES);
	assert_transcript(&r.conv,
			  "E:No e-mail address is on record for this account, so no code can "
			  "be sent. Contact your administrator.|");
	assert_int_equal(path_count("/auth/v1/verification"), 0);
	assert_log("email: no e-mail address on record for cbfrank");
	/* sms_prompt_phone is the SMS method's: no address is ever asked for */
	write_method("email", "sms_prompt_phone = yes\n");
	assert_int_equal(code_login("cbfrank", "frank@example.com", &r, ANS("frank@example.com")),
			 PAM_MAXTRIES);
	assert_int_equal(r.conv.n_asked, 0);
}

/* ---- method=password+email ------------------------------------------------------- */

static void test_pwemail_success(void **state)
{
	struct login_result r;
	char paths[256];
	bool one;

	(void)state;
	write_method("password+email", NULL);
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS(ALICE_PW, "@code")),
			 PAM_SUCCESS);
	assert_int_equal(r.acct, PAM_SUCCESS);
	assert_transcript(&r.conv, PW_PROMPT ALICE_PROMPT);
	one = request_log(paths, sizeof(paths), false) == 1;
	assert_string_equal(paths, "signin,user/me,revoke,verification,verification/verify,signin");
	assert_true(one);
	assert_int_equal(outbox_count(ALICE_EMAIL), 1);
	assert_int_equal(outbox_count(ALICE_PHONE), 0);
	assert_log("outcome=ok");
}

static void test_pwemail_wrong_password(void **state)
{
	struct login_result right, wrong;

	(void)state;
	write_method("password+email", NULL);
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &right,
				    ANS(ALICE_PW, "@wrong", "@wrong", "@wrong", "@code")),
			 PAM_MAXTRIES);
	assert_int_equal(outbox_count(ALICE_EMAIL), 1);
	ctl("POST", "/reset", NULL);
	log_reset();
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &wrong,
				    ANS("not-her-password", "@wrong", "@wrong", "@wrong", "@code")),
			 PAM_MAXTRIES);
	/* no oracle: the same conversation, nothing sent */
	assert_transcript(&right.conv,
			  PW_PROMPT ALICE_PROMPT WRONG ALICE_PROMPT WRONG ALICE_PROMPT TOO_MANY);
	assert_string_equal(wrong.conv.transcript, right.conv.transcript);
	assert_int_equal(outbox_count(ALICE_EMAIL), 0);
	assert_int_equal(path_count("/auth/v1/verification"), 0);
	assert_log("password+email: wrong password for cbalice: the code prompt follows, no code "
		   "is sent");
	assert_log("error=invalid_password");
}

static void test_pwemail_address_differs(void **state)
{
	struct login_result r;

	(void)state;
	write_method("password+email", NULL);
	/* the record says bob's address, the service alice's: refused, the
	 * prompt as for a wrong password, nothing sent */
	assert_int_equal(code_login("cbalice_bobmail", BOB_EMAIL, &r,
				    ANS(ALICE_PW, "@wrong", "@wrong", "@wrong")),
			 PAM_MAXTRIES);
	assert_transcript(&r.conv, PW_PROMPT "*E-mail code sent to b***@example.com: |" WRONG
					     "*E-mail code sent to b***@example.com: |" WRONG
					     "*E-mail code sent to b***@example.com: |" TOO_MANY);
	assert_int_equal(outbox_count(BOB_EMAIL), 0);
	assert_int_equal(outbox_count(ALICE_EMAIL), 0);
	assert_log("password+email: the e-mail address on record for cbalice_bobmail "
		   "(b***@example.com) differs from the service's (a***@example.com): refused");
	/* case does not make two addresses differ */
	add_record_email("cbalice_case", "alice", NULL, "Alice@Example.COM", NULL);
	ctl("POST", "/clock", "{\"advance\": 61}");
	assert_int_equal(code_login("cbalice_case", ALICE_EMAIL, &r, ANS(ALICE_PW, "@code")),
			 PAM_SUCCESS);
	assert_transcript(&r.conv, PW_PROMPT "*E-mail code sent to A***@Example.COM: |");
	/* no address on record: the service's, and the prompt names none */
	ctl("POST", "/clock", "{\"advance\": 61}");
	assert_int_equal(code_login("cbalice_nomail", ALICE_EMAIL, &r, ANS(ALICE_PW, "@code")),
			 PAM_SUCCESS);
	assert_transcript(&r.conv, PW_PROMPT "*E-mail code sent to your e-mail address: |");
}

static void test_pwemail_service_has_no_address(void **state)
{
	struct login_result r;

	(void)state;
	write_method("password+email", NULL);
	/* the service has no address for alice: the record's is used, here
	 * bob's, whose code signs bob in: both sign-ins must be one person */
	ctl("POST", "/users", "{\"username\": \"alice\", \"email\": \"\"}");
	assert_int_equal(code_login("cbalice_bobmail", BOB_EMAIL, &r, ANS(ALICE_PW, "@code")),
			 PAM_MAXTRIES);
	assert_log("password+email: the service has no e-mail address for cbalice_bobmail: using "
		   "the record's");
	assert_log("gave another sub than the password: refused");
	assert_log("outcome=sub_mismatch");
	assert_int_equal(outbox_count(BOB_EMAIL), 1);
	/* a /user/me without the address (an older gateway): the record's,
	 * and the same person at both sign-ins: in */
	ctl("POST", "/reset", NULL);
	fault("{\"path\": \"/user/me\", \"fault\": \"raw\", \"status\": 200, \"headers\": "
	      "{\"Content-Type\": \"application/json\"}, \"body\": \"{\\\"sub\\\": \\\"" ALICE_SUB
	      "\\\", \\\"username\\\": \\\"alice\\\"}\"}");
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS(ALICE_PW, "@code")),
			 PAM_SUCCESS);
	assert_transcript(&r.conv, PW_PROMPT ALICE_PROMPT);
	ctl("DELETE", "/faults", NULL);
	ctl("POST", "/users", "{\"username\": \"alice\", \"email\": \"\"}");
	/* neither has one: refused as for a wrong password */
	assert_int_equal(code_login("cbalice_nomail", ALICE_EMAIL, &r,
				    ANS(ALICE_PW, "@wrong", "@wrong", "@wrong")),
			 PAM_MAXTRIES);
	assert_log("password+email: no e-mail address for cbalice_nomail, neither on record nor "
		   "at the service");
}

/* ---- the menu ----------------------------------------------------------------------- */

static void test_menu(void **state)
{
	struct login_result r;

	(void)state;
	write_method("password|sms|email", NULL);
	/* each choice, by number and by word */
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS("3", "@code")), PAM_SUCCESS);
	assert_transcript(&r.conv, MENU3 ALICE_PROMPT);
	assert_int_equal(outbox_count(ALICE_EMAIL), 1);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS(" sms ", "@code")),
			 PAM_SUCCESS);
	assert_transcript(&r.conv, MENU3 "*SMS code sent to +86 138****0001: |");
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS("1", ALICE_PW)), PAM_SUCCESS);
	assert_transcript(&r.conv, MENU3 PW_PROMPT);
	ctl("POST", "/clock", "{\"advance\": 61}");
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS("EMAIL", "@code")),
			 PAM_SUCCESS);
	/* anything else: what to answer, and the end */
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS("4")), PAM_AUTH_ERR);
	assert_transcript(&r.conv,
			  MENU3 "E:Answer 1 (password), 2 (SMS code) or 3 (e-mail code).|");
	/* two of them: numbered from 1 in the order password, SMS, e-mail */
	write_method("email|sms", NULL);
	ctl("POST", "/clock", "{\"advance\": 61}");
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS("2", "@code")), PAM_SUCCESS);
	assert_transcript(&r.conv, "Sign in with 1) SMS code or 2) e-mail code: |" ALICE_PROMPT);
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS("password")), PAM_AUTH_ERR);
	assert_transcript(&r.conv, "Sign in with 1) SMS code or 2) e-mail code: |"
				   "E:Answer 1 (SMS code) or 2 (e-mail code).|");
	write_method("password|email", NULL);
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS("1", ALICE_PW)), PAM_SUCCESS);
	assert_transcript(&r.conv, "Sign in with 1) password or 2) e-mail code: |" PW_PROMPT);
}

/* ---- names the module refuses ------------------------------------------------------- */

static void test_email_decoy(void **state)
{
	struct login_result r1, r2;
	const char *p;

	(void)state;
	/* a name with no record gets a code prompt with an address at a domain
	 * the real prompts show, the same each time, then the end of a run of
	 * wrong codes; nothing is sent */
	assert_int_equal(
		code_login("nosuchname", "x@example.com", &r1, ANS("123456", "123456", "1")),
		PAM_MAXTRIES);
	assert_int_equal(
		code_login("nosuchname", "x@example.com", &r2, ANS("123456", "123456", "1")),
		PAM_MAXTRIES);
	assert_string_equal(r1.conv.transcript, r2.conv.transcript);
	p = r1.conv.transcript;
	assert_true(strncmp(p, "*E-mail code sent to ", 21) == 0);
	assert_true(p[21] >= 'a' && p[21] <= 'z');
	assert_true(strncmp(p + 22, "***@example.com: |" WRONG, 18 + strlen(WRONG)) == 0);
	assert_non_null(strstr(p, TOO_MANY));
	assert_int_equal(path_count("/auth/v1/verification"), 0);
	assert_int_equal(path_count("/auth/v1/verification/verify"), 0);
	assert_log("email: wrong code for (unknown)");
	/* under password+email: the password prompt first, as for a user */
	write_method("password+email", NULL);
	assert_int_equal(code_login("nosuchname", "x@example.com", &r2, ANS("pw", "1", "1", "1")),
			 PAM_MAXTRIES);
	assert_true(strncmp(r2.conv.transcript, PW_PROMPT "*E-mail code sent to ",
			    strlen(PW_PROMPT) + 21) == 0);
	/* the menu too */
	write_method("password|email", NULL);
	assert_int_equal(code_login("nosuchname", "x@example.com", &r2, ANS("2", "1", "1", "1")),
			 PAM_MAXTRIES);
	assert_true(strncmp(r2.conv.transcript,
			    "Sign in with 1) password or 2) e-mail code: |*E-mail code sent to ",
			    45 + 21) == 0);
}

/* Last: no code, verification id, token, password or whole address in the
 * whole run's log. */
static void test_no_secret_in_log(void **state)
{
	struct login_result r;

	(void)state;
	write_method("email", "debug = yes\n");
	assert_int_equal(code_login("cbalice", ALICE_EMAIL, &r, ANS("@wrong", "@code")),
			 PAM_SUCCESS);
	assert_log("email: code sent to a***@example.com for cbalice");
	drain_log();
	assert_true(g.n_codes > 10);
	for (int i = 0; i < g.n_codes; i++)
		if (strstr(g.log, g.codes[i]) != NULL) {
			fprintf(stderr, "# code %s in the log\n", g.codes[i]);
			fail();
		}
	assert_null(strstr(g.log, "vid-"));
	assert_null(strstr(g.log, "vt-"));
	assert_null(strstr(g.log, "eyJ"));
	assert_null(strstr(g.log, ALICE_PW));
	assert_null(strstr(g.log, ALICE_EMAIL)); /* addresses only masked */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_email_success, setup),
		cmocka_unit_test_setup(test_email_login_is_address, setup),
		cmocka_unit_test_setup(test_email_wrong_then_right, setup),
		cmocka_unit_test_setup(test_email_all_wrong, setup),
		cmocka_unit_test_setup(test_email_expired, setup),
		cmocka_unit_test_setup(test_email_rate_limited, setup),
		cmocka_unit_test_setup(test_email_unknown_address, setup),
		cmocka_unit_test_setup(test_email_malformed_in_record, setup),
		cmocka_unit_test_setup(test_email_no_address, setup),
		cmocka_unit_test_setup(test_pwemail_success, setup),
		cmocka_unit_test_setup(test_pwemail_wrong_password, setup),
		cmocka_unit_test_setup(test_pwemail_address_differs, setup),
		cmocka_unit_test_setup(test_pwemail_service_has_no_address, setup),
		cmocka_unit_test_setup(test_menu, setup),
		cmocka_unit_test_setup(test_email_decoy, setup),
		cmocka_unit_test_setup(test_no_secret_in_log, setup),
	};
	int rc;

	if (!harness_init(false)) {
		fprintf(stderr, "# run through email_tests.sh\n");
		return 99;
	}
	rc = cmocka_run_group_tests_name("email", tests, NULL, NULL);
	harness_done();
	return rc;
}
