#!/usr/bin/python3
"""Tests of tools/testservers/ (make_test_ca.sh, forward_proxy.py) with the emulator over HTTPS.

Run from the repository root:  /usr/bin/python3 tests/testservers/testservers_test.py

Certificates are made at test time in a temporary directory; the emulator
(--no-auth, HTTPS and plain HTTP) and the proxy run as real subprocesses on
free loopback ports.
"""

import base64
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
PROXY = os.path.join(REPO, "tools", "testservers", "forward_proxy.py")
MAKE_TEST_CA = os.path.join(REPO, "tools", "testservers", "make_test_ca.sh")
SPECS = os.path.join(REPO, "third_party", "tencentcloud-specs")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
CT = "application/json; charset=utf-8"
API_HEADERS = {"Content-Type": CT, "X-TC-Action": "DescribeZones", "X-TC-Version": "2017-03-12",
               "X-TC-Region": "ap-guangzhou"}
CERT_FILES = ("ca.pem", "ca.key", "server.pem", "server.key", "other-ca.pem", "other-ca.key")


def example_output(service, version_dir, action):
    with open(os.path.join(SPECS, service, version_dir, "examples.json"), encoding="utf-8") as f:
        return json.load(f)["actions"][action][0]["output"].encode("utf-8")


class Process:
    """A server subprocess; the URL is taken from its first stdout line `<prefix> <url>`."""

    def __init__(self, argv, prefix):
        self.stderr = tempfile.TemporaryFile()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TENCENTCLOUD_")}
        self.proc = subprocess.Popen([PYTHON] + argv, stdout=subprocess.PIPE, stderr=self.stderr,
                                     cwd=REPO, env=env)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith(prefix + " "):
            self.stop()
            raise RuntimeError("%s did not start: %r %s" % (argv[0], line, self.errors()))
        self.url = line.split()[-1]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.context = None  # client SSL context for an https:// server

    def connect(self, timeout=5):
        if self.url.startswith("https://"):
            return http.client.HTTPSConnection("localhost", self.port, timeout=timeout,
                                               context=self.context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def errors(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self):
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


def request(conn, method, target, body=b"", headers=None):
    conn.request(method, target, body=body, headers=headers or {})
    resp = conn.getresponse()
    return resp.status, resp, resp.read()


def get_json(server, path, method="GET", value=None):
    """One control request on a fresh connection -> (status, decoded JSON)."""
    conn = server.connect()
    try:
        body = b"" if value is None else json.dumps(value).encode()
        status, _, data = request(conn, method, path, body)
        return status, json.loads(data)
    finally:
        conn.close()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def openssl(*args):
    return subprocess.run(["openssl"] + list(args), capture_output=True, text=True, timeout=10)


@unittest.skipUnless(shutil.which("openssl"), "the openssl CLI is needed")
class TestServersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="testservers-")
        cls.certs = os.path.join(cls.tmp, "certs")
        started = time.monotonic()
        subprocess.run(["sh", MAKE_TEST_CA, cls.certs], check=True, timeout=30)
        cls.ca_seconds = time.monotonic() - started
        cls.cert = {name: os.path.join(cls.certs, name) for name in CERT_FILES}
        cls.servers = []
        try:
            cls.tls_emu = cls.start(EMULATOR, "emulator listening on", "--no-auth", "--quiet",
                                    "--tls-cert", cls.cert["server.pem"],
                                    "--tls-key", cls.cert["server.key"])
            cls.tls_emu.context = ssl.create_default_context(cafile=cls.cert["ca.pem"])
            cls.plain_emu = cls.start(EMULATOR, "emulator listening on", "--no-auth", "--quiet")
            cls.proxy = cls.start(PROXY, "forward-proxy listening on", "--quiet")
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def start(cls, script, prefix, *args):
        server = Process([script, "--listen", "127.0.0.1:0"] + list(args), prefix)
        cls.servers.append(server)
        return server

    @classmethod
    def tearDownClass(cls):
        try:
            codes = [server.stop() for server in cls.servers]
            if any(codes):
                raise AssertionError("servers exited %s on SIGTERM" % codes)
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        for emu in (self.tls_emu, self.plain_emu):
            self.assertEqual(get_json(emu, "/_emulator/reset", "POST")[0], 200)
        self.assertEqual(get_json(self.proxy, "/_proxy/reset", "POST")[0], 200)

    def client_context(self, ca="ca.pem"):
        return ssl.create_default_context(cafile=self.cert[ca])

    def wait_emu_stats(self, emu, predicate, timeout=30):
        """The stats once `predicate` holds (the server may lag, by seconds
        on a loaded machine: only a failing test waits the whole timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            stats = get_json(emu, "/_emulator/stats")[1]
            if predicate(stats) or time.monotonic() > deadline:
                return stats
            time.sleep(0.05)

    # -- make_test_ca.sh --------------------------------------------------------

    def test_ca_files_verify(self):
        self.assertLess(self.ca_seconds, 10)
        for name in CERT_FILES:
            self.assertGreater(os.path.getsize(self.cert[name]), 0, name)
        ok = openssl("verify", "-CAfile", self.cert["ca.pem"], self.cert["server.pem"])
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        wrong = openssl("verify", "-CAfile", self.cert["other-ca.pem"], self.cert["server.pem"])
        self.assertNotEqual(wrong.returncode, 0)
        text = openssl("x509", "-in", self.cert["server.pem"], "-noout", "-text").stdout
        for san in ("DNS:localhost", "IP Address:127.0.0.1", "DNS:cvm.tencentcloudapi.test"):
            self.assertIn(san, text)
        self.assertIn("prime256v1", text)
        # Valid now, not for more than 2 days.
        self.assertEqual(openssl("x509", "-in", self.cert["server.pem"], "-noout",
                                 "-checkend", "3600").returncode, 0)
        self.assertNotEqual(openssl("x509", "-in", self.cert["server.pem"], "-noout",
                                    "-checkend", str(2 * 86400 + 60)).returncode, 0)

    def test_ca_script_is_idempotent_and_quiet(self):
        before = {n: read_bytes(self.cert[n]) for n in CERT_FILES}
        proc = subprocess.run(["sh", MAKE_TEST_CA, self.certs], capture_output=True, timeout=30)
        self.assertEqual((proc.returncode, proc.stdout, proc.stderr), (0, b"", b""))
        self.assertEqual({n: read_bytes(self.cert[n]) for n in CERT_FILES}, before)

    def test_ca_script_regenerates_a_broken_set(self):
        other = os.path.join(self.tmp, "broken")
        subprocess.run(["sh", MAKE_TEST_CA, other], check=True, timeout=30)
        with open(os.path.join(other, "server.key"), "w") as f:
            f.write("junk\n")
        proc = subprocess.run(["sh", MAKE_TEST_CA, other], capture_output=True, timeout=30)
        self.assertEqual((proc.returncode, proc.stderr), (0, b""))
        ok = openssl("verify", "-CAfile", os.path.join(other, "ca.pem"),
                     os.path.join(other, "server.pem"))
        self.assertEqual(ok.returncode, 0)

    # -- the emulator over HTTPS ------------------------------------------------

    def test_emulator_https_answers(self):
        self.assertTrue(self.tls_emu.url.startswith("https://127.0.0.1:"))
        conn = http.client.HTTPSConnection("localhost", self.tls_emu.port, timeout=5,
                                           context=self.client_context())
        try:
            status, _, data = request(conn, "POST", "/", b"{}", API_HEADERS)
            self.assertEqual(status, 200)
            self.assertEqual(data, example_output("cvm", "v20170312", "DescribeZones"))
        finally:
            conn.close()

    def test_emulator_wrong_ca_fails_handshake(self):
        conn = http.client.HTTPSConnection("localhost", self.tls_emu.port, timeout=5,
                                           context=self.client_context("other-ca.pem"))
        with self.assertRaises(ssl.SSLCertVerificationError):
            request(conn, "POST", "/", b"{}", API_HEADERS)
        conn.close()
        stats = self.wait_emu_stats(self.tls_emu, lambda s: s["tls_failures"] >= 1)
        self.assertEqual(stats["tls_failures"], 1)
        self.assertEqual(stats["requests"], 0)

    def test_emulator_https_stats(self):
        conn = http.client.HTTPSConnection("localhost", self.tls_emu.port, timeout=5,
                                           context=self.client_context())
        try:
            for _ in range(4):
                self.assertEqual(request(conn, "POST", "/", b"{}", API_HEADERS)[0], 200)
        finally:
            conn.close()
        # Read on a fresh connection: it counts as well.
        stats = get_json(self.tls_emu, "/_emulator/stats")[1]
        self.assertEqual(stats, {"connections": 2, "tls_handshakes": 2, "tls_failures": 0,
                                 "requests": 4})

    # -- the forward proxy -----------------------------------------------------

    def test_proxy_tunnels_https(self):
        conn = http.client.HTTPSConnection("127.0.0.1", self.proxy.port, timeout=5,
                                           context=self.client_context())
        conn.set_tunnel("localhost", self.tls_emu.port)
        try:
            for _ in range(3):  # one tunnel, kept alive
                status, _, data = request(conn, "POST", "/", b"{}", API_HEADERS)
                self.assertEqual(status, 200)
                self.assertEqual(data, example_output("cvm", "v20170312", "DescribeZones"))
        finally:
            conn.close()
        target = "localhost:%d" % self.tls_emu.port
        status, stats = get_json(self.proxy, "/_proxy/stats")
        self.assertEqual(status, 200)
        self.assertEqual((stats["connects"], stats["forwarded"], stats["targets"]), (1, 0, [target]))
        emu_stats = self.wait_emu_stats(self.tls_emu, lambda s: s["requests"] >= 3)
        # The tunnel is one TLS connection end to end (+1 for the stats read itself).
        self.assertEqual(emu_stats, {"connections": 2, "tls_handshakes": 2, "tls_failures": 0,
                                     "requests": 3})

    def test_proxy_tunnel_with_wrong_ca_fails(self):
        conn = http.client.HTTPSConnection("127.0.0.1", self.proxy.port, timeout=5,
                                           context=self.client_context("other-ca.pem"))
        conn.set_tunnel("localhost", self.tls_emu.port)
        with self.assertRaises(ssl.SSLCertVerificationError):
            request(conn, "POST", "/", b"{}", API_HEADERS)
        conn.close()
        # The emulator sees the failed handshake through the tunnel.
        stats = self.wait_emu_stats(self.tls_emu, lambda s: s["tls_failures"] >= 1)
        self.assertEqual(stats["tls_failures"], 1)
        self.assertEqual(get_json(self.proxy, "/_proxy/stats")[1]["connects"], 1)

    def test_proxy_forwards_plain_http(self):
        emu = "127.0.0.1:%d" % self.plain_emu.port
        conn = http.client.HTTPConnection("127.0.0.1", self.proxy.port, timeout=5)
        try:
            for _ in range(3):
                status, resp, data = request(conn, "POST", "http://%s/" % emu, b"{}", API_HEADERS)
                self.assertEqual(status, 200)
                self.assertEqual(data, example_output("cvm", "v20170312", "DescribeZones"))
                self.assertFalse(resp.will_close)
        finally:
            conn.close()
        stats = get_json(self.proxy, "/_proxy/stats")[1]
        self.assertEqual((stats["connects"], stats["forwarded"], stats["targets"]), (0, 3, [emu]))
        self.assertEqual(stats["connections"], 2)  # the client's, and this stats read
        # The Host header reaches the upstream unchanged; hop-by-hop headers do not.
        records = get_json(self.plain_emu, "/_emulator/requests")[1]
        self.assertEqual([r["headers"]["host"] for r in records], [emu] * 3)
        self.assertNotIn("proxy-connection", records[0]["headers"])
        # One kept-alive upstream connection (+1 for the requests/stats reads).
        self.assertEqual(get_json(self.plain_emu, "/_emulator/stats")[1],
                         {"connections": 3, "tls_handshakes": 0, "tls_failures": 0, "requests": 3})

    def test_proxy_passes_faults_on(self):
        emu = "http://127.0.0.1:%d/" % self.plain_emu.port
        rules = [{"fault": "reset", "times": 1}, {"fault": "partial", "times": 1}]
        self.assertEqual(get_json(self.plain_emu, "/_emulator/rules", "POST", rules)[0], 200)
        conn = http.client.HTTPConnection("127.0.0.1", self.proxy.port, timeout=5)
        try:
            with self.assertRaises(ConnectionResetError):
                request(conn, "POST", emu, b"{}", API_HEADERS)
            conn.close()
            with self.assertRaises(http.client.IncompleteRead):
                request(conn, "POST", emu, b"{}", API_HEADERS)
            conn.close()
            self.assertEqual(request(conn, "POST", emu, b"{}", API_HEADERS)[0], 200)
        finally:
            conn.close()

    def test_proxy_own_endpoints(self):
        self.assertEqual(get_json(self.proxy, "/_proxy/health"), (200, {"status": "ok"}))
        self.assertEqual(get_json(self.proxy, "/_proxy/nope")[0], 404)
        conn = http.client.HTTPConnection("127.0.0.1", self.proxy.port, timeout=5)
        try:
            status, _, _ = request(conn, "CONNECT", "127.0.0.1:1")  # nothing listens there
            self.assertEqual(status, 502)
        finally:
            conn.close()

    def test_proxy_require_auth_and_sigterm(self):
        proxy = Process([PROXY, "--listen", "127.0.0.1:0", "--quiet", "--require-auth", "u:p"],
                        "forward-proxy listening on")
        try:
            good = "Basic " + base64.b64encode(b"u:p").decode()
            bad = "Basic " + base64.b64encode(b"u:x").decode()
            target = "http://127.0.0.1:%d/" % self.plain_emu.port
            conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
            try:
                status, resp, _ = request(conn, "POST", target, b"{}", API_HEADERS)
                self.assertEqual(status, 407)
                self.assertEqual(resp.getheader("Proxy-Authenticate"), 'Basic realm="forward-proxy"')
                status, _, _ = request(conn, "POST", target, b"{}",
                                       dict(API_HEADERS, **{"Proxy-Authorization": bad}))
                self.assertEqual(status, 407)
                status, _, _ = request(conn, "POST", target, b"{}",
                                       dict(API_HEADERS, **{"Proxy-Authorization": good}))
                self.assertEqual(status, 200)
            finally:
                conn.close()
            # Through a tunnel: refused without credentials, fine with them.
            conn = http.client.HTTPSConnection("127.0.0.1", proxy.port, timeout=5,
                                               context=self.client_context())
            conn.set_tunnel("localhost", self.tls_emu.port)
            with self.assertRaisesRegex(OSError, "407"):
                request(conn, "POST", "/", b"{}", API_HEADERS)
            conn.close()
            conn = http.client.HTTPSConnection("127.0.0.1", proxy.port, timeout=5,
                                               context=self.client_context())
            conn.set_tunnel("localhost", self.tls_emu.port, headers={"Proxy-Authorization": good})
            try:
                self.assertEqual(request(conn, "POST", "/", b"{}", API_HEADERS)[0], 200)
            finally:
                conn.close()
            stats = get_json(proxy, "/_proxy/stats")[1]
            self.assertEqual((stats["connects"], stats["forwarded"], stats["auth_failures"]),
                             (1, 1, 3))
        finally:
            self.assertEqual(proxy.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
