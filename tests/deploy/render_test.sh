#!/usr/bin/env bash
# deploy_render_test: every kustomization under deploy/kubernetes/examples/
# (and the fixtures of tests/deploy/fixtures/) renders offline with
# `kubectl kustomize`, deterministically, and has the shape each promises:
# the sidecar where it should be and nowhere else, the generated ConfigMap
# referenced by its hashed name, no Secret in the TKE variant, the gRPC probe
# in the grpc-probes variant. Schemas and invariants: manifests_test.sh.
source "$(dirname "$0")/lib.sh"

need_kustomize
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# doc FILE KIND NAME: one object of a rendered multi-document YAML.
doc() {
  awk -v kind="$2" -v name="$3" '
    function flush() { if (k == kind && n == name) { printf "%s", buf; found = 1 }; buf = ""; k = ""; n = ""; meta = 0 }
    /^---$/ { flush(); next }
    { buf = buf $0 "\n" }
    /^[A-Za-z]/ { meta = ($0 == "metadata:") }
    /^kind: / { k = $2 }
    meta && /^  name: / { n = $2 }
    END { flush(); if (!found) { print "no " kind "/" name " in " FILENAME > "/dev/stderr"; exit 1 } }' "$1"
}
expect() {  # expect DESCRIPTION COMMAND...: the command must succeed
  local what=$1
  shift
  if "$@"; then note "ok: $what"; else fail "$what"; fi
}
has() { grep -qE -- "$1" <<<"$2"; }
hasnt() { ! grep -qE -- "$1" <<<"$2"; }

n=0
while read -r dir; do
  name=$(basename "$dir")
  render "$dir" "$out/$name.yaml"
  render "$dir" "$out/$name.again.yaml"
  cmp -s "$out/$name.yaml" "$out/$name.again.yaml" ||
    fail "${dir#"$REPO_ROOT"/} renders differently twice"
  note "rendered ${dir#"$REPO_ROOT"/}: $(grep -c '^kind: ' "$out/$name.yaml") objects ($(awk '/^kind: /{k=$2} /^  name: /&&k{printf "%s%s/%s", sep, k, $2; sep=", "; k=""}' "$out/$name.yaml"))"
  n=$((n + 1))
done < <(kustomizations)
[ "$n" -ge 4 ] || fail "expected at least 3 examples and 1 fixture, found $n kustomizations"

grep -q '^kind: Component$' "$REPO_ROOT/deploy/kubernetes/base/kustomization.yaml" ||
  fail "deploy/kubernetes/base is meant to be a Kustomize Component"

# app-with-sidecar: the sidecar, native, with the generated config.
app=$(doc "$out/app-with-sidecar.yaml" Deployment inventory)
cm=$(awk '/^kind: ConfigMap/{c=1} c&&/^  name: envelope-gateway-config-/{print $2; exit}' "$out/app-with-sidecar.yaml")
expect "app-with-sidecar: ConfigMap name is hash-suffixed ($cm)" has '^envelope-gateway-config-[a-z0-9]{10}$' "$cm"
expect "app-with-sidecar: the Deployment mounts that ConfigMap" has "name: $cm\$" "$app"
expect "app-with-sidecar: sidecar is in initContainers" has '^      initContainers:' "$app"
expect "app-with-sidecar: native sidecar (restartPolicy: Always)" has '^        restartPolicy: Always' "$app"
expect "app-with-sidecar: Secret referenced by its fixed name" has 'secretName: envelope-gateway-credentials$' "$app"
expect "app-with-sidecar: image set by images:" has 'image: registry.example.com/envelope-gateway:0.1.0$' "$app"

# tke-oidc: no Secret anywhere; the projected token and a service account.
tke="$out/tke-oidc.yaml"
expect "tke-oidc: no Secret volume" hasnt 'secretName:|^kind: Secret$' "$(cat "$tke")"
tke_app=$(doc "$tke" Deployment inventory)
tke_sa=$(doc "$tke" ServiceAccount inventory)
expect "tke-oidc: projected service-account token" has 'serviceAccountToken:' "$tke_app"
expect "tke-oidc: ServiceAccount inventory" has '^kind: ServiceAccount' "$tke_sa"
expect "tke-oidc: its own config replaced the base's (credential_sources)" has 'credential_sources:' "$(cat "$tke")"
expect "tke-oidc: the base's config is gone (no secret_dir)" hasnt 'secret_dir:' "$(cat "$tke")"

# grpc-probes: a grpc readiness probe, no httpGet left on it, a NetworkPolicy.
grpc=$(doc "$out/grpc-probes.yaml" Deployment inventory)
expect "grpc-probes: readiness through grpc" has '^          grpc:' "$grpc"
netpol=$(doc "$out/grpc-probes.yaml" NetworkPolicy inventory-ingress)
expect "grpc-probes: NetworkPolicy" has '^kind: NetworkPolicy' "$netpol"

# The Component's targets.
fx="$out/component-targets.yaml"
for w in StatefulSet/ledger DaemonSet/node-agent Job/nightly-report; do
  workload=$(doc "$fx" "${w%/*}" "${w#*/}")
  expect "component-targets: $w has the sidecar" has 'name: envelope-gateway$' "$workload"
done
optout=$(doc "$fx" Deployment no-cloud-access)
expect "component-targets: Deployment labelled envelope-gateway/sidecar=disabled has none" \
  hasnt 'envelope-gateway' "$(grep -v 'envelope-gateway/sidecar' <<<"$optout")"
job=$(doc "$fx" Job nightly-report)
first_init=$(awk '/^      initContainers:/{i=1; next} i && /^        name: /{print $2; exit}' <<<"$job")
expect "component-targets: the sidecar comes before the Job's own init container (it is $first_init)" \
  test "$first_init" = envelope-gateway
svc=$(doc "$fx" Service ledger)
expect "component-targets: Service untouched" hasnt 'envelope-gateway' "$svc"

echo "render_test: $n kustomizations rendered and checked"
