#!/usr/bin/python3
"""Callers cannot starve each other (issue 10), against the real gateway.

With the real binary and the bundled emulator:

- gRPC: 2,000 streams on 25 HTTP/2 connections that never send their
  request message take no slot of `--max-in-flight`, so another caller's
  call still succeeds; a connection that opens more streams than
  `--max-concurrent-streams` is refused, while a well-behaved client only
  queues; a stream whose message does not come within
  `--request-message-timeout` ends with DEADLINE_EXCEEDED; on SIGTERM the
  streams that sent nothing end with UNAVAILABLE at once while a real call
  in flight completes, and the gateway exits 0 without waiting out its grace.
- admin: /healthz and /readyz are answered within 1 s while 300 connections
  dribble request heads (and again with the descriptor limit of a default
  Debian shell, 1024): CivetWeb's 400 workers leave room for the probes,
  and its 5 s request timeout cuts every slow client off.

The hostile streams come from a small HTTP/2 client written here on plain
sockets (grpcio, like every well-behaved client, never opens more streams
than the server allows and always sends its message).

    /usr/bin/python3 tests/python/hostile_callers_test.py \
        --gateway build/gateway/main/envelope-gateway

The gateway binary may also be given by the env variable GATEWAY_BIN.
"""

import os
import re
import select
import signal
import socket
import struct
import sys
import threading
import time
import unittest

import grpc
from hpack.huffman_table import decode_huffman

import harness
# The gateway process wrapper of the operations suite: start-up lines,
# admin address, /metrics.
from operations_test import Gateway

GATEWAY_BIN = os.environ.get("GATEWAY_BIN", "")
SECRET_ID = "AKIDHOSTILECALLERS0000000000000000000"
SECRET_KEY = "hostile-callers-test-secret-key-0000"
DESCRIBE_ZONES = "/tencentcloud.cvm.v20170312.Cvm/DescribeZones"
# For what should come at once: only a failing test waits this long, and a
# loaded machine (a sandboxed Bazel run on two busy cores) can take seconds.
EVENT_TIMEOUT = 60.0
RPC_TIMEOUT = 60.0
PROBE_LIMIT = 1.0  # what the issue asks of /healthz and /readyz

S = grpc.StatusCode
GRPC_UNAVAILABLE = "14"
GRPC_DEADLINE_EXCEEDED = "4"
GRPC_CANCELLED = "1"

EMULATOR = None


def setUpModule():
    global EMULATOR
    EMULATOR = harness.Emulator.start("--secret-id", SECRET_ID,
                                      "--secret-key", SECRET_KEY)


def tearDownModule():
    if EMULATOR is not None:
        EMULATOR.stop()


# ------------------------------------------------------------------- HPACK

# RFC 7541, Appendix A.
STATIC_TABLE = [
    (":authority", ""), (":method", "GET"), (":method", "POST"),
    (":path", "/"), (":path", "/index.html"), (":scheme", "http"),
    (":scheme", "https"), (":status", "200"), (":status", "204"),
    (":status", "206"), (":status", "304"), (":status", "400"),
    (":status", "404"), (":status", "500"), ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"), ("accept-language", ""),
    ("accept-ranges", ""), ("accept", ""),
    ("access-control-allow-origin", ""), ("age", ""), ("allow", ""),
    ("authorization", ""), ("cache-control", ""),
    ("content-disposition", ""), ("content-encoding", ""),
    ("content-language", ""), ("content-length", ""),
    ("content-location", ""), ("content-range", ""), ("content-type", ""),
    ("cookie", ""), ("date", ""), ("etag", ""), ("expect", ""),
    ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
    ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
    ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""),
    ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
    ("proxy-authorization", ""), ("range", ""), ("referer", ""),
    ("refresh", ""), ("retry-after", ""), ("server", ""),
    ("set-cookie", ""), ("strict-transport-security", ""),
    ("transfer-encoding", ""), ("user-agent", ""), ("vary", ""),
    ("via", ""), ("www-authenticate", ""),
]


