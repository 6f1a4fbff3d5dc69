"""The gateway's Cassandra edge for match explanations and corrections (V016, V017)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from cassandra.cluster import Session
from cassandra.query import BatchStatement, BatchType

from nowplaying.common.cassandra import prepare_idempotent
from nowplaying.gateway.rows import as_dict

REQUEST_TIMEOUT_S = 15.0
PENDING_SHARD = "all"


@dataclass(frozen=True, slots=True)
class OverrideRow:
    track_id: str | None
    not_a_song: bool
    set_by: str | None
    set_at: datetime | None

    @property
    def text(self) -> str:
        """As the audit keeps it: the track id, 'not_a_song', or ''."""
        return "not_a_song" if self.not_a_song else (self.track_id or "")


class MatchStore:
    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        ks = keyspace
        prep = partial(prepare_idempotent, session)
        self._play = prep(
            "SELECT source, post_id, played_at, explain, match_keys, track_id, method, enriched_at"
            f" FROM {ks}.play_matches WHERE source = ? AND post_id = ?"
        )
        self._override = prep(
            f"SELECT track_id, not_a_song, set_by, set_at FROM {ks}.match_overrides WHERE query_key = ?"
        )
        self._set = prep(
            f"INSERT INTO {ks}.match_overrides (query_key, track_id, not_a_song, set_by, set_at) VALUES (?, ?, ?, ?, ?)"
        )
        self._audit = prep(
            f"INSERT INTO {ks}.match_override_audit (query_key, changed_at, who, old_value, new_value)"
            " VALUES (?, ?, ?, ?, ?)"
        )
        self._audit_rows = prep(
            f"SELECT changed_at, who, old_value, new_value FROM {ks}.match_override_audit WHERE query_key = ? LIMIT ?"
        )
        self._pending = prep(f"INSERT INTO {ks}.match_override_pending (shard, query_key, set_at) VALUES (?, ?, ?)")
        self._count_plays = prep(f"SELECT COUNT(*) AS n FROM {ks}.plays_by_match_key WHERE query_key = ?")

    def play(self, source: str, post_id: str) -> dict[str, Any] | None:
        row = self.session.execute(self._play, (source, post_id), timeout=REQUEST_TIMEOUT_S).one()
        return as_dict(row) if row is not None else None

    def override(self, query_key: str) -> OverrideRow | None:
        row = self.session.execute(self._override, (query_key,), timeout=REQUEST_TIMEOUT_S).one()
        if row is None or (not row.track_id and not row.not_a_song):
            return None
        return OverrideRow(row.track_id, bool(row.not_a_song), row.set_by, row.set_at)

    def plays_known(self, query_key: str) -> int:
        row = self.session.execute(self._count_plays, (query_key,), timeout=REQUEST_TIMEOUT_S).one()
        return int(row.n) if row is not None else 0

    def set_override(self, query_key: str, new: OverrideRow, old: OverrideRow | None, now: datetime) -> None:
        """The override, its audit row and the key's pending mark, in one logged batch: all or none."""
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        batch.add(self._set, (query_key, new.track_id, new.not_a_song, new.set_by, now))
        changed = uuid.uuid1()
        batch.add(self._audit, (query_key, changed, new.set_by, old.text if old else "", new.text))
        batch.add(self._pending, (PENDING_SHARD, query_key, now))
        self.session.execute(batch, timeout=REQUEST_TIMEOUT_S)

    def audit(self, query_key: str, limit: int = 50) -> list[dict[str, Any]]:
        return [
            as_dict(r) for r in self.session.execute(self._audit_rows, (query_key, limit), timeout=REQUEST_TIMEOUT_S)
        ]
