"""Loader throughput and tombstones, beside cqlsh COPY on the same file in the same run (issue 20).

Ours: `nowplaying load` (LOAD_WORKERS processes, prepared statements, partition-local unlogged
batches, a bounded window in flight) writing plays_by_hour, plays_by_track, tracks, artists and
audio_features. Baseline: `cqlsh COPY ... FROM` (the original project's method, cqlsh 6.2 from
PyPI, its default options) loading the same file into one equivalent fresh table holding the CSV's
columns. COPY runs first in each setup, so any compaction it leaves behind counts against ours.

The 3× COPY target is retired: both loaders saturate the two shared cores and the node's CPU per
row is the bound (the CPU per row below shows it). What is reported, each beside COPY:

- one node (the node at CASSANDRA_HOSTS/CASSANDRA_PORT, replication factor 1): rows/s (target
  ≥ 1.0× COPY's, although we write five tables to its one) and tombstones per play, from
  Cassandra's query trace of a read of every hour bucket (ours) and of the whole COPY table
  (target 0; COPY binds every empty field as null, so it writes a tombstone per missing value);
- three nodes (`LocalCluster`, started here on CASSANDRA_NODE_ADDRESSES in a folder of its own,
  ports from CASSANDRA_PORT, and stopped after), replication factor 3, both at QUORUM: rows/s.

The file is a Development Mode one (no popularity, features partly missing, unmatched plays), as
`make run` against the sandbox produces; every record on one physical line (COPY splits its input
by lines). Client CPU is the loaders' user+system time (workers included), peak memory the largest
summed RSS of the process tree, server CPU the Cassandra processes' own time.

BENCH_LOAD_ROWS sets the row count (default 100,000); BENCH_LOAD_NODES=1 skips the three nodes.
The bench keyspaces are dropped after.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nowplaying.common.cassandra import connect, shutdown
from nowplaying.common.config import PROJECT_ROOT, Settings
from nowplaying.common.models import ENRICHED_CSV_COLUMNS

from bench.common import Result, progress
from tests.support.enriched_csv import write_enriched_batch
from tests.support.tombstones import hour_buckets, traced_hour_reads, traced_read

N_ROWS = int(os.environ.get("BENCH_LOAD_ROWS", "100000"))
NODES = int(os.environ.get("BENCH_LOAD_NODES", "3"))
LOAD_RUNS = 3  # runs of the loader at most, as CronJob runs would retry a file that stopped
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 2, tzinfo=UTC)
VENV_BIN = Path(sys.executable).parent

COPY_TABLE = """
CREATE TABLE IF NOT EXISTS {ks}.plays_copy (
    id_tweet text, text text, created_at timestamp, url_tweet text, id_track text, name text,
    popularity int, artists_id text, artists_name text, danceability float, energy float, key int,
    loudness float, speechiness float, acousticness float, instrumentalness float, liveness float,
    valence float, tempo float, duration_ms int, time_signature int, mode int, source text,
    post_id text, author_id text, album text, release_date text, match_method text,
    match_confidence float, features_source text, is_bot boolean, match_candidate int, match_rule text, lang text,
    PRIMARY KEY ((source, post_id))
)"""


@dataclass
class Measured:
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    server_cpu_seconds: float | None
    output: str


@dataclass
class Setup:
    """One Cassandra setup the two loaders run against."""

    label: str  # "1 node", "3 nodes"
    settings: Settings  # hosts, port, replication, consistency
    servers: list[psutil.Process]
    cqlsh_consistency: str  # the CONSISTENCY cqlsh's COPY writes at


@dataclass
class Pair:
    copy: Measured
    copy_rows: int
    ours: Measured
    our_rows: int
    our_tombstones: int | None = None
    copy_tombstones: int | None = None
    runs: int = 1  # runs of the loader it took (a run that stops leaves the file for the next)
    retried: int = 0  # writes the loader sent again (write timeouts, unavailable replicas)
    copy_error: str = ""  # why COPY stopped short of every row


def _listening(addresses: set[str], port: int) -> list[psutil.Process]:
    """The Cassandra processes listening for CQL on ``port`` at one of ``addresses``."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if not any("CassandraDaemon" in part for part in proc.info.get("cmdline") or []):
            continue
        try:
            if any(
                c.status == "LISTEN" and c.laddr.port == port and c.laddr.ip in addresses | {"0.0.0.0"}
                for c in proc.net_connections("tcp")
            ):
                found.append(proc)
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
    return found


def _cpu(procs: list[psutil.Process]) -> float | None:
    if not procs:
        return None
    try:
        return sum(float(t.user + t.system) for t in (p.cpu_times() for p in procs))
    except psutil.Error:
        return None


