# SPDX-License-Identifier: BSD-3-Clause
# Shared by the NSS tests (sourced). TAP helpers, a scratch directory, and
# in_ns: run a command in a private mount namespace (tests/ns-run) whose
# /etc is a read-only overlay of $T/etcx on top of the host's /etc. The
# module reads its compiled-in config path /etc/cloudbase/cloudbase.conf,
# so the test config reaches it without any switch in the module and
# without touching the host's /etc (which may have no /etc/cloudbase).
set -u
: "${top_srcdir:?}" "${top_builddir:?}" "${NSS_CLOUDBASE_DIR:?}"

# A sanitizer build (--enable-sanitizers): every program started here may
# load the ASan module, so the runtime goes first; their own leaks at exit
# are not ours (test_nss_glibc checks the module's under LeakSanitizer).
if [ -n "${CB_SAN_PRELOAD:-}" ]; then
	LD_PRELOAD=$CB_SAN_PRELOAD ASAN_OPTIONS=detect_leaks=0:${ASAN_OPTIONS:-}
	export LD_PRELOAD ASAN_OPTIONS
fi

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; failed=1; }
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else nok "$desc"; fi
}
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		nok "$1"
		printf '%s\n' "$2" | sed 's/^/# got:  /'
		printf '%s\n' "$3" | sed 's/^/# want: /'
	fi
}
finish() {
	echo "1..$n"
	exit $failed
}

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (private mount namespace)"
	exit 0
fi

T=$(mktemp -d /tmp/cbnss.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/etcx/cloudbase" "$T/db"
chmod 755 "$T/etcx" "$T/etcx/cloudbase" "$T/db"
DB=$T/db/accounts.db
CONF=$T/etcx/cloudbase/cloudbase.conf
MODULE=$NSS_CLOUDBASE_DIR/libnss_cloudbase.so.2

# write_conf LINE...: the config the module will find at /etc/cloudbase
write_conf() {
	printf '%s\n' "env = test-env" "accounts_db = $DB" "$@" >"$CONF"
	chmod 644 "$CONF"
}

# mkdb < SPEC (see tests/nss/mkdb.c)
mkdb() { "$top_builddir/tests/nss/mkdb" "$DB"; }

# Without overlayfs (some containers), fall back to a private copy of /etc
# bind-mounted over it, with $T/etcx/cloudbase bound on top (only that
# directory of etcx is used then). CB_TEST_NO_OVERLAY=1 forces the fallback.
in_ns() {
	"$top_srcdir/tests/ns-run" /bin/sh -c '
		x=$1 copy=$2
		shift 2
		if [ "${CB_TEST_NO_OVERLAY:-}" = 1 ] ||
			! mount -n -t overlay overlay -o lowerdir="$x":/etc /etc 2>/dev/null; then
			if [ ! -d "$copy" ]; then
				cp -a /etc "$copy.new" && mkdir -p "$copy.new/cloudbase" &&
					mv "$copy.new" "$copy" || exit 99
			fi
			mount -n --bind "$copy" /etc &&
				mount -n --bind "$x/cloudbase" /etc/cloudbase || exit 99
		fi
		exec "$@"' in_ns "$T/etcx" "$T/etccopy" "$@"
}

getent_cb() { in_ns env LD_LIBRARY_PATH="$NSS_CLOUDBASE_DIR" getent "$@"; }

# gid of a local group, from /etc/group itself
local_gid() { awk -F: -v g="$1" '$1 == g { print $3 }' /etc/group; }
