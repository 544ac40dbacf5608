#!/usr/bin/python3
"""End-to-end CPU per call: the gateway against a bare gRPC server (A) plus a
bare libcurl client (B), and against the two joined (C). Started by
bench/e2e/run.sh, which installs and builds what it needs; bench/README.md
("End to end") says what is measured.

Everything runs on loopback, under a temporary work folder:

- nginx (Debian's, its own config, pid file and temp folders) answers every
  POST / with a fixed DescribeInstancesStatus envelope: ~1 KB by default,
  ~100 KB when the request's X-TC-Region is ap-shanghai;
- the gateway, TC3-signing with static env credentials, sends to nginx;
- A (e2e_bare_server) answers the very bytes the gateway answered for each
  envelope (one instance per envelope size);
- B (e2e_curl_client) POSTs the body and headers the gateway sends to nginx;
- C (e2e_glue_server) is A's server that, per call, POSTs B's request to
  nginx from a libcurl I/O thread and answers A's bytes when the HTTP answer
  is in: the floor of the gateway's architecture, with none of its work;
- h2load drives gRPC load at the gateway, at A and at C.

CPU per call = utime+stime of the process (/proc/PID/stat) over a run,
divided by the run's calls. Every gateway call of a run must end OK (its
/metrics counter by grpc_code), and every call of C (its own count, printed
when it stops), or the benchmark stops.
"""

import argparse
import ctypes
import datetime
import grp
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

METHOD = "/tencentcloud.cvm.v20170312.Cvm/DescribeInstancesStatus"
# DescribeInstancesStatusRequest {limit: 100}: the gateway sends {"Limit":100}.
REQUEST = b"\x18\x64"
SECRET_ID = "AKIDBENCH000000000000000000000000"
SECRET_KEY = "bench-secret-key-00000000000000"
# Envelope sizes: the X-TC-Region that picks each in nginx, its target size.
SIZES = {
    "1 KB": {"region": "ap-guangzhou", "bytes": 1000, "file": "small.json"},
    "100 KB": {"region": "ap-shanghai", "bytes": 100000, "file": "large.json"},
}
# (case, envelope size, concurrent streams, calls per run at scale 1)
CASES = [
    ("1 KB x 32 streams", "1 KB", 32, 20000),
    ("100 KB x 32 streams", "100 KB", 32, 10000),
    ("1 KB x 1 stream", "1 KB", 1, 10000),
]
TARGET_RATIO = {"1 KB": 1.3, "100 KB": 2.0}
TARGET_ADDED_P50_US = 100
TARGET_RSS_IDLE_MB = 25
TARGET_RSS_HELD_MB = 60
HELD_CALLS = 1000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


def log(text):
    print("e2e: " + text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes

def _die_with_parent():
    """In a child, before exec: SIGTERM when the driver dies, however."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Processes:
    """Every process the driver starts; stop_all() ends them, newest first."""

    def __init__(self, work):
        self.work = work
        self.procs = []

    def start(self, name, argv, env=None):
        out = open(os.path.join(self.work, name + ".out"), "wb")
        err = open(os.path.join(self.work, name + ".err"), "wb")
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                env=env, preexec_fn=_die_with_parent)
        out.close()
        err.close()
        proc.name = name
        self.procs.append(proc)
        return proc

    def output(self, name, stream="out"):
        with open(os.path.join(self.work, "%s.%s" % (name, stream)), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_for(self, proc, pattern, stream="out", timeout=30):
        """The first match of PATTERN in the process's stdout (or stderr)."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.output(proc.name, stream))
            if match:
                return match
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError("%s did not start (%s):\n%s" % (
                    proc.name, "exit %s" % proc.returncode if proc.returncode is not None
                    else "timeout", self.output(proc.name, "err")[-3000:]))
            time.sleep(0.02)

    def stop(self, proc):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self):
        for proc in reversed(self.procs):
            self.stop(proc)


