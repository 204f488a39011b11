/* SPDX-License-Identifier: BSD-3-Clause */
/* What the second hardening review found, through real libpam against the
 * emulator: answers that mean two things, a null error, messages that fit
 * the flow, the shape of the conversation for names the module refuses,
 * and requests libcurl would send twice on its own. Run by
 * hardening_tests.sh (pam_tests.sh running this binary) under
 * tests/ns-run. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>

#include <security/pam_appl.h>

#include "harness.h"
#include "testutil.h"

#define ALICE_SUB "9c5b1f3e-0a6d-4a57-9a43-2b8f0c7e1a01"
#define ALICE_PW "Alice-Passw0rd"
#define ALICE_PHONE "+86 13800000001"

#define RHOST "203.0.113.9"

/* pam_authenticate for user on service "cb", answering in order from the
 * NULL-terminated list ("@code": the code the emulator last sent to Alice's
 * phone), delay_ms before each answer; the transcript and time in r. */
static int login_ex(const char *user, unsigned delay_ms, struct login_result *r,
		    const char *const *answers)
{
	memset(r, 0, sizeof(*r));
	r->conv.contact = ALICE_PHONE;
	r->conv.delay_ms = delay_ms;
	conv_answers(&r->conv, answers);
	return harness_login("cb", user, RHOST, 0, r);
}

static int login(const char *user, struct login_result *r, const char *const *answers)
{
	return login_ex(user, 0, r, answers);
}

static int setup(void **state)
{
	(void)state;
	ctl("POST", "/reset", NULL);
	remove_accounts();
	write_config("");
	write_service("cb", "");
	log_reset();
	return 0;
}

/* ---- answers that mean two things -------------------------------------- */

/* The review's sample: single-quoted keys, which json-c takes and the
 * member count did not see, hid a second "sub"; json-c kept the last, the
 * bound one. */
static void test_single_quoted_keys(void **state)
{
	struct login_result r;
	char *sub;

	(void)state;
	add_record("cbalice", "alice", NULL, "S-BOUND");
	raw_answer("/signin", "{\"access_token\":\"t\",\"refresh_token\":\"r\",\"expires_in\":7200,"
			      "\"sub\":\"S-OTHER\",'a\"':1,'b\"':2,\"sub\":\"S-BOUND\"}");
	assert_int_equal(login("cbalice", &r, ANS(ALICE_PW)), PAM_AUTHINFO_UNAVAIL);
	assert_log("outcome=protocol_error");
	sub = account_sub("cbalice");
	assert_string_equal(sub, "S-BOUND");
	free(sub);
}

/* Every other non-RFC 8259 spelling is refused the same way through the
 * module (the unit test has the full table). */
static void test_not_rfc8259_answers(void **state)
{
	static const char *const bodies[] = {
		"{\"access_token\":\"t\",\"sub\":\"" ALICE_SUB "\",\"expires_in\":NaN}",
		"{\"access_token\":\"t\",\"sub\":\"" ALICE_SUB "\"/*c*/}",
		"{\"access_token\":\"t\",\"sub\":\"" ALICE_SUB "\",}",
		"{\"access_token\":\"t\",\"\\u0073ub\":\"" ALICE_SUB "\"}",
		"{\"access_token\":\"t\\ud800\",\"sub\":\"" ALICE_SUB "\"}",
		"{\"access_token\":\"t\",\"sub\":\"" ALICE_SUB "\",\"expires_in\":07200}",
	};

	(void)state;
	add_record("cbalice", "alice", NULL, NULL);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct login_result r;

		log_reset();
		raw_answer("/signin", bodies[i]);
		if (login("cbalice", &r, ANS(ALICE_PW)) != PAM_AUTHINFO_UNAVAIL) {
			fprintf(stderr, "# accepted: %s\n", bodies[i]);
			fail();
		}
		assert_log("outcome=protocol_error");
	}
	assert_null(account_sub("cbalice"));
}

/* The docs: any "error" key denies. "error": null next to tokens was read
 * as "no error". */
static void test_error_null(void **state)
{
	struct login_result r;

	(void)state;
	add_record("cbalice", "alice", NULL, NULL);
	raw_answer("/signin", "{\"error\":null,\"access_token\":\"t\",\"sub\":\"S\"}");
	assert_int_equal(login("cbalice", &r, ANS(ALICE_PW)), PAM_AUTHINFO_UNAVAIL);
	assert_log("outcome=protocol_error");
	assert_null(account_sub("cbalice"));
}

