#!/usr/bin/env bash
# The README's first command, tools/demo.sh, on the binaries already built:
# it shows a success and each failure with its status, details and trailers,
# and leaves no process behind (it starts an emulator and two gateways).
# It runs in a session of its own, so whatever it started is found after.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'pkill -KILL -s "$(cat "$work/sid" 2>/dev/null || echo 0)" 2>/dev/null || true; rm -rf "$work"' EXIT
rc=0
setsid --wait bash -c 'echo $$ >"$1"; exec tools/demo.sh --no-setup' _ "$work/sid" \
  >"$work/out" 2>&1 || rc=$?
cat "$work/out"
fail() { echo "demo_test: FAIL: $*"; exit 1; }
[ "$rc" -eq 0 ] || fail "tools/demo.sh exited with $rc"
for want in "code: OK" "code: UNAUTHENTICATED" "code: RESOURCE_EXHAUSTED" \
    "code: NOT_FOUND" "code: INVALID_ARGUMENT" "google.rpc.RetryInfo" \
    "google.rpc.ResourceInfo" "google.rpc.BadRequest" "x-tc-requestid:" \
    "x-tc-error-code: ResourceNotFound.InstanceNotExist" '"grpc_code":"NOT_FOUND"'; do
  grep -qF -- "$want" "$work/out" || fail "the demo's output lacks \"$want\""
done
# The demo waits for what it stopped; a straggler still exiting gets 10 s (a
# loaded machine can be that slow), one left running is there for good.
for _ in $(seq 100); do
  left=$(pgrep -a -s "$(cat "$work/sid")" || true)
  [ -z "$left" ] && break
  sleep 0.1
done
[ -z "$left" ] || fail "tools/demo.sh left processes running:
$left"
echo "demo_test: the demo showed every status and left no process behind"
