"""Small helpers for the service CLIs."""

from __future__ import annotations

import argparse
import sys


def add_loop_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--loop",
        type=float,
        metavar="SECONDS",
        default=None,
        help="run again every SECONDS until interrupted (default: run once and exit)",
    )


def not_implemented(name: str) -> int:
    print(f"nowplaying {name}: not implemented yet", file=sys.stderr)
    return 2
