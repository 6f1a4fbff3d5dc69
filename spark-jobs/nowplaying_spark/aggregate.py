"""`aggregate`: daily charts, feature statistics and trending tracks from ``plays_by_hour``.

Definitions (the tests recompute every one of them in plain Python):

- A play belongs to the UTC day of its hour bucket. The audience of a play is ``bots`` when
  ``is_bot`` is true and ``people`` otherwise (null counts as people); ``all`` is both.
- Only matched plays (a non-empty ``track_id``) count toward track and artist tables, feature
  statistics and trending; ``daily_summary`` counts every play.
- ``plays`` = number of plays; ``listeners`` = number of distinct non-null ``author_id``.
- Artists of a play are its distinct non-empty ``artist_ids``; the name of an artist on a play is
  ``artist_names`` at the position of the id's first occurrence. A play with two artists counts once
  for each.
- A name shown for a track or artist (``track_name``, ``artist_names``, ``artist_name``) is the
  greatest non-null value seen on that day's plays; plays of one id carry the same names, this only
  makes the choice deterministic.
- Charts rank by plays descending, then id ascending (rank 1 is the top); ``top_n`` rows at most
  per (day, audience).
- Feature statistics: per day and scope (``all`` = every matched play; ``artist:<id>`` = the
  plays of each of the ``feature_artists`` top artists of audience ``all``), one row per audio
  feature with n (plays that have the feature), mean and the exact percentiles p10..p90 (linear
  interpolation between closest ranks). A missing feature is excluded, never taken as 0; a feature
  no play has gets no row.
- Trending: ``trailing_avg`` = matched plays of the track over the 7 days before, divided by 7
  (days without plays count as 0); ``score = (plays + 1) / (trailing_avg + 1)``; tracks with fewer
  than ``trending_min_plays`` plays on the day are left out; ranked by score desc, plays desc,
  track id; ``trending_n`` rows at most.
- ``track_stats_by_day``: every matched track of the day with plays, listeners and its features
  (the mean over its plays; ``key`` the greatest). ``artist_stats_by_day``: every artist of the day
  with plays, listeners, distinct tracks and the mean of each feature over its plays.
- ``daily_summary``: plays, matched, people_plays, bot_plays, listeners, unique_tracks (distinct
  matched track ids) and computed_at; a day without plays gets a row of zeros.

Re-running a day replaces exactly that day's rows: every partition of the day is deleted with a
partition tombstone at the run's timestamp T and the new rows are written at T+1, so the result does
not depend on the order in which the deletes and writes reach the node (nor on clock skew between
the driver and the executors). A day with no plays ends with empty partitions.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from nowplaying.common.logging import get_logger

log = get_logger(__name__)

FEATURES = (
    "danceability", "energy", "loudness", "speechiness", "acousticness", "instrumentalness",
    "liveness", "valence", "tempo",
)  # fmt: skip
AUDIENCES = ("all", "people", "bots")
PERCENTILES = (0.10, 0.25, 0.50, 0.75, 0.90)
PERCENTILE_COLUMNS = ("p10", "p25", "p50", "p75", "p90")
TRAILING_DAYS = 7
CASSANDRA_FORMAT = "org.apache.spark.sql.cassandra"

# Tables written per day; audience-partitioned ones get one tombstone per (day, audience).
DAY_TABLES = ("feature_stats_by_day", "trending_by_day", "track_stats_by_day", "artist_stats_by_day")
AUDIENCE_TABLES = ("top_tracks_by_day", "top_artists_by_day")

PLAY_COLUMNS = (
    "bucket", "played_at", "source", "post_id", "author_id", "is_bot", "track_id", "track_name",
    "artist_ids", "artist_names", "key", *FEATURES,
)  # fmt: skip


@dataclass(frozen=True)
class AggregateParams:
    top_n: int = 100
    feature_artists: int = 20
    trending_n: int = 50
    trending_min_plays: int = 3

    def __post_init__(self) -> None:
        for name in ("top_n", "feature_artists", "trending_n", "trending_min_plays"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


@dataclass
class AggregateReport:
    days: list[date]
    plays_read: int = 0
    rows_written: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


# --- pure helpers ----------------------------------------------------------------------------
def day_buckets(day: date) -> list[str]:
    """The 24 ``plays_by_hour`` partition keys of a UTC day."""
    return [f"{day.isoformat()}T{hour:02d}" for hour in range(24)]


def default_days(now: datetime | None = None) -> list[date]:
    """Yesterday and today (UTC)."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    return [today - timedelta(days=1), today]


