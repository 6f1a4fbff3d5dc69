"""Three Cassandra nodes under a fault (issue 20, acceptance "Three nodes").

``nowplaying cassandra start --nodes 3`` (``LocalCluster``) starts three nodes on 127.0.0.21-23; the
keyspace has replication factor 3, so the services read and write at LOCAL_QUORUM (the ``auto``
consistency). During a load of ``TEST_FAULT_PLAYS`` plays (``nowplaying load`` as a process), one
node is killed with SIGKILL. The load finishes, or fails and is run again, and holds exactly the
file's plays. While the node is down, the gateway (``nowplaying serve``, uvicorn) serves every page
of ``/api/plays`` without an error. The node is started again; its peers' hints bring it level,
which two reads show: a count at ALL, and a count at ONE from that node alone once the other two are
killed. ``read_repair`` is off on ``plays_by_hour`` of the test keyspace so that the read at ALL
repairs nothing: only the hints can have levelled the node.

It starts its own three nodes (ports from ``TEST_CASSANDRA_PORT``, addresses from
``CASSANDRA_NODE_ADDRESSES``) and runs only with ``TEST_THREE_NODES=1``: three nodes start in
about 2 minutes on an idle 2-core machine and 5 on a loaded one, more than CI can spare. The
issue's 100,000 plays: ``TEST_FAULT_PLAYS=100000``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from nowplaying.common.config import Settings

from tests.support.enriched_csv import write_enriched_batch

pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_THREE_NODES") != "1" or bool(os.environ.get("CASSANDRA_HOSTS")),
    reason="three local nodes: set TEST_THREE_NODES=1 (and no CASSANDRA_HOSTS)",
)

N_PLAYS = int(os.environ.get("TEST_FAULT_PLAYS", "30000"))
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 2, tzinfo=UTC)
BUCKETS = [f"2026-03-01T{hour:02d}" for hour in range(24)]
NOWPLAYING = str(Path(sys.executable).parent / "nowplaying")
KILL_AT_SHARE = 0.25  # the node dies once about a quarter of the plays are stored


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Settings, Any]]:
    from nowplaying.common.cassandra import connect, shutdown
    from nowplaying.common.localnode import LocalCluster
    from nowplaying.common.migrate import migrate

    port = int(os.environ.get("TEST_CASSANDRA_PORT", "19042"))
    workdir = Path(tempfile.mkdtemp(prefix="np-test-3nodes-"))
    base = Settings(
        cassandra_port=port,
        cassandra_storage_port=port - 2000,
        cassandra_jmx_port=port - 1800,
        cassandra_data_dir=workdir,
        cassandra_nodes=3,
        cassandra_replication='{"class": "SimpleStrategy", "replication_factor": 3}',
        cassandra_keyspace="np_three_nodes",
        cassandra_connect_timeout_s=60.0,
    )
    nodes = LocalCluster(base)
    try:
        started = time.monotonic()
        nodes.start()
        print(f"\nthree nodes up in {time.monotonic() - started:.0f} s")
        settings = base.model_copy(update={"cassandra_hosts": nodes.hosts})
        session = connect(settings)
        migrate(session, settings.cassandra_keyspace, settings.replication_map)
        # the reads at ALL below must not repair what the hints did not (see the module doc)
        session.execute(f"ALTER TABLE {settings.cassandra_keyspace}.plays_by_hour WITH read_repair = 'NONE'")
        shutdown(session)
        yield settings, nodes
    finally:
        nodes.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _env(settings: Settings, lake: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PUSHGATEWAY_URL"}
    env.update(
        CASSANDRA_HOSTS=settings.cassandra_hosts,
        CASSANDRA_PORT=str(settings.cassandra_port),
        CASSANDRA_KEYSPACE=settings.cassandra_keyspace,
        CASSANDRA_REPLICATION=settings.cassandra_replication,
        LAKE_DIR=str(lake),
        LOG_FORMAT="json",
    )
    return env


def _count(session: Any, keyspace: str, consistency: int, host: Any = None) -> int:
    from cassandra.query import SimpleStatement

    total = 0
    for bucket in BUCKETS:
        statement = SimpleStatement(
            f"SELECT COUNT(*) FROM {keyspace}.plays_by_hour WHERE bucket = %s", consistency_level=consistency
        )
        total += int(session.execute(statement, (bucket,), timeout=120, host=host).one()[0])
    return total


def _pending_hints(session: Any, hosts: list[Any]) -> int:
    """Hint files the given nodes list for others (``system_views.pending_hints``, per node). A file
    leaves that list when its dispatch starts, not when it ends: see ``_hint_files``."""
    files = 0
    for host in hosts:
        for row in session.execute("SELECT files FROM system_views.pending_hints", host=host, timeout=30):
            files += int(row.files or 0)
    return files


def _hint_files(nodes: list[Any]) -> int:
    """Hint files on the nodes' disks. A node deletes a hint file once every hint in it is delivered,
    so none left on the live peers means the dead node got everything they held for it."""
    return sum(len(list((node.paths.data / "hints").glob("*.hints"))) for node in nodes)


class _Load:
    """``nowplaying load`` as a process, its output kept."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [NOWPLAYING, "load"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip())

    def wait(self, timeout_s: float) -> int:
        code = self.proc.wait(timeout=timeout_s)
        self.reader.join(timeout=10)
        return code


