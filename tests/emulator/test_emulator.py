#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Tests of the CloudBase Auth emulator; prints TAP for the automake TAP driver.

    /usr/bin/python3 tests/emulator/test_emulator.py [-v] [TestClass[.test_name] ...]

Each test class runs one emulator (certificates are made once, in a shared directory)
and resets it before every test.  Time-dependent rules use the emulator's clock
control, never sleep.
"""

import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import unittest

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)

from emulib import ControlError, Emulator  # noqa: E402

ROOT = tempfile.mkdtemp(prefix="emu-test-")
CERT_DIR = os.path.join(ROOT, "certs")
CLIENT = ("test-env", "test-secret")
ALICE = {"username": "alice", "password": "Alice-Passw0rd"}
ALICE_PHONE = "+86 13800000001"
ALICE_SUB = "9c5b1f3e-0a6d-4a57-9a43-2b8f0c7e1a01"
TOKEN_KEYS = {"token_type", "access_token", "refresh_token", "expires_in", "scope", "sub",
              "groups"}
USER_ME_KEYS = {"sub", "name", "picture", "username", "email", "phone_number", "providers",
                "status", "gender", "groups", "meta", "created_at", "updated_at",
                "last_login", "has_password", "user_id", "type"}
ERROR_KEYS = {"error", "error_code", "error_description"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


class Reply:
    """What one API call got back."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def error(self):
        try:
            return self.json.get("error")
        except ValueError:
            return None

    def __repr__(self):
        return "<Reply %d %r>" % (self.status, self.body[:300])


def basic(client_id, secret):
    return "Basic " + base64.b64encode(("%s:%s" % (client_id, secret)).encode()).decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class EmulatorTestCase(unittest.TestCase):
    """One emulator per class, reset before each test."""

    emulator_options = {}

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator(os.path.join(ROOT, cls.__name__), cert_dir=CERT_DIR,
                           extra_args=["--verbose"], **cls.emulator_options)

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def setUp(self):
        self.emu.reset()

    # -- talking to the API ---------------------------------------------------

    def context(self):
        return ssl.create_default_context(cafile=self.emu.ca_file)

    def connect(self, timeout=10):
        if self.emu.plain_http:
            return http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=timeout)
        return http.client.HTTPSConnection("127.0.0.1", self.emu.port, timeout=timeout,
                                           context=self.context())

    def call(self, method, path, body=None, client=CLIENT, bearer=None, query="",
             headers=None, raw=None, conn=None, timeout=10):
        """One request to /auth/v1<path>; Basic client auth unless bearer or client=None."""
        hdrs = {"x-request-id": "req-test"}
        if bearer:
            hdrs["Authorization"] = "Bearer " + bearer
        elif client:
            hdrs["Authorization"] = basic(*client)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        own = conn is None
        conn = conn or self.connect(timeout)
        try:
            conn.request(method, "/auth/v1" + path + ("?" + query if query else ""),
                         body=data, headers=hdrs)
            resp = conn.getresponse()
            return Reply(resp.status, resp.headers, resp.read())
        finally:
            if own:
                conn.close()

    def post(self, path, body, **kw):
        return self.call("POST", path, body, **kw)

    def assertError(self, reply, error, status=None):
        self.assertEqual(reply.error, error, reply)
        self.assertEqual(set(reply.json), ERROR_KEYS, reply)
        self.assertIsInstance(reply.json["error_code"], int)
        self.assertIsInstance(reply.json["error_description"], str)
        if status is not None:
            self.assertEqual(reply.status, status, reply)
        return reply

    def assertOk(self, reply):
        self.assertEqual(reply.status, 200, reply)
        self.assertNotIn("error", reply.json)
        return reply.json

    # -- flows ------------------------------------------------------------------

    def sign_in(self, username="alice", password="Alice-Passw0rd"):
        return self.assertOk(self.post("/signin", {"username": username,
                                                   "password": password}))

    def send_code(self, contact=ALICE_PHONE, target="USER"):
        key = "email" if "@" in contact else "phone_number"
        return self.assertOk(self.post("/verification", {key: contact, "target": target}))

    def code_for(self, contact=ALICE_PHONE):
        return self.emu.outbox(contact)["code"]

    def verification_token(self, contact=ALICE_PHONE):
        vid = self.send_code(contact, "ANY")["verification_id"]
        reply = self.post("/verification/verify", {"verification_id": vid,
                                                   "verification_code": self.code_for(contact)})
        return self.assertOk(reply)["verification_token"]

    def sudo_token(self, access_token, password="Alice-Passw0rd"):
        reply = self.post("/user/sudo", {"password": password}, bearer=access_token)
        return self.assertOk(reply)["sudo_token"]

    def introspect(self, access_token):
        return self.assertOk(self.call("GET", "/token/introspect", bearer=access_token))

    def user_me(self, access_token):
        return self.call("GET", "/user/me", bearer=access_token)


# ---------------------------------------------------------------------------

