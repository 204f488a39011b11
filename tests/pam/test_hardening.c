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
#include <time.h>

#include <json-c/json.h>
#include <security/pam_appl.h>

#include "harness.h"
#include "testutil.h"

#define ALICE_SUB "9c5b1f3e-0a6d-4a57-9a43-2b8f0c7e1a01"
#define ALICE_PW "Alice-Passw0rd"
#define ALICE_PHONE "+86 13800000001"

/* ---- the conversation -------------------------------------------------- */

#define MAX_ANSWERS 12

/* Answers in order; "@code" is the last code the emulator sent to phone.
 * The transcript: "*prompt|" (echo off), "prompt|" (echo on), "E:msg|",
 * "I:msg|". */
struct conv_data {
	const char *answers[MAX_ANSWERS];
	int next;
	const char *phone;
	unsigned sleep_ms; /* before each answer */
	char transcript[2048];
};

static char *outbox_code(const char *phone)
{
	char path[128];
	size_t n = (size_t)snprintf(path, sizeof(path), "/outbox?phone=");

	for (const char *p = phone; *p != '\0' && n + 4 < sizeof(path); p++)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "%s",
				      *p == '+'	  ? "%2B"
				      : *p == ' ' ? "%20"
						  : (char[]){*p, '\0'});
	return ctl_get_string(path, "code");
}

static void note(struct conv_data *cd, const char *prefix, const char *text)
{
	size_t l = strlen(cd->transcript);

	snprintf(cd->transcript + l, sizeof(cd->transcript) - l, "%s%s|", prefix, text);
}

static int conv_fn(int n, const struct pam_message **msg, struct pam_response **resp, void *arg)
{
	struct conv_data *cd = arg;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		int style = msg[i]->msg_style;
		const char *a;

		if (style == PAM_ERROR_MSG || style == PAM_TEXT_INFO) {
			note(cd, style == PAM_ERROR_MSG ? "E:" : "I:", msg[i]->msg);
			continue;
		}
		note(cd, style == PAM_PROMPT_ECHO_OFF ? "*" : "", msg[i]->msg);
		if (cd->next >= MAX_ANSWERS || cd->answers[cd->next] == NULL) {
			for (int j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_CONV_ERR;
		}
		if (cd->sleep_ms > 0)
			usleep(cd->sleep_ms * 1000);
		a = cd->answers[cd->next++];
		r[i].resp = strcmp(a, "@code") == 0 ? outbox_code(cd->phone) : strdup(a);
		if (r[i].resp == NULL)
			r[i].resp = strdup("000000");
	}
	*resp = r;
	return PAM_SUCCESS;
}

struct result {
	int auth;
	double seconds;
	struct conv_data conv;
};

/* pam_authenticate for user on service "cb", answering with the
 * NULL-terminated list; the transcript and time in r. */
static int login_ex(const char *user, const char *phone, unsigned sleep_ms, struct result *r,
		    const char *const *answers)
{
	static struct pam_conv conv;
	pam_handle_t *pamh = NULL;
	char confdir[512];
	double t0;

	memset(r, 0, sizeof(*r));
	r->conv.phone = phone;
	r->conv.sleep_ms = sleep_ms;
	for (int i = 0; answers != NULL && answers[i] != NULL && i < MAX_ANSWERS; i++)
		r->conv.answers[i] = answers[i];
	snprintf(confdir, sizeof(confdir), "%s/pam.d", g.dir);
	conv.conv = conv_fn;
	conv.appdata_ptr = &r->conv;
	assert_int_equal(pam_start_confdir("cb", user, &conv, confdir, &pamh), PAM_SUCCESS);
	pam_set_item(pamh, PAM_RHOST, "203.0.113.9");
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	t0 = now_s();
	r->auth = pam_authenticate(pamh, 0);
	r->seconds = now_s() - t0;
	pam_end(pamh, r->auth);
	drain_log();
	return r->auth;
}

#define ANS(...) ((const char *const[]){__VA_ARGS__, NULL})

static int login(const char *user, struct result *r, const char *const *answers)
{
	return login_ex(user, ALICE_PHONE, 0, r, answers);
}

