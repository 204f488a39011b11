#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The README's demo (run by scripts/demo after install-deps and build):
a real `ssh alice@127.0.0.1 id` with alice's CloudBase password, through
pam_cloudbase.so and libnss_cloudbase.so.2, against the CloudBase Auth
emulator, in a private mount namespace; then an SMS login with the code read
from the emulator's outbox. Prints a short transcript and cleans up. The
namespace plumbing is tests/e2e/e2elib.py, the same code the e2e suite uses.

usage: demo.py --builddir DIR
"""

import os
import re
import sys
import time

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import e2elib  # noqa: E402

TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.realpath(os.path.join(e2elib.HERE, "../.."))
ALICE_PW = "Alice-Passw0rd"
ALICE_PHONE = "+86 13800000001"
T0 = time.monotonic()


def say(text=""):
    print("[%5.2fs] %s" % (time.monotonic() - T0, text), flush=True)


def show(text, prefix="         | "):
    for line in text.rstrip("\n").splitlines():
        print(prefix + line, flush=True)


def transcript(r, notes):
    """What the user saw on the terminal, with a note where each answer was
    typed (the answers themselves are not echoed)."""
    out, last = [], 0
    for i, off in enumerate(r.prompts):
        out.append(r.out[last:off])
        out.append("<typed: %s>" % (notes[i] if i < len(notes) else "?"))
        last = off
    out.append(r.out[last:])
    return "".join(out)


def ssh_login(w, answers, kbd, label, notes):
    """notes() names what was typed at each prompt (called after the run)."""
    mark = (w.syslog.mark(), w.sshd_log_mark())
    say("$ ssh %salice@127.0.0.1 id%s" % ("-o PreferredAuthentications=keyboard-interactive "
                                         if kbd else "", "   # " + label))
    r = w.ssh("alice", answers, kbd=kbd)
    show(transcript(r, notes()))
    say("ssh exit status %s after %.2fs" % (r.rc, r.elapsed))
    line = w.sshd_log_wait(mark[1], r"(Accepted|Failed) \S+ for alice", timeout=1)
    if line:
        show(re.sub(r"^.*?(Accepted|Failed)", r"\1", line), "         sshd: ")
    for line in w.syslog.since(mark[0]):
        if "pam_cloudbase" in line:
            show(re.sub(r"^.*?(pam_cloudbase)", r"\1", line), "         syslog: ")
    return r


def inner(work, builddir):
    with e2elib.World(work, TOP_SRCDIR, builddir) as w:
        if not (w.modules["pam"] and w.modules["nss"]):
            say("the modules are not built in %s: %r" % (builddir, w.modules))
            return 1
        emu = w.start_emulator()
        say("CloudBase Auth emulator listening on %s (seeded users alice, bob, ...)"
            % emu.base_url)
        w.write_config()
        say("/etc/cloudbase/cloudbase.conf (inside the namespace only):")
        show(open("/etc/cloudbase/cloudbase.conf").read())
        missing = w.install_examples()
        say("PAM services sshd-cloudbase, sudo, su, login from the shipped etc/pam.d examples%s"
            % (" (missing: %s)" % ", ".join(missing) if missing else ""))
        say("$ cloudbasectl user add alice --login alice --phone '%s'" % ALICE_PHONE)
        r = w.cloudbasectl("user", "add", "alice", "--login", "alice", "--phone", ALICE_PHONE,
                           check=False)
        show(r.stdout + r.stderr)
        say("$ getent passwd alice   # through /etc/nsswitch.conf: passwd: files cloudbase")
        show(w.getent("passwd", "alice").stdout or "(not found)")
        w.make_home("alice")
        w.start_sshd()
        say("sshd (the real /usr/sbin/sshd, PAM service sshd-cloudbase) on 127.0.0.1:%d"
            % w.sshd_port)
        r = ssh_login(w, [ALICE_PW], False, "typing alice's CloudBase password",
                      lambda: ["alice's CloudBase password"])
        ok_pw = r.rc == 0 and "uid=" in r.out
        w.write_config(method="sms")
        say("method = sms: the module sends a code; the demo reads it from the emulator's outbox")
        codes = []

        def code(prompt):
            codes.append(w.sms_code(ALICE_PHONE))
            return codes[-1]
        r = ssh_login(w, [code], True, "keyboard-interactive, SMS code",
                      lambda: ["%s, the code in the emulator's SMS outbox for %s" % (c, ALICE_PHONE)
                               for c in codes])
        ok_sms = r.rc == 0 and "uid=" in r.out
        w.write_config(method="password")
    say("cleaned up: sshd and the emulator ended by PID, namespace left (its mounts are gone)")
    say("password login: %s; SMS login: %s" % ("OK" if ok_pw else "FAILED",
                                                "OK" if ok_sms else "not working yet"))
    return 0 if ok_pw else 1


def outer(builddir):
    if os.geteuid() != 0:
        print("demo: needs root (a private mount namespace, sshd)", file=sys.stderr)
        return 1
    before = e2elib.host_checksums()
    rc = e2elib.run_in_namespace(os.path.realpath(__file__), [builddir])
    diff = e2elib.checksum_diff(before, e2elib.host_checksums())
    say("host's /etc/pam.d, nsswitch.conf, sudoers, ssh, passwd, group, shadow: %s"
        % ("unchanged" if not diff else "CHANGED: " + ", ".join(diff)))
    return rc or (1 if diff else 0)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--inner":
        sys.exit(inner(sys.argv[2], sys.argv[3]))
    if len(sys.argv) == 3 and sys.argv[1] == "--builddir":
        sys.exit(outer(os.path.abspath(sys.argv[2])))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
