"""The lake's guarantees, on both backends: the folder and a real S3 server (SeaweedFS, loopback).

Each test runs once per backend (``lake_backend``): the same calls must give the same answers.
"""

from __future__ import annotations

import gzip
import hashlib
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from nowplaying.common.config import Settings
from nowplaying.common.lake import Batch, BatchMissing, FolderLake, LakeError, new_batch_id, open_lake

from tests.fixtures_lake import LakeBackend


def _put_raw(lake: Any, key: str, data: bytes) -> None:
    """Bytes straight to a key, bypassing the commit: what a crashed or foreign writer leaves."""
    if isinstance(lake, FolderLake):
        path = lake.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    else:
        import obstore

        obstore.put(lake.store, key, data)


def _temporaries(lake: Any) -> list[str]:
    if isinstance(lake, FolderLake):
        return sorted(str(p.relative_to(lake.root)) for p in lake.root.rglob(".tmp-*"))
    import obstore

    return sorted(m["path"] for chunk in obstore.list(lake.store, ".staging/") for m in chunk)


def test_writes_list_and_read_back(lake_backend: LakeBackend) -> None:
    lake = lake_backend.lake
    first = lake.write_jsonl("raw", new_batch_id("x"), [{"a": 1}, {"a": 2}])
    second = lake.write_jsonl("raw", new_batch_id("mastodon"), [{"a": 3}])
    assert [b.batch_id for b in lake.list_batches("raw")] == [first.batch_id, second.batch_id]
    assert [b.batch_id for b in lake.pending("raw", {first.batch_id})] == [second.batch_id]
    assert [(n, line) for n, line in lake.read_jsonl_lines(first)] == [(1, b'{"a":1}'), (2, b'{"a":2}')]
    assert gzip.decompress(lake.read_bytes(second)) == b'{"a":3}\n'
    assert lake.exists("raw", first.batch_id) and not lake.exists("clean", first.batch_id)
    assert lake.checksum(second) == hashlib.sha256(lake.read_bytes(second)).hexdigest()
    with lake.local_file(second) as path:
        assert path.read_bytes() == lake.read_bytes(second)
    assert not _temporaries(lake), "a committed write leaves no temporary behind"


def test_an_uncommitted_write_is_never_listed_and_is_swept_when_old(lake_backend: LakeBackend) -> None:
    lake = lake_backend.lake
    done = lake.write_jsonl("raw", new_batch_id("x"), [{"a": 1}])
    # what a writer killed between the write and the commit leaves
    half = new_batch_id("x")
    if isinstance(lake, FolderLake):
        _put_raw(lake, f"raw/{done.day}/.tmp-{half}.jsonl.gz-0000", b"partial")
    else:
        _put_raw(lake, f".staging/raw/{done.day}/{half}.jsonl.gz.0000", b"partial")
    assert [b.batch_id for b in lake.list_batches("raw")] == [done.batch_id]
    assert not lake.exists("raw", half)
    assert lake.sweep_temporaries() == 0, "a young temporary may be a live write: kept"
    time.sleep(1.1)
    assert lake.sweep_temporaries(older_than_s=1.0) == 1
    assert not _temporaries(lake)
    assert [b.batch_id for b in lake.list_batches("raw")] == [done.batch_id]


def test_a_commit_never_replaces_a_batch_unless_asked(lake_backend: LakeBackend) -> None:
    lake = lake_backend.lake
    batch_id = new_batch_id("e")
    first = lake.write_bytes("enriched", batch_id, b"first version\n")
    again = lake.write_bytes("enriched", batch_id, b"second version\n")
    assert again == first and lake.read_bytes(first) == b"first version\n"
    lake.write_bytes("enriched", batch_id, b"replaced\n", replace=True)
    assert lake.read_bytes(first) == b"replaced\n"
    assert [b.batch_id for b in lake.list_batches("enriched")] == [batch_id]
    assert not _temporaries(lake)


def test_moves_are_safe_to_redo(lake_backend: LakeBackend) -> None:
    lake = lake_backend.lake
    batch = lake.write_bytes("enriched", new_batch_id("e"), b"id_tweet\n")
    moved = lake.move(batch, "history")
    assert moved == Batch("history", batch.day, batch.batch_id, batch.name)
    assert lake.list_batches("enriched") == [] and lake.list_batches("history") == [moved]
    assert lake.read_bytes(moved) == b"id_tweet\n"
    # a second run doing the same move (or this one redone) finds it done
    assert lake.move(batch, "history") == moved
    # killed between the copy and the delete (S3): the batch is at both places; the move is redone
    _put_raw(lake, batch.key, b"id_tweet\n")
    assert lake.list_batches("enriched") == [batch]
    lake.move(batch, "history")
    assert lake.list_batches("enriched") == [] and lake.list_batches("history") == [moved]
    # a move to another name keeps both
    kept = lake.move(moved, "history", name=f"{batch.batch_id}.old")
    assert lake.read_bytes(kept) == b"id_tweet\n" and not lake.has(moved)
    with pytest.raises(BatchMissing):
        lake.move(Batch("enriched", batch.day, "20260101T000000000000Z-none-000000", "none.csv"), "history")
    with pytest.raises(BatchMissing):
        lake.read_bytes(moved)


