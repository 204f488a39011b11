#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The install test: the Debian packages, built and installed the way the
README's "Install on Debian" section says, in a minimal Debian 12 root.

1. Exports the source tree (the files git tracks, plus new ones it does not
   ignore: what a clean clone of this working tree holds; the whole tree
   when there is no git) and runs the README's build block there:
   `dpkg-buildpackage -us -uc -b` as written; `apt-get build-dep ./` is
   checked with dpkg-checkbuilddeps instead of run, since a test installs
   nothing on the host. Then lintian on the packages, and their contents.
2. A minimal Debian 12 root: `mmdebstrap --variant=apt` from the mirror the
   host's apt uses (/etc/apt/sources.list*), with openssh-server, sudo and
   the packages' dependencies; cached as a tarball under the build tree
   (tests/deb/cache/), so later runs download nothing.
3. In a private mount namespace (tests/ns-run; a tmpfs holds the root, every
   mount is made with mount -n): unpacks the root and runs the README's host
   block inside it (chroot) command by command, word for word, with one
   addition after the config file is written: base_url and ca_file of the
   CloudBase emulator, which runs on 127.0.0.1 outside the root. Then logs
   in over SSH (the root's own sshd and sshd_config, on a free port of
   127.0.0.1) and with sudo as the CloudBase user, and changes her
   CloudBase password with passwd; checks the module's decision line (the
   root's /dev/log is read by the test) and the emulator's request log;
   checks that a local user still goes through
   pam_unix, that pam-auth-update --disable restores /etc/pam.d/common-*
   byte for byte, that the profile lines sit where pam_faillock needs them;
   then `apt purge` and /etc/nsswitch.conf and /etc/pam.d/common-* must be
   byte-identical to the root's before the install.
4. Outside: the host's /etc/pam.d, nsswitch.conf, sudoers, ssh, passwd...
   have the same checksums as before, and none of the packages is installed
   on the host.

Not run inside `make distcheck` (configure --disable-install-test there,
see the top Makefile.am): this run already builds the packages from a clean
export of the very tree distcheck packs, and a second build, root and login
round in distcheck's copy would add minutes to CI and prove nothing new.

