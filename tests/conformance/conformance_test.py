#!/usr/bin/python3
"""Conformance of the typed routes against every documented example.

For every example in `third_party/tencentcloud-specs/<svc>/<vYYYYMMDD>/
examples.json` of the products with a committed proto (with --all-products:
of every bundled product version, from the vendored tarball, checked against
known_contradictions_all.txt), through the real gateway and the bundled
emulator (one call per example):

- request side: the example's request body -> typed request (the generated
  Python class, by the bundled proto) -> gRPC call -> the JSON body the
  emulator received must be semantically equal to the example's body;
- response side: the emulator answers that call with the example's `output`
  byte for byte (a one-shot rule) -> the typed response the gateway returns
  -> JSON (json_format.MessageToDict, proto3 defaults printed) must carry every
  member of the example's `Response` with its value.

About 40% of the examples are API 2.0 style (`input` is
`https://<svc>.tencentcloudapi.com/?Action=X&K=V&Filters.0.Name=...`, no
body): their flattened parameters are turned into the JSON object they stand
for (values typed by the schema; a value that is no such type, a member the
schema lacks or indices that are not 0..n-1 are contradictions) and checked
like a body.

"Semantically equal":
- numbers compare by value (1 == 1.0 in a double field; 64-bit integers to
  the last digit); the sent JSON must hold numbers as JSON numbers
  (docs/design.md);
- JSON `null` = unset (request: not sent; response: may be absent);
- request: an empty array equals an absent member (proto3 repeated fields
  have no presence: a typed caller cannot ask for `[]`, so it is not sent);
- response: a member equal to its proto3 default in a field without presence
  reads back as that default (a typed client cannot tell the difference);
- the sent body must have no member the example does not have.

An example that contradicts its own schema (body empty or not JSON, a member
the schema does not have, a value of another JSON type than the schema says,
an integer out of range, an action without an rpc) fails; the examples known
to do so are listed in `known_contradictions.txt` beside this file, one line
per example and side:

    <svc>/<vYYYYMMDD> <Action> #<index> request|response: <reason>

The test fails if an example not listed fails, and if a listed one passes or
fails for another reason (so the list stays true). `--write-known` rewrites the
list from the current results (review the diff before committing it).

Run from the repository root:

    /usr/bin/python3 tests/conformance/conformance_test.py \
        --gateway build/gateway/main/envelope-gateway
"""

import atexit
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest
import urllib.parse

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor as FD

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import harness  # noqa: E402  (tests/python/harness.py)
from harness import PROTO_DIR, REPO  # noqa: E402

SPECS = os.path.join(REPO, "third_party", "tencentcloud-specs")
KNOWN_FILE = os.path.join(HERE, "known_contradictions.txt")
PROTO_DIRS = [PROTO_DIR]

SECRET_ID = "AKIDCONFORMANCE0000000000000000000000"
SECRET_KEY = "conformance-secret-key-00000000000"
REGION = "ap-guangzhou"
RPC_TIMEOUT = 10.0
MAX_PROBLEMS = 4  # per reason line; the rest are counted
BATCH = 64        # concurrent calls (the emulator records the last 1000)

GATEWAY_BIN = os.environ.get("GATEWAY_BIN", "")
WRITE_KNOWN = False
VERBOSE = False

INT_RANGES = {
    FD.CPPTYPE_INT32: (-(1 << 31), (1 << 31) - 1),
    FD.CPPTYPE_INT64: (-(1 << 63), (1 << 63) - 1),
    FD.CPPTYPE_UINT32: (0, (1 << 32) - 1),
    FD.CPPTYPE_UINT64: (0, (1 << 64) - 1),
}
TYPE_NAMES = {
    FD.CPPTYPE_INT32: "int32", FD.CPPTYPE_INT64: "int64",
    FD.CPPTYPE_UINT32: "uint32", FD.CPPTYPE_UINT64: "uint64",
    FD.CPPTYPE_DOUBLE: "double", FD.CPPTYPE_FLOAT: "float",
    FD.CPPTYPE_BOOL: "bool", FD.CPPTYPE_STRING: "string",
    FD.CPPTYPE_ENUM: "enum", FD.CPPTYPE_MESSAGE: "object",
}


# ---------------------------------------------------------------- examples

