#!/usr/bin/python3
"""envelope-gateway driven as Kubernetes drives a sidecar.

The operations side of the issue "Run it as a Kubernetes sidecar", end to
end against the real binary and the bundled emulator (credentials from a
mounted-Secret-like directory, as in deploy/kubernetes):

- config file: a YAML with many keys is honoured, a flag overrides a key of
  the file, `--check-config` accepts a good file and rejects bad ones with
  exit 2 and one line naming the key, every key of --help is documented;
- probes: gRPC grpc.health.v1.Health/Check and admin /healthz, /readyz,
  also without credentials;
- drain on SIGTERM: readiness and health drop at once, new calls are
  refused, calls in flight finish (or end UNAVAILABLE at the end of the
  grace, or at a second signal), exit 0;
- /metrics read with prometheus_client's parser, label cardinality bound;
- the access log on stdout, --access-log=false, --log-level=error;
- limits: allowed actions, max in flight, request and response sizes;
- loopback defaults.

    /usr/bin/python3 tests/python/operations_test.py \
        --gateway build/gateway/main/envelope-gateway

The gateway binary may also be given by the env variable GATEWAY_BIN.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import grpc
from prometheus_client.parser import text_string_to_metric_families

import harness
from harness import REPO

GATEWAY_BIN = os.environ.get("GATEWAY_BIN", "")
GOOGLEAPIS = "/usr/share/gocode/src/github.com/gogo/googleapis"
CONFIG_DOC = os.path.join(REPO, "docs", "configuration.md")

SECRET_ID = "AKIDOPERATIONSTEST000000000000000000"
SECRET_KEY = "operations-test-secret-key-00000000"
REGION = "ap-guangzhou"
RPC_TIMEOUT = 10.0
# For what should come at once: only a failing test waits this long, and a
# loaded machine (a sandboxed Bazel run on two busy cores) can take seconds.
START_TIMEOUT = 60.0

CVM_SERVICE = "tencentcloud.cvm.v20170312.Cvm"
CVM = "/%s/" % CVM_SERVICE
CALL = "/envelope.gateway.v1.JsonApi/Call"
HEALTH = "/grpc.health.v1.Health/Check"

ADMIN_LINE = re.compile(r"envelope-gateway: info: admin listening on "
                        r"(127\.0\.0\.1:\d+)$")
ACCESS_KEYS = {"method", "service", "action", "region", "grpc_code",
               "upstream_code", "request_id", "attempts", "latency_ms",
               "bytes_in", "bytes_out"}

HEALTH_PROTO = """syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2;
                       SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
}
"""

S = grpc.StatusCode

# Set by setUpModule.
TMP = None
SECRET_DIR = None
EMULATOR = None
cvm_pb2 = json_api_pb2 = health_pb2 = status_pb2 = error_details_pb2 = None


# ------------------------------------------------------------------ module

def setUpModule():
    global TMP, SECRET_DIR, EMULATOR
    global cvm_pb2, json_api_pb2, health_pb2, status_pb2, error_details_pb2
    TMP = tempfile.mkdtemp(prefix="operations-test-")
    try:
        gen = os.path.join(TMP, "gen")
        os.mkdir(gen)
        health_dir = os.path.join(TMP, "health")
        os.makedirs(os.path.join(health_dir, "grpc", "health", "v1"))
        with open(os.path.join(health_dir, "grpc", "health", "v1",
                               "health.proto"), "w") as f:
            f.write(HEALTH_PROTO)
        harness.protoc_python([health_dir], ["grpc/health/v1/health.proto"],
                              out=gen)
        harness.protoc_python([GOOGLEAPIS], ["google/rpc/status.proto",
                                             "google/rpc/error_details.proto"],
                              out=gen)
        harness.protoc_python([harness.PROTO_DIR],
                              ["envelope/gateway/v1/json_api.proto",
                               "tencentcloud/cvm/v20170312/cvm.proto"],
                              out=gen)
        health_pb2 = harness.import_generated(gen, "grpc.health.v1.health_pb2")
        status_pb2 = harness.import_generated(gen, "google.rpc.status_pb2")
        error_details_pb2 = harness.import_generated(
            gen, "google.rpc.error_details_pb2")
        json_api_pb2 = harness.import_generated(
            gen, "envelope.gateway.v1.json_api_pb2")
        cvm_pb2 = harness.import_generated(
            gen, "tencentcloud.cvm.v20170312.cvm_pb2")

        # The mounted Secret of deploy/kubernetes: files secret_id, secret_key.
        SECRET_DIR = os.path.join(TMP, "secret")
        os.mkdir(SECRET_DIR)
        for name, value in (("secret_id", SECRET_ID),
                            ("secret_key", SECRET_KEY)):
            with open(os.path.join(SECRET_DIR, name), "w") as f:
                f.write(value)
        EMULATOR = harness.Emulator.start("--secret-id", SECRET_ID,
                                          "--secret-key", SECRET_KEY)
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    if EMULATOR is not None:
        EMULATOR.stop()
    if TMP is not None:
        shutil.rmtree(TMP, ignore_errors=True)


# ----------------------------------------------------------------- gateway

class Gateway:
    """One gateway process; stdout and stderr are collected line by line
    (and kept in ENVELOPE_TEST_LOG_DIR for the suite's secret check)."""

    def __init__(self, argv, env=None, admin=True):
        harness._wait_for_binary(argv[0])
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            env=env if env is not None else harness.scrubbed_env())
        self.out, self.err = [], []
        self.cond = threading.Condition()
        self.readers = [self._reader(self.proc.stdout, self.out, "out"),
                        self._reader(self.proc.stderr, self.err, "err")]
        self.channel = None
        self.address = self.admin = None
        try:
            m = self.wait_line(self.out, re.compile(harness.GATEWAY_LINE + "$"))
            self.address = m.group(1)
            if admin:
                self.admin = self.wait_line(self.err, ADMIN_LINE).group(1)
            self.channel = harness.open_channel(self.address)
        except BaseException:
            self.stop(signal.SIGKILL)
            raise

    def _reader(self, stream, lines, suffix):
        def run():
            sink = harness._log_file(self.proc, suffix)
            try:
                for line in stream:
                    if sink:
                        sink.write(line)
                    with self.cond:
                        lines.append(line.rstrip("\n"))
                        self.cond.notify_all()
            finally:
                if sink:
                    sink.close()
                with self.cond:
                    self.cond.notify_all()
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    def wait_line(self, lines, pattern, timeout=START_TIMEOUT):
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in lines:
                    m = pattern.search(line)
                    if m:
                        return m
                if self.proc.poll() is not None and \
                        not any(t.is_alive() for t in self.readers):
                    raise RuntimeError("gateway exited (rc=%s): %s"
                                       % (self.proc.returncode,
                                          "\n".join(self.err)[-2000:]))
                left = end - time.monotonic()
                if left <= 0:
                    raise RuntimeError("no line %r within %.0fs; stderr: %s"
                                       % (pattern.pattern, timeout,
                                          "\n".join(self.err)[-2000:]))
                self.cond.wait(min(left, 0.1))

    # -- admin
    def get(self, path):
        """(HTTP status, body) of GET `path` on the admin port."""
        try:
            with urllib.request.urlopen("http://%s%s" % (self.admin, path),
                                        timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self):
        """[(sample name, labels, value)] of /metrics, read by
        prometheus_client's parser."""
        status, text = self.get("/metrics")
        assert status == 200, (status, text)
        return [(s.name, dict(s.labels), s.value)
                for fam in text_string_to_metric_families(text)
                for s in fam.samples]

    def gauge(self, name):
        values = [v for n, _, v in self.metrics() if n == name]
        assert len(values) == 1, (name, values)
        return values[0]

    # -- gRPC
    def typed(self, action):
        return self.channel.unary_unary(
            CVM + action,
            request_serializer=getattr(
                cvm_pb2, action + "Request").SerializeToString,
            response_deserializer=getattr(
                cvm_pb2, action + "Response").FromString)

    def json_api(self):
        return self.channel.unary_unary(
            CALL, request_serializer=json_api_pb2.CallRequest.SerializeToString,
            response_deserializer=json_api_pb2.CallResponse.FromString)

    def health(self, service=""):
        check = self.channel.unary_unary(
            HEALTH,
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)
        resp = check(health_pb2.HealthCheckRequest(service=service),
                     timeout=5)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)

    def call(self, action, request=None, **kw):
        """(code, response or error) of one typed call."""
        req = request or getattr(cvm_pb2, action + "Request")()
        try:
            resp, _ = self.typed(action).with_call(req, timeout=RPC_TIMEOUT,
                                                   **kw)
            return S.OK, resp
        except grpc.RpcError as e:
            return e.code(), e

    # -- lifecycle
    def access_log(self):
        """The stdout lines after the first, each decoded as JSON."""
        with self.cond:
            lines = list(self.out[1:])
        return [json.loads(line) for line in lines]

    def send(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait(self, timeout=15.0):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        for t in self.readers:
            t.join(timeout=2.0)
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        return rc

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Signals (unless exited) and waits; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)