/* ---- base_url with userinfo ---------------------------------------------- */

/* The review's sample sent the password and the Basic client credential in
 * clear to 192.0.2.2. Refused as a config error before any prompt; the
 * same trick towards the emulator shows nothing is sent. */
static void test_base_url_userinfo(void **state)
{
	char url[256];
	struct login_result r;

	(void)state;
	add_record("cbalice", "alice", NULL, NULL);
	write_config_url("http://127.0.0.1:1@192.0.2.2:18080/auth/v1", "");
	assert_int_equal(login("cbalice", &r, ANS(ALICE_PW)), PAM_SERVICE_ERR);
	assert_transcript(&r.conv, "");
	assert_true(r.seconds < 1.0);
	assert_log("base_url: must not hold a user name or password");
	assert_log("outcome=config_error");

	log_reset();
	snprintf(url, sizeof(url), "https://test-env:test-secret@127.0.0.1:%d/auth/v1", g.port);
	write_config_url(url, "");
	ctl("DELETE", "/requests", NULL);
	assert_int_equal(login("cbalice", &r, ANS(ALICE_PW)), PAM_SERVICE_ERR);
	assert_transcript(&r.conv, "");
	ctl("GET", "/requests", NULL);
	assert_string_equal(g.ctl_body, "{\"requests\":[]}");
}

/* ---- messages that fit the flow -------------------------------------------- */

/* "aborted" to a password sign-in: the user typed a password, and was told
 * about codes. */
static void test_password_aborted_message(void **state)
{
	static const char *const methods[] = {"password", "password|sms"};

	(void)state;
	add_record("cbalice", "alice", ALICE_PHONE, NULL);
	for (size_t i = 0; i < 2; i++) {
		char extra[64];
		struct login_result r;

		snprintf(extra, sizeof(extra), "method = %s\n", methods[i]);
		write_config(extra);
		log_reset();
		fault("{\"path\":\"/signin\",\"fault\":\"status\",\"status\":409,"
		      "\"error\":\"aborted\",\"count\":1}");
		assert_int_equal(login("cbalice", &r, i == 0 ? ANS(ALICE_PW) : ANS("1", ALICE_PW)),
				 PAM_MAXTRIES);
		assert_transcript(&r.conv,
				  i == 0 ? "*Password: |E:Too many failed sign-ins. Try again "
					   "later, or sign in once through the CloudBase "
					   "console.|"
					 : "Sign in with 1) password or 2) SMS code: |*Password: "
					   "|E:Too many failed sign-ins. Try again later, or sign "
					   "in once through the CloudBase console.|");
		assert_null(strstr(r.conv.transcript, "wrong codes"));
		assert_log("error=aborted");
	}
}

/* ---- each request sent once ------------------------------------------------ */

/* The API requests the emulator saw, each with its connection (see
 * request_log). */
