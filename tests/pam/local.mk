# SPDX-License-Identifier: BSD-3-Clause
# The PAM module through real libpam against the emulator (pam_tests.sh
# starts the emulators and runs test_pam under ns-run). The cmocka tests
# are built only with cmocka (else no-cmocka.sh reports them as skipped).

# What every C PAM test that talks to the emulator compiles and links with.
PAM_TEST_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS)
PAM_TEST_LDADD = $(top_builddir)/lib/libcbnet.la $(CMOCKA_LIBS) $(CURL_LIBS) $(JSONC_LIBS) \
	$(PAM_LIBS) -lpthread

if HAVE_CMOCKA
check_PROGRAMS += pam/test_pam
pam_test_pam_SOURCES = pam/test_pam.c pam/harness.c pam/harness.h
pam_test_pam_CFLAGS = $(PAM_TEST_CFLAGS)
pam_test_pam_LDADD = $(PAM_TEST_LDADD)

endif

# A helper module that sets or checks PAM_AUTHTOK (use_first_pass tests).
check_LTLIBRARIES = pam/pam_cbtest_authtok.la
pam_pam_cbtest_authtok_la_SOURCES = pam/pam_cbtest_authtok.c
pam_pam_cbtest_authtok_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
pam_pam_cbtest_authtok_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
pam_pam_cbtest_authtok_la_LIBADD = $(PAM_LIBS)

if HAVE_CMOCKA
# The module's exported symbols, by dlopen.
check_PROGRAMS += pam/test_symbols
pam_test_symbols_SOURCES = pam/test_symbols.c
pam_test_symbols_LDADD = $(CMOCKA_LIBS) -ldl

# The SMS methods (sms, password+sms, password|sms): sms_tests.sh runs
# test_sms through pam_tests.sh. harness.c: the conversation, log capture,
# emulator control and fixtures every C PAM test shares.
check_PROGRAMS += pam/test_sms
pam_test_sms_SOURCES = pam/test_sms.c pam/harness.c pam/harness.h
pam_test_sms_CFLAGS = $(PAM_TEST_CFLAGS)
pam_test_sms_LDADD = $(PAM_TEST_LDADD)

# The e-mail code methods (email, password+email, menus offering it):
# email_tests.sh runs test_email through pam_tests.sh.
check_PROGRAMS += pam/test_email
pam_test_email_SOURCES = pam/test_email.c pam/harness.c pam/harness.h
pam_test_email_CFLAGS = $(PAM_TEST_CFLAGS)
pam_test_email_LDADD = $(PAM_TEST_LDADD)

# Offline login (offline_login): offline_tests.sh runs test_offline.
check_PROGRAMS += pam/test_offline
pam_test_offline_SOURCES = pam/test_offline.c pam/harness.c pam/harness.h
pam_test_offline_CFLAGS = $(PAM_TEST_CFLAGS)
pam_test_offline_LDADD = $(PAM_TEST_LDADD)

TESTS += pam/pam_tests.sh pam/sms_tests.sh pam/email_tests.sh pam/offline_tests.sh \
	pam/test_symbols
endif
EXTRA_DIST += pam/pam_tests.sh pam/sms_tests.sh pam/email_tests.sh pam/offline_tests.sh

# The tests below share harness.c (cmocka), so they need cmocka too.
if HAVE_CMOCKA
# pam_start/pam_end 1,000 times: no fd or heap growth (test_loadunload.c).
check_PROGRAMS += pam/test_loadunload
pam_test_loadunload_SOURCES = pam/test_loadunload.c pam/harness.c pam/harness.h
pam_test_loadunload_CFLAGS = $(PAM_TEST_CFLAGS)
pam_test_loadunload_LDADD = $(PAM_TEST_LDADD)
TESTS += pam/test_loadunload
if HAVE_VALGRIND
if !SANITIZERS
TESTS += pam/loadunload_valgrind.sh
endif
endif

# The bad-input matrix of docs/security.md (matrix_tests.sh starts the
# emulator and runs test_matrix under ns-run).
check_PROGRAMS += pam/test_matrix
pam_test_matrix_SOURCES = pam/test_matrix.c pam/harness.c pam/harness.h
pam_test_matrix_CFLAGS = $(PAM_TEST_CFLAGS)
pam_test_matrix_LDADD = $(PAM_TEST_LDADD)
TESTS += pam/matrix_tests.sh

# The second hardening review's findings through libpam (hardening_tests.sh
# runs test_hardening through pam_tests.sh).
check_PROGRAMS += pam/test_hardening
pam_test_hardening_SOURCES = pam/test_hardening.c pam/harness.c pam/harness.h
pam_test_hardening_CFLAGS = $(PAM_TEST_CFLAGS)
pam_test_hardening_LDADD = $(PAM_TEST_LDADD)
TESTS += pam/hardening_tests.sh

# Secrets after pam_end: a whole transaction, then every writable mapping
# searched for the password, client secret, Basic credential and tokens
# (secrets_tests.sh runs test_secrets through pam_tests.sh).
check_PROGRAMS += pam/test_secrets
pam_test_secrets_SOURCES = pam/test_secrets.c pam/harness.c pam/harness.h
pam_test_secrets_CFLAGS = $(PAM_TEST_CFLAGS)
pam_test_secrets_LDADD = $(PAM_TEST_LDADD)
TESTS += pam/secrets_tests.sh

# The time budget covers DNS: a slow and a silent resolver (the emulator's
# DNS responder) in a private network namespace (dns_tests.sh).
check_PROGRAMS += pam/test_dns
pam_test_dns_SOURCES = pam/test_dns.c pam/harness.c pam/harness.h
pam_test_dns_CFLAGS = $(PAM_TEST_CFLAGS)
pam_test_dns_LDADD = $(PAM_TEST_LDADD)
TESTS += pam/dns_tests.sh
endif
EXTRA_DIST += pam/loadunload_valgrind.sh pam/matrix_tests.sh pam/hardening_tests.sh \
	pam/secrets_tests.sh pam/dns_tests.sh
