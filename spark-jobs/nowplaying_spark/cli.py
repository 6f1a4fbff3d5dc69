"""`nowplaying aggregate` and `nowplaying backfill`."""

from __future__ import annotations

import argparse
from typing import Any

from nowplaying.common.cliutil import not_implemented


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("aggregate", help="compute daily charts and statistics (Spark)")
    parser.set_defaults(handler=lambda args: not_implemented("aggregate"))
    parser = sub.add_parser("backfill", help="re-clean the raw lake over a date range (Spark)")
    parser.set_defaults(handler=lambda args: not_implemented("backfill"))
