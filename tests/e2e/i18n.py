#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Messages in the user's language, end to end: the real set-uid su (run by
a user who is not root, so the module converses) and cloudbasectl speak
Chinese under LANG=zh_CN.UTF-8 and English under LANG=C, while the module's
log lines stay English.

The world is e2elib's (tests/e2e/README.md): a private mount namespace
(tests/ns-run), the built modules on the system library path, the CloudBase
Auth emulator. This test adds two things, both inside the namespace only:
- the zh_CN.UTF-8 locale: a writable overlay on /usr/lib/locale (its upper
  layer on the test's tmpfs, so C.utf8 and whatever the host has stay
  visible) into which localedef compiles zh_CN from the locales package's
  sources. su is set-uid: glibc ignores LOCPATH there, so the locale must be
  where glibc looks by default.
- the built catalogue (po/zh_CN.gmo) as LOCALEDIR/zh_CN/LC_MESSAGES/
  pam_cloudbase.mo, LOCALEDIR being the one the module and cloudbasectl
  were built with (configure's localedir): a read-only overlay on the
  nearest existing directory above it (a set-uid su ignores any variable
  that would point elsewhere, and the module never reads one).
Nothing outside the namespace changes; the host's guarded files are
checksummed before and after, as run.py does.

Prints TAP. Needs root (else skipped) and a build with NLS (configure
--disable-nls: skipped). Environment (tests/Makefile.am): top_srcdir,
top_builddir, PAM_CLOUDBASE_SO, NSS_CLOUDBASE_DIR, CB_LOCALEDIR, CB_USE_NLS.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import traceback

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import e2elib  # noqa: E402

TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.join(e2elib.HERE, "../..")
TOP_BUILDDIR = os.environ.get("top_builddir") or TOP_SRCDIR
WATCHDOG = 90  # seconds: the whole inner run
DOMAIN = "pam_cloudbase"
ZH = "zh_CN.UTF-8"

# (name, login, phone, password): alice runs the Chinese round, bob the
# English one (the service sends a number one code a minute)
USERS = (("alice", "alice", "+86 13800000001", "Alice-Passw0rd"),
         ("bob", "bob", "+86 13800000002", "Bob-Passw0rd"))
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
DECISION = r"pam_cloudbase\(su:auth\): auth: user=%s "
# a log line with a byte outside ASCII, as the module's log escapes it
ESCAPED = re.compile(r"\\x[89a-f][0-9a-f]")

# What the user sees, as po/zh_CN.po has it and as the module writes it.
TEXTS = {
    "C": {
        "menu": "Sign in with 1) password or 2) SMS code: ",
        "password": "Password: ",
        "code": "SMS code sent to %s: ",
        "format": "The code is the 6 digits from the SMS. Try again.",
        "wrong": "Wrong code. Try again.",
        "aborted": "Too many wrong codes. Sign in again to get a new one.",
        "help": "Answer 1 (password) or 2 (SMS code).",
        "usage": "Usage: cloudbasectl [-c CONFIG] COMMAND [ARGS]",
        "nosuch": "cloudbasectl: nosuch: no such account",
        "name": "name:       %s\n",
        "sub": "sub:        - (not bound)\n",
        "header": r"^NAME +UID BOUND  LOGIN$",
        "config": "config:   ok (/etc/cloudbase/cloudbase.conf)\n",
        "database": "database: ok, 2 accounts (",
        "groups": "groups:   ok, CloudBase group admin gives local group sudo (gid ",
        "service": "service:  ok, client accepted (",
    },
    ZH: {
        "menu": "登录方式：1) 密码 或 2) 短信验证码，请选择：",
        "password": "密码：",
        "code": "短信验证码已发送至 %s，请输入：",
        "format": "验证码是短信中的 6 位数字，请重试。",
        "wrong": "验证码错误，请重试。",
        "aborted": "验证码错误次数过多。请重新登录以获取新的验证码。",
        "help": "请输入 1（密码）或 2（短信验证码）。",
        "usage": "用法：cloudbasectl [-c CONFIG] COMMAND [ARGS]",
        "nosuch": "cloudbasectl：nosuch：账号不存在",
        # labels padded to 12 columns on screen: a CJK character takes two
        "name": "用户名：    %s\n",
        "sub": "sub：       -（未绑定）\n",
        "header": r"^用户名 +UID 已绑定 登录名$",
        "config": "配置：    正常（/etc/cloudbase/cloudbase.conf）\n",
        "database": "数据库：  正常，2 个账号（",
        "groups": "组：      正常，CloudBase 组 admin 对应本地组 sudo（gid ",
        "service": "服务：    正常，客户端已被接受（",
    },
}


STATUS_LINES = ("config", "database", "groups", "service")


def lang_env(lang):
    """The environment with exactly one locale setting: LANG."""
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("LC_") or k in ("LANG", "LANGUAGE"))}
    env["LANG"] = lang
    return env


