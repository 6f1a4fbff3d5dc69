"""Charts/statistics helpers and the play/CSV conversions of the gateway."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import pytest
from nowplaying.common.models import ENRICHED_CSV_COLUMNS
from nowplaying.gateway.aggregate import (
    day_range,
    histogram,
    merge_ranked,
    parse_metrics,
    plays_by_day,
    stats_items,
)
from nowplaying.gateway.aggregate import group_rows as group
from nowplaying.gateway.query import QueryError
from nowplaying.gateway.rows import csv_lines, ndjson_lines, play_object


def test_merge_ranked_sums_days_and_reranks() -> None:
    day1 = [{"rank": 1, "track_id": "a", "plays": 5, "listeners": 2}, {"rank": 2, "track_id": "b", "plays": 4}]
    day2 = [{"rank": 1, "track_id": "b", "plays": 3, "listeners": 1}]
    merged = merge_ranked([day1, day2], "track_id", 10)
    assert [(m["rank"], m["track_id"], m["plays"], m["listeners"]) for m in merged] == [(1, "b", 7, 1), (2, "a", 5, 2)]
    assert merge_ranked([day1], "track_id", 1)[0]["track_id"] == "a"
    tie = merge_ranked([[{"track_id": "z", "plays": 1}, {"track_id": "y", "plays": 1}]], "track_id", 5)
    assert [m["track_id"] for m in tie] == ["y", "z"]


def test_parse_metrics() -> None:
    assert parse_metrics("energy, plays,energy,valence") == ["plays", "energy", "valence"]
    assert parse_metrics("") == ["plays"]
    with pytest.raises(QueryError, match="colour"):
        parse_metrics("energy,colour")


def test_day_range_limits() -> None:
    assert day_range(date(2026, 3, 1), date(2026, 3, 3)) == [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]
    with pytest.raises(QueryError):
        day_range(date(2026, 3, 3), date(2026, 3, 1))
    with pytest.raises(QueryError, match="92"):
        day_range(date(2026, 1, 1), date(2026, 12, 1))


def test_stats_sorting_puts_missing_values_last_in_both_directions() -> None:
    rows = [[
        {"track_id": "1", "track_name": "One", "artist_names": ["A"], "plays": 1, "energy": 0.9},
        {"track_id": "2", "track_name": "Two", "artist_names": ["B"], "plays": 3, "energy": None},
        {"track_id": "3", "track_name": "Three", "artist_names": [], "plays": 2, "energy": 0.1},
    ]]  # fmt: skip
    groups = group(rows, "track")
    desc = stats_items(groups, ["plays", "energy"], "energy", "desc", 10)
    asc = stats_items(groups, ["plays", "energy"], "energy", "asc", 10)
    assert [i["key"] for i in desc] == ["1", "3", "2"]
    assert [i["key"] for i in asc] == ["3", "1", "2"]
    assert desc[0] == {"key": "1", "label": "A – One", "plays": 1, "energy": 0.9}
    assert [i["label"] for i in stats_items(groups, ["plays"], "label", "asc", 2)] == ["A – One", "B – Two"]


def test_histogram_clamps_to_the_edges() -> None:
    bins, total = histogram([(0.0, 1), (0.5, 2), (1.0, 3), (7.0, 1), (-1.0, 1), (float("nan"), 9)], (0.0, 1.0), 4)
    assert [b["count"] for b in bins] == [2, 0, 2, 4]
    assert total == 8
    assert bins[0]["lo"] == 0.0 and bins[-1]["hi"] == 1.0


def test_plays_by_day_fills_zeros() -> None:
    days = [date(2026, 3, 1), date(2026, 3, 2)]
    counts = plays_by_day([datetime(2026, 3, 2, 1), datetime(2026, 3, 2, 23), datetime(2026, 2, 1)], days)
    assert counts == [{"day": "2026-03-01", "plays": 0}, {"day": "2026-03-02", "plays": 2}]


def test_play_object_and_csv_line() -> None:
    row = {
        "played_at": datetime(2026, 3, 1, 12, 0, 0, 123000), "source": "mastodon", "post_id": "42",
        "author_id": "u", "text": 'quote " and, comma\nnewline', "url": "https://m/42", "is_bot": False,
        "matched": True, "track_id": "t", "track_name": "Song", "artist_ids": ["a1", "a2"],
        "artist_names": ["A, B", "C"], "album": None, "release_date": "2020", "popularity": None,
        "duration_ms": 1000, "match_method": "link", "match_confidence": 0.9500000476837158,
        "features_source": "", "energy": 0.800000011920929, "key": 0, "mode": None,
    }  # fmt: skip
    play = play_object(row)
    assert play["played_at"] == "2026-03-01T12:00:00.123Z"
    assert play["energy"] == 0.8 and play["match_confidence"] == 0.95 and play["key"] == 0
    assert play["features_source"] is None and play["danceability"] is None
    text = b"".join(csv_lines([play])).decode()
    records = list(csv.DictReader(io.StringIO(text)))
    assert tuple(records[0]) == ENRICHED_CSV_COLUMNS
    record = records[0]
    assert record["id_tweet"] == "42" and record["text"] == row["text"]
    assert json.loads(record["artists_name"]) == ["A, B", "C"]
    assert record["popularity"] == "" and record["key"] == "0" and record["is_bot"] == "false"
    assert record["source"] == "mastodon" and record["created_at"] == "2026-03-01T12:00:00.123Z"
    lines = b"".join(ndjson_lines([play, play])).splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["post_id"] == "42"


def test_csv_streams_in_chunks() -> None:
    play = play_object({"played_at": datetime(2026, 3, 1), "source": "x", "post_id": "1"})
    chunks = list(csv_lines([play] * 1200, chunk_rows=500))
    assert len(chunks) == 3
    assert sum(chunk.count(b"\r\n") for chunk in chunks) == 1201
