/* SPDX-License-Identifier: BSD-3-Clause */
/* The SMS methods of pam_cloudbase.so (sms, password+sms, password|sms)
 * through real libpam against the emulator. Run by sms_tests.sh (which is
 * pam_tests.sh running this binary) under tests/ns-run.
 *
 * The harness's conversation reads the code the emulator "sent" from its
 * outbox when an answer is "@code" (struct conv's phone), and records every
 * message in order, so the tests check prompt texts, their order and the
 * messages between. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <security/pam_appl.h>

#include "accountdb.h"
#include "conf.h"
#include "harness.h"
#include "testutil.h"

#define ALICE_SUB "9c5b1f3e-0a6d-4a57-9a43-2b8f0c7e1a01"
#define ALICE_PW "Alice-Passw0rd"
#define ALICE_PHONE "+86 13800000001"
#define ALICE_PROMPT "*SMS code sent to +86 138****0001: |"
#define BOB_PHONE "+86 13800000002"
#define PW_PROMPT "*Password: |"
#define MENU_PROMPT "Sign in with 1) password or 2) SMS code: |"
#define WRONG "E:Wrong code. Try again.|"
#define TOO_MANY "E:Too many wrong codes. Sign in again to get a new one.|"

/* the harness's name as this file has always used it */
#define last_delay g.last_delay

static int setup(void **state)
{
	(void)state;
	ctl("POST", "/reset", NULL);
	remove_accounts();
	/* admins type numbers in many ways: the database normalises them */
	add_record("cbalice", "alice", "+86 138-0000-0001", NULL);
	add_record("cbbob", "bob", "+8613800000002", NULL);
	add_record("cbbyphone", BOB_PHONE, NULL, NULL); /* the login is the number */
	add_record("cbfrank", "frank", NULL, NULL); /* no phone anywhere */
	add_record("cbghost", "nosuchuser", "+86 13900000099", NULL);
	add_record("cbalice_nophone", "alice", NULL, NULL);
	add_record("cbalice_bobphone", "alice", BOB_PHONE, NULL);
	write_config("method = sms\n");
	write_service("cb", "");
	log_reset();
	last_delay = 0;
	return 0;
}

/* ---- method=sms ------------------------------------------------------------ */

static void test_sms_success(void **state)
{
	struct login_result r;
	char *sub;

	(void)state;
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@code")), PAM_SUCCESS);
	assert_int_equal(r.acct, PAM_SUCCESS);
	/* the masked number is in the prompt itself (sshd shows info only
	 * with the next prompt); echo off by default */
	assert_transcript(&r.conv, ALICE_PROMPT);
	/* send, verify, sign in: one connection, one TLS handshake */
	assert_int_equal(stat_of("tls_handshakes"), 1);
	assert_int_equal(stat_of("connections"), 1);
	assert_int_equal(path_count("/auth/v1/verification"), 1);
	assert_int_equal(path_count("/auth/v1/verification/verify"), 1);
	assert_int_equal(path_count("/auth/v1/signin"), 1);
	assert_int_equal(outbox_count(ALICE_PHONE), 1);
	{
		char paths[256];
		int conns = request_log(paths, sizeof(paths), false);

		assert_string_equal(paths, "verification,verification/verify,signin");
		assert_int_equal(conns, 1);
	}
	/* the service got the normalised number, target USER */
	ctl("GET", "/requests", NULL);
	assert_non_null(strstr(g.ctl_body, "\"phone_number\":\"" ALICE_PHONE "\""));
	assert_non_null(strstr(g.ctl_body, "\"target\":\"USER\""));
	assert_log("sms: code sent to +86 138****0001 for cbalice request_id=");
	assert_log("auth: user=cbalice service=cb");
	assert_log("outcome=ok");
	/* the account phase bound the sub, as after a password sign-in */
	sub = account_sub("cbalice");
	assert_non_null(sub);
	assert_string_equal(sub, ALICE_SUB);
	free(sub);

	/* otp_echo shows the code as it is typed */
	write_method("sms", "otp_echo = yes\n");
	ctl("POST", "/clock", "{\"advance\": 61}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@code")), PAM_SUCCESS);
	assert_transcript(&r.conv, "SMS code sent to +86 138****0001: |");
}

static void test_sms_login_is_phone(void **state)
{
	struct login_result r;

	(void)state;
	assert_int_equal(code_login("cbbyphone", BOB_PHONE, &r, ANS("@code")), PAM_SUCCESS);
	assert_transcript(&r.conv, "*SMS code sent to +86 138****0002: |");
	/* other countries: the country code stays, the middle is masked */
	ctl("POST", "/users", "{\"username\": \"bob\", \"phone_number\": \"+1 4155550123\"}");
	remove_accounts();
	add_record("cbbob", "bob", "+1 (415) 555-0123", NULL);
	assert_int_equal(code_login("cbbob", "+1 4155550123", &r, ANS("@code")), PAM_SUCCESS);
	assert_transcript(&r.conv, "*SMS code sent to +1 415***0123: |");
}