def mask(phone):
    cc, nat = phone.split(" ")
    return "%s %s****%s" % (cc, nat[:3], nat[-4:])


def mountpoints():
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f]


class Suite:
    def __init__(self, world, tap):
        self.w, self.t = world, tap

    # -- the locale and the catalogue, inside the namespace ---------------

    def make_locale(self):
        w, t = self.w, self.t
        up, wk = os.path.join(w.work, "locale-up"), os.path.join(w.work, "locale-work")
        os.makedirs(up)
        os.makedirs(wk)
        e2elib.mount("-t", "overlay", "overlay", "-o",
                     "lowerdir=/usr/lib/locale,upperdir=%s,workdir=%s" % (up, wk),
                     "/usr/lib/locale")
        r = e2elib.sh("localedef", "--no-archive", "-i", "zh_CN", "-f", "UTF-8", ZH,
                      check=False, timeout=60)
        out = e2elib.sh("locale", "-a", check=False).stdout.split()
        t.ok(r.returncode == 0 and "zh_CN.utf8" in out and "C.utf8" in out,
             "the zh_CN.UTF-8 locale is compiled inside the namespace (C.utf8 kept)",
             diag=r.stdout + r.stderr + " ".join(out))

    def install_catalogue(self):
        """The built zh_CN.gmo as LOCALEDIR/zh_CN/LC_MESSAGES/DOMAIN.mo."""
        w, t = self.w, self.t
        localedir = os.path.normpath(os.environ.get("CB_LOCALEDIR", ""))
        gmo = [p for p in (os.path.join(TOP_BUILDDIR, "po/zh_CN.gmo"),
                           os.path.join(TOP_SRCDIR, "po/zh_CN.gmo")) if os.path.exists(p)]
        if not t.ok(os.path.isabs(localedir) and gmo,
                    "the built catalogue po/zh_CN.gmo and LOCALEDIR (%s) are known" % localedir,
                    diag="gmo: %r" % gmo):
            return False
        base = localedir
        while not os.path.isdir(base):
            base = os.path.dirname(base)
        # an overlay hides what is mounted below its mount point
        below = [m for m in mountpoints() if m.startswith(base.rstrip("/") + "/")]
        if not t.ok(base != "/" and not below,
                    "the catalogue overlay on %s hides no mount" % base, diag=below):
            return False
        upper = os.path.join(w.work, "mo")
        target = os.path.join(upper, os.path.relpath(localedir, base), "zh_CN/LC_MESSAGES")
        os.makedirs(target)
        shutil.copy(gmo[0], os.path.join(target, DOMAIN + ".mo"))
        e2elib.mount("-t", "overlay", "overlay", "-o", "ro,lowerdir=%s:%s" % (upper, base),
                     base)
        mo = os.path.join(localedir, "zh_CN/LC_MESSAGES", DOMAIN + ".mo")
        return t.ok(os.path.exists(mo), "%s is in place inside the namespace" % mo)

    def setup(self):
        w, t = self.w, self.t
        if not (w.modules["pam"] and w.modules["nss"] and w.have_emulator()):
            raise RuntimeError("modules or emulator missing: %r" % w.modules)
        w.start_emulator()
        w.write_config(method="password|sms")
        missing = w.install_examples()
        t.ok("su" not in missing, "the su service file is the shipped etc/pam.d/su",
             diag=missing)
        for name, login, phone, _pw in USERS:
            r = w.cloudbasectl("user", "add", name, "--login", login, "--phone", phone,
                               check=False)
            t.ok(r.returncode == 0, "cloudbasectl user add %s" % name,
                 diag=r.stdout + r.stderr)

    # -- su ----------------------------------------------------------------

    def su(self, user, lang, answers):
        """su USER -c id, run by nobody, answers on stdin."""
        w = self.w
        argv = ["timeout", "-k", "2", str(e2elib.CLIENT_TIMEOUT), "/usr/bin/setpriv",
                "--reuid=65534", "--regid=65534", "--clear-groups", "--", "/bin/su", user,
                "-c", "id"]
        start = w.syslog.mark()
        proc = subprocess.run(argv, input=answers, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=lang_env(lang),
                              timeout=e2elib.CLIENT_TIMEOUT + 5, start_new_session=True)
        line = w.syslog.wait_for(start, DECISION % user, timeout=3)
        return proc.returncode, proc.stdout, line, w.syslog.since(start)

    def su_round(self, lang, user):
        t = self.t
        name, _login, phone, pw = user
        tx = TEXTS[lang]
        import pwd
        uid = pwd.getpwnam(name).pw_uid

        # the menu, then the password: signed in
        rc, out, line, logs = self.su(name, lang, "1\n%s\n" % pw)
        t.ok(rc == 0 and "uid=%d(%s)" % (uid, name) in out,
             "%s: su %s (menu, password) as nobody runs id" % (lang, name), diag=out)
        t.ok(tx["menu"] in out and tx["password"] in out and
             out.index(tx["menu"]) < out.index(tx["password"]),
             "%s: su shows the module's menu %r, then its prompt %r" % (
                 lang, tx["menu"], tx["password"]), diag=out)
        self.english_logs(lang, name, line, logs, "ok pam=Success")

        # a wrong answer to the menu
        rc, out, line, logs = self.su(name, lang, "3\n")
        t.ok(rc != 0 and tx["help"] in out,
             "%s: a wrong menu answer is told %r" % (lang, tx["help"]), diag=out)

        # the SMS code: a malformed one, two wrong ones (a code is sent; the
        # service allows a number one a minute: one round per user)
        code = tx["code"] % mask(phone)
        rc, out, line, logs = self.su(name, lang, "2\n12\n000000\n000000\n")
        seen = [tx["menu"], code, tx["format"], code, tx["wrong"], code, tx["aborted"]]
        pos, order = 0, True
        for s in seen:
            i = out.find(s, pos)
            order = order and i >= 0
            pos = i + len(s) if i >= 0 else pos
        t.ok(rc != 0 and order and "uid=" not in out,
             "%s: su with wrong SMS codes shows, in order, the code prompt %r, %r, %r "
             "and %r" % (lang, code, tx["format"], tx["wrong"], tx["aborted"]), diag=out)
        self.english_logs(lang, name, line, logs,
                          "code_aborted pam=Have exhausted maximum number of retries")
        if lang == "C":
            t.ok(not CJK.search(out), "C: su's transcript has no Chinese character",
                 diag=out)

    def english_logs(self, lang, name, line, logs, outcome):
        """The decision line says outcome (pam= is libpam's pam_strerror,
        which speaks the application's language unless the module asks it
        for English), and no line of the module carries a byte outside
        ASCII (the log escapes them as \\xNN)."""
        mod = [l for l in logs if "pam_cloudbase(" in l]
        self.t.ok(line is not None and "outcome=%s" % outcome in line and mod and
                  not any(ESCAPED.search(l) or CJK.search(l) for l in mod),
                  "%s: the module's log lines stay English (outcome=%s)" % (lang, outcome),
                  diag="\n".join(logs))

    def errno_round(self, lang):
        """A log line with an errno text (strerror speaks the user's language
        too, libc-l10n installed): a client secret file that is not there."""
        w, t = self.w, self.t
        w.write_config(client_secret_file="/etc/cloudbase/no-such-secret")
        try:
            rc, out, line, logs = self.su(USERS[0][0], lang, "1\n%s\n" % USERS[0][3])
        finally:
            w.write_config(client_secret_file="/etc/cloudbase/client_secret")
        mod = [l for l in logs if "pam_cloudbase(" in l]
        t.ok(rc != 0 and any("no-such-secret: cannot open: No such file or directory" in l
                             for l in mod) and
             not any(ESCAPED.search(l) or CJK.search(l) for l in mod),
             "%s: a missing secret file is denied and logged in English (strerror)" % lang,
             diag="rc=%s\n%s\n%s" % (rc, out, "\n".join(logs)))

    # -- cloudbasectl --------------------------------------------------------

    def ctl(self, lang, *args):
        return e2elib.sh(self.w.cloudbasectl_bin, "-c", "/etc/cloudbase/cloudbase.conf",
                         *args, check=False, env=lang_env(lang))

    def ctl_round(self, lang):
        t = self.t
        tx = TEXTS[lang]
        r = self.ctl(lang, "--help")
        t.ok(r.returncode == 0 and r.stdout.startswith(tx["usage"] + "\n"),
             "%s: cloudbasectl --help starts %r" % (lang, tx["usage"]),
             diag=r.stdout + r.stderr)
        r = self.ctl(lang, "user", "show", "nosuch")
        t.ok(r.returncode == 3 and r.stderr == tx["nosuch"] + "\n",
             "%s: cloudbasectl user show nosuch: %r, exit 3" % (lang, tx["nosuch"]),
             diag="rc=%d\n%s%s" % (r.returncode, r.stdout, r.stderr))
        r = self.ctl(lang, "user", "show", "bob")
        t.ok(r.returncode == 0 and r.stdout.startswith(tx["name"] % "bob") and
             tx["sub"] in r.stdout,
             "%s: cloudbasectl user show: labels and values line up (%r)" % (
                 lang, tx["name"] % "bob"), diag=r.stdout + r.stderr)
        r = self.ctl(lang, "user", "list")
        t.ok(r.returncode == 0 and re.match(tx["header"], r.stdout.splitlines()[0] if
                                            r.stdout else "") is not None,
             "%s: cloudbasectl user list: the header /%s/" % (lang, tx["header"]),
             diag=r.stdout + r.stderr)
        r = self.ctl(lang, "status")
        t.ok(r.returncode == 0 and all(tx[k] in r.stdout for k in STATUS_LINES),
             "%s: cloudbasectl status: %s" % (lang, ", ".join(repr(tx[k]) for k in
                                                             STATUS_LINES)),
             diag=r.stdout + r.stderr)
        if lang == "C":
            r = self.ctl(lang, "--help")
            t.ok(not CJK.search(r.stdout), "C: cloudbasectl --help has no Chinese character",
                 diag=r.stdout)


