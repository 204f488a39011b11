#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Emulator of the CloudBase Auth v2 HTTP service, for pam_cloudbase's tests and demo.

It imitates the contract in docs (shared/cloudbase-auth-api.md): the /auth/v1 routes,
their JSON shapes and error strings, the service's rules (lockout, SMS rate limit,
code attempts, token lifetimes), every [var] variant behind a switch, and fault
injection for the module's negative tests.  A second, plain-HTTP control port lets
tests read the SMS outbox, move the clock, add faults and inspect what was sent.

Usage:
    cloudbase_emulator.py --state-dir DIR [--seed FILE] [--port N] [--control-port N]
                          [--plain-http] [--cert good|wrong-host|self-signed|expired|not-yet-valid]
                          [--env ENV] [--client-id ID] [--client-secret S]
                          [--var NAME]... [--faults FILE] [--cert-dir DIR] [--verbose]
                          [--dns-port N]

Files in the state dir: ca.pem, capath/ (CA + <hash>.0 link for curl's CAPATH),
server-*.pem/.key, jwt-key.pem, pid, control-port, and port (written last, atomically,
once both ports listen: wait for it).  With --cert-dir the certificates and keys are
made (once, under a lock) in that directory, shared by several emulators, and only
ca.pem and capath/ are copied into the state dir.

Both ports listen on 127.0.0.1 only.  SIGTERM or SIGINT stops it (exit status 0);
it removes no file.  See README.md beside this file for the control API.
"""

import argparse
import base64
import binascii
import collections
import copy
import datetime
import email.utils
import fcntl
import hashlib
import hmac
import http
import ipaddress
import json
import math
import os
import re
import secrets
import select
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = os.path.dirname(os.path.realpath(__file__))
API_PREFIX = "/auth/v1"

# ---------------------------------------------------------------------------
# The contract's numbers and every [guess], kept in one place.
# ---------------------------------------------------------------------------

ACCESS_TOKEN_LIFETIME = 7200          # [doc]
REFRESH_TOKEN_LIFETIME = 30 * 86400   # [doc] (one page says 31 days)
VERIFICATION_LIFETIME = 600           # [doc] code and verification token
SUDO_TOKEN_LIFETIME = 900             # [doc]
SMS_INTERVAL = 60                     # [doc] one code per number per 60 s
EMAIL_INTERVAL = 60                   # [guess] one code per address per 60 s, its own limit
MAX_CODE_ATTEMPTS = 5                 # [guess] the 5th wrong code aborts the id
DEFAULT_LOCKOUT_THRESHOLD = 5         # [guess]
DEFAULT_LOCKOUT_SECONDS = 300         # [guess]
ISSUER_REGION = "ap-shanghai"         # [doc] iss of the sample token
TOKEN_SCOPE = "user"                  # [doc]
USER_TYPE = "internal_user"           # [guess] value of the user_type claim

# [guess] HTTP status of each error string (the contract's table, plus our choices:
# invalid_password 400, user_pending/user_blocked 403, invalid_status 429 with
# Retry-After, captcha_required 400, invalid_grant 400).
ERROR_STATUS = {
    "invalid_argument": 400, "failed_precondition": 400, "invalid_password": 400,
    "invalid_username_or_password": 400, "invalid_verification_code": 400,
    "invalid_phone_number": 400, "weak_password": 400, "password_not_set": 400,
    "phone_required": 400, "two_factor_required": 400, "invalid_two_factor": 400,
    "captcha_required": 400, "captcha_invalid": 400, "invalid_grant": 400,
    "unsupported_grant_type": 400,
    "unauthenticated": 401, "unauthorized_client": 401, "invalid_client": 401,
    "permission_denied": 403, "user_pending": 403, "user_blocked": 403,
    "not_found": 404, "user_not_found": 404,
    "method_not_allowed": 405,
    "already_exists": 409, "aborted": 409,
    "invalid_status": 429, "resource_exhausted": 429, "rate_limit_exceeded": 429,
    "internal": 500, "unavailable": 503,
}
# error_code: the docs' numbers are illustrative; we send gRPC-style codes.
GRPC_CODE_BY_STATUS = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 409: 10, 429: 8,
                       500: 13, 503: 14}
# Default error string of a `status` fault.
ERROR_FOR_STATUS = {400: "invalid_argument", 401: "unauthenticated",
                    403: "permission_denied", 404: "not_found", 409: "aborted",
                    429: "rate_limit_exceeded", 500: "internal", 503: "unavailable"}

PHONE_RE = re.compile(r"^\+[0-9]{1,4} [0-9]{4,20}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

VARIANTS = (
    "error-200", "invalid-username-or-password", "introspect-query-token",
    "revoke-basic-body", "sudo-token-query", "sudo-token-body", "no-groups",
    "empty-groups", "signin-extra-fields", "omit-empty",
)

EXTRA_FIELDS = {
    "x_emulator_unknown": "tolerate me",
    "unknown_number": 1.5,
    "unknown_bool": True,
    "unknown_null": None,
    "unknown_object": {"nested": [1, "two", {"three": None}]},
}

CERT_VARIANTS = ("good", "wrong-host", "self-signed", "expired", "not-yet-valid")

BUILTIN_SEED = {
    "env": "test-env",
    "users": [{
        "username": "alice", "email": "alice@example.com",
        "phone_number": "+86 13800000001", "password": "Alice-Passw0rd",
        "sub": "9c5b1f3e-0a6d-4a57-9a43-2b8f0c7e1a01", "groups": ["user", "admin"],
        "status": "ACTIVE", "has_password": True,
    }],
}


def log(msg):
    sys.stderr.write("cloudbase-emulator: %s\n" % msg)
    sys.stderr.flush()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def rfc3339(epoch):
    dt = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def atomic_write(path, data, mode=0o644):
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = "%s.tmp.%d.%d" % (path, os.getpid(), threading.get_ident())
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------
# Certificates and the token signing key
# ---------------------------------------------------------------------------

def _name(common_name):
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pam_cloudbase emulator"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


class CertStore:
    """The test CA, one server certificate per --cert variant, the JWT key."""

    def __init__(self, directory):
        self.dir = os.path.abspath(directory)

    def path(self, name):
        return os.path.join(self.dir, name)

    def server_files(self, variant):
        return (self.path("server-%s.pem" % variant), self.path("server-%s.key" % variant))

    def ensure(self):
        """Make whatever is missing; a lock keeps concurrent emulators consistent."""
        os.makedirs(self.dir, exist_ok=True)
        with open(self.path(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            ca_cert, ca_key = self._ensure_ca()
            for variant in CERT_VARIANTS:
                if not all(os.path.exists(p) for p in self.server_files(variant)):
                    self._make_server_cert(variant, ca_cert, ca_key)
            if not os.path.exists(self.path("jwt-key.pem")):
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                atomic_write(self.path("jwt-key.pem"), _key_pem(key), 0o600)
            self._ensure_capath(self.dir)

    def _ensure_ca(self):
        if os.path.exists(self.path("ca.pem")) and os.path.exists(self.path("ca.key")):
            with open(self.path("ca.pem"), "rb") as f:
                cert = x509.load_pem_x509_certificate(f.read())
            with open(self.path("ca.key"), "rb") as f:
                key = serialization.load_pem_private_key(f.read(), None)
            return cert, key
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        name = _name("pam_cloudbase emulator test CA")
        cert = (x509.CertificateBuilder()
                .subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(True, False, False, False, False, True, True,
                                             False, False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .sign(key, hashes.SHA256()))
        atomic_write(self.path("ca.key"), _key_pem(key), 0o600)
        atomic_write(self.path("ca.pem"), _cert_pem(cert))
        return cert, key

    def _make_server_cert(self, variant, ca_cert, ca_key):
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        day = datetime.timedelta(days=1)
        not_before, not_after = now - day, now + 825 * day
        names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                 x509.DNSName("localhost")]
        common_name, issuer_name, issuer_key = "127.0.0.1", ca_cert.subject, ca_key
        issuer_pub = ca_key.public_key()
        if variant == "wrong-host":
            names, common_name = [x509.DNSName("wrong.example")], "wrong.example"
        elif variant == "self-signed":
            issuer_name, issuer_key, issuer_pub = _name(common_name), key, key.public_key()
        elif variant == "expired":
            not_before, not_after = now - 30 * day, now - day
        elif variant == "not-yet-valid":
            not_before, not_after = now + 3650 * day, now + 3660 * day
        cert = (x509.CertificateBuilder()
                .subject_name(_name(common_name)).issuer_name(issuer_name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(not_before).not_valid_after(not_after)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                             False, False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_pub),
                               critical=False)
                .sign(issuer_key, hashes.SHA256()))
        cert_path, key_path = self.server_files(variant)
        atomic_write(key_path, _key_pem(key), 0o600)
        atomic_write(cert_path, _cert_pem(cert))

    def _ensure_capath(self, target_dir):
        """A CAPATH directory: the CA plus the `openssl rehash` style link to it."""
        capath = os.path.join(target_dir, "capath")
        os.makedirs(capath, exist_ok=True)
        shutil.copyfile(self.path("ca.pem"), os.path.join(capath, "ca.pem.tmp"))
        os.replace(os.path.join(capath, "ca.pem.tmp"), os.path.join(capath, "ca.pem"))
        out = subprocess.run(["openssl", "x509", "-noout", "-subject_hash", "-in",
                              os.path.join(capath, "ca.pem")],
                             check=True, capture_output=True, text=True)
        link = os.path.join(capath, out.stdout.strip() + ".0")
        for name in os.listdir(capath):
            if name.endswith(".0") and os.path.join(capath, name) != link:
                os.unlink(os.path.join(capath, name))
        if not os.path.islink(link):
            tmp = link + ".tmp"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink("ca.pem", tmp)
            os.replace(tmp, link)

    def export_to(self, state_dir):
        """Give a state dir its own ca.pem and capath/ when the certs live elsewhere."""
        if os.path.abspath(state_dir) == self.dir:
            return
        shutil.copyfile(self.path("ca.pem"), os.path.join(state_dir, "ca.pem.tmp"))
        os.replace(os.path.join(state_dir, "ca.pem.tmp"), os.path.join(state_dir, "ca.pem"))
        self._ensure_capath(state_dir)


class TokenSigner:
    """Signs access tokens (RS256 JWT) and publishes the key as a JWKS."""

    def __init__(self, key_path):
        with open(key_path, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), None)
        numbers = self.key.public_key().public_numbers()
        self.n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        self.e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        self.kid = hashlib.sha256(self.n + self.e).hexdigest()[:16]

    def sign(self, claims):
        header = {"alg": "RS256", "kid": self.kid, "typ": "JWT"}
        signing_input = "%s.%s" % (b64url(json.dumps(header, separators=(",", ":")).encode()),
                                   b64url(json.dumps(claims, separators=(",", ":")).encode()))
        signature = self.key.sign(signing_input.encode("ascii"), padding.PKCS1v15(),
                                  hashes.SHA256())
        return "%s.%s" % (signing_input, b64url(signature))

    def jwks(self):
        return {"keys": [{"kid": self.kid, "kty": "RSA", "alg": "RS256", "use": "sig",
                          "n": b64url(self.n), "e": b64url(self.e)}]}


# ---------------------------------------------------------------------------
# HTTP/1.1 plumbing: keep-alive, one write per response, TCP_NODELAY
# ---------------------------------------------------------------------------

MAX_LINE = 65536
MAX_HEADERS = 100
MAX_BODY = 16 * 1024 * 1024
IDLE_TIMEOUT = 120


class BadRequest(Exception):
    pass


class HttpRequest:
    def __init__(self, method, target, version, headers, body, conn_id):
        self.method, self.target, self.version = method, target, version
        self.headers, self.body, self.conn_id = headers, body, conn_id
        self.session_id = None  # the service session it made, used or ended (request log)
        split = urllib.parse.urlsplit(target)
        self.path = split.path
        self.raw_query = split.query
        self.query = {k: v[0] for k, v in
                      urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}
        self._json = self

    def json(self):
        """The body as a JSON object, or None when it is not one."""
        if self._json is self:
            try:
                value = json.loads(self.body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                value = None
            self._json = value if isinstance(value, dict) else None
        return self._json

    def wants_keep_alive(self):
        conn = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn
        return "close" not in conn


class HttpResponse:
    """A response; `delivery` picks how the connection sends it (faults)."""

    def __init__(self, status=200, body=b"", headers=None, content_type=None):
        self.status = status
        self.body = body
        self.headers = list(headers or [])
        if content_type:
            self.headers.append(("Content-Type", content_type))
        self.raw = False          # send headers as given, add only framing
        self.close = False        # close the connection afterwards
        self.delivery = "normal"  # normal | drip | close | hang | drop
        self.interval = 1.0
        self.idle_close = None    # seconds of idle after which the server closes
        self.error = None         # the `error` string, for the request log
        self.fault = None

    @classmethod
    def json(cls, obj, status=200, headers=None):
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(status, body, headers, "application/json; charset=utf-8")

    def header_bytes(self, keep_alive):
        try:
            reason = http.HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Unknown"
        lines = ["HTTP/1.1 %d %s" % (self.status, reason)]
        names = {name.lower() for name, _ in self.headers}
        if not self.raw:
            lines.append("Date: " + email.utils.formatdate(usegmt=True))
            lines.append("Server: cloudbase-emulator")
        lines += ["%s: %s" % (name, value) for name, value in self.headers]
        if "content-length" not in names and "transfer-encoding" not in names:
            lines.append("Content-Length: %d" % len(self.body))
        if "connection" not in names:
            lines.append("Connection: " + ("keep-alive" if keep_alive else "close"))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _readline(reader):
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise BadRequest("line too long")
    return line


def read_headers(reader):
    headers = {}
    for _ in range(MAX_HEADERS + 1):
        line = _readline(reader)
        if not line:
            raise BadRequest("connection closed in headers")
        if line in (b"\r\n", b"\n"):
            return headers
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep or not name.strip():
            raise BadRequest("bad header line")
        name, value = name.strip().lower(), value.strip()
        headers[name] = headers[name] + ", " + value if name in headers else value
    raise BadRequest("too many headers")


def read_chunked(reader):
    body = bytearray()
    while True:
        size_line = _readline(reader).split(b";")[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise BadRequest("bad chunk size")
        if size == 0:
            read_headers(reader)  # trailers
            return bytes(body)
        body += reader.read(size)
        reader.read(2)
        if len(body) > MAX_BODY:
            raise BadRequest("body too large")


def read_request(reader, send_continue):
    """One request from the stream; None at a clean end of stream."""
    line = _readline(reader)
    while line in (b"\r\n", b"\n"):
        line = _readline(reader)
    if not line:
        return None
    parts = line.decode("latin-1").rstrip("\r\n").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest("bad request line")
    method, target, version = parts
    headers = read_headers(reader)
    if headers.get("expect", "").lower() == "100-continue":
        send_continue()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = read_chunked(reader)
    else:
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            raise BadRequest("bad content-length")
        if length < 0 or length > MAX_BODY:
            raise BadRequest("bad content-length")
        body = reader.read(length)
        if len(body) != length:
            raise BadRequest("short body")
    return method, target, version, headers, body


class Stats:
    """Counters the tests read through GET /stats."""

    FIELDS = ("connections", "nodelay", "tls_handshakes", "tls_resumed",
              "tls_handshake_failures", "requests", "responses", "writes", "max_writes_per_response")

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            for name in self.FIELDS:
                setattr(self, name, 0)
            self.by_path = collections.Counter()

    def add(self, name, n=1):
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def add_response(self, writes):
        with self.lock:
            self.responses += 1
            self.writes += writes
            self.max_writes_per_response = max(self.max_writes_per_response, writes)

    def add_request(self, path):
        with self.lock:
            self.requests += 1
            self.by_path[path] += 1

    def snapshot(self):
        with self.lock:
            out = {name: getattr(self, name) for name in self.FIELDS}
            out["by_path"] = dict(self.by_path)
            return out


class Connection:
    """Serves the requests of one TCP connection (and its TLS session)."""

    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.id = server.next_connection_id()

    def run(self):
        stats = self.server.stats
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if stats:
            stats.add("connections")
            if self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY):
                stats.add("nodelay")
        self.sock.settimeout(IDLE_TIMEOUT)
        try:
            if self.server.tls_context and not self._handshake():
                return
            self._serve()
        except (OSError, ssl.SSLError):
            pass
        finally:
            self._close()

    def _handshake(self):
        stats = self.server.stats
        try:
            self.sock = self.server.tls_context.wrap_socket(
                self.sock, server_side=True, do_handshake_on_connect=False)
            self.sock.do_handshake()
        except (OSError, ssl.SSLError):
            if stats:
                stats.add("tls_handshake_failures")
            return False
        if stats:
            stats.add("tls_handshakes")
            if self.sock.session_reused:
                stats.add("tls_resumed")
        return True

    def _serve(self):
        reader = self.sock.makefile("rb")
        while True:
            try:
                parsed = read_request(reader, self._send_continue)
            except BadRequest as exc:
                self._send(HttpResponse.json(error_body("invalid_argument", str(exc)), 400),
                           keep_alive=False)
                return
            if parsed is None:
                return
            request = HttpRequest(*parsed, conn_id=self.id)
            response = self.server.app.handle(request)
            keep_alive = request.wants_keep_alive() and not response.close
            if not self._deliver(response, reader, keep_alive):
                return

    def _send_continue(self):
        self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _send(self, response, keep_alive):
        """The normal path: headers and body leave in a single sendall()."""
        data = response.header_bytes(keep_alive) + response.body
        if self.server.stats:  # counted first: the client may read stats right after
            self.server.stats.add_response(writes=1)
        self.sock.sendall(data)

    def _deliver(self, response, reader, keep_alive):
        """Send one response; False when the connection must end."""
        if response.delivery == "hang":
            self._wait_for_client_close(reader)
            return False
        if response.delivery == "drip":
            return self._drip(response.header_bytes(keep_alive) + response.body,
                              response.interval) and keep_alive
        if response.delivery == "close":
            half = response.body[:len(response.body) // 2]
            self.sock.sendall(response.header_bytes(False) + half)
            return False
        if response.delivery == "drop":
            return False
        self._send(response, keep_alive)
        if keep_alive and response.idle_close is not None:
            return self._next_request_within(reader, response.idle_close)
        return keep_alive

    def _next_request_within(self, reader, seconds):
        """After a keep-alive answer: does the next request start within
        seconds of idle? Else the connection closes (the server's idle timeout)."""
        # the client never pipelines, so nothing of the next request sits in
        # the reader's buffer yet; TLS may hold decrypted bytes (pending)
        if getattr(self.sock, "pending", lambda: 0)():
            return True
        ready, _, _ = select.select([self.sock], [], [], seconds)
        return bool(ready)

    def _drip(self, data, interval):
        for i in range(len(data)):
            try:
                self.sock.sendall(data[i:i + 1])
            except OSError:
                return False
            if i + 1 < len(data):
                time.sleep(interval)
        return True

    def _wait_for_client_close(self, reader):
        self.sock.settimeout(600)
        try:
            while reader.read1(4096):
                pass
        except (OSError, ssl.SSLError, ValueError):
            pass

    def _close(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except (OSError, ValueError):
            pass
        try:
            self.sock.close()
        except OSError:
            pass


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        Connection(self.server, self.request).run()


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """A threaded 127.0.0.1 listener; TLS (if any) is done in the connection thread."""

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    # socketserver's default backlog of 5 drops connections when a host's
    # logins arrive together (100 at once in tests/pam): a service takes them
    request_queue_size = 256

    def __init__(self, port, app, tls_context=None, stats=None):
        self.app, self.tls_context, self.stats = app, tls_context, stats
        self._ids = iter(range(1, 1 << 62))
        self._ids_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def next_connection_id(self):
        with self._ids_lock:
            return next(self._ids)

    def shutdown_request(self, request):
        pass  # Connection.run closes its socket itself

    def handle_error(self, request, client_address):
        traceback.print_exc()


def tls_server_context(cert_file, key_file):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


# ---------------------------------------------------------------------------
# Errors of the API
# ---------------------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, error, description="", headers=None):
        super().__init__(error)
        self.error = error
        self.description = description or error.replace("_", " ")
        self.headers = headers or []


def error_body(error, description):
    status = ERROR_STATUS.get(error, 400)
    return {"error": error, "error_code": GRPC_CODE_BY_STATUS.get(status, 2),
            "error_description": description}


# ---------------------------------------------------------------------------
# Configuration, seed, users
# ---------------------------------------------------------------------------

USER_DEFAULTS = {
    "email": "", "phone_number": "", "password": "", "groups": ["user"],
    "status": "ACTIVE", "require_sms": False, "two_factor": False, "name": "",
    "picture": "", "gender": "UNKNOWN",
}


def normalize_user(fields, existing=None):
    """A complete user record from seed or control-API fields."""
    if not isinstance(fields, dict) or not isinstance(fields.get("username"), str) \
            or not fields["username"]:
        raise ValueError("a user needs a non-empty string username")
    user = copy.deepcopy(existing) if existing else {}
    for key, value in USER_DEFAULTS.items():
        user.setdefault(key, copy.deepcopy(value))
    user.update(copy.deepcopy(fields))
    if "has_password" not in fields and not existing:
        user["has_password"] = bool(user["password"])
    if "password" in fields and "has_password" not in fields and fields["password"]:
        user["has_password"] = True
    user.setdefault("sub", str(uuid.uuid5(uuid.NAMESPACE_URL,
                                          "cloudbase-emulator:" + user["username"])))
    user.setdefault("created_at", 1700000000)
    user.setdefault("updated_at", user["created_at"])
    user.setdefault("last_login", None)
    if user["status"] not in ("ACTIVE", "PENDING", "BLOCKED"):
        raise ValueError("status must be ACTIVE, PENDING or BLOCKED")
    if not isinstance(user["groups"], list) or \
            not all(isinstance(g, str) for g in user["groups"]):
        raise ValueError("groups must be a list of strings")
    return user


def load_seed(path):
    if path is None:
        default = os.path.join(HERE, "seed.json")
        if not os.path.exists(default):
            return copy.deepcopy(BUILTIN_SEED)
        path = default
    with open(path, encoding="utf-8") as f:
        seed = json.load(f)
    if not isinstance(seed, dict) or not isinstance(seed.get("users", []), list):
        raise ValueError("seed must be an object with a users list")
    return seed


class Config:
    """Settings from CLI (first), seed (second), defaults (last)."""

    def __init__(self, args, seed):
        def pick(cli, key, default):
            if cli is not None:
                return cli
            return seed.get(key, default)
        self.env = pick(args.env, "env", "test-env")
        self.client_id = pick(args.client_id, "client_id", self.env)
        self.client_secret = pick(args.client_secret, "client_secret", "test-secret")
        self.lockout_threshold = int(pick(args.lockout_threshold, "lockout_threshold",
                                          DEFAULT_LOCKOUT_THRESHOLD))
        self.lockout_seconds = int(pick(args.lockout_seconds, "lockout_seconds",
                                        DEFAULT_LOCKOUT_SECONDS))

    def settings(self):
        return {"env": self.env, "client_id": self.client_id,
                "client_secret": self.client_secret,
                "lockout_threshold": self.lockout_threshold,
                "lockout_seconds": self.lockout_seconds}


# ---------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------

PRE_FAULTS = ("status", "malformed", "empty", "html", "oversized", "hang", "redirect", "raw")
POST_FAULTS = ("latency", "truncated", "extra-fields", "drip", "close",
               "close-before-answer", "idle-close")
FAULTS = PRE_FAULTS + POST_FAULTS

CAPTIVE_PORTAL = (b"<!DOCTYPE html>\n<html><head><title>Wi-Fi login</title></head>\n"
                  b"<body><h1>Welcome to Guest Wi-Fi</h1>\n<form method=\"post\" "
                  b"action=\"/login\"><input name=\"room\"><button>Connect</button>"
                  b"</form></body></html>\n")


def validate_fault(rule):
    """A checked copy of a fault rule; ValueError says what is wrong."""
    if not isinstance(rule, dict):
        raise ValueError("a fault rule is a JSON object")
    if rule.get("fault") not in FAULTS:
        raise ValueError("unknown fault %r; known: %s" % (rule.get("fault"), ", ".join(FAULTS)))
    if "count" in rule and (type(rule["count"]) is not int or rule["count"] < 1):
        raise ValueError("count must be a positive integer")
    for key in ("path", "method", "user", "error", "error_description", "location", "body"):
        if key in rule and not isinstance(rule[key], str):
            raise ValueError("%s must be a string" % key)
    for key in ("seconds", "interval", "bytes"):
        if key in rule and (type(rule[key]) not in (int, float) or rule[key] < 0):
            raise ValueError("%s must be a non-negative number" % key)
    if rule["fault"] == "status" and "status" not in rule:
        raise ValueError("a status fault needs a status")
    if "status" in rule and (type(rule["status"]) is not int or
                             not 100 <= rule["status"] <= 999):
        raise ValueError("status must be an integer from 100 to 999")
    if "headers" in rule:
        _header_list(rule["headers"])
    if "body_b64" in rule:
        base64.b64decode(str(rule["body_b64"]), validate=True)
    return copy.deepcopy(rule)


def fault_path_matches(pattern, path):
    """Exact path; a pattern ending in '/' or '*' is a prefix; '/signin' means /auth/v1/signin."""
    if pattern is None:
        return True
    if not pattern.startswith(API_PREFIX):
        pattern = API_PREFIX + pattern
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    if pattern.endswith("/"):
        return path.startswith(pattern)
    return path == pattern


def pre_fault_response(rule, api_port, scheme):
    """The answer of a fault that replaces the service's processing."""
    name = rule["fault"]
    json_type = "application/json; charset=utf-8"
    if name == "status":
        status = rule["status"]
        error = rule.get("error") or ERROR_FOR_STATUS.get(status, "internal")
        body = {"error": error, "error_code": GRPC_CODE_BY_STATUS.get(status, 2),
                "error_description": rule.get("error_description", "injected fault")}
        resp = HttpResponse.json(body, status, _header_list(rule.get("headers")))
        resp.error = error
        return resp
    if name == "malformed":
        return HttpResponse(200, b'{"access_token": "abc", ', content_type=json_type)
    if name == "empty":
        return HttpResponse(200, b"", content_type=json_type)
    if name == "html":
        return HttpResponse(200, CAPTIVE_PORTAL, content_type="text/html; charset=utf-8")
    if name == "oversized":
        return HttpResponse(200, oversized_body(int(rule.get("bytes", 5 * 1024 * 1024))),
                            content_type=json_type)
    if name == "redirect":
        location = rule.get("location") or "%s://127.0.0.1:%d%s/signin" % (
            scheme, api_port, API_PREFIX)
        return HttpResponse(302, b"Found\n", [("Location", location)],
                            "text/plain; charset=utf-8")
    if name == "hang":
        resp = HttpResponse()
        resp.delivery = "hang"
        return resp
    return raw_response(rule)


def oversized_body(size):
    head, tail = b'{"access_token":"x","padding":"', b'"}'
    return head + b"a" * max(0, size - len(head) - len(tail)) + tail


def raw_response(rule):
    if "body_b64" in rule:
        body = base64.b64decode(rule["body_b64"])
    else:
        body = str(rule.get("body", "")).encode("utf-8")
    resp = HttpResponse(int(rule.get("status", 200)), body, _header_list(rule.get("headers")))
    resp.raw = True
    resp.close = True  # its framing may be a lie: never reuse the connection
    return resp


def _header_list(headers):
    """Headers given as a dict or as a list of [name, value] pairs."""
    if not headers:
        return []
    if isinstance(headers, dict):
        return [(str(k), str(v)) for k, v in headers.items()]
    if not isinstance(headers, list) or \
            not all(isinstance(p, list) and len(p) == 2 for p in headers):
        raise ValueError("headers must be an object or a list of [name, value] pairs")
    return [(str(k), str(v)) for k, v in headers]


def apply_post_fault(rule, resp):
    name = rule["fault"]
    if name == "truncated":
        resp.body = resp.body[:len(resp.body) // 2]
    elif name == "extra-fields":
        resp.body = add_extra_fields(resp.body)
    elif name == "drip":
        resp.delivery, resp.interval = "drip", float(rule.get("interval", 1.0))
    elif name == "close":
        resp.delivery = "close"
    elif name == "close-before-answer":
        # the request was read and acted on (an SMS went out), then the
        # connection died: what a client that resends it causes
        resp.delivery = "drop"
    elif name == "idle-close":
        # a keep-alive answer, then the server's idle timeout
        resp.idle_close = float(rule.get("seconds", 0))
    return resp


def add_extra_fields(body):
    try:
        obj = json.loads(body)
    except ValueError:
        return body
    if not isinstance(obj, dict):
        return body
    obj.update(EXTRA_FIELDS)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ---------------------------------------------------------------------------
# The service's state and rules
# ---------------------------------------------------------------------------

class Session:
    """One sign-in: its access tokens, its current refresh token."""

    def __init__(self, username, provider_type, request_id=None, created=0):
        self.id = secrets.token_hex(8)
        self.username = username
        self.provider_type = provider_type
        self.request_id = request_id  # x-request-id of the sign-in that made it
        self.created = created
        self.revoked = False
        self.revoked_at = None
        self.revoked_by = None  # "revoke" or "password change"
        self.refresh_token = None
        self.refresh_expires = 0

    def describe(self, now):
        """What the control API shows of it (no token)."""
        return {"id": self.id, "username": self.username,
                "provider_type": self.provider_type, "request_id": self.request_id,
                "created": self.created, "revoked": self.revoked,
                "revoked_at": self.revoked_at, "revoked_by": self.revoked_by,
                "active": not self.revoked and now < self.refresh_expires}


class ServiceState:
    """Everything the emulated service remembers; guarded by one lock."""

    def __init__(self, config, seed, signer, cli_variants, cli_faults):
        self.lock = threading.RLock()
        self.config_args = config
        self.seed = seed
        self.signer = signer
        self.cli_variants = list(cli_variants)
        self.cli_faults = list(cli_faults)
        self.stats = Stats()
        self.api_port = 0
        self.scheme = "https"
        self.reset()

    def reset(self):
        with self.lock:
            self.config = copy.copy(self.config_args)
            self.clock_offset = 0.0
            self.users = {}
            for fields in self.seed.get("users", []):
                user = normalize_user(fields)
                self.users[user["username"]] = user
            self.sessions = {}
            self.access_tokens = {}    # token -> (session id, exp)
            self.refresh_tokens = {}   # token -> session id
            self.rotated_refresh = {}  # a refresh token already traded -> session id
            self.verifications = {}    # id -> record
            self.verification_tokens = {}
            self.sudo_tokens = {}      # token -> (username, exp)
            self.issued = []           # every token response, for GET /tokens
            self.dns_queries = []      # what the DNS responder was asked
            self.outbox = {}           # phone number -> last SMS code sent
            self.email_outbox = {}     # e-mail address -> last code sent
            self.lockouts = {}         # username -> {"failures", "locked_until"}
            self.variants = {name: name in self.cli_variants for name in VARIANTS}
            self.faults = [dict(rule, id=i + 1) for i, rule in enumerate(self.cli_faults)]
            self.next_fault_id = len(self.faults) + 1
            self.requests = collections.deque(maxlen=200)
            self.current_request = None  # the API request being dispatched
            self.stats.reset()

    def now(self):
        return time.time() + self.clock_offset

    def variant(self, name):
        return self.variants.get(name, False)

    # -- users --------------------------------------------------------------

    def find_user(self, identifier):
        """By username, then email (case-insensitive), then phone ("+86 138...")."""
        if not isinstance(identifier, str) or not identifier:
            return None
        if identifier in self.users:
            return self.users[identifier]
        for user in self.users.values():
            if user["email"] and user["email"].lower() == identifier.lower():
                return user
            if user["phone_number"] and user["phone_number"] == identifier:
                return user
        return None

    def upsert_user(self, fields):
        with self.lock:
            existing = self.users.get(fields.get("username"))
            user = normalize_user(fields, existing)
            user["updated_at"] = int(self.now())
            self.users[user["username"]] = user
            return user

    # -- faults -------------------------------------------------------------

    def add_faults(self, rules):
        with self.lock:
            added = []
            for rule in rules:
                rule = validate_fault(rule)
                rule["id"] = self.next_fault_id
                self.next_fault_id += 1
                self.faults.append(rule)
                added.append(rule)
            return added

    def take_fault(self, request):
        """The first rule matching this request (its count is used up by one)."""
        with self.lock:
            identities = None
            for rule in self.faults:
                if not fault_path_matches(rule.get("path"), request.path):
                    continue
                if rule.get("method") and rule["method"].upper() != request.method:
                    continue
                if "user" in rule:
                    if identities is None:
                        identities = self.request_identities(request)
                    if rule["user"] not in identities:
                        continue
                if "count" in rule:
                    rule["count"] -= 1
                    if rule["count"] <= 0:
                        self.faults.remove(rule)
                return copy.deepcopy(rule)
            return None

    def request_identities(self, request):
        """Every name the request speaks for: raw fields and the users they resolve to."""
        names = set()
        body = request.json() or {}
        contacts = [body.get(k) for k in ("username", "phone_number", "email")]
        record = self.verifications.get(body.get("verification_id"))
        if record:
            contacts.append(record["contact"])
        vtoken = self.verification_tokens.get(body.get("verification_token"))
        if vtoken:
            contacts.append(vtoken["contact"])
        session = self.session_of_access_token(bearer_token(request))
        if session:
            contacts.append(session.username)
        for contact in contacts:
            if isinstance(contact, str) and contact:
                names.add(contact)
                user = self.find_user(contact)
                if user:
                    names.update(filter(None, (user["username"], user["email"],
                                               user["phone_number"], user["sub"])))
        return names

    # -- tokens -------------------------------------------------------------

    def session_of_access_token(self, token, active_only=True):
        entry = self.access_tokens.get(token) if token else None
        if not entry:
            return None
        session = self.sessions.get(entry[0])
        if session is None:
            return None
        if active_only and (session.revoked or entry[1] <= self.now()
                            or session.username not in self.users):
            return None
        return session

    def issue_tokens(self, user, provider_type, session=None):
        """A token response; a new session unless refreshing an existing one."""
        now = int(self.now())
        request = self.current_request
        if session is None:
            session = Session(user["username"], provider_type,
                              request.headers.get("x-request-id") if request else None, now)
            self.sessions[session.id] = session
            user["last_login"] = now
        if request is not None:
            request.session_id = session.id
        claims = {
            "iss": "http://%s.%s.tcb-api.tencentcloudapi.com" % (self.config.env, ISSUER_REGION),
            "sub": user["sub"], "aud": self.config.env, "iat": now,
            "exp": now + ACCESS_TOKEN_LIFETIME, "jti": secrets.token_hex(12),
            "scope": TOKEN_SCOPE, "project_id": self.config.env,
            "provider_type": session.provider_type, "user_type": USER_TYPE,
            "meta": {"wxOpenId": "", "wxUnionId": ""},
        }
        access_token = self.signer.sign(claims)
        self.access_tokens[access_token] = (session.id, now + ACCESS_TOKEN_LIFETIME)
        if session.refresh_token:
            self.refresh_tokens.pop(session.refresh_token, None)
            self.rotated_refresh[session.refresh_token] = session.id
        session.refresh_token = "rt." + secrets.token_urlsafe(48)
        session.refresh_expires = now + REFRESH_TOKEN_LIFETIME
        self.refresh_tokens[session.refresh_token] = session.id
        self.issued.append({"username": user["username"], "access_token": access_token,
                            "refresh_token": session.refresh_token})
        response = {
            "token_type": "Bearer", "access_token": access_token,
            "refresh_token": session.refresh_token, "expires_in": ACCESS_TOKEN_LIFETIME,
            "scope": TOKEN_SCOPE, "sub": user["sub"], "groups": list(user["groups"]),
        }
        if self.variant("no-groups"):
            del response["groups"]
        elif self.variant("empty-groups"):
            response["groups"] = []
        return response

    def revoke_session(self, session, by="revoke"):
        if not session.revoked:
            session.revoked, session.revoked_at, session.revoked_by = True, self.now(), by
        self.refresh_tokens.pop(session.refresh_token, None)

    def revoke_other_sessions(self, username, keep):
        for session in self.sessions.values():
            if session.username == username and session is not keep:
                self.revoke_session(session, "password change")

    def note_session_of(self, request, token):
        """Record in the request's log entry which session a token belongs
        to, whether or not it is still valid (a second revoke shows)."""
        entry = self.access_tokens.get(token) if token else None
        if entry:
            request.session_id = entry[0]


class Inactive(dict):
    """Introspection of an inactive token: `{}`, never decorated with extra fields."""


def bearer_token(request):
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def basic_credentials(request):
    """(client_id, secret) from HTTP Basic, or None."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ("", None)
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret if sep else None)


def password_is_strong(password):
    """[doc] 8-64 characters; [guess] at least 3 of lower/upper/digit/other."""
    if not 8 <= len(password) <= 64:
        return False
    classes = [any(c.islower() for c in password), any(c.isupper() for c in password),
               any(c.isdigit() for c in password),
               any(not c.isalnum() for c in password)]
    return sum(classes) >= 3


def string_field(body, key, required=True):
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ApiError("invalid_argument", "%s must be a non-empty string" % key)
    return value


# ---------------------------------------------------------------------------
# The /auth/v1 API
# ---------------------------------------------------------------------------

class CloudBaseApi:
    """Routes /auth/v1 requests, applies faults, logs each request."""

    ROUTES = {
        "/signin": {"POST": "signin"},
        "/verification": {"POST": "send_verification"},
        "/verification/verify": {"POST": "verify"},
        "/token": {"POST": "token"},
        "/token/introspect": {"GET": "introspect"},
        "/revoke": {"POST": "revoke"},
        "/user/me": {"GET": "user_me"},
        "/user/sudo": {"POST": "sudo"},
        "/user/password": {"PATCH": "change_password"},
        "/certs": {"GET": "certs"},
    }

    def __init__(self, state, verbose=False):
        self.state = state
        self.verbose = verbose

    # -- plumbing -----------------------------------------------------------

    def handle(self, request):
        self.state.stats.add_request(request.path)
        try:
            response = self.respond(request)
        except Exception:
            traceback.print_exc()
            response = self.error_response(ApiError("internal", "emulator bug"))
        self.log_request(request, response)
        return response

    def respond(self, request):
        """The service's answer, or what the first matching fault makes of it."""
        state = self.state
        rule = state.take_fault(request)
        if rule and rule["fault"] in PRE_FAULTS:
            response = pre_fault_response(rule, state.api_port, state.scheme)
        else:
            if rule and rule["fault"] == "latency":
                time.sleep(float(rule.get("seconds", 1.0)))
            response = self.route(request)
            if rule:
                response = apply_post_fault(rule, response)
        response.fault = rule["fault"] if rule else None
        return response

    def route(self, request):
        state = self.state
        try:
            with state.lock:
                return self.dispatch(request)
        except ApiError as exc:
            return self.error_response(exc)
        except Exception:
            traceback.print_exc()
            return self.error_response(ApiError("internal", "emulator bug"))

    def dispatch(self, request):
        path = request.path
        methods = self.ROUTES.get(path[len(API_PREFIX):]) \
            if path.startswith(API_PREFIX + "/") else None
        if methods is None:
            raise ApiError("not_found", "no route for %s" % path)
        if request.method not in methods:
            raise ApiError("method_not_allowed", "%s does not allow %s"
                           % (path, request.method),
                           [("Allow", ", ".join(sorted(methods)))])
        body = {}
        if request.method in ("POST", "PATCH", "PUT"):
            body = self.json_body(request)
        self.state.current_request = request
        try:
            result = getattr(self, methods[request.method])(request, body)
        finally:
            self.state.current_request = None
        return self.success_response(result)

    def json_body(self, request):
        if not request.body:
            return {}  # e.g. a Bearer revoke: the contract gives it no body
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise ApiError("invalid_argument", "Content-Type must be application/json")
        body = request.json()
        if body is None:
            raise ApiError("invalid_argument", "request body must be a JSON object")
        return body

    def success_response(self, result):
        if isinstance(result, Inactive):
            return HttpResponse.json({})
        if self.state.variant("omit-empty"):
            result = {k: v for k, v in result.items() if v not in ("", False, [], {}, None)}
        if self.state.variant("signin-extra-fields"):
            result = dict(result, **EXTRA_FIELDS)
        return HttpResponse.json(result)

    def error_response(self, exc):
        status = 200 if self.state.variant("error-200") else ERROR_STATUS.get(exc.error, 400)
        response = HttpResponse.json(error_body(exc.error, exc.description), status,
                                     exc.headers)
        response.error = exc.error
        return response

    def log_request(self, request, response):
        headers = dict(request.headers)
        creds = basic_credentials(request)
        if "authorization" in headers:
            headers["authorization"] = headers["authorization"].split(" ")[0]
        body = request.json()
        if body is None and request.body:
            body = request.body[:4096].decode("utf-8", "replace")
        entry = {
            "time": self.state.now(), "connection": request.conn_id,
            "method": request.method, "path": request.path, "query": request.raw_query,
            "headers": headers, "request_id": request.headers.get("x-request-id"),
            "device_id": request.headers.get("x-device-id"),
            "basic_user": creds[0] if creds else None,
            "basic_secret_present": bool(creds and creds[1]),
            "body": body, "status": response.status, "error": response.error,
            "fault": response.fault, "session": getattr(request, "session_id", None),
        }
        with self.state.lock:
            self.state.requests.append(entry)
        if self.verbose:
            log("%s %s -> %d %s" % (request.method, request.path, response.status,
                                    response.error or response.fault or ""))

    # -- authentication of the caller --------------------------------------

    def require_client(self, request):
        """HTTP Basic client_id:client_secret, or ?client_id= alone."""
        cfg = self.state.config
        creds = basic_credentials(request)
        if creds is not None:
            client_id, secret = creds
            if secret is None or client_id != cfg.client_id or \
                    not hmac.compare_digest(secret.encode(), cfg.client_secret.encode()):
                raise ApiError("unauthorized_client", "client authentication failed")
            return
        if request.query.get("client_id") == cfg.client_id:
            return
        raise ApiError("unauthorized_client", "client authentication required")

    def require_user(self, request):
        """The (user, session) of a valid Bearer access token."""
        token = bearer_token(request)
        if token is None:
            raise ApiError("unauthenticated", "missing bearer token")
        self.state.note_session_of(request, token)
        session = self.state.session_of_access_token(token)
        if session is None:
            raise ApiError("unauthenticated", "access token invalid, expired or revoked")
        return self.state.users[session.username], session

    # -- sign-in ------------------------------------------------------------

    def signin(self, request, body):
        self.require_client(request)
        password_mode = "username" in body or "password" in body
        token_mode = "verification_token" in body
        if password_mode == token_mode:
            raise ApiError("invalid_argument", "give either username and password, "
                           "or verification_token")
        if password_mode:
            return self.password_signin(string_field(body, "username"),
                                        string_field(body, "password"))
        return self.verification_token_signin(string_field(body, "verification_token"))

    def password_signin(self, identifier, password):
        state = self.state
        user = state.find_user(identifier)
        if user is None:
            raise ApiError("user_not_found", "user not found")
        self.check_lockout(user, password)
        if not user["has_password"]:
            raise ApiError("password_not_set", "the account has no password; "
                           "sign in with a verification code")
        if not hmac.compare_digest(password.encode(), user["password"].encode()):
            self.record_wrong_password(user)
            if state.variant("invalid-username-or-password"):
                raise ApiError("invalid_username_or_password", "invalid username or password")
            raise ApiError("invalid_password", "invalid password")
        state.lockouts.pop(user["username"], None)
        self.check_status(user)
        if user["require_sms"]:
            raise ApiError("phone_required", "sign in with an SMS verification code")
        if user["two_factor"]:
            raise ApiError("two_factor_required", "second factor required")
        provider = "phone" if identifier == user["phone_number"] else \
            "email" if identifier.lower() == user["email"].lower() else "username"
        return state.issue_tokens(user, provider)

    def check_lockout(self, user, password):
        """[guess] threshold wrong passwords lock for lockout_seconds (invalid_status);
        2 x threshold asks for a captcha.  Wrong passwords while locked still count."""
        state, cfg = self.state, self.state.config
        entry = state.lockouts.get(user["username"])
        if not entry or not entry["locked_until"]:
            return
        now = state.now()
        if now >= entry["locked_until"]:
            state.lockouts.pop(user["username"])
            return
        if password != user["password"]:
            entry["failures"] += 1
            if entry["failures"] == 2 * cfg.lockout_threshold:
                entry["locked_until"] = now + cfg.lockout_seconds
        wait = max(1, math.ceil(entry["locked_until"] - now))
        if entry["failures"] >= 2 * cfg.lockout_threshold:
            raise ApiError("captcha_required", "too many failed sign-ins; "
                           "a captcha is required")
        raise ApiError("invalid_status", "too many failed sign-ins; try again in %d seconds"
                       % wait, [("Retry-After", str(wait))])

    def record_wrong_password(self, user):
        state, cfg = self.state, self.state.config
        entry = state.lockouts.setdefault(user["username"],
                                          {"failures": 0, "locked_until": 0})
        entry["failures"] += 1
        if entry["failures"] >= cfg.lockout_threshold:
            entry["locked_until"] = state.now() + cfg.lockout_seconds

    @staticmethod
    def check_status(user):
        if user["status"] == "PENDING":
            raise ApiError("user_pending", "the account is not activated")
        if user["status"] == "BLOCKED":
            raise ApiError("user_blocked", "the account is blocked")

    def verification_token_signin(self, token):
        state = self.state
        record = self.consume_verification_token(token)
        user = state.find_user(record["contact"])
        if user is None:
            raise ApiError("user_not_found", "no user with this %s" % record["kind"])
        self.check_status(user)
        return state.issue_tokens(user, record["kind"])

    def consume_verification_token(self, token):
        """[guess] single use; unknown, used or expired tokens are invalid_argument."""
        record = self.state.verification_tokens.get(token)
        if record is None or record["used"]:
            raise ApiError("invalid_argument", "verification token invalid or already used")
        if self.state.now() >= record["expires"]:
            raise ApiError("invalid_argument", "verification token expired")
        record["used"] = True
        return record

    # -- verification codes -------------------------------------------------

    def send_verification(self, request, body):
        self.require_client(request)
        state = self.state
        contact, kind = self.verification_contact(body)
        target = body.get("target", "ANY")
        if target not in ("ANY", "USER", "NOT_USER"):
            raise ApiError("invalid_argument", "target must be ANY, USER or NOT_USER")
        if "usage" in body and not isinstance(body["usage"], str):
            raise ApiError("invalid_argument", "usage must be a string")
        user = state.find_user(contact)
        if target == "USER" and user is None:
            raise ApiError("user_not_found", "no user with this %s" % kind)
        if target == "NOT_USER" and user is not None:
            raise ApiError("already_exists", "a user with this %s exists" % kind)
        box = state.email_outbox if kind == "email" else state.outbox
        self.check_rate(box, contact, EMAIL_INTERVAL if kind == "email" else SMS_INTERVAL)
        now = state.now()
        verification_id = "vid-" + secrets.token_hex(12)
        code = "%06d" % secrets.randbelow(1000000)
        state.verifications[verification_id] = {
            "contact": contact, "kind": kind, "code": code, "expires": now + VERIFICATION_LIFETIME,
            "wrong": 0, "verified": False}
        previous = box.get(contact, {})
        box[contact] = {"code": code, "verification_id": verification_id,
                        "count": previous.get("count", 0) + 1, "sent_at": now}
        result = {"verification_id": verification_id, "expires_in": VERIFICATION_LIFETIME}
        if user is not None:
            result["is_user"] = True
        return result

    @staticmethod
    def verification_contact(body):
        has_phone, has_email = "phone_number" in body, "email" in body
        if has_phone == has_email:
            raise ApiError("invalid_argument", "give exactly one of phone_number and email")
        if has_phone:
            phone = body["phone_number"]
            if not isinstance(phone, str) or not PHONE_RE.match(phone):
                raise ApiError("invalid_phone_number",
                               "phone number must look like \"+86 13800000000\"")
            return phone, "phone"
        mail = body["email"]
        # [guess] the service's word for a malformed address; the module
        # also takes "invalid_email"
        if not isinstance(mail, str) or len(mail) > 254 or not EMAIL_RE.match(mail):
            raise ApiError("invalid_argument", "invalid email address")
        return mail, "email"

    def check_rate(self, box, contact, interval):
        """One code per contact per interval; SMS and e-mail limits apart."""
        last = box.get(contact)
        if not last:
            return
        wait = math.ceil(last["sent_at"] + interval - self.state.now())
        if wait > 0:
            raise ApiError("rate_limit_exceeded",
                           "one code per %d seconds; retry after %d seconds"
                           % (interval, wait), [("Retry-After", str(wait))])

    def verify(self, request, body):
        self.require_client(request)
        state = self.state
        record = state.verifications.get(string_field(body, "verification_id"))
        code = string_field(body, "verification_code")
        if record is None:
            raise ApiError("invalid_argument", "unknown verification_id")
        if record["verified"]:
            raise ApiError("invalid_argument", "verification already used")
        if record["wrong"] >= MAX_CODE_ATTEMPTS:
            raise ApiError("aborted", "too many wrong codes; request a new one")
        if state.now() >= record["expires"]:
            raise ApiError("invalid_argument", "verification code expired")
        if not hmac.compare_digest(code.encode(), record["code"].encode()):
            record["wrong"] += 1
            if record["wrong"] >= MAX_CODE_ATTEMPTS:
                raise ApiError("aborted", "too many wrong codes; request a new one")
            raise ApiError("invalid_verification_code", "wrong verification code")
        record["verified"] = True
        token = "vt-" + secrets.token_urlsafe(32)
        state.verification_tokens[token] = {
            "contact": record["contact"], "kind": record["kind"], "used": False,
            "expires": state.now() + VERIFICATION_LIFETIME}
        return {"verification_token": token, "expires_in": VERIFICATION_LIFETIME}

    # -- tokens -------------------------------------------------------------

    def token(self, request, body):
        self.require_client(request)
        grant = body.get("grant_type")
        if grant == "refresh_token":
            return self.refresh(string_field(body, "refresh_token"))
        if grant == "password":
            return self.password_signin(string_field(body, "username"),
                                        string_field(body, "password"))
        if not isinstance(grant, str) or not grant:
            raise ApiError("invalid_argument", "grant_type is required")
        raise ApiError("unsupported_grant_type", "unsupported grant_type %s" % grant)

    def refresh(self, refresh_token):
        state = self.state
        # [guess] a refresh token used again after it was traded is taken for
        # a stolen one (OAuth 2.0 security BCP, refresh token rotation): the
        # whole session ends
        reused = state.sessions.get(state.rotated_refresh.get(refresh_token))
        if reused is not None:
            state.revoke_session(reused)
            raise ApiError("invalid_grant", "refresh token already used: session revoked")
        session = state.sessions.get(state.refresh_tokens.get(refresh_token))
        if session is None or session.revoked or session.refresh_token != refresh_token:
            raise ApiError("invalid_grant", "refresh token invalid or already used")
        if state.now() >= session.refresh_expires:
            raise ApiError("invalid_grant", "refresh token expired")
        user = state.users.get(session.username)
        if user is None:
            raise ApiError("invalid_grant", "user no longer exists")
        self.check_status(user)
        return state.issue_tokens(user, session.provider_type, session)

    def introspect(self, request, body):
        state = self.state
        if state.variant("introspect-query-token"):
            if basic_credentials(request) is None:
                raise ApiError("unauthorized_client", "client authentication required")
            self.require_client(request)
            token = request.query.get("token")
            if not token:
                raise ApiError("invalid_argument", "token query parameter required")
        else:
            token = bearer_token(request)
            if token is None:
                raise ApiError("unauthenticated", "missing bearer token")
        session = state.session_of_access_token(token)
        if session is None:
            return Inactive()
        return {"token_type": "Bearer", "client_id": state.config.client_id,
                "sub": state.users[session.username]["sub"], "scope": TOKEN_SCOPE}

    def revoke(self, request, body):
        state = self.state
        if state.variant("revoke-basic-body"):
            if basic_credentials(request) is None:
                raise ApiError("unauthorized_client", "client authentication required")
            self.require_client(request)
            # RFC 7009 style: an unknown token is not an error.
            state.note_session_of(request, string_field(body, "token"))
            session = state.session_of_access_token(string_field(body, "token"), False)
            if session is not None:
                state.revoke_session(session)
            return {}
        _, session = self.require_user(request)
        state.revoke_session(session)
        return {}

    # -- the user -----------------------------------------------------------

    def user_me(self, request, body):
        user, _ = self.require_user(request)
        providers = [{"id": kind, "provider_user_id": user[field], "name": user[field]}
                     for kind, field in (("phone", "phone_number"), ("email", "email"))
                     if user[field]]
        if user["has_password"]:
            providers.insert(0, {"id": "username", "provider_user_id": user["username"],
                                 "name": user["username"]})
        return {
            "sub": user["sub"], "name": user["name"] or user["username"],
            "picture": user["picture"], "username": user["username"],
            "email": user["email"], "phone_number": user["phone_number"],
            "providers": providers, "status": user["status"], "gender": user["gender"],
            "groups": [{"id": g} for g in user["groups"]], "meta": {},
            "created_at": rfc3339(user["created_at"]),
            "updated_at": rfc3339(user["updated_at"]),
            "last_login": rfc3339(user["last_login"]) if user["last_login"] else "",
            "has_password": bool(user["has_password"]), "user_id": user["sub"],
            "type": "USER",
        }

    def sudo(self, request, body):
        user, _ = self.require_user(request)
        state = self.state
        has_password, has_token = "password" in body, "verification_token" in body
        if has_password == has_token:
            raise ApiError("invalid_argument", "give either password or verification_token")
        if has_password:
            password = string_field(body, "password")
            if not user["has_password"]:
                raise ApiError("password_not_set", "the account has no password")
            if not hmac.compare_digest(password.encode(), user["password"].encode()):
                raise ApiError("invalid_password", "invalid password")
        else:
            record = self.consume_verification_token(string_field(body, "verification_token"))
            if state.find_user(record["contact"]) is not user:
                raise ApiError("invalid_argument", "verification token is for another user")
        token = "sudo-" + secrets.token_urlsafe(32)
        state.sudo_tokens[token] = (user["username"], state.now() + SUDO_TOKEN_LIFETIME)
        return {"sudo_token": token, "expires_in": SUDO_TOKEN_LIFETIME}

    def change_password(self, request, body):
        user, session = self.require_user(request)
        state = self.state
        self.check_sudo_token(request, body, user)
        new_password = string_field(body, "new_password")
        old_password = body.get("old_password")
        if old_password is not None and (
                not isinstance(old_password, str) or not user["has_password"] or
                not hmac.compare_digest(old_password.encode(), user["password"].encode())):
            raise ApiError("invalid_password", "old password is wrong")
        confirm = body.get("confirm_password")
        if confirm is not None and confirm != new_password:
            raise ApiError("invalid_argument", "confirm_password differs from new_password")
        if not password_is_strong(new_password):
            raise ApiError("weak_password", "8-64 characters with at least three of: "
                           "lower case, upper case, digits, symbols")
        user.update(password=new_password, has_password=True, updated_at=int(state.now()))
        state.lockouts.pop(user["username"], None)
        state.revoke_other_sessions(user["username"], session)
        return {}

    def check_sudo_token(self, request, body, user):
        """[var] ?sudo_token= or body sudo_token; both accepted unless a variant is on."""
        state = self.state
        candidates = []
        if not state.variant("sudo-token-body"):
            candidates.append(request.query.get("sudo_token"))
        if not state.variant("sudo-token-query"):
            candidates.append(body.get("sudo_token"))
        candidates = [c for c in candidates if isinstance(c, str) and c]
        if not candidates:
            raise ApiError("invalid_argument", "sudo_token required")
        for token in candidates:
            entry = state.sudo_tokens.get(token)
            if entry and entry[0] == user["username"] and state.now() < entry[1]:
                return
        raise ApiError("permission_denied", "sudo token invalid or expired")

    def certs(self, request, body):
        return self.state.signer.jwks()


# ---------------------------------------------------------------------------
# DNS faults (--dns-port): a resolver that is slow or silent
# ---------------------------------------------------------------------------

DNS_SILENT = "silent"        # first label: the query is never answered
DNS_SLOW = re.compile(r"^slow-([0-9]{1,6})$")  # slow-<ms>: answered after ms
DNS_FAST = "fast"            # answered at once


class DnsResponder:
    """A tiny DNS server on 127.0.0.1 (UDP), for tests that point
    /etc/resolv.conf at it in a private network namespace (port 53 there).
    The first label of the name picks the fault: `fast.<any>` gets A
    127.0.0.1 at once, `slow-<ms>.<any>` the same after <ms> milliseconds,
    `silent.<any>` no answer at all; any other name NXDOMAIN. AAAA and other
    types get an empty answer (NOERROR) on the same schedule. Every query
    is logged for GET /dns."""

    def __init__(self, port, state):
        self.state = state
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.answer, args=(data, peer), daemon=True).start()

    def stop(self):
        self.stopped.set()
        self.sock.close()

    @staticmethod
    def question(data):
        """(name, qtype, end of the question) or None."""
        labels, i = [], 12
        if len(data) < 12:
            return None
        while i < len(data):
            n = data[i]
            if n == 0:
                break
            if n > 63 or i + 1 + n > len(data):
                return None
            labels.append(data[i + 1:i + 1 + n].decode("ascii", "replace").lower())
            i += 1 + n
        if i + 5 > len(data):
            return None
        qtype = int.from_bytes(data[i + 1:i + 3], "big")
        return ".".join(labels), qtype, i + 5

    def answer(self, data, peer):
        q = self.question(data)
        if q is None:
            return
        name, qtype, end = q
        first = name.split(".")[0]
        with self.state.lock:
            self.state.dns_queries.append({"name": name, "type": qtype})
        if first == DNS_SILENT:
            return
        slow = DNS_SLOW.match(first)
        if slow:
            time.sleep(int(slow.group(1)) / 1000.0)
        known = first == DNS_FAST or slow is not None
        flags = 0x8180 if known else 0x8183  # response, RD+RA; rcode 0 or 3
        answers = b""
        if known and qtype == 1:
            # a pointer to the name in the question, A IN, TTL 0, 127.0.0.1
            answers = (b"\xc0\x0c" + (1).to_bytes(2, "big") + (1).to_bytes(2, "big") +
                       (0).to_bytes(4, "big") + (4).to_bytes(2, "big") + bytes([127, 0, 0, 1]))
        header = (data[0:2] + flags.to_bytes(2, "big") + (1).to_bytes(2, "big") +
                  (1 if answers else 0).to_bytes(2, "big") + bytes(4))
        try:
            self.sock.sendto(header + data[12:end] + answers, peer)
        except OSError:
            pass


# ---------------------------------------------------------------------------
# Control API (plain HTTP, loopback, tests only)
# ---------------------------------------------------------------------------

class ControlError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


class ControlApi:
    """GET/POST/DELETE JSON endpoints that drive and inspect the emulator."""

    def __init__(self, state):
        self.state = state

    def handle(self, request):
        try:
            result = self.dispatch(request)
            return HttpResponse.json(result)
        except ControlError as exc:
            return HttpResponse.json({"error": exc.message}, exc.status)
        except ValueError as exc:
            return HttpResponse.json({"error": str(exc)}, 400)
        except Exception as exc:
            traceback.print_exc()
            return HttpResponse.json({"error": "internal: %s" % exc}, 500)

    def body(self, request):
        try:
            return json.loads(request.body.decode("utf-8") or "null")
        except (UnicodeDecodeError, ValueError):
            raise ControlError(400, "body is not JSON")

    def dispatch(self, request):
        method, path, state = request.method, request.path.rstrip("/") or "/", self.state
        if path.startswith("/users/"):
            return self.user(method, urllib.parse.unquote(path[len("/users/"):]))
        handler = {
            ("GET", "/health"): lambda: {"ok": True},
            ("POST", "/reset"): lambda: (state.reset(), {"ok": True})[1],
            ("GET", "/stats"): state.stats.snapshot,
            ("POST", "/stats/reset"): lambda: (state.stats.reset(), {"ok": True})[1],
            ("GET", "/outbox"): lambda: self.outbox(request),
            ("GET", "/email-outbox"): lambda: copy.deepcopy(state.email_outbox),
            ("GET", "/faults"): lambda: {"faults": copy.deepcopy(state.faults)},
            ("POST", "/faults"): lambda: self.add_faults(request),
            ("DELETE", "/faults"): self.clear_faults,
            ("GET", "/variants"): lambda: dict(state.variants),
            ("POST", "/variants"): lambda: self.set_variant(request),
            ("GET", "/clock"): self.clock,
            ("POST", "/clock"): lambda: self.set_clock(request),
            ("GET", "/users"): lambda: {"users": sorted(state.users)},
            ("POST", "/users"): lambda: state.upsert_user(self.body(request)),
            ("GET", "/requests"): lambda: {"requests": list(state.requests)},
            ("GET", "/tokens"): lambda: {"tokens": copy.deepcopy(state.issued)},
            ("GET", "/dns"): lambda: {"queries": list(state.dns_queries)},
            ("GET", "/sessions"): lambda: {"sessions": [
                s.describe(state.now()) for s in state.sessions.values()]},
            ("DELETE", "/requests"): lambda: (state.requests.clear(), {"ok": True})[1],
            ("GET", "/settings"): lambda: state.config.settings(),
            ("POST", "/settings"): lambda: self.set_settings(request),
        }.get((method, path))
        if handler is None:
            raise ControlError(404, "no control route %s %s" % (method, path))
        with state.lock:
            return handler()

    def outbox(self, request):
        query = request.raw_query
        if not query:
            return copy.deepcopy(self.state.outbox)
        for key in ("phone", "email", "to"):
            match = re.search(r"(?:^|&)%s=([^&]*)" % key, query)
            if match:
                raw = match.group(1)
                email = key == "email" or (key == "to" and "@" in urllib.parse.unquote(raw))
                box = self.state.email_outbox if email else self.state.outbox
                for contact in (urllib.parse.unquote(raw), urllib.parse.unquote_plus(raw)):
                    if contact in box:
                        return dict(box[contact])
                raise ControlError(404, "nothing sent to %s" % urllib.parse.unquote(raw))
        raise ControlError(400, "use ?phone=, ?email= or no query")

    def add_faults(self, request):
        rules = self.body(request)
        rules = rules if isinstance(rules, list) else [rules]
        return {"added": self.state.add_faults(rules)}

    def clear_faults(self):
        self.state.faults.clear()
        return {"ok": True}

    def set_variant(self, request):
        body = self.body(request)
        if not isinstance(body, dict) or body.get("name") not in VARIANTS:
            raise ControlError(400, "name must be one of: " + ", ".join(VARIANTS))
        self.state.variants[body["name"]] = bool(body.get("enabled", True))
        return dict(self.state.variants)

    def clock(self):
        return {"now": self.state.now(), "offset": self.state.clock_offset}

    def set_clock(self, request):
        body = self.body(request)
        if not isinstance(body, dict):
            raise ControlError(400, "body must be an object")
        if "advance" in body:
            self.state.clock_offset += float(body["advance"])
        elif "offset" in body:
            self.state.clock_offset = float(body["offset"])
        else:
            raise ControlError(400, "give advance or offset (seconds)")
        return self.clock()

    def user(self, method, username):
        state = self.state
        if method == "GET":
            if username not in state.users:
                raise ControlError(404, "no user %s" % username)
            return copy.deepcopy(state.users[username])
        if method == "DELETE":
            if state.users.pop(username, None) is None:
                raise ControlError(404, "no user %s" % username)
            return {"ok": True}
        raise ControlError(405, "use GET or DELETE on /users/<name>, POST on /users")

    def set_settings(self, request):
        body = self.body(request)
        cfg = self.state.config
        for key, value in (body or {}).items():
            if key in ("lockout_threshold", "lockout_seconds"):
                setattr(cfg, key, int(value))
            elif key in ("client_id", "client_secret", "env"):
                setattr(cfg, key, str(value))
            else:
                raise ControlError(400, "unknown setting %s" % key)
        return cfg.settings()


# ---------------------------------------------------------------------------
# Start-up
# ---------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description="CloudBase Auth v2 emulator (tests only)")
    p.add_argument("--state-dir", required=True)
    p.add_argument("--cert-dir", help="where certificates live (default: the state dir)")
    p.add_argument("--seed", help="JSON seed file (default: seed.json beside this script)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--control-port", type=int, default=0)
    p.add_argument("--plain-http", action="store_true")
    p.add_argument("--cert", choices=CERT_VARIANTS, default="good")
    p.add_argument("--env")
    p.add_argument("--client-id")
    p.add_argument("--client-secret")
    p.add_argument("--lockout-threshold", type=int)
    p.add_argument("--lockout-seconds", type=int)
    p.add_argument("--var", action="append", default=[], choices=VARIANTS)
    p.add_argument("--faults", help="JSON file: a fault rule or a list of them")
    p.add_argument("--verbose", action="store_true", help="log each request to stderr")
    p.add_argument("--dns-port", type=int,
                   help="also answer DNS on 127.0.0.1:N (UDP) with the DNS faults")
    return p.parse_args(argv)


def load_faults(path):
    if not path:
        return []
    with open(path, encoding="utf-8") as f:
        rules = json.load(f)
    return [validate_fault(r) for r in (rules if isinstance(rules, list) else [rules])]


def serve_in_thread(server):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              daemon=True)
    thread.start()
    return thread


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    state_dir = os.path.abspath(args.state_dir)
    os.makedirs(state_dir, exist_ok=True)
    for name in ("port", "control-port", "pid", "dns-port"):
        if os.path.exists(os.path.join(state_dir, name)):
            os.unlink(os.path.join(state_dir, name))

    certs = CertStore(args.cert_dir or state_dir)
    certs.ensure()
    certs.export_to(state_dir)
    seed = load_seed(args.seed)
    state = ServiceState(Config(args, seed), seed, TokenSigner(certs.path("jwt-key.pem")),
                         args.var, load_faults(args.faults))

    tls = None if args.plain_http else tls_server_context(*certs.server_files(args.cert))
    api = Server(args.port, CloudBaseApi(state, args.verbose), tls, state.stats)
    control = Server(args.control_port, ControlApi(state))
    state.api_port = api.server_address[1]
    state.scheme = "http" if args.plain_http else "https"

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    dns = None
    if args.dns_port is not None:
        dns = DnsResponder(args.dns_port, state)
        threading.Thread(target=dns.serve, daemon=True).start()
    serve_in_thread(api)
    serve_in_thread(control)
    atomic_write(os.path.join(state_dir, "pid"), "%d\n" % os.getpid())
    if dns:
        atomic_write(os.path.join(state_dir, "dns-port"), "%d\n" % dns.port)
    atomic_write(os.path.join(state_dir, "control-port"), "%d\n" % control.server_address[1])
    atomic_write(os.path.join(state_dir, "port"), "%d\n" % state.api_port)
    log("listening on %s://127.0.0.1:%d%s (control http://127.0.0.1:%d)"
        % (state.scheme, state.api_port, API_PREFIX, control.server_address[1]))

    while not stop.wait(0.5):
        pass
    if dns:
        dns.stop()
    api.shutdown()
    control.shutdown()
    api.server_close()
    control.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
