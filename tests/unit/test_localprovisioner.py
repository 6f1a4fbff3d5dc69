"""The local cluster's provisioner decides from claims and volumes alone (no API server here)."""

from __future__ import annotations

from pathlib import Path

from nowplaying.common.localprovisioner import (
    PROVISIONER,
    STORAGE_CLASS,
    Claim,
    Create,
    Delete,
    Volume,
    plan,
    volume_manifest,
)

ROOT = Path("/state/volumes")


def claim(name: str = "data", *, cls: str = STORAGE_CLASS, phase: str = "Pending", volume: str = "") -> Claim:
    return Claim("ns", name, f"uid-{name}-0123456789", cls, phase, volume, "2Gi", ("ReadWriteOnce",))


def test_a_pending_claim_of_the_class_gets_a_prebound_volume() -> None:
    (action,) = plan([claim()], [], ROOT)
    assert isinstance(action, Create)
    assert action.volume_name == "pvc-uid-data-0123456789"
    assert action.path.parent == ROOT and action.path.name.startswith("ns-data-")
    manifest = volume_manifest(action)
    spec = manifest["spec"]
    assert spec["claimRef"] == {"namespace": "ns", "name": "data", "uid": "uid-data-0123456789"}
    assert spec["capacity"] == {"storage": "2Gi"} and spec["storageClassName"] == STORAGE_CLASS
    assert manifest["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == PROVISIONER


def test_claims_of_other_classes_bound_claims_and_existing_volumes_are_left_alone() -> None:
    existing = Volume("pvc-uid-data-0123456789", PROVISIONER, "Available", "Delete", str(ROOT / "x"))
    claims = [claim("a", cls="other"), claim("b", phase="Bound", volume="pv-b"), claim("data")]
    assert plan(claims, [existing], ROOT) == []


def test_released_volumes_of_this_provisioner_under_the_root_are_deleted() -> None:
    volumes = [
        Volume("mine", PROVISIONER, "Released", "Delete", str(ROOT / "ns-data-1")),
        Volume("retained", PROVISIONER, "Released", "Retain", str(ROOT / "ns-data-2")),
        Volume("foreign", "someone.else/x", "Released", "Delete", str(ROOT / "ns-data-3")),
        Volume("outside", PROVISIONER, "Released", "Delete", "/etc"),
    ]
    assert plan([], volumes, ROOT) == [Delete("mine", ROOT / "ns-data-1")]
