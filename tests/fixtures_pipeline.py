"""Fixtures for the pipeline tests."""

# --- Spark jobs (spark_*) -----------------------------------------------------------------------
# Synthetic plays for the aggregate tests and the aggregate benchmark: a track catalogue with a
# Zipf-like popularity that rotates from day to day (so some tracks rise and trending has signal),
# bots, people, unmatched plays, tracks without (some) audio features, several artists per track,
# one artist listed twice and one track with fewer artist names than ids. A pure function of its
# arguments, so every process of the benchmark can make its own share.
import random as _spark_random
from collections.abc import Iterator as _SparkIterator
from dataclasses import dataclass as _spark_dataclass
from datetime import datetime as _SparkDatetime
from datetime import timedelta as _SparkTimedelta
from typing import Any as _SparkAny

import pytest as _spark_pytest

SPARK_FEATURES = (
    "danceability", "energy", "loudness", "speechiness", "acousticness", "instrumentalness",
    "liveness", "valence", "tempo",
)  # fmt: skip
SPARK_PLAY_COLUMNS = (
    "bucket", "played_at", "source", "post_id", "author_id", "is_bot", "matched", "track_id",
    "track_name", "artist_ids", "artist_names", "key", *SPARK_FEATURES,
)  # fmt: skip


@_spark_dataclass(frozen=True)
class SparkTrack:
    track_id: str
    name: str
    artist_ids: list[str] | None
    artist_names: list[str] | None
    key: int | None
    features: dict[str, float | None]


