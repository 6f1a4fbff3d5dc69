#!/usr/bin/env bash
# make k8s-e2e: the product on the cluster of `make cluster`. The cluster's ingress controller started
# (`cluster.sh ingress`: Traefik, built once); a fresh namespace enforcing the restricted Pod Security
# profile; `helm install --wait` in sandbox mode with the images of `make images` (values-local.yaml) and
# one-minute schedules (values-e2e.yaml): every pod Ready, then the migrations hook Job run and waited for;
# then the checks of tests/k8s_e2e (pipeline and Ingress, Pod Security, exactly once, the Spark aggregate,
# Prometheus, the chart's scenarios), the pod table, the lifecycle
# (helm test, upgrade, rollback, uninstall keeping the lake) last. On failure the namespace's events,
# `kubectl describe` and every pod's logs go to test-artifacts/k8s/. Every wait is bounded.
#   K8S_E2E_NAMESPACE (nowplaying-e2e), K8S_E2E_RELEASE (np), K8S_E2E_KEEP=1 keeps the release at the end
#   K8S_E2E_TESTS="a.py,b.py c.py" runs only those groups of files (the release is installed all the same)
#   K8S_E2E_REUSE=1 checks the release an earlier run left (K8S_E2E_KEEP=1 or a failure) instead of reinstalling
#   K8S_E2E_TIMEOUT (2700): seconds for the whole run; helm install and each group of checks get what is left,
#   so that CI can never hang here
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=../cluster/versions.sh
. "$ROOT/scripts/cluster/versions.sh"
STATE="${CLUSTER_STATE:-$ROOT/.local/cluster}"
export CLUSTER_STATE="$STATE"
export KUBECONFIG="$STATE/kubeconfig"
NS="${K8S_E2E_NAMESPACE:-nowplaying-e2e}"
RELEASE="${K8S_E2E_RELEASE:-np}"
ART="$ROOT/test-artifacts/k8s"
KUBECTL="$K8S_BIN/kubectl"
HELM="$(command -v helm || echo "$CACHE/bin/helm")"
PYTEST="$ROOT/.venv/bin/pytest"
# Each group runs with -x (its first failure stops it); a failed group does not stop the next ones, but
# fails the run. The lifecycle (which uninstalls the release) comes last, after the pod table.
DEFAULT_TEST_GROUPS="test_pipeline.py,test_pod_security.py,test_exactly_once.py test_spark.py test_prometheus.py test_scenarios.py test_lifecycle.py"
TEST_GROUPS="${K8S_E2E_TESTS:-$DEFAULT_TEST_GROUPS}"
t_start=$(date +%s)
deadline=$((t_start + ${K8S_E2E_TIMEOUT:-2700}))
left() {  # seconds left of K8S_E2E_TIMEOUT; fails the run when none are
  local n=$((deadline - $(date +%s)))
  [ "$n" -gt 0 ] || die "out of time: K8S_E2E_TIMEOUT=${K8S_E2E_TIMEOUT:-2700} s spent"
  echo "$n"
}
say() { printf '\033[1m==> k8s-e2e: %s\033[0m (%d s)\n' "$*" "$(($(date +%s) - t_start))"; }
die() { echo "k8s-e2e: error: $*" >&2; exit 1; }
kc() { "$KUBECTL" "$@"; }
kq() { "$KUBECTL" --request-timeout=60s "$@"; }  # a single bounded request (no waits)

if ! why=$(bash "$ROOT/scripts/cluster/cluster.sh" can-run); then
  echo "k8s-e2e: skipped: this machine cannot run the local cluster: $why"
  exit 0
fi
bash "$ROOT/scripts/cluster/cluster.sh" status >/dev/null 2>&1 || die "no cluster is running: make images && make cluster first"
[ -x "$HELM" ] || die "no helm: make setup builds it into $CACHE/bin"
say "the ingress controller (Traefik; built once)"
bash "$ROOT/scripts/cluster/cluster.sh" ingress || die "the ingress controller did not start"

