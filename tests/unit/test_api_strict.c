/* SPDX-License-Identifier: BSD-3-Clause */
/* The grammar an answer must have: RFC 8259 JSON and nothing else, one
 * meaning per answer (no repeated key, no key that is spelt otherwise than
 * it reads), any "error" key a denial; and the secrets of an answer handed
 * over without json-c ever holding them. No network. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "api.h"
#include "http.h"
#include "testutil.h"

static cb_status parse(const char *body)
{
	struct json_object *o = NULL;
	cb_status st = cb_api_parse_json(body, strlen(body), &o);

	if (st != CB_OK && o != NULL) {
		fprintf(stderr, "# a refused text left an object\n");
		fail();
	}
	json_object_put(o);
	return st;
}

static void refused(const char *const *table, size_t n)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		if (parse(table[i]) != CB_ERR_PROTOCOL) {
			fprintf(stderr, "# accepted: %s\n", table[i]);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void accepted(const char *const *table, size_t n)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		if (parse(table[i]) != CB_OK) {
			fprintf(stderr, "# refused: %s\n", table[i]);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The sample of the review: json-c took the single-quoted keys, and the
 * member count saw two '"' strings where there were none, so the second
 * "sub" went unnoticed and json-c kept it. */
static void test_review_sample(void **state)
{
	static const char body[] =
		"{\"access_token\":\"t\",\"refresh_token\":\"r\",\"expires_in\":7200,"
		"\"sub\":\"S-OTHER\",'a\"':1,'b\"':2,\"sub\":\"S-BOUND\"}";
	struct cb_api_error err;
	struct json_object *o = NULL;

	(void)state;
	assert_int_equal(cb_api_check_answer(200, true, body, strlen(body), false, &o, &err),
			 CB_ERR_PROTOCOL);
	assert_null(o);
}

/* Every token outside RFC 8259 that json-c (strict mode included) or a
 * lenient reader might take. */
static void test_not_rfc8259(void **state)
{
	static const char *const bad[] = {
		/* quotes and names */
		"{'a':1}",
		"{\"a\":'x'}",
		"{a:1}",
		"{\"a\":1,'b\"':2}",
		"{\"a\":`x`}",
		/* comments */
		"{\"a\":1/*x*/}",
		"{\"a\":1//x\n}",
		"{\"a\":1#x\n}",
		"/**/{\"a\":1}",
		/* commas */
		"{\"a\":1,}",
		"{,\"a\":1}",
		"{\"a\":[1,]}",
		"{\"a\":[,1]}",
		"{\"a\":1,,\"b\":2}",
		"{\"a\":1 \"b\":2}",
		"{\"a\" 1}",
		"{\"a\"::1}",
		/* numbers */
		"{\"a\":01}",
		"{\"a\":-01}",
		"{\"a\":+1}",
		"{\"a\":.5}",
		"{\"a\":1.}",
		"{\"a\":1.e5}",
		"{\"a\":1e}",
		"{\"a\":1e+}",
		"{\"a\":0x10}",
		"{\"a\":NaN}",
		"{\"a\":-NaN}",
		"{\"a\":Infinity}",
		"{\"a\":-Infinity}",
		"{\"a\":-}",
		"{\"a\":1_000}",
		/* literals */
		"{\"a\":True}",
		"{\"a\":NULL}",
		"{\"a\":nul}",
		"{\"a\":truex}",
		"{\"a\":undefined}",
		/* strings */
		"{\"a\":\"\t\"}",
		"{\"a\":\"x\ny\"}",
		"{\"a\":\"\x01\"}",
		"{\"a\":\"\x1f\"}",
		"{\"a\":\"\\x41\"}",
		"{\"a\":\"\\a\"}",
		"{\"a\":\"\\'\"}",
		"{\"a\":\"\\U0041\"}",
		"{\"a\":\"\\u004\"}",
		"{\"a\":\"\\u00g1\"}",
		"{\"a\":\"\\\"}",
		"{\"a\":\"x}",
		/* lone or reversed surrogates: two readers, two meanings */
		"{\"a\":\"\\ud800\"}",
		"{\"a\":\"\\udc00\"}",
		"{\"a\":\"\\ud800x\"}",
		"{\"a\":\"\\ud800\\u0041\"}",
		"{\"a\":\"\\udc00\\ud800\"}",
		/* UTF-8: invalid, overlong, surrogates, beyond U+10FFFF */
		"{\"a\":\"\xff\"}",
		"{\"a\":\"\xc0\xaf\"}",
		"{\"a\":\"\xe0\x80\xaf\"}",
		"{\"a\":\"\xed\xa0\x80\"}",
		"{\"a\":\"\xf4\x90\x80\x80\"}",
		"{\"a\":\"\xc3\"}",
		"{\"a\":\"\x80\"}",
		/* white space RFC 8259 does not know */
		"{\"a\":1\f}",
		"{\"a\":1\v}",
		"{\"a\":\xc2\xa0 1}",
		"\xef\xbb\xbf{\"a\":1}",
		/* not one object */
		"",
		" ",
		"[]",
		"\"a\"",
		"1",
		"null",
		"{}{}",
		"{} x",
		"{}]",
		"{\"a\":1",
		"{\"a\"}",
		"{\"a\":}",
		"{1:1}",
		"{null:1}",
		"{\"a\":[1}",
		"{\"a\":{]}",
		/* keys that read otherwise than they are spelt */
		"{\"\\u0061\":1}",
		"{\"a\\u0000\":1}",
		"{\"\\\"\":1}",
		"{\"a\\/b\":1}",
		"{\"x\":{\"\\u0073ub\":1}}",
		/* repeated keys, at any depth */
		"{\"a\":1,\"a\":1}",
		"{\"a\":1,\"b\":{\"c\":1,\"c\":2}}",
		"{\"x\":[{\"b\":1},{\"b\":{\"c\":1,\"c\":2}}]}",
		"{\"sub\":\"x\",\"access_token\":\"t\",\"sub\":\"y\"}",
	};

	(void)state;
	refused(bad, N(bad));
}

