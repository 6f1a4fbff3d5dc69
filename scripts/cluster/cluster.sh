#!/usr/bin/env bash
# A single-node Kubernetes on this machine, from pinned versions (scripts/cluster/versions.sh):
# etcd, containerd and runc (Debian), kube-apiserver, controller-manager, scheduler, kubelet and
# kube-proxy (built by build.sh), CoreDNS as a pod, a default StorageClass served by nowplaying.common.localprovisioner,
# a pull guard (every registry points at 127.0.0.1:1) and a bridge of its own whose traffic cannot
# leave the machine (a FORWARD drop rule).
#   cluster.sh up      start (a second run on a running cluster does nothing); prints the KUBECONFIG line
#   cluster.sh down    stop only its own processes; restore every sysctl, iptables rule, bridge, route,
#                      mount and cgroup it changed
#   cluster.sh check   exit 1 and name what is left of a cluster (after down), 0 when nothing is
#   cluster.sh status  running or not
#   cluster.sh import  import the archives of `make images` into containerd
#   cluster.sh ingress build (once) and start the ingress controller, Traefik (class "traefik", the
#                      default), on the running cluster; a second run only checks it is ready
#   cluster.sh can-run exit 1 and print one line saying why when this machine cannot run a cluster at all
# State lives in .local/cluster/ (CLUSTER_STATE): the PKI and containerd's image store survive `down`;
# etcd, kubelet and the volumes do not, so every `up` starts an empty cluster.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=versions.sh
. "$HERE/versions.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
STATE="${CLUSTER_STATE:-$ROOT/.local/cluster}"
RUN="$STATE/run"
LOGS="$STATE/logs"
PKI="$STATE/pki"
SAVED="$STATE/saved"
ARCHIVES="$STATE/images"
SOCK="$RUN/containerd.sock"
KUBECONFIG_FILE="$STATE/kubeconfig"
BRIDGE="${CLUSTER_BRIDGE:-npbr0}"
NODE_IP=10.244.0.1
POD_CIDR=10.244.0.0/24
SVC_CIDR=10.96.0.0/16
API_SVC_IP=10.96.0.1
DNS_SVC_IP=10.96.0.10
API_PORT="${CLUSTER_API_PORT:-6443}"
ETCD_PORT="${CLUSTER_ETCD_PORT:-12379}"
NODE_NAME=nowplaying-node
CLUSTER_IMAGES=localhost/nowplaying-cluster
SANDBOX_IMAGE="$CLUSTER_IMAGES/pause:3.10"
COREDNS_IMAGE="$CLUSTER_IMAGES/coredns:$COREDNS_VERSION"
TRAEFIK_IMAGE="$CLUSTER_IMAGES/traefik:$TRAEFIK_VERSION"
INGRESS_NAMESPACE=ingress-traefik
# Sysctls kubelet, kube-proxy or this script may change; saved before the first start, restored by down.
SYSCTLS="net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom kernel.keys.root_maxkeys
kernel.keys.root_maxbytes kernel.keys.maxkeys kernel.keys.maxbytes net.netfilter.nf_conntrack_max
net.netfilter.nf_conntrack_tcp_timeout_established net.netfilter.nf_conntrack_tcp_timeout_close_wait
net.netfilter.nf_conntrack_tcp_be_liberal net.ipv4.conf.all.route_localnet net.ipv6.conf.all.forwarding"
# Directories outside the state folder that containerd, CNI or kubelet create at fixed paths; removed on
# down when they did not exist before the first start.
CREATED_DIRS="/var/lib/cni /run/containerd /run/netns /var/log/containers /var/lib/kubelet /opt/containerd"
PROCS="containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy provisioner"
KUBECTL="$K8S_BIN/kubectl"
step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { echo "error: $*" >&2; exit 1; }
kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"; }
ctr_() { ctr -a "$SOCK" -n k8s.io "$@"; }

# --- processes ---------------------------------------------------------------------------------------
# Each process is started with its own pid file; `down` stops exactly those pids (checked against the
# binary they run, so a reused pid is never signalled).
pid_of() {  # name -> pid if running
  local f="$RUN/$1.pid" pid exe
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -d "/proc/$pid" ] || return 1
  exe=$(cat "$RUN/$1.exe" 2>/dev/null || true)
  [ -z "$exe" ] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$exe" || return 1
  echo "$pid"
}
start_proc() {  # name binary args...
  local name=$1; shift
  pid_of "$name" >/dev/null && return 0
  echo "$1" >"$RUN/$name.exe"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}
