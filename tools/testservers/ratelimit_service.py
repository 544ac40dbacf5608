#!/usr/bin/python3
"""A stand-in for envoyproxy/ratelimit: Envoy's rate limit service, its
counters in a real Redis.

Serves envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit over
plaintext gRPC (the vendored protocol of third_party/envoy-data-plane-api,
compiled with Debian's protoc at start; the service is registered by hand,
since Debian 12 has no grpc_tools for Python 3.11's grpcio). What it does is
envoyproxy/ratelimit's fixed-window cache (src/redis/fixed_cache_impl.go):

- the limit of a descriptor is found by walking its entries down the
  configured tree: an entry matches a node "key_value", else a node "key"
  (any value); the node reached by the last entry gives the limit, if it
  has one; no limit: that descriptor is OK and counts nothing;
- the counter's key is DOMAIN_KEY1_VALUE1_KEY2_VALUE2_..._WINDOWSTART, the
  window start being now rounded down to the unit (second, minute, hour,
  day); each question does INCRBY key hits_addend and EXPIRE key unit;
- over the limit when the count after the increment exceeds it;
  limit_remaining is what is left; duration_until_reset the whole seconds
  to the window's end; the overall code is OVER_LIMIT if any descriptor is.

The configuration is envoyproxy/ratelimit's YAML (one file per domain):

    domain: envelope-gateway
    descriptors:
      - key: account
        descriptors:
          - key: service
            descriptors:
              - key: action
                rate_limit: {unit: second, requests_per_unit: 20}
              - key: action
                value: RunInstances
                rate_limit: {unit: second, requests_per_unit: 5}

Usage:

    /usr/bin/python3 tools/testservers/ratelimit_service.py \\
        --config limits.yaml --redis 127.0.0.1:6379 [--listen 127.0.0.1:0] \\
        [--clock-file PATH]

--clock-file: "now" (unix seconds) is read from this file at each question
instead of the system clock, so that a test decides when a window ends.

Prints "ratelimit service listening on 127.0.0.1:PORT" once it serves; logs
one line per question on stderr with --verbose.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures

import grpc
import redis
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RLS_DIR = os.path.join(REPO, "third_party", "envoy-data-plane-api")
RLS_FILES = [
    "envoy/type/v3/ratelimit_unit.proto",
    "envoy/config/core/v3/base.proto",
    "envoy/extensions/common/ratelimit/v3/ratelimit.proto",
    "envoy/service/ratelimit/v3/rls.proto",
]
SERVICE = "envoy.service.ratelimit.v3.RateLimitService"
UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def load_rls(out):
    """rls_pb2 compiled from the vendored protos into `out`."""
    protoc = shutil.which("protoc") or "/usr/bin/protoc"
    cmd = [protoc, "-I", RLS_DIR, "-I", "/usr/include",
           "--python_out=" + out] + RLS_FILES
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    sys.path.insert(0, out)
    from envoy.service.ratelimit.v3 import rls_pb2  # noqa: E402
    return rls_pb2


class Node:
    """One configured descriptor: its limit (or None) and its children by
    "key_value" or "key"."""

    def __init__(self, limit=None):
        self.limit = limit  # (requests_per_unit, unit name) or None
        self.children = {}


def parse_descriptors(items, where):
    children = {}
    for item in items or []:
        if not isinstance(item, dict) or not item.get("key"):
            raise ValueError("%s: a descriptor needs a key" % where)
        name = item["key"] + ("_" + str(item["value"]) if "value" in item else "")
        limit = None
        if "rate_limit" in item:
            rl = item["rate_limit"]
            unit = str(rl.get("unit", "")).lower()
            if unit not in UNIT_SECONDS:
                raise ValueError("%s/%s: unit must be one of %s"
                                 % (where, name, sorted(UNIT_SECONDS)))
            limit = (int(rl["requests_per_unit"]), unit)
        node = Node(limit)
        node.children = parse_descriptors(item.get("descriptors"),
                                          where + "/" + name)
        children[name] = node
    return children


def load_config(paths):
    """{domain: {name: Node}} of the YAML files."""
    domains = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        domain = doc.get("domain")
        if not domain:
            raise ValueError("%s: no domain" % path)
        domains[domain] = parse_descriptors(doc.get("descriptors"), domain)
    return domains


def find_limit(tree, entries):
    """The limit of the node the entries lead to, as envoyproxy/ratelimit's
    GetLimit walks it; None when there is none."""
    level = tree
    limit = None
    for i, entry in enumerate(entries):
        node = level.get(entry.key + "_" + entry.value) or level.get(entry.key)
        if node is not None and node.limit is not None and i == len(entries) - 1:
            limit = node.limit
        if node is not None and node.children:
            level = node.children
        else:
            break
    return limit


class RateLimitService:
    def __init__(self, rls_pb2, domains, store, clock_file=None, verbose=False):
        self.pb = rls_pb2
        self.domains = domains
        self.store = store
        self.clock_file = clock_file
        self.verbose = verbose

    def now(self):
        if self.clock_file:
            with open(self.clock_file, encoding="utf-8") as f:
                return int(f.read().strip())
        return int(time.time())

    def should_rate_limit(self, request, context):
        pb = self.pb
        Response = pb.RateLimitResponse
        if not request.domain or request.domain not in self.domains:
            # envoyproxy/ratelimit: an unknown domain has no limits.
            tree = {}
        else:
            tree = self.domains[request.domain]
        if not request.descriptors:
            context.abort(grpc.StatusCode.UNKNOWN,
                          "rate limit descriptor list must not be empty")
        hits = request.hits_addend or 1
        now = self.now()
        response = Response(overall_code=Response.OK)
        pipe = self.store.pipeline(transaction=False)
        pending = []  # (status, limit, key, divider)
        for descriptor in request.descriptors:
            status = response.statuses.add(code=Response.OK)
            limit = find_limit(tree, descriptor.entries)
            if limit is None:
                continue
            per_unit, unit = limit
            divider = UNIT_SECONDS[unit]
            key = request.domain + "_" + "".join(
                "%s_%s_" % (e.key, e.value) for e in descriptor.entries) + \
                str(now // divider * divider)
            # The per-descriptor hits_addend, when given, wins.
            add = descriptor.hits_addend.value \
                if descriptor.HasField("hits_addend") else hits
            pipe.incrby(key, add)
            pipe.expire(key, divider)
            pending.append((status, per_unit, unit, key, divider))
        results = pipe.execute() if pending else []
        for i, (status, per_unit, unit, key, divider) in enumerate(pending):
            after = int(results[2 * i])
            status.current_limit.requests_per_unit = per_unit
            status.current_limit.unit = getattr(
                Response.RateLimit.Unit, unit.upper())
            status.limit_remaining = max(0, per_unit - after)
            status.duration_until_reset.seconds = divider - now % divider
            if after > per_unit:
                status.code = Response.OVER_LIMIT
                response.overall_code = Response.OVER_LIMIT
            if self.verbose:
                print("ratelimit: %s -> %d/%d %s" % (
                    key, after, per_unit, Response.Code.Name(status.code)),
                    file=sys.stderr, flush=True)
        return response


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", action="append", required=True,
                        help="envoyproxy/ratelimit YAML (repeatable)")
    parser.add_argument("--redis", required=True, help="HOST:PORT of Redis")
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--clock-file")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    domains = load_config(args.config)
    host, port = args.redis.rsplit(":", 1)
    store = redis.Redis(host=host, port=int(port), socket_timeout=5)
    store.ping()
    tmp = tempfile.mkdtemp(prefix="ratelimit-service-")
    try:
        rls_pb2 = load_rls(tmp)
        service = RateLimitService(rls_pb2, domains, store, args.clock_file,
                                   args.verbose)
        handler = grpc.method_handlers_generic_handler(SERVICE, {
            "ShouldRateLimit": grpc.unary_unary_rpc_method_handler(
                service.should_rate_limit,
                request_deserializer=rls_pb2.RateLimitRequest.FromString,
                response_serializer=rls_pb2.RateLimitResponse.SerializeToString),
        })
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        server.add_generic_rpc_handlers((handler,))
        bound = server.add_insecure_port(args.listen)
        if not bound:
            raise SystemExit("cannot listen on %s" % args.listen)
        server.start()
        print("ratelimit service listening on %s:%d"
              % (args.listen.rsplit(":", 1)[0], bound), flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()
        server.stop(grace=1).wait()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