def _measure(
    command: list[str],
    env: dict[str, str],
    servers: list[psutil.Process],
    label: str,
    check: bool = True,
    cwd: Path = PROJECT_ROOT,
) -> Measured:
    """Run a command to the end; its wall time, CPU (children included), peak tree RSS. ``check``:
    a non-zero exit raises (else it is only reported, as for a baseline that gave up)."""
    before = os.times()
    server_before = _cpu(servers)
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0.0
    lines: list[str] = []

    def read_output() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            lines.append(line)
            if "load_progress" in line or "file_loaded" in line or "rows imported" in line:
                progress(f"{label}: {line[-160:]}")

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()) / 2**20)
        except psutil.Error:
            pass
        time.sleep(0.2)
    reader.join(timeout=10)
    seconds = time.perf_counter() - started
    after = os.times()
    server_after = _cpu(servers)
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    output = "\n".join(lines)
    if proc.returncode != 0:
        if check:
            raise RuntimeError(f"{label} failed with code {proc.returncode}:\n{output[-3000:]}")
        progress(f"{label} exited with code {proc.returncode}: {output[-600:]}")
    server_cpu = None if server_before is None or server_after is None else server_after - server_before
    return Measured(seconds, cpu, peak, server_cpu, output)


def _load_until_done(env: dict[str, str], setup: Setup, label: str) -> tuple[Measured, int]:
    """`nowplaying load`, run again (as the next CronJob run would) while a run stops on an error, at
    most LOAD_RUNS times; the runs' times and CPU summed, with the last run's output."""
    total: Measured | None = None
    for run in range(1, LOAD_RUNS + 1):
        measured = _measure([str(VENV_BIN / "nowplaying"), "load"], env, setup.servers, f"{label} load",
                            check=run == LOAD_RUNS)  # fmt: skip
        total = measured if total is None else _summed(total, measured)
        if "loaded 1 file(s)" in measured.output:
            return total, run
        progress(f"{label}: run {run} of the loader stopped; running it again")
    raise AssertionError("unreachable: the last run raises on failure")


def _summed(a: Measured, b: Measured) -> Measured:
    server = None if a.server_cpu_seconds is None or b.server_cpu_seconds is None else (
        a.server_cpu_seconds + b.server_cpu_seconds)  # fmt: skip
    return Measured(a.seconds + b.seconds, a.cpu_seconds + b.cpu_seconds, max(a.peak_rss_mb, b.peak_rss_mb), server,
                    b.output)  # fmt: skip


def _copy_error(copy: Measured) -> str:
    """Why COPY stopped short, from its output ('' when it imported every row)."""
    for line in reversed(copy.output.splitlines()):
        if "No records inserted" in line or "Failed to import" in line or "Exceeded maximum" in line:
            return line.strip()[:200]
    return ""


def _copy_tombstones(session: Any, keyspace: str) -> int:
    """Tombstone cells a traced read of the whole COPY table meets (every page, every replica range)."""
    statement = session.prepare(f"SELECT * FROM {keyspace}.plays_copy")
    return traced_read(session, statement, ()).tombstones