def wait_port(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError("nothing listens on port %d" % port)
            time.sleep(0.02)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    """utime + stime of the whole process (all its threads), clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise BenchError("no VmRSS for %d" % pid)


# ------------------------------------------------------------ the upstreams

def envelope(target_bytes):
    """A DescribeInstancesStatus success envelope of about TARGET_BYTES."""
    def instance(i):
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"
        n, text = ((i + 1) * 2654435761) % (36 ** 8), ""
        for _ in range(8):
            n, d = divmod(n, 36)
            text += digits[d]
        return '{"InstanceId":"ins-%s","InstanceState":"RUNNING"}' % text

    def text(count):
        return ('{"Response":{"TotalCount":%d,"InstanceStatusSet":[%s],'
                '"RequestId":"6d2f3a1e-8b4c-4f7a-9e21-0c5d7b3a9f10"}}' % (
                    count, ",".join(instance(i) for i in range(count))))
    count = 1
    while len(text(count + 1)) <= target_bytes:
        count += 1
    return text(count), count


NGINX_CONF = """\
worker_processes 1;
daemon off;
user {user} {group};
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {work}/tmp/body;
  proxy_temp_path {work}/tmp/proxy;
  fastcgi_temp_path {work}/tmp/fastcgi;
  uwsgi_temp_path {work}/tmp/uwsgi;
  scgi_temp_path {work}/tmp/scgi;
  types {{ application/json json; }}
  keepalive_requests 1000000;
  keepalive_timeout 600s;
  map $http_x_tc_region $envelope {{
    default /envelopes/{small};
    {large_region} /envelopes/{large};
  }}
  server {{
    listen 127.0.0.1:{port};
    root {work}/www;
    # Static files answer GET only: the POST's 405 becomes a 200 with the
    # envelope (error_page redirects internally, as a GET).
    location = / {{
      error_page 405 =200 $envelope;
      return 405;
    }}
    location /envelopes/ {{ internal; }}
  }}
}}
"""


def start_nginx(procs, work, nginx):
    port = free_port()
    root = os.path.join(work, "nginx")
    for sub in ("www/envelopes", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    for size in SIZES.values():
        with open(os.path.join(root, "www/envelopes", size["file"]), "w") as f:
            f.write(size["text"])
    conf = os.path.join(root, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(
            user=pwd.getpwuid(os.getuid()).pw_name, group=grp.getgrgid(os.getgid()).gr_name,
            work=root, port=port, small=SIZES["1 KB"]["file"],
            large_region=SIZES["100 KB"]["region"], large=SIZES["100 KB"]["file"]))
    proc = procs.start("nginx", [nginx, "-p", root, "-c", conf,
                                 "-e", os.path.join(root, "nginx-error.log")])
    wait_port(port, proc)
    return proc, port


class ScriptedUpstream(socketserver.ThreadingTCPServer):
    """An HTTP/1.1 upstream in the driver: it records the requests it reads
    and answers them with the 1 KB envelope; once hold() is called it reads
    requests and never answers (the calls stay in flight)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer):
        super().__init__(("127.0.0.1", 0), _UpstreamHandler)
        self.answer = answer.encode()
        self.requests = []
        self.holding = False

    def hold(self):
        self.holding = True


class _UpstreamHandler(socketserver.StreamRequestHandler):

    def handle(self):
        while True:
            start = self.rfile.readline()
            if not start:
                return
            headers = []
            while True:
                line = self.rfile.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                headers.append(line.decode("latin-1").rstrip("\r\n"))
            length = 0
            for header in headers:
                name, _, value = header.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = self.rfile.read(length)
            if self.server.holding:
                self.rfile.read()  # until the gateway gives up on it
                return
            self.server.requests.append((headers, body))
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(self.server.answer))
            self.wfile.write(self.server.answer)
            self.wfile.flush()


# --------------------------------------------------------------- the gateway

