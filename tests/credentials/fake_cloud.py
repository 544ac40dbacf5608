#!/usr/bin/python3
"""A fake Tencent Cloud instance metadata service and STS, for the
credential chain's tests (tests/credentials). Python stdlib only.

Serves, on 127.0.0.1 and a free port (printed on the first stdout line as
`fake-cloud listening on http://127.0.0.1:PORT`):

  GET  /latest/meta-data/cam/security-credentials/        the role name
  GET  /latest/meta-data/cam/security-credentials/<role>  its credentials
  POST /  (any path but /control)  STS AssumeRoleWithWebIdentity
  GET  /control   {"generation": n, "requests": [...]} (every request seen)
  POST /control   changes behaviour; JSON members, all optional:
      role            the role name ("" -> no role bound: 404)
      ttl             seconds until credentials issued from now on expire
      fail            null | "http500" | "error" (an error answer) | "garbage"
      expected_token  STS accepts only this WebIdentityToken, or any of a
                      list of them (null: any)
      delay           seconds to wait before answering metadata/STS
      reset           true: back to the defaults and forget the requests

Every issue of credentials is a new generation n: TmpSecretId AKIDtmp<n>,
TmpSecretKey tmpkey<n>, Token token<n>.
"""

import datetime
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

META_PREFIX = "/latest/meta-data/cam/security-credentials/"
DEFAULTS = {
    "role": "EnvelopeTestRole",
    "ttl": 3600,
    "fail": None,
    "expected_token": None,
    "delay": 0,
}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.settings = dict(DEFAULTS)
        self.generation = 0
        self.requests = []

    def issue(self):
        """Caller holds the lock."""
        self.generation += 1
        n = self.generation
        expires = time.time() + float(self.settings["ttl"])
        iso = datetime.datetime.fromtimestamp(
            expires, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "TmpSecretId": "AKIDtmp%d" % n,
            "TmpSecretKey": "tmpkey%d" % n,
            "Token": "token%d" % n,
            "ExpiredTime": int(expires),
            "Expiration": iso,
        }


STATE = State()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test reads stderr
        pass

    def reply(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode() if length else ""

    def record(self, body):
        with STATE.lock:
            STATE.requests.append({
                "method": self.command,
                "path": self.path,
                "headers": {k: v for k, v in self.headers.items()},
                "body": body,
            })
            return dict(STATE.settings)

    def do_GET(self):
        if self.path == "/control":
            with STATE.lock:
                answer = {"generation": STATE.generation,
                          "requests": STATE.requests}
            return self.reply(200, json.dumps(answer))
        settings = self.record("")
        time.sleep(float(settings["delay"]))
        if not self.path.startswith(META_PREFIX):
            return self.reply(404, "not found", "text/plain")
        if settings["fail"] == "http500":
            return self.reply(500, "internal error", "text/plain")
        role = self.path[len(META_PREFIX):]
        if not settings["role"]:
            return self.reply(404, "no role", "text/plain")
        if role == "":
            return self.reply(200, settings["role"] + "\n", "text/plain")
        if role != settings["role"]:
            return self.reply(404, "no such role", "text/plain")
        if settings["fail"] == "garbage":
            return self.reply(200, "<html>", "text/html")
        if settings["fail"] == "error":
            return self.reply(200, json.dumps({"Code": "Failure"}))
        with STATE.lock:
            answer = STATE.issue()
        answer["Code"] = "Success"
        return self.reply(200, json.dumps(answer))

    def do_POST(self):
        body = self.body()
        if self.path == "/control":
            change = json.loads(body or "{}")
            with STATE.lock:
                if change.pop("reset", False):
                    STATE.reset()
                STATE.settings.update(change)
            return self.reply(200, "{}")
        settings = self.record(body)
        time.sleep(float(settings["delay"]))
        self.sts(settings, body)

    def sts_error(self, code, message):
        self.reply(200, json.dumps({"Response": {
            "Error": {"Code": code, "Message": message},
            "RequestId": "fake-request-id"}}))

    def sts(self, settings, body):
        if settings["fail"] == "http500":
            return self.reply(500, "internal error", "text/plain")
        if settings["fail"] == "garbage":
            return self.reply(200, "<html>", "text/html")
        if settings["fail"] == "error":
            return self.sts_error("InternalError", "fake STS failure")
        h = self.headers
        if (h.get("X-TC-Action") != "AssumeRoleWithWebIdentity"
                or h.get("X-TC-Version") != "2018-08-13"
                or h.get("Authorization") != "SKIP"
                or not h.get("X-TC-Region") or not h.get("X-TC-Timestamp")):
            return self.sts_error("InvalidAction", "unexpected headers")
        try:
            params = json.loads(body)
        except ValueError:
            return self.sts_error("InvalidParameter", "body is not JSON")
        for name in ("ProviderId", "WebIdentityToken", "RoleArn",
                     "RoleSessionName"):
            if not isinstance(params.get(name), str) or not params[name]:
                return self.sts_error("MissingParameter", name)
        token = params["WebIdentityToken"]
        expected = settings["expected_token"]
        if isinstance(expected, str):
            expected = [expected]
        if expected is not None and token not in expected:
            # Echoes the token, as a careless API might: the gateway must
            # keep it out of its messages.
            return self.sts_error("InvalidParameter.WebIdentityTokenError",
                                  "token %s is not valid" % token)
        with STATE.lock:
            issued = STATE.issue()
        self.reply(200, json.dumps({"Response": {
            "Credentials": {k: issued[k] for k in
                            ("Token", "TmpSecretId", "TmpSecretKey")},
            "ExpiredTime": issued["ExpiredTime"],
            "Expiration": issued["Expiration"],
            "RequestId": "fake-request-id"}}))


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("fake-cloud listening on http://127.0.0.1:%d" % server.server_port,
          flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
