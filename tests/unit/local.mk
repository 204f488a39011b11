# Unit tests of lib/ (cmocka).
check_PROGRAMS += unit/test_conf
TESTS += unit/test_conf
unit_test_conf_SOURCES = unit/test_conf.c
unit_test_conf_LDADD = $(top_builddir)/lib/libcbcore.la $(CMOCKA_LIBS)
