#!/bin/sh
# Fuzz the account database reader with libFuzzer + ASan/UBSan (clang).
# Not part of make check. Usage: run_fuzz_accountdb.sh BUILDDIR [SECONDS]
# The seed corpus is a small valid database built with tests/nss/mkdb.
set -eu
B=$(cd "${1:?usage: $0 BUILDDIR [SECONDS]}" && pwd)
S=$(cd "$(dirname "$0")/../.." && pwd)
secs=${2:-60}
W=$(mktemp -d /tmp/cbfuzz.XXXXXX)
trap 'rm -rf "$W"' EXIT
chmod 755 "$W"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I"$B" -I"$S/lib" -DCB_SYSCONFDIR='"/etc"' -DCB_LOCALSTATEDIR='"/var"' \
	"$S/tests/fuzz/fuzz_accountdb.c" "$S/lib/accountdb_map.c" "$S/lib/names.c" \
	"$S/lib/fileutil.c" "$S/lib/log.c" "$S/lib/secure.c" "$S/lib/status.c" \
	-o "$W/fuzz_accountdb"
make -s -C "$B/tests" nss/mkdb
mkdir "$W/corpus"
printf '%s\n' "alice 700001 alice@example.com sub-a admin,ops Alice" \
	"bob 700002 bob@example.com - - Bob" "u000001 700003 u1 - user" |
	"$B/tests/nss/mkdb" "$W/corpus/seed.db"
"$W/fuzz_accountdb" -max_total_time="$secs" -max_len=4096 "$W/corpus"
