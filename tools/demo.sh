#!/usr/bin/env bash
# The main job, locally: builds, starts the bundled emulator and the gateway
# on loopback, and calls the gateway with envelope-cli the way an application
# would: one success and several failures, printing code, message, decoded
# google.rpc details and trailers.
#   tools/demo.sh              set up and build first (tools/setup.sh)
#   tools/demo.sh --no-setup   use the binaries already in build/
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = --no-setup ] || tools/setup.sh >/dev/null

GATEWAY=build/gateway/main/envelope-gateway
CLI=build/tools/cli/envelope-cli
EMULATOR=tools/emulator/emulator.py
export TENCENTCLOUD_SECRET_ID=AKIDDEMO0000000000000000000000000
export TENCENTCLOUD_SECRET_KEY=demo-secret-key-000000000000000
WORK=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# start NAME CMD...: starts CMD in the background and sets $address to the
# last word of its first stdout line. Not called in $(...): the pid must
# reach `pids` in this shell, or the exit trap could not stop it.
start() {
  local name=$1; shift
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do
    if [ -s "$WORK/$name.out" ]; then
      address=$(awk '{print $NF; exit}' "$WORK/$name.out")
      return
    fi
    sleep 0.1
  done
  echo "demo: $name did not start:" >&2; cat "$WORK/$name.err" >&2; exit 1
}

start emulator /usr/bin/python3 "$EMULATOR" --listen 127.0.0.1:0 --quiet \
  --secret-id "$TENCENTCLOUD_SECRET_ID" --secret-key "$TENCENTCLOUD_SECRET_KEY"
EMU_URL=$address
start gateway "$GATEWAY" --listen=127.0.0.1:0 --admin-listen=127.0.0.1:0 \
  --endpoint="$EMU_URL" --region=ap-guangzhou
GW=$address
# A second gateway whose secret key is wrong: the emulator rejects its signature.
TENCENTCLOUD_SECRET_KEY=not-the-right-key start bad-gateway "$GATEWAY" \
  --listen=127.0.0.1:0 --admin-listen=127.0.0.1:0 --endpoint="$EMU_URL" --region=ap-guangzhou
BAD_GW=$address
echo "emulator: $EMU_URL   gateway: $GW   gateway with a wrong key: $BAD_GW"

rule() { curl -sf -XPOST "$EMU_URL/_emulator/rules" -d "$1" >/dev/null; }
show() { echo; echo "== $1"; shift; "$CLI" "$@" || true; }

show "success, typed: DescribeZones" --target="$GW" \
  tencentcloud.cvm.v20170312.Cvm/DescribeZones '{}'
show "success, untyped JsonApi: DescribeInstancesStatus" --target="$GW" \
  json cvm 2017-03-12 DescribeInstancesStatus '{"Limit": 2}'
show "AuthFailure.SignatureFailure (a real bad signature)" --target="$BAD_GW" \
  cvm.DescribeInstances '{"Limit": 1}'
# Rate limiting is retried (3 attempts, backing off 1 s then 2 s): answer it
# to all three, and the caller sees it with the wait RetryInfo suggests.
rule '{"action":"DescribeInstances","error":{"Code":"RequestLimitExceeded"},"times":3}'
show "RequestLimitExceeded (after 3 attempts)" --target="$GW" cvm.DescribeInstances '{"Limit": 1}'
rule '{"action":"DescribeInstances","error":{"Code":"ResourceNotFound.InstanceNotExist","Message":"The instance `ins-demo0001` does not exist."},"times":1}'
show "ResourceNotFound.InstanceNotExist" --target="$GW" \
  cvm.DescribeInstances '{"InstanceIds": ["ins-demo0001"]}'
rule '{"action":"DescribeInstancesStatus","error":{"Code":"InvalidParameterValue.Limit","Message":"The value of parameter `Limit` must be between 1 and 100."},"times":1}'
show "InvalidParameterValue.Limit, zh-CN requested" --target="$GW" --language=zh-CN \
  cvm.DescribeInstancesStatus '{"Limit": 1000}'
echo
echo "== the gateway's access log (one JSON line per call, stdout)"
tail -n +2 "$WORK/gateway.out"
