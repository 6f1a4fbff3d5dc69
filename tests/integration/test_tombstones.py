"""Zero tombstones from the write path (issue 20), measured by Cassandra's own query trace.

A Development Mode load (no popularity, features partly missing, unmatched plays) writes no
tombstone: a traced read of every hour bucket reports 0 tombstone cells. Re-enriching plays (a
backfill batch with a new track for some, fewer features for others, no match for a few) replaces
each changed play exactly, with at most one row tombstone per re-enriched play, and leaves every
value as the new enrichment says. A replaced play's row deletion lies under its new row, so the trace
of its hour bucket does not show it; the loader counts the replacements it writes (one row deletion
in plays_by_hour, and one in plays_by_track when the old track is left), and the old tracks'
partitions show those. ``TEST_TOMBSTONE_PLAYS`` sets the load (default 20,000 here; the
load bench runs 100,000); 1,000 of them are re-enriched.
"""

from __future__ import annotations

import csv
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nowplaying.common.config import Settings
from nowplaying.common.lake import FolderLake, is_rework_batch, rework_batch_id
from nowplaying.common.models import AUDIO_FEATURES, ENRICHED_CSV_COLUMNS
from nowplaying.loader.stage import run_load

from tests.support.enriched_csv import write_enriched_batch
from tests.support.tombstones import hour_buckets, traced_hour_reads, traced_read

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 2, tzinfo=UTC)
N_PLAYS = int(os.environ.get("TEST_TOMBSTONE_PLAYS", "20000"))
N_REENRICHED = min(1_000, N_PLAYS // 10)
FEATURE_COLUMNS = (*AUDIO_FEATURES, "features_source")
TRACK_COLUMNS = ("id_track", "name", "popularity", "artists_id", "artists_name", "duration_ms", "album",
                 "release_date", "match_method", "match_confidence", *FEATURE_COLUMNS)  # fmt: skip


def _stored(session: Any, ks: str, row: dict[str, str]) -> Any:
    played_at = datetime.fromisoformat(row["created_at"].replace("Z", "+00:00"))
    return session.execute(
        f"SELECT * FROM {ks}.plays_by_hour WHERE bucket = %s AND played_at = %s AND source = %s AND post_id = %s",
        (row["created_at"][:13], played_at, row["source"], row["post_id"]),
    ).one()


def _track_rows(session: Any, ks: str, track_id: str, row: dict[str, str]) -> int:
    rows = session.execute(
        f"SELECT post_id FROM {ks}.plays_by_track WHERE track_id = %s AND month = %s",
        (track_id, row["created_at"][:7]),
    )
    return sum(1 for r in rows if r.post_id == row["post_id"])


def _reenrich(rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], dict[str, list[dict[str, str]]]]:
    """1,000 matched plays enriched again: a third get another track, a third lose their features,
    a third lose their match; the rest of the file is untouched."""
    matched = [r for r in rows if r["id_track"] and r["danceability"]]
    donors = {r["id_track"]: r for r in matched}
    chosen = matched[:N_REENRICHED]
    kinds: dict[str, list[dict[str, str]]] = {"new_track": [], "no_features": [], "unmatched": []}
    out: list[dict[str, str]] = []
    for index, row in enumerate(chosen):
        new = dict(row)
        kind = ("new_track", "no_features", "unmatched")[index % 3]
        if kind == "new_track":
            donor = next(d for tid, d in donors.items() if tid != row["id_track"])
            new.update({c: donor[c] for c in TRACK_COLUMNS})
            new.update({c: "" for c in FEATURE_COLUMNS})  # and the new track's features unknown
        elif kind == "no_features":
            new.update({c: "" for c in FEATURE_COLUMNS})
        else:
            new.update({c: "" for c in TRACK_COLUMNS})
            new["match_method"] = "none"
        kinds[kind].append(row)
        out.append(new)
    return out, kinds


def _write_batch(lake_dir: Path, batch_id: str, rows: list[dict[str, str]]) -> None:
    path = FolderLake(lake_dir).path_for("enriched", batch_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ENRICHED_CSV_COLUMNS)
        writer.writerows([row[c] for c in ENRICHED_CSV_COLUMNS] for row in rows)


