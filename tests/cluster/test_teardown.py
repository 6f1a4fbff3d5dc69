"""`make cluster-down` leaves nothing of the cluster: no process, bridge, route, iptables rule, mount or
changed sysctl. It compares the host with what cluster.sh saved before the cluster's first start,
then starts the cluster again, so the run ends as it began. (This file sorts last on purpose.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cluster.support import SCRIPTS, STATE

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


BUILTIN = {"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"}


def _normalized_rules(text: str) -> list[str]:
    """iptables-save as ``table rule`` lines without counters; built-in chains with the ACCEPT policy are
    left out, so a table that exists but is empty equals an absent one."""
    out, table = [], ""
    for line in text.splitlines():
        if line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            table = line
            continue
        if line.startswith(":"):
            chain, policy = line[1:].split()[:2]
            if chain in BUILTIN and policy == "ACCEPT":
                continue
            line = f":{chain} {policy}"
        out.append(f"{table} {line}")
    return out


def _cluster(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPTS / "cluster.sh"), *args], capture_output=True, text=True, timeout=timeout)


def test_cluster_down_leaves_nothing_and_restores_the_host() -> None:
    saved = STATE / "saved"
    sysctls = dict(line.split("=", 1) for line in (saved / "sysctl").read_text().splitlines() if "=" in line)
    rules_before = _normalized_rules((saved / "iptables.v4").read_text())
    rules6_before = _normalized_rules((saved / "iptables.v6").read_text()) if (saved / "iptables.v6").exists() else None
    assert sysctls, "cluster.sh saved no sysctls before the start"
    try:
        down = _cluster("down")
        assert down.returncode == 0, down.stderr
        check = _cluster("check")
        assert check.returncode == 0, check.stdout + check.stderr
        for key, value in sysctls.items():
            now = subprocess.run(["sysctl", "-n", key], capture_output=True, text=True, check=True).stdout.strip()
            assert now.replace("\t", " ") == value, f"{key} is {now}, was {value}"
        rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
        assert _normalized_rules(rules) == rules_before
        if rules6_before is not None:
            rules6 = subprocess.run(["ip6tables-save"], capture_output=True, text=True, check=True).stdout
            assert _normalized_rules(rules6) == rules6_before
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
        assert "npbr0" not in links and "veth" not in links
        assert "10.96.0.0/16" not in subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
        mounts = Path("/proc/self/mountinfo").read_text()
        assert str(STATE) not in mounts
        assert not [p for p in Path("/sys/fs/cgroup").glob("*/kubepods*")]
        for name in ("kube-apiserver", "kubelet", "etcd", "containerd", "kube-proxy"):
            assert not (STATE / "run" / f"{name}.pid").exists()
    finally:
        up = _cluster("up")
        assert up.returncode == 0, f"the cluster did not start again:\n{up.stderr[-3000:]}"
