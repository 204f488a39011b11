#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A whole PAM login (bench/pam_login: pam_authenticate + pam_acct_mgmt with
# pam_cloudbase for both, one process each) against the emulator, with
# accounts databases of several sizes, for three kinds of login:
#
#   repeat  the user signed in before: sub bound, CloudBase groups unchanged
#           (writes the user's state record only)
#   first   the user's state record is removed before the run, so the login
#           binds the sub (writes a new state record)
#   groups  the emulator user's CloudBase groups alternate between runs
#           (["user", "admin"] / ["user"]) and group_map maps admin: every
#           login changes the mapped groups NSS serves (state record, and the
#           account database's delta)
#
# and, once per size (FOLD=no skips it), a login whose groups change when
# the delta is full, so that its write folds the delta into a new base: the
# delta is filled with `cloudbasectl user add` to its bound (64 records at
# 10 accounts, 1,024 at 100,000 and more), then a user whose mapped groups
# were never written signs in with a mapped group.
#
# Every (size, kind) runs once per round; the order of the sizes rotates
# from round to round, so machine noise falls on all alike. Each login is
# timed on its own with bash's $EPOCHREALTIME (no fork for the clock); the
# figures are medians. The databases are made with `cloudbasectl user
# import` (the import time is printed too), all under one temporary
# directory that the script removes; nothing outside it is written.
#
# Usage (root, from anywhere): BUILD=/path/to/build bench/login_bench.sh [ROUNDS]
#   SIZES="10 100000 1000000" (default)  ROUNDS default 40
# Needs: python3 (the emulator), curl, awk. See bench/README.md.
set -eu
rounds=${1:-40}
sizes=${SIZES:-10 100000 1000000}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$(pwd)}
so=$build/pam/.libs/pam_cloudbase.so
ctl=$build/tools/cloudbasectl
login=$build/bench/pam_login
[ "$(id -u)" = 0 ] || { echo "login_bench: needs root (the state store is root's)" >&2; exit 77; }
make -s -C "$build/bench" pam_login >/dev/null
[ -x "$login" ] && [ -f "$so" ] && [ -x "$ctl" ] || { echo "build first: make" >&2; exit 1; }

work=$(mktemp -d /tmp/cb-loginbench.XXXXXX)
chmod 755 "$work"
. "$src/bench/emulator.sh"
start_emulator
# the group-changing users
control /users '{"username": "grpuser", "password": "Grp-Passw0rd", "groups": ["user"]}'
control /users '{"username": "folduser", "password": "Fold-Passw0rd", "groups": ["user"]}'

printf 'test-secret\n' >"$work/secret"
chmod 600 "$work/secret"

setup_size() { # DIR N: config, PAM service, and N accounts by user import
	local dir=$1 n=$2 t0 t1
	mkdir -m 755 "$dir" "$dir/pam.d"
	cat >"$dir/cloudbase.conf" <<-CONF
		base_url = https://127.0.0.1:$port/auth/v1
		client_id = test-env
		client_secret_file = $work/secret
		ca_file = $work/emu/ca.pem
		accounts_db = $dir/accounts.db
		group_map = admin:sudo
	CONF
	chmod 644 "$dir/cloudbase.conf"
	printf 'auth required %s conf=%s\naccount required %s conf=%s\n' \
		"$so" "$dir/cloudbase.conf" "$so" "$dir/cloudbase.conf" >"$dir/pam.d/bench"
	# n - 3 filler accounts, the user who logs in as alice, the one whose
	# groups change, the one whose login folds the delta
	awk -v n="$n" 'BEGIN { print "name,login"
		print "benchuser,alice"; print "grpuser,grpuser"; print "folduser,folduser"
		for (i = 0; i < n - 3; i++) printf "f%07d,f%07d@example.com\n", i, i }' \
		>"$dir/users.csv"
	t0=${EPOCHREALTIME/./}
	"$ctl" -c "$dir/cloudbase.conf" user import "$dir/users.csv" >/dev/null
	t1=${EPOCHREALTIME/./}
	rm -f "$dir/users.csv"
	printf 'size %8d: user import %8.2f s, accounts.db %s bytes\n' "$n" \
		"$(awk "BEGIN { print ($t1 - $t0) / 1e6 }")" "$(stat -c %s "$dir/accounts.db")" >&2
}

pam_once() { "$login" "$1/pam.d" bench "$2" "$3"; }
groups_toggle=0
toggle_groups() { # the next login of grpuser sees other CloudBase groups
	groups_toggle=$((1 - groups_toggle))
	if [ $groups_toggle = 1 ]; then
		control /users '{"username": "grpuser", "groups": ["user", "admin"]}'
	else
		control /users '{"username": "grpuser", "groups": ["user"]}'
	fi
}
delta_id() { stat -c '%i.%Y.%Z.%s' "$1/accounts.db.delta" 2>/dev/null || echo none; }

