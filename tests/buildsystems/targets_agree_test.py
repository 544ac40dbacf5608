#!/usr/bin/python3
"""CMake and Bazel build the same targets (docs/building.md).

Reads CMake's own view of the build (its File API codemodel and
`ctest --show-only=json-v1`) and Bazel's (`bazel query`), and fails on any
library, binary or test that one has and the other lacks, or that is a
library in one and a binary in the other. A target one build keeps on
purpose is marked where it is declared: the ctest label `cmake-only`, the
Bazel tag `bazel-only`.

Usage: targets_agree_test.py --build-dir BUILD --source-dir SRC
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

# What each side calls the four kinds compared.
CMAKE_LIBRARY_TYPES = {"STATIC_LIBRARY", "SHARED_LIBRARY", "OBJECT_LIBRARY",
                       "MODULE_LIBRARY", "INTERFACE_LIBRARY"}


def bazel_kind(rule):
    """cc_library -> library, sh_binary -> binary, cc_test -> test, any other
    *_test (sh_test, py_test) -> script test; None for rules not compared."""
    if rule.endswith("_library"):
        return "library"
    if rule.endswith("_binary"):
        return "binary"
    if rule == "cc_test":
        return "test"
    if rule.endswith("_test"):
        return "script test"
    return None

ARGS = None


def codemodel_targets(build_dir):
    """{name: (type, [artifact paths])} from the File API reply."""
    replies = sorted(glob.glob(os.path.join(build_dir, ".cmake/api/v1/reply/index-*.json")))
    if not replies:
        raise RuntimeError("no CMake File API reply in %s: tools/setup.sh asks for one; "
                           "else touch .cmake/api/v1/query/codemodel-v2 in the build "
                           "folder and configure again" % build_dir)
    reply_dir = os.path.dirname(replies[-1])
    with open(replies[-1], encoding="utf-8") as f:
        index = json.load(f)
    codemodel_file = None
    for obj in index["objects"]:
        if obj["kind"] == "codemodel":
            codemodel_file = obj["jsonFile"]
    with open(os.path.join(reply_dir, codemodel_file), encoding="utf-8") as f:
        codemodel = json.load(f)
    targets = {}
    for ref in codemodel["configurations"][0]["targets"]:
        with open(os.path.join(reply_dir, ref["jsonFile"]), encoding="utf-8") as f:
            target = json.load(f)
        artifacts = [os.path.realpath(os.path.join(build_dir, a["path"]))
                     for a in target.get("artifacts", [])]
        targets[target["name"]] = (target["type"], artifacts)
    return targets


def ctest_tests(build_dir):
    """[(name, command, labels)] as ctest would run them."""
    # Even with --show-only, ctest rewrites Testing/Temporary/LastTest.log of
    # the folder it runs in: that of the ctest running this test. So it runs
    # on a copy of the CTestTestfile.cmake tree (they name everything else by
    # absolute path).
    with tempfile.TemporaryDirectory(prefix="ctest_list_") as copy:
        for folder, _, files in os.walk(build_dir):
            if "CTestTestfile.cmake" in files:
                target = os.path.join(copy, os.path.relpath(folder, build_dir))
                os.makedirs(target, exist_ok=True)
                shutil.copy(os.path.join(folder, "CTestTestfile.cmake"), target)
        out = subprocess.run(["ctest", "--show-only=json-v1"], cwd=copy, check=True,
                             stdout=subprocess.PIPE).stdout
    tests = []
    for test in json.loads(out)["tests"]:
        labels = []
        for prop in test.get("properties", []):
            if prop["name"] == "LABELS":
                labels = prop["value"]
        tests.append((test["name"], test.get("command", []), labels))
    return tests


def cmake_side(build_dir):
    """{name: kind} of everything CMake builds and ctest runs."""
    targets = codemodel_targets(build_dir)
    tests = ctest_tests(build_dir)
    executable_of = {}
    for name, (kind, artifacts) in targets.items():
        if kind == "EXECUTABLE":
            for path in artifacts:
                executable_of[path] = name
    tested = set()
    side = {}
    for name, command, labels in tests:
        if "cmake-only" in labels:
            continue
        program = os.path.realpath(command[0]) if command else ""
        if program not in executable_of:
            side[name] = "script test"
            continue
        executable = executable_of[program]
        tested.add(executable)
        # One of its GoogleTest cases, or the executable under its own name,
        # is that executable's test; under another name it is a test of
        # its own, which Bazel needs too.
        if name != executable and "--gtest_filter=" + name not in command:
            side[name] = "test"
    for name, (kind, _) in targets.items():
        if kind in CMAKE_LIBRARY_TYPES:
            side[name] = "library"
        elif kind == "EXECUTABLE":
            side[name] = "test" if name in tested else "binary"
    return side


def bazel_side(source_dir):
    """{name: kind} of every library, binary and test under //..."""
    query = ("kind('.*_(library|binary|test) rule', //...) "
             "except attr(tags, 'bazel-only', //...)")
    side = {}
    for line in bazel_query(source_dir, query):
        rule_kind, _, label = line.split(" ", 2)
        kind = bazel_kind(rule_kind)
        name = label.rsplit(":", 1)[1]
        if kind is None:
            continue
        if name in side:
            raise RuntimeError("two Bazel targets are named %s: names must be unique, "
                               "as in CMake" % name)
        side[name] = kind
    return side


