"""The enrich stage against the real sandbox (Spotify in Development Mode, ReccoBeats) and Cassandra.

Posts come from the sandbox's corpus generator, cleaned by the cleaner's pure function, and the
CSV the stage writes is compared with the generator's truth.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

import orjson
import pytest
import requests
from nowplaying.common.cassandra import ProgressStore, connect, shutdown
from nowplaying.common.config import Settings
from nowplaying.common.lake import FolderLake, new_batch_id
from nowplaying.common.models import ENRICHED_CSV_COLUMNS, Post

pytest.importorskip("nowplaying.sandbox.corpus")
clean_core = pytest.importorskip("nowplaying.cleaner.core")

from nowplaying.enricher.service import STAGE, run_once  # noqa: E402
from nowplaying.sandbox.corpus import generate_posts  # noqa: E402

SONGS = "__songs__"


def write_stream(settings: Settings, n: int, batch_size: int, seed: int = 42) -> tuple[dict[str, Any], list[str]]:
    """Generated posts, cleaned, as clean batches; returns (truth by post id, batch ids).
    ``truth[SONGS]`` is the set of post ids the cleaner made song posts."""
    lake = FolderLake(settings.lake_dir)
    truth: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    batch_ids: list[str] = []
    for generated in generate_posts(seed=seed, n=n):
        parsed = clean_core.clean_post(Post.from_dict(generated.as_post()))
        truth[parsed.post_id] = generated.truth
        if parsed.is_play:
            truth.setdefault(SONGS, set()).add(parsed.post_id)
        records.append(parsed.to_dict())
        if len(records) == batch_size:
            batch_ids.append(lake.write_jsonl("clean", new_batch_id("t"), records).batch_id)
            records = []
    if records:
        batch_ids.append(lake.write_jsonl("clean", new_batch_id("t"), records).batch_id)
    return truth, batch_ids


def read_rows(settings: Settings) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    lake = FolderLake(settings.lake_dir)
    for batch in lake.list_batches("enriched"):
        reader = csv.DictReader(io.StringIO(lake.read_bytes(batch).decode("utf-8")))
        assert tuple(reader.fieldnames or ()) == ENRICHED_CSV_COLUMNS
        rows.extend(reader)
    return rows


def faults(base: str, *rules: dict[str, Any]) -> None:
    requests.post(base + "/_admin/faults", json={"rules": list(rules), "replace": True}, timeout=5).raise_for_status()


@pytest.fixture
def session(enrich_settings: Settings) -> Any:
    s = connect(enrich_settings)
    yield s
    shutdown(s)


def test_matches_are_precise_and_recall_is_high(enrich_settings: Settings, session: Any) -> None:
    truth, batch_ids = write_stream(enrich_settings, n=3000, batch_size=1000)
    summary = run_once(enrich_settings, session)
    assert summary.status == "ok" and summary.batches_done == len(batch_ids), summary.stopped

    rows = read_rows(enrich_settings)
    ids = [r["post_id"] for r in rows]
    assert len(ids) == len(set(ids))  # nothing doubled
    rows_by_id = {r["post_id"]: r for r in rows}
    assert set(rows_by_id) == truth.pop(SONGS)  # every song post is one row; kind none never is
    # every song post the cleaner found is a row; kind none never is
    accepted = [r for r in rows if r["id_track"]]
    right = sum(1 for r in accepted if truth[r["post_id"]].track_id == r["id_track"])
    in_catalog = [pid for pid, t in truth.items() if t.kind != "none" and t.track_id is not None]
    found = sum(1 for pid in in_catalog if rows_by_id.get(pid, {}).get("id_track") == truth[pid].track_id)
    precision, recall = right / len(accepted), found / len(in_catalog)
    print(f"precision {precision:.4f} ({right}/{len(accepted)}), recall {recall:.4f} ({found}/{len(in_catalog)})")
    assert precision >= 0.98
    assert recall >= 0.90

    # the hard distractors (remix, live, karaoke, cover...) are not accepted when the post names the original
    from nowplaying.sandbox.catalog import get_catalog

    catalog = get_catalog(42)
    originals = [r for r in accepted if truth[r["post_id"]].track_id is not None]
    wrong_versions = [
        r
        for r in originals
        if catalog.tracks[truth[r["post_id"]].track_id].variant == "original"
        and r["id_track"] in catalog.tracks
        and catalog.tracks[r["id_track"]].variant != "original"
    ]
    assert wrong_versions == []

    # contract of the columns
    methods = Counter(r["match_method"] for r in rows)
    assert set(methods) <= {"link", "search_fields", "search_relaxed", "search_free", "none"}
    for row in rows:
        assert 0.0 <= float(row["match_confidence"]) <= 1.0
        if not row["id_track"]:
            assert row["match_method"] == "none" and row["name"] == "" and row["danceability"] == ""
        elif row["features_source"]:
            assert row["features_source"] in ("spotify", "reccobeats")
            assert row["danceability"] != ""
        else:
            assert all(row[f] == "" for f in ("danceability", "energy", "tempo"))
    # Development Mode: Spotify's audio-features answered 403, features came from ReccoBeats
    assert Counter(r["features_source"] for r in accepted)["reccobeats"] > 0.5 * len(accepted)

    # a re-run finds nothing pending; the same posts again cost no search at all (match cache)
    assert run_once(enrich_settings, session).batches_done == 0
    lake = FolderLake(enrich_settings.lake_dir)
    again = lake.write_bytes("clean", new_batch_id("again"), lake.read_bytes(lake.list_batches("clean")[0]))
    repeat = run_once(enrich_settings, session)
    assert repeat.batches_done == 1 and repeat.posts > 0
    assert repeat.spotify_requests <= 2  # at most a token and the audio-features probe
    assert lake.path_for("enriched", again.batch_id).exists()


@pytest.mark.parametrize(
    ("rules", "recovers"),
    [
        ([{"api": "spotify", "mode": "429long", "path": "/v1/search"}], False),
        ([{"api": "spotify", "mode": "503", "path": "/v1/search"}], False),
        ([{"api": "spotify", "mode": "malformed", "path": "/v1/search"}], False),
        ([{"api": "spotify", "mode": "503", "path": "/v1/search", "count": 2}], True),
        ([{"api": "spotify", "mode": "malformed", "path": "/v1/search", "count": 2}], True),
        ([{"api": "spotify", "mode": "401", "path": "/v1/", "count": 1}], True),
        ([{"api": "spotify", "mode": "429", "param": 1, "path": "/v1/search", "count": 1}], True),
        ([{"api": "reccobeats", "mode": "429long"}], False),
        ([{"api": "spotify", "mode": "drop", "path": "/v1/search", "count": 1}], True),
    ],
)
def test_faults_lose_nothing_and_write_nothing_twice(
    enrich_settings: Settings, session: Any, enrich_sandbox_url: str, rules: list[dict[str, Any]], recovers: bool
) -> None:
    truth, batch_ids = write_stream(enrich_settings, n=400, batch_size=200, seed=7)
    faults(enrich_sandbox_url, *rules)
    first = run_once(enrich_settings, session)
    progress = ProgressStore(session, enrich_settings.cassandra_keyspace)
    done = progress.done_ids(STAGE, {b[:4] + "-" + b[4:6] + "-" + b[6:8] for b in batch_ids})
    written = {b.batch_id for b in FolderLake(enrich_settings.lake_dir).list_batches("enriched")}
    assert written == done  # a CSV exists exactly for the batches marked done
    if recovers:
        assert first.status == "ok" and len(done) == len(batch_ids)
    else:
        assert first.status == "partial" and first.stopped
        assert len(done) < len(batch_ids)
    faults(enrich_sandbox_url)
    second = run_once(enrich_settings, session)
    assert second.status == "ok"
    rows = read_rows(enrich_settings)
    ids = [r["post_id"] for r in rows]
    assert len(ids) == len(set(ids))  # nothing written twice
    assert set(ids) == truth[SONGS]  # nothing lost
    assert {b.batch_id for b in FolderLake(enrich_settings.lake_dir).list_batches("enriched")} == set(batch_ids)


def test_bad_records_are_rejected_with_the_reason_and_the_batch_goes_on(
    enrich_settings: Settings, session: Any
) -> None:
    lake = FolderLake(enrich_settings.lake_dir)
    good = clean_core.clean_post(Post.from_dict(next(iter(generate_posts(seed=3, n=1))).as_post())).to_dict()
    good.update(kind="parsed", artist="Nobody Knows", title="This Song")
    data = orjson.dumps(good) + b"\n" + b'{"kind": "parsed"}\n' + b"not json\n"
    import gzip

    batch_id = new_batch_id("bad")
    lake.write_bytes("clean", batch_id, gzip.compress(data))
    summary = run_once(enrich_settings, session)
    assert summary.status == "ok" and summary.batches_done == 1
    rows = read_rows(enrich_settings)
    assert [r["post_id"] for r in rows] == [good["post_id"]]
    assert rows[0]["match_method"] == "none" and rows[0]["id_track"] == ""
    rejects = lake.path_for("rejects", batch_id, ".enrich.jsonl").read_text().splitlines()
    assert len(rejects) == 2
    assert "missing field 'source'" in rejects[0] and '"line":3' in rejects[1]
