/* SPDX-License-Identifier: BSD-3-Clause */
/* dlopen() pam_cloudbase.so: it exports the six pam_sm_* entry points and
 * nothing else (no lib/ function may leak into the host process). */
#include "config.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static const char *const expected[] = {
	"pam_sm_authenticate", "pam_sm_setcred",       "pam_sm_acct_mgmt",
	"pam_sm_open_session", "pam_sm_close_session", "pam_sm_chauthtok",
};

static void test_entry_points(void **state)
{
	void *h = dlopen(getenv("PAM_CLOUDBASE_SO"), RTLD_NOW | RTLD_LOCAL);

	(void)state;
	if (h == NULL)
		fprintf(stderr, "# %s\n", dlerror());
	assert_non_null(h);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		assert_non_null(dlsym(h, expected[i]));
	/* a sample of internals that must stay hidden */
	assert_null(dlsym(h, "cb_http_perform"));
	assert_null(dlsym(h, "cb_api_signin_password"));
	assert_null(dlsym(h, "cb_config_from_args"));
	assert_null(dlsym(h, "cb_pam_code"));
	dlclose(h);
}

/* Every defined global in the dynamic symbol table starts with pam_sm_. */
static void test_nothing_else(void **state)
{
	char cmd[1024], line[512];
	FILE *p;
	int n = 0;

	(void)state;
	snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s'", getenv("PAM_CLOUDBASE_SO"));
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p) != NULL) {
		char *name = strrchr(line, ' ');

		assert_non_null(name);
		name++;
		name[strcspn(name, "\n")] = '\0';
		if (strncmp(name, "pam_sm_", 7) != 0) {
			fprintf(stderr, "# unexpected export %s\n", name);
			fail();
		}
		n++;
	}
	assert_int_equal(pclose(p), 0);
	assert_int_equal(n, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_points),
		cmocka_unit_test(test_nothing_else),
	};

	if (getenv("PAM_CLOUDBASE_SO") == NULL)
		return 99;
	return cmocka_run_group_tests_name("symbols", tests, NULL, NULL);
}
