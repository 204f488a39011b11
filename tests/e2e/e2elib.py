#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The end-to-end world of pam_cloudbase: real sshd, ssh, sudo, su and login
against the CloudBase Auth emulator, in a private mount namespace.

One implementation shared by the e2e suite (tests/e2e/run.py) and the README's
demo (scripts/demo -> tests/e2e/demo.py).

How it is built (see World.setup):
- The caller re-executes itself under tests/ns-run (a private mount namespace
  whose /dev is a private tmpfs); everything here runs inside it and every
  mount is made with `mount -n`, so the host's mount table and files are never
  touched. Leaving the namespace undoes every mount.
- /etc gets a writable overlay whose upper layer lives on a tmpfs in the work
  directory: the test nsswitch.conf, PAM service files, sudoers and
  /etc/cloudbase/ are written there and exist only inside the namespace.
- /usr/lib/x86_64-linux-gnu gets a read-only overlay with the freshly built
  libnss_cloudbase.so.2 and security/pam_cloudbase.so on top, so setuid sudo
  and su and sshd's session child load them by the names the shipped
  examples use (LD_LIBRARY_PATH would be ignored by them).
- /run, /var/log and /home are private tmpfs mounts (login records, sshd's
  privilege separation directory, sudo's time stamps, homes).
- /dev/log is a datagram socket read by a thread: every pam_syslog line of the
  modules inside sshd, sudo, su and login is captured.
Every process started is recorded and ended by PID in teardown().
"""

import contextlib
import glob
import hashlib
import io
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.realpath(__file__))
PYTHON = "/usr/bin/python3"


def _system_libdir():
    """Where this system's libc (and so libpam's security/ and the NSS
    modules) lives: /usr/lib/x86_64-linux-gnu on Debian amd64."""
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if re.search(r"/libc\.so\.6$", path):
                return os.path.dirname(os.path.realpath(path))
    return "/usr/lib/x86_64-linux-gnu"


LIBDIR = _system_libdir()
# The host files the suite must leave untouched.
GUARDED = ["/etc/pam.d", "/etc/nsswitch.conf", "/etc/sudoers", "/etc/sudoers.d", "/etc/ssh",
           "/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/cloudbase",
           "/etc/login.defs"]

CLIENT_TIMEOUT = 30  # seconds: the bound on any one client run

# Used only while an example service file is missing from etc/pam.d/.
FALLBACK_STACK = {
    "su": "auth sufficient pam_rootok.so\n",
    "common": ("auth required pam_cloudbase.so\n"
               "account required pam_cloudbase.so\n"
               "password required pam_cloudbase.so\n"
               "session required pam_unix.so\n"
               "session required pam_cloudbase.so\n"),
}


class Tap:
    """The TAP lines of an inner part: numbered tests, failures counted,
    the last 40 lines of diag under a failed one."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        line = "%s %d - %s" % ("ok" if cond else "not ok", self.n, desc)
        if not cond:
            self.failed += 1
        print(line, flush=True)
        if not cond and diag is not None:
            for d in str(diag).splitlines()[-40:]:
                print("#   " + d, flush=True)
        return cond

    def diag(self, text):
        for d in str(text).splitlines():
            print("# " + d, flush=True)


# ---------------------------------------------------------------------------
# Outside the namespace
# ---------------------------------------------------------------------------

