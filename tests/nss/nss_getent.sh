#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The module through glibc: getent -s cloudbase passwd/group/initgroups,
# and the failure modes (no config, corrupt, unsafe or missing database),
# one syslog line per problem per process.
. "$top_srcdir/tests/nss/nss-lib.sh"

ADM=$(local_gid adm)
write_conf "group_map = admin:adm, ops:nosuchgroup"
mkdb <<'SPEC'
alice 700001 alice@example.com sub-a admin,ops Alice Liddell
bob 700002 +86_13800000000 - - Bob
carol 700003 carol@example.com sub-c user
SPEC

out=$(getent_cb -s cloudbase passwd alice)
expect_eq "getpwnam alice" "$out" "alice:*:700001:700001:Alice Liddell:/home/alice:/bin/sh"
out=$(getent_cb -s cloudbase passwd 700002)
expect_eq "getpwuid 700002" "$out" "bob:*:700002:700002:Bob:/home/bob:/bin/sh"
out=$(getent_cb -s cloudbase group carol)
expect_eq "getgrnam carol (private group)" "$out" "carol:*:700003:"
out=$(getent_cb -s cloudbase group 700001)
expect_eq "getgrgid 700001" "$out" "alice:*:700001:"
out=$(getent_cb -s cloudbase passwd | cut -d: -f1 | tr '\n' ' ')
expect_eq "passwd enumeration" "$out" "alice bob carol "
out=$(getent_cb -s cloudbase group | cut -d: -f1,3 | tr '\n' ' ')
expect_eq "group enumeration" "$out" "alice:700001 bob:700002 carol:700003 "
out=$(getent_cb -s cloudbase passwd alice bob carol | wc -l)
expect_eq "several keys in one process" "$out" "3"

out=$(in_ns setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	env LD_LIBRARY_PATH="$NSS_CLOUDBASE_DIR" getent -s cloudbase passwd bob | cut -d: -f1)
expect_eq "an unprivileged process resolves too" "$out" "bob"

getent_cb -s cloudbase passwd nosuch >/dev/null
expect_eq "unknown name: exit 2" "$?" "2"
getent_cb -s cloudbase passwd 0 >/dev/null
expect_eq "uid 0 never comes from cloudbase" "$?" "2"
getent_cb -s cloudbase passwd 700004 >/dev/null
expect_eq "unknown uid: exit 2" "$?" "2"
out=$(getent_cb -s 'files cloudbase' passwd root alice | cut -d: -f1 | tr '\n' ' ')
expect_eq "files then cloudbase" "$out" "root alice "

if [ -n "$ADM" ]; then
	out=$(getent_cb -s cloudbase initgroups alice | tr -s ' \t' ' ')
	expect_eq "initgroups: admin maps to adm, a missing local group is skipped" \
		"$out" "alice 700001 $ADM"
else
	ok "# SKIP no adm group on this host"
fi
out=$(getent_cb -s cloudbase initgroups carol | tr -s ' \t' ' ')
expect_eq "initgroups: unmapped groups add nothing" "$out" "carol 700003"
out=$(getent_cb -s cloudbase initgroups nosuch | tr -s ' \t' ' ')
expect_eq "initgroups: unknown user has no groups" "$out" "nosuch "

# A record named like a local account (a local alice created after the
# CloudBase one) gives that account nothing: no private group, no mapped
# groups (the PAM module ignores such a record too).
cp /etc/passwd "$T/etcx/passwd"
echo "alice:x:4242:4242::/home/localalice:/bin/sh" >>"$T/etcx/passwd"
chmod 644 "$T/etcx/passwd"
out=$(getent_cb -s cloudbase initgroups alice | tr -s ' \t' ' ')
expect_eq "initgroups: a local alice gets nothing from the record" "$out" "alice "
getent_cb -s cloudbase group 700001 >/dev/null
expect_eq "getgrgid: the record's private group is not served" "$?" "2"
getent_cb -s cloudbase group alice >/dev/null
expect_eq "getgrnam: nor by name" "$?" "2"
out=$(getent_cb -s cloudbase group | cut -d: -f1 | tr '\n' ' ')
expect_eq "nor in the enumeration" "$out" "bob carol "
out=$(getent_cb -s cloudbase group 700002 | cut -d: -f1)
expect_eq "the other records' groups still are" "$out" "bob"
rm "$T/etcx/passwd"
out=$(getent_cb -s cloudbase group 700001 | cut -d: -f1)
expect_eq "gone the local alice, the record's group is back" "$out" "alice"

