"""`nowplaying extract`."""

from __future__ import annotations

import argparse
from typing import Any

from nowplaying.common.cliutil import not_implemented


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("extract", help="fetch new #NowPlaying posts into the raw lake")
    parser.set_defaults(handler=lambda args: not_implemented("extract"))
