#!/usr/bin/python3
"""The gateway's own failures, each as a stock grpcio client sees it.

Every reason of the catalogue in docs/errors.md ("The gateway's own
failures") is provoked against the real binary and the bundled emulator,
and its google.rpc details are decoded from grpc-status-details-bin:
ErrorInfo (reason, domain, metadata), RetryInfo where the table promises
one. Reasons a caller cannot see (its own deadline, its cancel) are read
from the access log, which also has to name the call however it ended.
INTERNAL has no way in from outside; tests/unit/gateway_errors_test.cc
covers it. The reasons of opt-in features have tests of their own, with
the processes those need: REGION_BREAKER_OPEN in region_failover_test.py,
FLEET_RATE_LIMIT and RATE_LIMIT_SERVICE_UNAVAILABLE in
rate_limit_service_test.py.

    /usr/bin/python3 tests/python/failure_reasons_test.py \
        --gateway build/gateway/main/envelope-gateway
"""

import os
import socket
import sys
import tempfile
import threading
import time
import unittest

import grpc

import harness
import operations_test as ops

S = grpc.StatusCode
DOMAIN = "envelope-gateway"


def setUpModule():
    ops.setUpModule()


def tearDownModule():
    ops.tearDownModule()


def error_of(call, *args, **kwargs):
    """The grpc.RpcError that call(*args, **kwargs) raises; None if none."""
    try:
        call(*args, **kwargs)
    except grpc.RpcError as e:
        return e
    return None


