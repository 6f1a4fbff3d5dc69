"""Period aggregates, folded incrementally (issue 21): charts and listening activity per UTC day, week,
month, year and all time, by audience.

Definitions (``tests/integration/test_spark_periods.py`` recomputes each one in plain Python):

- A play belongs to the five periods (``nowplaying.common.periods``) containing the UTC hour of its
  ``plays_by_hour`` bucket. Its audience is ``bots`` when ``is_bot`` is true, else ``people``; ``all``
  is both. Only matched plays (non-empty ``track_id``) count for tracks and artists; activity counts
  every play.
- ``plays`` = number of plays; ``listeners`` = number of distinct non-empty ``author_id``. The artists
  of a play are its distinct non-empty ``artist_ids``, each named by ``artist_names`` at the id's first
  position; a play with two artists counts once for each.
- A name is the greatest non-null one seen on the period's plays (names only grow: a re-folded segment
  never takes back a name it showed).
- Charts: the top ``top_n`` of each (period, entity, audience) by plays desc, then id asc.
- Activity: per period, dim ``how`` ('D-HH': ISO weekday and UTC hour), ``time`` (the hour of a day
  period, the day of a week or month, the month of a year or of ``all``), ``source`` and ``lang``,
  each with people and bot plays.

How a run folds (ListenBrainz's incremental statistics are the model: partial aggregates kept and
merged, a full recompute from the same code): the unit is the segment, the plays of a bucket in one
5-minute slot of its hour (``nowplaying.common.aggjournal``; a play's bucket is the UTC hour of its
``played_at``, as the loader writes it). The loader marks each segment it writes
(``agg_dirty_buckets``). A run re-reads exactly the segments marked since its checkpoint (their
buckets, in the range of ``played_at`` they cover), computes each segment's contribution (per entity,
id and author: people and bot plays; per activity value), takes the difference with the contribution
stored at the segment's previous fold (``agg_segment_pairs``, ``agg_segment_activity``) and adds it to
the period state. A 5-minute increment of new posts lands in one or two segments, so it re-reads
about its own plays, not its hour's. Distinct listeners stay exact: every
(entity, id, author) keeps its play counts per UTC day (``agg_pair_days``, one partition per pair,
a row per day), and its count in a period is the sum of its days in that period; a listener is
added when that count leaves zero and removed when it returns to zero. A run reads only the
partitions of the pairs its segments changed (a direct join on the key), never the whole day, and a
full run writes one row per (entity, id, author, day), not one per period containing it (the
bench's day of 100k plays: 183,357 rows, where a row per period was five times that). A chart is
re-ranked from its previous top rows and the changed ids; when a ranked id lost plays the whole
period is re-ranked from its totals.
A re-folded segment whose plays changed (re-enriched, deleted) is therefore exact too. The segment's
stored contribution is then replaced by its new one (the segment's partition deleted, its rows
written). An increment's activity (a few rows per segment) is folded on the driver
(``activity_fold``); a full run folds it in Spark.
Each run's ``FoldReport.steps`` gives the wall time of each of its Spark actions and Cassandra rounds.

Crash safety: a run sets its checkpoint row to 'running' first and to 'done' last. A run that finds
'running' (a run died half-way), no checkpoint, or one older than the journal's TTL recomputes
everything (``--full``): the state tables are truncated and every segment is folded against an empty
state, which is the same code with an empty old contribution. Deletes are written at the run's
timestamp T and new rows at T+1 (as the daily job does).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from nowplaying.common.aggjournal import JOURNAL_TTL, SEGMENT_MINUTES, DirtyMarks, bucket_of, segment_start
from nowplaying.common.logging import get_logger

from nowplaying_spark import activity_fold
from nowplaying_spark.aggregate import CASSANDRA_FORMAT, write_timestamp_us

log = get_logger(__name__)

ENGINE = "periods"
# Marks written just before a run starts may not be visible to it yet: the next run reads them again.
CHECKPOINT_SAFETY = timedelta(seconds=60)
STATE_TABLES = (
    "agg_segment_pairs", "agg_segment_activity", "agg_pair_days", "agg_period_totals", "top_by_period",
    "activity_by_period",
)  # fmt: skip
LISTENER_KEYS = ["entity", "id", "author_id"]
PAIR_KEYS = ["period", *LISTENER_KEYS]
TOTAL_KEYS = ["period", "entity", "id"]
# Most state rows are one-row partitions (a pair, a period total). The connector's default batches
# group rows by partition, so each of those was a request of its own; batches of up to 10 rows that
# share a replica set (one node: any rows; several: a token-aware batch to its replicas), 16 in flight
# per task, wrote 100,000 such rows at 9,300 rows/s against 760 with the defaults (one node, 2 busy
# cores). 10 stays within Cassandra's unlogged_batch_across_partitions_warn_threshold.
WRITE_OPTIONS = {
    "spark.cassandra.output.batch.grouping.key": "replica_set",
    "spark.cassandra.output.batch.size.rows": "10",
    "spark.cassandra.output.concurrent.writes": "16",
}
# The tables whose partitions hold many rows (a segment's pairs, a period's activity, a chart) are
# written in batches of up to 100 rows of one partition: one mutation each on the node. 100,000
# agg_hour_pairs rows of 24 hour partitions: 22,106 and 68,334 rows/s against 8,269 and 16,105 with
# WRITE_OPTIONS (two rounds each, one busy node).
PARTITION_WRITE_OPTIONS = {
    "spark.cassandra.output.batch.grouping.key": "partition",
    "spark.cassandra.output.batch.size.rows": "100",
    "spark.cassandra.output.concurrent.writes": "8",
}
WIDE_PARTITION_TABLES = frozenset({"agg_segment_pairs", "agg_segment_activity", "activity_by_period", "top_by_period"})
PLAY_COLUMNS = (
    "bucket", "played_at", "source", "author_id", "is_bot", "track_id", "track_name", "artist_ids",
    "artist_names", "lang",
)  # fmt: skip


@dataclass
class FoldReport:
    mode: str  # 'full' | 'incremental'
    buckets: int = 0  # hour buckets read
    segments: int = 0  # segments folded (a full run: those holding plays)
    plays_read: int = 0
    rows_written: dict[str, int] = field(default_factory=dict)
    reranked_from_totals: int = 0
    seconds: float = 0.0
    # wall time of each Spark action and Cassandra round of the run, by step (where the time goes)
    steps: dict[str, float] = field(default_factory=dict)
    run_id: str = ""


# --- pure helpers ----------------------------------------------------------------------------
def choose_mode(state: dict[str, Any] | None, now: datetime, full: bool) -> str:
    if full or state is None or state.get("status") != "done" or state.get("checkpoint") is None:
        return "full"
    checkpoint = state["checkpoint"]
    checkpoint = checkpoint.replace(tzinfo=UTC) if checkpoint.tzinfo is None else checkpoint
    return "full" if checkpoint < now - JOURNAL_TTL else "incremental"


# --- Spark transformations -------------------------------------------------------------------
def with_periods(frame: Any, key: str = "bucket") -> Any:
    """One row per period of each row's ``key`` (a bucket, or a segment: it starts with its bucket):
    columns ``period``, ``tv`` (its 'over time' point) and ``how`` (the heatmap cell); the Spark form of
    ``nowplaying.common.periods.periods_of_bucket``."""
    from pyspark.sql import functions as F

    day_text = F.substring(key, 1, 10)
    hour = F.substring(key, 12, 2)
    month = F.substring(key, 1, 7)
    monday = F.date_format(F.date_trunc("week", F.to_timestamp(day_text)), "yyyy-MM-dd")
    iso_weekday = ((F.dayofweek(F.to_date(day_text)) + 5) % 7) + 1
    periods = F.array(
        F.struct(F.concat(F.lit("day:"), day_text).alias("period"), hour.alias("tv")),
        F.struct(F.concat(F.lit("week:"), monday).alias("period"), day_text.alias("tv")),
        F.struct(F.concat(F.lit("month:"), month).alias("period"), day_text.alias("tv")),
        F.struct(F.concat(F.lit("year:"), F.substring(key, 1, 4)).alias("period"), month.alias("tv")),
        F.struct(F.lit("all").alias("period"), month.alias("tv")),
    )
    return (
        frame.withColumn("how", F.concat(iso_weekday.cast("string"), F.lit("-"), hour))
        .withColumn("_p", F.explode(periods))
        .withColumn("period", F.col("_p.period"))
        .withColumn("tv", F.col("_p.tv"))
        .drop("_p")
    )


def _day_periods(frame: Any) -> Any:
    """``with_periods`` of rows keyed by ``day`` ('YYYY-MM-DD') instead of an hour bucket."""
    from pyspark.sql import functions as F

    return with_periods(frame.withColumn("bucket", F.concat(F.col("day"), F.lit("T00")))).drop("bucket", "how", "tv")


def _plays(raw: Any) -> Any:
    from pyspark.sql import functions as F

    bot = F.coalesce(F.col("is_bot"), F.lit(False))
    minute = F.minute("played_at")
    slot = F.lpad((minute - minute % SEGMENT_MINUTES).cast("string"), 2, "0")
    return raw.select(
        "bucket",
        F.concat(F.col("bucket"), F.lit(":"), slot).alias("segment"),
        F.coalesce(F.col("source"), F.lit("")).alias("source"),
        F.coalesce(F.col("author_id"), F.lit("")).alias("author_id"),
        F.when(bot, 0).otherwise(1).cast("long").alias("people"),
        F.when(bot, 1).otherwise(0).cast("long").alias("bots"),
        F.when(F.col("track_id") != "", F.col("track_id")).alias("track_id"),
        "track_name",
        "artist_ids",
        "artist_names",
        F.coalesce(F.col("lang"), F.lit("")).alias("lang"),
    )


def segment_pairs(plays: Any) -> Any:
    """(segment, entity, id, author_id) -> people, bots, name, artist_names: a segment's contribution."""
    from pyspark.sql import functions as F

    matched = plays.where(F.col("track_id").isNotNull())
    tracks = matched.groupBy("segment", F.lit("track").alias("entity"), F.col("track_id").alias("id"), "author_id").agg(
        F.sum("people").alias("people"),
        F.sum("bots").alias("bots"),
        F.max("track_name").alias("name"),
        F.max("artist_names").alias("artist_names"),
    )
    exploded = matched.select(
        "*", F.explode(F.array_distinct(F.filter("artist_ids", lambda x: x.isNotNull() & (x != "")))).alias("aid")
    )
    position = F.expr("array_position(artist_ids, aid)").cast("int")
    name = F.when(position <= F.size("artist_names"), F.element_at("artist_names", position))
    artists = (
        exploded.withColumn("aname", name)
        .groupBy("segment", F.lit("artist").alias("entity"), F.col("aid").alias("id"), "author_id")
        .agg(
            F.sum("people").alias("people"),
            F.sum("bots").alias("bots"),
            F.max("aname").alias("name"),
        )
        .withColumn("artist_names", F.lit(None).cast("array<string>"))
    )
    return tracks.unionByName(artists)