#define assert_transcript(r, expected)                                                             \
	do {                                                                                       \
		if (strcmp((r)->conv.transcript, expected) != 0) {                                 \
			fprintf(stderr, "# transcript:\n#   got  %s\n#   want %s\n",               \
				(r)->conv.transcript, expected);                                   \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

/* A raw 200 application/json answer with this body to the next request of
 * path. */
static void raw_answer(const char *path, const char *body)
{
	struct json_object *rule = json_object_new_object(), *h = json_object_new_object();

	json_object_object_add(rule, "fault", json_object_new_string("raw"));
	json_object_object_add(rule, "status", json_object_new_int(200));
	json_object_object_add(rule, "count", json_object_new_int(1));
	json_object_object_add(rule, "path", json_object_new_string(path));
	json_object_object_add(h, "Content-Type", json_object_new_string("application/json"));
	json_object_object_add(rule, "headers", h);
	json_object_object_add(rule, "body", json_object_new_string(body));
	fault(json_object_to_json_string_ext(rule, JSON_C_TO_STRING_PLAIN));
	json_object_put(rule);
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
	struct result r;
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
		struct result r;

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
	struct result r;

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
	struct result r;

	(void)state;
	add_record("cbalice", "alice", NULL, NULL);
	write_config_url("http://127.0.0.1:1@192.0.2.2:18080/auth/v1", "");
	assert_int_equal(login("cbalice", &r, ANS(ALICE_PW)), PAM_SERVICE_ERR);
	assert_transcript(&r, "");
	assert_true(r.seconds < 1.0);
	assert_log("base_url: must not hold a user name or password");
	assert_log("outcome=config_error");

	log_reset();
	snprintf(url, sizeof(url), "https://test-env:test-secret@127.0.0.1:%d/auth/v1", g.port);
	write_config_url(url, "");
	ctl("DELETE", "/requests", NULL);
	assert_int_equal(login("cbalice", &r, ANS(ALICE_PW)), PAM_SERVICE_ERR);
	assert_transcript(&r, "");
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
		struct result r;

		snprintf(extra, sizeof(extra), "method = %s\n", methods[i]);
		write_config(extra);
		log_reset();
		fault("{\"path\":\"/signin\",\"fault\":\"status\",\"status\":409,"
		      "\"error\":\"aborted\",\"count\":1}");
		assert_int_equal(login("cbalice", &r, i == 0 ? ANS(ALICE_PW) : ANS("1", ALICE_PW)),
				 PAM_MAXTRIES);
		assert_transcript(&r,
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

/* The API requests the emulator saw, in order, as "path@conn,...": the path
 * without /auth/v1/, the connection as a letter in order of first use
 * (a, b, ...), so "verification@a,verification/verify@b" is a new
 * connection for the verify. */
static void request_log(char *out, size_t outsz)
{
	struct json_object *o, *list;
	long conns[26];
	int n_conns = 0;

	out[0] = '\0';
	ctl("GET", "/requests", NULL);
	o = json_tokener_parse(g.ctl_body);
	if (o == NULL || !json_object_object_get_ex(o, "requests", &list)) {
		json_object_put(o);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *e = json_object_array_get_idx(list, i), *v;
		const char *path = "";
		long conn = -1;
		int c = 0;
		size_t l = strlen(out);

		if (json_object_object_get_ex(e, "path", &v))
			path = json_object_get_string(v);
		if (strncmp(path, "/auth/v1/", 9) == 0)
			path += 9;
		if (json_object_object_get_ex(e, "connection", &v))
			conn = (long)json_object_get_int64(v);
		while (c < n_conns && conns[c] != conn)
			c++;
		if (c == n_conns && n_conns < 26)
			conns[n_conns++] = conn;
		snprintf(out + l, outsz - l, "%s%s@%c", l > 0 ? "," : "", path, 'a' + c);
	}
	json_object_put(o);
}

#define assert_requests(expected)                                                                  \
	do {                                                                                       \
		char got_[512];                                                                    \
		request_log(got_, sizeof(got_));                                                   \
		if (strcmp(got_, expected) != 0) {                                                 \
			fprintf(stderr, "# requests:\n#   got  %s\n#   want %s\n", got_,           \
				expected);                                                         \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

static long sent_count(const char *phone)
{
	struct json_object *o, *e, *c;
	long n = 0;

	ctl("GET", "/outbox", NULL);
	o = json_tokener_parse(g.ctl_body);
	if (o != NULL && json_object_object_get_ex(o, phone, &e) &&
	    json_object_object_get_ex(e, "count", &c))
		n = (long)json_object_get_int64(c);
	json_object_put(o);
	return n;
}

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
	struct result r;

	(void)state;
	sms_setup("password+sms");
	fault("{\"path\":\"/verification\",\"fault\":\"close-before-answer\",\"count\":1}");
	assert_int_equal(login("cbalice", &r, ANS(ALICE_PW, "@code")), PAM_AUTHINFO_UNAVAIL);
	assert_requests("signin@a,user/me@a,revoke@a,verification@a");
	assert_int_equal(sent_count(ALICE_PHONE), 1);
	assert_log("POST /verification request_id=");
	assert_log("the connection closed before an answer; not sent again");
	assert_log("outcome=transport_error");
	assert_null(strstr(r.conv.transcript, "Wait"));
}

/* The last /signin of the SMS flow (the verification token, single use),
 * on the connection of the send and the verify. */
static void test_token_signin_sent_once(void **state)
{
	struct result r;

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
	struct result r;

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
	struct result r;

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
	struct result r;

	(void)state;
	sms_setup("sms");
	fault("{\"path\":\"/verification\",\"fault\":\"idle-close\",\"seconds\":0,"
	      "\"count\":1}");
	assert_int_equal(login("cbalice", &r, ANS("@code")), PAM_SUCCESS);
	assert_requests("verification@a,verification/verify@b,signin@b");
	assert_int_equal(sent_count(ALICE_PHONE), 1);
}

/* A GET changes nothing at the service: the module lets libcurl send it
 * again on a new connection, and says so in the log. */
static void test_get_may_go_again(void **state)
{
	struct result r;

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
	struct result r;

	(void)state;
	sms_setup("sms");
	assert_int_equal(login_ex("cbalice", ALICE_PHONE, 2500, &r, ANS("@code")), PAM_SUCCESS);
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
		struct result m, r, again;

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
	struct result a, b;

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
	int rc;

	if (!harness_init(false)) {
		printf("1..0 # SKIP run through hardening_tests.sh\n");
		return 0;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	harness_done();
	return rc;
}
