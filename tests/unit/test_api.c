/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the CloudBase API parsers and the error mapping, on canned
 * bodies (no network), plus the UUIDv4 request ids. */
#include "config.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "api.h"
#include "http.h"
#include "testutil.h"

static struct json_object *parse_ok(const char *body)
{
	struct json_object *o = NULL;

	assert_int_equal(cb_api_parse_json(body, strlen(body), &o), CB_OK);
	return o;
}

static cb_status tokens_of(const char *body, struct cb_tokens *t)
{
	struct json_object *o = parse_ok(body);
	cb_status st = cb_api_parse_tokens(o, t);

	json_object_put(o);
	return st;
}

static void test_json_strict(void **state)
{
	struct json_object *o = NULL;
	const char nul[] = "{\"a\":1}\0{}";
	char deep[256] = "";

	(void)state;
	assert_int_equal(cb_api_parse_json("{}", 2, &o), CB_OK);
	json_object_put(o);
	assert_int_equal(cb_api_parse_json("{} \n", 4, &o), CB_OK);
	json_object_put(o);
	assert_int_equal(cb_api_parse_json("{} x", 4, &o), CB_ERR_PROTOCOL);
	assert_int_equal(cb_api_parse_json("{}{}", 4, &o), CB_ERR_PROTOCOL);
	assert_int_equal(cb_api_parse_json("[1]", 3, &o), CB_ERR_PROTOCOL);
	assert_int_equal(cb_api_parse_json("", 0, &o), CB_ERR_PROTOCOL);
	assert_int_equal(cb_api_parse_json("{\"a\":", 5, &o), CB_ERR_PROTOCOL);
	assert_int_equal(cb_api_parse_json(nul, sizeof(nul) - 1, &o), CB_ERR_PROTOCOL);
	/* json-c leniencies refused in strict mode, and invalid UTF-8 */
	assert_int_equal(cb_api_parse_json("{\"a\":1,}", 8, &o), CB_ERR_PROTOCOL);
	assert_int_equal(cb_api_parse_json("{\"a\":'x'}", 9, &o), CB_ERR_PROTOCOL);
	assert_int_equal(cb_api_parse_json("{\"a\":01}", 8, &o), CB_ERR_PROTOCOL);
	assert_int_equal(cb_api_parse_json("{\"a\":\"\xff\"}", 9, &o), CB_ERR_PROTOCOL);
	assert_null(o);
	/* nesting beyond CB_API_MAX_DEPTH */
	for (int i = 0; i < 20; i++)
		strcat(deep, "{\"a\":");
	strcat(deep, "1");
	for (int i = 0; i < 20; i++)
		strcat(deep, "}");
	assert_int_equal(cb_api_parse_json(deep, strlen(deep), &o), CB_ERR_PROTOCOL);
	/* a repeated key, wherever and however spelt: json-c would keep the
	 * last silently */
	{
		static const char *const dup[] = {"{\"a\":1,\"a\":1}", "{\"a\":1,\"\\u0061\":2}",
						  "{\"x\":[{\"b\":{\"c\":1,\"c\":2}}]}"};

		for (size_t i = 0; i < sizeof(dup) / sizeof(dup[0]); i++) {
			assert_int_equal(cb_api_parse_json(dup[i], strlen(dup[i]), &o),
					 CB_ERR_PROTOCOL);
			assert_null(o);
		}
	}
	/* ':' and '"' inside strings are not members */
	o = parse_ok("{\"a\":\"x:y\\\":z\",\"b\":[{},{\"c\":null}]}");
	json_object_put(o);
}

