#!/bin/sh
# Regenerates proto/tencentcloud/<service>/<version>/<service>.proto and its
# lock file for every api.json under third_party/tencentcloud-specs (the
# committed protos), then the lock of every product version of the vendored
# tarball (third_party/tencentcloud-specs/tccli-specs.tar.xz), whose protos
# the build generates (docs/protogen.md).
# --check writes nothing and exits 1 if anything would change (or the
# unpacked specs differ from the tarball's); other arguments go to
# gen_proto.py.
set -eu
cd "$(dirname "$0")/../.."
status=0
check=
for arg in "$@"; do
  if [ "$arg" = --check ]; then check=1; fi
done
for api in third_party/tencentcloud-specs/*/v*/api.json; do
  dir=$(dirname "$api")
  version=$(basename "$dir")
  service=$(basename "$(dirname "$dir")")
  out="proto/tencentcloud/$service/$version/$service.proto"
  /usr/bin/python3 tools/protogen/gen_proto.py --api "$api" --service "$service" \
    --version-dir "$version" --out "$out" \
    --lock "proto/tencentcloud/$service/$version/$service.lock.json" "$@" || status=$?
done
if [ -n "$check" ]; then
  /usr/bin/python3 tools/protogen/gen_all.py --check || status=$?
else
  /usr/bin/python3 tools/protogen/gen_all.py --update-locks || status=$?
fi
exit $status
