#!/bin/sh
# Runs a Python test under Debian's interpreter (see bazel/testing.bzl).
# Bazel starts tests in the runfiles tree of the workspace, the same layout
# ctest's WORKING_DIRECTORY (the source root) gives.
exec /usr/bin/python3 "$@"