def _hpack_int(data, pos, prefix_bits):
    mask = (1 << prefix_bits) - 1
    value = data[pos] & mask
    pos += 1
    if value < mask:
        return value, pos
    shift = 0
    while True:
        b = data[pos]
        pos += 1
        value += (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def _hpack_encode_int(value, prefix_bits, first=0):
    mask = (1 << prefix_bits) - 1
    if value < mask:
        return bytes([first | value])
    out = [first | mask]
    value -= mask
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_encode(headers):
    """Each header as a literal without indexing, new name, no Huffman."""
    out = b""
    for name, value in headers:
        out += b"\x00"
        for s in (name.encode(), value.encode()):
            out += _hpack_encode_int(len(s), 7) + s
    return out


class HpackDecoder:
    """Enough HPACK to read gRPC's response headers and trailers. gRPC
    Huffman-codes some values (grpc-status-details-bin): those are decoded
    with Debian's python3-hpack."""

    def __init__(self):
        self.dynamic = []  # newest first
        self.max_size = 4096

    def _size(self):
        return sum(32 + len(n) + len(v) for n, v in self.dynamic)

    def _evict(self):
        while self.dynamic and self._size() > self.max_size:
            self.dynamic.pop()

    def _entry(self, index):
        if index <= 0:
            raise ValueError("HPACK index 0")
        if index <= len(STATIC_TABLE):
            return STATIC_TABLE[index - 1]
        return self.dynamic[index - len(STATIC_TABLE) - 1]

    def _string(self, data, pos):
        huffman = data[pos] & 0x80
        length, pos = _hpack_int(data, pos, 7)
        raw = data[pos:pos + length]
        if huffman:
            raw = decode_huffman(raw)
        return raw.decode("latin-1"), pos + length

    def decode(self, data):
        headers = []
        pos = 0
        while pos < len(data):
            b = data[pos]
            if b & 0x80:  # indexed
                index, pos = _hpack_int(data, pos, 7)
                headers.append(self._entry(index))
                continue
            if b & 0xE0 == 0x20:  # dynamic table size update
                self.max_size, pos = _hpack_int(data, pos, 5)
                self._evict()
                continue
            indexing = b & 0xC0 == 0x40
            index, pos = _hpack_int(data, pos, 6 if indexing else 4)
            if index:
                name = self._entry(index)[0]
            else:
                name, pos = self._string(data, pos)
            value, pos = self._string(data, pos)
            headers.append((name, value))
            if indexing:
                self.dynamic.insert(0, (name, value))
                self._evict()
        return headers


# ------------------------------------------------------------ HTTP/2 client

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, \
    WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM = ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
REFUSED_STREAM = 0x7
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(kind, flags, stream_id, payload=b""):
    return (struct.pack(">I", len(payload))[1:]
            + struct.pack(">BBI", kind, flags, stream_id) + payload)


class Stream:
    def __init__(self):
        self.headers = {}  # the last header block: response head or trailers
        self.ended = False  # END_STREAM seen
        self.reset = None  # RST_STREAM error code

    def status(self):
        return self.headers.get("grpc-status")


class H2Connection:
    """One HTTP/2 connection that opens gRPC streams and never sends their
    message: headers only. It answers the gateway's SETTINGS (so the
    stream limit applies) and PINGs, and records what comes back per
    stream. Used from one thread."""

    def __init__(self, address, timeout=EVENT_TIMEOUT):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)),
                                             timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.authority = address
        self.buf = b""
        self.hpack = HpackDecoder()
        self.settings = None  # the gateway's, once received
        self.streams = {}
        self.goaway = None  # (last stream id, error code)
        self.closed = False
        self.ping_acks = set()
        self.next_id = 1
        self.block = None  # (stream id, flags, fragments) until END_HEADERS
        self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0))
        if not self.read_until(lambda: self.settings is not None, timeout):
            raise AssertionError("no SETTINGS from the gateway")

    def close(self):
        self.sock.close()

    def open_streams(self, n, path=DESCRIBE_ZONES, timeout_header=None):
        """Sends the headers of `n` new calls (no message, no END_STREAM);
        returns their stream ids."""
        headers = [(":method", "POST"), (":scheme", "http"),
                   (":path", path), (":authority", self.authority),
                   ("content-type", "application/grpc"), ("te", "trailers")]
        if timeout_header:
            headers.append(("grpc-timeout", timeout_header))
        block = hpack_encode(headers)
        ids = []
        out = b""
        for _ in range(n):
            sid = self.next_id
            self.next_id += 2
            self.streams[sid] = Stream()
            ids.append(sid)
            out += frame(HEADERS, END_HEADERS, sid, block)
        self.sock.sendall(out)
        return ids

    def ping(self, timeout=EVENT_TIMEOUT):
        """Round trip: once its ACK is back, the gateway has read every
        frame sent before it. False if the connection ended first."""
        opaque = os.urandom(8)
        self.sock.sendall(frame(PING, 0, 0, opaque))
        return self.read_until(lambda: opaque in self.ping_acks, timeout)

    def read_until(self, done, timeout):
        """Reads and handles frames until done() or the connection ends;
        returns done(). Raises on a timeout."""
        end = time.monotonic() + timeout
        while not done() and not self.closed:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("HTTP/2: nothing awaited within %.0fs"
                                     % timeout)
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:  # reset by the gateway
                data = b""
            if not data:
                self.closed = True
                break
            self.buf += data
            self._frames()
        return done()

    def _frames(self):
        while len(self.buf) >= 9:
            length = struct.unpack(">I", b"\0" + self.buf[:3])[0]
            if len(self.buf) < 9 + length:
                return
            kind, flags, sid = struct.unpack(">BBI", self.buf[3:9])
            sid &= 0x7FFFFFFF
            payload = self.buf[9:9 + length]
            self.buf = self.buf[9 + length:]
            self._frame(kind, flags, sid, payload)

    def _frame(self, kind, flags, sid, payload):
        if kind == SETTINGS and not flags & ACK:
            self.settings = {}
            for i in range(0, len(payload), 6):
                key, value = struct.unpack(">HI", payload[i:i + 6])
                self.settings[key] = value
            self.sock.sendall(frame(SETTINGS, ACK, 0))
        elif kind == PING:
            if flags & ACK:
                self.ping_acks.add(payload)
            else:
                self.sock.sendall(frame(PING, ACK, 0, payload))
        elif kind == GOAWAY:
            self.goaway = struct.unpack(">II", payload[:8])
        elif kind == RST_STREAM:
            self._stream(sid).reset = struct.unpack(">I", payload)[0]
        elif kind == HEADERS:
            if flags & PADDED:
                pad = payload[0]
                payload = payload[1:len(payload) - pad]
            if flags & PRIORITY_FLAG:
                payload = payload[5:]
            self.block = (sid, flags, [payload])
            self._header_block()
        elif kind == CONTINUATION:
            self.block[2].append(payload)
            self.block = (self.block[0], self.block[1] | (flags & END_HEADERS),
                          self.block[2])
            self._header_block()
        elif kind == DATA and flags & END_STREAM:
            self._stream(sid).ended = True

    def _header_block(self):
        sid, flags, fragments = self.block
        if not flags & END_HEADERS:
            return
        self.block = None
        stream = self._stream(sid)
        stream.headers = dict(self.hpack.decode(b"".join(fragments)))
        if flags & END_STREAM:
            stream.ended = True

    def _stream(self, sid):
        return self.streams.setdefault(sid, Stream())

    # -- what came back
    def untouched(self, ids):
        """The streams of `ids` the gateway has neither answered nor reset."""
        return [sid for sid in ids
                if not self.streams[sid].headers and not self.streams[sid].ended
                and self.streams[sid].reset is None]

    def ended(self, ids):
        return all(self.streams[sid].ended for sid in ids)