class Example:
    def __init__(self, svc, ver_dir, action, index, raw):
        self.svc = svc
        self.ver_dir = ver_dir                       # v20170312
        self.version = "%s-%s-%s" % (ver_dir[1:5], ver_dir[5:7], ver_dir[7:9])
        self.action = action
        self.index = index
        self.input = raw.get("input", "")
        self.output = raw.get("output", "")

    @property
    def key(self):
        return "%s/%s %s #%d" % (self.svc, self.ver_dir, self.action, self.index)

    def is_query(self):
        """An API 2.0 style example: `https://host/?Action=X&K=V...`."""
        return self.input.startswith(("https://", "http://"))

    def body_text(self):
        """The request body: what follows the first blank line of `input`."""
        text = self.input.replace("\r\n", "\n")
        _, sep, body = text.partition("\n\n")
        return body.strip() if sep else ""

    def query_pairs(self):
        """(name, value) of a query-string example, common parameters and the
        `<公共请求参数>` placeholder left out. Values are percent-decoded; `+`
        stays a `+` (the examples use it both for a space and literally)."""
        text = "".join(l.strip() for l in self.input.splitlines())
        _, _, query = text.partition("?")
        pairs = []
        for part in query.split("&"):
            if not part or part.startswith("<"):
                continue
            name, _, value = part.partition("=")
            pairs.append((name, urllib.parse.unquote(value)))
        return pairs


def load_examples():
    out = []
    for path in sorted(glob.glob(os.path.join(SPECS, "*", "v*", "examples.json"))):
        ver_dir = os.path.basename(os.path.dirname(path))
        svc = os.path.basename(os.path.dirname(os.path.dirname(path)))
        if not any(os.path.isfile(os.path.join(d, "tencentcloud", svc, ver_dir,
                                               svc + ".proto"))
                   for d in PROTO_DIRS):
            continue
        with open(path, encoding="utf-8") as f:
            actions = json.load(f)["actions"]
        for action in sorted(actions):
            for i, raw in enumerate(actions[action]):
                out.append(Example(svc, ver_dir, action, i, raw))
    return out


class DuplicateMember(ValueError):
    pass


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise DuplicateMember("duplicate member %r" % k)
        d[k] = v
    return d


def loads_strict(text):
    return json.loads(text, object_pairs_hook=_no_duplicates)


# ---------------------------------------------------- schema and comparison

def _json_kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _member_path(path, name):
    return name if not path else path + "." + name


def _fields_by_json(desc):
    return {f.json_name: f for f in desc.fields}


def schema_problems(value, desc, path=""):
    """Where the JSON object `value` contradicts message `desc`."""
    problems = []
    fields = _fields_by_json(desc)
    for name, v in value.items():
        p = _member_path(path, name)
        f = fields.get(name)
        if f is None:
            problems.append("%s: member not in the schema" % p)
            continue
        if v is None:
            continue
        if f.label == FD.LABEL_REPEATED:
            if not isinstance(v, list):
                problems.append("%s: schema says array of %s, example has %s"
                                % (p, TYPE_NAMES[f.cpp_type], _json_kind(v)))
                continue
            for i, e in enumerate(v):
                problems += _value_problems(e, f, "%s[%d]" % (p, i))
        else:
            problems += _value_problems(v, f, p)
    return problems


def _value_problems(v, f, p):
    t = f.cpp_type
    want = TYPE_NAMES[t]
    if v is None:
        return ["%s: null inside an array" % p]
    if t == FD.CPPTYPE_MESSAGE:
        if not isinstance(v, dict):
            return ["%s: schema says object, example has %s" % (p, _json_kind(v))]
        return schema_problems(v, f.message_type, p)
    if t in INT_RANGES:
        if not _is_number(v) or (isinstance(v, float) and not v.is_integer()):
            what = _json_kind(v) if not _is_number(v) else "non-integer %r" % v
            return ["%s: schema says %s, example has %s" % (p, want, what)]
        lo, hi = INT_RANGES[t]
        if not lo <= v <= hi:
            return ["%s: %s out of range for %s" % (p, v, want)]
        return []
    if t in (FD.CPPTYPE_DOUBLE, FD.CPPTYPE_FLOAT):
        if not _is_number(v):
            return ["%s: schema says %s, example has %s" % (p, want, _json_kind(v))]
        return []
    if t == FD.CPPTYPE_BOOL and not isinstance(v, bool):
        return ["%s: schema says bool, example has %s" % (p, _json_kind(v))]
    if t == FD.CPPTYPE_STRING and not isinstance(v, str):
        return ["%s: schema says string, example has %s" % (p, _json_kind(v))]
    if t == FD.CPPTYPE_ENUM:
        if isinstance(v, str) and f.enum_type.values_by_name.get(v) is None:
            return ["%s: %r is no value of the enum" % (p, v)]
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            return ["%s: schema says enum, example has %s" % (p, _json_kind(v))]
    return []


