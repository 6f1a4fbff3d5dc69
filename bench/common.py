"""Shared pieces of the benchmarks: the result record, timing, peak memory and a throwaway keyspace.

A benchmark is a module ``bench/bench_<name>.py`` with ``run() -> list[Result]``. Every result
carries its baseline, measured in the same run, and ``ratio = value / baseline_value``.
"""

from __future__ import annotations

import json
import resource
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Result:
    name: str
    metric: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline_value: float | None = None
    target: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0):
            return None
        return self.value / self.baseline_value  # type: ignore[operator]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio
        return out


@dataclass
class Timer:
    seconds: float = 0.0
    cpu_seconds: float = 0.0


@contextmanager
def timed() -> Iterator[Timer]:
    timer = Timer()
    start, cpu = time.perf_counter(), time.process_time()
    try:
        yield timer
    finally:
        timer.seconds = time.perf_counter() - start
        timer.cpu_seconds = time.process_time() - cpu


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def write_results(name: str, results: list[Result]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps([r.to_dict() for r in results], indent=2))
    return path


def progress(message: str) -> None:
    print(f"  .. {message}", flush=True)


@contextmanager
def bench_keyspace(label: str, **overrides: Any) -> Iterator[tuple[Any, Any]]:
    """A fresh keyspace ``np_bench_<label>_<hex>`` with the real migrations, on the configured Cassandra:
    yields (Settings with ``overrides``, a session); the keyspace is dropped at the end, even on error."""
    from nowplaying.common.cassandra import connect, shutdown
    from nowplaying.common.config import Settings
    from nowplaying.common.migrate import migrate

    keyspace = f"np_bench_{label}_{secrets.token_hex(3)}"
    settings = Settings(cassandra_keyspace=keyspace, **overrides)
    session = connect(settings)
    try:
        migrate(session, keyspace, settings.replication_map)
        yield settings, session
    finally:
        progress(f"dropping {keyspace}")
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=300)
        shutdown(session)


Runner = Callable[[], list[Result]]
