"""`nowplaying load`."""

from __future__ import annotations

import argparse
from typing import Any

from nowplaying.common.cliutil import not_implemented


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("load", help="load enriched CSV batches into Cassandra")
    parser.set_defaults(handler=lambda args: not_implemented("load"))
