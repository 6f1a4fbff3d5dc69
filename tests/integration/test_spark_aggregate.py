"""The aggregate job against the real local Cassandra and real Spark (local mode).

Every aggregate table is compared with a plain Python computation over the same plays, read back
from ``plays_by_hour`` with the Python driver; then a day is re-run after its plays changed, and a
day whose plays are all gone is re-run (its old rows must disappear).
"""

from __future__ import annotations

import math
import os
import struct
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from nowplaying.common.config import PROJECT_ROOT, Settings
from nowplaying_spark.aggregate import AggregateParams, run_aggregate

from tests.fixtures_pipeline import (
    SPARK_FEATURES,
    spark_catalogue,
    spark_hour_plays,
    spark_insert_plays,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SUMMARY_COLUMNS = ("plays", "matched", "people_plays", "bot_plays", "listeners", "unique_tracks")
PARAMS = AggregateParams(top_n=8, feature_artists=3, trending_n=6, trending_min_plays=2)
HOURS = (1, 7, 13, 19)
TOLERANCE = 1e-9


# --- the plain Python reference --------------------------------------------------------------
def _f32(value: float) -> float:
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * p
    low, high = math.floor(position), math.ceil(position)
    if low == high:
        return ordered[low]
    return (high - position) * ordered[low] + (position - low) * ordered[high]


def _max(values: Iterable[Any]) -> Any:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _listeners(plays: list[dict[str, Any]]) -> int:
    return len({p["author_id"] for p in plays if p["author_id"] is not None})


def _artists_of(play: dict[str, Any]) -> list[tuple[str, str | None]]:
    ids = play["artist_ids"] or []
    names = play["artist_names"] or []
    out: list[tuple[str, str | None]] = []
    for artist in ids:
        if not artist or any(artist == seen for seen, _ in out):
            continue
        position = ids.index(artist)
        out.append((artist, names[position] if position < len(names) else None))
    return out


def _audiences(play: dict[str, Any]) -> tuple[str, str]:
    return ("all", "bots" if play["is_bot"] is True else "people")


def expected_tables(all_plays: list[dict[str, Any]], day: date, params: AggregateParams) -> dict[str, Any]:
    plays = [p for p in all_plays if p["day"] == day]
    matched = [p for p in plays if p["track_id"]]
    out: dict[str, Any] = {}

    # top tracks / artists per audience
    tracks_rows, artists_rows = [], []
    for audience in ("all", "people", "bots"):
        by_track: dict[str, list[dict[str, Any]]] = defaultdict(list)
        by_artist: dict[str, list[tuple[dict[str, Any], str | None]]] = defaultdict(list)
        for p in matched:
            if audience in _audiences(p):
                by_track[p["track_id"]].append(p)
                for artist, name in _artists_of(p):
                    by_artist[artist].append((p, name))
        ranked = sorted(by_track.items(), key=lambda kv: (-len(kv[1]), kv[0]))[: params.top_n]
        for rank, (track, ps) in enumerate(ranked, start=1):
            tracks_rows.append(
                (audience, rank, track, _max(p["track_name"] for p in ps), _max(p["artist_names"] for p in ps),
                 len(ps), _listeners(ps))
            )  # fmt: skip
        ranked_a = sorted(by_artist.items(), key=lambda kv: (-len(kv[1]), kv[0]))[: params.top_n]
        for rank, (artist, pairs) in enumerate(ranked_a, start=1):
            artists_rows.append(
                (audience, rank, artist, _max(n for _, n in pairs), len(pairs), _listeners([p for p, _ in pairs]))
            )
    out["top_tracks_by_day"] = tracks_rows
    out["top_artists_by_day"] = artists_rows

    # feature stats: 'all' and the top artists of audience 'all'
    scopes: dict[str, list[dict[str, Any]]] = {"all": matched}
    for _, rank, artist, *_rest in (r for r in artists_rows if r[0] == "all"):
        if rank <= params.feature_artists:
            scopes[f"artist:{artist}"] = [p for p in matched if artist in dict(_artists_of(p))]
    stats = []
    for scope, ps in scopes.items():
        for feature in SPARK_FEATURES:
            values = [float(p[feature]) for p in ps if p[feature] is not None]
            if values:
                stats.append(
                    (scope, feature, len(values), sum(values) / len(values),
                     *[_percentile(values, q) for q in (0.1, 0.25, 0.5, 0.75, 0.9)])
                )  # fmt: skip
    out["feature_stats_by_day"] = sorted(stats)

    # trending
    counts: dict[tuple[date, str], int] = defaultdict(int)
    for p in all_plays:
        if p["track_id"]:
            counts[(p["day"], p["track_id"])] += 1
    today: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in matched:
        today[p["track_id"]].append(p)
    candidates = []
    for track, ps in today.items():
        if len(ps) < params.trending_min_plays:
            continue
        trailing = sum(counts.get((day - timedelta(days=k), track), 0) for k in range(1, 8)) / 7
        score = (len(ps) + 1) / (trailing + 1)
        candidates.append((score, len(ps), track, trailing, ps))
    candidates.sort(key=lambda c: (-c[0], -c[1], c[2]))
    out["trending_by_day"] = [
        (rank, track, _max(p["track_name"] for p in ps), _max(p["artist_names"] for p in ps), n, trailing, score)
        for rank, (score, n, track, trailing, ps) in enumerate(candidates[: params.trending_n], start=1)
    ]

    # per-track and per-artist stats
    track_rows = []
    for track, ps in sorted(today.items()):
        features = []
        for feature in SPARK_FEATURES:
            mean = _mean([float(p[feature]) for p in ps if p[feature] is not None])
            features.append(None if mean is None else _f32(mean))
        track_rows.append(
            (track, _max(p["track_name"] for p in ps), _max(p["artist_names"] for p in ps), len(ps), _listeners(ps),
             _max(p["key"] for p in ps), *features)
        )  # fmt: skip
    out["track_stats_by_day"] = track_rows
    by_artist_all: dict[str, list[tuple[dict[str, Any], str | None]]] = defaultdict(list)
    for p in matched:
        for artist, name in _artists_of(p):
            by_artist_all[artist].append((p, name))
    artist_rows = []
    for artist, pairs in sorted(by_artist_all.items()):
        ps = [p for p, _ in pairs]
        artist_rows.append(
            (artist, _max(n for _, n in pairs), len(ps), _listeners(ps), len({p["track_id"] for p in ps}),
             *[_mean([float(p[f]) for p in ps if p[f] is not None]) for f in SPARK_FEATURES])
        )  # fmt: skip
    out["artist_stats_by_day"] = artist_rows

    out["daily_summary"] = (
        len(plays),
        len(matched),
        sum(1 for p in plays if p["is_bot"] is not True),
        sum(1 for p in plays if p["is_bot"] is True),
        _listeners(plays),
        len({p["track_id"] for p in matched}),
    )
    return out


# --- reading what the job wrote --------------------------------------------------------------
def read_plays(session: Any, keyspace: str, days: Iterable[date]) -> list[dict[str, Any]]:
    statement = session.prepare(f"SELECT * FROM {keyspace}.plays_by_hour WHERE bucket = ?")
    plays = []
    for day in days:
        for hour in range(24):
            for row in session.execute(statement, (f"{day.isoformat()}T{hour:02d}",)):
                play = row._asdict()
                play["day"] = day
                plays.append(play)
    return plays


def actual_tables(session: Any, keyspace: str, day: date) -> dict[str, Any]:
    def rows(query: str, *params: Any) -> list[Any]:
        return list(session.execute(session.prepare(query), params))

    out: dict[str, Any] = {}
    tracks, artists = [], []
    for audience in ("all", "people", "bots"):
        tracks += [
            (audience, r.rank, r.track_id, r.track_name, r.artist_names, r.plays, r.listeners)
            for r in rows(f"SELECT * FROM {keyspace}.top_tracks_by_day WHERE day = ? AND audience = ?", day, audience)
        ]
        artists += [
            (audience, r.rank, r.artist_id, r.artist_name, r.plays, r.listeners)
            for r in rows(f"SELECT * FROM {keyspace}.top_artists_by_day WHERE day = ? AND audience = ?", day, audience)
        ]
    out["top_tracks_by_day"] = tracks
    out["top_artists_by_day"] = artists
    out["feature_stats_by_day"] = sorted(
        (r.scope, r.feature, r.n, r.mean, r.p10, r.p25, r.p50, r.p75, r.p90)
        for r in rows(f"SELECT * FROM {keyspace}.feature_stats_by_day WHERE day = ?", day)
    )
    out["trending_by_day"] = [
        (r.rank, r.track_id, r.track_name, r.artist_names, r.plays, r.trailing_avg, r.score)
        for r in rows(f"SELECT * FROM {keyspace}.trending_by_day WHERE day = ?", day)
    ]
    out["track_stats_by_day"] = [
        (
            r.track_id,
            r.track_name,
            r.artist_names,
            r.plays,
            r.listeners,
            r.key,
            *[getattr(r, f) for f in SPARK_FEATURES],
        )
        for r in rows(f"SELECT * FROM {keyspace}.track_stats_by_day WHERE day = ?", day)
    ]
    out["artist_stats_by_day"] = [
        (r.artist_id, r.artist_name, r.plays, r.listeners, r.tracks, *[getattr(r, f) for f in SPARK_FEATURES])
        for r in rows(f"SELECT * FROM {keyspace}.artist_stats_by_day WHERE day = ?", day)
    ]
    summary = rows(f"SELECT * FROM {keyspace}.daily_summary WHERE day = ?", day)
    out["daily_summary"] = None if not summary else tuple(getattr(summary[0], c) for c in SUMMARY_COLUMNS)
    return out


def _same(actual: Any, expected: Any, rel: float) -> bool:
    if {type(actual), type(expected)} == {type(None), list} and not (actual or expected):
        return True  # a frozen list column reads back an absent list as [] or None: both mean "none"
    if isinstance(expected, float) and isinstance(actual, float):
        return math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-12)
    if isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple)):
        return len(actual) == len(expected) and all(_same(a, e, rel) for a, e in zip(actual, expected, strict=True))
    return bool(actual == expected)