def days_between(first: date, last: date) -> list[date]:
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def parse_days(spec: str) -> list[date]:
    """``2026-03-01``, ``2026-03-01..2026-03-07`` or a comma-separated list of either; sorted, unique."""
    out: set[date] = set()
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        first, sep, last = part.partition("..")
        try:
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if sep else start
        except ValueError as exc:
            raise ValueError(f"'{part}' is not a day (YYYY-MM-DD) or a range (YYYY-MM-DD..YYYY-MM-DD)") from exc
        out.update(days_between(start, end))
    if not out:
        raise ValueError("no day given")
    return sorted(out)


def trailing_window(days: Iterable[date]) -> list[date]:
    """The days before each of ``days`` that trending needs and that are not in ``days``."""
    wanted = set(days)
    before = {d - timedelta(days=k) for d in wanted for k in range(1, TRAILING_DAYS + 1)}
    return sorted(before - wanted)


def trending_score(plays: int, trailing_avg: float) -> float:
    return (plays + 1) / (trailing_avg + 1)


def write_timestamp_us(now: float | None = None) -> int:
    """The run's tombstone timestamp in microseconds; rows are written one microsecond later."""
    return int((time.time() if now is None else now) * 1_000_000)


# --- Spark transformations (DataFrame in, DataFrame out; no I/O) ------------------------------
def prepare_plays(raw: Any) -> Any:
    """plays_by_hour rows -> one row per play with its day, audience flag and normalized track id."""
    from pyspark.sql import functions as F

    return raw.select(
        F.to_date(F.substring("bucket", 1, 10)).alias("day"),
        "played_at",
        "source",
        "post_id",
        "author_id",
        F.coalesce(F.col("is_bot"), F.lit(False)).alias("is_bot"),
        F.when(F.col("track_id") != "", F.col("track_id")).alias("track_id"),
        "track_name",
        "artist_ids",
        "artist_names",
        "key",
        *[F.col(name).cast("double").alias(name) for name in FEATURES],
    )


def _with_audience(frame: Any) -> Any:
    from pyspark.sql import functions as F

    other = F.when(F.col("is_bot"), F.lit("bots")).otherwise(F.lit("people"))
    return frame.withColumn("audience", F.explode(F.array(F.lit("all"), other)))


def _ranked(frame: Any, partition: Sequence[str], order: Sequence[Any], limit: int) -> Any:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    window = Window.partitionBy(*partition).orderBy(*order)
    return frame.withColumn("rank", F.row_number().over(window)).where(F.col("rank") <= limit)


def artist_plays(matched: Any) -> Any:
    """One row per (matched play, distinct artist of the play) with the artist's name on that play."""
    from pyspark.sql import functions as F

    exploded = matched.select(
        "*", F.explode(F.array_distinct(F.filter("artist_ids", lambda x: x.isNotNull() & (x != "")))).alias("artist_id")
    )
    position = F.expr("array_position(artist_ids, artist_id)").cast("int")
    name = F.when(position <= F.size("artist_names"), F.element_at("artist_names", position))
    return exploded.withColumn("artist_name", name)


def top_tracks(matched: Any, top_n: int) -> Any:
    from pyspark.sql import functions as F

    grouped = (
        _with_audience(matched)
        .groupBy("day", "audience", "track_id")
        .agg(
            F.count(F.lit(1)).alias("plays"),
            F.countDistinct("author_id").alias("listeners"),
            F.max("track_name").alias("track_name"),
            F.max("artist_names").alias("artist_names"),
        )
    )
    ranked = _ranked(grouped, ("day", "audience"), (F.desc("plays"), F.asc("track_id")), top_n)
    return ranked.select("day", "audience", "rank", "track_id", "track_name", "artist_names", "plays", "listeners")


