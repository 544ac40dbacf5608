# ENVELOPE_SANITIZE: the sanitizer build (build-san, docs/building.md).
# Every target is compiled with AddressSanitizer (LeakSanitizer included) and
# UndefinedBehaviorSanitizer, any UB report fatal, and with libFuzzer's
# coverage instrumentation, so the fuzz harnesses (tests/fuzz, built only in
# this mode) see the coverage of the gateway's libraries. The whole ctest
# suite runs in this build too (tests/buildsystems/sanitizer_suite.sh).
#
# Debian's gRPC, protobuf, Abseil, libcurl and yaml-cpp stay uninstrumented:
# ASan still sees their heap (it replaces malloc), but not their stack or
# globals, and no coverage guides the fuzzers inside them.
option(ENVELOPE_SANITIZE
       "ASan+UBSan and libFuzzer coverage on every target; builds tests/fuzz (clang only)"
       OFF)
if(ENVELOPE_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ENVELOPE_SANITIZE needs clang (libFuzzer): configure "
                        "with -DCMAKE_CXX_COMPILER=clang++-14 (tools/setup.sh --sanitize)")
  endif()
  add_compile_options(
    -fsanitize=address,undefined
    # A UB report stops the process (exit 1), as an ASan report does: a test
    # cannot pass with one.
    -fno-sanitize-recover=all
    -fno-omit-frame-pointer
    # Coverage counters for libFuzzer; non-fuzzer executables get the
    # sanitizer runtime's no-op hooks.
    -fsanitize=fuzzer-no-link
    # Bounds checks in libstdc++'s inline code (vector, string_view, ...):
    # an out-of-range index inside a live allocation is no ASan report.
    -D_GLIBCXX_ASSERTIONS
    # Known reports in others' code, each with its reason.
    -fsanitize-ignorelist=${CMAKE_CURRENT_LIST_DIR}/sanitize_ignorelist.txt)
  add_link_options(-fsanitize=address,undefined)
endif()
