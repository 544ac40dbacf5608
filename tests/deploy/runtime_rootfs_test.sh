#!/usr/bin/env bash
# deploy_rootfs_test: the runtime image's package list is enough, without a
# Docker engine. Builds the root filesystem of deploy/Dockerfile's runtime
# stage the same way (debootstrap --variant=minbase bookworm, then
# deploy/runtime-setup.sh with deploy/runtime-packages.txt inside it:
# the same file and the same steps as the Dockerfile), caches it, and runs
# the freshly built binary in it the way Kubernetes runs the container:
# as UID 65532, read-only root, a tmpfs at /tmp, with the image's bundled
# config (deploy/gateway.yaml at /etc/envelope-gateway/gateway.yaml):
#   - every shared library resolves (ldd inside the root filesystem);
#   - --version; --check-config on the bundled config;
#   - it starts (--signing=none --endpoint=http://127.0.0.1:1), prints its
#     listening line, answers grpc.health.v1.Health/Check SERVING and the
#     admin port's /healthz, /readyz, /metrics; the Component's exec probes
#     pass inside it; SIGTERM -> exit 0.
#
# The cache: ${ENVELOPE_ROOTFS_CACHE:-/var/cache/envelope-gateway/rootfs}/KEY,
# KEY = hash of the package names, the setup script, suite and mirror; rebuilt
# when one changes or after ${ENVELOPE_ROOTFS_MAX_AGE_DAYS:-30} days (Debian
# security updates). First build: a few minutes; cached runs: seconds.
#
# Needs root (chroot, mounts), debootstrap, and the Debian mirror for a
# first build: without them it says so and exits 77 (skipped).
#
#   runtime_rootfs_test.sh --gateway build/gateway/main/envelope-gateway
#   runtime_rootfs_test.sh --prepare   # only build or refresh the cache
source "$(dirname "$0")/lib.sh"

prepare=0
if [ "${1:-}" = --prepare ]; then
  prepare=1
  shift
fi
parse_gateway_arg "$@"
if [ "$prepare" = 0 ]; then
  [ -x "$gateway" ] || fail "--gateway $gateway is not an executable (build the envelope-gateway target)"
  gateway=$(realpath "$gateway")
fi

LIST="$REPO_ROOT/deploy/runtime-packages.txt"
SETUP="$REPO_ROOT/deploy/runtime-setup.sh"
CONFIG="$REPO_ROOT/deploy/gateway.yaml"
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
CACHE=${ENVELOPE_ROOTFS_CACHE:-/var/cache/envelope-gateway/rootfs}
MAX_AGE_DAYS=${ENVELOPE_ROOTFS_MAX_AGE_DAYS:-30}
RECIPE=2  # bump when the build steps below change

[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot, mount namespaces); run the suite as root"
for tool in unshare nsenter chroot mount flock sha256sum ip curl; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is missing (the gRPC health check client)"

# The packages (comments and order aside), the setup steps, where from.
key=$( (sed 's/#.*//' "$LIST" | tr -s ' \t\r\n' '\n' | { grep -v '^$' || true; } | sort
        cat "$SETUP"
        echo "$SUITE $MIRROR $SECURITY_MIRROR $(uname -m) recipe $RECIPE") | sha256sum | cut -c1-16)
rootfs="$CACHE/$key"
mkdir -p "$CACHE"

fresh() {  # the cached root filesystem is complete and young enough
  [ -f "$rootfs/.complete" ] && [ -z "$(find "$rootfs/.complete" -mtime "+$MAX_AGE_DAYS" 2>/dev/null)" ]
}

build_rootfs() {
  local tmp="$rootfs.tmp" log="$CACHE/build-$key.log"
  command -v debootstrap >/dev/null ||
    skip "debootstrap is not installed (apt-get install debootstrap) and no cached root filesystem exists for this package list at $rootfs"
  if ! curl -fsS --max-time 15 -o /dev/null "$MIRROR/dists/$SUITE/Release" 2>"$CACHE/mirror-$key.err"; then
    skip "the Debian mirror $MIRROR cannot be reached ($(cat "$CACHE/mirror-$key.err")); no cached root filesystem for this package list at $rootfs"
  fi
  note "building the runtime root filesystem in $rootfs (debootstrap --variant=minbase $SUITE + $(basename "$LIST")); log: $log"
  local start=$SECONDS
  rm -rf "$tmp"
  if ! debootstrap --variant=minbase "$SUITE" "$tmp" "$MIRROR" >"$log" 2>&1; then
    tail -30 "$log" >&2
    fail "debootstrap failed (log: $log)"
  fi
  # The apt sources of debian:12-slim: the release, its updates, security.
  rm -f "$tmp/etc/apt/sources.list"
  cat >"$tmp/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
  mkdir -p "$tmp/tmp/runtime"
  cp "$LIST" "$SETUP" "$tmp/tmp/runtime/"
  # The Dockerfile's RUN line, in the chroot.
  # shellcheck disable=SC2016  # expanded by the inner shell
  if ! unshare --mount --propagation private -- /bin/sh -ec '
      mount -t proc proc "$1/proc"
      exec chroot "$1" /tmp/runtime/runtime-setup.sh /tmp/runtime/runtime-packages.txt' \
      _ "$tmp" >>"$log" 2>&1; then
    tail -30 "$log" >&2
    fail "deploy/runtime-setup.sh failed inside the root filesystem (log: $log)"
  fi
  rm -rf "$tmp/tmp/runtime"
  # Mount points for the per-run binds (the cached tree stays untouched).
  install -D -m 0755 /dev/null "$tmp/usr/local/bin/envelope-gateway"
  install -D -m 0644 /dev/null "$tmp/etc/envelope-gateway/gateway.yaml"
  touch "$tmp/.complete"
  rm -rf "$rootfs"
  mv "$tmp" "$rootfs"
  # Older keys belong to older package lists.
  find "$CACHE" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name "$key.tmp" ! -name .mnt -exec rm -rf {} +
  find "$CACHE" -mindepth 1 -maxdepth 1 -type f ! -name "*$key*" ! -name .lock -delete
  note "root filesystem built in $((SECONDS - start))s: $(du -sh "$rootfs" | cut -f1)"
}