/* RFC 8259 answers of every shape stay accepted. */
static void test_rfc8259_accepted(void **state)
{
	static const char *const good[] = {
		"{}",
		" \t\r\n{ \t\r\n} \t\r\n",
		"{\"a\":0,\"b\":-0,\"c\":1.5,\"d\":-1.5e10,\"e\":1E+2,\"f\":2e-3,\"g\":10}",
		"{\"a\":true,\"b\":false,\"c\":null}",
		"{\"a\":[],\"b\":[1,\"x\",{},[]],\"c\":{\"d\":{}}}",
		"{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u4e2d\"}",
		"{\"a\":\"\\ud83d\\ude00\",\"b\":\"\xf0\x9f\x98\x80\",\"c\":\"\xe4\xb8\xad\"}",
		"{\"a\":\"x:y\\\":z\",\"b\":[{},{\"c\":null}]}",
		/* the same key in different objects is no repetition */
		"{\"a\":{\"a\":1},\"b\":[{\"a\":1},{\"a\":2}]}",
		/* keys are any string without escapes */
		"{\"\":1,\" \":2,\"\xe4\xb8\xad\":3,\"a:b\":4,\"'\":5}",
	};

	(void)state;
	accepted(good, N(good));
}

/* The docs promise that any "error" key of a 2xx answer denies, whatever
 * its value: null, "", a number, an object. */
static void test_error_key_of_any_type_denies(void **state)
{
	static const char *const bodies[] = {
		"{\"error\":null,\"access_token\":\"t\",\"sub\":\"S\"}",
		"{\"access_token\":\"t\",\"sub\":\"S\",\"error\":null}",
		"{\"error\":\"\",\"access_token\":\"t\",\"sub\":\"S\"}",
		"{\"error\":0,\"access_token\":\"t\",\"sub\":\"S\"}",
		"{\"error\":false,\"access_token\":\"t\",\"sub\":\"S\"}",
		"{\"error\":{},\"access_token\":\"t\",\"sub\":\"S\"}",
		"{\"error\":[],\"access_token\":\"t\",\"sub\":\"S\"}",
	};
	static const long statuses[] = {200, 201, 204};

	(void)state;
	for (size_t s = 0; s < N(statuses); s++) {
		for (size_t i = 0; i < N(bodies); i++) {
			struct cb_api_error err;
			struct json_object *o = NULL;
			cb_status st = cb_api_check_answer(statuses[s], true, bodies[i],
							   strlen(bodies[i]), false, &o, &err);

			if (st == CB_OK) {
				fprintf(stderr, "# %ld %s: accepted\n", statuses[s], bodies[i]);
				fail();
			}
			assert_null(o);
		}
	}
}

