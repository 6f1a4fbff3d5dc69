"""Explain a match and correct one, in headless Chromium against the real gateway (issue 21).

Its own keyspace (so the other pages' data stay exactly theirs): posts with ranked readings go
through the real enricher (the sandbox's Spotify, with a SANDBOX_CATALOG of invented tracks) and the
real loader; the pages read what the gateway serves. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from nowplaying.common.cassandra import connect, shutdown
from nowplaying.common.config import Settings
from nowplaying.common.migrate import migrate
from nowplaying.common.models import format_rfc3339
from nowplaying.enricher.service import run_once
from nowplaying.loader.stage import run_load
from nowplaying.sandbox.server import RunningSandbox, start_sandbox
from nowplaying.sandbox.state import SandboxConfig
from pydantic import SecretStr

from tests.e2e.conftest import HOSTILE_TEXT, Tab, _Server, _tab
from tests.support.matching import parsed_post, sandbox_settings, spotify_track, write_clean

HARBOUR = "4HarbourLights0000000a"
COVER = "6PaperSatellitesCover0"
CATALOG = [
    spotify_track(HARBOUR, "Quiet Harbour Lights", [("1MarlowFenn00000000000", "Marlow Fenn")], "Tidewater"),
    spotify_track(COVER, "Paper Satellites", [("3OrbitQuartet000000000", "Orbit String Quartet")], "Covers"),
]
TOKEN = "e2e-admin-" + secrets.token_hex(8)


@dataclass
class MatchWorld:
    url: str
    settings: Settings
    session: Any
    sandbox: RunningSandbox


@pytest.fixture(scope="module")
def world(
    cassandra_settings: Settings, frontend_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MatchWorld]:
    from nowplaying.gateway.app import create_app

    root = tmp_path_factory.mktemp("e2e-matches")
    catalog = root / "catalog.jsonl"
    catalog.write_text("\n".join(json.dumps(t) for t in CATALOG) + "\n", encoding="utf-8")
    (root / "lake").mkdir()
    sandbox = start_sandbox(SandboxConfig(posts_per_minute=0.0, initial_posts=0, catalog_file=str(catalog)))
    keyspace = f"{cassandra_settings.cassandra_keyspace}_m"
    settings = sandbox_settings(
        cassandra_settings,
        sandbox.base_url,
        cassandra_keyspace=keyspace,
        lake_dir=root / "lake",
        load_workers=1,
        frontend_dist=frontend_dist,
        cursor_secret=SecretStr("e2e-matches-cursor"),
        admin_token=SecretStr(TOKEN),
    )
    session = connect(settings)
    migrate(session, keyspace, settings.replication_map)
    played = format_rfc3339(datetime.now(UTC) - timedelta(hours=1))
    write_clean(
        settings,
        parsed_post(
            "m1",
            f"Harbour FM 104.2 Marlow Fenn - Quiet Harbour Lights {HOSTILE_TEXT}",
            [
                ("Harbour FM 104.2 Marlow Fenn", "Quiet Harbour Lights", None, "split_dash"),
                ("Marlow Fenn", "Quiet Harbour Lights", None, "drop_station_prefix"),
            ],
            created_at=played,
        ),
        parsed_post("m2", "Nothing here - At All", [("Nothing Here", "At All", None, "split_dash")], created_at=played),
    )
    assert run_once(settings, session).status == "ok"
    run_load(settings, session)
    try:
        with _Server(create_app(settings, session)) as server:
            yield MatchWorld(f"http://127.0.0.1:{server.port}", settings, session, sandbox)
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
        shutdown(session)
        sandbox.stop()


@pytest.fixture
def mtab(browser: Any, world: MatchWorld) -> Iterator[Tab]:
    yield from _tab(browser, world.url, 1280, 900)


def _data_row(tab: Tab, post_id: str) -> Any:
    tab.go("#/data")
    tab.page.wait_for_selector(f'table.plays tbody tr[data-post="x:{post_id}"]')
    return tab.page.locator(f'table.plays tbody tr[data-post="x:{post_id}"]')


def test_the_explanation_is_shown_in_words_from_the_data_table(mtab: Tab, world: MatchWorld) -> None:
    page = mtab.page
    row = _data_row(mtab, "m1")
    row.locator("a.why").click()
    page.wait_for_selector("#explain-decision")
    assert page.url.endswith("#/explain/x/m1")
    decision = page.locator("#explain-decision").inner_text()
    assert decision.startswith("Matched (reading 2) with confidence") and "at or above the threshold of 80" in decision
    readings = page.locator("table.explain-readings tbody tr")
    assert readings.count() == 2
    assert "drop_station_prefix" in readings.nth(1).inner_text() and "matched" in readings.nth(1).inner_text()
    searches = page.locator("ol.explain-searches > li")
    assert searches.count() >= 2
    accepted = page.locator("ol.explain-searches tr.chosen")
    assert accepted.count() == 1 and "Quiet Harbour Lights" in accepted.inner_text()
    assert "accepted" in accepted.inner_text()
    body = page.locator("main").inner_text()
    assert "Spotify search" in body and "{" not in body  # words, never raw JSON
    assert page.locator(".explain a.btn", has_text="Open the track").get_attribute("href") == f"#/track/{HARBOUR}"
    mtab.shot("explain-matched")

    # the unmatched play: why not, from its own row
    _data_row(mtab, "m2").locator("a.why").click()
    page.wait_for_selector("#explain-decision")
    # its search found nothing in the catalog: said plainly, not "the best candidate scored 0%"
    nothing_found = "Not matched: the search found no candidates in the catalog."
    assert page.locator("#explain-decision").inner_text() == nothing_found
    assert "0%" not in page.locator(".explain-summary").inner_text()
    assert page.locator("ol.explain-searches tr.chosen").count() == 0
    mtab.shot("explain-unmatched")
    assert mtab.errors == [] and mtab.dialogs == []


def test_the_track_page_links_each_post_to_its_explanation(mtab: Tab, world: MatchWorld) -> None:
    page = mtab.page
    mtab.go(f"#/track/{HARBOUR}")
    page.wait_for_selector("ol.posts li")
    page.locator("ol.posts li a.why").first.click()
    page.wait_for_selector("#explain-decision")
    assert page.url.endswith("#/explain/x/m1")
    # the post's markup is text in the page, and ran nothing
    assert mtab.dialogs == [] and mtab.errors == []
    assert page.locator("main script").count() == 0


def test_an_unknown_play_says_so(mtab: Tab, world: MatchWorld) -> None:
    mtab.go("#/explain/x/no-such-post")
    mtab.page.wait_for_selector("h1:has-text('No explanation')")
    assert requests.get(f"{world.url}/api/plays/x/no-such-post/explain", timeout=10).status_code == 404


def test_a_corrected_match_is_marked_in_the_table_and_explained(mtab: Tab, world: MatchWorld) -> None:
    # the admin corrects the unmatched play; the next enrich run and load re-enrich it
    refused = requests.put(
        f"{world.url}/api/matches", json={"source": "x", "post_id": "m2", "track_id": COVER}, timeout=10
    )
    assert refused.status_code == 401
    response = requests.put(
        f"{world.url}/api/matches",
        json={"source": "x", "post_id": "m2", "track_id": COVER, "by": "e2e-admin"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert run_once(world.settings, world.session).status == "ok"
    run_load(world.settings, world.session)

    page = mtab.page
    row = _data_row(mtab, "m2")
    assert row.locator(".tag.corrected").inner_text() == "corrected"
    assert "Paper Satellites" in row.inner_text()
    assert _data_row(mtab, "m1").locator(".tag.corrected").count() == 0
    mtab.shot("data-corrected")
    row = _data_row(mtab, "m2")
    row.locator("a.why").click()
    page.wait_for_selector("#explain-correction")
    assert page.locator("h1").inner_text() == "Why this match (corrected)"
    correction = page.locator("#explain-correction").inner_text()
    assert "e2e-admin" in correction and COVER in correction and "nothing here|at all|" in correction
    assert page.locator("#explain-decision").inner_text() == "Matched by a correction."
    mtab.shot("explain-corrected")
    assert mtab.errors == [] and mtab.dialogs == []
