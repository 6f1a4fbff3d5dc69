#!/usr/bin/env bash
# make images: the project's three images (Python services, Spark, frontend) from the same Dockerfiles,
# with podman (docker where a user has it). IMAGE_BASES=standin (the default with podman) builds every
# base from Debian bookworm packages first (docker/standins/), plus the Cassandra and Pushgateway
# stand-ins the chart's values-local.yaml selects; IMAGE_BASES=public uses the Dockerfiles' own bases.
# When the local cluster runs, the images are imported into its containerd (scripts/cluster/cluster.sh).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=versions.sh
. "$HERE/versions.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
STATE="${CLUSTER_STATE:-$ROOT/.local/cluster}"
BUILD="$STATE/build"
ARCHIVES="$STATE/images"
TAG=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/pyproject.toml" | head -1)
STANDIN=localhost/nowplaying-standin
SPARK_STANDIN_VERSION=$(sed -n 's/^pyspark==//p' "$ROOT/requirements.lock")
UV_VERSION=$(sed -n 's/^FROM ghcr.io\/astral-sh\/uv:\([0-9.]*\).*/\1/p; s/^ARG UV_IMAGE=ghcr.io\/astral-sh\/uv:\([0-9.]*\).*/\1/p' "$ROOT/spark-jobs/Dockerfile" | head -1)
CASSANDRA_VERSION=$(sed -n 's/^CASSANDRA_VERSION=//p' "$ROOT/scripts/setup.sh")
CASSANDRA_LIB="$CACHE/cassandra-$CASSANDRA_VERSION/lib"
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { echo "error: $*" >&2; exit 1; }

# --- the engine ----------------------------------------------------------------------------------------
ENGINE="${CONTAINER_ENGINE:-}"
if [ -z "$ENGINE" ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then ENGINE=docker
  elif command -v podman >/dev/null; then ENGINE=podman
  else die "neither podman nor a running docker: make cluster-packages installs podman (as root)"; fi
fi
BASES="${IMAGE_BASES:-$([ "$ENGINE" = podman ] && echo standin || echo public)}"
BUILD_FLAGS=(--network=host)
STANDIN_FLAGS=(--network=host)
if [ "$ENGINE" = podman ]; then
  export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/containers.conf}"
  BUILD_FLAGS+=(--pull=never)
  STANDIN_FLAGS+=(--pull=never)
  [ "$BASES" = public ] && BUILD_FLAGS=(--network=host --pull=missing)
  # The project's builds fetch from PyPI, npm and Maven Central: the machine's trust stores (with any CA a
  # TLS-intercepting proxy needs) are mounted into each RUN step, never copied into a layer. CA_BUNDLE=
  # or JAVA_CA_STORE= (empty) turns one off. The stand-ins need only the Debian mirror and no mount.
  ca="${CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}"
  [ -n "$ca" ] && [ -f "$ca" ] && BUILD_FLAGS+=(-v "$ca:/etc/ssl/certs/ca-certificates.crt:ro")
  jca="${JAVA_CA_STORE-/etc/ssl/certs/java/cacerts}"
  [ -n "$jca" ] && [ -f "$jca" ] && BUILD_FLAGS+=(-v "$jca:/etc/ssl/certs/java/cacerts:ro")
elif [ "$BASES" = standin ]; then
  die "IMAGE_BASES=standin needs podman (its builds mount the machine's CA bundle); docker builds use the public bases"
fi
img_id() { "$ENGINE" image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }
img_label() { "$ENGINE" image inspect --format "{{index .Labels \"$2\"}}" "$1" 2>/dev/null || true; }

# A stand-in is rebuilt only when its build context (Containerfile and files) changed: the context's
# hash is a label on the image.
context_hash() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16); }
build_standin() {  # name tag context [build args...]
  local name=$1 tag=$2 ctx=$3; shift 3
  local ref="$STANDIN/$name:$tag" h
  h=$(context_hash "$ctx")
  if [ "$(img_label "$ref" nowplaying.context)" = "$h" ]; then return 0; fi
  step "stand-in $ref"
  local t0=$SECONDS
  long "$name" "$ENGINE" build -q "${STANDIN_FLAGS[@]}" --label "nowplaying.context=$h" "$@" -t "$ref" -f "$ctx/Containerfile" "$ctx" >/dev/null
  echo "   built in $((SECONDS - t0)) s"
}
stage_context() {  # name -> fresh copy of docker/standins/<name> under $BUILD
  local dst="$BUILD/$1"
  rm -rf "$dst" && mkdir -p "$dst" && cp -a "$ROOT/docker/standins/$1/." "$dst/"
  echo "$dst"
}

