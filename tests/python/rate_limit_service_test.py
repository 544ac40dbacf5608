#!/usr/bin/python3
"""Fleet-wide limits through Envoy's rate limit service (docs/operations.md,
"Fleet-wide limits"), with real processes: two gateways, the bundled
emulator, a real Redis (Debian's redis-server, no persistence) and a rate
limit service stand-in speaking the real protocol and counting in that
Redis as envoyproxy/ratelimit does (tools/testservers/ratelimit_service.py).
The local limiter is off (--rate-limit-default=0): only the fleet limit acts.

- Two gateways share one limit: with the stand-in's clock held still, a
  burst from both reaches the API exactly `limit` times (two separate
  limits would let 2 x limit through); the others end RESOURCE_EXHAUSTED,
  FLEET_RATE_LIMIT, with a RetryInfo of the window's end. A new window lets
  `limit` more through; an action with no configured limit is not held.
- On the real clock, per second: the calls that went equal the emulator's
  requests and, window by window, the limit's share of the questions Redis
  counted.
- The service stopped: calls go (allow) or end UNAVAILABLE
  RATE_LIMIT_SERVICE_UNAVAILABLE (deny); a service that never answers is
  cut off by --rate-limit-service-timeout, long before the call's deadline;
  one started again on the same address is asked again without a restart
  of the gateway.

    /usr/bin/python3 tests/python/rate_limit_service_test.py \\
        --gateway build/gateway/main/envelope-gateway
"""

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import grpc
import redis

import failure_reasons_test
import harness
import operations_test as ops

S = grpc.StatusCode
RLS_DOMAIN = "fleet-test"
STAND_IN = os.path.join(harness.REPO, "tools", "testservers",
                        "ratelimit_service.py")
DENY = "--rate-limit-service-deny-when-unavailable=true"
STAND_IN_LINE = r"ratelimit service listening on (127\.0\.0\.1:\d+)"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

# Per minute on the held clock, per second on the real one.
HELD_LIMIT = 5
SECOND_LIMIT = 3
# The held clock: 10 s into a minute, so a window ends in 50 s.
HELD_START = 1_800_000_000 + 10
CONFIG = """\
domain: %s
descriptors:
  - key: account
    descriptors:
      - key: service
        value: cvm
        descriptors:
          - key: action
            value: DescribeZones
            rate_limit: {unit: minute, requests_per_unit: %d}
          - key: action
            value: DescribeRegions
            rate_limit: {unit: second, requests_per_unit: %d}
""" % (RLS_DOMAIN, HELD_LIMIT, SECOND_LIMIT)

TMP = None
REDIS = None  # (process, port)
STORE = None  # redis.Redis


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis():
    """redis-server on a free loopback port, no RDB, no AOF; returns once it
    says it accepts connections."""
    port = free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    ready = threading.Event()
    lines = []

    def read():
        for line in proc.stdout:
            lines.append(line)
            if "Ready to accept connections" in line:
                ready.set()
        ready.set()  # exited: the wait below sees it
    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(harness.STARTUP_TIMEOUT) or proc.poll() is not None:
        proc.kill()
        raise RuntimeError("redis-server did not start:\n" + "".join(lines))
    return proc, port


def setUpModule():
    global TMP, REDIS, STORE
    ops.setUpModule()
    try:
        TMP = tempfile.mkdtemp(prefix="rate-limit-service-test-")
        with open(os.path.join(TMP, "limits.yaml"), "w") as f:
            f.write(CONFIG)
        REDIS = start_redis()
        STORE = redis.Redis(host="127.0.0.1", port=REDIS[1], socket_timeout=10)
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    if REDIS is not None:
        harness.stop_process(REDIS[0])
    if TMP is not None:
        shutil.rmtree(TMP, ignore_errors=True)
    ops.tearDownModule()


class StandIn:
    """One rate limit service stand-in on the module's Redis."""

    def __init__(self, clock=None, listen="127.0.0.1:0"):
        self.clock_file = None
        argv = [harness.PYTHON, STAND_IN, "--config",
                os.path.join(TMP, "limits.yaml"),
                "--redis", "127.0.0.1:%d" % REDIS[1], "--listen", listen]
        if clock is not None:
            self.clock_file = os.path.join(TMP, "clock")
            self.set_clock(clock)
            argv += ["--clock-file", self.clock_file]
        self.proc, self.address = harness.start_process(
            argv, line_re=STAND_IN_LINE, what="ratelimit service")

    def set_clock(self, now):
        with open(self.clock_file + ".new", "w") as f:
            f.write(str(now))
        os.replace(self.clock_file + ".new", self.clock_file)

    def stop(self):
        return harness.stop_process(self.proc)


def counter_key(action, window_start):
    """envoyproxy/ratelimit's key of the account's counter for `action`."""
    return "%s_account_%s_service_cvm_action_%s_%d" % (
        RLS_DOMAIN, ops.SECRET_ID, action, window_start)