def run_pair(setup: Setup, master: Path, batch_rel: Path, workdir: Path, tombstones: bool) -> Pair:
    """COPY, then ours, on the same file, in a fresh keyspace of the setup (dropped after)."""
    keyspace = f"np_bench_load_{secrets.token_hex(3)}"
    settings = setup.settings.model_copy(update={"cassandra_keyspace": keyspace})
    session = connect(settings)
    lake = workdir / f"lake-{keyspace}"
    try:
        from nowplaying.common.migrate import migrate

        migrate(session, keyspace, settings.replication_map)
        session.execute(COPY_TABLE.format(ks=keyspace), timeout=60)
        (lake / batch_rel).parent.mkdir(parents=True)
        shutil.copy(master, lake / batch_rel)

        env = {k: v for k, v in os.environ.items() if k != "PUSHGATEWAY_URL"}
        env.update(
            CASSANDRA_HOSTS=settings.cassandra_hosts,
            CASSANDRA_PORT=str(settings.cassandra_port),
            CASSANDRA_KEYSPACE=keyspace,
            CASSANDRA_CONSISTENCY=settings.consistency,
            LAKE_DIR=str(lake),
            LOG_FORMAT="text",
            # Protocol v4: no per-frame CRC32 (v5), ~10% less loader CPU per row (measured, 100k rows).
            CASSANDRA_PROTOCOL_VERSION=os.environ.get("CASSANDRA_PROTOCOL_VERSION", "4"),
        )
        columns = ",".join(ENRICHED_CSV_COLUMNS)
        copy_cql = (
            f"CONSISTENCY {setup.cqlsh_consistency}; COPY {keyspace}.plays_copy ({columns}) FROM '{master}'"
            " WITH HEADER=true AND ESCAPE='\"' AND DATETIMEFORMAT='%Y-%m-%dT%H:%M:%S.%fZ'"
        )
        label = setup.label
        progress(f"{label}: cqlsh COPY FROM at {setup.cqlsh_consistency} (default NUMPROCESSES = cores - 1)")
        copy = _measure(
            [str(VENV_BIN / "cqlsh"), settings.cassandra_contact_points[0][0], str(settings.cassandra_port),
             "--request-timeout=120", "-e", copy_cql],
            env, setup.servers, f"{label} copy", check=False, cwd=workdir,  # its .err files stay in the workdir
        )  # fmt: skip
        imported = re.search(r"(\d+) rows imported", copy.output)
        copy_rows = int(imported.group(1)) if imported else 0
        if copy_rows != N_ROWS:
            progress(f"{label}: COPY imported {copy_rows} of {N_ROWS} rows")
        progress(f"{label}: copy {copy.seconds:.1f} s, {copy_rows / copy.seconds:,.0f} rows/s")
        time.sleep(10)  # let the nodes settle between the two runs

        progress(
            f"{label}: nowplaying load (LOAD_WORKERS={settings.load_workers}, LOAD_CONCURRENCY="
            f"{settings.load_concurrency}, CASSANDRA_CONSISTENCY={settings.consistency},"
            f" CASSANDRA_PROTOCOL_VERSION={env['CASSANDRA_PROTOCOL_VERSION']})"
        )
        ours, runs = _load_until_done(env, setup, label)
        loaded = re.search(r"loaded 1 file\(s\), (\d+) rows", ours.output)
        our_rows = int(loaded.group(1)) if loaded else 0
        if our_rows != N_ROWS:
            raise RuntimeError(f"the loader loaded {our_rows} of {N_ROWS} rows:\n{ours.output[-2000:]}")
        retried = sum(int(n) for n in re.findall(r"retried=(\d+)", ours.output))
        pair = Pair(copy, copy_rows, ours, our_rows, runs=runs, retried=retried, copy_error=_copy_error(copy))
        progress(f"{label}: checking, a read of every hour bucket" + (" (traced)" if tombstones else ""))
        if tombstones:
            traced = traced_hour_reads(session, keyspace, hour_buckets(START, END))
            plays = traced.live_rows
            pair.our_tombstones = traced.tombstones
            pair.copy_tombstones = _copy_tombstones(session, keyspace)
        else:
            count = session.prepare(f"SELECT COUNT(*) FROM {keyspace}.plays_by_hour WHERE bucket = ?")
            plays = sum(int(session.execute(count, (b,), timeout=120).one()[0]) for b in hour_buckets(START, END))
        if plays != N_ROWS:
            raise RuntimeError(f"plays_by_hour holds {plays} plays, expected {N_ROWS}")
        progress(
            f"{label}: ours {ours.seconds:.1f} s in {pair.runs} run(s), {pair.retried} writes resent,"
            f" {our_rows / ours.seconds:,.0f} rows/s; {plays:,} plays read"
            + (f"; tombstones: ours {pair.our_tombstones}, COPY {pair.copy_tombstones}" if tombstones else "")
        )
        return pair
    finally:
        try:
            session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=300)
        except Exception as exc:
            print(f"  !! could not drop {keyspace}: {exc}")
        shutdown(session)
        shutil.rmtree(lake, ignore_errors=True)


