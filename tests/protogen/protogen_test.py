#!/usr/bin/python3
"""Tests of tools/protogen/gen_proto.py and the committed protos it produced.

Run from the repo root:  /usr/bin/python3 tests/protogen/protogen_test.py
Needs protoc (3.21+) on PATH and the well-known types in /usr/include.
"""

import codecs
import copy
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GEN = os.path.join(REPO, "tools", "protogen", "gen_proto.py")
SPECS = os.path.join(REPO, "third_party", "tencentcloud-specs")
PROTO_ROOT = os.path.join(REPO, "proto")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
WKT_INCLUDE = "/usr/include"

sys.dont_write_bytecode = True  # keep tools/protogen free of __pycache__
sys.path.insert(0, os.path.dirname(GEN))
import gen_proto  # noqa: E402


def products():
    """[(service, version_dir, api.json path)] for every spec in third_party."""
    out = []
    for api in sorted(glob.glob(os.path.join(SPECS, "*", "v*", "api.json"))):
        vdir = os.path.basename(os.path.dirname(api))
        svc = os.path.basename(os.path.dirname(os.path.dirname(api)))
        out.append((svc, vdir, api))
    return out


def committed(svc, vdir):
    d = os.path.join(PROTO_ROOT, "tencentcloud", svc, vdir)
    return os.path.join(d, svc + ".proto"), os.path.join(d, svc + ".lock.json")


def run_gen(*args, env=None):
    return subprocess.run([PYTHON, GEN] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, cwd=REPO)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def first_difference(a, b):
    al = a.decode("utf-8", "replace").splitlines()
    bl = b.decode("utf-8", "replace").splitlines()
    for i in range(max(len(al), len(bl))):
        x = al[i] if i < len(al) else "<EOF>"
        y = bl[i] if i < len(bl) else "<EOF>"
        if x != y:
            return "line %d:\n  committed: %s\n  generated: %s" % (i + 1, x[:300], y[:300])
    return "no line differs (trailing bytes?)"


