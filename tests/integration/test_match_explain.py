"""Explain a match (issue 21) through the real enricher, loader and gateway, over the real Cassandra.

The sandbox is started with a ``SANDBOX_CATALOG`` file of invented tracks; posts are ParsedPosts with
ranked candidates written as clean batches; the enrich stage runs with the real Spotify client, the
loader loads its CSV, and ``GET /api/plays/{source}/{post_id}/explain`` answers from what the enricher
recorded when it decided.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from nowplaying.common.cassandra import connect, shutdown
from nowplaying.common.config import Settings
from nowplaying.enricher.core import MAX_UNCACHED_SEARCHES
from nowplaying.enricher.rework import ReworkQueue
from nowplaying.enricher.service import run_once
from nowplaying.loader.stage import run_load
from nowplaying.sandbox.server import RunningSandbox

from tests.fixtures_gateway import ServerThread
from tests.support.matching import (
    catalog_sandbox,
    parsed_post,
    sandbox_settings,
    search_count,
    spotify_track,
    write_clean,
)

HARBOUR = "4HarbourLights0000000a"
SATELLITES = "5PaperSatellites00000b"
COVER = "6PaperSatellitesCover0"
CATALOG = [
    spotify_track(HARBOUR, "Quiet Harbour Lights", [("1MarlowFenn00000000000", "Marlow Fenn")], "Tidewater"),
    spotify_track(SATELLITES, "Paper Satellites", [("2LanternCircuit0000000", "The Lantern Circuit")], "Low Orbit"),
    spotify_track(COVER, "Paper Satellites", [("3OrbitQuartet000000000", "Orbit String Quartet")], "Covers"),
]
STATION_FIRST = ("Harbour FM 104.2 Marlow Fenn", "Quiet Harbour Lights", None, "split_dash")
STATION_DROPPED = ("Marlow Fenn", "Quiet Harbour Lights", None, "drop_station_prefix")
NOTHING = ("Nothing Here", "At All", None, "split_dash")
WRONG_ARTIST = ("Marlow Fenn", "Paper Satellites", None, "split_dash")  # the title is in the catalog, not by him


@pytest.fixture(scope="module")
def explain_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    yield from catalog_sandbox(tmp_path_factory.mktemp("explain"), CATALOG)


@pytest.fixture
def settings(clean_db: Settings, lake_dir: Path, explain_sandbox: RunningSandbox) -> Settings:
    explain_sandbox.reset()
    return sandbox_settings(clean_db, explain_sandbox.base_url, lake_dir=lake_dir, load_workers=1)


@pytest.fixture
def api(settings: Settings, session: Any) -> Iterator[str]:
    from nowplaying.gateway.app import create_app

    with ServerThread(create_app(settings, session)) as server:
        yield server.base_url


def _explain(api: str, post_id: str, source: str = "x") -> dict[str, Any]:
    response = requests.get(f"{api}/api/plays/{source}/{post_id}/explain", timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_explanation_is_the_decision_made_at_enrichment(
    settings: Settings, session: Any, api: str, explain_sandbox: RunningSandbox
) -> None:
    write_clean(
        settings,
        parsed_post("p1", "Harbour FM 104.2 Marlow Fenn - Quiet Harbour Lights", [STATION_FIRST, STATION_DROPPED]),
        parsed_post("p3", "Nothing here - At All", [NOTHING]),
        parsed_post("p5", "Marlow Fenn - Paper Satellites", [WRONG_ARTIST]),
    )
    assert run_once(settings, session).status == "ok"
    run_load(settings, session)

    matched = _explain(api, "p1")
    assert (matched["source"], matched["post_id"], matched["track_id"], matched["corrected"]) == (
        "x",
        "p1",
        HARBOUR,
        False,
    )
    why = matched["explanation"]
    assert [c["rule"] for c in why["candidates"]] == ["split_dash", "drop_station_prefix"]
    assert [r["cache"] for r in why["readings"]] == ["miss", "miss"]
    assert why["readings"][1]["key"] in matched["match_keys"]
    assert why["threshold"] == settings.match_threshold and why["budget"] == MAX_UNCACHED_SEARCHES
    decision = why["decision"]
    assert (decision["track_id"], decision["reading"], decision["by"], decision["matched"]) == (
        HARBOUR,
        1,
        "search",
        True,
    )
    accepted = [s for s in why["searches"] if s["accepted"]]
    assert len(accepted) == 1 and accepted[0]["from"] == "api" and accepted[0]["reading"] == 1
    best = accepted[0]["top"][0]
    assert best["track_id"] == HARBOUR and best["name"] == "Quiet Harbour Lights"
    assert best["confidence"] >= settings.match_threshold and best["confidence"] == decision["confidence"]
    assert {"similarity", "penalty", "title_similarity", "artist_similarity"} <= set(best)
    assert why["api_searches"] == sum(1 for s in why["searches"] if s["from"] == "api") >= 2
    assert all(s["from"] != "budget" for s in why["searches"])

    missed = _explain(api, "p3")["explanation"]
    assert missed["decision"]["matched"] is False and missed["decision"]["by"] == "search"
    assert missed["searches"] and all(s["accepted"] is None for s in missed["searches"])
    for search in missed["searches"]:
        assert search["results"] == 0 and search["top"] == []
    # a search that found nothing says so, not "the best candidate scored 0%"
    assert missed["decision"]["candidates_found"] == 0
    assert missed["decision"]["summary"] == "Not matched: the search found no candidates in the catalog."
    assert decision["candidates_found"] == sum(s["results"] for s in why["searches"]) > 0
    assert decision["summary"].startswith("Matched with confidence")

    # candidates found, none good enough: the best one's score against the threshold
    below = _explain(api, "p5")["explanation"]
    assert below["decision"]["matched"] is False and below["decision"]["by"] == "search"
    found = below["decision"]["candidates_found"]
    assert found == sum(s["results"] for s in below["searches"]) > 0
    best_below = max(c["confidence"] for s in below["searches"] for c in s["top"])
    assert best_below < settings.match_threshold
    assert below["decision"]["summary"] == (
        f"Not matched: the best of the {found} catalog results scored {round(best_below * 100)}%,"
        f" below the threshold of {round(settings.match_threshold * 100)}%."
    )

    # a later post with the same readings: decided by the match cache, no search; and the first
    # play's explanation is still the one of its own decision
    before = search_count(explain_sandbox.admin("GET", "/stats"))
    write_clean(
        settings,
        parsed_post("p4", "Harbour FM 104.2 Marlow Fenn - Quiet Harbour Lights", [STATION_FIRST, STATION_DROPPED]),
    )
    assert run_once(settings, session).status == "ok"
    assert search_count(explain_sandbox.admin("GET", "/stats")) == before
    cached = _explain(api, "p4")["explanation"]
    assert cached["decision"]["by"] == "cache" and cached["searches"] == [] and cached["api_searches"] == 0
    assert cached["decision"]["candidates_found"] is None  # no search decided it
    assert [r["cache"] for r in cached["readings"]] == ["miss", "hit"]
    assert _explain(api, "p1") == matched

    assert requests.get(f"{api}/api/plays/x/nope/explain", timeout=10).status_code == 404
    assert requests.get(f"{api}/api/plays/myspace/p1/explain", timeout=10).status_code == 422


# --- correct a match --------------------------------------------------------------------------
TOKEN = "listener-admin-token-" + "x" * 12


def _admin_app(settings: Settings, session: Any, token: str | None) -> ServerThread:
    from nowplaying.gateway.app import create_app
    from pydantic import SecretStr

    return ServerThread(
        create_app(settings.model_copy(update={"admin_token": SecretStr(token) if token else None}), session)
    )


def _put(base: str, body: dict[str, Any], token: str | None = TOKEN, scheme: str = "Bearer") -> requests.Response:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return requests.put(f"{base}/api/matches", json=body, headers=headers, timeout=10)


def _override_tables(session: Any, settings: Settings) -> tuple[list[Any], list[Any], list[Any]]:
    ks = settings.cassandra_keyspace
    return (
        list(session.execute(f"SELECT * FROM {ks}.match_overrides")),
        list(session.execute(f"SELECT * FROM {ks}.match_override_audit")),
        list(session.execute(f"SELECT * FROM {ks}.match_override_pending")),
    )


def _bucket(session: Any, settings: Settings) -> dict[str, Any]:
    ks = settings.cassandra_keyspace
    out: dict[str, Any] = {}
    for row in session.execute(
        f"SELECT post_id, track_id, match_method FROM {ks}.plays_by_hour WHERE bucket = %s", ("2026-12-01T10",)
    ):
        assert row.post_id not in out  # one row per play
        out[row.post_id] = row
    return out


def _enriched_files(settings: Settings) -> int:
    from nowplaying.common.lake import FolderLake

    lake = FolderLake(settings.lake_dir)
    return len(lake.list_batches("enriched")) + len(lake.list_batches("history"))


def test_the_admin_api_is_off_without_a_token_and_refuses_a_missing_or_wrong_one(
    settings: Settings, session: Any
) -> None:
    write_clean(settings, parsed_post("p3", "Nothing here - At All", [NOTHING]))
    assert run_once(settings, session).status == "ok"
    body = {"source": "x", "post_id": "p3", "track_id": COVER}
    with _admin_app(settings, session, None) as off:
        response = _put(off.base_url, body)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
        assert _put(off.base_url, body, token=None).status_code == 404
    with _admin_app(settings, session, TOKEN) as on:
        before = _explain(on.base_url, "p3")
        for token, scheme in ((None, "Bearer"), ("wrong-token", "Bearer"), (TOKEN + "x", "Bearer"), (TOKEN, "Basic")):
            refused = _put(on.base_url, body, token=token, scheme=scheme)
            assert refused.status_code == 401, (token, scheme)
            assert refused.json()["error"]["code"] == "unauthorized"
        assert _override_tables(session, settings) == ([], [], [])
        assert _explain(on.base_url, "p3") == before
        # a bad request with the token: named, and no change either
        for bad in ({"source": "x", "post_id": "p3"}, {"query_key": "w:abc", "track_id": COVER}, {"track_id": COVER}):
            assert _put(on.base_url, bad).status_code == 422, bad
        assert _put(on.base_url, {"source": "x", "post_id": "nope", "track_id": COVER}).status_code == 404
        assert _override_tables(session, settings) == ([], [], [])


def test_a_correction_wins_over_search_replaces_loaded_plays_once_and_survives_a_restart(
    settings: Settings, session: Any, explain_sandbox: RunningSandbox
) -> None:
    write_clean(
        settings,
        parsed_post("p1", "Marlow Fenn - Quiet Harbour Lights", [STATION_DROPPED]),
        parsed_post("p3", "Nothing here - At All", [NOTHING]),
    )
    assert run_once(settings, session).status == "ok"
    run_load(settings, session)
    assert {k: r.track_id for k, r in _bucket(session, settings).items()} == {"p1": HARBOUR, "p3": None}

    with _admin_app(settings, session, TOKEN) as gw:
        key = _explain(gw.base_url, "p3")["explanation"]["readings"][0]["key"]
        changed = _put(gw.base_url, {"source": "x", "post_id": "p3", "track_id": COVER, "by": "lena"})
        assert changed.status_code == 200, changed.text
        answer = changed.json()
        assert (answer["query_key"], answer["old"], answer["new"]["track_id"], answer["plays_known"]) == (
            key,
            None,
            COVER,
            1,
        )
    overrides, audit, pending = _override_tables(session, settings)
    assert [(o.query_key, o.track_id, o.not_a_song, o.set_by) for o in overrides] == [(key, COVER, False, "lena")]
    assert [(a.query_key, a.who, a.old_value, a.new_value) for a in audit] == [(key, "lena", "", COVER)]
    assert audit[0].changed_at is not None and [p.query_key for p in pending] == [key]

    # a future post with that query: the override, no search; the loaded play: re-enriched
    files = _enriched_files(settings)
    searches = search_count(explain_sandbox.admin("GET", "/stats"))
    write_clean(settings, parsed_post("p5", "nothing here — at all!", [NOTHING]))
    summary = run_once(settings, session)
    assert summary.status == "ok"
    assert search_count(explain_sandbox.admin("GET", "/stats")) == searches
    assert _enriched_files(settings) == files + 2  # p5's batch and one rework batch (p3)
    loaded = run_load(settings, session)
    plays = _bucket(session, settings)
    assert set(plays) == {"p1", "p3", "p5"}  # p3 replaced in place, p5 new
    assert {k: (r.track_id, r.match_method) for k, r in plays.items() if k != "p1"} == {
        "p3": (COVER, "override"),
        "p5": (COVER, "override"),
    }
    assert sum(f.rows_loaded for f in loaded.files) == 2
    # the next runs change nothing: each row was replaced exactly once
    assert run_once(settings, session).status == "ok"
    assert _enriched_files(settings) == files + 2
    assert run_load(settings, session).files == []
    assert _override_tables(session, settings)[2] == []  # nothing pending any more

    # restart: a new session, a new gateway and a new enricher; the override is still there
    shutdown(session)
    fresh = connect(settings)
    try:
        with _admin_app(settings, fresh, TOKEN) as gw:
            explained = _explain(gw.base_url, "p3")
            assert explained["corrected"] is True and explained["method"] == "override"
            why = explained["explanation"]
            assert why["context"] == "override" and why["decision"]["by"] == "override"
            assert why["override"]["set_by"] == "lena" and why["override"]["track_id"] == COVER
            again = _put(gw.base_url, {"query_key": key, "track_id": COVER, "by": "lena"}).json()
            assert again["old"]["track_id"] == COVER  # it survived; the same value is no change
            assert len(_override_tables(fresh, settings)[1]) == 1
        write_clean(settings, parsed_post("p6", "Nothing Here - At All", [NOTHING]))
        assert run_once(settings, fresh).status == "ok"
        run_load(settings, fresh)
        assert _bucket(fresh, settings)["p6"].track_id == COVER

        # then "not a song": the plays stay (unmatched, marked corrected), each replaced once
        with _admin_app(settings, fresh, TOKEN) as gw:
            gone = _put(gw.base_url, {"query_key": key, "not_a_song": True, "by": "lena"}).json()
            assert gone["old"]["track_id"] == COVER and gone["new"]["not_a_song"] is True
        assert run_once(settings, fresh).status == "ok"
        replaced = run_load(settings, fresh)
        assert sum(f.rows_replaced for f in replaced.files) == 3
        plays = _bucket(fresh, settings)
        assert set(plays) == {"p1", "p3", "p5", "p6"}
        assert {k: (r.track_id, r.match_method) for k, r in plays.items() if k != "p1"} == {
            k: (None, "override") for k in ("p3", "p5", "p6")
        }
        audit = _override_tables(fresh, settings)[1]
        assert [(a.old_value, a.new_value) for a in audit] == [(COVER, "not_a_song"), ("", COVER)]  # newest first
        # not a song is never re-checked: p3's re-check (queued at its first miss) finds the
        # correction, changes nothing and queues no other
        ks = settings.cassandra_keyspace
        queue = ReworkQueue(fresh, ks)
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        today_rows = queue.waiting(tomorrow.date() - timedelta(days=1), "override", 100)
        assert today_rows == [] and [
            (d.post_id, d.attempt) for d in queue.waiting(tomorrow.date(), "recheck", 100)
        ] == [("p3", 1)]
        files = _enriched_files(settings)
        assert run_once(settings, fresh, clock=lambda: tomorrow).status == "ok"
        assert _enriched_files(settings) == files
        assert queue.waiting(tomorrow.date(), "recheck", 100) == []
        later = [tomorrow.date() + timedelta(days=n) for n in range(1, 40)]
        assert all(queue.waiting(day, "recheck", 100) == [] for day in later)
    finally:
        shutdown(fresh)