def closed_port():
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GatewayErrorsTest(ops.GatewayTest):

    def expect(self, err, code, reason, retry_seconds=None, **metadata):
        """Asserts the failure's code, ErrorInfo and RetryInfo; returns the
        ErrorInfo's metadata."""
        self.assertIsInstance(err, grpc.RpcError, "the call succeeded")
        self.assertEqual(err.code(), code, err.details())
        details = self.decode_details(err)
        info = details.get("google.rpc.ErrorInfo")
        self.assertIsNotNone(info, "no ErrorInfo: %r" % details)
        self.assertEqual(info.reason, reason)
        self.assertEqual(info.domain, DOMAIN)
        for key, value in metadata.items():
            self.assertEqual(info.metadata.get(key), value, key)
        retry = details.get("google.rpc.RetryInfo")
        if retry_seconds is None:
            self.assertIsNone(retry, "unexpected RetryInfo")
        else:
            self.assertIsNotNone(retry, "no RetryInfo")
            self.assertEqual(retry.retry_delay.seconds, retry_seconds)
        return dict(info.metadata)

    def fail_within(self, gw, action, timeout):
        """The error of one typed call with a deadline `timeout` s away."""
        err = error_of(gw.typed(action).with_call,
                       getattr(ops.cvm_pb2, action + "Request")(),
                       timeout=timeout)
        self.assertIsNotNone(err, action + " succeeded")
        return err

    def raw(self, gw, method):
        return gw.channel.unary_unary(method)

    def wait_for(self, predicate, what, timeout=ops.START_TIMEOUT):
        end = time.monotonic() + timeout
        while not predicate():
            self.assertLess(time.monotonic(), end, "no " + what)
            time.sleep(0.02)

    def access_line(self, gw, action):
        """The access-log line of the one call of `action`."""
        lines = []

        def found():
            lines[:] = [e for e in gw.access_log() if e["action"] == action]
            return lines
        # The log is written out every 100 ms (docs/operations.md, "Logs").
        self.wait_for(found, "access-log line for " + action)
        self.assertEqual(len(lines), 1, lines)
        return lines[0]

    # -- the caller's call

    def test_unknown_method(self):
        gw = self.start()
        err = error_of(self.raw(gw, ops.CVM + "NoSuchAction"), b"",
                       timeout=ops.RPC_TIMEOUT)
        self.expect(err, S.UNIMPLEMENTED, "UNKNOWN_METHOD")
        self.stop_ok(gw)

    def test_invalid_request(self):
        gw = self.start()
        err = error_of(self.raw(gw, ops.CVM + "DescribeZones"),
                       b"\xff\xff\xff", timeout=ops.RPC_TIMEOUT)
        self.expect(err, S.INVALID_ARGUMENT, "INVALID_REQUEST",
                    service="cvm", action="DescribeZones")
        self.assertEqual(self.requests(), [])
        self.stop_ok(gw)

    def test_invalid_metadata(self):
        gw = self.start()
        _, err = gw.call("DescribeZones",
                         metadata=(("x-tc-region", "no such region!"),))
        self.expect(err, S.INVALID_ARGUMENT, "INVALID_METADATA",
                    service="cvm", action="DescribeZones")
        self.stop_ok(gw)

    def test_region_required(self):
        argv = [a for a in ops.gateway_argv()
                if not a.startswith(("--region=", "--endpoint="))]
        argv.append("--endpoint=http://{region}.invalid")
        gw = self.start(argv=argv)
        _, err = gw.call("DescribeZones")
        self.expect(err, S.INVALID_ARGUMENT, "REGION_REQUIRED",
                    service="cvm", action="DescribeZones")
        self.stop_ok(gw)

    def test_no_request_message(self):
        gw = self.start()
        call = gw.channel.stream_unary(ops.CVM + "DescribeZones")
        err = error_of(call, iter(()), timeout=ops.RPC_TIMEOUT)
        self.expect(err, S.INVALID_ARGUMENT, "NO_REQUEST_MESSAGE")
        self.stop_ok(gw)

    def test_request_message_timeout(self):
        gw = self.start("--request-message-timeout=200ms")
        release = threading.Event()

        def never():  # sends nothing until the call has ended
            release.wait(ops.RPC_TIMEOUT)
            return
            yield
        call = gw.channel.stream_unary(ops.CVM + "DescribeZones")
        err = error_of(call, never(), timeout=ops.RPC_TIMEOUT)
        release.set()
        meta = self.expect(err, S.DEADLINE_EXCEEDED, "REQUEST_MESSAGE_TIMEOUT")
        # Named by its method, though its request never came.
        self.assertEqual(meta.get("action"), "DescribeZones")
        self.stop_ok(gw)

    def test_action_not_allowed(self):
        gw = self.start("--allowed-actions=DescribeZones")
        _, err = gw.call("DescribeRegions")
        self.expect(err, S.PERMISSION_DENIED, "ACTION_NOT_ALLOWED",
                    service="cvm", action="DescribeRegions",
                    region=ops.REGION)
        self.stop_ok(gw)

    def test_deadline_and_cancel_are_logged_with_the_whole_call(self):
        # The caller's library reports its own deadline and cancel; the
        # gateway's access log must still say what the call was and how far
        # it got (the upstream received it).
        gw = self.start()
        ops.EMULATOR.rule({"action": "DescribeZones", "delay_ms": 3000})
        ops.EMULATOR.rule({"action": "DescribeRegions", "delay_ms": 3000})
        err = error_of(gw.typed("DescribeZones").with_call,
                       ops.cvm_pb2.DescribeZonesRequest(), timeout=0.5)
        self.assertEqual(err.code(), S.DEADLINE_EXCEEDED)
        future = gw.typed("DescribeRegions").future(
            ops.cvm_pb2.DescribeRegionsRequest(), timeout=ops.RPC_TIMEOUT)
        self.wait_for(lambda: self.requests("DescribeRegions"),
                      "upstream request of DescribeRegions")
        future.cancel()
        # The upstream request's own timeout is the deadline too: whichever
        # fires first names the end.
        for action, reasons, code in (
                ("DescribeZones", ("DEADLINE_EXCEEDED", "UPSTREAM_TIMEOUT"),
                 "DEADLINE_EXCEEDED"),
                ("DescribeRegions", ("CANCELLED",), "CANCELLED")):
            with self.subTest(action=action):
                line = self.access_line(gw, action)
                self.assertIn(line["reason"], reasons)
                self.assertEqual(line["grpc_code"], code)
                self.assertEqual(line["service"], "cvm")
                self.assertEqual(line["region"], ops.REGION)
                self.assertEqual(line["attempts"], 1)
                self.assertIn("127.0.0.1", line["peer"])
                self.assertIn("grpc-python", line["user_agent"])
        self.stop_ok(gw)

    # -- the gateway's state

    def test_draining(self):
        gw = self.start("--shutdown-grace=20s")
        ops.EMULATOR.rule({"action": "DescribeRegions", "delay_ms": 1500})
        held = gw.typed("DescribeRegions").future(
            ops.cvm_pb2.DescribeRegionsRequest(), timeout=ops.RPC_TIMEOUT)
        self.wait_for(lambda: self.requests("DescribeRegions"),
                      "upstream request of the held call")
        gw.send()
        self.wait_for(lambda: any("draining" in l for l in gw.err),
                      "draining line")
        _, err = gw.call("DescribeZones")
        self.expect(err, S.UNAVAILABLE, "DRAINING", retry_seconds=0)
        held.result()
        self.assertEqual(gw.wait(), 0)

    def test_overloaded(self):
        gw = self.start("--max-in-flight=1")
        ops.EMULATOR.rule({"action": "DescribeRegions", "delay_ms": 1500})
        held = gw.typed("DescribeRegions").future(
            ops.cvm_pb2.DescribeRegionsRequest(), timeout=ops.RPC_TIMEOUT)
        self.wait_for(lambda: self.requests("DescribeRegions"),
                      "upstream request of the held call")
        _, err = gw.call("DescribeZones")
        self.expect(err, S.UNAVAILABLE, "OVERLOADED", retry_seconds=1)
        held.result()
        self.stop_ok(gw)

    def test_no_credentials(self):
        # The env source only, nothing in the environment.
        argv = [a for a in ops.gateway_argv()
                if not a.startswith(("--credential-sources=", "--secret-dir="))]
        gw = self.start(argv=argv + ["--credential-sources=env"],
                        env=harness.scrubbed_env())
        _, err = gw.call("DescribeZones")
        self.expect(err, S.UNAVAILABLE, "NO_CREDENTIALS", retry_seconds=5,
                    service="cvm", action="DescribeZones")
        self.assertEqual(self.requests(), [])
        self.stop_ok(gw)

    def test_local_rate_limit(self):
        # One request per 5 s: the second call's turn lies past its 2 s
        # deadline, so it ends at once, nothing sent, with the wait.
        gw = self.start("--rate-limit=DescribeZones=0.2")
        self.assertEqual(gw.call("DescribeZones")[0], S.OK)
        err = self.fail_within(gw, "DescribeZones", 2)
        meta = self.expect(err, S.RESOURCE_EXHAUSTED, "LOCAL_RATE_LIMIT",
                           retry_seconds=self.retry_seconds(err),
                           service="cvm", action="DescribeZones",
                           region=ops.REGION)
        self.assertNotIn("attempts", meta)
        self.assertGreaterEqual(self.retry_seconds(err), 3)
        self.assertLessEqual(self.retry_seconds(err), 4)
        self.assertEqual(len(self.requests("DescribeZones")), 1)
        self.stop_ok(gw)

    def retry_seconds(self, err):
        retry = self.decode_details(err).get("google.rpc.RetryInfo")
        self.assertIsNotNone(retry, "no RetryInfo")
        return retry.retry_delay.seconds

    # -- the upstream

    def upstream_at(self, endpoint, *flags):
        argv = [a for a in ops.gateway_argv(*flags)
                if not a.startswith("--endpoint=")]
        return self.start(argv=argv + ["--endpoint=" + endpoint])

    def test_upstream_unreachable(self):
        gw = self.upstream_at("http://127.0.0.1:%d" % closed_port())
        err = self.fail_within(gw, "DescribeZones", 3)
        meta = self.expect(err, S.UNAVAILABLE, "UPSTREAM_UNREACHABLE",
                           retry_seconds=1, service="cvm",
                           action="DescribeZones", region=ops.REGION)
        # Refused before anything was sent: tried again within the deadline.
        self.assertGreaterEqual(int(meta["attempts"]), 2)
        self.stop_ok(gw)

    def test_upstream_tls_failure(self):
        # The emulator speaks plain HTTP: no TLS handshake can succeed.
        gw = self.upstream_at(ops.EMULATOR.url.replace("http://", "https://"))
        _, err = gw.call("DescribeZones")
        self.expect(err, S.UNAVAILABLE, "UPSTREAM_TLS_FAILURE",
                    attempts="1")
        self.stop_ok(gw)

    def test_upstream_timeout(self):
        gw = self.start("--default-timeout=300ms")
        ops.EMULATOR.rule({"action": "DescribeZones", "delay_ms": 3000})
        # No deadline of the caller's: --default-timeout bounds the call.
        err = error_of(gw.typed("DescribeZones").with_call,
                       ops.cvm_pb2.DescribeZonesRequest())
        self.expect(err, S.DEADLINE_EXCEEDED, "UPSTREAM_TIMEOUT",
                    attempts="1")
        self.stop_ok(gw)

    def test_upstream_http_status(self):
        gw = self.start()
        ops.EMULATOR.rule({"action": "DescribeZones", "status": 404,
                           "body": "<html>no</html>",
                           "headers": {"Content-Type": "text/html"}})
        _, err = gw.call("DescribeZones")
        self.expect(err, S.UNIMPLEMENTED, "UPSTREAM_HTTP_STATUS",
                    http_status="404", attempts="1")
        # A busy upstream: RetryInfo says when to come back.
        ops.EMULATOR.rule({"action": "DescribeRegions", "status": 503,
                           "body": "busy"})
        err = self.fail_within(gw, "DescribeRegions", 1.5)
        if err.code() == S.UNAVAILABLE:  # not cut short by the deadline
            self.expect(err, S.UNAVAILABLE, "UPSTREAM_HTTP_STATUS",
                        retry_seconds=1, http_status="503")
        else:
            self.assertEqual(err.code(), S.DEADLINE_EXCEEDED)
        self.stop_ok(gw)

    def test_upstream_malformed_response(self):
        gw = self.start()
        ops.EMULATOR.rule({"action": "DescribeZones", "body": "not json"})
        _, err = gw.call("DescribeZones")
        self.expect(err, S.INTERNAL, "UPSTREAM_MALFORMED_RESPONSE",
                    http_status="200")
        self.stop_ok(gw)

    def test_upstream_response_too_large(self):
        gw = self.start("--max-response-bytes=64")
        _, err = gw.call("DescribeZones")
        self.expect(err, S.INTERNAL, "UPSTREAM_RESPONSE_TOO_LARGE")
        self.stop_ok(gw)

    def test_response_not_transcodable(self):
        gw = self.start()
        ops.EMULATOR.rule({"action": "DescribeZones",
                           "request_id": "req-not-transcodable",
                           "response": {"TotalCount": "many"}})
        _, err = gw.call("DescribeZones")
        self.expect(err, S.INTERNAL, "RESPONSE_NOT_TRANSCODABLE")
        request = self.decode_details(err).get("google.rpc.RequestInfo")
        self.assertIsNotNone(request)
        self.assertEqual(request.request_id, "req-not-transcodable")
        self.stop_ok(gw)


if __name__ == "__main__":
    ops.GATEWAY_BIN = harness.take_gateway_flag() or ops.GATEWAY_BIN
    unittest.main()