def _scalar_equal(f, want, got, sent_side):
    """`want` from the example (schema-valid), `got` decoded/sent."""
    t = f.cpp_type
    if t in INT_RANGES:
        if sent_side:
            # docs/design.md: 64-bit integers are JSON numbers, never strings.
            if not _is_number(got) or isinstance(got, float):
                return False
        elif isinstance(got, str):  # MessageToDict prints 64-bit as strings
            try:
                got = int(got)
            except ValueError:
                return False
        return _is_number(got) and got == want
    if t in (FD.CPPTYPE_DOUBLE, FD.CPPTYPE_FLOAT):
        return _is_number(got) and got == want
    if t == FD.CPPTYPE_BOOL:
        return isinstance(got, bool) and got == want
    if t == FD.CPPTYPE_ENUM:
        if isinstance(want, int):
            want = f.enum_type.values_by_number[want].name
        return got == want
    return type(got) is type(want) and got == want


def _default_of(f):
    t = f.cpp_type
    if t in INT_RANGES or t in (FD.CPPTYPE_DOUBLE, FD.CPPTYPE_FLOAT):
        return 0
    if t == FD.CPPTYPE_BOOL:
        return False
    if t == FD.CPPTYPE_STRING:
        return ""
    return None


def _show(v):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= 60 else s[:57] + "..."


def compare(want, got, desc, path, sent_side):
    """Members of `want` (example JSON object, schema-valid) against `got`
    (sent JSON object, or MessageToDict of the typed response)."""
    diffs = []
    fields = _fields_by_json(desc)
    for name, w in want.items():
        p = _member_path(path, name)
        f = fields[name]
        repeated = f.label == FD.LABEL_REPEATED
        present = name in got
        g = got.get(name)
        if w is None or (repeated and w == []):
            if sent_side and present and g not in (None, []):
                diffs.append("%s: example has %s, sent %s" % (p, _show(w), _show(g)))
            continue
        if not present:
            if sent_side:
                diffs.append("%s: not sent (example has %s)" % (p, _show(w)))
            elif (not repeated and not f.has_presence
                  and _default_of(f) is not None
                  and _scalar_equal(f, w, _default_of(f), False)):
                pass  # proto3 default of a field without presence
            else:
                diffs.append("%s: absent in the typed response (example has %s)"
                             % (p, _show(w)))
            continue
        if repeated:
            if not isinstance(g, list) or len(g) != len(w):
                diffs.append("%s: example has %d elements, %s %s"
                             % (p, len(w), "sent" if sent_side else "got",
                                _show(g)))
                continue
            for i, (we, ge) in enumerate(zip(w, g)):
                diffs += _compare_value(f, we, ge, "%s[%d]" % (p, i), sent_side)
        else:
            diffs += _compare_value(f, w, g, p, sent_side)
    if sent_side:
        for name, g in got.items():
            if name not in want:
                diffs.append("%s: sent %s, not in the example"
                             % (_member_path(path, name), _show(g)))
    return diffs


def _compare_value(f, w, g, p, sent_side):
    if f.cpp_type == FD.CPPTYPE_MESSAGE:
        if not isinstance(g, dict):
            return ["%s: example has an object, %s %s"
                    % (p, "sent" if sent_side else "got", _show(g))]
        return compare(w, g, f.message_type, p, sent_side)
    if _scalar_equal(f, w, g, sent_side):
        return []
    return ["%s: example has %s, %s %s"
            % (p, _show(w), "sent" if sent_side else "got", _show(g))]


# Query-string parameters that are no API member (API 2.0 common parameters).
COMMON_PARAMS = {"Action", "Version", "Region", "Timestamp", "Nonce",
                 "SecretId", "Signature", "SignatureMethod", "Token",
                 "Language", "RequestClient"}


