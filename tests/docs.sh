#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The documentation keeps up with the code: every config key lib/conf.c
# accepts has an entry in cloudbase.conf(5) (module-argument-only keys in
# pam_cloudbase(8)), every cloudbasectl command is in cloudbasectl(8), and
# every man page renders without a groff warning.
set -u
: "${top_srcdir:?}"
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; failed=1; }
docs=$top_srcdir/docs

# keys from the key table: K(name, TYPE, SCOPE) and KU(name, lo, hi)
keys=$(sed -n 's/^[[:space:]]*KU\{0,1\}(\([a-z_]*\),.*/\1/p' "$top_srcdir/lib/conf.c")
[ -n "$keys" ] && ok "found the config keys in lib/conf.c" || nok "no keys found in lib/conf.c"
for k in $keys; do
	page=$docs/cloudbase.conf.5
	grep -q "K($k, T_BOOL, S_ARG_ONLY)" "$top_srcdir/lib/conf.c" && page=$docs/pam_cloudbase.8
	# an entry: a bold line naming the key (".B uid_min\fR, \fBuid_max" names two)
	if grep -Eq "^\.BI? (.*[^a-z_])?$k([^a-z_]|\$)" "$page"; then
		ok "${page##*/} documents $k"
	else
		nok "${page##*/} lacks an entry for $k"
	fi
done

# the commands cloudbasectl dispatches on: strcmp(argv[0], "status"),
# strcmp(argv[1], "add"), ...
cmds=$(grep -o 'strcmp(argv\[[01]\], "[a-z]*")' "$top_srcdir/tools/cloudbasectl.c" |
	sed 's/strcmp(argv\[0\], "\([a-z]*\)")/\1/; s/strcmp(argv\[1\], "\([a-z]*\)")/user \1/' |
	grep -vx user | sort -u)
[ -n "$cmds" ] && ok "found the cloudbasectl commands in tools/cloudbasectl.c" ||
	nok "no commands found in tools/cloudbasectl.c"
for cmd in $(printf '%s\n' "$cmds" | tr ' ' '+'); do
	cmd=$(printf '%s' "$cmd" | tr '+' ' ')
	if grep -q "^\.B $cmd" "$docs/cloudbasectl.8"; then
		ok "cloudbasectl.8 documents $cmd"
	else
		nok "cloudbasectl.8 lacks $cmd"
	fi
done

for page in "$docs"/*.[58]; do
	out=$(LC_ALL=C groff -man -ww -z "$page" 2>&1)
	if [ -z "$out" ]; then
		ok "${page##*/} renders without warnings"
	else
		nok "${page##*/}: $out"
	fi
done
echo "1..$n"
exit $failed
