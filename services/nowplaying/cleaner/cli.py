"""`nowplaying clean`: pending raw/ batches into clean/ batches, or `--in POSTS.jsonl --out PARSED.jsonl`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nowplaying.common.cliutil import add_loop_argument


def _handle(args: argparse.Namespace) -> int:
    if args.in_path is not None or args.out_path is not None:
        return _handle_file(args)
    from nowplaying.cleaner.stage import run_once
    from nowplaying.common.cassandra import CassandraUnavailable
    from nowplaying.common.config import get_settings
    from nowplaying.common.lake import LakeError
    from nowplaying.common.stage import run_loop

    settings = get_settings()
    try:
        return run_loop(lambda: run_once(settings), args.loop, "clean")
    except (CassandraUnavailable, LakeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _handle_file(args: argparse.Namespace) -> int:
    from nowplaying.cleaner.stage import InputError, clean_file

    if args.in_path is None or args.out_path is None:
        print("error: --in and --out go together", file=sys.stderr)
        return 2
    if args.loop:
        print("error: --loop does not apply to --in/--out", file=sys.stderr)
        return 2
    try:
        summary = clean_file(args.in_path, args.out_path)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    kinds = ", ".join(f"{k}={v}" for k, v in sorted(summary.kinds.items()))
    completed = f", {summary.completed} without full Post metadata" if summary.completed else ""
    print(
        f"cleaned {summary.written} of {summary.lines} lines ({summary.rejected} refused{completed})"
        + (f": {kinds}" if kinds else ""),
        file=sys.stderr,
    )
    return 0


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "clean",
        help="parse raw posts into artist/title candidates",
        description="Clean pending raw/ batches into clean/ batches (default), or one JSONL file of "
        "Post records into one JSONL file of ParsedPost records (--in/--out, no Cassandra needed).",
    )
    parser.add_argument("--in", dest="in_path", metavar="POSTS.jsonl", help="input file of Posts ('-' = stdin)")
    parser.add_argument("--out", dest="out_path", metavar="PARSED.jsonl", help="output file ('-' = stdout)")
    add_loop_argument(parser)
    parser.set_defaults(handler=_handle)
