#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs (only those missing),
# configures and builds everything into build/. Safe to run again.
# --for-tests: also fetches what the tests would download on a first run
# (npm packages, the runtime root filesystem), so that they need no network.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  g++ make cmake pkg-config ccache curl python3 openssl ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libcurl4-openssl-dev libssl-dev rapidjson-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  golang-github-gogo-googleapis-dev python3-grpcio python3-protobuf
  libyaml-cpp-dev python3-prometheus-client debootstrap iproute2
  nghttp2-server bazel-bootstrap bazel-bootstrap-source
)
# The deploy checks validate manifests with an npm package; Debian's npm
# conflicts with a Node.js installed otherwise, so only when there is none.
command -v npm >/dev/null || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Ask CMake's File API for its codemodel (read before configuring): the
# check that Bazel builds the same targets reads it (tests/buildsystems).
mkdir -p build/.cmake/api/v1/query && touch build/.cmake/api/v1/query/codemodel-v2
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2

if [ "${1:-}" = --for-tests ]; then
  rc=0
  tests/deploy/prefetch.sh || rc=$?
  if [ "$rc" -eq 77 ]; then
    echo "setup: could not fetch the tests' downloads (above); the checks that need them will say so"
  elif [ "$rc" -ne 0 ]; then
    exit "$rc"
  fi
fi
