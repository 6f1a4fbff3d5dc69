"""`nowplaying load [--loop S]`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nowplaying.common.cliutil import add_loop_argument


def _cmd_load(args: argparse.Namespace) -> int:
    from nowplaying.common.config import get_settings
    from nowplaying.common.stage import run_loop
    from nowplaying.loader.stage import STAGE, LoadError, run_load, summary_line

    settings = get_settings()
    if args.workers is not None:
        settings = settings.model_copy(update={"load_workers": args.workers})

    def once() -> None:
        summary = run_load(settings)
        print(summary_line(summary), flush=True)

    try:
        return run_loop(once, args.loop, STAGE)
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "load", help="load pending enriched CSV batches into Cassandra, then move them to history/"
    )
    add_loop_argument(parser)
    parser.add_argument(
        "--workers", type=int, default=None, metavar="N", help="processes per large file (default: LOAD_WORKERS)"
    )
    parser.set_defaults(handler=_cmd_load)
