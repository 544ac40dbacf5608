#!/usr/bin/python3
"""A hostile upstream and hostile untyped callers against the real gateway.

The emulator answers with bodies built to break a JSON reader, a transcoder
or gRPC's metadata (issue 10's cases); a stock client (Debian's grpcio, with
its default 8 KiB metadata limit) must get a defined status for each, with
the details and trailers it can decode, and the gateway must live through
all of them and stop cleanly at the end (docs/errors.md, "Hostile input").

    /usr/bin/python3 tests/python/hostile_upstream_test.py \
        --gateway build/gateway/main/envelope-gateway
"""

import base64
import json
import os
import re
import tempfile
import unittest

import grpc

import harness

GOOGLEAPIS = "/usr/share/gocode/src/github.com/gogo/googleapis"
SECRET_ID = "AKIDTESTHOSTILEUPSTREAM000000000000"
SECRET_KEY = "hostile-upstream-secret-key-000000"
REGION = "ap-guangzhou"
RPC_TIMEOUT = 10.0
ZONES = "/tencentcloud.cvm.v20170312.Cvm/DescribeZones"
CALL = "/envelope.gateway.v1.JsonApi/Call"
GATEWAY_BIN = os.environ.get("GATEWAY_BIN", "")

C = grpc.StatusCode
# What a printable-ASCII metadata value looks like, and its bound.
METADATA_VALUE = re.compile(r"^[\x20-\x7e]{0,128}$")


def envelope(response):
    return json.dumps({"Response": response}).encode()