@pytest.mark.timeout(1800)
def test_a_dev_mode_load_writes_no_tombstone_and_reenrichment_at_most_one_per_play(
    clean_db: Settings, cassandra_session: Any, lake_dir: Path
) -> None:
    ks = clean_db.cassandra_keyspace
    settings = clean_db.model_copy(update={"lake_dir": lake_dir, "load_workers": 1})
    path, rows = write_enriched_batch(
        lake_dir, N_PLAYS, seed=31, start=START, end=END, n_tracks=2_000, dev_mode=True, matched_share=0.85
    )
    assert all(r["popularity"] == "" for r in rows)  # Development Mode
    assert any(r["id_track"] and not r["danceability"] for r in rows)  # features partly missing
    assert any(not r["id_track"] for r in rows)  # unmatched plays
    summary = run_load(settings, cassandra_session)
    assert summary.rows_loaded == N_PLAYS

    buckets = hour_buckets(START, END)
    first = traced_hour_reads(cassandra_session, ks, buckets)
    assert first.live_rows == N_PLAYS
    assert first.tombstones == 0, f"{first.tombstones} tombstone cells in {len(buckets)} hour buckets"
    print(f"\n{N_PLAYS:,} plays loaded: {first.live_rows:,} live rows, {first.tombstones} tombstone cells"
          f" in {len(buckets)} traced hour-bucket reads")  # fmt: skip

    # the other tables the loader writes: no tombstone cell either
    load_row = cassandra_session.prepare(f"SELECT * FROM {ks}.load_log WHERE file = ?")
    assert traced_read(cassandra_session, load_row, (path.stem,)).tombstones == 0
    run_row = cassandra_session.prepare(f"SELECT * FROM {ks}.pipeline_runs WHERE stage = ?")
    assert traced_read(cassandra_session, run_row, ("load",)).tombstones == 0
    by_track = cassandra_session.prepare(f"SELECT * FROM {ks}.plays_by_track WHERE track_id = ? AND month = ?")
    features = cassandra_session.prepare(f"SELECT * FROM {ks}.audio_features WHERE track_id = ?")
    for track_id in sorted({r["id_track"] for r in rows if r["id_track"]})[:50]:
        assert traced_read(cassandra_session, by_track, (track_id, "2026-03")).tombstones == 0
        assert traced_read(cassandra_session, features, (track_id,)).tombstones == 0

    # re-enrichment: a backfill batch of the same raw batch holding 1,000 of those plays, changed
    reenriched, kinds = _reenrich(rows)
    batch_id = rework_batch_id(path.stem, "t1")
    assert is_rework_batch(batch_id)
    _write_batch(lake_dir, batch_id, reenriched)
    summary = run_load(settings, cassandra_session)
    assert summary.rows_loaded == N_REENRICHED
    assert summary.files[0].rows_replaced == N_REENRICHED  # every one of them lost a value

    second = traced_hour_reads(cassandra_session, ks, buckets)
    assert second.live_rows == N_PLAYS  # nothing lost, nothing doubled
    assert second.tombstones <= N_REENRICHED, f"{second.tombstones} tombstones for {N_REENRICHED} re-enriched"
    print(f"{N_REENRICHED:,} re-enriched ({summary.files[0].rows_replaced:,} replaced): {second.live_rows:,} live"
          f" rows, {second.tombstones} tombstones in the traced hour-bucket reads")  # fmt: skip

    by_id = {r["post_id"]: r for r in reenriched}
    for kind, originals in kinds.items():
        for old in originals[:30]:
            new = by_id[old["post_id"]]
            got = _stored(cassandra_session, ks, new)
            assert (got.track_id or "") == new["id_track"], kind
            assert got.matched is bool(new["id_track"])
            for name in AUDIO_FEATURES:
                assert (getattr(got, name) is None) is (new[name] == ""), (kind, name)
            assert got.popularity is None and (got.features_source or "") == new["features_source"]
            if kind == "new_track":
                assert _track_rows(cassandra_session, ks, old["id_track"], old) == 0  # left the old track
                assert _track_rows(cassandra_session, ks, new["id_track"], new) == 1
            elif kind == "no_features":
                assert _track_rows(cassandra_session, ks, old["id_track"], old) == 1
            else:
                assert got.track_name is None and got.artist_ids is None
                assert _track_rows(cassandra_session, ks, old["id_track"], old) == 0

    # loading the same re-enrichment again changes nothing and replaces nothing
    FolderLake(lake_dir).move(FolderLake(lake_dir).list_batches("history")[-1], "enriched")
    cassandra_session.execute(f"DELETE FROM {ks}.load_log WHERE file = %s", (batch_id,))
    summary = run_load(settings, cassandra_session)
    assert summary.files[0].rows_replaced == 0
    assert traced_hour_reads(cassandra_session, ks, buckets).live_rows == N_PLAYS
