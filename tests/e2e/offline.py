#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Offline login (offline_login) with the real clients: OpenSSH sshd + ssh
(PasswordAuthentication and keyboard-interactive), sudo and su, configured
as Debian ships them, through pam_cloudbase.so and libnss_cloudbase.so.2, in
a private mount namespace (the world of e2elib.py).

A CloudBase user signs in online (the module caches a yescrypt verifier in
her state record), then offline while the emulator is stopped, then online
again once it is back (the verifier is replaced); the same with the
emulator answering 503 to /signin; then wrong passwords offline over SSH
count toward offline_max_failures until an online sign-in.

Prints TAP; without root `1..0 # SKIP needs root`. E2E_KEEP_LOGS=DIR keeps
sshd's log, the captured syslog lines and the emulator's log.
"""

import json
import os
import re
import signal
import sys
import time
import traceback

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import e2elib  # noqa: E402

TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.join(e2elib.HERE, "../..")
TOP_BUILDDIR = os.environ.get("top_builddir") or TOP_SRCDIR
WATCHDOG = 100  # seconds: the whole inner run (about 17 s here)

ALICE_PW = "Alice-Passw0rd"
ALICE_PHONE = "+86 13800000001"
# What pam/offline.c tells the user (PAM_TEXT_INFO) after an offline sign-in.
MSG = ("The CloudBase service cannot be reached: signed in with the password cached on "
       "this host.")
# Its log lines: the offline sign-in, and the auth phase's decision line.
SIGNED_IN = (r"pam_cloudbase\(%s:auth\): offline: user=alice service=%s rhost=\S+ signed in "
             r"with the cached password: the service is unreachable \(%s\)")
DECISION = (r"pam_cloudbase\(%s:auth\): auth: user=alice service=%s rhost=\S+ "
            r"request_id=offline outcome=ok pam=Success offline sign-in with the cached "
            r"password$")
ONLINE = r"pam_cloudbase\(%s:auth\): auth: user=alice service=%s .*outcome=ok pam=Success$"
# The reasons an outage is logged with (lib/status.c names)
REFUSED = r"transport_error"  # the emulator stopped: connection refused
UNAVAILABLE = r"service_unavailable"  # a 503 answer

# /etc/sudoers as Debian 12's sudo 1.9.13 ships it (timestamp_timeout 15
# min per tty, lecture once, mail_badpass, use_pty).
DEBIAN_SUDOERS = """\
Defaults	env_reset
Defaults	mail_badpass
Defaults	secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Defaults	use_pty
root	ALL=(ALL:ALL) ALL
%sudo	ALL=(ALL:ALL) ALL
@includedir /etc/sudoers.d
"""


def masked(record):
    """A state record fit for a test log: the sessions' tokens replaced."""
    return re.sub(r"(?m)^(session(?: \S+){9}) \S+ \S+$", r"\1 <access> <refresh>", record)