class TestShapes(EmulatorTestCase):
    """Success shapes of every endpoint, as the contract lists them."""

    def test_signin_password_token_response(self):
        tokens = self.sign_in()
        self.assertEqual(set(tokens), TOKEN_KEYS)
        self.assertEqual(tokens["token_type"], "Bearer")
        self.assertEqual(tokens["expires_in"], 7200)
        self.assertEqual(tokens["scope"], "user")
        self.assertEqual(tokens["sub"], ALICE_SUB)
        self.assertEqual(tokens["groups"], ["user", "admin"])
        self.assertLessEqual(len(tokens["refresh_token"]), 128)
        self.assertLessEqual(len(tokens["access_token"]), 4096)

    def test_access_token_is_rs256_jwt_signed_by_certs_key(self):
        token = self.sign_in()["access_token"]
        head, payload, signature = token.split(".")
        header = json.loads(b64url_decode(head))
        claims = json.loads(b64url_decode(payload))
        self.assertEqual(header["alg"], "RS256")
        jwks = self.assertOk(self.call("GET", "/certs", client=None))
        key = [k for k in jwks["keys"] if k["kid"] == header["kid"]][0]
        self.assertEqual((key["kty"], key["alg"]), ("RSA", "RS256"))
        public = rsa.RSAPublicNumbers(int.from_bytes(b64url_decode(key["e"]), "big"),
                                      int.from_bytes(b64url_decode(key["n"]), "big")
                                      ).public_key()
        public.verify(b64url_decode(signature), ("%s.%s" % (head, payload)).encode(),
                      padding.PKCS1v15(), hashes.SHA256())
        self.assertEqual(claims["iss"], "http://test-env.ap-shanghai.tcb-api.tencentcloudapi.com")
        self.assertEqual((claims["sub"], claims["aud"], claims["project_id"]),
                         (ALICE_SUB, "test-env", "test-env"))
        self.assertEqual(claims["exp"] - claims["iat"], 7200)
        for name in ("scope", "provider_type", "user_type", "meta"):
            self.assertIn(name, claims)

    def test_signin_by_email_and_by_phone(self):
        self.assertEqual(self.sign_in("alice@example.com")["sub"], ALICE_SUB)
        self.assertEqual(self.sign_in(ALICE_PHONE)["sub"], ALICE_SUB)

    def test_token_password_grant(self):
        tokens = self.assertOk(self.post("/token", dict(ALICE, grant_type="password")))
        self.assertEqual(set(tokens), TOKEN_KEYS)

    def test_verification_and_verify(self):
        sent = self.send_code()
        self.assertEqual(set(sent), {"verification_id", "expires_in", "is_user"})
        self.assertEqual((sent["expires_in"], sent["is_user"]), (600, True))
        code = self.code_for()
        self.assertRegex(code, r"^\d{6}$")
        verified = self.assertOk(self.post("/verification/verify", {
            "verification_id": sent["verification_id"], "verification_code": code}))
        self.assertEqual(set(verified), {"verification_token", "expires_in"})
        self.assertEqual(verified["expires_in"], 600)

    def test_signin_with_verification_token_tolerates_phone_number(self):
        token = self.verification_token()
        tokens = self.assertOk(self.post("/signin", {"verification_token": token,
                                                     "phone_number": ALICE_PHONE}))
        self.assertEqual(set(tokens), TOKEN_KEYS)
        self.assertEqual(tokens["sub"], ALICE_SUB)

    def test_signin_with_email_code(self):
        token = self.verification_token("bob@example.com")
        tokens = self.assertOk(self.post("/signin", {"verification_token": token,
                                                     "email": "bob@example.com"}))
        self.assertEqual(tokens["groups"], ["user"])

    def test_introspect_active_and_inactive(self):
        tokens = self.sign_in()
        active = self.introspect(tokens["access_token"])
        self.assertEqual(set(active), {"token_type", "client_id", "sub", "scope"})
        self.assertEqual((active["sub"], active["client_id"]), (ALICE_SUB, "test-env"))
        self.assertEqual(self.introspect("not-a-token"), {})

    def test_user_me(self):
        tokens = self.sign_in()
        me = self.assertOk(self.user_me(tokens["access_token"]))
        self.assertEqual(set(me), USER_ME_KEYS)
        self.assertEqual(me["groups"], [{"id": "user"}, {"id": "admin"}])
        self.assertEqual((me["sub"], me["username"], me["phone_number"], me["status"]),
                         (ALICE_SUB, "alice", ALICE_PHONE, "ACTIVE"))
        self.assertIs(me["has_password"], True)
        self.assertRegex(me["last_login"], RFC3339)
        self.assertRegex(me["created_at"], RFC3339)
        self.assertIsInstance(me["providers"], list)
        self.assertIsInstance(me["providers"][0], dict)
        self.assertIsInstance(me["meta"], dict)

    def test_sudo_and_password_change(self):
        access = self.sign_in()["access_token"]
        sudo = self.assertOk(self.post("/user/sudo", {"password": "Alice-Passw0rd"},
                                       bearer=access))
        self.assertEqual(set(sudo), {"sudo_token", "expires_in"})
        self.assertEqual(sudo["expires_in"], 900)
        reply = self.call("PATCH", "/user/password", {"new_password": "New-Passw0rd-1"},
                          bearer=access, query="sudo_token=" + sudo["sudo_token"])
        self.assertEqual(self.assertOk(reply), {})
        self.sign_in(password="New-Passw0rd-1")

    def test_revoke(self):
        access = self.sign_in()["access_token"]
        self.assertEqual(self.assertOk(self.call("POST", "/revoke", bearer=access)), {})

    def test_certs_jwks(self):
        jwks = self.assertOk(self.call("GET", "/certs"))
        self.assertEqual(set(jwks["keys"][0]) >= {"kid", "kty", "alg", "n", "e"}, True)

    def test_error_body_and_content_type(self):
        reply = self.assertError(self.post("/signin", {"username": "alice", "password": "x"}),
                                 "invalid_password", 400)
        self.assertEqual(reply.headers["Content-Type"], "application/json; charset=utf-8")
        self.assertEqual(int(reply.headers["Content-Length"]), len(reply.body))

    def test_unknown_path_and_wrong_method(self):
        self.assertError(self.call("GET", "/nope"), "not_found", 404)
        reply = self.call("GET", "/signin")
        self.assertEqual(reply.status, 405)
        self.assertIn("error", reply.json)

    def test_invalid_json_and_non_object(self):
        self.assertError(self.post("/signin", None, raw=b"{not json"), "invalid_argument", 400)
        self.assertError(self.post("/signin", ["alice"]), "invalid_argument", 400)
        self.assertError(self.post("/signin", None, raw=json.dumps(ALICE).encode(),
                                   headers={"Content-Type": "text/plain"}),
                         "invalid_argument", 400)

    def test_signin_needs_exactly_one_mode(self):
        token = self.verification_token()
        self.assertError(self.post("/signin", dict(ALICE, verification_token=token)),
                         "invalid_argument", 400)
        self.assertError(self.post("/signin", {}), "invalid_argument", 400)
        self.assertError(self.post("/signin", {"username": "alice"}), "invalid_argument", 400)


class TestClientAuth(EmulatorTestCase):
    """Basic client authentication and Bearer tokens."""

    def test_wrong_secret(self):
        self.assertError(self.post("/signin", ALICE, client=("test-env", "nope")),
                         "unauthorized_client", 401)

    def test_wrong_client_id_and_missing_auth(self):
        self.assertError(self.post("/signin", ALICE, client=("other", "test-secret")),
                         "unauthorized_client", 401)
        self.assertError(self.post("/signin", ALICE, client=None), "unauthorized_client", 401)
        self.assertError(self.post("/verification", {"phone_number": ALICE_PHONE,
                                                     "target": "USER"}, client=None),
                         "unauthorized_client", 401)

    def test_client_id_in_query(self):
        self.assertOk(self.post("/signin", ALICE, client=None, query="client_id=test-env"))
        self.assertError(self.post("/signin", ALICE, client=None, query="client_id=x"),
                         "unauthorized_client", 401)

    def test_empty_secret_when_configured_empty(self):
        self.emu.settings(client_secret="")
        self.assertOk(self.post("/signin", ALICE, client=("test-env", "")))
        self.assertError(self.post("/signin", ALICE, client=("test-env", "x")),
                         "unauthorized_client", 401)

    def test_bearer_required_on_user_endpoints(self):
        self.assertError(self.call("GET", "/user/me"), "unauthenticated", 401)
        self.assertError(self.user_me("garbage"), "unauthenticated", 401)
        self.assertError(self.call("GET", "/token/introspect"), "unauthenticated", 401)

    def test_expired_access_token(self):
        access = self.sign_in()["access_token"]
        self.emu.advance_clock(7201)
        self.assertError(self.user_me(access), "unauthenticated", 401)
        self.assertEqual(self.introspect(access), {})


class TestSignInRules(EmulatorTestCase):
    """Password sign-in errors and the lockout."""

    def test_wrong_password(self):
        self.assertError(self.post("/signin", {"username": "alice", "password": "bad"}),
                         "invalid_password", 400)

    def test_unknown_user(self):
        self.assertError(self.post("/signin", {"username": "zoe", "password": "x"}),
                         "user_not_found", 404)

    def test_pending_and_blocked(self):
        self.assertError(self.post("/signin", {"username": "carol",
                                               "password": "Carol-Passw0rd"}),
                         "user_pending", 403)
        self.assertError(self.post("/signin", {"username": "dave",
                                               "password": "Dave-Passw0rd"}),
                         "user_blocked", 403)

    def test_password_not_set(self):
        self.assertError(self.post("/signin", {"username": "erin", "password": "anything1A"}),
                         "password_not_set", 400)

    def test_require_sms_and_two_factor(self):
        self.assertError(self.post("/signin", {"username": "grace",
                                               "password": "Grace-Passw0rd"}),
                         "phone_required", 400)
        self.assertError(self.post("/signin", {"username": "grace", "password": "bad"}),
                         "invalid_password", 400)
        self.assertError(self.post("/signin", {"username": "heidi",
                                               "password": "Heidi-Passw0rd"}),
                         "two_factor_required", 400)

    def test_sms_signin_for_passwordless_and_sms_only_users(self):
        for phone in ("+86 13800000005", "+86 13800000007"):
            token = self.verification_token(phone)
            self.assertOk(self.post("/signin", {"verification_token": token}))

    def wrong(self, n, username="alice"):
        return [self.post("/signin", {"username": username, "password": "bad"}).error
                for _ in range(n)]

    def test_lockout_then_captcha(self):
        self.assertEqual(self.wrong(5), ["invalid_password"] * 5)
        reply = self.assertError(self.post("/signin", ALICE), "invalid_status", 429)
        self.assertGreater(int(reply.headers["Retry-After"]), 0)
        self.assertEqual(self.wrong(4), ["invalid_status"] * 4)
        self.assertEqual(self.wrong(1), ["captcha_required"])
        self.assertError(self.post("/signin", ALICE), "captcha_required", 400)
        self.emu.advance_clock(301)
        self.sign_in()

    def test_lockout_expires(self):
        self.wrong(5)
        self.assertError(self.post("/signin", ALICE), "invalid_status")
        self.emu.advance_clock(301)
        self.sign_in()
        self.assertEqual(self.wrong(1), ["invalid_password"])

    def test_success_resets_failure_count(self):
        self.wrong(4)
        self.sign_in()
        self.assertEqual(self.wrong(4), ["invalid_password"] * 4)
        self.sign_in()

    def test_lockout_is_per_user(self):
        self.wrong(5)
        self.sign_in("bob", "Bob-Passw0rd")

    def test_password_grant_shares_the_lockout(self):
        self.wrong(5)
        self.assertError(self.post("/token", dict(ALICE, grant_type="password")),
                         "invalid_status", 429)