static void test_tokens(void **state)
{
	struct cb_tokens t;

	(void)state;
	assert_int_equal(tokens_of("{\"token_type\":\"Bearer\",\"access_token\":\"eyJ.a.b\","
				   "\"refresh_token\":\"r1\",\"expires_in\":7200,\"scope\":"
				   "\"user sso\",\"sub\":\"s-1\",\"groups\":[\"user\",\"admin\"],"
				   "\"id_token\":\"i\",\"unknown\":{\"x\":[1,2]}}",
				   &t),
			 CB_OK);
	assert_string_equal(t.access_token, "eyJ.a.b");
	assert_string_equal(t.refresh_token, "r1");
	assert_string_equal(t.sub, "s-1");
	assert_string_equal(t.scope, "user sso");
	assert_int_equal(t.expires_in, 7200);
	assert_int_equal(t.n_groups, 2);
	assert_string_equal(t.groups[1], "admin");
	cb_tokens_free(&t);
	assert_null(t.access_token);

	/* groups absent, null or empty: none */
	assert_int_equal(tokens_of("{\"access_token\":\"a\",\"sub\":\"s\"}", &t), CB_OK);
	assert_int_equal(t.n_groups, 0);
	cb_tokens_free(&t);
	assert_int_equal(tokens_of("{\"access_token\":\"a\",\"sub\":\"s\",\"groups\":null}", &t),
			 CB_OK);
	cb_tokens_free(&t);
	assert_int_equal(tokens_of("{\"access_token\":\"a\",\"sub\":\"s\",\"groups\":[]}", &t),
			 CB_OK);
	cb_tokens_free(&t);
}

static void test_tokens_refused(void **state)
{
	static const char *const bad[] = {
		"{\"sub\":\"s\"}", /* no access token */
		"{\"access_token\":\"a\"}", /* no sub */
		"{\"access_token\":\"\",\"sub\":\"s\"}",
		"{\"access_token\":\"a\",\"sub\":\"\"}",
		"{\"access_token\":7,\"sub\":\"s\"}",
		"{\"access_token\":\"a\",\"sub\":true}",
		"{\"access_token\":\"a\",\"sub\":\"s\",\"expires_in\":1.9}",
		"{\"access_token\":\"a\",\"sub\":\"s\",\"expires_in\":\"7200\"}",
		"{\"access_token\":\"a\",\"sub\":\"s\",\"expires_in\":-1}",
		"{\"access_token\":\"a\",\"sub\":\"s\",\"groups\":\"admin\"}",
		"{\"access_token\":\"a\",\"sub\":\"s\",\"groups\":[1]}",
		"{\"access_token\":\"a\",\"sub\":\"s\",\"groups\":[\"\"]}",
		"{\"access_token\":\"a\",\"sub\":\"s\",\"groups\":[{\"id\":\"x\"}]}",
		"{\"access_token\":\"a\",\"sub\":\"s\",\"token_type\":\"mac\"}",
		"{\"access_token\":\"a\",\"sub\":\"s\\u0000admin\"}", /* NUL inside */
		"{\"access_token\":\"a\",\"sub\":\"s\",\"groups\":[\"ad\\u0000min\"]}",
		/* control bytes: nothing the account database could keep */
		"{\"access_token\":\"a\",\"sub\":\"s\\nadmin\"}",
		"{\"access_token\":\"a\",\"sub\":\"s\\u007f\"}",
		"{\"access_token\":\"a\",\"sub\":\"s\",\"groups\":[\"ad\\tmin\"]}",
	};
	struct cb_tokens t;
	char *big;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tokens_of(bad[i], &t) != CB_ERR_PROTOCOL) {
			fprintf(stderr, "# accepted: %s\n", bad[i]);
			fail();
		}
		assert_null(t.access_token);
	}
	/* a field over its size limit */
	big = malloc(CB_API_MAX_TOKEN + 64);
	snprintf(big, CB_API_MAX_TOKEN + 64, "{\"sub\":\"s\",\"access_token\":\"%0*d\"}",
		 CB_API_MAX_TOKEN + 1, 0);
	assert_int_equal(tokens_of(big, &t), CB_ERR_PROTOCOL);
	free(big);
}

