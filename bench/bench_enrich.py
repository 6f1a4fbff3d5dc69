"""Enricher: Spotify requests per song post at steady state, beside the original project's approach.

Both run against the same sandbox (Spotify in Development Mode) in the same run:

* ours: ``nowplaying.enricher`` over ``BENCH_ENRICH_POSTS`` (default 100,000) generated posts with the
  corpus' realistic repetition (Zipf song popularity, radio playlists), cleaned by the cleaner's pure
  function ``nowplaying.cleaner.core.clean_post`` and written as clean batches of 1,000 posts. The
  first half of the batches warms the caches (one run), the second half is the steady state (a
  second run); requests per post = Spotify requests (token, search, track, audio-features) / song posts.
* baseline (re-implemented from seed.md §2.3): for every post, the seed-cleaned text sent as one
  free-text search with ``limit=1`` and one audio-features call for the top hit. Its cost per post
  does not depend on the stream, so it runs on the first ``BENCH_ENRICH_BASELINE_POSTS`` (default
  10,000) song posts of the same stream.

Needs the real Cassandra (``CASSANDRA_HOSTS``, default 127.0.0.1) and starts the sandbox on a free
port unless ``SANDBOX_URL`` points at one (its Spotify/ReccoBeats rate windows are lifted: this
measures request counts). Works in a keyspace of its own, dropped at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from bench.common import Result, progress, timed
from bench.seed_cleaning import entity_spans, seed_clean
from tests.support.net import free_port

BATCH_SIZE = 1000
PROJECT = Path(__file__).resolve().parent.parent
CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-secret"


@contextmanager
def sandbox() -> Iterator[str]:
    """The sandbox's base URL: SANDBOX_URL, or a `nowplaying sandbox` started for the benchmark."""
    if os.environ.get("SANDBOX_URL"):
        yield os.environ["SANDBOX_URL"].rstrip("/")
        return
    port = free_port()
    env = dict(
        os.environ, SANDBOX_PORT=str(port), SANDBOX_HOST="127.0.0.1", SANDBOX_DEV_MODE="true", LOG_LEVEL="WARNING"
    )
    proc = subprocess.Popen(
        [str(PROJECT / ".venv" / "bin" / "nowplaying"), "sandbox"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(base + "/_admin/faults", timeout=1)
                break
            except requests.RequestException:
                if proc.poll() is not None:
                    raise RuntimeError("the sandbox exited before it answered") from None
                time.sleep(0.3)
        else:
            raise RuntimeError("the sandbox did not answer within 60 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _settings(base: str, keyspace: str, lake: Path) -> Any:
    from nowplaying.common.config import Settings

    return Settings(
        cassandra_keyspace=keyspace,
        lake_dir=lake,
        spotify_accounts_base=f"{base}/spotify/accounts",
        spotify_api_base=f"{base}/spotify/api/v1",
        spotify_client_id=CLIENT_ID,
        spotify_client_secret=CLIENT_SECRET,
        reccobeats_base=f"{base}/reccobeats",
        pushgateway_url=None,
        log_level="WARNING",
    )


def _write_clean_batches(lake_dir: Path, n_posts: int) -> tuple[int, list[Any]]:
    """Generate, clean and write the stream; returns (song posts, the posts for the baseline)."""
    from nowplaying.cleaner.core import clean_post
    from nowplaying.common.lake import FolderLake, new_batch_id
    from nowplaying.common.models import Post
    from nowplaying.sandbox.corpus import generate_posts

    lake = FolderLake(lake_dir)
    songs = 0
    batch: list[dict[str, Any]] = []
    sample: list[Any] = []
    count = 0
    for generated in generate_posts(seed=42, n=n_posts):
        parsed = clean_post(Post.from_dict(generated.as_post()))
        batch.append(parsed.to_dict())
        if parsed.is_play:
            songs += 1
            sample.append(parsed.text)
        if len(batch) == BATCH_SIZE:
            lake.write_jsonl("clean", new_batch_id(f"bench{count:04d}"), batch)
            count += 1
            batch = []
    if batch:
        lake.write_jsonl("clean", new_batch_id(f"bench{count:04d}"), batch)
    return songs, sample


class SeedBaseline:
    """The original project's matcher: whole cleaned text -> search limit 1 -> audio-features."""

    def __init__(self, base: str) -> None:
        self.api = f"{base}/spotify/api/v1"
        self.token_url = f"{base}/spotify/accounts/api/token"
        self.session = requests.Session()
        self.requests = 0
        self.token = self._token()

    def _token(self) -> str:
        self.requests += 1
        response = self.session.post(
            self.token_url, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, CLIENT_SECRET), timeout=20
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def match(self, text: str) -> None:
        query = seed_clean(text, entity_spans(text))
        headers = {"Authorization": f"Bearer {self.token}"}
        self.requests += 1
        found = self.session.get(
            f"{self.api}/search", params={"q": query, "type": "track", "limit": 1}, headers=headers, timeout=20
        )
        items = found.json().get("tracks", {}).get("items", []) if found.ok else []
        track_id = items[0]["id"] if items else "0" * 22
        self.requests += 1
        self.session.get(f"{self.api}/audio-features", params={"ids": track_id}, headers=headers, timeout=20)


def run() -> list[Result]:
    from nowplaying.common.cassandra import connect, shutdown
    from nowplaying.common.logging import configure_logging
    from nowplaying.common.migrate import migrate
    from nowplaying.enricher.service import run_once

    configure_logging("WARNING", "json")
    n_posts = int(os.environ.get("BENCH_ENRICH_POSTS", "100000"))
    n_baseline = int(os.environ.get("BENCH_ENRICH_BASELINE_POSTS", "10000"))
    workdir = Path(tempfile.mkdtemp(prefix="np-bench-enrich-"))
    keyspace = f"np_bench_enrich_{secrets.token_hex(3)}"
    try:
        with sandbox() as base:
            # request counts are measured here, not the sandbox's rate window (the tests cover 429s)
            requests.post(
                base + "/_admin/config",
                json={"limits": {"spotify": {"limit": 10**9}, "reccobeats": {"limit": 10**9}}},
                timeout=10,
            ).raise_for_status()
            settings = _settings(base, keyspace, workdir / "lake")
            progress(f"generating and cleaning {n_posts:,} posts")
            songs, sample = _write_clean_batches(settings.lake_dir, n_posts)
            session = connect(settings)
            try:
                migrate(session, keyspace, settings.replication_map)
                session.set_keyspace(keyspace)
                n_batches = -(-n_posts // BATCH_SIZE)
                warm = n_batches // 2
                progress(f"enricher: warm-up run over {warm} batches")
                with timed() as t_warm:
                    first = run_once(settings, session, max_batches=warm)
                progress(f"enricher: steady-state run over {n_batches - warm} batches")
                with timed() as t_steady:
                    second = run_once(settings, session)
                if first.status != "ok" or second.status != "ok":
                    raise RuntimeError(f"enrich runs ended {first.status}/{second.status}: {second.stopped}")
                progress(f"baseline: seed matcher over {min(n_baseline, len(sample)):,} song posts")
                baseline = SeedBaseline(base)
                with timed() as t_base:
                    for text in sample[:n_baseline]:
                        baseline.match(text)
                base_posts = min(n_baseline, len(sample))
            finally:
                try:
                    session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
                finally:
                    shutdown(session)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    base_rpp = baseline.requests / base_posts
    total_requests = first.spotify_requests + second.spotify_requests
    total_posts = first.posts + second.posts
    params = {"posts": n_posts, "song_posts": songs, "batch": BATCH_SIZE, "baseline_posts": base_posts}
    return [
        Result(
            "enrich",
            "spotify requests per song post, steady state",
            second.requests_per_post,
            "req/post",
            "seed: search + audio-features per post",
            base_rpp,
            "<= 0.3",
            params,
        ),
        Result(
            "enrich",
            "spotify requests per song post, whole stream",
            total_requests / max(1, total_posts),
            "req/post",
            "seed: search + audio-features per post",
            base_rpp,
            "",
            params,
        ),
        Result(
            "enrich",
            "song posts per second, steady state",
            second.posts / max(1e-9, t_steady.seconds),
            "posts/s",
            "seed",
            base_posts / max(1e-9, t_base.seconds),
            "",
            params,
        ),
        Result("enrich", "warm-up run seconds", t_warm.seconds, "s", "", None, "", params),
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT))
    for row in run():
        print(row.to_dict())