class TestVerificationRules(EmulatorTestCase):
    """SMS/email codes: formats, targets, rate limit, attempts, expiry, single use."""

    def verify(self, vid, code):
        return self.post("/verification/verify", {"verification_id": vid,
                                                  "verification_code": code})

    def wrong_code(self, code):
        return "%06d" % ((int(code) + 1) % 1000000)

    def test_phone_format(self):
        for phone in ("+8613800000001", "13800000001", "+86-13800000001", "+86 1380 0000"):
            self.assertError(self.post("/verification", {"phone_number": phone,
                                                         "target": "ANY"}),
                             "invalid_phone_number", 400)

    def test_targets(self):
        self.assertError(self.post("/verification", {"phone_number": "+86 13900000000",
                                                     "target": "USER"}),
                         "user_not_found", 404)
        self.assertError(self.post("/verification", {"phone_number": ALICE_PHONE,
                                                     "target": "NOT_USER"}),
                         "already_exists", 409)
        fresh = self.send_code("+86 13900000001", "NOT_USER")
        self.assertNotIn("is_user", fresh)
        self.assertNotIn("is_user", self.send_code("+86 13900000002", "ANY"))
        self.assertIs(self.send_code("+86 13800000002", "ANY")["is_user"], True)

    def test_exactly_one_contact(self):
        self.assertError(self.post("/verification", {"target": "ANY"}), "invalid_argument")
        self.assertError(self.post("/verification", {"phone_number": ALICE_PHONE,
                                                     "email": "alice@example.com",
                                                     "target": "ANY"}), "invalid_argument")

    def test_rate_limit_one_code_per_minute(self):
        self.send_code()
        reply = self.assertError(self.post("/verification", {"phone_number": ALICE_PHONE,
                                                             "target": "USER"}),
                                 "rate_limit_exceeded", 429)
        wait = int(reply.headers["Retry-After"])
        self.assertTrue(0 < wait <= 60)
        self.assertIn("%d seconds" % wait, reply.json["error_description"])
        self.send_code("+86 13800000002")  # another number is not limited
        self.emu.advance_clock(61)
        self.send_code()
        self.assertEqual(self.emu.outbox(ALICE_PHONE)["count"], 2)

    def test_email_codes(self):
        """E-mail codes: their own outbox and rate limit, errors for unknown
        and malformed addresses."""
        sent = self.send_code("alice@example.com")
        entry = self.emu.outbox("alice@example.com")
        self.assertEqual(entry["verification_id"], sent["verification_id"])
        self.assertNotIn("alice@example.com", self.emu.outbox())
        self.assertIn("alice@example.com", self.emu.call("GET", "/email-outbox"))
        # the SMS limit does not hold the e-mail one, nor the other way round
        self.send_code(ALICE_PHONE)
        reply = self.assertError(self.post("/verification", {"email": "alice@example.com",
                                                             "target": "USER"}),
                                 "rate_limit_exceeded", 429)
        self.assertIn("retry after", reply.json["error_description"])
        self.assertError(self.post("/verification", {"email": "nobody@example.com",
                                                     "target": "USER"}),
                         "user_not_found", 404)
        for bad in ("alice", "alice@", "@example.com", "a b@example.com", "alice@example",
                    "a@" + "x" * 250 + ".com"):
            self.assertError(self.post("/verification", {"email": bad, "target": "ANY"}),
                             "invalid_argument", 400)
        self.emu.advance_clock(61)
        self.send_code("alice@example.com")
        self.assertEqual(self.emu.outbox("alice@example.com")["count"], 2)
        self.assertEqual(self.emu.outbox(ALICE_PHONE)["count"], 1)

    def test_outbox_entry(self):
        sent = self.send_code()
        entry = self.emu.outbox(ALICE_PHONE)
        self.assertEqual(entry["verification_id"], sent["verification_id"])
        self.assertEqual(entry["count"], 1)
        self.assertAlmostEqual(entry["sent_at"], time.time(), delta=60)
        self.assertIn(ALICE_PHONE, self.emu.outbox())

    def test_five_wrong_codes_abort(self):
        vid = self.send_code()["verification_id"]
        code = self.code_for()
        for _ in range(4):
            self.assertError(self.verify(vid, self.wrong_code(code)),
                             "invalid_verification_code", 400)
        self.assertError(self.verify(vid, self.wrong_code(code)), "aborted", 409)
        self.assertError(self.verify(vid, code), "aborted", 409)

    def test_expired_code(self):
        vid = self.send_code()["verification_id"]
        self.emu.advance_clock(601)
        reply = self.assertError(self.verify(vid, self.code_for()), "invalid_argument", 400)
        self.assertIn("expired", reply.json["error_description"])

    def test_verification_id_verifies_once(self):
        vid = self.send_code()["verification_id"]
        self.assertOk(self.verify(vid, self.code_for()))
        self.assertError(self.verify(vid, self.code_for()), "invalid_argument", 400)

    def test_verification_token_single_use(self):
        token = self.verification_token()
        self.assertOk(self.post("/signin", {"verification_token": token}))
        self.assertError(self.post("/signin", {"verification_token": token}),
                         "invalid_argument", 400)

    def test_verification_token_expires(self):
        token = self.verification_token()
        self.emu.advance_clock(601)
        reply = self.assertError(self.post("/signin", {"verification_token": token}),
                                 "invalid_argument", 400)
        self.assertIn("expired", reply.json["error_description"])

    def test_verification_token_for_unknown_phone(self):
        token = self.verification_token("+86 13900000009")
        self.assertError(self.post("/signin", {"verification_token": token}),
                         "user_not_found", 404)

    def test_sms_signin_of_blocked_user(self):
        token = self.verification_token("+86 13800000004")
        self.assertError(self.post("/signin", {"verification_token": token}),
                         "user_blocked", 403)


