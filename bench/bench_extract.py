"""`make bench BENCH=extract`: posts per second and peak memory of `nowplaying extract` over 100k
sandbox posts (X, Mastodon and Bluesky together), beside the original project's extraction (a
synchronous loop over X search, re-implemented in bench/seed_extract.py) on the same sandbox."""

from __future__ import annotations

import gzip
import os
import sys
import tempfile
from pathlib import Path

from bench.common import Result, progress
from bench.support import NOWPLAYING, PROJECT, bench_keyspace, run_measured, sandbox_process

POSTS = int(os.environ.get("BENCH_EXTRACT_POSTS", "100000"))


def _count_raw(lake: Path) -> int:
    total = 0
    for path in (lake / "raw").rglob("*.jsonl.gz"):
        with gzip.open(path, "rb") as handle:
            total += sum(1 for _ in handle)
    return total


def run() -> list[Result]:
    import requests

    progress(f"starting the sandbox with {POSTS:,} posts")
    with sandbox_process(SANDBOX_INITIAL_POSTS=str(POSTS), SANDBOX_POSTS_PER_MINUTE="0") as base:
        x_posts = int(requests.get(f"{base}/_admin/stats", timeout=120).json()["corpus"]["published"]["x"])
        # a throughput measurement: lift the sources' rate limits (X allows 450 requests per 15 min)
        unlimited = {"limit": 10_000_000, "window_s": 1}
        limits = {"x": unlimited, "mastodon": unlimited, "bluesky": unlimited}
        requests.post(f"{base}/_admin/config", json={"limits": limits}, timeout=60).raise_for_status()
        progress("baseline: the seed's synchronous X loop")
        seed_script = str(PROJECT / "bench" / "seed_extract.py")
        seed_s, seed_mb, code = run_measured(
            [sys.executable, seed_script, f"{base}/x", "sandbox-bearer"], {**os.environ}
        )
        if code != 0:
            raise RuntimeError("the baseline extraction failed")
        with bench_keyspace("extract") as settings, tempfile.TemporaryDirectory() as tmp:
            env = {
                **os.environ,
                "CASSANDRA_KEYSPACE": settings.cassandra_keyspace,
                "LAKE_DIR": tmp,
                "SOURCES": "x,mastodon,bluesky",
                "X_API_BASE": f"{base}/x",
                "X_BEARER_TOKEN": "sandbox-bearer",
                "MASTODON_BASE": f"{base}/mastodon",
                "BLUESKY_BASE": f"{base}/bluesky",
                "BLUESKY_HANDLE": "sandbox.bsky.social",
                "BLUESKY_APP_PASSWORD": "sandbox-app-password",
                "INITIAL_LOOKBACK_HOURS": str(6.9 * 24),
                "MAX_PAGES_PER_RUN": "100000",
                "X_MAX_POSTS_PER_RUN": "100000000",
                "X_MAX_POSTS_PER_DAY": "100000000",
                "LOG_LEVEL": "WARNING",
            }
            env.pop("PUSHGATEWAY_URL", None)
            progress("nowplaying extract (three sources, to the raw lake)")
            ours_s, ours_mb, code = run_measured([NOWPLAYING, "extract"], env)
            if code != 0:
                raise RuntimeError("nowplaying extract failed")
            posts = _count_raw(Path(tmp))
    params = {"posts_in_sandbox": POSTS, "posts_written": posts, "baseline_x_posts_read": x_posts}
    return [
        Result("extract", "posts per second", posts / ours_s, "posts/s", "seed X loop (requests)",
               x_posts / seed_s, "", params),
        Result("extract", "peak memory", ours_mb, "MiB", "seed X loop (requests)", seed_mb, "bounded", params),
    ]  # fmt: skip
