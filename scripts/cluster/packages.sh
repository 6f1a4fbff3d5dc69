#!/usr/bin/env bash
# Install the Debian packages of `make images` and `make cluster` (as root; about 1 min). Packages
# that would start a service on install (containerd, etcd) are kept from doing so by a temporary
# /usr/sbin/policy-rc.d that answers 101 ("action forbidden"); the cluster starts its own processes.
#   scripts/cluster/packages.sh [--check]   (--check: list what is missing, exit 1 if anything is)
set -euo pipefail
PACKAGES="podman buildah runc containerd mmdebstrap etcd-server etcd-client containernetworking-plugins
iptables conntrack socat uidmap fuse-overlayfs skopeo catatonit conmon openssl gcc libc6-dev"
missing=()
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${1:-}" = "--check" ]; then
  [ ${#missing[@]} -eq 0 ] && exit 0
  echo "missing Debian packages: ${missing[*]} (run: make cluster-packages, as root)" >&2
  exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0
[ "$(id -u)" = 0 ] || { echo "error: installing ${missing[*]} needs root (sudo make cluster-packages)" >&2; exit 1; }
command -v apt-get >/dev/null || { echo "error: no apt-get; install these packages yourself: ${missing[*]}" >&2; exit 1; }
printf '\033[1m==> apt-get install %s\033[0m\n' "${missing[*]}"
guard=/usr/sbin/policy-rc.d
placed=0
if [ ! -e "$guard" ]; then
  printf '#!/bin/sh\n# placed by nowplaying scripts/cluster/packages.sh during an install\nexit 101\n' >"$guard"
  chmod 755 "$guard"
  placed=1
fi
# (an `if`, not `&&`: a false test as the EXIT trap's last command would make the script exit 1)
cleanup() { if [ "$placed" = 1 ]; then rm -f "$guard"; fi; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/nowplaying-apt.log 2>&1; then
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/nowplaying-apt.log 2>&1 \
    || { tail -20 /tmp/nowplaying-apt.log >&2; echo "error: apt-get install failed (log: /tmp/nowplaying-apt.log)" >&2; exit 1; }
fi
