#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A local user who stops their own su runs: the lock-hold attack of
docs/state-store.md ("Writes the invoking user cannot hold up").

Runs with nothing but the invoking user's rights (run.py starts it under
`setpriv --reuid`): `su TARGET -c true` again and again, the password
typed on su's stdin, and each su stopped with SIGSTOP (to its process
group, as a shell's job control would) at one of three points, in turn:

- lock: the moment /proc/locks shows a lock (a store's flock) held by su
  or by a child of su; a holder other than su is then sent SIGSTOP too.
  Whoever holds the lock, su is stopped while the lock is held: if su
  held it, everyone waiting for it would wait as long as su stays stopped;
- writer: the moment a child of su appears whose uids are all root's, the
  shielded writer of the state store or the account database, which holds
  a lock while it runs; that child itself is then sent SIGSTOP too, which
  the kernel must refuse (EPERM: the invoking user may not signal it);
- random: 0-400 ms after the password was typed (the sign-in, the session
  phases, su's own forks).

Stopped su processes stay stopped. It prints "su PID" as it starts each
su (so that whoever runs it can end them all even if it dies), and after
SECONDS (or MAX stopped; an su that has not ended by then is left running)
one line "report " + JSON: pids, counts, and the errno of every signal
sent to a writer. Then it waits for a line on stdin and SIGKILLs and reaps
every su it started (its process group), by PID, before it exits.

stdin: the password (first line), later any line to end.
"""

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time

POLL = 0.0002  # seconds between looks at su's children (a write lasts ~1-5 ms)


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(c) for c in f.read().split()]
    except (OSError, ValueError):
        return []


def uids(pid):
    """(real, effective, saved) uids of pid, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Uid:"):
                    return tuple(int(x) for x in line.split()[1:4])
    except (OSError, ValueError):
        pass
    return None


def lock_holders():
    """The pids that hold a file lock (flock or POSIX), from /proc/locks."""
    holders = set()
    try:
        with open("/proc/locks") as f:
            for line in f:
                fields = line.split()
                # "1: FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF" ("->" when blocked)
                if len(fields) >= 5 and fields[1] != "->":
                    holders.add(int(fields[4]))
    except (OSError, ValueError):
        pass
    return holders


def signal_writer(report, pid):
    """SIGSTOP to a process of su's that is not su: record what the kernel said."""
    try:
        os.kill(pid, signal.SIGSTOP)
        code = "signalled"
        report["writers_signalled"].append(pid)
    except OSError as e:
        code = errno.errorcode.get(e.errno, str(e.errno))
    report["writer_signals"][code] = report["writer_signals"].get(code, 0) + 1


def stop_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGSTOP)
        return True
    except OSError:
        return False


def main():
    target, seconds, max_stopped = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    password = sys.stdin.readline()
    procs, report = [], {"su": 0, "stopped": [], "exited": 0, "running": 0, "writer_seen": 0,
                         "writer_signals": {}, "writers_signalled": [], "random_stops": 0,
                         "writer_stops": 0, "lock_stops": 0, "lock_held_by_su": 0}
    deadline = time.monotonic() + seconds
    mode = 0
    while time.monotonic() < deadline and len(report["stopped"]) < max_stopped:
        proc = subprocess.Popen(["/bin/su", target, "-c", "true"], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        procs.append(proc)
        report["su"] += 1
        print("su %d" % proc.pid, flush=True)
        proc.stdin.write(password.encode())
        proc.stdin.close()
        mode = (mode + 1) % 3
        stopped = False
        end = min(time.monotonic() + 3, deadline)
        if mode == 0:  # lock
            while not stopped and proc.poll() is None and time.monotonic() < end:
                mine = {proc.pid} | set(children(proc.pid))
                held = mine & lock_holders()
                if held:
                    stopped = stop_group(proc)
                    report["lock_stops"] += stopped
                    report["lock_held_by_su"] += proc.pid in held
                    for pid in held - {proc.pid}:
                        signal_writer(report, pid)
                    break
                time.sleep(POLL)
        elif mode == 1:  # writer
            while not stopped and proc.poll() is None and time.monotonic() < end:
                for child in children(proc.pid):
                    if uids(child) != (0, 0, 0):
                        continue
                    stopped = stop_group(proc)
                    signal_writer(report, child)
                    report["writer_seen"] += 1
                    report["writer_stops"] += stopped
                    break
                time.sleep(POLL)
        else:  # random
            time.sleep(random.uniform(0, 0.4))
            if proc.poll() is None:
                stopped = stop_group(proc)
                report["random_stops"] += stopped
        if stopped:
            report["stopped"].append(proc.pid)
            continue
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
            report["exited"] += 1
        except subprocess.TimeoutExpired:
            report["running"] += 1  # e.g. waiting for a lock a stopped su holds
    print("report " + json.dumps(report), flush=True)
    sys.stdin.readline()
    for proc in procs:
        # the whole group: su's own child (for the command) may be stopped
        # too before it changed its uid; the shielded writer ignores this
        # (and ends on its own)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
