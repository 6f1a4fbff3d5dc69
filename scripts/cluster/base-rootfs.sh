#!/usr/bin/env bash
# The Debian bookworm root file system every stand-in base image starts from: mmdebstrap minbase plus
# ca-certificates, from the machine's own Debian mirror (about 4 min cold, 166 MB). Cached as a tarball
# under $NOWPLAYING_CACHE/cluster/base/, keyed by suite, so a warm run only checks it exists.
#   scripts/cluster/base-rootfs.sh   -> prints the tarball's path
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
. "$HERE/versions.sh"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
out="$CLUSTER_CACHE/base/debian-$DEBIAN_SUITE-minbase.tar"
if [ ! -s "$out" ]; then
  command -v mmdebstrap >/dev/null || { echo "error: mmdebstrap is missing (make cluster-packages)" >&2; exit 1; }
  printf '\033[1m==> mmdebstrap %s minbase into %s (once, about 4 min)\033[0m\n' "$DEBIAN_SUITE" "$out" >&2
  mkdir -p "$(dirname "$out")"
  mmdebstrap --quiet --format=tar --variant=minbase --include=ca-certificates \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    "$DEBIAN_SUITE" "$out.partial" \
    "deb $MIRROR $DEBIAN_SUITE main" \
    "deb $MIRROR $DEBIAN_SUITE-updates main" \
    "deb $SECURITY_MIRROR $DEBIAN_SUITE-security main" >&2
  mv "$out.partial" "$out"
fi
echo "$out"
