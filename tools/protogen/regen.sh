#!/bin/sh
# Regenerates proto/tencentcloud/<service>/<version>/<service>.proto and its
# lock file for every api.json under third_party/tencentcloud-specs.
# Extra arguments (e.g. --check) are passed to gen_proto.py.
set -eu
cd "$(dirname "$0")/../.."
status=0
for api in third_party/tencentcloud-specs/*/v*/api.json; do
  dir=$(dirname "$api")
  version=$(basename "$dir")
  service=$(basename "$(dirname "$dir")")
  out="proto/tencentcloud/$service/$version/$service.proto"
  /usr/bin/python3 tools/protogen/gen_proto.py --api "$api" --service "$service" \
    --version-dir "$version" --out "$out" \
    --lock "proto/tencentcloud/$service/$version/$service.lock.json" "$@" || status=$?
done
exit $status
