"""Cassandra session factory and the bookkeeping every stage shares.

Only prepared statements are used for data; DDL (migrations) is the one exception.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable, Session
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import UNSET_VALUE, PreparedStatement

from nowplaying.common.config import Settings
from nowplaying.common.logging import get_logger

log = get_logger(__name__)


class CassandraUnavailable(RuntimeError):
    """Cassandra could not be reached within the configured deadline."""


def make_cluster(settings: Settings, request_timeout_s: float = 30.0) -> Cluster:
    points = settings.cassandra_contact_points
    ports = {port for _, port in points}
    if len(ports) > 1:
        raise ValueError("all CASSANDRA_HOSTS must use the same port")
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=settings.cassandra_local_dc)),
        # CASSANDRA_CONSISTENCY; auto: LOCAL_QUORUM at replication factor 3 or more, else LOCAL_ONE
        consistency_level=getattr(ConsistencyLevel, settings.consistency),
        request_timeout=request_timeout_s,
    )
    auth = None
    if settings.cassandra_username:
        password = settings.cassandra_password.get_secret_value() if settings.cassandra_password else ""
        auth = PlainTextAuthProvider(settings.cassandra_username, password)
    return Cluster(
        contact_points=[host for host, _ in points],
        port=ports.pop() if ports else settings.cassandra_port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        auth_provider=auth,
        protocol_version=settings.cassandra_protocol_version,
        connect_timeout=5,
        control_connection_timeout=5,
        idle_heartbeat_interval=10,
    )


def connect(settings: Settings, keyspace: str | None = None, deadline_s: float | None = None) -> Session:
    """A session, retrying until the deadline; then a clear error naming the hosts."""
    deadline = time.monotonic() + (settings.cassandra_connect_timeout_s if deadline_s is None else deadline_s)
    attempt = 0
    last_error: Exception | None = None
    while True:
        attempt += 1
        cluster = make_cluster(settings)
        try:
            session = cluster.connect(keyspace)
            if attempt > 1:
                log.info("cassandra_connected", attempts=attempt)
            return session
        except (NoHostAvailable, OSError) as exc:
            last_error = exc
            cluster.shutdown()
        except Exception as exc:  # the driver raises InvalidRequest for a missing keyspace
            cluster.shutdown()
            raise CassandraUnavailable(
                f"connected to Cassandra but could not use keyspace '{keyspace}': {exc}"
            ) from exc
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CassandraUnavailable(
                f"Cassandra at {settings.cassandra_hosts} (port {settings.cassandra_port}) did not answer "
                f"after {attempt} attempts: {last_error}. Is it running? (`nowplaying cassandra start`)"
            )
        log.info("cassandra_waiting", attempt=attempt, retry_in_s=round(min(2.0, remaining), 1))
        time.sleep(min(2.0, remaining))


def shutdown(session: Session) -> None:
    session.cluster.shutdown()


def utcnow() -> datetime:
    return datetime.now(UTC)


def prepare_idempotent(session: Session, cql: str) -> PreparedStatement:
    """A prepared statement the driver may retry (re-running it gives the same cells)."""
    statement = session.prepare(cql)
    statement.is_idempotent = True
    return statement


# --- stage progress: which input batches a stage has finished ------------------------------
class ProgressStore:
    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        self._select = session.prepare(f"SELECT batch_id FROM {keyspace}.stage_progress WHERE stage = ? AND day = ?")
        self._insert = session.prepare(
            f"INSERT INTO {keyspace}.stage_progress (stage, day, batch_id, done_at, items_in, items_out, output)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        self._insert.is_idempotent = True
        self._delete = session.prepare(
            f"DELETE FROM {keyspace}.stage_progress WHERE stage = ? AND day = ? AND batch_id = ?"
        )

    def done_ids(self, stage: str, days: Iterable[str]) -> set[str]:
        done: set[str] = set()
        for day in sorted(set(days)):
            done.update(row.batch_id for row in self.session.execute(self._select, (stage, day)))
        return done

    def mark_done(self, stage: str, day: str, batch_id: str, items_in: int, items_out: int, output: str) -> None:
        self.session.execute(self._insert, (stage, day, batch_id, utcnow(), items_in, items_out, output))

    def forget(self, stage: str, day: str, batch_id: str) -> None:
        self.session.execute(self._delete, (stage, day, batch_id))


# --- source checkpoints --------------------------------------------------------------------
class CheckpointStore:
    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        self._select = session.prepare(f"SELECT checkpoint FROM {keyspace}.source_checkpoints WHERE source = ?")
        self._insert = session.prepare(
            f"INSERT INTO {keyspace}.source_checkpoints (source, checkpoint, updated_at) VALUES (?, ?, ?)"
        )
        self._insert.is_idempotent = True

    def get(self, source: str) -> str | None:
        row = self.session.execute(self._select, (source,)).one()
        return row.checkpoint if row else None

    def put(self, source: str, checkpoint: str) -> None:
        self.session.execute(self._insert, (source, checkpoint, utcnow()))


# --- pipeline runs -------------------------------------------------------------------------
@dataclass
class RunRecord:
    stage: str
    run_id: str
    started_at: datetime
    items_in: int = 0
    items_out: int = 0
    errors: int = 0
    status: str = "running"
    finished_at: datetime | None = None
    detail: dict[str, Any] | None = None

    @property
    def duration_s(self) -> float:
        end = self.finished_at or utcnow()
        return (end - self.started_at).total_seconds()


class RunLog:
    """Writes one row per stage run to ``pipeline_runs`` (the Home page's status)."""

    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        self._insert = session.prepare(
            f"INSERT INTO {keyspace}.pipeline_runs (stage, started_at, run_id, finished_at, status, items_in,"
            " items_out, errors, duration_s, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._insert.is_idempotent = True

    def start(self, stage: str) -> RunRecord:
        # Cassandra timestamps are milliseconds: truncate so the row key round-trips exactly.
        now = utcnow()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        record = RunRecord(stage=stage, run_id=uuid.uuid4().hex[:12], started_at=now)
        self.write(record)
        return record

    def write(self, record: RunRecord) -> None:
        self.session.execute(
            self._insert,
            (
                record.stage,
                record.started_at,
                record.run_id,
                UNSET_VALUE if record.finished_at is None else record.finished_at,  # unset, not a null tombstone
                record.status,
                record.items_in,
                record.items_out,
                record.errors,
                record.duration_s,
                json.dumps(record.detail or {}, default=str),
            ),
        )

    def finish(self, record: RunRecord, status: str) -> None:
        record.status = status
        record.finished_at = utcnow()
        self.write(record)


def day_of(value: datetime) -> date:
    return value.astimezone(UTC).date()