def gateway_argv(*flags, admin=True):
    """The gateway as the Kubernetes Component starts it (credentials from
    the mounted Secret), on free loopback ports."""
    argv = [GATEWAY_BIN, "--listen=127.0.0.1:0", "--endpoint=" + EMULATOR.url,
            "--region=" + REGION, "--credential-sources=files",
            "--secret-dir=" + SECRET_DIR]
    if admin:
        argv.append("--admin-listen=127.0.0.1:0")
    return argv + list(flags)


class GatewayTest(unittest.TestCase):
    """Starts gateways on demand and stops them (expecting exit 0)."""

    def setUp(self):
        EMULATOR.clear_rules()
        EMULATOR.clear_requests()
        self.gateways = []

    def tearDown(self):
        EMULATOR.clear_rules()
        for gw in self.gateways:
            if gw.proc.poll() is None:
                gw.stop()

    def start(self, *flags, admin=True, env=None, argv=None):
        gw = Gateway(argv or gateway_argv(*flags, admin=admin), env=env,
                     admin=admin)
        self.gateways.append(gw)
        return gw

    def stop_ok(self, gw):
        rc = gw.stop()
        self.assertEqual(rc, 0, "exit status on SIGTERM; stderr:\n%s"
                         % "\n".join(gw.err))

    def requests(self, action=None):
        return [r for r in EMULATOR.requests()
                if action is None or r.get("action") == action]

    def decode_details(self, err):
        raw = dict(err.trailing_metadata() or ()).get(
            "grpc-status-details-bin")
        self.assertIsNotNone(raw, "no grpc-status-details-bin: %r"
                             % (err.trailing_metadata(),))
        st = status_pb2.Status.FromString(raw)
        self.assertEqual(st.code, err.code().value[0])
        out = {}
        for any_msg in st.details:
            name = any_msg.type_url.rsplit("/", 1)[-1]
            cls = getattr(error_details_pb2, name.rsplit(".", 1)[-1], None)
            if cls is not None:
                out[name] = cls.FromString(any_msg.value)
        return out


