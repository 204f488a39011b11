# SPDX-License-Identifier: BSD-3-Clause
# End-to-end tests with the real sshd, ssh, sudo, su and /bin/login in a
# private mount namespace (root only; otherwise reported as skipped).
TESTS += e2e/run.py
EXTRA_DIST += e2e/run.py e2e/e2elib.py e2e/demo.py e2e/stopsu.py e2e/README.md
# Offline login (offline_login) with the same clients, Debian's sudoers.
TESTS += e2e/offline.py
EXTRA_DIST += e2e/offline.py