for n in $sizes; do
	setup_size "$work/n$n" "$n"
	# warm-up: bind the subs, make the state records (folduser's groups
	# map to nothing yet: the database is not written for it)
	for u in benchuser:Alice-Passw0rd grpuser:Grp-Passw0rd folduser:Fold-Passw0rd; do
		pam_once "$work/n$n" "${u%%:*}" "${u#*:}" || { echo "login fails at $n: $?" >&2; exit 1; }
	done
done

read -ra sizes_arr <<<"$sizes"
ns=${#sizes_arr[@]}
declare -A by_groups by_repeat # logins after which the delta had changed
for n in $sizes; do by_groups[$n]=0; by_repeat[$n]=0; done
echo "running $rounds rounds of ${ns} sizes x 3 kinds..." >&2
for ((r = 0; r < rounds; r++)); do
	toggle_groups
	for ((k = 0; k < ns; k++)); do
		n=${sizes_arr[$(((r + k) % ns))]}
		d=$work/n$n
		before=$(delta_id "$d")
		a=${EPOCHREALTIME/./}; pam_once "$d" benchuser Alice-Passw0rd; b=${EPOCHREALTIME/./}
		echo $((b - a)) >>"$work/repeat.$n"
		[ "$(delta_id "$d")" = "$before" ] || by_repeat[$n]=$((${by_repeat[$n]} + 1))

		rm -f "$d/state/users/benchuser"
		a=${EPOCHREALTIME/./}; pam_once "$d" benchuser Alice-Passw0rd; b=${EPOCHREALTIME/./}
		echo $((b - a)) >>"$work/first.$n"
		[ -f "$d/state/users/benchuser" ] || { echo "first login left no state record" >&2; exit 1; }

		before=$(delta_id "$d")
		a=${EPOCHREALTIME/./}; pam_once "$d" grpuser Grp-Passw0rd; b=${EPOCHREALTIME/./}
		echo $((b - a)) >>"$work/groups.$n"
		[ "$(delta_id "$d")" = "$before" ] || by_groups[$n]=$((${by_groups[$n]} + 1))
	done
done

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
first_size=${sizes_arr[0]}
printf '%-8s' kind
for n in $sizes; do printf ' %12s' "$n accts"; done
printf '   (median us per login, %d rounds)\n' "$rounds"
for kind in repeat first groups; do
	printf '%-8s' "$kind"
	for n in $sizes; do printf ' %12s' "$(median "$work/$kind.$n")"; done
	base=$(median "$work/$kind.$first_size")
	printf '   ratio to %s:' "$first_size"
	for n in $sizes; do
		printf ' %s' "$(awk "BEGIN { printf \"%.2f\", $(median "$work/$kind.$n") / $base }")"
	done
	echo
done
for n in $sizes; do
	echo "size $n: database written by ${by_groups[$n]} of $rounds group-changing logins," \
		"by ${by_repeat[$n]} of $rounds repeat logins"
done

[ "${FOLD:-yes}" = yes ] || exit 0
# header fields (lib/accountdb_format.h): n_records at byte 24, generation
# at 88, a delta's base_generation at 96
u32() { od -An -tu4 -j"$2" -N4 "$1" | tr -d ' '; }
u64() { od -An -tu8 -j"$2" -N8 "$1" | tr -d ' '; }
control /users '{"username": "folduser", "groups": ["user", "admin"]}'
for n in $sizes; do
	d=$work/n$n
	nbase=$(u32 "$d/accounts.db" 24)
	bound=$((nbase / 8 < 64 ? 64 : nbase / 8 > 1024 ? 1024 : nbase / 8))
	ndelta=0
	if [ -f "$d/accounts.db.delta" ] &&
		[ "$(u64 "$d/accounts.db.delta" 96)" = "$(u64 "$d/accounts.db" 88)" ]; then
		ndelta=$(u32 "$d/accounts.db.delta" 24)
	fi
	for ((i = ndelta; i < bound; i++)); do
		"$ctl" -c "$d/cloudbase.conf" user add "z$i" --login "z$i@example.com" >/dev/null
	done
	ino=$(stat -c %i "$d/accounts.db")
	a=${EPOCHREALTIME/./}; pam_once "$d" folduser Fold-Passw0rd; b=${EPOCHREALTIME/./}
	if [ "$(stat -c %i "$d/accounts.db")" != "$ino" ]; then
		echo "size $n: the login that folds the delta ($bound records) into a new base:" \
			"$((b - a)) us"
	else
		echo "size $n: expected the login to fold the delta ($bound records); it did not" >&2
		exit 1
	fi
done