# syslog: one line per problem per process, however many lookups fail.
# syslog_lines GETENT-ARGS...: run one getent in a namespace with a /dev/log
# listener; prints how many lines came from the module.
syslog_lines() {
	in_ns /bin/sh -c '
		log=$1 lib=$2
		shift 2
		"$PYTHON3" -c "
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(\"/dev/log\")
s.settimeout(1.0)
out = open(sys.argv[1], \"w\")
print(\"ready\", flush=True)
while True:
    try:
        out.write(s.recv(4096).decode(\"utf-8\", \"replace\") + \"\\n\")
        out.flush()
    except socket.timeout:
        break
" "$log" | { read -r _ready
		LD_LIBRARY_PATH="$lib" getent "$@" >/dev/null
		cat >/dev/null; }' sh "$T/syslog" "$NSS_CLOUDBASE_DIR" "$@"
	grep -c nss_cloudbase "$T/syslog"
}

expect_eq "a missing mapped group: one syslog line for 3 initgroups" \
	"$(syslog_lines -s cloudbase initgroups alice alice alice)" "1"
grep -q "local group nosuchgroup does not exist" "$T/syslog"
check "the line names the group" [ $? = 0 ]
expect_eq "healthy lookups log nothing" \
	"$(syslog_lines -s cloudbase passwd alice bob nosuch 700001)" "0"

cp "$DB" "$T/good.db"
head -c 500 "$T/good.db" >"$DB"
getent_cb -s cloudbase passwd alice >/dev/null
expect_eq "truncated database: exit 2" "$?" "2"
expect_eq "truncated database: one syslog line for 9 lookups" \
	"$(syslog_lines -s cloudbase passwd alice bob carol 700001 700002 dave eve alice alice)" "1"
grep -q "corrupt account database" "$T/syslog"
check "the line says why" [ $? = 0 ]
cat "$T/good.db" >"$DB"

chmod 666 "$DB"
getent_cb -s cloudbase passwd alice >/dev/null
expect_eq "world-writable database refused" "$?" "2"
chmod 644 "$DB"
chown 1:1 "$DB"
getent_cb -s cloudbase passwd alice >/dev/null
expect_eq "database not owned by root refused" "$?" "2"
chown 0:0 "$DB"
mv "$DB" "$T/db/real.db"
ln -s "$T/db/real.db" "$DB"
getent_cb -s cloudbase passwd alice >/dev/null
expect_eq "symlinked database refused" "$?" "2"
rm "$DB"
mkfifo "$DB"
in_ns timeout 10 env LD_LIBRARY_PATH="$NSS_CLOUDBASE_DIR" getent -s cloudbase passwd alice
expect_eq "a FIFO at the path: refused, no hang" "$?" "2"
rm "$DB"
getent_cb -s cloudbase passwd alice >/dev/null
expect_eq "no database: not found" "$?" "2"
mv "$T/db/real.db" "$DB"
out=$(getent_cb -s cloudbase passwd alice | cut -d: -f1)
expect_eq "positive control after the failures" "$out" "alice"

chmod 666 "$CONF"
getent_cb -s cloudbase passwd alice >/dev/null
expect_eq "unsafe config: unavailable" "$?" "2"
rm "$CONF"
getent_cb -s cloudbase passwd alice >/dev/null
expect_eq "no config: unavailable" "$?" "2"

finish
