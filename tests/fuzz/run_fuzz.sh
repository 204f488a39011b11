#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the libFuzzer targets with clang (ASan + UBSan + libFuzzer; the
# library sources compiled for coverage) and run each for a bounded time
# from its checked-in seed corpus. Prints TAP: one test per target, "not ok"
# on any crash, leak, sanitizer report or broken invariant.
#
# Usage: run_fuzz.sh BUILDDIR [SECONDS] [TARGET...]
#   BUILDDIR  a configured build tree (for config.h); fuzzers go to
#             BUILDDIR/tests/fuzz/bin, the grown corpora to .../work-corpus.
#   SECONDS   per target (default: $FUZZ_SECONDS or 20)
#   TARGET    api conf accountdb names module (default: all)
# A crash leaves its input as BUILDDIR/tests/fuzz/crash-<target>-*; replay
# it with: BUILDDIR/tests/fuzz/bin/fuzz_<target> FILE
#
# fuzz_module is the whole module (pam/ and lib/) through libpam, with
# tests/fuzz/fake_http.c linked instead of lib/http.c (no libcurl) and
# fuzz_module_shim.so, the module libpam loads, beside it in bin/; it runs
# as root only (the module's stores are root's) and is skipped otherwise.
set -u
B=$(cd "${1:?usage: $0 BUILDDIR [SECONDS] [TARGET...]}" && pwd)
S=$(cd "$(dirname "$0")/../.." && pwd)
secs=${2:-${FUZZ_SECONDS:-20}}
[ $# -ge 2 ] && shift 2 || shift $#
targets=${*:-api conf accountdb names module}
out=$B/tests/fuzz
mkdir -p "$out/bin" "$out/obj"

n=0
for t in $targets; do n=$((n + 1)); done
echo "1..$n"
if ! command -v clang >/dev/null 2>&1; then
	echo "Bail out! clang not found (scripts/install-deps installs it)"
	exit 1
fi

CC=${FUZZ_CC:-clang}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# LOCALEDIR: the module binds its text domain there; the fuzzers run in the C
# locale, so no catalogue is ever read from it.
CFLAGS="-g -O1 $SAN -I$B -I$S/lib -DCB_SYSCONFDIR=\"/etc\" -DCB_LOCALSTATEDIR=\"/var\""
CFLAGS="$CFLAGS -DLOCALEDIR=\"/nonexistent/locale\""
NETCFLAGS=$(pkg-config --cflags libcurl json-c openssl libcrypt)
NETLIBS=$(pkg-config --libs libcurl json-c openssl libcrypt)
core="status secure log fileutil conf names localfiles idmap shield account nscd accountdb
	accountdb_store accountdb_map state"
net="http api jsonscan"
pam="pam_cloudbase context conv pamcodes state auth otp offline account session password"

# lib/ for coverage but without libFuzzer's main (fuzzer-no-link)
compile() {
	for f in "$@"; do
		o=$out/obj/$f.o
		if [ ! -f "$o" ] || [ "$S/lib/$f.c" -nt "$o" ] || [ "$B/config.h" -nt "$o" ]; then
			# shellcheck disable=SC2086
			$CC $CFLAGS $NETCFLAGS -fsanitize=fuzzer-no-link -c "$S/lib/$f.c" -o "$o" ||
				return 1
		fi
	done
}
objs() { for f in "$@"; do printf '%s ' "$out/obj/$f.o"; done; }

# pam/ likewise, for fuzz_module; its waits (nanosleep) go to the fuzzer,
# which checks and skips them (fuzz_module.c)
compile_pam() {
	for f in "$@"; do
		o=$out/obj/pam_$f.o
		if [ ! -f "$o" ] || [ "$S/pam/$f.c" -nt "$o" ] || [ "$S/pam/module.h" -nt "$o" ] ||
			[ "$B/config.h" -nt "$o" ]; then
			# shellcheck disable=SC2086
			$CC $CFLAGS $NETCFLAGS -fsanitize=fuzzer-no-link -Dnanosleep=fuzz_nanosleep \
				-c "$S/pam/$f.c" -o "$o" || return 1
		fi
	done
}
pamobjs() { for f in "$@"; do printf '%s ' "$out/obj/pam_$f.o"; done; }

i=0
failed=0
for t in $targets; do
	i=$((i + 1))
	bin=$out/bin/fuzz_$t
	log=$out/fuzz_$t.log
	: >"$log"
	case $t in
	api) libs="$(objs $core $net) $NETLIBS"; need="$core $net"; maxlen=16384 ;;
	accountdb) libs=$(objs $core); need=$core; maxlen=4096 ;;
	conf | names) libs=$(objs $core); need=$core; maxlen=4096 ;;
	module)
		if [ "$(id -u)" != 0 ]; then
			echo "ok $i - fuzz_$t # SKIP needs root (the module's stores are root's)"
			continue
		fi
		# no libcurl: fake_http.c is the transport
		libs="$S/tests/fuzz/fake_http.c $(objs $core api jsonscan) $(pamobjs $pam) \
			$(pkg-config --libs json-c libcrypto libcrypt) -lpam -Wl,--export-dynamic-symbol=fuzz_module_entry"
		need="$core api jsonscan"
		maxlen=8192
		if ! compile_pam $pam >>"$log" 2>&1 ||
			! $CC -shared -fPIC -O1 -Wl,-z,nodelete "$S/tests/fuzz/fuzz_module_shim.c" \
				-o "$out/bin/fuzz_module_shim.so" >>"$log" 2>&1; then
			echo "not ok $i - fuzz_$t: build failed"
			sed 's/^/# /' "$log" | tail -n 30
			failed=1
			continue
		fi
		;;
	*) echo "not ok $i - fuzz_$t: no such target"; failed=1; continue ;;
	esac
	# shellcheck disable=SC2086
	if ! compile $need >>"$log" 2>&1 ||
		! $CC $CFLAGS $NETCFLAGS -fsanitize=fuzzer "$S/tests/fuzz/fuzz_$t.c" $libs \
			-o "$bin" >>"$log" 2>&1; then
		echo "not ok $i - fuzz_$t: build failed"
		sed 's/^/# /' "$log" | tail -n 30
		failed=1
		continue
	fi
	# a private working corpus: the checked-in seeds stay as they are
	corpus=$out/work-corpus/$t
	mkdir -p "$corpus"
	start=$(date +%s)
	"$bin" -max_total_time="$secs" -max_len="$maxlen" -timeout=10 -rss_limit_mb=1024 \
		-print_final_stats=1 -artifact_prefix="$out/crash-$t-" \
		"$corpus" "$S/tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ $rc -eq 0 ]; then
		echo "ok $i - fuzz_$t: ${runs:-?} runs in $(($(date +%s) - start)) s"
	else
		echo "not ok $i - fuzz_$t: exit $rc after ${runs:-?} runs (log: $log)"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 10 |
			sed 's/^/# /'
		failed=1
	fi
done
exit $failed