#define assert_requests(expected)                                                                  \
	do {                                                                                       \
		char got_[512];                                                                    \
		request_log(got_, sizeof(got_), true);                                             \
		if (strcmp(got_, expected) != 0) {                                                 \
			fprintf(stderr, "# requests:\n#   got  %s\n#   want %s\n", got_,           \
				expected);                                                         \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

static void sms_setup(const char *method)
{
	char extra[64];

	add_record("cbalice", "alice", ALICE_PHONE, NULL);
	snprintf(extra, sizeof(extra), "method = %s\n", method);
	write_config(extra);
}

/* The review's case: /verification on a reused connection (after the
 * password sign-in, /user/me and the revoke of password+sms), read and
 * acted on by the service, and the connection closes before the answer.
 * libcurl resent it on a new connection: a second SMS, or (within the
 * minute) a 429 that failed the login. Now it is sent once and the login
 * fails cleanly. */
static void test_verification_sent_once(void **state)
{
	struct login_result r;

	(void)state;
	sms_setup("password+sms");
	fault("{\"path\":\"/verification\",\"fault\":\"close-before-answer\",\"count\":1}");
	assert_int_equal(login("cbalice", &r, ANS(ALICE_PW, "@code")), PAM_AUTHINFO_UNAVAIL);
	assert_requests("signin@a,user/me@a,revoke@a,verification@a");
	assert_int_equal(outbox_count(ALICE_PHONE), 1);
	assert_log("POST /verification request_id=");
	assert_log("the connection closed before an answer; not sent again");
	assert_log("outcome=transport_error");
	assert_null(strstr(r.conv.transcript, "Wait"));
}

/* The last /signin of the SMS flow (the verification token, single use),
 * on the connection of the send and the verify. */
static void test_token_signin_sent_once(void **state)
{
	struct login_result r;

	(void)state;
	sms_setup("sms");
	fault("{\"path\":\"/signin\",\"fault\":\"close-before-answer\",\"count\":1}");
	assert_int_equal(login("cbalice", &r, ANS("@code")), PAM_AUTHINFO_UNAVAIL);
	assert_requests("verification@a,verification/verify@a,signin@a");
	assert_log("outcome=transport_error");
	assert_null(account_sub("cbalice"));
}

/* The first request, on a new connection: libcurl never resent that one;
 * still once. */
static void test_first_request_sent_once(void **state)
{
	struct login_result r;

	(void)state;
	add_record("cbalice", "alice", NULL, NULL);
	fault("{\"path\":\"/signin\",\"fault\":\"close-before-answer\",\"count\":1}");
	assert_int_equal(login("cbalice", &r, ANS(ALICE_PW)), PAM_AUTHINFO_UNAVAIL);
	assert_requests("signin@a");
	assert_log("outcome=transport_error");
}

/* The connection dies in the middle of the answer: once, a clean failure. */
static void test_mid_answer_close(void **state)
{
	struct login_result r;

	(void)state;
	sms_setup("sms");
	fault("{\"path\":\"/verification/verify\",\"fault\":\"close\",\"count\":1}");
	assert_int_equal(login("cbalice", &r, ANS("@code")), PAM_AUTHINFO_UNAVAIL);
	assert_requests("verification@a,verification/verify@a");
	assert_log("outcome=transport_error");
}

/* The server closes the kept-alive connection while the user reads the
 * SMS: the next requests go on a new connection, each once, and the login
 * succeeds. */
static void test_idle_close_while_typing(void **state)
{
	struct login_result r;

	(void)state;
	sms_setup("sms");
	fault("{\"path\":\"/verification\",\"fault\":\"idle-close\",\"seconds\":0,"
	      "\"count\":1}");
	assert_int_equal(login("cbalice", &r, ANS("@code")), PAM_SUCCESS);
	assert_requests("verification@a,verification/verify@b,signin@b");
	assert_int_equal(outbox_count(ALICE_PHONE), 1);
}

/* A GET changes nothing at the service: the module lets libcurl send it
 * again on a new connection, and says so in the log. */
static void test_get_may_go_again(void **state)
{
	struct login_result r;

	(void)state;
	sms_setup("password+sms");
	fault("{\"path\":\"/user/me\",\"fault\":\"close-before-answer\",\"count\":1}");
	assert_int_equal(login("cbalice", &r, ANS(ALICE_PW, "@code")), PAM_SUCCESS);
	assert_requests("signin@a,user/me@a,user/me@b,revoke@b,verification@b,"
			"verification/verify@b,signin@b");
	assert_log("GET /user/me request_id=");
	assert_log("sent again on a new connection (a GET changes nothing)");
}

/* A connection idle longer than CB_HTTP_MAX_IDLE_S (2 s) is not reused:
 * the user took 2.5 s to type the code. */
static void test_idle_connection_not_reused(void **state)
{
	struct login_result r;

	(void)state;
	sms_setup("sms");
	assert_int_equal(login_ex("cbalice", 2500, &r, ANS("@code")), PAM_SUCCESS);
	assert_requests("verification@a,verification/verify@b,signin@b");
}

/* ---- the conversation of a refused name ------------------------------------- */

/* The transcript with every digit made 'N': the shape of the masked number
 * ("+86 138****0001" and "+86 1NN****NNNN" alike), not its value. */
static void shape(const char *in, char *out, size_t outsz)
{
	size_t i = 0;

	for (; in[i] != '\0' && i + 1 < outsz; i++)
		out[i] = in[i] >= '0' && in[i] <= '9' ? 'N' : in[i];
	out[i] = '\0';
}

/* A managed user failing (wrong codes or password) and several names the
 * module refuses (no record; a name no account can have; a local account
 * without a record) see conversations of one shape under each SMS method:
 * the same prompts, echo, messages and order. The names refused get a
 * number shaped like a real one, the same every time; nothing is sent. */
static void test_refused_name_prompts_like_managed(void **state)
{
	static const struct {
		const char *method, *extra;
		const char *const managed[6], *const refused[6];
		bool same_code;
	} cases[] = {
		{"sms", "", {"000000", "000000", "000000"}, {"000000", "000000", "000000"}, true},
		{"sms",
		 "otp_echo = yes\n",
		 {"000000", "000000", "000000"},
		 {"000000", "000000", "000000"},
		 true},
		{"password+sms",
		 "",
		 {ALICE_PW, "000000", "000000", "000000"},
		 {"x", "000000", "000000", "000000"},
		 true},
		{"password|sms",
		 "",
		 {"2", "000000", "000000", "000000"},
		 {"2", "000000", "000000", "000000"},
		 true},
		/* the password choice: the prompt matches; the PAM code is
		 * PAM_USER_UNKNOWN as with method=password (docs/security.md) */
		{"password|sms", "", {"1", "wrong-password"}, {"1", "wrong-password"}, false},
		/* answers that end a managed run early end the decoy the same way */
		{"sms", "", {""}, {""}, true},
		{"sms", "", {"12ab", "000000", "000000"}, {"12ab", "000000", "000000"}, true},
	};
	static const char *const refused_names[] = {"cbnobody", "Bad Name", "daemon"};

	(void)state;
	add_record("cbalice", "alice", ALICE_PHONE, NULL);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char extra[128], want[2048], got[2048];
		struct login_result m, r, again;

		snprintf(extra, sizeof(extra), "method = %s\n%s", cases[c].method, cases[c].extra);
		write_config(extra);
		ctl("POST", "/reset", NULL);
		login("cbalice", &m, cases[c].managed);
		shape(m.conv.transcript, want, sizeof(want));
		ctl("POST", "/reset", NULL);
		for (size_t n = 0; n < sizeof(refused_names) / sizeof(refused_names[0]); n++) {
			login(refused_names[n], &r, cases[c].refused);
			shape(r.conv.transcript, got, sizeof(got));
			if (strcmp(got, want) != 0 || (cases[c].same_code && r.auth != m.auth)) {
				fprintf(stderr,
					"# %s %s, %s:\n#   managed %s (%d)\n#   refused %s (%d)\n",
					cases[c].method, cases[c].extra, refused_names[n],
					m.conv.transcript, m.auth, r.conv.transcript, r.auth);
				fail();
			}
			/* the same number every time for the same name */
			login(refused_names[n], &again, cases[c].refused);
			assert_string_equal(again.conv.transcript, r.conv.transcript);
		}
		/* nothing reached the service for the refused names */
		ctl("GET", "/requests", NULL);
		assert_string_equal(g.ctl_body, "{\"requests\":[]}");
	}
}

/* Two names the module refuses get two numbers (the number is not one
 * constant a client could recognise), and neither is the managed one. */
static void test_refused_names_get_their_own_numbers(void **state)
{
	struct login_result a, b;

	(void)state;
	write_config("method = sms\n");
	login("cbnobody", &a, ANS(""));
	login("cbstranger", &b, ANS(""));
	assert_non_null(strstr(a.conv.transcript, "*SMS code sent to +86 1"));
	assert_string_not_equal(a.conv.transcript, b.conv.transcript);
	assert_null(strstr(a.conv.transcript, "138****0001"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_single_quoted_keys, setup),
		cmocka_unit_test_setup(test_not_rfc8259_answers, setup),
		cmocka_unit_test_setup(test_error_null, setup),
		cmocka_unit_test_setup(test_base_url_userinfo, setup),
		cmocka_unit_test_setup(test_password_aborted_message, setup),
		cmocka_unit_test_setup(test_verification_sent_once, setup),
		cmocka_unit_test_setup(test_token_signin_sent_once, setup),
		cmocka_unit_test_setup(test_first_request_sent_once, setup),
		cmocka_unit_test_setup(test_mid_answer_close, setup),
		cmocka_unit_test_setup(test_idle_close_while_typing, setup),
		cmocka_unit_test_setup(test_get_may_go_again, setup),
		cmocka_unit_test_setup(test_idle_connection_not_reused, setup),
		cmocka_unit_test_setup(test_refused_name_prompts_like_managed, setup),
		cmocka_unit_test_setup(test_refused_names_get_their_own_numbers, setup),
	};

	return harness_main("hardening", tests, NULL);
}
