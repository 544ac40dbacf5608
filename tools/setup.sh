#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs (only those missing),
# configures and builds everything into build/. Safe to run again.
# --for-tests (tools/test.sh): also the packages only the tests use, and
# what the tests would download on a first run (npm packages, the runtime
# root filesystem), so that the suites themselves need no network.
# --sanitize (tools/test.sh, tools/fuzz.sh): also the sanitizer build,
# build-san (clang, ASan+UBSan, the fuzz harnesses; docs/building.md).
set -euo pipefail
cd "$(dirname "$0")/.."
for_tests=0 sanitize=0
for arg in "$@"; do
  case $arg in
    --for-tests) for_tests=1 ;;
    --sanitize) sanitize=1 ;;
    *) echo "setup: unknown option $arg (--for-tests, --sanitize)" >&2; exit 2 ;;
  esac
done

# The build and the demo; also the image's build stage (deploy/Dockerfile
# reads this array through deploy/build-packages.sh).
PACKAGES=(
  g++ make cmake pkg-config ccache curl python3 openssl ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libcurl4-openssl-dev libssl-dev libsimdjson-dev rapidjson-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  golang-github-gogo-googleapis-dev python3-grpcio python3-protobuf
  libyaml-cpp-dev prometheus-cpp-dev libcivetweb-dev
)
# The sanitizer build: clang, its sanitizer and libFuzzer runtimes, and
# llvm-symbolizer, which turns the reports' addresses into lines.
SANITIZER_PACKAGES=(clang-14 libclang-rt-14-dev llvm-14)
# The test suites only: the metrics parser, HPACK's Huffman code (a raw
# HTTP/2 caller reads gRPC's trailers), the runtime root filesystem
# (debootstrap, ip), the HTTP/2 server, Bazel (a JDK comes with it), the
# sanitizer build's compiler, the Go example's toolchain (examples/go), and
# Redis with its Python client and YAML for the rate limit service stand-in
# (tools/testservers/ratelimit_service.py).
TEST_PACKAGES=(
  python3-prometheus-client python3-hpack debootstrap iproute2 nghttp2-server
  bazel-bootstrap bazel-bootstrap-source "${SANITIZER_PACKAGES[@]}"
  golang-go golang-google-grpc-dev golang-google-genproto-dev
  golang-github-golang-protobuf-1-5-dev protoc-gen-go protoc-gen-go-grpc
  redis-server python3-redis python3-yaml
)
if ((sanitize)); then
  PACKAGES+=("${SANITIZER_PACKAGES[@]}")
fi
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

if ((sanitize)); then
  # -O1 and assertions on (no NDEBUG): the sanitizers' and libFuzzer's usual
  # trade between speed and what a report can show.
  cmake -S . -B build-san -DCMAKE_CXX_COMPILER=clang++-14 -DENVELOPE_SANITIZE=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
  cmake --build build-san -j2
fi

if ((for_tests)); then
  rc=0
  tests/deploy/prefetch.sh || rc=$?
  if [ "$rc" -eq 77 ]; then
    echo "setup: could not fetch the tests' downloads (above); the checks that need them will say so"
  elif [ "$rc" -ne 0 ]; then
    exit "$rc"
  fi
fi
