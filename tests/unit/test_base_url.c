/* SPDX-License-Identifier: BSD-3-Clause */
/* base_url is judged as libcurl reads it: plain http only to loopback, and
 * never a user name or password in the URL ("http://127.0.0.1:1@192.0.2.2/"
 * sends the password and the client credential to 192.0.2.2 in clear). No
 * network: a refused URL is refused before any connection. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf.h"
#include "http.h"
#include "testutil.h"

#define SAMPLE "http://127.0.0.1:1@192.0.2.2:18080/auth/v1"

/* Each with the start of the reason cb_http_check_base_url gives. */
static const struct {
	const char *url, *why;
} refused_urls[] = {
	{SAMPLE, "a user name or password"},
	{"http://localhost:80@192.0.2.2/auth/v1", "a user name or password"},
	{"http://[::1]@192.0.2.2/auth/v1", "a user name or password"},
	{"http://127.0.0.1@192.0.2.2/auth/v1", "a user name or password"},
	{"https://user:pw@gw.example.com/auth/v1", "a user name or password"},
	{"https://user@gw.example.com/auth/v1", "a user name or password"},
	{"https://:pw@gw.example.com/auth/v1", "a user name or password"},
	{"https://u;options@gw.example.com/auth/v1", "a user name or password"},
	{"http://127.0.0.1#@192.0.2.2/auth/v1", "a query or fragment"},
	{"http://127.0.0.1?@192.0.2.2/auth/v1", "a query or fragment"},
	{"https://gw.example.com/auth/v1?x=1", "a query or fragment"},
	{"https://gw.example.com/auth/v1#x", "a query or fragment"},
	{"http://192.0.2.2:18080/auth/v1", "plain http://"},
	{"http://127.0.0.1.evil.example/auth/v1", "plain http://"},
	{"http://localhost.evil.example/auth/v1", "plain http://"},
	{"http://10.0.0.1/auth/v1", "plain http://"},
	{"ftp://127.0.0.1/auth/v1", ""},
	{"gw.example.com/auth/v1", "not a URL"},
	{"https://", "not a URL"},
	{"", "not a URL"},
};

static void test_check_refuses(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refused_urls) / sizeof(refused_urls[0]); i++) {
		const char *why = NULL;
		bool plain = true;
		cb_status st = cb_http_check_base_url(refused_urls[i].url, &plain, &why);

		if (st != CB_ERR_CONFIG) {
			fprintf(stderr, "# accepted: %s\n", refused_urls[i].url);
			fail();
		}
		assert_non_null(why);
		if (strncmp(why, refused_urls[i].why, strlen(refused_urls[i].why)) != 0) {
			fprintf(stderr, "# %s: \"%s\"\n", refused_urls[i].url, why);
			fail();
		}
	}
}

static void test_check_accepts(void **state)
{
	static const struct {
		const char *url;
		bool plain;
	} good[] = {
		{"https://test-env.ap-shanghai.tcb-api.tencentcloudapi.com/auth/v1", false},
		{"https://gw.example.com:8443/auth/v1/", false},
		{"https://gw.example.com", false},
		{"https://[2001:db8::1]/auth/v1", false},
		{"http://127.0.0.1:18080/auth/v1", true},
		{"http://[::1]:18080/auth/v1", true},
		{"http://localhost/auth/v1", true},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const char *why = NULL;
		bool plain = !good[i].plain;

		if (cb_http_check_base_url(good[i].url, &plain, &why) != CB_OK) {
			fprintf(stderr, "# refused: %s (%s)\n", good[i].url, why);
			fail();
		}
		assert_int_equal(plain, good[i].plain);
	}
}

/* The config refuses userinfo, a query or a fragment in base_url with a
 * reason (cloudbasectl status and the module log it). */
static void test_config_refuses_userinfo(void **state)
{
	static const char *const bad[] = {
		"base_url = " SAMPLE "\n",
		"base_url = https://user:pw@gw.example.com/auth/v1\n",
		"base_url = http://127.0.0.1#@192.0.2.2/auth/v1\n",
		"base_url = https://gw.example.com/auth/v1?client_id=x\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct captured_log cap;
		struct cb_log log = capture_log(&cap);
		struct cb_config cfg;

		cb_config_init(&cfg);
		if (cb_config_parse(&cfg, bad[i], "test.conf", CB_CONF_STRICT, &log) !=
		    CB_ERR_CONFIG) {
			fprintf(stderr, "# accepted: %s", bad[i]);
			fail();
		}
		assert_non_null(
			strstr(cap.text, "test.conf:1: base_url: must not hold a user name"));
		cb_config_free(&cfg);
	}
}

/* The HTTP client decides by itself, whatever put the URL in the config:
 * the sample never gets a handle, and the log says why. */
static void test_client_refuses(void **state)
{
	struct captured_log cap;
	struct cb_log log = capture_log(&cap);
	struct cb_config cfg;
	struct cb_http *h = (struct cb_http *)&cfg;

	(void)state;
	cb_config_init(&cfg);
	cfg.base_url = strdup(SAMPLE);
	assert_int_equal(cb_http_new(&cfg, "test-env", "test-secret", &log, &h), CB_ERR_CONFIG);
	assert_null(h);
	assert_non_null(strstr(cap.text, "base_url " SAMPLE " refused: a user name or password"));
	free(cfg.base_url);
	cfg.base_url = strdup("http://127.0.0.1:18080/auth/v1");
	assert_int_equal(cb_http_new(&cfg, "test-env", "test-secret", &log, &h), CB_OK);
	assert_non_null(h);
	cb_http_free(h);
	cb_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_refuses),
		cmocka_unit_test(test_check_accepts),
		cmocka_unit_test(test_config_refuses_userinfo),
		cmocka_unit_test(test_client_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
