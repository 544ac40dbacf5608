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

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

import grpc
from google.protobuf import json_format

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SOURCE = os.path.join(REPO, "third_party", "tencentcloud-specs", "tag",
                      "v20180813")
SERVICE, VERSION_DIR = "acmetag", "v20180813"  # the spec says 2018-08-13
PACKAGE = "tencentcloud.%s.%s" % (SERVICE, VERSION_DIR)
GATEWAY_BIN = os.environ.get("GATEWAY_BIN", "")


def take_gateway_flag():
    global GATEWAY_BIN
    rest = [sys.argv[0]]
    args = iter(sys.argv[1:])
    for arg in args:
        if arg == "--gateway":
            GATEWAY_BIN = next(args)
        elif arg.startswith("--gateway="):
            GATEWAY_BIN = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    sys.argv[:] = rest


def start(argv, env=None):
    """Starts argv; returns (process, last word of its first stdout line)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError("%s did not start: %s" % (argv[0], proc.stderr.read()))
    return proc, line.split()[-1]


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
        subprocess.check_call([
            "protoc", "-I", proto_root, "-I", "/usr/include", "--include_imports",
            "--descriptor_set_out=" + descriptor_set,
            "--python_out=" + cls.tmp, rel])
        spec = importlib.util.spec_from_file_location(
            "acmetag_pb2", os.path.join(cls.tmp, rel.replace(".proto", "_pb2.py")))
        cls.pb2 = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cls.pb2)
        with open(os.path.join(specs, "examples.json")) as f:
            cls.examples = json.load(f)["actions"]

        cls.emulator, cls.emulator_url = start([
            "/usr/bin/python3", os.path.join(REPO, "tools/emulator/emulator.py"),
            "--listen", "127.0.0.1:0", "--quiet", "--no-auth",
            "--specs", os.path.join(cls.tmp, "specs")])
        cls.gateway, address = start([
            GATEWAY_BIN, "--listen=127.0.0.1:0", "--signing=none",
            "--endpoint=" + cls.emulator_url,
            "--descriptor-set=" + descriptor_set])
        cls.channel = grpc.insecure_channel(address)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        for proc in (cls.gateway, cls.emulator):
            proc.terminate()
            proc.wait(timeout=30)
            proc.stdout.close()
            proc.stderr.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def recorded_bodies(self):
        with urllib.request.urlopen(self.emulator_url + "/_emulator/requests") as r:
            return [entry["body"] for entry in json.load(r)]

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
                    urllib.request.urlopen(urllib.request.Request(
                        self.emulator_url + "/_emulator/requests",
                        method="DELETE")).close()
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
    take_gateway_flag()
    if not GATEWAY_BIN:
        sys.exit("usage: new_product_test.py --gateway PATH")
    unittest.main()
