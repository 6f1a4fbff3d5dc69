"""Re-check the unmatched (issue 21) with the sandbox, the real enricher and loader, the real Cassandra.

A post names a track the catalog does not have yet: its play is loaded unmatched. The track is then
added to the sandbox's catalog (``POST /_admin/catalog``); the enrich run one day later searches the
play again, matches it and writes a rework batch; the loader replaces the row: the play count is
unchanged and the track's audio features arrive. A play that never matches is searched again after
1, 2, 4, 8, 16 and 32 days, and then no more. The enrich runs are given their day (``clock``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nowplaying.common.config import Settings
from nowplaying.common.lake import FolderLake, is_rework_batch
from nowplaying.enricher.core import MAX_UNCACHED_SEARCHES
from nowplaying.enricher.rework import RECHECK_DAYS, ReworkQueue
from nowplaying.enricher.service import run_once
from nowplaying.loader.stage import run_load
from nowplaying.sandbox.server import RunningSandbox

from tests.support.matching import (
    catalog_sandbox,
    parsed_post,
    sandbox_settings,
    search_count,
    spotify_track,
    write_clean,
)

HARBOUR = "4HarbourLights0000000a"
LATE = "7SaltLinesWrenHollow0c"  # released after the post named it
LATE_TRACK = spotify_track(LATE, "Salt Lines", [("8WrenHollow00000000000", "Wren Hollow")], "Estuary")
DAY0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BUCKET = "2026-12-01T10"


@pytest.fixture(scope="module")
def recheck_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    track = spotify_track(HARBOUR, "Quiet Harbour Lights", [("1MarlowFenn00000000000", "Marlow Fenn")], "Tidewater")
    yield from catalog_sandbox(tmp_path_factory.mktemp("recheck"), [track])


@pytest.fixture
def settings(clean_db: Settings, lake_dir: Path, recheck_sandbox: RunningSandbox) -> Settings:
    recheck_sandbox.reset()
    return sandbox_settings(clean_db, recheck_sandbox.base_url, lake_dir=lake_dir, load_workers=1)


def _plays(session: Any, settings: Settings) -> dict[str, Any]:
    ks = settings.cassandra_keyspace
    rows = session.execute(
        f"SELECT post_id, track_id, match_method, danceability, energy, features_source"
        f" FROM {ks}.plays_by_hour WHERE bucket = %s",
        (BUCKET,),
    )
    out: dict[str, Any] = {}
    for row in rows:
        assert row.post_id not in out
        out[row.post_id] = row
    return out


def _due(session: Any, settings: Settings, day: date) -> dict[str, tuple[str, int]]:
    """The plays still waiting on a due day (rows past the day's cursor, and corrections)."""
    queue = ReworkQueue(session, settings.cassandra_keyspace)
    rows = queue.waiting(day, "override", 10_000) + queue.waiting(day, "recheck", 10_000)
    return {r.post_id: (r.reason, r.attempt) for r in rows}


def _rework_batches(settings: Settings) -> list[str]:
    lake = FolderLake(settings.lake_dir)
    return [
        b.batch_id for b in lake.list_batches("enriched") + lake.list_batches("history") if is_rework_batch(b.batch_id)
    ]


def _run(settings: Settings, session: Any, at: datetime) -> Any:
    summary = run_once(settings, session, clock=lambda: at)
    assert summary.status == "ok"
    run_load(settings, session)
    return summary


def test_a_track_added_after_the_miss_is_matched_on_the_recheck(
    settings: Settings, session: Any, recheck_sandbox: RunningSandbox
) -> None:
    write_clean(
        settings,
        parsed_post(
            "late", "#NowPlaying Wren Hollow - Salt Lines", [("Wren Hollow", "Salt Lines", None, "split_dash")]
        ),
        parsed_post(
            "known", "Marlow Fenn - Quiet Harbour Lights", [("Marlow Fenn", "Quiet Harbour Lights", None, "split_dash")]
        ),
    )
    _run(settings, session, DAY0)
    plays = _plays(session, settings)
    assert set(plays) == {"late", "known"}
    assert plays["late"].track_id is None and plays["known"].track_id == HARBOUR
    assert _due(session, settings, DAY0.date() + timedelta(days=1)) == {"late": ("recheck", 1)}

    added = recheck_sandbox.admin("POST", "/catalog", {"tracks": [LATE_TRACK]})
    assert added["added"] == [LATE] and added["errors"] == []

    # the same day: nothing is due yet, nothing is searched
    before = search_count(recheck_sandbox.admin("GET", "/stats"))
    _run(settings, session, DAY0 + timedelta(hours=3))
    assert search_count(recheck_sandbox.admin("GET", "/stats")) == before
    assert _rework_batches(settings) == []

    # a day later: searched again (within the per-post budget), matched, the row replaced
    summary = _run(settings, session, DAY0 + timedelta(days=1))
    searches = search_count(recheck_sandbox.admin("GET", "/stats")) - before
    assert 1 <= searches <= MAX_UNCACHED_SEARCHES
    assert summary.posts == 1  # the re-checked play (nothing else was pending)
    assert len(_rework_batches(settings)) == 1
    plays = _plays(session, settings)
    assert set(plays) == {"late", "known"}  # the play count is unchanged
    late = plays["late"]
    assert (late.track_id, late.match_method) == (LATE, "search_fields")
    assert late.features_source == "reccobeats" and late.danceability is not None and late.energy is not None
    ks = settings.cassandra_keyspace
    assert session.execute(f"SELECT track_id FROM {ks}.audio_features WHERE track_id = %s", (LATE,)).one()
    by_track = list(
        session.execute(
            f"SELECT post_id FROM {ks}.plays_by_track WHERE track_id = %s AND month = %s", (LATE, "2026-12")
        )
    )
    assert [r.post_id for r in by_track] == ["late"]
    # matched: no further re-check; its explanation says how it was found
    for back in range(0, 70):
        assert "late" not in _due(session, settings, DAY0.date() + timedelta(days=back))
    why = json.loads(
        session.execute(f"SELECT explain FROM {ks}.play_matches WHERE source = 'x' AND post_id = 'late'").one().explain
    )
    assert why["context"] == "recheck" and why["decision"]["track_id"] == LATE

    # the rework batch again, and the runs after: the row stays as it is, replaced once
    _run(settings, session, DAY0 + timedelta(days=2))
    assert len(_rework_batches(settings)) == 1
    assert _plays(session, settings)["late"].track_id == LATE


def test_an_unmatched_play_is_searched_after_1_2_4_8_16_32_days_and_no_more(
    settings: Settings, session: Any, recheck_sandbox: RunningSandbox
) -> None:
    write_clean(
        settings, parsed_post("never", "Nobody Knows - This Song", [("Nobody Knows", "This Song", None, "split_dash")])
    )
    _run(settings, session, DAY0)
    day = DAY0.date()
    checks: list[int] = []
    for attempt, wait in enumerate(RECHECK_DAYS, start=1):
        due_day = day + timedelta(days=wait)
        assert _due(session, settings, due_day) == {"never": ("recheck", attempt)}
        # the day before it is due: not searched
        before = search_count(recheck_sandbox.admin("GET", "/stats"))
        _run(settings, session, datetime.combine(due_day - timedelta(days=1), DAY0.timetz()))
        assert search_count(recheck_sandbox.admin("GET", "/stats")) == before
        _run(settings, session, datetime.combine(due_day, DAY0.timetz()))
        checks.append(search_count(recheck_sandbox.admin("GET", "/stats")) - before)
        assert "never" not in _due(session, settings, due_day)
        day = due_day
    assert all(1 <= n <= MAX_UNCACHED_SEARCHES for n in checks)
    # taken re-checks are passed by their day's cursor, not deleted: no tombstones for the next reads
    ks = settings.cassandra_keyspace
    first_day = DAY0.date() + timedelta(days=RECHECK_DAYS[0])
    kept = session.execute(
        f"SELECT post_id FROM {ks}.rework_due WHERE due_day = %s AND reason = 'recheck'", (first_day,)
    )
    assert [r.post_id for r in kept] == ["never"]
    for back in range(0, 70):  # after the sixth re-check nothing is queued any more
        assert _due(session, settings, day + timedelta(days=back)) == {}
    assert set(_plays(session, settings)) == {"never"} and _rework_batches(settings) == []


def test_each_run_rechecks_a_bounded_number(settings: Settings, session: Any, recheck_sandbox: RunningSandbox) -> None:
    posts = [
        parsed_post(
            f"miss{i}", f"Unknown Act {i} - No Song {i}", [(f"Unknown Act {i}", f"No Song {i}", None, "split_dash")]
        )
        for i in range(5)
    ]
    write_clean(settings, *posts)
    _run(settings, session, DAY0)
    bounded = settings.model_copy(update={"rework_per_run": 2})
    tomorrow = DAY0 + timedelta(days=1)
    waiting = lambda: len(_due(session, settings, tomorrow.date()))  # noqa: E731
    assert waiting() == 5
    summary = run_once(bounded, session, clock=lambda: tomorrow)
    assert summary.status == "ok" and waiting() == 3
    assert summary.spotify_requests <= 2 * MAX_UNCACHED_SEARCHES + 2
    run_once(bounded, session, clock=lambda: tomorrow)
    run_once(bounded, session, clock=lambda: tomorrow)
    assert waiting() == 0
    assert len(_due(session, settings, tomorrow.date() + timedelta(days=RECHECK_DAYS[1]))) == 5