/* Token values are handed over decoded, exactly as sent, escapes and all. */
static void test_secret_values_decoded(void **state)
{
	static const char body[] =
		"{\"token_type\":\"Bearer\",\"access_token\":\"a\\/b\\u0041\\\"c\","
		"\"refresh_token\":\"rt.\\u00e9\\ud83d\\ude00\",\"sub\":\"s\","
		"\"id_token\":\"i\",\"expires_in\":7200}";
	struct json_object *o = NULL;
	struct cb_tokens t;

	(void)state;
	assert_int_equal(cb_api_parse_json(body, strlen(body), &o), CB_OK);
	assert_int_equal(cb_api_parse_tokens(o, &t), CB_OK);
	json_object_put(o);
	assert_string_equal(t.access_token, "a/bA\"c");
	assert_string_equal(t.refresh_token, "rt.\xc3\xa9\xf0\x9f\x98\x80");
	assert_string_equal(t.id_token, "i");
	assert_string_equal(t.sub, "s");
	cb_tokens_free(&t);
}

/* A secret member of the wrong type, empty, over its limit or with a NUL
 * is refused as before. */
static void test_secret_values_checked(void **state)
{
	static const char *const bad[] = {
		"{\"access_token\":1,\"sub\":\"s\"}",
		"{\"access_token\":\"\",\"sub\":\"s\"}",
		"{\"access_token\":null,\"sub\":\"s\"}",
		"{\"access_token\":[\"t\"],\"sub\":\"s\"}",
		"{\"access_token\":\"a\\u0000b\",\"sub\":\"s\"}",
		"{\"access_token\":\"t\",\"refresh_token\":\"a\\u0000\",\"sub\":\"s\"}",
	};
	char *big;
	size_t n = CB_API_MAX_TOKEN + 1, pre;

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		struct json_object *o = NULL;
		struct cb_tokens t;

		assert_int_equal(cb_api_parse_json(bad[i], strlen(bad[i]), &o), CB_OK);
		if (cb_api_parse_tokens(o, &t) == CB_OK) {
			fprintf(stderr, "# accepted: %s\n", bad[i]);
			fail();
		}
		assert_null(t.access_token);
		json_object_put(o);
	}
	big = malloc(n + 64);
	assert_non_null(big);
	strcpy(big, "{\"sub\":\"s\",\"access_token\":\"");
	pre = strlen(big);
	memset(big + pre, 'x', n);
	strcpy(big + pre + n, "\"}");
	{
		struct json_object *o = NULL;
		struct cb_tokens t;

		assert_int_equal(cb_api_parse_json(big, strlen(big), &o), CB_OK);
		assert_int_equal(cb_api_parse_tokens(o, &t), CB_ERR_PROTOCOL);
		json_object_put(o);
	}
	free(big);
}

/* json-c never holds a secret: what it parsed has the token members
 * emptied, so its strings and its tokener's buffer, freed without a wipe,
 * held none. */
static void test_json_c_holds_no_secret(void **state)
{
	static const char body[] =
		"{\"access_token\":\"AT-abcdefghijklmnopqrstuvwxyz\",\"sub\":\"s\","
		"\"refresh_token\":\"RT-abcdefghijklmnopqrstuvwxyz\",\"verification_token\":\"VT-"
		"x\","
		"\"verification_id\":\"VI-x\",\"sudo_token\":\"ST-x\",\"id_token\":\"IT-x\"}";
	struct json_object *o = NULL;
	const char *text;

	(void)state;
	assert_int_equal(cb_api_parse_json(body, strlen(body), &o), CB_OK);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	assert_non_null(text);
	assert_null(strstr(text, "AT-"));
	assert_null(strstr(text, "RT-"));
	assert_null(strstr(text, "VT-"));
	assert_null(strstr(text, "VI-"));
	assert_null(strstr(text, "ST-"));
	assert_null(strstr(text, "IT-"));
	assert_non_null(strstr(text, "\"sub\":\"s\""));
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_review_sample),
		cmocka_unit_test(test_not_rfc8259),
		cmocka_unit_test(test_rfc8259_accepted),
		cmocka_unit_test(test_error_key_of_any_type_denies),
		cmocka_unit_test(test_secret_values_decoded),
		cmocka_unit_test(test_secret_values_checked),
		cmocka_unit_test(test_json_c_holds_no_secret),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
