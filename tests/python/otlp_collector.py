#!/usr/bin/python3
"""A stand-in for an OpenTelemetry collector's OTLP/HTTP trace receiver.

Accepts POST /v1/traces with Content-Type application/x-protobuf, decodes
the body as opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest
(the official definitions vendored in third_party/opentelemetry-proto,
compiled with Debian's protoc at start) and records every span with its
resource attributes. Anything that does not decode is answered 400 and
counted. For tests:

    GET  /spans          the spans received, oldest first, as JSON
                         (ids in lowercase hex, attributes as a dict)
    GET  /stats          {"requests": N, "bad_requests": N}
    POST /hold           requests to /v1/traces wait until /release
    POST /release

    /usr/bin/python3 tests/python/otlp_collector.py [--port N]

Prints "otlp collector listening on 127.0.0.1:PORT" once it serves.
"""

import argparse
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

OTLP_DIR = os.path.join(harness.REPO, "third_party", "opentelemetry-proto")
OTLP_FILES = [
    "opentelemetry/proto/common/v1/common.proto",
    "opentelemetry/proto/resource/v1/resource.proto",
    "opentelemetry/proto/trace/v1/trace.proto",
    "opentelemetry/proto/collector/trace/v1/trace_service.proto",
]


def load_modules(out):
    """(trace_service_pb2, trace_pb2) compiled from the vendored protos."""
    harness.protoc_python([OTLP_DIR], OTLP_FILES, out=out)
    service = harness.import_generated(
        out, "opentelemetry.proto.collector.trace.v1.trace_service_pb2")
    trace = harness.import_generated(out, "opentelemetry.proto.trace.v1.trace_pb2")
    return service, trace


def any_value(value):
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def span_record(resource, scope, span, trace_pb2):
    return {
        "resource": {kv.key: any_value(kv.value) for kv in resource.attributes},
        "scope": scope.name,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": span.parent_span_id.hex(),
        "trace_state": span.trace_state,
        "flags": span.flags,
        "name": span.name,
        "kind": trace_pb2.Span.SpanKind.Name(span.kind),
        "start": span.start_time_unix_nano,
        "end": span.end_time_unix_nano,
        "attributes": {kv.key: any_value(kv.value) for kv in span.attributes},
        "status": trace_pb2.Status.StatusCode.Name(span.status.code),
        "status_message": span.status.message,
    }


class Collector:
    def __init__(self, service_pb2, trace_pb2):
        self.service_pb2 = service_pb2
        self.trace_pb2 = trace_pb2
        self.lock = threading.Lock()
        self.spans = []
        self.requests = 0
        self.bad_requests = 0
        self.released = threading.Event()
        self.released.set()

    def handler(self):
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def json(self, value):
                self.reply(200, json.dumps(value).encode(), "application/json")

            def do_GET(self):
                if self.path == "/spans":
                    with collector.lock:
                        self.json(list(collector.spans))
                elif self.path == "/stats":
                    with collector.lock:
                        self.json({"requests": collector.requests,
                                   "bad_requests": collector.bad_requests})
                else:
                    self.reply(404, b"", "text/plain")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/hold":
                    collector.released.clear()
                    return self.json({})
                if self.path == "/release":
                    collector.released.set()
                    return self.json({})
                if self.path != "/v1/traces":
                    return self.reply(404, b"", "text/plain")
                collector.released.wait()
                request = collector.service_pb2.ExportTraceServiceRequest()
                ok = self.headers.get("Content-Type") == "application/x-protobuf"
                try:
                    request.ParseFromString(body)
                except Exception:  # a DecodeError: not the message
                    ok = False
                with collector.lock:
                    collector.requests += 1
                    if not ok:
                        collector.bad_requests += 1
                    else:
                        for rs in request.resource_spans:
                            for ss in rs.scope_spans:
                                for span in ss.spans:
                                    collector.spans.append(span_record(
                                        rs.resource, ss.scope, span,
                                        collector.trace_pb2))
                if not ok:
                    return self.reply(400, b"", "text/plain")
                answer = collector.service_pb2.ExportTraceServiceResponse()
                self.reply(200, answer.SerializeToString(),
                           "application/x-protobuf")

        return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    gen = tempfile.mkdtemp(prefix="otlp-collector-")
    try:
        service_pb2, trace_pb2 = load_modules(gen)
        collector = Collector(service_pb2, trace_pb2)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port),
                                                 collector.handler())
        server.daemon_threads = True
        print("otlp collector listening on 127.0.0.1:%d"
              % server.server_address[1], flush=True)
        server.serve_forever()
    finally:
        shutil.rmtree(gen, ignore_errors=True)


if __name__ == "__main__":
    main()