def pair_results(label: str, pair: Pair, params: dict[str, Any], target: str) -> list[Result]:
    ours, copy = pair.ours, pair.copy
    params = {**params, "seconds": round(ours.seconds, 1), "copy_seconds": round(copy.seconds, 1),
              "loader_runs": pair.runs, "writes_retried": pair.retried}  # fmt: skip
    results = [
        Result("load", f"rows per second, {label}", pair.our_rows / ours.seconds, "rows/s", "cqlsh COPY FROM",
               pair.copy_rows / copy.seconds, target,
               {**params, "ours_tables": 5, "copy_tables": 1, "copy_rows": pair.copy_rows,
                "copy_error": pair.copy_error}),
        Result("load", f"rows stored (of {N_ROWS:,}), {label}", pair.our_rows, "rows", "cqlsh COPY FROM",
               pair.copy_rows, f"{N_ROWS:,}", params),
    ]  # fmt: skip
    if pair.our_tombstones is not None and pair.copy_tombstones is not None:
        results.append(
            Result("load", f"tombstones per play, {label}", pair.our_tombstones / pair.our_rows, "cells/play",
                   "cqlsh COPY FROM", pair.copy_tombstones / max(pair.copy_rows, 1), "0",
                   {**params, "tombstones": pair.our_tombstones, "copy_tombstones": pair.copy_tombstones})
        )  # fmt: skip
    results += [
        Result("load", f"client CPU seconds, {label}", ours.cpu_seconds, "s", "cqlsh COPY FROM", copy.cpu_seconds,
               "", params),
        Result("load", f"client peak RSS (process tree), {label}", ours.peak_rss_mb, "MiB", "cqlsh COPY FROM",
               copy.peak_rss_mb, "", params),
    ]  # fmt: skip
    if ours.server_cpu_seconds is not None and copy.server_cpu_seconds is not None:
        ours_us = (ours.cpu_seconds + ours.server_cpu_seconds) / max(pair.our_rows, 1) * 1e6
        # none when COPY stored nothing (it gave up): its CPU per row has no meaning then
        copy_us = (copy.cpu_seconds + copy.server_cpu_seconds) / pair.copy_rows * 1e6 if pair.copy_rows else None
        results += [
            Result("load", f"Cassandra CPU seconds, {label}", ours.server_cpu_seconds, "s", "cqlsh COPY FROM",
                   copy.server_cpu_seconds, "", params),
            Result("load", f"client + Cassandra CPU per row, {label}", ours_us, "µs", "cqlsh COPY FROM", copy_us,
                   "", params),
        ]  # fmt: skip
    return results


def run() -> list[Result]:
    base = Settings()
    workdir = Path(tempfile.mkdtemp(prefix="np-bench-load-"))
    try:
        progress(f"writing a {N_ROWS:,}-row enriched CSV (Development Mode)")
        generated = workdir / "generated"
        path, _ = write_enriched_batch(
            generated, N_ROWS, seed=7, start=START, end=END, n_tracks=5_000, return_rows=False, newlines=False,
            dev_mode=True, matched_share=0.85,
        )  # fmt: skip
        batch_rel = path.relative_to(generated)
        master = workdir / "plays.csv"
        shutil.move(path, master)
        size_mb = master.stat().st_size / 2**20
        progress(f"{batch_rel}: {size_mb:.0f} MiB")
        params = {
            "rows": N_ROWS, "file_mib": round(size_mb), "load_workers": base.load_workers, "cores": os.cpu_count(),
            "protocol": os.environ.get("CASSANDRA_PROTOCOL_VERSION", "4"), "dev_mode": True,
        }  # fmt: skip

        one = base.model_copy(update={"cassandra_replication": '{"class": "SimpleStrategy", "replication_factor": 1}'})
        hosts = {host for host, _ in one.cassandra_contact_points}
        setup = Setup("1 node", one, _listening(hosts, one.cassandra_port), "ONE")
        results = pair_results(
            "1 node", run_pair(setup, master, batch_rel, workdir, tombstones=True),
            {**params, "nodes": 1, "replication_factor": 1, "consistency": one.consistency}, "≥ 1.0× COPY",
        )  # fmt: skip
        if NODES >= 3:
            try:
                results += _three_nodes(base, master, batch_rel, workdir, params)
            except Exception as exc:  # the one-node figures are still printed
                progress(f"three nodes failed: {type(exc).__name__}: {str(exc)[-1500:]}")
        return results
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _three_nodes(base: Settings, master: Path, batch_rel: Path, workdir: Path, params: dict[str, Any]) -> list[Result]:
    """Three local nodes of their own (started and stopped here), replication factor 3, QUORUM."""
    from nowplaying.common.localnode import LocalCluster

    three = base.model_copy(
        update={
            "cassandra_nodes": 3,
            "cassandra_data_dir": workdir / "three-nodes",
            "cassandra_replication": '{"class": "SimpleStrategy", "replication_factor": 3}',
            "cassandra_consistency": "QUORUM",
        }
    )
    nodes = LocalCluster(three)
    progress(f"starting three nodes on {nodes.hosts} (port {three.cassandra_port})")
    started = time.monotonic()
    try:
        nodes.start()
        progress(f"three nodes up in {time.monotonic() - started:.0f} s")
        three = three.model_copy(update={"cassandra_hosts": nodes.hosts})
        servers = [psutil.Process(pid) for pid in (node.pid() for node in nodes.nodes) if pid is not None]
        setup = Setup("3 nodes at QUORUM", three, servers, "QUORUM")
        pair = run_pair(setup, master, batch_rel, workdir, tombstones=False)
        return pair_results(
            "3 nodes at QUORUM", pair, {**params, "nodes": 3, "replication_factor": 3, "consistency": "QUORUM"},
            "reported",
        )  # fmt: skip
    finally:
        nodes.stop()


if __name__ == "__main__":
    from bench.run import print_table

    print_table(run())