def top_artists(artists: Any, top_n: int) -> Any:
    from pyspark.sql import functions as F

    grouped = (
        _with_audience(artists)
        .groupBy("day", "audience", "artist_id")
        .agg(
            F.count(F.lit(1)).alias("plays"),
            F.countDistinct("author_id").alias("listeners"),
            F.max("artist_name").alias("artist_name"),
        )
    )
    ranked = _ranked(grouped, ("day", "audience"), (F.desc("plays"), F.asc("artist_id")), top_n)
    return ranked.select("day", "audience", "rank", "artist_id", "artist_name", "plays", "listeners")


def feature_stats(matched: Any, artists: Any, top_artist_rows: Any, feature_artists: int) -> Any:
    """Long rows (day, scope, feature, n, mean, p10..p90) for scope 'all' and the top artists."""
    from pyspark.sql import functions as F

    overall = matched.select("day", F.lit("all").alias("scope"), *FEATURES)
    chosen = top_artist_rows.where((F.col("audience") == "all") & (F.col("rank") <= feature_artists)).select(
        "day", "artist_id"
    )
    per_artist = artists.join(F.broadcast(chosen), ["day", "artist_id"]).select(
        "day", F.concat(F.lit("artist:"), F.col("artist_id")).alias("scope"), *FEATURES
    )
    quantiles = ", ".join(str(p) for p in PERCENTILES)
    aggregates = []
    for name in FEATURES:
        aggregates += [
            F.count(name).alias(f"{name}__n"),
            F.avg(name).alias(f"{name}__mean"),
            F.expr(f"percentile({name}, array({quantiles}))").alias(f"{name}__p"),
        ]
    wide = overall.unionByName(per_artist).groupBy("day", "scope").agg(*aggregates)
    long = wide.select(
        "day",
        "scope",
        F.explode(
            F.array(
                *[
                    F.struct(
                        F.lit(name).alias("feature"),
                        F.col(f"{name}__n").alias("n"),
                        F.col(f"{name}__mean").alias("mean"),
                        F.col(f"{name}__p").alias("p"),
                    )
                    for name in FEATURES
                ]
            )
        ).alias("s"),
    )
    return long.where(F.col("s.n") > 0).select(
        "day",
        "scope",
        F.col("s.feature").alias("feature"),
        F.col("s.n").alias("n"),
        F.col("s.mean").alias("mean"),
        *[F.col("s.p")[i].alias(column) for i, column in enumerate(PERCENTILE_COLUMNS)],
    )


def track_stats(matched: Any) -> Any:
    from pyspark.sql import functions as F

    return matched.groupBy("day", "track_id").agg(
        F.max("track_name").alias("track_name"),
        F.max("artist_names").alias("artist_names"),
        F.count(F.lit(1)).alias("plays"),
        F.countDistinct("author_id").alias("listeners"),
        F.max("key").alias("key"),
        *[F.avg(name).cast("float").alias(name) for name in FEATURES],
    )


def artist_stats(artists: Any) -> Any:
    from pyspark.sql import functions as F

    return artists.groupBy("day", "artist_id").agg(
        F.max("artist_name").alias("artist_name"),
        F.count(F.lit(1)).alias("plays"),
        F.countDistinct("author_id").alias("listeners"),
        F.countDistinct("track_id").alias("tracks"),
        *[F.avg(name).alias(name) for name in FEATURES],
    )


def daily_counts(track_days: Any) -> Any:
    """(day, track_id) rows of matched plays -> (day, track_id, plays)."""
    from pyspark.sql import functions as F

    return track_days.groupBy("day", "track_id").agg(F.count(F.lit(1)).alias("plays"))


