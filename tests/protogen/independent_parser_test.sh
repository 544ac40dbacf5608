#!/usr/bin/env bash
# The generated protos, read by an independent parser (protobufjs, from the
# npm registry, pinned in tests/deploy/package-lock.json).
set -euo pipefail
# The real file's folder (under Bazel, $0 is a symlink named after the test).
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=../deploy/lib.sh
source "$here/../deploy/lib.sh"
need_node_modules
node "$here/parse_with_protobufjs.js" "$REPO_ROOT/proto" \
  "$REPO_ROOT/third_party/tencentcloud-specs"
