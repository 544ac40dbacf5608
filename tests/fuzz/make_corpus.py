#!/usr/bin/python3
"""Seed corpora for the fuzz harnesses, generated at build time (the build
runs it into build-san/fuzz/seeds; only hand-made seeds are in git).

From the documented examples of the bundled products
(third_party/tencentcloud-specs/*/*/examples.json):
  envelope_fuzzer              "0" (HTTP 200) + each example's whole answer,
                               {"Response": ...}; error answers also with
                               other HTTP statuses
  json_to_proto_fuzzer         "@<its response type>\\n" + its Response
                               object, "@<its request type>\\n" + its params,
                               and DescribeInstances' Responses bare
  proto_json_roundtrip_fuzzer  the same values as protobuf wire bytes
                               (Debian's python3-protobuf reads the JSON),
                               and the hand-made JSON seeds of the test protos
  params_json_fuzzer           each example's request params
  credentials_fuzzer           "0" (HTTP 200) + STS's answers
  config_fuzzer                every gateway.yaml under deploy/ and the YAML
                               of docs/configuration.md
and, for every harness that reads JSON or YAML, nesting too deep to keep in
git as files (see hostile_seeds()).

Numbers keep the exact text of the examples (a long fraction such as
8.0555555555555555555555555555510154277e-0332 must reach the parser as
written). Each seed is named by its SHA-1, as libFuzzer names its own, so
identical seeds collapse.

Usage: make_corpus.py --source-dir SRC --out DIR --descriptor-set PB...
"""

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import sys

JSON_HARNESSES = ("envelope_fuzzer", "json_to_proto_fuzzer",
                  "params_json_fuzzer", "credentials_fuzzer")


class Number(str):
    """A JSON number kept as its text."""


def loads_exact(text):
    return json.loads(text, parse_float=Number, parse_int=Number,
                      parse_constant=Number)


def dumps_exact(value):
    """Compact JSON, numbers as they were written, UTF-8 kept."""
    if isinstance(value, Number):
        return str(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(dumps_exact(v) for v in value) + "]"
    return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + dumps_exact(v)
                          for k, v in value.items()) + "}"


class Seeds:
    def __init__(self, out):
        self.out = out
        self.counts = {}

    def add(self, harness, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        folder = os.path.join(self.out, harness)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, hashlib.sha1(data).hexdigest()), "wb") as f:
            f.write(data)
        self.counts[harness] = self.counts.get(harness, 0) + 1


def examples(source_dir):
    """(service, version folder, action, example) of every product."""
    pattern = os.path.join(source_dir, "third_party/tencentcloud-specs/*/v*/examples.json")
    for path in sorted(glob.glob(pattern)):
        version = os.path.basename(os.path.dirname(path))
        service = os.path.basename(os.path.dirname(os.path.dirname(path)))
        with open(path, encoding="utf-8") as f:
            actions = json.load(f)["actions"]
        for action in sorted(actions):
            for example in actions[action]:
                yield service, version, action, example


def request_body(example):
    """The JSON params after the HTTP head of `input`; None for the older
    query-string examples."""
    text = example.get("input", "").replace("\r\n", "\n")
    _, sep, body = text.partition("\n\n")
    try:
        return loads_exact(body) if sep else None
    except ValueError:
        return None


class Wire:
    """JSON -> protobuf wire bytes with Debian's python3-protobuf, from the
    descriptor sets (the bundled one, the test protos)."""

    def __init__(self, sets):
        from google.protobuf import descriptor_pb2, descriptor_pool, json_format
        from google.protobuf import message_factory
        self.json_format = json_format
        self.pools = []
        for path in sets:
            fds = descriptor_pb2.FileDescriptorSet()
            with open(path, "rb") as f:
                fds.ParseFromString(f.read())
            pool = descriptor_pool.DescriptorPool()
            for file in fds.file:
                pool.Add(file)
            self.pools.append(pool)
        self.message_factory = message_factory

    def message_class(self, name):
        for pool in self.pools:
            try:
                descriptor = pool.FindMessageTypeByName(name)
            except KeyError:
                continue
            if hasattr(self.message_factory, "GetMessageClass"):
                return self.message_factory.GetMessageClass(descriptor)
            return self.message_factory.MessageFactory(pool).GetPrototype(descriptor)
        return None

    def encode(self, name, json_text):
        """Wire bytes of `json_text` read as `name`; None when protobuf's own
        reader refuses it (the examples that contradict their schema)."""
        cls = self.message_class(name)
        if cls is None:
            return None
        message = cls()
        try:
            self.json_format.Parse(json_text, message, ignore_unknown_fields=True)
        except Exception:  # json_format raises several types; all mean "no"
            return None
        return message.SerializeToString()


