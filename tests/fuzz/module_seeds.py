#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seed corpus of fuzz_module (tests/fuzz/corpus/module/).

The input format is described at the top of tests/fuzz/fuzz_module.c; the
helpers below spell it. Each seed is one meaningful scenario: a login that
works, a wrong password, a service that fails, an answer that is not JSON,
the code methods, the account phase without a sign-in, a password change,
a name the module refuses, and offline login (a sign-in with the cached
password, a wrong one, the lock after offline_max_failures, each event that
removes the cached password, the answers that are not an outage). Run it after changing the format:

    tests/fuzz/module_seeds.py [DIR]

and check that each seed still does what its name says:

    FUZZ_MODULE_VERBOSE=1 BUILDDIR/tests/fuzz/bin/fuzz_module SEED
"""
import os
import struct
import sys

METHODS = ["password", "sms", "email", "password+sms", "password+email",
           "password|sms", "password|email", "sms|email", "password|sms|email"]
USERS = ["fzalice", "fzbob", "fzcarol", "root", "fzmallory", "fz bad", "fzdave"]
SERVICES = ["sshd", "sudo", "su", "login", "cbfuzz"]
STATUSES = [200, 201, 204, 299, 302, 400, 401, 403, 404, 409, 429, 500, 503, 100, 199, 600]
FAILURES = ["transport", "timeout", "tls", "protocol", "nomem"]

# header byte 1
IUU_ARG, IUU_CONF, USE_FIRST_PASS, TRY_FIRST_PASS = 1, 2, 4, 8
ACCT_WITHOUT_AUTH, SMS_PROMPT_PHONE, OTP_ECHO, DEBUG = 16, 32, 64, 128

# operations
AUTH, ACCT, SETCRED, OPEN, CLOSE, CHAUTHTOK = 0, 1, 2, 3, 4, 5
SILENT = 8


def NEW(user, toggle_offline=False):
    """a new transaction for user (offline_login turned on or off first)"""
    return 6 | USERS.index(user) << 4 | (0x80 if toggle_offline else 0)


def USER(user):
    """PAM_USER changed in this transaction"""
    return 7 | USERS.index(user) << 4


def header(method="password", user="fzalice", service="cbfuzz", flags=DEBUG,
           require_admin=False, group_map=False, retries=3, interval=0, grace=0,
           offline=False, skip=False, max_failures=3):
    b2 = USERS.index(user) | SERVICES.index(service) << 3
    b2 |= (0x40 if require_admin else 0) | (0x80 if group_map else 0)
    b3 = (retries - 1) | [0, 60, 3600, 86400].index(interval) << 3
    b3 |= [0, 60, 86400, 2592000].index(grace) << 5
    b4 = (1 if offline else 0) | (2 if skip else 0) | (max_failures - 1) << 2
    return bytes([METHODS.index(method), flags, b2, b3, b4])


def item(tag, payload):
    return bytes([tag]) + struct.pack("<H", len(payload)) + payload


def ops(*codes):
    return item(0, bytes(codes))


def password(extra=b""):
    """a fresh password (holds the marker)"""
    return item(1, b"\x00" + extra)


def same_password(back=None):
    """a password given before: the last, or back from the newest"""
    return item(1, b"\x06" + (bytes([back]) if back is not None else b""))


def code(digits):
    return item(1, b"\x01" + digits)


def raw(text):
    return item(1, b"\x02" + text)


def conv_error():
    return item(1, b"\x03")


def http(status, body, json=True):
    return item(2, bytes([0 if json else 1, STATUSES.index(status)]) + body)


def fail(what):
    return item(2, bytes([2, FAILURES.index(what)]))


def authtok_password():
    return item(3, b"\x00")


def authtok_none():
    return item(3, b"\x02")


def authtok_same_password(back=0):
    return item(3, b"\x03" + bytes([back]))


TOKENS = (b'{"token_type":"Bearer","access_token":"$A","refresh_token":"$R",'
          b'"id_token":"$I","expires_in":7200,"scope":"user","sub":"$B",'
          b'"groups":["admin","dev"]}')
TOKENS_OTHER = TOKENS.replace(b"$B", b"$O")
VERIFICATION = b'{"verification_id":"$V","expires_in":600,"is_user":true}'
VERIFIED = b'{"verification_token":"$T","expires_in":600}'
ME_ALICE = (b'{"sub":"$B","username":"alice","phone_number":"+86 13800000001",'
            b'"email":"alice@example.com","status":"ACTIVE","has_password":true,'
            b'"groups":[{"id":"admin"}]}')
REVOKED = b"{}"

SIGNIN_OK = http(200, TOKENS)
SMS_OK = http(200, VERIFICATION) + code(b"123 456") + http(200, VERIFIED) + SIGNIN_OK

SEEDS = {
    # the whole transaction of a password login, and its logout
    "password-ok": header() + ops(AUTH, ACCT, SETCRED, OPEN, CLOSE) + password() + SIGNIN_OK,
    "password-wrong": header(service="sshd") + ops(AUTH, ACCT) + password() + http(
        400, b'{"error":"invalid_password","error_description":"wrong password"}'),
    "password-500": header() + ops(AUTH) + password() + http(
        500, b'{"error":"internal","error_description":"try later"}'),
    "password-html": header() + ops(AUTH) + password() + http(
        200, b"<html>captive portal</html>", json=False),
    "garbage-json": header() + ops(AUTH) + password() + http(
        200, b'{"access_token":"$A","sub":"$B",}'),
    "password-timeout": header() + ops(AUTH) + password() + fail("timeout"),
    # another person's sub on a bound account: refused, and revoked
    "password-other-sub": header() + ops(AUTH, ACCT) + password() + http(
        200, TOKENS_OTHER) + http(200, REVOKED),
    # an unbound account is bound by its first sign-in
    "first-login-binds": header(user="fzbob") + ops(AUTH, ACCT, NEW("fzbob"), AUTH)
    + password() + SIGNIN_OK + password() + http(200, TOKENS_OTHER) + http(200, REVOKED),
    "sms-ok": header(method="sms", service="sshd") + ops(AUTH, ACCT, OPEN, CLOSE) + SMS_OK,
    "sms-wrong-code": header(method="sms") + ops(AUTH) + http(200, VERIFICATION)
    + code(b"111111") + http(400, b'{"error":"invalid_verification_code"}')
    + code(b"12a") + code(b"123456") + http(200, VERIFIED) + SIGNIN_OK,
    "sms-rate-limited": header(method="sms") + ops(AUTH) + http(
        429, b'{"error":"resource_exhausted","error_description":"retry after 57 seconds"}'),
    "email-ok": header(method="email", user="fzcarol") + ops(AUTH, ACCT) + http(
        200, VERIFICATION) + code(b"654321") + http(200, VERIFIED) + SIGNIN_OK,
    "password+sms-ok": header(method="password+sms") + ops(AUTH, ACCT) + password()
    + SIGNIN_OK + http(200, ME_ALICE) + http(200, REVOKED) + SMS_OK,
    "password+email-wrong-password": header(method="password+email") + ops(AUTH)
    + password() + http(400, b'{"error":"invalid_password"}') + code(b"000000")
    + code(b"000001") + code(b"000002"),
    "menu-sms": header(method="password|sms|email") + ops(AUTH) + raw(b"2") + SMS_OK,
    "menu-password": header(method="password|email", service="sudo") + ops(AUTH, ACCT)
    + raw(b"password") + password() + SIGNIN_OK,
    # sudo's cached credentials: the account phase with no sign-in, checked
    # live with the refresh token of the last one
    "acct-without-auth": header(flags=DEBUG | ACCT_WITHOUT_AUTH, service="sudo")
    + ops(AUTH, ACCT, OPEN, CLOSE, NEW("fzalice"), ACCT) + password() + SIGNIN_OK
    + http(200, TOKENS) + http(200, ME_ALICE),
    "acct-recorded": header(flags=DEBUG | ACCT_WITHOUT_AUTH, interval=3600)
    + ops(AUTH, NEW("fzalice"), ACCT) + password() + SIGNIN_OK,
    "acct-offline-grace": header(flags=DEBUG | ACCT_WITHOUT_AUTH, grace=86400)
    + ops(AUTH, NEW("fzalice"), ACCT) + password() + SIGNIN_OK + fail("transport"),
    "acct-blocked": header(flags=DEBUG | ACCT_WITHOUT_AUTH) + ops(AUTH, NEW("fzalice"), ACCT)
    + password() + SIGNIN_OK + http(200, TOKENS)
    + http(200, ME_ALICE.replace(b"ACTIVE", b"BLOCKED")) + http(200, REVOKED),
    "acct-other-sub": header(flags=DEBUG | ACCT_WITHOUT_AUTH) + ops(AUTH, NEW("fzalice"), ACCT)
    + password() + SIGNIN_OK + http(200, TOKENS) + http(200, ME_ALICE.replace(b"$B", b"$O"))
    + http(200, REVOKED),
    "acct-no-auth-denied": header(service="su") + ops(ACCT),
    # a sign-in without a refresh token leaves nothing to check the account
    # with (this crashed the account phase once)
    "acct-no-refresh-token": header(flags=DEBUG | ACCT_WITHOUT_AUTH, service="sudo")
    + ops(AUTH, CLOSE, NEW("fzalice"), ACCT) + password()
    + http(200, TOKENS.replace(b'"refresh_token":"$R",', b"")),
    # a logout revokes a session unless it is the newest (kept for the
    # account phase)
    "close-older-session": header() + ops(AUTH, NEW("fzalice"), AUTH, CLOSE, NEW("fzalice"), CLOSE)
    + password() + SIGNIN_OK + password() + SIGNIN_OK + http(200, REVOKED),
    "chauthtok": header(service="cbfuzz") + ops(CHAUTHTOK) + password() + password()
    + same_password() + SIGNIN_OK + http(200, b'{"sudo_token":"$S","expires_in":300}')
    + http(204, b"") + http(200, REVOKED),
    "use-first-pass": header(flags=DEBUG | USE_FIRST_PASS) + ops(AUTH, ACCT)
    + authtok_password() + SIGNIN_OK,
    # names the module refuses: a local account with a record, under sms
    # (a decoy code prompt), and an unknown one with ignore_unknown_user
    "refused-root-sms": header(method="sms", user="root") + ops(AUTH, ACCT)
    + code(b"123456") + code(b"123457") + code(b"123458"),
    "ignore-unknown": header(user="fzmallory", flags=DEBUG | IUU_ARG) + ops(AUTH, ACCT, OPEN),
    # a sign-in kept for one user does not count for another
    "user-changed": header(require_admin=True, group_map=True) + ops(
        AUTH, USER("fzbob"), ACCT, USER("fzalice"), ACCT) + password() + SIGNIN_OK,
    # ... nor for a second local account of the same person
    "user-changed-same-sub": header() + ops(AUTH, USER("fzdave"), ACCT) + password() + SIGNIN_OK,
    # offline login: an online sign-in caches the password; with the service
    # unreachable (no connection, 503, a captive page) it signs in, and the
    # account phase after it asks nothing
    "offline-ok": header(offline=True) + ops(AUTH, NEW("fzalice"), AUTH, ACCT) + password()
    + SIGNIN_OK + same_password() + fail("transport"),
    "offline-503-silent": header(offline=True, service="sudo") + ops(
        AUTH, NEW("fzalice"), AUTH | SILENT, ACCT) + password() + SIGNIN_OK + same_password()
    + http(503, b'{"error":"unavailable"}'),
    "offline-captive-page": header(offline=True, service="sshd") + ops(AUTH, NEW("fzalice"), AUTH)
    + password() + SIGNIN_OK + same_password() + http(200, b"<html>log in here</html>",
                                                         json=False),
    # a wrong password offline, counted; then the right one
    "offline-wrong": header(offline=True) + ops(AUTH, NEW("fzalice"), AUTH, NEW("fzalice"), AUTH)
    + password() + SIGNIN_OK + password() + fail("timeout") + same_password(1)
    + fail("transport"),
    # offline_max_failures = 2 wrong passwords lock it: the right one is
    # refused until the next online sign-in, which unlocks it
    "offline-locked": header(offline=True, max_failures=2) + ops(
        AUTH, NEW("fzalice"), AUTH, AUTH, AUTH, AUTH, AUTH) + password() + SIGNIN_OK
    + password() + fail("transport") + password() + fail("transport") + same_password(2)
    + fail("transport") + same_password(2) + SIGNIN_OK + same_password(2) + fail("transport"),
    # what removes the cached password: the service's "blocked"; its "wrong
    # password" for that very password (changed at CloudBase); a password
    # change (the new one is cached); a live check that refuses the account;
    # an online sign-in with offline_login off
    "offline-removed-blocked": header(offline=True) + ops(AUTH, AUTH, NEW("fzalice"), AUTH)
    + password() + SIGNIN_OK + same_password() + http(403, b'{"error":"user_blocked"}')
    + same_password() + fail("transport"),
    "offline-removed-changed": header(offline=True) + ops(AUTH, AUTH, AUTH) + password()
    + SIGNIN_OK + same_password() + http(400, b'{"error":"invalid_password"}')
    + same_password() + fail("transport"),
    "offline-chauthtok": header(offline=True) + ops(AUTH, CHAUTHTOK, AUTH, AUTH) + password()
    + SIGNIN_OK + same_password() + password() + same_password() + SIGNIN_OK
    + http(200, b'{"sudo_token":"$S","expires_in":300}') + http(204, b"") + http(200, REVOKED)
    + same_password(1) + fail("transport") + same_password() + fail("transport"),
    "offline-removed-code-blocked": header(method="password|sms", offline=True)
    + ops(AUTH, AUTH, NEW("fzalice"), AUTH) + raw(b"1") + password() + SIGNIN_OK + raw(b"2")
    + http(200, VERIFICATION) + code(b"123456") + http(200, VERIFIED)
    + http(403, b'{"error":"user_blocked"}') + raw(b"1") + same_password() + fail("transport"),
    "offline-removed-send-blocked": header(method="password|sms", offline=True)
    + ops(AUTH, AUTH, NEW("fzalice"), AUTH) + raw(b"1") + password() + SIGNIN_OK + raw(b"2")
    + http(403, b'{"error":"user_blocked"}') + raw(b"1") + same_password() + fail("transport"),
    "offline-removed-chauthtok": header(offline=True) + ops(AUTH, CHAUTHTOK, AUTH, CHAUTHTOK, AUTH)
    + password() + SIGNIN_OK + same_password() + password() + same_password()
    + http(400, b'{"error":"invalid_password"}') + same_password(1) + SIGNIN_OK
    + same_password(1) + password() + same_password() + http(403, b'{"error":"user_blocked"}')
    + same_password(2) + fail("transport"),
    "offline-live-check-refused": header(offline=True, flags=DEBUG | ACCT_WITHOUT_AUTH,
                                         service="sudo")
    + ops(AUTH, NEW("fzalice"), ACCT, NEW("fzalice"), AUTH) + password() + SIGNIN_OK
    + http(400, b'{"error":"invalid_grant"}') + same_password() + fail("transport"),
    "offline-turned-off": header(offline=True) + ops(AUTH, NEW("fzalice", True), AUTH,
                                                     NEW("fzalice", True), AUTH)
    + password() + SIGNIN_OK + password() + SIGNIN_OK + same_password(1) + fail("transport"),
    # try_first_pass: the earlier module's password, refused by the service
    # as the cached one, is gone for the retyped one too
    "offline-try-first-pass": header(offline=True, flags=DEBUG | TRY_FIRST_PASS)
    + ops(AUTH, NEW("fzalice"), AUTH) + authtok_none() + password() + SIGNIN_OK
    + authtok_same_password() + http(400, b'{"error":"invalid_password"}') + same_password()
    + fail("transport"),
    # never on a decision or an answer of the service, nor TLS
    "offline-not-on-tls": header(offline=True) + ops(AUTH, AUTH) + password() + SIGNIN_OK
    + same_password() + fail("tls"),
    "offline-not-on-json": header(offline=True) + ops(AUTH, AUTH, AUTH) + password()
    + SIGNIN_OK + same_password() + http(200, b"{}") + same_password()
    + http(400, b'{"error":null}'),
    # the factors: password+sms offline only with offline_second_factor = skip;
    # a code alone never
    "offline-password+sms-skip": header(method="password+sms", offline=True, skip=True)
    + ops(AUTH, NEW("fzalice"), AUTH) + password() + SIGNIN_OK + http(200, ME_ALICE)
    + http(200, REVOKED) + SMS_OK + same_password() + fail("transport"),
    "offline-password+sms-require": header(method="password+sms", offline=True)
    + ops(AUTH, NEW("fzalice"), AUTH) + password() + SIGNIN_OK + http(200, ME_ALICE)
    + http(200, REVOKED) + SMS_OK + same_password() + fail("transport"),
    "offline-sms": header(method="sms", offline=True) + ops(AUTH) + fail("transport"),
    "offline-menu-password": header(method="password|sms", offline=True)
    + ops(AUTH, NEW("fzalice"), AUTH) + raw(b"1") + password() + SIGNIN_OK + raw(b"password")
    + same_password() + http(500, b"bad gateway", json=False),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "module")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
