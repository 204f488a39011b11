#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The admin tool at scale, whole processes, each timed with bash's
# $EPOCHREALTIME:
#
#   import  `cloudbasectl user import` of IMPORT_N accounts (CSV generated
#           here, uids left to the tool) into an empty database, IMPORT_RUNS
#           times; wall time and peak memory (/usr/bin/time, if installed)
#   add     `cloudbasectl user add` of a new name, then `user remove` of an
#           account, ADDS rounds, interleaved between a database of 10
#           accounts and one of IMPORT_N (the last import). The size stays:
#           at 10 the remove takes the name just added (the delta forgets
#           it: it stays at one record or none), at IMPORT_N it takes one of
#           the imported accounts, so the delta grows by two records a round
#           and every 1,024 changes a writer folds it into a new base (the
#           steady state of a large database). An operation after which
#           accounts.db is another file (inode) is counted as a fold and
#           listed with its time.
#
# Everything lives under one temporary directory (config accounts_db points
# there), removed at the end; nothing else is written.
#
# Usage (root): BUILD=/path/to/build bench/admin_bench.sh
#   IMPORT_N=1000000 IMPORT_RUNS=3 ADDS=2000 (defaults)
set -eu
import_n=${IMPORT_N:-1000000}
import_runs=${IMPORT_RUNS:-3}
adds=${ADDS:-2000}
build=${BUILD:-$(pwd)}
ctl=$build/tools/cloudbasectl
[ "$(id -u)" = 0 ] || { echo "admin_bench: needs root" >&2; exit 77; }
[ -x "$ctl" ] || { echo "build first: make" >&2; exit 1; }
work=$(mktemp -d /tmp/cb-adminbench.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT INT TERM

mkconf() { # DIR: a config whose database lives in DIR
	mkdir -m 755 "$1"
	printf 'env = bench\naccounts_db = %s/accounts.db\n' "$1" >"$1/cloudbase.conf"
	chmod 644 "$1/cloudbase.conf"
}
secs() { awk "BEGIN { printf \"%.2f\", ($2 - $1) / 1e6 }"; }
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
pct() { sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.5); if (i < 1) i = 1; print v[i] }'; }

# ---- import ----
awk -v n="$import_n" 'BEGIN { print "name,login,phone,gecos,home,shell,uid"
	for (i = 0; i < n; i++)
		printf "u%07d,u%07d@example.com,,User %d,/home/u%07d,/bin/sh,\n", i, i, i, i }' \
	>"$work/users.csv"
echo "import of $import_n accounts ($(stat -c %s "$work/users.csv") bytes of CSV):"
: >"$work/import.t"
for ((i = 1; i <= import_runs; i++)); do
	d=$work/import$i
	mkconf "$d"
	timer=()
	[ -x /usr/bin/time ] && timer=(/usr/bin/time -f %M -o "$work/rss")
	a=${EPOCHREALTIME/./}
	"${timer[@]}" "$ctl" -c "$d/cloudbase.conf" user import "$work/users.csv" >/dev/null
	b=${EPOCHREALTIME/./}
	echo $((b - a)) >>"$work/import.t"
	rss=$([ -s "$work/rss" ] && echo "$(($(cat "$work/rss") / 1024)) MiB peak RSS" || echo "")
	echo "  run $i: $(secs "$a" "$b") s, accounts.db $(stat -c %s "$d/accounts.db") bytes${rss:+, $rss}"
	# keep the last one for the add runs
	[ "$i" = "$import_runs" ] || rm -rf "$d"
done
echo "  median: $(secs 0 "$(median "$work/import.t")") s"
rm -f "$work/users.csv"

# ---- add at 10 and at import_n ----
mkconf "$work/small"
{ echo "name,login"; for i in $(seq 10); do echo "s$i,s$i@example.com"; done; } >"$work/small.csv"
"$ctl" -c "$work/small/cloudbase.conf" user import "$work/small.csv" >/dev/null
big=$work/import$import_runs
dirs=("$work/small" "$big")
labels=(10 "$import_n")
for l in "${labels[@]}"; do : >"$work/add.$l"; : >"$work/rm.$l"; : >"$work/folds.$l"; done
timed() { # LABEL DIR KIND ARGS...: one cloudbasectl run, timed; a fold is noted
	local l=$1 d=$2 kind=$3 ino a b
	shift 3
	ino=$(stat -c %i "$d/accounts.db")
	a=${EPOCHREALTIME/./}
	"$ctl" -c "$d/cloudbase.conf" "$@" >/dev/null
	b=${EPOCHREALTIME/./}
	echo $((b - a)) >>"$work/$kind.$l"
	[ "$(stat -c %i "$d/accounts.db")" = "$ino" ] || echo "$kind $((b - a))" >>"$work/folds.$l"
}
echo "user add + user remove, $adds rounds, interleaved:"
for ((r = 0; r < adds; r++)); do
	for ((k = 0; k < 2; k++)); do
		j=$(((r + k) % 2))
		timed "${labels[$j]}" "${dirs[$j]}" add user add "n$r" --login "n$r@example.com"
		if [ "$j" = 0 ]; then gone=n$r; else gone=$(printf 'u%07d' "$r"); fi
		timed "${labels[$j]}" "${dirs[$j]}" rm user remove "$gone"
	done
done
for l in "${labels[@]}"; do
	nf=$(wc -l <"$work/folds.$l")
	printf '  %8s accounts: add median %6d us, p90 %6d, mean %6d, max %8d; remove median %6d us; %d folds' \
		"$l" "$(median "$work/add.$l")" "$(pct "$work/add.$l" 90)" \
		"$(awk '{ s += $1 } END { printf "%d", s / NR }' "$work/add.$l")" \
		"$(sort -n "$work/add.$l" | tail -1)" "$(median "$work/rm.$l")" "$nf"
	if [ "$nf" -gt 0 ]; then
		printf ' (%s us)' "$(awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }' "$work/folds.$l")"
	fi
	echo
done
echo "  add at $import_n minus add at 10 (medians): $(($(median "$work/add.$import_n") - \
	$(median "$work/add.10"))) us"