class HostileUpstreamTest(harness.GatewayFixture, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hostile-upstream-test-")
        cls.emulator = cls.gateway = cls.channel = None
        try:
            harness.protoc_python([GOOGLEAPIS], ["google/rpc/status.proto",
                                                 "google/rpc/error_details.proto"],
                                  out=cls.tmp)
            harness.protoc_python([harness.PROTO_DIR],
                                  ["envelope/gateway/v1/json_api.proto",
                                   "tencentcloud/cvm/v20170312/cvm.proto"],
                                  out=cls.tmp)
            global status_pb2, error_details_pb2, json_api_pb2, cvm_pb2
            status_pb2 = harness.import_generated(cls.tmp, "google.rpc.status_pb2")
            error_details_pb2 = harness.import_generated(
                cls.tmp, "google.rpc.error_details_pb2")
            json_api_pb2 = harness.import_generated(
                cls.tmp, "envelope.gateway.v1.json_api_pb2")
            cvm_pb2 = harness.import_generated(
                cls.tmp, "tencentcloud.cvm.v20170312.cvm_pb2")
            cls.emulator = harness.Emulator.start(
                "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY)
            cls.access_log = os.path.join(cls.tmp, "access.log")
            cls.gateway, cls.addr = harness.start_gateway(
                GATEWAY_BIN, cls.emulator.url, "--region=" + REGION,
                "--max-attempts=1", "--access-log",
                secret_id=SECRET_ID, secret_key=SECRET_KEY)
            cls.channel = harness.open_channel(cls.addr)
        except BaseException:
            cls._cleanup()
            raise

    def setUp(self):
        self.emulator.clear_rules()

    # ------------------------------------------------------------ helpers

    def answer(self, body, status=200, action="DescribeZones"):
        self.emulator.rule({"action": action, "status": status, "times": 1,
                            "body_base64": base64.b64encode(body).decode()})

    def typed(self):
        """(code, response or None, trailers dict, error or None)."""
        call = self.channel.unary_unary(
            ZONES,
            request_serializer=cvm_pb2.DescribeZonesRequest.SerializeToString,
            response_deserializer=cvm_pb2.DescribeZonesResponse.FromString)
        return self._invoke(call, cvm_pb2.DescribeZonesRequest())

    def untyped(self, params_json="{}"):
        call = self.channel.unary_unary(
            CALL,
            request_serializer=json_api_pb2.CallRequest.SerializeToString,
            response_deserializer=json_api_pb2.CallResponse.FromString)
        return self._invoke(call, json_api_pb2.CallRequest(
            service="cvm", version="2017-03-12", action="DescribeZones",
            params_json=params_json))

    def _invoke(self, call, request):
        try:
            response, c = call.with_call(request, timeout=RPC_TIMEOUT)
            return C.OK, response, self.trailers(c.trailing_metadata()), None
        except grpc.RpcError as e:
            return e.code(), None, self.trailers(e.trailing_metadata()), e

    @staticmethod
    def trailers(md):
        return {k: v for k, v in md or ()}

    def details(self, err):
        raw = self.trailers(err.trailing_metadata()).get("grpc-status-details-bin")
        self.assertIsNotNone(raw, "no details in %r" % (err.trailing_metadata(),))
        status = status_pb2.Status.FromString(raw)
        out = {}
        for detail in status.details:
            name = detail.type_url.rsplit("/", 1)[-1]
            cls = getattr(error_details_pb2, name.rsplit(".", 1)[-1])
            out[name] = cls.FromString(detail.value)
        return status, out

    def assert_valid_trailers(self, trailers):
        for key in ("x-tc-requestid", "x-tc-error-code"):
            if key in trailers:
                self.assertRegex(trailers[key], METADATA_VALUE, key)

    def assert_both_routes(self, body, code, status=200):
        for route in (self.typed, self.untyped):
            self.answer(body, status)
            got, _, trailers, err = route()
            self.assertEqual(got, code, "%s: %r -> %s" % (
                route.__name__, body[:80], err and err.details()))
            self.assert_valid_trailers(trailers)

    # ------------------------------------------------------------ the cases

    def test_long_numbers_that_crashed_rapidjson_are_read_exactly(self):
        for number in (b"8.0555555555555555555555555555510154277e-0332",
                       b"1.00000000000000000000000000000000000001e-340",
                       b"0e-261"):
            body = b'{"Response":{"TotalCount":1,"X":' + number + \
                b',"RequestId":"r-num"}}'
            self.assert_both_routes(body, C.OK)
        # A number the transcoder reads into a typed field: correctly rounded.
        self.answer(b'{"Response":{"TotalCount":0e-261,"RequestId":"r"}}')
        got, response, _, _ = self.typed()
        self.assertEqual(got, C.OK)
        self.assertEqual(response.total_count, 0)

    def test_deep_nesting_is_internal_not_a_crash(self):
        for body in (b"[" * 1000000,
                     b'{"Response":{"RequestId":"r","X":' + b"[" * 150000,
                     b'{"Response":{"RequestId":"r","X":' + b'{"a":' * 100000):
            self.assert_both_routes(body, C.INTERNAL)

    def test_invalid_utf8_is_internal(self):
        for value in (b"\xff", b"\xc3", b"\xed\xa0\x80", b"\\udc00"):
            body = b'{"Response":{"RequestId":"r","ZoneSet":[{"Zone":"' + \
                value + b'"}],"TotalCount":1}}'
            self.assert_both_routes(body, C.INTERNAL)

    def test_control_and_non_ascii_request_ids_become_escaped_trailers(self):
        for raw in ("id\r\nx-evil: 1", "id\u0000nul", "zone-\u5317\u4eac",
                    "100%", "x" * 10000):
            body = envelope({"RequestId": raw, "TotalCount": 0, "ZoneSet": []})
            for route in (self.typed, self.untyped):
                self.answer(body)
                got, response, trailers, err = route()
                self.assertEqual(got, C.OK, err and err.details())
                sent = trailers.get("x-tc-requestid")
                self.assertRegex(sent, METADATA_VALUE)
                if len(raw) < 30:
                    # Percent-encoding is lossless: the caller can decode it.
                    from urllib.parse import unquote
                    self.assertEqual(unquote(sent), raw)
                else:
                    self.assertTrue(sent.endswith("...(truncated)"), sent)

    def test_huge_error_fields_keep_code_details_and_request_id(self):
        message = "\u6d88\u606f " * 200000 + "`ins-1`"  # ~1.4 MB, not ASCII
        body = envelope({"RequestId": "r" * 10000, "Error": {
            "Code": "ResourceNotFound.InstanceNotExist" + "X" * 10000,
            "Message": message}})
        for route in (self.typed, self.untyped):
            self.answer(body)
            got, _, trailers, err = route()
            self.assertEqual(got, C.NOT_FOUND, err and err.details())
            self.assert_valid_trailers(trailers)
            self.assertTrue(trailers["x-tc-error-code"].startswith(
                "ResourceNotFound.InstanceNotExistXXX"))
            status, details = self.details(err)
            self.assertLessEqual(len(status.message.encode()), 512)
            self.assertTrue(status.message.endswith("...(truncated)"))
            info = details["google.rpc.ErrorInfo"]
            self.assertTrue(info.reason.startswith("RESOURCE_NOT_FOUND"))
            self.assertIn("google.rpc.RequestInfo", details)

    def test_control_characters_in_error_code(self):
        body = envelope({"RequestId": "r-cc", "Error": {
            "Code": "InternalError\r\n\u0000\u00e9", "Message": "m"}})
        for route in (self.typed, self.untyped):
            self.answer(body)
            got, _, trailers, err = route()
            self.assertNotEqual(got, C.OK)
            self.assert_valid_trailers(trailers)
            self.assertEqual(trailers["x-tc-requestid"], "r-cc")
            self.details(err)  # decodes

    def test_duplicate_and_escaped_names(self):
        duplicate = (b'{"Response":{"RequestId":"a","TotalCount":1},'
                     b'"Response":{"RequestId":"b","TotalCount":2}}')
        self.assert_both_routes(duplicate, C.INTERNAL)
        escaped = (b'{"Resp\\u006fnse":{"RequestId":"r-esc","TotalCount":3,'
                   b'"ZoneSet":[]}}')
        self.answer(escaped)
        got, response, trailers, _ = self.typed()
        self.assertEqual(got, C.OK)
        self.assertEqual((response.total_count, trailers["x-tc-requestid"]),
                         (3, "r-esc"))
        self.answer(escaped)
        got, response, trailers, _ = self.untyped()
        self.assertEqual(got, C.OK)
        self.assertEqual(json.loads(response.response_json)["TotalCount"], 3)
        self.assertEqual(response.request_id, "r-esc")

    def test_success_envelope_on_non_2xx_is_never_ok(self):
        body = envelope({"RequestId": "r-302", "TotalCount": 0, "ZoneSet": []})
        for status in (302, 404, 500, 999):
            self.assert_both_routes(
                body, C.UNIMPLEMENTED if status == 404 else C.UNKNOWN, status)
            self.answer(body, status)
            _, _, trailers, _ = self.typed()
            self.assertEqual(trailers.get("x-tc-requestid"), "r-302")

    def test_hostile_params_json_is_invalid_argument(self):
        for params in ("[" * 150000, '{"a":' * 50000, '{"a":1,"a":2}',
                       '{"a":"\\udc00"}', "[]", '{"n":1e400}'):
            got, _, _, err = self.untyped(params)
            self.assertEqual(got, C.INVALID_ARGUMENT, params[:20])
            self.assertIn("params_json", err.details())

    def test_invalid_utf8_in_a_typed_request_is_invalid_argument(self):
        call = self.channel.unary_unary(
            "/tencentcloud.cvm.v20170312.Cvm/DescribeInstances",
            request_serializer=lambda raw: raw,
            response_deserializer=cvm_pb2.DescribeInstancesResponse.FromString)
        # InstanceIds (field 1, a string) = "ins-\xff": not UTF-8.
        got, _, _, err = self._invoke(call, b"\x0a\x05ins-\xff")
        self.assertEqual(got, C.INVALID_ARGUMENT)
        # protobuf's complaint goes through the gateway's diagnostics.
        for line in harness.output_lines(self.gateway, "err"):
            self.assertTrue(line.startswith("envelope-gateway: "), line)

    def test_zz_gateway_survived_and_access_log_is_json(self):
        # Runs last (by name): the gateway is still serving, and each access
        # log line it wrote for the cases above is one JSON object.
        def json_lines(lines):
            return [line for line in lines if line.startswith("{")]
        self.answer(envelope({"RequestId": "r-zz-\udcff".encode(
            "utf-8", "surrogatepass").decode("latin-1"), "TotalCount": 0}))
        got, _, _, _ = self.typed()
        self.assertEqual(got, C.OK)
        self.assertIsNone(self.gateway.poll(), "the gateway died")
        # Until this last call's line is out (the log is written every
        # 100 ms).
        lines = json_lines(harness.wait_for_output(
            self.gateway, lambda out: any(
                '"request_id":"r-zz-' in line for line in json_lines(out))))
        self.assertGreater(len(lines), 20)
        for line in lines:
            json.loads(line)


if __name__ == "__main__":
    GATEWAY_BIN = harness.take_gateway_flag()
    if not GATEWAY_BIN:
        raise SystemExit("usage: hostile_upstream_test.py --gateway PATH "
                         "(or env GATEWAY_BIN)")
    unittest.main()
