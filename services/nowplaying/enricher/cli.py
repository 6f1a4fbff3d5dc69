"""`nowplaying enrich [--loop SECONDS]`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nowplaying.common.cliutil import add_loop_argument


def _run(args: argparse.Namespace) -> int:
    from nowplaying.common.cassandra import CassandraUnavailable, connect, shutdown
    from nowplaying.common.config import get_settings
    from nowplaying.common.stage import run_loop
    from nowplaying.enricher.policy import ConfigurationError
    from nowplaying.enricher.service import STAGE, run_once

    settings = get_settings()
    try:
        session = connect(settings, settings.cassandra_keyspace)
    except CassandraUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    def once() -> None:
        summary = run_once(settings, session, max_batches=args.max_batches)
        print(
            f"enrich: {summary.status}: {summary.batches_done} batches done, {summary.batches_pending} pending, "
            f"{summary.posts} song posts, {summary.spotify_requests:.0f} Spotify requests "
            f"({summary.requests_per_post:.3f} per post)" + (f"; stopped: {summary.stopped}" if summary.stopped else "")
        )

    try:
        return run_loop(once, args.loop, STAGE)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        shutdown(session)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "enrich", help="match parsed posts to Spotify tracks and audio features"
    )
    add_loop_argument(parser)
    parser.add_argument(
        "--max-batches", type=int, default=None, metavar="N", help="process at most N pending batches per run"
    )
    parser.set_defaults(handler=_run)