def start_gateway(procs, name, gateway, endpoint, extra):
    env = dict(os.environ, TENCENTCLOUD_SECRET_ID=SECRET_ID,
               TENCENTCLOUD_SECRET_KEY=SECRET_KEY)
    # The rate limiter keeps its books for every call, but never makes one
    # wait: the load is thousands of calls per second to one action
    # (docs/operations.md, "Rate limits").
    pacing = ["--rate-limit-default=1000000", "--rate-limit-burst=1000000"]
    proc = procs.start(name, [gateway, "--listen=127.0.0.1:0", "--admin-listen=127.0.0.1:0",
                              "--endpoint=" + endpoint, "--region=ap-guangzhou"] + pacing
                       + extra,
                       env=env)
    address = procs.wait_for(proc, r"listening on (\S+)").group(1)
    admin = procs.wait_for(proc, r"admin listening on ([0-9.]+:[0-9]+)", "err").group(1)
    return proc, address, admin


def metrics_text(admin):
    with urllib.request.urlopen("http://%s/metrics" % admin, timeout=10) as r:
        return r.read().decode()


def calls_by_code(admin):
    """{grpc_code: calls} of grpc_server_handled_total for METHOD (the
    go-grpc-prometheus names: docs/operations.md, Metrics)."""
    service, method = METHOD.strip("/").split("/")
    counts = {}
    for line in metrics_text(admin).splitlines():
        if not line.startswith("grpc_server_handled_total{"):
            continue
        labels, value = line.rsplit(" ", 1)
        if ('grpc_service="%s"' % service not in labels
                or 'grpc_method="%s"' % method not in labels):
            continue
        code = re.search(r'grpc_code="([^"]*)"', labels).group(1)
        counts[code] = counts.get(code, 0) + float(value)
    return counts


def gauge(admin, name):
    for line in metrics_text(admin).splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise BenchError("no %s in /metrics" % name)


def grpc_call(address, region):
    import grpc
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary(METHOD)  # bytes in, bytes out
        try:
            return call(REQUEST, metadata=[("x-tc-region", region)], timeout=30)
        except grpc.RpcError as e:
            raise BenchError("a call to %s ended %s: %s" % (address, e.code(), e.details()))


# ------------------------------------------------------------------- runs

def percentile(values, q):
    """Nearest rank, as e2e_curl_client computes it."""
    values = sorted(values)
    rank = max(1, -(-len(values) * q // 1))
    return values[int(rank) - 1]


def h2load(args, address, size, streams, calls, frame, log_file=None, background=False,
           connections=1):
    argv = [args.h2load, "-n", str(calls), "-c", str(connections), "-m", str(streams),
            "-t", "1", "--header", "content-type: application/grpc",
            "--header", "te: trailers",
            "--header", "x-tc-region: " + SIZES[size]["region"], "-d", frame]
    if log_file:
        argv.append("--log-file=" + log_file)
    argv.append("http://%s%s" % (address, METHOD))
    if background:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                preexec_fn=_die_with_parent)
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    done = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded",
                     result.stdout)
    ok = re.search(r"status codes: (\d+) 2xx", result.stdout)
    if result.returncode != 0 or not done or int(done.group(4)) != calls or \
            not ok or int(ok.group(1)) != calls:
        raise BenchError("h2load did not complete %d calls at %s:\n%s" % (
            calls, address, result.stdout[-3000:]))


def latency_from_log(path):
    durations = []
    with open(path) as f:
        for line in f:
            fields = line.split("\t")
            if len(fields) >= 3:
                durations.append(int(fields[2]))
    return percentile(durations, 0.50), percentile(durations, 0.99)


