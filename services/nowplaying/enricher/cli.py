"""`nowplaying enrich`."""

from __future__ import annotations

import argparse
from typing import Any

from nowplaying.common.cliutil import not_implemented


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "enrich", help="match parsed posts to Spotify tracks and audio features"
    )
    parser.set_defaults(handler=lambda args: not_implemented("enrich"))
