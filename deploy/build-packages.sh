#!/bin/sh
# Prints the Debian packages of the build, one a line: the PACKAGES=( ... )
# array of tools/setup.sh, so the image's build stage installs exactly what a
# developer machine gets and the list is kept in one place.
#
#   deploy/build-packages.sh [tools/setup.sh]
set -eu
setup=${1:-$(dirname "$0")/../tools/setup.sh}
out=$(awk '
  /^PACKAGES=\(/ { inside = 1; sub(/^PACKAGES=\(/, "") }
  inside {
    sub(/#.*/, "")
    done = sub(/\).*/, "")
    n = split($0, words, /[ \t]+/)
    for (i = 1; i <= n; i++) if (words[i] != "") print words[i]
    if (done) exit
  }' "$setup")
if [ -z "$out" ]; then
  echo "build-packages: no PACKAGES=( ... ) array found in $setup" >&2
  exit 1
fi
printf '%s\n' "$out"
