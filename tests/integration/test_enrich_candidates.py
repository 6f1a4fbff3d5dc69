"""The candidate walk (issue 19) against the real sandbox and Cassandra, and SANDBOX_CATALOG.

The sandbox here is started with a ``SANDBOX_CATALOG`` file: a few Spotify track objects with invented
names (plus two malformed lines), added to the generated catalog. Posts are ParsedPosts with ranked
``candidates``, written as clean batches; the enrich stage runs on them with the real Spotify client.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from nowplaying.common.config import Settings
from nowplaying.enricher.core import MAX_UNCACHED_SEARCHES
from nowplaying.enricher.service import run_once
from nowplaying.sandbox.server import RunningSandbox, start_sandbox
from nowplaying.sandbox.state import SandboxConfig

from tests.support.matching import (
    enriched_rows,
    parsed_post,
    sandbox_settings,
    search_count,
    spotify_track,
    write_clean,
)

HARBOUR = "4HarbourLights0000000a"  # Spotify ids: 22 base62 characters
SATELLITES = "5PaperSatellites00000b"
COVER = "6PaperSatellitesCover0"


_track = spotify_track


CATALOG_LINES = [
    json.dumps(_track(HARBOUR, "Quiet Harbour Lights", [("1MarlowFenn00000000000", "Marlow Fenn")], "Tidewater")),
    json.dumps(
        _track(SATELLITES, "Paper Satellites", [("2LanternCircuit0000000", "The Lantern Circuit")], "Low Orbit")
    ),
    '{"type": "track", "id": "7NoArtists000000000000", "name": "Nobody Sang", "artists": [], "album": {}}',
    json.dumps(_track(COVER, "Paper Satellites", [("3OrbitQuartet000000000", "Orbit String Quartet")], "Covers")),
    "{not json",
]


@pytest.fixture(scope="module")
def catalog_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningSandbox, Path]]:
    path = tmp_path_factory.mktemp("catalog") / "catalog.jsonl"
    path.write_text("\n".join(CATALOG_LINES) + "\n", encoding="utf-8")
    running = start_sandbox(SandboxConfig(posts_per_minute=0.0, initial_posts=0, catalog_file=str(path)))
    yield running, path
    running.stop()


@pytest.fixture
def settings(clean_db: Settings, lake_dir: Path, catalog_sandbox: tuple[RunningSandbox, Path]) -> Settings:
    running, _ = catalog_sandbox
    running.reset()
    return sandbox_settings(clean_db, running.base_url, lake_dir=lake_dir)


_post = parsed_post
_rows = enriched_rows


def _write(settings: Settings, *posts: dict[str, Any]) -> None:
    write_clean(settings, *posts)


def _searches(running: RunningSandbox) -> int:
    """Spotify search requests the sandbox received so far."""
    return search_count(running.admin("GET", "/stats"))


STATION_FIRST = ("Harbour FM 104.2 Marlow Fenn", "Quiet Harbour Lights", None, "split_dash")
STATION_DROPPED = ("Marlow Fenn", "Quiet Harbour Lights", None, "drop_station_prefix")


def test_the_catalog_file_adds_searchable_tracks_and_names_its_bad_lines(
    catalog_sandbox: tuple[RunningSandbox, Path], settings: Settings
) -> None:
    running, path = catalog_sandbox
    corpus = running.admin("GET", "/stats")["corpus"]
    assert corpus["catalog_extra_tracks"] == 3  # the rest of the file loaded
    errors = corpus["catalog_file_errors"]
    assert len(errors) == 2
    assert errors[0].startswith(f"{path}:3: ") and "field 'artists' is empty" in errors[0]
    assert errors[1].startswith(f"{path}:5: not JSON")

    # the published search contract: fielded q, limit, offset, market
    token = requests.post(
        f"{running.base_url}/spotify/accounts/api/token",
        data={"grant_type": "client_credentials"},
        auth=("sandbox-client", "sandbox-secret"),
        timeout=10,
    ).json()["access_token"]

    def search(**params: Any) -> dict[str, Any]:
        response = requests.get(
            f"{running.base_url}/spotify/api/v1/search",
            params={"type": "track", **params},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        response.raise_for_status()
        return dict(response.json()["tracks"])

    found = search(q='track:"Paper Satellites" artist:"Lantern Circuit"', limit=5, market="GB")
    assert [t["id"] for t in found["items"]] == [SATELLITES]
    item = found["items"][0]
    assert item["artists"][0]["name"] == "The Lantern Circuit" and item["album"]["name"] == "Low Orbit"
    assert item["is_playable"] is True and "popularity" not in item  # Development Mode, a market given
    both = search(q='track:"Paper Satellites"', limit=1)
    assert both["total"] == 2 and len(both["items"]) == 1 and both["next"]
    second = search(q='track:"Paper Satellites"', limit=1, offset=1)
    assert {both["items"][0]["id"], second["items"][0]["id"]} == {SATELLITES, COVER}
    assert search(q="Nobody Sang")["total"] == 0  # the malformed line's track is not there


def test_a_later_candidate_matches_and_the_play_records_it(settings: Settings, session: Any) -> None:
    _write(
        settings,
        _post("p1", "Harbour FM 104.2 Marlow Fenn - Quiet Harbour Lights", [STATION_FIRST, STATION_DROPPED]),
        _post(
            "p2",
            "#np Paper Satellites - The Lantern Circuit",
            [
                ("Paper Satellites", "The Lantern Circuit", None, "split_dash"),
                ("The Lantern Circuit", "Paper Satellites", None, "swap_order"),
            ],
        ),
        _post("p3", "Nothing here - At All", [("Nothing Here", "At All", None, "split_dash")]),
    )
    summary = run_once(settings, session)
    assert summary.status == "ok" and summary.batches_done == 1
    rows = _rows(settings)
    assert (rows["p1"]["id_track"], rows["p1"]["match_candidate"], rows["p1"]["match_rule"]) == (
        HARBOUR,
        "1",
        "drop_station_prefix",
    )
    assert rows["p1"]["match_method"] in ("search_fields", "search_relaxed")
    # the swapped reading is the right one (the scorer's own orientation check may also find it first)
    assert rows["p2"]["id_track"] == SATELLITES and rows["p2"]["match_candidate"] in ("0", "1")
    assert rows["p3"]["id_track"] == "" and rows["p3"]["match_candidate"] == "" and rows["p3"]["match_rule"] == ""
    assert rows["p3"]["match_method"] == "none"  # a miss is still a play, recorded unmatched


def test_at_most_three_uncached_searches_per_post(
    settings: Settings, session: Any, catalog_sandbox: tuple[RunningSandbox, Path]
) -> None:
    running, _ = catalog_sandbox
    readings = [(f"Unknown Act {i}", f"No Such Song {i}", None, f"rule_{i}") for i in range(8)]
    queries = [(None, None, f"nothing like this {i}", f"query_{i}") for i in range(8)]
    _write(settings, _post("many", "Unknown Act 0 - No Such Song 0", readings), _post("q", "nothing", queries))
    before = _searches(running)
    summary = run_once(settings, session)
    assert summary.status == "ok"
    assert _searches(running) - before == 2 * MAX_UNCACHED_SEARCHES
    rows = _rows(settings)
    assert rows["many"]["id_track"] == "" and rows["q"]["id_track"] == ""
    # the same posts again cost no search (the cut-short walks are cached whole); a post sharing
    # only some readings still searches the readings that were never finished
    _write(settings, _post("many2", "Unknown Act 0 - No Such Song 0", readings), _post("q2", "nothing", queries))
    before = _searches(running)
    assert run_once(settings, session).status == "ok"
    assert _searches(running) == before
    _write(settings, _post("q3", "nothing", queries[1:]), _post("q4", "nothing", queries[1:]))
    before = _searches(running)
    assert run_once(settings, session).status == "ok"
    assert _searches(running) - before == MAX_UNCACHED_SEARCHES  # readings 3..5; 1..2 cached; q4 = q3
    assert len(_rows(settings)) == 6


def test_the_cache_is_asked_before_any_search(
    settings: Settings, session: Any, catalog_sandbox: tuple[RunningSandbox, Path]
) -> None:
    running, _ = catalog_sandbox
    _write(settings, _post("plain", "Marlow Fenn - Quiet Harbour Lights", [STATION_DROPPED]))
    assert run_once(settings, session).status == "ok"
    assert _rows(settings)["plain"]["id_track"] == HARBOUR
    # a later post whose first reading was never searched: its second reading is in the match cache
    _write(
        settings,
        _post("station", "Harbour FM 104.2 Marlow Fenn - Quiet Harbour Lights", [STATION_FIRST, STATION_DROPPED]),
    )
    before = _searches(running)
    assert run_once(settings, session).status == "ok"
    assert _searches(running) == before  # no search at all
    row = _rows(settings)["station"]
    assert (row["id_track"], row["match_candidate"], row["match_rule"]) == (HARBOUR, "1", "drop_station_prefix")


def test_the_matched_candidate_survives_to_cassandra(settings: Settings, session: Any) -> None:
    from nowplaying.loader.stage import run_load

    _write(
        settings,
        _post("p1", "Harbour FM 104.2 Marlow Fenn - Quiet Harbour Lights", [STATION_FIRST, STATION_DROPPED]),
        _post("p3", "Nothing here - At All", [("Nothing Here", "At All", None, "split_dash")]),
    )
    assert run_once(settings, session).status == "ok"
    run_load(settings.model_copy(update={"load_workers": 1}), session)
    ks = settings.cassandra_keyspace
    rows = {
        r.post_id: r
        for r in session.execute(
            f"SELECT post_id, track_id, match_candidate, match_rule FROM {ks}.plays_by_hour WHERE bucket = %s",
            ("2026-12-01T10",),
        )
    }
    assert set(rows) == {"p1", "p3"}
    assert (rows["p1"].track_id, rows["p1"].match_candidate, rows["p1"].match_rule) == (
        HARBOUR,
        1,
        "drop_station_prefix",
    )
    assert (rows["p3"].track_id, rows["p3"].match_candidate, rows["p3"].match_rule) == (None, None, None)
