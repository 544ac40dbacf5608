#!/usr/bin/python3
"""Tests of tools/emulator/emulator.py.

Run from the repository root:  /usr/bin/python3 tests/emulator/emulator_test.py

The emulator runs as a real subprocess on a free loopback port and is spoken
to over real HTTP (and HTTPS, with a CA made by tools/testservers/make_test_ca.sh
at test time); the signature verifier is also checked directly against the
published TC3 vector (testdata/tc3-vector.md).
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EMULATOR = os.path.join(REPO, "tools", "emulator", "emulator.py")
SPECS = os.path.join(REPO, "third_party", "tencentcloud-specs")
MAKE_TEST_CA = os.path.join(REPO, "tools", "testservers", "make_test_ca.sh")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

sys.path.insert(0, os.path.dirname(EMULATOR))
import emulator  # noqa: E402

SECRET_ID = "AKIDtest0000000000000000000000000001"
SECRET_KEY = "test-secret-key-00000000000000000001"
CT = "application/json; charset=utf-8"

# --- the published vector (copied from testdata/tc3-vector.md) -------------
VECTOR = {
    "secret_id": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
    "secret_key": "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
    "service": "cvm",
    "host": "cvm.tencentcloudapi.com",
    "timestamp": 1551113065,
    "content_type": "application/json; charset=utf-8",
    "body": b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}',
    "body_sha256": "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
    "canonical_sha256": "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031",
    "signature": "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
    "authorization": "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
                     "tc3_request, SignedHeaders=content-type;host, Signature="
                     "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
}


def example_output(service, version_dir, action):
    with open(os.path.join(SPECS, service, version_dir, "examples.json"), encoding="utf-8") as f:
        return json.load(f)["actions"][action][0]["output"]


# --- a small independent signer -------------------------------------------

def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def sign(host, body, service, timestamp, secret_id=SECRET_ID, secret_key=SECRET_KEY,
         content_type=CT):
    """Authorization header value for a POST / (signed headers content-type;host)."""
    date = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%d")
    canonical = "POST\n/\n\ncontent-type:%s\nhost:%s\n\ncontent-type;host\n%s" % (
        content_type, host, hashlib.sha256(body).hexdigest())
    scope = "%s/%s/tc3_request" % (date, service)
    to_sign = "TC3-HMAC-SHA256\n%d\n%s\n%s" % (
        timestamp, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest())
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return "TC3-HMAC-SHA256 Credential=%s/%s, SignedHeaders=content-type;host, Signature=%s" % (
        secret_id, scope, signature)


# --- running the emulator --------------------------------------------------

def clean_env():
    """The environment without TENCENTCLOUD_* so the user's own credentials do not leak in."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TENCENTCLOUD_")}


class Emulator:
    """The emulator as a subprocess; `port` parsed from its first stdout line.

    With `ca` (a CA file), the emulator is expected to serve HTTPS and the
    helpers below connect with TLS, verifying against that CA.
    """

    def __init__(self, *args, ca=None):
        self.ssl_context = ssl.create_default_context(cafile=ca) if ca else None
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [PYTHON, EMULATOR, "--listen", "127.0.0.1:0", "--quiet"] + list(args),
            stdout=subprocess.PIPE, stderr=self.stderr, cwd=REPO, env=clean_env())
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        line = self.proc.stdout.readline().decode() if ready else ""
        prefix = "emulator listening on %s://127.0.0.1:" % ("https" if ca else "http")
        if not line.startswith(prefix):
            self.stop()
            raise RuntimeError("emulator did not start: %r %s" % (line, self.errors()))
        self.port = int(line[len(prefix):].strip())
        self.host = "127.0.0.1:%d" % self.port

    def errors(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self):
        """SIGTERM and wait; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()
        return self.proc.returncode

    def connection(self, timeout=10):
        if self.ssl_context is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.ssl_context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def http(self, method, path, body=b"", headers=None, timeout=10, conn=None):
        """One request -> (status, headers, body bytes); on `conn`, else a fresh connection."""
        own = conn is None
        conn = self.connection(timeout) if own else conn
        try:
            if isinstance(body, str):
                body = body.encode("utf-8")
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            if own:
                conn.close()

    def control(self, method, path, value=None, conn=None):
        body = b"" if value is None else json.dumps(value).encode()
        status, _, data = self.http(method, "/_emulator/" + path, body, conn=conn)
        return status, json.loads(data)

    def call(self, action, body=b"{}", version="2017-03-12", service="cvm", timestamp=None,
             secret_id=SECRET_ID, secret_key=SECRET_KEY, extra=None, signed=True, conn=None):
        """A signed API call -> (status, headers, body bytes)."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = {"Content-Type": CT, "Host": self.host, "X-TC-Action": action,
                   "X-TC-Version": version, "X-TC-Timestamp": str(timestamp),
                   "X-TC-Region": "ap-guangzhou"}
        if signed:
            headers["Authorization"] = sign(self.host, body, service, timestamp, secret_id, secret_key)
        headers.update(extra or {})
        return self.http("POST", "/", body, headers, conn=conn)


