#!/usr/bin/python3
"""Runs one client example of examples/ against a real gateway and emulator.

    example_test.py --gateway PATH --language go|python|node|cpp [--client PATH]

Builds the example the way examples/README.md says (stubs generated from
proto/), starts the bundled emulator and a gateway, and runs the client
twice: once with the emulator's documented answers but for one provoked
ResourceNotFound.InstanceNotExist, once with every call refused
(UnauthorizedOperation, the switch's default branch). Each time the whole
output is compared line by line: the typed fields of DescribeZones as the
documented example has them, the reason each failure's ErrorInfo carries,
the branch the client took, and the RequestId of every call.

The toolchains come from tools/setup.sh --for-tests (Debian's Go packages,
the npm packages of examples/node); a missing one fails the test.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "python"))
import harness  # noqa: E402

SECRET_ID = "AKIDEXAMPLES000000000000000000000"
SECRET_KEY = "examples-secret-key-00000000000"
GATEWAY = harness.take_gateway_flag()
SETUP_HINT = "; tools/setup.sh --for-tests installs it"


def take_option(name):
    """Removes `name VALUE` from sys.argv and returns VALUE ("" if absent)."""
    args = sys.argv
    if name in args[1:-1]:
        i = args.index(name)
        value = args[i + 1]
        del args[i:i + 2]
        return value
    return ""


LANGUAGE = take_option("--language")
CLIENT = take_option("--client")


def run(argv, env=None, timeout=600):
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("%s exited with %d:\n%s%s"
                             % (" ".join(argv), r.returncode, r.stdout, r.stderr))
    return r.stdout


def need(program, package):
    path = shutil.which(program)
    if not path:
        raise AssertionError("%s is not installed (Debian: %s)%s" % (program, package, SETUP_HINT))
    return path


def build_client(work):
    """The example's command and environment, built as examples/README.md says."""
    env = harness.scrubbed_env()
    if LANGUAGE == "go":
        need("go", "golang-go")
        need("protoc-gen-go", "protoc-gen-go")
        need("protoc-gen-go-grpc", "protoc-gen-go-grpc")
        run([os.path.join(HERE, "go", "build.sh"), work])
        return [os.path.join(work, "client")], env
    if LANGUAGE == "python":
        run([os.path.join(HERE, "python", "build.sh"), work])
        env["PYTHONPATH"] = work
        return ["/usr/bin/python3", os.path.join(HERE, "python", "client.py")], env
    if LANGUAGE == "node":
        node = need("node", "nodejs")
        # npm ci of examples/node's lock file into the tests' npm cache.
        script = ('source tests/deploy/lib.sh && need_node_modules "$REPO_ROOT/examples/node"'
                  ' >&2 && echo "$NODE_PATH"')
        r = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True,
                           timeout=600)
        if r.returncode != 0:
            raise AssertionError("the npm packages of examples/node are not available%s:\n%s%s"
                                 % (SETUP_HINT, r.stdout, r.stderr))
        env["NODE_PATH"] = r.stdout.strip().splitlines()[-1]
        return [node, os.path.join(HERE, "node", "client.js")], env
    if LANGUAGE == "cpp":
        return [os.path.abspath(CLIENT)], env
    raise SystemExit("--language must be go, python, node or cpp")


def documented_zones():
    """The lines DescribeZones prints for the emulator's answer: the first
    documented example of cvm DescribeZones."""
    path = os.path.join(REPO, "third_party", "tencentcloud-specs", "cvm", "v20170312",
                        "examples.json")
    with open(path, encoding="utf-8") as f:
        example = json.load(f)["actions"]["DescribeZones"][0]
    response = json.loads(example["output"])["Response"]
    lines = ["DescribeZones: total_count %d" % response["TotalCount"]]
    for z in response["ZoneSet"]:
        lines.append("  zone %s id %s state %s name %s"
                     % (z["Zone"], z["ZoneId"], z["ZoneState"], z["ZoneName"]))
    lines.append("  request id " + response["RequestId"])
    return [re.escape(line) for line in lines]


def failure(call, code, reason):
    # Each library names codes its own way (Go: NotFound), so the number counts.
    return r"%s failed: code %d \(\w+\), reason %s" % (call, code, reason)


UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class ExampleTest(harness.GatewayFixture, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="example-%s-" % LANGUAGE)
        cls.command, cls.env = build_client(cls.tmp)
        cls.emulator = harness.Emulator.start("--secret-id", SECRET_ID, "--secret-key", SECRET_KEY)
        try:
            cls.gateway, cls.address = harness.start_gateway(
                GATEWAY, cls.emulator.url, "--region=ap-guangzhou",
                secret_id=SECRET_ID, secret_key=SECRET_KEY)
        except BaseException:
            cls._cleanup()
            raise
        cls.env["ENVELOPE_GATEWAY_ADDRESS"] = cls.address

    def setUp(self):
        self.emulator.clear_rules()
        self.emulator.clear_requests()

    def run_client(self, expected):
        out = run(self.command, env=self.env, timeout=120)
        print(out)
        lines = out.splitlines()
        for i, pattern in enumerate(expected):
            self.assertLess(i, len(lines), "the output ends before line %d, expected /%s/"
                            % (i + 1, pattern))
            self.assertRegex(lines[i], "^%s$" % pattern, "line %d" % (i + 1))
        self.assertEqual(len(lines), len(expected), "more lines than expected")

    def test_typed_answer_and_two_reasons(self):
        self.emulator.rule({"action": "DescribeInstances", "times": 1,
                            "request_id": "example-not-found-0001",
                            "error": {"Code": "ResourceNotFound.InstanceNotExist",
                                      "Message": "The instance `ins-demo0001` does not exist."}})
        self.run_client(documented_zones() + [
            failure("DescribeInstances", 5, "RESOURCE_NOT_FOUND_INSTANCE_NOT_EXIST"),
            re.escape("  -> no such instance; the API's code is ResourceNotFound.InstanceNotExist"),
            "  request id example-not-found-0001",
            failure("DescribeNoSuchThing", 12, "INVALID_ACTION"),
            "  -> cvm has no action DescribeNoSuchThing",
            "  request id " + UUID,
        ])
        # The typed request reached the API as its JSON.
        sent = [r for r in self.emulator.requests() if r["action"] == "DescribeInstances"]
        self.assertEqual(len(sent), 1)
        self.assertEqual(json.loads(sent[0]["body"]), {"InstanceIds": ["ins-demo0001"]})

    def test_default_branch(self):
        self.emulator.rule({"action": "*", "request_id": "example-denied-0001",
                            "error": {"Code": "UnauthorizedOperation",
                                      "Message": "not allowed for this example"}})
        expected = []
        for call in ("DescribeZones", "DescribeInstances", "DescribeNoSuchThing"):
            expected += [
                failure(call, 7, "UNAUTHORIZED_OPERATION"),
                re.escape("  -> not handled here (domain tencentcloudapi.com): "
                          "not allowed for this example"),
                "  request id example-denied-0001",
            ]
        self.run_client(expected)


if __name__ == "__main__":
    if not GATEWAY or not LANGUAGE or (LANGUAGE == "cpp" and not CLIENT):
        sys.exit("usage: example_test.py --gateway PATH --language go|python|node|cpp "
                 "[--client PATH (cpp)]")
    unittest.main(verbosity=2)
