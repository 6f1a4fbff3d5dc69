"""Loader throughput: a 1,000,000-row enriched CSV into the local Cassandra node.

Ours: `nowplaying load` (LOAD_WORKERS processes, prepared statements, partition-local unlogged
batches, a bounded window in flight) writing plays_by_hour, plays_by_track, tracks, artists and
audio_features. Baseline, in the same run: `cqlsh COPY ... FROM` (the original project's method,
cqlsh 6.2 from PyPI, its default options) loading the same file into one equivalent fresh table
holding the CSV's 31 columns. COPY runs first, so any compaction it leaves behind counts against
ours. Both run as subprocesses; client CPU is their user+system time (workers included), peak
memory the largest summed RSS of the process tree, server CPU the Cassandra process's own time.

The file keeps every record on one physical line: COPY splits its input by lines and fails
records whose text holds a newline (the loader handles them; see the tests).

BENCH_LOAD_ROWS overrides the row count for a quick look. The bench keyspace is dropped after.
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

N_ROWS = int(os.environ.get("BENCH_LOAD_ROWS", "1000000"))
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
    match_confidence float, features_source text, is_bot boolean,
    PRIMARY KEY ((source, post_id))
)"""


@dataclass
class Measured:
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    server_cpu_seconds: float | None
    output: str


def _cassandra_process(port: int) -> psutil.Process | None:
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if any("CassandraDaemon" in part for part in cmdline):
            try:
                if any(c.laddr.port == port and c.status == "LISTEN" for c in proc.net_connections("tcp")):
                    return proc
            except (psutil.AccessDenied, psutil.NoSuchProcess):
                continue
    return None


def _cpu(proc: psutil.Process | None) -> float | None:
    if proc is None:
        return None
    try:
        times = proc.cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)


def _measure(command: list[str], env: dict[str, str], server: psutil.Process | None, label: str) -> Measured:
    """Run a command to the end; its wall time, CPU (children included), peak tree RSS."""
    before = os.times()
    server_before = _cpu(server)
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
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
    server_after = _cpu(server)
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    output = "\n".join(lines)
    if proc.returncode != 0:
        raise RuntimeError(f"{label} failed with code {proc.returncode}:\n{output[-3000:]}")
    server_cpu = None if server_before is None or server_after is None else server_after - server_before
    return Measured(seconds, cpu, peak, server_cpu, output)


def cpu_budget(ours: Measured, our_rows: int, copy: Measured, copy_rows: int, params: dict[str, Any]) -> list[Result]:
    """What the machine allows: client + Cassandra CPU per row, and the rate all cores could give.

    Client and node share this machine's cores, so once both saturate them the rate is
    cores / (CPU per row). Being N times faster than COPY then needs at most 1/N of COPY's CPU per
    row, and Cassandra's own share of that (the node's CPU per row of COPY's one-table load) is a
    floor no client can go under while the node does the same write work.
    """
    assert ours.server_cpu_seconds is not None and copy.server_cpu_seconds is not None
    cores = os.cpu_count() or 1
    ours_us = (ours.cpu_seconds + ours.server_cpu_seconds) / max(our_rows, 1) * 1e6
    copy_us = (copy.cpu_seconds + copy.server_cpu_seconds) / max(copy_rows, 1) * 1e6
    copy_server_us = copy.server_cpu_seconds / max(copy_rows, 1) * 1e6
    progress(
        f"CPU per row: ours {ours_us:.0f} µs, COPY {copy_us:.0f} µs (of which Cassandra {copy_server_us:.0f} µs);"
        f" 3x COPY's rate on {cores} saturated cores needs <= {copy_us / 3:.0f} µs per row"
    )
    return [
        Result("load", "client + Cassandra CPU per row", ours_us, "µs", "cqlsh COPY FROM", copy_us,
               f"≤ {copy_us / 3:.0f} µs for 3×", {**params, "copy_cassandra_us_per_row": round(copy_server_us, 1)}),
        Result("load", f"CPU-bound ceiling on {cores} cores", cores / ours_us * 1e6, "rows/s", "cqlsh COPY FROM",
               cores / copy_us * 1e6, "", params),
    ]  # fmt: skip