def error_of(data):
    envelope = json.loads(data)
    return envelope["Response"]["Error"]["Code"], envelope["Response"]["Error"]["Message"], \
        envelope["Response"]["RequestId"]


# --- tests -----------------------------------------------------------------

class VectorTest(unittest.TestCase):
    """The verifier against the published TC3 vector, without a server."""

    def headers(self, **overrides):
        h = {"content-type": VECTOR["content_type"], "host": VECTOR["host"],
             "x-tc-action": "DescribeInstances", "x-tc-version": "2017-03-12",
             "x-tc-region": "ap-guangzhou", "x-tc-timestamp": str(VECTOR["timestamp"]),
             "authorization": VECTOR["authorization"]}
        h.update(overrides)
        return h

    def verify(self, headers, body=VECTOR["body"], now=VECTOR["timestamp"], **kw):
        return emulator.verify_tc3(headers, body, VECTOR["secret_id"], VECTOR["secret_key"], now, **kw)

    def test_intermediates(self):
        self.assertEqual(hashlib.sha256(VECTOR["body"]).hexdigest(), VECTOR["body_sha256"])
        canonical = emulator.canonical_request(self.headers(), ["content-type", "host"], VECTOR["body"])
        self.assertEqual(hashlib.sha256(canonical.encode()).hexdigest(), VECTOR["canonical_sha256"])

    def test_accepts_vector(self):
        self.assertEqual(self.verify(self.headers()), "cvm")
        # The test's own signer agrees with the vector too.
        self.assertEqual(sign(VECTOR["host"], VECTOR["body"], "cvm", VECTOR["timestamp"],
                              VECTOR["secret_id"], VECTOR["secret_key"]), VECTOR["authorization"])

    def assertCode(self, code, *args, **kw):
        with self.assertRaises(emulator.ApiError) as cm:
            self.verify(*args, **kw)
        self.assertEqual(cm.exception.code, code, cm.exception.message)
        return cm.exception

    def test_rejects_changed_body(self):
        e = self.assertCode("AuthFailure.SignatureFailure", self.headers(), body=VECTOR["body"] + b" ")
        self.assertEqual(e.message, emulator.SIGNATURE_MISMATCH_MESSAGE)

    def test_rejects_expired(self):
        self.assertCode("AuthFailure.SignatureExpire", self.headers(), now=VECTOR["timestamp"] + 301)
        self.verify(self.headers(), now=VECTOR["timestamp"] + 10 ** 6, max_skew=0)  # 0 disables

    def test_rejects_wrong_secret_id(self):
        auth = VECTOR["authorization"].replace("AKIDz8krbsJ5", "AKIDxxxxxxxx")
        self.assertCode("AuthFailure.SecretIdNotFound", self.headers(authorization=auth))

    def test_rejects_garbled_and_missing(self):
        self.assertCode("AuthFailure.SignatureFailure", self.headers(authorization="Bearer x"))
        self.assertCode("AuthFailure.SignatureFailure",
                        self.headers(authorization="TC3-HMAC-SHA256 Credential=a/b"))
        h = self.headers()
        del h["authorization"]
        self.assertCode("AuthFailure.SignatureFailure", h)

    def test_rejects_date_not_matching_timestamp(self):
        # One day later, inside the skew window only because max_skew is off.
        ts = str(VECTOR["timestamp"] + 86400)
        self.assertCode("AuthFailure.SignatureFailure", self.headers(**{"x-tc-timestamp": ts}),
                        max_skew=0)

    def test_session_token(self):
        self.assertCode("AuthFailure.TokenFailure", self.headers(), session_token="tok")
        self.verify(self.headers(**{"x-tc-token": "tok"}), session_token="tok")


