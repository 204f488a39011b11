#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The module links only libc (never libcurl, json-c or libpam: NSS runs in
# every process) and exports only the _nss_cloudbase_* entry points.
set -u
: "${NSS_CLOUDBASE_DIR:?}"
so=$NSS_CLOUDBASE_DIR/libnss_cloudbase.so.2
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; failed=1; }

if [ -f "$so" ]; then ok "the build produces libnss_cloudbase.so.2"; else nok "no $so"; fi
needed=$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
case " $needed" in
*" libc.so.6 "*) ok "links libc ($needed)" ;;
*) nok "does not link libc? ($needed)" ;;
esac
extra=$(printf '%s\n' $needed | grep -v -x -e 'libc.so.6' -e 'ld-linux-x86-64.so.2' \
	-e 'ld-linux-aarch64.so.1' | tr '\n' ' ')
# a sanitizer build adds its runtimes, and only them
if [ -n "${CB_SAN_PRELOAD:-}" ]; then
	extra=$(printf '%s\n' $extra | grep -v -e '^libasan\.so' -e '^libubsan\.so' | tr '\n' ' ')
	LD_PRELOAD=$CB_SAN_PRELOAD ASAN_OPTIONS=detect_leaks=0:${ASAN_OPTIONS:-}
	export LD_PRELOAD ASAN_OPTIONS
fi
if [ -z "$extra" ]; then ok "links nothing but libc"; else nok "also links: $extra"; fi
exported=$(nm -D --defined-only "$so" | awk '{ print $3 }' | sort)
bad=$(printf '%s\n' $exported | grep -v '^_nss_cloudbase_' | tr '\n' ' ')
if [ -z "$bad" ]; then ok "exports only _nss_cloudbase_*"; else nok "also exports: $bad"; fi
for f in getpwnam_r getpwuid_r setpwent getpwent_r endpwent getgrnam_r getgrgid_r \
	setgrent getgrent_r endgrent initgroups_dyn; do
	if printf '%s\n' $exported | grep -q -x "_nss_cloudbase_$f"; then
		ok "exports _nss_cloudbase_$f"
	else
		nok "missing _nss_cloudbase_$f"
	fi
done
# The module only reads, and links only the read side of libcbcore
# (--gc-sections): no libc function that writes a file, takes a lock or
# starts a process. glibc loads NSS modules with RTLD_NOW, so each import is
# a symbol lookup in the first NSS call of every process (bench/README.md).
imported=$(nm -D --undefined-only "$so" | awk '{ sub(/@.*/, "", $2); print $2 }' | sort)
writers=$(printf '%s\n' $imported | grep -x -e write -e rename -e fsync -e unlink -e unlinkat \
	-e mkostemp -e flock -e fork -e setresuid -e chmod -e fchmod -e mkdir | tr '\n' ' ')
if [ -z "$writers" ]; then
	ok "imports no writer ($(printf '%s\n' $imported | wc -l) libc symbols)"
else
	nok "imports writers: $writers"
fi
# the positive control: the module loads with every symbol resolved
if "${PYTHON3:-python3}" -c 'import ctypes, os, sys
ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW)' "$so"; then
	ok "dlopen(RTLD_NOW) succeeds"
else
	nok "dlopen(RTLD_NOW) fails"
fi
echo "1..$n"
exit $failed