def segment_activity(plays: Any) -> Any:
    """(segment, dim, value) -> people, bots, for dims 'total' (value ''), 'source' and 'lang'."""
    from pyspark.sql import functions as F

    def by(dim: str, value: Any) -> Any:
        return plays.groupBy("segment", F.lit(dim).alias("dim"), value.alias("value")).agg(
            F.sum("people").alias("people"), F.sum("bots").alias("bots")
        )

    return by("total", F.lit("")).unionByName(by("source", F.col("source"))).unionByName(by("lang", F.col("lang")))


def _difference(new: Any, old: Any, keys: list[str], carry: Sequence[str] = ()) -> Any:
    """new - old per key (a side without the key counts 0), with ``carry`` columns of ``new``; rows
    whose difference is zero dropped."""
    from pyspark.sql import functions as F

    n, o = new.alias("n"), old.alias("o")
    joined = n.join(o, keys, "full_outer")
    out = joined.select(
        *keys,
        (F.coalesce(F.col("n.people"), F.lit(0)) - F.coalesce(F.col("o.people"), F.lit(0))).alias("dp"),
        (F.coalesce(F.col("n.bots"), F.lit(0)) - F.coalesce(F.col("o.bots"), F.lit(0))).alias("db"),
        *[F.col(f"n.{c}").alias(c) for c in carry],
    )
    return out.where((F.col("dp") != 0) | (F.col("db") != 0))