class TestTokenRules(EmulatorTestCase):
    """Refresh, revoke, expiry, sudo, password change."""

    def refresh(self, refresh_token):
        return self.post("/token", {"grant_type": "refresh_token",
                                    "refresh_token": refresh_token})

    def test_refresh_rotates(self):
        first = self.sign_in()
        second = self.assertOk(self.refresh(first["refresh_token"]))
        self.assertEqual(set(second), TOKEN_KEYS)
        self.assertNotEqual(second["refresh_token"], first["refresh_token"])
        self.assertNotEqual(second["access_token"], first["access_token"])
        third = self.assertOk(self.refresh(second["refresh_token"]))
        self.assertOk(self.user_me(third["access_token"]))

    def test_refresh_token_reuse_ends_the_session(self):
        first = self.sign_in()
        second = self.assertOk(self.refresh(first["refresh_token"]))
        # [guess] the traded token again: taken for a stolen one
        self.assertError(self.refresh(first["refresh_token"]), "invalid_grant", 400)
        self.assertError(self.refresh(second["refresh_token"]), "invalid_grant", 400)
        self.assertError(self.user_me(second["access_token"]), "unauthenticated", 401)
        # another session of the same user lives on
        self.assertOk(self.refresh(self.sign_in()["refresh_token"]))

    def test_refresh_of_a_blocked_user(self):
        tokens = self.sign_in()
        self.emu.upsert_user(username="alice", status="BLOCKED")
        self.assertError(self.refresh(tokens["refresh_token"]), "user_blocked", 403)

    def test_refresh_token_lifetime(self):
        tokens = self.sign_in()
        self.emu.advance_clock(30 * 86400 + 1)
        self.assertError(self.refresh(tokens["refresh_token"]), "invalid_grant", 400)

    def test_refresh_needs_client_auth(self):
        tokens = self.sign_in()
        self.assertError(self.post("/token", {"grant_type": "refresh_token",
                                              "refresh_token": tokens["refresh_token"]},
                                   client=("test-env", "bad")), "unauthorized_client", 401)

    def test_unsupported_grant_type(self):
        self.assertError(self.post("/token", {"grant_type": "client_credentials"}),
                         "unsupported_grant_type", 400)

    def test_revoke_ends_the_session(self):
        tokens = self.sign_in()
        self.assertOk(self.post("/revoke", {}, bearer=tokens["access_token"]))
        self.assertEqual(self.introspect(tokens["access_token"]), {})
        self.assertError(self.user_me(tokens["access_token"]), "unauthenticated", 401)
        self.assertError(self.refresh(tokens["refresh_token"]), "invalid_grant", 400)

    def test_revoke_keeps_other_sessions(self):
        one, two = self.sign_in(), self.sign_in()
        self.assertOk(self.post("/revoke", {}, bearer=one["access_token"]))
        self.assertOk(self.user_me(two["access_token"]))

    def test_password_change_revokes_other_sessions(self):
        other = self.sign_in()
        mine = self.sign_in()
        sudo = self.sudo_token(mine["access_token"])
        self.assertOk(self.call("PATCH", "/user/password",
                                {"new_password": "Another-Passw0rd", "sudo_token": sudo},
                                bearer=mine["access_token"]))
        self.assertError(self.user_me(other["access_token"]), "unauthenticated", 401)
        self.assertError(self.refresh(other["refresh_token"]), "invalid_grant", 400)
        self.assertOk(self.user_me(mine["access_token"]))
        self.assertError(self.post("/signin", ALICE), "invalid_password")
        self.sign_in(password="Another-Passw0rd")

    def test_weak_passwords(self):
        access = self.sign_in()["access_token"]
        sudo = self.sudo_token(access)
        for weak in ("Sh0rt!", "alllowercase", "lowerand123", "A" * 30 + "a1" * 20):
            self.assertError(self.call("PATCH", "/user/password",
                                       {"new_password": weak, "sudo_token": sudo},
                                       bearer=access), "weak_password", 400)
        self.assertOk(self.call("PATCH", "/user/password",
                                {"new_password": "lower-and-123", "sudo_token": sudo},
                                bearer=access))

    def test_sudo_token_checks(self):
        access = self.sign_in()["access_token"]
        patch = {"new_password": "Fine-Passw0rd"}
        self.assertError(self.call("PATCH", "/user/password", patch, bearer=access),
                         "invalid_argument", 400)
        self.assertError(self.call("PATCH", "/user/password", patch, bearer=access,
                                   query="sudo_token=forged"), "permission_denied", 403)
        bob_sudo = self.sudo_token(self.sign_in("bob", "Bob-Passw0rd")["access_token"],
                                   "Bob-Passw0rd")
        self.assertError(self.call("PATCH", "/user/password", dict(patch, sudo_token=bob_sudo),
                                   bearer=access), "permission_denied", 403)
        sudo = self.sudo_token(access)
        self.emu.advance_clock(901)
        access = self.sign_in()["access_token"]
        self.assertError(self.call("PATCH", "/user/password", dict(patch, sudo_token=sudo),
                                   bearer=access), "permission_denied", 403)

    def test_sudo_errors_and_code_mode(self):
        access = self.sign_in()["access_token"]
        self.assertError(self.post("/user/sudo", {"password": "bad"}, bearer=access),
                         "invalid_password", 400)
        self.assertError(self.post("/user/sudo", {}, bearer=access), "invalid_argument", 400)
        sudo = self.assertOk(self.post("/user/sudo",
                                       {"verification_token": self.verification_token()},
                                       bearer=access))
        self.assertEqual(set(sudo), {"sudo_token", "expires_in"})

    def test_old_and_confirm_password(self):
        access = self.sign_in()["access_token"]
        sudo = self.sudo_token(access)
        body = {"new_password": "Fine-Passw0rd", "sudo_token": sudo}
        self.assertError(self.call("PATCH", "/user/password", dict(body, old_password="bad"),
                                   bearer=access), "invalid_password", 400)
        self.assertError(self.call("PATCH", "/user/password",
                                   dict(body, confirm_password="other"), bearer=access),
                         "invalid_argument", 400)
        self.assertOk(self.call("PATCH", "/user/password",
                                dict(body, old_password="Alice-Passw0rd",
                                     confirm_password="Fine-Passw0rd"), bearer=access))


class TestVariants(EmulatorTestCase):
    """Every [var] switch."""

    def test_variant_list(self):
        names = {"error-200", "invalid-username-or-password", "introspect-query-token",
                 "revoke-basic-body", "sudo-token-query", "sudo-token-body", "no-groups",
                 "empty-groups", "signin-extra-fields"}
        variants = self.emu.variants()
        self.assertTrue(names <= set(variants))
        self.assertFalse(any(variants.values()))
        with self.assertRaises(ControlError):
            self.emu.set_variant("no-such-variant")

    def test_error_200(self):
        self.emu.set_variant("error-200")
        reply = self.post("/signin", {"username": "alice", "password": "bad"})
        self.assertError(reply, "invalid_password", 200)
        self.assertError(self.user_me("garbage"), "unauthenticated", 200)
        self.emu.set_variant("error-200", False)
        self.assertError(self.post("/signin", {"username": "alice", "password": "bad"}),
                         "invalid_password", 400)

    def test_invalid_username_or_password(self):
        self.emu.set_variant("invalid-username-or-password")
        self.assertError(self.post("/signin", {"username": "alice", "password": "bad"}),
                         "invalid_username_or_password", 400)

    def test_introspect_query_token(self):
        access = self.sign_in()["access_token"]
        self.emu.set_variant("introspect-query-token")
        self.assertError(self.call("GET", "/token/introspect", bearer=access),
                         "unauthorized_client", 401)
        active = self.assertOk(self.call("GET", "/token/introspect", query="token=" + access))
        self.assertEqual(active["sub"], ALICE_SUB)
        self.assertEqual(self.assertOk(self.call("GET", "/token/introspect",
                                                 query="token=nope")), {})

    def test_revoke_basic_body(self):
        access = self.sign_in()["access_token"]
        self.emu.set_variant("revoke-basic-body")
        self.assertError(self.post("/revoke", {}, bearer=access), "unauthorized_client", 401)
        self.assertOk(self.post("/revoke", {"token": access}))
        self.assertEqual(self.introspect(access), {})
        self.assertOk(self.post("/revoke", {"token": "unknown"}))

    def test_sudo_token_query(self):
        access = self.sign_in()["access_token"]
        sudo = self.sudo_token(access)
        self.emu.set_variant("sudo-token-query")
        body = {"new_password": "Fine-Passw0rd", "sudo_token": sudo}
        self.assertError(self.call("PATCH", "/user/password", body, bearer=access),
                         "invalid_argument", 400)
        self.assertOk(self.call("PATCH", "/user/password", body, bearer=access,
                                query="sudo_token=" + sudo))

    def test_sudo_token_body(self):
        access = self.sign_in()["access_token"]
        sudo = self.sudo_token(access)
        self.emu.set_variant("sudo-token-body")
        body = {"new_password": "Fine-Passw0rd"}
        self.assertError(self.call("PATCH", "/user/password", body, bearer=access,
                                   query="sudo_token=" + sudo), "invalid_argument", 400)
        self.assertOk(self.call("PATCH", "/user/password", dict(body, sudo_token=sudo),
                                bearer=access))

    def test_no_groups_and_empty_groups(self):
        self.emu.set_variant("no-groups")
        self.assertNotIn("groups", self.sign_in())
        self.emu.set_variant("no-groups", False)
        self.emu.set_variant("empty-groups")
        self.assertEqual(self.sign_in()["groups"], [])

    def test_signin_extra_fields(self):
        self.emu.set_variant("signin-extra-fields")
        tokens = self.sign_in()
        self.assertTrue(TOKEN_KEYS < set(tokens))
        self.assertIn("unknown_object", tokens)
        self.assertIn("unknown_object", self.send_code())
        self.assertEqual(self.introspect("nope"), {})

    def test_omit_empty(self):
        self.emu.set_variant("omit-empty")
        me = self.assertOk(self.user_me(self.sign_in("frank", "Frank-Passw0rd")
                                        ["access_token"]))
        self.assertNotIn("phone_number", me)
        self.assertNotIn("picture", me)
        self.assertIn("sub", me)