def host_checksums():
    """sha256 of every guarded host file (missing ones recorded as such)."""
    sums = {}
    for top in GUARDED:
        if not os.path.lexists(top):
            sums[top] = "missing"
            continue
        paths = [top]
        if os.path.isdir(top) and not os.path.islink(top):
            paths = []
            for dirpath, dirnames, filenames in os.walk(top):
                dirnames.sort()
                paths.append(dirpath)
                paths += [os.path.join(dirpath, f) for f in sorted(filenames)]
        for p in paths:
            st = os.lstat(p)
            meta = "%o:%d:%d" % (st.st_mode, st.st_uid, st.st_gid)
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    sums[p] = meta + ":" + hashlib.sha256(f.read()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                sums[p] = meta + ":->" + os.readlink(p)
            else:
                sums[p] = meta
    return sums


def checksum_diff(before, after):
    keys = sorted(set(before) | set(after))
    return [k for k in keys if before.get(k) != after.get(k)]


def run_in_namespace(script, args, on_line=None, timeout=None):
    """Run `python3 script --inner WORK args` under tests/ns-run; WORK is a
    fresh directory that only the namespace mounts on (removed afterwards).
    on_line, if given, receives each line the inner part prints. Returns the
    exit status, or None if it outlived timeout: then the inner part and the
    daemons it recorded in WORK.pids (sshd, emulator) are killed by PID."""
    work = tempfile.mkdtemp(prefix="cb-e2e.")
    pidfile = work + ".pids"
    timer = None
    try:
        cmd = [os.path.join(os.path.dirname(HERE), "ns-run"), PYTHON, script,
               "--inner", work] + list(args)
        env = dict(os.environ)
        env.pop("CB_IN_NS", None)
        env["CB_E2E_PIDFILE"] = pidfile
        proc = subprocess.Popen(cmd, env=env, text=True,
                                stdout=subprocess.PIPE if on_line else None)
        expired = []
        if timeout:
            def expire():
                expired.append(True)
                kill_recorded(proc, pidfile)
            timer = threading.Timer(timeout, expire)
            timer.start()
        try:
            if on_line:
                for line in proc.stdout:
                    on_line(line.rstrip("\n"))
            rc = proc.wait()
            return None if expired else rc
        except BaseException:
            kill_recorded(proc, pidfile)
            raise
    finally:
        if timer is not None:
            timer.cancel()
        # The tmpfs on it went away with the namespace.
        shutil.rmtree(work, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.unlink(pidfile)


def outer(script, timeout, checks=()):
    """The host side of a test whose checks run in a private namespace:
    `script --inner` runs there for at most timeout seconds
    (run_in_namespace) and its TAP is passed on, renumbered into one
    sequence; then one test that the guarded host files are unchanged, one
    for each of checks (a function returning (ok, description, detail
    lines)), and a failed one when the inner part was killed or died; then
    the plan. Returns 0: the TAP carries the verdict."""
    before = host_checksums()
    count = [0]

    def emit(ok, description, details=()):
        count[0] += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", count[0], description))
        for line in details:
            print("#   " + line)

    def on_line(line):
        m = re.match(r"^(ok|not ok) \d+( .*)?$", line)
        if m:
            count[0] += 1
            line = "%s %d%s" % (m.group(1), count[0], m.group(2) or "")
        print(line, flush=True)
    rc = run_in_namespace(script, [], on_line=on_line, timeout=timeout)
    diff = checksum_diff(before, host_checksums())
    emit(not diff, "the host's /etc/pam.d, nsswitch.conf, sudoers, ssh, passwd, group, shadow "
         "are unchanged", ["changed: %s" % d for d in diff])
    for check in checks:
        emit(*check())
    if rc not in (0, 1):
        emit(False, "the namespaced part %s" % (
            "was killed after %d s" % timeout if rc is None else "exited with %d" % rc))
    print("1..%d" % count[0], flush=True)
    return 0


def kill_recorded(proc, pidfile):
    """The emergency brake: the inner process, then every daemon it
    recorded, each by PID."""
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(Exception):
        proc.wait(5)
    with contextlib.suppress(OSError):
        with open(pidfile) as f:
            for line in f:
                with contextlib.suppress(OSError, ValueError):
                    os.kill(int(line), signal.SIGKILL)


def record_pid(pid):
    """Note a daemon's PID where the outer process can find it."""
    path = os.environ.get("CB_E2E_PIDFILE")
    if path:
        with open(path, "a") as f:
            f.write("%d\n" % pid)


class LogChecks:
    """Log assertions for a suite holding a World (self.w) and a Tap
    (self.t). A mark is where the syslog and sshd's log stand now; each
    check reads what came after it, waiting a little for lines on their
    way."""

    def mark(self):
        return (self.w.syslog.mark(), self.w.sshd_log_mark() if self.w.sshd else 0)

    def logline(self, mark, regex, what, diag=None):
        """The first syslog line since mark matching regex (asserted)."""
        line = self.w.syslog.wait_for(mark[0], regex)
        self.t.ok(line is not None, "%s: log line /%s/" % (what, regex),
                  diag=diag if diag is not None else "\n".join(self.w.syslog.since(mark[0])))
        return line

    def no_logline(self, mark, regex, what):
        lines = [x for x in self.w.syslog.since(mark[0]) if re.search(regex, x)]
        self.t.ok(not lines, "%s: no log line /%s/" % (what, regex),
                  diag="\n".join(self.w.syslog.since(mark[0])))

    def sshd_line(self, mark, regex, what):
        line = self.w.sshd_log_wait(mark[1], regex)
        with open(self.w.sshd_log, errors="replace") as f:
            f.seek(mark[1])
            tail = f.read()
        self.t.ok(line is not None, "%s: sshd says /%s/" % (what, regex), diag=tail)


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

def arm_watchdog(seconds, what):
    """For the inner part: a TimeoutError raised in the main thread after
    seconds (signal.alarm(0) disarms it), and SIGTERM ending the process
    with status 1, so that its finally blocks still end what it started."""
    def expire(signum, frame):
        raise TimeoutError("%s watchdog: over %d s" % (what, seconds))
    signal.signal(signal.SIGALRM, expire)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(1))
    signal.alarm(seconds)


def stop_processes(procs, grace):
    """End each (name, Popen) of procs, the last started first, by PID:
    SIGTERM, then SIGKILL when it is still there after grace seconds."""
    for name, proc in reversed(procs):
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.terminate()
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    proc.kill()
                proc.wait()


def sh(*cmd, check=True, timeout=30, **kw):
    """Run a command, return CompletedProcess (text)."""
    r = subprocess.run(list(cmd), stdin=kw.pop("stdin", subprocess.DEVNULL),
                       capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(cmd), r.returncode, r.stdout,
                                                     r.stderr))
    return r


def mount(*args):
    sh("mount", "-n", *args)


