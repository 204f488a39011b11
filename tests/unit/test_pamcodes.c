/* SPDX-License-Identifier: BSD-3-Clause */
/* The cb_status → PAM table: every status has a code, and no failure ever
 * becomes PAM_SUCCESS or PAM_IGNORE, in any phase. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <security/pam_modules.h>

#include "module.h"

static void test_never_success(void **state)
{
	static const enum cb_pam_phase phases[] = {CB_PHASE_AUTH, CB_PHASE_ACCOUNT,
						   CB_PHASE_PASSWORD, CB_PHASE_SESSION};

	(void)state;
	for (size_t p = 0; p < 4; p++) {
		assert_int_equal(cb_pam_code(CB_OK, phases[p]), PAM_SUCCESS);
		for (int st = 1; st <= CB_STATUS_MAX_ + 2; st++) {
			int rc = cb_pam_code((cb_status)st, phases[p]);

			if (rc == PAM_SUCCESS || rc == PAM_IGNORE) {
				fprintf(stderr, "# status %d phase %zu -> %d\n", st, p, rc);
				fail();
			}
		}
	}
}

static void test_table(void **state)
{
	(void)state;
	assert_int_equal(cb_pam_code(CB_ERR_AUTH, CB_PHASE_AUTH), PAM_AUTH_ERR);
	assert_int_equal(cb_pam_code(CB_ERR_USER_UNKNOWN, CB_PHASE_AUTH), PAM_USER_UNKNOWN);
	assert_int_equal(cb_pam_code(CB_ERR_NOT_FOUND, CB_PHASE_AUTH), PAM_USER_UNKNOWN);
	/* refusals no retry changes end the attempt (sshd stops asking) */
	assert_int_equal(cb_pam_code(CB_ERR_USER_PENDING, CB_PHASE_AUTH), PAM_MAXTRIES);
	assert_int_equal(cb_pam_code(CB_ERR_USER_BLOCKED, CB_PHASE_AUTH), PAM_MAXTRIES);
	assert_int_equal(cb_pam_code(CB_ERR_SUB_MISMATCH, CB_PHASE_AUTH), PAM_MAXTRIES);
	assert_int_equal(cb_pam_code(CB_ERR_DENIED, CB_PHASE_AUTH), PAM_MAXTRIES);
	assert_int_equal(cb_pam_code(CB_ERR_USER_BLOCKED, CB_PHASE_ACCOUNT), PAM_ACCT_EXPIRED);
	assert_int_equal(cb_pam_code(CB_ERR_USER_PENDING, CB_PHASE_ACCOUNT), PAM_PERM_DENIED);
	assert_int_equal(cb_pam_code(CB_ERR_TOKEN, CB_PHASE_ACCOUNT), PAM_PERM_DENIED);
	assert_int_equal(cb_pam_code(CB_ERR_LOCKED, CB_PHASE_AUTH), PAM_MAXTRIES);
	assert_int_equal(cb_pam_code(CB_ERR_TIMEOUT, CB_PHASE_AUTH), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(cb_pam_code(CB_ERR_TLS, CB_PHASE_AUTH), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(cb_pam_code(CB_ERR_PROTOCOL, CB_PHASE_AUTH), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(cb_pam_code(CB_ERR_SERVICE, CB_PHASE_AUTH), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(cb_pam_code(CB_ERR_NOMEM, CB_PHASE_AUTH), PAM_BUF_ERR);
	assert_int_equal(cb_pam_code(CB_ERR_SUB_MISMATCH, CB_PHASE_ACCOUNT), PAM_PERM_DENIED);
	assert_int_equal(cb_pam_code(CB_ERR_DENIED, CB_PHASE_ACCOUNT), PAM_PERM_DENIED);
	assert_int_equal(cb_pam_code(CB_ERR_WEAK_PASSWORD, CB_PHASE_PASSWORD), PAM_AUTHTOK_ERR);
	assert_int_equal(cb_pam_code(CB_ERR_SERVICE, CB_PHASE_PASSWORD), PAM_AUTHTOK_ERR);
}

static void test_messages(void **state)
{
	(void)state;
	assert_non_null(cb_pam_user_message(CB_ERR_USER_BLOCKED));
	assert_non_null(cb_pam_user_message(CB_ERR_LOCKED));
	/* a wrong password says nothing beyond the failure */
	assert_null(cb_pam_user_message(CB_ERR_AUTH));
	assert_null(cb_pam_user_message(CB_ERR_USER_UNKNOWN));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_never_success),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_messages),
	};

	return cmocka_run_group_tests_name("pamcodes", tests, NULL, NULL);
}
