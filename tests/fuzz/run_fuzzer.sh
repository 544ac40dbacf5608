#!/usr/bin/env bash
# Runs one libFuzzer harness: every seed and every saved finding once, then
# SECONDS of fuzzing. Prints one summary line (executions, executions per
# second, corpus size); exits 1 on any finding (crash, sanitizer report,
# leak, timeout, out of memory, broken property), naming the reproducer.
#
# Usage: run_fuzzer.sh HARNESS_BINARY SECONDS WORK_DIR
#   WORK_DIR (build-san/fuzz) holds seeds/<harness> (make_corpus.py), and
#   gets corpus/<harness> (what this fuzzer found interesting, kept for the
#   next run) and artifacts/<harness> (reproducers).
# ctest's <harness>_smoke tests and tools/fuzz.sh call it.
set -euo pipefail
binary=$1 seconds=$2 work=$3
name=$(basename "$binary")
src=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
corpus=$work/corpus/$name
artifacts=$work/artifacts/$name
mkdir -p "$corpus" "$artifacts"
log=$(mktemp "/tmp/$name.XXXXXX.log")
# As in the suite (sanitizer_suite.sh sets its own, with log files).
sym=external_symbolizer_path=/usr/lib/llvm-14/bin/llvm-symbolizer
: "${ASAN_OPTIONS:=halt_on_error=1:detect_leaks=1:$sym}"
: "${UBSAN_OPTIONS:=halt_on_error=1:print_stacktrace=1:$sym}"
: "${LSAN_OPTIONS:=suppressions=$src/lsan_suppressions.txt:print_suppressions=0}"
export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
trap 'rm -f "$log"' EXIT

# libFuzzer writes new inputs into the first folder only: the others (the
# generated seeds, the hand-made ones, earlier findings) stay as they are.
dirs=("$corpus")
for d in "$work/seeds/$name" "$src/seeds/$name" "$src/findings/$name"; do
  [ -d "$d" ] && dirs+=("$d")
done
# FUZZ_SMOKE_RUNS (ctest's smoke tests): that many inputs from a fixed seed
# instead of a time: the same inputs on every machine, however fast, so a
# smoke test cannot pass on one clone and fail on the next. tools/fuzz.sh
# runs for a time, from a random seed, to find new things.
if [ -n "${FUZZ_SMOKE_RUNS:-}" ]; then
  limit=(-runs="$FUZZ_SMOKE_RUNS" -seed=1)
else
  limit=(-max_total_time="$seconds")
fi
args=(
  "${limit[@]}"
  # One input taking this long is a finding (a hang, quadratic work).
  -timeout=10
  -rss_limit_mb=2048
  -print_final_stats=1
  -artifact_prefix="$artifacts/"
)
case $name in
  # The JSON harnesses share a dictionary of JSON and API tokens.
  envelope_fuzzer | json_to_proto_fuzzer | params_json_fuzzer | credentials_fuzzer)
    args+=(-dict="$src/json.dict") ;;
esac

# The kept corpus grows with every run; past a few thousand inputs it is
# merged down to the ones that add coverage, so loading it stays quick.
if [ "$(find "$corpus" -type f | wc -l)" -gt 4000 ]; then
  merged=$(mktemp -d "$work/corpus/$name.merge.XXXXXX")
  if "$binary" -merge=1 -rss_limit_mb=2048 "$merged" "$corpus" >"$log" 2>&1; then
    rm -rf "$corpus" && mv "$merged" "$corpus"
  else
    rm -rf "$merged"
  fi
fi

rc=0
"$binary" "${args[@]}" "${dirs[@]}" >"$log" 2>&1 || rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
units=$(find "$corpus" -type f | wc -l)
if [ "$rc" -ne 0 ]; then
  # The report: libFuzzer's lines and the sanitizer's, the end of the log.
  tail -n 80 "$log"
  found=$(ls -t "$artifacts" 2>/dev/null | head -1)
  echo "$name: FINDING (exit $rc) after ${execs:-?} executions${found:+: reproducer $artifacts/$found}"
  echo "$name: reproduce with: $binary $artifacts/${found:-<file>}; keep it as tests/fuzz/findings/$name/<what>"
  exit 1
fi
echo "$name: ${execs:-?} executions (${rate:-?}/s), corpus $units new + seeds, no finding"
