#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Full RELRO for everything the project installs: pam_cloudbase.so is
# dlopen'ed into setuid sudo and su, libnss_cloudbase.so.2 into every process
# that resolves a name, cloudbasectl runs as root. With GNU_RELRO and
# BIND_NOW the dynamic loader resolves every symbol at load time and then
# makes the GOT read-only, so a memory-corruption bug cannot redirect a
# library call through it. Checked with readelf (binutils). Prints TAP.
set -u
: "${top_builddir:?run through make check}" "${PAM_CLOUDBASE_SO:?}" "${NSS_CLOUDBASE_DIR:?}"
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; failed=1; }

if ! command -v readelf >/dev/null 2>&1; then
	echo "1..0 # SKIP readelf (binutils) is missing"
	exit 0
fi
for f in "$PAM_CLOUDBASE_SO" "$NSS_CLOUDBASE_DIR/libnss_cloudbase.so.2" \
	"$top_builddir/tools/cloudbasectl"; do
	name=${f##*/}
	if [ ! -f "$f" ] || ! readelf -h "$f" >/dev/null 2>&1; then
		nok "$name: not an ELF file ($f)"
		continue
	fi
	if readelf -lW "$f" | grep -q '^ *GNU_RELRO '; then
		ok "$name has a GNU_RELRO segment"
	else
		nok "$name has no GNU_RELRO segment"
	fi
	# -z now sets DT_FLAGS BIND_NOW and DT_FLAGS_1 NOW; either makes the
	# loader bind at load time
	dyn=$(readelf -dW "$f")
	if printf '%s\n' "$dyn" | grep -Eq '\(BIND_NOW\)|\(FLAGS\) +.*BIND_NOW|\(FLAGS_1\) +.*[ :]NOW'; then
		ok "$name is linked with BIND_NOW (full RELRO)"
	else
		nok "$name is not linked with BIND_NOW: partial RELRO only"
		printf '%s\n' "$dyn" | grep -E 'FLAGS' | sed 's/^/# /'
	fi
done
echo "1..$n"
exit $failed
