"""`nowplaying aggregate` and `nowplaying backfill`, and the same commands under spark-submit.

Locally the commands run Spark in-process on ``SPARK_MASTER`` (default ``local[*]``). On Kubernetes
the image runs ``spark-submit ... local:///app/spark-jobs/main.py aggregate --days ...``; main.py
calls ``submit_main``, which is the same code with the master left to spark-submit. Cassandra and
the lake come from the environment (Settings) in both cases.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from typing import Any

from nowplaying.common.cliutil import add_loop_argument
from nowplaying.common.config import Settings, get_settings
from nowplaying.common.logging import configure_logging, get_logger

log = get_logger(__name__)

LOCAL = "local"  # marker: take the master from SPARK_MASTER (or --master)


def _days_arg(value: str) -> list[date]:
    from nowplaying_spark.aggregate import parse_days

    try:
        return parse_days(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _day_arg(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{value}' is not a day (YYYY-MM-DD)") from exc


def _add_arguments(sub: Any, *, local: bool) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("aggregate", help="compute daily charts and statistics (Spark)")
    parser.add_argument(
        "--days",
        type=_days_arg,
        default=None,
        metavar="SPEC",
        help="YYYY-MM-DD, YYYY-MM-DD..YYYY-MM-DD or a comma-separated list (default: yesterday and today, UTC)",
    )
    parser.add_argument("--top", type=int, default=100, help="rows per chart (day, audience)")
    parser.add_argument("--feature-artists", type=int, default=20, help="top artists with their own feature stats")
    parser.add_argument("--trending", type=int, default=50, help="trending rows per day")
    parser.add_argument("--trending-min-plays", type=int, default=3, help="plays a track needs to trend")
    parser.add_argument(
        "--full",
        action="store_true",
        help="recompute the period aggregates from every play (default: fold the segments loaded since the last run)",
    )
    parser.add_argument(
        "--only",
        choices=("daily", "periods"),
        default=None,
        help="run only the daily tables (--days) or only the period aggregates (default: both)",
    )
    if local:
        parser.add_argument("--master", default=None, help="Spark master (default: SPARK_MASTER)")
        add_loop_argument(parser)
    parser.set_defaults(handler=lambda args: aggregate_command(args, local=local))

    parser = sub.add_parser("backfill", help="re-clean the raw lake over a date range (Spark)")
    parser.add_argument("--since", type=_day_arg, required=True, help="first raw day folder (YYYY-MM-DD)")
    parser.add_argument("--until", type=_day_arg, default=None, help="last raw day folder (default: --since)")
    parser.add_argument(
        "--run-id", default=None, help="letters and digits; repeat one to resume it (default: the UTC time)"
    )
    if local:
        parser.add_argument("--master", default=None, help="Spark master (default: SPARK_MASTER)")
    parser.set_defaults(handler=lambda args: backfill_command(args, local=local))


def register(sub: Any) -> None:
    _add_arguments(sub, local=True)


def _master(args: argparse.Namespace, settings: Settings, local: bool) -> str | None:
    if not local:
        return None
    return str(getattr(args, "master", None) or settings.spark_master)


def aggregate_command(args: argparse.Namespace, *, local: bool) -> int:
    from nowplaying.common.cassandra import CassandraUnavailable, connect, shutdown
    from nowplaying.common.stage import run_loop, stage_run

    from nowplaying_spark.aggregate import AggregateParams, default_days, run_aggregate
    from nowplaying_spark.periods import run_periods
    from nowplaying_spark.session import SparkSetupError, build_session

    settings = get_settings()
    try:
        params = AggregateParams(
            top_n=args.top,
            feature_artists=args.feature_artists,
            trending_n=args.trending,
            trending_min_plays=args.trending_min_plays,
        )
        session = connect(settings, settings.cassandra_keyspace)
        spark = build_session(settings, app_name="nowplaying-aggregate", master=_master(args, settings, local))
    except (ValueError, CassandraUnavailable, SparkSetupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    only = getattr(args, "only", None)

    def once() -> None:
        days = args.days or default_days()
        with stage_run("aggregate", session, settings) as run:
            if only != "periods":
                report = run_aggregate(spark, session, settings.cassandra_keyspace, days, params)
                run.add_in(report.plays_read)
                run.add_out(sum(report.rows_written.values()))
                run.detail.update(days=[d.isoformat() for d in days], rows=report.rows_written)
                print(
                    f"aggregated {', '.join(d.isoformat() for d in days)}: {report.plays_read} plays, "
                    + ", ".join(f"{table} {n}" for table, n in report.rows_written.items())
                    + f" ({report.seconds:.1f} s)"
                )
            if only != "daily":
                folded = run_periods(spark, session, settings.cassandra_keyspace, top_n=args.top, full=args.full)
                if only == "periods":  # otherwise the daily run counted the plays in
                    run.add_in(folded.plays_read)
                run.add_out(sum(folded.rows_written.values()))
                run.detail.update(
                    periods={
                        "mode": folded.mode,
                        "buckets": folded.buckets,
                        "segments": folded.segments,
                        "rows": folded.rows_written,
                    }
                )
                print(
                    f"periods ({folded.mode}): {folded.segments} segments of {folded.buckets} buckets,"
                    f" {folded.plays_read} plays, "
                    + ", ".join(f"{table} {n}" for table, n in folded.rows_written.items())
                    + f" ({folded.seconds:.1f} s)"
                )

    try:
        return run_loop(once, getattr(args, "loop", None), "aggregate")
    except Exception as exc:
        log.error("aggregate_failed", error=f"{type(exc).__name__}: {exc}")
        print(f"error: aggregate failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        shutdown(session)


def backfill_command(args: argparse.Namespace, *, local: bool) -> int:
    from nowplaying.common.cassandra import CassandraUnavailable, connect, shutdown
    from nowplaying.common.stage import stage_run

    from nowplaying_spark.backfill import BackfillError, run_backfill
    from nowplaying_spark.session import SparkSetupError, build_session

    settings = get_settings()
    until = args.until or args.since
    try:
        session = connect(settings, settings.cassandra_keyspace)
    except CassandraUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        spark = build_session(settings, app_name="nowplaying-backfill", master=_master(args, settings, local))
        with stage_run("backfill", session, settings) as run:
            report = run_backfill(spark, settings, args.since, until, args.run_id)
            run.add_in(report.items_in)
            run.add_out(report.items_out)
            if report.rejected:
                run.add_error("record", report.rejected)
            if report.count("failed"):
                run.add_error("batch", report.count("failed"))
                run.partial = True
            run.detail.update(
                run_id=report.run_id,
                written=report.count("written"),
                skipped=report.count("skipped"),
                failed=[b.raw_batch_id for b in report.batches if b.status == "failed"],
            )
    except (BackfillError, SparkSetupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        shutdown(session)
    print(
        f"backfill {report.run_id}: {report.count('written')} batches written, {report.count('skipped')} skipped, "
        f"{report.count('failed')} failed; {report.items_in} records in, {report.items_out} out, "
        f"{report.rejected} rejected ({report.seconds:.1f} s)"
    )
    return 1 if report.count("failed") else 0


def submit_main(argv: Sequence[str] | None = None) -> int:
    """Entry point under spark-submit (spark-jobs/main.py): the master comes from spark-submit."""
    parser = argparse.ArgumentParser(prog="main.py", description="nowplaying Spark jobs (spark-submit entry)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_arguments(sub, local=False)
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    code: int = args.handler(args)
    return code
