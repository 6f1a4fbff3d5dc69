"""The enricher's record of each play's decision (``play_matches``, ``plays_by_match_key``, V016).

Written after a batch's CSV, before the batch is marked done: a crash in between re-enriches the
batch and writes the same keys again. The post is kept (its ``raw`` cut to what its URL needs), so a
re-check or a correction can enrich the play again without finding its clean batch in the lake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent_with_args

from nowplaying.common.logging import get_logger
from nowplaying.common.models import ParsedPost, RecordError, parse_rfc3339
from nowplaying.enricher import core
from nowplaying.enricher.core import Row
from nowplaying.enricher.explain import Override

log = get_logger(__name__)

CONCURRENCY = 32
RAW_KEPT = ("url", "uri")  # what core.post_url reads of a post's raw object


def stored_post(post: ParsedPost) -> dict[str, Any]:
    """The post as ``play_matches.post`` keeps it: every field, ``raw`` cut to ``RAW_KEPT``."""
    record = post.to_dict()
    raw = post.raw or {}
    record["raw"] = {k: raw[k] for k in RAW_KEPT if isinstance(raw.get(k), str)}
    return record


def played_at(post: ParsedPost) -> datetime:
    value = parse_rfc3339(post.created_at)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


@dataclass(frozen=True, slots=True)
class StoredPlay:
    """A play as ``play_matches`` holds it."""

    post: ParsedPost
    track_id: str | None
    method: str | None


class PlayMatches:
    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        ks = keyspace
        self._insert = session.prepare(
            f"INSERT INTO {ks}.play_matches (source, post_id, played_at, post, explain, match_keys, track_id,"
            " method, enriched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._insert.is_idempotent = True
        self._by_key = session.prepare(
            f"INSERT INTO {ks}.plays_by_match_key (query_key, source, post_id) VALUES (?, ?, ?)"
        )
        self._by_key.is_idempotent = True
        self._select = session.prepare(
            f"SELECT post, track_id, method FROM {ks}.play_matches WHERE source = ? AND post_id = ?"
        )
        self._select.is_idempotent = True

    def put_many(self, rows: Sequence[Row], now: datetime) -> None:
        """The decision of each row (its explanation, its post, its readings' keys)."""
        plays: list[tuple[object, ...]] = []
        keyed: set[tuple[str, str, str]] = set()
        for row in rows:
            post = row.post
            keys = [w.key for _, w in core.wants_of(post)]
            track_id = row.resolution.track_id if row.track is not None else None
            plays.append(
                (
                    post.source,
                    post.post_id,
                    played_at(post),
                    orjson.dumps(stored_post(post)).decode("utf-8"),
                    orjson.dumps(row.explain or {}).decode("utf-8"),
                    keys,
                    track_id or "",  # '' for none: a rewritten play must lose its old track, without a null cell
                    row.resolution.method,
                    now,
                )
            )
            keyed.update((key, post.source, post.post_id) for key in keys)
        if plays:
            execute_concurrent_with_args(
                self.session, self._insert, plays, concurrency=CONCURRENCY, raise_on_first_error=True
            )
        if keyed:
            execute_concurrent_with_args(
                self.session, self._by_key, sorted(keyed), concurrency=CONCURRENCY, raise_on_first_error=True
            )

    def get_many(self, ids: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredPlay]:
        """The stored plays of (source, post_id) pairs; an unreadable one is logged and left out."""
        if not ids:
            return {}
        results = execute_concurrent_with_args(
            self.session, self._select, list(ids), concurrency=CONCURRENCY, raise_on_first_error=True
        )
        out: dict[tuple[str, str], StoredPlay] = {}
        for key, (_, result) in zip(ids, results, strict=True):
            row = result.one()
            if row is None:
                continue
            try:
                post = ParsedPost.from_dict(orjson.loads(row.post))
            except (RecordError, orjson.JSONDecodeError, TypeError) as exc:
                log.warning("stored_play_unreadable", source=key[0], post_id=key[1], error=str(exc)[:200])
                continue
            out[key] = StoredPlay(post, row.track_id or None, row.method)
        return out


class Overrides:
    """``match_overrides``: the admin's corrections, read by key (``PUT /api/matches`` writes them)."""

    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        self._select = session.prepare(
            f"SELECT track_id, not_a_song, set_by, set_at FROM {keyspace}.match_overrides WHERE query_key = ?"
        )
        self._select.is_idempotent = True

    def get_many(self, keys: Sequence[str]) -> dict[str, Override]:
        if not keys:
            return {}
        results = execute_concurrent_with_args(
            self.session, self._select, [(k,) for k in keys], concurrency=CONCURRENCY, raise_on_first_error=True
        )
        out: dict[str, Override] = {}
        for key, (_, result) in zip(keys, results, strict=True):
            row = result.one()
            if row is None or (not row.track_id and not row.not_a_song):
                continue
            set_at = row.set_at.replace(tzinfo=UTC) if row.set_at is not None else datetime.now(UTC)
            out[key] = Override(key, row.track_id if not row.not_a_song else None, row.set_by or "", set_at)
        return out
