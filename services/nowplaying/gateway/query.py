"""The plays query, as plain functions on plain data: the window, its hour buckets, the filters and
the bounded walk that fills one page.

``plays_by_hour`` has one partition per UTC hour, newest row first. A page walks the window's buckets
newest first; inside a bucket it reads driver pages (``fetch_size`` rows from a paging state) and keeps
the rows the filters accept. The position after a page is (bucket index, the paging state the last
driver page was read from, the key of the last row returned), so a cursor resumes exactly after the
last play returned: no gap and no repeat.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson

from nowplaying.gateway.cursor import LastKey

BotsMode = Literal["include", "exclude", "only"]
Row = Mapping[str, Any]

HOUR = timedelta(hours=1)
DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=366)
# Times outside these years are refused (and would overflow date arithmetic near year 1 or 9999).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class QueryError(ValueError):
    """Parameters that are valid one by one but not together (answered 400)."""


@dataclass(frozen=True)
class PlayFilter:
    artist: str | None = None
    track: str | None = None
    source: str | None = None
    matched: bool | None = None
    bots: BotsMode = "include"

    @property
    def selective(self) -> bool:
        """True when rows may be dropped (a page then reads more rows than it returns)."""
        return bool(self.artist or self.track or self.source or self.matched is not None or self.bots != "include")

    def digest(self) -> str:
        """A short stable digest of the filters, so a cursor is only accepted with the same ones."""
        canonical = orjson.dumps(
            [
                (self.artist or "").casefold(),
                (self.track or "").casefold(),
                self.source or "",
                self.matched,
                self.bots,
            ]
        )
        return hashlib.sha256(canonical).hexdigest()[:24]


def play_matches(flt: PlayFilter, row: Row) -> bool:
    is_bot = bool(row.get("is_bot"))
    if flt.bots == "exclude" and is_bot:
        return False
    if flt.bots == "only" and not is_bot:
        return False
    if flt.source is not None and row.get("source") != flt.source:
        return False
    if flt.matched is not None and is_matched(row) != flt.matched:
        return False
    if flt.track:
        name = row.get("track_name") or ""
        if flt.track.casefold() not in name.casefold():
            return False
    if flt.artist:
        needle = flt.artist.casefold()
        if not any(needle in (name or "").casefold() for name in row.get("artist_names") or ()):
            return False
    return True


def is_matched(row: Row) -> bool:
    matched = row.get("matched")
    if matched is None:
        return bool(row.get("track_id"))
    return bool(matched)


# --- the window and its buckets ----------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    start: datetime  # inclusive, UTC, millisecond precision
    end: datetime  # exclusive

    @property
    def start_ms(self) -> int:
        return to_ms(self.start)

    @property
    def end_ms(self) -> int:
        return to_ms(self.end)

    @classmethod
    def from_ms(cls, start_ms: int, end_ms: int) -> Window:
        return cls(from_ms(start_ms), from_ms(end_ms))


def to_ms(value: datetime) -> int:
    return (as_utc(value) - EPOCH) // timedelta(milliseconds=1)


def from_ms(value: int) -> datetime:
    return EPOCH + timedelta(milliseconds=value)


def _truncate_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def check_time(name: str, value: datetime) -> datetime:
    if value.tzinfo is None:
        raise QueryError(f"'{name}' needs a time zone, e.g. 2026-03-01T12:00:00Z")
    out_of_range = QueryError(f"'{name}' must be between 2000 and 2100")
    try:
        value = value.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:01:00+02:00 is before year 1 in UTC
        raise out_of_range from exc
    if not EARLIEST <= value <= LATEST:
        raise out_of_range
    return _truncate_ms(value)


def resolve_window(
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    default: timedelta = DEFAULT_WINDOW,
    longest: timedelta = MAX_WINDOW,
) -> Window:
    """The window [start, end): defaults to the ``default`` span ending now (or ending ``end``)."""
    end_v = check_time("end", end) if end is not None else _truncate_ms(now.astimezone(UTC))
    start_v = check_time("start", start) if start is not None else end_v - default
    if start_v >= end_v:
        raise QueryError("'start' must be before 'end'")
    if end_v - start_v > longest:
        raise QueryError(f"the window is longer than {longest.days} days; narrow 'start'/'end'")
    return Window(start_v, end_v)


def floor_hour(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def bucket_name(hour: datetime) -> str:
    return hour.strftime("%Y-%m-%dT%H")


def bucket_count(window: Window) -> int:
    newest = floor_hour(window.end - timedelta(milliseconds=1))
    oldest = floor_hour(window.start)
    return int((newest - oldest) / HOUR) + 1


def bucket_at(window: Window, index: int) -> str:
    """The index-th bucket of the window, newest first."""
    newest = floor_hour(window.end - timedelta(milliseconds=1))
    return bucket_name(newest - index * HOUR)


# --- the bounded page walk ------------------------------------------------------------------------
@dataclass(frozen=True)
class Position:
    bucket_index: int = 0
    paging_state: bytes | None = None
    last_key: LastKey | None = None


@dataclass(frozen=True)
class Budget:
    """Work one page may do at most before it returns what it found (with a cursor)."""

    max_rows_scanned: int = 5000
    max_buckets: int = 72
    max_fetch_size: int = 1000


# fetch(bucket, fetch_size, paging_state) -> (rows of that one driver page, the next paging state)
FetchPage = Callable[[str, int, "bytes | None"], tuple[Sequence[Row], "bytes | None"]]


@dataclass
class PageResult:
    rows: list[Row]
    next_position: Position | None
    rows_scanned: int
    buckets_visited: int


def row_key(row: Row) -> tuple[int, str, str]:
    """Sort key in the table's clustering order (played_at DESC, source, post_id)."""
    return (-to_ms(as_utc(row["played_at"])), str(row["source"]), str(row["post_id"]))


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _after(row: Row, last: LastKey) -> bool:
    return row_key(row) > (-last.played_at_ms, last.source, last.post_id)


