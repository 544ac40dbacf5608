#!/usr/bin/python3
"""Local emulator of a Tencent Cloud API 3.0 style JSON API.

It answers `POST /` the way the real endpoints do: it checks the
TC3-HMAC-SHA256 signature, then replies with the envelope of the action's
first documented example (vendored in third_party/tencentcloud-specs), sent
byte for byte.  Rules, loaded from a file or posted to /_emulator/rules, make
it answer something else: an error envelope, a raw body, another HTTP status,
a delay, or a broken connection.  Every API request is recorded and can be read
back from /_emulator/requests.  With --tls-cert/--tls-key it serves HTTPS
(TLS 1.2+, ALPN http/1.1 only); connection, handshake and request counters are
read from /_emulator/stats.

Python 3 standard library only; see docs/emulator.md.
"""

import argparse
import base64
import collections
import datetime
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import ssl
import socketserver
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

DEMO_SECRET_ID = "AKIDEMULATOR00000000000000000000"
DEMO_SECRET_KEY = "emulator-secret-key-0000000000000"
ALGORITHM = "TC3-HMAC-SHA256"
DEFAULT_MAX_SKEW = 300
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_RECORDED_REQUESTS = 1000
JSON_CONTENT_TYPE = "application/json"
# A client that connects but does not finish the TLS handshake within this
# many seconds is dropped (and counted in tls_failures).
TLS_HANDSHAKE_TIMEOUT = 10

# The 26 common error codes with the English descriptions of the seed
# document; they are the default messages of error envelopes.
COMMON_ERRORS = {
    "AuthFailure.InvalidSecretId": "Invalid key (not a TencentCloud API key type).",
    "AuthFailure.MFAFailure": "MFA failed.",
    "AuthFailure.SecretIdNotFound": "The key does not exist.",
    "AuthFailure.SignatureExpire": "Signature expired.",
    "AuthFailure.SignatureFailure": "Signature error.",
    "AuthFailure.TokenFailure": "Token error.",
    "AuthFailure.UnauthorizedOperation": "The request does not have CAM authorization.",
    "DryRunOperation": "DryRun Operation. It means that the request would have succeeded, "
                       "but the DryRun parameter was used.",
    "FailedOperation": "Operation failed.",
    "InternalError": "Internal error.",
    "InvalidAction": "The API does not exist.",
    "InvalidParameter": "Incorrect parameter.",
    "InvalidParameterValue": "Invalid parameter value.",
    "LimitExceeded": "Quota limit exceeded.",
    "MissingParameter": "A parameter is missing.",
    "NoSuchVersion": "The API version does not exist.",
    "RequestLimitExceeded": "The number of requests exceeds the frequency limit.",
    "ResourceInUse": "Resource is in use.",
    "ResourceInsufficient": "Insufficient resource.",
    "ResourceNotFound": "The resource does not exist.",
    "ResourceUnavailable": "Resource is unavailable.",
    "UnauthorizedOperation": "Unauthorized operation.",
    "UnknownParameter": "Unknown parameter.",
    "UnsupportedOperation": "Unsupported operation.",
    "UnsupportedProtocol": "HTTPS request method error. Only GET and POST requests are supported.",
    "UnsupportedRegion": "API does not support the requested region.",
}

SIGNATURE_MISMATCH_MESSAGE = ("The provided credentials could not be validated. "
                              "Please ensure your signature is correct.")


class ApiError(Exception):
    """An error the emulator answers with a failure envelope (HTTP 200)."""

    def __init__(self, code, message=None):
        super().__init__(code)
        self.code = code
        self.message = message if message is not None else default_message(code)


def default_message(code):
    """Seed description of `code`, or of its longest known dotted prefix."""
    probe = code
    while probe:
        if probe in COMMON_ERRORS:
            return COMMON_ERRORS[probe]
        probe = probe.rpartition(".")[0]
    return code


def error_envelope(code, message=None, request_id=None):
    """Failure envelope bytes, members in the order the real API uses."""
    envelope = {"Response": {
        "Error": {"Code": code, "Message": message if message is not None else default_message(code)},
        "RequestId": request_id or str(uuid.uuid4()),
    }}
    return json.dumps(envelope, ensure_ascii=False).encode("utf-8")