class _Gateway:
    """``nowplaying serve`` as a process on a free loopback port."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [NOWPLAYING, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.client = requests.Session()

    def get(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        return self.client.get(self.base_url + path, params=params, timeout=120)

    def __enter__(self) -> _Gateway:
        deadline = time.monotonic() + 120
        while True:
            assert self.proc.poll() is None, "the gateway exited"
            try:
                if self.get("/readyz").status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the gateway was not ready within 120 s"
            time.sleep(0.5)

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=20)


@pytest.mark.timeout(3600)
def test_a_node_killed_during_a_load_loses_nothing_and_comes_back_level(
    cluster: tuple[Settings, Any], tmp_path: Path
) -> None:
    from cassandra import ConsistencyLevel
    from nowplaying.common.cassandra import connect, shutdown

    settings, nodes = cluster
    ks = settings.cassandra_keyspace
    assert settings.replication_factor == 3 and settings.consistency == "LOCAL_QUORUM"
    lake = tmp_path / "lake"
    path, rows = write_enriched_batch(lake, N_PLAYS, seed=53, start=START, end=END, n_tracks=2_000, newlines=False)
    per_bucket = Counter(r["created_at"][:13] for r in rows)
    assert sum(per_bucket.values()) == N_PLAYS and set(per_bucket) <= set(BUCKETS)
    sampled = BUCKETS[::6]  # the loader's progress, from four hour buckets
    expected_sampled = sum(per_bucket[b] for b in sampled)
    env = _env(settings, lake)
    victim = nodes.nodes[-1]
    session = connect(settings)
    try:
        count = session.prepare(f"SELECT COUNT(*) FROM {ks}.plays_by_hour WHERE bucket = ?")
        count.consistency_level = ConsistencyLevel.ONE

        # --- the load, and kill -9 of one node while it runs ------------------------------------
        load = _Load(env)
        started = time.monotonic()
        stored = 0
        while stored < KILL_AT_SHARE * expected_sampled:
            assert load.proc.poll() is None, "the load ended before the node was killed:\n" + "\n".join(
                load.lines[-20:]
            )
            assert time.monotonic() - started < 1200, "the load did not progress"
            time.sleep(0.5)
            stored = sum(int(session.execute(count, (b,), timeout=60).one()[0]) for b in sampled)
        assert victim.kill()
        killed_at = time.monotonic()
        print(f"\nkilled node {victim.address} (SIGKILL) at {stored / expected_sampled:.0%} of the load")
        code = load.wait(timeout_s=1800)
        runs = 1
        if code != 0:  # the load stopped on the failure: run it again, as the next CronJob run would
            assert any(line.startswith("error:") for line in load.lines), "\n".join(load.lines[-30:])
            print(f"the load stopped (code {code}); running it again with the node still down")
            load = _Load(env)
            code = load.wait(timeout_s=1800)
            runs = 2
        assert code == 0, "\n".join(load.lines[-30:])
        assert victim.pid() is None  # still down
        print(f"load done in {runs} run(s), {time.monotonic() - started:.0f} s")

        # --- exactly the file's plays, read at QUORUM on the two nodes left ------------------------
        at_quorum = _count(session, ks, ConsistencyLevel.QUORUM)
        print(f"count at QUORUM with the node down: {at_quorum:,}")
        assert at_quorum == N_PLAYS
        load_log = session.execute(f"SELECT status, rows_loaded FROM {ks}.load_log WHERE file = %s", (path.stem,)).one()
        assert load_log.status == "loaded" and load_log.rows_loaded == N_PLAYS

        # --- the gateway serves every page while the node is down ---------------------------------
        seen: list[str] = []
        pages = 0
        with _Gateway(env) as gateway:
            params: dict[str, Any] = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z", "limit": 200}
            while True:
                response = gateway.get("/api/plays", params=params)
                assert response.status_code == 200, (pages, response.text[:500])
                page = response.json()
                pages += 1
                seen.extend(f"{item['source']}:{item['post_id']}" for item in page["items"])
                if not page["next_cursor"]:
                    break
                params["cursor"] = page["next_cursor"]
        assert victim.pid() is None  # all pages were served with the node down
        assert len(seen) == N_PLAYS and len(set(seen)) == N_PLAYS
        print(f"gateway: {pages} pages of /api/plays, {len(seen):,} plays, no error, node down")

        # --- the node comes back; hints bring it level -------------------------------------------
        others = [h for h in session.cluster.metadata.all_hosts() if h.address != victim.address]
        held = _pending_hints(session, others)
        held_mib = (
            sum(f.stat().st_size for node in nodes.nodes[:-1] for f in (node.paths.data / "hints").glob("*.hints"))
            / 2**20
        )
        print(
            f"hint files held for the dead node: {held} listed, {held_mib:.0f} MiB on disk;"
            f" down for {time.monotonic() - killed_at:.0f} s"
        )
        restarted = time.monotonic()
        victim.start()
        nodes.wait_all_up()
        deadline = time.monotonic() + 600
        while (left := _pending_hints(session, others) + _hint_files(nodes.nodes[:-1])) > 0:
            assert time.monotonic() < deadline, f"{left} hint files still pending after 600 s"
            time.sleep(2)
        print(f"node back and hints delivered in {time.monotonic() - restarted:.0f} s")
        at_all = _count(session, ks, ConsistencyLevel.ALL)
        print(f"count at ALL: {at_all:,}")
        assert at_all == N_PLAYS
    finally:
        shutdown(session)

    # --- the node alone holds every play: the other two killed, a count at ONE from it ----------
    for node in nodes.nodes[:-1]:
        assert node.kill()
    alone = connect(settings.model_copy(update={"cassandra_hosts": victim.address}), deadline_s=60)
    try:
        host = next(h for h in alone.cluster.metadata.all_hosts() if h.address == victim.address)
        deadline = time.monotonic() + 180
        while True:  # until the node has seen its peers go down and stops asking them
            try:
                held_alone = _count(alone, ks, ConsistencyLevel.ONE, host=host)
                break
            except Exception as exc:
                assert time.monotonic() < deadline, f"the node alone did not answer: {exc}"
                time.sleep(3)
        print(f"count at ONE from the restarted node alone: {held_alone:,}")
        assert held_alone == N_PLAYS, f"the restarted node alone holds {held_alone} of {N_PLAYS} plays"
    finally:
        shutdown(alone)
