# SPDX-License-Identifier: BSD-3-Clause
# The NSS module through glibc (nss branch). The shell tests run the module
# in a private mount namespace (tests/ns-run) with a test config overlaid
# on /etc/cloudbase; see tests/nss/nss-lib.sh.
check_PROGRAMS += nss/mkdb
nss_mkdb_SOURCES = nss/mkdb.c
nss_mkdb_LDADD = $(top_builddir)/lib/libcbcore.la

TESTS += nss/nss_elf.sh nss/nss_getent.sh nss/nss_wrapper.sh \
	nss/cloudbasectl.sh nss/cloudbasectl_status.sh nss/cloudbasectl_import.sh

# cmocka (else no-cmocka.sh reports it as skipped)
if HAVE_CMOCKA
check_PROGRAMS += nss/test_nss_glibc
nss_test_nss_glibc_SOURCES = nss/test_nss_glibc.c
nss_test_nss_glibc_LDADD = $(top_builddir)/lib/libcbcore.la $(CMOCKA_LIBS) -ldl -lpthread
TESTS += nss/nss_glibc.sh
endif
EXTRA_DIST += nss/nss-lib.sh nss/nss_elf.sh nss/nss_getent.sh nss/nss_wrapper.sh \
	nss/nss_glibc.sh nss/cloudbasectl.sh nss/cloudbasectl_status.sh \
	nss/cloudbasectl_import.sh