class TestFaults(EmulatorTestCase):
    """Every fault, count expiry and matching."""

    def signin(self, **kw):
        return self.post("/signin", ALICE, **kw)

    def test_latency(self):
        self.emu.add_fault(path="/auth/v1/signin", fault="latency", seconds=0.5)
        start = time.monotonic()
        self.assertOk(self.signin())
        self.assertGreaterEqual(time.monotonic() - start, 0.5)

    def test_status_with_retry_after(self):
        self.emu.add_fault(path="/auth/v1/signin", fault="status", status=503,
                           headers={"Retry-After": "7"})
        reply = self.assertError(self.signin(), "unavailable", 503)
        self.assertEqual(reply.headers["Retry-After"], "7")
        self.emu.clear_faults()
        self.emu.add_fault(path="/auth/v1/signin", fault="status", status=429,
                           error="resource_exhausted")
        self.assertError(self.signin(), "resource_exhausted", 429)

    def test_malformed(self):
        self.emu.add_fault(path="/auth/v1/signin", fault="malformed")
        reply = self.signin()
        self.assertEqual(reply.status, 200)
        self.assertTrue(reply.headers["Content-Type"].startswith("application/json"))
        with self.assertRaises(ValueError):
            json.loads(reply.body)

    def test_truncated(self):
        full = len(self.signin().body)
        self.emu.add_fault(path="/auth/v1/signin", fault="truncated")
        reply = self.signin()
        self.assertEqual(reply.status, 200)
        self.assertEqual(int(reply.headers["Content-Length"]), len(reply.body))
        self.assertLess(len(reply.body), full * 0.6)
        with self.assertRaises(ValueError):
            json.loads(reply.body)

    def test_empty(self):
        self.emu.add_fault(path="/auth/v1/signin", fault="empty")
        reply = self.signin()
        self.assertEqual((reply.status, reply.body), (200, b""))

    def test_html(self):
        self.emu.add_fault(path="/auth/v1/signin", fault="html")
        reply = self.signin()
        self.assertEqual(reply.status, 200)
        self.assertTrue(reply.headers["Content-Type"].startswith("text/html"))
        self.assertIn(b"<html>", reply.body)

    def test_oversized(self):
        self.emu.add_fault(path="/auth/v1/signin", fault="oversized", count=1)
        reply = self.signin()
        self.assertEqual(len(reply.body), 5 * 1024 * 1024)
        self.assertIn("padding", reply.json)
        self.emu.add_fault(path="/auth/v1/signin", fault="oversized", bytes=100000)
        self.assertEqual(len(self.signin().body), 100000)

    def test_drip(self):
        self.emu.add_fault(path="/auth/v1/certs", fault="drip", interval=0.2)
        raw = socket.create_connection(("127.0.0.1", self.emu.port), timeout=5)
        with self.context().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"GET /auth/v1/certs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data, times = b"", []
            for _ in range(3):
                data += tls.recv(1)
                times.append(time.monotonic())
        self.assertEqual(data, b"HTT")
        self.assertGreaterEqual(times[2] - times[0], 0.35)

    def test_close_mid_body(self):
        self.emu.add_fault(path="/auth/v1/signin", fault="close")
        with self.assertRaises(http.client.IncompleteRead):
            self.signin()

    def test_close_before_answer(self):
        # read and acted on (the code went out), then the connection dies
        self.emu.add_fault(path="/auth/v1/verification", fault="close-before-answer", count=1)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.send_code()
        self.assertEqual(self.emu.outbox(ALICE_PHONE)["count"], 1)
        log = self.emu.requests()
        self.assertEqual((log[-1]["path"], log[-1]["fault"]),
                         ("/auth/v1/verification", "close-before-answer"))

    def test_idle_close(self):
        # a keep-alive answer, then the server closes after its idle time
        self.emu.add_fault(path="/auth/v1/certs", fault="idle-close", seconds=0.3)
        raw = socket.create_connection(("127.0.0.1", self.emu.port), timeout=5)
        with self.context().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            request = b"GET /auth/v1/certs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            tls.sendall(request)
            data = b""
            while not data.endswith(b"}"):
                data += tls.recv(65536)
            self.assertIn(b"Connection: keep-alive", data)
            # a request within the idle time is served on the same connection
            time.sleep(0.1)
            tls.sendall(request)
            data = b""
            while not data.endswith(b"}"):
                data += tls.recv(65536)
            self.assertTrue(data.startswith(b"HTTP/1.1 200"))
            start = time.monotonic()
            self.assertEqual(tls.recv(100), b"")  # then the server closes
            self.assertLess(time.monotonic() - start, 2)
        log = self.emu.requests()
        self.assertEqual(log[-1]["connection"], log[-2]["connection"])

    def test_hang(self):
        self.emu.add_fault(path="/auth/v1/signin", fault="hang")
        start = time.monotonic()
        with self.assertRaises(socket.timeout):
            self.signin(timeout=1)
        self.assertLess(time.monotonic() - start, 5)

    def test_redirect(self):
        self.emu.add_fault(path="/auth/v1/signin", fault="redirect", count=1)
        reply = self.signin()
        self.assertEqual(reply.status, 302)
        self.assertEqual(reply.headers["Location"],
                         "https://127.0.0.1:%d/auth/v1/signin" % self.emu.port)
        self.emu.add_fault(path="/auth/v1/signin", fault="redirect",
                           location="https://evil.example/steal")
        self.assertEqual(self.signin().headers["Location"], "https://evil.example/steal")

    def test_extra_fields(self):
        self.emu.add_fault(path="/auth/v1/signin", fault="extra-fields")
        tokens = self.assertOk(self.signin())
        self.assertTrue(TOKEN_KEYS < set(tokens))
        self.assertEqual(tokens["unknown_object"]["nested"][1], "two")

    def test_raw(self):
        body = '{"access_token": 5, "sub": {"x": [1]}, "sub": "dup"}'
        self.emu.add_fault(path="/auth/v1/signin", fault="raw", status=200,
                           headers={"Content-Type": "application/json", "X-Odd": "1"},
                           body=body, count=1)
        reply = self.signin()
        self.assertEqual((reply.status, reply.body), (200, body.encode()))
        self.assertEqual(reply.headers["X-Odd"], "1")
        self.emu.add_fault(path="/auth/v1/signin", fault="raw", status=418, count=1,
                           headers=[["X-Dup", "1"], ["X-Dup", "2"]],
                           body_b64=base64.b64encode(b"\x00\xff\xfe").decode())
        reply = self.signin()
        self.assertEqual((reply.status, reply.body), (418, b"\x00\xff\xfe"))
        self.assertEqual(reply.headers.get_all("X-Dup"), ["1", "2"])
        self.emu.add_fault(path="/auth/v1/signin", fault="raw", status=200,
                           headers={"Content-Length": "100"}, body="{}")
        with self.assertRaises(http.client.IncompleteRead):
            self.signin()

    def test_count_expiry(self):
        self.emu.add_fault(path="/auth/v1/signin", fault="status", status=500, count=2)
        self.assertEqual(len(self.emu.faults()), 1)
        self.assertError(self.signin(), "internal", 500)
        self.assertEqual(self.emu.faults()[0]["count"], 1)
        self.assertError(self.signin(), "internal", 500)
        self.assertOk(self.signin())
        self.assertEqual(self.emu.faults(), [])

    def test_per_user_matching(self):
        self.emu.add_fault(path="/auth/v1/signin", user="bob", fault="status", status=503)
        self.assertOk(self.signin())
        self.assertError(self.post("/signin", {"username": "bob", "password": "Bob-Passw0rd"}),
                         "unavailable", 503)
        self.assertError(self.post("/signin", {"username": "bob@example.com",
                                               "password": "Bob-Passw0rd"}),
                         "unavailable", 503)

    def test_user_matches_phone_and_verification_owner(self):
        self.emu.add_fault(path="/auth/v1/verification/verify", user="alice", fault="status",
                           status=503)
        vid = self.send_code()["verification_id"]
        self.assertError(self.post("/verification/verify", {
            "verification_id": vid, "verification_code": self.code_for()}), "unavailable", 503)
        self.emu.clear_faults()
        self.emu.add_fault(path="/auth/v1/verification", user="alice", fault="status",
                           status=503)
        self.assertError(self.post("/verification", {"phone_number": ALICE_PHONE,
                                                     "target": "USER"}), "unavailable", 503)
        self.send_code("+86 13800000002")

    def test_path_forms(self):
        self.emu.add_fault(path="/auth/v1/verification", fault="status", status=503)
        self.assertError(self.post("/verification", {"phone_number": ALICE_PHONE,
                                                     "target": "USER"}), "unavailable")
        self.assertError(self.post("/verification/verify", {"verification_id": "x",
                                                            "verification_code": "1"}),
                         "invalid_argument")
        self.emu.clear_faults()
        self.emu.add_fault(path="/auth/v1/verification*", fault="status", status=503)
        self.assertError(self.post("/verification/verify", {"verification_id": "x",
                                                            "verification_code": "1"}),
                         "unavailable")
        self.emu.clear_faults()
        self.emu.add_fault(path="/signin", fault="status", status=503)
        self.assertError(self.signin(), "unavailable")
        self.emu.clear_faults()
        self.emu.add_fault(fault="status", status=503, method="GET")
        self.assertError(self.call("GET", "/certs"), "unavailable")
        self.assertOk(self.signin())

    def test_bad_fault_rules_refused(self):
        for rule in ({"fault": "nope"}, {"fault": "status"}, {"fault": "latency", "count": 0},
                     {"fault": "latency", "seconds": "1"}, {"fault": "raw", "status": "x"},
                     {"fault": "raw", "headers": "X-A: 1"}, {"fault": "raw", "body_b64": "!"},
                     {"fault": "empty", "path": 5}):
            with self.assertRaises(ControlError):
                self.emu.add_fault(**rule)

    def test_fault_recorded_in_request_log(self):
        self.emu.add_fault(path="/auth/v1/signin", fault="empty")
        self.signin()
        self.assertEqual(self.emu.requests()[-1]["fault"], "empty")


