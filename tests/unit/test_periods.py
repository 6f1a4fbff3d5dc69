"""UTC calendar periods (nowplaying.common.periods) and how a period run chooses its mode."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from nowplaying.common.aggjournal import segment_of, segment_start, segments_of_mark, slots_between
from nowplaying.common.periods import period_bounds, period_key, periods_of_bucket
from nowplaying_spark.periods import choose_mode


def test_period_keys_and_bounds() -> None:
    day = date(2026, 1, 1)  # a Thursday; its ISO week starts in 2025
    assert period_key("day", day) == "day:2026-01-01"
    assert period_key("week", day) == "week:2025-12-29"
    assert period_key("month", day) == "month:2026-01"
    assert period_key("year", day) == "year:2026"
    assert period_key("all", day) == "all"
    assert period_bounds("week", day) == (date(2025, 12, 29), date(2026, 1, 4))
    assert period_bounds("month", date(2024, 2, 10)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert period_bounds("all", day) == (None, None)
    with pytest.raises(ValueError, match="unknown period"):
        period_key("decade", day)


def test_a_bucket_belongs_to_five_periods() -> None:
    assert periods_of_bucket("2026-01-04T23") == [
        ("day:2026-01-04", "23", "7-23"),  # a Sunday
        ("week:2025-12-29", "2026-01-04", "7-23"),
        ("month:2026-01", "2026-01-04", "7-23"),
        ("year:2026", "2026-01", "7-23"),
        ("all", "2026-01", "7-23"),
    ]


def test_journal_slots_cover_every_hour_from_the_checkpoint() -> None:
    since = datetime(2026, 3, 1, 22, 59, tzinfo=UTC)
    assert slots_between(since, since + timedelta(hours=1, minutes=2)) == [
        "2026-03-01T22",
        "2026-03-01T23",
        "2026-03-02T00",
    ]
    assert slots_between(since, since) == ["2026-03-01T22"]


def test_a_play_belongs_to_the_five_minute_segment_of_its_hour() -> None:
    hour = datetime(2026, 3, 1, 22, tzinfo=UTC)
    assert segment_of(hour) == "2026-03-01T22:00"
    assert segment_of(hour + timedelta(minutes=4, seconds=59, milliseconds=999)) == "2026-03-01T22:00"
    assert segment_of(hour + timedelta(minutes=5)) == "2026-03-01T22:05"
    assert segment_of(hour + timedelta(minutes=59, seconds=59)) == "2026-03-01T22:55"
    # Cassandra's driver reads timestamps back as naive UTC; another zone is converted to UTC
    assert segment_of(datetime(2026, 3, 1, 22, 7)) == "2026-03-01T22:05"
    assert segment_of(datetime.fromisoformat("2026-03-02T00:31:00+01:00")) == "2026-03-01T23:30"
    assert segment_start("2026-03-01T22:55") == hour + timedelta(minutes=55)


def test_a_bare_hour_mark_stands_for_all_twelve_segments_of_its_hour() -> None:
    assert segments_of_mark("2026-03-01T22:35") == ["2026-03-01T22:35"]
    whole = segments_of_mark("2026-03-01T22")
    assert len(whole) == 12 and whole[0] == "2026-03-01T22:00" and whole[-1] == "2026-03-01T22:55"
    assert {segment_of(datetime(2026, 3, 1, 22, m, tzinfo=UTC)) for m in range(60)} == set(whole)


def test_mode_is_full_without_a_trustworthy_checkpoint() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    done = {"status": "done", "checkpoint": now - timedelta(minutes=5)}
    assert choose_mode(done, now, full=False) == "incremental"
    assert choose_mode(done, now, full=True) == "full"
    assert choose_mode(None, now, full=False) == "full"
    assert choose_mode({**done, "status": "running"}, now, full=False) == "full"  # the last run died
    assert choose_mode({**done, "checkpoint": now - timedelta(days=31)}, now, full=False) == "full"