collect() {  # the namespace's state, for a failure: events, describe, logs
  local dir="$ART/failure"
  rm -rf "$dir" && mkdir -p "$dir/logs"
  say "saving events, kubectl describe and pod logs to ${dir#"$ROOT"/}"
  kq get events -n "$NS" --sort-by=.lastTimestamp -o wide >"$dir/events.txt" 2>&1 || true
  kq get events -A --sort-by=.lastTimestamp >"$dir/events-all-namespaces.txt" 2>&1 || true
  kq get all,pvc,pv,networkpolicies -n "$NS" -o wide >"$dir/objects.txt" 2>&1 || true
  kq describe all,pvc -n "$NS" >"$dir/describe.txt" 2>&1 || true
  kq describe nodes >"$dir/describe-nodes.txt" 2>&1 || true
  "$HELM" status "$RELEASE" -n "$NS" >"$dir/helm-status.txt" 2>&1 || true
  "$HELM" history "$RELEASE" -n "$NS" >>"$dir/helm-status.txt" 2>&1 || true
  local pod c
  for pod in $(kq get pods -n "$NS" -o name 2>/dev/null); do
    for c in $(kq get -n "$NS" "$pod" -o jsonpath='{.spec.initContainers[*].name} {.spec.containers[*].name}'); do
      kq logs -n "$NS" "$pod" -c "$c" >"$dir/logs/${pod#pod/}_$c.log" 2>&1 || true
      kq logs -n "$NS" "$pod" -c "$c" --previous >"$dir/logs/${pod#pod/}_$c.previous.log" 2>/dev/null \
        || rm -f "$dir/logs/${pod#pod/}_$c.previous.log"
    done
  done
}
finish() {
  local rc=$?
  [ "$rc" = 0 ] || collect
  if [ "$rc" = 0 ] && [ "${K8S_E2E_KEEP:-0}" != 1 ]; then
    kc delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
  fi
  say "finished (exit $rc)"
  exit "$rc"
}
trap finish EXIT

mkdir -p "$ART" && rm -f "$ART/pods.txt"
[ "${K8S_E2E_REUSE:-0}" = 1 ] || rm -f "$ART/results.json"
if [ "${K8S_E2E_REUSE:-0}" = 1 ] && "$HELM" status "$RELEASE" -n "$NS" >/dev/null 2>&1 && [ -f "$ART/install-started" ]; then
  install_started=$(cat "$ART/install-started")
  say "K8S_E2E_REUSE=1: checking the release $RELEASE installed at $(date -u -d "@${install_started%.*}" +%T)"
else
  if kc get namespace "$NS" >/dev/null 2>&1; then
    say "deleting the namespace $NS of an earlier run"
    "$HELM" uninstall "$RELEASE" -n "$NS" --wait --timeout 3m >/dev/null 2>&1 || true
    kc delete namespace "$NS" --timeout=180s >/dev/null
  fi
  say "namespace $NS, enforcing Pod Security restricted"
  kc create namespace "$NS" >/dev/null
  kc label namespace "$NS" pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/enforce-version=latest \
    pod-security.kubernetes.io/warn=restricted pod-security.kubernetes.io/audit=restricted >/dev/null

  say "helm install --wait $RELEASE (sandbox, values-local + values-e2e): every pod Ready, then the migrations hook Job"
  install_ms=$(date +%s%3N)
  install_started="${install_ms:0:-3}.${install_ms: -3}"
  echo "$install_started" >"$ART/install-started"
  budget=$(left) || exit 1
  "$HELM" install "$RELEASE" "$ROOT/charts/nowplaying" -n "$NS" \
    -f "$ROOT/k8s/values-local.yaml" -f "$ROOT/k8s/values-e2e.yaml" --wait --timeout "$((budget < 900 ? budget : 900))s" \
    >"$ART/helm-install.txt" 2>&1 \
    || { cat "$ART/helm-install.txt" >&2; die "helm install failed"; }
  say "helm install done in $((($(date +%s%3N) - install_ms) / 1000)) s"
fi

run_tests() {  # files...
  local files=() f budget
  budget=$(left) || exit 1
  for f in "$@"; do files+=("$ROOT/tests/k8s_e2e/$f"); done
  K8S_E2E_NAMESPACE="$NS" K8S_E2E_RELEASE="$RELEASE" K8S_E2E_INSTALL_STARTED="$install_started" \
    timeout -k 30 "$budget" "$PYTEST" -p no:cacheprovider -o addopts="" -q -s -x "${files[@]}"
}
pod_table() { say "the pods"; kc get pods -n "$NS" -o wide | tee "$ART/pods.txt"; }
failed=() first=1
for group in $TEST_GROUPS; do
  if [ "$group" = test_lifecycle.py ]; then pod_table; fi
  say "checks: ${group//,/ }"
  # shellcheck disable=SC2086
  if ! run_tests ${group//,/ }; then
    failed+=("$group")
    [ "$first" = 0 ] || die "the pipeline checks failed: the other checks need them"
  fi
  first=0
done
[ -f "$ART/pods.txt" ] || pod_table
say "figures: ${ART#"$ROOT"/}/results.json"
cat "$ART/results.json" 2>/dev/null || true
[ ${#failed[@]} = 0 ] || die "failed: ${failed[*]}"