def query_to_json(pairs, desc):
    """API 2.0 flattened parameters (`Filters.0.Values.1=v`) -> the JSON
    object they stand for, values typed by the schema. Returns (obj,
    problems)."""
    problems = []
    root = {}

    def typed(f, v, p):
        t = f.cpp_type
        if t in INT_RANGES:
            if not re.fullmatch(r"-?[0-9]+", v):
                problems.append("%s: schema says %s, example has %r"
                                % (p, TYPE_NAMES[t], v))
                return None
            return int(v)
        if t in (FD.CPPTYPE_DOUBLE, FD.CPPTYPE_FLOAT):
            try:
                return float(v) if re.search(r"[.eE]", v) else int(v)
            except ValueError:
                problems.append("%s: schema says %s, example has %r"
                                % (p, TYPE_NAMES[t], v))
                return None
        if t == FD.CPPTYPE_BOOL:
            if v not in ("true", "false"):
                problems.append("%s: schema says bool, example has %r" % (p, v))
                return None
            return v == "true"
        if t == FD.CPPTYPE_MESSAGE:
            problems.append("%s: schema says object, example has %r" % (p, v))
            return None
        return v

    for name, value in pairs:
        parts = name.split(".")
        if len(parts) == 1 and parts[0] in COMMON_PARAMS and \
                parts[0] not in _fields_by_json(desc):
            continue
        node, d, path = root, desc, ""
        ok = True
        i = 0
        while i < len(parts):
            member = parts[i]
            f = _fields_by_json(d).get(member)
            path = _member_path(path, member)
            if f is None:
                problems.append("%s: member not in the schema" % path)
                ok = False
                break
            i += 1
            if f.label == FD.LABEL_REPEATED:
                if i == len(parts) or not parts[i].isdigit():
                    problems.append("%s: an array member without an index"
                                    % path)
                    ok = False
                    break
                index = int(parts[i])
                path = "%s[%d]" % (path, index)
                i += 1
                slots = node.setdefault(member, {})  # index -> value
                if i == len(parts):
                    slots[index] = typed(f, value, path)
                    break
                if f.cpp_type != FD.CPPTYPE_MESSAGE:
                    problems.append("%s: %s is no object" % (path, TYPE_NAMES[f.cpp_type]))
                    ok = False
                    break
                node, d = slots.setdefault(index, {}), f.message_type
                continue
            if i == len(parts):
                node[member] = typed(f, value, path)
                break
            if f.cpp_type != FD.CPPTYPE_MESSAGE:
                problems.append("%s: %s is no object" % (path, TYPE_NAMES[f.cpp_type]))
                ok = False
                break
            node, d = node.setdefault(member, {}), f.message_type
        if not ok:
            continue

    def arrays(node, d, path):
        # {index: value} -> [values]; indices must be 0..n-1.
        for member, v in list(node.items()):
            f = _fields_by_json(d)[member]
            p = _member_path(path, member)
            if f.label == FD.LABEL_REPEATED:
                if sorted(v) != list(range(len(v))):
                    problems.append("%s: indices %s are not 0..%d"
                                    % (p, sorted(v), len(v) - 1))
                v = [v[k] for k in sorted(v)]
                if f.cpp_type == FD.CPPTYPE_MESSAGE:
                    for k, e in enumerate(v):
                        arrays(e, f.message_type, "%s[%d]" % (p, k))
                node[member] = v
            elif f.cpp_type == FD.CPPTYPE_MESSAGE:
                arrays(v, f.message_type, p)

    arrays(root, desc, "")
    return root, problems


def message_to_dict(message):
    """Typed response -> JSON (json_name keys, proto3 defaults printed)."""
    try:
        return json_format.MessageToDict(
            message, including_default_value_fields=True,
            preserving_proto_field_name=False)
    except TypeError:  # protobuf >= 26 renamed the option
        return json_format.MessageToDict(
            message, always_print_fields_with_no_presence=True,
            preserving_proto_field_name=False)


def reason_of(problems):
    if len(problems) <= MAX_PROBLEMS:
        return "; ".join(problems)
    return "%s (+%d more)" % ("; ".join(problems[:MAX_PROBLEMS]),
                              len(problems) - MAX_PROBLEMS)


# -------------------------------------------------------- known-list file

LINE_RE = re.compile(r"^(\S+/v\d{8}) (\S+) #(\d+) (request|response): (.+)$")