static void test_sms_wrong_then_right(void **state)
{
	struct login_result r;

	(void)state;
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@wrong", "@code")),
			 PAM_SUCCESS);
	assert_transcript(&r.conv, ALICE_PROMPT WRONG ALICE_PROMPT);
	/* the same verification id: one SMS, two verifies, one connection */
	assert_int_equal(outbox_count(ALICE_PHONE), 1);
	assert_int_equal(path_count("/auth/v1/verification"), 1);
	assert_int_equal(path_count("/auth/v1/verification/verify"), 2);
	assert_int_equal(stat_of("tls_handshakes"), 1);
	assert_log("sms: wrong code for cbalice (1 of 3)");
}

static void test_sms_code_format(void **state)
{
	struct login_result r;

	(void)state;
	/* letters, too long, too short: refused before any request, each a
	 * try; spaces are dropped */
	write_config("method = sms\notp_retries = 5\n");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r,
				    ANS("12ab56", "1234567", "12345", "@spaced")),
			 PAM_SUCCESS);
	assert_transcript(&r.conv, ALICE_PROMPT
			  "E:The code is the 6 digits from the SMS. Try again.|" ALICE_PROMPT
			  "E:The code is the 6 digits from the SMS. Try again.|" ALICE_PROMPT
			  "E:The code is the 6 digits from the SMS. Try again.|" ALICE_PROMPT);
	assert_int_equal(path_count("/auth/v1/verification/verify"), 1);
	assert_log("malformed code for cbalice (3 of 5)");
	/* malformed answers count: the limit ends them */
	ctl("POST", "/clock", "{\"advance\": 61}");
	write_config("method = sms\notp_retries = 2\n");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("abcdef", "x", "@code")),
			 PAM_MAXTRIES);
	assert_int_equal(path_count("/auth/v1/verification/verify"), 1);
}

/* The bad-input matrix of docs/security.md for the code prompt: every
 * hostile answer is refused before any request (no verify), ends as a
 * denial, and never becomes a success or PAM_IGNORE. */
static void test_sms_code_matrix(void **state)
{
	static const size_t lengths[] = {
		1, 511, 512, 513, PAM_MAX_RESP_SIZE - 1, PAM_MAX_RESP_SIZE + 1, 1024 * 1024};
	static const char *const odd[] = {
		"12\xff\xfe"
		"56", /* invalid UTF-8 */
		"12\"456",
		"12\\456",
		"12&456",
		"12#456",
		"12%456",
		"12\n456",
		"１２３４５６", /* full-width digits: not the ASCII the service wants */
		"12\x00"
		"3456", /* an embedded NUL: the answer ends at it */
	};
	struct login_result r;
	char *big;

	(void)state;
	write_config("method = sms\notp_retries = 1\n");
	big = malloc(1024 * 1024 + 1);
	assert_non_null(big);
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]) + sizeof(odd) / sizeof(odd[0]);
	     i++) {
		const char *answer = big;

		if (i < sizeof(lengths) / sizeof(lengths[0])) {
			memset(big, '1', lengths[i]);
			big[lengths[i]] = '\0';
		} else {
			answer = odd[i - sizeof(lengths) / sizeof(lengths[0])];
		}
		ctl("POST", "/clock", "{\"advance\": 61}"); /* one SMS a minute */
		code_login("cbalice", ALICE_PHONE, &r, ANS(answer));
		if (r.auth != PAM_MAXTRIES && r.auth != PAM_AUTH_ERR)
			fail_msg("code row %zu: pam %d", i, r.auth);
		assert_int_equal(path_count("/auth/v1/verification/verify"), 0);
	}
	/* positive control: the same setup takes a right code */
	ctl("POST", "/clock", "{\"advance\": 61}");
	free(big);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@code")), PAM_SUCCESS);
	assert_int_equal(path_count("/auth/v1/verification/verify"), 1);
}

static void test_sms_local_limit(void **state)
{
	struct login_result r;

	(void)state;
	write_config("method = sms\notp_retries = 2\n");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@wrong", "@wrong", "@code")),
			 PAM_MAXTRIES);
	assert_transcript(&r.conv, ALICE_PROMPT WRONG ALICE_PROMPT TOO_MANY);
	assert_int_equal(path_count("/auth/v1/verification/verify"), 2);
	assert_int_equal(path_count("/auth/v1/signin"), 0);
	assert_true(last_delay > 0);
	assert_log("too many wrong codes for cbalice (otp_retries=2)");
	assert_log("outcome=code_aborted");
}

