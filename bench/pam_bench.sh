#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# PAM login vs bare curl, same /signin, same CA, whole processes.
# Usage (as root, from a build tree): bench/pam_bench.sh [N]
# Needs: bench/pam_login (make bench) and tools/cloudbasectl built, curl, python3 + the emulator.
set -eu
N=${1:-200}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$(pwd)}
so=$build/pam/.libs/pam_cloudbase.so
login=$build/bench/pam_login
[ -x "$login" ] && [ -f "$so" ] || { echo "run from the build tree after make and make bench" >&2; exit 1; }
work=$(mktemp -d /tmp/cb-bench.XXXXXX)
. "$src/bench/emulator.sh"
start_emulator

printf 'test-secret\n' >"$work/secret"
chmod 600 "$work/secret"
cat >"$work/cloudbase.conf" <<CONF
base_url = https://127.0.0.1:$port/auth/v1
client_id = test-env
client_secret_file = $work/secret
$(eval echo "${CA_LINE:-ca_file = $work/emu/ca.pem}")
accounts_db = $work/accounts.db
CONF
mkdir "$work/pam.d"
printf 'auth required %s conf=%s\naccount required %s conf=%s\n' \
	"$so" "$work/cloudbase.conf" "$so" "$work/cloudbase.conf" >"$work/pam.d/bench"
"$build/tools/cloudbasectl" --config "$work/cloudbase.conf" user add benchuser --login alice \
	>/dev/null

"$login" "$work/pam.d" bench benchuser Alice-Passw0rd || { echo "login fails: $?" >&2; exit 1; }

# Each process timed on its own with bash's clock (no fork for the clock),
# the two tools interleaved so machine noise hits both alike; medians.
pam_once() { "$login" "$work/pam.d" bench benchuser Alice-Passw0rd; }
curl_once() {
	curl -sq --noproxy '*' --cacert "$work/emu/ca.pem" -o /dev/null -f \
		-u test-env:test-secret -H 'Content-Type: application/json' \
		-d '{"username":"alice","password":"Alice-Passw0rd"}' \
		"https://127.0.0.1:$port/auth/v1/signin"
}
: >"$work/pam.t"
: >"$work/curl.t"
for ((i = 0; i < N; i++)); do
	a=${EPOCHREALTIME/./}; curl_once; b=${EPOCHREALTIME/./}
	echo $((b - a)) >>"$work/curl.t"
	a=${EPOCHREALTIME/./}; pam_once; b=${EPOCHREALTIME/./}
	echo $((b - a)) >>"$work/pam.t"
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
m_pam=$(median "$work/pam.t")
m_curl=$(median "$work/curl.t")
echo "runs per tool:      $N (interleaved)"
echo "curl /signin:       ${m_curl} us per process (median)"
echo "pam login:          ${m_pam} us per process (median; pam_start, authenticate, acct_mgmt, pam_end)"
echo "ratio pam/curl:     $(awk "BEGIN { printf \"%.2f\", $m_pam / $m_curl }")"
