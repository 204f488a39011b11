/* SPDX-License-Identifier: BSD-3-Clause */
/* The time budget of a login covers name resolution: a base_url whose name
 * resolves slowly or never gets PAM_AUTHINFO_UNAVAIL within `timeout` plus
 * a small margin, never a login that waits on the resolver. Run by
 * dns_tests.sh in a private network and mount namespace where
 * /etc/resolv.conf names the emulator's DNS responder (127.0.0.1:53):
 * fast.cb.test answers at once, slow-<ms>.cb.test after <ms>, silent.cb.test
 * never. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>

#include <json-c/json.h>
#include <security/pam_appl.h>

#include "harness.h"
#include "testutil.h"

/* What a loaded machine may add to the budget before the login returns. */
#define MARGIN_S 1.5

/* A password login of cbalice against https://HOST:port/auth/v1 with the
 * given budget; the PAM code, and the seconds in *took. */
static int login_via(const char *host, unsigned timeout, unsigned connect_timeout, double *took)
{
	struct login_result r = {.conv = {.mode = CONV_SAME, .answers = {"Alice-Passw0rd"}}};
	char url[256], extra[128];

	snprintf(url, sizeof(url), "https://%s:%d/auth/v1", host, g.port);
	snprintf(extra, sizeof(extra), "timeout = %u\nconnect_timeout = %u\n", timeout,
		 connect_timeout);
	write_config_url(url, extra);
	write_service("cb", "");
	harness_login("cb", "cbalice", NULL, 0, &r);
	*took = r.seconds;
	return r.auth;
}

/* How often the DNS responder was asked about name. */
static long dns_queries(const char *name)
{
	struct json_object *o, *list;
	long n = 0;

	ctl("GET", "/dns", NULL);
	o = json_tokener_parse(g.ctl_body);
	if (o != NULL && json_object_object_get_ex(o, "queries", &list))
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct json_object *v;

			if (json_object_object_get_ex(json_object_array_get_idx(list, i), "name",
						      &v) &&
			    strcmp(json_object_get_string(v), name) == 0)
				n++;
		}
	json_object_put(o);
	return n;
}

static int setup(void **state)
{
	(void)state;
	ctl("POST", "/reset", NULL);
	ctl("POST", "/stats/reset", NULL);
	remove_accounts();
	add_record("cbalice", "alice", NULL, NULL);
	log_reset();
	return 0;
}

/* The positive control: the name resolves at once, through the responder,
 * and the login reaches the emulator (whose certificate is for 127.0.0.1
 * and localhost, so TLS refuses the name). */
static void test_fast_name_reaches_the_service(void **state)
{
	double took;

	(void)state;
	assert_int_equal(login_via("fast.cb.test", 3, 2, &took), PAM_AUTHINFO_UNAVAIL);
	assert_true(dns_queries("fast.cb.test") >= 1);
	assert_true(stat_of("connections") >= 1);
	assert_log("outcome=tls_error");
	assert_true(took < 3 + MARGIN_S);
}

/* Resolved after 1 s, inside connect_timeout: the login goes on to the
 * service. */
static void test_slow_name_within_the_budget(void **state)
{
	double took;

	(void)state;
	assert_int_equal(login_via("slow-1000.cb.test", 3, 2, &took), PAM_AUTHINFO_UNAVAIL);
	assert_true(stat_of("connections") >= 1);
	assert_log("outcome=tls_error");
	assert_true(took >= 0.9);
	assert_true(took < 3 + MARGIN_S);
}

/* Resolved after 20 s: connect_timeout (2 s) ends the login, which never
 * reaches the service. */
static void test_slow_name_beyond_the_budget(void **state)
{
	double took;

	(void)state;
	assert_int_equal(login_via("slow-20000.cb.test", 3, 2, &took), PAM_AUTHINFO_UNAVAIL);
	assert_true(dns_queries("slow-20000.cb.test") >= 1);
	assert_int_equal(stat_of("connections"), 0);
	assert_log("outcome=timeout");
	fprintf(stderr, "# slow name: %.2f s\n", took);
	assert_true(took >= 1.8);
	assert_true(took < 3 + MARGIN_S);
}

/* A resolver that never answers: the same. */
static void test_silent_resolver(void **state)
{
	double took;

	(void)state;
	assert_int_equal(login_via("silent.cb.test", 3, 2, &took), PAM_AUTHINFO_UNAVAIL);
	assert_true(dns_queries("silent.cb.test") >= 1);
	assert_int_equal(stat_of("connections"), 0);
	assert_log("outcome=timeout");
	fprintf(stderr, "# silent resolver: %.2f s\n", took);
	assert_true(took < 3 + MARGIN_S);
}

/* connect_timeout above the whole budget: `timeout` still ends it. */
static void test_timeout_covers_dns(void **state)
{
	double took;

	(void)state;
	assert_int_equal(login_via("silent.cb.test", 2, 30, &took), PAM_AUTHINFO_UNAVAIL);
	assert_log("outcome=timeout");
	fprintf(stderr, "# silent resolver, timeout 2, connect_timeout 30: %.2f s\n", took);
	assert_true(took >= 1.8);
	assert_true(took < 2 + MARGIN_S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_fast_name_reaches_the_service, setup),
		cmocka_unit_test_setup(test_slow_name_within_the_budget, setup),
		cmocka_unit_test_setup(test_slow_name_beyond_the_budget, setup),
		cmocka_unit_test_setup(test_silent_resolver, setup),
		cmocka_unit_test_setup(test_timeout_covers_dns, setup),
	};

	return harness_main("dns", tests, NULL);
}
