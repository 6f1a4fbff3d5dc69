"""Pod Security enforced by the API server: the release namespace enforces `restricted`, every pod of the
chart was admitted, and a non-compliant pod is refused."""

from __future__ import annotations

import copy
import subprocess
from typing import Any

import pytest
import yaml

from tests.cluster.support import KUBECONFIG, kubectl_bin
from tests.k8s_e2e.release import Release, record

COMPLIANT: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "psa-probe"},
    "spec": {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "main",
                "image": "docker.io/library/nowplaying:0.1.0",
                "imagePullPolicy": "Never",
                "args": ["--help"],
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}},
            }
        ],
    },
}


def _create(namespace: str, pod: dict[str, Any], dry_run: bool) -> subprocess.CompletedProcess[str]:
    args = [kubectl_bin(), "--kubeconfig", str(KUBECONFIG), "-n", namespace, "create", "-f", "-"]
    args += ["--dry-run=server"] if dry_run else []
    return subprocess.run(args, input=yaml.safe_dump(pod), capture_output=True, text=True, timeout=60)


def test_namespace_enforces_restricted(release: Release) -> None:
    labels = release.get_json("namespace", release.namespace)["metadata"]["labels"]
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted", labels


def test_every_pod_of_the_chart_was_admitted(release: Release) -> None:
    refused = [
        f"{e['involvedObject']['kind']}/{e['involvedObject']['name']}: {e['message'][:300]}"
        for e in release.events()
        if "violates PodSecurity" in e.get("message", "")
    ]
    assert not refused, "\n".join(refused)
    pods = release.get_json("pods")["items"]
    components = sorted({p["metadata"]["labels"].get("app.kubernetes.io/component", "?") for p in pods})
    record("pod_security_admitted_components", components)
    for expected in ("cassandra", "gateway", "frontend", "sandbox", "pushgateway", "extract", "load"):
        assert expected in components, components


def test_a_compliant_pod_passes_the_server_dry_run(release: Release) -> None:
    result = _create(release.namespace, COMPLIANT, dry_run=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        # refused before Pod Security looks at it: the API server runs with --allow-privileged=false
        ("privileged", "securityContext.privileged: Forbidden"),
        ("host-path", 'restricted volume types (volume "host" uses restricted volume type "hostPath")'),
        ("no-drop-all", 'unrestricted capabilities (container "main" must set securityContext.capabilities.drop'),
        ("root", "runAsNonRoot != true"),
    ],
)
def test_a_non_compliant_pod_is_refused(release: Release, change: str, complaint: str) -> None:
    pod = copy.deepcopy(COMPLIANT)
    pod["metadata"]["name"] = f"psa-{change}"
    container = pod["spec"]["containers"][0]
    if change == "privileged":
        container["securityContext"] = {"privileged": True}  # (with allowPrivilegeEscalation false: invalid)
    elif change == "host-path":
        pod["spec"]["volumes"] = [{"name": "host", "hostPath": {"path": "/etc"}}]
        container["volumeMounts"] = [{"name": "host", "mountPath": "/host", "readOnly": True}]
    elif change == "no-drop-all":
        del container["securityContext"]["capabilities"]
    else:
        pod["spec"]["securityContext"]["runAsNonRoot"] = False
        pod["spec"]["securityContext"]["runAsUser"] = 0
    result = _create(release.namespace, pod, dry_run=False)  # a real create: refused, nothing is made
    if result.returncode == 0:
        release.kubectl("delete", "pod", pod["metadata"]["name"], "--wait=false", check=False)
    assert result.returncode != 0, f"the API server admitted a {change} pod"
    if change != "privileged":
        assert 'violates PodSecurity "restricted:latest"' in result.stderr, result.stderr
    assert complaint in result.stderr, result.stderr
