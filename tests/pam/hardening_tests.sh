#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# TESTS entry of the hardening tests (tests/pam/test_hardening.c):
# pam_tests.sh (emulators, hostile environment, ns-run) running
# test_hardening instead of test_pam.
PAM_TEST=pam/test_hardening
export PAM_TEST
exec /bin/sh "$top_srcdir/tests/pam/pam_tests.sh"
