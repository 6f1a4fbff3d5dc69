"""What every batch stage shares: a run record, metrics, the push, and the ``--loop`` mode."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cassandra.cluster import Session

from nowplaying.common.cassandra import RunLog, RunRecord
from nowplaying.common.config import Settings
from nowplaying.common.logging import get_logger
from nowplaying.common.metrics import StageMetrics

log = get_logger(__name__)


class StageRun:
    """One run of a stage: counts, errors, a ``pipeline_runs`` row and pushed metrics."""

    def __init__(self, stage: str, record: RunRecord, metrics: StageMetrics) -> None:
        self.stage = stage
        self.record = record
        self.metrics = metrics
        self.detail: dict[str, Any] = {}
        self.partial = False

    def add_in(self, n: int = 1) -> None:
        self.record.items_in += n
        self.metrics.items.labels(self.stage, "in").inc(n)

    def add_out(self, n: int = 1) -> None:
        self.record.items_out += n
        self.metrics.items.labels(self.stage, "out").inc(n)

    def add_error(self, kind: str, n: int = 1) -> None:
        self.record.errors += n
        self.metrics.errors.labels(self.stage, kind).inc(n)


@contextmanager
def stage_run(
    stage: str, session: Session, settings: Settings, metrics: StageMetrics | None = None
) -> Iterator[StageRun]:
    """Wraps a run: writes the run row at start and end, pushes metrics, re-raises failures.

    A run that set ``run.partial`` (work left pending on purpose: a long rate limit, a budget) ends
    with status ``partial``; an exception gives ``failed``.
    """
    runs = RunLog(session, settings.cassandra_keyspace)
    metrics = metrics or StageMetrics(stage)
    record = runs.start(stage)
    run = StageRun(stage, record, metrics)
    log.info("run_started", stage=stage, run_id=record.run_id)
    status = "failed"
    try:
        yield run
        status = "partial" if run.partial else "ok"
    except BaseException as exc:
        run.detail.setdefault("error", f"{type(exc).__name__}: {exc}"[:500])
        raise
    finally:
        record.detail = run.detail
        try:
            runs.finish(record, status)
        except Exception as exc:  # Cassandra down: the original error matters more
            log.warning("run_record_failed", stage=stage, error=str(exc))
        metrics.runs.labels(stage, status).inc()
        metrics.duration.labels(stage).observe(record.duration_s)
        metrics.last_run.labels(stage).set(time.time())
        metrics.record_last_run(record.items_in, record.items_out, record.errors, record.duration_s)
        if status != "failed":
            metrics.last_success.labels(stage).set(time.time())
        metrics.push(settings.pushgateway_url, succeeded=status != "failed")
        log.info(
            "run_finished",
            stage=stage,
            run_id=record.run_id,
            status=status,
            items_in=record.items_in,
            items_out=record.items_out,
            errors=record.errors,
            duration_s=round(record.duration_s, 3),
        )


def run_loop(once: Callable[[], Any], seconds: float | None, stage: str) -> int:
    """Run ``once`` now, or every ``seconds`` until SIGINT/SIGTERM. A failing run is logged and the
    loop goes on (the work it left stays pending); the single-run form returns 1 on failure."""
    if not seconds:
        once()
        return 0
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        log.info("loop_stopping", stage=stage, signal=signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stop.is_set():
        started = time.monotonic()
        try:
            once()
        except Exception as exc:
            log.error("loop_run_failed", stage=stage, error=f"{type(exc).__name__}: {exc}")
        stop.wait(max(0.0, seconds - (time.monotonic() - started)))
    return 0
