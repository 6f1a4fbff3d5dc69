"""The pure parts of the Spark jobs: day ranges, buckets, scores, batch ids, Spark settings, the CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
from nowplaying.common.config import Settings
from nowplaying_spark.aggregate import (
    AggregateParams,
    day_buckets,
    default_days,
    parse_days,
    trailing_window,
    trending_score,
)
from nowplaying_spark.backfill import BackfillError, output_batch_id, reclean
from nowplaying_spark.session import SparkSetupError, cassandra_conf, connector_jars, local_conf


def test_day_buckets_are_the_24_hour_partitions_of_the_day() -> None:
    buckets = day_buckets(date(2026, 3, 1))
    assert len(buckets) == 24
    assert buckets[0] == "2026-03-01T00" and buckets[-1] == "2026-03-01T23"


def test_default_days_are_yesterday_and_today_utc() -> None:
    assert default_days(datetime(2026, 3, 1, 0, 30, tzinfo=UTC)) == [date(2026, 2, 28), date(2026, 3, 1)]


def test_parse_days_accepts_days_ranges_and_lists() -> None:
    assert parse_days("2026-02-27..2026-03-01,2026-03-01,2026-01-01") == [
        date(2026, 1, 1),
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
    ]
    with pytest.raises(ValueError, match="'2026-13-01' is not a day"):
        parse_days("2026-13-01")
    with pytest.raises(ValueError, match="ends"):
        parse_days("2026-03-02..2026-03-01")


def test_trailing_window_covers_the_week_before_each_day_not_in_the_range() -> None:
    days = [date(2026, 3, 9), date(2026, 3, 10)]
    assert trailing_window(days) == [date(2026, 3, d) for d in range(2, 9)]


def test_trending_score_prefers_tracks_rising_against_their_week() -> None:
    assert trending_score(10, 0.0) == 11.0
    assert trending_score(10, 10.0) == 1.0
    assert trending_score(50, 40.0) < trending_score(10, 1.0)


def test_params_refuse_negative_limits() -> None:
    with pytest.raises(ValueError, match="top_n"):
        AggregateParams(top_n=-1)


def test_backfill_batch_ids_sort_after_the_original() -> None:
    raw = "20260301T101010000000Z-x-abc123"
    first, later = output_batch_id(raw, "20260302T000000Z"), output_batch_id(raw, "20260303T000000Z")
    assert sorted([f"{later}.jsonl.gz", f"{raw}.jsonl.gz", f"{first}.jsonl.gz"]) == [
        f"{raw}.jsonl.gz",
        f"{first}.jsonl.gz",
        f"{later}.jsonl.gz",
    ]
    with pytest.raises(BackfillError):
        output_batch_id(raw, "a/b")


def test_reclean_keeps_good_lines_and_names_what_is_wrong_with_the_rest() -> None:
    post = {
        "source": "mastodon",
        "post_id": "1",
        "created_at": "2026-03-01T10:00:00Z",
        "author_id": "a",
        "author_name": None,
        "lang": "en",
        "text": "#NowPlaying Daft Punk - One More Time",
        "urls": [],
        "is_repost": False,
        "raw": {},
    }
    records, rejects = reclean([(1, orjson.dumps(post)), (2, b"{oops"), (3, orjson.dumps({**post, "text": 5}))])
    assert [r["post_id"] for r in records] == ["1"]
    assert records[0]["kind"] in ("parsed", "query")
    assert [r["line"] for r in rejects] == [2, 3]
    assert "JSON" in rejects[0]["reason"] and "text" in rejects[1]["reason"]


def test_connector_jars_missing_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SparkSetupError, match="make setup"):
        connector_jars(tmp_path / "nothing")


def test_a_local_run_never_waits_for_locality(tmp_path: Path) -> None:
    # one in-process executor: a locality wait can leave a task unlaunched forever (session.py)
    (tmp_path / "spark-cassandra-connector_2.12-3.5.1.jar").write_bytes(b"")
    conf = local_conf(Settings(spark_jars_dir=tmp_path), "local[2]")
    assert conf["spark.locality.wait"] == "0s" and conf["spark.master"] == "local[2]"


def test_cassandra_conf_follows_the_settings() -> None:
    single = cassandra_conf(Settings(cassandra_hosts="10.0.0.5:9142"))
    assert single["spark.cassandra.connection.host"] == "10.0.0.5"
    assert single["spark.cassandra.connection.port"] == "9142"
    assert single["spark.cassandra.output.consistency.level"] == "LOCAL_ONE"
    assert "spark.cassandra.auth.username" not in single
    cluster = cassandra_conf(
        Settings(
            cassandra_hosts="c1,c2,c3",
            cassandra_replication='{"class": "NetworkTopologyStrategy", "datacenter1": 3}',
            cassandra_username="np",
            cassandra_password="pw",  # type: ignore[arg-type]
        )
    )
    assert cluster["spark.cassandra.connection.host"] == "c1,c2,c3"
    assert cluster["spark.cassandra.output.consistency.level"] == "LOCAL_QUORUM"
    assert cluster["spark.cassandra.auth.username"] == "np"
    assert cluster["spark.cassandra.output.ignoreNulls"] == "true"
    forced = cassandra_conf(Settings(cassandra_consistency="quorum"))
    assert forced["spark.cassandra.input.consistency.level"] == "QUORUM"


def test_cli_refuses_a_bad_day_before_starting_spark(capsys: pytest.CaptureFixture[str]) -> None:
    from nowplaying.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["aggregate", "--days", "yesterday"])
    assert exc.value.code == 2
    assert "'yesterday' is not a day" in capsys.readouterr().err