def protoc(args, cwd=REPO):
    return subprocess.run(["protoc"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)


# --- A tiny parser for protobuf text format (protoc --decode output) --------

_OPEN = re.compile(r"\s*([A-Za-z_]\w*)\s*\{")
_CLOSE = re.compile(r"\s*\}")
_SCALAR = re.compile(r'\s*([A-Za-z_]\w*)\s*:\s*("(?:[^"\\]|\\.)*"|[^\s}]+)')


def parse_text_format(text):
    """Parses protoc --decode output: nested dicts of name → list of values."""
    root = {}
    stack = [root]
    pos = 0
    end = len(text.rstrip())
    while pos < end:
        m = _OPEN.match(text, pos)
        if m:
            child = {}
            stack[-1].setdefault(m.group(1), []).append(child)
            stack.append(child)
            pos = m.end()
            continue
        m = _CLOSE.match(text, pos)
        if m:
            stack.pop()
            pos = m.end()
            continue
        m = _SCALAR.match(text, pos)
        if not m:
            raise ValueError("cannot parse text format at %r" % text[pos:pos + 80])
        val = m.group(2)
        if val.startswith('"'):
            val = codecs.escape_decode(val[1:-1].encode("ascii"))[0].decode("utf-8")
        stack[-1].setdefault(m.group(1), []).append(val)
        pos = m.end()
    return root


def one(d, key, default=None):
    v = d.get(key)
    return v[0] if v else default


class ProtogenTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="protogen_test_")
        cls.products = products()
        assert cls.products, "no specs under " + SPECS

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def gen_into(self, outdir, svc, vdir, api, lock_in=None, env=None, extra=()):
        out = os.path.join(outdir, "tencentcloud", svc, vdir, svc + ".proto")
        lock = os.path.join(outdir, "tencentcloud", svc, vdir, svc + ".lock.json")
        args = ["--api", api, "--service", svc, "--version-dir", vdir, "--out", out, "--lock", lock]
        if lock_in:
            args += ["--lock-in", lock_in]
        r = run_gen(*(args + list(extra)), env=env)
        self.assertEqual(r.returncode, 0, "gen_proto failed for %s: %s" % (svc, r.stderr.decode()))
        return out, lock

    # (1) committed files are what the generator produces ---------------------
    def test_committed_files_up_to_date(self):
        outdir = os.path.join(self.tmp, "regen")
        for svc, vdir, api in self.products:
            cproto, clock = committed(svc, vdir)
            self.assertTrue(os.path.exists(cproto), "missing committed " + cproto)
            self.assertTrue(os.path.exists(clock), "missing committed " + clock)
            out, lock = self.gen_into(outdir, svc, vdir, api, lock_in=clock)
            for c, g in ((cproto, out), (clock, lock)):
                a, b = read(c), read(g)
                if a != b:
                    self.fail("%s is out of date (run tools/protogen/regen.sh); first difference at %s"
                              % (os.path.relpath(c, REPO), first_difference(a, b)))
        # --check agrees and writes nothing.
        svc, vdir, api = self.products[0]
        cproto, clock = committed(svc, vdir)
        before = os.stat(cproto).st_mtime_ns
        r = run_gen("--api", api, "--out", cproto, "--lock", clock, "--check")
        self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode())
        self.assertEqual(before, os.stat(cproto).st_mtime_ns)

    # (2) everything compiles, also for C++ and Python code generation --------
    def descriptor_set(self):
        if getattr(type(self), "_fds", None) is None:
            outdir = os.path.join(self.tmp, "protoc")
            os.makedirs(outdir, exist_ok=True)
            files = [os.path.relpath(committed(s, v)[0], PROTO_ROOT) for s, v, _ in self.products]
            pb = os.path.join(outdir, "all.pb")
            r = protoc(["-I", PROTO_ROOT, "-I", WKT_INCLUDE, "--descriptor_set_out=" + pb,
                        "--include_imports", "--cpp_out=" + outdir, "--python_out=" + outdir] + files)
            type(self)._protoc_result = r
            if r.returncode != 0:
                type(self)._fds = {}
                return type(self)._fds
            with open(pb, "rb") as f:
                d = subprocess.run(["protoc", "--decode=google.protobuf.FileDescriptorSet",
                                    "-I", WKT_INCLUDE, "google/protobuf/descriptor.proto"],
                                   stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.assertEqual(d.returncode, 0, d.stderr.decode())
            type(self)._fds = parse_text_format(d.stdout.decode("utf-8"))
        return type(self)._fds

    def test_protos_compile(self):
        self.descriptor_set()
        r = type(self)._protoc_result
        self.assertEqual(r.returncode, 0, "protoc failed:\n" + r.stderr.decode()[:3000])
        self.assertEqual(r.stderr.decode().strip(), "", "protoc warnings:\n" + r.stderr.decode()[:3000])
        for svc, vdir, _ in self.products:
            # Each file also compiles alone (its own descriptor set).
            rel = os.path.relpath(committed(svc, vdir)[0], PROTO_ROOT)
            r = protoc(["-I", PROTO_ROOT, "-I", WKT_INCLUDE, "--include_imports",
                        "--descriptor_set_out=" + os.path.join(self.tmp, svc + ".pb"), rel])
            self.assertEqual(r.returncode, 0, r.stderr.decode())

    # (3) field numbers are stable across spec changes -------------------------
    def test_stability(self):
        svc, vdir, api = [p for p in self.products if p[0] == "sts"][0] if any(
            p[0] == "sts" for p in self.products) else self.products[0]
        _, clock = committed(svc, vdir)
        with open(api, encoding="utf-8") as f:
            spec = json.load(f)
        with open(clock, encoding="utf-8") as f:
            lock0 = json.load(f)
        # A real request object with a few members.
        action = sorted(spec["actions"])[0]
        obj = spec["actions"][action]["input"]
        members = spec["objects"][obj]["members"]
        self.assertGreaterEqual(len(members), 3)
        old_numbers = lock0["messages"][obj]["fields"]
        removed = members[1]["name"]
        new_members = [copy.deepcopy(m) for m in reversed(members) if m["name"] != removed]
        new_members.insert(1, {"name": "BrandNewMember", "type": "int", "member": "int64",
                               "required": False, "document": "added in a newer spec"})
        spec2 = copy.deepcopy(spec)
        spec2["objects"][obj]["members"] = new_members

        work = os.path.join(self.tmp, "stability", "specs", svc, vdir)
        os.makedirs(work, exist_ok=True)
        api2 = os.path.join(work, "api.json")
        with open(api2, "w", encoding="utf-8") as f:
            json.dump(spec2, f, ensure_ascii=False)
        outdir = os.path.join(self.tmp, "stability", "out")
        out, lock = self.gen_into(outdir, svc, vdir, api2, lock_in=clock)
        with open(lock, encoding="utf-8") as f:
            lock1 = json.load(f)
        ent = lock1["messages"][obj]
        for name, num in old_numbers.items():
            if name != removed:
                self.assertEqual(ent["fields"][name], num, "member %s renumbered" % name)
        self.assertNotIn(removed, ent["fields"])
        used = set(old_numbers.values()) | set(lock0["messages"][obj]["reserved"]["numbers"])
        self.assertEqual(ent["fields"]["BrandNewMember"], max(used) + 1)
        self.assertIn(old_numbers[removed], ent["reserved"]["numbers"])
        removed_field = gen_proto.snake_case(removed)
        self.assertIn(removed_field, ent["reserved"]["names"])
        # Other messages untouched.
        for m, e in lock0["messages"].items():
            if m != obj:
                self.assertEqual(lock1["messages"][m], e)
        # Proto text: reserved lines, the new field, old fields keep numbers.
        text = read(out).decode("utf-8")
        body = re.search(r"\nmessage %s \{\n(.*?)\n\}\n" % re.escape(obj), text, re.S).group(1)
        self.assertIn("  reserved %d;" % old_numbers[removed], body)
        self.assertIn('  reserved "%s";' % removed_field, body)
        self.assertRegex(body, r'optional int64 brand_new_member = %d \[json_name = "BrandNewMember"\];'
                         % (max(used) + 1))
        for name, num in old_numbers.items():
            if name != removed:
                self.assertRegex(body, r' %s = %d \[json_name = "%s"' % (
                    re.escape(gen_proto.snake_case(name)), num, re.escape(name)))
        self.assertNotIn('json_name = "%s"' % removed, body)
        # Fields are written in number order.
        nums = [int(n) for n in re.findall(r" = (\d+) \[json_name", body)]
        self.assertEqual(nums, sorted(nums))
        r = protoc(["-I", outdir, "-I", WKT_INCLUDE, "--descriptor_set_out=" + os.path.join(self.tmp, "s.pb"),
                    os.path.relpath(out, outdir)])
        self.assertEqual(r.returncode, 0, r.stderr.decode())

        # Regenerating from the updated lock is a no-op.
        r = run_gen("--api", api2, "--service", svc, "--version-dir", vdir, "--out", out,
                    "--lock", lock, "--check")
        self.assertEqual(r.returncode, 0, r.stdout.decode())

        # The removed member comes back, plus one whose field name collides with
        # an existing one: both get fresh numbers; the returning member cannot
        # take its reserved name, the colliding one is suffixed; nothing else moves.
        spec3 = copy.deepcopy(spec2)
        back = copy.deepcopy(members[1])
        first = new_members[0]["name"]
        collide = first.upper() if first.upper() != first else first + "X"
        spec3["objects"][obj]["members"].append(back)
        spec3["objects"][obj]["members"].append(
            {"name": collide, "type": "string", "member": "string", "document": "x"})
        with open(api2, "w", encoding="utf-8") as f:
            json.dump(spec3, f, ensure_ascii=False)
        out, lock = self.gen_into(outdir, svc, vdir, api2, lock_in=lock)
        with open(lock, encoding="utf-8") as f:
            lock2 = json.load(f)
        ent2 = lock2["messages"][obj]
        for name, num in ent["fields"].items():
            self.assertEqual(ent2["fields"][name], num)
        top = max(set(ent["fields"].values()) | set(ent["reserved"]["numbers"]))
        self.assertEqual(ent2["fields"][removed], top + 1)
        self.assertEqual(ent2["fields"][collide], top + 2)
        text = read(out).decode("utf-8")
        self.assertIn(' %s_%d = %d [json_name = "%s"' % (removed_field, top + 1, top + 1, removed), text)
        if gen_proto.collision_key(gen_proto.snake_case(collide)) == \
                gen_proto.collision_key(gen_proto.snake_case(first)):
            self.assertIn(' %s_%d = %d [json_name = "%s"' % (
                gen_proto.snake_case(collide), top + 2, top + 2, collide), text)
        r = protoc(["-I", outdir, "-I", WKT_INCLUDE, "--descriptor_set_out=" + os.path.join(self.tmp, "s.pb"),
                    os.path.relpath(out, outdir)])
        self.assertEqual(r.returncode, 0, r.stderr.decode())

    def test_numbers_skip_protobuf_reserved_range(self):
        self.assertEqual(gen_proto.next_number(set()), 1)
        self.assertEqual(gen_proto.next_number({1, 5}), 6)
        self.assertEqual(gen_proto.next_number({18999}), 20000)
        ent = gen_proto.update_lock_entry({"fields": {"A": 18999}, "reserved": {}}, ["A", "B"])
        self.assertEqual(ent["fields"], {"A": 18999, "B": 20000})

    # (4) type mapping, presence and json_name --------------------------------
    def test_type_mapping_presence_json_name(self):
        fds = self.descriptor_set()
        self.assertTrue(fds, "protoc failed: " + type(self)._protoc_result.stderr.decode()[:2000])
        files = dict((one(f, "name"), f) for f in fds["file"])
        scalar = {("int", "int64"): "TYPE_INT64", ("int", "uint64"): "TYPE_UINT64",
                  ("int", "int32"): "TYPE_INT32", ("int", "uint32"): "TYPE_UINT32",
                  ("float", "float"): "TYPE_DOUBLE", ("bool", "bool"): "TYPE_BOOL",
                  ("string", "string"): "TYPE_STRING", ("string", "date"): "TYPE_STRING",
                  ("string", "datetime"): "TYPE_STRING", ("string", "datetime_iso"): "TYPE_STRING"}
        seen_combos = set()
        for svc, vdir, api in self.products:
            with open(api, encoding="utf-8") as f:
                spec = json.load(f)
            objs = spec["objects"]
            rel = "tencentcloud/%s/%s/%s.proto" % (svc, vdir, svc)
            fd = files[rel]
            self.assertEqual(one(fd, "package"), "tencentcloud.%s.%s" % (svc, vdir))
            self.assertEqual(one(fd, "syntax"), "proto3")
            opts = one(fd, "options")
            self.assertEqual(one(opts, "go_package"),
                             "github.com/envelope-gateway/proto/tencentcloud/%s/%s;%s" % (svc, vdir, svc))
            self.assertEqual(one(opts, "java_package"), "dev.envelope.tencentcloud.%s.%s" % (svc, vdir))
            self.assertEqual(one(opts, "java_multiple_files"), "true")
            msgs = dict((one(m, "name"), m) for m in fd.get("message_type", []))
            # Service and rpcs.
            services = fd.get("service", [])
            self.assertEqual(len(services), 1)
            sd = services[0]
            self.assertEqual(one(sd, "name"), svc[0].upper() + svc[1:])
            online = sorted(a for a, v in spec["actions"].items() if v.get("status") == "online")
            self.assertEqual(sorted(one(m, "name") for m in sd.get("method", [])), online)
            pkg = ".tencentcloud.%s.%s." % (svc, vdir)

            def pname(o):
                return o if o in msgs else o + "_"
            for m in sd["method"]:
                a = spec["actions"][one(m, "name")]
                self.assertEqual(one(m, "input_type"), pkg + pname(a["input"]))
                self.assertEqual(one(m, "output_type"), pkg + pname(a["output"]))
            # Emitted messages = objects reachable from the online actions.
            roots_in = [spec["actions"][a]["input"] for a in online]
            roots_out = [spec["actions"][a]["output"] for a in online]

            def reach(roots):
                seen, todo = set(), list(roots)
                while todo:
                    o = todo.pop()
                    if o in seen:
                        continue
                    seen.add(o)
                    todo += [mm["member"] for mm in objs[o]["members"]
                             if mm["type"] in ("list", "object") and mm["member"] in objs]
                return seen
            emitted = reach(roots_in + roots_out)
            input_side = reach(roots_in)
            self.assertEqual(sorted(pname(o) for o in emitted), sorted(msgs))
            for o in emitted:
                md = msgs[pname(o)]
                fields = dict((one(f, "json_name"), f) for f in md.get("field", []))
                self.assertEqual(sorted(fields), sorted(mm["name"] for mm in objs[o]["members"]),
                                 "json names of %s" % o)
                for mm in objs[o]["members"]:
                    f = fields[mm["name"]]
                    where = "%s %s.%s" % (svc, o, mm["name"])
                    t, mem = mm["type"], mm["member"]
                    num = int(one(f, "number"))
                    self.assertFalse(19000 <= num <= 19999, where)
                    opt3 = one(f, "proto3_optional") == "true"
                    if t == "list":
                        self.assertEqual(one(f, "label"), "LABEL_REPEATED", where)
                        if mem in objs:
                            self.assertEqual(one(f, "type"), "TYPE_MESSAGE", where)
                            self.assertEqual(one(f, "type_name"), pkg + pname(mem), where)
                            seen_combos.add(("list", "<object>"))
                        else:
                            self.assertEqual(one(f, "type"), scalar[("string", "string")
                                                                    if mem.startswith("date") else
                                                                    ({"int64": "int", "uint64": "int",
                                                                      "int32": "int", "uint32": "int",
                                                                      "float": "float", "bool": "bool",
                                                                      "string": "string"}[mem], mem)], where)
                            seen_combos.add(("list", mem))
                        self.assertFalse(opt3, where)
                    elif t == "object":
                        self.assertEqual(one(f, "label"), "LABEL_OPTIONAL", where)
                        self.assertEqual(one(f, "type"), "TYPE_MESSAGE", where)
                        self.assertEqual(one(f, "type_name"), pkg + pname(mem), where)
                        self.assertFalse(opt3, where)  # message fields have presence anyway
                        seen_combos.add(("object", "<object>"))
                    else:
                        self.assertEqual(one(f, "type"), scalar[(t, mem)], where)
                        self.assertEqual(one(f, "label"), "LABEL_OPTIONAL", where)
                        want = o in input_side or mm.get("value_allowed_null") is True
                        self.assertEqual(opt3, want, where + " presence")
                        seen_combos.add((t, mem))
                    self.assertEqual(bool(one(f, "options") and one(one(f, "options"), "deprecated")),
                                     mm.get("disabled") is True, where + " deprecated")
            # Explicit json_name on every field line of the proto text.
            text = read(committed(svc, vdir)[0]).decode("utf-8")
            field_lines = [ln for ln in text.splitlines()
                           if re.match(r"^  (optional |repeated )?[A-Za-z_][\w.]* \w+ = \d+", ln)]
            self.assertEqual(len(field_lines), sum(len(m.get("field", [])) for m in msgs.values()))
            for ln in field_lines:
                self.assertRegex(ln, r' = \d+ \[json_name = "[A-Za-z0-9]+"(, deprecated = true)?\];$', ln)
            self.assertTrue(text.startswith(
                "// Generated by tools/protogen/gen_proto.py from "
                "third_party/tencentcloud-specs/%s/%s/api.json. DO NOT EDIT.\n" % (svc, vdir)))
        # The mappings the brief names all occur and were checked.
        for combo in [("int", "int64"), ("int", "uint64"), ("float", "float"), ("bool", "bool"),
                      ("string", "string"), ("list", "<object>"), ("list", "string"),
                      ("object", "<object>")]:
            self.assertIn(combo, seen_combos)
        # A few spot checks by hand.
        cvm = dict((one(m, "name"), m) for m in files["tencentcloud/cvm/v20170312/cvm.proto"]["message_type"])
        f = dict((one(x, "name"), x) for x in cvm["DescribeInstancesRequest"]["field"])
        self.assertEqual(one(f["instance_ids"], "json_name"), "InstanceIds")
        self.assertEqual(one(f["limit"], "proto3_optional"), "true")
        self.assertEqual(one(f["limit"], "type"), "TYPE_INT64")

    def test_snake_case(self):
        cases = {"InstanceIds": "instance_ids", "VPCId": "vpc_id", "IPv6Address": "ipv6_address",
                 "Ipv6Address": "ipv6_address", "Ip6RuleSet": "ip6_rule_set", "U2FToken": "u2f_token",
                 "InstanceIDs": "instance_ids", "AntiDDoSPackageId": "anti_ddos_package_id",
                 "CynosDBMySQL": "cynos_db_mysql", "TagKeyMd5": "tag_key_md5", "Limit": "limit",
                 "IKESaLifetimeSeconds": "ike_sa_lifetime_seconds", "CPU": "cpu"}
        for k, v in cases.items():
            self.assertEqual(gen_proto.snake_case(k), v, k)
        # Collisions: the lower number keeps the plain name.
        names = gen_proto.assign_field_names([(2, "VPCId"), (1, "VpcId"), (3, "Vpcid")], [])
        self.assertEqual(names, {"VpcId": "vpc_id", "VPCId": "vpc_id_2", "Vpcid": "vpcid_3"})
        names = gen_proto.assign_field_names([(4, "VpcId")], ["vpc_id"])
        self.assertEqual(names, {"VpcId": "vpc_id_4"})

    # Unknown types fail loudly; documents cannot break the syntax ------------
    def write_spec(self, name, objects, actions=None):
        d = os.path.join(self.tmp, name, "demo", "v20240101")
        os.makedirs(d, exist_ok=True)
        spec = {"actions": actions or {"DoIt": {"document": "does it", "input": "DoItRequest",
                                                "output": "DoItResponse", "name": "x",
                                                "status": "online"}},
                "metadata": {"apiVersion": "2024-01-01", "serviceShortName": "demo"},
                "objects": objects, "version": "1.0"}
        p = os.path.join(d, "api.json")
        with open(p, "w", encoding="utf-8") as f:
            json.dump(spec, f, ensure_ascii=True)
        return p

    def test_unknown_type_fails_loudly(self):
        api = self.write_spec("unknown", {
            "DoItRequest": {"document": "", "type": "object", "members": [
                {"name": "When", "type": "timestamp", "member": "timestamp", "document": ""}]},
            "DoItResponse": {"document": "", "type": "object", "members": []}})
        out = os.path.join(self.tmp, "unknown", "out", "demo.proto")
        r = run_gen("--api", api, "--out", out)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("DoItRequest.When", r.stderr.decode())
        self.assertIn("timestamp", r.stderr.decode())
        self.assertFalse(os.path.exists(out))

    def test_hostile_documents_and_names(self):
        evil = "line1\r\nline2 */ /* \u2028 sep \x00 nul \x0b vt\n\n  \"quote\" \\ back\rend \ud800"
        api = self.write_spec("evil", {
            "DoItRequest": {"document": evil, "type": "object", "members": [
                {"name": "Demo", "type": "object", "member": "Demo", "document": evil},
                {"name": "Count", "type": "int", "member": "uint64", "document": evil, "required": True},
                {"name": "Ratio", "type": "float", "member": "float", "document": ""},
                {"name": "VpcId", "type": "string", "member": "string", "document": ""},
                {"name": "VPCId", "type": "string", "member": "string", "document": ""}]},
            "DoItResponse": {"document": "", "type": "object", "members": [
                {"name": "Items", "type": "list", "member": "message", "document": evil},
                {"name": "N", "type": "int", "member": "int64", "document": "", "value_allowed_null": True},
                {"name": "M", "type": "int", "member": "int64", "document": ""},
                {"name": "RequestId", "type": "string", "member": "string", "document": ""}]},
            "Demo": {"document": evil, "usage": "in", "members": [
                {"name": "On", "type": "bool", "member": "bool", "document": ""}]},
            "message": {"document": "lower-case name", "usage": "out", "members": []},
            "Unused": {"document": "", "usage": "out", "members": [
                {"name": "X", "type": "weird", "member": "weird", "document": ""}]}})
        outdir = os.path.join(self.tmp, "evil", "out")
        out = os.path.join(outdir, "demo.proto")
        r = run_gen("--api", api, "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        text = read(out).decode("utf-8")
        self.assertNotIn("\r", text)
        self.assertNotIn("\x00", text)
        self.assertNotIn("\u2028", text)
        self.assertIn("service Demo {", text)
        self.assertIn("message Demo_ {", text)  # clashes with the service name
        self.assertIn("message message_ {", text)  # proto keyword
        self.assertNotIn("Unused", text)  # not reachable from an action
        self.assertIn('optional uint64 count = 2 [json_name = "Count"];', text)
        self.assertIn('optional double ratio = 3 [json_name = "Ratio"];', text)
        self.assertIn('optional string vpc_id = 4 [json_name = "VpcId"];', text)
        self.assertIn('optional string vpc_id_5 = 5 [json_name = "VPCId"];', text)
        self.assertIn('optional bool on = 1 [json_name = "On"];', text)  # input-side object
        self.assertIn('optional int64 n = 2 [json_name = "N"];', text)
        self.assertIn('  int64 m = 3 [json_name = "M"];', text)
        for ln in text.splitlines():
            s = ln.strip()
            self.assertTrue(s == "" or s.startswith("//") or not re.search(r"quote|line2|sep", s), ln)
        r = protoc(["-I", outdir, "--descriptor_set_out=" + os.path.join(self.tmp, "evil.pb"),
                    "--cpp_out=" + outdir, "--python_out=" + outdir, "demo.proto"])
        self.assertEqual(r.returncode, 0, r.stderr.decode())

    def test_check_mode(self):
        svc, vdir, api = self.products[0]
        outdir = os.path.join(self.tmp, "check")
        out, lock = self.gen_into(outdir, svc, vdir, api)
        with open(out, "a", encoding="utf-8") as f:
            f.write("// local edit\n")
        before = read(out)
        r = run_gen("--api", api, "--service", svc, "--version-dir", vdir, "--out", out,
                    "--lock", lock, "--check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("-// local edit", r.stdout.decode())
        self.assertEqual(read(out), before)

    # (5) determinism ---------------------------------------------------------
    def test_deterministic(self):
        for seed in ("1", "2"):
            env = dict(os.environ, PYTHONHASHSEED=seed)
            for svc, vdir, api in self.products:
                self.gen_into(os.path.join(self.tmp, "det" + seed), svc, vdir, api, env=env)
        for svc, vdir, _ in self.products:
            for ext in (".proto", ".lock.json"):
                rel = os.path.join("tencentcloud", svc, vdir, svc + ext)
                a = read(os.path.join(self.tmp, "det1", rel))
                b = read(os.path.join(self.tmp, "det2", rel))
                self.assertEqual(a, b, "%s differs between runs: %s" % (rel, first_difference(a, b)))


class AllProductsTest(unittest.TestCase):
    """tools/protogen/gen_all.py over the vendored tarball of every product
    version, and regen.sh --check (docs/protogen.md, "Layout")."""

    GEN_ALL = os.path.join(REPO, "tools", "protogen", "gen_all.py")

    def run_all(self, *args):
        return subprocess.run([PYTHON, self.GEN_ALL] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=REPO)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="protogen_all_")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_regen_check_passes(self):
        # What CI checks: committed protos, every lock and the unpacked specs
        # agree with the generator and the tarball.
        r = subprocess.run([os.path.join(REPO, "tools", "protogen", "regen.sh"), "--check"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
        self.assertEqual(r.returncode, 0, r.stdout.decode()[-2000:] + r.stderr.decode()[-2000:])

    def test_every_lock_has_a_spec_and_most_versions_are_bundled(self):
        listed = self.run_all("--list").stdout.decode().split()
        self.assertGreaterEqual(len(listed), 280)
        for six in ("cvm/v20170312", "vpc/v20170312", "cii/v20210408"):
            self.assertIn(six, listed)

    def test_emit_writes_one_product_that_protoc_compiles(self):
        r = self.run_all("--emit", "cbs/v20170312", "--out", self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        rel = "tencentcloud/cbs/v20170312/cbs.proto"
        text = read(os.path.join(self.tmp, rel)).decode("utf-8")
        self.assertIn("package tencentcloud.cbs.v20170312;", text)
        self.assertIn("service Cbs {", text)
        self.assertIn("rpc DescribeDisks(DescribeDisksRequest)", text)
        pc = subprocess.run(["protoc", "-I", self.tmp, "-I", WKT_INCLUDE,
                             "--descriptor_set_out=" + os.path.join(self.tmp, "cbs.pb"), rel],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(pc.returncode, 0, pc.stderr.decode())
        stdout = self.run_all("--emit", "cbs/v20170312")
        self.assertEqual(stdout.stdout.decode(), text)
        self.assertEqual(self.run_all("--emit", "nosuch/v20170312").returncode, 2)

    def test_binary_members_are_bytes(self):
        text = self.run_all("--emit", "cii/v20210408").stdout.decode()
        self.assertRegex(text, r'optional bytes file = \d+ \[json_name = "File"\];')

    def test_a_lock_that_would_change_fails_the_build_and_the_check(self):
        locks = os.path.join(self.tmp, "locks")
        src = os.path.join(PROTO_ROOT, "tencentcloud", "cbs")
        shutil.copytree(src, os.path.join(locks, "cbs"))
        lock = os.path.join(locks, "cbs", "v20170312", "cbs.lock.json")
        with open(lock, encoding="utf-8") as f:
            data = json.load(f)
        fields = data["messages"]["DescribeDisksRequest"]["fields"]
        fields.pop(sorted(fields)[0])
        with open(lock, "w", encoding="utf-8") as f:
            json.dump(data, f)
        r = self.run_all("--locks", locks, "--out", os.path.join(self.tmp, "out"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("cbs/v20170312: the lock", r.stderr.decode())
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "out", "tencentcloud", "cbs")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
