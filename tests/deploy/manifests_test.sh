#!/usr/bin/env bash
# deploy_manifests_test: renders every kustomization (examples and fixtures)
# and validates each object against the Kubernetes API schemas of the npm
# package kubernetes-models (pinned in tests/deploy/package-lock.json,
# installed with `npm ci` into a cache dir), rejects unknown fields, and
# checks the sidecar's invariants against the config it loads
# (validate_manifests.js). Then breaks the app example in known ways and
# checks that each break is caught (--self-test).
source "$(dirname "$0")/lib.sh"

need_kustomize
need_node_modules
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

files=()
while read -r dir; do
  name=$(basename "$dir")
  render "$dir" "$out/$name.yaml"
  files+=("$out/$name.yaml")
done < <(kustomizations)
[ "${#files[@]}" -ge 6 ] || fail "expected at least 6 kustomizations, found ${#files[@]}"

note "kubernetes-models $(node -p 'require("kubernetes-models/package.json").version') from $NODE_PATH"
node "$DEPLOY_TEST_DIR/validate_manifests.js" "${files[@]}" ||
  fail "rendered manifests do not validate (findings above)"
node "$DEPLOY_TEST_DIR/validate_manifests.js" --self-test "$out/app-with-sidecar.yaml" ||
  fail "the validator missed a broken manifest (above)"
node "$DEPLOY_TEST_DIR/validate_manifests.js" --self-test "$out/tke-oidc.yaml" ||
  fail "the validator missed a broken manifest (above)"
node "$DEPLOY_TEST_DIR/validate_manifests.js" --self-test "$out/unix-socket.yaml" ||
  fail "the validator missed a broken manifest (above)"
echo "manifests_test: ${#files[@]} rendered kustomizations valid"
