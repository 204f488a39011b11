#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# TESTS entry of the C PAM tests: starts the emulator (and one per bad
# certificate kind), then runs test_pam, or the binary $PAM_TEST names
# under tests/, under tests/ns-run so it can own /dev/log. Prints its TAP.
set -u
: "${top_srcdir:?run through make check}"
: "${EMULATOR:?run through make check}"
py=${PYTHON3:-/usr/bin/python3}
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (private mount namespace, root-owned config)"
	exit 0
fi
work=$(mktemp -d /tmp/cb-pamtest.XXXXXX)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

start_emu() { # state-dir cert-kind
	"$py" "$EMULATOR" --state-dir "$1" --cert-dir "$work/certs" --cert "$2" \
		>"$1.log" 2>&1 &
	pids="$pids $!"
}
wait_emu() {
	i=0
	while [ ! -s "$1/port" ]; do
		i=$((i + 1))
		if [ $i -gt 200 ]; then
			echo "Bail out! emulator in $1 did not start"; cat "$1.log" >&2; exit 1
		fi
		sleep 0.05
	done
}
mkdir -p "$work/certs"
start_emu "$work/emu" good
wait_emu "$work/emu" # makes the certificates the others share
n=0
for kind in wrong-host self-signed expired not-yet-valid; do
	start_emu "$work/emu$n" "$kind"
	n=$((n + 1))
done
n=0
for kind in wrong-host self-signed expired not-yet-valid; do
	wait_emu "$work/emu$n"
	export "EMU_DIR_$n=$work/emu$n"
	n=$((n + 1))
done
export EMU_DIR="$work/emu"
export PAM_CBTEST_SO="${top_builddir}/tests/pam/.libs/pam_cbtest_authtok.so"

# Hostile environment for the whole run (test_pam sets SSLKEYLOGFILE
# for a fresh child process): none of it may be used.
export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9
export HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9
export ALL_PROXY=socks5://127.0.0.1:9 all_proxy=socks5://127.0.0.1:9 NO_PROXY= no_proxy=
export CURL_CA_BUNDLE=/nonexistent/ca.pem SSL_CERT_FILE=/nonexistent/ca.pem
export SSL_CERT_DIR=/nonexistent

# sms_tests.sh, matrix_tests.sh and failinject.sh run theirs through this
# same script
${TEST_WRAPPER:-} "$top_srcdir/tests/ns-run" "$top_builddir/tests/${PAM_TEST:-pam/test_pam}"
