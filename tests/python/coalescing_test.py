#!/usr/bin/python3
"""Coalesced reads end to end: the real gateway binary and the bundled
emulator (docs/operations.md, "Coalesced reads").

Identical concurrent calls of an action listed in --coalesce-actions share
one upstream request: the emulator records one, every caller gets its own
OK answer with the one RequestId, the access log has a line per call
(`coalesced` true for all but the first) and /metrics counts the requests
saved. Calls that differ (parameters, region, typed or JsonApi), calls of a
non-idempotent action and calls with a ClientToken are never shared; a
member ending early (its deadline, its cancel) leaves the others their
answer.

The emulator answers the shared actions slowly, with a fresh RequestId per
request (a rule's `response`). Each test waits for events (the emulator
recorded a request, the gateway counted the joins), never for time; the
emulator's delay only has to outlast the few milliseconds the later calls
take to reach the gateway.

    /usr/bin/python3 tests/python/coalescing_test.py \\
        --gateway build/gateway/main/envelope-gateway
"""

import time
import unittest

import grpc

import harness
import operations_test as ops

S = grpc.StatusCode
N = 8
SLOW_MS = 4000  # the emulator's delay for the shared requests
LONG = 60.0  # the callers' own deadlines, in seconds
SAVED = "envelope_gateway_coalesced_calls_total"
ZONES = {"TotalCount": 1, "ZoneSet": [{"Zone": "ap-guangzhou-3",
                                       "ZoneName": "Guangzhou Zone 3",
                                       "ZoneId": "100003",
                                       "ZoneState": "AVAILABLE"}]}
INSTANCES = {"TotalCount": 0, "InstanceSet": []}


def setUpModule():
    ops.setUpModule()


def tearDownModule():
    ops.tearDownModule()


def outcome(future):
    """(code, response or None, x-tc-requestid) of a finished call."""
    try:
        response = future.result()
        code = S.OK
    except grpc.RpcError:
        response = None
        code = future.code()
    trailers = dict(future.trailing_metadata() or ())
    return code, response, trailers.get("x-tc-requestid")


