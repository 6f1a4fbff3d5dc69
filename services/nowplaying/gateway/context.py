"""What every request handler shares: settings, the Cassandra store, the cursor key. FastAPI dependencies."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from cassandra import InvalidRequest
from cassandra.cluster import Session
from fastapi import Depends, Request

from nowplaying.common.cassandra import CassandraUnavailable, connect, shutdown
from nowplaying.common.config import Settings
from nowplaying.common.logging import get_logger
from nowplaying.gateway.kube import CronJobReader, in_kubernetes
from nowplaying.gateway.matchstore import MatchStore
from nowplaying.gateway.middleware import HttpMetrics
from nowplaying.gateway.query import Budget
from nowplaying.gateway.store import Store

log = get_logger(__name__)

CONNECT_DEADLINE_S = 5.0


class SchemaNotMigrated(CassandraUnavailable):
    """Cassandra answers, but the keyspace or a table the gateway reads is not there yet."""


class Database:
    """The session and its prepared statements, made once; connects lazily when Cassandra was down."""

    def __init__(self, settings: Settings, session: Session | None = None) -> None:
        self.settings = settings
        self._session = session
        self._owned = session is None
        self._store: Store | None = None
        self._matches: MatchStore | None = None
        self._lock = threading.Lock()

    def store(self, deadline_s: float = CONNECT_DEADLINE_S) -> Store:
        if self._store is not None:
            return self._store
        with self._lock:
            if self._store is None:
                if self._session is None:
                    self._session = connect(self.settings, deadline_s=deadline_s)
                try:
                    self._store = Store(self._session, self.settings.cassandra_keyspace)
                except InvalidRequest as exc:  # preparing a statement of a keyspace or table not there
                    raise SchemaNotMigrated(
                        f"the schema of '{self.settings.cassandra_keyspace}' is not migrated yet"
                        f" (run `nowplaying migrate`; on Kubernetes the migrations Job does): {exc}"
                    ) from exc
                except Exception as exc:
                    raise CassandraUnavailable(
                        f"Cassandra answered but the schema of '{self.settings.cassandra_keyspace}' is not usable"
                        f" (run `nowplaying migrate`): {exc}"
                    ) from exc
                log.info("gateway_store_ready", keyspace=self.settings.cassandra_keyspace)
            return self._store

    def matches(self) -> MatchStore:
        """The match explanations and corrections (made once, after the main store)."""
        self.store()
        with self._lock:
            if self._matches is None:
                assert self._session is not None
                self._matches = MatchStore(self._session, self.settings.cassandra_keyspace)
            return self._matches

    def close(self) -> None:
        with self._lock:
            if self._owned and self._session is not None:
                shutdown(self._session)
            self._session = None
            self._store = None
            self._matches = None


def cursor_key(settings: Settings) -> bytes:
    if settings.cursor_secret is not None and settings.cursor_secret.get_secret_value():
        return settings.cursor_secret.get_secret_value().encode()
    log.warning("cursor_secret_unset", detail="CURSOR_SECRET is unset: cursors use a random key per process")
    return secrets.token_bytes(32)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    settings: Settings
    db: Database
    cursor_key: bytes
    budget: Budget = field(default_factory=Budget)
    metrics: HttpMetrics = field(default_factory=HttpMetrics)
    cronjobs: CronJobReader | None = None
    clock: Callable[[], datetime] = utc_now

    @classmethod
    def build(cls, settings: Settings, session: Session | None) -> Context:
        return cls(
            settings=settings,
            db=Database(settings, session),
            cursor_key=cursor_key(settings),
            cronjobs=CronJobReader() if in_kubernetes() else None,
        )


def get_context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


def get_store(context: Annotated[Context, Depends(get_context)]) -> Store:
    return context.db.store()


def get_matches(context: Annotated[Context, Depends(get_context)]) -> MatchStore:
    return context.db.matches()


ContextDep = Annotated[Context, Depends(get_context)]
MatchesDep = Annotated[MatchStore, Depends(get_matches)]
StoreDep = Annotated[Store, Depends(get_store)]
