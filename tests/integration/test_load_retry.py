"""The loader's writes resent after write timeouts, on a real node: nothing lost, nothing doubled.

The node's write timeout is cut to 1 ms (`nodetool settimeout write 1`, the server's own nodetool
over JMX) for the first part of the load, so the coordinator answers a good share of the loader's
writes with a real ``WriteTimeout``. With its retries (see ``nowplaying.loader.retry``) the load rides that out and
finishes in one run; without them it stops, and the file stays pending for the next run. The timeout
is set back to the node's 10 s in any case.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nowplaying.common.config import Settings
from nowplaying.common.lake import FolderLake
from nowplaying.common.localnode import LocalNode

from tests.integration.test_load_batches import END, START, count_plays
from tests.integration.test_load_recovery import _env, _start_load, _wait_until_mid_load
from tests.support.enriched_csv import write_enriched_batch

pytestmark = pytest.mark.slow

NORMAL_WRITE_TIMEOUT_MS = "10000"  # the local node's write_request_timeout (localnode.cassandra_yaml)
SLOW_SECONDS = 4.0  # how long the tiny timeout holds after plays are seen in the riding-out test
# Enough plays that the load is still going when the timeout is cut (a second run of the same file
# reads every stored play first, several times slower than the first: kept small for that).
N_ROWS = 40_000


@pytest.fixture
def local_node(clean_db: Settings) -> Iterator[LocalNode]:
    """The test node, reachable over JMX; its write timeout is restored after the test."""
    if any(host not in ("127.0.0.1", "localhost") for host, _ in clean_db.cassandra_contact_points):
        pytest.skip("needs the local test node (nodetool over its loopback JMX port)")
    node = LocalNode(clean_db)
    assert "10000 ms" in node.nodetool("gettimeout", "write")
    try:
        yield node
    finally:
        node.nodetool("settimeout", "write", NORMAL_WRITE_TIMEOUT_MS)


def _retried(output: str) -> int:
    found = re.search(r"retried=(\d+)", output)
    assert found, f"no file_loaded line with retried=:\n{output[-3000:]}"
    return int(found.group(1))


def _assert_all_loaded_once(session: Any, keyspace: str, lake_dir: Path, name: str) -> None:
    assert count_plays(session, keyspace) == N_ROWS
    lake = FolderLake(lake_dir)
    assert lake.list_batches("enriched") == []
    assert [b.name for b in lake.list_batches("history")] == [name]


def _batch(lake_dir: Path, seed: int) -> tuple[Path, str]:
    path, _ = write_enriched_batch(lake_dir, N_ROWS, seed=seed, start=START, end=END, return_rows=False)
    return path, path.name.removesuffix(".csv")


def test_write_timeouts_mid_load_are_resent_and_the_load_finishes_in_one_run(
    local_node: LocalNode, clean_db: Settings, cassandra_session: Any, lake_dir: Path, tmp_path: Path
) -> None:
    ks = clean_db.cassandra_keyspace
    path, batch_id = _batch(lake_dir, seed=41)
    env = _env(clean_db, lake_dir)
    log_path = tmp_path / "load.log"

    # The tiny timeout is set before the load starts and lifted only once plays are being written
    # under it: cut mid-load instead, it could land after the writes of a quick load were all sent
    # (nodetool itself takes seconds to start).
    local_node.nodetool("settimeout", "write", "1")
    try:
        proc = _start_load(env, log_path)
        try:
            _wait_until_mid_load(proc, cassandra_session, ks, batch_id, log_path)
            time.sleep(SLOW_SECONDS)
        finally:
            local_node.nodetool("settimeout", "write", NORMAL_WRITE_TIMEOUT_MS)
        code = proc.wait(timeout=400)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    output = log_path.read_text()
    assert code == 0, output[-3000:]
    assert f"loaded 1 file(s), {N_ROWS} rows (0 rejected)" in output
    retried = _retried(output)
    print(f"writes resent: {retried}")
    assert retried > 0, "the 1 ms write timeout should have made the node refuse some writes"
    assert "WriteTimeout" in output  # load_writes_retried names the errors it rode out
    _assert_all_loaded_once(cassandra_session, ks, lake_dir, path.name)


def test_retries_used_up_stop_the_run_and_the_file_stays_pending_for_the_next(
    local_node: LocalNode, clean_db: Settings, cassandra_session: Any, lake_dir: Path, tmp_path: Path
) -> None:
    """No resends allowed: the first write the node times out ends the run. The 1 ms timeout is set
    before the load starts and holds to its end, so the fault cannot miss a short load (cutting it
    mid-load could land after a quick load had finished)."""
    path, _ = _batch(lake_dir, seed=42)
    env = {**_env(clean_db, lake_dir), "LOAD_WRITE_RETRIES": "0"}
    log_path = tmp_path / "load.log"

    local_node.nodetool("settimeout", "write", "1")
    try:
        proc = _start_load(env, log_path)
        try:
            code = proc.wait(timeout=400)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    finally:
        local_node.nodetool("settimeout", "write", NORMAL_WRITE_TIMEOUT_MS)
    output = log_path.read_text()
    assert code == 1, output[-3000:]
    assert f"error: Cassandra unavailable while loading enriched/{path.parent.name}/{path.name}: " in output
    assert "timed out" in output, output[-3000:]  # the node's own WriteTimeout, named in the error
    assert path.exists(), "the file must stay in enriched/ for the next run"
    assert FolderLake(lake_dir).list_batches("history") == []