(
  flock 9
  fresh || build_rootfs
) 9>"$CACHE/.lock" || exit $?
note "root filesystem: $rootfs ($(sed 's/#.*//' "$LIST" | tr -s ' \n' ' '))"
[ "$prepare" = 0 ] || exit 0

# in_rootfs USERSPEC CMD...: runs CMD in the root filesystem like the
# container: its own network namespace (loopback only, so nothing else on
# this machine shares its ports), a private mount namespace with the root
# bind-mounted read-only, the binary and the bundled config bound in, a
# tmpfs at /tmp, /proc, and binds of the usual /dev nodes.
# It execs (so `in_rootfs ... &` gives the gateway's own PID in $!): call it
# only in a subshell, $(...) or &.
in_rootfs() {
  local user=$1
  shift
  # shellcheck disable=SC2016  # expanded by the inner shell
  exec unshare --mount --net --propagation private -- /bin/bash -ec '
    root=$1 gateway=$2 config=$3 user=$4 mnt=$5
    shift 5
    ip link set lo up
    mount --bind "$root" "$mnt"
    mount --bind "$gateway" "$mnt/usr/local/bin/envelope-gateway"
    mount --bind "$config" "$mnt/etc/envelope-gateway/gateway.yaml"
    mount -o remount,bind,ro "$mnt/usr/local/bin/envelope-gateway"
    mount -o remount,bind,ro "$mnt/etc/envelope-gateway/gateway.yaml"
    mount -o remount,bind,ro "$mnt"
    mount -t tmpfs -o mode=1777,size=16m tmpfs "$mnt/tmp"
    mount -t proc proc "$mnt/proc"
    for d in null zero full random urandom tty; do
      [ -e "$mnt/dev/$d" ] && mount --bind "/dev/$d" "$mnt/dev/$d"
    done
    exec chroot --userspec="$user" "$mnt" "$@"' \
    _ "$rootfs" "$gateway" "$CONFIG" "$user" "$CACHE/.mnt" "$@"
}
# One mount point for every run: each run mounts it in its own namespace.
mkdir -p "$CACHE/.mnt"

# 1. Every shared library resolves inside the root filesystem.
ldd_out=$(in_rootfs 0:0 /usr/bin/ldd /usr/local/bin/envelope-gateway 2>&1) ||
  { echo "$ldd_out" >&2; fail "ldd failed inside the root filesystem"; }
if grep -q 'not found' <<<"$ldd_out"; then
  grep 'not found' <<<"$ldd_out" >&2
  fail "shared libraries missing from the runtime root filesystem: add their packages to deploy/runtime-packages.txt (find them with dpkg -S on the build machine)"
fi
note "ok: all $(grep -c '=>' <<<"$ldd_out") shared libraries resolve in the root filesystem"

# 2. --version, as the image's user, read-only root.
version=$(in_rootfs 65532:65532 /usr/local/bin/envelope-gateway --version 2>&1) ||
  { echo "$version" >&2; fail "envelope-gateway --version failed in the root filesystem"; }
grep -q '^envelope-gateway' <<<"$version" || fail "--version printed: $version"
note "ok: --version: $(head -1 <<<"$version")"

help=$("$gateway" --help 2>&1 || true)
has_flag() { grep -qE -- "--$1([=[:space:]]|$)" <<<"$help"; }

# 3. The bundled config, as the image's CMD reads it.
run_args=()
if has_flag check-config || grep -q -- '--check-config' <<<"$help"; then
  out=$(in_rootfs 65532:65532 /usr/local/bin/envelope-gateway --check-config /etc/envelope-gateway/gateway.yaml 2>&1) ||
    { echo "$out" >&2; fail "--check-config rejected the bundled deploy/gateway.yaml inside the root filesystem"; }
  note "ok: --check-config /etc/envelope-gateway/gateway.yaml: $out"
  run_args+=(--config=/etc/envelope-gateway/gateway.yaml)
else
  echo "!!! PART SKIPPED: this build has no --check-config/--config: the bundled config was not checked"
fi

