#!/usr/bin/python3
"""A product the gateway was not built with, end to end.

Takes a real api.json/examples.json pair, renames the product (so nothing of
it is bundled), generates its proto with tools/protogen, compiles a
descriptor set with protoc, starts the gateway with --descriptor-set and the
emulator serving the product's examples, and calls every example through
the gateway with Python's grpcio and protobuf: the request the upstream
receives equals the example's body, and the typed response carries the
example's Response.

    /usr/bin/python3 tests/python/new_product_test.py \
        --gateway build/gateway/main/envelope-gateway
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from google.protobuf import json_format

import harness
from harness import REPO

SOURCE = os.path.join(REPO, "third_party", "tencentcloud-specs", "tag",
                      "v20180813")
SERVICE, VERSION_DIR = "acmetag", "v20180813"  # the spec says 2018-08-13
PACKAGE = "tencentcloud.%s.%s" % (SERVICE, VERSION_DIR)
GATEWAY_BIN = os.environ.get("GATEWAY_BIN", "")


def body_of(example_input):
    """The JSON body after the first blank line of an example's HTTP text."""
    parts = example_input.split("\n\n", 1)
    return parts[1].strip() if len(parts) == 2 else ""


def absent_is_fine(value):
    """proto3 cannot tell these from unset, so they may come back absent."""
    return value is None or value in ([], {}, 0, "", False)


def same(expected, got):
    """Semantic equality; protobuf's Python JSON prints 64-bit integers as
    strings, so a digit string matches the integer it spells."""
    if isinstance(expected, bool) or expected is None:
        return expected == got
    if isinstance(expected, (int, float)):
        try:
            return float(got) == float(expected)
        except (TypeError, ValueError):
            return False
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(
            same(v, got[k]) if k in got else absent_is_fine(v)
            for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(
            same(e, g) for e, g in zip(expected, got))
    return expected == got


class NewProductTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="new-product-")
        specs = os.path.join(cls.tmp, "specs", SERVICE, VERSION_DIR)
        os.makedirs(specs)
        for name in ("api.json", "examples.json"):
            shutil.copy(os.path.join(SOURCE, name), specs)
        proto_root = os.path.join(cls.tmp, "proto")
        rel = "tencentcloud/%s/%s/%s.proto" % (SERVICE, VERSION_DIR, SERVICE)
        os.makedirs(os.path.dirname(os.path.join(proto_root, rel)))
        subprocess.check_call([
            "/usr/bin/python3", os.path.join(REPO, "tools/protogen/gen_proto.py"),
            "--api", os.path.join(specs, "api.json"),
            "--service", SERVICE, "--version-dir", VERSION_DIR,
            "--out", os.path.join(proto_root, rel),
            "--lock", os.path.join(proto_root, rel.replace(".proto", ".lock.json"))])
        descriptor_set = os.path.join(cls.tmp, "acmetag.pb")
        harness.protoc_python([proto_root], [rel], out=cls.tmp, extra=[
            "--include_imports", "--descriptor_set_out=" + descriptor_set])
        cls.pb2 = harness.import_generated(
            cls.tmp, rel.replace(".proto", "_pb2").replace("/", "."))
        with open(os.path.join(specs, "examples.json")) as f:
            cls.examples = json.load(f)["actions"]

        cls.emulator = harness.Emulator.start(
            "--no-auth", "--specs", os.path.join(cls.tmp, "specs"),
            timeout=None)
        cls.emulator_url = cls.emulator.url
        cls.gateway, address = harness.start_gateway(
            GATEWAY_BIN, cls.emulator_url, "--signing=none",
            "--descriptor-set=" + descriptor_set)
        cls.channel = harness.open_channel(address)

    @classmethod
    def tearDownClass(cls):
        harness.shutdown(cls.channel, cls.gateway, cls.emulator, cls.tmp)

    def recorded_bodies(self):
        return [entry["body"] for entry in self.emulator.requests()]

    def test_every_example_round_trips_through_the_gateway(self):
        checked = 0
        for action, examples in sorted(self.examples.items()):
            request_type = getattr(self.pb2, action + "Request")
            response_type = getattr(self.pb2, action + "Response")
            call = self.channel.unary_unary(
                "/%s.Acmetag/%s" % (PACKAGE, action),
                request_serializer=request_type.SerializeToString,
                response_deserializer=response_type.FromString)
            # The emulator answers each action with its first example.
            expected_response = json.loads(examples[0]["output"])["Response"]
            for index, example in enumerate(examples):
                with self.subTest(action=action, example=index):
                    body = body_of(example["input"]) or "{}"
                    request = json_format.Parse(body, request_type())
                    self.emulator.clear_requests()
                    response = call(request, timeout=10)
                    sent = self.recorded_bodies()
                    self.assertEqual(len(sent), 1)
                    self.assertTrue(same(json.loads(body), json.loads(sent[0])),
                                    "sent %s, example %s" % (sent[0], body))
                    got = json_format.MessageToDict(response)
                    self.assertTrue(same(expected_response, got),
                                    "got %s, example %s" % (got, expected_response))
                    checked += 1
        print("new product %s: %d examples round-tripped" % (SERVICE, checked))
        self.assertGreater(checked, 20)


if __name__ == "__main__":
    GATEWAY_BIN = harness.take_gateway_flag()
    if not GATEWAY_BIN:
        sys.exit("usage: new_product_test.py --gateway PATH")
    unittest.main()
