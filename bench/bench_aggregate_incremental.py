"""The period aggregates: a 5-minute increment against a full-day recompute, in the same run.

A UTC day of plays (BENCH_INCREMENTAL_PLAYS, default 1,000,000; synthetic, see
``tests/fixtures_pipeline.py``) is loaded into a dedicated keyspace (dropped at the end) and its
segments marked as the loader marks them.

How it loads, and why: straight into ``plays_by_hour`` (the table the aggregate reads, with the
loader's keys), by ``bench_aggregate.load_hours``: concurrent prepared inserts from 2 processes,
unlogged batches of 20 rows of one hour partition, a missing value left unset (no tombstone), as the
loader writes it. The loader itself is not used: it also parses and validates the CSV and writes the
other tables (plays_by_track, tracks, features), which the period aggregate never reads (2,000 to
3,300 rows/s in its own bench, README). The Spark connector was measured too and is slower here:
the same 100,000 rows (compared equal row by row) at 2,918 plays/s through ``createDataFrame`` and
the connector against 13,124 with the prepared inserts. The 1M day loaded at 13,338 plays/s on a
quiet machine (2026-12-04). The synthetic rows carry the columns the aggregate reads except ``lang``
(left unset, so the activity by language has one value). The baseline is ``nowplaying aggregate --full`` over that
day (every period table recomputed from the plays). Then, twice, ~3.5k new plays (5 minutes at 1M a
day) land in the day's last hour, posted over 5 minutes that straddle two 5-minute segments (23:47:30
to 23:52:30, then 23:52:30 to 23:57:30: a run's new posts, not aligned to the segments), their
segments are marked as the loader marks them, and an incremental run folds them in. The
ratio of each increment to the full recompute is the figure; the target is <= 10%. Needs Cassandra at
CASSANDRA_HOSTS (default 127.0.0.1) and the connector jars (`make setup`).

Spark's startup (the JVM, the connector's session) is not in either time: both runs use the one
SparkSession started before them, as `nowplaying aggregate --loop` does (it starts Spark once and folds
every few minutes). It is measured and shown on its own row, with the ratio it would give were each run
a fresh process (a CronJob running spark-submit per run). Each run's time by step (FoldReport.steps)
goes into the results file and the progress lines: where the time goes.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.bench_aggregate import load_hours
from bench.common import Result, bench_keyspace, progress

DAY = date(2026, 1, 5)
INCREMENT = 3_500
ROUNDS = 2


def state_rows(spark: Any, keyspace: str) -> dict[str, int]:
    """Rows of each period state table (what a full run wrote), counted by Spark after the timed run."""
    from nowplaying_spark.periods import STATE_TABLES, _read

    return {table: int(_read(spark, keyspace, table).count()) for table in STATE_TABLES}


def run() -> list[Result]:
    from nowplaying.common.aggjournal import DirtyMarks, segment_of, segments_of_mark
    from nowplaying_spark.periods import run_periods
    from nowplaying_spark.session import build_session

    os.environ.setdefault("CASSANDRA_HOSTS", "127.0.0.1")
    total = int(os.environ.get("BENCH_INCREMENTAL_PLAYS", "1000000"))
    results: list[Result] = []
    memory = os.environ.get("SPARK_DRIVER_MEMORY", "3g")
    with bench_keyspace("inc", spark_driver_memory=memory) as (settings, session):
        keyspace = settings.cassandra_keyspace
        started = time.perf_counter()
        spark = build_session(settings, app_name="bench-aggregate-incremental", master=settings.spark_master)
        spark.range(1).count()  # the first job starts the executor
        startup_s = time.perf_counter() - started
        hours = [datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC) + timedelta(hours=h) for h in range(24)]
        progress(f"loading {total:,} plays of {DAY} into {keyspace}")
        rate = load_hours(keyspace, hours, total // len(hours), seed=1)
        marks = DirtyMarks(session, keyspace)
        every_segment = {s for h in hours for s in segments_of_mark(h.strftime("%Y-%m-%dT%H"))}
        marks.mark(every_segment, datetime.now(UTC) - timedelta(minutes=5))
        progress(f"load rate {rate:,.0f} plays/s; full recompute of the period aggregates")
        # The runs are given start times 5 minutes apart, and each load its marking time 2 minutes
        # before its run, as a CronJob every 5 minutes would see them: a run re-reads the marks of the
        # CHECKPOINT_SAFETY minute before its checkpoint, so runs back to back on the wall clock would
        # each fold the previous increment's segments again.
        clock = datetime.now(UTC)
        started = time.perf_counter()
        full = run_periods(spark, session, keyspace, full=True, now=clock)
        full_s = time.perf_counter() - started
        progress(
            f"full: {full.plays_read:,} plays, {full.buckets} buckets, {full.segments} segments in {full_s:.1f} s;"
            f" steps {full.steps}"
        )
        rows = state_rows(spark, keyspace)
        progress(f"rows the full run wrote: {rows}")
        params = {"plays": full.plays_read, "increment": INCREMENT, "master": settings.spark_master}
        results.append(
            Result(
                "periods full-day recompute", "wall time", full_s, "s",
                params={**params, "steps": full.steps, "rows_written": rows},
            )
        )  # fmt: skip
        increments: list[float] = []
        for round_no in range(1, ROUNDS + 1):
            last = hours[-1]
            start_ms = (47 * 60 + 30 + (round_no - 1) * 5 * 60) * 1000
            window = (start_ms, start_ms + 5 * 60 * 1000)
            load_hours(keyspace, [last], INCREMENT, seed=100 + round_no, processes=1, window_ms=window)
            run_at = clock + timedelta(minutes=5 * round_no)
            landed = {segment_of(last + timedelta(milliseconds=ms)) for ms in (window[0], window[1] - 1)}
            marks.mark(landed, run_at - timedelta(minutes=2))
            started = time.perf_counter()
            inc = run_periods(spark, session, keyspace, now=run_at)
            inc_s = time.perf_counter() - started
            progress(
                f"increment {round_no}: {inc.mode}, {inc.segments} segment(s), {inc.plays_read:,} plays read,"
                f" {inc_s:.1f} s; steps {inc.steps}"
            )
            assert inc.mode == "incremental" and inc.segments == 2
            increments.append(inc_s)
            results.append(
                Result(
                    f"periods 5-minute increment #{round_no}", "wall time", inc_s, "s",
                    "periods full-day recompute", full_s, target="<= 0.10 of the full recompute",
                    params={**params, "segment_plays_read": inc.plays_read, "steps": inc.steps},
                )
            )  # fmt: skip
        results.append(Result("spark session startup (in neither time)", "wall time", startup_s, "s", params=params))
        best = min(increments)
        results.append(
            Result(
                "best increment + startup (a fresh process per run)", "wall time", best + startup_s, "s",
                "full recompute + startup", full_s + startup_s, params=params,
            )
        )  # fmt: skip
        results.append(Result("periods full-day recompute", "load rate (setup)", rate, "plays/s", params=params))
        spark.stop()
    return results
