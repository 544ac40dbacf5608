#!/bin/sh
# Builds and runs the transcoder benchmark from the repository root.
# Extra arguments go to Google Benchmark, e.g.
#   bench/run.sh --benchmark_filter=proto_to_json
#   bench/run.sh --benchmark_repetitions=1   (one repetition, no aggregates)
# With repetitions the table uses the median of each benchmark.
set -eu
cd "$(dirname "$0")/.."
cmake --build build -j2 --target transcode_bench
exec build/bench/transcode_bench --benchmark_min_time=0.5 \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true "$@"