def h2load_run(args, env, proc, address, size, streams, calls, name):
    """h2load at ADDRESS: PROC's CPU per call and, at 1 stream, the latency."""
    log_file = os.path.join(env["work"], "h2load-%s.log" % name) if streams == 1 else None
    ticks, start = cpu_ticks(proc.pid), time.monotonic()
    h2load(args, address, size, streams, calls, env["frame"], log_file)
    used, seconds = cpu_ticks(proc.pid) - ticks, time.monotonic() - start
    result = {"cpu_us_per_call": used * 1e6 / CLOCK_TICKS / calls, "seconds": seconds}
    if log_file:
        result["p50_us"], result["p99_us"] = latency_from_log(log_file)
    return result


def run_gateway(args, env, size, streams, calls):
    gw = env["gateway"]
    before = calls_by_code(gw["admin"])
    result = h2load_run(args, env, gw["proc"], gw["address"], size, streams, calls, "gateway")
    # A call is counted when it ends, just after its answer left: wait for all.
    deadline = time.monotonic() + 10
    while True:
        after = calls_by_code(gw["admin"])
        counted = sum(after.values()) - sum(before.values())
        if counted >= calls or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    ok = after.get("OK", 0) - before.get("OK", 0)
    if ok != calls or counted != calls:
        codes = {code: after[code] - before.get(code, 0) for code in after
                 if after[code] != before.get(code, 0)}
        raise BenchError("gateway run (%s, %d streams): %d calls, but by gRPC code %s" % (
            size, streams, calls, codes))
    return result


def run_bare(args, env, size, streams, calls):
    bare = env["bare"][size]
    return h2load_run(args, env, bare["proc"], bare["address"], size, streams, calls, "bare")


def run_glue(args, env, size, streams, calls):
    glue = env["glue"][size]
    result = h2load_run(args, env, glue["proc"], glue["address"], size, streams, calls, "glue")
    glue["calls"] += calls
    # A failed call is an HTTP 200 to h2load (grpc-status is in the
    # trailers); C prints its first failures on stderr as they happen.
    failures = re.findall(r"call failed: .*", env["procs"].output(glue["proc"].name, "err"))
    if failures:
        raise BenchError("C run (%s, %d streams): %s" % (size, streams, failures[:3]))
    return result


def check_glue_calls(env):
    """Stops every C and checks the count it prints at exit: all the calls
    it was sent, each ended OK."""
    for size, glue in env["glue"].items():
        env["procs"].stop(glue["proc"])
        match = re.search(r"glue_server: (\d+) calls OK, (\d+) failed",
                          env["procs"].output(glue["proc"].name, "err"))
        if not match:
            raise BenchError("C (%s) printed no call count at exit (exit %s)" % (
                size, glue["proc"].returncode))
        ok, failed = int(match.group(1)), int(match.group(2))
        if ok != glue["calls"] or failed:
            raise BenchError("C (%s): %d calls sent, %d ended OK, %d failed" % (
                size, glue["calls"], ok, failed))


def run_curl(args, env, size, streams, calls):
    argv = [env["curl_client"], "--url=http://127.0.0.1:%d/" % env["nginx_port"],
            "--body=" + env["body"], "--headers=" + env["headers"][size],
            "--requests=%d" % calls, "--concurrency=%d" % streams,
            "--expect-bytes=%d" % len(SIZES[size]["text"])]
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    if result.returncode != 0:
        raise BenchError("e2e_curl_client failed: %s%s" % (result.stderr, result.stdout))
    report = json.loads(result.stdout)
    out = {"cpu_us_per_call": report["cpu_ticks"] * 1e6 /
           report["clock_ticks_per_second"] / calls, "seconds": report["seconds"]}
    if streams == 1:
        out["p50_us"], out["p99_us"] = report["p50_us"], report["p99_us"]
    return out


