/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of local name validation and phone normalisation. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "accountdb.h"

static void test_valid_names(void **state)
{
	static const char *const ok[] = {
		"alice", "a",	 "bob.smith", "x_y-z",
		"user1", "svc$", "A1",	      "a2345678901234567890123456789012"};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_true(cb_valid_local_name(ok[i]));
}

static void test_invalid_names(void **state)
{
	static const char *const bad[] = {
		"",	"-alice", ".",	   "..",
		"a:b",	"a/b",	  "a,b",   "a b",
		"a\tb", "a\nb",	  "a\x7f", "caf\xc3\xa9",
		"1234", "0",	  "a\x01", "123456789012345678901234567890123"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cb_valid_local_name(bad[i]))
			fail_msg("accepted invalid name #%zu", i);
	}
	assert_false(cb_valid_local_name(NULL));
	/* exactly 32 bytes is the limit */
	assert_true(cb_valid_local_name("abcdefghijklmnopqrstuvwxyz012345"));
	assert_false(cb_valid_local_name("abcdefghijklmnopqrstuvwxyz0123456"));
}

static void test_phone_accepted(void **state)
{
	static const char *const cases[][2] = {
		{"+8613800000000", "+86 13800000000"},	  {"+86 13800000000", "+86 13800000000"},
		{"+86-138 0000 0000", "+86 13800000000"}, {"+86 138-0000-0000", "+86 13800000000"},
		{"13800000000", "+86 13800000000"},	  {"008613800000000", "+86 13800000000"},
		{"+14155550123", "+1 4155550123"},	  {"+44 20 7946 0958", "+44 2079460958"},
		{"+852 6123 4567", "+852 61234567"},
	};
	char out[24];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(cb_normalize_phone(cases[i][0], out, sizeof(out)), CB_OK);
		assert_string_equal(out, cases[i][1]);
	}
}

static void test_phone_refused(void **state)
{
	static const char *const bad[] = {"",
					  "+",
					  "abc",
					  "+86 1380000000", /* 10 digits */
					  "+86 23800000000",
					  /* not a mobile */ "+86 138000000001",
					  "12345",
					  "+0 123456",
					  "+86 138x0000000",
					  "+1 234",
					  "+1234567890123456",
					  "23800000000",
					  "+86 13800000000\n"};
	char out[24];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cb_normalize_phone(bad[i], out, sizeof(out)) != CB_ERR_PHONE_INVALID)
			fail_msg("accepted invalid phone #%zu: %s", i, out);
	/* the caller's buffer must hold 24 bytes */
	assert_int_equal(cb_normalize_phone("+8613800000000", out, 10), CB_ERR_PHONE_INVALID);
}

static void test_email(void **state)
{
	static const char *const good[] = {"a@b.c", "alice@example.com",
					   "Alice.L+tag@mail.example.co", "x@xn--fiqs8s.cn"};
	static const char *const bad[] = {"",
					  "alice",
					  "@example.com",
					  "alice@",
					  "alice@example",
					  "alice@@example.com",
					  "a@b@example.com",
					  "alice@.example.com",
					  "alice@example..com",
					  "alice@example.com.",
					  "a lice@example.com",
					  "alice@example.com\n",
					  "alice\t@example.com",
					  "alice\x7f@example.com"};
	char long_ok[CB_EMAIL_MAX + 2], out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!cb_valid_email(good[i]))
			fail_msg("refused %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cb_valid_email(bad[i]))
			fail_msg("accepted bad address #%zu", i);
	assert_false(cb_valid_email(NULL));
	/* 254 bytes pass, 255 do not */
	memset(long_ok, 'x', sizeof(long_ok));
	memcpy(long_ok + CB_EMAIL_MAX - 6, "@x.com", 7);
	assert_int_equal(strlen(long_ok), CB_EMAIL_MAX);
	assert_true(cb_valid_email(long_ok));
	memset(long_ok, 'x', sizeof(long_ok));
	memcpy(long_ok + CB_EMAIL_MAX - 5, "@x.com", 7);
	assert_false(cb_valid_email(long_ok));
	/* the mask: the first byte and the domain */
	cb_mask_email("alice@example.com", out, sizeof(out));
	assert_string_equal(out, "a***@example.com");
	cb_mask_email("a@b.c", out, sizeof(out));
	assert_string_equal(out, "a***@b.c");
	cb_mask_email("broken", out, sizeof(out));
	assert_string_equal(out, "***");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_names),    cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_phone_accepted), cmocka_unit_test(test_phone_refused),
		cmocka_unit_test(test_email),
	};

	return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