def open_idle_streams(address, connections, per_connection, **kw):
    """`connections` connections with `per_connection` idle streams each,
    all of them read by the gateway (a PING round trip on each)."""
    conns, ids = [], []
    try:
        for _ in range(connections):
            conn = H2Connection(address)
            conns.append(conn)
            ids.append(conn.open_streams(per_connection, **kw))
        for conn in conns:
            if not conn.ping():
                raise AssertionError("the gateway ended a connection of %d "
                                     "streams: GOAWAY %r"
                                     % (per_connection, conn.goaway))
    except BaseException:
        for conn in conns:
            conn.close()
        raise
    return conns, ids


# ----------------------------------------------------------------- gateway

def gateway_argv(*flags):
    return [GATEWAY_BIN, "--listen=127.0.0.1:0", "--endpoint=" + EMULATOR.url,
            "--region=ap-guangzhou", "--credential-sources=env",
            "--admin-listen=127.0.0.1:0", "--access-log=false"] + list(flags)


def gateway_env():
    return harness.scrubbed_env(TENCENTCLOUD_SECRET_ID=SECRET_ID,
                                TENCENTCLOUD_SECRET_KEY=SECRET_KEY)


class HostileTest(unittest.TestCase):
    """Starts gateways on demand; each must exit 0 on SIGTERM."""

    def setUp(self):
        EMULATOR.clear_rules()
        self.gateways = []
        self.conns = []

    def tearDown(self):
        for conn in self.conns:
            conn.close()
        EMULATOR.clear_rules()
        for gw in self.gateways:
            if gw.proc.poll() is None:
                gw.stop()

    def start(self, *flags, nofile=None):
        argv = gateway_argv(*flags)
        if nofile is not None:
            # prlimit execs the gateway: same process, lower soft limit.
            argv = ["/usr/bin/prlimit", "--nofile=%d:" % nofile, "--"] + argv
        gw = Gateway(argv, env=gateway_env())
        self.gateways.append(gw)
        return gw

    def stop_ok(self, gw):
        self.assertEqual(gw.stop(), 0, "\n".join(gw.err))

    def real_call(self, gw, timeout=RPC_TIMEOUT):
        """(code, details) of one DescribeZones from a well-behaved caller
        (an empty request message is the empty byte string)."""
        call = gw.channel.unary_unary(DESCRIBE_ZONES)
        try:
            call(b"", timeout=timeout)
            return S.OK, ""
        except grpc.RpcError as e:
            return e.code(), e.details()


