#!/usr/bin/env bash
# The generated protos, read by an independent parser (protobufjs, from the
# npm registry, pinned in tests/deploy/package-lock.json).
set -euo pipefail
# Under Bazel, the runfiles tree ($0 is a symlink named after the test).
root=${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE}
# shellcheck source=../deploy/lib.sh
source "${root:-$(dirname "$0")/../..}/tests/deploy/lib.sh"
need_node_modules
node "$REPO_ROOT/tests/protogen/parse_with_protobufjs.js" "$REPO_ROOT/proto" \
  "$REPO_ROOT/third_party/tencentcloud-specs"
