#!/usr/bin/env bash
# The Bazel build of every target and its tests (docs/building.md), with
# Debian's bazel-bootstrap. ctest runs this after every other test (the
# ctest_suite fixture), so the two suites never share the two cores.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."
if ! command -v bazel >/dev/null; then
  echo "bazel_test: FAIL: bazel is not installed (tools/setup.sh installs bazel-bootstrap)"
  exit 1
fi
args=(test --keep_going --color=no --curses=no //...)

# Offline for real when this can be arranged (root and util-linux unshare):
# Bazel runs in a network namespace of its own with only loopback, so any
# download fails instead of passing unnoticed. A Bazel server started
# earlier (the target check's query) lives outside it, where a client inside
# cannot reach it: it is stopped first, and the one started inside is
# stopped at the end.
if [ "$(id -u)" -eq 0 ] && unshare --net true 2>/dev/null; then
  bazel shutdown
  echo "bazel_test: in a network namespace with loopback only (no network)"
  exec unshare --net bash -c \
    'ip link set lo up && { bazel "$@"; rc=$?; bazel shutdown; exit $rc; }' \
    bazel_test "${args[@]}"
fi
echo "bazel_test: cannot make a network namespace here (not root): with the network"
exec bazel "${args[@]}"
