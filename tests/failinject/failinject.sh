#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# TESTS entry of the failure injection test: starts one emulator, runs
# test_failinject (TAP) against it.
set -u
: "${top_builddir:?run through make check}" "${EMULATOR:?run through make check}"
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (root-owned config and secret)"
	exit 0
fi
work=$(mktemp -d /tmp/cb-failinject.XXXXXX)
"${PYTHON3:-/usr/bin/python3}" "$EMULATOR" --state-dir "$work/emu" >"$work/emu.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT INT TERM
i=0
while [ ! -s "$work/emu/port" ]; do
	i=$((i + 1))
	if [ $i -gt 200 ]; then
		echo "Bail out! the emulator did not start"
		cat "$work/emu.log" >&2
		exit 1
	fi
	sleep 0.05
done
FAILINJECT_SO=$top_builddir/tests/failinject/.libs/pam_cbtest_failinject.so \
	EMU_DIR=$work/emu "$top_builddir/tests/failinject/test_failinject"