def inner(work):
    tap = e2elib.Tap()
    e2elib.arm_watchdog(WATCHDOG, "i18n")
    with e2elib.World(work, TOP_SRCDIR, TOP_BUILDDIR, os.environ.get("PAM_CLOUDBASE_SO"),
                      os.environ.get("NSS_CLOUDBASE_DIR"),
                      keep_logs=os.environ.get("E2E_KEEP_LOGS")) as world:
        suite = Suite(world, tap)
        try:
            suite.make_locale()
            if suite.install_catalogue():
                suite.setup()
                suite.ctl_round(ZH)
                suite.ctl_round("C")
                suite.su_round(ZH, USERS[0])
                suite.su_round("C", USERS[1])
                suite.errno_round(ZH)
        except Exception:
            tap.ok(False, "the i18n scenarios ran to completion", diag=traceback.format_exc())
    signal.alarm(0)
    return 1 if tap.failed else 0


def outer():
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root (a private mount namespace, su)")
        return 0
    if os.environ.get("CB_USE_NLS", "yes") != "yes":
        print("1..0 # SKIP built without NLS (configure --disable-nls)")
        return 0
    locale_before = sorted(os.listdir("/usr/lib/locale"))

    def locale_unchanged():
        locale_after = sorted(os.listdir("/usr/lib/locale"))
        return (locale_after == locale_before,
                "the host's /usr/lib/locale is unchanged (%s)" % " ".join(locale_after), [])
    return e2elib.outer(os.path.realpath(__file__), WATCHDOG + 15, [locale_unchanged])


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--inner":
        sys.exit(inner(sys.argv[2]))
    sys.exit(outer())