static void test_sms_service_aborted(void **state)
{
	struct login_result r;

	(void)state;
	/* the service gives up at its 5th wrong code, before our 10 */
	write_config("method = sms\notp_retries = 10\n");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r,
				    ANS("@wrong", "@wrong", "@wrong", "@wrong", "@wrong", "@code")),
			 PAM_MAXTRIES);
	assert_transcript(&r.conv, ALICE_PROMPT WRONG ALICE_PROMPT WRONG ALICE_PROMPT WRONG
					   ALICE_PROMPT WRONG ALICE_PROMPT TOO_MANY);
	assert_int_equal(path_count("/auth/v1/verification/verify"), 5);
	assert_int_equal(path_count("/auth/v1/verification"), 1); /* no resend */
	assert_log("error=aborted");
	assert_log("too many wrong codes for cbalice (service)");
}

static void test_sms_expired(void **state)
{
	struct login_result r;

	(void)state;
	/* the right code, after the service's clock moved 601 s on */
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@expire", "@code")),
			 PAM_AUTH_ERR);
	assert_transcript(&r.conv,
			  ALICE_PROMPT "E:The code has expired. Sign in again to get a new one.|");
	assert_int_equal(path_count("/auth/v1/verification/verify"), 1);
	assert_int_equal(path_count("/auth/v1/signin"), 0);
	assert_log("verification code expired");
	assert_log("sms: code expired for cbalice");
}

static void test_sms_rate_limited(void **state)
{
	struct login_result r;

	(void)state;
	/* a first attempt sends a code and is abandoned ... */
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("")), PAM_AUTH_ERR);
	assert_int_equal(outbox_count(ALICE_PHONE), 1);
	/* ... a second one within 60 s is refused by the service: say how
	 * long to wait, no code prompt, no resend */
	ctl("POST", "/clock", "{\"advance\": 17}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@code")), PAM_MAXTRIES);
	assert_transcript(&r.conv,
			  "E:A code was sent to this number moments ago. Wait 43 seconds and "
			  "try again.|");
	assert_int_equal(path_count("/auth/v1/verification"), 2);
	assert_int_equal(path_count("/auth/v1/verification/verify"), 0);
	assert_int_equal(outbox_count(ALICE_PHONE), 1);
	assert_log("error=rate_limit_exceeded");
	assert_log("rate limited: retry after 43 s");
	assert_log("outcome=rate_limited");
	/* resource_exhausted too, without a wait in its text: a minute */
	fault("{\"path\": \"/verification\", \"fault\": \"status\", \"status\": 429, "
	      "\"error\": \"resource_exhausted\", \"error_description\": \"quota\"}");
	assert_int_equal(code_login("cbbob", BOB_PHONE, &r, ANS("@code")), PAM_MAXTRIES);
	assert_transcript(&r.conv,
			  "E:A code was sent to this number moments ago. Wait 60 seconds and "
			  "try again.|");
}

static void test_sms_unknown_phone(void **state)
{
	struct login_result r;

	(void)state;
	/* a number on record that no CloudBase user has: the admin's to fix,
	 * said once, and the attempt ends */
	assert_int_equal(code_login("cbghost", "+86 13900000099", &r, ANS("@code")), PAM_MAXTRIES);
	assert_transcript(&r.conv, "E:No CloudBase account has the phone number on record. Contact "
				   "your administrator.|");
	assert_log("error=user_not_found");
	assert_log("sms: the service knows no user with the phone number +86 139****0099 of "
		   "cbghost");
	assert_log("outcome=user_unknown");
	assert_int_equal(outbox_count("+86 13900000099"), 0);
}

static void test_sms_no_phone(void **state)
{
	struct login_result r;
	char *frank_sub;
	char text[256];

	(void)state;
	assert_int_equal(code_login("cbfrank", NULL, &r, ANS("+86 13800000001", "@code")),
			 PAM_MAXTRIES);
	assert_transcript(&r.conv,
			  "E:No phone number is on record for this account, so no SMS code can "
			  "be sent. Contact your administrator.|");
	assert_int_equal(stat_of("requests"), 0);
	assert_log("sms: no phone number on record for cbfrank");

	/* sms_prompt_phone asks only for a record with a bound sub */
	write_config("method = sms\nsms_prompt_phone = yes\n");
	assert_int_equal(code_login("cbfrank", NULL, &r, ANS("+86 13800000001", "@code")),
			 PAM_MAXTRIES);
	assert_int_equal(stat_of("requests"), 0);
	assert_log("sms_prompt_phone needs a bound sub");

	/* bound: the typed number is normalised and used ... */
	frank_sub = ctl_get_string("/users/frank", "sub");
	assert_non_null(frank_sub);
	snprintf(text, sizeof(text),
		 "{\"username\": \"frank\", \"phone_number\": \"+86 13800000006\"}");
	ctl("POST", "/users", text);
	remove_accounts();
	add_record("cbfrank", "frank", NULL, frank_sub);
	add_record("cbalice", "alice", NULL, NULL);
	assert_int_equal(
		code_login("cbfrank", "+86 13800000006", &r, ANS("138 0000 0006", "@code")),
		PAM_SUCCESS);
	assert_transcript(&r.conv,
			  "Phone number for the SMS code: |*SMS code sent to +86 138****0006: |");
	/* ... but someone else's number gives someone else's sub: refused */
	assert_int_equal(code_login("cbfrank", ALICE_PHONE, &r, ANS(ALICE_PHONE, "@code")),
			 PAM_MAXTRIES);
	assert_log("possible account takeover");
	/* and what is no number is refused before any request */
	ctl("POST", "/stats/reset", NULL);
	assert_int_equal(code_login("cbfrank", NULL, &r, ANS("call me maybe", "@code")),
			 PAM_AUTH_ERR);
	assert_transcript(&r.conv,
			  "Phone number for the SMS code: |E:That is not a phone number.|");
	assert_int_equal(stat_of("requests"), 0);
	free(frank_sub);
}

