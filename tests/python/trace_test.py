#!/usr/bin/python3
"""Trace context and spans, end to end (docs/operations.md, "Traces").

The real gateway, the bundled emulator and a collector stand-in
(otlp_collector.py, a separate process that decodes OTLP/HTTP with the
official protos): calls with and without a caller's traceparent, and
checks the exported spans (trace ids, parent links, names, kinds,
attributes), the traceparent the emulator received from each attempt, the
access log's trace_id/span_id, a retried call's two attempt spans, an
unsampled caller, and that a dead or stuck collector drops spans, counted
on /metrics, without failing or holding up calls.

    /usr/bin/python3 tests/python/trace_test.py \
        --gateway build/gateway/main/envelope-gateway
"""

import json
import os
import re
import socket
import sys
import time
import unittest
import urllib.request

import grpc

import harness
import operations_test as ops

S = grpc.StatusCode
HERE = os.path.dirname(os.path.abspath(__file__))
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
DESCRIBE_ZONES = "tencentcloud.cvm.v20170312.Cvm/DescribeZones"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
WAIT = 30.0  # only a failing test waits this long

COLLECTOR = None  # (process, address)


def setUpModule():
    global COLLECTOR
    ops.setUpModule()
    try:
        COLLECTOR = harness.start_process(
            [sys.executable, os.path.join(HERE, "otlp_collector.py")],
            what="otlp collector")
    except BaseException:
        ops.tearDownModule()
        raise


def tearDownModule():
    if COLLECTOR is not None:
        harness.stop_process(COLLECTOR[0])
    ops.tearDownModule()


