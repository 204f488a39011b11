#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# TESTS entry of the SMS method tests: pam_tests.sh (emulators, hostile
# environment, ns-run) running test_sms instead of test_pam.
PAM_TEST_BINARY=test_sms
export PAM_TEST_BINARY
exec /bin/sh "$top_srcdir/tests/pam/pam_tests.sh"