static void test_sms_give_up(void **state)
{
	struct login_result r;

	(void)state;
	/* an empty answer gives up: no verify, no success */
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("")), PAM_AUTH_ERR);
	assert_int_equal(path_count("/auth/v1/verification/verify"), 0);
	assert_log("empty code for cbalice");
	/* the conversation fails (Ctrl-C, a closed client) */
	ctl("POST", "/clock", "{\"advance\": 61}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, NULL), PAM_CONV_ERR);
	assert_transcript(&r.conv, ALICE_PROMPT);
	assert_int_equal(path_count("/auth/v1/signin"), 0);
	/* ... also after a wrong code */
	ctl("POST", "/clock", "{\"advance\": 61}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@wrong")), PAM_CONV_ERR);
	assert_int_equal(path_count("/auth/v1/signin"), 0);
}

static void test_sms_slow_user(void **state)
{
	struct login_result r;

	(void)state;
	/* the time budget is the service's: a user who takes longer than it
	 * to type the code still gets in, on the same connection */
	write_config("method = sms\ntimeout = 1\n");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@slow")), PAM_SUCCESS);
	assert_int_equal(stat_of("tls_handshakes"), 1);
}

static void test_sms_service_faults(void **state)
{
	struct login_result r;

	(void)state;
	/* the service fails while verifying: denied, never success */
	fault("{\"path\": \"/verification/verify\", \"fault\": \"status\", \"status\": 503}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@code")),
			 PAM_AUTHINFO_UNAVAIL);
	assert_log("outcome=service");
	ctl("DELETE", "/faults", NULL);
	ctl("POST", "/clock", "{\"advance\": 61}");
	fault("{\"path\": \"/verification/verify\", \"fault\": \"malformed\"}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@code")),
			 PAM_AUTHINFO_UNAVAIL);
	ctl("DELETE", "/faults", NULL);
	ctl("POST", "/clock", "{\"advance\": 61}");
	/* a verify answer without a token */
	fault("{\"path\": \"/verification/verify\", \"fault\": \"raw\", \"status\": 200, "
	      "\"headers\": {\"Content-Type\": \"application/json\"}, \"body\": "
	      "\"{\\\"expires_in\\\": 600}\"}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@code")),
			 PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(path_count("/auth/v1/signin"), 0);
	/* a verify that takes longer than the budget: unavailable, not an
	 * "expired code" */
	ctl("DELETE", "/faults", NULL);
	ctl("POST", "/clock", "{\"advance\": 61}");
	write_config("method = sms\ntimeout = 1\n");
	fault("{\"path\": \"/verification/verify\", \"fault\": \"latency\", \"seconds\": 2}");
	log_reset();
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@code")),
			 PAM_AUTHINFO_UNAVAIL);
	assert_transcript(&r.conv, ALICE_PROMPT);
	assert_log("outcome=timeout");
	assert_no_log("expired");
}

/* A verification token is single use: the service refuses a replay, and
 * the module handles that refusal as a denial (no resend, no success). */
static void test_sms_replayed_token(void **state)
{
	struct login_result r;
	struct json_object *o, *e, *b, *t;
	char *token = NULL;
	char url[256], body[512];
	long status = 0;
	CURL *c;
	struct curl_slist *h;

	(void)state;
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@code")), PAM_SUCCESS);
	/* the request log keeps what the module sent to /signin */
	ctl("GET", "/requests", NULL);
	o = json_tokener_parse(g.ctl_body);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "requests", &b));
	for (size_t i = 0; i < json_object_array_length(b); i++) {
		struct json_object *bd;

		e = json_object_array_get_idx(b, i);
		if (json_object_object_get_ex(e, "path", &t) &&
		    strcmp(json_object_get_string(t), "/auth/v1/signin") == 0 &&
		    json_object_object_get_ex(e, "body", &bd) &&
		    json_object_object_get_ex(bd, "verification_token", &t))
			token = strdup(json_object_get_string(t));
	}
	json_object_put(o);
	assert_non_null(token);
	/* replay it */
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/auth/v1/signin", g.port);
	snprintf(body, sizeof(body), "{\"verification_token\": \"%s\"}", token);
	snprintf(g.ctl_body, 512, "%s/capath", g.emu);
	c = curl_easy_init();
	h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(c, CURLOPT_CAPATH, g.ctl_body);
	curl_easy_setopt(c, CURLOPT_USERPWD, "test-env:test-secret");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fwrite);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, stderr);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	fprintf(stderr, "\n");
	assert_int_equal(status, 400);
	free(token);

	/* the module meeting that refusal at its own /signin */
	ctl("POST", "/clock", "{\"advance\": 61}");
	log_reset();
	fault("{\"path\": \"/signin\", \"fault\": \"status\", \"status\": 400, \"error\": "
	      "\"invalid_argument\", \"error_description\": \"verification token invalid or "
	      "already used\", \"count\": 1}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@code", "@code")),
			 PAM_AUTH_ERR);
	assert_transcript(&r.conv, ALICE_PROMPT);
	assert_log("error=invalid_argument (verification token invalid or already used)");
	assert_log("sms: signin with the verification token for cbalice: auth");
	assert_int_equal(path_count("/auth/v1/verification"), 2); /* one per login */
}

