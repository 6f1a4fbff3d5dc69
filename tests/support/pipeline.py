"""Run the real pipeline stages as the `nowplaying` command runs them, for end-to-end tests.

Each stage is a child process (`python -m nowplaying.cli <stage>`) with its settings in the
environment, exactly as a CronJob or `make run` starts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from nowplaying.common.config import Settings
from nowplaying.runner import SANDBOX_CREDENTIALS


def pipeline_env(settings: Settings, sandbox_urls: dict[str, str], lake_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a stage: the test keyspace, the lake, the sandbox's URLs and credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "SPOTIFY_", "BLUESKY_", "MASTODON_"))}
    env.update(
        {
            "CASSANDRA_HOSTS": settings.cassandra_hosts,
            "CASSANDRA_PORT": str(settings.cassandra_port),
            "CASSANDRA_KEYSPACE": settings.cassandra_keyspace,
            "LAKE_DIR": str(lake_dir),
            "SOURCES": "x,mastodon,bluesky",
            "INITIAL_LOOKBACK_HOURS": str(6.9 * 24),
            "LOG_FORMAT": "json",
            **{k: v for k, v in sandbox_urls.items() if k != "SANDBOX_ADMIN"},
            **SANDBOX_CREDENTIALS,
        }
    )
    env.update(extra)
    return env


def run_stage(stage: str, env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "nowplaying.cli", stage, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(f"nowplaying {stage} exited {result.returncode}:\n{result.stderr[-4000:]}")
    return result


def run_pipeline(env: dict[str, str], aggregate: bool = True, days: str | None = None) -> dict[str, Any]:
    """extract → clean → enrich → load (→ aggregate): one pass of every stage."""
    outputs: dict[str, Any] = {}
    for stage in ("extract", "clean", "enrich", "load"):
        outputs[stage] = run_stage(stage, env)
    if aggregate:
        outputs["aggregate"] = run_stage("aggregate", env, *(["--days", days] if days else []))
    return outputs


def clean_kinds(lake: Any) -> dict[str, str]:
    """post_id -> kind, as the cleaner judged every post it wrote to the lake's clean/ area."""
    kinds: dict[str, str] = {}
    for batch in lake.list_batches("clean"):
        for _, line in lake.read_jsonl_lines(batch):
            record = json.loads(line)
            kinds[record["post_id"]] = record["kind"]
    return kinds
