"""The journal of what was written since the period aggregates last ran (issue 21).

The unit of the journal is a **segment**: the plays of one ``plays_by_hour`` bucket whose
``played_at`` falls in one 5-minute slot of that hour, keyed 'YYYY-MM-DDTHH:MM' (MM = 00, 05 … 55;
the key starts with the bucket). The loader marks, after a file's plays are written, each segment it
wrote into (``agg_dirty_buckets``, one partition per UTC hour of the marking). The period aggregation
reads the slots from its checkpoint to now and re-folds exactly those segments: a 5-minute increment
of new posts re-reads the one or two segments it landed in, not its whole hour. A mark that is a bare
bucket 'YYYY-MM-DDTHH' (written before segments existed) stands for all twelve segments of its hour.
Marks are idempotent upserts; a segment marked twice is folded once per run.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from cassandra.concurrent import execute_concurrent_with_args

HOUR = timedelta(hours=1)
SEGMENT_MINUTES = 5
BUCKET_CHARS = len("YYYY-MM-DDTHH")  # a segment key starts with its bucket
# A checkpoint older than the journal's TTL (30 days) cannot be trusted: the next run folds everything.
JOURNAL_TTL = timedelta(days=30)


def slot_of(moment: datetime) -> str:
    """The journal partition of a marking time: its UTC hour 'YYYY-MM-DDTHH'."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H")


def segment_of(played_at: datetime) -> str:
    """The segment of a play: its bucket (the UTC hour of ``played_at``) and 5-minute slot, 'YYYY-MM-DDTHH:MM'."""
    moment = played_at.astimezone(UTC) if played_at.tzinfo is not None else played_at
    slot = moment.minute - moment.minute % SEGMENT_MINUTES
    return f"{moment:%Y-%m-%dT%H}:{slot:02d}"


def bucket_of(segment: str) -> str:
    """The ``plays_by_hour`` bucket of a segment (or of a bare bucket mark: itself)."""
    return segment[:BUCKET_CHARS]


def segments_of_mark(mark: str) -> list[str]:
    """The segments a journal mark stands for: itself, or every segment of a bare bucket's hour."""
    if len(mark) == BUCKET_CHARS:
        return [f"{mark}:{minute:02d}" for minute in range(0, 60, SEGMENT_MINUTES)]
    return [mark]


def segment_start(segment: str) -> datetime:
    """The first instant (UTC) of a segment 'YYYY-MM-DDTHH:MM'."""
    return datetime.strptime(segment, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)


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

    def mark(self, segments: Iterable[str], now: datetime | None = None) -> int:
        """Mark segments (``segment_of`` a play's ``played_at``) as written."""
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        slot = slot_of(moment)
        rows = [(slot, segment, moment) for segment in sorted(set(segments))]
        if rows:
            execute_concurrent_with_args(self.session, self._insert, rows, concurrency=32, raise_on_first_error=True)
        return len(rows)

    def since(self, checkpoint: datetime, now: datetime) -> set[str]:
        """The segments marked at or after ``checkpoint`` (read slot by slot up to ``now``; a bare
        bucket's mark gives all the segments of its hour)."""
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
                    found.update(segments_of_mark(str(row.bucket)))
        return found