/* ---- method=password+sms --------------------------------------------------- */

static void test_pwsms_success(void **state)
{
	struct login_result r;

	(void)state;
	write_method("password+sms", NULL);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS(ALICE_PW, "@code")),
			 PAM_SUCCESS);
	assert_int_equal(r.acct, PAM_SUCCESS);
	assert_transcript(&r.conv, PW_PROMPT ALICE_PROMPT);
	/* signin, user/me, verification, verify, signin, revoke of the
	 * password's session: all on one TLS connection */
	assert_int_equal(stat_of("tls_handshakes"), 1);
	assert_int_equal(stat_of("connections"), 1);
	assert_int_equal(path_count("/auth/v1/signin"), 2);
	assert_int_equal(path_count("/auth/v1/user/me"), 1);
	assert_int_equal(path_count("/auth/v1/verification/verify"), 1);
	assert_int_equal(path_count("/auth/v1/revoke"), 1);
	assert_int_equal(outbox_count(ALICE_PHONE), 1);
	{
		char paths[512];
		/* the password's session ends once /user/me has answered */
		int conns = request_log(paths, sizeof(paths), false);

		assert_string_equal(paths, "signin,user/me,revoke,verification,verification/verify,"
					   "signin");
		assert_int_equal(conns, 1);
	}
	assert_log("sms: code sent to +86 138****0001 for cbalice");
	assert_log("outcome=ok");

	/* wrong code, then right */
	ctl("POST", "/clock", "{\"advance\": 61}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS(ALICE_PW, "@wrong", "@code")),
			 PAM_SUCCESS);
	assert_transcript(&r.conv, PW_PROMPT ALICE_PROMPT WRONG ALICE_PROMPT);
}

/* No oracle: a wrong password ends exactly like a right one followed by
 * wrong codes, and sends no SMS. */
static void test_pwsms_wrong_password(void **state)
{
	struct login_result right, wrong;

	(void)state;
	write_method("password+sms", NULL);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &right,
				    ANS(ALICE_PW, "@wrong", "@wrong", "@wrong", "@code")),
			 PAM_MAXTRIES);
	assert_int_equal(outbox_count(ALICE_PHONE), 1);
	ctl("POST", "/reset", NULL);
	log_reset();
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &wrong,
				    ANS("not-her-password", "@wrong", "@wrong", "@wrong", "@code")),
			 PAM_MAXTRIES);
	assert_transcript(&right.conv,
			  PW_PROMPT ALICE_PROMPT WRONG ALICE_PROMPT WRONG ALICE_PROMPT TOO_MANY);
	assert_string_equal(wrong.conv.transcript, right.conv.transcript);
	assert_true(last_delay > 0);
	/* nothing sent, nothing verified; the log has the truth */
	assert_int_equal(outbox_count(ALICE_PHONE), 0);
	assert_int_equal(path_count("/auth/v1/verification"), 0);
	assert_int_equal(path_count("/auth/v1/verification/verify"), 0);
	assert_int_equal(path_count("/auth/v1/signin"), 1);
	assert_log("error=invalid_password");
	assert_log("password+sms: wrong password for cbalice: the code prompt follows, no code is "
		   "sent");
	assert_log("outcome=auth_failed pam=Have exhausted maximum number of retries for service");

	/* malformed codes and giving up look the same too */
	ctl("POST", "/reset", NULL);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &right, ANS(ALICE_PW, "12x", "")),
			 PAM_AUTH_ERR);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &wrong, ANS("nope", "12x", "")),
			 PAM_AUTH_ERR);
	assert_string_equal(wrong.conv.transcript, right.conv.transcript);
	ctl("POST", "/clock", "{\"advance\": 61}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &right, ANS(ALICE_PW)), PAM_CONV_ERR);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &wrong, ANS("nope")), PAM_CONV_ERR);
	assert_string_equal(wrong.conv.transcript, right.conv.transcript);
	/* the decoy honours the service's limit of 5 like the real path */
	write_config("method = password+sms\notp_retries = 10\n");
	ctl("POST", "/clock", "{\"advance\": 61}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &right,
				    ANS(ALICE_PW, "@wrong", "@wrong", "@wrong", "@wrong", "@wrong",
					"@code")),
			 PAM_MAXTRIES);
	assert_int_equal(
		code_login("cbalice", ALICE_PHONE, &wrong,
			   ANS("nope", "@wrong", "@wrong", "@wrong", "@wrong", "@wrong", "@code")),
		PAM_MAXTRIES);
	assert_string_equal(wrong.conv.transcript, right.conv.transcript);
}