def collector(path, method="GET"):
    req = urllib.request.Request("http://%s%s" % (COLLECTOR[1], path),
                                 method=method,
                                 data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, timeout=WAIT):
    """predicate()'s first true value, polled until `timeout`."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


class TraceTest(ops.GatewayTest):

    def start_traced(self, *flags):
        return self.start("--otlp-endpoint=http://" + COLLECTOR[1], *flags)

    def spans_of(self, trace_id, count):
        """The spans of `trace_id` once `count` of them have arrived."""
        return wait_for(
            "%d spans of trace %s" % (count, trace_id),
            lambda: (lambda s: s if len(s) >= count else None)(
                [s for s in collector("/spans") if s["trace_id"] == trace_id]))

    def call(self, gw, metadata=()):
        """(response, trailers) of DescribeZones with `metadata`."""
        resp, call = gw.typed("DescribeZones").with_call(
            ops.cvm_pb2.DescribeZonesRequest(), timeout=ops.RPC_TIMEOUT,
            metadata=list(metadata))
        return resp, dict(call.trailing_metadata())

    def log_entry(self, gw, trace_id):
        gw.wait_line(gw.out, re.compile('"trace_id":"%s"' % trace_id))
        return [e for e in gw.access_log() if e.get("trace_id") == trace_id]

    def split(self, spans):
        servers = [s for s in spans if s["kind"] == "SPAN_KIND_SERVER"]
        clients = sorted((s for s in spans if s["kind"] == "SPAN_KIND_CLIENT"),
                         key=lambda s: s["attributes"]["envelope_gateway.attempt"])
        self.assertEqual(len(servers), 1, spans)
        self.assertEqual(len(servers) + len(clients), len(spans), spans)
        return servers[0], clients

    def test_caller_trace_is_continued_and_forwarded(self):
        gw = self.start_traced()
        _, trailers = self.call(gw, [
            ("traceparent", "00-%s-%s-01" % (TRACE_ID, PARENT_ID)),
            ("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")])
        server, clients = self.split(self.spans_of(TRACE_ID, 2))
        self.assertEqual(len(clients), 1)
        client = clients[0]

        # The call's span: a child of the caller's, named and attributed as
        # the RPC conventions say.
        self.assertEqual(server["parent_span_id"], PARENT_ID)
        self.assertRegex(server["span_id"], HEX16)
        self.assertEqual(server["name"], DESCRIBE_ZONES)
        self.assertEqual(server["trace_state"],
                         "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
        self.assertEqual(server["status"], "STATUS_CODE_UNSET")
        self.assertEqual(server["resource"]["service.name"], "envelope-gateway")
        a = server["attributes"]
        self.assertEqual(a["rpc.system"], "grpc")
        self.assertEqual(a["rpc.service"], "tencentcloud.cvm.v20170312.Cvm")
        self.assertEqual(a["rpc.method"], "DescribeZones")
        self.assertEqual(a["rpc.grpc.status_code"], 0)
        self.assertEqual(a["tencentcloud.request_id"], trailers["x-tc-requestid"])
        self.assertEqual(a["tencentcloud.action"], "DescribeZones")
        self.assertEqual(a["envelope_gateway.attempts"], 1)
        self.assertNotIn("envelope_gateway.reason", a)

        # The attempt's span: a child of the call's.
        self.assertEqual(client["parent_span_id"], server["span_id"])
        self.assertNotEqual(client["span_id"], server["span_id"])
        self.assertEqual(client["name"], "POST")
        b = client["attributes"]
        self.assertEqual(b["http.response.status_code"], 200)
        self.assertEqual(b["server.address"], "127.0.0.1")
        self.assertEqual(b["server.port"], int(ops.EMULATOR.url.rsplit(":", 1)[1]))
        self.assertEqual(b["envelope_gateway.attempt"], 1)
        self.assertEqual(b["tencentcloud.request_id"], trailers["x-tc-requestid"])
        self.assertLessEqual(server["start"], client["start"])
        self.assertLessEqual(client["end"], server["end"])

        # The API saw the attempt's span as its parent, and the tracestate.
        [request] = self.requests("DescribeZones")
        self.assertEqual(request["headers"]["traceparent"],
                         "00-%s-%s-01" % (TRACE_ID, client["span_id"]))
        self.assertEqual(request["headers"]["tracestate"],
                         "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
        self.assertTrue(request["signature_ok"])

        [entry] = self.log_entry(gw, TRACE_ID)
        self.assertEqual(entry["span_id"], server["span_id"])
        self.stop_ok(gw)

    def test_new_trace_without_or_with_invalid_traceparent(self):
        gw = self.start_traced()
        invalid = [
            None,
            "00-%s-%s-01" % (TRACE_ID.upper(), PARENT_ID),  # uppercase
            "00-%s-%s-01" % ("0" * 32, PARENT_ID),  # zero trace id
            "00-%s-%s-01" % (TRACE_ID, "0" * 16),  # zero parent id
            "01-%s-%s-01" % (TRACE_ID, PARENT_ID),  # another version
            "00-%s-%s-01-" % (TRACE_ID, PARENT_ID),  # too long
        ]
        for value in invalid:
            before = len(self.requests("DescribeZones"))
            metadata = [] if value is None else [("traceparent", value),
                                                 ("tracestate", "a=b")]
            self.call(gw, metadata)
            request = self.requests("DescribeZones")[before]
            m = re.match(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$",
                         request["headers"]["traceparent"])
            self.assertIsNotNone(m, request["headers"])
            trace_id = m.group(1)
            self.assertNotEqual(trace_id, TRACE_ID, value)
            self.assertNotEqual(trace_id, "0" * 32)
            # A tracestate without a valid traceparent is not passed on.
            self.assertNotIn("tracestate", request["headers"], value)
            server, [client] = self.split(self.spans_of(trace_id, 2))
            self.assertEqual(server["parent_span_id"], "", value)
            self.assertEqual(client["parent_span_id"], server["span_id"])
            self.assertEqual(client["span_id"], m.group(2))
            [entry] = self.log_entry(gw, trace_id)
            self.assertEqual(entry["span_id"], server["span_id"])
        self.stop_ok(gw)

    def test_retried_call_has_a_span_per_attempt(self):
        gw = self.start_traced("--rate-limit-backoff=10ms")
        ops.EMULATOR.rule({"action": "DescribeZones", "times": 1,
                           "error": {"Code": "RequestLimitExceeded",
                                     "Message": "slow down"}})
        trace_id = "0af7651916cd43dd8448eb211c80319c"
        _, trailers = self.call(gw, [
            ("traceparent", "00-%s-b7ad6b7169203331-01" % trace_id)])
        server, clients = self.split(self.spans_of(trace_id, 3))
        self.assertEqual(len(clients), 2)
        self.assertEqual(server["attributes"]["envelope_gateway.attempts"], 2)
        first, second = clients
        for client in clients:
            self.assertEqual(client["parent_span_id"], server["span_id"])
        self.assertEqual(first["attributes"]["tencentcloud.error_code"],
                         "RequestLimitExceeded")
        self.assertEqual(first["attributes"]["error.type"],
                         "RequestLimitExceeded")
        self.assertEqual(first["status"], "STATUS_CODE_ERROR")
        self.assertNotIn("tencentcloud.error_code", second["attributes"])
        self.assertEqual(second["attributes"]["http.request.resend_count"], 1)
        self.assertEqual(second["attributes"]["tencentcloud.request_id"],
                         trailers["x-tc-requestid"])
        self.assertNotEqual(first["attributes"]["tencentcloud.request_id"],
                            trailers["x-tc-requestid"])
        self.assertLessEqual(first["end"], second["start"])
        # Each attempt named its own span to the API.
        sent = [r["headers"]["traceparent"]
                for r in self.requests("DescribeZones")]
        self.assertEqual(sent, ["00-%s-%s-01" % (trace_id, c["span_id"])
                                for c in clients])
        self.stop_ok(gw)

    def test_failed_call_span(self):
        gw = self.start_traced()
        ops.EMULATOR.rule({"action": "DescribeZones",
                           "error": {"Code": "InternalError",
                                     "Message": "broken"}})
        trace_id = "1af7651916cd43dd8448eb211c80319c"
        with self.assertRaises(grpc.RpcError) as caught:
            self.call(gw, [("traceparent",
                            "00-%s-b7ad6b7169203331-01" % trace_id)])
        code = caught.exception.code()
        server, [client] = self.split(self.spans_of(trace_id, 2))
        self.assertEqual(server["attributes"]["rpc.grpc.status_code"],
                         code.value[0])
        self.assertEqual(server["attributes"]["tencentcloud.error_code"],
                         "InternalError")
        self.assertEqual(server["status"], "STATUS_CODE_ERROR")
        self.assertEqual(client["attributes"]["tencentcloud.error_code"],
                         "InternalError")
        self.stop_ok(gw)

    def test_unsampled_caller_exports_nothing_but_forwards(self):
        gw = self.start_traced()
        unsampled = "2af7651916cd43dd8448eb211c80319c"
        sampled = "3af7651916cd43dd8448eb211c80319c"
        self.call(gw, [("traceparent", "00-%s-b7ad6b7169203331-00" % unsampled)])
        self.call(gw, [("traceparent", "00-%s-b7ad6b7169203331-01" % sampled)])
        # Spans leave in order: once the second call's are in, the first's
        # would be too.
        self.spans_of(sampled, 2)
        self.assertEqual(
            [s for s in collector("/spans") if s["trace_id"] == unsampled], [])
        first = self.requests("DescribeZones")[0]
        self.assertRegex(first["headers"]["traceparent"],
                         r"^00-%s-[0-9a-f]{16}-00$" % unsampled)
        [entry] = self.log_entry(gw, unsampled)
        self.assertRegex(entry["span_id"], HEX16)
        self.stop_ok(gw)

    def test_off_by_default_yet_logged_and_forwarded(self):
        gw = self.start()
        self.call(gw, [("traceparent", "00-%s-%s-01" % (TRACE_ID, PARENT_ID))])
        self.call(gw)
        sent = [r["headers"]["traceparent"]
                for r in self.requests("DescribeZones")]
        self.assertRegex(sent[0], r"^00-%s-[0-9a-f]{16}-01$" % TRACE_ID)
        # A trace the gateway starts while exporting nothing is not sampled.
        self.assertRegex(sent[1], r"^00-[0-9a-f]{32}-[0-9a-f]{16}-00$")
        [entry] = self.log_entry(gw, TRACE_ID)
        self.assertRegex(entry["span_id"], HEX16)
        names = [n for n, _, _ in gw.metrics()]
        self.assertNotIn("envelope_gateway_spans_dropped_total", names)
        self.stop_ok(gw)

    def dropped(self, gw):
        return gw.gauge("envelope_gateway_spans_dropped_total")

    def test_dead_collector_drops_and_counts(self):
        gw = self.start("--otlp-endpoint=http://127.0.0.1:%d" % closed_port(),
                        "--otlp-timeout=1s")
        for _ in range(5):
            began = time.monotonic()
            self.call(gw)
            self.assertLess(time.monotonic() - began, 2.0)
        wait_for("10 spans dropped", lambda: self.dropped(gw) >= 10)
        self.assertEqual(gw.gauge("envelope_gateway_spans_exported_total"), 0)
        self.stop_ok(gw)

    def test_full_queue_drops_and_never_blocks(self):
        collector("/hold", "POST")
        try:
            gw = self.start_traced("--otlp-queue-size=2")
            for _ in range(5):
                began = time.monotonic()
                self.call(gw)
                self.assertLess(time.monotonic() - began, 2.0)
            # At most one batch (taken from a queue of 2) waits at the
            # collector and 2 spans in the queue: 6 of the 10 are dropped.
            wait_for("6 spans dropped", lambda: self.dropped(gw) >= 6)
        finally:
            collector("/release", "POST")
        wait_for("every span accounted for", lambda: self.dropped(gw) +
                 gw.gauge("envelope_gateway_spans_exported_total") == 10)
        self.assertLessEqual(
            gw.gauge("envelope_gateway_spans_exported_total"), 4)
        self.assertEqual(collector("/stats")["bad_requests"], 0)
        self.stop_ok(gw)


if __name__ == "__main__":
    ops.GATEWAY_BIN = harness.take_gateway_flag() or ops.GATEWAY_BIN
    unittest.main()
