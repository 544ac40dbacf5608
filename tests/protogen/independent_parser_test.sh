#!/usr/bin/env bash
# The generated protos, read by an independent parser (protobufjs, from the
# npm registry, pinned in tests/deploy/package-lock.json).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../deploy/lib.sh
source "$here/../deploy/lib.sh"
need_node_modules
node "$here/parse_with_protobufjs.js" "$REPO_ROOT/proto" \
  "$REPO_ROOT/third_party/tencentcloud-specs"
