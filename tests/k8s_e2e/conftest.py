"""tests/k8s_e2e check the release `make k8s-e2e` installs on the local cluster (scripts/k8s-e2e/run.sh sets
K8S_E2E_NAMESPACE and friends). Run any other way, or with no cluster reachable, every test here is
skipped and the run prints one line saying why."""

from __future__ import annotations

import pytest

from tests.cluster.support import FolderSkip, cannot_run_reason, cluster_running
from tests.k8s_e2e.release import Release, release_from_env


def _reason() -> str | None:
    reason = cannot_run_reason()
    if reason is None and not cluster_running():
        reason = "no cluster is reachable (make images && make cluster, then make k8s-e2e)"
    if reason is None and release_from_env() is None:
        reason = "no release to check: these tests run under make k8s-e2e, which installs it"
    return reason


_skip = FolderSkip("tests/k8s_e2e", _reason)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _skip.mark(items)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    _skip.summary(terminalreporter)


@pytest.fixture(scope="session")
def release() -> Release:
    found = release_from_env()
    assert found is not None
    return found
