#!/bin/sh
# Prepares the runtime root filesystem: installs the packages listed in
# runtime-packages.txt (and nothing they merely recommend), adds the
# unprivileged user the gateway runs as, and leaves no apt lists behind.
#
# Run as root INSIDE the target root filesystem: by deploy/Dockerfile's
# runtime stage (debian:12-slim) and by tests/deploy/runtime_rootfs_test.sh
# (a debootstrap'ed bookworm, through chroot), so both get the same steps.
#
#   runtime-setup.sh PACKAGE_LIST
set -eu
list=${1:?usage: runtime-setup.sh PACKAGE_LIST}
uid=65532

packages=$(sed -e 's/#.*//' "$list" | tr -s ' \t\r\n' ' ')
[ -n "${packages# }" ] || { echo "runtime-setup: $list names no package" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086  # one word per package, on purpose
apt-get install -y -qq --no-install-recommends $packages
apt-get clean
rm -rf /var/lib/apt/lists/*

# A numeric, shell-less user: Kubernetes checks runAsNonRoot against the
# numeric USER of the image; the passwd entry only gives it a name in ps.
if ! getent passwd "$uid" >/dev/null; then
  groupadd --system --gid "$uid" nonroot
  useradd --system --uid "$uid" --gid "$uid" --no-create-home \
    --home-dir /nonexistent --shell /usr/sbin/nologin nonroot
fi
install -d -m 0755 /etc/envelope-gateway