def trending(matched: Any, history: Any, days: Sequence[date], min_plays: int, limit: int) -> Any:
    """``history``: (day, track_id, plays) for the target days and the 7 days before each."""
    from pyspark.sql import functions as F

    today = matched.groupBy("day", "track_id").agg(
        F.count(F.lit(1)).alias("plays"),
        F.max("track_name").alias("track_name"),
        F.max("artist_names").alias("artist_names"),
    )
    shifted = (
        history.select(
            F.explode(F.sequence(F.date_add("day", 1), F.date_add("day", TRAILING_DAYS))).alias("day"),
            "track_id",
            F.col("plays").alias("past"),
        )
        .where(F.col("day").isin(list(days)))
        .groupBy("day", "track_id")
        .agg(F.sum("past").alias("trailing_plays"))
    )
    scored = (
        today.where(F.col("plays") >= min_plays)
        .join(shifted, ["day", "track_id"], "left")
        .withColumn("trailing_avg", F.coalesce(F.col("trailing_plays"), F.lit(0)).cast("double") / TRAILING_DAYS)
        .withColumn("score", (F.col("plays") + 1).cast("double") / (F.col("trailing_avg") + 1))
    )
    ranked = _ranked(scored, ("day",), (F.desc("score"), F.desc("plays"), F.asc("track_id")), limit)
    return ranked.select("day", "rank", "track_id", "track_name", "artist_names", "plays", "trailing_avg", "score")


def summaries(plays: Any) -> Any:
    from pyspark.sql import functions as F

    return plays.groupBy("day").agg(
        F.count(F.lit(1)).alias("plays"),
        F.count("track_id").alias("matched"),
        F.sum(F.when(F.col("is_bot"), 0).otherwise(1)).alias("people_plays"),
        F.sum(F.when(F.col("is_bot"), 1).otherwise(0)).alias("bot_plays"),
        F.countDistinct("author_id").alias("listeners"),
        F.countDistinct("track_id").alias("unique_tracks"),
    )


def compute(plays: Any, history: Any, days: Sequence[date], params: AggregateParams) -> dict[str, Any]:
    """Every aggregate as a DataFrame keyed by its table name. ``plays``: prepared plays of ``days``;
    ``history``: (day, track_id) of the matched plays of the trailing days (may overlap ``days``)."""
    from pyspark.sql import functions as F

    matched = plays.where(F.col("track_id").isNotNull())
    artists = artist_plays(matched)
    tracks_top = top_tracks(matched, params.top_n)
    artists_top = top_artists(artists, params.top_n)
    all_history = daily_counts(matched.select("day", "track_id").unionByName(history.select("day", "track_id")))
    return {
        "top_tracks_by_day": tracks_top,
        "top_artists_by_day": artists_top,
        "feature_stats_by_day": feature_stats(matched, artists, artists_top, params.feature_artists),
        "trending_by_day": trending(matched, all_history, days, params.trending_min_plays, params.trending_n),
        "track_stats_by_day": track_stats(matched),
        "artist_stats_by_day": artist_stats(artists),
    }


# --- I/O edges -------------------------------------------------------------------------------
def read_plays(spark: Any, keyspace: str, days: Sequence[date], columns: Sequence[str] = PLAY_COLUMNS) -> Any:
    """The plays of ``days``, read by partition key (the 24 buckets of each day; never a full scan)."""
    from pyspark.sql import functions as F

    buckets = [bucket for day in days for bucket in day_buckets(day)]
    frame = spark.read.format(CASSANDRA_FORMAT).options(keyspace=keyspace, table="plays_by_hour").load()
    return frame.where(F.col("bucket").isin(buckets)).select(*columns)


def read_history(spark: Any, keyspace: str, days: Sequence[date]) -> Any:
    """(day, track_id) of the matched plays of ``days`` (only the two columns trending needs)."""
    from pyspark.sql import functions as F

    if not days:
        return spark.createDataFrame([], "day date, track_id string")
    raw = read_plays(spark, keyspace, days, ("bucket", "track_id"))
    return raw.select(
        F.to_date(F.substring("bucket", 1, 10)).alias("day"),
        F.when(F.col("track_id") != "", F.col("track_id")).alias("track_id"),
    ).where(F.col("track_id").isNotNull())


