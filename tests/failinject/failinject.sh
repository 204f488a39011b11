#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# TESTS entry of the failure injection test: pam_tests.sh (emulators,
# hostile environment, ns-run) running test_failinject, whose services load
# the shim module. Under ns-run the module's thousands of log lines go to
# the test's own /dev/log, not to the host's syslog.
FAILINJECT_SO=$top_builddir/tests/failinject/.libs/pam_cbtest_failinject.so
PAM_TEST=failinject/test_failinject
export FAILINJECT_SO PAM_TEST
exec /bin/sh "$top_srcdir/tests/pam/pam_tests.sh"