class TestConnections(EmulatorTestCase):
    """Keep-alive, one write per response, TCP_NODELAY, HTTP framing."""

    def test_two_requests_one_connection_one_handshake(self):
        conn = self.connect()
        try:
            self.sign_in()
            self.emu.reset_stats()
            self.post("/signin", ALICE, conn=conn)
            self.call("GET", "/certs", conn=conn)
        finally:
            conn.close()
        stats = self.emu.stats()
        self.assertEqual((stats["connections"], stats["tls_handshakes"], stats["requests"]),
                         (1, 1, 2))
        self.assertEqual(stats["by_path"], {"/auth/v1/signin": 1, "/auth/v1/certs": 1})
        log = self.emu.requests()[-2:]
        self.assertEqual(log[0]["connection"], log[1]["connection"])

    def test_one_write_per_response_and_nodelay(self):
        conn = self.connect()
        try:
            for i in range(20):
                self.call("GET", "/certs" if i % 2 else "/nope", conn=conn)
        finally:
            conn.close()
        stats = self.emu.stats()
        self.assertEqual(stats["connections"], 1)
        self.assertEqual((stats["responses"], stats["writes"]), (20, 20))
        self.assertEqual(stats["max_writes_per_response"], 1)
        self.assertEqual(stats["nodelay"], stats["connections"])

    def test_connection_close_honoured(self):
        reply = self.call("GET", "/certs", headers={"Connection": "close"})
        self.assertEqual(reply.headers["Connection"], "close")

    def raw_exchange(self, request):
        raw = socket.create_connection(("127.0.0.1", self.emu.port), timeout=5)
        with self.context().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(request[0])
            if len(request) > 1:
                self.assertTrue(tls.recv(100).startswith(b"HTTP/1.1 100 Continue"))
                tls.sendall(request[1])
            data = b""
            while b"\r\n\r\n" not in data or not data.endswith(b"}"):
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data

    def test_expect_100_continue(self):
        body = json.dumps(ALICE).encode()
        head = ("POST /auth/v1/signin HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                "Content-Type: application/json\r\nContent-Length: %d\r\n"
                "Expect: 100-continue\r\nConnection: close\r\n\r\n"
                % (basic(*CLIENT), len(body))).encode()
        data = self.raw_exchange([head, body])
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:200])

    def test_chunked_request_body(self):
        body = json.dumps(ALICE).encode()
        request = ("POST /auth/v1/signin HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                   "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                   "Connection: close\r\n\r\n%x\r\n" % (basic(*CLIENT), len(body))).encode()
        data = self.raw_exchange([request + body + b"\r\n0\r\n\r\n"])
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:200])


class TestDns(EmulatorTestCase):
    """--dns-port: the DNS faults (fast, slow-<ms>, silent, anything else)."""

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator(os.path.join(ROOT, cls.__name__), cert_dir=CERT_DIR,
                           extra_args=["--verbose", "--dns-port", "0"])

    @staticmethod
    def query(port, name, qtype=1, timeout=3.0):
        qname = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
        packet = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + qname + \
            qtype.to_bytes(2, "big") + b"\x00\x01"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(packet, ("127.0.0.1", port))
            start = time.monotonic()
            try:
                data = s.recv(512)
            except socket.timeout:
                return None, time.monotonic() - start
            return data, time.monotonic() - start

    def port(self):
        with open(os.path.join(self.emu.state_dir, "dns-port")) as f:
            return int(f.read())

    def test_fast(self):
        data, _ = self.query(self.port(), "fast.cb.test")
        self.assertEqual(data[:2], b"\x12\x34")
        self.assertEqual(data[3] & 0x0f, 0)                 # NOERROR
        self.assertEqual(int.from_bytes(data[6:8], "big"), 1)  # one answer
        self.assertEqual(data[-4:], bytes([127, 0, 0, 1]))
        data, _ = self.query(self.port(), "fast.cb.test", qtype=28)
        self.assertEqual((data[3] & 0x0f, int.from_bytes(data[6:8], "big")), (0, 0))

    def test_slow(self):
        data, took = self.query(self.port(), "slow-400.cb.test")
        self.assertEqual(data[-4:], bytes([127, 0, 0, 1]))
        self.assertGreaterEqual(took, 0.35)

    def test_silent_and_unknown(self):
        data, took = self.query(self.port(), "silent.cb.test", timeout=0.5)
        self.assertIsNone(data)
        data, _ = self.query(self.port(), "other.cb.test")
        self.assertEqual(data[3] & 0x0f, 3)                 # NXDOMAIN
        names = [q["name"] for q in self.emu.call("GET", "/dns")["queries"]]
        self.assertEqual(names, ["silent.cb.test", "other.cb.test"])


