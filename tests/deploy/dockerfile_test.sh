#!/usr/bin/env bash
# deploy_dockerfile_test: deploy/Dockerfile without a Docker engine.
# 1. lint + the image's promises (check_dockerfile.js, dockerfile-utils);
# 2. deploy/build-packages.sh finds tools/setup.sh's package array;
# 3. deploy/runtime-packages.txt covers every shared library the built
#    binary links directly (readelf NEEDED -> dpkg -S), Debian's required
#    packages (libc6...) aside. runtime_rootfs_test.sh proves it for real.
#
#   dockerfile_test.sh --gateway build/gateway/main/envelope-gateway
source "$(dirname "$0")/lib.sh"

in_list() {  # in_list WORD ITEM...: WORD is one of the ITEMs
  local w=$1 x
  shift
  for x in "$@"; do [ "$x" = "$w" ] && return 0; done
  return 1
}

parse_gateway_arg "$@"

# 2. The build stage's package list.
mapfile -t build_pkgs < <("$REPO_ROOT/deploy/build-packages.sh" "$REPO_ROOT/tools/setup.sh")
declared=$(sed -n '/^PACKAGES=(/,/^)/p' "$REPO_ROOT/tools/setup.sh" | sed 's/#.*//' | tr -s ' \t()' '\n' | grep -vE '^(PACKAGES=)?$' | sort | tr '\n' ' ')
[ "$(printf '%s\n' "${build_pkgs[@]}" | sort | tr '\n' ' ')" = "$declared" ] ||
  fail "deploy/build-packages.sh printed '${build_pkgs[*]}', tools/setup.sh declares '$declared'"
for p in g++ cmake libgrpc++-dev libprotobuf-dev libcurl4-openssl-dev libssl-dev; do
  in_list "$p" "${build_pkgs[@]}" || fail "build package list lacks $p: ${build_pkgs[*]}"
done
note "ok: build stage packages = tools/setup.sh's ${#build_pkgs[@]}: ${build_pkgs[*]}"

# 3. Runtime packages cover the binary's direct dependencies.
[ -n "$gateway" ] || fail "--gateway PATH is required"
[ -x "$gateway" ] || fail "$gateway is not an executable (build the envelope-gateway target first)"
{ command -v readelf >/dev/null && command -v dpkg >/dev/null; } ||
  skip "readelf (binutils) or dpkg missing: cannot map the binary's libraries to Debian packages"
mapfile -t runtime_pkgs < <(sed -e 's/#.*//' "$REPO_ROOT/deploy/runtime-packages.txt" | tr -s ' \t\r' '\n' | grep -v '^$')
used=()
missing=0
while read -r so; do
  # (awk reads all its input: an early exit would SIGPIPE ldconfig under pipefail)
  file=$(ldconfig -p | awk -v so="$so" '$1 == so && /x86-64|64bit/ && !f { print $NF; f = 1 }')
  [ -n "$file" ] || file=$(ldconfig -p | awk -v so="$so" '$1 == so && !f { print $NF; f = 1 }')
  owner=""
  [ -n "$file" ] && owner=$(dpkg -S "$file" 2>/dev/null || dpkg -S "$(realpath "$file")" 2>/dev/null || true)
  pkg=${owner%%:*}
  if [ -z "$pkg" ]; then
    echo "FAIL: $so (${file:-not found by ldconfig}) belongs to no Debian package: the runtime image cannot get it" >&2
    missing=$((missing + 1))
    continue
  fi
  used+=("$pkg")
  if in_list "$pkg" "${runtime_pkgs[@]}"; then
    note "ok: $so <- $pkg (listed)"
  elif [ "$(dpkg-query -W -f='${Priority}' "$pkg" 2>/dev/null)" = required ]; then
    note "ok: $so <- $pkg (priority required: in every Debian root filesystem)"
  else
    echo "FAIL: $so is in package $pkg, which deploy/runtime-packages.txt does not list" >&2
    missing=$((missing + 1))
  fi
done < <(readelf -d "$gateway" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ "$missing" -eq 0 ] || fail "$missing shared-library dependencies not covered by deploy/runtime-packages.txt"
for p in "${runtime_pkgs[@]}"; do
  in_list "$p" "${used[@]}" ||
    note "note: $p is listed but not linked directly by this build (kept on purpose? e.g. ca-certificates, or a library a coming feature links)"
done

# 1. Lint and structure.
need_node_modules
node "$DEPLOY_TEST_DIR/check_dockerfile.js" "$REPO_ROOT" || fail "deploy/Dockerfile (above)"
echo "dockerfile_test: deploy/Dockerfile, its package lists and the binary's libraries agree"