def _read(spark: Any, keyspace: str, table: str, direct: bool = False) -> Any:
    reader = spark.read.format(CASSANDRA_FORMAT).options(keyspace=keyspace, table=table)
    if direct:
        reader = reader.option("directJoinSetting", "on")
    return reader.load()


def _rank(candidates: Any, top_n: int) -> Any:
    """candidates: (period, entity, audience, id, name, artist_names, plays, listeners) -> top rows."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    window = Window.partitionBy("period", "entity", "audience").orderBy(F.desc("plays"), F.asc("id"))
    ranked = candidates.where(F.col("plays") > 0).withColumn("rank", F.row_number().over(window))
    return ranked.where(F.col("rank") <= top_n).select(
        "period", "entity", "audience", "rank", "id", "name", "artist_names", "plays", "listeners"
    )


def _audience_rows(totals: Any) -> Any:
    """Totals (people/bot plays and listeners) -> one row per audience."""
    from pyspark.sql import functions as F

    def of(audience: str, plays: Any, listeners: Any) -> Any:
        return totals.select(
            "period", "entity", F.lit(audience).alias("audience"), "id", "name", "artist_names",
            plays.cast("long").alias("plays"), listeners.cast("long").alias("listeners"),
        )  # fmt: skip

    return (
        of("all", F.col("people_plays") + F.col("bot_plays"), F.col("listeners"))
        .unionByName(of("people", F.col("people_plays"), F.col("people_listeners")))
        .unionByName(of("bots", F.col("bot_plays"), F.col("bot_listeners")))
    )


# --- the run -----------------------------------------------------------------------------------
class Checkpoints:
    def __init__(self, session: Any, keyspace: str) -> None:
        self.session = session
        self._get = session.prepare(
            f"SELECT status, run_id, checkpoint, started_at, finished_at, mode FROM {keyspace}.agg_checkpoints"
            " WHERE engine = ?"
        )
        self._start = session.prepare(
            f"INSERT INTO {keyspace}.agg_checkpoints (engine, status, run_id, started_at, mode) VALUES (?, ?, ?, ?, ?)"
        )
        self._done = session.prepare(
            f"INSERT INTO {keyspace}.agg_checkpoints (engine, status, run_id, checkpoint, finished_at, mode, buckets,"
            " plays) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )

    def get(self) -> dict[str, Any] | None:
        row = self.session.execute(self._get, (ENGINE,)).one()
        return row._asdict() if row is not None else None

    def start(self, run_id: str, started_at: datetime, mode: str) -> None:
        self.session.execute(self._start, (ENGINE, "running", run_id, started_at, mode))

    def done(self, report: FoldReport, checkpoint: datetime, finished_at: datetime) -> None:
        self.session.execute(
            self._done,
            (ENGINE, "done", report.run_id, checkpoint, finished_at, report.mode, report.buckets, report.plays_read),
        )


class _Writer:
    def __init__(self, session: Any, keyspace: str, timestamp_us: int) -> None:
        self.session = session
        self.keyspace = keyspace
        self.t = timestamp_us
        self.written: dict[str, int] = {}
        self.steps: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Adds the wall time of the block to ``steps[name]`` (Spark is lazy: time the actions)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - started

    def frame(self, frame: Any, table: str) -> None:
        """Append ``frame`` to ``table`` at T+1 (one Spark job; rows are not counted, to save one)."""
        with self.step(f"write {table}"):
            (
                frame.write.format(CASSANDRA_FORMAT)
                .options(keyspace=self.keyspace, table=table)
                .option("spark.cassandra.output.timestamp", str(self.t + 1))
                .options(**(PARTITION_WRITE_OPTIONS if table in WIDE_PARTITION_TABLES else WRITE_OPTIONS))
                .mode("append")
                .save()
            )
        self.written[table] = self.written.get(table, 0) + 1
        log.info("periods_write", table=table, seconds=round(self.steps[f"write {table}"], 2))

    def delete(self, table: str, keys: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        from cassandra.concurrent import execute_concurrent_with_args

        with self.step(f"delete {table}"):
            where = " AND ".join(f"{k} = ?" for k in keys)
            statement = self.session.prepare(f"DELETE FROM {self.keyspace}.{table} USING TIMESTAMP ? WHERE {where}")
            params = [(self.t, *row) for row in rows]
            if params:
                execute_concurrent_with_args(self.session, statement, params, concurrency=32, raise_on_first_error=True)
        return len(params)

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Insert rows from the driver at T+1 (the small tables of an increment)."""
        from cassandra.concurrent import execute_concurrent_with_args

        with self.step(f"write {table}"):
            marks = ", ".join("?" for _ in columns)
            statement = self.session.prepare(
                f"INSERT INTO {self.keyspace}.{table} ({', '.join(columns)}) VALUES ({marks}) USING TIMESTAMP ?"
            )
            params = [(*row, self.t + 1) for row in rows]
            if params:
                execute_concurrent_with_args(self.session, statement, params, concurrency=32, raise_on_first_error=True)
        self.written[table] = self.written.get(table, 0) + 1
        return len(params)

    def partitions(self, table: str, key: str, values: Sequence[str], columns: Sequence[str]) -> list[Any]:
        """Every row of the partitions ``key`` = each of ``values`` (read from the driver)."""
        from cassandra.concurrent import execute_concurrent_with_args

        statement = self.session.prepare(f"SELECT {', '.join(columns)} FROM {self.keyspace}.{table} WHERE {key} = ?")
        results = execute_concurrent_with_args(
            self.session, statement, [(v,) for v in values], concurrency=32, raise_on_first_error=True
        )
        return [row for _, rows in results for row in rows]

    def delete_frame(self, table: str, keys: Sequence[str], frame: Any) -> int:
        """``delete`` of the key rows of a DataFrame, collected inside the step's time."""
        with self.step(f"delete {table}"):
            rows = [tuple(r) for r in frame.select(*keys).collect()]
        return self.delete(table, keys, rows)

    def truncate(self, tables: Sequence[str]) -> None:
        for table in tables:
            self.session.execute(f"TRUNCATE {self.keyspace}.{table}", timeout=120)


