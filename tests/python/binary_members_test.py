#!/usr/bin/python3
"""Actions with `binary` members go upstream as multipart/form-data.

cii UploadMedicalFile's File is `binary` in its api.json; its documented
example sends the file as a form part, and the official SDKs send the action
as multipart/form-data (docs/protogen.md, "Types"). Through the real
gateway, signed, to the emulator checking the signature: the request is a
form whose File part holds the gRPC request's bytes as they are, while an
action without binary members stays JSON.

    /usr/bin/python3 tests/python/binary_members_test.py \\
        --gateway build/gateway/main/envelope-gateway
"""

import base64
import os
import subprocess
import sys
import tempfile
import unittest

import harness
from harness import REPO

SECRET_ID = "AKIDTESTBINARYMEMBERS000000000000000"
SECRET_KEY = "binary-members-secret-key-00000000"
PRODUCT, VERSION_DIR = "cii", "v20210408"
SERVICE = "/tencentcloud.cii.v20210408.Cii/"
RPC_TIMEOUT = 10.0
# Every byte value, CR LF and a would-be boundary among them.
FILE_BYTES = bytes(range(256)) + b"\r\n--boundary\r\n%PDF-1.7\x00\xff"

GATEWAY_BIN = os.environ.get("GATEWAY_BIN", "")


class BinaryMembersTest(harness.GatewayFixture, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="binary-members-test-")
        try:
            proto_root = os.path.join(cls.tmp, "proto")
            subprocess.run(["/usr/bin/python3",
                            os.path.join(REPO, "tools", "protogen", "gen_all.py"),
                            "--emit", "%s/%s" % (PRODUCT, VERSION_DIR),
                            "--out", proto_root], check=True,
                           stdout=subprocess.DEVNULL)
            rel = "tencentcloud/%s/%s/%s.proto" % (PRODUCT, VERSION_DIR, PRODUCT)
            harness.protoc_python([proto_root, os.path.join(REPO, "proto")],
                                  [rel], out=cls.tmp)
            cls.pb2 = harness.import_generated(
                cls.tmp, rel.replace(".proto", "_pb2").replace("/", "."))
            cls.emulator = harness.Emulator.start(
                "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY)
            cls.gateway, address = harness.start_gateway(
                GATEWAY_BIN, cls.emulator.url, "--max-attempts=1",
                secret_id=SECRET_ID, secret_key=SECRET_KEY)
            cls.channel = harness.open_channel(address)
        except BaseException:
            cls._cleanup()
            raise

    def call(self, action, request, response_fields):
        self.emulator.clear_requests()
        self.emulator.rule({"action": action, "service": PRODUCT, "times": 1,
                            "response": response_fields})
        stub = self.channel.unary_unary(
            SERVICE + action,
            request_serializer=type(request).SerializeToString,
            response_deserializer=getattr(self.pb2, action + "Response").FromString)
        response = stub(request, timeout=RPC_TIMEOUT)
        (recorded,) = self.emulator.requests()
        return response, recorded

    def test_a_binary_member_is_a_file_part_of_a_signed_form(self):
        request = self.pb2.UploadMedicalFileRequest(
            file=FILE_BYTES, file_url="https://example.com/report.pdf")
        response, recorded = self.call("UploadMedicalFile", request,
                                       {"FileKey": "upload/k1.pdf"})
        self.assertEqual(response.file_key, "upload/k1.pdf")
        self.assertTrue(recorded["signature_ok"])
        content_type = recorded["headers"]["content-type"]
        self.assertRegex(content_type, r"^multipart/form-data; boundary=[0-9a-f]{32}$")
        form = recorded["form"]
        self.assertIsInstance(form, list, form)
        self.assertEqual([p["name"] for p in form], ["File", "FileURL"])
        self.assertEqual(form[0]["filename"], "File")
        self.assertEqual(base64.b64decode(form[0]["base64"]), FILE_BYTES)
        self.assertIsNone(form[1]["filename"])
        self.assertEqual(base64.b64decode(form[1]["base64"]),
                         b"https://example.com/report.pdf")

    def test_each_call_has_its_own_boundary(self):
        request = self.pb2.UploadMedicalFileRequest(file=b"a")
        _, first = self.call("UploadMedicalFile", request, {"FileKey": "k"})
        _, second = self.call("UploadMedicalFile", request, {"FileKey": "k"})
        self.assertNotEqual(first["headers"]["content-type"],
                            second["headers"]["content-type"])
        self.assertEqual([p["name"] for p in second["form"]], ["File"])

    def test_no_member_set_is_an_empty_form(self):
        # What the SDK sends: no parts, an empty body, still signed.
        _, recorded = self.call("UploadMedicalFile",
                                self.pb2.UploadMedicalFileRequest(), {"FileKey": "k"})
        self.assertTrue(recorded["signature_ok"])
        self.assertEqual(recorded["body"], "")
        self.assertEqual(recorded["form"], [])

    def test_an_action_without_binary_members_stays_json(self):
        request = self.pb2.DescribeStructureTaskResultRequest(main_task_id="t-1")
        _, recorded = self.call("DescribeStructureTaskResult", request, {})
        self.assertTrue(recorded["signature_ok"])
        self.assertTrue(recorded["headers"]["content-type"].startswith(
            "application/json"))
        self.assertEqual(recorded["body"], '{"MainTaskId":"t-1"}')
        self.assertIsNone(recorded["form"])


if __name__ == "__main__":
    GATEWAY_BIN = harness.take_gateway_flag()
    if not GATEWAY_BIN:
        sys.exit("usage: binary_members_test.py --gateway PATH")
    unittest.main()
