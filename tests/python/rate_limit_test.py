#!/usr/bin/python3
"""The local rate limiter (docs/operations.md, "Rate limits") against an API
that refuses beyond its limit.

The bundled emulator plays an API allowing N requests per second per action
(its `rate_limit` rule: a sliding one-second window, RequestLimitExceeded
beyond). A busy service's burst goes through the real gateway binary; what
the callers get is decoded with grpcio, and what the API saw is read from
the emulator's request log.

    /usr/bin/python3 tests/python/rate_limit_test.py \
        --gateway build/gateway/main/envelope-gateway
"""

import collections
import concurrent.futures
import sys
import unittest

import grpc

import harness
import operations_test as ops

S = grpc.StatusCode
API_LIMIT = 20  # requests per second per action, the API's common limit
CALLERS = 60
CALLS = 300
DEADLINE = 30.0


def setUpModule():
    ops.setUpModule()


def tearDownModule():
    ops.tearDownModule()


class RateLimitTest(ops.GatewayTest):

    def burst(self, gw, calls=CALLS, callers=CALLERS, deadline=DEADLINE):
        """Codes of `calls` DescribeZones calls made by `callers` threads at
        once, each with a `deadline` in seconds."""
        method = gw.typed("DescribeZones")

        def one(_):
            try:
                method.with_call(ops.cvm_pb2.DescribeZonesRequest(),
                                 timeout=deadline)
                return S.OK, None
            except grpc.RpcError as e:
                return e.code(), e

        with concurrent.futures.ThreadPoolExecutor(callers) as pool:
            return list(pool.map(one, range(calls)))

    def upstream(self):
        """(requests the API received, of which refused) for DescribeZones."""
        records = self.requests("DescribeZones")
        refused = [r for r in records
                   if r.get("error_code") == "RequestLimitExceeded"]
        return len(records), len(refused)

    def report(self, what, codes, sent, refused):
        # For the record (docs/operations.md, "Rate limits"): not asserted.
        print("%s: %s; the API got %d requests, refused %d (%.0f %%)"
              % (what, dict((c.name, n) for c, n in codes.items()), sent,
                 refused, 100.0 * refused / max(sent, 1)), file=sys.stderr)

    def limit_api(self, per_second):
        ops.EMULATOR.rule({"action": "*", "rate_limit": per_second})

    def sample(self, gw, name, action="DescribeZones"):
        values = [v for n, labels, v in gw.metrics()
                  if n == name and labels.get("action") == action]
        self.assertEqual(len(values), 1, (name, values))
        return values[0]

    def test_a_burst_stays_under_the_api_limit(self):
        # The case: 300 calls from 60 callers with 30 s deadlines
        # against 20 requests/s. Paced by default, they end OK and the API
        # refuses hardly any request.
        self.limit_api(API_LIMIT)
        gw = self.start()
        codes = collections.Counter(code for code, _ in self.burst(gw))
        sent, refused = self.upstream()
        self.report("paced", codes, sent, refused)
        self.assertGreaterEqual(codes[S.OK], 0.99 * CALLS, codes)
        self.assertLessEqual(refused, 0.10 * sent, (sent, refused))
        self.assertGreater(
            self.sample(gw, "envelope_gateway_rate_limit_waits_total"), 0)
        self.stop_ok(gw)

    def test_without_pacing_the_same_burst_is_refused(self):
        # What the limiter prevents, so the case above can tell: the same
        # burst unpaced keeps the API's limit saturated.
        self.limit_api(API_LIMIT)
        gw = self.start("--rate-limit-default=0")
        codes = collections.Counter(code for code, _ in self.burst(gw))
        sent, refused = self.upstream()
        self.report("unpaced", codes, sent, refused)
        self.assertGreater(refused, 0.10 * sent, (sent, refused, codes))
        self.stop_ok(gw)

    def test_a_slot_past_the_deadline_ends_the_call_at_once(self):
        # One request per second: of four calls with a 1.5 s deadline, the
        # first goes at once and the second after a second; the later two
        # would have to wait past their deadline and end at once with the
        # gateway's own reason and the wait they would have had.
        gw = self.start("--rate-limit=DescribeZones=1")
        results = self.burst(gw, calls=4, callers=4, deadline=1.5)
        ok = [e for code, e in results if code == S.OK]
        refused = [e for code, e in results
                   if code == S.RESOURCE_EXHAUSTED]
        self.assertEqual((len(ok), len(refused)), (2, 2),
                         [code for code, _ in results])
        for err in refused:
            details = self.decode_details(err)
            info = details["google.rpc.ErrorInfo"]
            self.assertEqual(info.reason, "LOCAL_RATE_LIMIT")
            self.assertEqual(info.domain, "envelope-gateway")
            self.assertEqual(info.metadata["action"], "DescribeZones")
            self.assertNotIn("attempts", info.metadata)  # none was sent
            delay = details["google.rpc.RetryInfo"].retry_delay
            wait = delay.seconds + delay.nanos / 1e9
            self.assertGreater(wait, 1.0)
            self.assertLessEqual(wait, 3.0)
        self.assertEqual(self.upstream(), (2, 0))
        self.assertEqual(
            self.sample(gw, "envelope_gateway_rate_limit_refusals_total"), 2)
        self.stop_ok(gw)

    def test_the_rate_comes_down_to_what_the_api_allows(self):
        # The API allows less than the configured ceiling: its refusals
        # halve the rate, so the gateway settles below 20/s, and most calls
        # still end OK through the retries.
        self.limit_api(5)
        gw = self.start()
        codes = collections.Counter(
            code for code, _ in self.burst(gw, calls=60, callers=20))
        rate = self.sample(gw, "envelope_gateway_rate_limit_requests_per_second")
        self.assertLess(rate, API_LIMIT)
        self.assertGreaterEqual(codes[S.OK], 57, codes)
        self.stop_ok(gw)

    def test_an_action_not_paced_is_not_shown(self):
        # `=0` turns pacing off for one action; the others keep it.
        gw = self.start("--rate-limit=DescribeZones=0")
        self.assertEqual(gw.call("DescribeZones")[0], S.OK)
        self.assertEqual(gw.call("DescribeRegions")[0], S.OK)
        actions = {labels.get("action") for n, labels, _ in gw.metrics()
                   if n == "envelope_gateway_rate_limit_requests_per_second"}
        self.assertEqual(actions, {"DescribeRegions"})
        self.stop_ok(gw)


if __name__ == "__main__":
    ops.GATEWAY_BIN = harness.take_gateway_flag() or ops.GATEWAY_BIN
    unittest.main()
