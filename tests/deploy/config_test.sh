#!/usr/bin/env bash
# deploy_config_test: the gateway itself accepts every config file under
# deploy/ (`envelope-gateway --check-config`), with the environment the
# manifests give it (the TKE_* placeholders of the tke-oidc example), and
# the config semantics the manifests rely on hold: --check-config rejects a
# bad file, and a file's `listen` replaces the default address instead of
# adding to it (the grpc-probes example binds 0.0.0.0:50051 only).
#
#   config_test.sh --gateway build/gateway/main/envelope-gateway
source "$(dirname "$0")/lib.sh"

parse_gateway_arg "$@"
[ -x "$gateway" ] || fail "--gateway $gateway is not an executable (build the envelope-gateway target)"
help=$("$gateway" --help 2>&1 || true)
grep -q -- '--check-config' <<<"$help" ||
  skip "this build of envelope-gateway has no --check-config (the config-file work has not landed)"

tmp=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# A stand-in for the mounted Secret: secret_dir points into the pod, so the
# check gets a directory of the same shape here (a flag replaces the key).
mkdir "$tmp/secret"
printf 'AKIDplaceholder\n' >"$tmp/secret/secret_id"
printf 'placeholder\n' >"$tmp/secret/secret_key"
printf 'placeholder-token\n' >"$tmp/token"

# The TKE_* values of the tke-oidc example, as the sidecar gets them.
tke_env=()
while read -r name value; do
  [ "$name" = TKE_WEB_IDENTITY_TOKEN_FILE ] && value="$tmp/token"
  tke_env+=("$name=$value")
done < <(awk '/- name: TKE_/{n=$3} n && /value: /{print n, $2; n=""}' "$EXAMPLES_DIR/tke-oidc/tke-oidc.yaml")
[ "${#tke_env[@]}" -eq 4 ] || fail "expected 4 TKE_* variables in tke-oidc/tke-oidc.yaml, found: ${tke_env[*]}"

checked=0
for f in "$REPO_ROOT/deploy/gateway.yaml" "$REPO_ROOT/deploy/kubernetes/base/gateway.yaml" "$EXAMPLES_DIR"/*/gateway.yaml; do
  rel=${f#"$REPO_ROOT"/}
  args=(--check-config "$f")
  envs=()
  grep -q '^secret_dir:' "$f" && args+=("--secret-dir=$tmp/secret")
  grep -q 'tke-oidc' "$f" && envs=("${tke_env[@]}")
  if out=$(env "${envs[@]}" "$gateway" "${args[@]}" 2>&1); then
    note "ok: $rel: $out"
  else
    echo "$out" >&2
    fail "envelope-gateway ${args[*]} rejected $rel"
  fi
  checked=$((checked + 1))
done

# --check-config really checks.
printf 'listen: [127.0.0.1:50051]\nshutdown_grace: soon\n' >"$tmp/bad.yaml"
rc=0
out=$("$gateway" --check-config "$tmp/bad.yaml" 2>&1) || rc=$?
[ "$rc" -eq 2 ] || fail "--check-config on a bad shutdown_grace exited $rc, expected 2: $out"
note "ok: a bad file is rejected with exit 2: $out"

# A file's listen replaces the default 127.0.0.1:50051.
printf 'listen:\n  - 127.0.0.1:0\nadmin_listen: ""\nsigning: none\nendpoint: http://127.0.0.1:1\n' >"$tmp/listen.yaml"
"$gateway" --config "$tmp/listen.yaml" >"$tmp/listen.out" 2>"$tmp/listen.err" &
pid=$!
# The "routing ..." line comes after every "listening on" line: once it is
# there, all of them are. 60 s at most (a loaded machine can take seconds to
# start the gateway); one that exits early is not waited for.
for _ in $(seq 600); do
  grep -q 'info: routing ' "$tmp/listen.err" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" || true
pid=""
addresses=$(sed -n 's/^envelope-gateway listening on //p' "$tmp/listen.out" | tr '\n' ' ')
if [ "$(grep -c 'listening on' "$tmp/listen.out")" -ne 1 ]; then
  cat "$tmp/listen.err" >&2
  fail "a config with listen: [127.0.0.1:0] made the gateway listen on: ${addresses:-nothing} (expected one address: the file's list must replace the default, or every deploy config also binds 127.0.0.1:50051)"
fi
note "ok: the file's listen replaced the default ($addresses)"

echo "config_test: $checked config files accepted by $(basename "$gateway") --check-config"