class TestCertificates(unittest.TestCase):
    """Each --cert variant against a client that trusts only the test CA."""

    def start(self, cert):
        emu = Emulator(os.path.join(ROOT, "cert-" + cert), cert=cert, cert_dir=CERT_DIR)
        self.addCleanup(emu.stop)
        return emu

    def handshake(self, emu):
        ctx = ssl.create_default_context(cafile=emu.ca_file)
        with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                return tls.version()

    def curl(self, emu, *trust):
        return subprocess.run(["curl", "-sS", "-o", "/dev/null", "--max-time", "5"]
                              + list(trust) + [emu.base_url + "/certs"],
                              capture_output=True).returncode

    def test_good_accepted_with_ca_file_and_capath(self):
        emu = self.start("good")
        self.assertTrue(self.handshake(emu).startswith("TLS"))
        self.assertEqual(self.curl(emu, "--capath", emu.ca_path), 0)
        self.assertEqual(self.curl(emu, "--cacert", emu.ca_file), 0)
        hashed = [n for n in os.listdir(emu.ca_path) if n.endswith(".0")]
        self.assertEqual(len(hashed), 1)
        self.assertTrue(os.path.islink(os.path.join(emu.ca_path, hashed[0])))
        self.assertEqual(emu.stats()["tls_handshakes"], 3)

    def check_rejected(self, cert):
        emu = self.start(cert)
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.handshake(emu)
        self.assertNotEqual(self.curl(emu, "--capath", emu.ca_path), 0)
        # curl checks the host name after the handshake, Python's ssl during it.
        self.assertGreaterEqual(emu.stats()["tls_handshake_failures"], 1)

    def test_wrong_host_rejected(self):
        self.check_rejected("wrong-host")

    def test_self_signed_rejected(self):
        self.check_rejected("self-signed")

    def test_expired_rejected(self):
        self.check_rejected("expired")

    def test_not_yet_valid_rejected(self):
        self.check_rejected("not-yet-valid")


