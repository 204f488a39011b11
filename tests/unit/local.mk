# SPDX-License-Identifier: BSD-3-Clause
# Unit tests of lib/ (cmocka; without it configure leaves them out and
# no-cmocka.sh reports them as skipped).
if HAVE_CMOCKA
check_PROGRAMS += unit/test_conf
TESTS += unit/test_conf
unit_test_conf_SOURCES = unit/test_conf.c
unit_test_conf_LDADD = $(top_builddir)/lib/libcbcore.la $(CMOCKA_LIBS)

check_PROGRAMS += unit/test_api unit/test_pamcodes
TESTS += unit/test_api unit/test_pamcodes
unit_test_api_SOURCES = unit/test_api.c
unit_test_api_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS)
unit_test_api_LDADD = $(top_builddir)/lib/libcbnet.la $(CMOCKA_LIBS)
unit_test_pamcodes_SOURCES = unit/test_pamcodes.c $(top_srcdir)/pam/pamcodes.c
unit_test_pamcodes_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pam
unit_test_pamcodes_LDADD = $(CMOCKA_LIBS)

# The account database, uid mapping and names (nss branch).
check_PROGRAMS += unit/test_names unit/test_idmap unit/test_accountdb \
	unit/test_accountdb_corrupt unit/test_accountdb_writers
TESTS += unit/test_names unit/test_idmap unit/test_accountdb \
	unit/test_accountdb_corrupt unit/test_accountdb_writers
unit_test_names_SOURCES = unit/test_names.c
unit_test_names_LDADD = $(top_builddir)/lib/libcbcore.la $(CMOCKA_LIBS)
unit_test_idmap_SOURCES = unit/test_idmap.c
unit_test_idmap_LDADD = $(top_builddir)/lib/libcbcore.la $(CMOCKA_LIBS)
unit_test_accountdb_SOURCES = unit/test_accountdb.c unit/accountdb_testutil.h
unit_test_accountdb_LDADD = $(top_builddir)/lib/libcbcore.la $(CMOCKA_LIBS)
unit_test_accountdb_corrupt_SOURCES = unit/test_accountdb_corrupt.c unit/accountdb_testutil.h
unit_test_accountdb_corrupt_LDADD = $(top_builddir)/lib/libcbcore.la $(CMOCKA_LIBS)
unit_test_accountdb_writers_SOURCES = unit/test_accountdb_writers.c unit/accountdb_testutil.h \
	unit/killpoints.c unit/killpoints.h
unit_test_accountdb_writers_LDADD = $(top_builddir)/lib/libcbcore.la $(CMOCKA_LIBS)
# kill points: the system calls of a write (killpoints.h)
unit_test_accountdb_writers_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=flock -Wl,--wrap=write \
	-Wl,--wrap=rename

# The state store; kill points as for the account database's writers.
check_PROGRAMS += unit/test_state
TESTS += unit/test_state
unit_test_state_SOURCES = unit/test_state.c unit/accountdb_testutil.h unit/killpoints.c \
	unit/killpoints.h
unit_test_state_LDADD = $(top_builddir)/lib/libcbcore.la $(CMOCKA_LIBS)
unit_test_state_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=flock -Wl,--wrap=write -Wl,--wrap=rename

# A version 1 database written by release 0.1.0 (fixtures/) and its migration.
check_PROGRAMS += unit/test_migration
TESTS += unit/test_migration
unit_test_migration_SOURCES = unit/test_migration.c unit/accountdb_testutil.h
unit_test_migration_LDADD = $(top_builddir)/lib/libcbcore.la $(CMOCKA_LIBS)

# RFC 8259 only, one meaning per answer, any "error" key denies, secrets
# never in json-c (docs/security.md).
check_PROGRAMS += unit/test_api_strict
TESTS += unit/test_api_strict
unit_test_api_strict_SOURCES = unit/test_api_strict.c
unit_test_api_strict_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS)
unit_test_api_strict_LDADD = $(top_builddir)/lib/libcbnet.la $(CMOCKA_LIBS)

# base_url as libcurl reads it: no userinfo, plain http only to loopback.
check_PROGRAMS += unit/test_base_url
TESTS += unit/test_base_url
unit_test_base_url_SOURCES = unit/test_base_url.c
unit_test_base_url_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
unit_test_base_url_LDADD = $(top_builddir)/lib/libcbnet.la $(CMOCKA_LIBS)
endif
EXTRA_DIST += unit/fixtures/accounts-v1.db unit/fixtures/accounts-v1.txt unit/fixtures/README.md