def grpc_status(conn, sid):
    return conn.streams[sid].status(), conn.streams[sid].headers.get(
        "grpc-message", "")


# -------------------------------------------------------------- gRPC tests

class IdleStreamsTest(HostileTest):

    def test_idle_streams_take_no_slot_of_the_cap(self):
        # The idle streams must outlive the test: no request timeout here.
        gw = self.start("--request-message-timeout=0s")
        conns, ids = open_idle_streams(gw.address, 25, 80)
        self.conns += conns
        self.assertEqual(
            conns[0].settings.get(SETTINGS_MAX_CONCURRENT_STREAMS), 100,
            "the default per-connection stream limit")
        self.assertEqual(gw.gauge("envelope_gateway_calls_in_flight"), 0)
        for _ in range(5):
            self.assertEqual(self.real_call(gw), (S.OK, ""))
        for conn, sids in zip(conns, ids):
            self.assertTrue(conn.ping())
            self.assertEqual(conn.untouched(sids), sids,
                             "an idle stream was ended")
        print("\n  2000 idle streams on 25 connections: calls OK, "
              "none of the idle streams ended", file=sys.stderr)
        # Without a request timeout, a caller's own deadline still ends its
        # call with a status: gRPC's, DEADLINE_EXCEEDED or at times
        # CANCELLED (the caller's own library says DEADLINE_EXCEEDED).
        conn = conns[0]
        timed = conn.open_streams(10, timeout_header="200m")
        self.assertTrue(conn.read_until(lambda: conn.ended(timed),
                                        EVENT_TIMEOUT))
        self.assertLessEqual(
            {grpc_status(conn, sid)[0] for sid in timed},
            {GRPC_DEADLINE_EXCEEDED, GRPC_CANCELLED})
        self.stop_ok(gw)

    def test_stream_limit_per_connection(self):
        gw = self.start("--max-concurrent-streams=20",
                        "--request-message-timeout=0s")
        conn = H2Connection(gw.address)
        self.conns.append(conn)
        self.assertEqual(conn.settings.get(SETTINGS_MAX_CONCURRENT_STREAMS),
                         20)
        ids = conn.open_streams(20)
        self.assertTrue(conn.ping())
        self.assertEqual(conn.untouched(ids), ids)
        # One more than it was told: gRPC ends the whole connection (or
        # would refuse the stream); the extra stream is never served.
        extra = conn.open_streams(1)
        ended = not conn.ping()
        refused = conn.streams[extra[0]].reset == REFUSED_STREAM
        self.assertTrue(ended or refused, "stream 21 of 20 was accepted")
        self.assertFalse(conn.streams[extra[0]].headers)
        print("\n  stream 21 of 20: %s" % (
            "connection closed" if ended else "REFUSED_STREAM"),
            file=sys.stderr)
        # Others go on; a well-behaved client queues calls beyond the limit
        # on its side, and all of them complete.
        self.assertEqual(self.real_call(gw), (S.OK, ""))
        EMULATOR.rule({"action": "DescribeZones", "delay_ms": 300})
        call = gw.channel.unary_unary(DESCRIBE_ZONES)
        futures = [call.future(b"", timeout=RPC_TIMEOUT) for _ in range(50)]
        codes = []
        for f in futures:
            try:
                f.result()
                codes.append(S.OK)
            except grpc.RpcError as e:
                codes.append((e.code(), e.details()))
        self.assertEqual(codes, [S.OK] * 50)
        self.stop_ok(gw)

    def test_request_message_timeout(self):
        gw = self.start("--request-message-timeout=1s")
        conn = H2Connection(gw.address)
        self.conns.append(conn)
        t0 = time.monotonic()
        ids = conn.open_streams(50)
        # A grpcio caller whose message never comes: its headers go out at
        # once, the iterator blocks until the test ends.
        release = threading.Event()

        def never():
            release.wait(RPC_TIMEOUT * 2)
            return
            yield  # a generator that yields nothing

        stuck = gw.channel.stream_unary(DESCRIBE_ZONES)
        try:
            # Its deadline is far: the gateway's message says who ended it.
            with self.assertRaises(grpc.RpcError) as cm:
                stuck(never(), timeout=RPC_TIMEOUT)
            took = time.monotonic() - t0
            self.assertEqual(cm.exception.code(), S.DEADLINE_EXCEEDED)
            self.assertEqual(cm.exception.details(),
                             "the request message did not arrive within 1s")
            self.assertGreaterEqual(took, 0.9, "ended before the timeout")
        finally:
            release.set()
        self.assertTrue(conn.read_until(lambda: conn.ended(ids),
                                        EVENT_TIMEOUT))
        self.assertEqual(
            {grpc_status(conn, sid) for sid in ids},
            {(GRPC_DEADLINE_EXCEEDED,
              "the request message did not arrive within 1s")})
        self.assertEqual(self.real_call(gw), (S.OK, ""))
        self.stop_ok(gw)

    def test_waiting_calls_are_bounded(self):
        # max_in_flight 10: at most 40 calls wait for their message; beyond,
        # the one waiting longest ends.
        gw = self.start("--max-in-flight=10", "--request-message-timeout=0s")
        conn = H2Connection(gw.address)
        self.conns.append(conn)
        ids = conn.open_streams(60)

        def pushed_out():
            return [sid for sid in ids if conn.streams[sid].ended]
        self.assertTrue(conn.read_until(lambda: len(pushed_out()) >= 20,
                                        EVENT_TIMEOUT))
        self.assertTrue(conn.ping())
        self.assertEqual(len(pushed_out()), 20)
        self.assertEqual(len(conn.untouched(ids)), 40)
        self.assertEqual(
            {grpc_status(conn, sid) for sid in pushed_out()},
            {(GRPC_UNAVAILABLE, "the gateway is at its limit of calls "
              "waiting for their request message")})
        # A real call waits too, for a moment: it pushes out the oldest
        # idle stream, and completes.
        self.assertEqual(self.real_call(gw), (S.OK, ""))
        self.assertTrue(conn.read_until(lambda: len(pushed_out()) >= 21,
                                        EVENT_TIMEOUT))
        self.stop_ok(gw)

    def test_drain_ends_idle_streams_at_once(self):
        gw = self.start("--shutdown-grace=120s",
                        "--request-message-timeout=0s")
        conns, ids = open_idle_streams(gw.address, 2, 100)
        self.conns += conns
        # A real call in flight, long enough to outlast every check below.
        EMULATOR.rule({"action": "DescribeZones", "delay_ms": 8000})
        busy = gw.channel.unary_unary(DESCRIBE_ZONES).future(
            b"", timeout=RPC_TIMEOUT)
        pace = threading.Event()
        end = time.monotonic() + EVENT_TIMEOUT
        while gw.gauge("envelope_gateway_calls_in_flight") < 1:
            self.assertLess(time.monotonic(), end, "the call never started")
            pace.wait(0.02)
        t0 = time.monotonic()
        gw.send(signal.SIGTERM)
        for conn, sids in zip(conns, ids):
            self.assertTrue(conn.read_until(lambda: conn.ended(sids),
                                            EVENT_TIMEOUT))
            self.assertEqual(
                {grpc_status(conn, sid) for sid in sids},
                {(GRPC_UNAVAILABLE, "the gateway is shutting down; retry on "
                  "another instance")})
        ended_idle = time.monotonic() - t0
        # At once: the drain has not waited for the call in flight.
        self.assertFalse(busy.done(), "idle streams waited for the drain")
        self.assertIsNone(busy.exception(), "the call in flight failed")
        self.assertEqual(gw.wait(EVENT_TIMEOUT), 0, "\n".join(gw.err))
        exited = time.monotonic() - t0
        print("\n  drain: 200 idle streams UNAVAILABLE after %.0f ms, the "
              "call in flight OK, exit after %.1f s (grace 120 s)"
              % (ended_idle * 1000, exited), file=sys.stderr)
        # The drain waits for the call (8 s), not for the idle streams.
        self.assertLess(exited, 60.0, "the drain waited for idle streams")


