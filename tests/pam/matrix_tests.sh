#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# TESTS entry of the bad-input matrix (docs/security.md): pam_tests.sh
# (emulators, hostile environment, ns-run) running test_matrix.
PAM_TEST=pam/test_matrix
export PAM_TEST
exec /bin/sh "$top_srcdir/tests/pam/pam_tests.sh"
