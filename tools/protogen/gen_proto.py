#!/usr/bin/python3
"""Generate a proto3 file from a Tencent Cloud API 3.0 api.json schema.

    gen_proto.py --api third_party/tencentcloud-specs/cvm/v20170312/api.json \
                 [--service cvm] [--version-dir v20170312] \
                 [--out proto/tencentcloud/cvm/v20170312/cvm.proto] \
                 [--lock proto/tencentcloud/cvm/v20170312/cvm.lock.json] \
                 [--check]

Field numbers are kept stable across regenerations by a lock file (JSON)
beside the proto: existing members keep their numbers, new members get
max(used, reserved) + 1, removed members become `reserved`.
See docs/protogen.md for the rules. Python 3 stdlib only.
"""

import argparse
import difflib
import json
import os
import re
import sys

TOOL_PATH = "tools/protogen/gen_proto.py"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOCK_FORMAT = 1

# Field numbers 19000-19999 are reserved by protobuf itself.
FIRST_RESERVED_RANGE = 19000
LAST_RESERVED_RANGE = 19999
MAX_FIELD_NUMBER = 536870911

# api.json (type, member) → proto scalar type. `member` is the element type of
# a list; for scalars it repeats or refines `type`.
SCALAR_TYPES = {
    ("int", "int64"): "int64",
    ("int", "uint64"): "uint64",
    ("int", "int32"): "int32",
    ("int", "uint32"): "uint32",
    ("float", "float"): "double",
    ("float", "double"): "double",
    ("bool", "bool"): "bool",
    ("string", "string"): "string",
    # Dates and times are strings on the wire of this API family; kept as-is.
    ("string", "date"): "string",
    ("string", "datetime"): "string",
    ("string", "datetime_iso"): "string",
    # File contents (cii UploadMedicalFileRequest.File). The API documents a
    # multipart upload for them; the gateway sends JSON, where protobuf
    # `bytes` is base64 (docs/protogen.md, "Types").
    ("binary", "binary"): "bytes",
}
# Element types of `list` members that are scalars.
LIST_SCALAR_TYPES = {
    "int64": "int64",
    "uint64": "uint64",
    "int32": "int32",
    "uint32": "uint32",
    "float": "double",
    "double": "double",
    "bool": "bool",
    "string": "string",
    "date": "string",
    "datetime": "string",
    "datetime_iso": "string",
}

# Words that may not be used as a message name (proto keywords and the
# scalar type names), so a message never shadows one.
PROTO_KEYWORDS = frozenset("""
syntax import weak public package option message enum service rpc returns
stream oneof map reserved extensions extend to max optional required repeated
group true false inf nan
double float int32 int64 uint32 uint64 sint32 sint64 fixed32 fixed64
sfixed32 sfixed64 bool string bytes
""".split())

IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SERVICE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
VERSION_DIR_RE = re.compile(r"^v(\d{4})(\d{2})(\d{2})$")


class GenError(Exception):
    pass


# ---------------------------------------------------------------------------
# Names

# Mixed-case acronyms that the generic rules would split badly.
_SPECIAL_WORDS = [
    ("IPv4", "Ipv4"),
    ("IPv6", "Ipv6"),
    ("IPsec", "Ipsec"),
    ("DDoS", "Ddos"),
    ("MySQL", "Mysql"),
    ("TBaaS", "Tbaas"),
    ("PaaS", "Paas"),
    ("SaaS", "Saas"),
    ("IaaS", "Iaas"),
]


def snake_case(name):
    """API member name → lower_snake_case field name.

    InstanceIds → instance_ids, VPCId → vpc_id, IPv6Address → ipv6_address,
    Ip6RuleSet → ip6_rule_set, U2FToken → u2f_token, InstanceIDs → instance_ids.
    """
    s = name
    for word, repl in _SPECIAL_WORDS:
        s = s.replace(word, repl)
    s = re.sub(r"[^A-Za-z0-9]+", "_", s)
    # Plural acronym: "IDs" followed by a word boundary → "IDS".
    s = re.sub(r"([A-Z]{2,})s(?=[A-Z_]|$)", r"\1S", s)
    # lower (or lower+digits) → Upper: "instanceIds" → "instance_Ids".
    s = re.sub(r"([a-z][0-9]*)(?=[A-Z])", r"\1_", s)
    # ACRONYM → Word: "VPCId" → "VPC_Id", "IP6Rule" → "IP6_Rule".
    s = re.sub(r"([A-Z0-9])(?=[A-Z][a-z])", r"\1_", s)
    s = re.sub(r"_+", "_", s.lower()).strip("_")
    if not s:
        s = "field"
    if s[0].isdigit():
        s = "f_" + s
    return s