def run() -> list[Result]:
    base = Settings()
    keyspace = f"np_bench_load_{secrets.token_hex(3)}"
    settings = base.model_copy(update={"cassandra_keyspace": keyspace})
    workdir = Path(tempfile.mkdtemp(prefix="np-bench-load-"))
    session = connect(settings)
    server = _cassandra_process(settings.cassandra_port)
    try:
        from nowplaying.common.migrate import migrate

        migrate(session, keyspace, settings.replication_map)
        session.execute(COPY_TABLE.format(ks=keyspace), timeout=60)

        progress(f"writing a {N_ROWS:,}-row enriched CSV")
        lake = workdir / "lake"
        path, _ = write_enriched_batch(
            lake, N_ROWS, seed=7, start=START, end=END, n_tracks=5_000, return_rows=False, newlines=False
        )
        size_mb = path.stat().st_size / 2**20
        copy_source = workdir / "copy.csv"
        shutil.copy(path, copy_source)
        progress(f"{path.name}: {size_mb:.0f} MiB")

        env = {k: v for k, v in os.environ.items() if k != "PUSHGATEWAY_URL"}
        env.update(
            CASSANDRA_HOSTS=settings.cassandra_hosts,
            CASSANDRA_PORT=str(settings.cassandra_port),
            CASSANDRA_KEYSPACE=keyspace,
            LAKE_DIR=str(lake),
            LOG_FORMAT="text",
            # Protocol v4: no per-frame CRC32 (v5), ~10% less loader CPU per row (measured, 100k rows).
            CASSANDRA_PROTOCOL_VERSION=os.environ.get("CASSANDRA_PROTOCOL_VERSION", "4"),
        )
        columns = ",".join(ENRICHED_CSV_COLUMNS)
        copy_cql = (
            f"COPY {keyspace}.plays_copy ({columns}) FROM '{copy_source}' WITH HEADER=true AND ESCAPE='\"'"
            " AND DATETIMEFORMAT='%Y-%m-%dT%H:%M:%S.%fZ'"
        )
        progress("baseline: cqlsh COPY FROM (default NUMPROCESSES = cores - 1)")
        copy = _measure(
            [str(VENV_BIN / "cqlsh"), settings.cassandra_contact_points[0][0], str(settings.cassandra_port),
             "--request-timeout=120", "-e", copy_cql],
            env, server, "copy",
        )  # fmt: skip
        imported = re.search(r"(\d+) rows imported", copy.output)
        copy_rows = int(imported.group(1)) if imported else 0
        if copy_rows != N_ROWS:
            progress(f"COPY imported {copy_rows} of {N_ROWS} rows")
        progress(f"copy: {copy.seconds:.1f} s, {copy_rows / copy.seconds:,.0f} rows/s")
        time.sleep(10)  # let the node settle between the two runs

        workers = settings.load_workers
        progress(
            f"ours: nowplaying load (LOAD_WORKERS={workers}, LOAD_CONCURRENCY={settings.load_concurrency},"
            f" CASSANDRA_PROTOCOL_VERSION={env['CASSANDRA_PROTOCOL_VERSION']})"
        )
        ours = _measure([str(VENV_BIN / "nowplaying"), "load"], env, server, "load")
        loaded = re.search(r"loaded 1 file\(s\), (\d+) rows", ours.output)
        our_rows = int(loaded.group(1)) if loaded else 0
        if our_rows != N_ROWS:
            raise RuntimeError(f"the loader loaded {our_rows} of {N_ROWS} rows:\n{ours.output[-2000:]}")
        progress("checking: counting plays_by_hour, hour by hour")
        count = session.prepare(f"SELECT COUNT(*) FROM {keyspace}.plays_by_hour WHERE bucket = ?")
        plays = sum(
            int(session.execute(count, (f"2026-03-01T{hour:02d}",), timeout=120).one()[0]) for hour in range(24)
        )
        if plays != N_ROWS:
            raise RuntimeError(f"plays_by_hour holds {plays} plays, expected {N_ROWS}")
        progress(f"ours: {ours.seconds:.1f} s, {our_rows / ours.seconds:,.0f} rows/s; {plays:,} plays counted")

        params = {
            "rows": N_ROWS, "file_mib": round(size_mb), "load_workers": workers, "cores": os.cpu_count(),
            "protocol": env["CASSANDRA_PROTOCOL_VERSION"],
        }  # fmt: skip
        results = [
            Result(
                "load", "rows per second", our_rows / ours.seconds, "rows/s",
                "cqlsh COPY FROM", copy_rows / copy.seconds, "≥ 3× COPY",
                {**params, "seconds": round(ours.seconds, 1), "copy_seconds": round(copy.seconds, 1),
                 "ours_tables": 5, "copy_tables": 1},
            ),
            Result("load", "client CPU seconds", ours.cpu_seconds, "s", "cqlsh COPY FROM", copy.cpu_seconds,
                   "", params),
            Result("load", "client peak RSS (process tree)", ours.peak_rss_mb, "MiB", "cqlsh COPY FROM",
                   copy.peak_rss_mb, "", params),
        ]  # fmt: skip
        if ours.server_cpu_seconds is not None and copy.server_cpu_seconds is not None:
            results.append(
                Result("load", "Cassandra CPU seconds", ours.server_cpu_seconds, "s", "cqlsh COPY FROM",
                       copy.server_cpu_seconds, "", params)
            )  # fmt: skip
            results += cpu_budget(ours, our_rows, copy, copy_rows, params)
        return results
    finally:
        try:
            session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=300)
        except Exception as exc:
            print(f"  !! could not drop {keyspace}: {exc}")
        shutdown(session)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    from bench.run import print_table

    print_table(run())
