#!/usr/bin/python3
"""The Python recipe of docs/errors.md ("Reading them"), run as written:

- every package its `apt-get install` line names is a Debian package that
  is installed here (no pip anywhere);
- its protoc commands, from a folder whose `proto` is the repository's;
- its program, against a real gateway and the emulator, with only the
  address changed: it prints the typed answer and the RequestId on success,
  and the code, `ErrorInfo.reason` and `Error.Code` decoded from the
  `grpc-status-details-bin` trailer on an API error.

    /usr/bin/python3 tests/python/errors_doc_test.py \\
        --gateway build/gateway/main/envelope-gateway
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import harness
from harness import REPO

GATEWAY_BIN = ""
ERRORS_DOC = os.path.join(REPO, "docs", "errors.md")
SECRET_ID = "AKIDERRORSDOCTEST00000000000000000000"
SECRET_KEY = "errors-doc-test-secret-key-000000000"
DOC_ADDRESS = "127.0.0.1:50051"


def recipe():
    """The ```sh and ```python blocks of the Python section."""
    with open(ERRORS_DOC, encoding="utf-8") as f:
        doc = f.read()
    section = re.search(r"^### Python.*?(?=^### )", doc, re.M | re.S)
    assert section, "no '### Python' section in docs/errors.md"
    blocks = dict(re.findall(r"^```(sh|python)\n(.*?)^```", section.group(0),
                             re.M | re.S))
    assert set(blocks) == {"sh", "python"}, blocks.keys()
    return blocks["sh"], blocks["python"]


class ErrorsDocRecipeTest(harness.GatewayFixture, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.sh, cls.program = recipe()
        cls.tmp = tempfile.mkdtemp(prefix="errors-doc-test-")
        try:
            os.symlink(os.path.join(REPO, "proto"),
                       os.path.join(cls.tmp, "proto"))
            cls.emulator = harness.Emulator.start(
                "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY)
            cls.gateway, cls.address = harness.start_gateway(
                GATEWAY_BIN, cls.emulator.url, "--region=ap-guangzhou",
                "--access-log=false", secret_id=SECRET_ID,
                secret_key=SECRET_KEY)
        except BaseException:
            cls._cleanup()
            raise

    def setUp(self):
        self.emulator.clear_rules()

    def test_1_packages_are_debian_packages_and_installed(self):
        installs = [l for l in self.sh.splitlines() if "apt-get install" in l]
        self.assertEqual(len(installs), 1, self.sh)
        packages = installs[0].split("apt-get install", 1)[1].split()
        self.assertIn("python3-grpcio", packages)
        for package in packages:
            r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                               capture_output=True, text=True)
            self.assertEqual(r.stdout, "install ok installed",
                             (package, r.stderr))
        self.assertNotRegex(self.sh + self.program, r"\bpip3?\b")

    def test_2_commands_generate_the_modules(self):
        commands = "\n".join(l for l in self.sh.splitlines()
                             if "apt-get" not in l)
        r = subprocess.run(["/bin/bash", "-euc", commands], cwd=self.tmp,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        for module in ("google/rpc/status_pb2.py",
                       "google/rpc/error_details_pb2.py",
                       "tencentcloud/cvm/v20170312/cvm_pb2.py"):
            self.assertTrue(os.path.isfile(os.path.join(self.tmp, "gen",
                                                        module)), module)

    def run_program(self):
        if not os.path.isdir(os.path.join(self.tmp, "gen")):
            self.test_2_commands_generate_the_modules()
        self.assertIn(DOC_ADDRESS, self.program)
        program = self.program.replace(DOC_ADDRESS, self.address)
        r = subprocess.run([harness.PYTHON, "-c", program], cwd=self.tmp,
                           capture_output=True, text=True, timeout=60,
                           env=harness.scrubbed_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        return r.stdout

    def test_3_success_prints_the_answer_and_request_id(self):
        self.emulator.rule({"action": "DescribeInstances", "times": 1,
                            "response": {"TotalCount": 7, "InstanceSet": [],
                                         "RequestId": "rid-doc-ok"}})
        self.assertEqual(self.run_program(), "OK 7 rid-doc-ok\n")

    def test_4_api_error_is_decoded_from_the_trailer(self):
        self.emulator.rule({"action": "DescribeInstances", "times": 1,
                            "error": {"Code": "ResourceNotFound.InstanceNotExist",
                                      "Message": "no such instance"},
                            "request_id": "rid-doc-error"})
        self.assertEqual(
            self.run_program(),
            "NOT_FOUND RESOURCE_NOT_FOUND_INSTANCE_NOT_EXIST "
            "ResourceNotFound.InstanceNotExist\nrequest id: rid-doc-error\n")


if __name__ == "__main__":
    GATEWAY_BIN = harness.take_gateway_flag()
    if not GATEWAY_BIN:
        sys.exit("usage: %s --gateway PATH/TO/envelope-gateway [unittest args]"
                 % sys.argv[0])
    unittest.main(verbosity=2)