def success_envelope(response, request_id=None):
    """Success envelope bytes around a Response object given by a rule."""
    response = dict(response)
    if request_id:
        response["RequestId"] = request_id
    response.setdefault("RequestId", str(uuid.uuid4()))
    return json.dumps({"Response": response}, ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------------------
# TC3-HMAC-SHA256 verification
# ---------------------------------------------------------------------------

def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def hmac_sha256(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def tc3_signature(secret_key, date, service, string_to_sign):
    """Derive the signing key ("TC3"+key -> date -> service -> tc3_request) and sign."""
    k_date = hmac_sha256(("TC3" + secret_key).encode("utf-8"), date)
    k_service = hmac_sha256(k_date, service)
    k_signing = hmac_sha256(k_service, "tc3_request")
    return hmac.new(k_signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def canonical_request(headers, signed_headers, body):
    """Canonical request of a `POST /` without query string.

    Header names are lower case; values are trimmed and lower-cased, as the
    published signing code of Tencent Cloud does for content-type and host.
    """
    canonical_headers = "".join(
        "%s:%s\n" % (name, headers[name].strip().lower()) for name in signed_headers)
    return "\n".join([
        "POST", "/", "", canonical_headers, ";".join(signed_headers), sha256_hex(body)])


def parse_authorization(value):
    """Split an Authorization header into (secret_id, date, service, signed_headers, signature)."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise ApiError("AuthFailure.SignatureFailure",
                       "Authorization must use the %s algorithm." % ALGORITHM)
    fields = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if not sep:
            raise ApiError("AuthFailure.SignatureFailure",
                           "Authorization is malformed near `%s`." % part.strip()[:40])
        fields[key.strip()] = val.strip()
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise ApiError("AuthFailure.SignatureFailure",
                       "Authorization lacks %s." % ", ".join(missing))
    scope = fields["Credential"].split("/")
    if len(scope) != 4 or scope[3] != "tc3_request" or not all(scope):
        raise ApiError("AuthFailure.SignatureFailure",
                       "Authorization Credential must be <SecretId>/<date>/<service>/tc3_request.")
    signed_headers = [h.strip().lower() for h in fields["SignedHeaders"].split(";")]
    return scope[0], scope[1], scope[2], signed_headers, fields["Signature"].lower()


def verify_tc3(headers, body, secret_id, secret_key, now, max_skew=DEFAULT_MAX_SKEW,
               session_token=None):
    """Check the signature of a `POST /` request; return the credential's service.

    `headers` maps lower-case names to values, `body` is the raw bytes.
    Raises ApiError with the code the real API would answer.  `max_skew` 0
    disables the timestamp window.
    """
    authorization = headers.get("authorization")
    if not authorization:
        raise ApiError("AuthFailure.SignatureFailure",
                       "The request is missing the `Authorization` header.")
    req_id, date, service, signed_headers, signature = parse_authorization(authorization)
    if not hmac.compare_digest(req_id, secret_id):
        raise ApiError("AuthFailure.SecretIdNotFound",
                       "The SecretId `%s` does not exist." % req_id)

    timestamp_text = headers.get("x-tc-timestamp", "").strip()
    if not timestamp_text:
        raise ApiError("MissingParameter",
                       "The request is missing a required parameter `X-TC-Timestamp`.")
    if not timestamp_text.isdigit():
        raise ApiError("InvalidParameterValue",
                       "X-TC-Timestamp `%s` is not a unix time in seconds." % timestamp_text[:40])
    timestamp = int(timestamp_text)
    if max_skew and abs(now - timestamp) > max_skew:
        raise ApiError("AuthFailure.SignatureExpire",
                       "Signature expired: X-TC-Timestamp %d is more than %d seconds away "
                       "from the server time %d." % (timestamp, max_skew, int(now)))
    utc_date = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%d")
    if date != utc_date:
        raise ApiError("AuthFailure.SignatureFailure",
                       "The credential date %s is not the UTC date %s of X-TC-Timestamp."
                       % (date, utc_date))

    for required in ("content-type", "host"):
        if required not in signed_headers:
            raise ApiError("AuthFailure.SignatureFailure",
                           "SignedHeaders must include `%s`." % required)
    for name in signed_headers:
        if name not in headers:
            raise ApiError("AuthFailure.SignatureFailure",
                           "The signed header `%s` is not in the request." % name)

    scope = "%s/%s/tc3_request" % (date, service)
    canonical = canonical_request(headers, signed_headers, body)
    string_to_sign = "\n".join([ALGORITHM, timestamp_text, scope, sha256_hex(canonical.encode("utf-8"))])
    expected = tc3_signature(secret_key, date, service, string_to_sign)
    if not hmac.compare_digest(expected, signature):
        raise ApiError("AuthFailure.SignatureFailure", SIGNATURE_MISMATCH_MESSAGE)

    # Temporary credentials: the token is checked once the signature holds,
    # so a wrong key is still reported as a signature failure.
    if session_token is not None and headers.get("x-tc-token", "") != session_token:
        raise ApiError("AuthFailure.TokenFailure",
                       "The X-TC-Token header is missing or does not match the session token.")
    return service


def service_hint(headers):
    """Service of a request: its credential scope, else a `<service>.tencentcloudapi.com` Host."""
    authorization = headers.get("authorization")
    if authorization:
        try:
            return parse_authorization(authorization)[2]
        except ApiError:
            pass
    host = headers.get("host", "").strip().lower().split(":")[0]
    if host.endswith(".tencentcloudapi.com"):
        return host.split(".")[0]
    return None


# ---------------------------------------------------------------------------
# Catalogue of documented examples
# ---------------------------------------------------------------------------

def version_from_dir(name):
    """`v20170312` -> `2017-03-12` (None for other directory names)."""
    m = re.fullmatch(r"v(\d{4})(\d{2})(\d{2})", name)
    return "%s-%s-%s" % m.groups() if m else None


class Catalog:
    """The first example output of each action, per (service, version)."""

    def __init__(self, specs_dir):
        self.products = []  # (service, version, {action: output text})
        for service in sorted(os.listdir(specs_dir)):
            service_dir = os.path.join(specs_dir, service)
            if not os.path.isdir(service_dir):
                continue
            for version_dir in sorted(os.listdir(service_dir)):
                path = os.path.join(service_dir, version_dir, "examples.json")
                version = version_from_dir(version_dir)
                if version and os.path.isfile(path):
                    self.products.append((service, version, self._load(path)))

    @staticmethod
    def _load(path):
        with open(path, encoding="utf-8") as f:
            actions = json.load(f).get("actions", {})
        return {name: examples[0]["output"] for name, examples in actions.items() if examples}

    def action_count(self):
        return sum(len(actions) for _, _, actions in self.products)

    def lookup(self, action, service, version):
        """Example output text for the action, or ApiError(InvalidAction/NoSuchVersion).

        With a known service, the version is checked against that service's
        versions; without one, against the products that have the action.
        """
        if service:
            candidates = [p for p in self.products if p[0] == service]
        else:
            candidates = [p for p in self.products if action in p[2]]
        if not candidates:
            raise ApiError("InvalidAction", "The action `%s` does not exist." % action)
        if version:
            matching = [p for p in candidates if p[1] == version]
            if not matching:
                raise ApiError("NoSuchVersion",
                               "The API version `%s` does not exist%s." %
                               (version, " for service `%s`" % service if service else ""))
            candidates = matching
        for _, _, actions in candidates:
            if action in actions:
                return actions[action]
        raise ApiError("InvalidAction", "The action `%s` does not exist." % action)


# ---------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------

def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_base64(v):
    try:
        base64.b64decode(v, validate=True)
        return True
    except ValueError:
        return False


# key -> (type check, description used in the 400 message)
RULE_FIELDS = {
    "action": (lambda v: isinstance(v, str) and v != "", "a non-empty string (or \"*\")"),
    "service": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "version": (lambda v: isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v),
                "a string YYYY-MM-DD"),
    "error": (lambda v: isinstance(v, dict), "an object {\"Code\": ..., \"Message\": ...}"),
    "request_id": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    # Any three-digit status: a hostile upstream may send one no RFC names.
    "status": (lambda v: _is_int(v) and 100 <= v <= 999, "an integer HTTP status 100..999"),
    "body": (lambda v: isinstance(v, str), "a string"),
    "body_base64": (lambda v: isinstance(v, str) and _is_base64(v), "a base64 string"),
    "response": (lambda v: isinstance(v, dict), "an object"),
    "headers": (lambda v: isinstance(v, dict) and all(
        isinstance(k, str) and re.fullmatch(r"[A-Za-z0-9-]+", k) and isinstance(x, str)
        and "\r" not in x and "\n" not in x for k, x in v.items()),
        "an object of header name -> string value"),
    "delay_ms": (lambda v: _is_number(v) and 0 <= v <= 600000, "a number of milliseconds 0..600000"),
    "fault": (lambda v: v in ("reset", "close", "partial"), "\"reset\", \"close\" or \"partial\""),
    "times": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "rate_limit": (lambda v: _is_number(v) and v > 0, "a number of requests per second > 0"),
}


def validate_rule(rule):
    """Return a normalised copy of one rule, or raise ValueError saying what is wrong."""
    if not isinstance(rule, dict):
        raise ValueError("a rule must be a JSON object, got %s" % type(rule).__name__)
    unknown = sorted(set(rule) - set(RULE_FIELDS))
    if unknown:
        raise ValueError("unknown rule key(s) %s; allowed: %s"
                         % (", ".join(unknown), ", ".join(sorted(RULE_FIELDS))))
    for key, value in rule.items():
        check, description = RULE_FIELDS[key]
        if not check(value):
            raise ValueError("rule key `%s` must be %s, got %s" % (key, description, json.dumps(value)))
    if "error" in rule:
        error = rule["error"]
        extra = sorted(set(error) - {"Code", "Message"})
        if extra:
            raise ValueError("rule `error` allows only Code and Message, got %s" % ", ".join(extra))
        if not isinstance(error.get("Code"), str) or not error["Code"]:
            raise ValueError("rule `error.Code` must be a non-empty string")
        if "Message" in error and not isinstance(error["Message"], str):
            raise ValueError("rule `error.Message` must be a string")
    if "error" in rule and "response" in rule:
        raise ValueError("a rule cannot have both `error` and `response`")
    normalised = dict(rule)
    normalised.setdefault("action", "*")
    return normalised


def validate_rules(payload):
    """One rule or a list of rules -> list of normalised rules (ValueError names the index)."""
    items = payload if isinstance(payload, list) else [payload]
    rules = []
    for index, item in enumerate(items):
        try:
            rules.append(validate_rule(item))
        except ValueError as e:
            raise ValueError("rule #%d: %s" % (index, e) if isinstance(payload, list) else str(e))
    return rules


class RuleBook:
    """Ordered rules; the first one matching a request wins."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules = []  # dicts: {"id", "rule", "remaining", "hits"}
        self._next_id = 1

    def add(self, rules):
        with self._lock:
            ids = []
            for rule in rules:
                self._rules.append({"id": self._next_id, "rule": rule,
                                    "remaining": rule.get("times"), "hits": 0})
                ids.append(self._next_id)
                self._next_id += 1
            return ids

    def match(self, action, service, version):
        """Take the first matching rule (counting one use), or None."""
        with self._lock:
            for entry in self._rules:
                rule = entry["rule"]
                if rule["action"] not in ("*", action):
                    continue
                if "service" in rule and rule["service"] != service:
                    continue
                if "version" in rule and rule["version"] != version:
                    continue
                entry["hits"] += 1
                if entry["remaining"] is not None:
                    entry["remaining"] -= 1
                    if entry["remaining"] <= 0:
                        self._rules.remove(entry)
                return entry["id"], rule
            return None

    def listing(self):
        with self._lock:
            return [dict(e["rule"], id=e["id"], remaining=e["remaining"], hits=e["hits"])
                    for e in self._rules]

    def delete(self, rule_id):
        with self._lock:
            before = len(self._rules)
            self._rules = [e for e in self._rules if e["id"] != rule_id]
            return len(self._rules) != before

    def clear(self):
        with self._lock:
            self._rules = []


class RateWindows:
    """The API's rate limit, as a sliding window of one second per rule and
    (service, action): a request finding `limit` requests let through in the
    last second is refused. Refused requests do not count."""

    WINDOW = 1.0

    def __init__(self):
        self._lock = threading.Lock()
        self._windows = {}  # (rule id, service, action) -> deque of times

    def admit(self, key, limit, now):
        with self._lock:
            window = self._windows.setdefault(key, collections.deque())
            while window and window[0] <= now - self.WINDOW:
                window.popleft()
            if len(window) >= limit:
                return False
            window.append(now)
            return True

    def clear(self):
        with self._lock:
            self._windows = {}


class RequestLog:
    """The last MAX_RECORDED_REQUESTS API requests, oldest first."""

    def __init__(self):
        self._lock = threading.Lock()
        self._records = collections.deque(maxlen=MAX_RECORDED_REQUESTS)
        self._next_id = 1

    def record(self, entry):
        with self._lock:
            entry = dict(id=self._next_id, **entry)
            self._next_id += 1
            self._records.append(entry)
            return entry

    def update(self, entry, **fields):
        # Records are shared with readers; mutate them under the lock only.
        with self._lock:
            entry.update(fields)

    def listing(self):
        with self._lock:
            return [dict(e) for e in self._records]

    def clear(self):
        with self._lock:
            self._records.clear()


# ---------------------------------------------------------------------------
# HTTP server
# ---------------------------------------------------------------------------

class Stats:
    """Connection-level counters, shared by all connection threads."""

    FIELDS = ("connections", "tls_handshakes", "tls_failures", "requests")

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(self.FIELDS, 0)

    def add(self, field):
        with self._lock:
            self._counts[field] += 1

    def snapshot(self):
        with self._lock:
            return dict(self._counts)

    def clear(self):
        with self._lock:
            self._counts = dict.fromkeys(self.FIELDS, 0)


class EmulatorState:
    def __init__(self, catalog, secret_id, secret_key, session_token, no_auth, max_skew, quiet,
                 max_requests_per_connection=0):
        self.catalog = catalog
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.session_token = session_token
        self.no_auth = no_auth
        self.max_skew = max_skew
        self.quiet = quiet
        self.max_requests_per_connection = max_requests_per_connection  # 0: unlimited
        self.rules = RuleBook()
        self.rate_windows = RateWindows()
        self.requests = RequestLog()
        self.stats = Stats()


def utc_now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class BodyError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "envelope-emulator/1"
    # Headers and body go out in separate writes; with Nagle on, a kept-alive
    # connection then waits for the peer's delayed ACK (~40 ms a call).
    disable_nagle_algorithm = True

    # Requests answered on this connection (one handler instance per connection).
    served_on_connection = 0

    @property
    def state(self):
        return self.server.state

    # -- plumbing -----------------------------------------------------------

    def log_message(self, fmt, *args):
        # http.server only logs protocol errors through here (our access log
        # line is written by log_api); keep them unless --quiet.
        if not self.state.quiet:
            sys.stderr.write("%s %s\n" % (utc_now_iso(), fmt % args))

    def log_request(self, code="-", size="-"):
        pass  # replaced by log_api / control requests stay silent

    def log_api(self, action, status, outcome, started):
        if not self.state.quiet:
            sys.stderr.write("%s %s %s action=%s -> %s %s %.0fms\n" % (
                utc_now_iso(), self.command, self.path, action or "-", status, outcome,
                (time.monotonic() - started) * 1000))
            sys.stderr.flush()

    def lower_headers(self):
        headers = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), value)  # first occurrence wins
        return headers

    def read_body(self):
        """Read the request body (Content-Length or chunked)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length_text = self.headers.get("Content-Length", "0").strip() or "0"
        if not length_text.isdigit():
            raise BodyError(400, "invalid Content-Length")
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            raise BodyError(413, "request body over %d bytes" % MAX_BODY_BYTES)
        return self.rfile.read(length)

    def _read_chunked(self):
        chunks, total = [], 0
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise BodyError(400, "invalid chunk size")
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise BodyError(413, "request body over %d bytes" % MAX_BODY_BYTES)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def send_bytes(self, status, payload, content_type=JSON_CONTENT_TYPE, extra_headers=None):
        self.send_response(status)
        headers = {"Content-Type": content_type}
        headers.update(extra_headers or {})
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_connection_limit()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def send_connection_limit(self):
        """`Connection: close` on the last answer --max-requests-per-connection allows."""
        self.served_on_connection += 1
        limit = self.state.max_requests_per_connection
        if limit and self.served_on_connection >= limit:
            self.send_header("Connection", "close")  # also sets close_connection

    def send_partial(self, status, payload, content_type=JSON_CONTENT_TYPE, extra_headers=None):
        """Status line and headers announcing `payload`, then only part of it, then close.

        Content-Length is the full length (at least one byte more than sent);
        about half of the body goes out before the connection is closed (FIN).
        """
        self.close_connection = True
        sent = payload[:len(payload) // 2]
        self.send_response(status)
        headers = {"Content-Type": content_type}
        headers.update(extra_headers or {})
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(max(len(payload), len(sent) + 1)))
        self.end_headers()
        self.wfile.write(sent)

    def send_json(self, status, value, extra_headers=None):
        payload = (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        self.send_bytes(status, payload, extra_headers=extra_headers)

    def abort_connection(self, reset):
        """Drop the connection without answering; `reset` sends a TCP RST."""
        self.close_connection = True
        if reset:
            # SO_LINGER 0 makes close() send RST instead of FIN.  The socket is
            # closed here: the server's own shutdown(SHUT_WR) would send a FIN first.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        # Otherwise close_connection alone makes the server close it with a FIN.

    # -- dispatch -----------------------------------------------------------

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def dispatch(self):
        path = urlsplit(self.path).path
        try:
            if path == "/_emulator" or path.startswith("/_emulator/"):
                self.handle_control(path)
            elif path == "/":
                self.handle_api()
            else:
                self.read_body()
                self.send_json(404, {"error": "no such path %s; the API is at POST /" % path})
        except BodyError as e:
            self.close_connection = True
            self.send_json(e.status, {"error": str(e)})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away, e.g. during a delay

    # -- control endpoints --------------------------------------------------

    def handle_control(self, path):
        body = self.read_body()
        method = self.command
        parts = path.rstrip("/").split("/")[2:]  # after "", "_emulator"
        routes = {
            ("health",): {"GET": lambda: self.send_json(200, {"status": "ok"})},
            ("rules",): {"GET": lambda: self.send_json(200, self.state.rules.listing()),
                         "POST": lambda: self.add_rules(body),
                         "DELETE": self.clear_rules},
            ("requests",): {"GET": lambda: self.send_json(200, self.state.requests.listing()),
                            "DELETE": self.clear_requests},
            ("reset",): {"POST": self.reset},
            ("stats",): {"GET": lambda: self.send_json(200, self.state.stats.snapshot()),
                         "DELETE": self.clear_stats},
        }
        if len(parts) == 2 and parts[0] == "rules":
            routes[tuple(parts)] = {"DELETE": lambda: self.delete_rule(parts[1])}
        handlers = routes.get(tuple(parts))
        if handlers is None:
            self.send_json(404, {"error": "no control endpoint %s" % path})
        elif method not in handlers:
            self.send_json(405, {"error": "%s does not allow %s" % (path, method)},
                           extra_headers={"Allow": ", ".join(sorted(handlers))})
        else:
            handlers[method]()

    def add_rules(self, body):
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            self.send_json(400, {"error": "body is not JSON: %s" % e})
            return
        try:
            rules = validate_rules(payload)
        except ValueError as e:
            self.send_json(400, {"error": str(e)})
            return
        self.send_json(200, {"ids": self.state.rules.add(rules)})

    def delete_rule(self, rule_id_text):
        if rule_id_text.isdigit() and self.state.rules.delete(int(rule_id_text)):
            self.send_json(200, {"deleted": int(rule_id_text)})
        else:
            self.send_json(404, {"error": "no rule with id %s" % rule_id_text})

    def clear_rules(self):
        self.state.rules.clear()
        self.send_json(200, {"status": "ok"})

    def clear_requests(self):
        self.state.requests.clear()
        self.send_json(200, {"status": "ok"})

    def clear_stats(self):
        self.state.stats.clear()
        self.send_json(200, {"status": "ok"})

    def reset(self):
        self.state.rules.clear()
        self.state.rate_windows.clear()
        self.state.requests.clear()
        self.state.stats.clear()
        self.send_json(200, {"status": "ok"})

    # -- the API ------------------------------------------------------------

    def handle_api(self):
        started = time.monotonic()
        body = self.read_body()
        if self.command == "POST":
            self.state.stats.add("requests")
        headers = self.lower_headers()
        action = headers.get("x-tc-action", "").strip()
        version = headers.get("x-tc-version", "").strip()
        service = service_hint(headers)
        form = None
        if headers.get("content-type", "").startswith("multipart/form-data"):
            try:
                form = parse_form(headers["content-type"], body)
            except ValueError as e:
                form = {"error": str(e)}
        record = self.state.requests.record({
            "method": self.command, "path": self.path, "headers": headers,
            "body": body.decode("utf-8", errors="replace"), "form": form,
            "action": action or None, "version": version or None,
            "region": headers.get("x-tc-region", "").strip() or None,
            "service": service, "signature_ok": None, "time": utc_now_iso(),
            "rule_id": None, "status": None, "error_code": None,
        })

        status, payload, ctype, extra, code = self.answer_api(record, headers, body, action,
                                                              service, version)
        if payload is None:  # a fault rule dropped the connection
            self.state.requests.update(record, status=None)
            self.log_api(action, "-", "fault", started)
            return
        if isinstance(payload, PartialAnswer):  # a "partial" fault: a truncated answer
            self.state.requests.update(record, status=None, error_code=code)
            self.send_partial(status, payload.data, ctype, extra)
            self.log_api(action, status, "partial fault", started)
            return
        self.state.requests.update(record, status=status, error_code=code)
        self.send_bytes(status, payload, ctype, extra)
        self.log_api(action, status, code or "ok", started)

    def answer_api(self, record, headers, body, action, service, version):
        """Decide the answer: (status, payload or None for a fault, content type, headers, error code)."""
        if self.command != "POST":
            return self._error(ApiError("UnsupportedProtocol",
                                        "The emulator accepts only POST requests with a JSON body."))
        if not self.state.no_auth:
            try:
                verify_tc3(headers, body, self.state.secret_id, self.state.secret_key,
                           time.time(), self.state.max_skew, self.state.session_token)
            except ApiError as e:
                self.state.requests.update(record, signature_ok=False)
                return self._error(e)
            self.state.requests.update(record, signature_ok=True)

        matched = self.state.rules.match(action, service, version)
        if matched is None:
            return self._default_answer(body, action, service, version)
        rule_id, rule = matched
        self.state.requests.update(record, rule_id=rule_id)
        if "rate_limit" in rule:
            if not self.state.rate_windows.admit((rule_id, service, action), rule["rate_limit"],
                                                 time.monotonic()):
                return self._error(ApiError("RequestLimitExceeded"))
            rule = {k: v for k, v in rule.items() if k != "rate_limit"}
        return self._rule_answer(rule, body, action, service, version)

    def _rule_answer(self, rule, body, action, service, version):
        if rule.get("delay_ms"):
            time.sleep(rule["delay_ms"] / 1000.0)
        if rule.get("fault") in ("reset", "close"):
            self.abort_connection(reset=rule["fault"] == "reset")
            return None, None, None, None, None
        if rule.get("fault") == "partial":
            without_fault = {k: v for k, v in rule.items() if k not in ("fault", "delay_ms")}
            status, payload, ctype, extra, code = self._rule_answer(
                without_fault, body, action, service, version)
            return status, PartialAnswer(payload), ctype, extra, code
        status = rule.get("status", 200)
        extra = {k: v for k, v in rule.get("headers", {}).items() if k.lower() != "content-type"}
        ctype = next((v for k, v in rule.get("headers", {}).items() if k.lower() == "content-type"),
                     JSON_CONTENT_TYPE)
        if "body_base64" in rule:  # any bytes, invalid UTF-8 included
            return status, base64.b64decode(rule["body_base64"]), ctype, extra, None
        if "body" in rule:
            return status, rule["body"].encode("utf-8"), ctype, extra, None
        if "error" in rule:
            code = rule["error"]["Code"]
            payload = error_envelope(code, rule["error"].get("Message"), rule.get("request_id"))
            return status, payload, ctype, extra, code
        if "response" in rule:
            response = rule["response"]
            # Accept a whole envelope too: {"Response": {...}}.
            if list(response) == ["Response"] and isinstance(response["Response"], dict):
                response = response["Response"]
            return status, success_envelope(response, rule.get("request_id")), ctype, extra, None
        # Only delay/status/headers: answer as usual with those changes.
        _, payload, _, _, code = self._default_answer(body, action, service, version)
        return status, payload, ctype, extra, code

    def _default_answer(self, body, action, service, version):
        content_type = self.headers.get("Content-Type", "")
        try:
            if not action:
                raise ApiError("MissingParameter",
                               "The request is missing a required parameter `X-TC-Action`.")
            if not version:
                raise ApiError("MissingParameter",
                               "The request is missing a required parameter `X-TC-Version`.")
            output = self.state.catalog.lookup(action, service, version)
            if content_type.startswith("multipart/form-data"):
                try:
                    parse_form(content_type, body)
                except ValueError as e:
                    raise ApiError("InvalidParameter", "request body is not a form: %s" % e)
            elif not is_json_object(body):
                raise ApiError("InvalidParameter", "request body is not a JSON object")
        except ApiError as e:
            return self._error(e)
        # The example text is sent as stored: clients test byte-for-byte fidelity.
        return 200, output.encode("utf-8"), JSON_CONTENT_TYPE, {}, None

    @staticmethod
    def _error(e):
        return 200, error_envelope(e.code, e.message), JSON_CONTENT_TYPE, {}, e.code


class PartialAnswer:
    """The payload of an answer that a "partial" fault sends only in part."""

    def __init__(self, data):
        self.data = data


_FORM_BOUNDARY = re.compile(r'multipart/form-data;\s*boundary="?([^";\s]+)"?')
_FORM_NAME = re.compile(r'(?:^|;)\s*name="([^"]*)"')
_FORM_FILENAME = re.compile(r';\s*filename="([^"]*)"')


def parse_form(content_type, body):
    """The parts of a multipart/form-data body (actions with `binary`
    members, as the SDKs send them): [{name, filename, content_type,
    base64}]. An empty body is no parts (what the SDKs send when no member
    is set). ValueError when the body is not such a form."""
    m = _FORM_BOUNDARY.match(content_type)
    if not m:
        raise ValueError("no boundary in %r" % content_type)
    if body == b"":
        return []
    delimiter = b"--" + m.group(1).encode("ascii")
    if not body.startswith(delimiter):
        raise ValueError("the body does not start with the boundary")
    parts, rest = [], body[len(delimiter):]
    while not rest.startswith(b"--"):
        if not rest.startswith(b"\r\n"):
            raise ValueError("no CRLF after a boundary")
        end = rest.find(b"\r\n" + delimiter)
        if end < 0:
            raise ValueError("a part without a closing boundary")
        head, blank, content = rest[2:end].partition(b"\r\n\r\n")
        if not blank:
            raise ValueError("a part without headers")
        fields = {}
        for line in head.decode("utf-8", errors="replace").split("\r\n"):
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        disposition = fields.get("content-disposition", "")
        name = _FORM_NAME.search(disposition)
        if not disposition.startswith("form-data") or name is None:
            raise ValueError("a part without form-data; name=...")
        filename = _FORM_FILENAME.search(disposition)
        parts.append({"name": name.group(1),
                      "filename": filename.group(1) if filename else None,
                      "content_type": fields.get("content-type"),
                      "base64": base64.b64encode(content).decode("ascii")})
        rest = rest[end + 2 + len(delimiter):]
    if rest not in (b"--", b"--\r\n"):
        raise ValueError("bytes after the closing boundary")
    return parts


def is_json_object(body):
    try:
        return isinstance(json.loads(body.decode("utf-8")), dict)
    except (UnicodeDecodeError, ValueError):
        return False


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops bursts of new connections
    # (clients then wait a SYN retry, ~1 s); a gateway under load opens many.
    request_queue_size = 1024

    def __init__(self, address, state, family=socket.AF_INET, ssl_context=None):
        self.address_family = family
        self.state = state
        self.ssl_context = ssl_context  # None: plain HTTP
        super().__init__(address, Handler)

    def get_request(self):
        # Runs in the accepting thread: only wrap here, the handshake itself
        # happens in the connection's thread (finish_request), so a slow or
        # silent client cannot hold up accept().
        sock, address = self.socket.accept()
        self.state.stats.add("connections")
        if self.ssl_context is not None:
            try:
                sock = self.ssl_context.wrap_socket(sock, server_side=True,
                                                    do_handshake_on_connect=False)
            except (OSError, ValueError) as e:
                sock.close()
                self.state.stats.add("tls_failures")
                raise OSError(str(e))  # serve_forever skips connections failing with OSError
        return sock, address

    def finish_request(self, request, client_address):
        if self.ssl_context is not None:
            try:
                request.settimeout(TLS_HANDSHAKE_TIMEOUT)
                request.do_handshake()
                request.settimeout(None)
            except (OSError, ValueError) as e:  # ssl.SSLError, timeouts, resets
                self.state.stats.add("tls_failures")
                if not self.state.quiet:
                    sys.stderr.write("%s TLS handshake with %s failed: %s\n" % (
                        utc_now_iso(), client_address[0], e))
                    sys.stderr.flush()
                return  # process_request_thread closes the socket
            self.state.stats.add("tls_handshakes")
        super().finish_request(request, client_address)

    def server_bind(self):
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def default_specs_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "third_party", "tencentcloud-specs"))


def parse_listen(text):
    """HOST:PORT, [IPv6]:PORT, or PORT alone (loopback) -> (host, port)."""
    m = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:\[\]]*):(\d+)|(\d+)", text)
    if not m:
        raise argparse.ArgumentTypeError("expected HOST:PORT, [IPV6]:PORT or PORT, got %r" % text)
    if m.group(5):
        return "127.0.0.1", int(m.group(5))
    host, port = (m.group(1), m.group(2)) if m.group(1) else (m.group(3) or "127.0.0.1", m.group(4))
    if int(port) > 65535:
        raise argparse.ArgumentTypeError("port %s out of range" % port)
    return host, int(port)


def make_tls_context(cert_file, key_file):
    """Server context: TLS 1.2 or later, ALPN http/1.1 only (no HTTP/2)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    context.load_cert_chain(cert_file, key_file)
    return context


def load_rules_file(path):
    with open(path, encoding="utf-8") as f:
        payload = json.load(f)
    return validate_rules(payload)


def build_arg_parser():
    parser = argparse.ArgumentParser(
        prog="emulator.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Emulate a Tencent Cloud API 3.0 style JSON API on loopback.\n\n"
                    "POST / with X-TC-Action and X-TC-Version answers the action's first\n"
                    "documented example from the specs directory, byte for byte, after\n"
                    "checking the TC3-HMAC-SHA256 signature. Rules make it answer errors,\n"
                    "raw bodies, delays or broken connections instead.",
        epilog="control endpoints (unsigned):\n"
               "  GET    /_emulator/health          liveness\n"
               "  GET    /_emulator/rules           list rules (with id, remaining, hits)\n"
               "  POST   /_emulator/rules           add one rule or a list -> {\"ids\": [...]}\n"
               "  DELETE /_emulator/rules[/ID]      delete all rules, or one\n"
               "  GET    /_emulator/requests        recorded API requests, oldest first\n"
               "  DELETE /_emulator/requests        forget recorded requests\n"
               "  GET    /_emulator/stats           connection/TLS/request counters\n"
               "  DELETE /_emulator/stats           zero the counters\n"
               "  POST   /_emulator/reset           clear rules, requests and counters\n\n"
               "On start one line is printed to stdout:\n"
               "  emulator listening on http://HOST:PORT   (https:// with --tls-cert)\n"
               "See docs/emulator.md for the rule format and examples.")
    env = os.environ
    parser.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 0), metavar="HOST:PORT",
                        help="address to listen on; port 0 picks a free port (default 127.0.0.1:0)")
    parser.add_argument("--specs", default=default_specs_dir(), metavar="DIR",
                        help="directory of <service>/<vYYYYMMDD>/examples.json "
                             "(default: third_party/tencentcloud-specs of this repository)")
    parser.add_argument("--secret-id", default=env.get("TENCENTCLOUD_SECRET_ID") or DEMO_SECRET_ID,
                        metavar="ID", help="accepted SecretId (default: $TENCENTCLOUD_SECRET_ID, "
                                           "else %s)" % DEMO_SECRET_ID)
    parser.add_argument("--secret-key", default=env.get("TENCENTCLOUD_SECRET_KEY") or DEMO_SECRET_KEY,
                        metavar="KEY", help="SecretKey used to verify signatures "
                                            "(default: $TENCENTCLOUD_SECRET_KEY, else a demo key)")
    parser.add_argument("--session-token", default=env.get("TENCENTCLOUD_SESSION_TOKEN") or None,
                        metavar="TOKEN", help="require X-TC-Token to equal TOKEN, as for temporary "
                                              "credentials (default: $TENCENTCLOUD_SESSION_TOKEN, "
                                              "else not required)")
    parser.add_argument("--no-auth", action="store_true",
                        help="accept requests without checking the Authorization header")
    parser.add_argument("--rules", metavar="FILE",
                        help="JSON file with a list of rules to load at start")
    parser.add_argument("--max-skew", type=int, default=DEFAULT_MAX_SKEW, metavar="SECONDS",
                        help="largest accepted |now - X-TC-Timestamp| (default %d; 0 disables)"
                             % DEFAULT_MAX_SKEW)
    parser.add_argument("--tls-cert", metavar="FILE",
                        help="serve HTTPS with this PEM certificate (chain); needs --tls-key")
    parser.add_argument("--tls-key", metavar="FILE", help="PEM private key of --tls-cert")
    parser.add_argument("--max-requests-per-connection", type=int, default=0, metavar="N",
                        help="close each connection after answering N requests "
                             "(default 0: unlimited)")
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines on stderr")
    return parser


