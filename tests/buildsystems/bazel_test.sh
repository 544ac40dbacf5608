#!/usr/bin/env bash
# The Bazel build of every target and its tests (docs/building.md), offline
# with Debian's bazel-bootstrap. ctest runs this after every other test (the
# ctest_suite fixture), so the two suites never share the two cores.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."
if ! command -v bazel >/dev/null; then
  echo "bazel_test: FAIL: bazel is not installed (tools/setup.sh installs bazel-bootstrap)"
  exit 1
fi
exec bazel test --keep_going --color=no --curses=no //...
