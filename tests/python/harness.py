"""Plumbing shared by the Python end-to-end tests of envelope-gateway.

Used by tests/python/grpcio_client_test.py, tests/python/new_product_test.py
and tests/conformance/conformance_test.py (which puts tests/python on
sys.path). It knows how to

- take `--gateway PATH` (or env GATEWAY_BIN) and other switches out of
  sys.argv before unittest sees them: take_gateway_flag(), take_switch();
- start a child that announces its address on its first stdout line, with a
  timeout, and keep its pipes drained: start_process(), stop_process();
- start the bundled emulator and the gateway with a scrubbed environment
  (no TENCENTCLOUD_* of the caller leaks in): scrubbed_env(), Emulator.start(),
  start_gateway(), open_channel(), shutdown(), GatewayFixture;
- drive the emulator's control API (/_emulator/rules, /_emulator/requests):
  Emulator;
- generate Python modules with protoc into a temporary folder and import them:
  protoc_python(), import_generated().
"""

import importlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import grpc

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EMULATOR = os.path.join(REPO, "tools", "emulator", "emulator.py")
PROTO_DIR = os.path.join(REPO, "proto")
PYTHON = "/usr/bin/python3"  # the interpreter with grpcio and protobuf
# For a first line or a ready channel: only a failing start waits this long,
# and a loaded machine (a sandboxed Bazel run on two busy cores) can take
# seconds to start a process.
STARTUP_TIMEOUT = 60.0

EMULATOR_LINE = r"emulator listening on (https?://127\.0\.0\.1:\d+)"
GATEWAY_LINE = r"envelope-gateway listening on (127\.0\.0\.1:\d+|unix:\S+)"


# ------------------------------------------------------------ command line

def take_gateway_flag():
    """Removes `--gateway PATH` / `--gateway=PATH` from sys.argv.

    Returns the gateway binary as an absolute path: the flag's value, else
    env GATEWAY_BIN, else "" (the caller prints its usage)."""
    path = os.environ.get("GATEWAY_BIN", "")
    rest = [sys.argv[0]]
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--gateway" and i + 1 < len(args):
            path = args[i + 1]
            i += 2
            continue
        if a.startswith("--gateway="):
            path = a.split("=", 1)[1]
        else:
            rest.append(a)
        i += 1
    sys.argv[:] = rest
    return os.path.abspath(path) if path else ""


def take_switch(name):
    """Removes every `name` (e.g. "--verbose") from sys.argv; True if any."""
    found = name in sys.argv[1:]
    sys.argv[1:] = [a for a in sys.argv[1:] if a != name]
    return found


# --------------------------------------------------------------- processes

def scrubbed_env(**extra):
    """os.environ without TENCENTCLOUD_*, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TENCENTCLOUD_")}
    env.update(extra)
    return env


def _read_line(proc, timeout, what):
    """First stdout line of `proc` within `timeout` seconds, else fail."""
    q = queue.Queue()

    def reader():
        try:
            q.put(proc.stdout.readline())
        except Exception as e:  # pragma: no cover
            q.put(e)

    threading.Thread(target=reader, daemon=True).start()
    try:
        line = q.get(timeout=timeout)
    except queue.Empty:
        proc.kill()
        raise RuntimeError("%s printed no start-up line within %.0fs"
                           % (what, timeout))
    if isinstance(line, Exception) or not line:
        proc.kill()
        err = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError("%s exited before listening: rc=%s stderr=%r"
                           % (what, proc.wait(), err[-2000:]))
    return line.strip()


def _log_file(proc, suffix):
    """With ENVELOPE_TEST_LOG_DIR set (tools/test.sh sets it), a file that
    keeps what the child prints, for the suite's secret check. Its name is
    made unique by the file system, not the pid: tests in Bazel's sandbox
    each have their own pid namespace, and share the folder."""
    log_dir = os.environ.get("ENVELOPE_TEST_LOG_DIR")
    if not log_dir:
        return None
    fd, _ = tempfile.mkstemp(prefix=os.path.basename(proc.args[0]) + "-py-",
                             suffix="." + suffix, dir=log_dir)
    return os.fdopen(fd, "w")


def _drain(proc, stream, suffix="log"):
    """Keeps a child's pipe from filling up; stop_process joins and closes."""
    lines = []  # also kept for the test: output_lines()
    if not hasattr(proc, "captured"):
        proc.captured = {}
        proc.output_changed = threading.Condition()
    proc.captured[suffix] = lines

    def run():
        sink = _log_file(proc, suffix)
        try:
            for line in stream:
                with proc.output_changed:
                    lines.append(line)
                    proc.output_changed.notify_all()
                if sink:
                    sink.write(line)
        except Exception:
            pass
        finally:
            if sink:
                sink.close()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    if not hasattr(proc, "drainers"):
        proc.drainers = []
    proc.drainers.append(t)