Prints TAP, progress as comments. Needs root (else skipped). Every process
it starts is ended by PID; the inner part is bounded by WATCHDOG seconds.
Environment: top_srcdir, top_builddir (tests/Makefile.am); INSTALL_KEEP=DIR
keeps the build log, sshd's log and the captured syslog lines.
"""

import glob
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback

sys.dont_write_bytecode = True  # the source tree may be read-only
HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import e2elib  # noqa: E402

TOP_SRCDIR = os.path.abspath(os.environ.get("top_srcdir") or os.path.join(HERE, "../.."))
TOP_BUILDDIR = os.path.abspath(os.environ.get("top_builddir") or TOP_SRCDIR)
WATCHDOG = 420  # seconds: the whole inner run
SUITE = "bookworm"
PACKAGES = ["libpam-cloudbase", "libnss-cloudbase", "cloudbase-tools"]
ROOT_EXTRA = ["openssh-server", "sudo"]
ENV_ID = "your-env-id"  # what the README's config says; the emulator is told so
SECRET = "test-secret"  # the emulator seed's client secret
ALICE_PW = "Alice-Passw0rd"
ALICE_NEW_PW = "Alice-Passw0rd-2"
LOCAL_USER, LOCAL_PW = "localadm", "Local-Passw0rd-9"
PAM_FILES = ["common-auth", "common-account", "common-password", "common-session",
             "common-session-noninteractive"]
UID_MIN, UID_MAX = 200000, 2000199999
# the module's decision line (pam/context.c cb_pam_decision)
DECISION = r"pam_cloudbase\(%s:auth\): auth: user=%s service=%s .*outcome=%s "

# The pam_faillock layout of debian/README.source (the CIS benchmark's).
FAILLOCK_PROFILES = {
    "faillock_notify": "Name: Notify of failed logins and reset the tally\nDefault: no\n"
                       "Priority: 1024\nAuth-Type: Primary\nAuth:\n"
                       "\trequisite\tpam_faillock.so preauth\nAccount-Type: Primary\n"
                       "Account:\n\trequired\tpam_faillock.so\n",
    "faillock": "Name: Deny after failed logins\nDefault: no\nPriority: 0\n"
                "Auth-Type: Primary\nAuth:\n\t[default=die]\tpam_faillock.so authfail\n",
}


class Abort(Exception):
    """A step the rest depends on failed (already reported)."""


# ---------------------------------------------------------------------------
# The README's commands
# ---------------------------------------------------------------------------

def readme_blocks():
    """The ```sh blocks of the README's "Install on Debian" section."""
    with open(os.path.join(TOP_SRCDIR, "README.md")) as f:
        text = f.read()
    m = re.search(r"^## Install on Debian\n(.*?)(?=^## )", text, re.S | re.M)
    if not m:
        return []
    return re.findall(r"^```sh\n(.*?)^```", m.group(1), re.S | re.M)


def commands(block):
    """One entry per command: a line, or a line with a here-document and its
    body up to the delimiter."""
    out, lines = [], block.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        here = re.search(r"<<-?\s*'?\"?(\w+)", line)
        if here:
            body = [line]
            while i < len(lines):
                body.append(lines[i])
                i += 1
                if lines[i - 1].strip() == here.group(1):
                    break
            out.append("\n".join(body) + "\n")
        else:
            out.append(line)
    return out


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def clean_env(extra=None):
    """The environment of a build or a chroot command: nothing of make
    check's (no jobserver flags, no test variables)."""
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb",
           "DEBIAN_FRONTEND": "noninteractive"}
    env.update(extra or {})
    return env


def run(argv, timeout, log=None, **kw):
    """Run argv bounded by timeout; its output goes to log (a path) when
    given. Returns (rc, output); rc None when it was killed."""
    kw.setdefault("env", clean_env())
    kw.setdefault("stdin", subprocess.DEVNULL)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", start_new_session=True, **kw)
    try:
        out, _ = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        rc = None
    if log:
        with open(log, "a") as f:
            f.write("$ %s\n%s\n[rc=%s]\n" % (" ".join(argv), out, rc))
    return rc, out


def host_mirrors():
    """The host's apt entries for Debian 12 main: [(uri, suite)], from
    sources.list (one-line) and *.sources (deb822)."""
    found = []
    paths = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    for p in paths:
        try:
            lines = open(p).read().splitlines()
        except OSError:
            continue
        for line in lines:
            line = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(line) >= 4 and line[0] == "deb" and line[2].startswith(SUITE) \
                    and "main" in line[3:]:
                found.append((line[1], line[2]))
    for p in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        try:
            stanzas = open(p).read().split("\n\n")
        except OSError:
            continue
        for st in stanzas:
            fields = {}
            for line in st.splitlines():
                if line.startswith("#") or ":" not in line or line[0].isspace():
                    continue
                k, v = line.split(":", 1)
                fields[k.strip().lower()] = v.split()
            if "deb" not in fields.get("types", []) or \
                    fields.get("enabled", ["yes"])[0] == "no" or "main" not in \
                    fields.get("components", []):
                continue
            for uri in fields.get("uris", []):
                for suite in fields.get("suites", []):
                    if suite.startswith(SUITE):
                        found.append((uri, suite))
    return found


def deb_field(path, field):
    return subprocess.run(["dpkg-deb", "-f", path, field], capture_output=True,
                          text=True).stdout.strip()


def dep_names(debs):
    """The first alternative of every Depends of the packages, less themselves."""
    names = set()
    for d in debs:
        for dep in deb_field(d, "Depends").split(","):
            name = dep.split("|")[0].strip().split(" ")[0].split(":")[0]
            if name and name not in PACKAGES:
                names.add(name)
    return sorted(names)


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


# ---------------------------------------------------------------------------
# Inside the namespace
# ---------------------------------------------------------------------------

class InstallTest:
    def __init__(self, work, tap):
        self.work, self.t = work, tap
        self.root = os.path.join(work, "root")
        self.logs = os.path.join(work, "logs")
        self.procs = []  # (name, Popen), ended by PID in teardown
        self.syslog = None
        self.emu = None
        self.sshd_port = None
        self.debs = []
        self.alice_pw = ALICE_PW

    # -- plumbing ------------------------------------------------------------

    def setup_namespace(self):
        w = self.work
        e2elib.mount("-t", "tmpfs", "-o", "mode=0755", "cb-deb", w)
        for d in ("src", "logs", "emu", "mm", "root"):
            os.makedirs(os.path.join(w, d), exist_ok=True)
        # ptys for ssh, sudo's use_pty: a private devpts (see e2elib.World)
        e2elib.mount("-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=0620,gid=5",
                     "cb-pts", "/dev/pts")
        if os.path.ismount("/dev/ptmx") or not os.path.islink("/dev/ptmx"):
            e2elib.sh("umount", "-n", "/dev/ptmx", check=False)
            os.unlink("/dev/ptmx")
            os.symlink("pts/ptmx", "/dev/ptmx")
        # nothing of this run lands in the host's /run (mmdebstrap mounts)
        e2elib.mount("-t", "tmpfs", "-o", "mode=0755", "cb-run", "/run")
        self.syslog = e2elib.SyslogCollector("/dev/log", os.path.join(self.logs, "syslog.log"))

    def start(self, name, argv, logfile):
        out = open(logfile, "ab")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env=clean_env())
        out.close()
        self.procs.append((name, proc))
        e2elib.record_pid(proc.pid)
        return proc

    def teardown(self):
        e2elib.stop_processes(self.procs, 5)
        self.procs = []
        if self.emu is not None:
            self.emu.stop()
        if self.syslog is not None:
            self.syslog.stop()
        keep = os.environ.get("INSTALL_KEEP")
        if keep:
            os.makedirs(keep, exist_ok=True)
            for f in glob.glob(os.path.join(self.logs, "*")) + \
                    glob.glob(os.path.join(self.work, "emu/*.log")):
                shutil.copy(f, keep)

    def chroot(self, cmd, stdin=None, timeout=120, cwd="/"):
        """cmd (shell text) run by /bin/sh -e inside the root, in cwd, with
        stdin (text) or /dev/null. Returns (rc, stdout + stderr); rc None
        when it outlived timeout (then its process group is killed)."""
        argv = ["chroot", self.root, "/bin/sh", "-ec", "cd %s\n%s" % (cwd, cmd)]
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None
                                else subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace",
                                env=clean_env(), start_new_session=True)
        try:
            out, _ = proc.communicate(stdin, timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            rc = None
        with open(os.path.join(self.logs, "root.log"), "a") as f:
            f.write("$ %s\n%s\n[rc=%s]\n" % (cmd, out, rc))
        return rc, out

    def rpath(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def snapshot(self):
        files = ["/etc/nsswitch.conf"] + ["/etc/pam.d/" + f for f in PAM_FILES]
        return {f: read(self.rpath(f), "rb") for f in files}

    def step(self, cond, desc, diag=None):
        if not self.t.ok(cond, desc, diag):
            raise Abort(desc)

    # -- 1. the packages -----------------------------------------------------

    def export_source(self):
        dst = os.path.join(self.work, "src/pam-cloudbase")
        os.makedirs(dst)
        git = subprocess.run(["git", "-C", TOP_SRCDIR, "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True)
        if git.returncode == 0 and os.path.realpath(git.stdout.strip()) == \
                os.path.realpath(TOP_SRCDIR):
            names = subprocess.run(["git", "-C", TOP_SRCDIR, "ls-files", "-co",
                                    "--exclude-standard", "-z"], capture_output=True,
                                   check=True).stdout.split(b"\0")
            names = [n for n in names if n and os.path.isfile(os.path.join(
                TOP_SRCDIR.encode(), n)) and not os.path.islink(os.path.join(
                    TOP_SRCDIR.encode(), n))]
            how = "git ls-files"
        else:
            names = []
            for dirpath, dirnames, filenames in os.walk(TOP_SRCDIR):
                rel = os.path.relpath(dirpath, TOP_SRCDIR)
                dirnames[:] = [d for d in dirnames if not (
                    rel == "." and (d.startswith("build") or d in ("_build", "_inst")))
                    and d not in (".git", "autom4te.cache")]
                names += [os.path.normpath(os.path.join(rel, f)).encode() for f in filenames]
            how = "the whole tree (no git)"
        tar = subprocess.run("tar -C %s --null -T - -cf - | tar -C %s -xf -" % (
            TOP_SRCDIR, dst), shell=True, input=b"\0".join(names), capture_output=True,
            timeout=60)
        self.step(tar.returncode == 0 and os.path.exists(os.path.join(dst, "debian/control")),
                  "a clean export of the source: %d files (%s)" % (len(names), how),
                  diag=tar.stderr)
        return dst

    def build(self, src, block):
        log = os.path.join(self.logs, "build.log")
        for cmd in commands(block):
            t0 = time.monotonic()
            if cmd.startswith("apt-get build-dep"):
                rc, out = run(["dpkg-checkbuilddeps"], 60, log=log, cwd=src)
                self.step(rc == 0, "README `%s`: every build dependency is installed "
                          "(dpkg-checkbuilddeps; nothing is installed on the host)" % cmd,
                          diag=out)
                continue
            self.t.diag("README, build: %s" % cmd)
            rc, out = run(["/bin/sh", "-ec", cmd], 600, log=log, cwd=src,
                          env=clean_env({"DEB_BUILD_OPTIONS": "parallel=%d" % (
                              os.cpu_count() or 1)}))
            self.step(rc == 0, "README `%s` in the export (%.0f s)" % (
                cmd, time.monotonic() - t0), diag=out)
        parent = os.path.dirname(src)
        self.debs = sorted(p for p in glob.glob(os.path.join(parent, "*.deb"))
                           if not p.endswith("-dbgsym") and "-dbgsym_" not in p)
        names = sorted(deb_field(d, "Package") for d in self.debs)
        self.step(names == sorted(PACKAGES), "three binary packages: %s" % ", ".join(names),
                  diag=self.debs)
        self.changes = glob.glob(os.path.join(parent, "*.changes"))

    def lint(self):
        t0 = time.monotonic()
        rc, out = run(["lintian", "--fail-on", "error,warning", "--display-level",
                       ">=warning"] + self.changes, 180,
                      log=os.path.join(self.logs, "lintian.log"))
        self.t.ok(rc == 0 and not re.search(r"^[EW]: ", out, re.M),
                  "lintian: no error and no warning (%.0f s)" % (time.monotonic() - t0),
                  diag=out)

    def contents(self):
        t = self.t
        listing = {}
        for d in self.debs:
            rc, out = run(["dpkg-deb", "-c", d], 30)
            listing[deb_field(d, "Package")] = out
        pam, nss, tools = (listing[p] for p in PACKAGES)
        t.ok(re.search(r" \./lib/[\w-]+/security/pam_cloudbase\.so$", pam, re.M) and
             "./usr/share/pam-configs/cloudbase\n" in pam + "\n" and
             "./usr/share/pam-configs/cloudbase-password" in pam and
             "./usr/share/man/man8/pam_cloudbase.8.gz" in pam,
             "libpam-cloudbase: the module in the PAM directory, both profiles, "
             "pam_cloudbase(8)", diag=pam)
        t.ok(re.search(r" \./lib/[\w-]+/libnss_cloudbase\.so\.2", nss) and
             "./usr/share/man/man8/nss_cloudbase.8.gz" in nss and "libcurl" not in
             deb_field(self.deb("libnss-cloudbase"), "Depends"),
             "libnss-cloudbase: libnss_cloudbase.so.2, nss_cloudbase(8), no libcurl",
             diag=nss)
        t.ok(re.search(r"^drwxr-xr-x root/root .* \./var/lib/cloudbase/$", tools, re.M) and
             re.search(r"^drwx------ root/root .* \./var/lib/cloudbase/state/$", tools, re.M)
             and "./usr/sbin/cloudbasectl" in tools and
             "./usr/share/man/man5/cloudbase.conf.5.gz" in tools,
             "cloudbase-tools: cloudbasectl, cloudbase.conf(5), /var/lib/cloudbase 0755 and "
             "state/ 0700, root's", diag=tools)
        # the one text domain of the module and cloudbasectl (debian/README.source)
        mo = "./usr/share/locale/zh_CN/LC_MESSAGES/pam_cloudbase.mo"
        t.ok(re.search(r"^-rw-r--r-- root/root .* %s$" % re.escape(mo), tools, re.M) and
             not re.search(r"\.mo$", pam + nss, re.M),
             "cloudbase-tools: the zh_CN catalogue %s (the other packages none)" % mo[1:],
             diag=tools)
        rc, conf = run(["dpkg-deb", "--info", self.deb("cloudbase-tools"), "conffiles"], 30)
        t.ok(conf.strip() == "/etc/cloudbase/cloudbase.conf",
             "cloudbase-tools: /etc/cloudbase/cloudbase.conf is its only conffile", diag=conf)
        secret = [l for l in (pam + nss + tools).splitlines()
                  if re.search(r"secret|\.key$|\.pem$|token", l.split()[-1])]
        t.ok(not secret, "no package ships a secret, key or token file", diag=secret)

    def deb(self, name):
        return [d for d in self.debs if deb_field(d, "Package") == name][0]

    # -- 2. the root -----------------------------------------------------------

    def make_root(self):
        mirrors = host_mirrors()
        self.step(bool(mirrors), "the host's apt sources name a %s mirror: %s" % (
            SUITE, " ".join("%s %s" % m for m in mirrors)))
        include = sorted(set(ROOT_EXTRA + dep_names(self.debs)))
        key = hashlib.sha256(json.dumps([mirrors, include]).encode()).hexdigest()[:12]
        cache_dir = os.path.join(TOP_BUILDDIR, "tests/deb/cache")
        cache = os.path.join(cache_dir, "%s-%s.tar" % (SUITE, key))
        if os.path.exists(cache):
            self.t.diag("Debian root: cached %s" % cache)
        else:
            os.makedirs(cache_dir, exist_ok=True)
            # one root at a time: an older one (other mirror or packages) goes
            for old in glob.glob(os.path.join(cache_dir, "*.tar")):
                os.unlink(old)
            self.t.diag("Debian root: mmdebstrap --variant=apt %s, with %s (cached in %s)" % (
                SUITE, ",".join(include), cache))
            tmp = cache[:-len(".tar")] + ".new.tar"
            t0 = time.monotonic()
            argv = ["mmdebstrap", "--variant=apt", "--mode=root",
                    "--include=" + ",".join(include), SUITE, tmp]
            argv += ["deb %s %s main" % m for m in mirrors]
            rc, out = run(argv, 420, log=os.path.join(self.logs, "mmdebstrap.log"),
                          env=clean_env({"TMPDIR": os.path.join(self.work, "mm")}))
            self.step(rc == 0, "mmdebstrap: a Debian 12 root with %s (%.0f s)" % (
                ", ".join(ROOT_EXTRA), time.monotonic() - t0), diag=out)
            os.rename(tmp, cache)
        t0 = time.monotonic()
        rc, out = run(["tar", "--numeric-owner", "-xpf", cache, "-C", self.root], 120)
        self.step(rc == 0 and os.path.exists(self.rpath("/usr/sbin/sshd")),
                  "the Debian 12 root unpacked on a tmpfs (%.1f s)" % (time.monotonic() - t0),
                  diag=out)
        os.chmod(self.root, 0o755)
        e2elib.mount("-t", "proc", "cb-proc", self.rpath("/proc"))
        e2elib.mount("--rbind", "/dev", self.rpath("/dev"))
        # daemons are never started by maintainer scripts here
        e2elib.write(self.rpath("/usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n", 0o755)
        os.makedirs(self.rpath("/tmp/debs"), mode=0o755)
        for d in self.debs:
            shutil.copy(d, self.rpath("/tmp/debs"))

    # -- 3. the README's host block --------------------------------------------

    def start_emulator(self):
        sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests/emulator"))
        import emulib
        self.emu = emulib.Emulator(os.path.join(self.work, "emu"),
                                   extra_args=["--env", ENV_ID, "--client-id", ENV_ID])
        e2elib.record_pid(self.emu.proc.pid)
        shutil.copy(self.emu.ca_file, self.rpath("/usr/local/share/cloudbase-emulator-ca.pem"))

    def host_block(self, block, before):
        t = self.t
        for cmd in commands(block):
            first = cmd.splitlines()[0]
            t0 = time.monotonic()
            stdin = SECRET + "\n" if re.search(r"\bcat > \S*client_secret\)", first) else None
            rc, out = self.chroot(cmd, stdin=stdin, cwd="/tmp/debs")
            self.step(rc == 0, "README, in the root: `%s` (%.1f s)" % (
                first, time.monotonic() - t0), diag=out)
            if first.startswith("apt install"):
                self.after_install(out, before)
            if first.startswith("cat > /etc/cloudbase/cloudbase.conf"):
                # the one addition: where the emulator listens, and its CA
                with open(self.rpath("/etc/cloudbase/cloudbase.conf"), "a") as f:
                    f.write("base_url = %s\nca_file = %s\n" % (
                        self.emu.base_url, "/usr/local/share/cloudbase-emulator-ca.pem"))
                t.diag("test: appended base_url = %s and ca_file (the emulator's)" %
                       self.emu.base_url)
            if first.startswith("cloudbasectl status"):
                t.ok(re.search(r"^config: +ok", out, re.M) and
                     re.search(r"^secret: +ok", out, re.M),
                     "cloudbasectl status: config and secret ok", diag=out)
            if first.startswith("pam-auth-update --enable"):
                self.after_enable()

    def after_install(self, out, before):
        t = self.t
        t.ok(not re.search(r"^Get:\d+ (?!/)", out, re.M),
             "apt install: nothing downloaded (the cached root has every dependency)",
             diag=out)
        rc, status = self.chroot("dpkg-query -W -f '${Package} ${Status}\\n' " +
                                 " ".join(PACKAGES))
        t.ok(rc == 0 and status.count("install ok installed") == 3,
             "the three packages are installed", diag=status)
        now = self.snapshot()
        t.ok(all(now[p] == before[p] for p in now if "/pam.d/" in p),
             "installing changed no /etc/pam.d/common-* (both profiles are Default: no)",
             diag=[p for p in now if now[p] != before[p]])
        nss = now["/etc/nsswitch.conf"].decode()
        t.ok(re.search(r"^passwd:\s.*\bfiles\b.*\scloudbase$", nss, re.M) and
             re.search(r"^group:\s.*\bfiles\b.*\scloudbase$", nss, re.M) and
             re.sub(r" cloudbase$", "", nss, flags=re.M) == before["/etc/nsswitch.conf"].decode(),
             "nsswitch.conf: cloudbase appended to passwd and group, nothing else changed",
             diag=nss)
        st = [os.stat(self.rpath(p)) for p in ("/var/lib/cloudbase", "/var/lib/cloudbase/state")]
        t.ok(oct(st[0].st_mode & 0o7777) == "0o755" and oct(st[1].st_mode & 0o7777) == "0o700"
             and all(s.st_uid == 0 and s.st_gid == 0 for s in st),
             "/var/lib/cloudbase 0755 and /var/lib/cloudbase/state 0700, owned by root",
             diag=[oct(s.st_mode) for s in st])

    def after_enable(self):
        t = self.t
        auth = read(self.rpath("/etc/pam.d/common-auth"))
        acct = read(self.rpath("/etc/pam.d/common-account"))
        pw = read(self.rpath("/etc/pam.d/common-password"))
        sess = read(self.rpath("/etc/pam.d/common-session"))
        sessn = read(self.rpath("/etc/pam.d/common-session-noninteractive"))
        first = re.search(r"^auth\s+(\S.*?)\s+pam_cloudbase\.so ignore_unknown_user", auth, re.M)
        t.ok(first is not None and auth.index("pam_cloudbase.so") < auth.index("pam_unix.so")
             and re.search(r"\[success=\d+ new_authtok_reqd=done ignore=ignore default=die\]",
                           first.group(1)),
             "common-auth: pam_cloudbase first (success jumps past pam_unix, failure dies)",
             diag=auth)
        t.ok(acct.index("pam_permit.so") < acct.index("pam_cloudbase.so") and
             re.search(r"pam_cloudbase\.so ignore_unknown_user acct_without_auth$", acct, re.M),
             "common-account: pam_cloudbase in the Additional block, after pam_unix, with "
             "acct_without_auth (sudo's timestamp, NOPASSWD, root's su, SSH keys: the "
             "account's standing checked live)", diag=acct)
        t.ok(pw.index("pam_unix.so") < pw.index("pam_cloudbase.so") and
             re.search(r"pam_unix\.so obscure yescrypt", pw) and "use_authtok" not in pw,
             "common-password: pam_unix first (its line without use_authtok), "
             "then pam_cloudbase", diag=pw)
        t.ok("pam_cloudbase.so" in sess and "pam_cloudbase.so" in sessn,
             "common-session and common-session-noninteractive name pam_cloudbase",
             diag=sess + sessn)

    # -- logins ------------------------------------------------------------------

    def start_sshd(self):
        os.makedirs(self.rpath("/run/sshd"), mode=0o755, exist_ok=True)
        self.sshd_port = e2elib.free_port()
        self.sshd_log = os.path.join(self.logs, "sshd.log")
        # the root's own sshd_config (Debian's: UsePAM yes, passwords on),
        # moved to 127.0.0.1 and a free port
        self.sshd = self.start("sshd", ["chroot", self.root, "/usr/sbin/sshd", "-D", "-e",
                                        "-p", str(self.sshd_port),
                                        "-o", "ListenAddress=127.0.0.1",
                                        "-o", "PidFile=none"], self.sshd_log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.sshd.poll() is not None:
                break
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.sshd_port)) == 0:
                    return
            time.sleep(0.05)
        self.step(False, "the root's sshd listens on 127.0.0.1:%d" % self.sshd_port,
                  diag=read(self.sshd_log))

    def ssh(self, user, password, command="id"):
        argv = ["/usr/bin/ssh", "-F", "/dev/null", "-p", str(self.sshd_port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "PreferredAuthentications=password",
                "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1",
                "-o", "ConnectTimeout=5", "%s@127.0.0.1" % user, command]
        return e2elib.drive(argv, [password], timeout=30)

    def signins(self, since):
        return [q for q in self.emu.requests()[since:] if q["path"].endswith("/signin")]

    def decision(self, mark, service, user, outcome, desc):
        line = self.syslog.wait_for(mark, DECISION % (service, user, service, outcome),
                                    timeout=3)
        self.t.ok(line is not None, "%s: the module's decision line (outcome=%s)" % (
            desc, outcome), diag="\n".join(self.syslog.since(mark)))
        return line

    def logins(self):
        t = self.t
        rc, out = self.chroot("getent passwd alice; id alice")
        f = out.splitlines()[0].split(":") if out else []
        ok = rc == 0 and len(f) == 7 and UID_MIN <= int(f[2]) <= UID_MAX
        self.step(ok, "NSS in the root: getent passwd alice gives a uid in the CloudBase range",
                  diag=out)
        uid = int(f[2])
        self.start_sshd()
        # ssh, the right password
        mark, nreq = self.syslog.mark(), len(self.emu.requests())
        r = self.ssh("alice", ALICE_PW)
        t.ok(r.rc == 0 and re.search(r"uid=%d\(alice\) gid=%d\(alice\) groups=.*\(sudo\)" % (
            uid, uid), r.out), "ssh alice@127.0.0.1 id: her uid, and sudo mapped from "
             "CloudBase group admin", diag=r)
        line = self.decision(mark, "sshd", "alice", "ok", "ssh")
        rid = re.search(r"request_id=(\S+)", line or "")
        seen = self.signins(nreq)
        t.ok(len(seen) == 1 and seen[0]["status"] == 200 and rid and
             seen[0].get("request_id") == rid.group(1) and
             (seen[0].get("body") or {}).get("username") == "alice@example.com",
             "ssh: one /signin for alice@example.com, the request_id of the log line",
             diag=json.dumps(seen, indent=1))
        # ssh, a wrong password: the module decides, pam_unix is never asked
        mark, nreq = self.syslog.mark(), len(self.emu.requests())
        r = self.ssh("alice", "Not-" + ALICE_PW)
        t.ok(r.rc == 255 and "uid=" not in r.out, "ssh alice, a wrong password: denied", diag=r)
        self.decision(mark, "sshd", "alice", "auth_failed", "ssh wrong password")
        t.ok(not [l for l in self.syslog.since(mark) if "pam_unix(sshd:auth)" in l],
             "ssh wrong password: pam_unix never saw alice's password",
             diag="\n".join(self.syslog.since(mark)))
        # sudo as alice inside the root (Debian's sudoers: %sudo ALL)
        mark, nreq = self.syslog.mark(), len(self.emu.requests())
        rc, out = self.chroot("exec setpriv --reuid=%d --regid=%d --init-groups -- "
                              "sudo -S -k id" % (uid, uid), stdin=ALICE_PW + "\n", timeout=30)
        t.ok(rc == 0 and "uid=0(root)" in out and "[sudo] password for alice" in out,
             "sudo -S -k id as alice in the root: the CloudBase password makes her root",
             diag=out)
        self.decision(mark, "sudo", "alice", "ok", "sudo")
        seen = self.signins(nreq)
        t.ok(len(seen) == 1 and seen[0]["status"] == 200,
             "sudo: one /signin at the emulator", diag=json.dumps(seen, indent=1))
        # sudo's timestamp (Debian's sudoers; no terminal: one record per
        # parent process): the second sudo runs the account phase alone
        mark, nreq = self.syslog.mark(), len(self.emu.requests())
        rc, out = self.chroot("exec setpriv --reuid=%d --regid=%d --init-groups -- "
                              "sh -c 'sudo -S -v && sudo -n id'" % (uid, uid),
                              stdin=ALICE_PW + "\n", timeout=30)
        cached = self.syslog.wait_for(mark, r"pam_cloudbase\(sudo:account\): user alice: sudo "
                                      r"without a password prompt .*checking the account's "
                                      r"standing", timeout=3)
        t.ok(rc == 0 and "uid=0(root)" in out and cached is not None and
             len(self.signins(nreq)) == 1,
             "sudo -v, then sudo -n id on the timestamp: the profile's account line "
             "(acct_without_auth) passes alice on her standing, one /signin in all",
             diag="%s\n%s" % (out, "\n".join(self.syslog.since(mark))))
        # passwd as alice: pam_unix does not know her, the module changes
        # her CloudBase password (the cloudbase-password profile)
        mark, nreq = self.syslog.mark(), len(self.emu.requests())
        r = e2elib.drive(["chroot", self.root, "setpriv", "--reuid=%d" % uid,
                          "--regid=%d" % uid, "--init-groups", "--", "passwd"],
                         [ALICE_PW, ALICE_NEW_PW, ALICE_NEW_PW], timeout=30, env=clean_env())
        t.ok(r.rc == 0 and "Current CloudBase password" in r.out and
             "updated successfully" in r.out,
             "passwd as alice in the root: her CloudBase password is changed", diag=r)
        line = self.syslog.wait_for(mark, r"pam_cloudbase\(passwd:chauthtok\): password: "
                                    r"user=alice service=passwd .*outcome=ok ", timeout=3)
        patched = [q for q in self.emu.requests()[nreq:] if q["method"] == "PATCH" and
                   q["path"].endswith("/user/password") and q["status"] == 200]
        t.ok(line is not None and len(patched) == 1,
             "passwd: the module's decision line, one PATCH /user/password at the emulator",
             diag="\n".join(self.syslog.since(mark)))
        r = self.ssh("alice", ALICE_NEW_PW)
        t.ok(r.rc == 0 and "(alice)" in r.out, "ssh alice with the new password", diag=r)
        self.alice_pw = ALICE_NEW_PW
        # a local account: pam_unix as before, nothing sent to CloudBase
        rc, out = self.chroot(
            "useradd -m -s /bin/sh %s && printf '%%s:%%s\\n' %s '%s' | chpasswd" % (
                LOCAL_USER, LOCAL_USER, LOCAL_PW))
        t.ok(rc == 0, "a local user, its password set by chpasswd through common-password "
             "(pam_unix first, pam_cloudbase after it)", diag=out)
        mark, nreq = self.syslog.mark(), len(self.emu.requests())
        r = self.ssh(LOCAL_USER, LOCAL_PW)
        t.ok(r.rc == 0 and "(%s)" % LOCAL_USER in r.out,
             "ssh %s: a local user logs in with the pam_unix password" % LOCAL_USER, diag=r)
        t.ok(not [q for q in self.emu.requests()[nreq:]] and not [
            l for l in self.syslog.since(mark) if "pam_cloudbase" in l and "outcome=" in l],
            "ssh %s: the service is never asked, the module logs no decision" % LOCAL_USER,
            diag="\n".join(self.syslog.since(mark)))

    # -- the profiles: round trip and pam_faillock -----------------------------------

    def profiles(self, before):
        t = self.t
        rc, out = self.chroot("pam-auth-update --disable cloudbase cloudbase-password")
        now = self.snapshot()
        t.ok(rc == 0 and all(now[p] == before[p] for p in now if "/pam.d/" in p),
             "pam-auth-update --disable cloudbase cloudbase-password: common-* byte-identical "
             "to before the install", diag=out + str([p for p in now if now[p] != before[p]]))
        rc, out = self.chroot("pam-auth-update --enable cloudbase cloudbase-password")
        t.ok(rc == 0, "pam-auth-update --enable again", diag=out)
        for name, text in FAILLOCK_PROFILES.items():
            e2elib.write(self.rpath("/usr/share/pam-configs/" + name), text)
        rc, out = self.chroot("pam-auth-update --enable faillock_notify faillock")
        auth = read(self.rpath("/etc/pam.d/common-auth"))
        order = [auth.find(s) for s in ("pam_faillock.so preauth", "pam_cloudbase.so",
                                        "pam_unix.so", "pam_faillock.so authfail",
                                        "pam_deny.so")]
        t.ok(rc == 0 and -1 not in order and order == sorted(order),
             "with the pam_faillock profiles of README.source: preauth, pam_cloudbase, "
             "pam_unix, authfail, pam_deny in that order", diag=auth)
        r = self.ssh("alice", self.alice_pw)
        t.ok(r.rc == 0 and "(alice)" in r.out, "ssh alice with pam_faillock in the stack",
             diag=r)
        rc, out = self.chroot("pam-auth-update --disable faillock_notify faillock && "
                              "rm /usr/share/pam-configs/faillock_notify "
                              "/usr/share/pam-configs/faillock")
        t.ok(rc == 0, "pam_faillock profiles off and gone again", diag=out)

    # -- purge ---------------------------------------------------------------------------

    def purge(self, before):
        t = self.t
        t0 = time.monotonic()
        rc, out = self.chroot("apt purge -y " + " ".join(PACKAGES), timeout=120)
        t.ok(rc == 0, "apt purge %s (%.1f s)" % (" ".join(PACKAGES), time.monotonic() - t0),
             diag=out)
        now = self.snapshot()
        for path in sorted(now):
            t.ok(now[path] == before[path], "after the purge %s is byte-identical to before "
                 "the install" % path, diag=now[path].decode(errors="replace"))
        gone = [p for p in ("/var/lib/cloudbase", "/usr/sbin/cloudbasectl",
                            "/usr/share/pam-configs/cloudbase",
                            "/etc/cloudbase/cloudbase.conf")
                if os.path.lexists(self.rpath(p))]
        gone += [p for p in glob.glob(self.rpath("/usr/lib/*/security/pam_cloudbase.so")) +
                 glob.glob(self.rpath("/usr/lib/*/libnss_cloudbase.so*"))]
        t.ok(not gone and os.path.exists(self.rpath("/etc/cloudbase/client_secret")),
             "purged: module, NSS module, tool, profiles, conffile and /var/lib/cloudbase gone; "
             "the admin's client secret file stays", diag=gone)

    def run(self):
        t = self.t
        start = time.monotonic()
        self.setup_namespace()
        blocks = readme_blocks()
        self.step(len(blocks) == 2 and any("dpkg-buildpackage" in c for c in
                                           commands(blocks[0])),
                  "README.md has an \"Install on Debian\" section: a build block and a host "
                  "block", diag=blocks)
        src = self.export_source()
        self.build(src, blocks[0])
        self.lint()
        self.contents()
        t.diag("packages: %.0f s" % (time.monotonic() - start))
        self.make_root()
        before = self.snapshot()
        rc, out = self.chroot("apt-get install -y --no-download " + " ".join(ROOT_EXTRA))
        t.ok(rc == 0, "openssh-server and sudo are in the root", diag=out)
        self.start_emulator()
        self.host_block(blocks[1], before)
        t.diag("install and set-up: %.0f s" % (time.monotonic() - start))
        self.logins()
        self.profiles(before)
        self.purge(before)
        t.diag("inner run: %.0f s" % (time.monotonic() - start))


def inner(work):
    tap = e2elib.Tap()
    e2elib.arm_watchdog(WATCHDOG, "install test")
    test = InstallTest(work, tap)
    try:
        test.run()
    except Abort:
        pass
    except Exception:
        tap.ok(False, "the install test ran to completion", diag=traceback.format_exc())
    finally:
        signal.alarm(0)
        test.teardown()
    return 1 if tap.failed else 0


def no_package_on_host():
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Status}\n"] + PACKAGES,
                       capture_output=True, text=True)
    installed = [l for l in r.stdout.splitlines() if "ok installed" in l]
    return not installed, "none of the packages is installed on the host", installed


def outer():
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root (a private mount namespace, chroot, apt in a Debian root)")
        return 0
    missing = [p for p in ("dpkg-buildpackage", "dpkg-checkbuilddeps", "lintian", "mmdebstrap",
                           "chroot", "git") if shutil.which(p) is None]
    if missing:
        print("1..1\nnot ok 1 - missing %s (scripts/install-deps installs them)" %
              " ".join(missing))
        return 0
    t0 = time.monotonic()
    rc = e2elib.outer(os.path.realpath(__file__), WATCHDOG + 30, [no_package_on_host])
    print("# install test: %.0f s" % (time.monotonic() - t0))
    return rc


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--inner":
        sys.exit(inner(sys.argv[2]))
    sys.exit(outer())
