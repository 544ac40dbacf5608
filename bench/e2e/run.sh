#!/usr/bin/env bash
# End-to-end CPU per call of the gateway against a bare gRPC server (A) plus
# a bare libcurl client (B), and against the two joined (C, the floor of the
# gateway's architecture), with nginx as the upstream (bench/README.md,
# "End to end"). From anywhere:
#   bench/e2e/run.sh                       3 interleaved runs per case, ~2 min
#   bench/e2e/run.sh --quick               a tenth of the calls (E2E_SCALE=0.1)
#   bench/e2e/run.sh --build-dir build-x   another CMake build folder
#                                          (E2E_BUILD_DIR; default build)
#   bench/e2e/run.sh --json FILE           where the results go (default
#                                          BUILD/bench/e2e/results-TIME.json)
# Other options go to bench/e2e/driver.py (--repeat N, --keep,
# --gateway-args '...'); E2E_REPEAT and E2E_GATEWAY_ARGS do the same.
set -euo pipefail
cd "$(dirname "$0")/../.."
build_dir=${E2E_BUILD_DIR:-build}
driver_args=()
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --build-dir=*) build_dir=${1#*=}; shift ;;
    --quick) driver_args+=(--scale "${E2E_SCALE:-0.1}"); shift ;;
    *) driver_args+=("$1"); shift ;;
  esac
done

# nginx and h2load from Debian, if missing (nginx lives in /usr/sbin).
missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v h2load >/dev/null || missing+=(nghttp2-client)
if ((${#missing[@]})); then
  echo "e2e: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# The build folder: tools/setup.sh makes build/ (and installs the build's
# packages, python3-grpcio among them); another folder is configured the same
# way. Then only the four programs are built.
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  if [ "$build_dir" = build ]; then
    tools/setup.sh
  else
    cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
fi
cmake --build "$build_dir" -j2 --target envelope-gateway e2e_bare_server e2e_curl_client \
  e2e_glue_server

exec /usr/bin/python3 bench/e2e/driver.py --build-dir "$build_dir" "${driver_args[@]}"
