#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# NSS benchmark: libnss_cloudbase against glibc's files service and
# Debian's libnss-db and libnss-cache on the same 100,000 accounts, in one
# run, in a private mount namespace (nothing on the host changes):
#   - /etc is overlaid with a directory holding the cloudbase config and
#     libnss-cache's /etc/passwd.cache + indexes;
#   - a 1-line passwd, then a 100,000-line one, is bind-mounted over
#     /etc/passwd for the files service;
#   - libnss-db's /var/lib/misc/passwd.db (built with its makedb) is
#     bind-mounted over /var/lib/misc.
# The first lookup of a fresh process is compared, interleaved, with glibc's
# files service (a one-line passwd; built into libc, nothing to load) and
# with bench/nss_floor.c, an NSS module that answers NOTFOUND: glibc loads
# it as it loads ours, so it is the floor for any NSS module.
# Usage: bench/nss_bench.sh [BUILDDIR] (default: the current directory).
#   NSS_LIB=DIR      measure DIR/libnss_cloudbase.so.2 (default BUILDDIR/nss/.libs)
#   COMPARE_LIB=DIR  also DIR/libnss_cloudbase.so.2 in the first-lookup runs
#   FIRST_RUNS=21    fresh processes per service for the first-lookup medians
# Needs root. Prints a table; see bench/README.md for figures.
set -eu
B=$(cd "${1:-.}" && pwd)
S=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-100000}
ITERS=${ITERS:-1000000}
FILES_ITERS=${FILES_ITERS:-200}
OTHER_ITERS=${OTHER_ITERS:-20000} # libnss-db and libnss-cache: tens of µs a call
ONLY_CLOUDBASE=${ONLY_CLOUDBASE:-no} # yes: skip the other services (N=1000000 runs)
CALLGRIND=${CALLGRIND:-yes} # instruction counts per call, if valgrind is there
FIRST_RUNS=${FIRST_RUNS:-21}
command -v valgrind >/dev/null || CALLGRIND=no
[ "$(id -u)" = 0 ] || { echo "nss_bench: needs root" >&2; exit 77; }
make -s -C "$B/tests" nss/mkdb
make -s -C "$B/bench" nss_bench libnss_cbfloor.la
make -s -C "$B/nss"
NSS_LIB=$(cd "${NSS_LIB:-$B/nss/.libs}" && pwd)
COMPARE_LIB=${COMPARE_LIB:+$(cd "$COMPARE_LIB" && pwd)}

T=$(mktemp -d /tmp/cbbench.XXXXXX)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
mkdir -p "$T/etcx/cloudbase" "$T/db" "$T/misc"
# the shipped example (mostly comments, as a host's would be) plus the
# database: every process's first lookup reads and parses it
{ cat "$S/etc/cloudbase.conf"; printf 'accounts_db = %s/db/accounts.db\n' "$T"; } \
	>"$T/etcx/cloudbase/cloudbase.conf"
chmod 644 "$T/etcx/cloudbase/cloudbase.conf"

echo "generating $N accounts..." >&2
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
	printf "u%06d %d u%06d@example.com - - User %d\n", i, 800000 + i, i, i }' |
	"$B/tests/nss/mkdb" "$T/db/accounts.db"
awk -v n="$N" 'BEGIN { print "root:x:0:0:root:/root:/bin/sh"; for (i = 0; i < n; i++)
	printf "u%06d:x:%d:%d:User %d:/home/u%06d:/bin/sh\n", i, 800000 + i, 800000 + i, i, i }' \
	>"$T/passwd.big"
echo "root:x:0:0:root:/root:/bin/sh" >"$T/passwd.one"

have_db=no
have_cache=no
if [ "$ONLY_CLOUDBASE" = yes ]; then
	: # cloudbase only
