"""The chart's scenario values (charts/nowplaying/ci/*-values.yaml), installed in the manner of chart-testing's
`ct install`: each into a fresh namespace of its own that enforces the restricted Pod Security profile,
`helm install --wait` (every pod Ready, then the migrations hook Job run and waited for: the gateway is
Ready before the schema exists, or `--wait` would never reach the hook), every Deployment and StatefulSet
rolled out, `helm test`, then `helm uninstall` and the namespace deleted. Each scenario's Ingress has a
host of its own, so that it never shadows the main release's routes on the shared ingress controller.
The external-Cassandra scenario points its pods at the Cassandra Service of the main release (another
namespace), with a keyspace of its own. The scenarios with
a Cassandra of their own (sandbox, NetworkPolicies) start one more Cassandra each: on this 2-core machine
they run only with K8S_E2E_SCENARIOS=all. The NetworkPolicies are installed but not enforced here (the
bridge CNI does not enforce them)."""

from __future__ import annotations

import os
import time

import pytest
from nowplaying.common.config import PROJECT_ROOT

from tests.cluster.support import kubectl
from tests.k8s_e2e.release import CHART, Release, helm, record

SCENARIOS_DIR = CHART / "ci"
LOCAL_VALUES = PROJECT_ROOT / "k8s" / "values-local.yaml"
LIGHT = ("external-cassandra",)
CHOSEN = sorted(p.name.removesuffix("-values.yaml") for p in SCENARIOS_DIR.glob("*-values.yaml"))
if os.environ.get("K8S_E2E_SCENARIOS", "light") != "all":
    CHOSEN = [s for s in CHOSEN if s in LIGHT]


def scenario_namespace(release: Release, scenario: str) -> str:
    namespace = f"{release.namespace}-{scenario}"[:63]
    kubectl("delete", "namespace", namespace, "--ignore-not-found", "--timeout=300s", timeout=320)
    kubectl("create", "namespace", namespace)
    kubectl(
        "label",
        "namespace",
        namespace,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/enforce-version=latest",
    )
    return namespace


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("scenario", CHOSEN)
def test_scenario_installs_and_passes_helm_test(release: Release, scenario: str) -> None:
    namespace = scenario_namespace(release, scenario)
    ct = Release(namespace=namespace, name="ct", install_started=time.time())
    extra: list[str] = ["--set", f"ingress.host={scenario}.nowplaying.test"]
    if scenario == "external-cassandra":
        host = f"{release.prefix}-cassandra.{release.namespace}.svc.cluster.local:9042"
        extra += ["--set", f"cassandra.externalHosts={host}"]
    started = time.monotonic()
    try:
        helm(
            ct,
            "install",
            ct.name,
            str(CHART),
            "-f",
            str(LOCAL_VALUES),
            "-f",
            str(SCENARIOS_DIR / f"{scenario}-values.yaml"),
            *extra,
            "--wait",
            "--timeout",
            "15m",
            timeout=960,
        )
        for workload in ct.kubectl("get", "deployments,statefulsets", "-o", "name").split():
            ct.kubectl("rollout", "status", workload, "--timeout=600s", timeout=620)
        installed_s = round(time.monotonic() - started)
        out = helm(ct, "test", ct.name, "--logs", "--timeout", "5m", timeout=320)
        assert "plays page:" in out, out
        helm(ct, "uninstall", ct.name, "--wait", "--timeout", "5m", timeout=320)
        record(f"scenario_{scenario}", {"installed_s": installed_s, "total_s": round(time.monotonic() - started)})
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false", check=False)
