"""`nowplaying clean` against the real Cassandra node and a real lake folder: pending raw batches
become clean batches with the same id, bad lines go to rejects/, progress and the run are recorded,
and a second run neither duplicates nor loses anything."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from nowplaying.cleaner.stage import run_once
from nowplaying.common.config import Settings
from nowplaying.common.lake import FolderLake, new_batch_id, read_jsonl_file
from nowplaying.common.models import ParsedPost


def _post(i: int, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "source": "x",
        "post_id": f"p{i}",
        "created_at": "2026-03-01T10:00:00Z",
        "author_id": f"a{i}",
        "author_name": None,
        "lang": None,
        "text": text,
        "urls": [],
        "is_repost": False,
        "raw": {},
        **extra,
    }


def _write_raw(lake: FolderLake, batch_id: str, lines: list[bytes]) -> None:
    lake.write_bytes("raw", batch_id, gzip.compress(b"\n".join(lines) + b"\n"))


def _read_clean(lake: FolderLake, batch_id: str) -> list[ParsedPost]:
    path = lake.path_for("clean", batch_id)
    return [ParsedPost.from_dict(json.loads(line)) for _, line in read_jsonl_file(path)]


def test_clean_stage_end_to_end(clean_db: Settings, cassandra_session: Any, lake_dir: Path) -> None:
    settings = clean_db.model_copy(update={"lake_dir": lake_dir})
    lake = FolderLake(lake_dir)
    first, second = new_batch_id("x"), new_batch_id("mastodon")
    _write_raw(
        lake,
        first,
        [
            json.dumps(_post(1, "#NowPlaying Daft Punk - Get Lucky (Radio Edit)")).encode(),
            b"{broken json",
            json.dumps(_post(2, "RT")).encode(),
            json.dumps(_post(3, "vibes", urls=["https://open.spotify.com/track/6wNUBZNWFxdUGof6vkaykE?si=1"])).encode(),
            b"[" * 3000 + b"]" * 3000,
        ],
    )
    _write_raw(lake, second, [json.dumps(_post(4, "Now Playing on Radio Nova 101.5: Stromae - Papaoutai")).encode()])

    summaries = run_once(settings, cassandra_session)

    assert sorted(s.batch_id for s in summaries) == sorted([first, second])
    cleaned = _read_clean(lake, first)
    assert [p.post_id for p in cleaned] == ["p1", "p2", "p3"]
    assert (cleaned[0].kind, cleaned[0].artist, cleaned[0].title) == ("parsed", "Daft Punk", "Get Lucky - Radio Edit")
    assert cleaned[1].kind == "none"
    assert (cleaned[2].kind, cleaned[2].spotify_track_id) == ("link", "6wNUBZNWFxdUGof6vkaykE")
    radio = _read_clean(lake, second)
    assert (radio[0].artist, radio[0].title, radio[0].is_bot) == ("Stromae", "Papaoutai", True)

    rejects_path = lake.path_for("rejects", first, ".clean.jsonl")
    rejects = [json.loads(line) for line in rejects_path.read_text().splitlines()]
    assert [r["line"] for r in rejects] == [2, 5]
    assert rejects[0]["reason"].startswith("invalid JSON")
    assert not lake.path_for("rejects", second, ".clean.jsonl").exists()

    keyspace = settings.cassandra_keyspace
    rows = list(
        cassandra_session.execute(
            f"SELECT batch_id, items_in, items_out FROM {keyspace}.stage_progress WHERE stage = 'clean' AND day = %s",
            (first[:4] + "-" + first[4:6] + "-" + first[6:8],),
        )
    )
    assert {(r.batch_id, r.items_in, r.items_out) for r in rows} == {(first, 5, 3), (second, 1, 1)}
    run = cassandra_session.execute(
        f"SELECT status, items_in, items_out, errors FROM {keyspace}.pipeline_runs WHERE stage = 'clean' LIMIT 1"
    ).one()
    assert (run.status, run.items_in, run.items_out, run.errors) == ("ok", 6, 4, 2)

    # a second run finds nothing pending and leaves the batches as they were
    before = lake.path_for("clean", first).read_bytes()
    assert run_once(settings, cassandra_session) == []
    assert lake.path_for("clean", first).read_bytes() == before
    assert len(lake.list_batches("clean")) == 2

    # a batch whose progress row is lost is cleaned again into the same file: never doubled
    from nowplaying.common.cassandra import ProgressStore

    ProgressStore(cassandra_session, keyspace).forget("clean", lake.list_batches("raw")[0].day, first)
    again = run_once(settings, cassandra_session)
    assert [s.batch_id for s in again] == [first]
    assert lake.path_for("clean", first).read_bytes() == before
    assert len(lake.list_batches("clean")) == 2


def test_unreadable_raw_batch_stays_pending(clean_db: Settings, cassandra_session: Any, lake_dir: Path) -> None:
    settings = clean_db.model_copy(update={"lake_dir": lake_dir})
    lake = FolderLake(lake_dir)
    bad, good = new_batch_id("bad"), new_batch_id("good")
    whole = gzip.compress(b"\n".join(json.dumps(_post(i, f"song {i} " * 20)).encode() for i in range(500)))
    lake.write_bytes("raw", bad, whole[: len(whole) // 2])  # a gzip stream cut in the middle
    _write_raw(lake, good, [json.dumps(_post(1, "Kino - Gruppa krovi")).encode()])

    summaries = run_once(settings, cassandra_session)

    assert [s.batch_id for s in summaries] == [good]
    assert not lake.path_for("clean", bad).exists()
    keyspace = settings.cassandra_keyspace
    run = cassandra_session.execute(
        f"SELECT status, errors, detail FROM {keyspace}.pipeline_runs WHERE stage = 'clean' LIMIT 1"
    ).one()
    assert run.errors == 1 and bad in run.detail
