"""The backfill job: the cleaner's own parsing over the raw lake, in real Spark (local mode).

The reference is the cleaner itself: the same raw batches cleaned by ``nowplaying.cleaner.stage``
in a second lake must give exactly the records (and refused lines) the backfill wrote.
"""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from nowplaying.common.config import Settings, reset_settings_cache
from nowplaying.common.lake import FolderLake, new_batch_id, read_jsonl_file
from nowplaying_spark.backfill import output_batch_id, run_backfill

pytestmark = [pytest.mark.spark]

TEXTS = (
    "#NowPlaying Daft Punk - One More Time",
    "Listening to Bohemian Rhapsody by Queen #nowplaying",
    "#np https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC great tune",
    "#NowPlaying the new episode of my favourite podcast",
    "now playing: Ñandú — “Canción de cuna” #nowplaying",
    "RT",
)


def _post(index: int, day: date) -> dict[str, Any]:
    created = datetime(day.year, day.month, day.day, 10, tzinfo=UTC) + timedelta(minutes=index)
    text = TEXTS[index % len(TEXTS)]
    return {
        "source": ("x", "mastodon", "bluesky")[index % 3],
        "post_id": f"p{day.isoformat()}-{index}",
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "author_id": f"a{index % 5}",
        "author_name": f"Author {index % 5}",
        "lang": "en",
        "text": text,
        "urls": [u for u in text.split() if u.startswith("https://")],
        "is_repost": False,
        "raw": {"id": index},
    }


