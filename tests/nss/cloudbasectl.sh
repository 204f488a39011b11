#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# cloudbasectl: every command, its output and its exit codes, root-only
# writes, and status on a healthy and on a damaged database.
. "$top_srcdir/tests/nss/nss-lib.sh"

CTL=$top_builddir/tools/cloudbasectl
# a closed loopback port: the status probe fails at once (tested for real
# against the emulator in cloudbasectl_status.sh)
write_conf "base_url = http://127.0.0.1:9/auth/v1"
ctl() { "$CTL" -c "$CONF" "$@"; }
code() { "$@" >/dev/null 2>&1; echo $?; }

out=$("$CTL" --help)
expect_eq "--help exits 0" "$?" "0"
case $out in *"user add NAME --login LOGIN"*) ok "--help lists user add" ;; *) nok "--help: $out" ;; esac
expect_eq "no command: usage (2)" "$(code "$CTL")" "2"
expect_eq "unknown command: usage (2)" "$(code ctl frobnicate)" "2"
expect_eq "unknown option: usage (2)" "$(code "$CTL" --bogus user list)" "2"
expect_eq "user add without --login: usage (2)" "$(code ctl user add bob)" "2"
expect_eq "user add without a name: usage (2)" "$(code ctl user add --login x)" "2"
expect_eq "user show without a name: usage (2)" "$(code ctl user show)" "2"
# a bad option: glibc's reason under the command's name (not the path it
# was run by, not "add"), then the pointer to the help; never a second
# reason that contradicts it
bad_option() { # description, expected stderr, arguments
	desc=$1 want=$2
	shift 2
	err=$(LC_ALL=C "$CTL" -c "$CONF" "$@" 2>&1 >/dev/null)
	expect_eq "$desc: usage (2)" "$?" "2"
	expect_eq "$desc: the message" "$err" "$want
Try 'cloudbasectl --help'."
}
bad_option "--login without its value" "cloudbasectl user add: option '--login' requires an argument" \
	user add bob --login
bad_option "an unknown option of user add" "cloudbasectl user add: unrecognized option '--bogus'" \
	user add bob --login bob --bogus
bad_option "an unknown option of user import" \
	"cloudbasectl user import: unrecognized option '--bogus'" user import --bogus -
bad_option "--format without its value" \
	"cloudbasectl user export: option '--format' requires an argument" user export --format
bad_option "an unknown option" "cloudbasectl: unrecognized option '--bogus'" --bogus user list
bad_option "-c without its value" "cloudbasectl: option requires an argument -- 'c'" -c
bad_option "an option of user show (it has none)" "cloudbasectl user show: unrecognized option '--help'" \
	user show --help
bad_option "an option of user remove (it has none)" "cloudbasectl user remove: invalid option -- 'x'" \
	user remove -x
err=$(LC_ALL=C "$CTL" -c "$CONF" user unbind a b 2>&1 >/dev/null)
expect_eq "user unbind with two names: usage (2)" "$?" "2"
expect_eq "user unbind with two names: the message names the command" "$err" \
	"cloudbasectl: user unbind: exactly one NAME expected (try --help)"

# the uid: FNV-1a 64 of the lower-cased login, into 200000..2000199999
want_uid=$("$PYTHON3" -c '
h = 0xcbf29ce484222325
for b in b"alice@example.com":
    h = ((h ^ b) * 0x100000001b3) % (1 << 64)
print(200000 + h % 2000000000)')
out=$(ctl user add alice --login Alice@Example.com --gecos "Alice Liddell")
expect_eq "user add alice" "$out" "added alice (uid $want_uid)"
out=$(getent_cb -s cloudbase passwd alice)
expect_eq "the new account resolves through NSS" "$out" \
	"alice:*:$want_uid:$want_uid:Alice Liddell:/home/alice:/bin/sh"
expect_eq "the same name again: exists (4)" "$(code ctl user add alice --login other)" "4"
expect_eq "a local account's name: exists (4)" "$(code ctl user add root --login r@x)" "4"
expect_eq "an invalid name: failure (1)" "$(code ctl user add bad:name --login x)" "1"
expect_eq "an invalid phone: failure (1)" "$(code ctl user add bob --login bob --phone 12)" "1"
expect_eq "an invalid e-mail address: failure (1)" \
	"$(code ctl user add bob --login bob --email 'bob@localhost')" "1"
expect_eq "a relative shell: failure (1)" "$(code ctl user add bob --login bob --shell sh)" "1"
expect_eq "a uid outside the range: failure (1)" "$(code ctl user add bob --login bob --uid 1000)" "1"
expect_eq "a taken uid: exists (4)" "$(code ctl user add bob --login bob --uid "$want_uid")" "4"

ctl user add bob --login bob --phone "+86 138-0000-0000" --email Bob@Example.com --sub s-bob \
	--shell /bin/bash --home /srv/bob >/dev/null
expect_eq "user add with every option" "$?" "0"
out=$(ctl user show bob)
for line in "phone:      +86 13800000000" "email:      Bob@Example.com" "sub:        s-bob" "uid from:   sub" \
	"shell:      /bin/bash" "home:       /srv/bob" "last login: never"; do
	case $out in *"$line"*) ok "show: $line" ;; *) nok "show lacks: $line" ;; esac