def spark_catalogue(n_tracks: int = 60, seed: int = 7) -> list[SparkTrack]:
    rng = _spark_random.Random(seed)
    n_artists = max(2, n_tracks // 3)
    artists = [(f"ar{seed}x{i:05d}", f"Artist {i} ß") for i in range(n_artists)]
    tracks: list[SparkTrack] = []
    for i in range(n_tracks):
        count = 1 if rng.random() < 0.75 else rng.randint(2, 3)
        chosen = rng.sample(artists, count)
        ids: list[str] | None = [a for a, _ in chosen]
        names: list[str] | None = [n for _, n in chosen]
        if i == 3 and ids is not None and names is not None:  # the same artist listed twice
            ids, names = ids + ids[:1], names + names[:1]
        if i == 4 and ids is not None and names is not None:  # fewer names than ids
            ids = [*ids, artists[-1][0]]
        if i == 5:  # a matched track without artists
            ids, names = None, None
        features: dict[str, float | None] = {
            "danceability": rng.random(),
            "energy": rng.random(),
            "loudness": -rng.uniform(0, 30),
            "speechiness": rng.random() / 3,
            "acousticness": rng.random(),
            "instrumentalness": rng.random() if rng.random() < 0.8 else None,
            "liveness": rng.random(),
            "valence": rng.random(),
            "tempo": rng.uniform(60, 190) if i % 7 else None,
        }
        if i % 10 == 9:  # no audio features known at all
            features = dict.fromkeys(SPARK_FEATURES)
        key = rng.randint(0, 11) if features["energy"] is not None else None
        tracks.append(SparkTrack(f"tr{seed}x{i:06d}", f"Song {i} — “{i}”", ids, names, key, features))
    return tracks


def spark_hour_plays(
    hour: _SparkDatetime,
    n: int,
    catalogue: list[SparkTrack],
    seed: int = 1,
    n_authors: int = 40,
    window_ms: tuple[int, int] = (0, 3_600_000),
) -> _SparkIterator[tuple[_SparkAny, ...]]:
    """``n`` plays in the UTC hour starting at ``hour``, as tuples in ``SPARK_PLAY_COLUMNS`` order;
    their ``played_at`` from ``window_ms[0]`` to ``window_ms[1]`` milliseconds into the hour."""
    bucket = hour.strftime("%Y-%m-%dT%H")
    rng = _spark_random.Random(f"{seed}|{bucket}")
    shift = hour.toordinal() * 3  # popularity rotates by day
    size = len(catalogue)
    weights = [1.0 / (1 + ((i + shift) % size)) for i in range(size)]
    picks = rng.choices(range(size), weights=weights, k=n)
    for index, pick in enumerate(picks):
        played_at = hour + _SparkTimedelta(milliseconds=rng.randrange(*window_ms))
        roll = rng.random()
        if roll < 0.1:
            author, is_bot = f"bot{rng.randrange(4)}", True
        elif roll < 0.12:
            author, is_bot = f"u{rng.randrange(n_authors)}", None
        else:
            author, is_bot = f"u{rng.randrange(n_authors)}", False
        source = ("x", "mastodon", "bluesky")[index % 3]
        post_id = f"{seed}-{bucket}-{index}"
        if rng.random() < 0.15:  # unmatched play
            yield (bucket, played_at, source, post_id, author, is_bot, False, None, None, None, None, None,
                   *([None] * len(SPARK_FEATURES)))  # fmt: skip
            continue
        track = catalogue[pick]
        yield (bucket, played_at, source, post_id, author, is_bot, True, track.track_id, track.name,
               track.artist_ids, track.artist_names, track.key,
               *[track.features[f] for f in SPARK_FEATURES])  # fmt: skip


def spark_insert_statement(session: _SparkAny, keyspace: str) -> _SparkAny:
    columns = ", ".join(SPARK_PLAY_COLUMNS)
    marks = ", ".join("?" for _ in SPARK_PLAY_COLUMNS)
    statement = session.prepare(f"INSERT INTO {keyspace}.plays_by_hour ({columns}) VALUES ({marks})")
    statement.is_idempotent = True
    return statement


def spark_unset_nulls(row: tuple[_SparkAny, ...]) -> tuple[_SparkAny, ...]:
    """None -> UNSET_VALUE: a bound null writes a tombstone, an unset column writes nothing."""
    from cassandra.query import UNSET_VALUE

    return tuple(UNSET_VALUE if value is None else value for value in row)


def spark_insert_plays(session: _SparkAny, keyspace: str, rows: list[tuple[_SparkAny, ...]]) -> None:
    from cassandra.concurrent import execute_concurrent_with_args

    statement = spark_insert_statement(session, keyspace)
    unset = [spark_unset_nulls(row) for row in rows]
    results = execute_concurrent_with_args(session, statement, unset, concurrency=64, raise_on_first_error=True)
    assert all(ok for ok, _ in results)


@_spark_pytest.fixture(scope="session")
def spark_session(cassandra_settings: _SparkAny) -> _SparkIterator[_SparkAny]:
    """One local SparkSession (2 cores, small shuffles) for every Spark test of the session."""
    from nowplaying_spark.session import build_session

    spark = build_session(
        cassandra_settings,
        app_name="nowplaying-tests",
        master="local[2]",
        extra_conf={"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"},
    )
    yield spark
    spark.stop()


# --- enricher (enrich_*) ------------------------------------------------------------------------
# A real sandbox process (Spotify in Development Mode, ReccoBeats) for the enricher's integration
# tests, and settings pointing the enricher at it and at the test keyspace.
ENRICH_CLIENT = ("sandbox-client", "sandbox-secret")


@_spark_pytest.fixture(scope="session")
def enrich_sandbox_url() -> _SparkIterator[str]:
    """Base URL of a sandbox: SANDBOX_URL, or a `nowplaying sandbox` started for the session."""
    import os as _enrich_os
    import socket as _enrich_socket
    import subprocess as _enrich_subprocess
    import time as _enrich_time

    import requests as _enrich_requests

    if _enrich_os.environ.get("SANDBOX_URL"):
        yield _enrich_os.environ["SANDBOX_URL"].rstrip("/")
        return
    from nowplaying.common.config import PROJECT_ROOT

    with _enrich_socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = dict(_enrich_os.environ, SANDBOX_HOST="127.0.0.1", SANDBOX_PORT=str(port), SANDBOX_DEV_MODE="true")
    env.update(LOG_LEVEL="WARNING", SANDBOX_FAULTS="")
    proc = _enrich_subprocess.Popen(
        [str(PROJECT_ROOT / ".venv" / "bin" / "nowplaying"), "sandbox"],
        env=env,
        stdout=_enrich_subprocess.DEVNULL,
        stderr=_enrich_subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = _enrich_time.monotonic() + 60
    try:
        while True:
            try:
                _enrich_requests.get(base + "/_admin/faults", timeout=1)
                break
            except _enrich_requests.RequestException:
                if proc.poll() is not None:
                    err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                    _spark_pytest.skip(f"the sandbox did not start: {err}")
                if _enrich_time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not answer within 60 s") from None
                _enrich_time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except _enrich_subprocess.TimeoutExpired:
            proc.kill()


@_spark_pytest.fixture
def enrich_settings(clean_db: _SparkAny, lake_dir: _SparkAny, enrich_sandbox_url: str) -> _SparkIterator[_SparkAny]:
    """Settings for one enricher test: empty tables, an empty lake, the sandbox, fast retries."""
    import requests as _enrich_requests
    from pydantic import SecretStr as _EnrichSecret

    _enrich_requests.post(enrich_sandbox_url + "/_admin/faults", json={"rules": [], "replace": True}, timeout=5)
    yield clean_db.model_copy(
        update={
            "lake_dir": lake_dir,
            "spotify_accounts_base": f"{enrich_sandbox_url}/spotify/accounts",
            "spotify_api_base": f"{enrich_sandbox_url}/spotify/api/v1",
            "reccobeats_base": f"{enrich_sandbox_url}/reccobeats",
            "spotify_client_id": ENRICH_CLIENT[0],
            "spotify_client_secret": _EnrichSecret(ENRICH_CLIENT[1]),
            "retry_base_delay_s": 0.01,
            "retry_max_delay_s": 0.05,
            "rate_limit_max_wait_s": 35.0,
            "pushgateway_url": None,
        }
    )
    _enrich_requests.post(enrich_sandbox_url + "/_admin/faults", json={"rules": [], "replace": True}, timeout=5)