class Offline(e2elib.LogChecks):
    def __init__(self, world, tap):
        self.w, self.t = world, tap
        self.port = None

    # -- helpers -------------------------------------------------------------

    @property
    def record_path(self):
        return os.path.join(self.w.work, "state/state/users/alice")

    def record(self):
        """alice's state record: (text, offline line as a dict or None)."""
        with open(self.record_path) as f:
            text = f.read()
        m = re.search(r"(?m)^offline (\d+) (\d+) (\d+) (\S+)$", text)
        off = None
        if m:
            off = {"set": int(m.group(1)), "failures": int(m.group(2)),
                   "used": int(m.group(3)), "hash": m.group(4)}
        return text, off

    def check_record(self, what, expect=None, before=None):
        """The record holds no password; its offline line matches expect
        (a dict of fields) and, with before, keeps its verifier. Returns
        the offline line."""
        text, off = self.record()
        st = os.stat(self.record_path)
        self.t.ok(ALICE_PW not in text and ALICE_PW.encode().hex() not in text and
                  "Wrong-" not in text and st.st_uid == 0 and st.st_mode & 0o777 == 0o600,
                  "%s: the state record is root's, 0600, and holds no password" % what,
                  diag="%o %d\n%s" % (st.st_mode, st.st_uid, masked(text)))
        if expect is not None:
            good = off is not None and off["hash"].startswith("$y$") and all(
                off[k] == v for k, v in expect.items())
            if before is not None:
                good = good and off["set"] == before["set"] and off["hash"] == before["hash"]
            self.t.ok(good, "%s: the record's offline line is %s%s" % (
                what, " ".join("%s=%s" % kv for kv in sorted(expect.items())),
                ", the same verifier" if before is not None else ""),
                diag="%r\nbefore: %r" % (off, before))
        return off

    def offline_lines(self, mark, service, reason, what):
        """The module's two lines of an offline sign-in."""
        self.logline(mark, SIGNED_IN % (service, service, reason), what)
        self.logline(mark, DECISION % (service, service), what)

    def id_re(self):
        p = self.w.pw("alice")
        return r"uid=%d\(alice\) gid=%d\(alice\)" % (p.pw_uid, p.pw_gid)

    def ssh_argv(self, kbd, command=None, tty=False):
        argv = self.w._ssh_argv("alice", command or "", kbd)
        if command is None:
            argv = argv[:-1]
        if tty:
            argv.insert(1, "-tt")
        return argv

    def ssh_shell(self, kbd, answers):
        """An interactive login (a pty, no command): sshd shows its login
        messages before the shell, where a PAM_TEXT_INFO of the auth phase
        ends up; `id; exit` is typed into the shell."""
        return e2elib.drive(self.ssh_argv(kbd, tty=True), answers,
                            after=(r"[$#] ?$", "id; exit"))

    def ssh_cmd(self, kbd, answers, command="id"):
        return e2elib.drive(self.ssh_argv(kbd, command), answers)

    def stop_emulator(self):
        self.w.stop_emulator()
        self.t.ok(self.w.emu.proc.poll() is not None,
                  "the emulator (pid %d) is stopped" % self.w.emu.proc.pid)

    def start_emulator(self):
        """Start the emulator again on the same port (same CA and signing
        key; users back from the seed; sessions, faults and the request
        log start empty)."""
        self.w.emu.start()
        e2elib.record_pid(self.w.emu.proc.pid)
        self.t.ok(self.w.emu.port == self.port,
                  "the emulator is back on port %d (pid %d)" % (self.port,
                                                                self.w.emu.proc.pid))

    def signins(self):
        return [q for q in self.w.emu.requests() if q["path"].endswith("/signin")]

    def online_again(self, what, before):
        """One online password sign-in over SSH; the verifier is replaced
        (a new SET time and hash, counters at zero). Returns the new
        offline line."""
        w, t = self.w, self.t
        # SET has a resolution of one second: make it observable.
        while int(time.time()) <= before["set"]:
            time.sleep(0.1)
        w.emu.clear_requests()
        m = self.mark()
        r = self.ssh_cmd(False, [ALICE_PW])
        t.ok(r.rc == 0 and re.search(self.id_re(), r.out) is not None and MSG not in r.out,
             "%s: alice signs in online over ssh (password), id runs, no offline message"
             % what, diag=r)
        self.logline(m, ONLINE % ("sshd-cloudbase", "sshd-cloudbase"), what)
        self.no_logline(m, r"offline: user=alice", what)
        ins = self.signins()
        t.ok(len(ins) == 1 and ins[0]["status"] == 200 and
             ins[0]["body"].get("username") == "alice",
             "%s: the emulator's request log has the online /signin of alice (200)" % what,
             diag=json.dumps(w.emu.requests(), indent=1))
        _, off = self.record()
        t.ok(off is not None and off["set"] > before["set"] and off["hash"] != before["hash"] and
             off["hash"].startswith("$y$") and off["failures"] == 0 and off["used"] == 0 and
             abs(off["set"] - time.time()) < 10,
             "%s: the verifier is replaced: offline SET %d -> %d, a new hash, failures and "
             "last use back to 0" % (what, before["set"], off["set"] if off else -1),
             diag="%r\nbefore: %r" % (off, before))
        self.check_record(what)
        return off

    # -- scenarios -------------------------------------------------------------

    def setup(self):
        w, t = self.w, self.t
        if not w.have_emulator():
            raise RuntimeError("the emulator (tests/emulator/emulib.py) is missing")
        if not (w.modules["pam"] and w.modules["nss"]):
            raise RuntimeError("modules not built: %r" % w.modules)
        sys.path.insert(0, w.emulator_dir)
        import emulib
        # a fixed port, so that the emulator comes back where the module
        # looks for it
        self.port = e2elib.free_port()
        w.emu = emulib.Emulator(os.path.join(w.work, "emu"),
                                extra_args=["--port", str(self.port)])
        e2elib.record_pid(w.emu.proc.pid)
        # offline_login on; every other key as in the suite's world
        w.write_config(offline_login="yes")
        missing = w.install_examples()
        t.ok(not missing, "PAM service files from the shipped etc/pam.d/{sshd,sudo,su,login}",
             diag="missing: %s" % missing)
        # Debian's own sudoers (the suite's world sets timestamp_timeout=0):
        # the cached timestamp is part of what is tested. Its lecture
        # status goes to /var/lib/sudo: a private tmpfs on the host's
        # existing directory, so nothing reaches the host's disk.
        e2elib.write("/etc/sudoers", DEBIAN_SUDOERS, 0o440)
        os.makedirs("/etc/sudoers.d", mode=0o755, exist_ok=True)  # in the /etc overlay
        if not os.path.isdir("/var/lib/sudo"):
            raise RuntimeError("/var/lib/sudo missing: no place for a private tmpfs")
        e2elib.mount("-t", "tmpfs", "-o", "mode=0700", "cb-sudo-lib", "/var/lib/sudo")
        r = w.cloudbasectl("user", "add", "alice", "--login", "alice", "--phone", ALICE_PHONE,
                           check=False)
        t.ok(r.returncode == 0, "cloudbasectl user add alice", diag=r.stdout + r.stderr)
        w.make_home("alice")
        w.start_sshd(password_auth=True)

    def online_first(self):
        """The first online sign-in caches the verifier."""
        t = self.t
        m = self.mark()
        r = self.ssh_cmd(False, [ALICE_PW])
        t.ok(r.rc == 0 and re.search(self.id_re(), r.out) is not None,
             "online: alice signs in over ssh (password), id runs", diag=r)
        self.logline(m, ONLINE % ("sshd-cloudbase", "sshd-cloudbase"), "online")
        ins = self.signins()
        t.ok(len(ins) == 1 and ins[0]["status"] == 200,
             "online: the emulator answered alice's /signin", diag=json.dumps(ins, indent=1))
        self.verifier = self.check_record("online", {"failures": 0, "used": 0})
        if self.verifier is not None:
            t.ok(abs(self.verifier["set"] - time.time()) < 10,
                 "online: the verifier was set now (%d)" % self.verifier["set"],
                 diag=self.verifier)

    def stopped(self):
        """The emulator stopped: ssh (both methods), sudo, su and login
        sign alice in with the cached password; then the emulator is back
        and her next online sign-in replaces the verifier."""
        w, t = self.w, self.t
        before = self.verifier
        self.stop_emulator()
        what = "stopped, ssh password"
        m = self.mark()
        r = self.ssh_shell(False, [ALICE_PW])
        t.ok(r.rc == 0 and re.search(self.id_re(), r.out) is not None,
             "%s: alice logs in offline, id runs in her shell" % what, diag=r)
        # PasswordAuthentication: sshd keeps PAM's text for the login
        # messages it prints before an interactive shell (none with a command)
        t.ok(MSG in r.out[r.prompts[0] if r.prompts else 0:],
             "%s: the offline message is shown before the shell" % what, diag=r)
        self.sshd_line(m, r"Accepted password for alice from 127\.0\.0\.1", what)
        self.offline_lines(m, "sshd-cloudbase", REFUSED, what)
        off = self.check_record(what, {"failures": 0}, before)
        t.ok(off is not None and off["used"] >= before["set"],
             "%s: the record notes the offline sign-in (used=%s)" % (
                 what, off["used"] if off else None), diag=off)

        what = "stopped, ssh keyboard-interactive"
        probe = self.probe_phases()
        m = self.mark()
        r = self.ssh_shell(True, [ALICE_PW])
        t.ok(r.rc == 0 and re.search(self.id_re(), r.out) is not None,
             "%s: alice logs in offline, id runs in her shell" % what, diag=r)
        t.ok(MSG in r.out[r.prompts[0] if r.prompts else 0:],
             "%s: the offline message is shown before the shell" % what, diag=r)
        self.sshd_line(m, r"Accepted keyboard-interactive/pam for alice from 127\.0\.0\.1",
                       what)
        self.offline_lines(m, "sshd-cloudbase", REFUSED, what)
        self.logline(m, r"pam_cloudbase\(sshd-cloudbase:account\): account: user=alice .*"
                     r"outcome=ok pam=Success", what)
        self.no_logline(m, r"pam_cloudbase\(sshd-cloudbase:\w+\): .*(refused|"
                        r"outcome=(?!ok)\w+)", what)
        self.kbd_processes(probe, what)
        self.check_record(what, {"failures": 0}, before)

        what = "stopped, ssh keyboard-interactive with a command"
        m = self.mark()
        r = self.ssh_cmd(True, [ALICE_PW])
        t.ok(r.rc == 0 and re.search(self.id_re(), r.out) is not None,
             "%s: id runs" % what, diag=r)
        # documented in pam_cloudbase(8): sshd prints its login messages
        # (where PAM's text of the auth phase goes) only before a shell
        t.ok(MSG not in r.out, "%s: the offline message is not shown (sshd prints login "
             "messages before an interactive shell only)" % what, diag=r)
        self.offline_lines(m, "sshd-cloudbase", REFUSED, what)

        self.sudo_session("stopped, sudo", REFUSED)

        what = "stopped, su"
        m = self.mark()
        r = w.su("alice", ALICE_PW + "\n")
        t.ok(r.rc == 0 and re.search(self.id_re(), r.out) is not None and MSG in r.out,
             "%s: su alice -c id as nobody runs id and shows the offline message" % what,
             diag=r)
        self.offline_lines(m, "su", REFUSED, what)
        self.check_record(what, {"failures": 0}, before)

        what = "stopped, login"
        m = self.mark()
        r = w.login("alice", [ALICE_PW])
        t.ok(re.search(self.id_re(), r.out) is not None and not r.timed_out and
             MSG in r.out[r.prompts[0] if r.prompts else 0:],
             "%s: /bin/login shows the offline message and id runs in the shell" % what,
             diag=r)
        self.offline_lines(m, "login", REFUSED, what)
        self.check_record(what, {"failures": 0}, before)

        self.start_emulator()
        t.ok(w.emu.requests() == [],
             "stopped: nothing reached the service while it was down (its request log is "
             "empty until the next sign-in)", diag=json.dumps(w.emu.requests(), indent=1))
        self.verifier = self.online_again("back online", before)

    def probe_phases(self):
        """The sshd service with a pam_exec line of each type before the
        shipped ones: each records which sshd process (its title, e.g.
        "sshd: alice [pam]" for the keyboard-interactive child, "[priv]"
        for the monitor) runs that phase. Returns the log's path."""
        w = self.w
        probe = os.path.join(w.work, "bin/phase-probe")
        log = os.path.join(w.work, "logs/phases.log")
        e2elib.write(probe, "#!/bin/sh\necho \"$PAM_TYPE $PPID $(tr '\\0' ' ' "
                     "</proc/$PPID/cmdline)\"\n", 0o755)
        e2elib.write(log, "", 0o600)
        lines = "".join("%s optional pam_exec.so quiet log=%s %s\n" % (kind, log, probe)
                        for kind in ("auth", "account", "session"))
        w.install_service("sshd-cloudbase", lines + w.example_service("sshd"))
        return log

    def kbd_processes(self, log, what):
        """keyboard-interactive: which process ran which phase (OpenSSH
        runs pam_authenticate in a child, the session phases in the
        monitor; where pam_acct_mgmt runs decides whether the account
        phase sees the sign-in's pam_set_data or only the state record)."""
        w, t = self.w, self.t
        with open(log) as f:
            # (pam_exec writes a "*** DATE" line before each output)
            seen = [x.split(" ", 2) for x in f.read().splitlines()
                    if not x.startswith("*** ")]
        seen = [x for x in seen if len(x) == 3]
        w.install_service("sshd-cloudbase", w.example_service("sshd"))
        procs = {}
        for kind, pid, title in seen:
            procs.setdefault(kind, []).append("%s (%s)" % (pid, title.strip()))
        t.diag("%s: processes per phase: %s" % (what, "; ".join(
            "%s: %s" % (k, ", ".join(v)) for k, v in sorted(procs.items()))))
        auth = {pid for kind, pid, _ in seen if kind == "auth"}
        sess = {pid for kind, pid, _ in seen if kind == "open_session"}
        t.ok(len(auth) == 1 and len(sess) == 1 and auth != sess,
             "%s: sshd signed in (pam_authenticate) in another process than the one that "
             "opened the session" % what, diag=seen)
        return procs

    def age_record(self, seconds, used=False):
        """Move alice's last sign-in (and with used, her last offline
        sign-in) back by seconds: the test-only path to the record's
        timestamps (tests/pam/test_offline.c does the same through
        cb_state_update). The record is rewritten as its writers do: a new
        root-only file renamed over it, the generation bumped; no writer
        runs meanwhile (every client is waiting)."""
        text, _ = self.record()

        def older(m):
            return "%s%d" % (m.group(1), int(m.group(2)) - seconds)
        text = re.sub(r"(?m)^(generation )(\d+)$",
                      lambda m: "%s%d" % (m.group(1), int(m.group(2)) + 1), text)
        text = re.sub(r"(?m)^(last_login )(\d+)", older, text)
        text = re.sub(r"(?m)^(checked )(\d+)", older, text)
        if used:
            text = re.sub(r"(?m)^(offline \d+ \d+ )(\d+)", older, text)
        tmp = self.record_path + ".aged"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.rename(tmp, self.record_path)

    def sudo_session(self, what, reason):
        """Three `sudo id` on one pty with Debian's sudoers (timestamp 15
        min per tty). alice's last online sign-in is moved back beyond
        account_check_interval first, so that only the offline sign-in can
        make the account phase's standing fresh:
        1. asks for the password, signs in offline, runs as root;
        2. sudo's cached timestamp: pam_acct_mgmt alone, in another
           process than the sign-in (no pam_set_data), must pass on the
           offline sign-in recorded in the state record, with no request;
        3. the offline sign-in moved back beyond account_check_interval
           too: the account phase needs a live check, the service is down,
           account_offline_grace is 0: refused, though sudo's timestamp is
           still valid;
        4. `sudo -k; sudo id`: sudo asks again, the offline sign-in is
           fresh again, runs as root."""
        import pexpect
        w, t = self.w, self.t
        p = w.pw("alice")
        self.age_record(3600)
        m = self.mark()
        child = pexpect.spawn("/usr/bin/setpriv", [
            "--reuid=%d" % p.pw_uid, "--regid=%d" % p.pw_gid, "--init-groups", "--",
            "/bin/sh", "-c", "sudo id; echo cb-mark-1; sudo id; echo cb-mark-2; read x; "
            "sudo id; echo cb-mark-3 $?; sudo -k; sudo id; echo cb-mark-4 $?"],
            encoding="utf-8", codec_errors="replace", timeout=e2elib.CLIENT_TIMEOUT,
            dimensions=(24, 200))
        out = []
        try:
            i = child.expect([r"\[sudo\] password for alice: ", "cb-mark-1"])
            t.ok(i == 0, "%s: the first sudo id asks for the password" % what,
                 diag=child.before)
            if i == 0:
                child.sendline(ALICE_PW)
                child.expect("cb-mark-1")
            out.append(child.before)
            t.ok("uid=0(root)" in out[0], "%s: the first sudo id runs as root (offline)" % what,
                 diag=out[0])
            # sudo calls pam_authenticate with PAM_SILENT (plugins/sudoers/auth/
            # pam.c), which the module honours: documented in pam_cloudbase(8)
            t.ok(MSG not in out[0], "%s: the offline message is not shown (sudo asks for "
                 "PAM_SILENT)" % what, diag=out[0])
            child.expect([r"cb-mark-2", r"password for alice"])
            out.append(child.before + child.after)
            t.ok("uid=0(root)" in out[1] and "password" not in out[1],
                 "%s: the second sudo id runs on sudo's cached timestamp, no prompt" % what,
                 diag=out[1])
            self.offline_lines(m, "sudo", reason, what)
            since = w.syslog.since(m[0])
            auth = [x for x in since if re.search(r"pam_cloudbase\(sudo:auth\): auth:", x)]
            t.ok(len(auth) == 1, "%s: one auth phase for two sudo runs" % what,
                 diag="\n".join(since))
            self.logline(m, r"pam_cloudbase\(sudo:account\): user alice: sudo without a "
                         r"password prompt.*checking the account's standing", what)
            # (the module logged "the standing recorded 3600 s ago is used
            # (account_check_interval 300 s)" here before it named the
            # offline sign-in)
            self.logline(m, r"pam_cloudbase\(sudo:account\): user alice: the offline sign-in "
                         r"\d s ago is used \(account_check_interval 300 s\); the service last "
                         r"vouched for the account 36\d\d s ago", what)
            acct = [x for x in w.syslog.since(m[0])
                    if re.search(r"pam_cloudbase\(sudo:account\): account: user=alice", x)]
            t.ok(len(acct) == 2 and all("outcome=ok" in x for x in acct),
                 "%s: both account phases pass" % what, diag="\n".join(w.syslog.since(m[0])))
            self.no_logline(m, r"pam_cloudbase\(sudo:account\).*(live check|unreachable)",
                            what)
            what3 = "%s, the offline sign-in beyond account_check_interval" % what
            self.age_record(3600, used=True)
            m = self.mark()
            child.sendline("")
            i = child.expect([r"cb-mark-3 (\d+)", r"password for alice"])
            out.append(child.before + child.after)
            t.ok(i == 0 and child.match.group(1) != "0" and "uid=0" not in out[2],
                 "%s: the third sudo id on the cached timestamp is refused (account_offline_"
                 "grace 0)" % what3, diag=out[2])
            t.diag("%s: sudo says: %s" % (what3, " | ".join(
                x.strip() for x in out[2].splitlines() if x.strip())))
            self.logline(m, r"pam_cloudbase\(sudo:account\): user alice: the service is "
                         r"unreachable \(%s\) and account_offline_grace does not cover" % reason,
                         what3)
            what4 = "%s, sudo -k then sudo id" % what
            m = self.mark()
            i = child.expect([r"\[sudo\] password for alice: ", r"cb-mark-4"])
            t.ok(i == 0, "%s: sudo asks for the password again" % what4, diag=child.before)
            if i == 0:
                child.sendline(ALICE_PW)
                child.expect(r"cb-mark-4 (\d+)")
            out.append(child.before)
            t.ok(child.match.group(1) == "0" and "uid=0(root)" in out[3],
                 "%s: signs in offline again and runs as root" % what4, diag=out[3])
            self.offline_lines(m, "sudo", reason, what4)
            child.expect(pexpect.EOF)
        except pexpect.ExceptionPexpect as e:
            t.ok(False, "%s: the sudo session ran to its end" % what,
                 diag="%s\n%s" % (e, "".join(out) + str(child.before)))
        finally:
            if child.isalive():
                os.kill(child.pid, signal.SIGKILL)
            child.close(force=True)

    def unavailable(self):
        """The emulator answers 503 to every /signin: ssh (both methods),
        sudo and su sign in offline; each sent one /signin and nothing else."""
        w, t = self.w, self.t
        before = self.verifier
        w.emu.add_fault(path="/signin", fault="status", status=503)
        w.emu.clear_requests()
        n = 0
        for kbd in (False, True):
            what = "503, ssh %s" % ("keyboard-interactive" if kbd else "password")
            m = self.mark()
            r = self.ssh_cmd(kbd, [ALICE_PW])
            t.ok(r.rc == 0 and re.search(self.id_re(), r.out) is not None,
                 "%s: alice logs in offline, id runs" % what, diag=r)
            self.sshd_line(m, r"Accepted %s for alice" % (
                "keyboard-interactive/pam" if kbd else "password"), what)
            self.offline_lines(m, "sshd-cloudbase", UNAVAILABLE, what)
            n += 1
        what = "503, sudo"
        m = self.mark()
        r = w.sudo("alice", ALICE_PW + "\n")
        t.ok(r.rc == 0 and "uid=0(root)" in r.out,
             "%s: sudo -k -S id runs as root" % what, diag=r)
        self.offline_lines(m, "sudo", UNAVAILABLE, what)
        n += 1
        what = "503, su"
        m = self.mark()
        r = w.su("alice", ALICE_PW + "\n")
        t.ok(r.rc == 0 and re.search(self.id_re(), r.out) is not None and MSG in r.out,
             "%s: su alice -c id runs id and shows the offline message" % what, diag=r)
        self.offline_lines(m, "su", UNAVAILABLE, what)
        n += 1
        reqs = w.emu.requests()
        t.ok(len(reqs) == n and all(q["path"].endswith("/signin") and q["status"] == 503
                                    for q in reqs),
             "503: the emulator saw %d requests, each a /signin answered 503, nothing else"
             % n, diag=json.dumps(reqs, indent=1))
        self.check_record("503", {"failures": 0}, before)
        w.emu.clear_faults()
        self.verifier = self.online_again("503 over", before)

    def failures(self):
        """Wrong passwords offline over SSH count toward
        offline_max_failures; then the right one is refused until an online
        sign-in."""
        w, t = self.w, self.t
        before = self.verifier
        # 2, not the default 5: every wrong SSH password costs the client
        # the module's and sshd's fail delays (2-8 s)
        w.write_config(offline_max_failures=2)
        try:
            self.stop_emulator()
            for n, kbd in ((1, False), (2, True)):
                what = "wrong offline, ssh %s" % ("keyboard-interactive" if kbd else "password")
                m = self.mark()
                r = self.ssh_cmd(kbd, ["Wrong-" + ALICE_PW])
                t.ok(r.rc == 255 and "Permission denied" in r.out and "uid=" not in r.out and
                     MSG not in r.out, "%s: denied" % what, diag=r)
                self.sshd_line(m, r"Failed %s for alice" % (
                    "keyboard-interactive/pam" if kbd else "password"), what)
                self.logline(m, r"pam_cloudbase\(sshd-cloudbase:auth\): offline: user=alice "
                             r"service=sshd-cloudbase: the service is unreachable \(%s\); "
                             r"wrong password \(%d of offline_max_failures=2\)" % (REFUSED, n),
                             what)
                self.logline(m, r"pam_cloudbase\(sshd-cloudbase:auth\): auth: user=alice .*"
                             r"outcome=auth_failed ", what)
                self.check_record(what, {"failures": n, "used": before["used"]}, before)
            what = "locked offline, ssh password"
            m = self.mark()
            r = self.ssh_cmd(False, [ALICE_PW])
            t.ok(r.rc == 255 and "Permission denied" in r.out and "uid=" not in r.out,
                 "%s: the right password is refused after offline_max_failures" % what, diag=r)
            self.logline(m, r"pam_cloudbase\(sshd-cloudbase:auth\): offline: user=alice "
                         r"service=sshd-cloudbase: the service is unreachable \(%s\) and "
                         r"offline_max_failures wrong passwords since the last online "
                         r"sign-in: refused" % REFUSED, what)
            self.no_logline(m, r"signed in with the cached password", what)
            self.check_record(what, {"failures": 2}, before)
            self.start_emulator()
            self.verifier = after = self.online_again("unlocked online", before)
            self.stop_emulator()
            what = "offline again after the online sign-in"
            m = self.mark()
            r = self.ssh_cmd(False, [ALICE_PW])
            t.ok(r.rc == 0 and re.search(self.id_re(), r.out) is not None,
                 "%s: alice logs in offline with the new verifier" % what, diag=r)
            self.offline_lines(m, "sshd-cloudbase", REFUSED, what)
            self.check_record(what, {"failures": 0}, after)
        finally:
            w.write_config(offline_max_failures=None)