def test_a_local_file_keeps_its_bytes_while_another_run_moves_the_batch(lake_backend: LakeBackend) -> None:
    """Two loaders on the same pending file: the one that finishes first moves it to history while
    the other still reads it. The reader's file must stay whole, and leave nothing behind."""
    lake = lake_backend.lake
    batch = lake.write_jsonl("raw", new_batch_id("x"), [{"a": n} for n in range(100)])
    expected = lake.read_bytes(batch)
    with lake.local_file(batch) as path:
        lake.move(batch, "clean")
        assert not lake.exists("raw", batch.batch_id)
        assert path.read_bytes() == expected
    assert not path.exists()
    with pytest.raises(BatchMissing), lake.local_file(batch):
        pass
    assert lake.sweep_temporaries(older_than_s=0.0) == 0, "a finished read leaves nothing to sweep"


def test_the_file_of_a_killed_reader_is_swept_when_old(lake_backend: LakeBackend) -> None:
    """The folder lake's reader links live in the lake (``.reading/``); the S3 lake's copies are the
    machine's temporary files, outside the lake."""
    lake = lake_backend.lake
    if not isinstance(lake, FolderLake):
        pytest.skip("the S3 lake's local copies are temporary files outside the lake")
    batch = lake.write_jsonl("raw", new_batch_id("x"), [{"a": 1}])
    reading = lake.local_file(batch)
    held = reading.__enter__()  # a reader killed mid-read never leaves the block
    assert lake.sweep_temporaries() == 0, "a young file may be a live read: kept"
    assert held.exists()
    time.sleep(1.1)
    assert lake.sweep_temporaries(older_than_s=1.0) == 1
    assert not held.exists()
    assert lake.exists("raw", batch.batch_id), "the batch itself stays"


def test_listing_is_complete_past_one_page_and_filters_days(lake_backend: LakeBackend) -> None:
    """More than 1,000 keys in one day folder (S3 lists 1,000 per page) and several days."""
    lake = lake_backend.lake
    ids = [f"20260304T{i // 3600:02d}{i // 60 % 60:02d}{i % 60:02d}000000Z-x-{i:06x}" for i in range(1_100)]
    for batch_id in ids:
        _put_raw(lake, f"raw/2026-03-04/{batch_id}.jsonl.gz", b"")
    other_days = [lake.write_jsonl("raw", f"2026030{d}T000000000000Z-x-000000", []) for d in (3, 5)]
    listed = lake.list_batches("raw")
    assert [b.batch_id for b in listed] == [other_days[0].batch_id, *ids, other_days[1].batch_id]
    assert len(lake.list_batches("raw", since=date(2026, 3, 4), until=date(2026, 3, 4))) == 1_100
    assert [b.day for b in lake.list_batches("raw", since=date(2026, 3, 5))] == ["2026-03-05"]
    assert len(lake.pending("raw", set(ids[:1_000]))) == 102


def test_urls_for_spark_name_the_batch(lake_backend: LakeBackend) -> None:
    lake = lake_backend.lake
    batch = lake.write_jsonl("raw", new_batch_id("x"), [])
    url = lake.hadoop_url(batch)
    if lake_backend.name == "s3":
        assert url == f"s3a://{lake.url.removeprefix('s3://')}/{batch.key}"
    else:
        assert url == Path(lake.root / batch.key).resolve().as_uri()


def test_open_lake_chooses_the_backend_from_the_settings(tmp_path: Path) -> None:
    assert isinstance(open_lake(Settings(lake_dir=tmp_path, lake_url=None)), FolderLake)
    assert open_lake(Settings(lake_url=f"file://{tmp_path}/x")).url == (tmp_path / "x").resolve().as_uri()
    assert open_lake(Settings(lake_url="s3://bucket/some/prefix/")).url == "s3://bucket/some/prefix"
    with pytest.raises(LakeError, match="neither s3://bucket/prefix nor file:///path"):
        open_lake(Settings(lake_url="gs://bucket"))
    with pytest.raises(LakeError, match="unknown lake area"):
        open_lake(Settings(lake_dir=tmp_path)).list_batches("cooked")


def test_the_s3_lake_fails_clearly_when_the_server_does_not_answer(tmp_path: Path) -> None:
    from nowplaying.common.lake import LakeUnavailable

    from tests.fixtures_lake import free_port_block

    settings = Settings(
        lake_url="s3://bucket/p",
        lake_s3_endpoint=f"http://127.0.0.1:{free_port_block(1)}",
        lake_s3_access_key_id="k",
        lake_s3_secret_access_key="s3cr3t-value",
        lake_s3_retry_timeout_s=1.0,
    )
    started = time.monotonic()
    with pytest.raises(LakeUnavailable) as error:
        open_lake(settings).list_batches("raw")
    assert time.monotonic() - started < 30
    assert "the lake at s3://bucket/p failed to list raw/" in str(error.value)
    assert "s3cr3t-value" not in str(error.value)
