#!/bin/sh
# Runs a Python test under Debian's interpreter (see bazel/testing.bzl).
# Bazel starts tests in the runfiles tree of the workspace, the same layout
# ctest's WORKING_DIRECTORY (the source root) gives. Python would put the
# script's folder on sys.path with symlinks resolved, i.e. in the source
# tree, where undeclared files are found too: PYTHONSAFEPATH drops that and
# PYTHONPATH names the folder inside the runfiles instead.
PYTHONSAFEPATH=1 PYTHONPATH="$(dirname "$1")${PYTHONPATH:+:$PYTHONPATH}" \
  exec /usr/bin/python3 "$@"
