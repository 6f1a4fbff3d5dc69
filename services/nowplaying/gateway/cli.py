"""`nowplaying serve`."""

from __future__ import annotations

import argparse
from typing import Any

from nowplaying.common.cliutil import not_implemented


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("serve", help="serve the HTTP API (and the built frontend)")
    parser.set_defaults(handler=lambda args: not_implemented("serve"))
