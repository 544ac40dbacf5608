#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs (only those missing),
# configures and builds everything into build/. Safe to run again.
# --for-tests (tools/test.sh): also the packages only the tests use, and
# what the tests would download on a first run (npm packages, the runtime
# root filesystem), so that the suites themselves need no network.
set -euo pipefail
cd "$(dirname "$0")/.."
for_tests=0
[ "${1:-}" = --for-tests ] && for_tests=1

# The build and the demo; also the image's build stage (deploy/Dockerfile
# reads this array through deploy/build-packages.sh).
PACKAGES=(
  g++ make cmake pkg-config ccache curl python3 openssl ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libcurl4-openssl-dev libssl-dev libsimdjson-dev rapidjson-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  golang-github-gogo-googleapis-dev python3-grpcio python3-protobuf
  libyaml-cpp-dev
)
# The test suites only: the metrics parser, the runtime root filesystem
# (debootstrap, ip), the HTTP/2 server, and Bazel (a JDK comes with it).
TEST_PACKAGES=(
  python3-prometheus-client debootstrap iproute2 nghttp2-server
  bazel-bootstrap bazel-bootstrap-source
)
if ((for_tests)); then
  PACKAGES+=("${TEST_PACKAGES[@]}")
  # The deploy checks validate manifests with an npm package; Debian's npm
  # conflicts with a Node.js installed otherwise, so only when there is none.
  command -v npm >/dev/null || PACKAGES+=(nodejs npm)
fi

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

if ((for_tests)); then
  rc=0
  tests/deploy/prefetch.sh || rc=$?
  if [ "$rc" -eq 77 ]; then
    echo "setup: could not fetch the tests' downloads (above); the checks that need them will say so"
  elif [ "$rc" -ne 0 ]; then
    exit "$rc"
  fi
fi
