"""`nowplaying extract [--loop SECONDS]`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nowplaying.common.cliutil import add_loop_argument


def _handle(args: argparse.Namespace) -> int:
    from nowplaying.common.cassandra import CassandraUnavailable, connect, shutdown
    from nowplaying.common.config import get_settings
    from nowplaying.common.lake import LakeError
    from nowplaying.common.stage import run_loop
    from nowplaying.extractor.http import SourceError
    from nowplaying.extractor.stage import run_extract

    settings = get_settings()
    if args.sources:
        settings = settings.model_copy(update={"sources": args.sources})
    try:
        session = connect(settings, keyspace=None)
    except CassandraUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        return run_loop(lambda: run_extract(settings, session), args.loop, "extract")
    except (SourceError, LakeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        shutdown(session)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("extract", help="fetch new #NowPlaying posts into the raw lake")
    add_loop_argument(parser)
    parser.add_argument("--sources", help="override SOURCES for this run (comma-separated)")
    parser.set_defaults(handler=_handle)
