#!/usr/bin/python3
"""The region breaker (docs/operations.md, "Region breaker") with real
processes: the gateway binary, a primary emulator made to fail (HTTP 503,
or connections closed without an answer) and, where a backup endpoint is
configured, a second, healthy emulator.

Shown: calls fail with the upstream's failure until the breaker opens;
then they go to the backup (which records them, correctly signed for its
own host) or, without one, end at once with UNAVAILABLE,
REGION_BREAKER_OPEN and a RetryInfo, without reaching the primary; once
the open time is up a probe reaches the primary, which opens the breaker
again while still failing and closes it once healthy. Every wait polls a
condition; nothing is timed.

    /usr/bin/python3 tests/python/region_failover_test.py \\
        --gateway build/gateway/main/envelope-gateway
"""

import subprocess
import time
import unittest
import urllib.parse

import grpc

import harness
import operations_test as ops

S = grpc.StatusCode
MIN_FAILURES = 3
# Short enough for the tests, long enough that nothing else interferes:
# no local pacing, one attempt per call (each call is one counted answer).
BREAKER = ("--rate-limit-default=0", "--max-attempts=1", "--region-breaker",
           "--region-breaker-window=60s",
           "--region-breaker-min-failures=%d" % MIN_FAILURES,
           "--region-breaker-failure-ratio=0.5")
FAIL_503 = {"action": "*", "status": 503, "body": "<html>busy</html>",
            "headers": {"Content-Type": "text/html"}}
STATE = "envelope_gateway_region_breaker_state"
TRANSITIONS = "envelope_gateway_region_breaker_transitions_total"
REJECTED = "envelope_gateway_region_breaker_rejected_total"
BACKUP = "envelope_gateway_region_breaker_backup_attempts_total"


def setUpModule():
    ops.setUpModule()


def tearDownModule():
    ops.tearDownModule()


def host_of(url):
    return urllib.parse.urlsplit(url).netloc


