"""Shared fixtures.

Cassandra: a real node. With ``CASSANDRA_HOSTS`` set the tests use that cluster; otherwise one local
node is started for the whole test session (ports from ``TEST_CASSANDRA_PORT``, default 19042) and
stopped at the end. Every test session works in a keyspace of its own, created by the real
migrations and dropped at the end, so parallel sessions never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nowplaying.common.config import PROJECT_ROOT, Settings

SHARED_DIR = PROJECT_ROOT.parent / "shared"
SHARED_DATA = SHARED_DIR / "data"


def make_settings(**overrides: Any) -> Settings:
    """Settings for a test: environment first, then the overrides."""
    return Settings(**overrides)


@pytest.fixture(scope="session")
def cassandra_settings(request: pytest.FixtureRequest) -> Iterator[Settings]:
    from nowplaying.common.cassandra import connect, shutdown
    from nowplaying.common.localnode import LocalNode
    from nowplaying.common.migrate import migrate

    node: LocalNode | None = None
    workdir: Path | None = None
    if os.environ.get("CASSANDRA_HOSTS"):
        base = Settings()
    else:
        port = int(os.environ.get("TEST_CASSANDRA_PORT", "19042"))
        workdir = Path(tempfile.mkdtemp(prefix="np-test-cassandra-"))
        base = Settings(
            cassandra_hosts="127.0.0.1",
            cassandra_port=port,
            cassandra_storage_port=port - 2000,
            cassandra_jmx_port=port - 1800,
            cassandra_data_dir=workdir,
        )
        node = LocalNode(base)
        node.start()
    keyspace = f"np_test_{secrets.token_hex(4)}"
    settings = base.model_copy(update={"cassandra_keyspace": keyspace, "cassandra_connect_timeout_s": 30.0})
    session = connect(settings)
    version = session.execute("SELECT release_version FROM system.local").one().release_version
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # shown in the test log, not captured
            reporter.write_line(
                f"\nCassandra at {':'.join(map(str, settings.cassandra_contact_points[0]))} answered "
                f"SELECT release_version FROM system.local: {version} (keyspace {keyspace})"
            )
    migrate(session, keyspace, settings.replication_map)
    shutdown(session)
    try:
        yield settings
    finally:
        try:
            session = connect(settings, deadline_s=20)
            session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
            shutdown(session)
        except Exception as exc:
            print(f"could not drop {keyspace}: {exc}")
        if node is not None:
            node.stop()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def cassandra_session(cassandra_settings: Settings) -> Iterator[Any]:
    from nowplaying.common.cassandra import connect, shutdown

    session = connect(cassandra_settings)
    yield session
    shutdown(session)


def truncate_keyspace(session: Any, keyspace: str) -> None:
    """Empties every table of a keyspace except schema_migrations."""
    rows = session.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (keyspace,))
    for row in rows:
        if row.table_name != "schema_migrations":
            session.execute(f"TRUNCATE {keyspace}.{row.table_name}", timeout=120)


@pytest.fixture
def clean_db(cassandra_session: Any, cassandra_settings: Settings) -> Settings:
    """Empties every table of the test keyspace (except schema_migrations) before the test."""
    truncate_keyspace(cassandra_session, cassandra_settings.cassandra_keyspace)
    return cassandra_settings


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    path = tmp_path / "lake"
    path.mkdir()
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        for marker in ("integration", "e2e", "chart"):
            if marker in parts:
                item.add_marker(getattr(pytest.mark, marker))


# Fixtures owned by each area live in their own modules, so areas never edit the same file.
pytest_plugins = [
    "tests.fixtures_sandbox",
    "tests.fixtures_pipeline",
    "tests.fixtures_gateway",
    "tests.fixtures_observability",
    "tests.fixtures_lake",
    "tests.fixtures_matching",
]
