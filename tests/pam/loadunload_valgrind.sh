#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# test_loadunload under valgrind memcheck: the 1,000 transactions with no
# invalid access and no definite or indirect leak. Prints TAP.
set -u
: "${top_builddir:?run through make check}"
if ! command -v valgrind >/dev/null 2>&1; then
	echo "Bail out! valgrind is missing (scripts/install-deps installs it)"
	exit 1
fi
out=$(valgrind -q --error-exitcode=42 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
	"$top_builddir/tests/pam/test_loadunload" 1000 2>&1)
rc=$?
printf '%s\n' "$out" | grep -E '^(ok|not ok|#)'
printf '%s\n' "$out" | grep '^==' | head -n 40 | sed 's/^/# /'
n=$(printf '%s\n' "$out" | grep -cE '^(ok|not ok) ')
n=$((n + 1))
if [ $rc -eq 0 ]; then
	echo "ok $n - valgrind: no error, no leak"
else
	echo "not ok $n - valgrind: exit $rc"
fi
echo "1..$n"
[ $rc -eq 0 ]
