"""The local cluster of `make cluster`, as the tests see it: kubectl, pods, bounded waits."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from nowplaying.common.config import PROJECT_ROOT

SCRIPTS = PROJECT_ROOT / "scripts" / "cluster"
STATE = Path(os.environ.get("CLUSTER_STATE", str(PROJECT_ROOT / ".local" / "cluster")))
KUBECONFIG = STATE / "kubeconfig"
SOCK = STATE / "run" / "containerd.sock"
TAG = "0.1.0"


def versions() -> dict[str, str]:
    """The shell variables of scripts/cluster/versions.sh (with $CACHE etc. expanded by bash)."""
    out = subprocess.run(
        ["bash", "-c", f". {SCRIPTS / 'versions.sh'} && set -o posix && set"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    pairs = (line.split("=", 1) for line in out.splitlines() if "=" in line)
    return {k: v.strip("'") for k, v in pairs if re.fullmatch(r"[A-Z0-9_]+", k)}


def kubectl_bin() -> str:
    return str(Path(versions()["K8S_BIN"]) / "kubectl")


def cannot_run_reason() -> str | None:
    """Why this machine cannot run the local cluster (`cluster.sh can-run`, the line .ci/run prints), or None."""
    result = subprocess.run(
        ["bash", str(SCRIPTS / "cluster.sh"), "can-run"], capture_output=True, text=True, timeout=30
    )
    if result.returncode == 0:
        return None
    return result.stdout.strip() or result.stderr.strip() or "cluster.sh can-run failed"


def cluster_running() -> bool:
    result = subprocess.run(["bash", str(SCRIPTS / "cluster.sh"), "status"], capture_output=True, text=True, timeout=60)
    return result.returncode == 0


def kubectl(*args: str, input: str | None = None, timeout: float = 120, check: bool = True) -> str:
    result = subprocess.run(
        [kubectl_bin(), "--kubeconfig", str(KUBECONFIG), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def get(kind: str, name: str, namespace: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(kubectl("-n", namespace, "get", kind, name, "-o", "json"))
    return data


def apply(namespace: str, *docs: dict[str, Any]) -> None:
    kubectl("-n", namespace, "apply", "-f", "-", input=yaml.safe_dump_all(docs))


def wait_until(what: str, timeout_s: float, probe: Any, interval: float = 1.0) -> Any:
    """Call ``probe`` until it returns a truthy value; fail after ``timeout_s`` with ``what``."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what} (last: {last!r})")


def pod_phase(namespace: str, name: str) -> str:
    out = kubectl("-n", namespace, "get", "pod", name, "-o", "jsonpath={.status.phase}", check=False)
    return out.strip()


def run_pod(
    namespace: str,
    name: str,
    image: str,
    *,
    command: list[str] | None = None,
    args: list[str] | None = None,
    timeout_s: float = 180,
    user: int = 10001,
) -> str:
    """Run a pod to completion; return its logs. Fails with the logs when the pod fails."""
    container: dict[str, Any] = {
        "name": "main",
        "image": image,
        "imagePullPolicy": "Never",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "runAsUser": user,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {"limits": {"memory": "1Gi"}},
    }
    if command is not None:
        container["command"] = command
    if args is not None:
        container["args"] = args
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": [container], "automountServiceAccountToken": False},
    }
    apply(namespace, pod)
    phase = wait_until(
        f"pod {name} to finish",
        timeout_s,
        lambda: p if (p := pod_phase(namespace, name)) in ("Succeeded", "Failed") else None,
    )
    logs = kubectl("-n", namespace, "logs", name, check=False)
    assert phase == "Succeeded", f"pod {name} {phase}:\n{logs}"
    return logs


def image(name: str) -> str:
    return f"docker.io/library/{name}:{TAG}"


class FolderSkip:
    """Skips every test of one folder with one line saying why, when ``find_reason`` names a reason
    (asked once per session); the conftest of the folder calls ``mark`` and ``summary`` from its hooks."""

    def __init__(self, folder: str, find_reason: Callable[[], str | None]) -> None:
        self.folder = folder
        self._find_reason = find_reason
        self._reason: list[str] = []
        self.skipped = 0

    def reason(self) -> str | None:
        if not self._reason:
            self._reason.append(self._find_reason() or "")
        return self._reason[0] or None

    def mark(self, items: list[pytest.Item]) -> None:
        ours = [i for i in items if f"{self.folder}/" in i.nodeid]
        reason = self.reason() if ours else None
        if reason:
            marker = pytest.mark.skip(reason=f"{self.folder}: {reason}")
            for item in ours:
                item.add_marker(marker)
            self.skipped = len(ours)

    def summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.skipped:
            terminalreporter.write_line(f"{self.folder}: {self.skipped} tests skipped: {self.reason()}", yellow=True)