def hold_calls(args, env):
    """RSS of the second gateway with HELD_CALLS calls waiting on an upstream
    that never answers (10 connections x 100 streams: the gateway's
    per-connection stream limit is 100)."""
    hold = env["hold"]
    env["scripted"].hold()
    client = h2load(args, hold["address"], "1 KB", HELD_CALLS // 10, HELD_CALLS,
                    env["frame"], background=True, connections=10)
    try:
        deadline = time.monotonic() + 60
        while gauge(hold["admin"], "envelope_gateway_calls_in_flight") < HELD_CALLS:
            if client.poll() is not None or time.monotonic() > deadline:
                raise BenchError("the held calls did not reach %d in flight (%s)" % (
                    HELD_CALLS, gauge(hold["admin"], "envelope_gateway_calls_in_flight")))
            time.sleep(0.05)
        samples = []
        for _ in range(10):
            samples.append(rss_mb(hold["proc"].pid))
            time.sleep(0.05)
        in_flight = gauge(hold["admin"], "envelope_gateway_calls_in_flight")
        return max(samples), in_flight
    finally:
        client.terminate()
        client.wait()


# ------------------------------------------------------------------- report

def fmt(value, digits=1):
    return "-" if value is None else "%.*f" % (digits, value)


def report_table(results):
    lines = []
    header = ("| case | calls/run | gateway CPU/call | A CPU/call | B CPU/call | C CPU/call | "
              "gateway/(A+B) | target | C/(A+B) | gateway/C | gateway p50 / p99 | "
              "C p50 / p99 | curl p50 / p99 | added p50 | target | C added p50 |")
    lines.append(header)
    lines.append("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for case in results["cases"]:
        m = case["median"]
        ratio_target = "<= %.1fx %s" % (case["target_ratio"],
                                        "met" if m["ratio"] <= case["target_ratio"] else "NOT met")
        if case["streams"] == 1:
            lat_gw = "%d / %d us" % (m["gateway_p50_us"], m["gateway_p99_us"])
            lat_c = "%d / %d us" % (m["c_p50_us"], m["c_p99_us"])
            lat_b = "%d / %d us" % (m["curl_p50_us"], m["curl_p99_us"])
            added = "%d us" % m["added_p50_us"]
            added_c = "%d us" % m["c_added_p50_us"]
            added_target = "<= %d us %s" % (
                TARGET_ADDED_P50_US, "met" if m["added_p50_us"] <= TARGET_ADDED_P50_US
                else "NOT met")
        else:
            lat_gw = lat_c = lat_b = added = added_c = added_target = ""
        lines.append("| %s | %d | %s us | %s us | %s us | %s us | %.2fx | %s | %.2fx | %.2fx "
                     "| %s | %s | %s | %s | %s | %s |" % (
                         case["case"], case["calls"], fmt(m["gateway_cpu_us"]),
                         fmt(m["a_cpu_us"]), fmt(m["b_cpu_us"]), fmt(m["c_cpu_us"]),
                         m["ratio"], ratio_target, m["c_ratio"], m["gateway_over_c"],
                         lat_gw, lat_c, lat_b, added, added_target, added_c))
    for case in results["cases"]:
        m = case["median"]
        if case["streams"] == 1:
            lines.append("")
            lines.append("%s: A (h2load -> bare server) p50 / p99 %d / %d us." % (
                case["case"], m["a_p50_us"], m["a_p99_us"]))
    # A target below C's ratio cannot be met by any work on the gateway's own
    # code: C does none of it.
    for case in results["cases"]:
        m = case["median"]
        if m["c_ratio"] > case["target_ratio"]:
            lines.append("")
            lines.append("%s: the target (<= %.1fx (A+B)) lies below C, the floor of a gRPC "
                         "callback server joined to a libcurl I/O thread (%.2fx); the gateway's "
                         "own work costs gateway/C = %.2fx." % (
                             case["case"], case["target_ratio"], m["c_ratio"],
                             m["gateway_over_c"]))
    rss = results["rss_mb"]
    lines.append("")
    lines.append("| RSS | MB | target |")
    lines.append("|---|---:|---|")
    lines.append("| gateway idle (started, 2 calls made) | %.1f | <= %d MB %s |" % (
        rss["gateway_idle"], TARGET_RSS_IDLE_MB,
        "met" if rss["gateway_idle"] <= TARGET_RSS_IDLE_MB else "NOT met"))
    lines.append("| gateway, %d calls in flight | %.1f | <= %d MB %s |" % (
        HELD_CALLS, rss["gateway_held"], TARGET_RSS_HELD_MB,
        "met" if rss["gateway_held"] <= TARGET_RSS_HELD_MB else "NOT met"))
    lines.append("| gateway after the runs above (idle) | %.1f | |" % rss["gateway_after_runs"])
    lines.append("| bare server A idle (reference) | %.1f | |" % rss["bare_idle"])
    lines.append("| glue server C idle (reference) | %.1f | |" % rss["glue_idle"])
    return "\n".join(lines)


# --------------------------------------------------------------------- main

def write_b_inputs(env, requests):
    """Body and header files for B from what the gateway sent upstream, one
    request per envelope size (the signature goes stale: nginx checks none)."""
    if len(requests) != len(SIZES):
        raise BenchError("the scripted upstream saw %d requests" % len(requests))
    bodies = set()
    for (name, size), (headers, body) in zip(SIZES.items(), requests):
        bodies.add(body)
        names = set()
        path = os.path.join(env["work"], "headers-%s.txt" % size["region"])
        with open(path, "w") as f:
            for header in headers:
                key = header.partition(":")[0].strip().lower()
                names.add(key)
                if key not in ("host", "content-length", "connection", "expect",
                               "transfer-encoding"):
                    f.write(header + "\n")
            for key in ("Accept", "User-Agent"):  # curl adds these unless told
                if key.lower() not in names:
                    f.write(key + ":\n")
        env["headers"][name] = path
    if len(bodies) != 1:
        raise BenchError("the gateway sent different bodies: %s" % bodies)
    env["body"] = os.path.join(env["work"], "body.json")
    with open(env["body"], "wb") as f:
        f.write(bodies.pop())


def start_servers(procs, env, bare_server, glue_server):
    """One A and one C per envelope size, answering what the gateway answered
    for it; C sends B's request for that size (its X-TC-Region picks the
    envelope in nginx)."""
    for name, size in SIZES.items():
        response = grpc_call(env["gateway"]["address"], size["region"])
        if response.count(b"ins-") != size["instances"]:
            raise BenchError("the gateway's %s answer holds %d instances, not %d" % (
                name, response.count(b"ins-"), size["instances"]))
        path = os.path.join(env["work"], "response-%s.bin" % size["region"])
        with open(path, "wb") as f:
            f.write(response)
        size["response_bytes"] = len(response)
        proc = procs.start("bare-" + size["region"],
                           [bare_server, "--listen=127.0.0.1:0", "--response=" + path])
        address = procs.wait_for(proc, r"listening on (\S+)").group(1)
        env["bare"][name] = {"proc": proc, "address": address}
        proc = procs.start("glue-" + size["region"], [
            glue_server, "--listen=127.0.0.1:0", "--response=" + path,
            "--url=http://127.0.0.1:%d/" % env["nginx_port"], "--body=" + env["body"],
            "--headers=" + env["headers"][name]])
        address = procs.wait_for(proc, r"listening on (\S+)").group(1)
        env["glue"][name] = {"proc": proc, "address": address, "calls": 0}


def run_case(args, env, case, size, streams, calls):
    """REPEAT interleaved runs of gateway, A, B and C; their medians."""
    runs = []
    for rep in range(args.repeat):
        run = {"gateway": run_gateway(args, env, size, streams, calls),
               "a": run_bare(args, env, size, streams, calls),
               "b": run_curl(args, env, size, streams, calls),
               "c": run_glue(args, env, size, streams, calls)}
        runs.append(run)
        log("%s, run %d/%d: CPU us/call gateway %.1f (%.1f s), A %.1f (%.1f s), "
            "B %.1f (%.1f s), C %.1f (%.1f s)" % (
                case, rep + 1, args.repeat, run["gateway"]["cpu_us_per_call"],
                run["gateway"]["seconds"], run["a"]["cpu_us_per_call"],
                run["a"]["seconds"], run["b"]["cpu_us_per_call"], run["b"]["seconds"],
                run["c"]["cpu_us_per_call"], run["c"]["seconds"]))

    def median(who, key):
        return statistics.median(r[who][key] for r in runs)
    m = {"gateway_cpu_us": median("gateway", "cpu_us_per_call"),
         "a_cpu_us": median("a", "cpu_us_per_call"),
         "b_cpu_us": median("b", "cpu_us_per_call"),
         "c_cpu_us": median("c", "cpu_us_per_call")}
    m["ratio"] = m["gateway_cpu_us"] / (m["a_cpu_us"] + m["b_cpu_us"])
    # C against A + B: what joining the legs costs by itself (the floor of
    # gateway/(A+B)); the gateway against C: what its own work costs.
    m["c_ratio"] = m["c_cpu_us"] / (m["a_cpu_us"] + m["b_cpu_us"])
    m["gateway_over_c"] = m["gateway_cpu_us"] / m["c_cpu_us"]
    if streams == 1:
        for who, prefix in (("gateway", "gateway"), ("a", "a"), ("b", "curl"), ("c", "c")):
            m[prefix + "_p50_us"] = median(who, "p50_us")
            m[prefix + "_p99_us"] = median(who, "p99_us")
        m["added_p50_us"] = m["gateway_p50_us"] - m["curl_p50_us"]
        m["c_added_p50_us"] = m["c_p50_us"] - m["curl_p50_us"]
    return {"case": case, "envelope": size, "streams": streams, "calls": calls,
            "target_ratio": TARGET_RATIO[size], "runs": runs, "median": m}


def benchmark(args, procs, work, binaries, scripted):
    _, nginx_port = start_nginx(procs, work, args.nginx)
    extra = shlex.split(args.gateway_args)
    gw_proc, gw_address, gw_admin = start_gateway(
        procs, "gateway", binaries["gateway"], "http://127.0.0.1:%d" % nginx_port, extra)
    # The second gateway reads what the gateway sends, then holds calls for
    # the RSS figure; they could wait for long.
    hold_proc, hold_address, hold_admin = start_gateway(
        procs, "gateway-hold", binaries["gateway"],
        "http://127.0.0.1:%d" % scripted.server_address[1], extra + ["--default-timeout=600s"])
    env = {"work": work, "nginx_port": nginx_port, "scripted": scripted,
           "curl_client": binaries["curl_client"], "procs": procs,
           "gateway": {"proc": gw_proc, "address": gw_address, "admin": gw_admin},
           "hold": {"proc": hold_proc, "address": hold_address, "admin": hold_admin},
           "bare": {}, "glue": {}, "headers": {}}
    for size in SIZES.values():
        grpc_call(hold_address, size["region"])
    write_b_inputs(env, scripted.requests)
    env["frame"] = os.path.join(work, "request.grpc")
    with open(env["frame"], "wb") as f:
        f.write(b"\0" + len(REQUEST).to_bytes(4, "big") + REQUEST)
    start_servers(procs, env, binaries["bare_server"], binaries["glue_server"])

    results = {
        "when": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "loadavg_before": os.getloadavg(),
                    "kernel": os.uname().release},
        "method": METHOD, "request_body": open(env["body"]).read(),
        "envelopes": {name: {"bytes": len(s["text"]), "instances": s["instances"],
                             "grpc_response_bytes": s["response_bytes"]}
                      for name, s in SIZES.items()},
        "gateway_args": extra, "scale": args.scale, "repeat": args.repeat,
        "cases": [], "rss_mb": {"gateway_idle": rss_mb(hold_proc.pid),
                                "bare_idle": rss_mb(env["bare"]["1 KB"]["proc"].pid),
                                "glue_idle": rss_mb(env["glue"]["1 KB"]["proc"].pid)},
    }
    # Warm-up, not measured: connections opened, caches filled.
    for name in SIZES:
        warm = max(100, int(1000 * args.scale))
        run_gateway(args, env, name, 32, warm)
        run_bare(args, env, name, 32, warm)
        run_curl(args, env, name, 32, warm)
        run_glue(args, env, name, 32, warm)
    for case, size, streams, calls_at_1 in CASES:
        calls = max(streams * 10, int(calls_at_1 * args.scale))
        results["cases"].append(run_case(args, env, case, size, streams, calls))
    results["rss_mb"]["gateway_after_runs"] = rss_mb(gw_proc.pid)
    results["rss_mb"]["gateway_held"], results["rss_mb"]["calls_held"] = hold_calls(args, env)
    check_glue_calls(env)
    results["machine"]["loadavg_after"] = os.getloadavg()
    results["targets"] = {"ratio": TARGET_RATIO, "added_p50_us": TARGET_ADDED_P50_US,
                          "rss_idle_mb": TARGET_RSS_IDLE_MB, "rss_held_mb": TARGET_RSS_HELD_MB}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--scale", type=float, default=float(os.environ.get("E2E_SCALE", 1)),
                        help="multiplies the calls per run (E2E_SCALE; --quick: 0.1)")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("E2E_REPEAT", 3)))
    parser.add_argument("--json", help="results file (default: BUILD/bench/e2e/results-TIME.json)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--gateway-args", default=os.environ.get("E2E_GATEWAY_ARGS", ""),
                        help="extra gateway flags (E2E_GATEWAY_ARGS)")
    parser.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    parser.add_argument("--h2load", default=shutil.which("h2load") or "/usr/bin/h2load")
    args = parser.parse_args()

    build = os.path.abspath(args.build_dir)
    binaries = {
        "gateway": os.path.join(build, "gateway/main/envelope-gateway"),
        "bare_server": os.path.join(build, "bench/e2e_bare_server"),
        "curl_client": os.path.join(build, "bench/e2e_curl_client"),
        "glue_server": os.path.join(build, "bench/e2e_glue_server"),
    }
    for path in binaries.values():
        if not os.access(path, os.X_OK):
            raise BenchError("%s is not built" % path)
    for size in SIZES.values():
        size["text"], size["instances"] = envelope(size["bytes"])

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    work = tempfile.mkdtemp(prefix="envelope-e2e-")
    procs = Processes(work)
    scripted = ScriptedUpstream(SIZES["1 KB"]["text"])
    threading.Thread(target=scripted.serve_forever, daemon=True).start()
    try:
        results = benchmark(args, procs, work, binaries, scripted)
    finally:
        procs.stop_all()
        scripted.shutdown()
        scripted.server_close()
        if args.keep:
            log("work folder kept: " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)

    out = args.json or os.path.join(build, "bench/e2e", "results-%s.json" %
                                    time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=1)
    print(report_table(results))
    print()
    print("CPU per call: utime+stime over the run / calls (medians of %d interleaved runs); "
          "A = bare gRPC server, B = libcurl client to nginx, C = A's server posting B's "
          "request from a libcurl I/O thread (the floor of joining the two); latency at 1 "
          "stream, added p50 = p50 - curl p50. Envelopes %d and %d bytes. Load average %.2f "
          "before, %.2f after (%d CPUs). Results: %s" % (
              args.repeat, len(SIZES["1 KB"]["text"]), len(SIZES["100 KB"]["text"]),
              results["machine"]["loadavg_before"][0], results["machine"]["loadavg_after"][0],
              os.cpu_count(), out))


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        log("FAILED: %s" % e)
        sys.exit(1)