def _key_of(row: Row) -> LastKey:
    return LastKey(to_ms(as_utc(row["played_at"])), str(row["source"]), str(row["post_id"]))


def read_page(
    fetch: FetchPage,
    window: Window,
    flt: PlayFilter,
    limit: int,
    position: Position,
    budget: Budget = Budget(),
) -> PageResult:
    """Fill one page of at most ``limit`` plays, starting at ``position``, within ``budget``."""
    total_buckets = bucket_count(window)
    found: list[Row] = []
    scanned = 0
    visited = 0
    index, state, last = position.bucket_index, position.paging_state, position.last_key
    entered: int | None = None
    while index < total_buckets:
        if index != entered:
            if visited >= budget.max_buckets:
                return PageResult(found, Position(index, state, last), scanned, visited)
            visited += 1
            entered = index
        if scanned >= budget.max_rows_scanned:
            return PageResult(found, Position(index, state, last), scanned, visited)
        needed = limit - len(found)
        want = needed * 4 + 20 if flt.selective else needed
        if last is not None:
            want += 1  # the page is re-read from its start; leave room past the rows already returned
        fetch_size = max(1, min(want, budget.max_fetch_size, budget.max_rows_scanned - scanned))
        rows, next_state = fetch(bucket_at(window, index), fetch_size, state)
        scanned += len(rows)
        for offset, row in enumerate(rows):
            if last is not None and not _after(row, last):
                continue
            if not play_matches(flt, row):
                continue
            found.append(row)
            if len(found) == limit:
                rest = rows[offset + 1 :]
                if rest:  # stop inside this driver page: re-read it next time, after this row
                    return PageResult(found, Position(index, state, _key_of(row)), scanned, visited)
                if next_state is not None:
                    return PageResult(found, Position(index, next_state, None), scanned, visited)
                return PageResult(found, _next_bucket(index, total_buckets), scanned, visited)
        last = None
        if next_state is not None:
            state = next_state
        else:
            index, state = index + 1, None
    return PageResult(found, None, scanned, visited)


def _next_bucket(index: int, total: int) -> Position | None:
    return Position(index + 1, None, None) if index + 1 < total else None


def iter_window(
    fetch_all: Callable[[str], Iterator[Row]],
    window: Window,
    flt: PlayFilter,
) -> Iterator[Row]:
    """Every play of the window the filters accept, newest first (for exports)."""
    for index in range(bucket_count(window)):
        for row in fetch_all(bucket_at(window, index)):
            if play_matches(flt, row):
                yield row
