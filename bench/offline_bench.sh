#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Offline login's costs, whole processes, interleaved in one run:
#   online    a PAM login with offline_login = no
#   online+v  the same with offline_login = yes (one yescrypt hash more: the
#             verifier stored)
#   offline   offline_login = yes, nothing listens at base_url: one yescrypt
#             verification and one state record write instead of the HTTPS
#             sign-in
# and one yescrypt computation alone at the default cost (yescrypt_cost).
# Usage (as root, from a build tree after make and make bench):
#   BUILD=$PWD /path/to/src/bench/offline_bench.sh [N]
set -eu
N=${1:-60}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$(pwd)}
so=$build/pam/.libs/pam_cloudbase.so
login=$build/bench/pam_login
cost=$build/bench/yescrypt_cost
[ -x "$login" ] && [ -x "$cost" ] && [ -f "$so" ] ||
	{ echo "run from the build tree after make and make bench" >&2; exit 1; }
work=$(mktemp -d /tmp/cb-bench.XXXXXX)
. "$src/bench/emulator.sh"
start_emulator

printf 'test-secret\n' >"$work/secret"
chmod 600 "$work/secret"
conf() { # NAME URL OFFLINE
	cat >"$work/$1.conf" <<CONF
base_url = $2
client_id = test-env
client_secret_file = $work/secret
ca_file = $work/emu/ca.pem
accounts_db = $work/accounts.db
offline_login = $3
offline_max_failures = 100
CONF
	mkdir -p "$work/$1.d"
	printf 'auth required %s conf=%s\naccount required %s conf=%s\n' \
		"$so" "$work/$1.conf" "$so" "$work/$1.conf" >"$work/$1.d/bench"
}
conf online "https://127.0.0.1:$port/auth/v1" no
conf onlinev "https://127.0.0.1:$port/auth/v1" yes
conf offline "https://127.0.0.1:1/auth/v1" yes
"$build/tools/cloudbasectl" --config "$work/online.conf" user add benchuser --login alice \
	>/dev/null
once() { "$login" "$work/$1.d" bench benchuser Alice-Passw0rd; }
once onlinev || { echo "online login fails: $?" >&2; exit 1; }
once offline || { echo "offline login fails: $?" >&2; exit 1; }

for k in online onlinev offline; do : >"$work/$k.t"; done
for ((i = 0; i < N; i++)); do
	# onlinev before offline: the verifier is fresh whatever the order
	for k in online onlinev offline; do
		a=${EPOCHREALTIME/./}; once $k; b=${EPOCHREALTIME/./}
		echo $((b - a)) >>"$work/$k.t"
	done
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
m_on=$(median "$work/online.t")
m_onv=$(median "$work/onlinev.t")
m_off=$(median "$work/offline.t")
read -r setting m_y < <("$cost" 0 21)
echo "runs of each:            $N (interleaved)"
echo "online login:            ${m_on} us (offline_login = no)"
echo "online login + verifier: ${m_onv} us (offline_login = yes)"
echo "offline login:           ${m_off} us (nothing listens; cached password)"
echo "yescrypt, default cost:  ${m_y} us (${setting%%\$*}\$y\$${setting#\$y\$}; median of 21)"
awk "BEGIN { printf \"offline / online:        %.2f\n\", $m_off / $m_on;
	printf \"verifier's share online: %.2f (online+v / online)\n\", $m_onv / $m_on }"
