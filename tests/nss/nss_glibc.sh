#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Runs test_nss_glibc (cmocka, TAP) against a 300-account database with
# gecos fields of growing length, in a namespace where the test config is
# at /etc/cloudbase/cloudbase.conf.
. "$top_srcdir/tests/nss/nss-lib.sh"

N=300
write_conf "group_map = admin:adm"
awk -v n=$N 'BEGIN {
	for (i = 0; i < n; i++) {
		g = sprintf("G%d", i)
		for (k = 0; k < 2 * i; k++) g = g "x"
		printf "u%03d %d u%03d@example.com - %s %s\n", i, 710000 + i, i,
			(i % 3 == 0) ? "admin,user" : "user", g
	}
}' | mkdb || { echo "1..0 # SKIP mkdb failed"; exit 1; }
in_ns env LD_LIBRARY_PATH="$NSS_CLOUDBASE_DIR" CB_TEST_DB="$DB" CB_TEST_N=$N \
	CB_TEST_ADM_GID="$(local_gid adm)" "$top_builddir/tests/nss/test_nss_glibc"
