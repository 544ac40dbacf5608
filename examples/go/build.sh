#!/bin/sh
# Generates the Go stubs of the CVM and JsonApi protos into OUT/src and
# builds OUT/client, in GOPATH mode against Debian's Go packages
# (/usr/share/gocode): golang-go, golang-google-grpc-dev,
# golang-google-genproto-dev, golang-github-golang-protobuf-1-5-dev,
# protoc-gen-go (1.28: proto3 `optional`) and protoc-gen-go-grpc (1.33).
#   examples/go/build.sh OUT
set -eu
out=$(mkdir -p "${1:?usage: build.sh OUT}" && cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
proto=$here/../../proto
mkdir -p "$out/src"
# go_package in each .proto names the import path: the files land under
# OUT/src/github.com/envelope-gateway/proto/...
protoc -I "$proto" --go_out="$out/src" --go-grpc_out="$out/src" \
  "$proto/tencentcloud/cvm/v20170312/cvm.proto" \
  "$proto/envelope/gateway/v1/json_api.proto"
cd "$here"
GOPATH="$out:/usr/share/gocode" GO111MODULE=off GOFLAGS='' go build -o "$out/client" main.go
