"""/api/tracks/{id} and /api/artists/{id} against the real Cassandra."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from tests.fixtures_gateway import GatewayClient, make_play

TRACK = {
    "track_id": "3n3Ppam7vgaVa1iaRUc9Lp",
    "name": "Mr. Brightside",
    "artist_ids": ["0C0XlULifJtAgn6ZNCW2eu"],
    "artist_names": ["The Killers"],
    "album": "Hot Fuss",
    "release_date": "2004-06-07",
    "popularity": None,
    "duration_ms": 222973,
}


def _today() -> date:
    return datetime.now(UTC).date()


def test_unknown_track_and_artist_are_404(gateway: GatewayClient) -> None:
    for path in ("/api/tracks/nope", "/api/artists/nope"):
        response = gateway.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert "nope" in response.json()["error"]["message"]


def test_track_page_has_details_features_history_and_posts(gateway: GatewayClient) -> None:
    w = gateway.writer
    w.insert("tracks", [TRACK])
    w.insert(
        "audio_features",
        [{"track_id": TRACK["track_id"], "features_source": "reccobeats", "energy": 0.918, "tempo": 148.1,
          "key": 1, "mode": 1, "danceability": 0.352}],
    )  # fmt: skip
    today = datetime.combine(_today(), time(0, 30), UTC)
    plays = [make_play(today + timedelta(minutes=i), post_id=f"today{i}", track_id=TRACK["track_id"]) for i in range(3)]
    plays += [make_play(today - timedelta(days=2), post_id="two-days-ago", track_id=TRACK["track_id"], is_bot=True)]
    plays += [make_play(today - timedelta(days=40), post_id="too-old", track_id=TRACK["track_id"])]
    plays += [make_play(today, post_id="other-track", track_id="another")]
    w.plays(plays)

    page = gateway.json(f"/api/tracks/{TRACK['track_id']}")
    assert page["track"] == TRACK
    features = page["features"]
    assert features["energy"] == 0.918 and features["tempo"] == 148.1 and features["key"] == 1
    assert features["valence"] is None and features["features_source"] == "reccobeats"
    by_day = {d["day"]: d["plays"] for d in page["plays_by_day"]}
    assert len(page["plays_by_day"]) == 30
    assert page["plays_by_day"][-1]["day"] == _today().isoformat()
    assert by_day[_today().isoformat()] == 3
    assert by_day[(_today() - timedelta(days=2)).isoformat()] == 1
    assert sum(by_day.values()) == 4  # the 40-day-old play is outside the 30 days
    assert [p["post_id"] for p in page["posts"]] == ["today2", "today1", "today0", "two-days-ago"]
    assert page["posts"][3]["is_bot"] is True

    longer = gateway.json(f"/api/tracks/{TRACK['track_id']}", days=60, posts=2)
    assert sum(d["plays"] for d in longer["plays_by_day"]) == 5
    assert len(longer["posts"]) == 2
    assert gateway.get(f"/api/tracks/{TRACK['track_id']}", days=0).status_code == 422


def test_track_without_features_or_plays(gateway: GatewayClient) -> None:
    gateway.writer.insert("tracks", [{"track_id": "t-bare", "name": "Bare"}])
    page = gateway.json("/api/tracks/t-bare")
    assert page["features"] is None
    assert page["posts"] == []
    assert all(d["plays"] == 0 for d in page["plays_by_day"])
    assert page["track"]["artist_names"] == []


def test_artist_page_lists_tracks_and_daily_plays(gateway: GatewayClient) -> None:
    w = gateway.writer
    w.insert("artists", [{"artist_id": "a1", "name": "Björk"}, {"artist_id": "a2", "name": "Sigur Rós"}])
    w.insert(
        "tracks",
        [
            {"track_id": "t1", "name": "Jóga", "artist_ids": ["a1"], "artist_names": ["Björk"], "popularity": 60},
            {"track_id": "t2", "name": "Hyperballad", "artist_ids": ["a1"], "artist_names": ["Björk"],
             "popularity": 70},
            {"track_id": "t3", "name": "Duet", "artist_ids": ["a2", "a1"], "artist_names": ["Sigur Rós", "Björk"]},
            {"track_id": "t4", "name": "Hoppípolla", "artist_ids": ["a2"], "artist_names": ["Sigur Rós"]},
        ],
    )  # fmt: skip
    today = _today()
    w.insert(
        "artist_stats_by_day",
        [
            {"day": today, "artist_id": "a1", "artist_name": "Björk", "plays": 7},
            {"day": today - timedelta(days=3), "artist_id": "a1", "artist_name": "Björk", "plays": 2},
            {"day": today, "artist_id": "a2", "artist_name": "Sigur Rós", "plays": 100},
        ],
    )
    page = gateway.json("/api/artists/a1", days=7)
    assert page["artist"] == {"artist_id": "a1", "name": "Björk"}
    assert [t["track_id"] for t in page["tracks"]] == ["t2", "t1", "t3"]  # by popularity, unknown last
    assert [d["plays"] for d in page["plays_by_day"]] == [0, 0, 0, 2, 0, 0, 7]
    assert page["plays_by_day"][-1]["day"] == today.isoformat()

    empty = gateway.json("/api/artists/a2", days=1)
    assert [t["track_id"] for t in empty["tracks"]] == ["t3", "t4"]  # no popularity: by name
    assert empty["plays_by_day"] == [{"day": today.isoformat(), "plays": 100}]
