"""The aggregate job on 1M and then 5M plays (real local Cassandra, Spark local mode).

The plays (synthetic, see ``tests/fixtures_pipeline.py``) fill 4 UTC days of a dedicated keyspace,
dropped at the end. They are loaded with concurrent prepared statements (unlogged batches of rows of
one hour partition) from several processes, then the job aggregates the 4 days: first with 1M plays,
then after 4M more were added. The 1M run is the baseline, so the 5M ratio shows how the cost grows
with the number of plays (BENCH_AGGREGATE_SIZES=200000,1000000 for a quicker look). Needs Cassandra
at CASSANDRA_HOSTS (default 127.0.0.1) and the connector jars (`make setup`).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.common import Result, bench_keyspace, progress

DAYS = [date(2026, 1, 5) + timedelta(days=i) for i in range(4)]
N_TRACKS = 20_000
N_AUTHORS = 200_000
BATCH_ROWS = 20
LOAD_PROCESSES = 2


def _load_hours(args: tuple[str, list[datetime], int, int, tuple[int, int]]) -> int:
    """Load ``per_hour`` plays into each hour (one process; its own Cassandra session)."""
    from cassandra.concurrent import execute_concurrent
    from cassandra.query import BatchStatement, BatchType
    from nowplaying.common.cassandra import connect, shutdown
    from nowplaying.common.config import Settings

    from tests.fixtures_pipeline import spark_catalogue, spark_hour_plays, spark_insert_statement, spark_unset_nulls

    keyspace, hours, per_hour, seed, window_ms = args
    session = connect(Settings(cassandra_keyspace=keyspace))
    statement = spark_insert_statement(session, keyspace)
    catalogue = spark_catalogue(n_tracks=N_TRACKS, seed=11)
    written = 0
    try:
        for hour in hours:
            batches: list[tuple[Any, tuple[()]]] = []
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            rows = spark_hour_plays(hour, per_hour, catalogue, seed=seed, n_authors=N_AUTHORS, window_ms=window_ms)
            for row in rows:
                batch.add(statement, spark_unset_nulls(row))
                if len(batch) >= BATCH_ROWS:
                    batches.append((batch, ()))
                    batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            if len(batch):
                batches.append((batch, ()))
            for ok, result in execute_concurrent(session, batches, concurrency=24, raise_on_first_error=False):
                if not ok:
                    raise RuntimeError(f"insert failed: {result}")
            written += per_hour
    finally:
        shutdown(session)
    return written


def load_hours(
    keyspace: str,
    hours: list[datetime],
    per_hour: int,
    seed: int,
    processes: int = LOAD_PROCESSES,
    window_ms: tuple[int, int] = (0, 3_600_000),
) -> float:
    """Add ``per_hour`` plays to each of ``hours`` (``played_at`` in ``window_ms`` of the hour) from
    ``processes`` processes; returns rows per second."""
    started = time.perf_counter()
    done = 0
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        for chunk in pool.imap_unordered(_load_hours, [(keyspace, [h], per_hour, seed, window_ms) for h in hours]):
            done += chunk
            if done % (per_hour * 12) == 0:
                rate = done / (time.perf_counter() - started)
                progress(f"loaded {done:,} of {per_hour * len(hours):,} plays ({rate:,.0f}/s)")
    return done / (time.perf_counter() - started)


def load(keyspace: str, plays: int, seed: int) -> float:
    """Add ``plays`` plays spread evenly over the hours of DAYS; returns rows per second."""
    hours = [datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(hours=h) for d in DAYS for h in range(24)]
    return load_hours(keyspace, hours, plays // len(hours), seed)


def run() -> list[Result]:
    from nowplaying_spark.aggregate import AggregateParams, run_aggregate
    from nowplaying_spark.session import build_session

    os.environ.setdefault("CASSANDRA_HOSTS", "127.0.0.1")
    results: list[Result] = []
    memory = os.environ.get("SPARK_DRIVER_MEMORY", "3g")
    with bench_keyspace("agg", spark_driver_memory=memory) as (settings, session):
        keyspace = settings.cassandra_keyspace
        spark = build_session(settings, app_name="bench-aggregate", master=settings.spark_master)
        timings: dict[int, float] = {}
        loaded = 0
        sizes = [int(n) for n in os.environ.get("BENCH_AGGREGATE_SIZES", "1000000,5000000").split(",")]
        for seed, total in enumerate(sizes, start=1):
            added = total - loaded
            progress(f"loading {added:,} plays into {keyspace} ({LOAD_PROCESSES} processes)")
            rate = load(keyspace, added, seed)
            loaded = total
            progress(f"load rate {rate:,.0f} plays/s")
            progress(f"aggregating {len(DAYS)} days with {total:,} plays")
            started = time.perf_counter()
            report = run_aggregate(spark, session, keyspace, DAYS, AggregateParams())
            seconds = time.perf_counter() - started
            timings[total] = seconds
            progress(f"{report.plays_read:,} plays in {seconds:.1f} s; rows written {report.rows_written}")
            label = f"aggregate {total:,} plays"
            base = timings[sizes[0]]
            params = {"plays": report.plays_read, "days": len(DAYS), "master": settings.spark_master}
            first = f"aggregate {sizes[0]:,} plays"
            results.append(Result(label, "wall time", seconds, "s", first, base, params=params))
            results.append(
                Result(label, "throughput", report.plays_read / seconds, "plays/s", first, sizes[0] / base,
                       params=params)
            )  # fmt: skip
            results.append(Result(label, "load rate (setup)", rate, "plays/s", params=params))
        spark.stop()
    return results
