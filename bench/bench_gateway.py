"""Gateway: the Data page's plays query at 10k, 100k and 1M plays, beside the original project's approach.

The original project's Data page read every row of its table on every page view. Here, in the same
run and on the same data, we time (a) that full read (every row of ``plays_by_hour`` through the
driver, as dicts) and (b) one page of ``GET /api/plays`` (50 plays, newest first) from a real
``nowplaying serve`` process over HTTP: p50 and p99 latency over sequential requests (first pages and
cursor pages), and requests per second with 4 concurrent clients.

Plays are spread at random over the 30 days before now, loaded into a dedicated keyspace with
prepared statements in unlogged batches that each stay inside one partition (the fastest honest
way from Python), and the keyspace is dropped at the end.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench.common import Result, progress, timed

# BENCH_GATEWAY_SIZES=2000,5000 for a quick try; the benchmark proper is 10k, 100k, 1M.
SIZES = tuple(int(s) for s in os.environ.get("BENCH_GATEWAY_SIZES", "10000,100000,1000000").split(","))
SPAN = timedelta(days=30)
PAGE = 50
SEQUENTIAL_REQUESTS = 200
RPS_SECONDS = 8.0
RPS_CLIENTS = 4
BATCH_ROWS = 50
CONCURRENCY = 48
BASELINE = "full table read (original Data page)"

INSERT_COLUMNS = (
    "bucket", "played_at", "source", "post_id", "author_id", "text", "url", "is_bot", "matched", "track_id",
    "track_name", "artist_ids", "artist_names", "album", "release_date", "popularity", "duration_ms",
    "match_method", "match_confidence", "features_source", "danceability", "energy", "key", "loudness",
    "speechiness", "acousticness", "instrumentalness", "liveness", "valence", "tempo", "time_signature", "mode",
)  # fmt: skip


def _rows(rng: random.Random, start_index: int, count: int, now: datetime) -> list[tuple[Any, ...]]:
    span_ms = int(SPAN.total_seconds() * 1000)
    out = []
    for i in range(start_index, start_index + count):
        played = now - timedelta(milliseconds=rng.randrange(1, span_ms))
        played = played.replace(microsecond=played.microsecond // 1000 * 1000)
        track = rng.randrange(5000)
        matched = rng.random() < 0.8
        out.append(
            (
                played.strftime("%Y-%m-%dT%H"), played, rng.choice(("mastodon", "bluesky", "x")), f"post-{i:08d}",
                f"author-{rng.randrange(20000)}",
                f"#NowPlaying Artist {track % 900} - Song number {track} https://open.spotify.com/track/{track:022d}",
                f"https://example.social/@someone/{i}", rng.random() < 0.1, matched,
                f"{track:022d}" if matched else None, f"Song number {track}" if matched else None,
                [f"artist{track % 900:018d}"] if matched else [], [f"Artist {track % 900}"] if matched else [],
                f"Album {track % 1500}" if matched else None, "2019-05-01" if matched else None, None,
                180000 + track if matched else None, "search_fields" if matched else "none",
                0.93 if matched else None, "reccobeats" if matched else None,
                *((rng.random(), rng.random(), rng.randrange(12), -rng.random() * 20, rng.random() / 5, rng.random(),
                   rng.random() / 10, rng.random() / 3, rng.random(), 60 + rng.random() * 120, 4, rng.randrange(2))
                  if matched else (None,) * 12),
            )
        )  # fmt: skip
    return out


def _load(session: Any, insert: Any, rows: list[tuple[Any, ...]]) -> None:
    from cassandra.concurrent import execute_concurrent
    from cassandra.query import BatchStatement, BatchType

    by_bucket: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        by_bucket[row[0]].append(row)
    statements = []
    for bucket_rows in by_bucket.values():
        for offset in range(0, len(bucket_rows), BATCH_ROWS):
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for row in bucket_rows[offset : offset + BATCH_ROWS]:
                batch.add(insert, row)
            statements.append((batch, ()))
    results = execute_concurrent(session, statements, concurrency=CONCURRENCY, raise_on_first_error=True)
    assert all(ok for ok, _ in results)


def _full_read(session: Any, keyspace: str) -> tuple[float, int]:
    from cassandra.query import SimpleStatement

    statement = SimpleStatement(f"SELECT * FROM {keyspace}.plays_by_hour", fetch_size=5000)
    with timed() as t:
        rows = [row._asdict() for row in session.execute(statement, timeout=600)]
    return t.seconds, len(rows)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_gateway(keyspace: str, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        CASSANDRA_KEYSPACE=keyspace,
        GATEWAY_PORT=str(port),
        GATEWAY_HOST="127.0.0.1",
        CURSOR_SECRET=secrets.token_hex(16),
        LOG_LEVEL="WARNING",
    )
    exe = Path(sys.executable).with_name("nowplaying")
    proc = subprocess.Popen([str(exe), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            raise RuntimeError("nowplaying serve exited")
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("nowplaying serve did not become ready")


def _page_latencies(base: str) -> list[float]:
    """Sequential first pages and cursor pages; seconds each."""
    times: list[float] = []
    with requests.Session() as http:
        cursor = None
        for _ in range(SEQUENTIAL_REQUESTS):
            params: dict[str, Any] = {"limit": PAGE}
            if cursor:
                params["cursor"] = cursor
            started = time.perf_counter()
            response = http.get(base + "/api/plays", params=params, timeout=60)
            times.append(time.perf_counter() - started)
            response.raise_for_status()
            body = response.json()
            assert len(body["items"]) == PAGE or body["next_cursor"] is None
            # Alternate: follow the cursor 9 times, then start again from the first page.
            cursor = body["next_cursor"] if len(times) % 10 else None
    return times


def _rps(base: str) -> float:
    done = [0] * RPS_CLIENTS
    stop = time.monotonic() + RPS_SECONDS

    def client(index: int) -> None:
        with requests.Session() as http:
            while time.monotonic() < stop:
                http.get(base + "/api/plays", params={"limit": PAGE}, timeout=60).raise_for_status()
                done[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(RPS_CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run() -> list[Result]:
    from nowplaying.common.cassandra import connect, shutdown
    from nowplaying.common.config import Settings
    from nowplaying.common.migrate import migrate

    base_settings = Settings()
    keyspace = f"np_bench_gateway_{secrets.token_hex(3)}"
    settings = base_settings.model_copy(update={"cassandra_keyspace": keyspace})
    session = connect(settings)
    results: list[Result] = []
    proc: subprocess.Popen[bytes] | None = None
    try:
        migrate(session, keyspace, settings.replication_map)
        insert = session.prepare(
            f"INSERT INTO {keyspace}.plays_by_hour ({', '.join(INSERT_COLUMNS)})"
            f" VALUES ({', '.join('?' for _ in INSERT_COLUMNS)})"
        )
        port = _free_port()
        proc = _start_gateway(keyspace, port)
        base = f"http://127.0.0.1:{port}"
        rng = random.Random(2026)
        now = datetime.now(UTC) - timedelta(seconds=5)
        loaded = 0
        for size in SIZES:
            before = loaded
            with timed() as load_time:
                while loaded < size:
                    step = min(50_000, size - loaded)
                    _load(session, insert, _rows(rng, loaded, step, now))
                    loaded += step
                    progress(f"loaded {loaded:,} plays")
            rate = (loaded - before) / max(load_time.seconds, 1e-9)
            progress(f"{size:,} plays: loading took {load_time.seconds:.1f} s ({rate:,.0f} rows/s)")

            reads = 3 if size <= 100_000 else 1
            full = []
            for _ in range(reads):
                seconds, count = _full_read(session, keyspace)
                assert count == size, (count, size)
                full.append(seconds)
            full_s = statistics.median(full)
            progress(f"{size:,} plays: full read {full_s * 1000:,.0f} ms")

            latencies = _page_latencies(base)
            p50, p99 = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
            rps = _rps(base)
            progress(f"{size:,} plays: page p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, {rps:.0f} req/s")
            params = {"plays": size, "page": PAGE, "requests": len(latencies), "full_reads": reads}
            results += [
                Result(f"plays page p50 @ {size:,}", "latency", p50 * 1000, "ms", BASELINE, full_s * 1000,
                       "flat across sizes", params),
                Result(f"plays page p99 @ {size:,}", "latency", p99 * 1000, "ms", BASELINE, full_s * 1000,
                       "flat across sizes", params),
                Result(f"plays page rps @ {size:,}", "throughput", rps, "req/s", BASELINE + " (1/s)", 1 / full_s,
                       f"{RPS_CLIENTS} clients", {**params, "seconds": RPS_SECONDS}),
            ]  # fmt: skip
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        progress(f"dropping {keyspace}")
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=300)
        shutdown(session)
    return results
