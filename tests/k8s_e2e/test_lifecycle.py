"""The release's lifecycle (run last by `make k8s-e2e`): `helm test`, an upgrade with changed values and a
rollback that lose no play, and an uninstall that keeps the lake's PVC."""

from __future__ import annotations

import json

import pytest

from tests.cluster.support import wait_until
from tests.k8s_e2e.release import CHART, Release, helm, record


def _rolled_out(release: Release) -> None:
    for component in ("gateway", "frontend", "sandbox", "pushgateway"):
        release.kubectl("rollout", "status", f"deployment/{release.prefix}-{component}", "--timeout=300s", timeout=320)
    release.kubectl("rollout", "status", f"statefulset/{release.prefix}-cassandra", "--timeout=600s", timeout=620)


def _play_ids(release: Release) -> set[str]:
    def served() -> set[str] | None:
        try:
            return {p["post_id"] for p in release.plays()} or None
        except (AssertionError, OSError):
            return None

    found: set[str] = wait_until("the gateway to serve plays", 300, served, 5)
    return found


@pytest.mark.timeout(400)
def test_helm_test_checks_the_gateway(release: Release) -> None:
    out = helm(release, "test", release.name, "--logs", "--timeout", "5m")
    assert "Succeeded" in out, out
    assert "readyz 200" in out and "plays page:" in out, out


@pytest.mark.timeout(2400)
def test_upgrade_and_rollback_lose_no_play(release: Release) -> None:
    before = _play_ids(release)
    revision = int(json.loads(helm(release, "status", release.name, "-o", "json"))["version"])
    changed = ("--reuse-values", "--set", "env.LOG_LEVEL=DEBUG")
    helm(release, "upgrade", release.name, str(CHART), *changed, "--timeout", "15m")
    _rolled_out(release)
    gateway = release.get_json("deployment", f"{release.prefix}-gateway")
    env = {e["name"]: e.get("value") for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["LOG_LEVEL"] == "DEBUG"
    after_upgrade = _play_ids(release)
    helm(release, "rollback", release.name, str(revision), "--timeout", "15m")
    _rolled_out(release)
    gateway = release.get_json("deployment", f"{release.prefix}-gateway")
    env = {e["name"]: e.get("value") for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["LOG_LEVEL"] == "INFO"
    after_rollback = _play_ids(release)
    record(
        "plays_across_upgrade_and_rollback",
        {"before": len(before), "after_upgrade": len(after_upgrade), "after_rollback": len(after_rollback)},
    )
    assert before <= after_upgrade <= after_rollback  # new posts may still arrive; none is lost
    assert len(after_rollback) == len(before), "posts were stopped: the plays must be exactly the same"


@pytest.mark.timeout(400)
def test_uninstall_keeps_the_lake(release: Release) -> None:
    lake_pvc = f"{release.prefix}-lake"
    volume = release.kubectl("get", "pvc", lake_pvc, "-o", "jsonpath={.spec.volumeName}").strip()
    helm(release, "uninstall", release.name, "--wait", "--timeout", "5m")
    pvc = release.get_json("pvc", lake_pvc)
    assert pvc["status"]["phase"] == "Bound" and pvc["spec"]["volumeName"] == volume
    assert "helm.sh/resource-policy" in pvc["metadata"]["annotations"]
    left = [d for d in release.kubectl("get", "deployments,statefulsets,cronjobs", "-o", "name").split() if d]
    assert not left, left
    record("lake_pvc_after_uninstall", {"name": lake_pvc, "volume": volume, "phase": pvc["status"]["phase"]})
