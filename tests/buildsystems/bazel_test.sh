#!/usr/bin/env bash
# The Bazel build of every target and its tests (docs/building.md), with
# Debian's bazel-bootstrap. ctest runs this after every other test (the
# ctest_suite fixture), so the two suites never share the two cores.
#
# ctest adds it to any filtered run (it is the fixture's cleanup), so it
# runs only when asked: tools/test.sh sets ENVELOPE_BAZEL_TEST=1. Otherwise
# it exits 77, which ctest reports as skipped (not passed).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."
if ! command -v bazel >/dev/null; then
  echo "bazel_test: FAIL: bazel is not installed (tools/setup.sh installs bazel-bootstrap)"
  exit 1
fi
# A Bazel server started earlier (the target check's query) lives outside
# the network namespace below, where a client inside cannot reach it.
bazel shutdown
if [ "${ENVELOPE_BAZEL_TEST:-}" != 1 ]; then
  echo "bazel_test: SKIPPED: set ENVELOPE_BAZEL_TEST=1 to run Bazel's build and tests (tools/test.sh does)"
  exit 77
fi

# Every gateway line Bazel's tests print lands here, then goes through the
# same secrets check as ctest's suite (tests/logs/log_secrets_test.sh).
logs=$(mktemp -d /tmp/envelope-bazel-test-logs.XXXXXX)
trap 'rm -rf "$logs"' EXIT
args=(test --keep_going --color=no --curses=no
  # Every test runs: a cached pass from an earlier run proves nothing new.
  --nocache_test_results
  --test_env=ENVELOPE_TEST_LOG_DIR="$logs" --sandbox_writable_path="$logs"
  //...)

# Offline for real when this can be arranged (root and util-linux unshare):
# Bazel runs in a network namespace of its own with only loopback, so any
# download fails instead of passing unnoticed. Its server is stopped at the
# end, being unreachable from outside.
rc=0
if [ "$(id -u)" -eq 0 ] && unshare --net true 2>/dev/null; then
  echo "bazel_test: in a network namespace with loopback only (no network)"
  unshare --net bash -c \
    'ip link set lo up && { bazel "$@"; rc=$?; bazel shutdown; exit $rc; }' \
    bazel_test "${args[@]}" || rc=$?
else
  echo "bazel_test: cannot make a network namespace here (not root): with the network"
  bazel "${args[@]}" || rc=$?
fi
[ "$rc" -eq 0 ] || exit "$rc"
ENVELOPE_TEST_LOG_DIR="$logs" tests/logs/log_secrets_test.sh