def output_lines(proc, suffix="out"):
    """The lines a child started by start_process printed so far on stdout
    ("out") or stderr ("err")."""
    return list(getattr(proc, "captured", {}).get(suffix, ()))


def wait_for_output(proc, predicate, suffix="out", timeout=15.0):
    """Waits until predicate(output_lines(proc, suffix)) holds (woken by each
    new line), and returns the lines; fails after `timeout` seconds. The
    gateway writes its access log every 100 ms, not line by line."""
    deadline = time.monotonic() + timeout
    with proc.output_changed:
        while True:
            lines = output_lines(proc, suffix)
            if predicate(lines):
                return lines
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("the output never matched; it was:\n"
                                     + "".join(lines[-20:]))
            proc.output_changed.wait(left)


def _with_admin_port(argv):
    """Tests run many gateways at once: unless a test picks its own admin
    address, each gets a free port instead of the default 127.0.0.1:9901."""
    if "envelope-gateway" not in os.path.basename(argv[0]):
        return argv
    if any(a.startswith(("--admin-listen", "--admin_listen", "--check-config"))
           or a in ("--help", "--version") for a in argv[1:]):
        return argv
    return list(argv) + ["--admin-listen=127.0.0.1:0"]


def _popen(argv, env):
    argv = _with_admin_port(argv)
    for attempt in range(3):
        try:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=env)
        except OSError:  # e.g. the binary being replaced by a rebuild
            if attempt == 2:
                raise
            time.sleep(2.0)
            _wait_for_binary(argv[0])


def start_process(argv, env=None, timeout=STARTUP_TIMEOUT, line_re=None,
                  what=None):
    """Starts `argv` and waits up to `timeout` s for its first stdout line.

    Returns (process, address): group 1 of `line_re` (which must match the
    whole line), or the line's last word without `line_re`. Both pipes are
    drained from then on; stop with stop_process(). `what` names the
    child in errors (default: argv[0]'s file name)."""
    what = what or os.path.basename(argv[0])
    proc = _popen(argv, env)
    line = _read_line(proc, timeout, what)
    if line_re is None:
        address = line.split()[-1]
    else:
        m = re.fullmatch(line_re, line)
        if not m:
            proc.kill()
            proc.wait()
            raise RuntimeError("unexpected %s start-up line: %r" % (what, line))
        address = m.group(1)
    _drain(proc, proc.stdout, "out")
    _drain(proc, proc.stderr, "err")
    return proc, address


def stop_process(proc, timeout=10.0):
    """SIGTERM, wait; returns the exit code (kills and returns None on hang)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rc = None
    for t in getattr(proc, "drainers", ()):
        t.join(timeout=2.0)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return rc


def _wait_for_binary(path, limit=120.0):
    """The binary may be rebuilt concurrently: wait for it to reappear."""
    deadline = time.monotonic() + limit
    while not (os.path.isfile(path) and os.access(path, os.X_OK)):
        if time.monotonic() > deadline:
            raise RuntimeError("binary not found: %s" % path)
        time.sleep(1.0)


def start_gateway(binary, endpoint, *flags, secret_id=None, secret_key=None,
                  timeout=STARTUP_TIMEOUT):
    """Starts `binary --listen=127.0.0.1:0 --endpoint=<endpoint> <flags>`.

    The environment is scrubbed of TENCENTCLOUD_*; given credentials are put
    back as TENCENTCLOUD_SECRET_ID/KEY. Returns (process, "127.0.0.1:PORT")."""
    creds = {}
    if secret_id is not None:
        creds["TENCENTCLOUD_SECRET_ID"] = secret_id
    if secret_key is not None:
        creds["TENCENTCLOUD_SECRET_KEY"] = secret_key
    _wait_for_binary(binary)
    return start_process(
        [binary, "--listen=127.0.0.1:0", "--endpoint=" + endpoint]
        + list(flags),
        env=scrubbed_env(**creds), timeout=timeout, line_re=GATEWAY_LINE,
        what="gateway")


def open_channel(address, options=(), timeout=STARTUP_TIMEOUT):
    """An insecure gRPC channel to `address`, once it is ready."""
    channel = grpc.insecure_channel(address, options=list(options))
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except BaseException:
        channel.close()
        raise
    return channel


def shutdown(channel=None, gateway=None, emulator=None, tmp=None):
    """Closes `channel`, stops `gateway` (a process) and `emulator` (an
    Emulator), removes the folder `tmp`; any of them may be None.

    Returns the gateway's exit code (None without a gateway)."""
    rc = None
    if channel is not None:
        channel.close()
    if gateway is not None:
        rc = stop_process(gateway)
    if emulator is not None:
        emulator.stop()
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


