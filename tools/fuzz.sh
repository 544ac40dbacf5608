#!/usr/bin/env bash
# Runs every fuzz harness (tests/fuzz/README.md) for SECONDS each (default
# 60), one after the other, and prints each one's executions; fails on any
# finding, naming the reproducer. Builds build-san first (the first time
# through tools/setup.sh --sanitize, which installs clang).
#
#   tools/fuzz.sh [SECONDS] [HARNESS...]     e.g. tools/fuzz.sh 600 config_fuzzer
#
# What each run found interesting stays in build-san/fuzz/corpus/<harness>
# for the next run; reproducers go to build-san/fuzz/artifacts/<harness>.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
if [ ! -f build-san/CMakeCache.txt ]; then
  tools/setup.sh --sanitize
else
  cmake --build build-san -j2
fi
harnesses=("$@")
if [ "${#harnesses[@]}" -eq 0 ]; then
  mapfile -t harnesses < <(find build-san/tests/fuzz -maxdepth 1 -type f \
    -name '*_fuzzer' -perm -u+x -printf '%f\n' | sort)
fi
status=0 summary=()
for h in "${harnesses[@]}"; do
  echo "== $h ($seconds s)"
  if line=$(tests/fuzz/run_fuzzer.sh "build-san/tests/fuzz/$h" "$seconds" build-san/fuzz); then
    echo "$line"
  else
    echo "$line"
    status=1
  fi
  summary+=("$(printf '%s\n' "$line" | grep -m1 "^$h: ")")
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$status"
