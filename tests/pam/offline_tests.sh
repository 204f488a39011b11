#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# TESTS entry of the offline login tests: pam_tests.sh (emulators, hostile
# environment, ns-run) running test_offline instead of test_pam.
PAM_TEST=pam/test_offline
export PAM_TEST
exec /bin/sh "$top_srcdir/tests/pam/pam_tests.sh"
