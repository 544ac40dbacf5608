#!/usr/bin/python3
"""What bundling every product version costs (issue 14; docs/performance.md).

Starts the real gateway (and the bundled emulator serving every product's
first example) and reports, per gateway binary given:

- ready: from exec to the "listening" line, and to the first answered call
  (a JsonApi call, which builds no product), median of --runs starts;
- idle RSS: VmRSS (with RssAnon and RssFile) two seconds after ready;
- first call: for --products product versions not yet used, the time of the
  first call minus the median of the next three calls of the same method
  (the build of the product's descriptors), median and maximum;
- RSS after those calls; the binary's size.

Nothing is asserted: it prints numbers.

    /usr/bin/python3 bench/products/products_bench.py \\
        --gateway build/gateway/main/envelope-gateway \\
        [--gateway build-six/gateway/main/envelope-gateway] [--runs 5]
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "python"))
import grpc  # noqa: E402
import harness  # noqa: E402

TARBALL = os.path.join(REPO, "third_party", "tencentcloud-specs", "tccli-specs.tar.xz")
SIX = {"cam", "cvm", "kms", "sts", "tag", "vpc"}


def rss(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) / 1024.0  # MiB
    return out


def identity(b):
    return b


def call(channel, path, body=b"", timeout=20):
    """One unary call with raw bytes; returns seconds."""
    stub = channel.unary_unary(path, request_serializer=identity,
                               response_deserializer=identity)
    start = time.perf_counter()
    stub(body, timeout=timeout)
    return time.perf_counter() - start


def json_api_request():
    # envelope.gateway.v1.CallRequest {service: "cvm", version: "2017-03-12",
    # action: "DescribeZones"}: fields 1, 2, 3 as length-delimited strings.
    def field(number, text):
        data = text.encode()
        return bytes([(number << 3) | 2, len(data)]) + data
    return field(1, "cvm") + field(2, "2017-03-12") + field(3, "DescribeZones")


def start(binary, endpoint):
    """(process, address, seconds to the listening line)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [binary, "--listen=127.0.0.1:0", "--endpoint=" + endpoint, "--signing=none"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=harness.scrubbed_env())
    line = proc.stdout.readline()
    listening = time.perf_counter() - t0
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError("gateway did not start: %r" % line)
    address = line.split("listening on ", 1)[1].strip()
    return proc, address, listening, t0


def products_of(specs_dir, count, seed):
    """[(service, version, action)] of `count` product versions not among
    the six, each with its first documented action, chosen at random."""
    out = []
    for service in sorted(os.listdir(specs_dir)):
        if service in SIX:
            continue
        for version in sorted(os.listdir(os.path.join(specs_dir, service))):
            lock = os.path.join(REPO, "proto", "tencentcloud", service, version,
                                service + ".lock.json")
            ex = os.path.join(specs_dir, service, version, "examples.json")
            if not os.path.exists(lock) or not os.path.exists(ex):
                continue
            with open(ex) as f:
                actions = sorted(json.load(f).get("actions") or {})
            if actions:
                out.append((service, version, actions[0]))
    random.Random(seed).shuffle(out)
    return out[:count]


def path_of(service, version, action):
    camel = "".join(p[:1].upper() + p[1:] for p in service.split("_") if p)
    return "/tencentcloud.%s.%s.%s/%s" % (service, version, camel, action)


def measure(binary, endpoint, runs, products):
    listening, ready, idle = [], [], []
    for _ in range(runs):
        proc, address, to_line, t0 = start(binary, endpoint)
        channel = grpc.insecure_channel(address)
        call(channel, "/envelope.gateway.v1.JsonApi/Call", json_api_request())
        ready.append(time.perf_counter() - t0)
        listening.append(to_line)
        time.sleep(2.0)
        idle.append(rss(proc.pid))
        channel.close()
        harness.stop_process(proc)
    proc, address, _, _ = start(binary, endpoint)
    channel = grpc.insecure_channel(address)
    call(channel, "/envelope.gateway.v1.JsonApi/Call", json_api_request())
    extras, routed = [], 0
    for service, version, action in products:
        path = path_of(service, version, action)
        try:
            first = call(channel, path)
            warm = statistics.median(call(channel, path) for _ in range(3))
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                continue  # not bundled in this binary
            raise
        routed += 1
        extras.append((first - warm) * 1000.0)
    after = rss(proc.pid)
    channel.close()
    harness.stop_process(proc)
    return {
        "binary": binary,
        "binary_mb": os.path.getsize(binary) / 1e6,
        "listening_ms": statistics.median(listening) * 1000.0,
        "ready_ms": statistics.median(ready) * 1000.0,
        "ready_max_ms": max(ready) * 1000.0,
        "idle_rss_mib": statistics.median(r["VmRSS"] for r in idle),
        "idle_anon_mib": statistics.median(r["RssAnon"] for r in idle),
        "idle_file_mib": statistics.median(r["RssFile"] for r in idle),
        "products_called": routed,
        "first_call_extra_ms_median": statistics.median(extras) if extras else None,
        "first_call_extra_ms_max": max(extras) if extras else None,
        "rss_after_calls_mib": after["VmRSS"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gateway", action="append", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--products", type=int, default=20)
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="products-bench-")
    emulator = None
    try:
        specs = os.path.join(tmp, "specs")
        with tarfile.open(TARBALL, "r:xz") as tar:
            tar.extractall(specs)
        emulator = harness.Emulator.start("--no-auth", "--specs", specs, timeout=None)
        products = products_of(specs, args.products, args.seed)
        print("products called: %s" % " ".join("%s/%s" % p[:2] for p in products))
        for binary in args.gateway:
            result = measure(binary, emulator.url, args.runs, products)
            print(json.dumps(result, indent=1))
    finally:
        if emulator is not None:
            emulator.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