class RegionBreakerTest(ops.GatewayTest):

    def info(self, err):
        """The ErrorInfo and the RetryInfo (None if absent) of a failure."""
        details = self.decode_details(err)
        info = details.get("google.rpc.ErrorInfo")
        self.assertIsNotNone(info, details)
        return info, details.get("google.rpc.RetryInfo")

    def fail_until_open(self, gw, reason, **metadata):
        """MIN_FAILURES calls, each failing with the upstream's failure."""
        for _ in range(MIN_FAILURES):
            code, err = gw.call("DescribeZones")
            self.assertEqual(code, S.UNAVAILABLE, err)
            info, _ = self.info(err)
            self.assertEqual(info.reason, reason)
            for key, value in metadata.items():
                self.assertEqual(info.metadata.get(key), value, key)

    def sample(self, gw, name, **labels):
        values = [v for n, got, v in gw.metrics()
                  if n == name and all(got.get(k) == v2
                                       for k, v2 in labels.items())]
        self.assertEqual(len(values), 1, (name, labels, values))
        return values[0]

    def poll(self, what, predicate, timeout=ops.START_TIMEOUT):
        end = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            self.assertLess(time.monotonic(), end, "never: " + what)
            time.sleep(0.05)

    def start_backup(self):
        backup = harness.Emulator.start("--secret-id", ops.SECRET_ID,
                                        "--secret-key", ops.SECRET_KEY)
        self.addCleanup(backup.stop)
        return backup

    def test_without_backup_calls_fail_fast_once_open(self):
        ops.EMULATOR.rule({"action": "*", "fault": "close"})
        gw = self.start(*BREAKER, "--region-breaker-open-for=60s")
        primary = host_of(ops.EMULATOR.url)
        self.fail_until_open(gw, "UPSTREAM_UNREACHABLE")
        sent = len(self.requests())
        self.assertGreaterEqual(sent, MIN_FAILURES)
        for _ in range(2):
            code, err = gw.call("DescribeZones")
            self.assertEqual(code, S.UNAVAILABLE, err)
            info, retry = self.info(err)
            self.assertEqual(info.reason, "REGION_BREAKER_OPEN")
            self.assertEqual(info.domain, "envelope-gateway")
            self.assertEqual(info.metadata["action"], "DescribeZones")
            self.assertEqual(info.metadata["region"], ops.REGION)
            self.assertNotIn("attempts", info.metadata)  # none was sent
            self.assertIn("%s is open: %d of %d" % (
                primary, MIN_FAILURES, MIN_FAILURES), err.details())
            # The time left open.
            self.assertIsNotNone(retry, "no RetryInfo")
            wait = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
            self.assertGreater(wait, 0)
            self.assertLessEqual(wait, 60)
        self.assertEqual(len(self.requests()), sent, "the primary was reached")
        self.assertEqual(self.sample(gw, STATE, endpoint=primary), 1)
        self.assertEqual(self.sample(gw, REJECTED, endpoint=primary), 2)
        self.assertEqual(
            self.sample(gw, TRANSITIONS, endpoint=primary, to="open"), 1)
        self.stop_ok(gw)

    def test_with_backup_calls_go_there_until_a_probe_closes_it(self):
        backup = self.start_backup()
        ops.EMULATOR.rule(FAIL_503)
        gw = self.start(*BREAKER, "--region-breaker-open-for=5s",
                        "--region-breaker-backup-endpoint=" + backup.url)
        primary = host_of(ops.EMULATOR.url)
        self.fail_until_open(gw, "UPSTREAM_HTTP_STATUS", http_status="503")
        self.assertEqual(len(self.requests()), MIN_FAILURES)
        self.assertEqual(backup.requests(), [])

        # Open: the next call is answered by the backup, signed for its host
        # and still for the caller's region.
        code, resp = gw.call("DescribeZones")
        self.assertEqual(code, S.OK, resp)
        [record] = backup.requests()
        self.assertEqual(record["action"], "DescribeZones")
        self.assertEqual(record["headers"]["host"], host_of(backup.url))
        self.assertIs(record["signature_ok"], True)
        self.assertEqual(record["region"], ops.REGION)
        self.assertEqual(len(self.requests()), MIN_FAILURES)

        # The primary is healthy again. Calls keep going to the backup
        # until the open time is up; then one probes the primary, and its
        # success closes the breaker.
        ops.EMULATOR.clear_rules()

        def probed():
            code, resp = gw.call("DescribeZones")
            self.assertEqual(code, S.OK, resp)
            return len(self.requests()) > MIN_FAILURES
        self.poll("a probe reaching the primary", probed)
        self.assertEqual(len(self.requests()), MIN_FAILURES + 1)
        self.assertEqual(self.sample(gw, STATE, endpoint=primary), 0)
        for to in ("open", "half_open", "closed"):
            self.assertEqual(
                self.sample(gw, TRANSITIONS, endpoint=primary, to=to), 1, to)
        went_to_backup = len(backup.requests())
        self.assertEqual(self.sample(gw, BACKUP, endpoint=primary),
                         went_to_backup)
        self.assertEqual(self.sample(gw, REJECTED, endpoint=primary), 0)
        # Closed: calls go to the primary again, none to the backup.
        self.assertEqual(gw.call("DescribeZones")[0], S.OK)
        self.assertEqual(len(self.requests()), MIN_FAILURES + 2)
        self.assertEqual(len(backup.requests()), went_to_backup)
        self.stop_ok(gw)

    def test_a_failed_probe_opens_it_again(self):
        ops.EMULATOR.rule(FAIL_503)
        gw = self.start(*BREAKER, "--region-breaker-open-for=1s")
        primary = host_of(ops.EMULATOR.url)
        self.fail_until_open(gw, "UPSTREAM_HTTP_STATUS")
        reasons = []

        def probed():
            code, err = gw.call("DescribeZones")
            self.assertEqual(code, S.UNAVAILABLE, err)
            reasons.append(self.info(err)[0].reason)
            return len(self.requests()) > MIN_FAILURES
        self.poll("a probe reaching the primary", probed)
        # Fast failures while open, then the probe's own failure.
        self.assertLessEqual(set(reasons[:-1]), {"REGION_BREAKER_OPEN"})
        self.assertEqual(reasons[-1], "UPSTREAM_HTTP_STATUS")
        self.assertEqual(
            self.sample(gw, TRANSITIONS, endpoint=primary, to="open"), 2)
        self.assertEqual(
            self.sample(gw, TRANSITIONS, endpoint=primary, to="closed"), 0)

        ops.EMULATOR.clear_rules()
        self.poll("a call answered once healthy",
                  lambda: gw.call("DescribeZones")[0] == S.OK)
        self.assertEqual(self.sample(gw, STATE, endpoint=primary), 0)
        self.assertEqual(
            self.sample(gw, TRANSITIONS, endpoint=primary, to="closed"), 1)
        self.stop_ok(gw)

    def test_a_backup_that_is_no_endpoint_stops_start_up(self):
        # The Go SDK's backup is a bare domain; the gateway's is a URL
        # template, and a bare domain is refused at start, naming the key.
        r = subprocess.run(
            ops.gateway_argv("--region-breaker",
                             "--region-breaker-backup-endpoint="
                             "ap-guangzhou.tencentcloudapi.com"),
            capture_output=True, text=True, timeout=30,
            env=harness.scrubbed_env())
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn('region_breaker: backup_endpoint '
                      '"ap-guangzhou.tencentcloudapi.com" must start with '
                      'https:// or http://', r.stderr)


if __name__ == "__main__":
    ops.GATEWAY_BIN = harness.take_gateway_flag() or ops.GATEWAY_BIN
    unittest.main()
