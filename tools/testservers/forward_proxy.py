#!/usr/bin/python3
"""A small HTTP forward proxy for tests (Python 3 standard library only).

- `CONNECT host:port` opens a TCP tunnel (for https:// upstreams); bytes are
  relayed both ways until both sides have closed. An upstream reset is passed
  on to the client as a reset.
- Absolute-URI requests (`POST http://127.0.0.1:8089/ HTTP/1.1`) are forwarded
  to the upstream with an origin-form target. The client's headers, `Host`
  included, are passed on unchanged except the hop-by-hop ones (Connection,
  Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade). Each client
  connection keeps its own upstream connection alive when both ends allow it;
  when the upstream closes after an answer, the client is told
  `Connection: close` as well, so connection reuse looks the same as without
  the proxy. An upstream that drops the connection before or during its
  answer makes the proxy drop the client connection the same way (reset or
  close).
- Origin-form requests are for the proxy itself:
      GET  /_proxy/health   {"status": "ok"}
      GET  /_proxy/stats    {"connects": n, "forwarded": n, "targets": ["host:port", ...],
                             "connections": n, "auth_failures": n}
      POST /_proxy/reset    zero the counters (GET works too)
  `connects` counts tunnels opened, `forwarded` requests forwarded, `targets`
  the distinct upstreams in the order first used, `connections` the client
  TCP connections accepted, `auth_failures` the 407 answers.
- `--require-auth user:pass` answers 407 (Proxy-Authenticate: Basic) to
  CONNECT and forwarded requests without that Proxy-Authorization.

The first stdout line is `forward-proxy listening on http://HOST:PORT`; SIGTERM
or SIGINT stops it (exit status 0). See docs/emulator.md.
"""

import argparse
import base64
import binascii
import hmac
import http.client
import io
import json
import os
import re
import select
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
from urllib.parse import urlsplit

# One reading of --listen for both test servers: the emulator's.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "emulator"))
from emulator import parse_listen  # noqa: E402

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
UPSTREAM_CONNECT_TIMEOUT = 10
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
              "proxy-connection", "te", "trailer", "trailers", "transfer-encoding", "upgrade"}


class ProtocolError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Reader:
    """Buffered reads from a socket; the unread rest is available for tunnelling."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(65536)
        if data:
            self.buf += data
        return bool(data)

    def read_head(self):
        """Bytes up to and including the blank line; None on a clean EOF between requests."""
        while True:
            while self.buf[:2] == b"\r\n":  # stray CRLFs between requests are allowed
                del self.buf[:2]
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self.buf[:end + 4])
                del self.buf[:end + 4]
                return head
            if len(self.buf) > MAX_HEAD_BYTES:
                raise ProtocolError(431, "request head over %d bytes" % MAX_HEAD_BYTES)
            if not self._fill():
                if self.buf:
                    raise ProtocolError(400, "connection closed inside the request head")
                return None

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise ProtocolError(400, "connection closed inside the request body")
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def readline(self):
        while True:
            end = self.buf.find(b"\n")
            if end >= 0:
                line = bytes(self.buf[:end + 1])
                del self.buf[:end + 1]
                return line
            if len(self.buf) > MAX_HEAD_BYTES or not self._fill():
                raise ProtocolError(400, "bad chunked body")

    def take_rest(self):
        data = bytes(self.buf)
        self.buf.clear()
        return data


class Stats:
    def __init__(self):
        self._lock = threading.Lock()
        self.clear()

    def clear(self):
        with self._lock:
            self._connects = self._forwarded = self._connections = self._auth_failures = 0
            self._targets = []

    def add(self, field, target=None):
        with self._lock:
            setattr(self, "_" + field, getattr(self, "_" + field) + 1)
            if target is not None and target not in self._targets:
                self._targets.append(target)

    def snapshot(self):
        with self._lock:
            return {"connects": self._connects, "forwarded": self._forwarded,
                    "targets": list(self._targets), "connections": self._connections,
                    "auth_failures": self._auth_failures}


def reset_socket(sock):
    """Close with a TCP RST (SO_LINGER 0)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class DropClient(Exception):
    """The upstream broke the exchange; drop the client connection (`reset`: with RST)."""

    def __init__(self, reset):
        super().__init__("reset" if reset else "close")
        self.reset = reset