# ------------------------------------------------------------- admin tests

class Dribbler:
    """`n` connections to an HTTP address, each sending its request head
    one byte at a time (slowloris); each one the server closes is opened
    again, so that the server always faces `n`."""

    HEAD = b"GET /healthz HTTP/1.1\r\nHost: admin\r\nX-Slow: "

    def __init__(self, address, n, interval=0.1):
        host, port = address.rsplit(":", 1)
        self.address = (host, int(port))
        self.n = n
        self.interval = interval
        self.closed_by_server = 0
        self.stopping = threading.Event()
        self.conns = {}  # fd -> [socket, bytes sent]
        self.poller = select.poll()  # select() stops at descriptor 1024
        self.thread = None
        try:
            for _ in range(n):
                self._connect(EVENT_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _connect(self, timeout):
        s = socket.create_connection(self.address, timeout=timeout)
        s.setblocking(False)
        self.conns[s.fileno()] = [s, 0]
        self.poller.register(s, select.POLLIN)

    def _refill(self):
        """Back to `n` connections; one the server does not take now is
        tried again on the next turn."""
        try:
            while len(self.conns) < self.n:
                self._connect(self.interval)
        except OSError:
            pass

    def _drop(self, fd):
        s, _ = self.conns.pop(fd)
        self.poller.unregister(fd)
        s.close()

    def _run(self):
        # The pace of the dribble, not a wait for something to happen.
        while not self.stopping.wait(self.interval):
            for fd, _ in self.poller.poll(0):
                self._drop(fd)  # closed at the request timeout
                self.closed_by_server += 1
            for fd, conn in list(self.conns.items()):
                sent = conn[1]
                byte = (self.HEAD[sent:sent + 1] if sent < len(self.HEAD)
                        else b"a")
                try:
                    conn[1] += conn[0].send(byte)
                except BlockingIOError:
                    pass
                except OSError:
                    self._drop(fd)
                    self.closed_by_server += 1
            self._refill()

    def stop(self):
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(EVENT_TIMEOUT)
        for fd in list(self.conns):
            self._drop(fd)


def probe(address, path):
    """(HTTP status, seconds) of one GET on a new connection; status 0 if
    no whole answer came within PROBE_LIMIT."""
    host, port = address.rsplit(":", 1)
    t0 = time.monotonic()
    end = t0 + PROBE_LIMIT
    data = b""
    try:
        with socket.create_connection((host, int(port)),
                                      timeout=PROBE_LIMIT) as s:
            # As the kubelet's httpGet probes: one request, then close
            # (the admin server keeps other connections alive).
            s.sendall(b"GET %s HTTP/1.1\r\nHost: probe\r\n"
                      b"Connection: close\r\n\r\n" % path.encode())
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                s.settimeout(left)
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        pass
    took = time.monotonic() - t0
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
    return (int(m.group(1)) if m else 0), took


class AdminProbesTest(HostileTest):
    DRIBBLERS = 300
    SPAN = 6.0  # seconds of probing: longer than the 5 s request timeout

    def probe_while_dribbling(self, gw, closed):
        """Probes for SPAN seconds, and on until the gateway has closed
        `closed` slow connections."""
        dribbler = Dribbler(gw.admin, self.DRIBBLERS)
        try:
            results = []
            start = time.monotonic()
            pace = threading.Event()
            while (time.monotonic() < start + self.SPAN
                   or dribbler.closed_by_server < closed):
                self.assertLess(time.monotonic(),
                                start + self.SPAN + EVENT_TIMEOUT,
                                "the gateway closed only %d slow connections"
                                % dribbler.closed_by_server)
                for path in ("/healthz", "/readyz"):
                    results.append((path,) + probe(gw.admin, path))
                pace.wait(0.2)  # the pace of the probes, as a kubelet's
            self.assertEqual(self.real_call(gw), (S.OK, ""))
        finally:
            dribbler.stop()
        slowest = max(took for _, _, took in results)
        print("\n  %d dribbling connections: %d probes, slowest %.0f ms, "
              "%d slow connections closed by the gateway"
              % (self.DRIBBLERS, len(results), slowest * 1000,
                 dribbler.closed_by_server), file=sys.stderr)
        for path, status, took in results:
            self.assertEqual(status, 200, "%s: no answer within %.1f s"
                             % (path, PROBE_LIMIT))
            self.assertLess(took, PROBE_LIMIT)

    def test_probes_answered_while_connections_dribble(self):
        gw = self.start()
        # The request timeout (5 s) still cuts every slow client off.
        self.probe_while_dribbling(gw, closed=self.DRIBBLERS)
        self.stop_ok(gw)

    def test_probes_answered_with_few_descriptors(self):
        # A soft limit of 1024: the 300 dribbling connections take a
        # descriptor each, the admin server's 400 workers none.
        gw = self.start(nofile=1024)
        self.probe_while_dribbling(gw, closed=self.DRIBBLERS)
        self.stop_ok(gw)


if __name__ == "__main__":
    GATEWAY_BIN = harness.take_gateway_flag()
    if not GATEWAY_BIN:
        sys.exit("usage: %s --gateway PATH/TO/envelope-gateway [unittest args]"
                 % sys.argv[0])
    unittest.main(verbosity=2)