/* ... nor by its timing: with every request slowed down, the code prompt
 * comes as late after a wrong password as after a right one, and so does
 * each "wrong code" */
static void test_pwsms_no_hurry(void **state)
{
	struct login_result right, wrong;
	double gap_right, gap_wrong, retry_right, retry_wrong;

	(void)state;
	write_method("password+sms", NULL);
	fault("{\"fault\": \"latency\", \"seconds\": 0.3}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &right, ANS(ALICE_PW, "@wrong", "")),
			 PAM_AUTH_ERR);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &wrong, ANS("not-hers", "@wrong", "")),
			 PAM_AUTH_ERR);
	assert_string_equal(wrong.conv.transcript, right.conv.transcript);
	assert_int_equal(right.conv.n_asked, 3);
	assert_int_equal(wrong.conv.n_asked, 3);
	gap_right = right.conv.asked[1] - right.conv.asked[0];
	gap_wrong = wrong.conv.asked[1] - wrong.conv.asked[0];
	retry_right = right.conv.asked[2] - right.conv.asked[1];
	retry_wrong = wrong.conv.asked[2] - wrong.conv.asked[1];
	fprintf(stderr,
		"# password to code prompt: right %.2f s, wrong %.2f s; retry %.2f / %.2f s\n",
		gap_right, gap_wrong, retry_right, retry_wrong);
	/* right: signin, user/me, revoke, verification = 4 x 0.3 s; without
	 * the decoy's waits the wrong one would take 0.3 s (bounds are loose:
	 * make -j runs other suites, valgrind included, beside this one) */
	assert_true(gap_right > 1.1 && gap_right < 3.0);
	assert_true(gap_wrong > 0.6 * gap_right && gap_wrong < 1.6 * gap_right);
	assert_true(retry_right > 0.25 && retry_right < 1.0);
	assert_true(retry_wrong > 0.6 * retry_right && retry_wrong < 1.6 * retry_right);
}

static void test_pwsms_phone_differs(void **state)
{
	struct login_result r;

	(void)state;
	write_method("password+sms", NULL);
	/* the record says bob's number, the service alice's: refused, like a
	 * wrong password (the prompt shows the record's number; no SMS) */
	assert_int_equal(code_login("cbalice_bobphone", BOB_PHONE, &r,
				    ANS(ALICE_PW, "@wrong", "@wrong", "@wrong")),
			 PAM_MAXTRIES);
	assert_transcript(&r.conv, PW_PROMPT "*SMS code sent to +86 138****0002: |" WRONG
					     "*SMS code sent to +86 138****0002: |" WRONG
					     "*SMS code sent to +86 138****0002: |" TOO_MANY);
	assert_int_equal(outbox_count(BOB_PHONE), 0);
	assert_int_equal(outbox_count(ALICE_PHONE), 0);
	assert_log("the phone number on record for cbalice_bobphone (+86 138****0002) differs "
		   "from the service's (+86 138****0001): refused");
	assert_log("outcome=denied");

	/* the service's number changed since the record was made: the same */
	ctl("POST", "/users", "{\"username\": \"alice\", \"phone_number\": \"+86 13900000011\"}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS(ALICE_PW, "1", "2", "3")),
			 PAM_MAXTRIES);
	assert_int_equal(outbox_count("+86 13900000011"), 0);
	assert_log("differs from the service's (+86 139****0011)");

	/* no number on record: the service's, unnamed in the prompt */
	assert_int_equal(
		code_login("cbalice_nophone", "+86 13900000011", &r, ANS(ALICE_PW, "@code")),
		PAM_SUCCESS);
	assert_transcript(&r.conv, PW_PROMPT "*SMS code sent to your phone: |");
	assert_int_equal(outbox_count("+86 13900000011"), 1);
}

