"""The pipeline over the lake, on both backends, through the faults a lake must survive.

Each test runs the real stages (`nowplaying extract|clean|enrich|load`, child processes) against the
sandbox, the test keyspace and the lake under test, breaks them, runs them again, and checks that
every post the sources served is in raw/ and clean/ exactly once and every song post is exactly one
play in Cassandra. Faults are put at exact points of the code by ``tests.support.crash``:

- a SIGKILL between a batch's write and its commit (and, for the loader, before a move);
- the S3 server stopped while a stage is in the middle of its run, then started again;
- two processes of each stage racing on the same pending batches.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from nowplaying.common.config import PROJECT_ROOT, Settings

from tests.fixtures_lake import LakeBackend, free_port_block, s3_backend, start_local_s3
from tests.integration.test_extract_sandbox import expected_ids
from tests.support.pipeline import pipeline_env

STAGES = ("extract", "clean", "enrich", "load")
SONG_KINDS = {"link", "parsed", "query"}
OUTPUT_AREA = {"extract": "raw", "clean": "clean", "enrich": "enriched", "load": "history"}


def _commit_target(backend: LakeBackend) -> str:
    if backend.name == "s3":
        return "nowplaying.common.lake.s3:S3Lake._commit"
    return "nowplaying.common.lake.folder:FolderLake._commit"


def _move_target(backend: LakeBackend) -> str:
    if backend.name == "s3":  # between the copy to history/ and the delete from enriched/
        return "nowplaying.common.lake.s3:S3Lake._drop_moved"
    return "nowplaying.common.lake.folder:FolderLake._move"


def _env(settings: Settings, sandbox: Any, backend: LakeBackend, tmp_path: Path) -> dict[str, str]:
    env = pipeline_env(
        settings, sandbox.urls, tmp_path / "lake", LOG_LEVEL="WARNING", EXTRACT_BATCH_POSTS="60", **backend.env
    )
    env.pop("PUSHGATEWAY_URL", None)
    return env


def _stage(env: dict[str, str], stage: str, *fault: str, timeout: float = 300) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.crash", *fault, "--", stage],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def _run_ok(env: dict[str, str], stage: str) -> None:
    code, err = _finish(_stage(env, stage))
    assert code == 0, f"nowplaying {stage} exited {code}:\n{err[-3000:]}"


def _records(lake: Any, area: str) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for batch in lake.list_batches(area):
        for _, line in lake.read_jsonl_lines(batch):
            record = orjson.loads(line)
            found[(record["source"], record["post_id"])] += 1
    return found


def assert_every_post_exactly_once(lake: Any, sandbox: Any, session: Any, keyspace: str) -> dict[str, int]:
    expected = {(source, post_id) for source, ids in expected_ids(sandbox).items() for post_id in ids}
    assert len(expected) > 100, "the sandbox served too few posts: the test proves nothing"
    for area in ("raw", "clean"):
        found = _records(lake, area)
        doubled = [k for k, n in found.items() if n > 1]
        assert not doubled, f"{area}/: {len(doubled)} posts twice, e.g. {doubled[:3]}"
        assert set(found) == expected, f"{area}/: missing {sorted(expected - set(found))[:3]}"
    kinds: dict[tuple[str, str], str] = {}
    for batch in lake.list_batches("clean"):
        for _, line in lake.read_jsonl_lines(batch):
            record = orjson.loads(line)
            kinds[(record["source"], record["post_id"])] = record["kind"]
    songs = {key for key, kind in kinds.items() if kind in SONG_KINDS}
    rows = session.execute(f"SELECT source, post_id FROM {keyspace}.plays_by_hour")
    plays = Counter((row.source, row.post_id) for row in rows)
    assert not [k for k, n in plays.items() if n > 1], "a post became two plays"
    missing, extra = sorted(songs - set(plays)), sorted(set(plays) - songs)
    assert not missing and not extra, f"plays missing: {missing[:3]}, extra: {extra[:3]}"
    assert lake.list_batches("enriched") == [], "every enriched batch is loaded and moved"
    assert len(lake.list_batches("history")) == len(lake.list_batches("clean"))
    lake.sweep_temporaries(older_than_s=0)
    return {"posts": len(expected), "plays": len(plays), "batches": len(lake.list_batches("raw"))}


def test_sigkill_between_write_and_commit(
    lake_backend: LakeBackend, sandbox: Any, clean_db: Settings, cassandra_session: Any, tmp_path: Path
) -> None:
    lake = lake_backend.lake
    env = _env(clean_db, sandbox, lake_backend, tmp_path)
    for stage in STAGES:
        target = _move_target(lake_backend) if stage == "load" else _commit_target(lake_backend)
        before = len(lake.list_batches(OUTPUT_AREA[stage]))
        code, err = _finish(_stage(env, stage, "--kill-at", target, "--nth", "2"))
        assert code == -9, f"{stage} was not killed at its second commit ({code}):\n{err[-2000:]}"
        committed = len(lake.list_batches(OUTPUT_AREA[stage])) - before
        # on S3 the loader was killed after its second copy to history/, before the delete from enriched/
        between_copy_and_delete = stage == "load" and lake_backend.name == "s3"
        assert committed == (2 if between_copy_and_delete else 1), f"{stage}: {committed} batches before the kill"
        if between_copy_and_delete:
            assert {b.batch_id for b in lake.list_batches("history")} & {
                b.batch_id for b in lake.list_batches("enriched")
            }, "the killed move left the batch at both places"
        _run_ok(env, stage)
    figures = assert_every_post_exactly_once(lake, sandbox, cassandra_session, clean_db.cassandra_keyspace)
    print(f"{lake_backend.name}: killed each stage once between write and commit; {figures}")


def test_two_processes_of_each_stage_race_on_the_same_batches(
    lake_backend: LakeBackend, sandbox: Any, clean_db: Settings, cassandra_session: Any, tmp_path: Path
) -> None:
    lake = lake_backend.lake
    env = _env(clean_db, sandbox, lake_backend, tmp_path)
    _run_ok(env, "extract")
    # each process lists the pending batches, then takes a while per batch, so both work on the same ones
    slow = {
        "clean": "nowplaying.cleaner.stage:clean_batch",
        "enrich": "nowplaying.enricher.service:process_batch",
        "load": "nowplaying.loader.stage:load_batch",
    }
    for stage, target in slow.items():
        procs = [_stage(env, stage, "--delay", target, "0.3") for _ in range(2)]
        for proc in procs:
            code, err = _finish(proc)
            assert code == 0, f"a racing {stage} exited {code}:\n{err[-3000:]}"
    runs = {
        stage: [r.items_in for r in cassandra_session.execute(
            f"SELECT items_in FROM {clean_db.cassandra_keyspace}.pipeline_runs WHERE stage = %s", (stage,)
        )]
        for stage in ("clean", "enrich")
    }  # fmt: skip
    posts = sum(_records(lake, "raw").values())
    assert len(runs["clean"]) == 2 and sum(runs["clean"]) > posts, f"the cleaners did not race: {runs}"
    figures = assert_every_post_exactly_once(lake, sandbox, cassandra_session, clean_db.cassandra_keyspace)
    print(f"{lake_backend.name}: two processes per stage; runs {runs}; {figures}")


def test_s3_server_stopped_mid_run_and_started_again(
    sandbox: Any, clean_db: Settings, cassandra_session: Any, tmp_path: Path
) -> None:
    server = start_local_s3(tmp_path / "seaweedfs", free_port_block())
    try:
        backend = s3_backend(server)
        lake = backend.lake
        env = _env(clean_db, sandbox, backend, tmp_path)
        for stage in STAGES:
            target = _move_target(backend) if stage == "load" else _commit_target(backend)
            area = OUTPUT_AREA[stage]
            before = len(lake.list_batches(area))
            proc = _stage(env, stage, "--delay", target, "1.5")
            deadline = time.monotonic() + 120
            while len(lake.list_batches(area)) == before:  # mid-run: its first batch is committed
                assert proc.poll() is None, f"{stage} ended before a batch was committed:\n{proc.communicate()[1]}"
                assert time.monotonic() < deadline, f"{stage} committed nothing in 120 s"
                time.sleep(0.1)
            server.stop()
            code, err = _finish(proc)
            assert code == 1, f"{stage} did not fail when the lake went away ({code}):\n{err[-2000:]}"
            assert "lake" in err and f"s3://{backend.overrides['lake_url'].removeprefix('s3://')}" in err, err[-2000:]
            server.start()
            _run_ok(env, stage)
        figures = assert_every_post_exactly_once(lake, sandbox, cassandra_session, clean_db.cassandra_keyspace)
        print(f"s3: server stopped in the middle of each stage and started again; {figures}")
    finally:
        server.stop()


pytestmark = [pytest.mark.timeout(900)]
