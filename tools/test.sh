#!/usr/bin/env bash
# Sets up, builds and runs every test; ends with ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
# build/, and build-san: the same under ASan+UBSan, with the fuzzers.
tools/setup.sh --for-tests --sanitize
# Every process the tests start keeps its output here; the last test reads
# all of it for secrets.
export ENVELOPE_TEST_LOG_DIR="$PWD/build/test-logs"
# The last test builds and tests everything again with Bazel.
export ENVELOPE_BAZEL_TEST=1
# And one runs the suite again in build-san, with a short run of each fuzzer.
export ENVELOPE_SANITIZER_TEST=1
rm -rf "$ENVELOPE_TEST_LOG_DIR" && mkdir -p "$ENVELOPE_TEST_LOG_DIR"
cd build
exec ctest --output-on-failure -j2 --timeout 900
