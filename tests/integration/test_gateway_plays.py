"""/api/plays and its exports against the real Cassandra, over real HTTP."""

from __future__ import annotations

import base64
import csv
import io
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from nowplaying.common.models import ENRICHED_CSV_COLUMNS

from tests.fixtures_gateway import GatewayClient, make_play


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _walk(gateway: GatewayClient, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every page of a query; returns the items and the number of requests."""
    items: list[dict[str, Any]] = []
    cursor = None
    requests_made = 0
    while True:
        page = gateway.json("/api/plays", **params, cursor=cursor)
        requests_made += 1
        assert len(page["items"]) <= int(params.get("limit", 50))
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items, requests_made
        assert requests_made < 2000, "paging does not end"


def test_no_data_at_all_gives_an_empty_page(gateway: GatewayClient) -> None:
    page = gateway.json("/api/plays")
    assert page["items"] == []
    assert page["next_cursor"] is None
    start = datetime.fromisoformat(page["start"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(page["end"].replace("Z", "+00:00"))
    assert end - start == timedelta(hours=24)  # the default window
    assert abs((datetime.now(UTC) - end).total_seconds()) < 60


def test_plays_come_newest_first_with_every_field(gateway: GatewayClient) -> None:
    now = datetime.now(UTC)
    rows = [make_play(now - timedelta(minutes=10 * i), post_id=f"p{i}", track_name=f"Song {i}") for i in range(5)]
    gateway.writer.plays(rows)
    page = gateway.json("/api/plays")
    assert [p["post_id"] for p in page["items"]] == ["p0", "p1", "p2", "p3", "p4"]
    first = page["items"][0]
    assert first["played_at"].endswith("Z")
    assert first["track_name"] == "Song 0"
    assert first["artist_names"] == ["Artist 0"]
    assert first["energy"] == 0.6 and first["tempo"] == 120.0 and first["key"] == 5
    assert first["matched"] is True and first["features_source"] == "reccobeats"


def test_paging_through_10k_plays_has_no_gap_and_no_repeat(gateway: GatewayClient) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(7)
    rows = []
    for i in range(10_000):
        # Spread over 6 hours, with many plays sharing the same millisecond (ties on played_at).
        played = now - timedelta(seconds=rng.randrange(1, 6 * 3600))
        rows.append(
            make_play(
                played,
                source=rng.choice(["x", "mastodon", "bluesky"]),
                post_id=f"post-{i:05d}",
                is_bot=(i % 7 == 0),
                artist_names=[f"Artist {i % 13}"],
            )
        )
    gateway.writer.plays(rows, with_track_index=False)
    expected = sorted(rows, key=lambda r: (-r["played_at"].timestamp(), r["source"], r["post_id"]))

    items, calls = _walk(gateway, limit=200)
    assert [(p["source"], p["post_id"]) for p in items] == [(r["source"], r["post_id"]) for r in expected]
    assert calls == 50 or calls == 51  # full pages; possibly one empty last page

    # With a selective filter the pages may come partial, but still nothing is lost or doubled.
    people_a1 = [r for r in expected if not r["is_bot"] and r["artist_names"] == ["Artist 1"]]
    items, _ = _walk(gateway, limit=37, bots="exclude", artist="artist 1")
    wanted = [r for r in expected if not r["is_bot"] and "artist 1" in r["artist_names"][0].lower()]
    assert len(wanted) > len(people_a1)  # "artist 1" also matches Artist 10, 11, 12
    assert [p["post_id"] for p in items] == [r["post_id"] for r in wanted]


def test_a_cursor_keeps_its_window_while_new_plays_arrive(gateway: GatewayClient) -> None:
    now = datetime.now(UTC)
    gateway.writer.plays([make_play(now - timedelta(minutes=i + 1), post_id=f"old{i}") for i in range(30)])
    first = gateway.json("/api/plays", limit=10)
    # A newer play and a play inside the part already read arrive between two pages.
    gateway.writer.plays(
        [
            make_play(now + timedelta(minutes=5), post_id="newer"),  # after the window's end
            make_play(now - timedelta(minutes=1, seconds=30), post_id="late"),  # in the part already read
        ]
    )
    rest, _ = _walk_from(gateway, first["next_cursor"], limit=10)
    ids = [p["post_id"] for p in first["items"] + rest]
    assert ids == [f"old{i}" for i in range(30)]


def _walk_from(gateway: GatewayClient, cursor: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    calls = 0
    while cursor is not None:
        page = gateway.json("/api/plays", **params, cursor=cursor)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        calls += 1
    return items, calls


def test_filters_select_what_they_say(gateway: GatewayClient) -> None:
    now = datetime.now(UTC)
    gateway.writer.plays(
        [
            make_play(
                now - timedelta(minutes=1), source="mastodon", post_id="m1", artist_names=["Björk"], track_name="Jóga"
            ),
            make_play(
                now - timedelta(minutes=2),
                source="bluesky",
                post_id="b1",
                is_bot=True,
                artist_names=["Radio Bot"],
                track_name="Jingle",
            ),
            make_play(now - timedelta(minutes=3), source="x", post_id="x1", matched=False),
            make_play(
                now - timedelta(minutes=4),
                source="mastodon",
                post_id="m2",
                artist_names=["Sigur Rós", "Björk"],
                track_name="Ágætis byrjun",
            ),
        ]
    )

    def ids(**params: Any) -> list[str]:
        return [p["post_id"] for p in gateway.json("/api/plays", **params)["items"]]

    assert ids() == ["m1", "b1", "x1", "m2"]
    assert ids(source="mastodon") == ["m1", "m2"]
    assert ids(artist="BJÖRK") == ["m1", "m2"]
    assert ids(track="jóga") == ["m1"]
    assert ids(matched="false") == ["x1"]
    assert ids(matched="true") == ["m1", "b1", "m2"]
    assert ids(bots="only") == ["b1"]
    assert ids(bots="exclude") == ["m1", "x1", "m2"]
    assert ids(source="mastodon", artist="sigur") == ["m2"]
    unmatched = gateway.json("/api/plays", matched="false")["items"][0]
    assert unmatched["track_id"] is None and unmatched["artist_names"] == [] and unmatched["energy"] is None


def test_time_window_bounds(gateway: GatewayClient) -> None:
    base = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    gateway.writer.plays([make_play(base + timedelta(minutes=15 * i), post_id=f"w{i}") for i in range(12)])
    page = gateway.json("/api/plays", start=_iso(base + timedelta(hours=1)), end=_iso(base + timedelta(hours=2)))
    # start inclusive (w4 at 13:00), end exclusive (w8 at 14:00 is out)
    assert [p["post_id"] for p in page["items"]] == ["w7", "w6", "w5", "w4"]
    assert page["start"] == "2026-03-01T13:00:00.000Z" and page["end"] == "2026-03-01T14:00:00.000Z"
    other_zone = gateway.json("/api/plays", start="2026-03-01T14:00:00+01:00", end="2026-03-01T15:00:00+01:00")
    assert [p["post_id"] for p in other_zone["items"]] == ["w7", "w6", "w5", "w4"]


def test_a_long_quiet_window_answers_partial_pages_that_lead_to_old_plays(gateway: GatewayClient) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    gateway.writer.plays([make_play(base + timedelta(minutes=5), post_id="ancient")])
    # 200 empty hour buckets sit between the end of the window and the only play.
    end = base + timedelta(hours=200)
    items, calls = _walk(gateway, start=_iso(base), end=_iso(end))
    assert [p["post_id"] for p in items] == ["ancient"]
    assert calls >= 2  # a page visits at most 72 buckets, then answers with a cursor


def test_bad_parameters_get_clear_4xx(gateway: GatewayClient) -> None:
    too_big = gateway.get("/api/plays", limit=201)
    assert too_big.status_code == 422
    body = too_big.json()["error"]
    assert body["code"] == "validation_error" and "limit" in body["message"]
    assert "Traceback" not in too_big.text

    reversed_window = gateway.get("/api/plays", start="2026-03-02T00:00:00Z", end="2026-03-01T00:00:00Z")
    assert reversed_window.status_code == 400
    assert "before" in reversed_window.json()["error"]["message"]

    naive = gateway.get("/api/plays", start="2026-03-01T00:00:00")
    assert naive.status_code == 400 and "time zone" in naive.json()["error"]["message"]

    too_long = gateway.get("/api/plays", start="2020-01-01T00:00:00Z", end="2026-01-01T00:00:00Z")
    assert too_long.status_code == 400

    assert gateway.get("/api/plays", source="myspace").status_code == 422
    assert gateway.get("/api/plays", bots="maybe").status_code == 422
    assert gateway.get("/api/plays", matched="perhaps").status_code == 422


def _tamper(cursor: str) -> list[str]:
    payload, signature = cursor.split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body = json.loads(raw)
    body["b"] = body["b"] + 1  # skip a bucket
    forged_payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    return [
        f"{forged_payload}.{signature}",  # changed position, old signature
        f"{payload}.{flipped}",  # changed signature
        payload,  # no signature
        cursor[:-5],  # truncated
        "not-a-cursor",
        "%%%.###",
        base64.urlsafe_b64encode(b'{"v":1}').decode() + ".AAAA",  # made up
    ]


def test_forged_or_tampered_cursors_are_refused(gateway: GatewayClient) -> None:
    now = datetime.now(UTC)
    gateway.writer.plays([make_play(now - timedelta(minutes=i + 1), post_id=f"t{i}") for i in range(12)])
    cursor = gateway.json("/api/plays", limit=5)["next_cursor"]
    assert cursor
    assert gateway.get("/api/plays", limit=5, cursor=cursor).status_code == 200
    for bad in _tamper(cursor):
        response = gateway.get("/api/plays", limit=5, cursor=bad)
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "invalid_cursor"
        assert "Traceback" not in response.text


def test_a_cursor_replayed_with_other_filters_is_refused(gateway: GatewayClient) -> None:
    now = datetime.now(UTC)
    gateway.writer.plays([make_play(now - timedelta(minutes=i + 1), post_id=f"r{i}") for i in range(12)])
    page = gateway.json("/api/plays", limit=5, bots="exclude")
    cursor = page["next_cursor"]
    assert gateway.get("/api/plays", limit=5, bots="exclude", cursor=cursor).status_code == 200
    for other in ({"bots": "only"}, {"bots": "exclude", "source": "x"}, {"bots": "exclude", "artist": "a"}):
        response = gateway.get("/api/plays", limit=5, cursor=cursor, **other)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "cursor_mismatch"
    shifted = gateway.get("/api/plays", limit=5, bots="exclude", cursor=cursor, start="2026-01-01T00:00:00Z")
    assert shifted.status_code == 400 and shifted.json()["error"]["code"] == "cursor_mismatch"
    # The same window spelled out explicitly is fine.
    same = gateway.get("/api/plays", limit=5, bots="exclude", cursor=cursor, start=page["start"], end=page["end"])
    assert same.status_code == 200


def test_export_csv_streams_the_whole_window_with_the_enriched_columns(gateway: GatewayClient) -> None:
    now = datetime.now(UTC)
    rows = [make_play(now - timedelta(minutes=2 * i + 1), post_id=f"e{i}", artist_names=["A, with comma", "B"])
            for i in range(700)]  # fmt: skip
    rows.append(make_play(now - timedelta(minutes=1, seconds=30), post_id="u1", matched=False, is_bot=True))
    gateway.writer.plays(rows)
    response = gateway.get("/api/plays/export", format="csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    reader = csv.reader(io.StringIO(response.text))
    header = next(reader)
    assert tuple(header) == ENRICHED_CSV_COLUMNS
    records = [dict(zip(header, line, strict=True)) for line in reader]
    assert len(records) == 701
    assert [r["id_tweet"] for r in records[:3]] == ["e0", "u1", "e1"]
    assert json.loads(records[0]["artists_name"]) == ["A, with comma", "B"]
    assert records[0]["energy"] == "0.6" and records[0]["is_bot"] == "false"
    unmatched = records[1]
    assert unmatched["id_track"] == "" and unmatched["energy"] == "" and unmatched["is_bot"] == "true"

    only_bots = gateway.get("/api/plays/export", format="json", bots="only")
    assert only_bots.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in only_bots.text.splitlines()]
    assert [p["post_id"] for p in lines] == ["u1"]


def test_export_of_an_empty_window_is_just_the_header(gateway: GatewayClient) -> None:
    response = gateway.get("/api/plays/export")
    assert response.status_code == 200
    assert response.text.strip() == ",".join(ENRICHED_CSV_COLUMNS)
    assert gateway.get("/api/plays/export", format="json").text == ""
    assert gateway.get("/api/plays/export", format="xml").status_code == 422