def segment_plays(raw: Any, segments: Sequence[str]) -> Any:
    """The plays of ``segments`` from ``plays_by_hour``: their buckets (the partition key) and the range
    of ``played_at`` from the first segment's start to the last one's end (a clustering range, read
    in Cassandra), then exactly the segments asked for."""
    from pyspark.sql import functions as F

    starts = sorted(segment_start(s) for s in segments)
    low, high = starts[0], starts[-1] + timedelta(minutes=SEGMENT_MINUTES)
    buckets = sorted({bucket_of(s) for s in segments})
    in_range = raw.where(F.col("bucket").isin(buckets)).where(
        (F.col("played_at") >= F.lit(low)) & (F.col("played_at") < F.lit(high))
    )
    return _plays(in_range.select(*PLAY_COLUMNS)).where(F.col("segment").isin(sorted(segments)))


def fold(
    spark: Any,
    session: Any,
    keyspace: str,
    segments: set[str] | None,
    top_n: int,
    writer: _Writer,
    report: FoldReport,
) -> None:
    """Fold ``segments`` (None: every play, against an empty state) into the period tables."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    full = segments is None
    raw = _read(spark, keyspace, "plays_by_hour")
    listed = sorted(segments or ())
    selected = _plays(raw.select(*PLAY_COLUMNS)) if full else segment_plays(raw, listed)
    plays = selected.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        with writer.step("read plays"):  # the one job that reads the plays (cached for the rest)
            counted = plays.agg(
                F.count("*").alias("plays"),
                F.countDistinct("bucket").alias("buckets"),
                F.countDistinct("segment").alias("segments"),
            ).collect()[0]
        report.plays_read = int(counted["plays"] or 0)
        report.buckets = len({bucket_of(s) for s in listed}) if not full else int(counted["buckets"] or 0)
        report.segments = len(listed) if not full else int(counted["segments"] or 0)
        _fold_pairs(spark, keyspace, plays, listed, full, top_n, writer, report)
        _fold_activity(spark, keyspace, plays, listed, full, writer, report)
    finally:
        plays.unpersist()


def _fold_pairs(
    spark: Any,
    keyspace: str,
    plays: Any,
    segments: list[str],
    full: bool,
    top_n: int,
    writer: _Writer,
    report: FoldReport,
) -> None:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    new = segment_pairs(plays).persist(StorageLevel.MEMORY_AND_DISK)
    delta = day_delta = None
    try:
        keys = ["segment", "entity", "id", "author_id"]
        if full:
            delta = new.select(*keys, F.col("people").alias("dp"), F.col("bots").alias("db"), "name", "artist_names")
        else:
            # the segments' new contributions against their stored ones, materialized once: the pair
            # days and the names both come from it, and the stored rows are replaced afterwards
            old = _read(spark, keyspace, "agg_segment_pairs").where(F.col("segment").isin(segments))
            difference = _difference(new, old.select(*keys, "people", "bots"), keys, carry=("name", "artist_names"))
            with writer.step("segment pairs against their last fold"):
                delta = difference.localCheckpoint(eager=True)
        # the listener state is kept by day (the finest period): a pair's count in a week, month, year
        # or 'all' is the sum of its days in that period, so a full run writes one row per
        # (entity, id, author, day) instead of one per period of it (five); days, not hours, are
        # exploded into their periods
        day = F.substring("segment", 1, 10).alias("day")
        day_delta = (
            delta.groupBy(*LISTENER_KEYS, day)
            .agg(F.sum("dp").alias("dp"), F.sum("db").alias("db"))
            .where((F.col("dp") != 0) | (F.col("db") != 0))
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        day_names = delta.groupBy("entity", "id", day).agg(
            F.max("name").alias("new_name"), F.max("artist_names").alias("new_artist_names")
        )
        pair_delta = _day_periods(day_delta).groupBy(*PAIR_KEYS).agg(F.sum("dp").alias("dp"), F.sum("db").alias("db"))
        names = (
            _day_periods(day_names)
            .groupBy(*TOTAL_KEYS)
            .agg(F.max("new_name").alias("new_name"), F.max("new_artist_names").alias("new_artist_names"))
        )
        if full:
            pairs = pair_delta.select(
                *PAIR_KEYS, F.lit(0).cast("long").alias("op"), F.lit(0).cast("long").alias("ob"), "dp", "db"
            )
            days = day_delta.select(*LISTENER_KEYS, "day", F.col("dp").alias("np"), F.col("db").alias("nb"))
        else:
            # only the partitions of the pairs this run changed are read (a direct join on the key)
            touched = day_delta.select(*LISTENER_KEYS).distinct()
            stored_days = touched.join(_read(spark, keyspace, "agg_pair_days", direct=True), LISTENER_KEYS).select(
                *LISTENER_KEYS, "day", F.col("people").alias("op"), F.col("bots").alias("ob")
            )
            with writer.step("stored pair days (touched pairs only)"):
                stored_days = stored_days.localCheckpoint(eager=True)
            old_periods = (
                _day_periods(stored_days).groupBy(*PAIR_KEYS).agg(F.sum("op").alias("op"), F.sum("ob").alias("ob"))
            )
            pairs = pair_delta.join(old_periods, PAIR_KEYS, "left").select(
                *PAIR_KEYS,
                F.coalesce(F.col("op"), F.lit(0)).alias("op"),
                F.coalesce(F.col("ob"), F.lit(0)).alias("ob"),
                "dp",
                "db",
            )
            days = day_delta.join(stored_days, [*LISTENER_KEYS, "day"], "left").select(
                *LISTENER_KEYS,
                "day",
                (F.coalesce(F.col("op"), F.lit(0)) + F.col("dp")).alias("np"),
                (F.coalesce(F.col("ob"), F.lit(0)) + F.col("db")).alias("nb"),
            )
        pairs = pairs.withColumn("np", F.col("op") + F.col("dp")).withColumn("nb", F.col("ob") + F.col("db"))
        if not full:
            # materialized once: recomputing it after the state is written would read the new state
            # (a full run reads no state: its pairs feed the totals only, computed once there)
            with writer.step("pair deltas (stored pair days)"):
                pairs = pairs.localCheckpoint(eager=True)
        try:
            listener = F.col("author_id") != ""

            def became(new_c: Any, old_c: Any) -> Any:
                return F.when(listener, (new_c > 0).cast("long") - (old_c > 0).cast("long")).otherwise(0)

            total_delta = pairs.groupBy(*TOTAL_KEYS).agg(
                F.sum("dp").alias("dp"),
                F.sum("db").alias("db"),
                F.sum(became(F.col("np"), F.col("op"))).alias("dlp"),
                F.sum(became(F.col("nb"), F.col("ob"))).alias("dlb"),
                F.sum(became(F.col("np") + F.col("nb"), F.col("op") + F.col("ob"))).alias("dla"),
            )
            total_delta = total_delta.join(names, TOTAL_KEYS, "full_outer").na.fill(
                0, ["dp", "db", "dlp", "dlb", "dla"]
            )
            stored_totals = _read(spark, keyspace, "agg_period_totals", direct=not full)
            if full:
                stored_totals = stored_totals.limit(0)
            new_totals = (
                total_delta.join(stored_totals, TOTAL_KEYS, "left")
                .select(
                    *TOTAL_KEYS,
                    (F.coalesce(F.col("people_plays"), F.lit(0)) + F.col("dp")).alias("people_plays"),
                    (F.coalesce(F.col("bot_plays"), F.lit(0)) + F.col("db")).alias("bot_plays"),
                    (F.coalesce(F.col("people_listeners"), F.lit(0)) + F.col("dlp")).alias("people_listeners"),
                    (F.coalesce(F.col("bot_listeners"), F.lit(0)) + F.col("dlb")).alias("bot_listeners"),
                    (F.coalesce(F.col("listeners"), F.lit(0)) + F.col("dla")).alias("listeners"),
                    F.greatest(F.col("name"), F.col("new_name")).alias("name"),
                    F.greatest(F.col("artist_names"), F.col("new_artist_names")).alias("artist_names"),
                    (F.coalesce(F.col("people_plays"), F.lit(0)) + F.coalesce(F.col("bot_plays"), F.lit(0))).alias(
                        "old_plays"
                    ),
                    F.coalesce(F.col("people_plays"), F.lit(0)).alias("old_people"),
                    F.coalesce(F.col("bot_plays"), F.lit(0)).alias("old_bots"),
                )
            )  # fmt: skip
            with writer.step("totals (stored period totals)"):
                totals = new_totals.localCheckpoint(eager=True)
            try:
                # the state: pair days and totals (rows that fell to zero are deleted)
                writer.frame(
                    days.where((F.col("np") + F.col("nb")) > 0).select(
                        *LISTENER_KEYS, "day", F.col("np").alias("people"), F.col("nb").alias("bots")
                    ),
                    "agg_pair_days",
                )
                if not full:
                    writer.delete_frame(
                        "agg_pair_days", [*LISTENER_KEYS, "day"], days.where((F.col("np") + F.col("nb")) == 0)
                    )
                alive = (F.col("people_plays") + F.col("bot_plays")) > 0
                writer.frame(
                    totals.where(alive).select(
                        *TOTAL_KEYS,
                        "people_plays",
                        "bot_plays",
                        "people_listeners",
                        "bot_listeners",
                        "listeners",
                        "name",
                        "artist_names",
                    ),
                    "agg_period_totals",
                )
                if not full:
                    emptied = totals.where(~alive & (F.col("old_plays") > 0)).select(*TOTAL_KEYS)
                    writer.delete_frame("agg_period_totals", TOTAL_KEYS, emptied)
                _rerank(spark, keyspace, totals, full, top_n, writer, report)
            finally:
                totals.unpersist()
        finally:
            pairs.unpersist()
        # the segments' new contributions replace their old ones: a segment is the unit of rewrite
        # (its partition deleted at T, its new rows written at T+1: one partition tombstone per
        # re-folded segment; a diff of the rows cost one more Spark job than it saved in writes)
        if not full:
            writer.delete("agg_segment_pairs", ["segment"], [(s,) for s in segments])
        writer.frame(new, "agg_segment_pairs")
    finally:
        new.unpersist()
        for cached in (delta, day_delta):
            if cached is not None:
                cached.unpersist()


def _rerank(
    spark: Any, keyspace: str, totals: Any, full: bool, top_n: int, writer: _Writer, report: FoldReport
) -> None:
    """New top rows of every (period, entity, audience) whose totals changed."""
    from pyspark.sql import functions as F

    changed = _audience_rows(totals.where((F.col("people_plays") + F.col("bot_plays")) > 0))
    if full:
        writer.frame(_rank(changed, top_n), "top_by_period")
        return
    # one small job: the changed (period, entity) pairs, each with the ids that lost plays
    lost = (F.col("people_plays") < F.col("old_people")) | (F.col("bot_plays") < F.col("old_bots"))
    with writer.step("rerank: changed periods, their old top rows"):
        summary = (
            totals.groupBy("period", "entity").agg(F.collect_set(F.when(lost, F.col("id"))).alias("lost")).collect()
        )
        partitions = [(str(r["period"]), str(r["entity"]), a) for r in summary for a in ("all", "people", "bots")]
        lost_keys = {(str(r["period"]), str(r["entity"]), str(i)) for r in summary for i in r["lost"]}
        old_top = _old_top(writer, partitions)
    # a ranked id that lost plays may let an unranked one in: re-rank that period from all its totals
    ranked_ids = {(p, e, row[0]) for (p, e, _a), rows in old_top.items() for row in rows}
    from_totals = sorted({(p, e) for p, e, i in lost_keys if (p, e, i) in ranked_ids})
    report.reranked_from_totals += len(from_totals)
    schema = "period string, entity string, audience string, id string, name string, artist_names array<string>," \
        " plays long, listeners long"  # fmt: skip
    changed_ids = totals.select("period", "entity", "id").distinct()
    kept_rows = [
        (p, e, a, row[0], row[1], row[2], int(row[3]), int(row[4]))
        for (p, e, a), rows in old_top.items()
        if (p, e) not in set(from_totals)
        for row in rows
    ]
    kept = spark.createDataFrame(kept_rows, schema).join(changed_ids, ["period", "entity", "id"], "left_anti")
    candidates = changed.unionByName(kept)
    if from_totals:
        chosen = spark.createDataFrame(from_totals, "period string, entity string")
        everything = _read(spark, keyspace, "agg_period_totals").join(F.broadcast(chosen), ["period", "entity"])
        candidates = candidates.join(F.broadcast(chosen), ["period", "entity"], "left_anti").unionByName(
            _audience_rows(everything)
        )
    writer.delete("top_by_period", ["period", "entity", "audience"], partitions)
    writer.frame(_rank(candidates, top_n), "top_by_period")


def _old_top(writer: _Writer, partitions: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], list[Any]]:
    from cassandra.concurrent import execute_concurrent_with_args

    statement = writer.session.prepare(
        f"SELECT id, name, artist_names, plays, listeners FROM {writer.keyspace}.top_by_period"
        " WHERE period = ? AND entity = ? AND audience = ?"
    )
    results = execute_concurrent_with_args(writer.session, statement, partitions, concurrency=32)
    return {
        key: [(r.id, r.name, list(r.artist_names) if r.artist_names else None, r.plays, r.listeners) for r in rows]
        for key, (_, rows) in zip(partitions, results, strict=True)
    }


def _fold_activity(
    spark: Any, keyspace: str, plays: Any, segments: list[str], full: bool, writer: _Writer, report: FoldReport
) -> None:
    from pyspark.sql import functions as F

    if not full:
        _fold_activity_increment(plays, segments, writer)
        return
    new = segment_activity(plays).persist()
    try:
        keys = ["segment", "dim", "value"]
        delta = new.select(*keys, F.col("people").alias("dp"), F.col("bots").alias("db"))
        joined = with_periods(delta, key="segment")
        totals = joined.where(F.col("dim") == "total")
        expanded = (
            joined.where(F.col("dim") != "total")
            .select("period", "dim", "value", "dp", "db")
            .unionByName(totals.select("period", F.lit("how").alias("dim"), F.col("how").alias("value"), "dp", "db"))
            .unionByName(totals.select("period", F.lit("time").alias("dim"), F.col("tv").alias("value"), "dp", "db"))
        )
        period_delta = expanded.groupBy("period", "dim", "value").agg(F.sum("dp").alias("dp"), F.sum("db").alias("db"))
        merged = period_delta.select("period", "dim", "value", F.col("dp").alias("people"), F.col("db").alias("bots"))
        writer.frame(merged, "activity_by_period")
        writer.frame(new, "agg_segment_activity")
    finally:
        new.unpersist()


def _fold_activity_increment(plays: Any, segments: list[str], writer: _Writer) -> None:
    """The same fold for a few segments, on the driver (``activity_fold``): a segment's activity is a
    few rows, so one Spark job collects it and the rest is a handful of CQL reads and writes."""
    counts = ("people", "bots")
    with writer.step("activity (new, stored, periods)"):
        new = {
            (r["segment"], r["dim"], r["value"]): (int(r["people"]), int(r["bots"]))
            for r in segment_activity(plays).collect()
        }
        old_rows = writer.partitions("agg_segment_activity", "segment", segments, ("segment", "dim", "value", *counts))
        old = {(r.segment, r.dim, r.value): (r.people or 0, r.bots or 0) for r in old_rows}
        periods = activity_fold.touched_periods(segments)
        stored_rows = writer.partitions("activity_by_period", "period", periods, ("period", "dim", "value", *counts))
        stored = {(r.period, r.dim, r.value): (r.people or 0, r.bots or 0) for r in stored_rows}
    upserts, deletes = activity_fold.merged_rows(
        activity_fold.period_differences(activity_fold.differences(new, old)), stored
    )
    writer.insert("activity_by_period", ("period", "dim", "value", *counts), [(*k, *c) for k, c in upserts.items()])
    writer.delete("activity_by_period", ["period", "dim", "value"], deletes)
    writer.delete("agg_segment_activity", ["segment"], [(s,) for s in segments])
    writer.insert("agg_segment_activity", ("segment", "dim", "value", *counts), [(*k, *c) for k, c in new.items()])


def run_periods(
    spark: Any,
    session: Any,
    keyspace: str,
    top_n: int = 100,
    full: bool = False,
    now: datetime | None = None,
) -> FoldReport:
    """One run: fold the segments marked since the checkpoint (or everything, see the module doc)."""
    started = time.perf_counter()
    start_time = (now or datetime.now(UTC)).astimezone(UTC)
    checkpoints = Checkpoints(session, keyspace)
    state = checkpoints.get()
    mode = choose_mode(state, start_time, full)
    report = FoldReport(mode=mode, run_id=start_time.strftime("%Y%m%dT%H%M%S") + secrets.token_hex(3))
    segments: set[str] | None = None
    if mode == "incremental" and state is not None:
        checkpoint = state["checkpoint"]
        checkpoint = checkpoint.replace(tzinfo=UTC) if checkpoint.tzinfo is None else checkpoint
        segments = DirtyMarks(session, keyspace).since(checkpoint, start_time)
    checkpoints.start(report.run_id, start_time, mode)
    writer = _Writer(session, keyspace, write_timestamp_us())
    if mode == "full":
        with writer.step("truncate"):
            writer.truncate(STATE_TABLES)
    if segments is None or segments:
        fold(spark, session, keyspace, segments, top_n, writer, report)
    report.rows_written = dict(writer.written)
    report.steps = {name: round(seconds, 3) for name, seconds in writer.steps.items()}
    checkpoints.done(report, start_time - CHECKPOINT_SAFETY, datetime.now(UTC))
    report.seconds = time.perf_counter() - started
    log.info(
        "periods_done", mode=mode, buckets=report.buckets, segments=report.segments, plays=report.plays_read,
        rows=report.rows_written, reranked_from_totals=report.reranked_from_totals,
        seconds=round(report.seconds, 2), steps=report.steps,
    )  # fmt: skip
    return report