def collision_key(field_name):
    # protoc rejects proto3 fields whose names are equal after lowercasing
    # and dropping underscores (their default JSON names would clash).
    return field_name.replace("_", "").lower()


def camel_service(service):
    return "".join(p[:1].upper() + p[1:] for p in service.split("_") if p)


def message_proto_name(api_name, service_name):
    """API object name → proto message name (as-is when possible)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", api_name)
    if not name or name[0].isdigit():
        name = "M_" + name
    # `_` never occurs in API object names, so the suffix cannot collide.
    while name in PROTO_KEYWORDS or name == service_name:
        name += "_"
    return name


def assign_field_names(fields, reserved_names):
    """fields: list of (number, member name). Returns {member: field name}.

    Processed in field-number order; a field whose snake_case name collides
    (protoc's rule: equal ignoring case and underscores) with a lower-numbered
    field or with a reserved name gets `_<number>` appended (then `_<k>` if
    still taken). Because new members always get higher numbers and removed
    names stay reserved, an existing field's name never changes.
    """
    taken = set(collision_key(n) for n in reserved_names)
    out = {}
    for number, member in sorted(fields):
        base = snake_case(member)
        cand = base
        if collision_key(cand) in taken:
            cand = "%s_%d" % (base, number)
            k = 2
            while collision_key(cand) in taken:
                cand = "%s_%d_%d" % (base, number, k)
                k += 1
        taken.add(collision_key(cand))
        out[member] = cand
    return out


# ---------------------------------------------------------------------------
# Spec


def field_type(spec_objects, obj_name, m):
    """Returns (label, proto type, referenced object or None)."""
    t, mem = m.get("type"), m.get("member")
    where = "%s.%s" % (obj_name, m.get("name"))
    if t == "list":
        if mem in LIST_SCALAR_TYPES:
            return "repeated", LIST_SCALAR_TYPES[mem], None
        if mem in spec_objects:
            return "repeated", None, mem
        raise GenError("%s: unsupported list element type %r (type=%r member=%r)" % (where, mem, t, mem))
    if t == "object":
        if mem in spec_objects:
            return "", None, mem
        raise GenError("%s: object member %r is not a known object (type=%r member=%r)" % (where, mem, t, mem))
    if (t, mem) in SCALAR_TYPES:
        return "", SCALAR_TYPES[(t, mem)], None
    raise GenError("%s: unsupported type combination type=%r member=%r" % (where, t, mem))


def load_spec(path):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        spec = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise GenError("%s: not valid JSON: %s" % (path, e))
    for key in ("actions", "objects"):
        if not isinstance(spec.get(key), dict):
            raise GenError("%s: missing %r object" % (path, key))
    for oname, obj in spec["objects"].items():
        if not isinstance(obj, dict) or not isinstance(obj.get("members"), list):
            raise GenError("%s: object %s has no members list" % (path, oname))
        seen = set()
        for m in obj["members"]:
            n = m.get("name") if isinstance(m, dict) else None
            if not isinstance(n, str) or not n:
                raise GenError("%s: object %s has a member without a name" % (path, oname))
            if n in seen:
                raise GenError("%s: object %s has member %s twice" % (path, oname, n))
            seen.add(n)
    return spec


def online_actions(spec):
    acts = []
    for name in sorted(spec["actions"]):
        a = spec["actions"][name]
        if a.get("status", "online") != "online":
            continue
        if not IDENT_RE.match(name):
            raise GenError("action %r is not a valid identifier" % name)
        for k in ("input", "output"):
            if a.get(k) not in spec["objects"]:
                raise GenError("action %s: %s object %r not found" % (name, k, a.get(k)))
        acts.append((name, a))
    return acts


def reachable(spec, roots):
    objs = spec["objects"]
    seen = set()
    stack = list(roots)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        for m in objs[n]["members"]:
            _, _, ref = field_type(objs, n, m)
            if ref is not None and ref not in seen:
                stack.append(ref)
    return seen


# ---------------------------------------------------------------------------
# Lock


def empty_lock():
    return {"format": LOCK_FORMAT, "messages": {}}


def load_lock(path):
    if not path or not os.path.exists(path):
        return empty_lock()
    with open(path, "r", encoding="utf-8") as f:
        try:
            lock = json.load(f)
        except ValueError as e:
            raise GenError("%s: not valid JSON: %s" % (path, e))
    if not isinstance(lock, dict) or not isinstance(lock.get("messages"), dict):
        raise GenError("%s: not a protogen lock file (no \"messages\")" % path)
    for mname, ent in lock["messages"].items():
        fields = ent.get("fields", {})
        res = ent.get("reserved", {})
        nums = list(fields.values()) + list(res.get("numbers", []))
        if any(not isinstance(n, int) or n < 1 for n in nums):
            raise GenError("%s: message %s has an invalid field number" % (path, mname))
        if len(set(fields.values())) != len(fields):
            raise GenError("%s: message %s uses a field number twice" % (path, mname))
    return lock


def next_number(used):
    n = max(used) + 1 if used else 1
    if FIRST_RESERVED_RANGE <= n <= LAST_RESERVED_RANGE:
        n = LAST_RESERVED_RANGE + 1
    if n > MAX_FIELD_NUMBER:
        raise GenError("out of field numbers")
    return n


def update_lock_entry(entry, members):
    """entry: lock entry (or None); members: API member names in spec order.

    Returns the new entry: {"fields": {member: n}, "reserved": {"numbers":[],
    "names": []}}.
    """
    old_fields = dict((entry or {}).get("fields", {}))
    old_res = (entry or {}).get("reserved", {})
    res_numbers = set(old_res.get("numbers", []))
    res_names = set(old_res.get("names", []))
    old_names = assign_field_names([(n, m) for m, n in old_fields.items()], res_names)

    fields = {}
    for m in members:
        if m in old_fields:
            fields[m] = old_fields[m]
    for m, n in sorted(old_fields.items(), key=lambda kv: kv[1]):
        if m not in fields:  # removed from the spec
            res_numbers.add(n)
            res_names.add(old_names[m])
    used = set(fields.values()) | res_numbers
    for m in members:
        if m not in fields:
            n = next_number(used)
            fields[m] = n
            used.add(n)
    return {
        "fields": fields,
        "reserved": {"names": sorted(res_names), "numbers": sorted(res_numbers)},
    }


def dump_lock(lock):
    return json.dumps(lock, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------
# Output


def clean_doc(text):
    """A document text → list of comment lines that cannot break the syntax."""
    if not isinstance(text, str):
        return []
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for line in text.split("\n"):
        # Anything that some tool might treat as a line break or that is not
        # printable goes; lone surrogates cannot be encoded as UTF-8.
        line = "".join(
            " " if (ord(c) < 0x20 and c != "\t") or c in "\x7f\u0085\u2028\u2029"
            or 0xD800 <= ord(c) <= 0xDFFF else c
            for c in line)
        line = line.replace("\t", "    ").rstrip()
        out.append(line)
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


def comment(lines, indent):
    res = []
    for line in lines:
        res.append(indent + ("// " + line if line else "//"))
    return res


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def source_label(api_path):
    ap = os.path.abspath(api_path)
    rel = os.path.relpath(ap, REPO_ROOT)
    if rel.startswith(".."):
        return ap.replace(os.sep, "/")
    return rel.replace(os.sep, "/")


def generate(spec, service, version_dir, lock, source):
    """Returns (proto text, new lock)."""
    if not SERVICE_RE.match(service):
        raise GenError("service %r must match %s" % (service, SERVICE_RE.pattern))
    vm = VERSION_DIR_RE.match(version_dir)
    if not vm:
        raise GenError("version dir %r must look like v20170312" % version_dir)
    api_version = "%s-%s-%s" % vm.groups()
    meta = spec.get("metadata") or {}
    if meta.get("apiVersion") and meta["apiVersion"] != api_version:
        raise GenError("version dir %s does not match metadata.apiVersion %s"
                       % (version_dir, meta["apiVersion"]))

    objs = spec["objects"]
    service_name = camel_service(service)
    package = "tencentcloud.%s.%s" % (service, version_dir)
    actions = online_actions(spec)
    if not actions:
        raise GenError("no online actions")
    inputs = [a["input"] for _, a in actions]
    outputs = [a["output"] for _, a in actions]
    emitted = reachable(spec, inputs + outputs)
    input_side = reachable(spec, inputs)
    request_msgs = set(inputs)

    pnames = {}
    for o in sorted(emitted):
        pnames[o] = message_proto_name(o, service_name)
    if len(set(pnames.values())) != len(pnames):
        raise GenError("message names collide after sanitising")

    # Lock: update entries of emitted messages, keep the others as they are
    # (so a message that comes back keeps its numbers).
    new_lock = {"format": LOCK_FORMAT, "messages": dict(lock.get("messages", {}))}
    for o in sorted(emitted):
        members = [m["name"] for m in objs[o]["members"]]
        new_lock["messages"][o] = update_lock_entry(lock["messages"].get(o), members)

    L = []
    L.append("// Generated by %s from %s. DO NOT EDIT." % (TOOL_PATH, source))
    L.append("// Field numbers are pinned by the lock file beside this file.")
    L.append("")
    L.append('syntax = "proto3";')
    L.append("")
    L.append("package %s;" % package)
    L.append("")
    L.append('option go_package = "github.com/envelope-gateway/proto/tencentcloud/%s/%s;%s";'
             % (service, version_dir, service))
    L.append("option java_multiple_files = true;")
    L.append('option java_package = "dev.envelope.tencentcloud.%s.%s";' % (service, version_dir))
    L.append("")
    title = " ".join(clean_doc(meta.get("serviceNameCN")))
    head = "%s (%s), API version %s." % (title, service, api_version) if title else \
        "%s, API version %s." % (service, api_version)
    brief = clean_doc(meta.get("api_brief"))
    L.extend(comment([head] + ([""] + brief if brief else []), ""))
    L.append("service %s {" % service_name)
    first = True
    for name, a in actions:
        if not first:
            L.append("")
        first = False
        doc = clean_doc(a.get("document"))
        L.extend(comment(doc, "  "))
        L.append("  rpc %s(%s) returns (%s);" % (name, pnames[a["input"]], pnames[a["output"]]))
    L.append("}")

    order = []
    for _, a in actions:
        for o in (a["input"], a["output"]):
            if o not in order:
                order.append(o)
    rest = sorted(o for o in emitted if o not in order)

    def emit_message(o):
        obj = objs[o]
        ent = new_lock["messages"][o]
        fields = ent["fields"]
        res = ent["reserved"]
        fnames = assign_field_names([(n, m) for m, n in fields.items()], res["names"])
        by_name = dict((m["name"], m) for m in obj["members"])
        is_req = o in request_msgs
        full_presence = o in input_side
        L.append("")
        doc = clean_doc(obj.get("document"))
        if pnames[o] != o:
            doc = doc + (["", "API object %s (renamed: the name is taken in this package)." % o]
                         if doc else ["API object %s (renamed: the name is taken in this package)." % o])
        L.extend(comment(doc, ""))
        L.append("message %s {" % pnames[o])
        if res["numbers"]:
            L.append("  reserved %s;" % ", ".join(str(n) for n in res["numbers"]))
        if res["names"]:
            L.append("  reserved %s;" % ", ".join(quote(n) for n in res["names"]))
        if res["numbers"] or res["names"]:
            if fields:
                L.append("")
        firstf = True
        for member, number in sorted(fields.items(), key=lambda kv: kv[1]):
            m = by_name[member]
            label, ptype, ref = field_type(objs, o, m)
            if ref is not None:
                ptype = pnames[ref]
            if label == "" and ref is None:
                if full_presence or m.get("value_allowed_null") is True:
                    label = "optional"
            opts = ["json_name = %s" % quote(member)]
            doc = clean_doc(m.get("document"))
            if m.get("disabled") is True:
                opts.append("deprecated = true")
                doc = doc + ["Disabled (deprecated) in the API spec."]
            if is_req and m.get("required") is True:
                doc = doc + ["Required."]
            if not firstf:
                L.append("")
            firstf = False
            L.extend(comment(doc, "  "))
            L.append("  %s%s %s = %d [%s];" % (label + " " if label else "", ptype,
                                               fnames[member], number, ", ".join(opts)))
        L.append("}")

    for o in order:
        emit_message(o)
    if rest:
        L.append("")
        L.append("// ---------------------------------------------------------------------------")
        L.append("// Data structures")
        for o in rest:
            emit_message(o)
    text = "\n".join(L) + "\n"
    return text, new_lock


# ---------------------------------------------------------------------------
# CLI


def derive(api_path, service, version_dir, spec):
    parts = os.path.abspath(api_path).replace(os.sep, "/").split("/")
    if not version_dir:
        if len(parts) >= 2 and VERSION_DIR_RE.match(parts[-2]):
            version_dir = parts[-2]
        elif (spec.get("metadata") or {}).get("apiVersion"):
            version_dir = "v" + spec["metadata"]["apiVersion"].replace("-", "")
        else:
            raise GenError("cannot derive --version-dir; pass it")
    if not service:
        if len(parts) >= 3 and VERSION_DIR_RE.match(parts[-2]) and SERVICE_RE.match(parts[-3]):
            service = parts[-3]
        elif (spec.get("metadata") or {}).get("serviceShortName"):
            service = spec["metadata"]["serviceShortName"]
        else:
            raise GenError("cannot derive --service; pass it")
    return service, version_dir


def read_or_none(path):
    if not os.path.exists(path):
        return None
    with open(path, "r", encoding="utf-8", newline="") as f:
        return f.read()


def write_atomic(path, text):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = path + ".tmp%d" % os.getpid()
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)


def show_diff(path, old, new, limit=200):
    diff = list(difflib.unified_diff(
        (old or "").splitlines(True), new.splitlines(True),
        fromfile=path + (" (current)" if old is not None else " (missing)"),
        tofile=path + " (generated)"))
    for line in diff[:limit]:
        sys.stdout.write(line if line.endswith("\n") else line + "\n")
    if len(diff) > limit:
        sys.stdout.write("... %d more diff lines\n" % (len(diff) - limit))


def main(argv=None):
    ap = argparse.ArgumentParser(description="api.json (Tencent Cloud API 3.0 schema) → .proto")
    ap.add_argument("--api", required=True, help="path to api.json")
    ap.add_argument("--service", help="service short name, e.g. cvm (default: from the path or metadata)")
    ap.add_argument("--version-dir", help="e.g. v20170312 (default: from the path or metadata)")
    ap.add_argument("--out", help="output .proto (default: proto/tencentcloud/<service>/<version>/<service>.proto)")
    ap.add_argument("--lock", help="lock file (default: <out dir>/<service>.lock.json)")
    ap.add_argument("--lock-in", help="read the lock from here instead of --lock (write still goes to --lock)")
    ap.add_argument("--source-name", help="spec path shown in the header (default: path relative to the repo)")
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 with a diff if the proto or lock would change")
    args = ap.parse_args(argv)

    try:
        spec = load_spec(args.api)
        service, version_dir = derive(args.api, args.service, args.version_dir, spec)
        out = args.out or os.path.join(REPO_ROOT, "proto", "tencentcloud", service, version_dir,
                                       service + ".proto")
        lock_path = args.lock or os.path.join(os.path.dirname(out), service + ".lock.json")
        lock = load_lock(args.lock_in or lock_path)
        text, new_lock = generate(spec, service, version_dir, lock,
                                  args.source_name or source_label(args.api))
    except GenError as e:
        sys.stderr.write("gen_proto: error: %s\n" % e)
        return 2
    except OSError as e:
        sys.stderr.write("gen_proto: error: %s\n" % e)
        return 2
    lock_text = dump_lock(new_lock)

    if args.check:
        changed = False
        for path, new in ((out, text), (lock_path, lock_text)):
            old = read_or_none(path)
            if old != new:
                changed = True
                show_diff(path, old, new)
        if changed:
            sys.stderr.write("gen_proto: %s is out of date; run tools/protogen/regen.sh\n" % out)
            return 1
        return 0

    write_atomic(out, text)
    write_atomic(lock_path, lock_text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