stop_proc() {  # name [timeout s]
  local name=$1 wait_s=${2:-20} pid i
  pid=$(pid_of "$name") || { rm -f "$RUN/$name.pid" "$RUN/$name.exe"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait_s * 10; i++)); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  if [ -d "/proc/$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
  rm -f "$RUN/$name.pid" "$RUN/$name.exe"
}
wait_for() {  # description seconds command...
  local what=$1 secs=$2 i; shift 2
  for ((i = 0; i < secs * 2; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}
# The containerd shims of this cluster: processes whose command line names this cluster's socket.
own_shims() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "-address $SOCK " && echo "${p#/proc/}"
  done
  return 0
}

# --- preconditions -----------------------------------------------------------------------------------
# Why this machine cannot run the cluster at all (printed as one line), or nothing. Missing packages are
# not such a reason: `make cluster` installs them.
cannot_run() {
  if [ "$(id -u)" != 0 ]; then
    echo "not root (the local cluster runs kubelet and containerd and changes iptables)"
  elif ! { [ -d /sys/fs/cgroup/memory ] && [ -d /sys/fs/cgroup/pids ] && [ -d /sys/fs/cgroup/cpu ]; } \
      && ! [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    echo "no usable cgroups under /sys/fs/cgroup (kubelet needs the cpu, memory and pids controllers, v1 or v2)"
  fi
}
preflight() {
  local why; why=$(cannot_run)
  [ -z "$why" ] || die "make cluster cannot run here: $why"
  "$HERE/packages.sh" --check || die "missing Debian packages (above): run make cluster-packages as root"
  command -v podman >/dev/null || die "podman is missing (make cluster-packages)"
  if ip -4 route show | grep -v "dev $BRIDGE" | grep -qE "^(10\.244\.|10\.96\.)"; then
    die "10.244.0.0/24 or 10.96.0.0/16 is already routed on this machine; the cluster needs both"
  fi
}

# --- host state: save before the first start, restore on down ----------------------------------------
save_host_state() {
  [ -f "$SAVED/complete" ] && return 0   # an earlier start's originals are still the truth
  rm -rf "$SAVED" && mkdir -p "$SAVED"
  local k
  for k in $SYSCTLS; do
    sysctl -n "$k" >/dev/null 2>&1 && printf '%s=%s\n' "$k" "$(sysctl -n "$k" | tr '\t' ' ')" >>"$SAVED/sysctl"
  done
  iptables-save >"$SAVED/iptables.v4"
  ip6tables-save >"$SAVED/iptables.v6" 2>/dev/null || true
  ls /run/netns 2>/dev/null >"$SAVED/netns" || true
  local d
  for d in $CREATED_DIRS; do [ -e "$d" ] && echo "$d"; done >"$SAVED/existing" || true
  ls -d /sys/fs/cgroup/*/kubepods* 2>/dev/null >"$SAVED/cgroups" || true
  touch "$SAVED/complete"
}
# iptables-save without counters and comments, one line per rule or chain prefixed by its table; built-in
# chains with the ACCEPT policy are left out, so a table that exists but is empty equals an absent one.
norm_iptables() {
  awk '/^#/ {next} /^\*/ {t = $0; next} /^COMMIT/ {next}
       /^:/ {n = substr($1, 2); if (n ~ /^(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING)$/ && $2 == "ACCEPT") next
             print t " :" n " " $2; next}
       {print t " " $0}' "$1"
}
restore_iptables() {  # v4|v6
  local fam=$1 save=iptables-save restore=iptables-restore cur
  [ "$fam" = v6 ] && save=ip6tables-save restore=ip6tables-restore
  [ -f "$SAVED/iptables.$fam" ] || return 0   # empty = no table existed: every table now is flushed
  cur=$(mktemp)
  $save >"$cur" 2>/dev/null || { rm -f "$cur"; return 0; }
  if ! diff -q <(norm_iptables "$SAVED/iptables.$fam") <(norm_iptables "$cur") >/dev/null; then
    # Tables present now but empty in the saved dump (created by kube-proxy/kubelet) are flushed too.
    local t
    for t in $(sed -n 's/^\*//p' "$cur"); do
      grep -qx "\*$t" "$SAVED/iptables.$fam" || printf '*%s\nCOMMIT\n' "$t" | $restore -T "$t" 2>/dev/null || true
    done
    [ -s "$SAVED/iptables.$fam" ] && $restore <"$SAVED/iptables.$fam"
  fi
  rm -f "$cur"
}
restore_host_state() {
  [ -f "$SAVED/complete" ] || return 0
  restore_iptables v4
  restore_iptables v6
  local line k v
  while IFS= read -r line; do
    k=${line%%=*}; v=${line#*=}
    [ "$(sysctl -n "$k" 2>/dev/null | tr '\t' ' ')" = "$v" ] || sysctl -q -w "$k=$v" >/dev/null 2>&1 || echo "warning: could not restore $k=$v" >&2
  done <"$SAVED/sysctl"
}

# --- network --------------------------------------------------------------------------------------------
network_up() {
  sysctl -q -w net.ipv4.ip_forward=1
  [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] && sysctl -q -w net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$NODE_IP/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  ip route replace "$SVC_CIDR" dev "$BRIDGE" src "$NODE_IP"
  # Pods reach each other and this machine, nothing beyond it.
  iptables -C FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -j DROP 2>/dev/null || iptables -I FORWARD 1 -i "$BRIDGE" ! -o "$BRIDGE" -j DROP
}

# --- PKI and kubeconfigs (made once, kept across down/up) -----------------------------------------------
mkcert() {  # name CN [O] [SANs]
  local name=$1 cn=$2 o=${3:-} san=${4:-}
  [ -s "$PKI/$name.crt" ] && return 0
  local subj="/CN=$cn"; [ -n "$o" ] && subj="/O=$o$subj"
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
  chmod 600 "$PKI/$name.key"
}
kubeconfig() {  # file cert-name
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: nowplaying-local
    cluster: {server: "https://$NODE_IP:$API_PORT", certificate-authority: "$PKI/ca.crt"}
users:
  - name: $2
    user: {client-certificate: "$PKI/$2.crt", client-key: "$PKI/$2.key"}
contexts:
  - name: nowplaying-local
    context: {cluster: nowplaying-local, user: $2}
current-context: nowplaying-local
EOF
  chmod 600 "$1"
}
pki() {
  mkdir -p "$PKI" && chmod 700 "$PKI"
  if [ ! -s "$PKI/ca.crt" ]; then
    openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
    openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=nowplaying-local-ca" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$PKI/ca.crt" 2>/dev/null
    chmod 600 "$PKI/ca.key"
  fi
  mkcert apiserver kube-apiserver "" "IP:$NODE_IP,IP:$API_SVC_IP,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  mkcert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  mkcert admin nowplaying-admin system:masters
  mkcert controller-manager system:kube-controller-manager
  mkcert scheduler system:kube-scheduler
  mkcert kube-proxy system:kube-proxy
  mkcert node "system:node:$NODE_NAME" system:nodes
  mkcert kubelet-serving "$NODE_NAME" "" "IP:$NODE_IP,DNS:$NODE_NAME"
  [ -s "$PKI/sa.key" ] || { openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null; chmod 600 "$PKI/sa.key"; }
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  kubeconfig "$KUBECONFIG_FILE" admin
  local c
  for c in controller-manager scheduler kube-proxy node; do kubeconfig "$STATE/conf/$c.kubeconfig" "$c"; done
}

# --- containerd ---------------------------------------------------------------------------------------
containerd_config() {
  local cd="$STATE/containerd" reg
  mkdir -p "$cd/root" "$cd/state" "$cd/opt" "$cd/certs.d"
  # The pull guard: every registry, named or not, resolves to a closed port on loopback.
  for reg in _default docker.io registry-1.docker.io registry.k8s.io k8s.gcr.io gcr.io ghcr.io quay.io \
             mcr.microsoft.com public.ecr.aws registry.gitlab.com localhost; do
    mkdir -p "$cd/certs.d/$reg"
    printf 'server = "http://127.0.0.1:1"\n\n[host."http://127.0.0.1:1"]\n  capabilities = ["pull", "resolve"]\n' \
      >"$cd/certs.d/$reg/hosts.toml"
  done
  mkdir -p "$STATE/cni/net.d" "$STATE/cni/ipam"
  cat >"$STATE/cni/net.d/10-nowplaying.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "nowplaying",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$NODE_IP", "rangeStart": "10.244.0.10"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
  cat >"$cd/config.toml" <<EOF
version = 2
root = "$cd/root"
state = "$cd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$RUN/containerd.ttrpc.sock"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$cd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$SANDBOX_IMAGE"
  # Lowering oom_score_adj needs CAP_SYS_RESOURCE, which this machine's root lacks.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$cd/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$cd/certs.d"
EOF
}

# An image FROM scratch holding one binary, saved as an archive for import_images when its id changed.
scratch_image() {  # name ref binary user ports...
  local name=$1 ref=$2 bin=$3 user=$4 b="$STATE/build/cluster-images/$1" id
  shift 4
  export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/containers.conf}"
  mkdir -p "$b" "$ARCHIVES"
  cp "$bin" "$b/$name"
  {
    echo "FROM scratch"
    echo "COPY $name /$name"
    echo "USER $user"
    [ $# = 0 ] || echo "EXPOSE $*"
    echo "ENTRYPOINT [\"/$name\"]"
  } >"$b/Containerfile"
  podman build -q --pull=never --network=none -t "$ref" -f "$b/Containerfile" "$b" >/dev/null
  id=$(podman image inspect --format '{{.Id}}' "$ref")
  if [ "$(cat "$ARCHIVES/cluster-$name.id" 2>/dev/null)" != "$id" ]; then
    rm -f "$ARCHIVES/cluster-$name.tar"
    podman save -q --format docker-archive -o "$ARCHIVES/cluster-$name.tar" "$ref"
    echo "$ref" >"$ARCHIVES/cluster-$name.ref"
    echo "$id" >"$ARCHIVES/cluster-$name.id"
  fi
}

# The sandbox (pause) and CoreDNS images, with the binaries build.sh made.
cluster_images() {
  scratch_image pause "$SANDBOX_IMAGE" "$K8S_BIN/pause" 65535:65535
  scratch_image coredns "$COREDNS_IMAGE" "$COREDNS_BIN/coredns" 65532:65532 1053 1053/udp
}

# Import every archive whose image id containerd has not imported yet.
import_images() {
  [ -S "$SOCK" ] || die "containerd of the cluster is not running (make cluster)"
  local done_dir="$STATE/containerd/imported" f stem id ref
  mkdir -p "$done_dir"
  for f in "$ARCHIVES"/*.tar; do
    [ -e "$f" ] || continue
    stem=$(basename "$f" .tar); id=$(cat "$ARCHIVES/$stem.id"); ref=$(cat "$ARCHIVES/$stem.ref")
    if [ "$(cat "$done_dir/$stem.id" 2>/dev/null)" = "$id" ] && ctr_ images ls -q | grep -qxF "$ref"; then continue; fi
    step "import $ref into containerd"
    long "import $stem" ctr -a "$SOCK" -n k8s.io images import "$f" >/dev/null || return 1
    echo "$id" >"$done_dir/$stem.id"
  done
}

start_containerd() {
  start_proc containerd "$(command -v containerd)" --config "$STATE/containerd/config.toml"
  wait_for containerd 30 test -S "$SOCK" || die "containerd did not start: see $LOGS/containerd.log"
  wait_for containerd 30 ctr -a "$SOCK" version || die "containerd does not answer: see $LOGS/containerd.log"
}

# A containerd store kept between runs can lose a layer's snapshot while its metadata stays (seen after
# an image was replaced under a running cluster: "parent snapshot ... does not exist"). The archives of
# `make images` hold every image, so the store is rebuilt from them instead of failing the start.
import_or_rebuild_store() {
  import_images && return 0
  step "containerd's image store is inconsistent: rebuilding it from the image archives"
  stop_proc containerd
  rm -rf "$STATE/containerd/root" "$STATE/containerd/imported"
  start_containerd
  import_images || die "importing the images into a fresh containerd store failed: see $LOGS/containerd.log"
}

# --- the control plane and the node ---------------------------------------------------------------------
write_configs() {
  mkdir -p "$STATE/conf" "$STATE/kubelet" "$STATE/pod-logs"
  printf 'nameserver 127.0.0.1\noptions ndots:1\n' >"$STATE/conf/resolv.conf"
  cat >"$STATE/conf/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$PKI/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$PKI/kubelet-serving.crt"
tlsPrivateKeyFile: "$PKI/kubelet-serving.key"
cgroupDriver: cgroupfs
containerRuntimeEndpoint: "unix://$SOCK"
clusterDNS: [$DNS_SVC_IP]
clusterDomain: cluster.local
# Pods never get this machine's resolver.
resolvConf: "$STATE/conf/resolv.conf"
podLogsDir: "$STATE/pod-logs"
failSwapOn: false
serializeImagePulls: false
# The imported images cannot be pulled again: never collect them.
imageGCHighThresholdPercent: 100
evictionHard: {memory.available: "100Mi", nodefs.available: "2%", imagefs.available: "2%", nodefs.inodesFree: "2%"}
maxPods: 60
EOF
}

control_plane_up() {
  start_proc etcd "$(command -v etcd)" --name nowplaying --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster "nowplaying=http://127.0.0.1:$((ETCD_PORT + 1))" --logger=zap --log-level=warn
  start_proc kube-apiserver "$K8S_BIN/kube-apiserver" \
    --advertise-address="$NODE_IP" --bind-address="$NODE_IP" --secure-port="$API_PORT" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --service-cluster-ip-range="$SVC_CIDR" --authorization-mode=Node,RBAC --anonymous-auth=false \
    --enable-admission-plugins=NodeRestriction --profiling=false \
    --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key"
  wait_for "kube-apiserver /readyz" 90 curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://$NODE_IP:$API_PORT/readyz" || die "kube-apiserver is not ready after 90 s: see $LOGS/kube-apiserver.log (and etcd.log)"
  start_proc kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig="$STATE/conf/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$STATE/conf/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$STATE/conf/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --service-cluster-ip-range="$SVC_CIDR" --profiling=false
  start_proc kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig="$STATE/conf/scheduler.kubeconfig" \
    --authentication-kubeconfig="$STATE/conf/scheduler.kubeconfig" --authorization-kubeconfig="$STATE/conf/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --profiling=false
}

node_up() {
  start_proc kubelet "$K8S_BIN/kubelet" --config="$STATE/conf/kubelet.yaml" \
    --kubeconfig="$STATE/conf/node.kubeconfig" --root-dir="$STATE/kubelet" --cert-dir="$STATE/kubelet/pki" \
    --node-ip="$NODE_IP" --hostname-override="$NODE_NAME"
  # conntrack settings are left as they are (0 = do not change).
  start_proc kube-proxy "$K8S_BIN/kube-proxy" --kubeconfig="$STATE/conf/kube-proxy.kubeconfig" \
    --proxy-mode=iptables --hostname-override="$NODE_NAME" --cluster-cidr="$POD_CIDR" \
    --nodeport-addresses="$POD_CIDR" --iptables-localhost-nodeports=false \
    --conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 \
    --metrics-bind-address=127.0.0.1:10249 --healthz-bind-address=127.0.0.1:10256
  start_proc provisioner "$ROOT/.venv/bin/python" -m nowplaying.common.localprovisioner \
    --kubeconfig "$KUBECONFIG_FILE" --root "$STATE/volumes"
}

addons() {
  sed -e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|g" -e "s|@DNS_SVC_IP@|$DNS_SVC_IP|g" "$HERE/addons.yaml" | kc apply -f - >/dev/null
}

# The ingress controller (ingress.yaml): Traefik's image imported like CoreDNS's, then applied and waited for.
ingress() {
  running || die "no cluster is running (make cluster)"
  "$HERE/build.sh" traefik
  scratch_image traefik "$TRAEFIK_IMAGE" "$TRAEFIK_BIN/traefik" 65532:65532 8000 9000
  import_images || die "importing the images failed: see $LOGS/containerd.log"
  sed -e "s|@TRAEFIK_IMAGE@|$TRAEFIK_IMAGE|g" -e "s|@INGRESS_NAMESPACE@|$INGRESS_NAMESPACE|g" "$HERE/ingress.yaml" \
    | kc apply -f - >/dev/null
  kc -n "$INGRESS_NAMESPACE" rollout status deployment/traefik --timeout=120s >/dev/null \
    || die "Traefik is not ready: kubectl -n $INGRESS_NAMESPACE describe pods; kubectl -n $INGRESS_NAMESPACE logs deployment/traefik"
  echo "ingress controller ready: class traefik at http://$(kc -n "$INGRESS_NAMESPACE" get service traefik -o jsonpath='{.spec.clusterIP}')/" >&2
}

running() {
  local p
  for p in $PROCS; do pid_of "$p" >/dev/null || return 1; done
  curl -sf --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://$NODE_IP:$API_PORT/readyz" >/dev/null
}

up() {
  mkdir -p "$RUN" "$LOGS" "$STATE/conf"
  if running; then
    echo "the cluster is already running" >&2
    echo "export KUBECONFIG=$KUBECONFIG_FILE"
    return 0
  fi
  preflight
  local any=0 p t0=$SECONDS
  for p in $PROCS; do pid_of "$p" >/dev/null && any=1; done
  if [ "$any" = 1 ]; then step "a part of the cluster is running: stop it first"; down; mkdir -p "$RUN" "$LOGS" "$STATE/conf"; fi
  "$HERE/build.sh" all
  [ -x "$ROOT/.venv/bin/python" ] || die "no .venv: run make setup first"
  for p in nowplaying nowplaying-spark nowplaying-frontend; do
    [ -f "$ARCHIVES/$p.tar" ] || echo "warning: no image $p yet (make images); the cluster starts without it" >&2
  done
  step "start the cluster (state in $STATE)"
  save_host_state
  network_up
  pki
  containerd_config
  write_configs
  cluster_images
  start_containerd
  import_or_rebuild_store
  control_plane_up
  node_up
  kc wait --for=condition=Ready "node/$NODE_NAME" --timeout=90s >/dev/null 2>&1 \
    || wait_for node 90 kc wait --for=condition=Ready "node/$NODE_NAME" --timeout=5s \
    || die "node $NODE_NAME is not Ready: see $LOGS/kubelet.log"
  wait_for "service account" 60 kc -n default get serviceaccount default || die "no default service account: see $LOGS/kube-controller-manager.log"
  addons
  kc -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null \
    || die "CoreDNS is not ready: kubectl -n kube-system describe pods -l k8s-app=kube-dns"
  echo "cluster ready in $((SECONDS - t0)) s" >&2
  echo "export KUBECONFIG=$KUBECONFIG_FILE"
}

# --- teardown -----------------------------------------------------------------------------------------------
down() {
  [ "$(id -u)" = 0 ] || die "make cluster-down needs root"
  mkdir -p "$RUN"
  step "stop the cluster"
  # Controllers first, so that nothing recreates the pods; then the pods, so kubelet tears down their
  # sandboxes and networks itself.
  stop_proc provisioner 5
  stop_proc kube-controller-manager
  stop_proc kube-scheduler
  if pid_of kube-apiserver >/dev/null && pid_of kubelet >/dev/null; then
    kc delete pods --all --all-namespaces --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
    wait_for "pods gone" 60 bash -c "[ -z \"\$(ctr -a '$SOCK' -n k8s.io tasks ls -q 2>/dev/null)\" ] && [ -z \"\$(ls /run/netns 2>/dev/null | grep '^cni-' | grep -vxF -f '$SAVED/netns' 2>/dev/null)\" ]" || true
  fi
  stop_proc kubelet
  if pid_of containerd >/dev/null; then
    local t c
    for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
    sleep 1
    for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks rm -f "$t" >/dev/null 2>&1 || true; done
    for c in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers rm "$c" >/dev/null 2>&1 || true; done
  fi
  stop_proc kube-proxy
  [ -x "$K8S_BIN/kube-proxy" ] && "$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  stop_proc kube-apiserver
  stop_proc etcd
  stop_proc containerd
  local pid
  for pid in $(own_shims); do kill -KILL "$pid" 2>/dev/null || true; done
  # Mounts: anything under the state folder, and the network namespaces of this cluster's pods.
  local m
  for m in $(awk '{print $5}' /proc/self/mountinfo | grep -F "$STATE/" | sort -r); do umount -l "$m" 2>/dev/null || true; done
  if [ -d /run/netns ]; then
    for m in /run/netns/cni-*; do
      [ -e "$m" ] || continue
      grep -qxF "$(basename "$m")" "$SAVED/netns" 2>/dev/null && continue
      umount -l "$m" 2>/dev/null || true; rm -f "$m"
    done
  fi
  # cgroups kubelet made (cgroupfs driver): the kubepods hierarchy, leaves first.
  local cg
  for cg in /sys/fs/cgroup/*/kubepods*; do
    [ -d "$cg" ] || continue
    grep -qxF "$cg" "$SAVED/cgroups" 2>/dev/null && continue
    find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  ip route del "$SVC_CIDR" dev "$BRIDGE" 2>/dev/null || true
  ip link del "$BRIDGE" 2>/dev/null || true
  while iptables -D FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -j DROP 2>/dev/null; do :; done
  restore_host_state
  local d
  for d in $CREATED_DIRS; do
    [ -e "$d" ] && ! grep -qxF "$d" "$SAVED/existing" 2>/dev/null && [ -f "$SAVED/complete" ] && rm -rf "$d"
  done
  # Runtime state goes; the PKI, containerd's image store and the image archives stay.
  rm -rf "$STATE/etcd" "$STATE/kubelet" "$STATE/volumes" "$STATE/cni/ipam" "$STATE/pod-logs" "$STATE/containerd/state"
  if check >/dev/null 2>&1; then rm -rf "$SAVED"; echo "the cluster is down; nothing of it is left" >&2
  else check || true; die "the cluster is down, but something is left (above)"; fi
}

# What a cluster leaves behind if teardown missed it. Exit 1 when anything is found.
check() {
  local left=0 p
  for p in $PROCS; do pid_of "$p" >/dev/null && { echo "process left: $p (pid $(pid_of "$p"))"; left=1; }; done
  [ -z "$(own_shims)" ] || { echo "containerd shims left: $(own_shims | tr '\n' ' ')"; left=1; }
  ip link show "$BRIDGE" >/dev/null 2>&1 && { echo "bridge left: $BRIDGE"; left=1; }
  ip route show "$SVC_CIDR" 2>/dev/null | grep -q . && { echo "route left: $SVC_CIDR"; left=1; }
  iptables-save 2>/dev/null | grep -qE -- "-i $BRIDGE|KUBE-|CNI-" && { echo "iptables rules left (KUBE-/CNI-/$BRIDGE)"; left=1; }
  ip6tables-save 2>/dev/null | grep -qE -- "KUBE-|CNI-" && { echo "ip6tables rules left (KUBE-/CNI-)"; left=1; }
  if [ -f "$SAVED/iptables.v4" ] && ! diff -q <(norm_iptables "$SAVED/iptables.v4") <(iptables-save | norm_iptables /dev/stdin) >/dev/null; then
    echo "iptables differ from before the cluster"; left=1
  fi
  awk '{print $5}' /proc/self/mountinfo | grep -qF "$STATE/" && { echo "mounts left under $STATE"; left=1; }
  ls /run/netns 2>/dev/null | grep '^cni-' | grep -vxF -f "$SAVED/netns" 2>/dev/null | grep -q . && { echo "pod network namespaces left"; left=1; }
  if [ -f "$SAVED/sysctl" ]; then
    local line k v
    while IFS= read -r line; do
      k=${line%%=*}; v=${line#*=}
      [ "$(sysctl -n "$k" 2>/dev/null | tr '\t' ' ')" = "$v" ] || { echo "sysctl changed: $k=$(sysctl -n "$k") (was $v)"; left=1; }
    done <"$SAVED/sysctl"
  fi
  return $left
}

status() {
  if running; then echo "running: export KUBECONFIG=$KUBECONFIG_FILE"; else echo "not running"; return 1; fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  check) check ;;
  status) status ;;
  import) import_images || die "importing the images failed: see $LOGS/containerd.log" ;;
  ingress) ingress ;;
  can-run) why=$(cannot_run); [ -z "$why" ] || { echo "$why"; exit 1; } ;;
  *) echo "usage: $0 up|down|check|status|import|ingress|can-run" >&2; exit 2 ;;
esac