static void test_verification(void **state)
{
	struct json_object *o;
	struct cb_verification v;

	(void)state;
	o = parse_ok("{\"verification_id\":\"v1\",\"expires_in\":600,\"is_user\":true}");
	assert_int_equal(cb_api_parse_verification(o, &v), CB_OK);
	assert_string_equal(v.verification_id, "v1");
	assert_true(v.is_user);
	assert_int_equal(v.expires_in, 600);
	cb_verification_free(&v);
	json_object_put(o);
	/* is_user absent when false */
	o = parse_ok("{\"verification_id\":\"v1\"}");
	assert_int_equal(cb_api_parse_verification(o, &v), CB_OK);
	assert_false(v.is_user);
	cb_verification_free(&v);
	json_object_put(o);
	/* "false" is a string, not a boolean (json-c would call it true) */
	o = parse_ok("{\"verification_id\":\"v1\",\"is_user\":\"false\"}");
	assert_int_equal(cb_api_parse_verification(o, &v), CB_ERR_PROTOCOL);
	json_object_put(o);
	o = parse_ok("{\"verification_id\":\"v1\",\"is_user\":1}");
	assert_int_equal(cb_api_parse_verification(o, &v), CB_ERR_PROTOCOL);
	json_object_put(o);
}

static void test_introspection(void **state)
{
	struct json_object *o;
	struct cb_introspection in;

	(void)state;
	o = parse_ok("{}");
	assert_int_equal(cb_api_parse_introspection(o, &in), CB_OK);
	assert_false(in.active);
	json_object_put(o);
	o = parse_ok(
		"{\"token_type\":\"Bearer\",\"client_id\":\"c\",\"sub\":\"s\",\"scope\":\"user\"}");
	assert_int_equal(cb_api_parse_introspection(o, &in), CB_OK);
	assert_true(in.active);
	assert_string_equal(in.sub, "s");
	cb_introspection_free(&in);
	json_object_put(o);
	o = parse_ok("{\"active\":true}"); /* not empty, but no sub */
	assert_int_equal(cb_api_parse_introspection(o, &in), CB_ERR_PROTOCOL);
	json_object_put(o);
}

static void test_user(void **state)
{
	struct json_object *o;
	struct cb_user u;

	(void)state;
	o = parse_ok("{\"sub\":\"s\",\"username\":\"frank\",\"phone_number\":\"\",\"status\":"
		     "\"ACTIVE\",\"groups\":[{\"id\":\"user\"},{\"id\":\"admin\"}],"
		     "\"has_password\":true,\"meta\":{},\"providers\":[{\"id\":\"email\"}]}");
	assert_int_equal(cb_api_parse_user(o, &u), CB_OK);
	assert_string_equal(u.username, "frank");
	assert_null(u.phone_number); /* "" means unset */
	assert_string_equal(u.status, "ACTIVE");
	assert_int_equal(u.n_groups, 2);
	assert_string_equal(u.groups[1], "admin");
	assert_true(u.has_password);
	cb_user_free(&u);
	json_object_put(o);
	/* /user/me groups are objects; strings there are a protocol error */
	o = parse_ok("{\"sub\":\"s\",\"groups\":[\"user\"]}");
	assert_int_equal(cb_api_parse_user(o, &u), CB_ERR_PROTOCOL);
	json_object_put(o);
	o = parse_ok("{\"sub\":\"s\",\"has_password\":\"false\"}");
	assert_int_equal(cb_api_parse_user(o, &u), CB_ERR_PROTOCOL);
	json_object_put(o);
}

/* The error strings of the service's contract (cloudbase-auth-api.md:
 * "Errors" and each endpoint's list), grouped as the contract groups them
 * by what a login has to do, with the cb_status that stands for each group.
 * The test's own statement of the contract, not a copy of lib/api.c's
 * lookup table: what fails it is a string that lands in another group, one
 * the lookup does not know (it then reads as a wrong password), or, with
 * test_error_map_exact, a lookup that matches more than the exact string. */