def write(path, text, mode=0o644):
    """Write a file in place (same inode when it exists: bind mounts stay valid)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    os.chown(path, 0, 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Result:
    """What a client run produced: exit status, what the user saw, timing."""

    def __init__(self, rc, out, elapsed, timed_out=False, prompts=()):
        self.rc, self.out, self.elapsed, self.timed_out = rc, out, elapsed, timed_out
        self.prompts = list(prompts)
        self.unanswered = False  # a prompt came after the last answer
        self.after_answer = elapsed  # seconds from the last answer to the end
        self.answered_at = time.monotonic() - elapsed  # when the last answer was given

    def __repr__(self):
        return "rc=%s elapsed=%.2fs timed_out=%s unanswered=%s prompts=%r\n%s" % (
            self.rc, self.elapsed, self.timed_out, self.unanswered, self.prompts, self.out)


# ---------------------------------------------------------------------------
# The syslog collector: /dev/log inside the namespace
# ---------------------------------------------------------------------------

class SyslogCollector:
    def __init__(self, path, logfile):
        self.path, self.logfile = path, logfile
        self.lines = []
        self.times = []  # monotonic arrival time of each line
        self.lock = threading.Lock()
        if os.path.lexists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.settimeout(0.2)
        self.running = True
        self.out = open(logfile, "a", buffering=1)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            line = data.decode("utf-8", "replace").rstrip("\n\0")
            line = re.sub(r"^<\d+>", "", line)
            with self.lock:
                self.lines.append(line)
                self.times.append(time.monotonic())
            self.out.write(line + "\n")

    def mark(self):
        with self.lock:
            return len(self.lines)

    def since(self, mark):
        with self.lock:
            return self.lines[mark:]

    def wait_for(self, mark, regex, timeout=1.5):
        """The first line since mark matching regex, waiting a little for
        lines still on their way; None if there is none."""
        return self.wait_for_timed(mark, regex, timeout)[1]

    def wait_for_timed(self, mark, regex, timeout=1.5):
        """(monotonic arrival time, line) of the first line since mark
        matching regex, or (None, None)."""
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [(t, l) for t, l in zip(self.times[mark:], self.lines[mark:])
                         if rx.search(l)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                return None, None
            time.sleep(0.05)

    def stop(self):
        self.running = False
        with contextlib.suppress(OSError):
            self.sock.close()
        self.thread.join(1)
        self.out.close()


# ---------------------------------------------------------------------------
# Driving interactive clients on a pty
# ---------------------------------------------------------------------------

# A prompt is a line that ends in ':' (plus a blank) with nothing after it.
PROMPT = r"(?i)[^\r\n]*(?:password|code|passcode|verification|token)[^\r\n]*:\s?$"
QUIET = 0.15  # seconds of silence that tell a prompt from a line of text


def drive(argv, answers, timeout=CLIENT_TIMEOUT, prompt=PROMPT, after=None, env=None,
          until=None):
    """Run argv on a pty and answer its prompts.

    answers: strings or callables (called with the prompt text when their
    prompt appears, e.g. to read an SMS code from the outbox), typed at each
    prompt in turn. A prompt after the last answer ends the run: the user
    gives up there (Result.unanswered).
    after: optional (regex, text) typed once regex shows up after the last
    answer (a shell prompt).
    until: a regex that ends the run as soon as it shows up ("Login
    incorrect": login would prompt again).
    The child is killed by PID if it outlives timeout. Returns a Result
    whose prompts are the transcript offsets where answers were typed."""
    import pexpect
    log = io.StringIO()
    start = time.monotonic()
    child = pexpect.spawn(argv[0], list(argv[1:]), timeout=timeout, encoding="utf-8",
                          codec_errors="replace", env=env, dimensions=(24, 200))
    child.logfile_read = log
    offsets, timed_out, unanswered = [], False, False
    answered = None
    try:
        pending = list(answers)
        while pending:
            remaining = timeout - (time.monotonic() - start)
            if remaining <= 0:
                raise pexpect.TIMEOUT("overall")
            i = child.expect([prompt, pexpect.EOF] + ([until] if until else []),
                             timeout=remaining)
            if i == 1:
                break
            if i == 2:
                raise _Until()
            asked = child.after if isinstance(child.after, str) else ""
            # More output soon after means it was text, not a prompt.
            j = child.expect([r"[^\r\n]*\n", pexpect.TIMEOUT], timeout=QUIET)
            if j == 0:
                continue
            ans = pending.pop(0)
            if callable(ans):
                ans = ans(asked)
            offsets.append(len(log.getvalue().replace("\r", "")))
            answered = time.monotonic()
            child.sendline(ans)
        if after is None:
            # Another prompt after the last answer: the user gives up there.
            while True:
                remaining = max(0.1, timeout - (time.monotonic() - start))
                i = child.expect([prompt, pexpect.EOF] + ([until] if until else []),
                                 timeout=remaining)
                if i == 1:
                    break
                if i == 2:
                    raise _Until()
                if child.expect([r"[^\r\n]*\n", pexpect.TIMEOUT], timeout=QUIET) == 1:
                    unanswered = True
                    raise _Until()
        else:
            remaining = max(0.1, timeout - (time.monotonic() - start))
            i = child.expect([after[0], pexpect.EOF] + ([until] if until else []),
                             timeout=remaining)
            if i == 0:
                child.sendline(after[1])
            elif i == 2:
                raise _Until()
        remaining = max(0.1, timeout - (time.monotonic() - start))
        child.expect([pexpect.EOF] + ([until] if until else []), timeout=remaining)
    except pexpect.TIMEOUT:
        timed_out = True
    except _Until:
        pass
    finally:
        elapsed = time.monotonic() - start
        if child.isalive():
            with contextlib.suppress(OSError):
                os.kill(child.pid, signal.SIGKILL)
    child.close(force=True)
    rc = child.exitstatus if child.exitstatus is not None else -(child.signalstatus or 0)
    res = Result(rc, log.getvalue().replace("\r", ""), elapsed, timed_out, offsets)
    res.unanswered = unanswered
    # from the last answer to the end: the part the service's timeout bounds
    res.answered_at = answered if answered is not None else start
    res.after_answer = start + elapsed - res.answered_at
    return res


class _Until(Exception):
    pass


class Held:
    """A client whose prompts were answered and that is left running (an
    open SSH session), ended later with end(); killed by PID by kill() or
    by its bound. See hold()."""

    def __init__(self, child, log, start, prompts):
        self.child, self.log, self.start, self.prompts = child, log, start, prompts
        self.ready = False
        self.result = None

    @property
    def pid(self):
        return self.child.pid

    def out(self):
        return self.log.getvalue().replace("\r", "")

    def end(self, line="", timeout=CLIENT_TIMEOUT):
        """Type line (the held command reads one line and exits), wait for
        the end; returns a Result (rc, what the user saw)."""
        import pexpect
        timed_out = False
        try:
            self.child.sendline(line)
            self.child.expect(pexpect.EOF, timeout=timeout)
        except (pexpect.TIMEOUT, OSError):
            timed_out = True
        self.kill()
        self.result = Result(self.rc(), self.out(), time.monotonic() - self.start, timed_out,
                             self.prompts)
        return self.result

    def rc(self):
        c = self.child
        return c.exitstatus if c.exitstatus is not None else -(c.signalstatus or 0)

    def kill(self):
        if self.child.isalive():
            with contextlib.suppress(OSError):
                os.kill(self.child.pid, signal.SIGKILL)
        self.child.close(force=True)


def hold(argv, answers, ready, timeout=CLIENT_TIMEOUT, prompt=PROMPT):
    """Run argv on a pty, answer its prompts in turn (as drive() does) until
    ready (a regex) shows up, and leave it running. Returns a Held whose
    .ready says whether ready was seen (if not, the child is killed and
    .result says what happened)."""
    import pexpect
    log = io.StringIO()
    start = time.monotonic()
    child = pexpect.spawn(argv[0], list(argv[1:]), timeout=timeout, encoding="utf-8",
                          codec_errors="replace", dimensions=(24, 200))
    child.logfile_read = log
    held = Held(child, log, start, [])
    pending = list(answers)
    try:
        while True:
            remaining = timeout - (time.monotonic() - start)
            if remaining <= 0:
                raise pexpect.TIMEOUT("overall")
            i = child.expect([ready, prompt, pexpect.EOF], timeout=remaining)
            if i == 0:
                held.ready = True
                return held
            if i == 2 or not pending:
                break
            asked = child.after if isinstance(child.after, str) else ""
            if child.expect([r"[^\r\n]*\n", pexpect.TIMEOUT], timeout=QUIET) == 0:
                continue
            ans = pending.pop(0)
            held.prompts.append(len(log.getvalue().replace("\r", "")))
            child.sendline(ans(asked) if callable(ans) else ans)
    except pexpect.TIMEOUT:
        pass
    held.kill()
    held.result = Result(held.rc(), held.out(), time.monotonic() - start, False, held.prompts)
    return held


def run_piped(argv, stdin_text, timeout=CLIENT_TIMEOUT):
    """Run argv with answers on stdin; stdout+stderr are what the user saw."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(stdin_text, timeout=timeout)
        return Result(proc.returncode, out, time.monotonic() - start)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        return Result(proc.returncode, out or "", time.monotonic() - start, True)


class PtyShell:
    """A shell of a user on a pty of its own, as a terminal session: the
    shell leads the session, so sudo's tty tickets (Debian: timestamp_type
    tty, 15 minutes) last as long as it runs. run() types one command line
    and answers the prompts it brings; kill() ends it by PID."""

    RC = "cb-e2e-rc="

    def __init__(self, argv, env=None, timeout=CLIENT_TIMEOUT):
        import pexpect
        self.timeout = timeout
        self.log = io.StringIO()
        self.child = pexpect.spawn(argv[0], list(argv[1:]), timeout=timeout, encoding="utf-8",
                                   codec_errors="replace", env=env, dimensions=(24, 200))
        self.child.logfile_read = self.log
        self.alive = self.run("true").rc == 0

    @property
    def pid(self):
        return self.child.pid

    def run(self, command, answers=(), timeout=None):
        """Type command; answer its prompts in turn. A prompt after the
        last answer is abandoned with Ctrl-C (Result.unanswered). Returns a
        Result: the command's exit status, what the terminal showed, the
        offsets where answers were typed."""
        import pexpect
        child = self.child
        timeout = timeout or self.timeout
        start = time.monotonic()
        begin = len(self.log.getvalue())
        pending, offsets = list(answers), []
        rc, timed_out, unanswered = None, False, False
        # the echoed command line shows "$?", never digits, after the marker
        child.sendline('%s; echo "%s$?"' % (command, self.RC))
        try:
            while True:
                remaining = timeout - (time.monotonic() - start)
                if remaining <= 0:
                    raise pexpect.TIMEOUT("overall")
                i = child.expect([self.RC + r"(\d+)", PROMPT], timeout=remaining)
                if i == 0:
                    rc = int(child.match.group(1))
                    break
                asked = child.after if isinstance(child.after, str) else ""
                if child.expect([r"[^\r\n]*\n", pexpect.TIMEOUT], timeout=QUIET) == 0:
                    continue
                if not pending:
                    unanswered = True
                    child.sendcontrol("c")
                    continue
                ans = pending.pop(0)
                offsets.append(len(self.log.getvalue()) - begin)
                child.sendline(ans(asked) if callable(ans) else ans)
        except (pexpect.TIMEOUT, pexpect.EOF):
            timed_out = True
        out = self.log.getvalue()[begin:].replace("\r", "")
        res = Result(rc if rc is not None else -1, out, time.monotonic() - start, timed_out,
                     offsets)
        res.unanswered = unanswered
        return res

    def kill(self):
        if self.child.isalive():
            with contextlib.suppress(OSError):
                os.kill(self.child.pid, signal.SIGKILL)
        self.child.close(force=True)


# ---------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------

class World:
    """Everything inside the namespace. Use as a context manager."""

    def __init__(self, work, top_srcdir, top_builddir, pam_so=None, nss_dir=None,
                 keep_logs=None):
        if os.environ.get("CB_IN_NS") != "1":
            raise RuntimeError("World must run inside tests/ns-run")
        self.work = work
        self.top_srcdir = os.path.abspath(top_srcdir)
        self.top_builddir = os.path.abspath(top_builddir)
        self.pam_so = pam_so or os.path.join(self.top_builddir, "pam/.libs/pam_cloudbase.so")
        self.nss_dir = nss_dir or os.path.join(self.top_builddir, "nss/.libs")
        self.cloudbasectl_bin = os.path.join(self.top_builddir, "tools/cloudbasectl")
        self.keep_logs = keep_logs
        self.procs = []  # (name, Popen) we started, ended in teardown
        self.held = []  # Held clients, killed in teardown
        self.syslog = None
        self.emu = None
        self.sshd = None
        self.sshd_port = None
        self.nscd = None
        self.blackhole = None
        self.conf = {}
        self.modules = {}

    # -- setup --------------------------------------------------------------

    def __enter__(self):
        try:
            self.setup()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc):
        self.teardown()

    def _check_config_path(self):
        """The world writes /etc/cloudbase/cloudbase.conf; modules built
        with another sysconfdir (configure's default is /usr/local/etc)
        read a file that is not there, every account is unknown, and the
        first lookup fails far from the cause. Say the cause instead."""
        if not os.path.exists(self.cloudbasectl_bin):
            return
        env = dict(os.environ, LC_ALL="C")
        out = subprocess.run([self.cloudbasectl_bin, "--help"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env, timeout=30).stdout
        m = re.search(r"\(default: (\S+)\)", out)
        if m and m.group(1) != "/etc/cloudbase/cloudbase.conf":
            raise RuntimeError(
                "%s is configured to read %s, but the test world writes "
                "/etc/cloudbase/cloudbase.conf: configure it with --sysconfdir=/etc "
                "--localstatedir=/var (as scripts/build does)" % (self.top_builddir, m.group(1)))

    def setup(self):
        self._check_config_path()
        w = self.work
        # 0755: the account database in state/ must be readable by every
        # process that resolves names (ls, id, a user's shell).
        mount("-t", "tmpfs", "-o", "mode=0755", "cb-e2e", w)
        # ns-run's /dev/ptmx is a bind of the host node: opening it gives
        # ENOENT (the kernel finds the devpts instance through the node's
        # sibling "pts", which a bind-mounted file has not). A private devpts
        # instance serves our ptys (expect/pexpect, sshd sessions, login).
        mount("-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=0620,gid=5", "cb-pts",
              "/dev/pts")
        if os.path.ismount("/dev/ptmx") or not os.path.islink("/dev/ptmx"):
            sh("umount", "-n", "/dev/ptmx", check=False)
            os.unlink("/dev/ptmx")
            os.symlink("pts/ptmx", "/dev/ptmx")
        for d in ("etc-up", "etc-work", "mods/security", "emu", "ssh", "bin", "logs",
                  "state", "keys"):
            os.makedirs(os.path.join(w, d), exist_ok=True)
        os.chmod(os.path.join(w, "ssh"), 0o700)
        os.chmod(os.path.join(w, "etc-up"), 0o755)
        # The host's sudoers as Debian ships it (a scenario uses it; checked
        # against dpkg's record of the conffile there).
        with open("/etc/sudoers") as f:
            self.debian_sudoers = f.read()
        # /etc: writable overlay, upper layer on our tmpfs.
        mount("-t", "overlay", "overlay", "-o",
              "lowerdir=/etc,upperdir=%s/etc-up,workdir=%s/etc-work" % (w, w), "/etc")
        # Modules onto the system library path, read-only.
        self.modules = {"pam": os.path.exists(self.pam_so),
                        "nss": os.path.exists(os.path.join(self.nss_dir,
                                                           "libnss_cloudbase.so.2"))}
        if self.modules["pam"]:
            shutil.copy(self.pam_so, os.path.join(w, "mods/security/pam_cloudbase.so"))
        if self.modules["nss"]:
            shutil.copy(os.path.join(self.nss_dir, "libnss_cloudbase.so.2"),
                        os.path.join(w, "mods/libnss_cloudbase.so.2"))
        mount("-t", "overlay", "overlay", "-o", "ro,lowerdir=%s/mods:%s" % (w, LIBDIR), LIBDIR)
        # Private /run, /var/log, /home.
        mount("-t", "tmpfs", "-o", "mode=0755", "cb-run", "/run")
        os.makedirs("/run/sshd", mode=0o755)
        write("/run/utmp", "", 0o664)
        mount("-t", "tmpfs", "-o", "mode=0755", "cb-log", "/var/log")
        write("/var/log/wtmp", "", 0o664)
        write("/var/log/btmp", "", 0o600)
        write("/var/log/lastlog", "", 0o664)
        mount("-t", "tmpfs", "-o", "mode=0755", "cb-home", "/home")
        # sudo records there whom it lectured (Debian: lecture once): on the
        # host's disk, were it not for this tmpfs
        if os.path.isdir("/var/lib/sudo"):
            mount("-t", "tmpfs", "-o", "mode=0700", "cb-sudo", "/var/lib/sudo")
            os.mkdir("/var/lib/sudo/lectured", 0o700)
        self.syslog = SyslogCollector("/dev/log", os.path.join(w, "logs/syslog.log"))
        write("/etc/nsswitch.conf", self._nsswitch())
        write("/etc/sudoers", "Defaults passwd_tries=1, lecture=never, timestamp_timeout=0\n"
              "Defaults !fqdn, !syslog\n"
              "root ALL=(ALL:ALL) ALL\n"
              "%sudo ALL=(ALL:ALL) ALL\n", 0o440)
        shutil.rmtree("/etc/sudoers.d", ignore_errors=True)
        # sshd under the PAM service name sshd-cloudbase.
        os.symlink("/usr/sbin/sshd", os.path.join(w, "bin/sshd-cloudbase"))
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(w, "ssh/hostkey"))
        os.chmod(os.path.join(w, "ssh/hostkey"), 0o600)
        # the client key of public-key logins (root's ssh uses it); sshd
        # reads authorized keys as the user: keys/USER, world-readable
        self.client_key = os.path.join(w, "ssh/client")
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.client_key)
        os.chmod(os.path.join(w, "keys"), 0o755)

    def _nsswitch(self):
        text = []
        with open("/etc/nsswitch.conf") as f:
            for line in f:
                if re.match(r"^(passwd|group|shadow|gshadow):", line):
                    continue
                text.append(line)
        return ("passwd: files cloudbase\ngroup: files cloudbase\n"
                "shadow: files\ngshadow: files\n" + "".join(text))

    def teardown(self):
        """End every process we started, by PID; stop the collector. The
        mounts go away when the namespace's last process exits."""
        if self.blackhole is not None:
            with contextlib.suppress(OSError):
                self.blackhole.close()
            self.blackhole = None
        stop_processes(self.procs, 3)
        self.procs = []
        for h in self.held:
            h.kill()
        self.held = []
        if self.emu is not None:
            self.emu.stop()
        if self.syslog is not None:
            self.syslog.stop()
            self.syslog = None
        if self.keep_logs:
            os.makedirs(self.keep_logs, exist_ok=True)
            for f in glob.glob(os.path.join(self.work, "logs/*")) + glob.glob(
                    os.path.join(self.work, "emu/*.log")):
                with contextlib.suppress(OSError):
                    shutil.copy(f, self.keep_logs)

    def start(self, name, argv, logfile, **kw):
        out = open(logfile, "ab")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, **kw)
        out.close()
        self.procs.append((name, proc))
        record_pid(proc.pid)
        return proc

    # -- the emulator -------------------------------------------------------

    @property
    def emulator_dir(self):
        if os.environ.get("EMULATOR"):
            return os.path.dirname(os.path.abspath(os.environ["EMULATOR"]))
        return os.path.join(self.top_srcdir, "tests/emulator")

    def have_emulator(self):
        return os.path.exists(os.path.join(self.emulator_dir, "emulib.py"))

    def start_emulator(self, seed=None):
        sys.path.insert(0, self.emulator_dir)
        import emulib
        self.emu = emulib.Emulator(os.path.join(self.work, "emu"), seed=seed)
        record_pid(self.emu.proc.pid)
        return self.emu

    def stop_emulator(self):
        if self.emu is not None:
            self.emu.stop()

    def start_blackhole(self, port):
        """A listener on port that never answers: the service hangs."""
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(64)
        self.blackhole = s

    def stop_blackhole(self):
        if self.blackhole is not None:
            self.blackhole.close()
            self.blackhole = None

    # -- nscd ---------------------------------------------------------------

    NSCD_SOCKET = "/run/nscd/socket"  # /var/run/nscd/socket: /var/run is /run

    @staticmethod
    def nscd_package():
        """Debian's nscd package of this libc6 (scripts/install-deps puts it
        in apt's archive cache and never installs it), or None."""
        ver = sh("dpkg-query", "-W", "-f=${Version}", "libc6").stdout.strip()
        arch = sh("dpkg", "--print-architecture").stdout.strip()
        path = "/var/cache/apt/archives/nscd_%s_%s.deb" % (ver.replace(":", "%3a"), arch)
        return path if os.path.exists(path) else None

    def start_nscd(self):
        """Debian's nscd with Debian's /etc/nscd.conf, inside the namespace
        only: the package is unpacked into the work tmpfs, its binary added
        to /usr/sbin (where the module runs `nscd -i`) by a read-only
        overlay, its config written to the /etc overlay; /run/nscd is on the
        private /run, /var/cache/nscd on an overlay of /var/cache. Returns
        the Popen (ended by PID in stop_nscd or teardown)."""
        deb = self.nscd_package()
        if deb is None:
            raise RuntimeError("Debian's nscd package is not in /var/cache/apt/archives: "
                               "run scripts/install-deps")
        pkg = os.path.join(self.work, "nscd-pkg")
        sbin = os.path.join(self.work, "nscd-sbin")
        if not os.path.isdir(pkg):
            sh("dpkg-deb", "-x", deb, pkg)
            os.makedirs(sbin)
            shutil.copy(os.path.join(pkg, "usr/sbin/nscd"), sbin)
            mount("-t", "overlay", "overlay", "-o", "ro,lowerdir=%s:/usr/sbin" % sbin,
                  "/usr/sbin")
            for d in ("cache-up", "cache-work"):
                os.makedirs(os.path.join(self.work, d))
            mount("-t", "overlay", "overlay", "-o",
                  "lowerdir=/var/cache,upperdir=%s/cache-up,workdir=%s/cache-work"
                  % (self.work, self.work), "/var/cache")
            os.makedirs("/var/cache/nscd", 0o755, exist_ok=True)
            os.makedirs("/run/nscd", 0o755, exist_ok=True)
            with open(os.path.join(pkg, "etc/nscd.conf")) as f:
                write("/etc/nscd.conf", f.read())
        self.nscd = self.start("nscd", ["/usr/sbin/nscd", "-F"],
                               os.path.join(self.work, "logs/nscd.log"))
        deadline = time.monotonic() + 10
        while not os.path.exists(self.NSCD_SOCKET):
            if self.nscd.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("nscd did not start: " +
                                   open(os.path.join(self.work, "logs/nscd.log")).read())
            time.sleep(0.02)
        return self.nscd

    def stop_nscd(self):
        """End nscd by PID; its socket goes too, so nothing asks it again."""
        proc = getattr(self, "nscd", None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.nscd = None
        for f in (self.NSCD_SOCKET, "/run/nscd/nscd.pid"):
            with contextlib.suppress(OSError):
                os.unlink(f)

    def sms_code(self, phone):
        return self.emu.outbox(phone)["code"]

    def email_code(self, address):
        """The last code the emulator e-mailed to address."""
        return self.emu.outbox(address)["code"]

    # -- configuration and accounts ----------------------------------------

    def write_config(self, **changes):
        """(Re)write /etc/cloudbase/cloudbase.conf in place."""
        if not self.conf:
            os.makedirs("/etc/cloudbase", mode=0o755, exist_ok=True)
            write("/etc/cloudbase/client_secret", "test-secret\n", 0o600)
            self.conf = {
                "env": "test-env",
                "base_url": self.emu.base_url if self.emu else "https://127.0.0.1:9/auth/v1",
                "client_id": "test-env",
                "client_secret_file": "/etc/cloudbase/client_secret",
                "ca_file": self.emu.ca_file if self.emu else "/etc/ssl/certs/ca-certificates.crt",
                "connect_timeout": "2",
                "timeout": "4",
                "method": "password",
                "accounts_db": os.path.join(self.work, "state/accounts.db"),
                "group_map": "admin:sudo",
            }
        for k, v in changes.items():
            if v is None:
                self.conf.pop(k, None)
            else:
                self.conf[k] = str(v)
        text = "# written by tests/e2e (inside the test namespace only)\n" + "".join(
            "%s = %s\n" % kv for kv in self.conf.items())
        write("/etc/cloudbase/cloudbase.conf", text, 0o644)

    def cloudbasectl(self, *args, check=True):
        return sh(self.cloudbasectl_bin, "-c", "/etc/cloudbase/cloudbase.conf", *args,
                  check=check)

    # -- PAM service files --------------------------------------------------

    def example_service(self, name):
        """The shipped example etc/pam.d/NAME, or None."""
        for cand in ("etc/pam.d/%s" % name, "etc/pam.d/%s.example" % name):
            p = os.path.join(self.top_srcdir, cand)
            if os.path.exists(p):
                with open(p) as f:
                    return f.read()
        return None

    def install_service(self, service, text):
        write("/etc/pam.d/%s" % service, text)

    def install_examples(self, extra_args=""):
        """Install the shipped examples as the services sshd-cloudbase, sudo,
        su, login. pam_cloudbase.so is found by its bare name (the overlay
        put it in the system module directory); extra_args are appended to
        each pam_cloudbase line. Returns the names of missing examples."""
        missing = []
        for example, service in (("sshd", "sshd-cloudbase"), ("sudo", "sudo"), ("su", "su"),
                                 ("login", "login")):
            text = self.example_service(example)
            if text is None:
                # Not shipped (yet): a minimal stack, so the other scenarios
                # still say something; the caller reports the missing example.
                missing.append(example)
                text = FALLBACK_STACK.get(example, "") + FALLBACK_STACK["common"]
            if extra_args:
                text = re.sub(r"(?m)^(\s*-?\w+\s+(?:\[[^]]*\]|\S+)\s+\S*pam_cloudbase\.so\b.*)$",
                              lambda m: m.group(1) + " " + extra_args, text)
            self.install_service(service, text)
        return missing

    # -- sshd ----------------------------------------------------------------

    def start_sshd(self, password_auth=True):
        if self.sshd is not None and self.sshd.poll() is None:
            self.stop_sshd()
        self.sshd_port = free_port()
        cfg = os.path.join(self.work, "ssh/sshd_config")
        write(cfg, "\n".join([
            "ListenAddress 127.0.0.1",
            "Port %d" % self.sshd_port,
            "HostKey %s" % os.path.join(self.work, "ssh/hostkey"),
            "PidFile none",
            "UsePAM yes",
            "KbdInteractiveAuthentication yes",
            "PasswordAuthentication %s" % ("yes" if password_auth else "no"),
            # clients say which method they use (PreferredAuthentications)
            "PubkeyAuthentication yes",
            "AuthorizedKeysFile %s/keys/%%u" % self.work,
            "PermitRootLogin no",
            "StrictModes no",
            "PrintMotd no",
            "PrintLastLog no",
            "UseDNS no",
            "LoginGraceTime 60",
            "MaxAuthTries 6",
            "LogLevel VERBOSE",
            ""]))
        self.sshd_log = os.path.join(self.work, "logs/sshd.log")
        self.sshd = self.start("sshd", [os.path.join(self.work, "bin/sshd-cloudbase"), "-D", "-e",
                                        "-f", cfg], self.sshd_log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.sshd.poll() is not None:
                raise RuntimeError("sshd exited: " + open(self.sshd_log).read())
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.sshd_port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError("sshd did not listen")

    def stop_sshd(self):
        if self.sshd is not None and self.sshd.poll() is None:
            self.sshd.terminate()
            self.sshd.wait(5)
        self.sshd = None

    def sshd_log_mark(self):
        return os.path.getsize(self.sshd_log)

    def sshd_log_wait(self, mark, regex, timeout=1.5):
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout
        while True:
            with open(self.sshd_log, errors="replace") as f:
                f.seek(mark)
                for line in f:
                    if rx.search(line):
                        return line.rstrip("\n")
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    # -- clients ------------------------------------------------------------

    HELD_READY = "cb-e2e-session-open"

    def ssh(self, user, answers, command="id", kbd=False, timeout=CLIENT_TIMEOUT, tries=1):
        """ssh with PasswordAuthentication, or keyboard-interactive (kbd);
        tries: how often the client may answer again (NumberOfPasswordPrompts)."""
        return drive(self._ssh_argv(user, command, kbd, tries), answers, timeout=timeout)

    def authorize_key(self, user):
        """The client key may log in as user (AuthorizedKeysFile)."""
        with open(self.client_key + ".pub") as f:
            write(os.path.join(self.work, "keys", user), f.read(), 0o644)

    def ssh_key(self, user, command="id", timeout=CLIENT_TIMEOUT):
        """ssh with the client key only (no password or keyboard-interactive
        fallback): the account phase is PAM's only say. LogLevel INFO: the
        PAM account phase's message reaches the user as a banner."""
        argv = self._ssh_argv(user, command, False)
        argv[argv.index("PreferredAuthentications=password")] = \
            "PreferredAuthentications=publickey"
        argv[argv.index("PubkeyAuthentication=no")] = "PubkeyAuthentication=yes"
        argv[argv.index("LogLevel=ERROR")] = "LogLevel=INFO"
        argv[argv.index("BatchMode=no")] = "BatchMode=yes"
        argv[1:1] = ["-i", self.client_key, "-o", "IdentitiesOnly=yes"]
        return drive(argv, [], timeout=timeout)

    def ssh_hold(self, user, answers, kbd=False, timeout=CLIENT_TIMEOUT):
        """An SSH session left open: the remote command prints a marker and
        waits for one line; Held.end() types it and the session ends
        normally (sshd's monitor closes the PAM session)."""
        held = hold(self._ssh_argv(user, "echo %s; read line; echo bye" % self.HELD_READY, kbd),
                    answers, self.HELD_READY, timeout=timeout)
        if held.ready:
            self.held.append(held)
        return held

    def _ssh_argv(self, user, command, kbd, tries=1):
        return ["/usr/bin/ssh", "-F", "/dev/null", "-p", str(self.sshd_port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "BatchMode=no",
                "-o", "PreferredAuthentications=%s" % (
                    "keyboard-interactive" if kbd else "password"),
                "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=%d" % tries,
                "-o", "ConnectTimeout=5", "-o", "ServerAliveInterval=0",
                "%s@127.0.0.1" % user, command]

    def login(self, user, answers, command="id; exit", timeout=CLIENT_TIMEOUT):
        """/bin/login on a pty, as root, for user; command typed into the
        shell it starts."""
        return drive(["/bin/login", user], answers, timeout=timeout,
                     after=(r"[$#] ?$", command), until=r"Login incorrect")

    def pw(self, user):
        import pwd
        return pwd.getpwnam(user)

    def sudo(self, user, stdin_text, init_groups=True, command=("id",), timeout=CLIENT_TIMEOUT):
        """sudo -k -S as the non-root user (root would skip authentication).
        init_groups: supplementary groups from initgroups(3), as a login
        session would have them (the mapped `sudo` group comes from there)."""
        p = self.pw(user)
        argv = ["/usr/bin/setpriv", "--reuid=%d" % p.pw_uid, "--regid=%d" % p.pw_gid]
        argv += ["--init-groups"] if init_groups else ["--clear-groups"]
        argv += ["--", "/usr/bin/sudo", "-k", "-S"] + list(command)
        return run_piped(["timeout", "-k", "2", str(timeout)] + argv, stdin_text, timeout + 5)

    def sudo_tty(self, user, answers, command=("id",), timeout=CLIENT_TIMEOUT):
        """sudo -k on a pty (answers typed at its prompts, e.g. an SMS code
        read from the outbox once the prompt is there)."""
        p = self.pw(user)
        return drive(["/usr/bin/setpriv", "--reuid=%d" % p.pw_uid, "--regid=%d" % p.pw_gid,
                      "--init-groups", "--", "/usr/bin/sudo", "-k"] + list(command),
                     answers, timeout=timeout)

    def su(self, user, stdin_text, as_uid=65534, command="id", timeout=CLIENT_TIMEOUT):
        argv = ["/usr/bin/setpriv", "--reuid=%d" % as_uid, "--regid=%d" % as_uid,
                "--clear-groups", "--", "/bin/su", user, "-c", command]
        return run_piped(["timeout", "-k", "2", str(timeout)] + argv, stdin_text, timeout + 5)

    def shell(self, user):
        """user's shell on a pty of its own (a terminal session), with the
        supplementary groups of a login (initgroups); killed at teardown."""
        p = self.pw(user)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": p.pw_dir, "USER": user,
               "LOGNAME": user, "SHELL": "/bin/sh", "TERM": "dumb", "LANG": "C", "PS1": "$ "}
        sh_ = PtyShell(["/usr/bin/setpriv", "--reuid=%d" % p.pw_uid, "--regid=%d" % p.pw_gid,
                        "--init-groups", "--", "/bin/sh"], env=env)
        self.held.append(sh_)
        return sh_

    def make_home(self, user):
        """A home directory on the private /home."""
        p = self.pw(user)
        os.makedirs(p.pw_dir, mode=0o700, exist_ok=True)
        os.chown(p.pw_dir, p.pw_uid, p.pw_gid)

    def getent(self, *args):
        return sh("getent", *args, check=False)

