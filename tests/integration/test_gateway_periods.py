"""Period charts, listening activity and freshness over the real Cassandra (rows written the way the
period aggregation writes them; ``test_spark_periods.py`` checks that job against plain Python and
then reads these endpoints over its output)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fixtures_gateway import GatewayClient, make_play


def _top(period: str, entity: str, audience: str, rank: int, ident: str, plays: int) -> dict[str, Any]:
    return {
        "period": period, "entity": entity, "audience": audience, "rank": rank, "id": ident, "name": f"Name {ident}",
        "artist_names": [f"Artist of {ident}"] if entity == "track" else None, "plays": plays, "listeners": plays - 1,
    }  # fmt: skip


def _act(period: str, dim: str, value: str, people: int, bots: int) -> dict[str, Any]:
    return {"period": period, "dim": dim, "value": value, "people": people, "bots": bots}


def test_empty_periods_answer_empty_lists(gateway: GatewayClient) -> None:
    for kind in ("day", "week", "month", "year", "all"):
        for path in ("/api/charts/top-tracks", "/api/charts/top-artists"):
            body = gateway.json(path, period=kind, date="2026-03-11")
            assert body["items"] == [] and body["period"] == kind
        activity = gateway.json("/api/activity", period=kind, date="2026-03-11")
        assert activity["totals"] == {"plays": 0, "people": 0, "bots": 0}
        assert len(activity["heatmap"]) == 168 and all(c["plays"] == 0 for c in activity["heatmap"])
        assert activity["by_source"] == [] and activity["by_lang"] == []
    week = gateway.json("/api/activity", period="week", date="2026-03-11")
    assert (week["period_key"], week["start"], week["end"]) == ("week:2026-03-09", "2026-03-09", "2026-03-15")
    assert [p["at"] for p in week["over_time"]] == [f"2026-03-{d:02d}" for d in range(9, 16)]
    assert gateway.json("/api/activity", period="all")["over_time"] == []
    assert len(gateway.json("/api/activity", period="day", date="2026-03-11")["over_time"]) == 24
    assert len(gateway.json("/api/activity", period="month", date="2026-02-11")["over_time"]) == 28
    assert len(gateway.json("/api/activity", period="year", date="2026-02-11")["over_time"]) == 12


def test_period_charts_pick_the_calendar_period_containing_the_date(gateway: GatewayClient) -> None:
    gateway.writer.insert(
        "top_by_period",
        [
            _top("week:2026-03-09", "track", "all", 1, "a", 10), _top("week:2026-03-09", "track", "all", 2, "b", 8),
            _top("week:2026-03-09", "track", "bots", 1, "bot-song", 5),
            _top("week:2026-03-02", "track", "all", 1, "old", 50),
            _top("month:2026-03", "track", "all", 1, "m", 70),
            _top("year:2026", "artist", "people", 1, "ar1", 90),
            _top("all", "track", "all", 1, "forever", 200), _top("all", "track", "all", 2, "<b>x</b>", 150),
        ],
    )  # fmt: skip
    week = gateway.json("/api/charts/top-tracks", period="week", date="2026-03-15", limit=5)
    assert (week["period_key"], week["start"], week["end"]) == ("week:2026-03-09", "2026-03-09", "2026-03-15")
    assert [(i["rank"], i["track_id"], i["plays"], i["listeners"]) for i in week["items"]] == [
        (1, "a", 10, 9), (2, "b", 8, 7),
    ]  # fmt: skip
    assert week["items"][0]["artist_names"] == ["Artist of a"] and week["items"][0]["track_name"] == "Name a"
    assert gateway.json("/api/charts/top-tracks", period="week", date="2026-03-15", limit=1)["items"][0]["rank"] == 1
    bots = gateway.json("/api/charts/top-tracks", period="week", date="2026-03-09", audience="bots")
    assert [i["track_id"] for i in bots["items"]] == ["bot-song"]
    assert gateway.json("/api/charts/top-tracks", period="week", date="2026-03-08")["items"][0]["track_id"] == "old"
    month = gateway.json("/api/charts/top-tracks", period="month", date="2026-03-31")
    assert month["start"] == "2026-03-01" and month["end"] == "2026-03-31" and month["items"][0]["track_id"] == "m"
    artists = gateway.json("/api/charts/top-artists", period="year", date="2026-07-01", audience="people")
    assert artists["period_key"] == "year:2026" and artists["items"][0] == {
        "rank": 1, "artist_id": "ar1", "artist_name": "Name ar1", "plays": 90, "listeners": 89,
    }  # fmt: skip
    everything = gateway.json("/api/charts/top-tracks", period="all")
    assert everything["start"] is None and everything["end"] is None
    assert [i["track_id"] for i in everything["items"]] == ["forever", "<b>x</b>"]  # returned as data, unescaped
    # the legacy `day`/`days` form is unchanged and carries no period fields
    legacy = gateway.json("/api/charts/top-tracks", day="2026-03-10", days=7)
    assert "period" not in legacy and legacy["days"] == 7
    assert gateway.get("/api/charts/top-tracks", period="decade").status_code == 422
    assert gateway.get("/api/charts/top-tracks", period="day", date="2026-02-30").status_code == 422
    assert gateway.get("/api/charts/top-tracks", period="day", date="1066-10-14").status_code == 400


def test_activity_over_several_months(gateway: GatewayClient) -> None:
    rows = [
        _act("all", "how", "1-00", 3, 1), _act("all", "how", "7-23", 0, 2), _act("all", "time", "2025-11", 2, 0),
        _act("all", "time", "2026-02", 1, 3), _act("all", "source", "mastodon", 2, 3), _act("all", "source", "x", 1, 0),
        _act("all", "lang", "en", 2, 1), _act("all", "lang", "", 1, 2),
    ]  # fmt: skip
    gateway.writer.insert("activity_by_period", rows)
    body = gateway.json("/api/activity", period="all", date="2026-03-11")
    assert body["period_key"] == "all" and body["totals"] == {"plays": 6, "people": 3, "bots": 3}
    assert [(p["at"], p["people"], p["bots"]) for p in body["over_time"]] == [
        ("2025-11", 2, 0), ("2025-12", 0, 0), ("2026-01", 0, 0), ("2026-02", 1, 3),
    ]  # fmt: skip
    cells = {(c["weekday"], c["hour"]): c["plays"] for c in body["heatmap"]}
    assert cells[(1, 0)] == 4 and cells[(7, 23)] == 2 and sum(cells.values()) == 6
    assert [(s["value"], s["plays"]) for s in body["by_source"]] == [("mastodon", 5), ("x", 1)]
    assert [(s["value"], s["plays"]) for s in body["by_lang"]] == [("", 3), ("en", 3)]
    assert gateway.get("/api/activity", period="fortnight").status_code == 422


def test_status_carries_the_ages_of_the_newest_play_and_aggregate(gateway: GatewayClient) -> None:
    before = gateway.json("/api/status")["freshness"]
    assert before == {
        "newest_play_at": None, "newest_play_age_s": None, "newest_aggregate_at": None,
        "newest_aggregate_age_s": None, "aggregates_ready": False, "aggregate_running": False,
    }  # fmt: skip
    now = datetime.now(UTC)
    played = now - timedelta(hours=3, minutes=10)
    gateway.writer.plays([make_play(played, post_id="new"), make_play(played - timedelta(hours=30), post_id="old")])
    fresh = gateway.json("/api/status")["freshness"]
    assert fresh["aggregates_ready"] is False and fresh["newest_aggregate_age_s"] is None
    assert 3 * 3600 + 590 <= fresh["newest_play_age_s"] <= 3 * 3600 + 700
    gateway.writer.insert(
        "agg_checkpoints",
        [{"engine": "periods", "status": "running", "run_id": "r2", "started_at": now - timedelta(seconds=20),
          "finished_at": now - timedelta(minutes=5), "checkpoint": now - timedelta(minutes=6)}],
    )  # fmt: skip
    fresh = gateway.json("/api/status")["freshness"]
    assert fresh["aggregates_ready"] is True and fresh["aggregate_running"] is True
    assert 295 <= fresh["newest_aggregate_age_s"] <= 400