static const struct {
	cb_status st;
	const char *errors[5]; /* up to a NULL */
} contract_errors[] = {
	/* wrong credentials, or an argument the service calls wrong (on
	 * /verification/verify a wrong code: cb_api_verification_verify) */
	{CB_ERR_AUTH, {"invalid_password", "invalid_username_or_password", "invalid_argument"}},
	{CB_ERR_USER_UNKNOWN, {"not_found", "user_not_found"}},
	{CB_ERR_USER_PENDING, {"user_pending"}}, /* not activated */
	{CB_ERR_USER_BLOCKED, {"user_blocked"}}, /* disabled */
	/* too many wrong passwords: locked, or a captcha wanted */
	{CB_ERR_LOCKED, {"invalid_status", "captcha_required", "captcha_invalid"}},
	/* only an SMS code can finish this sign-in */
	{CB_ERR_NEED_SMS, {"phone_required", "password_not_set"}},
	{CB_ERR_TWO_FACTOR, {"two_factor_required", "invalid_two_factor"}},
	{CB_ERR_CODE_INVALID, {"invalid_verification_code"}},
	{CB_ERR_CODE_ABORTED, {"aborted"}}, /* too many tries of one code */
	{CB_ERR_RATE_LIMITED, {"resource_exhausted", "rate_limit_exceeded"}},
	{CB_ERR_PHONE_INVALID, {"invalid_phone_number"}},
	/* the client's credentials or scope (POST /token's list) */
	{CB_ERR_CLIENT,
	 {"permission_denied", "unauthorized_client", "invalid_client", "unsupported_grant_type"}},
	{CB_ERR_TOKEN, {"unauthenticated", "invalid_grant"}}, /* wrong or expired */
	{CB_ERR_WEAK_PASSWORD, {"weak_password"}},
	/* refused for a reason other than credentials (signup: already
	 * registered; 409) */
	{CB_ERR_DENIED, {"failed_precondition", "already_exists"}},
	{CB_ERR_SERVICE, {"internal", "unavailable"}}, /* service trouble */
};

#define N_GROUPS (sizeof(contract_errors) / sizeof(contract_errors[0]))

/* The contract's status for error, false if the contract has no such
 * string. */
static bool contract_status(const char *error, cb_status *st)
{
	for (size_t i = 0; i < N_GROUPS; i++)
		for (const char *const *e = contract_errors[i].errors; *e != NULL; e++)
			if (strcmp(*e, error) == 0) {
				*st = contract_errors[i].st;
				return true;
			}
	return false;
}

static void expect_error_status(const char *error, cb_status want)
{
	cb_status got = cb_api_map_error(error);

	if (got != want) {
		fprintf(stderr, "# \"%s\": %s, the contract says %s\n", error, cb_status_name(got),
			cb_status_name(want));
		fail();
	}
	/* an error never reads as a success */
	assert_int_not_equal(got, CB_OK);
}

/* Every error string of the contract, and unknown ones (a denial). */
static void test_error_map(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_GROUPS; i++)
		for (const char *const *e = contract_errors[i].errors; *e != NULL; e++)
			expect_error_status(*e, contract_errors[i].st);
	expect_error_status("something_new", CB_ERR_AUTH);
	expect_error_status("", CB_ERR_AUTH);
}

/* Only the exact string counts: a lookup by prefix, without case or by
 * substring would read "internal_x" as service trouble or "ABORTED" as
 * too many codes. Every near miss of a contract string is an unknown
 * string, a denial (CB_ERR_AUTH). */
static void test_error_map_exact(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_GROUPS; i++) {
		for (const char *const *e = contract_errors[i].errors; *e != NULL; e++) {
			char v[7][64];
			size_t len = strlen(*e);
			cb_status listed;

			snprintf(v[0], sizeof(v[0]), "%s_", *e);
			snprintf(v[1], sizeof(v[1]), "%s ", *e);
			snprintf(v[2], sizeof(v[2]), " %s", *e);
			snprintf(v[3], sizeof(v[3]), "x%s", *e);
			snprintf(v[4], sizeof(v[4]), "%.*s", (int)len - 1, *e);
			snprintf(v[5], sizeof(v[5]), "%s", *e);
			for (char *p = v[5]; *p != '\0'; p++)
				*p = (char)toupper((unsigned char)*p);
			snprintf(v[6], sizeof(v[6]), "%s", *e);
			for (char *p = v[6]; *p != '\0'; p++)
				if (*p == '_')
					*p = '-';
			for (size_t k = 0; k < 7; k++)
				if (!contract_status(v[k], &listed))
					expect_error_status(v[k], CB_ERR_AUTH);
		}
	}
}

