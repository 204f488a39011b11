# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the benchmark scripts, which set src (the source tree) and
# work (a fresh temporary directory) first.
#
# start_emulator: starts the project's emulator (tests/emulator) with its
#   state in $work/emu and its log in $work/emu.log, waits up to 10 s for
#   it to listen, sets port (its HTTPS port on 127.0.0.1) and cport (its
#   control port), and turns the service's lockout off so that repeated
#   logins of one user are never refused. On exit, or on SIGINT or SIGTERM,
#   the emulator is stopped (by its PID) and $work removed.
# control PATH JSON: a POST to the emulator's control API; fails on an
#   HTTP error.

control() { curl -sfq --noproxy '*' -X POST -d "$2" "http://127.0.0.1:$cport$1" >/dev/null; }

start_emulator() {
	/usr/bin/python3 "$src/tests/emulator/cloudbase_emulator.py" --state-dir "$work/emu" \
		>"$work/emu.log" 2>&1 &
	emu=$!
	trap 'kill $emu 2>/dev/null; wait $emu 2>/dev/null; rm -rf "$work"' EXIT INT TERM
	for _ in $(seq 200); do [ -s "$work/emu/port" ] && break; sleep 0.05; done
	[ -s "$work/emu/port" ] || { echo "the emulator did not start: $(cat "$work/emu.log")" >&2; exit 1; }
	port=$(cat "$work/emu/port")
	cport=$(cat "$work/emu/control-port")
	control /settings '{"lockout_threshold": 1000000}'
}