static void test_pwsms_service_has_no_phone(void **state)
{
	struct login_result r;

	(void)state;
	write_method("password+sms", NULL);
	/* the service has no number for alice: the record's is used, here
	 * bob's, whose code signs bob in: both sign-ins must be one person */
	ctl("POST", "/users", "{\"username\": \"alice\", \"phone_number\": \"\"}");
	assert_int_equal(code_login("cbalice_bobphone", BOB_PHONE, &r, ANS(ALICE_PW, "@code")),
			 PAM_MAXTRIES);
	assert_log("the service has no phone number for cbalice_bobphone: using the record's");
	assert_log("gave another sub than the password: refused");
	assert_log("outcome=sub_mismatch");
	assert_int_equal(outbox_count(BOB_PHONE), 1);
	/* a /user/me without the number (an older gateway): the record's, and
	 * the same person at both sign-ins: in */
	ctl("POST", "/reset", NULL);
	fault("{\"path\": \"/user/me\", \"fault\": \"raw\", \"status\": 200, \"headers\": "
	      "{\"Content-Type\": \"application/json\"}, \"body\": \"{\\\"sub\\\": \\\"" ALICE_SUB
	      "\\\", \\\"username\\\": \\\"alice\\\"}\"}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS(ALICE_PW, "@code")),
			 PAM_SUCCESS);
	assert_transcript(&r.conv, PW_PROMPT ALICE_PROMPT);
	assert_log("the service has no phone number for cbalice: using the record's");
	ctl("DELETE", "/faults", NULL);
	ctl("POST", "/users", "{\"username\": \"alice\", \"phone_number\": \"\"}");
	/* neither has one: the decoy */
	assert_int_equal(code_login("cbalice_nophone", NULL, &r, ANS(ALICE_PW, "1", "2", "3")),
			 PAM_MAXTRIES);
	assert_log("no phone number for cbalice_nophone, neither on record nor at the service");
}

static void test_pwsms_account_states(void **state)
{
	struct login_result r;

	(void)state;
	write_method("password+sms", NULL);
	/* what the service says after a right password is what the password
	 * method says too (blocked), with no SMS sent */
	ctl("POST", "/users", "{\"username\": \"alice\", \"status\": \"BLOCKED\"}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS(ALICE_PW, "@code")),
			 PAM_MAXTRIES);
	assert_int_equal(outbox_count(ALICE_PHONE), 0);
	/* /user/me failing: denied */
	ctl("POST", "/reset", NULL);
	fault("{\"path\": \"/user/me\", \"fault\": \"status\", \"status\": 500}");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS(ALICE_PW, "@code")),
			 PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(outbox_count(ALICE_PHONE), 0);
}

static void test_pwsms_rate_limited(void **state)
{
	struct login_result r;

	(void)state;
	write_method("password+sms", NULL);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS(ALICE_PW, "")), PAM_AUTH_ERR);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS(ALICE_PW, "@code")),
			 PAM_MAXTRIES);
	assert_transcript(&r.conv,
			  PW_PROMPT "E:A code was sent to this number moments ago. Wait 60 "
				    "seconds and try again.|");
	assert_int_equal(outbox_count(ALICE_PHONE), 1);
}

/* ---- method=password|sms ---------------------------------------------------- */

static void test_choice(void **state)
{
	struct login_result r;

	(void)state;
	write_method("password|sms", NULL);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("1", ALICE_PW)), PAM_SUCCESS);
	assert_transcript(&r.conv, MENU_PROMPT PW_PROMPT);
	assert_int_equal(outbox_count(ALICE_PHONE), 0);
	assert_int_equal(stat_of("tls_handshakes"), 1);
	ctl("POST", "/stats/reset", NULL);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS(" 2 ", "@code")), PAM_SUCCESS);
	assert_transcript(&r.conv, MENU_PROMPT ALICE_PROMPT);
	assert_int_equal(stat_of("tls_handshakes"), 1);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("password", "wrong-one")),
			 PAM_AUTH_ERR);
	ctl("POST", "/stats/reset", NULL);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("3", ALICE_PW)), PAM_AUTH_ERR);
	assert_transcript(&r.conv, MENU_PROMPT "E:Answer 1 (password) or 2 (SMS code).|");
	assert_int_equal(stat_of("requests"), 0);
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, NULL), PAM_CONV_ERR);
}

/* ---- sshd ------------------------------------------------------------------- */

static void test_sshd_password_authentication(void **state)
{
	struct login_result r;

	(void)state;
	/* sshd's PasswordAuthentication answers every echo-off prompt with
	 * the password: the code prompt gets it, the log says what to do */
	write_method("password+sms", NULL);
	write_service("sshd-cb", "");
	memset(&r, 0, sizeof(r));
	r.conv.answers[0] = ALICE_PW;
	r.conv.mode = CONV_SSHD;
	assert_int_equal(harness_login("sshd-cb", "cbalice", NULL, 0, &r), PAM_MAXTRIES);
	assert_log("service sshd-cb: an answer to the code prompt is not a code for cbalice; "
		   "one-time codes need sshd's keyboard-interactive authentication "
		   "(KbdInteractiveAuthentication yes)");
	/* the menu (echo on) fails under PasswordAuthentication */
	write_method("password|sms", NULL);
	log_reset();
	assert_int_equal(code_run("sshd-cb", "cbalice", ALICE_PHONE, &r, NULL), PAM_CONV_ERR);
	assert_log("the method menu got no answer for cbalice");
	/* other services get no such hint */
	log_reset();
	assert_int_equal(code_run("cb", "cbalice", ALICE_PHONE, &r, NULL), PAM_CONV_ERR);
	assert_no_log("KbdInteractiveAuthentication");
}

