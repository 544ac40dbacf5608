#!/usr/bin/env bash
# The whole ctest suite again in the sanitizer build (build-san: ASan with
# LeakSanitizer, UBSan; docs/building.md), plus a short run of every fuzz
# harness (its <harness>_smoke tests). Passes only with no sanitizer report
# at all: also none from a process whose exit status no test looks at (a
# gateway stopped at the end of a test, a helper binary), which is why every
# report goes to a file (log_path) that is checked at the end.
#
# Run by the main build's ctest as `sanitizer_suite`, a cleanup of the
# ctest_suite fixture (after every other test, alone: RUN_SERIAL). ctest
# adds it to any filtered run, so it runs only when asked:
# ENVELOPE_SANITIZER_TEST=1, which tools/test.sh sets after building
# build-san (tools/setup.sh --sanitize). Otherwise it exits 77: skipped.
#
# Usage: sanitizer_suite.sh BUILD_SAN_DIR
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."
san=$(readlink -f "${1:?usage: sanitizer_suite.sh BUILD_SAN_DIR}")
if [ "${ENVELOPE_SANITIZER_TEST:-}" != 1 ]; then
  echo "sanitizer_suite: SKIPPED: set ENVELOPE_SANITIZER_TEST=1 to run the suite in $san (tools/test.sh does)"
  exit 77
fi
if [ ! -f "$san/CTestTestfile.cmake" ]; then
  echo "sanitizer_suite: FAIL: no sanitizer build in $san (tools/setup.sh --sanitize makes it)"
  exit 1
fi

reports=$san/sanitizer-reports
rm -rf "$reports" && mkdir -p "$reports"
supp=$PWD/tests/fuzz/lsan_suppressions.txt
# Every report stops the process (halt_on_error; UBSan's recovery is off at
# compile time too) and lands in $reports/<tool>.<pid>.
# llvm-14's symbolizer by its path: only the unversioned `llvm` package
# puts one on PATH.
sym=external_symbolizer_path=/usr/lib/llvm-14/bin/llvm-symbolizer
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1:$sym:log_path=$reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:$sym:log_path=$reports/ubsan"
export LSAN_OPTIONS="suppressions=$supp:print_suppressions=0"
# The gateways' own output, for build-san's log_secrets_test.
export ENVELOPE_TEST_LOG_DIR=$san/test-logs
rm -rf "$ENVELOPE_TEST_LOG_DIR" && mkdir -p "$ENVELOPE_TEST_LOG_DIR"
# Nothing in there drives Bazel or recurses into this test.
unset ENVELOPE_BAZEL_TEST ENVELOPE_SANITIZER_TEST

# Left out: the two Bazel tests (Bazel builds without sanitizers); demo_test,
# which runs build/'s binaries as the README's command does; and the checks
# of the release image, which look at the binary's shared libraries (clang
# links without --as-needed) and run it in the image's root filesystem.
# -FA: bazel_test, the cleanup of ctest_suite, is not added back.
skip='bazel_test|build_targets_agree_test|demo_test|deploy_dockerfile_test|deploy_rootfs_test'
rc=0
(cd "$san" && ctest --output-on-failure -j2 --timeout 900 -E "^($skip)\$" \
  -FA '^ctest_suite$') || rc=$?

mapfile -t found < <(find "$reports" -type f | sort)
if [ "${#found[@]}" -gt 0 ]; then
  echo "sanitizer_suite: FAIL: ${#found[@]} sanitizer report(s):"
  # The first lines of each say what and where; the files keep the rest.
  for f in "${found[@]}"; do
    echo "==== $f"
    grep -m 12 -E 'ERROR|SUMMARY|runtime error|FINDING|^    #[0-9] ' "$f" || head -n 12 "$f"
  done
  exit 1
fi
if [ "$rc" -ne 0 ]; then
  echo "sanitizer_suite: FAIL: ctest in $san exited with $rc (above)"
  exit 1
fi
echo "sanitizer_suite: every test passed in $san, no sanitizer report"