def use_all_products(tmp):
    """--all-products: every bundled product version (docs/protogen.md): the
    specs unpacked from the vendored tarball, the protos the build generates
    (tools/protogen/gen_all.py), and known_contradictions_all.txt."""
    global SPECS, KNOWN_FILE, PROTO_DIRS
    specs = os.path.join(tmp, "specs")
    with tarfile.open(os.path.join(REPO, "third_party", "tencentcloud-specs",
                                   "tccli-specs.tar.xz"), "r:xz") as tar:
        tar.extractall(specs)
    generated = os.path.join(tmp, "proto")
    subprocess.run(["/usr/bin/python3",
                    os.path.join(REPO, "tools", "protogen", "gen_all.py"),
                    "--out", generated], check=True, stdout=subprocess.DEVNULL)
    SPECS, PROTO_DIRS = specs, [PROTO_DIR, generated]
    KNOWN_FILE = os.path.join(HERE, "known_contradictions_all.txt")


def read_known(path=None):
    path = path or KNOWN_FILE
    known = {}
    if not os.path.exists(path):
        return known
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            m = LINE_RE.match(line)
            if not m:
                raise ValueError("%s:%d: not `<svc>/<ver> <Action> #<index> "
                                 "request|response: <reason>`: %r"
                                 % (path, n, line))
            key = ("%s %s #%s" % (m.group(1), m.group(2), m.group(3)),
                   m.group(4))
            if key in known:
                raise ValueError("%s:%d: listed twice: %s %s"
                                 % (path, n, key[0], key[1]))
            known[key] = m.group(5)
    return known


HEADER = """\
# Examples of third_party/tencentcloud-specs that contradict their own schema
# (api.json, as generated into proto/): checked by conformance_test.py, which
# fails when an example not listed here fails and when a listed one passes or
# fails for another reason. One line per example and side:
#   <svc>/<vYYYYMMDD> <Action> #<index in examples.json> request|response: <reason>
# Regenerate with: /usr/bin/python3 tests/conformance/conformance_test.py \\
#   --gateway build/gateway/main/envelope-gateway --write-known
"""


def write_known(failures, path=None):
    path = path or KNOWN_FILE
    with open(path, "w", encoding="utf-8") as f:
        header = HEADER
        if path.endswith("_all.txt"):  # --all-products
            header = header.replace(
                "third_party/tencentcloud-specs that", "every bundled product version that"
            ).replace("--write-known\n", "--write-known --all-products\n")
        f.write(header)
        for (key, side), reason in sorted(failures.items()):
            f.write("%s %s: %s\n" % (key, side, reason))


# -------------------------------------------------------------------- test

