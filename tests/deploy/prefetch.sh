#!/usr/bin/env bash
# Fetches what the deploy checks, the protobufjs check and the Node example
# download on their first run: the pinned npm packages and the runtime root
# filesystem (from Debian's mirror). `tools/setup.sh --for-tests` runs it, so
# that the test suites themselves need no network (Bazel's runs without any:
# docs/building.md). Exits 77 when something cannot be fetched here.
source "$(dirname "$0")/lib.sh"
need_node_modules
note "npm packages: $NODE_PATH"
need_node_modules "$REPO_ROOT/examples/node"
note "npm packages of examples/node: $NODE_PATH"
exec "$DEPLOY_TEST_DIR/runtime_rootfs_test.sh" --prepare
