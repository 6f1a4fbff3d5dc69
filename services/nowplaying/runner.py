"""`nowplaying run`: the whole system on one machine (built by the `make run` issue)."""

from __future__ import annotations

import argparse
from typing import Any

from nowplaying.common.cliutil import not_implemented


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("run", help="run everything locally (make run)")
    parser.set_defaults(handler=lambda args: not_implemented("run"))
