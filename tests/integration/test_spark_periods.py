"""The period aggregates against the real local Cassandra and real Spark (local mode).

Every served table (charts, totals, activity) is compared with a plain Python computation over the
plays read back from ``plays_by_hour``: after the first run (no checkpoint: everything), after an
increment (new plays in an old bucket and in a new one), after plays were deleted, re-matched and
flipped from bots to people, and after ``--full``, which must leave every table identical.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nowplaying.common.aggjournal import DirtyMarks, segment_of
from nowplaying.common.config import Settings
from nowplaying.common.periods import periods_of_bucket
from nowplaying_spark.periods import CHECKPOINT_SAFETY, run_periods

from tests.fixtures_pipeline import SPARK_PLAY_COLUMNS, spark_catalogue, spark_hour_plays, spark_unset_nulls

pytestmark = [pytest.mark.spark, pytest.mark.slow]

TOP_N = 6
LANGS = ("en", "es", None, "pt")
# Hours over three months and a year boundary (the week of 2025-12-29 holds days of two years).
HOURS = [
    datetime(2025, 12, 30, 22, tzinfo=UTC),
    datetime(2026, 1, 1, 3, tzinfo=UTC),
    datetime(2026, 1, 1, 15, tzinfo=UTC),
    datetime(2026, 1, 7, 9, tzinfo=UTC),
    datetime(2026, 2, 14, 20, tzinfo=UTC),
    datetime(2026, 3, 2, 0, tzinfo=UTC),
    datetime(2026, 3, 2, 23, tzinfo=UTC),
]


def insert(session: Any, keyspace: str, rows: list[tuple[Any, ...]], marked_at: datetime | None = None) -> set[str]:
    """Insert plays (SPARK_PLAY_COLUMNS plus lang) and mark their segments as the loader does; returns
    the segments."""
    from cassandra.concurrent import execute_concurrent_with_args

    columns = (*SPARK_PLAY_COLUMNS, "lang")
    statement = session.prepare(
        f"INSERT INTO {keyspace}.plays_by_hour ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    )
    params = [spark_unset_nulls(row) for row in rows]
    assert all(ok for ok, _ in execute_concurrent_with_args(session, statement, params, concurrency=64))
    segments = {segment_of(row[1]) for row in rows}
    DirtyMarks(session, keyspace).mark(segments, marked_at)
    return segments


def make_rows(hours: list[datetime], per_hour: int, seed: int) -> list[tuple[Any, ...]]:
    catalogue = spark_catalogue(n_tracks=25, seed=7)
    rows = []
    for hour in hours:
        for index, row in enumerate(spark_hour_plays(hour, per_hour, catalogue, seed=seed, n_authors=15)):
            rows.append((*row, LANGS[index % len(LANGS)]))
    return rows


# --- the plain Python reference ----------------------------------------------------------------
def read_all_plays(session: Any, keyspace: str) -> list[dict[str, Any]]:
    return [r._asdict() for r in session.execute(f"SELECT * FROM {keyspace}.plays_by_hour")]


def _artists_of(play: dict[str, Any]) -> list[tuple[str, str | None]]:
    ids = play["artist_ids"] or []
    names = play["artist_names"] or []
    out: list[tuple[str, str | None]] = []
    for artist in ids:
        if artist and all(artist != seen for seen, _ in out):
            position = ids.index(artist)
            out.append((artist, names[position] if position < len(names) else None))
    return out


def _max(values: Any) -> Any:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def expected(plays: list[dict[str, Any]]) -> dict[str, Any]:
    groups: dict[tuple[str, str, str], list[tuple[dict[str, Any], str | None]]] = defaultdict(list)
    activity: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for play in plays:
        bot = play["is_bot"] is True
        for period, tv, how in periods_of_bucket(play["bucket"]):
            for dim, value in (
                ("how", how),
                ("time", tv),
                ("source", play["source"] or ""),
                ("lang", play["lang"] or ""),
            ):
                activity[(period, dim, value)][1 if bot else 0] += 1
            if play["track_id"]:
                groups[(period, "track", play["track_id"])].append((play, play["track_name"]))
                for artist, name in _artists_of(play):
                    groups[(period, "artist", artist)].append((play, name))
    totals = {}
    for key, items in groups.items():
        people = [p for p, _ in items if p["is_bot"] is not True]
        bots = [p for p, _ in items if p["is_bot"] is True]

        def listeners(ps: list[dict[str, Any]]) -> int:
            return len({p["author_id"] for p in ps if p["author_id"]})

        totals[key] = (
            len(people), len(bots), listeners(people), listeners(bots), listeners(people + bots),
            _max(n for _, n in items),
            _max(p["artist_names"] for p, _ in items) if key[1] == "track" else None,
        )  # fmt: skip
    tops = []
    periods = {(p, e) for p, e, _ in totals}
    for period, entity in periods:
        for audience in ("all", "people", "bots"):
            ranked = []
            for (p, e, ident), t in totals.items():
                if (p, e) != (period, entity):
                    continue
                plays_n = {"all": t[0] + t[1], "people": t[0], "bots": t[1]}[audience]
                listeners_n = {"all": t[4], "people": t[2], "bots": t[3]}[audience]
                if plays_n > 0:
                    ranked.append((ident, t[5], t[6], plays_n, listeners_n))
            ranked.sort(key=lambda r: (-r[3], r[0]))
            tops += [(period, entity, audience, rank, *r) for rank, r in enumerate(ranked[:TOP_N], start=1)]
    return {
        "totals": sorted((*k, *v) for k, v in totals.items()),
        "tops": sorted(tops),
        "activity": sorted((*k, v[0], v[1]) for k, v in activity.items()),
    }


def actual(session: Any, keyspace: str) -> dict[str, Any]:
    def names(value: Any) -> Any:
        return list(value) if value else None

    return {
        "totals": sorted(
            (
                r.period,
                r.entity,
                r.id,
                r.people_plays,
                r.bot_plays,
                r.people_listeners,
                r.bot_listeners,
                r.listeners,
                r.name,
                names(r.artist_names),
            )
            for r in session.execute(f"SELECT * FROM {keyspace}.agg_period_totals")
        ),
        "tops": sorted(
            (r.period, r.entity, r.audience, r.rank, r.id, r.name, names(r.artist_names), r.plays, r.listeners)
            for r in session.execute(f"SELECT * FROM {keyspace}.top_by_period")
        ),
        "activity": sorted(
            (r.period, r.dim, r.value, r.people, r.bots)
            for r in session.execute(f"SELECT * FROM {keyspace}.activity_by_period")
        ),
    }


def state(session: Any, keyspace: str) -> dict[str, Any]:
    """Every state table, for the --full identity check."""
    out = actual(session, keyspace)
    out["pairs"] = sorted(tuple(r) for r in session.execute(f"SELECT * FROM {keyspace}.agg_pair_days"))
    out["segment_pairs"] = sorted(
        (r.segment, r.entity, r.id, r.author_id, r.people, r.bots, r.name, list(r.artist_names or []))
        for r in session.execute(f"SELECT * FROM {keyspace}.agg_segment_pairs")
    )
    out["segment_activity"] = sorted(
        tuple(r) for r in session.execute(f"SELECT * FROM {keyspace}.agg_segment_activity")
    )
    return out


def assert_matches(session: Any, keyspace: str) -> dict[str, Any]:
    want = expected(read_all_plays(session, keyspace))
    got = actual(session, keyspace)
    for table in want:
        missing = [r for r in want[table] if r not in got[table]][:5]
        extra = [r for r in got[table] if r not in want[table]][:5]
        assert got[table] == want[table], f"{table}: missing {missing}, unexpected {extra}"
    return want


# --- the gateway over the job's output ------------------------------------------------------------
def assert_gateway_serves(base_url: str, want: dict[str, Any]) -> None:
    """Charts, activity and status over the real job's tables answer what the plain Python computed,
    for `all` over the months of the plays, calendar periods inside them, and periods without plays."""
    import requests

    def get(path: str, **params: Any) -> Any:
        response = requests.get(base_url + path, params=params, timeout=60)
        assert response.status_code == 200, (path, params, response.text[:300])
        return response.json()

    def tops(period: str, entity: str, audience: str) -> list[tuple[Any, ...]]:
        return [r[3:] for r in want["tops"] if r[:3] == (period, entity, audience)]

    for audience in ("all", "people", "bots"):
        body = get("/api/charts/top-tracks", period="all", audience=audience, limit=50)
        assert body["period_key"] == "all" and body["start"] is None
        got = [(i["rank"], i["track_id"], i["track_name"], i["artist_names"] or None, i["plays"], i["listeners"])
               for i in body["items"]]  # fmt: skip
        assert got == tops("all", "track", audience)
    artists = get("/api/charts/top-artists", period="year", date="2026-02-14", audience="people", limit=50)
    assert artists["period_key"] == "year:2026"
    got = [(i["rank"], i["artist_id"], i["artist_name"], None, i["plays"], i["listeners"]) for i in artists["items"]]
    assert got == tops("year:2026", "artist", "people")
    week = get("/api/charts/top-tracks", period="week", date="2026-01-01", limit=50)  # the week across two years
    assert week["period_key"] == "week:2025-12-29" and [i["track_id"] for i in week["items"]] == [
        r[1] for r in tops("week:2025-12-29", "track", "all")
    ]

    def activity_of(period: str) -> dict[tuple[str, str], tuple[int, int]]:
        return {(r[1], r[2]): (r[3], r[4]) for r in want["activity"] if r[0] == period}

    everything = get("/api/activity", period="all")
    rows = activity_of("all")
    months = sorted(v for d, v in rows if d == "time")
    assert len(months) >= 3  # several months of plays
    points = [p["at"] for p in everything["over_time"]]
    assert (points[0], points[-1]) == (months[0], months[-1])  # every month between them, zeros included
    for point in everything["over_time"]:
        assert (point["people"], point["bots"]) == rows.get(("time", point["at"]), (0, 0))
    people = sum(p for (d, _), (p, _) in rows.items() if d == "time")
    bots = sum(b for (d, _), (_, b) in rows.items() if d == "time")
    assert everything["totals"] == {"plays": people + bots, "people": people, "bots": bots}
    assert sum(c["plays"] for c in everything["heatmap"]) == people + bots
    for cell in everything["heatmap"]:
        p, b = rows.get(("how", f"{cell['weekday']}-{cell['hour']:02d}"), (0, 0))
        assert (cell["people"], cell["bots"]) == (p, b)
    for dim, field in (("source", "by_source"), ("lang", "by_lang")):
        assert {i["value"]: (i["people"], i["bots"]) for i in everything[field]} == {
            v: c for (d, v), c in rows.items() if d == dim
        }
    month = get("/api/activity", period="month", date="2026-01-20")
    assert month["totals"]["plays"] == sum(
        p + b for (d, _), (p, b) in activity_of("month:2026-01").items() if d == "time"
    )
    # periods without plays: empty charts and zero activity, not errors
    for kind, day in (("month", "2026-04-10"), ("week", "2026-02-02"), ("day", "2026-01-02"), ("year", "2024-06-01")):
        assert get("/api/charts/top-tracks", period=kind, date=day)["items"] == []
        assert get("/api/charts/top-artists", period=kind, date=day, audience="bots")["items"] == []
        empty = get("/api/activity", period=kind, date=day)
        assert empty["totals"] == {"plays": 0, "people": 0, "bots": 0} and empty["by_source"] == []
    fresh = get("/api/status")["freshness"]
    assert fresh["aggregates_ready"] is True and fresh["aggregate_running"] is False
    assert fresh["newest_aggregate_age_s"] is not None and fresh["newest_aggregate_age_s"] >= 0


@pytest.mark.timeout(2400)  # five Spark runs; slow on a loaded machine
def test_periods_fold_incrementally_and_full_gives_identical_tables(
    spark_session: Any, cassandra_session: Any, clean_db: Settings, gateway_server: Any
) -> None:
    session, keyspace = cassandra_session, clean_db.cassandra_keyspace
    # Each run is given its start time and each load its marking time, minutes apart: a run re-reads
    # what was marked in the CHECKPOINT_SAFETY minute before its checkpoint, so on the wall clock a load
    # marked just before a run would be read again by the run after it (harmless, but not countable).
    t0 = datetime.now(UTC)
    assert timedelta(minutes=1, seconds=30) > CHECKPOINT_SAFETY  # the gaps below are 90 s
    insert(session, keyspace, make_rows(HOURS, per_hour=30, seed=1), t0 - timedelta(minutes=5))

    first = run_periods(spark_session, session, keyspace, top_n=TOP_N, now=t0)
    assert first.mode == "full" and first.buckets == len(HOURS)
    want = assert_matches(session, keyspace)
    periods = {row[0] for row in want["tops"]}
    assert {"all", "year:2025", "year:2026", "week:2025-12-29", "month:2026-02", "day:2026-03-02"} <= periods
    assert len([r for r in want["tops"] if r[:3] == ("all", "track", "all")]) == TOP_N  # truncated
    assert any(r[1] == "lang" and r[2] == "" for r in want["activity"])  # plays without a language
    assert_gateway_serves(gateway_server.base_url, want)

    # an increment: more plays in an old bucket and a new bucket; only the 5-minute segments they
    # landed in are read (with the old plays of those segments), not their whole hours
    added = make_rows([HOURS[-1], datetime(2026, 3, 3, 4, tzinfo=UTC)], per_hour=12, seed=2)
    added_segments = insert(session, keyspace, added, t0 + timedelta(seconds=30))
    second = run_periods(spark_session, session, keyspace, top_n=TOP_N, now=t0 + timedelta(minutes=2))
    assert second.mode == "incremental" and second.buckets == 2 and second.segments == len(added_segments)
    in_segments = [p for p in read_all_plays(session, keyspace) if segment_of(p["played_at"]) in added_segments]
    assert 12 + 12 <= second.plays_read == len(in_segments) < 30 + 12 + 12
    assert_matches(session, keyspace)

    # plays change: the top track of 'all' loses its plays in one bucket, bots become people, a play
    # is re-matched to another track; the changed segments are marked as the loader marks them
    plays = read_all_plays(session, keyspace)
    top_track = next(r[4] for r in want["tops"] if r[:4] == ("all", "track", "all", 1))
    bucket = HOURS[2].strftime("%Y-%m-%dT%H")
    key = "bucket = ? AND played_at = ? AND source = ? AND post_id = ?"
    delete = session.prepare(f"DELETE FROM {keyspace}.plays_by_hour WHERE {key}")
    flip = session.prepare(f"UPDATE {keyspace}.plays_by_hour SET is_bot = false WHERE {key}")
    rematch = session.prepare(f"UPDATE {keyspace}.plays_by_hour SET track_id = ?, track_name = ? WHERE {key}")
    changed = set()
    for p in plays:
        k = (p["bucket"], p["played_at"], p["source"], p["post_id"])
        if p["bucket"] == bucket and p["track_id"] == top_track:
            session.execute(delete, k)
            changed.add(segment_of(p["played_at"]))
        elif p["bucket"] == HOURS[3].strftime("%Y-%m-%dT%H") and p["is_bot"]:
            session.execute(flip, k)
            changed.add(segment_of(p["played_at"]))
    victim = next(p for p in plays if p["bucket"] == HOURS[0].strftime("%Y-%m-%dT%H") and p["track_id"])
    session.execute(rematch, ("tr-new", "A new song", victim["bucket"], victim["played_at"], victim["source"],
                              victim["post_id"]))  # fmt: skip
    changed.add(segment_of(victim["played_at"]))
    DirtyMarks(session, keyspace).mark(changed, t0 + timedelta(minutes=2, seconds=30))
    third = run_periods(spark_session, session, keyspace, top_n=TOP_N, now=t0 + timedelta(minutes=4))
    assert third.mode == "incremental" and third.segments == len(changed)
    assert third.buckets == len({segment[:13] for segment in changed})
    assert third.reranked_from_totals > 0  # a ranked track lost plays: its periods re-ranked from totals
    assert_matches(session, keyspace)

    # a mark of a bare hour bucket (as written before segments) re-folds all twelve segments of it
    DirtyMarks(session, keyspace).mark({HOURS[1].strftime("%Y-%m-%dT%H")}, t0 + timedelta(minutes=4, seconds=30))
    hour = run_periods(spark_session, session, keyspace, top_n=TOP_N, now=t0 + timedelta(minutes=6))
    assert hour.mode == "incremental" and hour.segments == 12 and hour.buckets == 1 and hour.plays_read == 30
    assert_matches(session, keyspace)

    # nothing marked: nothing read (and no Spark job)
    idle = run_periods(spark_session, session, keyspace, top_n=TOP_N, now=t0 + timedelta(minutes=8))
    assert idle.mode == "incremental" and idle.buckets == 0 and idle.plays_read == 0

    # a run that died half-way leaves 'running' and maybe half its writes: the next run recomputes
    # everything from the plays (the --full path), and every table is identical to the incremental one
    before = state(session, keyspace)
    session.execute(f"UPDATE {keyspace}.agg_checkpoints SET status = 'running' WHERE engine = 'periods'")
    session.execute(
        f"UPDATE {keyspace}.agg_period_totals SET people_plays = 999 WHERE period = 'all' AND entity = 'track'"
        f" AND id = '{top_track}'"
    )
    full = run_periods(spark_session, session, keyspace, top_n=TOP_N)
    assert full.mode == "full" and full.buckets == len(HOURS) + 1
    assert state(session, keyspace) == before
    assert_gateway_serves(gateway_server.base_url, assert_matches(session, keyspace))


@pytest.mark.timeout(1200)
def test_empty_keyspace_folds_to_empty_tables(spark_session: Any, cassandra_session: Any, clean_db: Settings) -> None:
    session, keyspace = cassandra_session, clean_db.cassandra_keyspace
    report = run_periods(spark_session, session, keyspace, top_n=TOP_N, now=datetime.now(UTC) - timedelta(days=1))
    assert report.mode == "full" and report.plays_read == 0
    assert actual(session, keyspace) == {"totals": [], "tops": [], "activity": []}
    row = session.execute(f"SELECT status FROM {keyspace}.agg_checkpoints WHERE engine = 'periods'").one()
    assert row.status == "done"