# ------------------------------------------------------------------ listen

class ListenTest(GatewayTest):

    def test_unix_socket(self):
        # A sidecar may serve its app over a socket in a shared emptyDir.
        path = os.path.join(TMP, "gateway.sock")
        argv = [a for a in gateway_argv() if not a.startswith("--listen=")]
        gw = self.start(argv=argv + ["--listen=unix:" + path])
        self.assertEqual(gw.address, "unix:" + path)
        self.assertEqual(gw.call("DescribeZones")[0], S.OK)
        self.stop_ok(gw)

    def test_cannot_listen_names_the_key(self):
        argv = [a for a in gateway_argv() if not a.startswith("--listen=")]
        r = subprocess.run(argv + ["--listen=unix:/nonexistent/dir/gw.sock"],
                           capture_output=True, text=True, timeout=30,
                           env=harness.scrubbed_env())
        self.assertEqual(r.returncode, 2, r.stderr)
        lines = r.stderr.strip("\n").split("\n")
        self.assertIn("listen: cannot listen on unix:/nonexistent/dir/gw.sock",
                      lines[-1])
        # gRPC's own complaint comes through the gateway's diagnostics too.
        for line in lines:
            self.assertTrue(line.startswith("envelope-gateway: "), r.stderr)
        self.assertTrue(any(": grpc: " in line for line in lines), r.stderr)


# ------------------------------------------------------------------ config