# 4. Start it and talk to it.
admin_port=""
if has_flag admin_listen || has_flag admin-listen; then
  admin_port=9901  # the Component's (its exec probes, below); the namespace is the gateway's own
  run_args+=("--admin-listen=127.0.0.1:$admin_port")
else
  echo "!!! PART SKIPPED: this build has no --admin-listen: /healthz, /readyz and /metrics were not checked"
fi
run_args+=(--signing=none --endpoint=http://127.0.0.1:1 --listen=127.0.0.1:0)
note "starting: envelope-gateway ${run_args[*]}"

out_file=$(mktemp)
err_file=$(mktemp)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -f "$out_file" "$err_file"
}
trap cleanup EXIT
in_rootfs 65532:65532 /usr/local/bin/envelope-gateway "${run_args[@]}" >"$out_file" 2>"$err_file" &
pid=$!
address=""
# 60 s at most: only a failing start waits that long, and a loaded machine
# can take seconds.
for _ in $(seq 600); do
  address=$(sed -n 's/^envelope-gateway listening on \(.*:[0-9][0-9]*\)$/\1/p' "$out_file" | tail -1)
  [ -n "$address" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$address" ]; then
  cat "$out_file" "$err_file" >&2
  fail "the gateway did not print 'envelope-gateway listening on HOST:PORT' within 60s in the root filesystem (args: ${run_args[*]})"
fi
note "ok: started as 65532 on a read-only root: listening on $address"

# Clients join the gateway's network namespace.
in_pod_net() { nsenter --target "$pid" --net -- "$@"; }
health=$(in_pod_net /usr/bin/python3 "$DEPLOY_TEST_DIR/grpc_health_check.py" "$address" 2>&1) && rc=0 || rc=$?
case $rc in
  0) note "ok: grpc.health.v1.Health/Check: $health" ;;
  4) echo "!!! PART SKIPPED: the gateway does not implement grpc.health.v1.Health ($health)" ;;
  *) cat "$err_file" >&2; fail "gRPC health check at $address: $health" ;;
esac

if [ -n "$admin_port" ]; then
  admin_up=0
  for _ in $(seq 300); do  # as above: 30 s, for a loaded machine
    in_pod_net curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$admin_port/healthz" && { admin_up=1; break; }
    sleep 0.1
  done
  if [ "$admin_up" -eq 0 ]; then
    echo "!!! PART SKIPPED: --admin-listen=127.0.0.1:$admin_port was accepted but nothing answers there: this build does not serve the admin endpoint yet (/healthz, /readyz, /metrics not checked)"
  else
    for path in /healthz /readyz /metrics; do
      code=$(in_pod_net curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$admin_port$path" || true)
      [ "$code" = 200 ] || { cat "$err_file" >&2; fail "GET $path on the admin port answered HTTP $code, expected 200"; }
      note "ok: GET $path: 200"
    done
    # The Component's probes, exactly as deploy/kubernetes/base/sidecar.yaml
    # has them: exec'ed inside the container (the gateway's namespaces and
    # root, its UID), as the kubelet does. Each must pass, and fail on a path
    # the gateway does not serve.
    probes=$(sed -n 's/^ *- \(exec 3<>\/dev\/tcp\/127\.0\.0\.1\/.*\)$/\1/p' "$REPO_ROOT/deploy/kubernetes/base/sidecar.yaml")
    [ "$(grep -c . <<<"$probes")" = 3 ] || fail "expected 3 exec probe commands in deploy/kubernetes/base/sidecar.yaml, found: $probes"
    in_container() { nsenter --target "$pid" --mount --net --root --wd -S 65532 -G 65532 -- /bin/bash -c "$1"; }
    while read -r probe; do
      in_container "$probe" || { cat "$err_file" >&2; fail "the exec probe failed in the root filesystem: $probe"; }
      note "ok: exec probe: ${probe:0:60}..."
      broken=${probe/GET \/healthz/GET \/no-such-path}
      broken=${broken/GET \/readyz/GET \/no-such-path}
      [ "$broken" != "$probe" ] || fail "the exec probe GETs neither /healthz nor /readyz: $probe"
      if in_container "$broken" 2>/dev/null; then fail "the exec probe passed on a path the gateway does not serve: $broken"; fi
    done <<<"$probes"
    note "ok: the 3 exec probes pass, and fail on /no-such-path"
  fi
fi

# 5. SIGTERM: drains and exits 0, having written nothing outside /tmp.
kill -TERM "$pid"
rc=0
for _ in $(seq 300); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  fail "the gateway was still running 30s after SIGTERM"
fi
wait "$pid" || rc=$?
pid=""
[ "$rc" -eq 0 ] || { cat "$out_file" "$err_file" >&2; fail "exit code $rc after SIGTERM, expected 0"; }
note "ok: SIGTERM -> exit 0 ($(tail -1 "$err_file"))"
if grep -qi 'read-only file system' "$err_file"; then
  cat "$err_file" >&2
  fail "the gateway tried to write outside /tmp (read-only root)"
fi

echo "runtime_rootfs_test: deploy/runtime-packages.txt is enough to run $(head -1 <<<"$version") as 65532 on a read-only root"