def check_exit(rc, what="gateway"):
    """Fails unless a process stopped by SIGTERM exited with status 0."""
    if rc != 0:
        raise AssertionError(
            "%s exit status on SIGTERM: %r (expected 0)" % (what, rc))


class GatewayFixture:
    """Mixin for a unittest.TestCase whose setUpClass sets `channel`,
    `gateway` (process), `emulator` (Emulator) and `tmp` (folder), any of
    them possibly left None: _cleanup() releases them all and returns the
    gateway's exit code; tearDownClass() also fails unless it is 0."""

    channel = gateway = emulator = tmp = None

    @classmethod
    def _cleanup(cls):
        return shutdown(cls.channel, cls.gateway, cls.emulator, cls.tmp)

    @classmethod
    def tearDownClass(cls):
        check_exit(cls._cleanup())


# ---------------------------------------------------------------- emulator

class Emulator:
    """The bundled emulator (tools/emulator/emulator.py) and its control API.

    `url` is its base URL, `proc` its process when started by start(),
    `timeout` the limit in seconds of each control call."""

    def __init__(self, url, proc=None, timeout=10.0):
        self.url = url
        self.proc = proc
        self.timeout = timeout  # per control call

    @classmethod
    def start(cls, *flags, timeout=10.0):
        """Starts the emulator on 127.0.0.1:0 with --quiet and `flags`
        (e.g. "--secret-id", ID, or "--no-auth"), environment scrubbed."""
        proc, url = start_process(
            [PYTHON, EMULATOR, "--listen", "127.0.0.1:0", "--quiet"]
            + list(flags), env=scrubbed_env(), line_re=EMULATOR_LINE,
            what="emulator")
        return cls(url, proc, timeout)

    def stop(self):
        """Stops a started emulator; returns its exit code."""
        return stop_process(self.proc) if self.proc is not None else None

    def control(self, method, path, body=None):
        """One control call; `body` is sent as JSON, the reply is decoded."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def rule(self, rule):
        """Adds one rule (a dict) or several (a list of dicts)."""
        self.control("POST", "/_emulator/rules", rule)

    def rules(self):
        """The rules still active."""
        return self.control("GET", "/_emulator/rules")

    def clear_rules(self):
        self.control("DELETE", "/_emulator/rules")

    def requests(self):
        """The requests recorded, oldest first."""
        return self.control("GET", "/_emulator/requests")

    def clear_requests(self):
        self.control("DELETE", "/_emulator/requests")


# ------------------------------------------------------------------ protoc

def protoc_python(includes, files, out=None, extra=(), prefix="protoc-python-"):
    """Runs protoc -I <includes> -I /usr/include --python_out=<out> <extra>
    <files>. `out` defaults to a new temporary folder (named `prefix`...,
    removed again if protoc fails). Returns `out`."""
    made = out is None
    if made:
        out = tempfile.mkdtemp(prefix=prefix)
    protoc = shutil.which("protoc") or "/usr/bin/protoc"
    cmd = [protoc]
    for inc in list(includes) + ["/usr/include"]:
        cmd += ["-I", inc]
    cmd += ["--python_out=" + out] + list(extra) + list(files)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        if made:
            shutil.rmtree(out, ignore_errors=True)
        raise RuntimeError("protoc failed: %s\n%s" % (cmd, r.stderr))
    return out


def import_generated(root, module):
    """Imports `module` (e.g. "google.rpc.status_pb2") generated below `root`.

    `root` goes first on sys.path; a top-level package already imported from
    elsewhere (`google` of google.protobuf) gets `root`'s folder added to its
    path, so the generated modules are found beside the installed ones."""
    if root not in sys.path:
        sys.path.insert(0, root)
    top = module.split(".", 1)[0]
    folder = os.path.join(root, top)
    pkg = sys.modules.get(top)
    if pkg is not None and os.path.isdir(folder) and \
            folder not in list(getattr(pkg, "__path__", ())):
        pkg.__path__.append(folder)
    return importlib.import_module(module)