def main(argv=None):
    args = build_arg_parser().parse_args(argv)
    if args.max_skew < 0:
        sys.exit("emulator.py: --max-skew must be >= 0")
    if args.max_requests_per_connection < 0:
        sys.exit("emulator.py: --max-requests-per-connection must be >= 0")
    if bool(args.tls_cert) != bool(args.tls_key):
        sys.exit("emulator.py: --tls-cert and --tls-key go together")
    ssl_context = None
    if args.tls_cert:
        try:
            ssl_context = make_tls_context(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            sys.exit("emulator.py: cannot load --tls-cert %s / --tls-key %s: %s"
                     % (args.tls_cert, args.tls_key, e))
    try:
        catalog = Catalog(args.specs)
    except OSError as e:
        sys.exit("emulator.py: cannot read --specs %s: %s" % (args.specs, e))
    state = EmulatorState(catalog, args.secret_id, args.secret_key, args.session_token,
                          args.no_auth, args.max_skew, args.quiet,
                          args.max_requests_per_connection)
    if args.rules:
        try:
            state.rules.add(load_rules_file(args.rules))
        except (OSError, ValueError) as e:
            sys.exit("emulator.py: --rules %s: %s" % (args.rules, e))

    host, port = args.listen
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        server = EmulatorServer((host, port), state, family, ssl_context)
    except OSError as e:
        sys.exit("emulator.py: cannot listen on %s:%d: %s" % (host, port, e))

    # serve_forever runs in this thread, so shutdown() must come from another.
    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    shown_host = "[%s]" % host if family == socket.AF_INET6 else host
    scheme = "https" if ssl_context is not None else "http"
    print("emulator listening on %s://%s:%d" % (scheme, shown_host, server.server_address[1]),
          flush=True)
    if not args.quiet:
        sys.stderr.write("%s loaded %d actions of %d products from %s; auth %s%s\n" % (
            utc_now_iso(), catalog.action_count(), len(catalog.products), args.specs,
            "off" if args.no_auth else "on (SecretId %s)" % args.secret_id,
            "; TLS with %s" % args.tls_cert if ssl_context is not None else ""))
        sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