def assert_tables_match(session: Any, keyspace: str, plays: list[dict[str, Any]], day: date) -> dict[str, Any]:
    expected = expected_tables(plays, day, PARAMS)
    actual = actual_tables(session, keyspace, day)
    for table, rows in expected.items():
        rel = 1e-6 if table == "track_stats_by_day" else TOLERANCE  # float columns: float32 rounding
        assert _same(actual[table], rows, rel), f"{table} on {day}:\nactual   {actual[table]}\nexpected {rows}"
    return expected


# --- the data --------------------------------------------------------------------------------
def insert_days(session: Any, keyspace: str, days: Iterable[date], per_hour: int, seed: int) -> None:
    catalogue = spark_catalogue(n_tracks=40, seed=7)
    rows = []
    for day in days:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for hour in HOURS:
            rows += list(spark_hour_plays(start + timedelta(hours=hour), per_hour, catalogue, seed=seed, n_authors=25))
    spark_insert_plays(session, keyspace, rows)


def test_aggregate_matches_python_then_rerun_replaces_the_day(
    spark_session: Any, cassandra_session: Any, cassandra_settings: Settings
) -> None:
    keyspace = cassandra_settings.cassandra_keyspace
    d0 = date(2026, 3, 10)
    history = [d0 - timedelta(days=k) for k in range(8, -1, -1)]  # 8 days before d0, and d0
    insert_days(cassandra_session, keyspace, history, per_hour=30, seed=1)
    targets = [d0 - timedelta(days=1), d0]

    report = run_aggregate(spark_session, cassandra_session, keyspace, targets, PARAMS)
    plays = read_plays(cassandra_session, keyspace, history)
    assert report.plays_read == sum(1 for p in plays if p["day"] in targets)
    for day in targets:
        expected = assert_tables_match(cassandra_session, keyspace, plays, day)
        # the data really exercises the definitions
        assert len(expected["top_tracks_by_day"]) > 2 * PARAMS.top_n  # 3 audiences, truncated to top_n
        assert {r[0] for r in expected["feature_stats_by_day"]} > {"all"}
        assert expected["trending_by_day"]
        assert any(r[-1] is None for r in expected["track_stats_by_day"])  # a track without tempo

    # Change d0: two hours of plays disappear, the top track loses every play, bots become people,
    # and a new track appears; re-run d0 only.
    top_track = expected_tables(plays, d0, PARAMS)["top_tracks_by_day"][0][2]
    delete_hour = cassandra_session.prepare(f"DELETE FROM {keyspace}.plays_by_hour WHERE bucket = ?")
    delete_play = cassandra_session.prepare(
        f"DELETE FROM {keyspace}.plays_by_hour WHERE bucket = ? AND played_at = ? AND source = ? AND post_id = ?"
    )
    flip = cassandra_session.prepare(
        f"UPDATE {keyspace}.plays_by_hour SET is_bot = false"
        " WHERE bucket = ? AND played_at = ? AND source = ? AND post_id = ?"
    )
    for hour in HOURS[:2]:
        cassandra_session.execute(delete_hour, (f"{d0.isoformat()}T{hour:02d}",))
    for p in plays:
        key = (p["bucket"], p["played_at"], p["source"], p["post_id"])
        if p["day"] == d0 and p["track_id"] == top_track:
            cassandra_session.execute(delete_play, key)
        elif p["day"] == d0 and p["is_bot"]:
            cassandra_session.execute(flip, key)
    before = actual_tables(cassandra_session, keyspace, d0)
    yesterday_before = actual_tables(cassandra_session, keyspace, targets[0])

    run_aggregate(spark_session, cassandra_session, keyspace, [d0], PARAMS)
    plays = read_plays(cassandra_session, keyspace, history)
    expected = assert_tables_match(cassandra_session, keyspace, plays, d0)
    assert len(expected["track_stats_by_day"]) < len(before["track_stats_by_day"])  # fewer rows: stale ones gone
    assert not any(r[0] == "bots" for r in expected["top_tracks_by_day"])
    assert all(r[2] != top_track for r in expected["top_tracks_by_day"])
    assert actual_tables(cassandra_session, keyspace, targets[0]) == yesterday_before  # the other day untouched


