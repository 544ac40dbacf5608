#!/bin/sh
# Generates the Python modules of the CVM and JsonApi protos and of
# google.rpc's Status and details into OUT, with Debian's protoc and
# grpc_python_plugin (protobuf-compiler, protobuf-compiler-grpc). No pip:
# google/rpc/*.proto come from golang-github-gogo-googleapis-dev.
#   examples/python/build.sh OUT
#   PYTHONPATH=OUT /usr/bin/python3 examples/python/client.py
set -eu
out=${1:?usage: build.sh OUT}
proto=$(cd "$(dirname "$0")/../../proto" && pwd)
googleapis=/usr/share/gocode/src/github.com/gogo/googleapis
mkdir -p "$out"
protoc -I "$proto" -I "$googleapis" -I /usr/include \
  --python_out="$out" --grpc_python_out="$out" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
  "$proto/tencentcloud/cvm/v20170312/cvm.proto" \
  "$proto/envelope/gateway/v1/json_api.proto" \
  "$googleapis/google/rpc/status.proto" \
  "$googleapis/google/rpc/error_details.proto"
