#!/usr/bin/env bash
# Build the cluster's binaries from the Go module proxy, once per version (cached under
# $NOWPLAYING_CACHE/cluster): Kubernetes (kube-apiserver, controller-manager, scheduler, kubelet,
# kube-proxy, kubectl), CoreDNS, and the pause binary of the pod sandbox image ("all": what `cluster.sh up`
# needs; cold about 15 min on 2 cores, the apiserver most of it), and the Traefik ingress controller
# ("traefik": what `cluster.sh ingress` needs; cold about 7 min). Warm: a check that the binaries exist.
#   scripts/cluster/build.sh [kubernetes|coredns|pause|all|traefik]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
. "$HERE/versions.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
command -v go >/dev/null || { echo "error: go is required to build the cluster's binaries (install Go >= 1.24)" >&2; exit 1; }
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# `go mod download` names a version the proxy refuses with its status; say which module and version.
download_mod() {  # module@version -> prints the .mod file path
  local out
  if ! out=$(go mod download -json "$1" 2>&1); then
    echo "error: the Go module proxy refused $1:" >&2
    echo "$out" | sed -n 's/.*"Error": "\(.*\)".*/  \1/p; /^go: /p' >&2
    exit 1
  fi
  printf '%s\n' "$out" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p'
}

build_kubernetes() {
  local have=1 c
  for c in $K8S_COMMANDS; do [ -x "$K8S_BIN/$c" ] || have=0; done
  [ "$have" = 1 ] && return 0
  local src="$CLUSTER_CACHE/src/kubernetes-$K8S_VERSION"
  step "build Kubernetes $K8S_VERSION from the Go module proxy into $K8S_BIN (long, once)"
  mkdir -p "$src" "$K8S_BIN"
  local gomod
  gomod=$(cd "$src" && download_mod "k8s.io/kubernetes@$K8S_VERSION")
  # k8s.io/kubernetes points its staging modules at ./staging with replace lines, which `go install`
  # refuses; a wrapper module replaces each of them with its published version instead.
  {
    echo "module nowplaying.local/kubernetes-build"
    echo
    echo "go $(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*$#replace \1 => \1 '"$K8S_STAGING_VERSION"'#p' "$gomod"
  } >"$src/go.mod"
  {
    echo "//go:build tools"
    echo
    echo "package tools"
    echo
    echo "import ("
    for c in $K8S_COMMANDS; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done
    echo ")"
  } >"$src/tools.go"
  local staging
  staging=$(grep -c '^replace' "$src/go.mod")
  [ "$staging" -gt 20 ] || { echo "error: found only $staging staging modules in $gomod" >&2; exit 1; }
  step "resolve and download its modules (go mod tidy; about 4 GB into the Go module cache when cold)"
  if ! (cd "$src" && long "go mod tidy" sh -c 'exec go mod tidy 2>tidy.log'); then
    echo "error: resolving k8s.io/kubernetes@$K8S_VERSION failed (a staging module version the proxy refuses?):" >&2
    grep -E 'reading|40[34]|not found|unknown revision' "$src/tidy.log" | head -5 >&2 || tail -5 "$src/tidy.log" >&2
    exit 1
  fi
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local ld="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  for c in $K8S_COMMANDS; do
    [ -x "$K8S_BIN/$c" ] && continue
    local t0=$SECONDS
    (cd "$src" && long "go build $c" go build -p 2 -trimpath -ldflags "$ld" -o "$K8S_BIN/$c.partial" "k8s.io/kubernetes/cmd/$c")
    mv "$K8S_BIN/$c.partial" "$K8S_BIN/$c"
    echo "built $c in $((SECONDS - t0)) s"
  done
}