static cb_status judge(long status, bool json, const char *body, bool allow_empty)
{
	struct cb_api_error err;
	struct json_object *o = NULL;
	cb_status st = cb_api_check_answer(status, json, body, strlen(body), allow_empty, &o, &err);

	json_object_put(o);
	return st;
}

static void test_check_answer(void **state)
{
	const char *err = "{\"error\":\"invalid_password\",\"error_code\":0,\"error_description\":"
			  "\"x\"}";

	(void)state;
	assert_int_equal(judge(200, true, "{\"a\":1}", false), CB_OK);
	/* the error string decides, whatever the status */
	assert_int_equal(judge(400, true, err, false), CB_ERR_AUTH);
	assert_int_equal(judge(200, true, err, false), CB_ERR_AUTH);
	/* error_code is never looked at */
	assert_int_equal(
		judge(404, true, "{\"error\":\"user_not_found\",\"error_code\":16}", false),
		CB_ERR_USER_UNKNOWN);
	/* 5xx is service trouble whatever it says */
	assert_int_equal(judge(500, true, err, false), CB_ERR_SERVICE);
	assert_int_equal(judge(503, false, "<html>", false), CB_ERR_SERVICE);
	assert_int_equal(judge(302, false, "Found", false), CB_ERR_PROTOCOL);
	assert_int_equal(judge(200, false, "{\"a\":1}", false), CB_ERR_PROTOCOL);
	assert_int_equal(judge(400, true, "{\"a\":1}", false), CB_ERR_PROTOCOL);
	assert_int_equal(judge(400, true, "{\"error\":7}", false), CB_ERR_PROTOCOL);
	assert_int_equal(judge(200, true, "{\"error\":null,\"a\":1}", false), CB_ERR_PROTOCOL);
	assert_int_equal(judge(200, true, "", false), CB_ERR_PROTOCOL);
	assert_int_equal(judge(200, false, "", true), CB_OK);
	assert_int_equal(judge(401, true, "", true), CB_ERR_PROTOCOL);
}

/* The remembered error is sanitised like the description (api.h): a
 * service cannot put a terminal escape into a message (fuzz_api). */
static void test_error_text_sanitised(void **state)
{
	static const char body[] =
		"{\"error\":\"x\\u001b[2Jy\\n\",\"error_description\":\"d\\u0007\"}";
	struct cb_api_error err;
	struct json_object *o = NULL;

	(void)state;
	assert_int_equal(cb_api_check_answer(400, true, body, strlen(body), false, &o, &err),
			 CB_ERR_AUTH);
	assert_null(o);
	for (const char *p = err.error; *p != '\0'; p++)
		assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f);
	for (const char *p = err.description; *p != '\0'; p++)
		assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f);
	assert_non_null(strchr(err.error, 'y'));
}

static void test_uuid(void **state)
{
	char a[CB_UUID_LEN], b[CB_UUID_LEN];

	(void)state;
	assert_int_equal(cb_uuid4(a), CB_OK);
	assert_int_equal(cb_uuid4(b), CB_OK);
	assert_int_equal(strlen(a), 36);
	assert_string_not_equal(a, b);
	assert_int_equal(a[8], '-');
	assert_int_equal(a[13], '-');
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_strict),    cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_tokens_refused), cmocka_unit_test(test_verification),
		cmocka_unit_test(test_introspection),  cmocka_unit_test(test_user),
		cmocka_unit_test(test_error_map),      cmocka_unit_test(test_error_map_exact),
		cmocka_unit_test(test_check_answer),   cmocka_unit_test(test_error_text_sanitised),
		cmocka_unit_test(test_uuid),
	};

	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
