"""`nowplaying load` against the real Cassandra: what lands in each table, exactly once, and bad input."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nowplaying.common.config import Settings
from nowplaying.common.lake import FolderLake, file_checksum
from nowplaying.common.models import AUDIO_FEATURES, ENRICHED_CSV_COLUMNS
from nowplaying.loader.stage import run_load
from nowplaying.loader.writer import Statements
from prometheus_client import CollectorRegistry

from tests.support.enriched_csv import write_enriched_batch

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 1, 6, tzinfo=UTC)


def count_plays(session: Any, keyspace: str, start: datetime = START, end: datetime = END) -> int:
    query = session.prepare(f"SELECT COUNT(*) FROM {keyspace}.plays_by_hour WHERE bucket = ?")
    total, hour = 0, start
    while hour < end:
        total += session.execute(query, (hour.strftime("%Y-%m-%dT%H"),), timeout=60).one()[0]
        hour += timedelta(hours=1)
    return int(total)


def _settings(db: Settings, lake_dir: Path, workers: int = 1) -> Settings:
    return db.model_copy(update={"lake_dir": lake_dir, "load_workers": workers})


def _table_count(session: Any, keyspace: str, table: str) -> int:
    return int(session.execute(f"SELECT COUNT(*) FROM {keyspace}.{table}", timeout=60).one()[0])


@pytest.mark.parametrize("workers", [1, 2])
def test_a_batch_lands_in_every_table_and_moves_to_history(
    clean_db: Settings, cassandra_session: Any, lake_dir: Path, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    ks = clean_db.cassandra_keyspace
    # the two-worker path normally starts at 8 MiB; make this small file use it
    monkeypatch.setattr("nowplaying.loader.stage.PARALLEL_MIN_BYTES", 0)
    path, rows = write_enriched_batch(lake_dir, 3_000, seed=21, start=START, end=END, n_tracks=200)
    summary = run_load(_settings(clean_db, lake_dir, workers), cassandra_session)
    assert summary.rows_loaded == 3_000 and summary.rows_rejected == 0

    assert count_plays(cassandra_session, ks) == 3_000
    matched = [r for r in rows if r["id_track"]]
    assert _table_count(cassandra_session, ks, "plays_by_track") == len(matched)
    assert _table_count(cassandra_session, ks, "tracks") == len({r["id_track"] for r in matched})
    with_features = {r["id_track"] for r in matched if r["danceability"]}
    assert _table_count(cassandra_session, ks, "audio_features") == len(with_features)
    artist_ids: set[str] = set()
    for r in matched:
        artist_ids.update(json.loads(r["artists_id"]) if r["artists_id"].startswith("[") else [r["artists_id"]])
    assert _table_count(cassandra_session, ks, "artists") == len(artist_ids)

    # one row of each kind, column by column
    multi = next(r for r in matched if r["artists_id"].startswith("[") and "\n" in r["text"])
    unmatched = next(r for r in rows if not r["id_track"])
    select = cassandra_session.prepare(
        f"SELECT * FROM {ks}.plays_by_hour WHERE bucket = ? AND played_at = ? AND source = ? AND post_id = ?"
    )
    for row in (multi, unmatched):
        played_at = datetime.fromisoformat(row["created_at"].replace("Z", "+00:00"))
        got = cassandra_session.execute(
            select, (row["created_at"][:13], played_at, row["source"], row["post_id"])
        ).one()
        assert got is not None
        assert got.text == row["text"]
        assert got.url == row["url_tweet"]
        assert got.author_id == row["author_id"]
        assert got.is_bot is (row["is_bot"] == "true")
        assert got.matched is bool(row["id_track"])
        assert (got.track_id or "") == row["id_track"]
        for name in AUDIO_FEATURES:
            if row[name] == "":
                assert getattr(got, name) is None
            else:
                assert getattr(got, name) == pytest.approx(float(row[name]), rel=1e-6)
    got = cassandra_session.execute(
        f"SELECT artist_ids, artist_names, name, album FROM {ks}.tracks WHERE track_id = %s", (multi["id_track"],)
    ).one()
    assert got.artist_ids == json.loads(multi["artists_id"])
    assert got.artist_names == json.loads(multi["artists_name"])
    assert (got.name, got.album) == (multi["name"], multi["album"])
    # the plays_by_track row (written from the play's encoded plays_by_hour values)
    got = cassandra_session.execute(
        f"SELECT * FROM {ks}.plays_by_track WHERE track_id = %s AND month = %s AND source = %s AND post_id = %s"
        " ALLOW FILTERING",
        (multi["id_track"], multi["created_at"][:7], multi["source"], multi["post_id"]),
    ).one()
    assert got is not None
    assert (got.text, got.url, got.author_id) == (multi["text"], multi["url_tweet"], multi["author_id"])
    assert got.is_bot is (multi["is_bot"] == "true")
    played_at = datetime.fromisoformat(multi["created_at"].replace("Z", "+00:00")).replace(tzinfo=None)
    assert got.played_at == played_at.replace(microsecond=played_at.microsecond // 1000 * 1000)
    assert got.match_confidence == pytest.approx(float(multi["match_confidence"]), rel=1e-6)

    # bookkeeping: history, load_log, pipeline_runs
    lake = FolderLake(lake_dir)
    assert lake.list_batches("enriched") == []
    [moved] = lake.list_batches("history")
    assert moved.name == path.name
    log_row = cassandra_session.execute(f"SELECT * FROM {ks}.load_log WHERE file = %s", (moved.batch_id,)).one()
    assert (log_row.status, log_row.checksum) == ("loaded", file_checksum(lake.path_of(moved)))
    assert (log_row.rows_total, log_row.rows_loaded, log_row.rows_rejected) == (3_000, 3_000, 0)
    run = cassandra_session.execute(f"SELECT * FROM {ks}.pipeline_runs WHERE stage = 'load' LIMIT 1").one()
    assert (run.status, run.items_in, run.items_out, run.errors) == ("ok", 3_000, 3_000, 0)


def test_a_loaded_file_is_skipped_and_an_interrupted_one_reloaded_without_duplicates(
    clean_db: Settings, cassandra_session: Any, lake_dir: Path
) -> None:
    ks = clean_db.cassandra_keyspace
    settings = _settings(clean_db, lake_dir)
    path, _ = write_enriched_batch(lake_dir, 2_000, seed=22, start=START, end=END)
    run_load(settings, cassandra_session)
    lake = FolderLake(lake_dir)
    [loaded] = lake.list_batches("history")

    # delivered again, same bytes: skipped, moved to history again, nothing doubled
    shutil.copy(lake.path_of(loaded), path)
    summary = run_load(settings, cassandra_session)
    assert summary.count("skipped") == 1 and summary.rows_loaded == 0
    assert lake.list_batches("enriched") == [] and len(lake.list_batches("history")) == 1

    # interrupted earlier (load_log still 'loading'): loaded again in full, still 2,000 plays
    cassandra_session.execute(f"UPDATE {ks}.load_log SET status = 'loading' WHERE file = %s", (loaded.batch_id,))
    shutil.move(lake.path_of(loaded), path)
    summary = run_load(settings, cassandra_session)
    assert summary.count("loaded") == 1 and summary.rows_loaded == 2_000
    assert count_plays(cassandra_session, ks) == 2_000
    assert _table_count(cassandra_session, ks, "plays_by_hour") == 2_000
    assert len(lake.list_batches("history")) == 1

    # nothing pending: a run that does nothing, successfully
    assert run_load(settings, cassandra_session).files == []


def test_bad_rows_go_to_a_rejects_file_with_line_and_reason_and_the_rest_loads(
    clean_db: Settings, cassandra_session: Any, lake_dir: Path
) -> None:
    ks = clean_db.cassandra_keyspace
    path, rows = write_enriched_batch(lake_dir, 500, seed=23, start=START, end=END, newlines=False)
    lines = path.read_bytes().split(b"\n")
    # lines[k] is physical line k + 1 (line 1 is the header): rows[9] is on line 11
    fields = next(csv.reader([lines[10].decode()]))
    fields[ENRICHED_CSV_COLUMNS.index("created_at")] = "not-a-date"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    lines[10] = buffer.getvalue().encode()
    lines[20] = b",".join(lines[20].split(b",")[:-2])  # two columns short
    lines[30] = lines[30] + b",extra"
    lines[40] = lines[40].replace(b"#", b"#\xff", 1)  # not UTF-8
    path.write_bytes(b"\n".join(lines))
    summary = run_load(_settings(clean_db, lake_dir), cassandra_session)
    assert summary.rows_loaded == 496 and summary.rows_rejected == 4
    assert count_plays(cassandra_session, ks) == 496
    batch = FolderLake(lake_dir).list_batches("history")[0]
    rejects_file = lake_dir / "rejects" / batch.day / f"{batch.batch_id}.load.jsonl"
    rejects = [json.loads(line) for line in rejects_file.read_text().splitlines()]
    assert [r["line"] for r in rejects] == [11, 21, 31, 41]
    assert all(r["file"] == f"enriched/{batch.day}/{path.name}" for r in rejects)
    assert rejects[0]["reason"] == "column 'created_at': 'not-a-date' is not an RFC 3339 timestamp"
    n = len(ENRICHED_CSV_COLUMNS)
    assert rejects[1]["reason"] == f"record has {n - 2} columns, the header has {n}"
    assert rejects[2]["reason"] == f"record has {n + 1} columns, the header has {n}"
    assert rejects[3]["reason"] == "invalid UTF-8 in the record"
    log_row = cassandra_session.execute(
        f"SELECT rows_total, rows_loaded, rows_rejected FROM {ks}.load_log WHERE file = %s", (batch.batch_id,)
    ).one()
    assert tuple(log_row) == (500, 496, 4)
    run = cassandra_session.execute(f"SELECT * FROM {ks}.pipeline_runs WHERE stage = 'load' LIMIT 1").one()
    assert (run.items_in, run.items_out, run.errors) == (500, 496, 4)
    assert rows[9]["post_id"] == rejects[0]["record"].split(",")[0]


def test_a_file_with_a_wrong_header_is_set_aside_and_the_others_load(
    clean_db: Settings, cassandra_session: Any, lake_dir: Path
) -> None:
    lake = FolderLake(lake_dir)
    bad_path, _ = write_enriched_batch(lake_dir, 10, seed=24, start=START, end=END, batch_id="20260301T000000Z-bad-1")
    text = bad_path.read_text().split("\n", 1)
    bad_path.write_text(",".join(ENRICHED_CSV_COLUMNS[:22]) + "\n" + text[1])
    write_enriched_batch(lake_dir, 100, seed=25, start=START, end=END, batch_id="20260301T000001Z-good-1")
    summary = run_load(_settings(clean_db, lake_dir), cassandra_session)
    assert [f.outcome for f in summary.files] == ["refused", "loaded"]
    assert count_plays(cassandra_session, clean_db.cassandra_keyspace) == 100
    assert lake.list_batches("enriched") == []
    refused = lake_dir / "rejects" / "2026-03-01" / "20260301T000000Z-bad-1.csv"
    assert refused.exists()
    reason = json.loads((refused.parent / "20260301T000000Z-bad-1.load.jsonl").read_text())
    assert reason["line"] == 1 and "header is not the enriched CSV header" in reason["reason"]


def test_codec_encodes_exactly_like_the_driver(clean_db: Settings, cassandra_session: Any, lake_dir: Path) -> None:
    """The loader's fast serializer must give the very bytes the driver's own bind gives."""
    from nowplaying.loader.reader import iter_lines, read_header
    from nowplaying.loader.rows import (
        artists_values,
        audio_features_values,
        parse_play,
        plays_by_hour_values,
        plays_by_track_values,
        read_records,
        tracks_values,
    )

    statements = Statements.prepare(cassandra_session, clean_db.cassandra_keyspace)
    path, _ = write_enriched_batch(lake_dir, 300, seed=26)
    header = read_header(path)
    now = datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)
    checked = 0
    for _, fields in read_records(iter_lines(path, header.whole_file(path)), first_line=2):
        assert isinstance(fields, list)
        play = parse_play(fields)
        pairs: list[tuple[Any, tuple[object, ...]]] = [(statements.plays_by_hour, plays_by_hour_values(play))]
        if play.matched:
            pairs += [
                (statements.plays_by_track, plays_by_track_values(play)),
                (statements.tracks, tracks_values(play, now)),
                (statements.audio_features, audio_features_values(play, now)),
            ]
            pairs += [(statements.artists, values) for values in artists_values(play, now)]
        for codec, values in pairs:
            assert codec.encode(values) == codec.statement.bind(values).values
            checked += 1
    assert checked > 600


def test_load_metrics_are_counted(
    clean_db: Settings, cassandra_session: Any, lake_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nowplaying.common.metrics import StageMetrics

    seen: list[StageMetrics] = []

    class Recording(StageMetrics):
        def __init__(self, stage: str, registry: CollectorRegistry | None = None) -> None:
            super().__init__(stage, registry)
            seen.append(self)

    monkeypatch.setattr("nowplaying.loader.stage.StageMetrics", Recording)
    write_enriched_batch(lake_dir, 200, seed=27, start=START, end=END)
    run_load(_settings(clean_db, lake_dir), cassandra_session)
    registry = seen[0].registry
    assert registry.get_sample_value("nowplaying_load_rows_total", {"outcome": "loaded"}) == 200
    assert registry.get_sample_value("nowplaying_load_files_total", {"outcome": "loaded"}) == 1
    assert (registry.get_sample_value("nowplaying_load_rows_per_second") or 0) > 0
    assert seen[0].success_registry.get_sample_value(
        "nowplaying_stage_last_success_timestamp_seconds", {"stage": "load"}
    )
