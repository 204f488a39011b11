#!/bin/sh
# PAM login vs bare curl, same /signin, same CA, whole processes.
# Usage (as root, from a build tree): bench/pam_bench.sh [N]
# Needs: bench/pam_login and tools/cloudbasectl built, curl, python3 + the emulator.
set -eu
N=${1:-200}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$(pwd)}
so=$build/pam/.libs/pam_cloudbase.so
login=$build/bench/pam_login
[ -x "$login" ] && [ -f "$so" ] || { echo "run from the build tree after make" >&2; exit 1; }
work=$(mktemp -d /tmp/cb-bench.XXXXXX)
/usr/bin/python3 "$src/tests/emulator/cloudbase_emulator.py" --state-dir "$work/emu" \
	>"$work/emu.log" 2>&1 &
emu=$!
trap 'kill $emu 2>/dev/null; wait $emu 2>/dev/null; rm -rf "$work"' EXIT INT TERM
while [ ! -s "$work/emu/port" ]; do sleep 0.05; done
port=$(cat "$work/emu/port")
ctl=$(cat "$work/emu/control-port")
# no lockout and no rate limit in the way of repeated logins
curl -sq --noproxy '*' -X POST -d '{"lockout_threshold": 1000000}' \
	"http://127.0.0.1:$ctl/settings" >/dev/null

printf 'test-secret\n' >"$work/secret"
chmod 600 "$work/secret"
cat >"$work/cloudbase.conf" <<CONF
base_url = https://127.0.0.1:$port/auth/v1
client_id = test-env
client_secret_file = $work/secret
ca_path = $work/emu/capath
accounts_db = $work/accounts.db
CONF
mkdir "$work/pam.d"
printf 'auth required %s conf=%s\naccount required %s conf=%s\n' \
	"$so" "$work/cloudbase.conf" "$so" "$work/cloudbase.conf" >"$work/pam.d/bench"
"$build/tools/cloudbasectl" --config "$work/cloudbase.conf" user add benchuser --login alice \
	>/dev/null

"$login" "$work/pam.d" bench benchuser Alice-Passw0rd || { echo "login fails: $?" >&2; exit 1; }

now() { date +%s%N; }
run_pam() {
	i=0
	while [ $i -lt "$N" ]; do
		"$login" "$work/pam.d" bench benchuser Alice-Passw0rd
		i=$((i + 1))
	done
}
run_curl() {
	i=0
	while [ $i -lt "$N" ]; do
		curl -sq --noproxy '*' --capath "$work/emu/capath" -o /dev/null -f \
			-u test-env:test-secret -H 'Content-Type: application/json' \
			-d '{"username":"alice","password":"Alice-Passw0rd"}' \
			"https://127.0.0.1:$port/auth/v1/signin"
		i=$((i + 1))
	done
}
# interleave two rounds of each so drift hits both alike
t_pam=0 t_curl=0
for round in 1 2; do
	a=$(now); run_curl; b=$(now); t_curl=$((t_curl + b - a))
	a=$(now); run_pam; b=$(now); t_pam=$((t_pam + b - a))
done
per_pam=$((t_pam / (2 * N) / 1000))
per_curl=$((t_curl / (2 * N) / 1000))
echo "runs per tool:      $((2 * N))"
echo "curl /signin:       ${per_curl} us per process"
echo "pam login:          ${per_pam} us per process (authenticate + acct_mgmt)"
echo "ratio pam/curl:     $(awk "BEGIN { printf \"%.2f\", $t_pam / $t_curl }")"
