"""Enrich again the plays loaded before (issue 21): the unmatched on their re-check days, and the
plays of a key an admin corrected.

An unmatched play is due again 1 day after its miss, then 2, 4, 8, 16 and 32 days after each
further miss (``rework_due``, reason 'recheck'); a corrected key's plays (``plays_by_match_key``) are
due at once (reason 'override'). Each enrich run takes at most ``REWORK_PER_RUN`` due plays, oldest
day first, and walks their readings again within the same search budget per post as any post (the
cache's unmatched verdicts are not trusted: the catalog may have the track now). A play whose track
or correction changed goes into a rework batch (``<id>_bf<run>``): the loader compares it with the
stored row and replaces that row exactly (delete at T, insert at T+1), so the play count does not
change. Then the play's explanation is rewritten, its next re-check queued and its due row deleted;
a crash before that re-does the play, and the same CSV row again overwrites with equal values.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import TYPE_CHECKING

from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.query import PreparedStatement

from nowplaying.common.cassandra import prepare_idempotent
from nowplaying.common.lake import Lake, new_batch_id, rework_batch_id
from nowplaying.common.logging import get_logger
from nowplaying.enricher import core
from nowplaying.enricher.core import OVERRIDE, Row
from nowplaying.enricher.playstore import PlayMatches, StoredPlay

if TYPE_CHECKING:
    from nowplaying.enricher.service import Enricher

log = get_logger(__name__)

RECHECK = "recheck"
BY_OVERRIDE = "override"
RECHECK_DAYS = (1, 2, 4, 8, 16, 32)  # the wait before re-check 1, 2, ... 6
LOOKBACK_DAYS = 64  # due days read back from today (a run that missed days still finds them)
PENDING_SHARD = "all"
PENDING_KEYS_PER_RUN = 100
CONCURRENCY = 32


@dataclass(frozen=True, slots=True)
class Due:
    due_day: date
    source: str
    post_id: str
    reason: str
    attempt: int

    @property
    def play(self) -> tuple[str, str]:
        return (self.source, self.post_id)


def next_recheck(checked: date, attempt: int) -> tuple[date, int] | None:
    """(due day, number) of the re-check after check number ``attempt`` (0 = the first enrichment)
    made on day ``checked``; None after the last."""
    if attempt >= len(RECHECK_DAYS):
        return None
    return checked + timedelta(days=RECHECK_DAYS[attempt]), attempt + 1


def wants_recheck(row: Row) -> bool:
    """An unmatched play with something to search, not marked 'not a song' by a correction."""
    return not row.resolution.matched and row.resolution.method != OVERRIDE and bool(core.wants_of(row.post))


def changed(row: Row, stored: StoredPlay) -> bool:
    """Whether the play's stored row must change: another track, or a correction (to mark it)."""
    track_id = row.resolution.track_id if row.track is not None else None
    return track_id != stored.track_id or (row.resolution.method == OVERRIDE) != (stored.method == OVERRIDE)


