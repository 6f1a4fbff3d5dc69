"""`nowplaying sandbox`: the offline stand-ins for X, Spotify, ReccoBeats, Mastodon and Bluesky.

nowplaying sandbox                      # serve on SANDBOX_HOST:SANDBOX_PORT, print the base URLs
nowplaying sandbox --dump 1000 --out posts.jsonl   # write corpus posts (lake Post + truth) and exit
"""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("sandbox", help="run the offline stand-ins for the external APIs")
    parser.add_argument("--host", default=None, help="bind address (default SANDBOX_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port (default SANDBOX_PORT)")
    parser.add_argument("--seed", type=int, default=None, help="corpus seed (default SANDBOX_SEED)")
    parser.add_argument("--dev-mode", choices=("on", "off"), default=None, help="Spotify Development Mode")
    parser.add_argument("--faults", default=None, help="fault spec, e.g. 'spotify:429:0.1,x:503:n2'")
    parser.add_argument("--posts-per-minute", type=float, default=None, help="live posts per minute")
    parser.add_argument("--initial-posts", type=int, default=None, help="posts present at start")
    parser.add_argument(
        "--catalog", default=None, help="JSON Lines file of Spotify track objects to add (default SANDBOX_CATALOG)"
    )
    parser.add_argument("--dump", type=int, metavar="N", default=None, help="write N corpus posts as JSONL and exit")
    parser.add_argument("--out", default="-", help="file for --dump (default: stdout)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import sys
    from pathlib import Path

    from nowplaying.common.config import get_settings
    from nowplaying.sandbox.faults import FaultSpecError, parse_fault_spec

    settings = get_settings()
    seed = settings.sandbox_seed if args.seed is None else args.seed
    if args.dump is not None:
        return _dump(seed, args.dump, args.out)
    from nowplaying.sandbox.server import config_from_settings, serve

    overrides: dict[str, Any] = {"seed": seed}
    if args.dev_mode is not None:
        overrides["dev_mode"] = args.dev_mode == "on"
    if args.faults is not None:
        overrides["faults"] = args.faults
    if args.posts_per_minute is not None:
        overrides["posts_per_minute"] = args.posts_per_minute
    if args.initial_posts is not None:
        overrides["initial_posts"] = args.initial_posts
    if args.catalog is not None:
        overrides["catalog_file"] = args.catalog
    config = config_from_settings(settings, **overrides)
    if config.catalog_file and not Path(config.catalog_file).expanduser().is_file():
        print(f"error: SANDBOX_CATALOG: {config.catalog_file} is not a readable file", file=sys.stderr)
        return 2
    try:
        parse_fault_spec(config.faults)
    except FaultSpecError as exc:
        print(f"error: SANDBOX_FAULTS: {exc}", file=sys.stderr)
        return 2
    host = args.host or settings.sandbox_host
    port = settings.sandbox_port if args.port is None else args.port
    try:
        asyncio.run(serve(config, host, port, announce=lambda line: print(line, flush=True)))
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    return 0


def _dump(seed: int, n: int, out: str) -> int:
    import sys

    import orjson

    from nowplaying.sandbox.corpus import generate_posts

    stream = sys.stdout.buffer if out == "-" else open(out, "wb")  # noqa: SIM115
    try:
        for post in generate_posts(seed, n):
            record = post.as_post()
            record["truth"] = post.truth.to_dict()
            stream.write(orjson.dumps(record) + b"\n")
    finally:
        if stream is not sys.stdout.buffer:
            stream.close()
    return 0