standins() {
  local base="$STANDIN/debian:$DEBIAN_SUITE" tarball
  tarball=$("$HERE/base-rootfs.sh")
  local th; th=$(stat -c '%s-%Y' "$tarball")
  if [ "$(img_label "$base" nowplaying.rootfs)" != "$th" ]; then
    step "import $tarball as $base"
    "$ENGINE" import -q --change 'CMD ["/bin/bash"]' --change "LABEL nowplaying.rootfs=$th" "$tarball" "$base" >/dev/null
  fi
  local B=(--build-arg "BASE=$base")
  build_standin python 3.11 "$(stage_context python)" "${B[@]}"
  build_standin jdk 17 "$(stage_context jdk)" "${B[@]}"
  build_standin maven 3-jdk17 "$(stage_context maven)" "${B[@]}"
  build_standin nginx unprivileged "$(stage_context nginx)" "${B[@]}"
  build_standin pushgateway v1.5.1 "$(stage_context pushgateway)" "${B[@]}"

  local ctx
  # Node: Debian bookworm's nodejs (18) is too old for Vite (>= 20.19), so the stand-in carries this
  # machine's node and npm, the ones the frontend's own build and tests use (make setup).
  ctx=$(stage_context node)
  local node_bin node_version
  node_bin=$(readlink -f "$(command -v node)") || die "the node stand-in needs Node.js >= 20.19 on this machine"
  node_version=$("$node_bin" --version)
  local npm_dir; npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  [ -f "$npm_dir/package.json" ] || die "npm is missing on this machine"
  mkdir -p "$ctx/root/usr/bin" "$ctx/root/usr/lib/node_modules"
  cp "$node_bin" "$ctx/root/usr/bin/node"
  cp -a "$npm_dir" "$ctx/root/usr/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/root/usr/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/root/usr/bin/npx"
  tar -C "$ctx/root" --sort=name --mtime=@0 --owner=0 --group=0 -cf "$ctx/nodejs.tar" . && rm -rf "$ctx/root"
  echo "$node_version" >"$ctx/VERSION"
  NODE_TAG=${node_version#v}; NODE_TAG=${NODE_TAG%%.*}
  build_standin node "$NODE_TAG" "$ctx" "${B[@]}"

  ctx=$(stage_context uv)
  local wheel_dir="$CLUSTER_CACHE/uv-$UV_VERSION"
  if [ ! -x "$wheel_dir/uv" ]; then
    rm -rf "$wheel_dir.partial" && mkdir -p "$wheel_dir.partial"
    "$ROOT/.venv/bin/pip" download -q --no-deps --only-binary=:all: --platform manylinux_2_17_x86_64 \
      -d "$wheel_dir.partial" "uv==$UV_VERSION" || die "pip download uv==$UV_VERSION failed"
    "$ROOT/.venv/bin/python" - "$wheel_dir.partial" <<'PY'
import sys, zipfile, pathlib
d = pathlib.Path(sys.argv[1])
(wheel,) = d.glob("uv-*.whl")
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.endswith((".data/scripts/uv", ".data/scripts/uvx")):
            out = d / pathlib.Path(name).name
            out.write_bytes(z.read(name))
            out.chmod(0o755)
PY
    rm -rf "$wheel_dir" && mv "$wheel_dir.partial" "$wheel_dir"
  fi
  cp "$wheel_dir/uv" "$wheel_dir/uvx" "$ctx/"
  build_standin uv "$UV_VERSION" "$ctx"

  # Spark: the distribution inside the pyspark package of the project's venv (the version requirements.lock pins).
  ctx=$(stage_context spark)
  local pyspark
  pyspark=$("$ROOT/.venv/bin/python" -c 'import pyspark, os; print(os.path.dirname(pyspark.__file__))') \
    || die "pyspark is not in .venv: run make setup"
  "$ROOT/.venv/bin/python" - "$pyspark" "$ctx/spark" <<'PY'
import os, shutil, sys, zipfile, pathlib
src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for sub in ("bin", "sbin", "jars"):
    shutil.copytree(src / sub, dst / sub, symlinks=True)
lib = dst / "python" / "lib"
lib.mkdir(parents=True)
def zipdir(pkg: pathlib.Path, out: pathlib.Path) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for root, dirs, files in os.walk(pkg):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and d not in ("jars", "bin", "sbin", "examples"))
            for f in sorted(files):
                p = pathlib.Path(root) / f
                info = zipfile.ZipInfo(str(p.relative_to(pkg.parent)), date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                z.writestr(info, p.read_bytes(), zipfile.ZIP_DEFLATED)
zipdir(src, lib / "pyspark.zip")
import py4j, re
# spark-submit puts $SPARK_HOME/python/lib/<the py4j zip its PythonUtils names> on PYTHONPATH: that exact name
# (Spark 3.5.9 names py4j-0.10.9.7-src.zip while pyspark's wheel installs py4j 0.10.9.9).
(core,) = (src / "jars").glob("spark-core_*.jar")
with zipfile.ZipFile(core) as z:
    names = set(re.findall(rb"py4j-[0-9.]+-src\.zip", z.read("org/apache/spark/api/python/PythonUtils$.class")))
assert len(names) == 1, names
zipdir(pathlib.Path(py4j.__file__).parent, lib / names.pop().decode())
PY
  build_standin spark "$SPARK_STANDIN_VERSION" "$ctx" --build-arg "BASE=$STANDIN/jdk:17"

  [ -f "$CASSANDRA_LIB/cassandra-all-$CASSANDRA_VERSION.jar" ] \
    || die "no Cassandra $CASSANDRA_VERSION jars in $CASSANDRA_LIB: run make setup"
  ctx=$(stage_context cassandra)
  cp -a "$CASSANDRA_LIB" "$ctx/lib"
  build_standin cassandra "$CASSANDRA_VERSION" "$ctx" --build-arg "BASE=$STANDIN/jdk:17"
}

# --- the project's images -----------------------------------------------------------------------------
project() {  # name dockerfile context [build args...]
  local name=$1 file=$2 ctx=$3; shift 3
  local ref="docker.io/library/$name:$TAG" t0=$SECONDS
  step "image $ref ($BASES bases)"
  long "$name" "$ENGINE" build -q "${BUILD_FLAGS[@]}" "$@" -t "$ref" -f "$file" "$ctx" >/dev/null
  echo "   built in $((SECONDS - t0)) s"
}

# Archives for containerd (docker-archive, named as kubelet resolves them), rewritten only when the
# image changed; then imported if the cluster runs.
export_image() {  # ref file-stem
  local ref=$1 stem=$2 id
  id=$(img_id "$ref")
  [ -n "$id" ] || die "no image $ref"
  mkdir -p "$ARCHIVES"
  if [ "$(cat "$ARCHIVES/$stem.id" 2>/dev/null)" != "$id" ]; then
    rm -f "$ARCHIVES/$stem.tar"
    long "save $stem" "$ENGINE" save -q --format docker-archive -o "$ARCHIVES/$stem.tar.partial" "$ref"
    mv "$ARCHIVES/$stem.tar.partial" "$ARCHIVES/$stem.tar"
    echo "$ref" >"$ARCHIVES/$stem.ref"
    echo "$id" >"$ARCHIVES/$stem.id"
  fi
}

t_start=$SECONDS
mkdir -p "$BUILD"
[ "$ENGINE" = podman ] && [ "$(id -u)" != 0 ] && die "make images with podman runs as root here (rootless podman needs subuids and CAP_SYS_RESOURCE)"
if [ "$BASES" = standin ]; then
  standins
  S=$STANDIN
  py_args=(--build-arg "PYTHON_IMAGE=$S/python:3.11")
  spark_args=(--build-arg "MAVEN_IMAGE=$S/maven:3-jdk17" --build-arg "UV_IMAGE=$S/uv:$UV_VERSION"
              --build-arg "SPARK_IMAGE=$S/spark:$SPARK_STANDIN_VERSION")
  [ -d "$HOME/.m2/repository" ] && spark_args+=(-v "$HOME/.m2/repository:/root/.m2/repository")
  fe_args=(--build-arg "NODE_IMAGE=$S/node:$NODE_TAG"
           --build-arg "NGINX_IMAGE=$S/nginx:unprivileged")
else
  py_args=(); spark_args=(); fe_args=()
fi
# IMAGES="nowplaying ..." builds only those (the skaffold custom build, scripts/cluster/skaffold-build.sh).
ONLY=" ${IMAGES:-nowplaying nowplaying-spark nowplaying-frontend} "
wanted() { [[ "$ONLY" == *" $1 "* ]]; }
if wanted nowplaying; then project nowplaying "$ROOT/Dockerfile" "$ROOT" "${py_args[@]}"; fi
if wanted nowplaying-spark; then project nowplaying-spark "$ROOT/spark-jobs/Dockerfile" "$ROOT" "${spark_args[@]}"; fi
if wanted nowplaying-frontend; then
  project nowplaying-frontend "$ROOT/frontend/Dockerfile" "$ROOT/frontend" "${fe_args[@]}"
fi

step "archives for containerd under $ARCHIVES"
for n in nowplaying nowplaying-spark nowplaying-frontend; do
  if wanted "$n"; then export_image "docker.io/library/$n:$TAG" "$n"; fi
done
if [ "$BASES" = standin ]; then
  export_image "$STANDIN/cassandra:$CASSANDRA_VERSION" cassandra
  export_image "$STANDIN/pushgateway:v1.5.1" pushgateway
fi
if [ -S "$STATE/run/containerd.sock" ]; then "$HERE/cluster.sh" import; fi
echo "make images: done in $((SECONDS - t_start)) s"
