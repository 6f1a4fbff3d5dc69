"""tests/cluster run against the cluster of `make cluster`. When the machine cannot run one (not root,
no cgroups) or none is running, every test here is skipped and the run prints one line saying why."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.cluster.support import FolderSkip, cannot_run_reason, cluster_running, kubectl


def _reason() -> str | None:
    reason = cannot_run_reason()
    if reason is None and not cluster_running():
        reason = "no local cluster is running (make images && make cluster)"
    return reason


_skip = FolderSkip("tests/cluster", _reason)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _skip.mark(items)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    _skip.summary(terminalreporter)


@pytest.fixture(scope="session")
def namespace() -> Iterator[str]:
    """A namespace of this test session, deleted at its end."""
    name = f"np-test-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)