class ConfigTest(GatewayTest):

    def write(self, name, text):
        path = os.path.join(TMP, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def good_config(self, name="gateway.yaml"):
        return self.write(name, """\
# As deploy/kubernetes/base/gateway.yaml, pointed at the emulator.
listen:
  - 127.0.0.1:0
admin_listen: 127.0.0.1:0
endpoint: %s
region: ap-shanghai
signing: tc3
credential_sources: [files]
secret_dir: %s
max_attempts: 1
rate_limit_backoff: 10ms
status_override:
  ResourceNotFound: UNAVAILABLE
  FailedOperation.Locked: ABORTED
  "*": INTERNAL
allowed_actions:
  - DescribeZones
  - DescribeRegions
  - cvm:DescribeInstance*
shutdown_grace: 3s
log_level: info
access_log: true
""" % (EMULATOR.url, SECRET_DIR))

    def check_config(self, path):
        return subprocess.run([GATEWAY_BIN, "--check-config", path],
                              capture_output=True, text=True, timeout=30,
                              env=harness.scrubbed_env())

    def test_file_is_honoured(self):
        path = self.good_config()
        gw = self.start(argv=[GATEWAY_BIN, "--config", path])
        # region and signing (tc3 with the Secret directory's key pair)
        code, _ = gw.call("DescribeZones")
        self.assertEqual(code, S.OK)
        rec = self.requests("DescribeZones")[-1]
        self.assertEqual(rec["headers"].get("x-tc-region"), "ap-shanghai")
        self.assertIs(rec["signature_ok"], True)
        self.assertIn("Credential=%s/" % SECRET_ID,
                      rec["headers"].get("authorization", ""))
        # status_override (a map): ResourceNotFound.* -> UNAVAILABLE
        EMULATOR.rule({"action": "DescribeInstances", "times": 1, "error": {
            "Code": "ResourceNotFound.InstanceNotExist"}})
        code, _ = gw.call("DescribeInstances")
        self.assertEqual(code, S.UNAVAILABLE)
        EMULATOR.rule({"action": "DescribeRegions", "times": 1, "error": {
            "Code": "FailedOperation.Locked"}})
        code, _ = gw.call("DescribeRegions")
        self.assertEqual(code, S.ABORTED)
        # "*": the row for every code no other row covers (else UNKNOWN)
        EMULATOR.rule({"action": "DescribeRegions", "times": 1, "error": {
            "Code": "Vendor.NeverHeardOf"}})
        code, _ = gw.call("DescribeRegions")
        self.assertEqual(code, S.INTERNAL)
        # max_attempts: 1 -> a rate-limited call is not retried
        EMULATOR.clear_requests()
        EMULATOR.rule({"action": "DescribeZones", "times": 3, "error": {
            "Code": "RequestLimitExceeded"}})
        code, _ = gw.call("DescribeZones")
        self.assertEqual(code, S.RESOURCE_EXHAUSTED)
        self.assertEqual(len(self.requests("DescribeZones")), 1)
        # allowed_actions (a list)
        code, _ = gw.call("RunInstances")
        self.assertEqual(code, S.PERMISSION_DENIED)
        self.assertEqual(self.requests("RunInstances"), [])
        self.stop_ok(gw)  # all of stdout has been read once it returns
        # access_log: true
        self.assertTrue(gw.access_log())
        self.assertTrue(any("draining" in line for line in gw.err), gw.err)

    def test_flag_overrides_file(self):
        path = self.good_config()
        gw = self.start(argv=[GATEWAY_BIN, "--config", path,
                              "--region=ap-beijing", "--max-attempts=2",
                              "--allowed-actions=RunInstances",
                              "--access-log=false"])
        EMULATOR.rule({"action": "RunInstances", "times": 3, "error": {
            "Code": "RequestLimitExceeded"}})
        code, _ = gw.call("RunInstances")  # allowed now, retried once
        self.assertEqual(code, S.RESOURCE_EXHAUSTED)
        recs = self.requests("RunInstances")
        self.assertEqual(len(recs), 2, "max_attempts from the flag")
        self.assertEqual(recs[0]["headers"].get("x-tc-region"), "ap-beijing")
        code, _ = gw.call("DescribeZones")  # the file's list replaced
        self.assertEqual(code, S.PERMISSION_DENIED)
        self.stop_ok(gw)
        self.assertEqual(gw.out[1:], [], "access_log=false from the flag")

    def test_check_config_good(self):
        r = self.check_config(self.good_config())
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.check_config(os.path.join(REPO, "deploy", "gateway.yaml"))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_check_config_bad(self):
        base = "signing: none\nregion: ap-guangzhou\n"
        cases = [
            ("unknown key", base + "bogus_key: 1\n", "bogus_key"),
            ("wrong type", base + "max_attempts: abc\n", "max_attempts"),
            ("bad duration", base + "shutdown_grace: 5 parsecs\n",
             "shutdown_grace"),
            ("bad status code name",
             base + "status_override:\n  ResourceInUse: NOT_A_CODE\n",
             "status_override"),
            ("bad log level", base + "log_level: loud\n", "log_level"),
            ("every unknown failure as OK",
             base + 'status_override:\n  "*": OK\n', "status_override"),
            ("not YAML", "listen: [127.0.0.1:0\n  - : {\n", None),
        ]
        for what, text, key in cases:
            with self.subTest(what):
                r = self.check_config(self.write("bad.yaml", text))
                self.assertEqual(r.returncode, 2, (what, r.stdout, r.stderr))
                lines = r.stderr.strip("\n").split("\n")
                self.assertEqual(len(lines), 1, (what, r.stderr))
                if key:
                    self.assertIn(key, lines[0])
                else:
                    self.assertIn("bad.yaml", lines[0])
        with self.subTest("missing file"):
            missing = os.path.join(TMP, "no-such-file.yaml")
            r = self.check_config(missing)
            self.assertEqual(r.returncode, 2, r.stderr)
            lines = r.stderr.strip("\n").split("\n")
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn("no-such-file.yaml", lines[0])
        with self.subTest("unknown flag"):
            r = subprocess.run([GATEWAY_BIN, "--no-such-flag=1"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertRegex(r.stderr, r"no[-_]such[-_]flag")
            self.assertEqual(len(r.stderr.strip("\n").split("\n")), 1,
                             r.stderr)

    def test_every_help_key_is_documented(self):
        r = subprocess.run([GATEWAY_BIN, "--help"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        keys = re.findall(r"^\s+--([a-z0-9_-]+)=", r.stdout, re.M)
        self.assertGreater(len(keys), 30, r.stdout)
        with open(CONFIG_DOC, encoding="utf-8") as f:
            doc = f.read()
        # As a flag (`--key-with-dashes`, `--key_with_underscores`) or as a
        # YAML key in backquotes (`key_with_underscores`).
        missing = [k for k in keys if not re.search(
            r"(--(%s|%s)(?![\w-]))|(`%s`)" % (
                re.escape(k.replace("_", "-")), re.escape(k.replace("-", "_")),
                re.escape(k.replace("-", "_"))), doc)]
        self.assertEqual(missing, [], "keys printed by --help but not in "
                         "docs/configuration.md")

    def test_defaults_are_loopback(self):
        r = subprocess.run([GATEWAY_BIN, "--help"], capture_output=True,
                           text=True, timeout=30)
        defaults = dict(re.findall(
            r"^\s+--([a-z0-9_-]+)=.*\n(?:\s+(?!--).*\n)*?\s+default: (\S+)",
            r.stdout, re.M))
        self.assertEqual(defaults.get("listen"), "127.0.0.1:50051")
        self.assertEqual(defaults.get("admin_listen",
                                      defaults.get("admin-listen")),
                         "127.0.0.1:9901")


# ------------------------------------------------------------------ probes

class ProbesTest(GatewayTest):

    def test_ready(self):
        gw = self.start()
        self.assertEqual(gw.health(""), "SERVING")
        self.assertEqual(gw.health(CVM_SERVICE), "SERVING")
        self.assertEqual(gw.get("/healthz")[0], 200)
        self.assertEqual(gw.get("/readyz")[0], 200)
        self.stop_ok(gw)

    @staticmethod
    def no_credentials_argv():
        # --signing=tc3, the env source only, nothing in the environment.
        return [GATEWAY_BIN, "--listen=127.0.0.1:0",
                "--admin-listen=127.0.0.1:0", "--endpoint=" + EMULATOR.url,
                "--region=" + REGION, "--signing=tc3",
                "--credential-sources=env"]

    def test_no_credentials(self):
        gw = self.start(argv=self.no_credentials_argv(),
                        env=harness.scrubbed_env())
        status, body = gw.get("/readyz")
        self.assertEqual(status, 503, body)
        self.assertIn("credential", body.lower())
        self.assertEqual(gw.get("/healthz")[0], 200)
        code, err = gw.call("DescribeZones")
        self.assertEqual(code, S.UNAVAILABLE)
        self.assertIn("credential", err.details())
        self.assertEqual(self.requests(), [])
        self.stop_ok(gw)

    def test_no_credentials_health_not_serving(self):
        # docs/operations.md (Probes): without usable credentials the gRPC
        # health service reports NOT_SERVING, like /readyz; the grpc-probes
        # example uses it as the readiness probe.
        gw = self.start(argv=self.no_credentials_argv(),
                        env=harness.scrubbed_env())
        self.assertEqual(gw.get("/readyz")[0], 503)
        self.assertEqual(gw.health(""), "NOT_SERVING")
        self.assertEqual(gw.health(CVM_SERVICE), "NOT_SERVING")
        self.stop_ok(gw)


# ------------------------------------------------------------------- drain

class DrainTest(GatewayTest):
    """The upstream delays are long (the calls must still be running after
    several checks on a loaded machine) and the clients' deadlines longer
    still: what ends a call is the upstream's answer or the gateway. All N
    calls reach the upstream at once (the per-host connection cap is above
    N), so one delay is how long they take."""
    N = 50
    DRAINING = re.compile(r"info: draining: %d calls in flight" % N)

    def start(self, *flags):
        return super().start("--max-connections-per-host=%d" % (2 * self.N),
                             *flags)

    @staticmethod
    def ended(calls):
        """The codes and details of the calls that have ended."""
        return [(rec["code"], rec["future"].exception() and
                 rec["future"].exception().details())
                for rec in calls if rec["ended"].is_set()]

    def launch(self, gw, delay_ms):
        """N concurrent slow DescribeZones calls; returns their records,
        once all of them are in flight in the gateway."""
        EMULATOR.rule({"action": "DescribeZones", "delay_ms": delay_ms})
        stub = gw.typed("DescribeZones")
        calls = []
        for _ in range(self.N):
            rec = {"done": None, "code": None, "ended": threading.Event()}
            fut = stub.future(cvm_pb2.DescribeZonesRequest(),
                              timeout=delay_ms / 1000.0 + 60)

            def done(f, rec=rec):
                rec["done"] = time.monotonic()
                rec["code"] = f.code()
                rec["ended"].set()
            fut.add_done_callback(done)
            rec["future"] = fut
            calls.append(rec)
        end = time.monotonic() + START_TIMEOUT
        in_flight = 0
        while time.monotonic() < end:
            in_flight = gw.gauge("envelope_gateway_calls_in_flight")
            if in_flight >= self.N:
                break
            time.sleep(0.02)
        self.assertEqual(in_flight, self.N, "calls in flight before SIGTERM")
        return calls, in_flight

    def settle(self, calls, timeout=60.0):
        """How many calls ended with each code (None: not within
        `timeout`)."""
        end = time.monotonic() + timeout
        for rec in calls:
            # Set by the done callback once it has recorded the code (it
            # runs after result() returns, so that is no signal).
            rec["ended"].wait(max(0.0, end - time.monotonic()))
        codes = {}
        for rec in calls:
            codes[rec["code"]] = codes.get(rec["code"], 0) + 1
        return codes

    def report(self, name, in_flight, codes):
        lost = codes.get(None, 0)
        print("\n  %s: in flight at SIGTERM %d, completed OK %d, "
              "UNAVAILABLE %d, other %s, lost %d"
              % (name, in_flight, codes.get(S.OK, 0),
                 codes.get(S.UNAVAILABLE, 0),
                 {c.name: n for c, n in codes.items()
                  if c not in (None, S.OK, S.UNAVAILABLE)} or 0, lost),
              file=sys.stderr)

    def test_drain_completes_in_flight(self):
        gw = self.start("--shutdown-grace=30s")
        calls, in_flight = self.launch(gw, 10000)
        t0 = time.monotonic()
        gw.send(signal.SIGTERM)
        # The signal is taken asynchronously: its log line comes right
        # after the gateway has stopped admitting calls.
        gw.wait_line(gw.err, self.DRAINING)
        took = time.monotonic() - t0
        # At once: not ready, not serving, new calls refused, still running.
        status, body = gw.get("/readyz")
        self.assertEqual(status, 503, body)
        self.assertIn("draining", body)
        self.assertEqual(gw.get("/healthz")[0], 200)
        self.assertEqual(gw.health(""), "NOT_SERVING")
        self.assertEqual(gw.health(CVM_SERVICE), "NOT_SERVING")
        code, err = gw.call("DescribeRegions")
        self.assertEqual(code, S.UNAVAILABLE)
        self.assertIn("shutting down", err.details())
        self.assertIsNone(gw.proc.poll(), "exited before its calls finished")
        self.assertEqual(self.ended(calls), [],
                         "calls ended before the upstream answered")
        codes = self.settle(calls)
        self.report("drain (SIGTERM to draining %.0f ms)" % (took * 1000),
                    in_flight, codes)
        self.assertEqual(codes, {S.OK: self.N})
        self.assertEqual(gw.wait(), 0, "\n".join(gw.err))
        self.assertEqual(self.requests("DescribeRegions"), [])

    def test_grace_ends_calls(self):
        gw = self.start("--shutdown-grace=500ms")
        calls, in_flight = self.launch(gw, 20000)
        t0 = time.monotonic()
        gw.send(signal.SIGTERM)
        codes = self.settle(calls)
        self.report("grace 500ms", in_flight, codes)
        self.assertEqual(codes, {S.UNAVAILABLE: self.N})
        ends = [rec["done"] - t0 for rec in calls]
        self.assertGreaterEqual(min(ends), 0.4, "ended before the grace")
        # Long before the upstream's 20 s; the margin is for a loaded machine.
        self.assertLess(max(ends), 10.0, "not ended at the grace")
        self.assertEqual(gw.wait(), 0, "\n".join(gw.err))

    def test_second_signal_ends_calls(self):
        gw = self.start("--shutdown-grace=30s")
        calls, in_flight = self.launch(gw, 30000)
        gw.send(signal.SIGTERM)
        gw.wait_line(gw.err, self.DRAINING)  # the first one was taken
        self.assertEqual(self.ended(calls), [])
        t1 = time.monotonic()
        gw.send(signal.SIGTERM)
        codes = self.settle(calls)
        self.report("second SIGTERM", in_flight, codes)
        self.assertEqual(codes, {S.UNAVAILABLE: self.N})
        # Neither the grace nor the upstream (30 s) ended them; the margin
        # is for a loaded machine.
        self.assertLess(max(rec["done"] for rec in calls) - t1, 10.0)
        self.assertEqual(gw.wait(), 0, "\n".join(gw.err))


# ----------------------------------------------------------------- metrics

class MetricsTest(GatewayTest):

    def test_metrics(self):
        gw = self.start("--max-attempts=2", "--rate-limit-backoff=10ms")
        self.assertEqual(gw.call("DescribeZones")[0], S.OK)
        self.assertEqual(gw.call("DescribeZones")[0], S.OK)
        EMULATOR.rule({"action": "DescribeInstances", "times": 1, "error": {
            "Code": "ResourceNotFound.InstanceNotExist"}})
        self.assertEqual(gw.call("DescribeInstances")[0], S.NOT_FOUND)
        EMULATOR.rule({"action": "DescribeRegions", "times": 2, "error": {
            "Code": "RequestLimitExceeded"}})
        self.assertEqual(gw.call("DescribeRegions")[0], S.RESOURCE_EXHAUSTED)

        # Methods nobody routes fold into one series, however many.
        for i in range(5):
            with self.assertRaises(grpc.RpcError) as e:
                gw.channel.unary_unary("/made.Up%d/Method" % i)(
                    b"", timeout=RPC_TIMEOUT)
            self.assertEqual(e.exception.code(), S.UNIMPLEMENTED)

        samples = gw.metrics()

        def find(name, **labels):
            return [v for n, l, v in samples if n == name and
                    all(l.get(k) == x for k, x in labels.items())]

        # go-grpc-prometheus's names and labels (docs/operations.md).
        handled = {(l["grpc_service"], l["grpc_method"], l["grpc_code"]): v
                   for n, l, v in samples
                   if n == "grpc_server_handled_total"
                   and l["grpc_type"] == "unary"}
        self.assertEqual(handled, {
            (CVM_SERVICE, "DescribeZones", "OK"): 2,
            (CVM_SERVICE, "DescribeInstances", "NotFound"): 1,
            (CVM_SERVICE, "DescribeRegions", "ResourceExhausted"): 1,
            ("unknown", "unknown", "Unimplemented"): 5,
        })
        for action, n in (("DescribeZones", 2), ("DescribeInstances", 1),
                          ("DescribeRegions", 1), ("unknown", 5)):
            self.assertEqual(find("grpc_server_started_total",
                                  grpc_method=action), [n], action)
            self.assertEqual(find("grpc_server_handling_seconds_count",
                                  grpc_method=action), [n], action)
        upstream = {(l["service"], l["action"], l["http_status"],
                     l["upstream_code"]): v
                    for n, l, v in samples
                    if n == "envelope_gateway_upstream_calls_total"}
        self.assertEqual(upstream, {
            ("cvm", "DescribeZones", "200", ""): 2,
            ("cvm", "DescribeInstances", "200",
             "ResourceNotFound.InstanceNotExist"): 1,
            ("cvm", "DescribeRegions", "200", "RequestLimitExceeded"): 1,
        })
        self.assertEqual(
            sum(find("envelope_gateway_upstream_duration_seconds_count",
                     service="cvm")), 4)
        self.assertEqual(find("envelope_gateway_upstream_duration_seconds_count",
                              action="DescribeInstances"), [1])
        # One rate-limit retry of DescribeRegions, no transport retry.
        retries = {(l["action"], l["reason"]): v for n, l, v in samples
                   if n == "envelope_gateway_upstream_retries_total"}
        self.assertEqual(retries, {("DescribeRegions", "rate_limit"): 1})
        self.assertEqual(find("envelope_gateway_upstream_requests_total"), [5])
        self.assertEqual(find("envelope_gateway_calls_in_flight"), [0])
        self.assertEqual(len(find("envelope_gateway_build_info")), 1)
        conns = find("envelope_gateway_upstream_connections_total")
        self.assertEqual(len(conns), 1)
        self.assertGreaterEqual(conns[0], 1)
        # The process collector, as the Prometheus client libraries name it.
        self.assertGreater(find("process_resident_memory_bytes")[0], 1 << 20)
        self.assertGreater(find("process_open_fds")[0], 3)
        self.assertLess(abs(find("process_start_time_seconds")[0] -
                            time.time()), 300)
        self.assertGreater(find("process_cpu_seconds_total")[0], 0)
        # Long-lived keys: no expiry to show.
        self.assertEqual(
            find("envelope_gateway_credentials_expiry_timestamp_seconds"), [])
        self.stop_ok(gw)

    def test_credential_events(self):
        # A rotation of the mounted files counts as a refresh; unreadable
        # files count as failures (the old pair keeps serving).
        secret_dir = tempfile.mkdtemp(prefix="ops-secret-")
        try:
            for name, value in (("secret_id", SECRET_ID),
                                ("secret_key", SECRET_KEY)):
                with open(os.path.join(secret_dir, name), "w") as f:
                    f.write(value)
            gw = self.start("--secret-dir=" + secret_dir,
                            "--secret-poll-interval=100ms")

            def counter(name):
                return sum(v for n, _, v in gw.metrics() if n == name)

            def wait_for(name, floor):
                end = time.monotonic() + START_TIMEOUT
                while counter(name) < floor and time.monotonic() < end:
                    time.sleep(0.1)
                return counter(name)

            refreshes = "envelope_gateway_credential_refreshes_total"
            failures = "envelope_gateway_credential_refresh_failures_total"
            self.assertEqual(counter(refreshes), 0)
            self.assertEqual(counter(failures), 0)
            for name, value in (("secret_id", "AKIDROTATED00000000000000000000"),
                                ("secret_key", "rotated-ops-secret-key-000000")):
                with open(os.path.join(secret_dir, name), "w") as f:
                    f.write(value)
            self.assertGreaterEqual(wait_for(refreshes, 1), 1)
            os.remove(os.path.join(secret_dir, "secret_key"))
            self.assertGreaterEqual(wait_for(failures, 1), 1)
            self.stop_ok(gw)
        finally:
            shutil.rmtree(secret_dir, ignore_errors=True)

    def test_upstream_code_cardinality(self):
        gw = self.start("--max-attempts=1", "--access-log=false")
        n = 60
        EMULATOR.rule([{"action": "DescribeZones", "times": 1,
                        "error": {"Code": "OpsTest.Unknown%02d" % i,
                                  "Message": "made up"}}
                       for i in range(n)])
        for i in range(n):
            self.assertEqual(gw.call("DescribeZones")[0], S.UNKNOWN)
        values = {}
        for name, labels, v in gw.metrics():
            if name == "envelope_gateway_upstream_calls_total":
                values[labels["upstream_code"]] = v
        self.assertIn("other", values)
        self.assertLessEqual(len(values), 51, sorted(values))
        self.assertEqual(sum(values.values()), n)
        print("\n  cardinality: %d codes sent, %d upstream_code values "
              "(other=%d)" % (n, len(values), values["other"]),
              file=sys.stderr)
        self.stop_ok(gw)


# ------------------------------------------------------------------- logs

class SecretsTest(GatewayTest):
    """docs/credentials.md: the key never appears in a log line (tests/logs), a metric,
    an error message or a detail."""

    def test_no_secret_in_errors_details_trailers_or_metrics(self):
        gw = self.start()
        seen = []
        for code_name in ["AuthFailure.SignatureFailure",
                          "AuthFailure.SecretIdNotFound",
                          "InvalidParameterValue"]:
            EMULATOR.rule({"action": "DescribeZones", "times": 1, "error": {
                "Code": code_name,
                "Message": "The signature does not match."}})
            code, err = gw.call("DescribeZones")
            self.assertNotEqual(code, S.OK, code_name)
            seen += [err.details() or "", repr(err.trailing_metadata())]
            seen += [str(d) for d in self.decode_details(err).values()]
        # A transport failure too (nothing listens there).
        broken = self.start("--endpoint=http://127.0.0.1:1")
        code, err = broken.call("DescribeZones")
        self.assertEqual(code, S.UNAVAILABLE)
        seen.append(err.details() or "")
        for g in (gw, broken):
            status, text = g.get("/metrics")
            self.assertEqual(status, 200)
            seen.append(text)
        for text in seen:
            self.assertNotIn(SECRET_KEY, text)
            self.assertNotIn("Signature=", text)
            self.assertNotIn("TC3-HMAC-SHA256 Credential", text)
        self.assertGreater(sum(len(t) for t in seen), 1000)  # something read


class LogsTest(GatewayTest):

    def test_access_log(self):
        gw = self.start()
        code, zones = gw.call("DescribeZones")
        self.assertEqual(code, S.OK)
        EMULATOR.rule({"action": "DescribeInstances", "times": 1,
                       "request_id": "ops-rid-1",
                       "error": {"Code": "ResourceNotFound.InstanceNotExist"}})
        req = cvm_pb2.DescribeInstancesRequest(instance_ids=["ins-1"], limit=1)
        code, _ = gw.call("DescribeInstances", req,
                          metadata=(("x-tc-region", "ap-shanghai"),))
        self.assertEqual(code, S.NOT_FOUND)
        call_req = json_api_pb2.CallRequest(
            service="cvm", version="2017-03-12", action="DescribeRegions",
            region="ap-beijing", params_json="{}")
        call_resp = gw.json_api()(call_req, timeout=RPC_TIMEOUT)
        self.stop_ok(gw)

        log = gw.access_log()
        self.assertEqual(len(log), 3, gw.out)
        for entry in log:
            self.assertTrue(ACCESS_KEYS <= set(entry), sorted(entry))
            self.assertGreater(entry["latency_ms"], 0)
        expected = [
            dict(method=CVM + "DescribeZones", service="cvm",
                 action="DescribeZones", region=REGION, grpc_code="OK",
                 upstream_code="", request_id=zones.request_id, attempts=1,
                 bytes_in=0, bytes_out=zones.ByteSize()),
            dict(method=CVM + "DescribeInstances", service="cvm",
                 action="DescribeInstances", region="ap-shanghai",
                 grpc_code="NOT_FOUND",
                 upstream_code="ResourceNotFound.InstanceNotExist",
                 request_id="ops-rid-1", attempts=1, bytes_in=req.ByteSize(),
                 bytes_out=0),
            dict(method=CALL, service="cvm", action="DescribeRegions",
                 region="ap-beijing", grpc_code="OK", upstream_code="",
                 request_id=call_resp.request_id, attempts=1,
                 bytes_in=call_req.ByteSize(), bytes_out=call_resp.ByteSize()),
        ]
        for entry, want in zip(log, expected):
            self.assertEqual({k: entry.get(k) for k in want}, want)

    def test_access_log_off_and_quiet(self):
        gw = self.start("--access-log=false", "--log-level=error",
                        admin=False)
        self.assertEqual(gw.call("DescribeZones")[0], S.OK)
        self.stop_ok(gw)
        self.assertEqual(len(gw.out), 1, gw.out)
        self.assertEqual([l for l in gw.err if ": info:" in l], [])


# ------------------------------------------------------------------ limits

class LimitsTest(GatewayTest):

    def test_allowed_actions(self):
        gw = self.start("--allowed-actions=DescribeZones,cvm:DescribeInstance*")
        self.assertEqual(gw.call("DescribeZones")[0], S.OK)
        self.assertEqual(gw.call("DescribeInstances")[0], S.OK)
        code, err = gw.call("RunInstances")
        self.assertEqual(code, S.PERMISSION_DENIED)
        info = self.decode_details(err).get("google.rpc.ErrorInfo")
        self.assertIsNotNone(info, "no ErrorInfo")
        self.assertEqual(info.reason, "ACTION_NOT_ALLOWED")
        self.assertEqual(info.domain, "envelope-gateway")
        # The untyped route can name any action: the same list applies, and
        # "cvm:" entries allow cvm only.
        untyped = gw.json_api()
        for service, action, allowed in [("cvm", "DescribeInstancesStatus", True),
                                         ("cvm", "RunInstances", False),
                                         ("vpc", "DescribeInstances", False),
                                         ("vpc", "DescribeZones", True)]:
            with self.subTest(service=service, action=action):
                req = json_api_pb2.CallRequest(
                    service=service, version="2017-03-12", action=action,
                    params_json="{}")
                try:
                    untyped(req, timeout=RPC_TIMEOUT)
                    code = S.OK
                except grpc.RpcError as e:
                    code = e.code()
                # Allowed calls reach the emulator (which may not know the
                # action for that service); refused ones never leave.
                if allowed:
                    self.assertNotEqual(code, S.PERMISSION_DENIED)
                else:
                    self.assertEqual(code, S.PERMISSION_DENIED)
        self.assertEqual(sorted(r["action"] for r in self.requests()),
                         ["DescribeInstances", "DescribeInstancesStatus",
                          "DescribeZones", "DescribeZones"])
        self.stop_ok(gw)

    def test_max_in_flight(self):
        gw = self.start("--max-in-flight=5", "--access-log=false")
        EMULATOR.rule({"action": "DescribeZones", "delay_ms": 1000})
        stub = gw.typed("DescribeZones")
        futs = [stub.future(cvm_pb2.DescribeZonesRequest(),
                            timeout=RPC_TIMEOUT) for _ in range(20)]
        ok = refused = 0
        for f in futs:
            try:
                f.result()
                ok += 1
            except grpc.RpcError as e:
                self.assertEqual(e.code(), S.UNAVAILABLE, e.details())
                self.assertIn("limit of calls in flight", e.details())
                refused += 1
        print("\n  max_in_flight=5: %d OK, %d refused" % (ok, refused),
              file=sys.stderr)
        self.assertGreaterEqual(ok, 1)
        self.assertLessEqual(ok, 15)
        self.assertGreaterEqual(refused, 5)
        self.assertEqual(ok + refused, 20)
        self.stop_ok(gw)

    def test_message_sizes(self):
        gw = self.start("--max-request-bytes=1000",
                        "--max-response-bytes=100", admin=False)
        big = json_api_pb2.CallRequest(
            service="cvm", version="2017-03-12", action="DescribeZones",
            params_json=json.dumps({"Filler": "x" * 2000}))
        with self.assertRaises(grpc.RpcError) as cm:
            gw.json_api()(big, timeout=RPC_TIMEOUT)
        self.assertEqual(cm.exception.code(), S.RESOURCE_EXHAUSTED)
        self.assertEqual(self.requests(), [])
        code, err = gw.call("DescribeZones")  # the example is > 100 bytes
        self.assertEqual(code, S.INTERNAL, err)
        self.stop_ok(gw)


if __name__ == "__main__":
    GATEWAY_BIN = harness.take_gateway_flag()
    if not GATEWAY_BIN:
        sys.exit("usage: %s --gateway PATH/TO/envelope-gateway [unittest args]"
                 % sys.argv[0])
    unittest.main(verbosity=2)
