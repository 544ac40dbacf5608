# shellcheck shell=bash
# Helpers for tests/deploy/*_test.sh (sourced, bash).
#
# A check that cannot run here exits 77, which the add_test lines declare as
# SKIP_RETURN_CODE: ctest then reports the test as skipped, never passed.
set -euo pipefail

# The tree the checks read. Under Bazel: a copy of the test's runfiles with
# the symlinks resolved (so only the declared files, and kustomize refuses
# symlinked kustomization files). Else the tree this file is in.
if [ -n "${TEST_SRCDIR:-}" ]; then
  REPO_ROOT="${TEST_TMPDIR:?}/tree"
  [ -d "$REPO_ROOT" ] || cp -rL "$TEST_SRCDIR/$TEST_WORKSPACE" "$REPO_ROOT"
else
  REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fi
DEPLOY_TEST_DIR="$REPO_ROOT/tests/deploy"
EXAMPLES_DIR="$REPO_ROOT/deploy/kubernetes/examples"
FIXTURES_DIR="$DEPLOY_TEST_DIR/fixtures"

skip() {
  {
    echo
    echo "**************************************************************"
    echo "SKIPPED: $(basename "$0"): $*"
    echo "This check did NOT run (exit 77; ctest counts it as skipped)."
    echo "**************************************************************"
  }
  exit 77
}

fail() {
  echo "FAIL: $(basename "$0"): $*" >&2
  exit 1
}

note() { echo "-- $*"; }

# The example overlays and the test fixtures, one kustomization dir a line.
kustomizations() {
  local d
  for d in "$EXAMPLES_DIR"/*/ "$FIXTURES_DIR"/*/; do
    [ -f "$d/kustomization.yaml" ] && echo "${d%/}"
  done
}

# Sets KUSTOMIZE (a command array taking a directory) or skips.
# Components need kustomize >= 3.7; kubectl >= 1.21 embeds kustomize >= 4.
# Debian 12's kubernetes-client (kubectl 1.20) embeds kustomize 2.0.3: too old.
need_kustomize() {
  if command -v kustomize >/dev/null 2>&1; then
    KUSTOMIZE=(kustomize build)
    note "using $(command -v kustomize) ($(kustomize version 2>/dev/null | head -1))"
    return
  fi
  command -v kubectl >/dev/null 2>&1 ||
    skip "neither kustomize nor kubectl is installed (Debian: kubernetes-client is too old for Components; install a kubectl >= 1.21 or a kustomize >= 4)"
  local out version major
  out=$(kubectl version --client 2>/dev/null || true)
  version=$(printf '%s\n' "$out" | sed -n 's/^Kustomize Version: *v\{0,1\}\([0-9][0-9.]*\).*/\1/p' | head -1)
  if [ -z "$version" ]; then
    skip "$(command -v kubectl) does not report a Kustomize version: it embeds a kustomize older than v4 (Debian 12's kubernetes-client 1.20 has v2.0.3), which cannot build Components. Install kubectl >= 1.21 or kustomize >= 4. kubectl says: $(printf '%s' "$out" | head -1)"
  fi
  major=${version%%.*}
  if [ "$major" -lt 4 ]; then
    skip "kubectl embeds kustomize v$version; Components need v4 or newer"
  fi
  KUSTOMIZE=(kubectl kustomize)
  note "using $(command -v kubectl) (kustomize v$version)"
}

# render DIR OUT: builds the kustomization offline into OUT, fails loudly.
render() {
  local dir=$1 out=$2 err
  err=$(mktemp)
  if ! "${KUSTOMIZE[@]}" "$dir" >"$out" 2>"$err"; then
    cat "$err" >&2
    rm -f "$err"
    fail "${KUSTOMIZE[*]} ${dir#"$REPO_ROOT"/} failed"
  fi
  rm -f "$err"
  [ -s "$out" ] || fail "${KUSTOMIZE[*]} ${dir#"$REPO_ROOT"/} rendered nothing"
}

# need_node_modules [DIR]: installs DIR's package-lock.json (default
# tests/deploy; examples/node for the Node example) with `npm ci` into a
# cache dir (outside the repository, keyed by the lock file's hash) and
# exports NODE_PATH to it. Skips when node/npm are missing or the registry
# cannot be reached for a first install.
need_node_modules() {
  local pkg_dir=${1:-$DEPLOY_TEST_DIR} lock
  lock="${pkg_dir#"$REPO_ROOT"/}/package-lock.json"
  command -v node >/dev/null 2>&1 || skip "node is not installed (Debian: nodejs)"
  command -v npm >/dev/null 2>&1 || skip "npm is not installed (Debian: npm)"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 18 ] || skip "node $(node --version) is too old; need >= 18"

  local base key dir log rc
  base=${ENVELOPE_DEPLOY_NPM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/envelope-gateway/npm}
  key=$(cat "$pkg_dir/package.json" "$pkg_dir/package-lock.json" | sha256sum | cut -c1-16)
  dir="$base/$key"
  mkdir -p "$base"
  if [ ! -f "$dir/.installed" ]; then
    log="$base/npm-ci-$key.log"
    rc=0
    (
      flock 9
      [ -f "$dir/.installed" ] && exit 0
      rm -rf "$dir.tmp"
      mkdir -p "$dir.tmp"
      cp "$pkg_dir/package.json" "$pkg_dir/package-lock.json" "$dir.tmp/"
      note "npm ci into $dir (first run for this lock file)"
      (cd "$dir.tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >"$log" 2>&1 || exit 3
      touch "$dir.tmp/.installed"
      rm -rf "$dir"
      mv "$dir.tmp" "$dir"
    ) 9>"$base/.lock" || rc=$?
    if [ "$rc" -ne 0 ]; then
      cat "$log" >&2 || true
      if grep -qE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|ENETUNREACH|network' "$log" 2>/dev/null; then
        skip "npm ci could not reach the npm registry (first install of $lock into $dir)"
      fi
      fail "npm ci of $lock failed (log: $log)"
    fi
  fi
  export NODE_PATH="$dir/node_modules"
}

# parse_gateway_arg "$@": sets $gateway from "--gateway PATH" (empty when
# not given); any other argument is an error.
parse_gateway_arg() {
  gateway=""
  while [ $# -gt 0 ]; do
    case $1 in
      --gateway) gateway=$2; shift 2 ;;
      *) fail "unknown argument $1" ;;
    esac
  done
}
