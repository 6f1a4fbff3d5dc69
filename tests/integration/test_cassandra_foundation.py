from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from nowplaying.common.cassandra import ProgressStore, connect, shutdown
from nowplaying.common.config import Settings
from nowplaying.common.localnode import LocalNode, NodeError
from nowplaying.common.migrate import MigrationError, load_migrations, migrate


def _schema(session: Any, keyspace: str) -> list[tuple[str, str, str, str]]:
    rows = session.execute(
        "SELECT table_name, column_name, kind, type FROM system_schema.columns WHERE keyspace_name = %s",
        (keyspace,),
    )
    return sorted((r.table_name, r.column_name, r.kind, r.type) for r in rows)


def test_release_version_is_5_0(cassandra_session: Any) -> None:
    version = cassandra_session.execute("SELECT release_version FROM system.local").one().release_version
    print(f"Cassandra release_version: {version}")
    assert version.startswith("5.0.")


def test_migrate_twice_leaves_the_same_schema(cassandra_session: Any, cassandra_settings: Settings) -> None:
    keyspace = f"np_migrate_{secrets.token_hex(3)}"
    try:
        first = migrate(cassandra_session, keyspace, cassandra_settings.replication_map)
        schema_after_first = _schema(cassandra_session, keyspace)
        second = migrate(cassandra_session, keyspace, cassandra_settings.replication_map)
        assert first == [m.filename for m in load_migrations()]
        assert second == []
        assert _schema(cassandra_session, keyspace) == schema_after_first
        tables = {t for t, *_ in schema_after_first}
        assert {"plays_by_hour", "match_cache", "pipeline_runs", "load_log", "schema_migrations"} <= tables
        versions = [r.version for r in cassandra_session.execute(f"SELECT version FROM {keyspace}.schema_migrations")]
        assert sorted(versions) == [m.version for m in load_migrations()]
    finally:
        cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)


def test_changed_migration_is_refused(cassandra_session: Any, cassandra_settings: Settings) -> None:
    keyspace = cassandra_settings.cassandra_keyspace
    cassandra_session.execute(f"UPDATE {keyspace}.schema_migrations SET checksum = 'tampered' WHERE version = 1")
    try:
        with pytest.raises(MigrationError, match=r"V001__core_model\.cql was changed"):
            migrate(cassandra_session, keyspace, cassandra_settings.replication_map)
    finally:
        real = load_migrations()[0].checksum
        cassandra_session.execute(f"UPDATE {keyspace}.schema_migrations SET checksum = %s WHERE version = 1", (real,))


def test_progress_store_round_trip(clean_db: Settings, cassandra_session: Any) -> None:
    store = ProgressStore(cassandra_session, clean_db.cassandra_keyspace)
    store.mark_done("clean", "2026-11-28", "b1", 10, 9, "clean/b1")
    store.mark_done("clean", "2026-11-28", "b1", 10, 9, "clean/b1")  # idempotent
    assert store.done_ids("clean", ["2026-11-28", "2026-11-27"]) == {"b1"}


def test_node_keeps_data_across_restart(tmp_path: Path) -> None:
    from tests.support.net import free_port

    settings = Settings(
        cassandra_hosts="127.0.0.1",
        cassandra_port=free_port(),
        cassandra_storage_port=free_port(),
        cassandra_jmx_port=free_port(),
        cassandra_data_dir=tmp_path / "node",
        cassandra_heap="512M",
    )
    node = LocalNode(settings)
    try:
        node.start()
        session = connect(settings)
        migrate(session, "restart_check", settings.replication_map)
        session.execute(
            "INSERT INTO restart_check.source_checkpoints (source, checkpoint) VALUES (%s, %s)", ("x", "123")
        )
        shutdown(session)
        assert node.stop()
        assert node.status()["running"] is False
        # a second start on a taken port fails clearly; a free one works
        node.start()
        session = connect(settings)
        row = session.execute("SELECT checkpoint FROM restart_check.source_checkpoints WHERE source = 'x'").one()
        assert row.checkpoint == "123"
        shutdown(session)
        other = LocalNode(settings, base=tmp_path / "other")
        with pytest.raises(NodeError, match="already taken"):
            other.start()
    finally:
        node.stop()


def test_missing_jars_named_clearly(tmp_path: Path) -> None:
    node = LocalNode(
        Settings(cassandra_home=tmp_path / "nothing", cassandra_data_dir=tmp_path / "d", cassandra_port=19242)
    )
    with pytest.raises(NodeError, match="make setup"):
        node.start()
