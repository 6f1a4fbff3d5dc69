"""The Cassandra stand-in, as the chart runs it (its StatefulSet rendered with k8s/values-local.yaml):
one pod, a PVC from the default StorageClass, Ready by the chart's nodetool probe, answering CQL."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.chart.tooling import CHART, tool
from tests.cluster.support import PROJECT_ROOT, kubectl, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


def test_cassandra_stand_in_runs_as_the_charts_statefulset_and_answers_cql(namespace: str) -> None:
    rendered = subprocess.run(
        [tool("helm"), "template", "np", str(CHART), "--namespace", namespace,
         "-f", str(PROJECT_ROOT / "k8s" / "values-local.yaml"), "--show-only", "templates/cassandra.yaml"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    kubectl("-n", namespace, "apply", "-f", "-", input=rendered)
    sts = json.loads(kubectl("-n", namespace, "get", "statefulsets", "-o", "json"))["items"][0]
    name = sts["metadata"]["name"]
    pod = f"{name}-0"

    def ready() -> bool:
        out = kubectl("-n", namespace, "get", "pod", pod, "-o", "json", check=False)
        if not out:
            return False
        conditions = json.loads(out)["status"].get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    try:
        wait_until(f"{pod} to be Ready (the chart's nodetool probe)", 420, ready, interval=5)
    except AssertionError:
        logs = kubectl("-n", namespace, "logs", pod, "--tail=40", check=False)
        events = kubectl("-n", namespace, "describe", "pod", pod, check=False)[-3000:]
        raise AssertionError(f"{pod} not Ready:\n{logs}\n{events}") from None
    claims = json.loads(kubectl("-n", namespace, "get", "pvc", "-o", "json"))["items"]
    assert claims and all(c["status"]["phase"] == "Bound" for c in claims)

    from cassandra.cluster import Cluster

    ip = json.loads(kubectl("-n", namespace, "get", "pod", pod, "-o", "json"))["status"]["podIP"]
    cluster = Cluster([ip], port=9042, connect_timeout=10)
    try:
        session = cluster.connect()
        row = session.execute("SELECT cluster_name, data_center, release_version FROM system.local").one()
    finally:
        cluster.shutdown()
    assert row.cluster_name == "nowplaying"
    assert row.data_center == "dc1"
    assert row.release_version == "5.0.8"
