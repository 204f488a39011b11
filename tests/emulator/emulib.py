#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Helpers to run and drive the CloudBase Auth emulator from tests.

In Python tests:

    from emulib import Emulator
    with Emulator("/tmp/state", vars=["error-200"]) as emu:
        emu.reset()
        emu.add_fault(path="/auth/v1/signin", fault="status", status=503, count=1)
        ... talk to emu.base_url trusting emu.ca_file ...
        code = emu.outbox("+86 13800000001")["code"]

From shell or C tests (`emuctl` is this file's command line):

    emuctl --state-dir DIR start [emulator options...]   # start in background, wait
    emuctl --state-dir DIR outbox '+86 13800000001'      # prints the last code
    emuctl --state-dir DIR fault '{"path": "/signin", "fault": "status", "status": 503}'
    emuctl --state-dir DIR reset | stats | clock 601 | variant error-200 on
    emuctl --state-dir DIR stop

The state dir may also come from $EMU_STATE_DIR.  Every command prints JSON except
`outbox PHONE` (the code alone) and `port` / `base-url`.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.realpath(__file__))
EMULATOR = os.path.join(HERE, "cloudbase_emulator.py")
PYTHON = "/usr/bin/python3"
START_TIMEOUT = 10.0


class ControlError(Exception):
    """The control API answered with an error status."""

    def __init__(self, status, body):
        super().__init__("control API %d: %s" % (status, body))
        self.status, self.body = status, body


def control_call(port, method, path, body=None, timeout=10.0):
    """One JSON request to the control port; returns the decoded answer."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data,
                                 method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise ControlError(exc.code, exc.read().decode("utf-8", "replace")) from None


def read_port(state_dir, name):
    with open(os.path.join(state_dir, name)) as f:
        return int(f.read().strip())


class Control:
    """The control API of a running emulator, found through its state dir."""

    def __init__(self, state_dir, control_port=None):
        self.state_dir = os.path.abspath(state_dir)
        self._control_port = control_port

    @property
    def control_port(self):
        if self._control_port is None:
            self._control_port = read_port(self.state_dir, "control-port")
        return self._control_port

    def call(self, method, path, body=None):
        return control_call(self.control_port, method, path, body)

    def health(self):
        return self.call("GET", "/health")

    def reset(self):
        return self.call("POST", "/reset")

    def stats(self):
        return self.call("GET", "/stats")

    def reset_stats(self):
        return self.call("POST", "/stats/reset")

    def outbox(self, contact=None):
        """The whole outbox, or the last message to one phone number / email."""
        if contact is None:
            return self.call("GET", "/outbox")
        key = "email" if "@" in contact else "phone"
        return self.call("GET", "/outbox?%s=%s" % (key, urllib.parse.quote(contact, safe="")))

    def add_fault(self, rule=None, **fields):
        rule = dict(rule or {}, **fields)
        return self.call("POST", "/faults", rule)["added"][0]

    def add_faults(self, rules):
        return self.call("POST", "/faults", list(rules))["added"]

    def faults(self):
        return self.call("GET", "/faults")["faults"]

    def clear_faults(self):
        return self.call("DELETE", "/faults")

    def set_variant(self, name, on=True):
        return self.call("POST", "/variants", {"name": name, "enabled": bool(on)})

    def variants(self):
        return self.call("GET", "/variants")

    def advance_clock(self, seconds):
        return self.call("POST", "/clock", {"advance": seconds})

    def clock(self):
        return self.call("GET", "/clock")

    def upsert_user(self, **fields):
        return self.call("POST", "/users", fields)

    def user(self, username):
        return self.call("GET", "/users/" + urllib.parse.quote(username, safe=""))

    def requests(self):
        return self.call("GET", "/requests")["requests"]

    def clear_requests(self):
        return self.call("DELETE", "/requests")

    def tokens(self):
        return self.call("GET", "/tokens")["tokens"]
    def sessions(self):
        """Every session the service made: id, username, request_id (of
        the sign-in that made it), created, revoked, revoked_at,
        revoked_by, active. No tokens."""
        return self.call("GET", "/sessions")["sessions"]

    def settings(self, **changes):
        if changes:
            return self.call("POST", "/settings", changes)
        return self.call("GET", "/settings")


class Emulator(Control):
    """Starts the emulator as a child process; stop() ends exactly that process."""

    def __init__(self, state_dir, seed=None, plain_http=False, cert="good", vars=(),
                 faults=None, cert_dir=None, extra_args=(), start=True):
        super().__init__(state_dir)
        self.plain_http = plain_http
        self.args = ["--state-dir", self.state_dir, "--cert", cert]
        if seed:
            self.args += ["--seed", seed]
        if plain_http:
            self.args.append("--plain-http")
        for name in vars:
            self.args += ["--var", name]
        if faults:
            self.args += ["--faults", faults]
        if cert_dir:
            self.args += ["--cert-dir", cert_dir]
        self.args += list(extra_args)
        self.proc = None
        self.port = None
        if start:
            self.start()

    def start(self, detach=False):
        os.makedirs(self.state_dir, exist_ok=True)
        for name in ("port", "control-port", "pid"):
            path = os.path.join(self.state_dir, name)
            if os.path.exists(path):
                os.unlink(path)
        self.log_path = os.path.join(self.state_dir, "emulator.log")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([PYTHON, EMULATOR] + self.args,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=detach)
        self._wait_ready()
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        port_file = os.path.join(self.state_dir, "port")
        while not os.path.exists(port_file):
            if self.proc.poll() is not None:
                raise RuntimeError("emulator exited with %d; see %s"
                                   % (self.proc.returncode, self.log_path))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("emulator not ready after %.0f s; see %s"
                                   % (START_TIMEOUT, self.log_path))
            time.sleep(0.02)
        self.port = read_port(self.state_dir, "port")
        self._control_port = read_port(self.state_dir, "control-port")

    @property
    def ca_file(self):
        return os.path.join(self.state_dir, "ca.pem")

    @property
    def ca_path(self):
        return os.path.join(self.state_dir, "capath")

    @property
    def base_url(self):
        scheme = "http" if self.plain_http else "https"
        return "%s://127.0.0.1:%d/auth/v1" % (scheme, self.port)

    def stop(self):
        """SIGTERM the child we started, SIGKILL it after 5 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------------------
