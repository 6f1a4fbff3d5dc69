#!/usr/bin/env bash
# skaffold's custom build (skaffold.yaml): one artifact, built exactly as `make images` builds it
# (scripts/cluster/images.sh, the same Dockerfiles, bases and engine), then tagged as the $IMAGE skaffold
# asks for and pushed when skaffold says so ($PUSH_IMAGE; never on a kind cluster, which loads it).
#   skaffold-build.sh nowplaying|nowplaying-spark|nowplaying-frontend    (skaffold sets IMAGE, PUSH_IMAGE)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
name=${1:?usage: skaffold-build.sh <artifact>}
case "$name" in nowplaying|nowplaying-spark|nowplaying-frontend) ;; *) echo "unknown artifact $name" >&2; exit 2 ;; esac
: "${IMAGE:?skaffold sets IMAGE (the name and tag to build)}"
TAG=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/pyproject.toml" | head -1)
ENGINE="${CONTAINER_ENGINE:-}"
if [ -z "$ENGINE" ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then ENGINE=docker; else ENGINE=podman; fi
fi
export CONTAINER_ENGINE="$ENGINE"
[ "$ENGINE" = podman ] && export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/containers.conf}"
IMAGES="$name" bash "$HERE/images.sh"
"$ENGINE" tag "docker.io/library/$name:$TAG" "$IMAGE"
if [ "${PUSH_IMAGE:-false}" = true ]; then "$ENGINE" push "$IMAGE"; fi