class ReworkQueue:
    """``rework_due``, ``rework_cursor`` and ``match_override_pending`` (V017, V018).

    Re-check rows are never deleted: a cursor per due day marks how far its rows were taken (rows are
    read in clustering order, after the cursor), and a TTL drops the rows once their day is out of
    the lookback, so a day with many unmatched plays leaves no tombstones for later reads to wade
    through. Re-check rows only go to days after the day they are queued on, so none lands behind a
    cursor. A correction's rows (few) go to today's own partition and are deleted once done."""

    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        ks = keyspace
        prep = partial(prepare_idempotent, session)
        columns = "source, post_id, attempt"
        self._insert = prep(
            f"INSERT INTO {ks}.rework_due (due_day, reason, source, post_id, attempt, queued_at)"
            " VALUES (?, ?, ?, ?, ?, ?) USING TTL ?"
        )
        self._first = prep(f"SELECT {columns} FROM {ks}.rework_due WHERE due_day = ? AND reason = ? LIMIT ?")
        self._after = prep(
            f"SELECT {columns} FROM {ks}.rework_due WHERE due_day = ? AND reason = ? AND (source, post_id) > (?, ?)"
            " LIMIT ?"
        )
        self._delete = prep(
            f"DELETE FROM {ks}.rework_due WHERE due_day = ? AND reason = ? AND source = ? AND post_id = ?"
        )
        self._cursor = prep(f"SELECT source, post_id FROM {ks}.rework_cursor WHERE due_day = ? AND reason = ?")
        self._move = prep(
            f"INSERT INTO {ks}.rework_cursor (due_day, reason, source, post_id, updated_at) VALUES (?, ?, ?, ?, ?)"
            " USING TTL ?"
        )
        self._pending = prep(f"SELECT query_key, set_at FROM {ks}.match_override_pending WHERE shard = ? LIMIT ?")
        self._unpend = prep(f"DELETE FROM {ks}.match_override_pending WHERE shard = ? AND query_key = ?")
        self._plays_of_key = prep(f"SELECT source, post_id FROM {ks}.plays_by_match_key WHERE query_key = ?")

    def _run(self, statement: PreparedStatement, args: Sequence[tuple[object, ...]]) -> None:
        if args:
            execute_concurrent_with_args(
                self.session, statement, list(args), concurrency=CONCURRENCY, raise_on_first_error=True
            )

    @staticmethod
    def ttl_s(due_day: date, now: datetime) -> int:
        """Until the day has left the lookback (and two days more)."""
        end = datetime.combine(due_day + timedelta(days=LOOKBACK_DAYS + 2), time(), UTC)
        return max(86_400, int((end - now).total_seconds()))

    def schedule(self, entries: Iterable[Due], now: datetime) -> None:
        self._run(
            self._insert,
            [(d.due_day, d.reason, d.source, d.post_id, d.attempt, now, self.ttl_s(d.due_day, now)) for d in entries],
        )

    def expand_overrides(self, today: date, now: datetime) -> int:
        """Queue the loaded plays of each corrected key for today; then the key is not pending."""
        queued = 0
        for row in self.session.execute(self._pending, (PENDING_SHARD, PENDING_KEYS_PER_RUN)):
            statement = self._plays_of_key.bind((row.query_key,))
            statement.fetch_size = 1000
            plays = [(p.source, p.post_id) for p in self.session.execute(statement)]
            self.schedule((Due(today, s, p, BY_OVERRIDE, 0) for s, p in plays), now)
            self.session.execute(self._unpend, (PENDING_SHARD, row.query_key))
            queued += len(plays)
            log.info("override_queued", query_key=row.query_key, plays=len(plays))
        return queued

    def waiting(self, day: date, reason: str, limit: int) -> list[Due]:
        """The rows of a due day and reason not taken yet, in clustering order (at most ``limit``)."""
        if limit <= 0:
            return []
        cursor = self.session.execute(self._cursor, (day, reason)).one() if reason == RECHECK else None
        if cursor is not None:
            rows = self.session.execute(self._after, (day, reason, cursor.source, cursor.post_id, limit))
        else:
            rows = self.session.execute(self._first, (day, reason, limit))
        return [Due(day, r.source, r.post_id, reason, int(r.attempt or 0)) for r in rows]

    def due(self, today: date, limit: int) -> tuple[list[Due], list[Due]]:
        """At most ``limit`` due plays, oldest due day first, one entry per play (a correction's
        first); and every row read (a play due twice has both taken once it is done)."""
        out: dict[tuple[str, str], Due] = {}
        rows: list[Due] = []
        for back in range(LOOKBACK_DAYS, -1, -1):
            day = today - timedelta(days=back)
            for reason in (BY_OVERRIDE, RECHECK):
                for entry in self.waiting(day, reason, limit - len(out)):
                    rows.append(entry)
                    known = out.get(entry.play)
                    if known is None or (entry.reason == BY_OVERRIDE and known.reason != BY_OVERRIDE):
                        out[entry.play] = entry
        return list(out.values()), rows

    def done(self, entries: Iterable[Due], now: datetime) -> None:
        """Taken: a correction's rows deleted, each re-check day's cursor moved past its last row."""
        entries = list(entries)
        self._run(self._delete, [(d.due_day, d.reason, d.source, d.post_id) for d in entries if d.reason != RECHECK])
        last: dict[date, Due] = {}
        for d in entries:
            if d.reason == RECHECK and (d.due_day not in last or d.play > last[d.due_day].play):
                last[d.due_day] = d
        self._run(
            self._move,
            [(day, RECHECK, d.source, d.post_id, now, self.ttl_s(day, now)) for day, d in last.items()],
        )