class DayWriter:
    """Deletes a day's aggregate partitions (at timestamp T) and writes new rows (at T+1)."""

    def __init__(self, session: Any, keyspace: str, timestamp_us: int) -> None:
        self.session = session
        self.keyspace = keyspace
        self.timestamp_us = timestamp_us
        self._deletes_day = {
            table: session.prepare(f"DELETE FROM {keyspace}.{table} USING TIMESTAMP ? WHERE day = ?")
            for table in DAY_TABLES
        }
        self._deletes_audience = {
            table: session.prepare(f"DELETE FROM {keyspace}.{table} USING TIMESTAMP ? WHERE day = ? AND audience = ?")
            for table in AUDIENCE_TABLES
        }
        self._summary = session.prepare(
            f"INSERT INTO {keyspace}.daily_summary (day, plays, matched, people_plays, bot_plays, listeners,"
            " unique_tracks, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?"
        )
        for statement in [*self._deletes_day.values(), *self._deletes_audience.values(), self._summary]:
            statement.is_idempotent = True

    def clear(self, days: Iterable[date]) -> None:
        for day in days:
            for statement in self._deletes_day.values():
                self.session.execute(statement, (self.timestamp_us, day))
            for statement in self._deletes_audience.values():
                for audience in AUDIENCES:
                    self.session.execute(statement, (self.timestamp_us, day, audience))

    def write_frame(self, frame: Any, table: str) -> None:
        (
            frame.write.format(CASSANDRA_FORMAT)
            .options(keyspace=self.keyspace, table=table)
            .option("spark.cassandra.output.timestamp", str(self.timestamp_us + 1))
            .mode("append")
            .save()
        )

    def write_summary(self, day: date, row: dict[str, int], computed_at: datetime) -> None:
        self.session.execute(
            self._summary,
            (
                day,
                row.get("plays", 0),
                row.get("matched", 0),
                row.get("people_plays", 0),
                row.get("bot_plays", 0),
                row.get("listeners", 0),
                row.get("unique_tracks", 0),
                computed_at,
                self.timestamp_us + 1,
            ),
        )


def run_aggregate(
    spark: Any,
    session: Any,
    keyspace: str,
    days: Sequence[date],
    params: AggregateParams | None = None,
    now: datetime | None = None,
) -> AggregateReport:
    """Compute and write every aggregate of ``days``; each day's old rows are replaced."""
    from pyspark import StorageLevel

    params = params or AggregateParams()
    days = sorted(set(days))
    started = time.perf_counter()
    report = AggregateReport(days=list(days))
    plays = prepare_plays(read_plays(spark, keyspace, days)).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        history = read_history(spark, keyspace, trailing_window(days))
        frames = compute(plays, history, days, params)
        summary_rows = {row["day"]: row.asDict() for row in summaries(plays).collect()}
        report.plays_read = sum(int(row["plays"]) for row in summary_rows.values())
        writer = DayWriter(session, keyspace, write_timestamp_us())
        writer.clear(days)
        for table, frame in frames.items():
            out = frame.persist(StorageLevel.MEMORY_AND_DISK)
            try:
                report.rows_written[table] = out.count()
                writer.write_frame(out, table)
            finally:
                out.unpersist()
        computed_at = (now or datetime.now(UTC)).replace(microsecond=0)
        for day in days:
            writer.write_summary(day, summary_rows.get(day, {}), computed_at)
        report.rows_written["daily_summary"] = len(days)
    finally:
        plays.unpersist()
    report.seconds = time.perf_counter() - started
    log.info(
        "aggregate_done",
        days=[d.isoformat() for d in days],
        plays=report.plays_read,
        rows=report.rows_written,
        seconds=round(report.seconds, 2),
    )
    return report
