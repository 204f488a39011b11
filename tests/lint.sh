#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# cppcheck and clang-tidy over the project's code (lib/ pam/ nss/ tools/),
# configured by .cppcheck-suppressions and .clang-tidy at the top (each
# exception there says why), and clang-format (.clang-format) over every C
# file. Any finding fails. Prints TAP.
set -u
: "${top_srcdir:?run through make check}" "${top_builddir:?run through make check}"
cd "$top_srcdir" || exit 1
echo "1..3"
defs="-DCB_SYSCONFDIR=\"/etc\" -DCB_LOCALSTATEDIR=\"/var\" -DLOCALEDIR=\"/usr/share/locale\""
files=$(ls lib/*.c pam/*.c nss/*.c tools/*.c)
out=$(mktemp /tmp/cblint.XXXXXX)
trap 'rm -f "$out"' EXIT
failed=0

if ! command -v cppcheck >/dev/null 2>&1; then
	echo "not ok 1 - cppcheck is missing (scripts/install-deps installs it)"
	failed=1
# shellcheck disable=SC2086
elif cppcheck --enable=warning,style,performance,portability --std=c11 --quiet \
	--error-exitcode=1 --suppressions-list=.cppcheck-suppressions \
	-I lib -I "$top_builddir" $defs $files >"$out" 2>&1; then
	echo "ok 1 - cppcheck: no finding"
else
	echo "not ok 1 - cppcheck"
	sed 's/^/# /' "$out" | head -n 60
	failed=1
fi

if ! command -v clang-tidy >/dev/null 2>&1; then
	echo "not ok 2 - clang-tidy is missing (scripts/install-deps installs it)"
	failed=1
# shellcheck disable=SC2086
elif clang-tidy --quiet $files -- -I"$top_builddir" -Ilib -Ipam $defs \
	$(pkg-config --cflags libcurl json-c) >"$out" 2>&1; then
	echo "ok 2 - clang-tidy: no finding"
else
	echo "not ok 2 - clang-tidy"
	grep -E 'warning:|error:|note:' "$out" | sed 's/^/# /' | head -n 60
	failed=1
fi
if ! command -v clang-format >/dev/null 2>&1; then
	echo "not ok 3 - clang-format is missing (scripts/install-deps installs it)"
	failed=1
# shellcheck disable=SC2046
elif clang-format --dry-run -Werror $(ls lib/*.[ch] pam/*.[ch] nss/*.[ch] tools/*.c \
	tests/*.h tests/*/*.[ch] bench/*.c 2>/dev/null) >"$out" 2>&1; then
	echo "ok 3 - clang-format: every C file follows .clang-format"
else
	echo "not ok 3 - clang-format (run: make format)"
	grep 'warning:' "$out" | sed 's/^/# /' | head -n 20
	failed=1
fi

exit $failed
