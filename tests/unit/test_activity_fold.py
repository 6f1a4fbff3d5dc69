"""An increment's listening activity folded on plain data (nowplaying_spark.activity_fold)."""

from __future__ import annotations

from nowplaying_spark.activity_fold import differences, merged_rows, period_differences, touched_periods


def test_a_segments_difference_counts_only_what_changed() -> None:
    old = {("2026-01-05T23:45", "total", ""): (10, 2), ("2026-01-05T23:45", "source", "x"): (4, 2)}
    new = {
        ("2026-01-05T23:45", "total", ""): (13, 2),
        ("2026-01-05T23:45", "source", "x"): (4, 2),  # unchanged: dropped
        ("2026-01-05T23:45", "source", "bluesky"): (3, 0),  # new value
    }
    assert differences(new, old) == {
        ("2026-01-05T23:45", "total", ""): (3, 0),
        ("2026-01-05T23:45", "source", "bluesky"): (3, 0),
    }
    # a value whose plays all went (deleted posts) is a negative difference, not a missing row
    assert differences({}, old) == {key: (-people, -bots) for key, (people, bots) in old.items()}


def test_a_total_becomes_the_heatmap_cell_and_the_time_point_of_each_period() -> None:
    diffs = {
        ("2026-01-04T23:55", "total", ""): (2, 1),  # a Sunday, 23:55 UTC
        ("2026-01-04T23:55", "lang", "es"): (2, 0),
        ("2026-01-04T23:50", "total", ""): (1, 0),  # same hour, another segment: summed
    }
    got = period_differences(diffs)
    assert got[("day:2026-01-04", "how", "7-23")] == (3, 1)
    assert got[("day:2026-01-04", "time", "23")] == (3, 1)
    assert got[("week:2025-12-29", "time", "2026-01-04")] == (3, 1)
    assert got[("month:2026-01", "time", "2026-01-04")] == (3, 1)
    assert got[("year:2026", "time", "2026-01")] == (3, 1)
    assert got[("all", "how", "7-23")] == (3, 1)
    assert got[("all", "lang", "es")] == (2, 0)
    assert ("all", "total", "") not in got  # 'total' is not a served dim
    assert len(got) == 5 * 3  # five periods, each: how, time, lang


def test_a_period_row_is_its_stored_counts_plus_the_difference_and_goes_at_zero() -> None:
    stored = {("all", "source", "x"): (5, 1), ("all", "source", "mastodon"): (2, 0)}
    diffs = {("all", "source", "x"): (1, -1), ("all", "source", "mastodon"): (-2, 0), ("all", "lang", "pt"): (0, 4)}
    upserts, deletes = merged_rows(diffs, stored)
    assert upserts == {("all", "source", "x"): (6, 0), ("all", "lang", "pt"): (0, 4)}
    assert deletes == [("all", "source", "mastodon")]


def test_the_touched_periods_are_the_five_of_each_segments_bucket() -> None:
    assert touched_periods(["2026-01-04T23:55", "2026-01-04T23:50", "2026-01-05T00:00"]) == [
        "all",
        "day:2026-01-04",
        "day:2026-01-05",
        "month:2026-01",
        "week:2025-12-29",
        "week:2026-01-05",
        "year:2026",
    ]
