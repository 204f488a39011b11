#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# cloudbasectl user import / export: CSV and JSON lines, updates, --replace,
# a round trip, and malformed files refused with their line number and
# nothing changed.
. "$top_srcdir/tests/nss/nss-lib.sh"

CTL=$top_builddir/tools/cloudbasectl
write_conf "base_url = http://127.0.0.1:9/auth/v1"
ctl() { "$CTL" -c "$CONF" "$@"; }
code() { "$@" >/dev/null 2>&1; echo $?; }
# the database's files as they are (the delta may not exist yet)
snapshot() { cat "$DB" "$DB.delta" 2>/dev/null | sha256sum; }

cat >"$T/in.csv" <<'EOF'
login,name,phone,email,gecos,shell,home,uid
alice@example.com,alice,+86 138-0000-0001,alice@example.com,"Liddell, Alice",/bin/bash,,
bob,bob,,,,,,300042
"+8613800000003",carol,,,"say ""hi""",,/srv/carol,
EOF
out=$(ctl user import "$T/in.csv")
expect_eq "import a CSV file" "$out" "imported 3 accounts"
expect_eq "its accounts resolve through NSS" "$(getent_cb -s cloudbase passwd bob)" \
	"bob:*:300042:300042::/home/bob:/bin/sh"
expect_eq "quotes, commas and defaults" "$(getent_cb -s cloudbase passwd carol | cut -d: -f5-)" \
	'say "hi":/srv/carol:/bin/sh'
out=$(ctl user show alice)
for line in "phone:      +86 13800000001" "email:      alice@example.com" \
	"gecos:      Liddell, Alice" "shell:      /bin/bash"; do
	case $out in *"$line"*) ok "import normalised: $line" ;; *) nok "show lacks: $line" ;; esac
done
expect_eq "a phone login is normalised" "$(ctl user show carol | grep '^login:')" \
	"login:      +86 13800000003"

# export, then import the export with --replace: the same database
ctl user export >"$T/out.csv"
expect_eq "export writes a header and every account" "$(wc -l <"$T/out.csv")" "4"
before=$(ctl user export --format jsonl)
expect_eq "import --replace of the export" "$(ctl user import --replace "$T/out.csv")" \
	"imported 3 accounts, removed 0"
expect_eq "the round trip changes nothing" "$(ctl user export --format jsonl)" "$before"
ctl user export --format jsonl >"$T/out.jsonl"
expect_eq "JSON lines round trip" "$(ctl user import --replace "$T/out.jsonl" && ctl user export --format jsonl)" \
	"imported 3 accounts, removed 0
$before"
uid_alice=$(getent_cb -s cloudbase passwd alice | cut -d: -f3)

# an update: what the file says, never a new uid
printf '%s\n' '{"name": "alice", "login": "alice@example.com", "gecos": "Alice L."}' >"$T/up.jsonl"
expect_eq "import updates an existing name" "$(ctl user import "$T/up.jsonl")" "imported 1 account"
expect_eq "the update kept the uid" "$(getent_cb -s cloudbase passwd alice | cut -d: -f3,5)" \
	"$uid_alice:Alice L."
printf '%s\n' '{"name": "alice", "login": "alice@example.com", "uid": 300077}' >"$T/up.jsonl"
expect_eq "an update may not move the uid (4)" "$(code ctl user import "$T/up.jsonl")" "4"

# --replace removes the accounts the file does not name, and their state
ctl user add dave --login dave --sub s-dave >/dev/null
expect_eq "dave is bound" "$(ctl user show dave | grep '^sub:')" "sub:        s-dave"
grep -v '^bob,' "$T/out.csv" >"$T/nobob.csv"
expect_eq "import --replace" "$(ctl user import --replace "$T/nobob.csv")" \
	"imported 2 accounts, removed 2"
expect_eq "bob is gone" "$(code ctl user show bob)" "3"
expect_eq "dave is gone" "$(code ctl user show dave)" "3"
check "dave's state record is gone" test ! -e "$T/db/state/users/dave"
ctl user add dave --login dave >/dev/null
expect_eq "a new dave starts unbound" "$(ctl user show dave | grep '^sub:')" "sub:        - (not bound)"

# malformed files: the line named, nothing written
bad() {
	desc=$1 line=$2
	shift 2
	printf '%s\n' "$@" >"$T/bad"
	s=$(snapshot)
	err=$(ctl user import "$T/bad" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && [ "$(snapshot)" = "$s" ] &&
		printf '%s\n' "$err" | grep -q ":$line: .*nothing was changed"; then
		ok "refused, line $line: $desc"
	else
		nok "$desc (exit $rc)"
		printf '%s\n' "$err" | sed 's/^/# /'
	fi
}
H=name,login,uid
bad "an invalid name" 3 $H new1,n1, bad:name,n2, new3,n3,
bad "a name twice" 4 $H new1,n1, new2,n2, new1,n3,
bad "uid 0" 2 $H new1,n1,0
bad "a uid that is not a number" 2 $H new1,n1,12x
bad "a control byte" 3 $H new1,n1, "$(printf 'new2,n\0332,')"
bad "a tab" 2 $H "$(printf 'new1,n\t1,')"
bad "an unknown column" 1 name,login,colour new1,n1,red
bad "a column twice" 1 name,login,name
bad "no login column" 1 name,uid new1,1
bad "too few fields" 3 $H new1,n1, new2
bad "too many fields" 2 $H new1,n1,,extra
bad "an unterminated quote" 2 $H '"new1,n1,'
bad "a quote in an unquoted field" 2 $H 'ne"w1,n1,'
bad "no login" 2 $H new1,,
bad "a local account's name" 2 $H root,r,
bad "a uid another account has" 2 $H "new1,n1,$uid_alice"
bad "an invalid phone" 2 name,login,phone new1,n1,12
bad "an e-mail address without a domain dot" 2 name,login,email new1,n1,a@example
bad "an e-mail address with a space" 2 name,login,email "new1,n1,a b@example.com"
bad "an e-mail address with two @" 2 name,login,email new1,n1,a@b@example.com
bad "an e-mail address over 254 bytes" 2 name,login,email \
	"new1,n1,a@$(printf '%0250d' 0 | tr 0 x).com"
bad "JSON: an unknown key" 2 '{"name":"new1","login":"n1"}' '{"name":"new2","login":"n2","x":"y"}'
bad "JSON: not a string" 1 '{"name":"new1","login":7}'
bad "JSON: a key twice" 1 '{"name":"new1","login":"n1","name":"new2"}'
bad "JSON: not JSON" 1 "{name: new1}"
bad "JSON: uid 0" 1 '{"name":"new1","login":"n1","uid":0}'
expect_eq "no account of a refused file was added" "$(code ctl user show new1)" "3"
expect_eq "import as non-root: 5" \
	"$(code setpriv --reuid=65534 --regid=65534 --clear-groups -- "$CTL" -c "$CONF" user import "$T/in.csv")" "5"
expect_eq "import of a missing file: 1" "$(code ctl user import "$T/nonexistent")" "1"
expect_eq "import of stdin" "$(printf 'name,login\nerin,erin\n' | ctl user import -)" "imported 1 account"
finish