class CoalescingTest(ops.GatewayTest):

    def start(self, *flags):
        # Unpaced (the local limiter would space the separate requests of
        # the tests that count them), and every call on a connection of its
        # own at once.
        gw = super().start("--rate-limit-default=0",
                           "--max-connections-per-host=64",
                           "--coalesce-actions=DescribeZones,"
                           "cvm:Describe*,cvm:RunInstances", *flags)
        # Until its first answer the gateway cannot tell whether a plain
        # http:// upstream multiplexes, and later requests wait for that
        # answer (libcurl's PIPEWAIT): one call first, so that the tests'
        # separate requests go out together.
        self.assertEqual(gw.call("DescribeRegions")[0], S.OK)
        ops.EMULATOR.clear_requests()
        return gw

    def wait_for(self, predicate, what, timeout=ops.START_TIMEOUT):
        end = time.monotonic() + timeout
        while not predicate():
            self.assertLess(time.monotonic(), end, "never: " + what)
            time.sleep(0.02)

    def saved(self, gw):
        return gw.gauge(SAVED)

    def wait_for_saved(self, gw, n):
        self.wait_for(lambda: self.saved(gw) >= n,
                      "%d calls joined (the emulator's delay is %d ms)"
                      % (n, SLOW_MS))
        self.assertEqual(self.saved(gw), n)

    def wait_for_requests(self, action, n):
        self.wait_for(lambda: len(self.requests(action)) >= n,
                      "%d %s requests at the emulator" % (n, action))

    def finish(self, futures):
        """Waits for every call (bounded by its own deadline)."""
        return [outcome(f) for f in futures]

    def log_lines(self, gw, action, n):
        """The access-log lines of `action`, once there are `n`."""
        lines = []

        def found():
            lines[:] = [e for e in gw.access_log() if e["action"] == action]
            return len(lines) >= n
        # Written out every 100 ms (docs/operations.md, "Logs").
        self.wait_for(found, "%d access-log lines for %s" % (n, action))
        self.assertEqual(len(lines), n, lines)
        return lines

    def start_slow_zones(self):
        """A gateway, the emulator answering DescribeZones slowly, and the
        first call, once the emulator has its request. Returns the gateway,
        the first call and a function that makes another (with a deadline
        `timeout` seconds away)."""
        gw = self.start()
        ops.EMULATOR.rule({"action": "DescribeZones", "delay_ms": SLOW_MS,
                           "response": ZONES})
        stub = gw.typed("DescribeZones")

        def call(timeout=LONG):
            return stub.future(ops.cvm_pb2.DescribeZonesRequest(),
                               timeout=timeout)
        first = call()
        self.wait_for_requests("DescribeZones", 1)
        return gw, first, call

    def test_identical_calls_share_one_request(self):
        gw, first, call = self.start_slow_zones()
        futures = [first] + [call() for _ in range(N - 1)]
        self.wait_for_saved(gw, N - 1)

        results = self.finish(futures)
        for code, _, _ in results:
            self.assertEqual(code, S.OK)
        request_ids = {rid for _, _, rid in results}
        self.assertEqual(len(request_ids), 1, request_ids)
        request_id = request_ids.pop()
        self.assertTrue(request_id)
        # Each caller its own answer, all equal.
        answers = {r.SerializeToString() for _, r, _ in results}
        self.assertEqual(len(answers), 1)
        self.assertEqual(results[0][1].zone_set[0].zone, "ap-guangzhou-3")
        self.assertEqual(len(self.requests("DescribeZones")), 1)
        self.assertEqual(self.saved(gw), N - 1)

        # A line per call: the first sent the request, the others joined it.
        lines = self.log_lines(gw, "DescribeZones", N)
        self.assertEqual(sorted(e["coalesced"] for e in lines),
                         [False] + [True] * (N - 1))
        for e in lines:
            self.assertEqual(e["grpc_code"], "OK")
            self.assertEqual(e["request_id"], request_id)
            self.assertEqual(e["attempts"], 1)

        # Over: the next identical call sends its own request.
        ops.EMULATOR.clear_rules()
        self.assertEqual(gw.call("DescribeZones")[0], S.OK)
        self.assertEqual(len(self.requests("DescribeZones")), 2)
        self.stop_ok(gw)

    def test_calls_that_differ_are_sent_apart(self):
        gw = self.start()
        ops.EMULATOR.rule({"action": "DescribeInstances", "delay_ms": SLOW_MS,
                           "response": INSTANCES})
        typed = gw.typed("DescribeInstances")
        untyped = gw.json_api()
        req = ops.cvm_pb2.DescribeInstancesRequest

        def typed_call(limit, region):
            return lambda: typed.future(
                req(limit=limit), timeout=LONG,
                metadata=(("x-tc-region", region),))

        def json_call(params):
            return lambda: untyped.future(ops.json_api_pb2.CallRequest(
                service="cvm", version="2017-03-12",
                action="DescribeInstances", region="ap-guangzhou",
                params_json=params), timeout=LONG)
        kinds = {
            "limit 1": typed_call(1, "ap-guangzhou"),
            "limit 2": typed_call(2, "ap-guangzhou"),
            "other region": typed_call(1, "ap-beijing"),
            # The same request as "limit 1", asked through JsonApi: its
            # answer has another form.
            "json": json_call('{"Limit":1}'),
            "json, other bytes": json_call('{"Limit": 1}'),
        }
        first = {k: start() for k, start in kinds.items()}
        self.wait_for_requests("DescribeInstances", len(kinds))
        second = {k: start() for k, start in kinds.items()}
        self.wait_for_saved(gw, len(kinds))

        ids = {}
        for kind in kinds:
            results = self.finish([first[kind], second[kind]])
            for code, _, _ in results:
                self.assertEqual(code, S.OK, kind)
            self.assertEqual(results[0][2], results[1][2], kind)
            ids[kind] = results[0][2]
        self.assertEqual(len(set(ids.values())), len(kinds), ids)
        sent = self.requests("DescribeInstances")
        self.assertEqual(len(sent), len(kinds))
        self.assertEqual(sorted(r["region"] for r in sent),
                         ["ap-beijing"] + ["ap-guangzhou"] * 4)
        self.assertEqual(self.saved(gw), len(kinds))
        self.stop_ok(gw)

    def test_writes_are_never_shared(self):
        gw = self.start()
        ops.EMULATOR.rule({"action": "RunInstances", "delay_ms": SLOW_MS,
                           "response": {"InstanceIdSet": ["ins-1"]}})
        ops.EMULATOR.rule({"action": "DescribeZones", "delay_ms": SLOW_MS,
                           "response": ZONES})
        # RunInstances matches the list (cvm:RunInstances) but is not
        # idempotent.
        stub = gw.typed("RunInstances")
        futures = [stub.future(ops.cvm_pb2.RunInstancesRequest(),
                               timeout=LONG) for _ in range(3)]
        # A read that carries a ClientToken is a write the API
        # deduplicates.
        untyped = gw.json_api()
        token = ops.json_api_pb2.CallRequest(
            service="cvm", version="2017-03-12", action="DescribeZones",
            params_json='{"ClientToken":"t-1"}')
        futures += [untyped.future(token, timeout=LONG) for _ in range(2)]
        # Each reaches the emulator on its own (shared ones never would).
        self.wait_for_requests("RunInstances", 3)
        self.wait_for_requests("DescribeZones", 2)
        results = self.finish(futures)
        self.assertEqual(len({rid for _, _, rid in results}), 5, results)
        self.assertEqual(self.saved(gw), 0)
        for e in self.log_lines(gw, "RunInstances", 3):
            self.assertFalse(e["coalesced"])
        self.stop_ok(gw)

    def test_a_member_leaving_does_not_disturb_the_others(self):
        gw, opener, call = self.start_slow_zones()
        # A shorter deadline joins; its own front ends it.
        short = call(timeout=1.5)
        rest = [call() for _ in range(2)]
        self.wait_for_saved(gw, 3)
        # The caller that started the request goes away.
        opener.cancel()

        self.assertEqual(outcome(short)[0], S.DEADLINE_EXCEEDED)
        results = self.finish(rest)
        for code, _, _ in results:
            self.assertEqual(code, S.OK)
        self.assertEqual(results[0][2], results[1][2])
        self.assertTrue(results[0][2])
        self.assertEqual(len(self.requests("DescribeZones")), 1)

        lines = self.log_lines(gw, "DescribeZones", 4)
        by_code = {}
        for e in lines:
            by_code.setdefault(e["grpc_code"], []).append(e["coalesced"])
        self.assertEqual(by_code.pop("OK"), [True, True])
        # The gateway may hear the client's cancel at its deadline a moment
        # before its own clock reaches it: the short call's line says
        # DEADLINE_EXCEEDED or CANCELLED (the caller saw DEADLINE_EXCEEDED).
        self.assertEqual(sorted(by_code.get("CANCELLED", []) +
                                by_code.get("DEADLINE_EXCEEDED", [])),
                         [False, True])
        self.stop_ok(gw)


if __name__ == "__main__":
    ops.GATEWAY_BIN = harness.take_gateway_flag() or ops.GATEWAY_BIN
    unittest.main()