def test_day_without_plays_leaves_empty_partitions(
    spark_session: Any, cassandra_session: Any, cassandra_settings: Settings
) -> None:
    keyspace = cassandra_settings.cassandra_keyspace
    day = date(2026, 4, 20)
    insert_days(cassandra_session, keyspace, [day], per_hour=25, seed=2)
    run_aggregate(spark_session, cassandra_session, keyspace, [day], PARAMS)
    plays = read_plays(cassandra_session, keyspace, [day])
    assert_tables_match(cassandra_session, keyspace, plays, day)
    assert actual_tables(cassandra_session, keyspace, day)["top_tracks_by_day"]

    delete_hour = cassandra_session.prepare(f"DELETE FROM {keyspace}.plays_by_hour WHERE bucket = ?")
    for hour in range(24):
        cassandra_session.execute(delete_hour, (f"{day.isoformat()}T{hour:02d}",))
    report = run_aggregate(spark_session, cassandra_session, keyspace, [day], PARAMS)
    assert report.plays_read == 0
    actual = actual_tables(cassandra_session, keyspace, day)
    for table, rows in actual.items():
        if table != "daily_summary":
            assert rows == [], f"{table} kept stale rows: {rows[:3]}"
    assert actual["daily_summary"] == (0, 0, 0, 0, 0, 0)


