#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# TESTS entry of the memory scan after pam_end (tests/pam/test_secrets.c):
# pam_tests.sh (emulators, hostile environment, ns-run) running
# test_secrets instead of test_pam.
PAM_TEST=pam/test_secrets
export PAM_TEST
exec /bin/sh "$top_srcdir/tests/pam/pam_tests.sh"