done
# offline login: show says when the password was cached (never the hash);
# forget removes it
printf 'cloudbase-state 1\ngeneration 7\nsub s-bob\noffline 1764500000 1 0 $y$j9T$c2FsdA$aGFzaA\nend\n' \
	>"$T/db/state/users/bob"
chmod 0600 "$T/db/state/users/bob"
out=$(ctl user show bob)
for line in "cached:     2025-11-30T10:53:20Z" "1 wrong password offline since" "offline:    never"; do
	case $out in *"$line"*) ok "show: $line" ;; *) nok "show lacks: $line" ;; esac
done
case $out in *'$y$'*) nok "show prints the hash" ;; *) ok "show never prints the hash" ;; esac
expect_eq "user forget bob" "$(code ctl user forget bob)" "0"
expect_eq "the cached password is gone" "$(ctl user show bob | grep '^cached:')" \
	"cached:     - (no password cached for offline login)"
expect_eq "the sub stays" "$(ctl user show bob | grep '^sub:')" "sub:        s-bob"
expect_eq "forget as non-root: 5" \
	"$(code setpriv --reuid=65534 --regid=65534 --clear-groups -- "$CTL" -c "$CONF" user forget bob)" "5"
expect_eq "forget of an unknown account: 3" "$(code ctl user forget nosuch)" "3"
out=$(ctl user list | awk 'NR > 1 { print $1, $3 }' | tr '\n' ' ')
expect_eq "user list" "$out" "alice no bob yes "
expect_eq "user unbind bob" "$(code ctl user unbind bob)" "0"
out=$(ctl user show bob | grep '^sub:')
expect_eq "the sub is forgotten" "$out" "sub:        - (not bound)"
expect_eq "show of an unknown account: 3" "$(code ctl user show nosuch)" "3"
expect_eq "unbind of an unknown account: 3" "$(code ctl user unbind nosuch)" "3"
expect_eq "remove of an unknown account: 3" "$(code ctl user remove nosuch)" "3"

# writes are root-only; reading is not
cp "$DB" "$T/before.db"
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$CTL" -c "$CONF" "$@"; }
expect_eq "user add as non-root: 5" "$(code nobody user add carol --login carol)" "5"
expect_eq "user remove as non-root: 5" "$(code nobody user remove alice)" "5"
expect_eq "user unbind as non-root: 5" "$(code nobody user unbind alice)" "5"
check "nothing changed" cmp -s "$DB" "$T/before.db"
err=$(nobody user add carol --login carol 2>&1)
expect_eq "the refusal says why" "$err" "cloudbasectl: user add: must be run as root"
expect_eq "user list as non-root works" "$(code nobody user list)" "0"
write_conf "base_url = http://127.0.0.1:9/auth/v1" "client_secret_file = $T/secret"
printf 's\n' >"$T/secret"
chmod 600 "$T/secret"
err=$(nobody status 2>&1 >/dev/null)
case $err in *"the client secret is root's: run status as root"*) ok "status as non-root says to run it as root" ;; *) nok "stderr: $err" ;; esac
write_conf "base_url = http://127.0.0.1:9/auth/v1"

out=$(ctl status 2>/dev/null)
expect_eq "status: healthy database, service down: 1" "$?" "1"
case $out in *"database: ok, 2 accounts"*) ok "status counts the accounts" ;; *) nok "status: $out" ;; esac
case $out in *"service:  ERROR"*) ok "status: the unreachable test-env service is an error" ;; *) nok "status: $out" ;; esac
head -c 200 "$T/before.db" >"$DB"
out=$(ctl status)
expect_eq "status: corrupt database fails (1)" "$?" "1"
case $out in *"database: ERROR corrupt"*) ok "status names the problem" ;; *) nok "status: $out" ;; esac
expect_eq "a write to a corrupt database is refused" "$(code ctl user add carol --login c)" "1"
cat "$T/before.db" >"$DB"
echo "no_such_key = 1" >>"$CONF"
expect_eq "status: unknown config key fails (1)" "$(code ctl status)" "1"
write_conf
expect_eq "user remove alice" "$(code ctl user remove alice)" "0"
out=$(ctl user list | awk 'NR > 1 { print $1 }' | tr '\n' ' ')
expect_eq "alice is gone" "$out" "bob "
expect_eq "a missing config: failure (1)" "$(code "$CTL" -c "$T/nope.conf" user list)" "1"
# a usage error is said before the configuration is read
for args in "user bogus" "user show -x" "user list x" "user" "user add bob" "user export --format x"; do
	# shellcheck disable=SC2086
	expect_eq "a missing config, $args: usage (2)" "$(code "$CTL" -c "$T/nope.conf" $args)" "2"
done
chmod 666 "$CONF"
expect_eq "an unsafe config: failure (1)" "$(code ctl user list)" "1"
finish
