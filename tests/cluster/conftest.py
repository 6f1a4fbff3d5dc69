"""tests/cluster run against the cluster of `make cluster`. When the machine cannot run one (not root,
no cgroups) or none is running, every test here is skipped and the run prints one line saying why."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.cluster.support import cannot_run_reason, cluster_running, kubectl

_skip_reason: list[str] = []
_skipped: list[int] = [0]


def _reason() -> str | None:
    if not _skip_reason:
        reason = cannot_run_reason()
        if reason is None and not cluster_running():
            reason = "no local cluster is running (make images && make cluster)"
        _skip_reason.append(reason or "")
    return _skip_reason[0] or None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [i for i in items if "tests/cluster/" in i.nodeid]
    if not ours:
        return
    reason = _reason()
    if reason:
        marker = pytest.mark.skip(reason=f"tests/cluster: {reason}")
        for item in ours:
            item.add_marker(marker)
        _skipped[0] = len(ours)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped[0]:
        terminalreporter.write_line(f"tests/cluster: {_skipped[0]} tests skipped: {_reason()}", yellow=True)


@pytest.fixture(scope="session")
def namespace() -> Iterator[str]:
    """A namespace of this test session, deleted at its end."""
    name = f"np-test-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)
