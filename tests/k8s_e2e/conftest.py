"""tests/k8s_e2e check the release `make k8s-e2e` installs on the local cluster (scripts/k8s-e2e/run.sh sets
K8S_E2E_NAMESPACE and friends). Run any other way, or with no cluster reachable, every test here is
skipped and the run prints one line saying why."""

from __future__ import annotations

import pytest

from tests.cluster.support import cannot_run_reason, cluster_running
from tests.k8s_e2e.release import Release, release_from_env

_reason_cache: list[str] = []
_skipped: list[int] = [0]


def _reason() -> str | None:
    if not _reason_cache:
        reason = cannot_run_reason()
        if reason is None and not cluster_running():
            reason = "no cluster is reachable (make images && make cluster, then make k8s-e2e)"
        if reason is None and release_from_env() is None:
            reason = "no release to check: these tests run under make k8s-e2e, which installs it"
        _reason_cache.append(reason or "")
    return _reason_cache[0] or None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [i for i in items if "tests/k8s_e2e/" in i.nodeid]
    if not ours:
        return
    reason = _reason()
    if reason:
        marker = pytest.mark.skip(reason=f"tests/k8s_e2e: {reason}")
        for item in ours:
            item.add_marker(marker)
        _skipped[0] = len(ours)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped[0]:
        terminalreporter.write_line(f"tests/k8s_e2e: {_skipped[0]} tests skipped: {_reason()}", yellow=True)


@pytest.fixture(scope="session")
def release() -> Release:
    found = release_from_env()
    assert found is not None
    return found