def test_rows_are_written_after_the_days_tombstone(
    spark_session: Any, cassandra_session: Any, cassandra_settings: Settings
) -> None:
    """Every row of a run carries one write time, later than the tombstone of that run."""
    keyspace = cassandra_settings.cassandra_keyspace
    day = date(2026, 5, 5)
    insert_days(cassandra_session, keyspace, [day], per_hour=10, seed=3)
    run_aggregate(spark_session, cassandra_session, keyspace, [day], PARAMS)
    first = {
        r.wt
        for r in cassandra_session.execute(
            cassandra_session.prepare(
                f"SELECT writetime(plays) AS wt FROM {keyspace}.track_stats_by_day WHERE day = ?"
            ),
            (day,),
        )
    }
    run_aggregate(spark_session, cassandra_session, keyspace, [day], PARAMS)
    second = {
        r.wt
        for r in cassandra_session.execute(
            cassandra_session.prepare(
                f"SELECT writetime(plays) AS wt FROM {keyspace}.track_stats_by_day WHERE day = ?"
            ),
            (day,),
        )
    }
    assert len(first) == 1 and len(second) == 1
    assert second.pop() > first.pop()


def test_spark_submit_entry_runs_the_same_job(cassandra_session: Any, cassandra_settings: Settings) -> None:
    """spark-jobs/main.py under spark-submit (the Kubernetes entry point), Cassandra from the environment."""
    from nowplaying_spark.session import connector_jars

    keyspace = cassandra_settings.cassandra_keyspace
    day = date(2026, 6, 1)
    insert_days(cassandra_session, keyspace, [day], per_hour=10, seed=4)
    submit = PROJECT_ROOT / ".venv" / "bin" / "spark-submit"
    if not submit.exists():
        submit = PROJECT_ROOT / ".venv" / "lib" / "python3.11" / "site-packages" / "pyspark" / "bin" / "spark-submit"
    jars = ",".join(str(j) for j in connector_jars(cassandra_settings.spark_jars_dir))
    env = {
        **os.environ,
        "CASSANDRA_HOSTS": cassandra_settings.cassandra_hosts,
        "CASSANDRA_PORT": str(cassandra_settings.cassandra_port),
        "CASSANDRA_KEYSPACE": keyspace,
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "JAVA_HOME": os.environ.get("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64"),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    result = subprocess.run(
        [str(submit), "--master", "local[1]", "--jars", jars, "--conf", "spark.ui.enabled=false",
         "--conf", "spark.sql.shuffle.partitions=2", str(PROJECT_ROOT / "spark-jobs" / "main.py"),
         "aggregate", "--days", day.isoformat(), "--top", "8", "--feature-artists", "3", "--trending", "6",
         "--trending-min-plays", "2"],
        env=env, capture_output=True, text=True, timeout=480,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"aggregated {day.isoformat()}" in result.stdout
    plays = read_plays(cassandra_session, keyspace, [day])
    assert_tables_match(cassandra_session, keyspace, plays, day)
    runs = list(
        cassandra_session.execute(
            cassandra_session.prepare(f"SELECT status, items_in FROM {keyspace}.pipeline_runs WHERE stage = ?"),
            ("aggregate",),
        )
    )
    assert any(r.status == "ok" and r.items_in == len(plays) for r in runs)
