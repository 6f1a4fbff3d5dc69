"""The local cluster's volume provisioner (`make cluster`): binds PVCs of the default StorageClass.

A PVC of class ``nowplaying-local`` gets a hostPath PersistentVolume on a fresh directory under the
cluster's state folder, pre-bound to the claim; a Released volume of this provisioner is deleted with
its directory. The directory is world-writable because hostPath volumes ignore ``fsGroup`` and the
chart's pods run as non-root users (10001, Cassandra's 999). Single node only, like the cluster.

    python -m nowplaying.common.localprovisioner --kubeconfig FILE --root DIR
"""

from __future__ import annotations

import argparse
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nowplaying.common.logging import get_logger

log = get_logger(__name__)

PROVISIONER = "nowplaying.local/hostpath"
STORAGE_CLASS = "nowplaying-local"
ANNOTATION = "pv.kubernetes.io/provisioned-by"


@dataclass(frozen=True)
class Claim:
    namespace: str
    name: str
    uid: str
    storage_class: str
    phase: str
    volume_name: str
    size: str
    access_modes: tuple[str, ...]


@dataclass(frozen=True)
class Volume:
    name: str
    provisioned_by: str
    phase: str
    reclaim_policy: str
    path: str


@dataclass(frozen=True)
class Create:
    volume_name: str
    path: Path
    claim: Claim


@dataclass(frozen=True)
class Delete:
    volume_name: str
    path: Path


def volume_name(claim: Claim) -> str:
    return f"pvc-{claim.uid}"


def plan(claims: list[Claim], volumes: list[Volume], root: Path) -> list[Create | Delete]:
    """What to do now: a volume for each unbound claim of our class, deletion of our Released volumes."""
    existing = {v.name for v in volumes}
    actions: list[Create | Delete] = []
    for c in claims:
        if c.storage_class != STORAGE_CLASS or c.phase != "Pending" or c.volume_name:
            continue
        name = volume_name(c)
        if name not in existing:
            actions.append(Create(name, root / f"{c.namespace}-{c.name}-{c.uid[:8]}", c))
    for v in volumes:
        if v.provisioned_by == PROVISIONER and v.phase == "Released" and v.reclaim_policy == "Delete":
            path = Path(v.path)
            if path.is_relative_to(root):
                actions.append(Delete(v.name, path))
    return actions


def volume_manifest(action: Create) -> dict[str, Any]:
    c = action.claim
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": action.volume_name, "annotations": {ANNOTATION: PROVISIONER}},
        "spec": {
            "capacity": {"storage": c.size},
            "accessModes": list(c.access_modes) or ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": STORAGE_CLASS,
            "hostPath": {"path": str(action.path), "type": "DirectoryOrCreate"},
            "claimRef": {"namespace": c.namespace, "name": c.name, "uid": c.uid},
        },
    }


def _claims(api: Any) -> list[Claim]:
    out = []
    for item in api.list_persistent_volume_claim_for_all_namespaces().items:
        spec, status = item.spec, item.status
        out.append(
            Claim(
                namespace=item.metadata.namespace,
                name=item.metadata.name,
                uid=item.metadata.uid,
                storage_class=spec.storage_class_name or "",
                phase=(status.phase if status else "") or "",
                volume_name=spec.volume_name or "",
                size=(spec.resources.requests or {}).get("storage", "1Gi"),
                access_modes=tuple(spec.access_modes or ()),
            )
        )
    return out


def _volumes(api: Any) -> list[Volume]:
    out = []
    for item in api.list_persistent_volume().items:
        annotations = item.metadata.annotations or {}
        host_path = item.spec.host_path.path if item.spec.host_path else ""
        out.append(
            Volume(
                name=item.metadata.name,
                provisioned_by=annotations.get(ANNOTATION, ""),
                phase=(item.status.phase if item.status else "") or "",
                reclaim_policy=item.spec.persistent_volume_reclaim_policy or "",
                path=host_path,
            )
        )
    return out


def apply(api: Any, actions: list[Create | Delete]) -> None:
    for action in actions:
        if isinstance(action, Create):
            action.path.mkdir(parents=True, exist_ok=True)
            action.path.chmod(0o1777)
            api.create_persistent_volume(volume_manifest(action))
            log.info("volume created", extra={"volume": action.volume_name, "claim": action.claim.name})
        else:
            shutil.rmtree(action.path, ignore_errors=True)
            api.delete_persistent_volume(action.volume_name)
            log.info("volume deleted", extra={"volume": action.volume_name})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    from kubernetes import client, config

    config.load_kube_config(config_file=args.kubeconfig)  # type: ignore[no-untyped-call]
    api = client.CoreV1Api()
    root: Path = args.root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("provisioner running", extra={"storage_class": STORAGE_CLASS, "root": str(root)})
    while not stop:
        try:
            apply(api, plan(_claims(api), _volumes(api), root))
        except Exception as exc:  # the API server may restart; try again on the next round
            log.warning("provisioner round failed", extra={"error": str(exc)})
        time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
