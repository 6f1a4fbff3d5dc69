# Pinned versions of the local cluster (sourced by scripts/cluster/*.sh). Binaries built from these are
# cached under $NOWPLAYING_CACHE/cluster/<name>-<version>/, so a change of version rebuilds only that part.
K8S_VERSION=v1.33.13        # the newest release whose staging modules the Go module proxy serves in full
K8S_STAGING_VERSION=v0.33.13
COREDNS_VERSION=v1.15.0
# The plugins CoreDNS is built with: exactly the directives of the Corefile in addons.yaml.
COREDNS_PLUGINS="errors health ready kubernetes cache loop reload loadbalance"
# The ingress controller: the newest Traefik whose modules the Go module proxy serves in full (v3.7.13's
# go mod tidy meets 29 refused modules; ingress-nginx needs its own nginx build with Lua modules).
TRAEFIK_VERSION=v3.6.12
PAUSE_IMAGE=registry.k8s.io/pause:3.10
DEBIAN_SUITE=bookworm
CACHE="${NOWPLAYING_CACHE:-$HOME/.cache/nowplaying}"
CLUSTER_CACHE="$CACHE/cluster"
K8S_BIN="$CLUSTER_CACHE/kubernetes-$K8S_VERSION"
COREDNS_BIN="$CLUSTER_CACHE/coredns-$COREDNS_VERSION-k8s"  # -k8s: the plugin set above only
TRAEFIK_BIN="$CLUSTER_CACHE/traefik-$TRAEFIK_VERSION"
K8S_COMMANDS="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"