class ConformanceTest(harness.GatewayFixture, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = None
        cls.emulator = cls.gateway = cls.channel = None
        try:
            cls.examples = load_examples()
            cls._generate()
            cls.emulator = harness.Emulator.start(
                "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY,
                "--specs", SPECS, timeout=None)
            cls.gateway, gateway_addr = harness.start_gateway(
                GATEWAY_BIN, cls.emulator.url, "--region=" + REGION,
                "--max-attempts=1", secret_id=SECRET_ID, secret_key=SECRET_KEY)
            cls.channel = harness.open_channel(gateway_addr, options=[
                ("grpc.max_receive_message_length", -1),
                ("grpc.max_send_message_length", -1)])
            cls.emulator.clear_rules()
            cls.emulator.clear_requests()
            start = time.monotonic()
            cls.results = {"request": {}, "response": {}}  # key -> problems
            cls.notes = []
            cls._run_all()
            cls.elapsed = time.monotonic() - start
        except BaseException:
            cls._cleanup()
            raise

    @classmethod
    def _generate(cls):
        files = sorted({"tencentcloud/%s/%s/%s.proto" % (e.svc, e.ver_dir, e.svc)
                        for e in cls.examples})
        cls.tmp = harness.protoc_python(PROTO_DIRS, files,
                                        prefix="conformance-test-")
        cls.services = {}  # (svc, ver_dir) -> (module, ServiceDescriptor)
        for e in cls.examples:
            k = (e.svc, e.ver_dir)
            if k in cls.services:
                continue
            mod = harness.import_generated(
                cls.tmp, "tencentcloud.%s.%s.%s_pb2" % (e.svc, e.ver_dir, e.svc))
            (service,) = mod.DESCRIPTOR.services_by_name.values()
            cls.services[k] = (mod, service)

    # One gRPC call per example: the request built from the example's body
    # (an empty one when the body cannot be built), answered by the example's
    # output through a one-shot emulator rule. Calls run concurrently in
    # batches where each (service, version, action) occurs once, so that the
    # rule and the recorded request of a call are known by that triple.
    @classmethod
    def _run_all(cls):
        pending = list(cls.examples)
        while pending:
            batch, rest, seen = [], [], set()
            for ex in pending:
                k = (ex.svc, ex.version, ex.action)
                if k in seen or len(batch) >= BATCH:
                    rest.append(ex)
                else:
                    seen.add(k)
                    batch.append(ex)
            pending = rest
            cls._run_batch(batch)

    @classmethod
    def _run_batch(cls, batch):
        states = [cls._prepare(ex) for ex in batch]
        states = [st for st in states if st is not None]
        cls.emulator.rule([
            {"action": st.ex.action, "service": st.ex.svc,
             "version": st.ex.version, "times": 1, "body": st.ex.output}
            for st in states])
        for st in states:
            st.future = st.call.future(st.request, timeout=RPC_TIMEOUT)
        for st in states:
            try:
                st.reply, st.err = st.future.result(), None
            except grpc.RpcError as e:
                st.reply, st.err = None, e
        recorded = {}
        for rec in cls.emulator.requests():
            k = (rec.get("service"), rec.get("version"), rec.get("action"))
            recorded.setdefault(k, []).append(rec)
        cls.emulator.clear_requests()
        cls.emulator.clear_rules()
        for st in states:
            ex = st.ex
            cls._evaluate(st, recorded.get((ex.svc, ex.version, ex.action), []))

    class _State:
        pass

    @classmethod
    def _prepare(cls, ex):
        mod, service = cls.services[(ex.svc, ex.ver_dir)]
        method = service.methods_by_name.get(ex.action)
        if method is None:
            why = ["action has no rpc in service %s (not in api.json, or "
                   "not online)" % service.full_name]
            cls.results["request"][ex.key] = why
            cls.results["response"][ex.key] = why
            return None
        st = cls._State()
        st.ex, st.method = ex, method
        req_cls = getattr(mod, method.input_type.name)
        resp_cls = getattr(mod, method.output_type.name)

        # Request: example body -> typed request.
        st.req_problems = []
        st.body = None
        text = ex.body_text()
        if ex.is_query():
            st.body, st.req_problems = query_to_json(ex.query_pairs(),
                                                     method.input_type)
            if st.req_problems:
                st.body = None
        elif not text:
            st.req_problems.append("request body is empty")
        else:
            try:
                st.body = loads_strict(text)
                if not isinstance(st.body, dict):
                    st.req_problems.append("request body is a JSON %s, not an "
                                           "object" % _json_kind(st.body))
                    st.body = None
            except ValueError as e:
                st.req_problems.append("request body is not JSON: %s" % e)
        if st.body is not None:
            st.req_problems += schema_problems(st.body, method.input_type)
        st.request = req_cls()
        if st.body is not None and not st.req_problems:
            try:
                json_format.ParseDict(st.body, st.request,
                                      ignore_unknown_fields=False)
            except json_format.ParseError as e:
                st.req_problems.append("json_format cannot build the typed "
                                       "request: %s" % e)
                st.request = req_cls()

        # Response: the example's output, as the emulator's one answer.
        st.resp_problems = []
        st.expected = None
        try:
            envelope = loads_strict(ex.output)
            resp = envelope.get("Response") if isinstance(envelope, dict) else None
            if not isinstance(resp, dict):
                st.resp_problems.append("output has no Response object")
            elif "Error" in resp:
                st.resp_problems.append("output is a failure envelope (%s)"
                                        % _show(resp["Error"]))
            else:
                st.expected = resp
                st.resp_problems += schema_problems(resp, method.output_type,
                                                    "Response")
        except ValueError as e:
            st.resp_problems.append("output is not JSON: %s" % e)

        st.call = cls.channel.unary_unary(
            "/%s/%s" % (service.full_name, ex.action),
            request_serializer=req_cls.SerializeToString,
            response_deserializer=resp_cls.FromString)
        return st

    @classmethod
    def _evaluate(cls, st, recorded):
        ex, method, err = st.ex, st.method, st.err
        # Request side: what the emulator received.
        req_problems = st.req_problems
        if not req_problems:
            if len(recorded) != 1:
                req_problems.append(
                    "emulator received %d requests (gRPC %s)"
                    % (len(recorded), err.code().name if err else "OK"))
            else:
                rec = recorded[0]
                if rec.get("signature_ok") is not True:
                    req_problems.append("signature not accepted by the emulator")
                try:
                    sent = json.loads(rec.get("body") or "")
                except ValueError as e:
                    sent = None
                    req_problems.append("sent body is not JSON: %s" % e)
                if isinstance(sent, dict):
                    req_problems += compare(st.body, sent, method.input_type,
                                            "", True)
                elif sent is not None:
                    req_problems.append("sent body is not an object")
        cls.results["request"][ex.key] = req_problems

        # Response side: the typed response against the example.
        resp_problems = st.resp_problems
        if not resp_problems:
            if err is not None:
                resp_problems.append("gateway answered %s: %s"
                                     % (err.code().name, err.details()))
            else:
                got = message_to_dict(st.reply)
                resp_problems += compare(st.expected, got, method.output_type,
                                         "Response", False)
        elif st.expected is not None and err is not None and \
                err.code() != grpc.StatusCode.INTERNAL:
            cls.notes.append("%s: response schema contradiction answered %s, "
                             "not INTERNAL: %s" % (ex.key, err.code().name,
                                                   err.details()))
        cls.results["response"][ex.key] = resp_problems
        if VERBOSE and err is not None:
            print("%s: gRPC %s: %s" % (ex.key, err.code().name, err.details()),
                  file=sys.stderr)

    # ----------------------------------------------------------- checks

    def _side(self, side):
        known = read_known()
        results = self.results[side]
        failures = {k: reason_of(p) for k, p in results.items() if p}
        listed = {k: r for (k, s), r in known.items() if s == side}
        passed = len(results) - len(failures)
        print("conformance: %s side %d passed / %d total (%d listed "
              "contradictions)" % (side, passed, len(results), len(listed)),
              file=sys.stderr)
        wrong = []
        for k, reason in sorted(failures.items()):
            if k not in listed:
                wrong.append("NOT LISTED  %s %s: %s" % (k, side, reason))
            elif listed[k] != reason:
                wrong.append("CHANGED     %s %s: %s\n      listed: %s"
                             % (k, side, reason, listed[k]))
        for k in sorted(listed):
            if k not in results:
                wrong.append("UNKNOWN     %s %s: no such example" % (k, side))
            elif k not in failures:
                wrong.append("NOW PASSES  %s %s (listed: %s)"
                             % (k, side, listed[k]))
        return failures, wrong

    def test_all(self):
        req_fail, req_wrong = self._side("request")
        resp_fail, resp_wrong = self._side("response")
        print("conformance: %d examples in %.1f s" % (len(self.examples),
                                                     self.elapsed),
              file=sys.stderr)
        for n in self.notes:
            print("note: " + n, file=sys.stderr)
        if WRITE_KNOWN:
            failures = {(k, "request"): r for k, r in req_fail.items()}
            failures.update({(k, "response"): r for k, r in resp_fail.items()})
            write_known(failures)
            print("wrote %s (%d lines)" % (KNOWN_FILE, len(failures)),
                  file=sys.stderr)
            return
        wrong = req_wrong + resp_wrong
        self.assertFalse(wrong, "\n" + "\n".join(wrong) + "\n%d mismatch(es) "
                         "with %s" % (len(wrong), KNOWN_FILE))


class ComparatorSelfTest(unittest.TestCase):
    """The checks above catch what they are meant to (no gateway needed)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = harness.protoc_python([PROTO_DIR], [
            "tencentcloud/cvm/v20170312/cvm.proto",
            "tencentcloud/cam/v20190116/cam.proto"],
            prefix="conformance-self-test-")
        cls.cvm = harness.import_generated(
            cls.tmp, "tencentcloud.cvm.v20170312.cvm_pb2")
        cls.cam = harness.import_generated(
            cls.tmp, "tencentcloud.cam.v20190116.cam_pb2")

    @classmethod
    def tearDownClass(cls):
        harness.shutdown(tmp=cls.tmp)

    def req(self, want, sent):
        d = self.cvm.DescribeInstancesRequest.DESCRIPTOR
        return compare(want, sent, d, "", True)

    def test_request_values(self):
        big = 9223372036854775807
        self.assertEqual(self.req({"Offset": big}, {"Offset": big}), [])
        self.assertTrue(self.req({"Offset": big}, {"Offset": big - 1}))
        self.assertTrue(self.req({"Offset": big}, {"Offset": str(big)}))
        self.assertTrue(self.req({"Offset": 1}, {"Offset": 1.0}))
        self.assertTrue(self.req({"Offset": 1}, {"Offset": True}))
        self.assertTrue(self.req({"Offset": 0}, {}))
        self.assertTrue(self.req({}, {"Offset": 0}))
        self.assertEqual(self.req({"Offset": None, "InstanceIds": []}, {}), [])
        self.assertTrue(self.req({"InstanceIds": ["a", "b"]},
                                 {"InstanceIds": ["b", "a"]}))
        self.assertTrue(self.req({"Filters": [{"Name": "zone"}]},
                                 {"Filters": [{"Name": "zone", "Values": ["x"]}]}))
        self.assertEqual(self.req({"Filters": [{}]}, {"Filters": [{}]}), [])

    def test_response_values(self):
        d = self.cvm.DescribeInstancesResponse.DESCRIPTOR
        m = self.cvm.DescribeInstancesResponse(total_count=0, request_id="r")
        got = message_to_dict(m)
        self.assertEqual(compare({"TotalCount": 0, "RequestId": "r",
                                  "InstanceSet": []}, got, d, "R", False), [])
        self.assertTrue(compare({"TotalCount": 3}, got, d, "R", False))
        m.total_count = 1234567890123456789
        got = message_to_dict(m)  # int64 printed as a string
        self.assertEqual(compare({"TotalCount": 1234567890123456789}, got, d,
                                 "R", False), [])
        self.assertTrue(compare({"TotalCount": 1234567890123456788}, got, d,
                                "R", False))
        self.assertTrue(compare({"InstanceSet": [{}]}, got, d, "R", False))

    def test_schema(self):
        d = self.cvm.DescribeInstancesRequest.DESCRIPTOR
        self.assertEqual(schema_problems({"Offset": 1, "InstanceIds": ["a"]},
                                         d), [])
        self.assertEqual(len(schema_problems({"Offset": "1"}, d)), 1)
        self.assertEqual(len(schema_problems({"offset": 1}, d)), 1)
        self.assertEqual(len(schema_problems({"Offset": 1.5}, d)), 1)
        self.assertEqual(len(schema_problems({"Offset": 1 << 63}, d)), 1)
        self.assertEqual(len(schema_problems({"InstanceIds": "a"}, d)), 1)
        self.assertEqual(len(schema_problems({"Filters": [{"Name": 1}]}, d)), 1)

    def test_query_string(self):
        d = self.cvm.DescribeInstancesRequest.DESCRIPTOR
        obj, problems = query_to_json(
            [("Filters.1.Values.0", "b"), ("Filters.0.Name", "zone"),
             ("Filters.1.Name", "x%20y"), ("Offset", "10"),
             ("InstanceIds.0", "ins-1"), ("Region", "ap-guangzhou")], d)
        self.assertEqual(problems, [])
        self.assertEqual(obj, {"Filters": [{"Name": "zone"},
                                           {"Values": ["b"], "Name": "x%20y"}],
                               "Offset": 10, "InstanceIds": ["ins-1"]})
        self.assertTrue(query_to_json([("Offset", "ten")], d)[1])
        self.assertTrue(query_to_json([("InstanceIds.1", "a")], d)[1])
        self.assertTrue(query_to_json([("Nope", "a")], d)[1])

    def test_known_file_parses(self):
        read_known()


if __name__ == "__main__":
    GATEWAY_BIN = harness.take_gateway_flag()
    WRITE_KNOWN = harness.take_switch("--write-known")
    VERBOSE = harness.take_switch("--verbose")
    if harness.take_switch("--all-products"):
        ALL_TMP = tempfile.mkdtemp(prefix="conformance-all-")
        atexit.register(shutil.rmtree, ALL_TMP, True)
        use_all_products(ALL_TMP)
    if not GATEWAY_BIN:
        sys.exit("usage: conformance_test.py --gateway PATH (or env GATEWAY_BIN)"
                 " [--write-known] [--verbose] [--all-products]")
    unittest.main()