class FormTest(unittest.TestCase):
    """parse_form: the multipart/form-data bodies of actions with binary
    members (docs/emulator.md)."""

    TYPE = "multipart/form-data; boundary=b0"

    def test_parts_with_and_without_file_names(self):
        body = (b'--b0\r\nContent-Disposition: form-data; name="File"; '
                b'filename="File"\r\n\r\n\x00\xff\r\n--b1\r\n'
                b'--b0\r\nContent-Disposition: form-data; name="Ids"\r\n'
                b'Content-Type: application/json\r\n\r\n[1,2]\r\n--b0--\r\n')
        parts = emulator.parse_form(self.TYPE, body)
        self.assertEqual([(p["name"], p["filename"], p["content_type"]) for p in parts],
                         [("File", "File", None), ("Ids", None, "application/json")])
        self.assertEqual(base64.b64decode(parts[0]["base64"]), b"\x00\xff\r\n--b1")
        self.assertEqual(base64.b64decode(parts[1]["base64"]), b"[1,2]")

    def test_an_empty_body_is_no_parts(self):
        self.assertEqual(emulator.parse_form(self.TYPE, b""), [])

    def test_malformed_forms_are_refused(self):
        head = b'--b0\r\nContent-Disposition: form-data; name="A"\r\n\r\nx'
        for content_type, body in [
                ("multipart/form-data", b""),                       # no boundary
                (self.TYPE, b"x--b0--"),                            # no leading boundary
                (self.TYPE, head),                                  # never closed
                (self.TYPE, head + b"\r\n--b0--junk"),              # bytes after the end
                (self.TYPE, b"--b0\r\nno headers\r\n--b0--"),       # no blank line
                (self.TYPE, b"--b0\r\nX: y\r\n\r\nv\r\n--b0--"),  # no name
        ]:
            with self.subTest(body=body):
                with self.assertRaises(ValueError):
                    emulator.parse_form(content_type, body)


