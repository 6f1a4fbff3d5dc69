"""Helm, kubeconform and the schema folders, found the way `make` finds them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from nowplaying.common.config import PROJECT_ROOT

from tests.chart.kube_schemas import DEFAULT_DIR, VERSIONS, kube_dir

CHART = PROJECT_ROOT / "charts" / "nowplaying"
VALUES_DIR = Path(__file__).parent / "values"
SHARED_SCHEMAS = PROJECT_ROOT.parent / "shared" / "k8s-schemas"
TOOLS_BIN = Path.home() / ".cache" / "nowplaying" / "bin"
KUBE_VERSIONS = VERSIONS
RELEASE = "np"
NAMESPACE = "nowplaying"


def tool(name: str) -> str:
    """Path of a tool on PATH or in ~/.cache/nowplaying/bin; skips the test when it is absent."""
    found = shutil.which(name) or shutil.which(name, path=str(TOOLS_BIN))
    if not found:
        pytest.skip(f"{name} is not installed (make setup builds it into {TOOLS_BIN})")
    return found


def kube_schema_root() -> Path:
    root = Path(os.environ.get("KUBE_SCHEMA_DIR", str(DEFAULT_DIR)))
    missing = [v for v in KUBE_VERSIONS if not (kube_dir(root, v) / "deployment-apps-v1.json").is_file()]
    if missing:
        pytest.fail(f"no Kubernetes JSON schemas for {missing} under {root}: run `make setup`")
    return root


def helm_template(values_file: Path | None, kube_version: str = "1.31.0", *extra: str) -> str:
    args = [tool("helm"), "template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--kube-version", kube_version]
    if values_file is not None:
        args += ["-f", str(values_file)]
    args += list(extra)
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"helm template failed for {values_file}:\n{result.stderr}")
    return result.stdout


def load_docs(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def render_rule_groups(values_file: Path | None = None, *extra: str) -> dict[str, Any]:
    """The PrometheusRule spec the chart ships (rule-file format: ``{"groups": [...]}``)."""
    text = helm_template(
        values_file,
        "1.31.0",
        "--set",
        "metrics.prometheusRule.enabled=true",
        "--show-only",
        "templates/prometheusrule.yaml",
        *extra,
    )
    (doc,) = load_docs(text)
    spec: dict[str, Any] = doc["spec"]
    return spec


def dashboards() -> dict[str, dict[str, Any]]:
    import json

    return {p.stem: json.loads(p.read_text()) for p in sorted((CHART / "dashboards").glob("*.json"))}


def panel_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """``(panel title, PromQL)`` of every panel target."""
    out: list[tuple[str, str]] = []
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets", []):
            out.append((panel["title"], target["expr"]))
    return out