# CoreDNS with only the plugins the cluster's Corefile uses (COREDNS_PLUGINS): a wrapper module imports
# them and coremain, as CoreDNS's own main does with all of them. The cloud DNS providers, etcd, dnstap and
# the rest would be most of a cold build (975 s on 2 busy cores for the whole set).
build_coredns() {
  [ -x "$COREDNS_BIN/coredns" ] && return 0
  local src="$CLUSTER_CACHE/src/coredns-$COREDNS_VERSION" plugin
  step "build CoreDNS $COREDNS_VERSION ($COREDNS_PLUGINS) from the Go module proxy into $COREDNS_BIN (once)"
  mkdir -p "$src" "$COREDNS_BIN"
  local t0=$SECONDS gomod
  gomod=$(cd "$src" && download_mod "github.com/coredns/coredns@$COREDNS_VERSION")
  printf 'module nowplaying.local/coredns-build\n\ngo %s\n\nrequire github.com/coredns/coredns %s\n' \
    "$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")" "$COREDNS_VERSION" >"$src/go.mod"
  {
    echo "package main"
    echo
    echo "import ("
    echo "	\"github.com/coredns/coredns/coremain\""
    for plugin in $COREDNS_PLUGINS; do echo "	_ \"github.com/coredns/coredns/plugin/$plugin\""; done
    echo ")"
    echo
    echo "func main() { coremain.Run() }"
  } >"$src/main.go"
  (cd "$src" && long "go mod tidy (coredns)" go mod tidy)
  (cd "$src" && long "go build coredns" go build -p 2 -trimpath -ldflags "-s -w" -o "$COREDNS_BIN/coredns.partial" .)
  mv "$COREDNS_BIN/coredns.partial" "$COREDNS_BIN/coredns"
  echo "built coredns in $((SECONDS - t0)) s"
}

# Traefik, the cluster's ingress controller. Its cmd/traefik is built inside a wrapper module that requires
# it, with the replace and exclude lines of Traefik's own go.mod (forks it depends on, a broken version it
# skips): `go install module@version` refuses a module with replace lines.
build_traefik() {
  [ -x "$TRAEFIK_BIN/traefik" ] && return 0
  local src="$CLUSTER_CACHE/src/traefik-$TRAEFIK_VERSION" module=github.com/traefik/traefik/v3
  step "build Traefik $TRAEFIK_VERSION from the Go module proxy into $TRAEFIK_BIN (once)"
  mkdir -p "$src" "$TRAEFIK_BIN"
  local t0=$SECONDS gomod
  gomod=$(cd "$src" && download_mod "$module@$TRAEFIK_VERSION")
  {
    printf 'module nowplaying.local/traefik-build\n\ngo %s\n\nrequire %s %s\n\n' \
      "$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")" "$module" "$TRAEFIK_VERSION"
    sed -n '/^replace (/,/^)/p; /^replace [^(]/p; /^exclude (/,/^)/p; /^exclude [^(]/p' "$gomod"
  } >"$src/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s/cmd/traefik"\n' "$module" >"$src/tools.go"
  if ! (cd "$src" && long "go mod tidy (traefik)" sh -c 'exec go mod tidy 2>tidy.log'); then
    echo "error: resolving $module@$TRAEFIK_VERSION failed (a module the proxy refuses?):" >&2
    grep -E 'reading|40[34]|not found|unknown revision' "$src/tidy.log" | head -5 >&2 || tail -5 "$src/tidy.log" >&2
    exit 1
  fi
  (cd "$src" && long "go build traefik" go build -p 2 -trimpath \
    -ldflags "-s -w -X $module/pkg/version.Version=$TRAEFIK_VERSION" -o "$TRAEFIK_BIN/traefik.partial" "$module/cmd/traefik")
  mv "$TRAEFIK_BIN/traefik.partial" "$TRAEFIK_BIN/traefik"
  echo "built traefik in $((SECONDS - t0)) s"
}

# The pod sandbox ("pause") binary, from the kubernetes module's own source (build/pause/linux/pause.c).
build_pause() {
  local out="$K8S_BIN/pause"
  [ -x "$out" ] && return 0
  command -v gcc >/dev/null || { echo "error: gcc is required to build the pause binary (apt-get install gcc libc6-dev)" >&2; exit 1; }
  local dir
  dir=$(cd "$CLUSTER_CACHE" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p')
  mkdir -p "$K8S_BIN"
  gcc -Os -static -Wall -Werror -DVERSION="$K8S_VERSION" -o "$out.partial" "$dir/build/pause/linux/pause.c"
  strip "$out.partial" 2>/dev/null || true
  mv "$out.partial" "$out"
}

mkdir -p "$CLUSTER_CACHE"
# One build of each target at a time (a second `make cluster` waits for the first one's build instead of
# repeating it); Traefik's may run beside the others (CI builds it while the cluster is already up).
exec 9>"$CLUSTER_CACHE/.build-${1:-all}.lock"
flock 9
case "${1:-all}" in
  kubernetes) build_kubernetes ;;
  coredns) build_coredns ;;
  pause) build_pause ;;
  traefik) build_traefik ;;
  all) build_pause; build_kubernetes; build_coredns ;;
  *) echo "usage: $0 [kubernetes|coredns|pause|all|traefik]" >&2; exit 2 ;;
esac
