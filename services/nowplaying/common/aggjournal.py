"""The journal of hour buckets written since the period aggregates last ran (issue 21).

The loader marks, after a file's plays are written, each ``plays_by_hour`` bucket it wrote into
(``agg_dirty_buckets``, one partition per UTC hour of the marking). The period aggregation reads the
slots from its checkpoint to now and re-folds exactly those buckets. Marks are idempotent upserts; a
bucket marked twice is folded once per run.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from cassandra.concurrent import execute_concurrent_with_args

HOUR = timedelta(hours=1)
# A checkpoint older than the journal's TTL (30 days) cannot be trusted: the next run folds everything.
JOURNAL_TTL = timedelta(days=30)


def slot_of(moment: datetime) -> str:
    """The journal partition of a marking time: its UTC hour 'YYYY-MM-DDTHH'."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H")


def slots_between(since: datetime, now: datetime) -> list[str]:
    """Every slot from the hour of ``since`` to the hour of ``now``, oldest first."""
    first = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    last = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    out: list[str] = []
    hour = first
    while hour <= last:
        out.append(slot_of(hour))
        hour += HOUR
    return out


class DirtyMarks:
    """Prepared statements of the journal: mark buckets, read the buckets marked since a time."""

    def __init__(self, session: Any, keyspace: str) -> None:
        self.session = session
        self._insert = session.prepare(
            f"INSERT INTO {keyspace}.agg_dirty_buckets (slot, bucket, marked_at) VALUES (?, ?, ?)"
        )
        self._insert.is_idempotent = True
        self._select = session.prepare(f"SELECT bucket, marked_at FROM {keyspace}.agg_dirty_buckets WHERE slot = ?")
        self._select.is_idempotent = True

    def mark(self, buckets: Iterable[str], now: datetime | None = None) -> int:
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        slot = slot_of(moment)
        rows = [(slot, bucket, moment) for bucket in sorted(set(buckets))]
        if rows:
            execute_concurrent_with_args(self.session, self._insert, rows, concurrency=32, raise_on_first_error=True)
        return len(rows)

    def since(self, checkpoint: datetime, now: datetime) -> set[str]:
        """The buckets marked at or after ``checkpoint`` (read slot by slot up to ``now``)."""
        slots = slots_between(checkpoint, now)
        results = execute_concurrent_with_args(
            self.session, self._select, [(s,) for s in slots], concurrency=16, raise_on_first_error=True
        )
        found: set[str] = set()
        low = checkpoint.astimezone(UTC)
        for _, rows in results:
            for row in rows:
                marked = row.marked_at.replace(tzinfo=UTC) if row.marked_at.tzinfo is None else row.marked_at
                if marked >= low - timedelta(milliseconds=1):
                    found.add(str(row.bucket))
        return found