elif [ -x /usr/bin/makedb ] && [ -e /usr/lib/x86_64-linux-gnu/libnss_db.so.2 ]; then
	# the recipe of libnss-db's /var/lib/misc/Makefile
	awk 'BEGIN { FS=":"; OFS=":"; cnt=0 }
		{ printf "0%u ", cnt++; print }
		{ printf ".%s ", $1; print; printf "=%s ", $3; print }' "$T/passwd.big" |
		(umask 022 && makedb -o "$T/misc/passwd.db" -)
	have_db=yes
fi
if [ "$ONLY_CLOUDBASE" = yes ]; then
	: # cloudbase only
elif [ -e /usr/lib/x86_64-linux-gnu/libnss_cache.so.2 ]; then
	cp "$T/passwd.big" "$T/etcx/passwd.cache"
	"${PYTHON3:-python3}" - "$T/etcx/passwd.cache" <<'PY'
import sys
path = sys.argv[1]
data = open(path, "rb").read()
names, uids, off = [], [], 0
for line in data.split(b"\n"):
    if line:
        f = line.split(b":")
        names.append((f[0], off)); uids.append((f[2], off))
    off += len(line) + 1
# libnss-cache index: fixed-width lines "key\0offset\0<NUL padding>\n",
# sorted with strcmp
for suffix, entries in ((".ixname", names), (".ixuid", uids)):
    entries.sort()
    width = max(len(k) + len(str(o)) + 2 for k, o in entries)
    with open(path + suffix, "wb") as out:
        for k, o in entries:
            e = k + b"\0" + str(o).encode() + b"\0"
            out.write(e + b"\0" * (width - len(e)) + b"\n")
PY
	touch "$T/etcx/passwd.cache.ixname" "$T/etcx/passwd.cache.ixuid"
	have_cache=yes
fi
ls -l "$T/db/accounts.db" "$T/passwd.big" >&2