# Command line (emuctl)
# ---------------------------------------------------------------------------

def _start_detached(state_dir, emulator_args):
    """Start an emulator that outlives us (own session); report where it listens."""
    emu = Emulator(state_dir, plain_http="--plain-http" in emulator_args, start=False)
    emu.args = ["--state-dir", emu.state_dir] + list(emulator_args)
    emu.start(detach=True)
    return {"pid": emu.proc.pid, "port": emu.port, "control_port": emu.control_port,
            "base_url": emu.base_url}


def _alive(pid):
    """True while the process runs (a zombie waiting for its reaper counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _stop_detached(state_dir):
    """Stop the emulator whose pid file is in this state dir."""
    pid = read_port(state_dir, "pid")
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            ours = os.path.basename(EMULATOR).encode() in f.read()
    except FileNotFoundError:
        ours = False
    if not ours or not _alive(pid):
        return {"not_running": pid}
    os.kill(pid, signal.SIGTERM)
    for _ in range(250):
        if not _alive(pid):
            return {"stopped": pid}
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    return {"killed": pid}


def _on_off(word):
    if word.lower() in ("on", "true", "1", "yes", "enable"):
        return True
    if word.lower() in ("off", "false", "0", "no", "disable"):
        return False
    raise SystemExit("expected on or off, got %r" % word)


def run_command(ctl, cmd, args):
    """One emuctl command; returns what to print."""
    simple = {
        "health": ctl.health, "reset": ctl.reset, "stats": ctl.stats,
        "stats-reset": ctl.reset_stats, "faults": ctl.faults,
        "clear-faults": ctl.clear_faults, "variants": ctl.variants,
        "requests": ctl.requests, "clear-requests": ctl.clear_requests,
        "tokens": ctl.tokens,
        "sessions": ctl.sessions,
        "settings": ctl.settings,
    }
    if cmd in simple and not args:
        return simple[cmd]()
    if cmd == "outbox":
        if not args:
            return ctl.outbox()
        entry = ctl.outbox(args[0])
        return entry[args[1]] if len(args) > 1 else entry["code"]
    if cmd == "fault" and len(args) == 1:
        rules = json.loads(args[0])
        return ctl.add_faults(rules if isinstance(rules, list) else [rules])
    if cmd == "variant" and len(args) in (1, 2):
        return ctl.set_variant(args[0], _on_off(args[1]) if len(args) == 2 else True)
    if cmd == "clock":
        return ctl.advance_clock(float(args[0])) if args else ctl.clock()
    if cmd == "user" and len(args) == 1:
        if args[0].lstrip().startswith("{"):
            return ctl.upsert_user(**json.loads(args[0]))
        return ctl.user(args[0])
    if cmd == "set" and args:
        return ctl.settings(**dict(_setting(a) for a in args))
    if cmd == "port":
        return read_port(ctl.state_dir, "port")
    raise SystemExit("unknown command or wrong arguments: %s %s" % (cmd, " ".join(args)))


def _setting(arg):
    key, sep, value = arg.partition("=")
    if not sep:
        raise SystemExit("settings are KEY=VALUE")
    return key, value


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="emuctl", description="Drive a running CloudBase Auth emulator.",
        epilog="commands: start [emulator args] | stop | health | reset | stats | "
               "stats-reset | outbox [CONTACT [FIELD]] | fault JSON | faults | "
               "clear-faults | variant NAME [on|off] | variants | clock [SECONDS] | "
               "user NAME|JSON | requests | clear-requests | tokens | settings | set K=V... | port")
    parser.add_argument("--state-dir", default=os.environ.get("EMU_STATE_DIR"))
    parser.add_argument("command")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    opts = parser.parse_args(argv)
    if not opts.state_dir:
        parser.error("--state-dir (or $EMU_STATE_DIR) is required")
    try:
        if opts.command == "start":
            result = _start_detached(opts.state_dir, opts.args)
        elif opts.command == "stop":
            result = _stop_detached(opts.state_dir)
        else:
            result = run_command(Control(opts.state_dir), opts.command, opts.args)
    except ControlError as exc:
        print(exc.body, file=sys.stderr)
        return 1
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        print("emuctl: %s" % exc, file=sys.stderr)
        return 1
    if isinstance(result, (dict, list)):
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
