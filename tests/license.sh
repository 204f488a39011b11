#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The licence is stated everywhere it has to be: LICENSE holds the
# BSD-3-Clause text for "The pam_cloudbase authors", and every source,
# script, build and man file says `SPDX-License-Identifier: BSD-3-Clause`
# in its first three lines (after a #! line or as a roff comment), with no
# other identifier anywhere. Files: those git tracks (plus new, not ignored
# ones) in a checkout; every file of the tree in an unpacked tarball
# (distcheck) or a package build, less the autotools outputs. Data (JSON,
# fuzz seeds), Markdown, the pam-auth-update profiles (pam-auth-update reads
# every line) and the Debian files without a comment syntax (changelog,
# copyright, source/format) are covered by debian/copyright instead.
# Prints TAP.
set -u
: "${top_srcdir:?run through make check}"
cd "$top_srcdir" || exit 1
ID='SPDX-License-Identifier: BSD-3-Clause'
echo "1..3"

# The files of the tree, one per line, relative to the top.
list_files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
		[ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ]; then
		git ls-files -co --exclude-standard
		return
	fi
	find . \( -name .git -o -name autom4te.cache -o -name build-aux -o -name m4 \
		-o -name _build -o -name _inst -o -name .libs -o -name .deps \
		-o -path ./build -o -path ./build-san -o -path ./tests/fuzz/corpus \) -prune \
		-o -type f -print | sed 's|^\./||' | while IFS= read -r f; do
		# what configure, automake and libtool wrote
		head -n 5 "$f" 2>/dev/null |
			grep -Eqi 'generated (automatically )?by|temporary wrapper script' && continue
		printf '%s\n' "$f"
	done
}

# needs FILE: whether FILE must carry the identifier
needs() {
	case $1 in
	*.md | LICENSE | *.json | tests/fuzz/corpus/*) return 1 ;;
	*.c | *.h | *.sh | *.py | *.am | *.mk | *.ac | *.map | docs/*.[1-8]) return 0 ;;
	etc/* | scripts/* | .ci/* | .clang-format | .clang-tidy | .cppcheck-suppressions | \
		.gitignore) return 0 ;;
	# debian/: the files debhelper reads that take comments (not what a
	# package build leaves there)
	debian/rules | debian/control | debian/not-installed | debian/*.postinst | \
		debian/*.preinst | debian/*.prerm | debian/*.postrm | debian/*.install | \
		debian/*.dirs | debian/*.docs | debian/*.examples | debian/*.nss | \
		debian/*.lintian-overrides | debian/clean | debian/tests/*) return 0 ;;
	# po/: the project's own files (a translation's header comment); not
	# what autopoint copies nor the template the build writes
	po/*.po | po/Makevars | po/POTFILES.in | po/LINGUAS) return 0 ;;
	debian/*) return 1 ;;
	esac
	# any other script
	[ "$(head -c 2 "$1" 2>/dev/null)" = '#!' ]
}

failed=0
lic=LICENSE
if [ -f "$lic" ] && grep -q '^Copyright (c) [0-9-]*, The pam_cloudbase authors' "$lic" &&
	grep -q 'Redistribution and use in source and binary forms, with or without' "$lic" &&
	grep -q 'Neither the name of the copyright holder nor the names of its' "$lic" &&
	[ "$(grep -c '^[123]\. ' "$lic")" = 3 ]; then
	echo "ok 1 - LICENSE: BSD-3-Clause, copyright The pam_cloudbase authors"
else
	echo "not ok 1 - LICENSE is missing or is not the BSD-3-Clause text"
	failed=1
fi

files=$(list_files)
set -f # names are words, never patterns
checked=0
missing=
other=
for f in $files; do
	[ -f "$f" ] || continue
	needs "$f" || continue
	checked=$((checked + 1))
	head -n 3 "$f" | grep -q "$ID\( \*/\)\{0,1\}\$" || missing="$missing $f"
	grep -o 'SPDX-License-Identifier: *[A-Za-z0-9][A-Za-z0-9.+-]*' "$f" |
		grep -qv "^$ID\$" && other="$other $f"
done
if [ -z "$missing" ] && [ "$checked" -gt 50 ]; then
	echo "ok 2 - $checked source, script, build and man files carry '$ID' at the top"
else
	echo "not ok 2 - files without '$ID' in their first 3 lines (of $checked):"
	for f in $missing; do echo "#   $f"; done
	failed=1
fi
if [ -z "$other" ]; then
	echo "ok 3 - no file names another licence identifier"
else
	echo "not ok 3 - another SPDX identifier in:$other"
	failed=1
fi
exit $failed