class TestControl(EmulatorTestCase):
    """The control API and emuctl."""

    def test_tokens_issued(self):
        first = self.sign_in()
        second = self.sign_in("bob", "Bob-Passw0rd")
        issued = self.emu.tokens()
        self.assertEqual([(t["username"], t["access_token"], t["refresh_token"]) for t in issued],
                         [("alice", first["access_token"], first["refresh_token"]),
                          ("bob", second["access_token"], second["refresh_token"])])
        self.emu.reset()
        self.assertEqual(self.emu.tokens(), [])

    def emuctl(self, *args):
        out = subprocess.run([os.path.join(HERE, "emuctl"), "--state-dir",
                              self.emu.state_dir] + list(args),
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout.strip()

    def test_request_log(self):
        self.post("/signin", {"username": "alice", "password": "bad"},
                  headers={"x-request-id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
                           "x-device-id": "0123456789abcdef0123456789abcdef"})
        entry = self.emu.requests()[-1]
        self.assertEqual(entry["request_id"], "1b4e28ba-2fa1-41d2-883f-0016d3cca427")
        self.assertEqual(entry["device_id"], "0123456789abcdef0123456789abcdef")
        self.assertEqual(entry["headers"]["x-request-id"], entry["request_id"])
        self.assertEqual(entry["headers"]["authorization"], "Basic")
        self.assertEqual((entry["basic_user"], entry["basic_secret_present"]),
                         ("test-env", True))
        self.assertNotIn("test-secret", json.dumps(entry))
        self.assertEqual(entry["body"]["password"], "bad")
        self.assertEqual((entry["method"], entry["path"], entry["status"], entry["error"]),
                         ("POST", "/auth/v1/signin", 400, "invalid_password"))
        access = self.sign_in()["access_token"]
        self.user_me(access)
        entry = self.emu.requests()[-1]
        self.assertEqual(entry["headers"]["authorization"], "Bearer")
        self.assertNotIn(access, json.dumps(entry))
        self.emu.clear_requests()
        self.assertEqual(self.emu.requests(), [])

    def test_sessions_in_request_log_and_list(self):
        """Which session a request made, used or ended; a second revoke of a
        session shows as a failed revoke of the same session."""
        self.emu.clear_requests()
        one = self.post("/signin", ALICE, headers={"x-request-id": "req-one"}).json
        two = self.sign_in()
        self.assertOk(self.post("/revoke", {}, bearer=one["access_token"]))
        self.assertError(self.post("/revoke", {}, bearer=one["access_token"]),
                         "unauthenticated", 401)
        self.assertOk(self.user_me(two["access_token"]))
        log = self.emu.requests()
        made, made2, revoked, again, used = [e["session"] for e in log]
        self.assertTrue(made and made2 and made != made2)
        self.assertEqual((revoked, again, used), (made, made, made2))
        self.assertEqual(self.emu.requests()[0]["request_id"], "req-one")
        self.assertNotIn(one["access_token"], json.dumps(log))
        sessions = {s["id"]: s for s in self.emu.sessions()}
        self.assertEqual(sessions[made]["request_id"], "req-one")
        self.assertEqual((sessions[made]["revoked"], sessions[made]["revoked_by"],
                          sessions[made]["active"]), (True, "revoke", False))
        self.assertEqual((sessions[made2]["revoked"], sessions[made2]["active"]),
                         (False, True))
        self.assertEqual(sessions[made]["username"], "alice")
        self.assertNotIn(two["refresh_token"], json.dumps(sessions))
        self.assertIn(made2, self.emuctl("sessions"))

    def test_request_log_keeps_last_200(self):
        conn = self.connect()
        try:
            for i in range(205):
                self.call("GET", "/certs", conn=conn, query="n=%d" % i)
        finally:
            conn.close()
        log = self.emu.requests()
        self.assertEqual(len(log), 200)
        self.assertEqual(log[-1]["query"], "n=204")

    def test_outbox_lookup(self):
        self.send_code()
        self.send_code("bob@example.com")
        self.assertEqual(self.emuctl("outbox", ALICE_PHONE), self.code_for())
        self.assertRegex(self.emu.outbox("bob@example.com")["code"], r"^\d{6}$")
        with self.assertRaises(ControlError) as ctx:
            self.emu.outbox("+86 13000000000")
        self.assertEqual(ctx.exception.status, 404)

    def test_upsert_user(self):
        self.emu.upsert_user(username="alice", password="Changed-Passw0rd",
                             sub="new-sub-for-alice")
        self.assertEqual(self.sign_in(password="Changed-Passw0rd")["sub"], "new-sub-for-alice")
        self.emu.upsert_user(username="alice", status="BLOCKED")
        self.assertError(self.post("/signin", {"username": "alice",
                                               "password": "Changed-Passw0rd"}), "user_blocked")
        self.emu.upsert_user(username="zoe", password="Zoe-Passw0rd", phone_number="+86 1")
        self.assertEqual(self.emu.user("zoe")["groups"], ["user"])
        self.sign_in("zoe", "Zoe-Passw0rd")

    def test_reset_restores_everything(self):
        self.emu.upsert_user(username="alice", status="BLOCKED")
        self.emu.set_variant("error-200")
        self.emu.add_fault(fault="status", status=500)
        self.emu.advance_clock(1000)
        self.emu.settings(lockout_threshold=1)
        self.emu.reset()
        self.assertEqual(self.emu.faults(), [])
        self.assertFalse(self.emu.variants()["error-200"])
        self.assertEqual(self.emu.clock()["offset"], 0)
        self.assertEqual(self.emu.settings()["lockout_threshold"], 5)
        self.assertEqual(self.emu.stats()["requests"], 0)
        self.sign_in()

    def test_emuctl_commands(self):
        self.assertEqual(json.loads(self.emuctl("health")), {"ok": True})
        self.emuctl("fault", '{"path": "/signin", "fault": "status", "status": 503}')
        self.assertError(self.post("/signin", ALICE), "unavailable", 503)
        self.assertEqual(json.loads(self.emuctl("stats"))["requests"], 1)
        self.assertEqual(json.loads(self.emuctl("clock", "601"))["offset"], 601)
        self.emuctl("variant", "error-200", "on")
        self.assertTrue(self.emu.variants()["error-200"])
        self.emuctl("reset")
        self.assertEqual(self.emu.faults(), [])
        self.assertEqual(int(self.emuctl("port")), self.emu.port)

    def test_unknown_control_route(self):
        with self.assertRaises(ControlError) as ctx:
            self.emu.call("GET", "/nope")
        self.assertEqual(ctx.exception.status, 404)


class TestStartOptions(EmulatorTestCase):
    """Seed file, --faults file, --var and --plain-http; reset re-applies them."""

    @classmethod
    def setUpClass(cls):
        os.makedirs(ROOT, exist_ok=True)
        seed = os.path.join(ROOT, "seed-options.json")
        with open(seed, "w") as f:
            json.dump({"env": "other-env", "client_secret": "", "lockout_threshold": 2,
                       "users": [{"username": "zed", "password": "Zed-Passw0rd",
                                  "groups": ["ops"]}]}, f)
        faults = os.path.join(ROOT, "faults-options.json")
        with open(faults, "w") as f:
            json.dump([{"path": "/auth/v1/user/me", "fault": "status", "status": 503}], f)
        cls.emulator_options = {"seed": seed, "faults": faults, "plain_http": True,
                                "vars": ("error-200",)}
        super().setUpClass()

    def test_plain_http(self):
        self.assertTrue(self.emu.base_url.startswith("http://127.0.0.1:"))
        self.assertEqual(self.emu.stats()["tls_handshakes"], 0)

    def test_seed_env_and_empty_secret(self):
        tokens = self.assertOk(self.post("/signin", {"username": "zed",
                                                     "password": "Zed-Passw0rd"},
                                         client=("other-env", "")))
        self.assertEqual(tokens["groups"], ["ops"])
        claims = json.loads(b64url_decode(tokens["access_token"].split(".")[1]))
        self.assertEqual(claims["aud"], "other-env")

    def test_cli_variant_and_faults_survive_reset(self):
        self.emu.reset()
        self.assertTrue(self.emu.variants()["error-200"])
        self.assertEqual(len(self.emu.faults()), 1)
        reply = self.post("/signin", {"username": "zed", "password": "bad"},
                          client=("other-env", ""))
        self.assertError(reply, "invalid_password", 200)
        self.assertError(self.call("GET", "/user/me", bearer="x"), "unavailable", 503)

    def test_seed_lockout_threshold(self):
        client = ("other-env", "")
        for _ in range(2):
            self.post("/signin", {"username": "zed", "password": "bad"}, client=client)
        self.assertError(self.post("/signin", {"username": "zed", "password": "Zed-Passw0rd"},
                                   client=client), "invalid_status")


class TestLifecycle(unittest.TestCase):
    """Start-up files, clean exit on SIGTERM, certificate reuse."""

    def test_sigterm_exits_cleanly_and_keeps_files(self):
        state = os.path.join(ROOT, "lifecycle")
        emu = Emulator(state, cert_dir=CERT_DIR)
        with open(os.path.join(state, "pid")) as f:
            self.assertEqual(int(f.read()), emu.proc.pid)
        before = os.stat(os.path.join(CERT_DIR, "server-good.pem")).st_mtime_ns
        emu.proc.send_signal(signal.SIGTERM)
        self.assertEqual(emu.proc.wait(5), 0)
        for name in ("ca.pem", "capath", "port", "control-port"):
            self.assertTrue(os.path.exists(os.path.join(state, name)), name)
        emu = Emulator(state, cert_dir=CERT_DIR)
        emu.stop()
        self.assertEqual(emu.proc.returncode, 0)
        after = os.stat(os.path.join(CERT_DIR, "server-good.pem")).st_mtime_ns
        self.assertEqual(before, after)

    def test_emuctl_start_and_stop(self):
        state = os.path.join(ROOT, "emuctl-start")
        emuctl = os.path.join(HERE, "emuctl")
        out = subprocess.run([emuctl, "--state-dir", state, "start", "--cert-dir", CERT_DIR,
                              "--plain-http"], capture_output=True, text=True, timeout=15)
        self.assertEqual(out.returncode, 0, out.stderr)
        started = json.loads(out.stdout)
        self.assertTrue(started["base_url"].startswith("http://127.0.0.1:"))
        out = subprocess.run([emuctl, "--state-dir", state, "stop"], capture_output=True,
                             text=True, timeout=15)
        self.assertEqual(json.loads(out.stdout), {"stopped": started["pid"]})
        out = subprocess.run([emuctl, "--state-dir", state, "stop"], capture_output=True,
                             text=True, timeout=15)
        self.assertEqual(json.loads(out.stdout), {"not_running": started["pid"]})

    def test_state_dir_holds_its_own_certificates(self):
        state = os.path.join(ROOT, "own-certs")
        with Emulator(state) as emu:
            for name in ("ca.pem", "ca.key", "server-good.pem", "jwt-key.pem"):
                self.assertTrue(os.path.exists(os.path.join(state, name)), name)
            self.assertEqual(emu.health(), {"ok": True})


# ---------------------------------------------------------------------------
# TAP output
# ---------------------------------------------------------------------------

class TapResult(unittest.TestResult):
    """Prints `ok N - name` / `not ok N - name` with the failure as # lines."""

    def __init__(self):
        super().__init__()
        self.number = 0
        self.bailed = False

    @staticmethod
    def name(test):
        return "%s.%s" % (type(test).__name__, test._testMethodName)

    def emit(self, ok, test, diagnostic=None, directive=""):
        self.number += 1
        print("%s %d - %s%s" % ("ok" if ok else "not ok", self.number, self.name(test),
                                directive))
        for line in (diagnostic or "").rstrip().splitlines():
            print("# " + line)
        if not ok and hasattr(type(test), "emu"):
            print("# emulator log tail (%s):" % test.emu.log_path)
            with open(test.emu.log_path, errors="replace") as f:
                for line in f.readlines()[-10:]:
                    print("#   " + line.rstrip())
        sys.stdout.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self.emit(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.emit(False, test, self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        if not isinstance(test, unittest.TestCase):  # setUpClass / tearDownClass
            print("Bail out! %s: %s" % (test.description, err[1]))
            self.bailed = True
            self.stop()
            return
        self.emit(False, test, self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.emit(True, test, directive=" # SKIP " + reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.emit(True, test, directive=" # TODO expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.emit(False, test, "unexpected success")


def main(argv):
    module = sys.modules[__name__]
    loader = unittest.TestLoader()
    names = [a for a in argv if not a.startswith("-")]
    suite = loader.loadTestsFromNames(names, module) if names \
        else loader.loadTestsFromModule(module)
    print("1..%d" % suite.countTestCases())
    sys.stdout.flush()
    result = TapResult()
    start = time.monotonic()
    try:
        suite.run(result)
    except Exception:
        print("Bail out! %s" % traceback.format_exc().splitlines()[-1])
        return 1
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)
    print("# %d run, %d failed, %d errors, %.1f s" % (
        result.testsRun, len(result.failures), len(result.errors),
        time.monotonic() - start))
    return 0 if result.wasSuccessful() and not result.bailed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
