"""The enricher's Cassandra caches: matches by normalized query, tracks and features by id.

A hit costs no API call. Every entry is written with a TTL; prepared statements only; lookups of a
batch go out concurrently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.query import UNSET_VALUE

from nowplaying.common.cassandra import utcnow
from nowplaying.common.logging import get_logger
from nowplaying.enricher.core import NONE, Features, Resolution, Track

log = get_logger(__name__)

NEGATIVE_FEATURES_TTL_S = 24 * 3600
CONCURRENCY = 32


def _lookup(session: Session, statement: Any, keys: Sequence[str]) -> list[tuple[str, Any]]:
    """(key, first row or None) for each key, looked up concurrently."""
    if not keys:
        return []
    results = execute_concurrent_with_args(
        session, statement, [(k,) for k in keys], concurrency=CONCURRENCY, raise_on_first_error=True
    )
    out: list[tuple[str, Any]] = []
    for key, (_, rows) in zip(keys, results, strict=True):
        out.append((key, rows.one()))
    return out


class MatchCache:
    """``match_cache``: normalized query key -> (track id or null, confidence, method)."""

    def __init__(self, session: Session, keyspace: str, ttl_s: int) -> None:
        self.session = session
        self.ttl_s = max(1, int(ttl_s))
        self._select = session.prepare(
            f"SELECT track_id, confidence, method FROM {keyspace}.match_cache WHERE query_key = ?"
        )
        self._insert = session.prepare(
            f"INSERT INTO {keyspace}.match_cache (query_key, track_id, confidence, method, cached_at)"
            " VALUES (?, ?, ?, ?, ?) USING TTL ?"
        )
        self._insert.is_idempotent = True

    def get_many(self, keys: Sequence[str]) -> dict[str, Resolution]:
        found: dict[str, Resolution] = {}
        for key, row in _lookup(self.session, self._select, keys):
            if row is None:
                continue
            method = row.method or NONE
            # method 'none' marks a negative entry (its track_id is left unset, so an older value may show)
            track_id = row.track_id if method != NONE else None
            found[key] = Resolution(track_id, round(float(row.confidence or 0.0), 3), method if track_id else NONE)
        return found

    def put_many(self, entries: dict[str, Resolution]) -> None:
        now = utcnow()
        # a negative entry leaves track_id unset: a bound null would be a tombstone cell
        args = [
            (k, UNSET_VALUE if r.track_id is None else r.track_id, r.confidence, r.method, now, self.ttl_s)
            for k, r in entries.items()
        ]
        if args:
            execute_concurrent_with_args(self.session, self._insert, args, concurrency=CONCURRENCY)


class TrackCache:
    def __init__(self, session: Session, keyspace: str, ttl_s: int) -> None:
        self.session = session
        self.ttl_s = max(1, int(ttl_s))
        self._select = session.prepare(f"SELECT track FROM {keyspace}.enrich_track_cache WHERE track_id = ?")
        self._insert = session.prepare(
            f"INSERT INTO {keyspace}.enrich_track_cache (track_id, track, cached_at) VALUES (?, ?, ?) USING TTL ?"
        )
        self._insert.is_idempotent = True

    def get_many(self, ids: Sequence[str]) -> dict[str, Track]:
        found: dict[str, Track] = {}
        for track_id, row in _lookup(self.session, self._select, ids):
            if row is None or not row.track:
                continue
            try:
                found[track_id] = Track.from_json(row.track)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("track_cache_entry_unreadable", track_id=track_id, error=str(exc))
        return found

    def put_many(self, tracks: Iterable[Track]) -> None:
        now = utcnow()
        args = [(t.id, t.to_json(), now, self.ttl_s) for t in tracks]
        if args:
            execute_concurrent_with_args(self.session, self._insert, args, concurrency=CONCURRENCY)


class FeaturesCache:
    """Features by track id with their source; a null ``features`` is a negative entry."""

    def __init__(self, session: Session, keyspace: str, ttl_s: int) -> None:
        self.session = session
        self.ttl_s = max(1, int(ttl_s))
        self._select = session.prepare(
            f"SELECT features_source, features FROM {keyspace}.enrich_features_cache WHERE track_id = ?"
        )
        self._insert = session.prepare(
            f"INSERT INTO {keyspace}.enrich_features_cache (track_id, features_source, features, cached_at)"
            " VALUES (?, ?, ?, ?) USING TTL ?"
        )
        self._insert.is_idempotent = True

    def get_many(self, ids: Sequence[str]) -> dict[str, tuple[str, Features]]:
        """(source, features) by id; a negative entry gives ('', {})."""
        found: dict[str, tuple[str, Features]] = {}
        for track_id, row in _lookup(self.session, self._select, ids):
            if row is None:
                continue
            if not row.features or not row.features_source:  # a negative entry: features_source ''
                found[track_id] = ("", {})
                continue
            try:
                features = json.loads(row.features)
            except ValueError:
                continue
            if isinstance(features, dict):
                found[track_id] = (row.features_source or "", features)
        return found

    def put_many(self, entries: dict[str, tuple[str, Features]]) -> None:
        now = utcnow()
        args: list[tuple[str, str, object, datetime, int]] = []
        for track_id, (source, features) in entries.items():
            if features:
                args.append((track_id, source, json.dumps(features), now, self.ttl_s))
            else:
                args.append((track_id, "", UNSET_VALUE, now, min(self.ttl_s, NEGATIVE_FEATURES_TTL_S)))
        if args:
            execute_concurrent_with_args(self.session, self._insert, args, concurrency=CONCURRENCY)
