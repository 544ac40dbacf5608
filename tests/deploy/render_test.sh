#!/usr/bin/env bash
# deploy_render_test: every kustomization under deploy/kubernetes/examples/
# (and the fixtures of tests/deploy/fixtures/) renders offline with
# `kubectl kustomize`, deterministically, and has the shape each promises:
# the sidecar where it should be and nowhere else (CronJobs included, with
# the same sidecar), the generated ConfigMap referenced by its hashed name,
# probes inside the container and the admin port on loopback, no Secret in
# the TKE variant, the gRPC probe in the grpc-probes variant, the PodMonitor
# and NetworkPolicy of the prometheus variant, the shared socket volume of
# the unix-socket variant. Schemas and invariants: manifests_test.sh.
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
# pod_spec_part TEXT INDENT KEY: KEY's block of a pod spec at INDENT spaces, de-indented.
pod_spec_part() {
  awk -v ind="$2" -v key="$3" '
    { match($0, /^ */); depth = RLENGTH }
    on && depth <= ind && $0 !~ /^ *- / { on = 0 }
    on && depth < ind { on = 0 }
    index($0, sprintf("%" ind "s%s:", "", key)) == 1 { on = 1 }
    on { print substr($0, ind + 1) }' <<<"$1"
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
[ "$n" -ge 6 ] || fail "expected at least 5 examples and 1 fixture, found $n kustomizations"

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
expect "app-with-sidecar: admin port on loopback" has 'admin_listen: 127.0.0.1:9901' "$(cat "$out/app-with-sidecar.yaml")"
sidecar=$(pod_spec_part "$app" 6 initContainers)
expect "app-with-sidecar: probes run inside the container (three exec probes)" \
  test "$(grep -c '^    exec:$' <<<"$sidecar")" = 3
expect "app-with-sidecar: no httpGet probe left on the sidecar" hasnt 'httpGet:' "$sidecar"
expect "app-with-sidecar: no prometheus.io annotations" hasnt 'prometheus\.io/' "$app"

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
# CronJobs: the same sidecar, one level deeper (sidecar-cronjob.yaml is
# sidecar.yaml nested under jobTemplate: the two must not drift apart).
cron=$(doc "$fx" CronJob hourly-sync)
expect "component-targets: CronJob/hourly-sync has the sidecar" has '^ {10}- .*name: envelope-gateway$|^ {12}name: envelope-gateway$' "$cron"
sts=$(doc "$fx" StatefulSet ledger)
for part in initContainers volumes terminationGracePeriodSeconds; do
  a=$(pod_spec_part "$sts" 6 "$part")
  b=$(pod_spec_part "$cron" 10 "$part")
  [ -n "$a" ] || fail "component-targets: StatefulSet/ledger has no $part"
  expect "component-targets: the CronJob's $part are the StatefulSet's (sidecar-cronjob.yaml = sidecar.yaml)" test "$a" = "$b"
done
svc=$(doc "$fx" Service ledger)
expect "component-targets: Service untouched" hasnt 'envelope-gateway' "$svc"

# prometheus: admin on the pod IP behind a NetworkPolicy, a PodMonitor.
prom="$out/prometheus.yaml"
expect "prometheus: its config binds the admin port on the pod IP" has 'admin_listen: 0.0.0.0:9901' "$(cat "$prom")"
pm=$(doc "$prom" PodMonitor inventory-envelope-gateway)
expect "prometheus: PodMonitor (monitoring.coreos.com/v1) on gw-admin /metrics" \
  has '^apiVersion: monitoring.coreos.com/v1$' "$pm"
expect "prometheus: the PodMonitor names the sidecar's port" has 'port: gw-admin$' "$pm"
prom_np=$(doc "$prom" NetworkPolicy inventory-ingress)
expect "prometheus: the NetworkPolicy admits 9901 from the monitoring namespace" \
  has 'kubernetes.io/metadata.name: monitoring' "$prom_np"

# unix-socket: one emptyDir mounted by both, the app pointed at the socket.
sock=$(doc "$out/unix-socket.yaml" Deployment inventory)
expect "unix-socket: the config listens on the socket" \
  has 'unix:/var/run/envelope-gateway/grpc.sock' "$(cat "$out/unix-socket.yaml")"
expect "unix-socket: both containers mount the socket volume" \
  test "$(grep -c 'name: envelope-gateway-socket$' <<<"$sock")" = 3
expect "unix-socket: the app connects to unix:///var/run/envelope-gateway/grpc.sock" \
  has 'value: unix:///var/run/envelope-gateway/grpc.sock$' "$sock"
expect "unix-socket: no gRPC container port left" hasnt 'containerPort: 50051' "$sock"

echo "render_test: $n kustomizations rendered and checked"
