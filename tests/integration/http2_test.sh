#!/usr/bin/env bash
# HTTP/2 to the upstream when the server offers it through ALPN: a real
# HTTP/2-only server (nghttpd, Debian's nghttp2-server) with a CA made here.
# Ten calls go over one connection; with --http2=false the gateway cannot
# talk to an h2-only server at all, which shows the flag is what decides.
set -euo pipefail
gateway=$1 cli=$2
# Under Bazel, the runfiles tree ($0 is a symlink named after the test).
repo=${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE}
repo=${repo:-$(cd "$(dirname "$0")/../.." && pwd)}
if ! command -v nghttpd >/dev/null; then
  echo "http2_test: SKIPPED: nghttpd (Debian nghttp2-server) is not installed"
  exit 77
fi
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
"$repo/tools/testservers/make_test_ca.sh" "$work/ca"
mkdir "$work/docs"
# nghttpd answers any request for / with index.html: a success envelope.
printf '{"Response":{"TotalCount":1,"ZoneSet":[{"Zone":"ap-h2-1"}],"RequestId":"h2-req"}}' \
  >"$work/docs/index.html"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
h2_port=$(free_port)
nghttpd -d "$work/docs" -v "$h2_port" "$work/ca/server.key" "$work/ca/server.pem" >"$work/nghttpd.log" 2>&1 &
pids+=($!)
# The first call must not come before nghttpd listens (a plain connect
# negotiates nothing, so it is not counted below). 60 s at most: only a
# failing start waits that long, a loaded machine may take seconds.
listening=0
for _ in $(seq 600); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$h2_port") 2>/dev/null; then listening=1; break; fi
  sleep 0.1
done
[ "$listening" -eq 1 ] || { echo "http2_test: nghttpd did not listen" >&2; cat "$work/nghttpd.log" >&2; exit 1; }

# start_gateway NAME FLAGS... ; sets $address. Not run in $(...): the pid
# must reach the exit trap.
start_gateway() {
  local name=$1; shift
  "$gateway" --listen=127.0.0.1:0 --admin-listen=127.0.0.1:0 --signing=none \
    --endpoint="https://localhost:$h2_port" --ca-file="$work/ca/ca.pem" \
    --max-attempts=1 "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 1200); do  # 60 s at most, as above
    if [ -s "$work/$name.out" ]; then
      address=$(head -1 "$work/$name.out" | awk '{print $NF}')
      return
    fi
    sleep 0.05
  done
  echo "http2_test: gateway $name did not start" >&2; cat "$work/$name.err" >&2; exit 1
}

start_gateway h2
gw=$address
for _ in $(seq 10); do
  out=$("$cli" --target="$gw" cvm.DescribeZones '{}')
  grep -q '"Zone":"ap-h2-1"' <<<"$out" || { echo "http2_test: FAIL: $out"; exit 1; }
done
negotiated=$(grep -c 'The negotiated protocol: h2' "$work/nghttpd.log" || true)
echo "http2_test: 10 calls over HTTP/2, $negotiated TLS connection(s) negotiated h2"
[ "$negotiated" -eq 1 ] || { echo "http2_test: FAIL: expected one h2 connection"; exit 1; }

start_gateway h11 --http2=false
gw11=$address
out=$("$cli" --target="$gw11" cvm.DescribeZones '{}' || true)
grep -q 'UNAVAILABLE' <<<"$out" || { echo "http2_test: FAIL: --http2=false still reached the h2-only server: $out"; exit 1; }
echo "http2_test: with --http2=false the h2-only server is unreachable, as expected"