class FleetLimitTest(ops.GatewayTest):

    def setUp(self):
        super().setUp()
        STORE.flushall()
        self.stand_ins = []

    def tearDown(self):
        super().tearDown()
        for s in self.stand_ins:
            s.stop()

    def stand_in(self, clock=None, listen="127.0.0.1:0"):
        s = StandIn(clock, listen)
        self.stand_ins.append(s)
        return s

    def fleet_gateway(self, address, *flags, timeout="10s"):
        """A gateway asking the service at `address`; a generous timeout
        unless a test needs a short one: a slow answer on a loaded machine
        would count as no answer."""
        return self.start("--rate-limit-default=0",
                          "--rate-limit-service=" + address,
                          "--rate-limit-service-domain=" + RLS_DOMAIN,
                          "--rate-limit-service-timeout=" + timeout, *flags)

    def served_then_stopped(self, *flags):
        """A gateway whose first call the service answered, the service
        then stopped; returns (gateway, the service's address)."""
        rls = self.stand_in()
        gw = self.fleet_gateway(rls.address, *flags)
        self.assertEqual(gw.call("DescribeZones")[0], S.OK)
        rls.stop()
        self.stand_ins.remove(rls)
        return gw, rls.address

    def burst(self, gateways, action, per_gateway):
        """`per_gateway` concurrent calls of `action` on each gateway, all
        released at once; returns [(code, error or response)]."""
        calls = [gw for gw in gateways for _ in range(per_gateway)]
        start = threading.Barrier(len(calls))
        results = [None] * len(calls)

        def run(i, gw):
            start.wait()
            results[i] = gw.call(action)
        threads = [threading.Thread(target=run, args=(i, gw))
                   for i, gw in enumerate(calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    # Code, ErrorInfo (reason, domain, metadata) and RetryInfo, as the
    # catalogue's own test reads them.
    expect = failure_reasons_test.GatewayErrorsTest.expect

    def expect_refusal(self, err, action, code, reason, retry_seconds):
        self.expect(err, code, reason, retry_seconds, action=action)

    def fleet_metrics(self, gateways):
        """{(family, label value): sum over `gateways`}."""
        totals = {}
        for gw in gateways:
            for name, labels, value in gw.metrics():
                if name.startswith("envelope_gateway_rate_limit_service_"):
                    key = (name, labels.get("result") or labels.get("outcome"))
                    totals[key] = totals.get(key, 0) + value
        return totals

    def test_two_gateways_share_one_limit(self):
        rls = self.stand_in(clock=HELD_START)
        # Deny mode: a call that went had the service's OK, never its
        # silence.
        gateways = [self.fleet_gateway(rls.address, "--access-log=false",
                                       DENY)
                    for _ in range(2)]
        per_gateway = 8  # 16 calls; two separate limits would pass 10
        total_ok = 0
        for window in range(2):
            window_start = HELD_START - 10 + 60 * window
            rls.set_clock(window_start + 10)
            results = self.burst(gateways, "DescribeZones", per_gateway)
            ok = [r for r in results if r[0] == S.OK]
            refused = [r[1] for r in results if r[0] != S.OK]
            self.assertEqual(len(ok), HELD_LIMIT,
                             [(c, e.details()) for c, e in results
                              if c != S.OK][:3])
            for err in refused:
                # The held clock is 10 s into the minute: 50 s to its end.
                self.expect_refusal(err, "DescribeZones", S.RESOURCE_EXHAUSTED,
                                    "FLEET_RATE_LIMIT", 50)
            total_ok += len(ok)
            # What reached the API: the fleet's limit, not one per gateway.
            self.assertEqual(len(self.requests("DescribeZones")), total_ok)
            # Redis holds envoyproxy/ratelimit's counter: every question
            # counted, expiring with its window.
            key = counter_key("DescribeZones", window_start)
            self.assertEqual(int(STORE.get(key)), 2 * per_gateway)
            self.assertGreater(STORE.ttl(key), 0)
            self.assertLessEqual(STORE.ttl(key), 60)

        # A new window is what let the second burst through; an action the
        # limit does not name is counted apart.
        self.assertEqual(total_ok, 2 * HELD_LIMIT)
        code, _ = gateways[0].call("DescribeInstances")
        self.assertEqual(code, S.OK)
        self.assertEqual(len(self.requests("DescribeInstances")), 1)

        totals = self.fleet_metrics(gateways)
        asked = 2 * 2 * per_gateway + 1
        self.assertEqual(totals[("envelope_gateway_rate_limit_service_requests_total",
                                 "ok")], 2 * HELD_LIMIT + 1)
        self.assertEqual(totals[("envelope_gateway_rate_limit_service_requests_total",
                                 "over_limit")], asked - 2 * HELD_LIMIT - 1)
        self.assertEqual(totals[("envelope_gateway_rate_limit_service_requests_total",
                                 "error")], 0)
        for gw in gateways:
            self.stop_ok(gw)

    def test_per_second_windows_on_the_real_clock(self):
        rls = self.stand_in()
        gateways = [self.fleet_gateway(rls.address, "--access-log=false",
                                       DENY)
                    for _ in range(2)]
        results = []
        for _ in range(3):
            results += self.burst(gateways, "DescribeRegions", 5)
        ok = sum(1 for code, _ in results if code == S.OK)
        for code, err in results:
            if code != S.OK:
                # Whole seconds to the window's end, as envoyproxy/ratelimit.
                self.expect_refusal(err, "DescribeRegions", S.RESOURCE_EXHAUSTED,
                                    "FLEET_RATE_LIMIT", 1)
        self.assertEqual(len(self.requests("DescribeRegions")), ok)
        # Window by window: the questions Redis counted, of which the first
        # SECOND_LIMIT went.
        prefix = counter_key("DescribeRegions", 0)[:-1]
        windows = {int(k.decode()[len(prefix):]): int(STORE.get(k))
                   for k in STORE.keys(prefix + "*")}
        self.assertTrue(windows, "no counter in Redis")
        self.assertEqual(sum(windows.values()), len(results))
        self.assertEqual(ok, sum(min(n, SECOND_LIMIT)
                                 for n in windows.values()))
        self.assertLessEqual(ok, SECOND_LIMIT * len(windows))
        for gw in gateways:
            self.stop_ok(gw)

    def test_stopped_service_allow_lets_calls_go(self):
        gw, address = self.served_then_stopped()
        for _ in range(3):
            code, resp = gw.call("DescribeZones")
            self.assertEqual(code, S.OK,
                             resp.details() if code != S.OK else "")
        self.assertEqual(len(self.requests("DescribeZones")), 4)
        totals = self.fleet_metrics([gw])
        self.assertEqual(totals[("envelope_gateway_rate_limit_service_failures_total",
                                 "allowed")], 3)
        self.assertEqual(totals[("envelope_gateway_rate_limit_service_failures_total",
                                 "denied")], 0)
        self.stop_ok(gw)

    def test_stopped_service_deny_ends_calls_unavailable(self):
        gw, address = self.served_then_stopped(DENY)
        code, err = gw.call("DescribeZones")
        self.expect_refusal(err, "DescribeZones", S.UNAVAILABLE,
                            "RATE_LIMIT_SERVICE_UNAVAILABLE", 1)
        self.assertIn(address, err.details())
        self.assertEqual(len(self.requests("DescribeZones")), 1)
        totals = self.fleet_metrics([gw])
        self.assertEqual(totals[("envelope_gateway_rate_limit_service_failures_total",
                                 "denied")], 1)
        self.stop_ok(gw)

    def test_restarted_service_is_asked_again(self):
        gw, address = self.served_then_stopped(DENY)
        code, err = gw.call("DescribeZones")
        self.expect_refusal(err, "DescribeZones", S.UNAVAILABLE,
                            "RATE_LIMIT_SERVICE_UNAVAILABLE", 1)
        # Back on the same address: the gateway reconnects by itself (its
        # backoff stays under 2 s); until then calls end at once as above.
        self.stand_in(listen=address)
        end = time.monotonic() + ops.START_TIMEOUT
        while True:
            code, err = gw.call("DescribeZones")
            if code == S.OK:
                break
            self.assertEqual(code, S.UNAVAILABLE, err.details())
            self.assertLess(time.monotonic(), end, "never asked again")
            time.sleep(0.05)  # polling, not for correctness
        # Counted in Redis: the first call and the last, by either service;
        # none of the refused ones reached a service.
        prefix = counter_key("DescribeZones", 0)[:-1]
        self.assertEqual(sum(int(STORE.get(k))
                             for k in STORE.keys(prefix + "*")), 2)
        self.stop_ok(gw)

    def test_silent_service_is_cut_off_by_the_timeout(self):
        # Accepts connections (the kernel's backlog) and never answers.
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        self.addCleanup(silent.close)
        address = "127.0.0.1:%d" % silent.getsockname()[1]
        gw = self.fleet_gateway(
            address, DENY,
            timeout="200ms")
        # The call's deadline is ops.RPC_TIMEOUT (10 s): it ends first with
        # the gate's refusal, not DEADLINE_EXCEEDED.
        code, err = gw.call("DescribeZones")
        self.expect_refusal(err, "DescribeZones", S.UNAVAILABLE,
                            "RATE_LIMIT_SERVICE_UNAVAILABLE", 1)
        # Cut off by the timeout: the RPC's deadline, or the connection
        # attempt it bounds (gRPC says which).
        self.assertRegex(err.details(), "DEADLINE_EXCEEDED|timed out")
        self.assertEqual(self.requests("DescribeZones"), [])
        self.stop_ok(gw)

    def test_malformed_address_is_refused_at_start(self):
        proc = subprocess.run(
            ops.gateway_argv("--rate-limit-service=ratelimit", admin=False),
            env=harness.scrubbed_env(), capture_output=True, text=True,
            timeout=ops.START_TIMEOUT)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("rate_limit_service: \"ratelimit\" is not HOST:PORT",
                      proc.stderr)


if __name__ == "__main__":
    ops.GATEWAY_BIN = harness.take_gateway_flag() or ops.GATEWAY_BIN
    unittest.main()
