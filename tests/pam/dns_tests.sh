#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# TESTS entry of the DNS time-budget tests (tests/pam/test_dns.c). In a
# private network namespace (its own 127.0.0.1, so port 53 is free) and a
# private mount namespace, /etc/resolv.conf and /etc/nsswitch.conf are
# bind-mounted over with files that send every host lookup to the
# emulator's DNS responder on 127.0.0.1:53. Nothing outside the namespaces
# changes: the host's resolver files are only covered, in the namespace.
set -u
: "${top_srcdir:?run through make check}" "${top_builddir:?}" "${EMULATOR:?}"
py=${PYTHON3:-/usr/bin/python3}
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (network and mount namespaces)"
	exit 0
fi
if ! command -v ip >/dev/null 2>&1; then
	echo "1..0 # SKIP ip (iproute2) is missing"
	exit 0
fi
work=$(mktemp -d /tmp/cb-dnstest.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
export work py
exec unshare -m -n --propagation private -- /bin/sh -c '
	set -u
	ip link set lo up || { echo "Bail out! cannot bring up lo"; exit 1; }
	printf "nameserver 127.0.0.1\n" >"$work/resolv.conf"
	printf "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n" >"$work/nsswitch.conf"
	# a symlinked resolv.conf (systemd-resolved) is covered where it points
	for f in resolv.conf nsswitch.conf; do
		target=$(readlink -f "/etc/$f")
		[ -e "$target" ] || { echo "1..0 # SKIP /etc/$f points nowhere"; exit 0; }
		mount -n --bind "$work/$f" "$target" || { echo "Bail out! cannot cover /etc/$f"; exit 1; }
	done
	# an nscd of the host would resolve in the host network namespace
	for d in /run/nscd /var/run/nscd; do
		[ -d "$d" ] && mount -n -t tmpfs tmpfs "$d"
	done
	mkdir -p "$work/certs"
	"$py" "$EMULATOR" --state-dir "$work/emu" --cert-dir "$work/certs" --dns-port 53 \
		>"$work/emu.log" 2>&1 &
	emu=$!
	i=0
	while [ ! -s "$work/emu/port" ]; do
		i=$((i + 1))
		if [ $i -gt 200 ]; then
			echo "Bail out! emulator did not start"; cat "$work/emu.log" >&2
			kill $emu; exit 1
		fi
		sleep 0.05
	done
	EMU_DIR=$work/emu "$top_srcdir/tests/ns-run" "$top_builddir/tests/pam/test_dns"
	rc=$?
	kill $emu
	wait $emu 2>/dev/null
	exit $rc
'
