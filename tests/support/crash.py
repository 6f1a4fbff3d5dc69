"""Run a `nowplaying` command with a fault at an exact point of its code: for kill tests.

    python -m tests.support.crash --kill-at nowplaying.common.lake.s3:S3Lake._commit --nth 2 -- clean
    python -m tests.support.crash --delay nowplaying.common.lake.s3:S3Lake._commit 2.0 -- enrich

``--kill-at TARGET --nth N``: the process sends itself SIGKILL when TARGET is called the Nth time,
before the call runs (so, at ``_commit``, after the batch's bytes are written and before they are
committed). ``--delay TARGET SECONDS``: every call of TARGET waits first (a slow step, so that a test
can act while the command is in the middle of its run). Nothing else of the command is changed.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any


def _resolve(target: str) -> tuple[Any, str, Callable[..., Any]]:
    module_name, _, qualname = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, name, getattr(owner, name)


def kill_at(target: str, nth: int) -> None:
    owner, name, original = _resolve(target)
    calls = 0

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == nth:
            print(f"crash: SIGKILL at call {nth} of {target}", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def delay(target: str, seconds: float) -> None:
    owner, name, original = _resolve(target)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def main(argv: list[str]) -> int:
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="tests.support.crash")
    parser.add_argument("--kill-at")
    parser.add_argument("--nth", type=int, default=1)
    parser.add_argument("--delay", nargs=2, action="append", default=[], metavar=("TARGET", "SECONDS"))
    args = parser.parse_args(argv[:split])
    if args.kill_at:
        kill_at(args.kill_at, args.nth)
    for target, seconds in args.delay:
        delay(target, float(seconds))
    from nowplaying.cli import main as nowplaying

    return nowplaying(argv[split + 1 :])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