class ProxyHandler(socketserver.BaseRequestHandler):
    def setup(self):
        self.sock = self.request
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = Reader(self.sock)
        self.upstreams = {}  # (host, port) -> HTTPConnection, per client connection
        self.dropped = False
        self.server.stats.add("connections")

    def finish(self):
        for conn in self.upstreams.values():
            conn.close()

    def log(self, text):
        if not self.server.quiet:
            sys.stderr.write("%s %s %s\n" % (
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), self.client_address[0], text))
            sys.stderr.flush()

    # -- plumbing -------------------------------------------------------------

    def send_simple(self, status, reason, body, content_type="text/plain; charset=utf-8",
                    extra=(), close=False):
        if isinstance(body, str):
            body = body.encode("utf-8")
        lines = ["HTTP/1.1 %d %s" % (status, reason), "Content-Type: %s" % content_type,
                 "Content-Length: %d" % len(body)]
        lines += ["%s: %s" % kv for kv in extra]
        if close:
            lines.append("Connection: close")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def send_json(self, status, value):
        reason = http.client.responses.get(status, "Status")
        self.send_simple(status, reason, json.dumps(value, indent=2) + "\n", "application/json")

    def read_body(self, headers):
        if "chunked" in headers.get("Transfer-Encoding", "").lower():
            chunks, total = [], 0
            while True:
                size_text = self.reader.readline().split(b";")[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise ProtocolError(400, "invalid chunk size")
                if size == 0:
                    while self.reader.readline() not in (b"\r\n", b"\n"):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise ProtocolError(413, "request body too large")
                chunks.append(self.reader.read_exact(size))
                self.reader.readline()
        length = headers.get("Content-Length", "0").strip() or "0"
        if not length.isdigit():
            raise ProtocolError(400, "invalid Content-Length")
        if int(length) > MAX_BODY_BYTES:
            raise ProtocolError(413, "request body too large")
        return self.reader.read_exact(int(length))

    def authorized(self, headers):
        expected = self.server.require_auth
        if expected is None:
            return True
        scheme, _, value = headers.get("Proxy-Authorization", "").strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, expected.encode("utf-8"))

    def refuse_auth(self, close):
        self.server.stats.add("auth_failures")
        self.send_simple(407, "Proxy Authentication Required", "proxy authentication required\n",
                         extra=[("Proxy-Authenticate", 'Basic realm="forward-proxy"')], close=close)

    # -- request loop ---------------------------------------------------------

    def handle(self):
        try:
            while not self.dropped and self.handle_one():
                pass
        except ProtocolError as e:
            try:
                self.send_simple(e.status, http.client.responses.get(e.status, "Error"),
                                 str(e) + "\n", close=True)
            except OSError:
                pass
        except DropClient as e:
            if e.reset:
                reset_socket(self.sock)
        except OSError:
            pass  # the client went away

    def handle_one(self):
        """One request; False when the client connection is to be closed."""
        head = self.reader.read_head()
        if head is None:
            return False
        request_line, _, rest = head.partition(b"\r\n")
        parts = request_line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise ProtocolError(400, "bad request line %r" % request_line[:100])
        method, target, version = parts
        headers = http.client.parse_headers(io.BytesIO(rest))
        tokens = {t.strip().lower() for v in headers.get_all("Connection", []) +
                  headers.get_all("Proxy-Connection", []) for t in v.split(",")}
        keep_alive = "keep-alive" in tokens if version == "HTTP/1.0" else "close" not in tokens

        if method == "CONNECT":
            self.tunnel(target, headers)
            return False
        if target.startswith("/"):
            self.read_body(headers)
            self.control(method, urlsplit(target).path)
            return keep_alive
        if not target.lower().startswith("http://"):
            self.read_body(headers)
            self.send_simple(400, "Bad Request", "only http:// absolute URIs are forwarded; "
                                                 "use CONNECT for https\n", close=True)
            return False
        return self.forward(method, target, headers, keep_alive) and keep_alive

    # -- own endpoints --------------------------------------------------------

    def control(self, method, path):
        stats = self.server.stats
        if path == "/_proxy/health" and method == "GET":
            self.send_json(200, {"status": "ok"})
        elif path == "/_proxy/stats" and method == "GET":
            self.send_json(200, stats.snapshot())
        elif path == "/_proxy/reset" and method in ("POST", "GET"):
            stats.clear()
            self.send_json(200, {"status": "ok"})
        else:
            self.send_json(404, {"error": "no endpoint %s %s; the proxy's own endpoints are "
                                          "GET /_proxy/health, GET /_proxy/stats, POST /_proxy/reset"
                                          % (method, path)})

    # -- CONNECT --------------------------------------------------------------

    def tunnel(self, target, headers):
        m = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:\[\]]+):(\d+)", target)
        if not m:
            self.send_simple(400, "Bad Request", "CONNECT needs host:port\n", close=True)
            return
        host, port = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        if not self.authorized(headers):
            self.refuse_auth(close=True)
            return
        try:
            upstream = socket.create_connection((host, int(port)), UPSTREAM_CONNECT_TIMEOUT)
        except OSError as e:
            self.log("CONNECT %s -> 502 (%s)" % (target, e))
            self.send_simple(502, "Bad Gateway", "cannot connect to %s: %s\n" % (target, e),
                             close=True)
            return
        upstream.settimeout(None)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.stats.add("connects", "%s:%s" % (host, port))
        self.log("CONNECT %s" % target)
        self.sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        try:
            self.relay(upstream, self.reader.take_rest())
        finally:
            upstream.close()

    def relay(self, upstream, early):
        """Copy bytes both ways until both directions are closed."""
        if early:
            upstream.sendall(early)  # sent by the client right after its CONNECT
        peer = {self.sock: upstream, upstream: self.sock}
        open_ = [self.sock, upstream]
        while open_:
            readable, _, _ = select.select(open_, [], [])
            for src in readable:
                dst = peer[src]
                try:
                    data = src.recv(65536)
                except ConnectionResetError:
                    # Pass a reset on as a reset.
                    if dst is self.sock:
                        self.dropped = True
                        reset_socket(self.sock)
                    else:
                        reset_socket(upstream)
                    return
                if data:
                    try:
                        dst.sendall(data)
                    except OSError:
                        return
                else:
                    open_.remove(src)
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass

    # -- absolute-URI forwarding ----------------------------------------------

    def upstream_for(self, host, port):
        """The kept-alive upstream connection to host:port, or a new one."""
        conn = self.upstreams.get((host, port))
        if conn is not None and conn.sock is not None:
            # An idle upstream connection that became readable was closed
            # by the server (or sent garbage): do not reuse it.
            readable, _, _ = select.select([conn.sock], [], [], 0)
            if readable:
                conn.close()
        if conn is None:
            conn = http.client.HTTPConnection(host, port, timeout=UPSTREAM_CONNECT_TIMEOUT)
            self.upstreams[(host, port)] = conn
        return conn

    def forward(self, method, target, headers, keep_alive):
        """Forward one request; False when the client connection must close."""
        url = urlsplit(target)
        host = url.hostname
        try:
            port = url.port or 80
        except ValueError:
            host = None
        body = self.read_body(headers)
        if not host:
            self.send_simple(400, "Bad Request", "bad absolute URI %s\n" % target, close=True)
            return False
        if not self.authorized(headers):
            self.refuse_auth(close=not keep_alive)
            return True
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        hop = set(HOP_BY_HOP)
        for value in headers.get_all("Connection", []):
            hop.update(t.strip().lower() for t in value.split(","))
        authority = "%s:%d" % (host, port)
        self.server.stats.add("forwarded", authority)
        started = time.monotonic()

        conn = self.upstream_for(host, port)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            if "Host" not in headers:
                conn.putheader("Host", url.netloc)
            for name, value in headers.items():
                if name.lower() not in hop and name.lower() != "content-length":
                    conn.putheader(name, value)
            if body or method in ("POST", "PUT", "PATCH") or "Content-Length" in headers:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            conn.sock.settimeout(None)  # a slow upstream answer is what some tests want
            resp = conn.getresponse()
        except (ConnectionRefusedError, socket.gaierror, socket.timeout) as e:
            conn.close()
            self.log("%s %s -> 502 (%s)" % (method, target, e))
            self.send_simple(502, "Bad Gateway", "cannot reach %s: %s\n" % (authority, e))
            return True
        except http.client.RemoteDisconnected:  # a ConnectionResetError, but a FIN
            conn.close()
            self.log("%s %s -> upstream closed without answering" % (method, target))
            raise DropClient(reset=False)
        except ConnectionResetError:
            conn.close()
            self.log("%s %s -> upstream reset" % (method, target))
            raise DropClient(reset=True)
        except (http.client.HTTPException, OSError) as e:
            conn.close()
            self.log("%s %s -> upstream closed (%s)" % (method, target, e.__class__.__name__))
            raise DropClient(reset=False)

        self.log("%s %s -> %d %.0fms" % (method, target, resp.status,
                                         (time.monotonic() - started) * 1000))
        return self.relay_response(method, resp, conn, keep_alive)

    def relay_response(self, method, resp, conn, keep_alive):
        hop = set(HOP_BY_HOP)
        for value in resp.msg.get_all("Connection", []):
            hop.update(t.strip().lower() for t in value.split(","))
        close = resp.will_close or not keep_alive
        no_body = method == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200
        if no_body:
            framing = "none"
        elif resp.chunked:
            framing = "chunked"
        elif resp.length is not None:
            framing = "length"
        else:
            framing, close = "eof", True  # body ends when the upstream closes

        lines = ["HTTP/1.1 %d %s" % (resp.status, resp.reason)]
        for name, value in resp.msg.items():
            lname = name.lower()
            if lname in hop or (lname == "content-length" and framing != "length" and not no_body):
                continue
            lines.append("%s: %s" % (name, value))
        if framing == "chunked":
            lines.append("Transfer-Encoding: chunked")
        if close:
            lines.append("Connection: close")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

        expected = resp.length
        sent = 0
        if framing == "none":
            resp.read()  # lets http.client reuse the upstream connection
        try:
            while framing != "none":
                data = resp.read(65536)
                if not data:
                    break
                sent += len(data)
                if framing == "chunked":
                    self.sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.sock.sendall(data)
        except ConnectionResetError:
            conn.close()
            raise DropClient(reset=True)
        except (http.client.HTTPException, OSError):
            conn.close()
            raise DropClient(reset=False)
        if framing == "length" and sent < expected:
            conn.close()  # the upstream cut the body short: so does the proxy
            raise DropClient(reset=False)
        if framing == "chunked":
            self.sock.sendall(b"0\r\n\r\n")
        if resp.will_close:
            conn.close()
        return not close


class ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, address, family, require_auth, quiet):
        self.address_family = family
        self.stats = Stats()
        self.require_auth = require_auth
        self.quiet = quiet
        super().__init__(address, ProxyHandler)


def parse_auth(text):
    if ":" not in text:
        raise argparse.ArgumentTypeError("expected user:pass")
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="forward_proxy.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n")[0].split("\n", 1)[0] +
        "\nCONNECT tunnels and absolute-URI http:// forwarding; counters at GET /_proxy/stats.",
        epilog="On start one line is printed to stdout:\n"
               "  forward-proxy listening on http://HOST:PORT\n"
               "See docs/emulator.md.")
    parser.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 0), metavar="HOST:PORT",
                        help="address to listen on; port 0 picks a free port (default 127.0.0.1:0)")
    parser.add_argument("--require-auth", type=parse_auth, metavar="USER:PASS",
                        help="require Proxy-Authorization: Basic for CONNECT and forwarding")
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines on stderr")
    args = parser.parse_args(argv)

    host, port = args.listen
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        server = ProxyServer((host, port), family, args.require_auth, args.quiet)
    except OSError as e:
        sys.exit("forward_proxy.py: cannot listen on %s:%d: %s" % (host, port, e))

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    shown_host = "[%s]" % host if family == socket.AF_INET6 else host
    print("forward-proxy listening on http://%s:%d" % (shown_host, server.server_address[1]),
          flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