def product_seeds(seeds, source_dir, wire):
    for service, version, action, example in examples(source_dir):
        package = "tencentcloud.%s.%s" % (service, version)
        output = example.get("output", "")
        seeds.add("envelope_fuzzer", "0" + output)
        try:
            answer = loads_exact(output)
        except ValueError:
            continue
        response = answer.get("Response") if isinstance(answer, dict) else None
        if not isinstance(response, dict):
            continue
        if "Error" in response:
            # The same failure behind 400, 404, 429 and 503.
            for status in "8;<>":
                seeds.add("envelope_fuzzer", status + output)
            continue
        text = dumps_exact(response)
        name = "%s.%sResponse" % (package, action)
        seeds.add("json_to_proto_fuzzer", "@%s\n%s" % (name, text))
        if service == "cvm" and action == "DescribeInstances":
            seeds.add("json_to_proto_fuzzer", text)
        encoded = wire.encode(name, text)
        if encoded is not None:
            seeds.add("proto_json_roundtrip_fuzzer", b"@" + name.encode() + b"\n" + encoded)
        if service == "sts":
            seeds.add("credentials_fuzzer", "0" + output)
        params = request_body(example)
        if isinstance(params, dict):
            params_text = dumps_exact(params)
            seeds.add("params_json_fuzzer", params_text)
            request = "%s.%sRequest" % (package, action)
            seeds.add("json_to_proto_fuzzer", "@%s\n%s" % (request, params_text))
            encoded = wire.encode(request, params_text)
            if encoded is not None:
                seeds.add("proto_json_roundtrip_fuzzer",
                          b"@" + request.encode() + b"\n" + encoded)


def handmade_json_as_wire(seeds, source_dir, wire):
    """The hand-made JSON seeds that name a message, as wire bytes."""
    folder = os.path.join(source_dir, "tests/fuzz/seeds/json_to_proto_fuzzer")
    for path in sorted(glob.glob(os.path.join(folder, "*"))):
        with open(path, "rb") as f:
            data = f.read()
        if not data.startswith(b"@") or b"\n" not in data:
            continue
        name, _, text = data[1:].partition(b"\n")
        try:
            encoded = wire.encode(name.decode(), text.decode("utf-8"))
        except UnicodeDecodeError:
            continue
        if encoded is not None:
            seeds.add("proto_json_roundtrip_fuzzer", b"@" + name + b"\n" + encoded)


def config_seeds(seeds, source_dir):
    for path in sorted(glob.glob(os.path.join(source_dir, "deploy/**/gateway.yaml"),
                                 recursive=True)):
        with open(path, "rb") as f:
            seeds.add("config_fuzzer", f.read())
    with open(os.path.join(source_dir, "docs/configuration.md"), encoding="utf-8") as f:
        for block in re.findall(r"```yaml\n(.*?)```", f.read(), re.S):
            seeds.add("config_fuzzer", block)


def hostile_seeds(seeds):
    """Nesting too deep to keep in git: at protobuf's limit (100), just over
    it, and deep enough (100000) that recursive descent without a depth
    limit overflows the stack (RapidJSON does from about 60000 levels under
    ASan)."""
    for depth in (100, 101, 1000, 100000):
        forms = ["[" * depth + "]" * depth, "[" * depth]
        if depth <= 1000:  # 5 bytes a level: kept small
            forms.append('{"a":' * depth + "1" + "}" * depth)
        for body in forms:
            seeds.add("envelope_fuzzer", '0{"Response":{"RequestId":"r","Deep":%s}}' % body)
            seeds.add("json_to_proto_fuzzer", "@envelope.test.WellKnown\n"
                      '{"anything":%s}' % body)
            seeds.add("json_to_proto_fuzzer", body)
            seeds.add("params_json_fuzzer", '{"Filters":%s}' % body)
            seeds.add("credentials_fuzzer", '0{"Response":{"Credentials":%s}}' % body)
        if depth <= 1000:
            # A Struct in a Struct: three message levels per JSON level.
            seeds.add("json_to_proto_fuzzer", "@envelope.test.WellKnown\n" +
                      '{"labels":' + '{"a":' * depth + "null" + "}" * depth + "}")
        seeds.add("config_fuzzer", "listen: " + "[" * depth + "]" * depth + "\n")
        # Block sequences in sequences: "- - - x".
        seeds.add("config_fuzzer", "listen:\n" + "- " * depth + "x\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--descriptor-set", action="append", default=[])
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    seeds = Seeds(args.out)
    wire = Wire(args.descriptor_set)
    product_seeds(seeds, args.source_dir, wire)
    handmade_json_as_wire(seeds, args.source_dir, wire)
    config_seeds(seeds, args.source_dir)
    hostile_seeds(seeds)
    print("make_corpus: " + ", ".join("%s %d" % kv for kv in sorted(seeds.counts.items())))


if __name__ == "__main__":
    sys.exit(main())