SCENARIOS = ["setup", "online_first", "stopped", "unavailable", "failures"]


def inner(work):
    tap = e2elib.Tap()
    e2elib.arm_watchdog(WATCHDOG, "offline e2e")
    start = time.monotonic()
    with e2elib.World(work, TOP_SRCDIR, TOP_BUILDDIR, os.environ.get("PAM_CLOUDBASE_SO"),
                      os.environ.get("NSS_CLOUDBASE_DIR"),
                      keep_logs=os.environ.get("E2E_KEEP_LOGS")) as world:
        suite = Offline(world, tap)
        for name in SCENARIOS:
            t0 = time.monotonic()
            try:
                getattr(suite, name)()
            except Exception:
                tap.ok(False, "%s: ran to completion" % name, diag=traceback.format_exc())
                break  # each scenario builds on the one before
            tap.diag("%s: %.1fs" % (name, time.monotonic() - t0))
    tap.diag("inner run: %.1fs" % (time.monotonic() - start))
    signal.alarm(0)
    return 1 if tap.failed else 0


def sudo_lib():
    """What the host's /var/lib/sudo holds (sudo's lecture status; the
    namespace mounts a tmpfs over it)."""
    found = []
    for dirpath, dirnames, filenames in os.walk("/var/lib/sudo"):
        dirnames.sort()
        for name in [dirpath] + [os.path.join(dirpath, f) for f in sorted(filenames)]:
            st = os.lstat(name)
            found.append("%s %o %d" % (name, st.st_mode, st.st_mtime_ns))
    return found


def outer():
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root (a private mount namespace, sshd, sudo, su)")
        return 0
    lib_before = sudo_lib()

    def sudo_lib_unchanged():
        lib_after = sudo_lib()
        return (lib_before == lib_after, "the host's /var/lib/sudo is unchanged",
                sorted(set(lib_before) ^ set(lib_after)))
    return e2elib.outer(os.path.realpath(__file__), WATCHDOG + 15, [sudo_lib_unchanged])


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--inner":
        sys.exit(inner(sys.argv[2]))
    sys.exit(outer())