@dataclass
class ReworkSummary:
    due: int = 0
    queued_by_overrides: int = 0
    rechecked: int = 0
    corrected: int = 0
    changed: int = 0
    newly_matched: int = 0
    missing: int = 0
    batch_id: str | None = None

    def as_detail(self) -> dict[str, object]:
        return {
            "rework_due": self.due,
            "rework_queued_by_overrides": self.queued_by_overrides,
            "rework_rechecked": self.rechecked,
            "rework_corrected": self.corrected,
            "rework_changed": self.changed,
            "rework_newly_matched": self.newly_matched,
            "rework_batch": self.batch_id or "",
        }


class Reworker:
    """One run's re-enrichment of due plays (see the module's docstring)."""

    def __init__(self, enricher: Enricher, lake: Lake, queue: ReworkQueue, plays: PlayMatches, limit: int) -> None:
        self.enricher = enricher
        self.lake = lake
        self.queue = queue
        self.plays = plays
        self.limit = limit

    def run(self, now: datetime) -> ReworkSummary:
        summary = ReworkSummary()
        today = now.astimezone(UTC).date()
        summary.queued_by_overrides = self.queue.expand_overrides(today, now)
        due, read = self.queue.due(today, self.limit)
        summary.due = len(due)
        if not due:
            return summary
        stored = self.plays.get_many([d.play for d in due])
        missing = [d for d in due if d.play not in stored]
        for d in missing:
            log.warning("rework_play_unknown", source=d.source, post_id=d.post_id, reason=d.reason)
        summary.missing = len(missing)
        present = [d for d in due if d.play in stored]
        rows: list[tuple[Due, Row]] = []
        for reason, context in ((BY_OVERRIDE, "override"), (RECHECK, "recheck")):
            group = [d for d in present if (d.reason == BY_OVERRIDE) == (reason == BY_OVERRIDE)]
            if not group:
                continue
            posts = [stored[d.play].post for d in group]
            enriched = self.enricher.enrich_posts(posts, context=context)
            by_play = {(r.post.source, r.post.post_id): r for r in enriched}
            rows += [(d, by_play[d.play]) for d in group if d.play in by_play]
        summary.rechecked = sum(1 for d, _ in rows if d.reason != BY_OVERRIDE)
        summary.corrected = sum(1 for d, _ in rows if d.reason == BY_OVERRIDE)
        new_rows = [row for d, row in rows if changed(row, stored[d.play])]
        summary.changed = len(new_rows)
        summary.newly_matched = sum(
            1 for row in new_rows if row.track is not None and not stored[(row.post.source, row.post.post_id)].track_id
        )
        if new_rows:
            batch_id = rework_batch_id(new_batch_id("rework", now), secrets.token_hex(4))
            self.lake.write_bytes("enriched", batch_id, core.render_csv(new_rows))
            summary.batch_id = batch_id
        self.enricher.count([row for _, row in rows])
        self.plays.put_many([row for _, row in rows], now)
        following: list[Due] = []
        for d, row in rows:
            if not wants_recheck(row):
                continue
            attempt = d.attempt if d.reason == RECHECK else 0
            nxt = next_recheck(today, attempt)
            if nxt is not None:
                following.append(Due(nxt[0], d.source, d.post_id, RECHECK, nxt[1]))
        self.queue.schedule(following, now)
        self.queue.done(read, now)
        log.info("rework_done", **summary.as_detail())
        return summary