def bazel_manual_targets(source_dir):
    """Targets `bazel test //...` would leave out (tag manual)."""
    return [line.split(" ", 2)[2] for line in bazel_query(
        source_dir, "attr(tags, '\\bmanual\\b', //...)")]


def bazel_query(source_dir, query):
    result = subprocess.run(["bazel", "query", "--output=label_kind", query],
                            cwd=source_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    if result.returncode != 0:
        raise RuntimeError("bazel query failed:\n" + result.stderr[-4000:])
    return result.stdout.splitlines()


def compare(cmake, bazel):
    """Every disagreement, one sentence each; empty when the builds agree."""
    problems = []
    for name in sorted(set(cmake) - set(bazel)):
        problems.append("%s (%s) is built by CMake only: add it to a BUILD.bazel (a test "
                        "kept out of Bazel on purpose: ctest label cmake-only, and why)" %
                        (name, cmake[name]))
    for name in sorted(set(bazel) - set(cmake)):
        problems.append("%s (%s) is built by Bazel only: add it to a CMakeLists.txt (a "
                        "target kept out of CMake on purpose: tag bazel-only, and why)" %
                        (name, bazel[name]))
    for name in sorted(set(cmake) & set(bazel)):
        if cmake[name] != bazel[name]:
            problems.append("%s is a %s in CMake but a %s in Bazel" %
                            (name, cmake[name], bazel[name]))
    return problems


class TargetsAgreeTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.cmake = cmake_side(ARGS.build_dir)
        cls.bazel = bazel_side(ARGS.source_dir)
        cls.manual = bazel_manual_targets(ARGS.source_dir)

    def test_the_two_builds_agree(self):
        problems = compare(self.cmake, self.bazel)
        self.assertEqual(problems, [], "\n".join(problems))
        print("%d targets in both builds: %d libraries, %d binaries, %d tests, "
              "%d script tests" % (len(self.cmake),
                                   *[list(self.cmake.values()).count(k)
                                     for k in ("library", "binary", "test", "script test")]))

    def test_bazel_test_runs_every_target(self):
        self.assertEqual(self.manual, [], "tagged manual, so `bazel test //...` skips them")

    def test_every_kind_is_seen(self):
        # A reader that lost a whole kind would agree with nothing to compare.
        for kind in ("library", "binary", "test", "script test"):
            self.assertIn(kind, self.cmake.values(), "no CMake " + kind)
            self.assertIn(kind, self.bazel.values(), "no Bazel " + kind)

    # The comparison itself, on the real CMake list against a copy of it, so
    # that these hold whatever the Bazel side says today.
    def test_a_target_in_one_build_only_is_reported(self):
        cmake = dict(self.cmake, new_thing_test="test")
        self.assertEqual(len(compare(cmake, dict(self.cmake))), 1)
        self.assertIn("new_thing_test (test) is built by CMake only",
                      compare(cmake, dict(self.cmake))[0])
        bazel = dict(self.cmake, envelope_new="library")
        self.assertEqual(len(compare(self.cmake, bazel)), 1)
        self.assertIn("envelope_new (library) is built by Bazel only",
                      compare(self.cmake, bazel)[0])

    def test_a_kind_mismatch_is_reported(self):
        bazel = dict(self.cmake, envelope_route="binary")
        self.assertEqual(compare(self.cmake, bazel),
                         ["envelope_route is a library in CMake but a binary in Bazel"])

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--source-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
