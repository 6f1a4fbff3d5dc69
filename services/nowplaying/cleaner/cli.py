"""`nowplaying clean`."""

from __future__ import annotations

import argparse
from typing import Any

from nowplaying.common.cliutil import not_implemented


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("clean", help="parse raw posts into artist/title candidates")
    parser.set_defaults(handler=lambda args: not_implemented("clean"))