/* ---- leaks, secrecy ------------------------------------------------------------ */

static const char *self_exe;

/* One login in a fresh process under valgrind: no invalid access, no leak. */
__attribute__((unused)) static int sms_in_valgrind(const char *user, const char *phone,
						   const char *a0, const char *a1)
{
	return login_once_in_valgrind(self_exe, user, phone, a0, a1, (const char *)NULL);
}

static int login_once(char **argv)
{
	struct login_result r;

	if (!harness_init(true))
		return 99;
	g.dir = argv[2];
	code_run("cb", argv[3], argv[4], &r, ANS(argv[5], argv[6]));
	g.dir = NULL;
	return r.auth == PAM_SUCCESS ? r.acct : r.auth;
}

/* valgrind and ASan exclude each other: a sanitizer build leaves it out */
#ifndef __SANITIZE_ADDRESS__
static void test_valgrind(void **state)
{
	(void)state;
	write_method("sms", "timeout = 30\notp_retries = 2\n");
	assert_int_equal(sms_in_valgrind("cbalice", ALICE_PHONE, "@wrong", "@code"), PAM_SUCCESS);
	assert_int_equal(sms_in_valgrind("cbbob", BOB_PHONE, "@wrong", "12x"), PAM_MAXTRIES);
	write_method("password+sms", "timeout = 30\notp_retries = 2\n");
	ctl("POST", "/clock", "{\"advance\": 61}");
	assert_int_equal(sms_in_valgrind("cbalice", ALICE_PHONE, ALICE_PW, "@code"), PAM_SUCCESS);
	assert_int_equal(sms_in_valgrind("cbalice", ALICE_PHONE, "wrong-pw", "@code"),
			 PAM_CONV_ERR);
}
#endif

/* Last: no code, verification id or token in the whole run's log. */
static void test_no_secret_in_log(void **state)
{
	struct login_result r;

	(void)state;
	write_config("method = sms\ndebug = yes\n");
	assert_int_equal(code_login("cbalice", ALICE_PHONE, &r, ANS("@wrong", "@code")),
			 PAM_SUCCESS);
	assert_log("sms: code sent to +86 138****0001 for cbalice"); /* it did log */
	drain_log();
	assert_true(g.n_codes > 20);
	assert_true(g.loglen > 5000);
	for (int i = 0; i < g.n_codes; i++)
		if (strstr(g.log, g.codes[i]) != NULL) {
			fprintf(stderr, "# code %s in the log\n", g.codes[i]);
			fail();
		}
	assert_null(strstr(g.log, "vid-")); /* the emulator's verification ids */
	assert_null(strstr(g.log, "vt-")); /* and verification tokens */
	assert_null(strstr(g.log, "eyJ")); /* no JWT */
	assert_null(strstr(g.log, ALICE_PW));
	assert_null(strstr(g.log, "13800000001")); /* numbers only masked */
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_sms_success, setup),
		cmocka_unit_test_setup(test_sms_login_is_phone, setup),
		cmocka_unit_test_setup(test_sms_wrong_then_right, setup),
		cmocka_unit_test_setup(test_sms_code_format, setup),
		cmocka_unit_test_setup(test_sms_code_matrix, setup),
		cmocka_unit_test_setup(test_sms_local_limit, setup),
		cmocka_unit_test_setup(test_sms_service_aborted, setup),
		cmocka_unit_test_setup(test_sms_expired, setup),
		cmocka_unit_test_setup(test_sms_rate_limited, setup),
		cmocka_unit_test_setup(test_sms_unknown_phone, setup),
		cmocka_unit_test_setup(test_sms_no_phone, setup),
		cmocka_unit_test_setup(test_sms_give_up, setup),
		cmocka_unit_test_setup(test_sms_slow_user, setup),
		cmocka_unit_test_setup(test_sms_service_faults, setup),
		cmocka_unit_test_setup(test_sms_replayed_token, setup),
		cmocka_unit_test_setup(test_pwsms_success, setup),
		cmocka_unit_test_setup(test_pwsms_wrong_password, setup),
		cmocka_unit_test_setup(test_pwsms_no_hurry, setup),
		cmocka_unit_test_setup(test_pwsms_phone_differs, setup),
		cmocka_unit_test_setup(test_pwsms_service_has_no_phone, setup),
		cmocka_unit_test_setup(test_pwsms_account_states, setup),
		cmocka_unit_test_setup(test_pwsms_rate_limited, setup),
		cmocka_unit_test_setup(test_choice, setup),
		cmocka_unit_test_setup(test_sshd_password_authentication, setup),
#ifndef __SANITIZE_ADDRESS__
		cmocka_unit_test_setup(test_valgrind, setup),
#endif
		cmocka_unit_test_setup(test_no_secret_in_log, setup),
	};

	self_exe = argv[0];
	if (argc == 7 && strcmp(argv[1], "--login-once") == 0)
		return login_once(argv);
	return harness_main("sms", tests, NULL);
}
