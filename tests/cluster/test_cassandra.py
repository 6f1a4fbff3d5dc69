"""The Cassandra stand-in, as the chart runs it (its StatefulSet rendered with k8s/values-local.yaml):
one pod, a PVC from the default StorageClass, Ready by the chart's nodetool probe, answering CQL; and the
same StatefulSet with three replicas (issue 20): seeds, the PodDisruptionBudget, three UN nodes."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from typing import Any

import pytest
from nowplaying.common.config import PROJECT_ROOT

from tests.chart.tooling import CHART, tool
from tests.cluster.support import kubectl, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


def _install(release: str, namespace: str, *sets: str) -> dict[str, Any]:
    """Apply the chart's cassandra.yaml (values-local.yaml plus ``sets``); return its StatefulSet."""
    args = [arg for s in sets for arg in ("--set", s)]
    rendered = subprocess.run(
        [tool("helm"), "template", release, str(CHART), "--namespace", namespace,
         "-f", str(PROJECT_ROOT / "k8s" / "values-local.yaml"), *args, "--show-only", "templates/cassandra.yaml"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    kubectl("-n", namespace, "apply", "-f", "-", input=rendered)
    items = json.loads(kubectl("-n", namespace, "get", "statefulsets", "-o", "json"))["items"]
    sts: dict[str, Any] = next(s for s in items if s["metadata"]["name"].startswith(f"{release}-"))
    return sts


def _ready(namespace: str, pod: str) -> bool:
    out = kubectl("-n", namespace, "get", "pod", pod, "-o", "json", check=False)
    if not out:
        return False
    conditions = json.loads(out)["status"].get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _wait_ready(namespace: str, pods: list[str], timeout_s: float) -> None:
    try:
        wait_until(
            f"{', '.join(pods)} to be Ready (the chart's nodetool probe)",
            timeout_s,
            lambda: all(_ready(namespace, p) for p in pods),
            interval=5,
        )
    except AssertionError as e:
        details = []
        for pod in pods:
            logs = kubectl("-n", namespace, "logs", pod, "--tail=30", check=False)
            events = kubectl("-n", namespace, "describe", "pod", pod, check=False)[-2500:]
            details.append(f"--- {pod}:\n{logs}\n{events}")
        raise AssertionError(f"{e}\n" + "\n".join(details)) from None


def _pod_ip(namespace: str, pod: str) -> str:
    ip: str = json.loads(kubectl("-n", namespace, "get", "pod", pod, "-o", "json"))["status"]["podIP"]
    return ip


def test_cassandra_stand_in_runs_as_the_charts_statefulset_and_answers_cql(namespace: str) -> None:
    sts = _install("np", namespace)
    pod = f"{sts['metadata']['name']}-0"
    _wait_ready(namespace, [pod], 420)
    claims = json.loads(kubectl("-n", namespace, "get", "pvc", "-o", "json"))["items"]
    assert claims and all(c["status"]["phase"] == "Bound" for c in claims)

    from cassandra.cluster import Cluster

    cluster = Cluster([_pod_ip(namespace, pod)], port=9042, connect_timeout=10)
    try:
        session = cluster.connect()
        row = session.execute("SELECT cluster_name, data_center, release_version FROM system.local").one()
    finally:
        cluster.shutdown()
    assert row.cluster_name == "nowplaying"
    assert row.data_center == "dc1"
    assert row.release_version == "5.0.8"
    # Free the node's memory for the three-node test.
    kubectl("-n", namespace, "delete", "statefulset", sts["metadata"]["name"], "--wait=true", timeout=200)


@pytest.mark.timeout(720)
def test_three_replicas_join_one_ring_behind_a_pod_disruption_budget() -> None:
    namespace = f"np-c3-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", namespace)
    try:
        sts = _install("three", namespace, "cassandra.replicas=3")
        name, headless = sts["metadata"]["name"], sts["spec"]["serviceName"]
        env = {e["name"]: e.get("value") for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
        # seedCount 1: the first pod, by its stable name under the headless Service.
        assert env["CASSANDRA_SEEDS"] == f"{name}-0.{headless}.{namespace}.svc.cluster.local"
        pods = [f"{name}-{i}" for i in range(3)]
        _wait_ready(namespace, pods, 600)

        pdb = json.loads(kubectl("-n", namespace, "get", "pdb", name, "-o", "json"))
        assert pdb["spec"]["maxUnavailable"] == 1
        assert pdb["spec"]["selector"]["matchLabels"] == sts["spec"]["selector"]["matchLabels"]
        wait_until("the PDB to count 3 healthy pods", 60, lambda: _pdb_healthy(namespace, name) == (3, 1))

        status = kubectl("-n", namespace, "exec", pods[0], "-c", "cassandra", "--", "nodetool", "status")
        up_normal = sorted(m.group(1) for m in re.finditer(r"^UN\s+(\S+)", status, re.MULTILINE))
        assert up_normal == sorted(_pod_ip(namespace, p) for p in pods), status
        assert "Datacenter: dc1" in status, status
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def _pdb_healthy(namespace: str, name: str) -> tuple[int, int]:
    status = json.loads(kubectl("-n", namespace, "get", "pdb", name, "-o", "json")).get("status", {})
    return int(status.get("currentHealthy", 0)), int(status.get("disruptionsAllowed", 0))