class SignedEmulatorTest(unittest.TestCase):
    """One emulator with signature checks on, reset before each test."""

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator("--secret-id", SECRET_ID, "--secret-key", SECRET_KEY)

    @classmethod
    def tearDownClass(cls):
        rc = cls.emu.stop()
        if rc != 0:
            raise AssertionError("emulator exited %s on SIGTERM" % rc)

    def setUp(self):
        self.assertEqual(self.emu.control("POST", "reset")[0], 200)

    def add_rules(self, rules):
        status, answer = self.emu.control("POST", "rules", rules)
        self.assertEqual(status, 200, answer)
        return answer["ids"]

    # -- success and signature ---------------------------------------------

    def test_health(self):
        self.assertEqual(self.emu.control("GET", "health"), (200, {"status": "ok"}))

    def test_signed_request_gets_example_byte_for_byte(self):
        status, headers, data = self.emu.call("DescribeZones")
        self.assertEqual(status, 200)
        self.assertEqual(data, example_output("cvm", "v20170312", "DescribeZones").encode("utf-8"))
        self.assertTrue(headers["Content-Type"].startswith("application/json"))

    def test_keep_alive(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=5)
        try:
            for _ in range(2):
                conn.request("GET", "/_emulator/health")
                resp = conn.getresponse()
                self.assertEqual(json.loads(resp.read()), {"status": "ok"})
                self.assertFalse(resp.will_close)
        finally:
            conn.close()

    def test_wrong_key(self):
        status, _, data = self.emu.call("DescribeZones", secret_key="not-the-key")
        self.assertEqual(status, 200)
        code, message, _ = error_of(data)
        self.assertEqual(code, "AuthFailure.SignatureFailure")
        self.assertEqual(message, emulator.SIGNATURE_MISMATCH_MESSAGE)

    def test_unknown_secret_id(self):
        _, _, data = self.emu.call("DescribeZones", secret_id="AKIDunknown")
        self.assertEqual(error_of(data)[0], "AuthFailure.SecretIdNotFound")

    def test_expired_timestamp(self):
        _, _, data = self.emu.call("DescribeZones", timestamp=int(time.time()) - 3600)
        self.assertEqual(error_of(data)[0], "AuthFailure.SignatureExpire")

    def test_missing_authorization(self):
        _, _, data = self.emu.call("DescribeZones", signed=False)
        self.assertEqual(error_of(data)[0], "AuthFailure.SignatureFailure")

    # -- catalogue lookups -------------------------------------------------

    def test_unknown_action(self):
        _, _, data = self.emu.call("DescribeNothing")
        code, message, request_id = error_of(data)
        self.assertEqual(code, "InvalidAction")
        self.assertEqual(message, "The action `DescribeNothing` does not exist.")
        self.assertEqual(len(request_id), 36)

    def test_action_of_another_service(self):
        _, _, data = self.emu.call("DescribeZones", service="kms", version="2019-01-18")
        self.assertEqual(error_of(data)[0], "InvalidAction")

    def test_no_such_version(self):
        _, _, data = self.emu.call("DescribeZones", version="2017-03-13")
        self.assertEqual(error_of(data)[0], "NoSuchVersion")

    def test_other_product(self):
        _, _, data = self.emu.call("GetServiceStatus", service="kms", version="2019-01-18")
        self.assertEqual(data, example_output("kms", "v20190118", "GetServiceStatus").encode("utf-8"))

    def test_body_not_json_object(self):
        _, _, data = self.emu.call("DescribeZones", body="[1]")
        self.assertEqual(error_of(data)[0], "InvalidParameter")

    # -- rules ---------------------------------------------------------------

    def test_rule_error_with_default_message_and_fixed_request_id(self):
        self.add_rules({"action": "DescribeZones",
                        "error": {"Code": "RequestLimitExceeded"}, "request_id": "req-1"})
        status, _, data = self.emu.call("DescribeZones")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data), {"Response": {
            "Error": {"Code": "RequestLimitExceeded",
                      "Message": "The number of requests exceeds the frequency limit."},
            "RequestId": "req-1"}})
        # Other actions are not affected.
        _, _, data = self.emu.call("DescribeRegions")
        self.assertNotIn("Error", json.loads(data)["Response"])

    def test_rule_rate_limit_per_action(self):
        # Three requests per second per action: a fourth within the second
        # is refused, another action has a window of its own, and a refused
        # request does not take a place in the window.
        self.add_rules({"action": "*", "rate_limit": 3})

        def code(action):
            envelope = json.loads(self.emu.call(action)[2])["Response"]
            return envelope.get("Error", {}).get("Code")

        codes = [code("DescribeZones") for _ in range(5)]
        self.assertEqual(codes[:3], [None, None, None])
        self.assertEqual(codes[3:], ["RequestLimitExceeded"] * 2)
        self.assertIsNone(code("DescribeRegions"))
        records = self.emu.control("GET", "requests")[1]
        self.assertEqual([r["error_code"] for r in records[-6:]],
                         [None, None, None, "RequestLimitExceeded",
                          "RequestLimitExceeded", None])

    def test_rule_times_expiry(self):
        self.add_rules([{"error": {"Code": "InternalError", "Message": "boom"}, "times": 2}])
        codes = []
        for _ in range(3):
            envelope = json.loads(self.emu.call("DescribeZones")[2])["Response"]
            codes.append(envelope.get("Error", {}).get("Code"))
        self.assertEqual(codes, ["InternalError", "InternalError", None])
        self.assertEqual(self.emu.control("GET", "rules"), (200, []))

    def test_rule_status_and_raw_body(self):
        self.add_rules({"status": 503, "body": "<html>busy</html>",
                        "headers": {"Content-Type": "text/html", "Retry-After": "1"}})
        status, headers, data = self.emu.call("DescribeZones")
        self.assertEqual((status, data), (503, b"<html>busy</html>"))
        self.assertEqual(headers["Content-Type"], "text/html")
        self.assertEqual(headers["Retry-After"], "1")

    def test_rule_response(self):
        self.add_rules({"action": "DescribeZones", "response": {"TotalCount": 12345678901234567}})
        envelope = json.loads(self.emu.call("DescribeZones")[2])["Response"]
        self.assertEqual(envelope["TotalCount"], 12345678901234567)
        self.assertIn("RequestId", envelope)

    def test_rule_service_and_version_match(self):
        self.add_rules([{"service": "kms", "error": {"Code": "FailedOperation"}},
                        {"version": "2017-03-12", "action": "DescribeRegions",
                         "error": {"Code": "ResourceUnavailable"}}])
        self.assertEqual(error_of(self.emu.call("GetServiceStatus", service="kms",
                                                version="2019-01-18")[2])[0], "FailedOperation")
        self.assertEqual(error_of(self.emu.call("DescribeRegions")[2])[0], "ResourceUnavailable")
        self.assertNotIn("Error", json.loads(self.emu.call("DescribeZones")[2])["Response"])

    def test_rule_delay(self):
        self.add_rules({"action": "DescribeZones", "delay_ms": 400})
        started = time.monotonic()
        status, _, data = self.emu.call("DescribeZones")
        self.assertGreaterEqual(time.monotonic() - started, 0.35)
        self.assertEqual(data, example_output("cvm", "v20170312", "DescribeZones").encode("utf-8"))

    def test_rule_reset_fault(self):
        self.add_rules({"fault": "reset", "times": 1})
        with self.assertRaises(ConnectionResetError):
            self.emu.call("DescribeZones")
        self.assertEqual(self.emu.call("DescribeZones")[0], 200)  # the rule expired

    def test_rule_close_fault(self):
        self.add_rules({"fault": "close", "times": 1})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.emu.call("DescribeZones")

    def test_rule_partial_fault(self):
        # Status line and headers, Content-Length larger than what follows, then a close.
        self.add_rules({"action": "DescribeZones", "fault": "partial", "times": 1})
        expected = example_output("cvm", "v20170312", "DescribeZones").encode("utf-8")
        conn = self.emu.connection()
        try:
            timestamp = int(time.time())
            conn.request("POST", "/", b"{}", {
                "Content-Type": CT, "Host": self.emu.host, "X-TC-Action": "DescribeZones",
                "X-TC-Version": "2017-03-12", "X-TC-Timestamp": str(timestamp),
                "Authorization": sign(self.emu.host, b"{}", "cvm", timestamp)})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.length, len(expected))
            with self.assertRaises(http.client.IncompleteRead) as cm:
                resp.read()
            self.assertTrue(cm.exception.partial)
            self.assertTrue(expected.startswith(cm.exception.partial))
            self.assertLess(len(cm.exception.partial), len(expected))
        finally:
            conn.close()
        record = self.emu.control("GET", "requests")[1][-1]
        self.assertIsNone(record["status"])
        self.assertEqual(self.emu.call("DescribeZones")[2], expected)  # the rule expired

    def test_rule_partial_fault_of_an_error(self):
        self.add_rules({"fault": "partial", "status": 503, "error": {"Code": "InternalError"}})
        with self.assertRaises(http.client.IncompleteRead) as cm:
            self.emu.call("DescribeZones")
        self.assertTrue(cm.exception.partial.startswith(b'{"Response": {"Error": {"Code": "Intern'))
        record = self.emu.control("GET", "requests")[1][-1]
        self.assertEqual((record["status"], record["error_code"]), (None, "InternalError"))

    def test_stats(self):
        # One kept-alive control connection: reset zeroes the counters after it
        # was counted, so the stats read back on it count only the calls below.
        control = self.emu.connection()
        try:
            self.assertEqual(self.emu.control("POST", "reset", conn=control)[0], 200)
            self.assertEqual(self.emu.control("GET", "stats", conn=control)[1],
                             {"connections": 0, "tls_handshakes": 0, "tls_failures": 0,
                              "requests": 0})
            api = self.emu.connection()
            try:
                for _ in range(3):
                    self.assertEqual(self.emu.call("DescribeZones", conn=api)[0], 200)
            finally:
                api.close()
            self.emu.call("DescribeZones", secret_key="wrong")  # a failure is a request too
            self.emu.call("DescribeZones")
            self.emu.control("GET", "health")  # a connection, not an API request
            self.assertEqual(self.emu.control("GET", "stats", conn=control)[1],
                             {"connections": 4, "tls_handshakes": 0, "tls_failures": 0,
                              "requests": 5})
            self.assertEqual(self.emu.control("DELETE", "stats", conn=control)[0], 200)
            self.assertEqual(self.emu.control("GET", "stats", conn=control)[1]["requests"], 0)
            self.assertEqual(self.emu.control("PUT", "stats", conn=control)[0], 405)
        finally:
            control.close()

    def test_rule_validation(self):
        for bad in [{"acton": "X"}, {"status": "503"}, {"times": 0}, {"fault": "explode"},
                    {"error": {"Message": "no code"}}, {"delay_ms": True}, [{"action": "X"}, 3],
                    "not a rule"]:
            status, answer = self.emu.control("POST", "rules", bad)
            self.assertEqual(status, 400, bad)
            self.assertTrue(answer["error"], bad)
        status, _, data = self.emu.http("POST", "/_emulator/rules", b"{not json")
        self.assertEqual(status, 400)
        self.assertIn("unknown rule key(s) acton", self.emu.control("POST", "rules", {"acton": "X"})[1]["error"])
        self.assertEqual(self.emu.control("GET", "rules"), (200, []))

    def test_rule_listing_and_delete(self):
        first, second = self.add_rules([{"action": "A", "error": {"Code": "InternalError"}, "times": 3},
                                        {"action": "B", "error": {"Code": "InternalError"}}])
        status, rules = self.emu.control("GET", "rules")
        self.assertEqual([(r["id"], r["action"], r["remaining"]) for r in rules],
                         [(first, "A", 3), (second, "B", None)])
        self.assertEqual(self.emu.control("DELETE", "rules/%d" % first)[0], 200)
        self.assertEqual(self.emu.control("DELETE", "rules/%d" % first)[0], 404)
        self.assertEqual([r["id"] for r in self.emu.control("GET", "rules")[1]], [second])
        self.assertEqual(self.emu.control("DELETE", "rules")[0], 200)
        self.assertEqual(self.emu.control("GET", "rules")[1], [])

    # -- requests log --------------------------------------------------------

    def test_requests_log(self):
        self.emu.call("DescribeZones", body='{"Limit": 1}', extra={"X-TC-Language": "en-US"})
        self.emu.call("DescribeZones", secret_key="wrong")
        status, records = self.emu.control("GET", "requests")
        self.assertEqual(status, 200)
        self.assertEqual(len(records), 2)
        first = records[0]
        self.assertEqual(first["body"], '{"Limit": 1}')
        self.assertEqual(first["headers"]["x-tc-language"], "en-US")
        self.assertEqual(first["headers"]["content-type"], CT)
        self.assertTrue(first["headers"]["authorization"].startswith("TC3-HMAC-SHA256 "))
        self.assertEqual((first["action"], first["version"], first["region"], first["service"]),
                         ("DescribeZones", "2017-03-12", "ap-guangzhou", "cvm"))
        self.assertIs(first["signature_ok"], True)
        self.assertIs(records[1]["signature_ok"], False)
        self.assertEqual(records[1]["error_code"], "AuthFailure.SignatureFailure")
        self.assertEqual(self.emu.control("DELETE", "requests")[0], 200)
        self.assertEqual(self.emu.control("GET", "requests")[1], [])

    def test_unknown_control_endpoint_and_method(self):
        self.assertEqual(self.emu.control("GET", "nope")[0], 404)
        self.assertEqual(self.emu.control("PUT", "health")[0], 405)


