"""Charts, statistics and the summary over the Spark tables (rows written the way the Spark job writes them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.fixtures_gateway import GatewayClient, make_play

DAY = date(2026, 3, 10)


def _top_track(day: date, rank: int, track: str, plays: int, audience: str = "all") -> dict[str, Any]:
    return {
        "day": day, "audience": audience, "rank": rank, "track_id": track, "track_name": f"Song {track}",
        "artist_names": [f"Artist {track}"], "plays": plays, "listeners": plays - 1,
    }  # fmt: skip


def test_charts_with_no_data_are_empty_not_errors(gateway: GatewayClient) -> None:
    for path in ("/api/charts/top-tracks", "/api/charts/top-artists", "/api/charts/trending"):
        body = gateway.json(path)
        assert body["items"] == []
        assert body["day"] == datetime.now(UTC).date().isoformat()
    week = gateway.json("/api/charts/top-tracks", days=7, day=DAY.isoformat())
    assert week["items"] == [] and week["days"] == 7


def test_top_tracks_of_a_day_and_of_a_week(gateway: GatewayClient) -> None:
    rows = [
        _top_track(DAY, 1, "a", 10), _top_track(DAY, 2, "b", 8), _top_track(DAY, 3, "c", 5),
        _top_track(DAY - timedelta(days=1), 1, "c", 9), _top_track(DAY - timedelta(days=1), 2, "b", 1),
        _top_track(DAY - timedelta(days=6), 1, "d", 12),
        _top_track(DAY - timedelta(days=7), 1, "e", 99),  # outside the week
        _top_track(DAY, 1, "bot-song", 50, audience="bots"),
    ]  # fmt: skip
    gateway.writer.insert("top_tracks_by_day", rows)

    day = gateway.json("/api/charts/top-tracks", day=DAY.isoformat(), limit=2)
    assert [(i["rank"], i["track_id"], i["plays"]) for i in day["items"]] == [(1, "a", 10), (2, "b", 8)]
    assert day["items"][0]["artist_names"] == ["Artist a"] and day["items"][0]["listeners"] == 9

    week = gateway.json("/api/charts/top-tracks", day=DAY.isoformat(), days=7)
    assert [(i["rank"], i["track_id"], i["plays"]) for i in week["items"]] == [
        (1, "c", 14), (2, "d", 12), (3, "a", 10), (4, "b", 9),
    ]  # fmt: skip
    bots = gateway.json("/api/charts/top-tracks", day=DAY.isoformat(), audience="bots")
    assert [i["track_id"] for i in bots["items"]] == ["bot-song"]
    three = gateway.json("/api/charts/top-tracks", day=DAY.isoformat(), days=2)
    assert [(i["track_id"], i["plays"]) for i in three["items"]] == [("c", 14), ("a", 10), ("b", 9)]
    assert gateway.get("/api/charts/top-tracks", days=32).status_code == 422
    assert gateway.get("/api/charts/top-tracks", audience="aliens").status_code == 422
    assert gateway.get("/api/charts/top-tracks", day="2026-02-30").status_code == 422
    assert gateway.get("/api/charts/top-tracks", day="1066-10-14").status_code == 400


def test_top_artists_and_trending(gateway: GatewayClient) -> None:
    gateway.writer.insert(
        "top_artists_by_day",
        [
            {"day": DAY, "audience": "people", "rank": 1, "artist_id": "x", "artist_name": "X", "plays": 4,
             "listeners": 3},
            {"day": DAY - timedelta(days=2), "audience": "people", "rank": 1, "artist_id": "y", "artist_name": "Y",
             "plays": 6, "listeners": 6},
        ],
    )  # fmt: skip
    gateway.writer.insert(
        "trending_by_day",
        [{"day": DAY, "rank": 1, "track_id": "t", "track_name": "Hot", "artist_names": ["H"], "plays": 30,
          "trailing_avg": 2.5, "score": 12.0}],
    )  # fmt: skip
    artists = gateway.json("/api/charts/top-artists", day=DAY.isoformat(), audience="people", days=7)
    assert [(i["artist_id"], i["plays"], i["rank"]) for i in artists["items"]] == [("y", 6, 1), ("x", 4, 2)]
    assert gateway.json("/api/charts/top-artists", day=DAY.isoformat())["items"] == []  # audience all: none
    trending = gateway.json("/api/charts/trending", day=DAY.isoformat())
    assert trending["items"] == [
        {"rank": 1, "track_id": "t", "track_name": "Hot", "artist_names": ["H"], "plays": 30, "trailing_avg": 2.5,
         "score": 12.0}
    ]  # fmt: skip


def _track_stat(day: date, track: str, plays: int, energy: float | None, valence: float | None) -> dict[str, Any]:
    return {"day": day, "track_id": track, "track_name": f"T{track}", "artist_names": ["Art"], "plays": plays,
            "listeners": plays, "energy": energy, "valence": valence, "tempo": 100.0 + plays}  # fmt: skip


def test_stats_by_track_artist_and_day(gateway: GatewayClient) -> None:
    w = gateway.writer
    w.insert(
        "track_stats_by_day",
        [
            _track_stat(DAY, "1", 5, 0.9, 0.1), _track_stat(DAY, "2", 3, 0.2, 0.8),
            _track_stat(DAY, "3", 1, None, None),
            _track_stat(DAY - timedelta(days=1), "2", 4, 0.2, 0.8),
        ],
    )  # fmt: skip
    both_days = {"start": (DAY - timedelta(days=1)).isoformat(), "end": DAY.isoformat()}
    by_track = gateway.json("/api/stats", group_by="track", metrics="energy,valence", limit=5, **both_days)
    assert by_track["metrics"] == ["plays", "energy", "valence"]
    assert [(i["key"], i["plays"]) for i in by_track["items"]] == [("2", 7), ("1", 5), ("3", 1)]
    assert by_track["items"][0] == {"key": "2", "label": "Art – T2", "plays": 7, "energy": 0.2, "valence": 0.8}
    by_energy = gateway.json("/api/stats", group_by="track", metrics="energy", sort="energy", order="asc", **both_days)
    assert [i["key"] for i in by_energy["items"]] == ["2", "1", "3"]  # no energy: last
    top1 = gateway.json("/api/stats", metrics="plays", limit=1, **both_days)
    assert [i["key"] for i in top1["items"]] == ["2"] and set(top1["items"][0]) == {"key", "label", "plays"}

    w.insert(
        "artist_stats_by_day",
        [
            {"day": DAY, "artist_id": "a", "artist_name": "A", "plays": 3, "listeners": 2, "energy": 0.5},
            {"day": DAY - timedelta(days=1), "artist_id": "a", "artist_name": "A", "plays": 1, "listeners": 1,
             "energy": 0.9},
            {"day": DAY, "artist_id": "b", "artist_name": "B", "plays": 2, "listeners": 2, "energy": 0.1},
        ],
    )  # fmt: skip
    by_artist = gateway.json("/api/stats", group_by="artist", metrics="energy,listeners", **both_days)
    assert [(i["label"], i["plays"], i["listeners"]) for i in by_artist["items"]] == [("A", 4, 3), ("B", 2, 2)]
    assert by_artist["items"][0]["energy"] == 0.6  # play-weighted: (3*0.5 + 1*0.9) / 4

    w.insert(
        "daily_summary",
        [{"day": DAY, "plays": 9, "matched": 8, "people_plays": 7, "bot_plays": 2, "listeners": 6}],
    )
    w.insert("feature_stats_by_day", [{"day": DAY, "scope": "all", "feature": "energy", "n": 8, "mean": 0.55}])
    by_day = gateway.json("/api/stats", group_by="day", metrics="energy", sort="label", order="asc", **both_days)
    assert by_day["items"] == [
        {"key": (DAY - timedelta(days=1)).isoformat(), "label": (DAY - timedelta(days=1)).isoformat(), "plays": 0,
         "energy": None},
        {"key": DAY.isoformat(), "label": DAY.isoformat(), "plays": 9, "energy": 0.55},
    ]  # fmt: skip


def test_stats_parameter_errors(gateway: GatewayClient) -> None:
    unknown = gateway.get("/api/stats", metrics="plays,loudness,color")
    assert unknown.status_code == 400 and "color" in unknown.json()["error"]["message"]
    assert gateway.get("/api/stats", sort="color").status_code == 400
    assert gateway.get("/api/stats", group_by="planet").status_code == 422
    assert gateway.get("/api/stats", limit=0).status_code == 422
    assert gateway.get("/api/stats", start="2026-03-10", end="2026-03-01").status_code == 400
    assert gateway.get("/api/stats", start="2025-01-01", end="2026-01-01").status_code == 400
    empty = gateway.json("/api/stats", group_by="track", metrics="energy")
    assert empty["items"] == []


def test_distribution_counts_plays_per_bin(gateway: GatewayClient) -> None:
    gateway.writer.insert(
        "track_stats_by_day",
        [_track_stat(DAY, "1", 5, 0.05, None), _track_stat(DAY, "2", 3, 0.95, None),
         _track_stat(DAY, "3", 2, 1.0, None), _track_stat(DAY, "4", 7, None, None)],
    )  # fmt: skip
    body = gateway.json(
        "/api/stats/distribution", feature="energy", bins=10, start=DAY.isoformat(), end=DAY.isoformat()
    )
    assert len(body["bins"]) == 10 and body["bins"][0]["lo"] == 0.0 and body["bins"][-1]["hi"] == 1.0
    assert [b["count"] for b in body["bins"]] == [5, 0, 0, 0, 0, 0, 0, 0, 0, 5]
    assert body["total"] == 10
    tempo = gateway.json("/api/stats/distribution", feature="tempo", bins=5, start=DAY.isoformat(), end=DAY.isoformat())
    assert tempo["bins"][-1]["hi"] == 250.0 and tempo["total"] == 17
    assert gateway.get("/api/stats/distribution", feature="colour").status_code == 422
    assert gateway.get("/api/stats/distribution", bins=0).status_code == 422
    none = gateway.json("/api/stats/distribution")
    assert none["total"] == 0 and len(none["bins"]) == 20


def test_summary_of_a_day(gateway: GatewayClient) -> None:
    empty = gateway.json("/api/summary")
    assert empty["plays"] == 0 and empty["matched_share"] == 0.0 and empty["top_track"] is None
    assert empty["posts_today"] == 0

    gateway.writer.insert(
        "daily_summary",
        [{"day": DAY, "plays": 40, "matched": 30, "people_plays": 35, "bot_plays": 5, "listeners": 20}],
    )
    gateway.writer.insert("top_tracks_by_day", [_top_track(DAY, 1, "a", 10), _top_track(DAY, 2, "b", 3)])
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    gateway.writer.plays(
        [make_play(start + timedelta(hours=h, minutes=5), post_id=f"s{h}") for h in range(0, 24, 3)]
        + [make_play(start - timedelta(minutes=1), post_id="yesterday")]
    )
    body = gateway.json("/api/summary", day=DAY.isoformat())
    assert body == {
        "day": DAY.isoformat(), "plays": 40, "matched": 30, "matched_share": 0.75, "people_plays": 35,
        "bot_plays": 5, "posts_today": 8,
        "top_track": {"track_id": "a", "track_name": "Song a", "artist_names": ["Artist a"], "plays": 10},
    }  # fmt: skip
