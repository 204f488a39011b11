# SPDX-License-Identifier: BSD-3-Clause
# Allocation and I/O failure injection over the module's code (lib/ and
# pam/ linked in, every allocation, file, PAM, libcurl and json-c call it
# makes wrapped): see failinject/test_failinject.c. failinject.sh runs it
# through pam/pam_tests.sh, with the PAM test harness.
# test_failinject shares tests/pam/harness.c (cmocka).
if HAVE_CMOCKA
check_PROGRAMS += failinject/test_failinject
failinject_test_failinject_SOURCES = failinject/test_failinject.c pam/harness.c pam/harness.h
failinject_test_failinject_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pam
failinject_test_failinject_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS)
failinject_test_failinject_LDFLAGS = $(AM_LDFLAGS) \
	-Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc -Wl,--wrap=strdup \
	-Wl,--wrap=strndup -Wl,--wrap=asprintf -Wl,--wrap=__asprintf_chk -Wl,--wrap=open \
	-Wl,--wrap=__open_2 -Wl,--wrap=read -Wl,--wrap=__read_chk -Wl,--wrap=write \
	-Wl,--wrap=fstat -Wl,--wrap=fsync -Wl,--wrap=flock -Wl,--wrap=rename \
	-Wl,--wrap=mkostemp -Wl,--wrap=mmap -Wl,--wrap=fopen -Wl,--wrap=opendir \
	-Wl,--wrap=getline -Wl,--wrap=getdelim -Wl,--wrap=__getdelim -Wl,--wrap=getrandom \
	-Wl,--wrap=pam_get_item -Wl,--wrap=pam_set_item -Wl,--wrap=pam_get_user -Wl,--wrap=pam_set_data \
	-Wl,--wrap=curl_easy_init -Wl,--wrap=curl_easy_perform -Wl,--wrap=curl_slist_append -Wl,--wrap=json_tokener_new_ex
failinject_test_failinject_LDADD = $(top_builddir)/pam/libcbpam.la \
	$(top_builddir)/lib/libcbnet.la $(CMOCKA_LIBS) $(CURL_LIBS) $(JSONC_LIBS) \
	$(PAM_LIBS) -lpthread
# the shim module finds cb_failinject_authenticate in the test binary
failinject_test_failinject_LDFLAGS += -Wl,--export-dynamic-symbol=cb_failinject_authenticate \
	-Wl,--export-dynamic-symbol=cb_failinject_acct_mgmt
check_LTLIBRARIES += failinject/pam_cbtest_failinject.la
failinject_pam_cbtest_failinject_la_SOURCES = failinject/pam_cbtest_failinject.c
failinject_pam_cbtest_failinject_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
failinject_pam_cbtest_failinject_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
failinject_pam_cbtest_failinject_la_LIBADD = $(PAM_LIBS) -ldl
TESTS += failinject/failinject.sh
endif
EXTRA_DIST += failinject/failinject.sh
