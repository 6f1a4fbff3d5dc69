# nowplaying — the commands of the README.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(HOME)/.cache/nowplaying/bin:$(PATH)
export JAVA_HOME ?= /usr/lib/jvm/java-17-openjdk-amd64
PYTEST_ARGS ?=
BENCH ?=

.PHONY: docs help setup test lint typecheck importlint pytest test-frontend bench run lock frontend clean-local \
	cluster-packages images cluster cluster-down test-cluster k8s-e2e

help:
	@echo "make setup   install everything (idempotent)"
	@echo "make run     the whole system on this machine: http://localhost:8000"
	@echo "make test    ruff, mypy, import contracts, pytest (unit, integration, chart, e2e)"
	@echo "make bench   benchmarks (BENCH=<name> for one)"
	@echo "make images  the project's images (podman or docker; stand-in bases where Docker Hub is out of reach)"
	@echo "make cluster a single-node Kubernetes on this machine (root); make cluster-down stops it"
	@echo "make k8s-e2e the chart installed on that cluster and checked end to end"

setup:
	@bash scripts/setup.sh

$(VENV)/.setup-stamp:
	@bash scripts/setup.sh

lint: $(VENV)/.setup-stamp
	ruff check services spark-jobs tests bench scripts
	ruff format --check services spark-jobs tests bench scripts

typecheck: $(VENV)/.setup-stamp
	mypy

importlint: $(VENV)/.setup-stamp
	lint-imports

pytest: $(VENV)/.setup-stamp
	pytest $(PYTEST_ARGS)

# The frontend's type check and unit tests (vitest); its end-to-end tests run under pytest (tests/e2e).
test-frontend: $(VENV)/.setup-stamp
	cd frontend && npm run --silent typecheck && npm test --silent

# tests/cluster alone (`make pytest` includes it): it runs against `make cluster` and skips with one line
# saying why when the machine cannot run a cluster (not root, no cgroups) or when none is running.
test-cluster: $(VENV)/.setup-stamp
	pytest tests/cluster $(PYTEST_ARGS)

test: lint typecheck importlint test-frontend pytest

# Kubernetes on this machine (README): Debian packages, the images, the cluster. Binaries are built once
# per version into ~/.cache/nowplaying/cluster; state lives in .local/cluster.
cluster-packages:
	@bash scripts/cluster/packages.sh

images: $(VENV)/.setup-stamp
	@bash scripts/cluster/packages.sh
	@bash scripts/cluster/images.sh

# CLUSTER_INGRESS=0 leaves out the ingress controller (Traefik; `make k8s-e2e` starts it all the same).
cluster: $(VENV)/.setup-stamp
	@bash scripts/cluster/packages.sh
	@bash scripts/cluster/cluster.sh up
	@if [ "$${CLUSTER_INGRESS:-1}" != 0 ]; then bash scripts/cluster/cluster.sh ingress; fi

cluster-down:
	@bash scripts/cluster/cluster.sh down

# The product on that cluster (README "Kubernetes on this machine"): helm install in sandbox mode, then
# tests/k8s_e2e; on failure the events, descriptions and logs are in test-artifacts/k8s/.
k8s-e2e: $(VENV)/.setup-stamp
	@bash scripts/k8s-e2e/run.sh

# Benchmarks use CASSANDRA_HOSTS when set, else the project's local node (started if needed).
bench: $(VENV)/.setup-stamp
	@if [ -z "$$CASSANDRA_HOSTS" ]; then $(VENV)/bin/nowplaying cassandra start >/dev/null; fi
	$(PY) bench/run.py $(BENCH)

run:
	@bash scripts/setup.sh
	$(VENV)/bin/nowplaying run

frontend:
	cd frontend && npm run build

# Re-resolve requirements.in into the pinned requirements.lock.
lock:
	rm -rf .lockenv && python3.11 -m venv .lockenv && .lockenv/bin/pip install -q -r requirements.in
	.lockenv/bin/pip freeze --exclude-editable > requirements.lock && rm -rf .lockenv

clean-local:
	-$(VENV)/bin/nowplaying cassandra stop
	-@if [ -d .local/cluster ]; then bash scripts/cluster/cluster.sh down; fi
	rm -rf .local

# Regenerate the README's configuration table from the settings object.
docs: $(VENV)/.setup-stamp
	$(PY) scripts/update_readme_config.py
