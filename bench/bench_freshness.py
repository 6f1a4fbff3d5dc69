"""`make bench BENCH=freshness`: seconds from a post appearing in the sandbox to its play being
served by the gateway, with the whole system running as `make run` runs it (`nowplaying run`) at the
default loop interval.

The baseline is the original project's schedule: an Airflow DAG every 30 minutes (research/seed.md
§2.6), so a post waits on average half an interval before the DAG even starts. That is modelled,
not measured: the original stack (Airflow, Docker) cannot run here.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import tempfile
import time
from typing import Any

from bench.common import Result, progress
from bench.support import NOWPLAYING, bench_keyspace
from tests.support.net import free_port, http_json

PROBES = int(os.environ.get("BENCH_FRESHNESS_PROBES", "6"))
SEED_SCHEDULE_S = 30 * 60


def _wait(check: Any, timeout: float, what: str, proc: subprocess.Popen[bytes]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nowplaying run exited while waiting for {what}")
        try:
            result = check()
            if result:
                return result
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def run() -> list[Result]:
    from nowplaying.common.config import Settings

    loop_s = Settings().loop_seconds
    gateway, sandbox = free_port(), free_port()
    with bench_keyspace("freshness") as settings, tempfile.TemporaryDirectory() as lake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "SPOTIFY_", "BLUESKY_", "MASTODON_"))}
        env.update(
            {
                "CASSANDRA_KEYSPACE": settings.cassandra_keyspace,
                "LAKE_DIR": lake,
                "GATEWAY_PORT": str(gateway),
                "SANDBOX_PORT": str(sandbox),
                "SANDBOX_INITIAL_POSTS": "60",
                "SANDBOX_POSTS_PER_MINUTE": "0",
                "AGGREGATE_SECONDS": "600",
            }
        )
        env.pop("PUSHGATEWAY_URL", None)
        progress(f"starting `nowplaying run` (loop interval {loop_s:g} s)")
        log = open(os.path.join(lake, "run.log"), "wb")  # noqa: SIM115 (closed below)
        proc = subprocess.Popen([NOWPLAYING, "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{gateway}"
        admin = f"http://127.0.0.1:{sandbox}/_admin"
        seconds: list[float] = []
        try:
            _wait(lambda: http_json(f"{base}/healthz"), 600, "the gateway", proc)
            _wait(lambda: http_json(f"{base}/api/plays?limit=1")["items"], 300, "the first plays", proc)
            for probe in range(PROBES):
                source = ("x", "mastodon", "bluesky")[probe % 3]
                text = f"#NowPlaying Freshness Probe - Signal {probe} {time.time_ns()}"
                started = time.monotonic()
                published = http_json(f"{admin}/publish", {"count": 0, "posts": [{"source": source, "text": text}]})
                post_id = published["published"][0]["post_id"]

                def served(post_id: str = post_id) -> bool:
                    items = http_json(f"{base}/api/plays?limit=50")["items"]
                    return any(item["post_id"] == post_id for item in items)

                _wait(served, 600, f"probe {probe}", proc)
                seconds.append(time.monotonic() - started)
                progress(f"probe {probe} ({source}): {seconds[-1]:.1f} s")
                time.sleep(loop_s * 0.37)  # land the next probe at another point of the loops' cycle
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
    params = {"probes": len(seconds), "loop_seconds": loop_s, "all_seconds": [round(s, 1) for s in seconds]}
    baseline = "seed: Airflow every 30 min (modelled mean wait)"
    return [
        Result("freshness", "median post-to-play", statistics.median(seconds), "s", baseline,
               SEED_SCHEDULE_S / 2, "<= 4 loop intervals", params),
        Result("freshness", "worst post-to-play", max(seconds), "s", baseline, float(SEED_SCHEDULE_S),
               "<= 6 loop intervals", params),
    ]  # fmt: skip