"$S/tests/ns-run" /bin/sh -c '
	set -eu
	T=$1 B=$2 N=$3 ITERS=$4 FILES_ITERS=$5 have_db=$6 have_cache=$7 OTHER_ITERS=$8
	NSS_LIB=${11} COMPARE_LIB=${12} FIRST_RUNS=${13}
	mount -n -t overlay overlay -o lowerdir="$T/etcx":/etc /etc
	run() { env LD_LIBRARY_PATH="$NSS_LIB" "$B/bench/nss_bench" "$@"; }
	first() { # the median first call of 7 fresh processes
		for i in 1 2 3 4 5 6 7; do run "$1" "$2" 1 | awk "\$2 == \"first\" { print \$3 }"; done |
			sort -n | sed -n 4p
	}
	first_ns() { # LIBDIR SERVICE N: one fresh process, its first lookup in ns
		env LD_LIBRARY_PATH="$1:$B/bench/.libs" "$B/bench/nss_bench" "$2" "$3" 0 |
			awk "\$2 == \"first\" { print \$3 }"
	}
	median() { sort -n "$1" | awk "{ v[NR] = \$1 } END { print v[int((NR + 1) / 2)] }"; }
	echo "== dispatch floor: files, 1-line passwd"
	mount -n --bind "$T/passwd.one" /etc/passwd
	run files 1 "$ITERS"
	echo "== first lookup of a fresh process: median of $FIRST_RUNS, interleaved"
	: >"$T/first.files"; : >"$T/first.floor"; : >"$T/first.cloudbase"; : >"$T/first.compare"
	for i in $(seq "$FIRST_RUNS"); do
		first_ns "$NSS_LIB" files 1 >>"$T/first.files"
		first_ns "$NSS_LIB" cbfloor "$N" >>"$T/first.floor"
		first_ns "$NSS_LIB" cloudbase "$N" >>"$T/first.cloudbase"
		[ -z "$COMPARE_LIB" ] || first_ns "$COMPARE_LIB" cloudbase "$N" >>"$T/first.compare"
	done
	f=$(median "$T/first.files") fl=$(median "$T/first.floor") c=$(median "$T/first.cloudbase")
	echo "files      first-med  $f ns (1-line passwd; built into libc)"
	echo "cbfloor    first-med  $fl ns (an NSS module that answers NOTFOUND)"
	echo "cloudbase  first-med  $c ns"
	[ -z "$COMPARE_LIB" ] ||
		echo "compare    first-med  $(median "$T/first.compare") ns ($COMPARE_LIB)"
	awk -v f="$f" -v fl="$fl" -v c="$c" "BEGIN { printf \"ratios: cloudbase/files %.1f, cbfloor/files %.1f, cloudbase/cbfloor %.2f\\n\", c / f, fl / f, c / fl }"
	umount -n /etc/passwd
	echo "== cloudbase, $N accounts"
	run cloudbase "$N" "$ITERS"
	echo "cloudbase  first-med  $(first cloudbase "$N") ns"
	if [ "$have_cache" = yes ]; then
		echo "== libnss-cache, $N accounts"
		run cache "$N" "$OTHER_ITERS"
		echo "cache      first-med  $(first cache "$N") ns"
	fi
	if [ "$have_db" = yes ]; then
		echo "== libnss-db, $N accounts"
		mount -n --bind "$T/misc" /var/lib/misc
		run db "$N" "$OTHER_ITERS"
		echo "db         first-med  $(first db "$N") ns"
		umount -n /var/lib/misc
	fi
	# instructions per call: the difference of two runs, so start-up
	# cancels out (each run makes 4 x (ITERS + ITERS/10 + 1) calls)
	instr() {
		a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$B/bench/nss_bench" \
			"$1" "$2" 2000 2>&1 >/dev/null | sed -n "s/.*Collected : //p")
		b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$B/bench/nss_bench" \
			"$1" "$2" 4000 2>&1 >/dev/null | sed -n "s/.*Collected : //p")
		echo "$a $b" | awk "{ printf \"%.0f\", (\$2 - \$1) / (4 * 2200) }"
	}
	if [ "${10}" = yes ]; then
		export LD_LIBRARY_PATH="$NSS_LIB"
		echo "== instructions per call (callgrind, mean of the 4 operations)"
		echo "cloudbase  instr      $(instr cloudbase "$N")"
		mount -n --bind "$T/passwd.one" /etc/passwd
		echo "files-1    instr      $(instr files 1)"
		# the first lookup alone: what runs inside that one getpwnam_r
		first_instr() {
			env LD_LIBRARY_PATH="$1:$B/bench/.libs" valgrind --tool=callgrind \
				--callgrind-out-file=/dev/null "--toggle-collect=getpwnam_r*" \
				"$B/bench/nss_bench" "$2" "$3" 0 2>&1 >/dev/null | sed -n "s/.*Collected : //p"
		}
		echo "== instructions of the first lookup of a fresh process (callgrind)"
		echo "files-1    first      $(first_instr "$NSS_LIB" files 1)"
		echo "cbfloor    first      $(first_instr "$NSS_LIB" cbfloor "$N")"
		echo "cloudbase  first      $(first_instr "$NSS_LIB" cloudbase "$N")"
		[ -z "$COMPARE_LIB" ] ||
			echo "compare    first      $(first_instr "$COMPARE_LIB" cloudbase "$N")"
		umount -n /etc/passwd
		unset LD_LIBRARY_PATH
	fi
	[ "$9" = yes ] && exit 0
	echo "== files, $N-line passwd"
	mount -n --bind "$T/passwd.big" /etc/passwd
	run files "$N" "$FILES_ITERS"
	echo "files      first-med  $(first files "$N") ns"
' nss-bench "$T" "$B" "$N" "$ITERS" "$FILES_ITERS" "$have_db" "$have_cache" "$OTHER_ITERS" \
	"$ONLY_CLOUDBASE" "$CALLGRIND" "$NSS_LIB" "$COMPARE_LIB" "$FIRST_RUNS"