def _raw_batch(lake: FolderLake, day: date, label: str, count: int, bad_lines: bool = False) -> str:
    batch_id = new_batch_id(label, datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
    lines = [orjson.dumps(_post(i, day)) for i in range(count)]
    if bad_lines:
        lines.insert(2, b"{not json")
        lines.insert(5, orjson.dumps({**_post(99, day), "source": "myspace"}))
        lines.insert(7, orjson.dumps({k: v for k, v in _post(98, day).items() if k != "created_at"}))
    lake.write_bytes("raw", batch_id, gzip.compress(b"\n".join(lines) + b"\n", mtime=0))
    return batch_id


def _read(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for _, line in read_jsonl_file(path)]


def _folder(lake: FolderLake) -> Settings:
    return Settings(lake_dir=lake.root, lake_url=None)


def test_backfill_rewrites_clean_batches_exactly_as_the_cleaner(spark_session: Any, tmp_path: Path) -> None:
    from nowplaying.cleaner.stage import clean_batch as cleaner_clean_batch

    lake = FolderLake(tmp_path / "lake")
    d1, d2, d3 = date(2026, 2, 1), date(2026, 2, 2), date(2026, 2, 3)
    in_range = [
        _raw_batch(lake, d1, "x", 40),
        _raw_batch(lake, d1, "mastodon", 25, bad_lines=True),
        _raw_batch(lake, d2, "bluesky", 30),
    ]
    outside = _raw_batch(lake, d3, "x", 10)
    broken = new_batch_id("broken", datetime(2026, 2, 2, 13, tzinfo=UTC))
    lake.write_bytes("raw", broken, gzip.compress(b'{"a": 1}\n' * 200, mtime=0)[:40])  # truncated gzip

    # The reference: the cleaner's own stage over a copy of the raw lake.
    reference = FolderLake(tmp_path / "reference")
    shutil.copytree(lake.area_dir("raw"), reference.area_dir("raw"))
    for batch in reference.list_batches("raw"):
        if batch.batch_id != broken:
            cleaner_clean_batch(reference, batch)

    report = run_backfill(spark_session, _folder(lake), d1, d2, run_id="r1")

    assert {b.raw_batch_id: b.status for b in report.batches} == {
        **dict.fromkeys(in_range, "written"),
        broken: "failed",
    }
    assert "cannot read" in next(b for b in report.batches if b.status == "failed").error_samples[0]
    for raw_id in in_range:
        out = lake.path_for("clean", output_batch_id(raw_id, "r1"))
        assert _read(out) == _read(reference.path_for("clean", raw_id))
    assert report.rejected == 3
    rejects = _read(lake.path_for("rejects", output_batch_id(in_range[1], "r1"), ".backfill.jsonl"))
    expected_rejects = _read(reference.path_for("rejects", in_range[1], ".clean.jsonl"))
    assert [(r["line"], r["reason"]) for r in rejects] == [(r["line"], r["reason"]) for r in expected_rejects]
    assert [r["line"] for r in rejects] == [3, 6, 8]
    assert report.items_in == 40 + 28 + 30 and report.items_out == 40 + 25 + 30
    # days outside the range are not touched
    assert not any(b.batch_id.startswith(outside) and "_bf" in b.batch_id for b in lake.list_batches("clean"))

    # the same run id again: nothing is rewritten
    mtimes = {p: p.stat().st_mtime_ns for p in lake.area_dir("clean").rglob("*.jsonl.gz")}
    again = run_backfill(spark_session, _folder(lake), d1, d2, run_id="r1")
    assert again.count("skipped") == 3 and again.count("written") == 0
    assert {p: p.stat().st_mtime_ns for p in lake.area_dir("clean").rglob("*.jsonl.gz")} == mtimes

    # a later run makes new batches that the enricher sees after the originals and the older backfill
    lake.write_jsonl("clean", in_range[0], [])  # the cleaner's batch: same id as the raw one
    run_backfill(spark_session, _folder(lake), d1, d1, run_id="r2")
    names = [b.batch_id for b in lake.list_batches("clean", d1, d1) if b.batch_id.startswith(in_range[0])]
    assert names == [in_range[0], in_range[0] + "_bfr1", in_range[0] + "_bfr2"]
    done = {in_range[0]}
    pending = [b.batch_id for b in lake.pending("clean", done)]
    assert output_batch_id(in_range[0], "r2") in pending


def test_backfill_command_records_a_pipeline_run(
    spark_session: Any,
    cassandra_session: Any,
    cassandra_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nowplaying.cli import main

    lake = FolderLake(tmp_path / "lake")
    day = date(2026, 2, 10)
    raw_id = _raw_batch(lake, day, "x", 12, bad_lines=True)
    monkeypatch.setenv("LAKE_DIR", str(lake.root))
    monkeypatch.setenv("CASSANDRA_KEYSPACE", cassandra_settings.cassandra_keyspace)
    monkeypatch.setenv("CASSANDRA_HOSTS", cassandra_settings.cassandra_hosts)
    monkeypatch.setenv("CASSANDRA_PORT", str(cassandra_settings.cassandra_port))
    reset_settings_cache()
    try:
        code = main(["backfill", "--since", day.isoformat(), "--run-id", "cli1", "--master", "local[2]"])
    finally:
        reset_settings_cache()
    assert code == 0
    assert lake.path_for("clean", output_batch_id(raw_id, "cli1")).exists()
    rows = list(
        cassandra_session.execute(
            cassandra_session.prepare(
                f"SELECT status, items_in, items_out, errors, detail FROM "
                f"{cassandra_settings.cassandra_keyspace}.pipeline_runs WHERE stage = ?"
            ),
            ("backfill",),
        )
    )
    assert any(r.status == "ok" and r.items_in == 15 and r.items_out == 12 and r.errors == 3 for r in rows)


def test_backfill_refuses_a_bad_run_id(spark_session: Any, tmp_path: Path) -> None:
    from nowplaying_spark.backfill import BackfillError

    with pytest.raises(BackfillError, match="letters or digits"):
        run_backfill(spark_session, tmp_path, date(2026, 1, 1), date(2026, 1, 1), run_id="../x")
    with pytest.raises(BackfillError, match="before it starts"):
        run_backfill(spark_session, tmp_path, date(2026, 1, 2), date(2026, 1, 1))


def test_backfill_over_s3a_gives_the_same_clean_batches_as_over_the_folder(
    spark_session: Any, seaweedfs: Any, tmp_path: Path
) -> None:
    """The same raw batches in a folder lake and in a real S3 lake: Spark reads the second over s3a://
    (hadoop-aws), and both runs write byte-identical clean batches and reject lists."""
    from tests.fixtures_lake import folder_backend, s3_backend

    folder, s3 = folder_backend(tmp_path / "lake"), s3_backend(seaweedfs)
    d1, d2 = date(2026, 2, 1), date(2026, 2, 2)
    staging = FolderLake(tmp_path / "staging")
    ids = [
        _raw_batch(staging, d1, "x", 40),
        _raw_batch(staging, d1, "mastodon", 25, bad_lines=True),
        _raw_batch(staging, d2, "bluesky", 30),
    ]
    broken = new_batch_id("broken", datetime(2026, 2, 2, 13, tzinfo=UTC))
    staging.write_bytes("raw", broken, gzip.compress(b'{"a": 1}\n' * 200, mtime=0)[:40])
    for backend in (folder, s3):
        for batch in staging.list_batches("raw"):
            backend.lake.write_bytes("raw", batch.batch_id, staging.read_bytes(batch))
    assert s3.lake.hadoop_url(s3.lake.list_batches("raw")[0]).startswith("s3a://")

    reports = {b.name: run_backfill(spark_session, b.settings(Settings()), d1, d2, run_id="eq") for b in (folder, s3)}

    summary = {name: [(b.raw_batch_id, b.status, b.items_in, b.items_out, b.rejected) for b in r.batches]
               for name, r in reports.items()}  # fmt: skip
    assert summary["s3"] == summary["folder"]
    statuses = {b.raw_batch_id: b.status for b in reports["s3"].batches}
    assert statuses == {**dict.fromkeys(ids, "written"), broken: "failed"}
    for area in ("clean", "rejects"):
        folder_batches = folder.lake.list_batches(area)
        assert [b.key for b in s3.lake.list_batches(area)] == [b.key for b in folder_batches]
        assert folder_batches, f"the backfill wrote nothing to {area}/"
        for batch in folder_batches:
            assert s3.lake.read_bytes(batch) == folder.lake.read_bytes(batch), batch.key
    again = run_backfill(spark_session, s3.settings(Settings()), d1, d2, run_id="eq")
    assert again.count("skipped") == 3 and again.count("written") == 0
