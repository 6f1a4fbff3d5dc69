"""Fixtures for the gateway tests: the real app served by uvicorn on a free port, over the real Cassandra.

``gateway`` (per test) empties the test keyspace and gives a client for a server that is started once
per session; ``gw_writer`` writes rows into the tables with prepared statements (the way the loader and
the Spark job fill them) so tests can set up exactly the data they assert on.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from nowplaying.common.config import Settings
from pydantic import SecretStr

CURSOR_SECRET = "gateway-tests-cursor-secret"

PLAY_DEFAULTS: dict[str, Any] = {
    "author_id": "author-0",
    "text": "#NowPlaying something",
    "url": "https://example.org/post",
    "is_bot": False,
    "matched": True,
    "track_id": "track-0",
    "track_name": "Song 0",
    "artist_ids": ["artist-0"],
    "artist_names": ["Artist 0"],
    "album": "Album 0",
    "release_date": "2020-01-01",
    "popularity": 50,
    "duration_ms": 200000,
    "match_method": "search_fields",
    "match_confidence": 0.95,
    "features_source": "reccobeats",
    "danceability": 0.5,
    "energy": 0.6,
    "key": 5,
    "loudness": -7.5,
    "speechiness": 0.05,
    "acousticness": 0.2,
    "instrumentalness": 0.0,
    "liveness": 0.1,
    "valence": 0.4,
    "tempo": 120.0,
    "time_signature": 4,
    "mode": 1,
}


def bucket_of(played_at: datetime) -> str:
    return played_at.astimezone(UTC).strftime("%Y-%m-%dT%H")


def ms(value: datetime) -> datetime:
    """``value`` at Cassandra's millisecond precision."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def make_play(played_at: datetime, source: str = "sandbox", post_id: str = "p0", **overrides: Any) -> dict[str, Any]:
    row = dict(PLAY_DEFAULTS)
    row.update(source=source, post_id=post_id, played_at=ms(played_at), bucket=bucket_of(played_at))
    if overrides.get("matched") is False:
        for name in ("track_id", "track_name", "album", "release_date", "popularity", "duration_ms"):
            row[name] = None
        row.update(artist_ids=[], artist_names=[], match_method="none", match_confidence=None)
        for name in ("danceability", "energy", "key", "loudness", "speechiness", "acousticness",
                     "instrumentalness", "liveness", "valence", "tempo", "time_signature", "mode"):  # fmt: skip
            row[name] = None
        row["features_source"] = None
    row.update(overrides)
    return row


class Writer:
    """Inserts rows with prepared statements (cached per table and column set), concurrently."""

    def __init__(self, session: Any, keyspace: str) -> None:
        self.session = session
        self.keyspace = keyspace
        self._prepared: dict[tuple[str, tuple[str, ...]], Any] = {}

    def _statement(self, table: str, columns: tuple[str, ...]) -> Any:
        key = (table, columns)
        if key not in self._prepared:
            marks = ", ".join("?" for _ in columns)
            self._prepared[key] = self.session.prepare(
                f"INSERT INTO {self.keyspace}.{table} ({', '.join(columns)}) VALUES ({marks})"
            )
        return self._prepared[key]

    def insert(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        from cassandra.concurrent import execute_concurrent_with_args

        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for row in rows:
            columns = tuple(sorted(row))
            groups.setdefault(columns, []).append(tuple(row[c] for c in columns))
        for columns, params in groups.items():
            results = execute_concurrent_with_args(
                self.session, self._statement(table, columns), params, concurrency=100, raise_on_first_error=True
            )
            assert all(ok for ok, _ in results)

    def plays(self, rows: Sequence[dict[str, Any]], with_track_index: bool = True) -> None:
        """Plays into ``plays_by_hour`` and, for matched ones, ``plays_by_track`` (as the loader does)."""
        self.insert("plays_by_hour", rows)
        if with_track_index:
            by_track = [
                {
                    "track_id": r["track_id"],
                    "month": r["played_at"].strftime("%Y-%m"),
                    "played_at": r["played_at"],
                    "source": r["source"],
                    "post_id": r["post_id"],
                    "author_id": r["author_id"],
                    "text": r["text"],
                    "url": r["url"],
                    "is_bot": r["is_bot"],
                    "match_confidence": r["match_confidence"],
                }
                for r in rows
                if r.get("track_id")
            ]
            if by_track:
                self.insert("plays_by_track", by_track)


@dataclass
class GatewayClient:
    base_url: str
    http: requests.Session
    settings: Settings
    writer: Writer

    def get(self, path: str, **params: Any) -> requests.Response:
        clean = {k: v for k, v in params.items() if v is not None}
        return self.http.get(self.base_url + path, params=clean, timeout=60)

    def json(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, (path, params, response.status_code, response.text[:500])
        return response.json()


class ServerThread:
    """A uvicorn server for an app, in a thread, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", log_config=None)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


@pytest.fixture(scope="session")
def gateway_settings(cassandra_settings: Settings) -> Settings:
    return cassandra_settings.model_copy(
        update={"cursor_secret": SecretStr(CURSOR_SECRET), "cors_origins": "http://localhost:5173"}
    )


@pytest.fixture(scope="session")
def gateway_server(gateway_settings: Settings, cassandra_session: Any) -> Iterator[ServerThread]:
    from nowplaying.gateway.app import create_app

    with ServerThread(create_app(gateway_settings, cassandra_session)) as server:
        yield server


@pytest.fixture
def gw_writer(cassandra_session: Any, cassandra_settings: Settings) -> Writer:
    return Writer(cassandra_session, cassandra_settings.cassandra_keyspace)


@pytest.fixture
def gateway(
    clean_db: Settings, gateway_server: ServerThread, gateway_settings: Settings, gw_writer: Writer
) -> Iterator[GatewayClient]:
    with requests.Session() as http:
        yield GatewayClient(gateway_server.base_url, http, gateway_settings, gw_writer)