def make_test_ca(directory):
    subprocess.run(["sh", MAKE_TEST_CA, directory], check=True, timeout=30)
    return {name: os.path.join(directory, name) for name in
            ("ca.pem", "ca.key", "server.pem", "server.key", "other-ca.pem")}


class HttpsTest(unittest.TestCase):
    """--tls-cert/--tls-key with a CA made by make_test_ca.sh, and --max-requests-per-connection."""

    @classmethod
    def setUpClass(cls):
        if not shutil.which("openssl"):
            raise unittest.SkipTest("the openssl CLI is needed to make test certificates")
        cls.tmp = tempfile.mkdtemp(prefix="emulator-tls-")
        cls.certs = make_test_ca(cls.tmp)
        cls.emu = Emulator("--secret-id", SECRET_ID, "--secret-key", SECRET_KEY,
                           "--tls-cert", cls.certs["server.pem"], "--tls-key", cls.certs["server.key"],
                           ca=cls.certs["ca.pem"])

    @classmethod
    def tearDownClass(cls):
        try:
            rc = cls.emu.stop()
            if rc != 0:
                raise AssertionError("emulator exited %s on SIGTERM" % rc)
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.assertEqual(self.emu.control("POST", "reset")[0], 200)

    def wait_stats(self, predicate, timeout=30):
        """Stats read on a fresh connection once `predicate` holds (the server may lag,
        by seconds on a loaded machine: only a failing test waits the whole timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.emu.control("GET", "stats")[1]
            if predicate(stats) or time.monotonic() > deadline:
                return stats
            time.sleep(0.05)

    def test_signed_call_over_https(self):
        conn = self.emu.connection()
        try:
            status, _, data = self.emu.call("DescribeZones", conn=conn)
            self.assertEqual(status, 200)
            self.assertEqual(data, example_output("cvm", "v20170312", "DescribeZones").encode("utf-8"))
            self.assertEqual(conn.sock.selected_alpn_protocol(), None)  # none offered
            self.assertIn(conn.sock.version(), ("TLSv1.2", "TLSv1.3"))
        finally:
            conn.close()

    def test_alpn_is_http11_only(self):
        context = ssl.create_default_context(cafile=self.certs["ca.pem"])
        context.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection(("127.0.0.1", self.emu.port), 5) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                self.assertEqual(tls.selected_alpn_protocol(), "http/1.1")

    def test_names_in_certificate(self):
        context = ssl.create_default_context(cafile=self.certs["ca.pem"])
        for name in ("localhost", "cvm.tencentcloudapi.test", "127.0.0.1"):
            with socket.create_connection(("127.0.0.1", self.emu.port), 5) as raw:
                with context.wrap_socket(raw, server_hostname=name) as tls:
                    self.assertTrue(tls.getpeercert())

    def test_wrong_ca_fails_handshake_and_is_counted(self):
        context = ssl.create_default_context(cafile=self.certs["other-ca.pem"])
        conn = http.client.HTTPSConnection("127.0.0.1", self.emu.port, timeout=5, context=context)
        with self.assertRaises(ssl.SSLCertVerificationError):
            conn.request("GET", "/_emulator/health")
        conn.close()
        stats = self.wait_stats(lambda s: s["tls_failures"] >= 1)
        self.assertEqual(stats["tls_failures"], 1)

    def test_silent_client_does_not_block_accept(self):
        # A TCP connection that never starts its handshake is handled in its
        # own thread: other clients are served meanwhile.
        with socket.create_connection(("127.0.0.1", self.emu.port), 5) as silent:
            self.assertEqual(self.emu.control("GET", "health"), (200, {"status": "ok"}))
            # Served while the silent one is still open: a server that waited
            # for its handshake would have given up on it (and closed it) first.
            silent.setblocking(False)
            with self.assertRaises(BlockingIOError):
                silent.recv(1)
        # Closed without a handshake: a failure (waited for, so later tests see clean stats).
        self.assertEqual(self.wait_stats(lambda s: s["tls_failures"] >= 1)["tls_failures"], 1)

    def test_stats_count_handshakes_per_connection(self):
        conn = self.emu.connection()
        try:
            for _ in range(5):
                self.assertEqual(self.emu.call("DescribeZones", conn=conn)[0], 200)
        finally:
            conn.close()
        self.emu.call("DescribeRegions")
        # The stats are read on a fresh connection: it counts as well.
        stats = self.wait_stats(lambda s: s["tls_handshakes"] >= 3)
        self.assertEqual(stats, {"connections": 3, "tls_handshakes": 3, "tls_failures": 0,
                                 "requests": 6})

    def test_partial_fault_over_tls(self):
        self.emu.control("POST", "rules", {"fault": "partial", "times": 1})
        with self.assertRaises((http.client.IncompleteRead, ssl.SSLError)):
            self.emu.call("DescribeZones")

    def test_reset_fault_over_tls(self):
        self.emu.control("POST", "rules", {"fault": "reset", "times": 1})
        with self.assertRaises(ConnectionResetError):
            self.emu.call("DescribeZones")
        self.assertEqual(self.emu.call("DescribeZones")[0], 200)

    def test_bad_tls_options_stop_start(self):
        for args in (["--tls-cert", self.certs["server.pem"]],
                     ["--tls-cert", self.certs["server.pem"], "--tls-key", self.certs["ca.key"]],
                     ["--tls-cert", "/nonexistent.pem", "--tls-key", self.certs["server.key"]]):
            proc = subprocess.run([PYTHON, EMULATOR] + args, capture_output=True, timeout=10,
                                  env=clean_env())
            self.assertNotEqual(proc.returncode, 0, args)
            self.assertIn(b"--tls-", proc.stderr)


class MaxRequestsPerConnectionTest(unittest.TestCase):
    def test_connection_closed_after_n_requests(self):
        emu = Emulator("--no-auth", "--max-requests-per-connection", "2")
        try:
            conn = emu.connection()
            try:
                answers = []
                for _ in range(5):
                    conn.request("POST", "/", b"{}", {"Content-Type": CT, "X-TC-Action": "DescribeZones",
                                                      "X-TC-Version": "2017-03-12"})
                    resp = conn.getresponse()
                    resp.read()
                    answers.append((resp.status, resp.getheader("Connection")))
            finally:
                conn.close()  # http.client reconnects by itself after a close
            self.assertEqual(answers, [(200, None), (200, "close")] * 2 + [(200, None)])
            stats = emu.control("GET", "stats")[1]
            self.assertEqual((stats["connections"], stats["requests"]), (4, 5))
        finally:
            self.assertEqual(emu.stop(), 0)

    def test_negative_is_refused(self):
        proc = subprocess.run([PYTHON, EMULATOR, "--max-requests-per-connection", "-1"],
                              capture_output=True, timeout=10, env=clean_env())
        self.assertNotEqual(proc.returncode, 0)


class NoAuthRulesFileTest(unittest.TestCase):
    """--no-auth, --rules FILE and --session-token, each needing its own process."""

    def test_no_auth_with_rules_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump([{"action": "DescribeRegions", "error": {"Code": "UnsupportedRegion"},
                        "times": 1}], f)
        try:
            emu = Emulator("--no-auth", "--rules", f.name)
        finally:
            os.unlink(f.name)
        try:
            _, rules = emu.control("GET", "rules")
            self.assertEqual([(r["action"], r["remaining"]) for r in rules], [("DescribeRegions", 1)])
            self.assertEqual(error_of(emu.call("DescribeRegions", signed=False)[2])[0],
                             "UnsupportedRegion")
            # Unsigned, without a service hint: found by action and version alone.
            _, _, data = emu.call("DescribeRegions", signed=False)
            self.assertEqual(data, example_output("cvm", "v20170312", "DescribeRegions").encode("utf-8"))
            records = emu.control("GET", "requests")[1]
            self.assertEqual([r["signature_ok"] for r in records], [None, None])
        finally:
            self.assertEqual(emu.stop(), 0)

    def test_bad_rules_file_stops_start(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump([{"colour": "red"}], f)
        try:
            proc = subprocess.run([PYTHON, EMULATOR, "--rules", f.name], capture_output=True,
                                  timeout=10, env=clean_env())
        finally:
            os.unlink(f.name)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"unknown rule key(s) colour", proc.stderr)

    def test_session_token(self):
        emu = Emulator("--secret-id", SECRET_ID, "--secret-key", SECRET_KEY, "--session-token", "tok-1")
        try:
            self.assertEqual(error_of(emu.call("DescribeZones")[2])[0], "AuthFailure.TokenFailure")
            _, _, data = emu.call("DescribeZones", extra={"X-TC-Token": "tok-1"})
            self.assertNotIn("Error", json.loads(data)["Response"])
        finally:
            self.assertEqual(emu.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
