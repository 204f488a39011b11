#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# cloudbasectl status probes the service: reachable with the right client
# secret, a clear error with a wrong one, and with the service down.
. "$top_srcdir/tests/nss/nss-lib.sh"

CTL=$top_builddir/tools/cloudbasectl
EMUCTL=$top_srcdir/tests/emulator/emuctl
EMU=$T/emu
trap '"$EMUCTL" --state-dir "$EMU" stop >/dev/null 2>&1; rm -rf "$T"' EXIT

"$EMUCTL" --state-dir "$EMU" start >/dev/null || { echo "Bail out! emulator did not start"; exit 1; }
port=$(cat "$EMU/port")
printf 'test-secret\n' >"$T/secret"
chmod 600 "$T/secret"
service_conf() {
	write_conf "base_url = https://127.0.0.1:$port/auth/v1" "ca_file = $EMU/ca.pem" \
		"client_secret_file = $T/secret" "timeout = 3" "$@"
}
ctl() { "$CTL" -c "$CONF" "$@"; }

service_conf
out=$(ctl status 2>"$T/err")
expect_eq "status with a reachable service exits 0" "$?" "0"
# the probe's invalid_grant is the answer expected of a healthy service:
# nothing on stderr that reads like an error
expect_eq "a healthy status writes nothing to stderr" "$(cat "$T/err")" ""
case $out in
*"service:  ok, client accepted (https://127.0.0.1:$port/auth/v1, request id "*) ok "status reports the service ok" ;;
*) nok "status: $out" ;;
esac
sent=$("$EMUCTL" --state-dir "$EMU" requests | "$PYTHON3" -c '
import json, sys
r = [x for x in json.load(sys.stdin) if x["path"] == "/auth/v1/token"]
print(len(r), r[-1]["headers"].get("authorization"), r[-1]["status"], r[-1]["error"])')
expect_eq "the probe is one refresh with Basic client auth, refused as invalid_grant" \
	"$sent" "1 Basic 400 invalid_grant"

# group_map: every local group it names, with its gid; a missing one is an
# error (NSS would leave it out)
service_conf "group_map = admin:root, ops:cbnosuchgroup"
out=$(ctl status 2>"$T/err")
expect_eq "status with a missing group_map group exits 1" "$?" "1"
case $out in
*"groups:   ok, CloudBase group admin gives local group root (gid 0)"*) ok "status shows what a mapped group gives" ;;
*) nok "status: $out" ;;
esac
case $out in
*"groups:   ERROR local group cbnosuchgroup does not exist (group_map ops:cbnosuchgroup)"*)
	ok "status names the missing group_map group" ;;
*) nok "status: $out" ;;
esac
service_conf "group_map = admin:root"
out=$(ctl status 2>"$T/err")
expect_eq "status with every group_map group present exits 0" "$?" "0"

# a secret the module would refuse (mode 0644): refused once, on stderr,
# and the service is not asked
service_conf
chmod 644 "$T/secret"
before=$("$EMUCTL" --state-dir "$EMU" requests | "$PYTHON3" -c 'import json, sys; print(len(json.load(sys.stdin)))')
out=$(ctl status 2>"$T/err")
expect_eq "status with a loose secret exits 1" "$?" "1"
case $out in
*"secret:   ERROR ($T/secret)"*"service:  not checked: the client secret cannot be used"*)
	ok "status says the service was not checked" ;;
*) nok "status: $out" ;;
esac
expect_eq "the refusal is said once" "$(grep -c "$T/secret" "$T/err")" "1"
after=$("$EMUCTL" --state-dir "$EMU" requests | "$PYTHON3" -c 'import json, sys; print(len(json.load(sys.stdin)))')
expect_eq "no request with a loose secret" "$after" "$before"
chmod 600 "$T/secret"

printf 'wrong-secret\n' >"$T/secret"
out=$(ctl status 2>"$T/err")
expect_eq "status with a wrong client secret exits 1" "$?" "1"
case $(cat "$T/err") in
*"service answered status=401 error=unauthorized_client"*) ok "a failed probe shows the service's answer" ;;
*) nok "stderr: $(cat "$T/err")" ;;
esac
case $out in
*"service:  ERROR client id or secret refused"*) ok "status names the refused client" ;;
*) nok "status: $out" ;;
esac
case $out in *wrong-secret*) nok "the secret appears in the output" ;; *) ok "the secret stays out of the output" ;; esac

# userinfo in base_url: the host is what follows the '@'. The review's
# sample would send the client credential in clear to 192.0.2.2; the same
# trick towards the emulator shows that nothing is sent at all.
write_conf "base_url = http://127.0.0.1:1@192.0.2.2:18080/auth/v1" "timeout = 3"
start=$(date +%s)
out=$(ctl status 2>&1)
rc=$?
took=$(($(date +%s) - start))
expect_eq "status with userinfo in base_url exits 1" "$rc" "1"
case $out in
*"config:   ERROR"*"base_url: must not hold a user name or password"*) ok "status reports the userinfo refusal" ;;
*"base_url: must not hold a user name or password"*"config:   ERROR"*) ok "status reports the userinfo refusal" ;;
*) nok "status: $out" ;;
esac
case $out in *"service:"*) nok "status probed the service: $out" ;; *) ok "no probe with a refused base_url" ;; esac
check "refused at once, no connection tried (${took}s)" [ "$took" -lt 2 ]
"$EMUCTL" --state-dir "$EMU" clear-requests >/dev/null
service_conf
sed -i "s|^base_url = https://|base_url = https://test-env:test-secret@|" "$CONF"
out=$(ctl status 2>&1)
expect_eq "status with credentials in an https base_url exits 1" "$?" "1"
case $out in
*"must not hold a user name or password"*) ok "status names the reason" ;;
*) nok "status: $out" ;;
esac
sent=$("$EMUCTL" --state-dir "$EMU" requests | "$PYTHON3" -c 'import json, sys; print(len(json.load(sys.stdin)))')
expect_eq "nothing reached the service" "$sent" "0"
service_conf

printf 'test-secret\n' >"$T/secret"
"$EMUCTL" --state-dir "$EMU" stop >/dev/null
out=$(ctl status 2>/dev/null)
expect_eq "status with the service down exits 1" "$?" "1"
case $out in
*"service:  ERROR transport_error"*) ok "status says the service is unreachable" ;;
*) nok "status: $out" ;;
esac
finish
