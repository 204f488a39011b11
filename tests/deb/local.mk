# SPDX-License-Identifier: BSD-3-Clause
# The install test: the Debian packages built from a clean export, installed
# with apt in a minimal Debian 12 root, logins over SSH and sudo, purge
# (root only; the Debian root is cached in deb/cache/). configure
# --disable-install-test leaves it out: make distcheck does (see the top
# Makefile.am and the test's own header).
if INSTALL_TEST
TESTS += deb/install.py
endif
EXTRA_DIST += deb/install.py

# the cached Debian root survives make clean (it is a download cache)
distclean-local: clean-deb-cache
.PHONY: clean-deb-cache
clean-deb-cache:
	rm -rf deb/cache
