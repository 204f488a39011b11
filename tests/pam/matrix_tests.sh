#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# TESTS entry of the bad-input matrix (docs/security.md): starts one
# emulator and runs test_matrix under tests/ns-run so it can own /dev/log.
# Prints test_matrix's TAP.
set -u
: "${top_srcdir:?run through make check}"
: "${EMULATOR:?run through make check}"
py=${PYTHON3:-/usr/bin/python3}
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (private mount namespace, root-owned config)"
	exit 0
fi
work=$(mktemp -d /tmp/cb-matrix.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$py" "$EMULATOR" --state-dir "$work/emu" >"$work/emu.log" 2>&1 &
pid=$!
i=0
while [ ! -s "$work/emu/port" ]; do
	i=$((i + 1))
	if [ $i -gt 200 ]; then
		echo "Bail out! emulator did not start"; cat "$work/emu.log" >&2; exit 1
	fi
	sleep 0.05
done
export EMU_DIR="$work/emu"
# the environment a sudo caller controls: none of it may be used
export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9
export HTTPS_PROXY=http://127.0.0.1:9 ALL_PROXY=socks5://127.0.0.1:9 NO_PROXY='*'
export SSL_CERT_FILE=/nonexistent/ca.pem CURL_CA_BUNDLE=/nonexistent/ca.pem

${TEST_WRAPPER:-} "$top_srcdir/tests/ns-run" "$top_builddir/tests/pam/test_matrix"
