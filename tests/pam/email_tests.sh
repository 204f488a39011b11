#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# TESTS entry of the e-mail code method tests: pam_tests.sh (emulators, hostile
# environment, ns-run) running test_email instead of test_pam.
PAM_TEST=pam/test_email
export PAM_TEST
exec /bin/sh "$top_srcdir/tests/pam/pam_tests.sh"
