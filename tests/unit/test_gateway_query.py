"""The plays query's pure core: window, buckets, filters and the bounded page walk.

The page walk is driven here by an in-memory table that pages the way Cassandra does (a paging state
is the position after the last row returned), so the no-gap/no-repeat property can be checked over
many random data sets, filters, page sizes and budgets.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from nowplaying.gateway.cursor import Cursor, decode_cursor, encode_cursor
from nowplaying.gateway.query import (
    Budget,
    PlayFilter,
    Position,
    QueryError,
    Window,
    bucket_at,
    bucket_count,
    play_matches,
    read_page,
    resolve_window,
    row_key,
)

NOW = datetime(2026, 3, 10, 12, 34, 56, 789000, tzinfo=UTC)


def test_default_window_is_the_last_24_hours() -> None:
    window = resolve_window(None, None, NOW)
    assert window.end == NOW and window.start == NOW - timedelta(hours=24)
    assert resolve_window(None, NOW - timedelta(hours=1), NOW).start == NOW - timedelta(hours=25)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (NOW, NOW - timedelta(hours=1), "before"),
        (datetime(2026, 3, 1), None, "time zone"),
        (NOW - timedelta(days=400), NOW, "longer than 366 days"),
        (datetime(1, 1, 1, tzinfo=UTC), None, "between 2000 and 2100"),
        (None, datetime(9999, 12, 31, tzinfo=UTC), "between 2000 and 2100"),
        # before year 1 or after 9999 once in UTC (schemathesis sent these; they were a 500)
        (None, datetime(1, 1, 1, 0, 5, tzinfo=timezone(timedelta(hours=2))), "between 2000 and 2100"),
        (None, datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-3))), "between 2000 and 2100"),
    ],
)
def test_bad_windows_are_explained(start: datetime | None, end: datetime | None, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        resolve_window(start, end, NOW)


def test_buckets_cover_the_window_newest_first() -> None:
    window = Window(datetime(2026, 3, 1, 10, 30, tzinfo=UTC), datetime(2026, 3, 1, 13, 0, tzinfo=UTC))
    assert [bucket_at(window, i) for i in range(bucket_count(window))] == [
        "2026-03-01T12", "2026-03-01T11", "2026-03-01T10",
    ]  # fmt: skip
    inside_one_hour = Window(datetime(2026, 3, 1, 10, 5, tzinfo=UTC), datetime(2026, 3, 1, 10, 6, tzinfo=UTC))
    assert bucket_count(inside_one_hour) == 1


def _row(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"is_bot": False, "source": "x", "matched": True, "track_id": "t", "track_name": "Song",
                            "artist_names": ["Artist"], "played_at": NOW, "post_id": "1"}  # fmt: skip
    base.update(fields)
    return base


def test_filters() -> None:
    assert play_matches(PlayFilter(), _row())
    assert not play_matches(PlayFilter(bots="exclude"), _row(is_bot=True))
    assert play_matches(PlayFilter(bots="only"), _row(is_bot=True))
    assert not play_matches(PlayFilter(bots="only"), _row())
    assert not play_matches(PlayFilter(source="mastodon"), _row())
    assert play_matches(PlayFilter(matched=False), _row(matched=None, track_id=None))
    assert play_matches(PlayFilter(artist="BJÖ"), _row(artist_names=["Sigur Rós", "Björk"]))
    assert not play_matches(PlayFilter(artist="x"), _row(artist_names=[]))
    assert play_matches(PlayFilter(track="brightside"), _row(track_name="Mr. Brightside"))
    assert not play_matches(PlayFilter(track="brightside"), _row(track_name=None))


def test_filter_digest_ignores_case_but_not_values() -> None:
    assert PlayFilter(artist="Björk").digest() == PlayFilter(artist="björk").digest()
    assert PlayFilter(artist="a").digest() != PlayFilter(track="a").digest()
    assert PlayFilter(bots="only").digest() != PlayFilter().digest()


class Table:
    """Rows per bucket in clustering order; pages like Cassandra (state = last key returned)."""

    def __init__(self, rows: Sequence[dict[str, Any]]) -> None:
        self.buckets: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            self.buckets.setdefault(row["played_at"].strftime("%Y-%m-%dT%H"), []).append(row)
        for bucket_rows in self.buckets.values():
            bucket_rows.sort(key=row_key)
        self.fetches = 0

    def add(self, row: dict[str, Any]) -> None:
        rows = self.buckets.setdefault(row["played_at"].strftime("%Y-%m-%dT%H"), [])
        rows.append(row)
        rows.sort(key=row_key)

    def fetch(self, window: Window) -> Any:
        def page(bucket: str, size: int, state: bytes | None) -> tuple[list[dict[str, Any]], bytes | None]:
            self.fetches += 1
            rows = [r for r in self.buckets.get(bucket, []) if window.start <= r["played_at"] < window.end]
            if state is not None:
                after = tuple(json.loads(state))
                rows = [r for r in rows if row_key(r) > after]
            chunk = rows[:size]
            more = len(rows) > size
            return chunk, json.dumps(row_key(chunk[-1])).encode() if more else None

        return page


def _random_rows(rng: random.Random, n: int, hours: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        played = NOW - timedelta(milliseconds=rng.randrange(0, hours * 3600 * 1000, rng.choice([1, 1000, 60000])))
        rows.append(_row(played_at=played, post_id=f"{i:05d}", source=rng.choice(["x", "mastodon"]),
                         is_bot=rng.random() < 0.2, artist_names=[rng.choice(["Ann", "Bob", "Cid"])]))  # fmt: skip
    return rows


def _walk(table: Table, window: Window, flt: PlayFilter, limit: int, budget: Budget) -> list[dict[str, Any]]:
    key = b"secret"
    out: list[dict[str, Any]] = []
    position = Position()
    for _ in range(100_000):
        page = read_page(table.fetch(window), window, flt, limit, position, budget)
        assert len(page.rows) <= limit
        assert page.rows_scanned <= budget.max_rows_scanned
        out.extend(page.rows)
        if page.next_position is None:
            return out
        nxt = page.next_position
        # Through a real cursor, as the API does.
        token = encode_cursor(
            Cursor(flt.digest(), window.start_ms, window.end_ms, nxt.bucket_index, nxt.paging_state, nxt.last_key), key
        )
        cursor = decode_cursor(token, key)
        position = Position(cursor.bucket_index, cursor.paging_state, cursor.last_key)
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("seed", range(12))
def test_walking_all_pages_returns_each_matching_play_once_in_order(seed: int) -> None:
    rng = random.Random(seed)
    rows = _random_rows(rng, rng.choice([0, 1, 50, 700]), hours=rng.choice([1, 5, 30]))
    window = Window(NOW - timedelta(hours=rng.choice([2, 24, 48])), NOW + timedelta(milliseconds=1))
    flt = rng.choice([PlayFilter(), PlayFilter(bots="exclude"), PlayFilter(artist="bob", source="x"),
                      PlayFilter(bots="only")])  # fmt: skip
    budget = Budget(max_rows_scanned=rng.choice([7, 100, 5000]), max_buckets=rng.choice([1, 3, 72]),
                    max_fetch_size=rng.choice([5, 1000]))  # fmt: skip
    limit = rng.choice([1, 3, 50, 200])
    table = Table(rows)
    got = _walk(table, window, flt, limit, budget)
    expected = sorted(
        (r for r in rows if window.start <= r["played_at"] < window.end and play_matches(flt, r)), key=row_key
    )
    assert [r["post_id"] for r in got] == [r["post_id"] for r in expected]


def test_an_unfiltered_page_reads_only_what_it_returns() -> None:
    rows = _random_rows(random.Random(1), 1000, hours=1)
    table = Table(rows)
    window = Window(NOW - timedelta(hours=2), NOW + timedelta(milliseconds=1))
    page = read_page(table.fetch(window), window, PlayFilter(), 50, Position())
    assert len(page.rows) == 50 and page.rows_scanned == 50
    assert table.fetches <= 2


def test_a_selective_filter_stops_at_the_budget_with_a_position() -> None:
    rows = [_row(played_at=NOW - timedelta(seconds=i), post_id=str(i), is_bot=True) for i in range(3000)]
    table = Table(rows)
    window = Window(NOW - timedelta(hours=3), NOW + timedelta(milliseconds=1))
    page = read_page(table.fetch(window), window, PlayFilter(bots="exclude"), 50, Position(), Budget(1000, 72, 400))
    assert page.rows == [] and page.rows_scanned == 1000 and page.next_position is not None


def test_plays_arriving_between_pages_never_cause_a_gap_or_repeat() -> None:
    rows = [_row(played_at=NOW - timedelta(seconds=i), post_id=f"{i:04d}") for i in range(100)]
    table = Table(rows)
    window = Window(NOW - timedelta(hours=1), NOW + timedelta(milliseconds=1))
    first = read_page(table.fetch(window), window, PlayFilter(artist="art"), 10, Position(), Budget(5000, 72, 1000))
    assert first.next_position is not None and first.next_position.last_key is not None  # stopped mid driver-page
    table.add(_row(played_at=NOW - timedelta(seconds=4, milliseconds=500), post_id="late"))  # inside the part read
    second = read_page(table.fetch(window), window, PlayFilter(artist="art"), 10, first.next_position)
    assert [r["post_id"] for r in first.rows + second.rows] == [f"{i:04d}" for i in range(20)]
