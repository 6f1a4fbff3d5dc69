"""`nowplaying load`: every pending enriched CSV batch into Cassandra, exactly once, then to history/.

Per file:
1. checksum it; if ``load_log`` says this file was loaded with the same checksum, only move it
   to ``history/`` (a crash after the load and before the move) and go on;
2. record it as ``loading``; write every row (deterministic keys: a re-run overwrites the same
   cells, so a load interrupted anywhere is simply done again in full);
3. write the refused rows with their line and reason to ``rejects/<day>/<batch_id>.load.jsonl``;
4. record it as ``loaded`` with its counts, and only then move it to ``history/``.

A file whose header is not the enriched CSV header is moved to ``rejects/`` whole, with the reason.
If Cassandra fails during a file the run stops with "Cassandra unavailable while loading <file>";
the file stays in ``enriched/`` and the next run loads it completely. On S3 the file is first copied
to a local temporary file (the workers read byte ranges of it); a file that another run moved away
meanwhile is skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

import orjson
from cassandra import DriverException, OperationTimedOut, RequestExecutionException
from cassandra.cluster import NoHostAvailable, Session
from cassandra.connection import ConnectionException
from cassandra.query import UNSET_VALUE
from prometheus_client import Counter, Gauge

from nowplaying.common.cassandra import CassandraUnavailable, connect, shutdown
from nowplaying.common.config import Settings
from nowplaying.common.lake import (
    Batch,
    BatchMissing,
    Lake,
    LakeUnavailable,
    file_checksum,
    is_rework_batch,
    open_lake,
)
from nowplaying.common.logging import configure_logging, get_logger
from nowplaying.common.metrics import StageMetrics
from nowplaying.common.stage import StageRun, stage_run
from nowplaying.loader.reader import Header, Range, iter_lines, read_header, split_ranges
from nowplaying.loader.retry import Backoff, call_with_retry
from nowplaying.loader.rows import HeaderError, RowError, parse_play, read_records
from nowplaying.loader.writer import PlayWriter, Statements, WriteFailed

log = get_logger(__name__)

STAGE = "load"
# Files smaller than this are loaded in the calling process even when LOAD_WORKERS > 1.
PARALLEL_MIN_BYTES = 8 << 20
PROGRESS_EVERY_ROWS = 100_000
REJECT_EXCERPT_CHARS = 1_000
# Past this many rejects in one range, only line and reason are kept (memory stays bounded).
REJECT_EXCERPTS_MAX = 10_000

CASSANDRA_ERRORS: tuple[type[BaseException], ...] = (
    WriteFailed,
    NoHostAvailable,
    OperationTimedOut,
    RequestExecutionException,
    ConnectionException,
    DriverException,
    CassandraUnavailable,
)


class LoadError(RuntimeError):
    """A run that could not finish; the message names the file and the cause."""


@dataclass
class Reject:
    line: int
    reason: str
    record: str


@dataclass
class PartResult:
    rows_read: int = 0
    rows_loaded: int = 0
    rows_replaced: int = 0  # plays replaced whole (row deletion at T, insert at T+1)
    retries: int = 0  # writes sent again after a write timeout, unavailable replicas, ... (see retry)
    rejects: list[Reject] = field(default_factory=list)


@dataclass
class FileResult:
    batch_id: str
    outcome: str  # 'loaded' | 'skipped' | 'refused'
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_replaced: int = 0
    retries: int = 0
    seconds: float = 0.0


@dataclass
class LoadSummary:
    files: list[FileResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for f in self.files if f.outcome == outcome)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)


# --- load_log ----------------------------------------------------------------------------------
@dataclass
class LogEntry:
    checksum: str
    status: str


class LoadLog:
    """The ``load_log`` table: one row per file (batch id) with its checksum and status."""

    def __init__(self, session: Session, keyspace: str, backoff: Backoff | None = None) -> None:
        self.session = session
        self.backoff = backoff or Backoff()
        self._get = session.prepare(f"SELECT checksum, status FROM {keyspace}.load_log WHERE file = ?")
        self._put = session.prepare(
            f"INSERT INTO {keyspace}.load_log (file, checksum, status, rows_total, rows_loaded, rows_rejected,"
            " started_at, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._put.is_idempotent = True

    def get(self, batch_id: str) -> LogEntry | None:
        row = call_with_retry(lambda: self.session.execute(self._get, (batch_id,)), self.backoff).one()
        return LogEntry(row.checksum, row.status) if row else None

    def loading(self, batch_id: str, checksum: str, started_at: datetime) -> None:
        # the counts and loaded_at are unknown yet: unset, not null (a null is a tombstone)
        self._write((batch_id, checksum, "loading", UNSET_VALUE, UNSET_VALUE, UNSET_VALUE, started_at, UNSET_VALUE))

    def loaded(self, batch_id: str, checksum: str, result: FileResult, started_at: datetime) -> None:
        loaded_at = datetime.now(UTC)
        self._write(
            (batch_id, checksum, "loaded", result.rows_read, result.rows_loaded, result.rows_rejected, started_at,
             loaded_at)
        )  # fmt: skip

    def _write(self, values: tuple[object, ...]) -> None:
        call_with_retry(lambda: self.session.execute(self._put, values), self.backoff)


def backoff_of(settings: Settings) -> Backoff:
    return Backoff(retries=settings.load_write_retries, base_s=settings.load_retry_backoff_s)


# --- loading one range of a file -----------------------------------------------------------------
def load_range(
    session: Session,
    statements: Statements,
    path: Path,
    part: Range,
    now: datetime,
    concurrency: int,
    progress: Callable[[int], None] | None = None,
    replace: bool = False,
    backoff: Backoff | None = None,
) -> PartResult:
    """Parse and write the records of one byte range; bad records are collected, not written.
    ``replace``: the plays may be stored already (see ``writer``), compare before writing."""
    result = PartResult()
    writer = PlayWriter(session, statements, now, concurrency=concurrency, replace=replace, backoff=backoff)
    reported = 0  # plays written when progress was last reported
    for line, fields in read_records(iter_lines(path, part), first_line=part.first_line):
        result.rows_read += 1
        if isinstance(fields, str):
            result.rejects.append(Reject(line, fields, ""))
            continue
        try:
            play = parse_play(fields, part.columns)
        except RowError as exc:
            excerpt = ",".join(fields)[:REJECT_EXCERPT_CHARS] if len(result.rejects) < REJECT_EXCERPTS_MAX else ""
            result.rejects.append(Reject(line, str(exc), excerpt))
            continue
        writer.add(play)
        if progress is not None and writer.plays >= reported + PROGRESS_EVERY_ROWS:
            reported = writer.plays // PROGRESS_EVERY_ROWS * PROGRESS_EVERY_ROWS
            progress(reported)
    writer.finish()
    result.rows_loaded = writer.plays
    result.rows_replaced = writer.replaced
    result.retries = writer.window.retries
    if writer.window.retries:
        log.warning(
            "load_writes_retried", file=path.name, part_line=part.first_line, retries=writer.window.retries,
            errors=writer.window.retried_errors,
        )  # fmt: skip
    return result


def _load_part_in_worker(settings: Settings, path: Path, part: Range, now: datetime, replace: bool) -> PartResult:
    """Entry point of a worker process: its own session, one range."""
    configure_logging(settings.log_level, settings.log_format)
    session = connect(settings, deadline_s=min(settings.cassandra_connect_timeout_s, 30.0))
    try:
        statements = Statements.prepare(session, settings.cassandra_keyspace)
        started = time.monotonic()

        def progress(rows: int) -> None:
            elapsed = time.monotonic() - started
            log.info(
                "load_progress", file=path.name, part_line=part.first_line, rows=rows,
                rows_per_s=round(rows / max(elapsed, 1e-6)),
            )  # fmt: skip

        return load_range(
            session, statements, path, part, now, settings.load_concurrency, progress, replace, backoff_of(settings)
        )
    except WriteFailed:
        raise
    except CASSANDRA_ERRORS as exc:
        # Driver exceptions do not always pickle back to the parent; send a plain message.
        raise WriteFailed.of(exc) from None
    finally:
        shutdown(session)


def load_file(
    session: Session,
    statements: Statements,
    settings: Settings,
    path: Path,
    header: Header,
    now: datetime,
    replace: bool = False,
) -> PartResult:
    """All the records of a file: in this process, or split across LOAD_WORKERS processes."""
    workers = settings.load_workers
    started = time.monotonic()

    def progress(rows: int) -> None:
        elapsed = time.monotonic() - started
        log.info("load_progress", file=path.name, rows=rows, rows_per_s=round(rows / max(elapsed, 1e-6)))

    if workers <= 1 or path.stat().st_size < PARALLEL_MIN_BYTES:
        return load_range(
            session, statements, path, header.whole_file(path), now, settings.load_concurrency, progress, replace,
            backoff_of(settings),
        )  # fmt: skip
    parts = split_ranges(path, header, workers)
    log.info("load_parallel", file=path.name, workers=len(parts))
    total = PartResult()
    with ProcessPoolExecutor(max_workers=len(parts), mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_load_part_in_worker, settings, path, part, now, replace) for part in parts]
        errors: list[BaseException] = []
        for future in futures:
            try:
                part_result = future.result()
            except BaseException as exc:
                errors.append(exc)
                continue
            total.rows_read += part_result.rows_read
            total.rows_loaded += part_result.rows_loaded
            total.rows_replaced += part_result.rows_replaced
            total.retries += part_result.retries
            total.rejects.extend(part_result.rejects)
        if errors:
            raise errors[0]
    total.rejects.sort(key=lambda r: r.line)
    return total


# --- lake moves --------------------------------------------------------------------------------
REJECTS_SUFFIX = ".load.jsonl"


def write_rejects(lake: Lake, batch: Batch, rejects: list[Reject]) -> Batch:
    lines = [
        orjson.dumps({"file": batch.key, "line": r.line, "reason": r.reason, "record": r.record}) + b"\n"
        for r in rejects
    ]
    # replace: a later load of the same batch id (a re-enriched file) states its own rejects
    return lake.write_bytes("rejects", batch.batch_id, b"".join(lines), suffix=REJECTS_SUFFIX, replace=True)


def move_to_history(lake: Lake, batch: Batch, checksum: str) -> Batch:
    """Move a loaded file to history/. A different file already there under the same name is kept
    (renamed with its checksum), so history never loses a file."""
    target = Batch("history", batch.day, batch.batch_id, batch.name)
    if lake.has(target):
        existing = lake.checksum(target)
        if existing != checksum:
            kept = lake.move(target, "history", name=f"{batch.batch_id}.replaced-{existing[:12]}.csv.old")
            log.warning("history_name_taken", file=batch.name, kept_as=kept.name)
    return lake.move(batch, "history")


def refuse_file(lake: Lake, batch: Batch, reason: str) -> Batch:
    """A file that cannot be loaded at all: moved whole to rejects/, with the reason beside it."""
    write_rejects(lake, batch, [Reject(1, reason, "")])
    return lake.move(batch, "rejects")


# --- the run -----------------------------------------------------------------------------------
class LoadMetrics:
    """The loader's own metrics, in the stage's registry (pushed with the stage's)."""

    def __init__(self, metrics: StageMetrics) -> None:
        self.rows = Counter(
            "nowplaying_load_rows", "CSV rows loaded or rejected", ["outcome"], registry=metrics.registry
        )
        self.files = Counter(
            "nowplaying_load_files", "CSV files loaded, skipped or refused", ["outcome"], registry=metrics.registry
        )
        self.rate = Gauge(
            "nowplaying_load_rows_per_second", "Rows per second of the last loaded file", registry=metrics.registry
        )
        for outcome in ("loaded", "rejected"):
            self.rows.labels(outcome)
        for outcome in ("loaded", "skipped", "refused"):
            self.files.labels(outcome)


def load_batch(
    lake: Lake,
    batch: Batch,
    session: Session,
    statements: Statements,
    load_log: LoadLog,
    settings: Settings,
) -> FileResult:
    """Load one enriched batch (steps 1-4 of the module doc). Raises ``LoadError`` if Cassandra or
    the lake fails; a batch that another run moved away meanwhile is skipped."""
    try:
        with lake.local_file(batch) as path:
            return _load_local_file(lake, batch, path, session, statements, load_log, settings)
    except BatchMissing:
        log.info("load_skipped", file=batch.key, reason="no longer in enriched/ (another run moved it)")
        return FileResult(batch.batch_id, "skipped")
    except LakeUnavailable as exc:
        raise LoadError(f"lake unavailable while loading {batch.key}: {exc}") from exc


def _load_local_file(
    lake: Lake,
    batch: Batch,
    path: Path,
    session: Session,
    statements: Statements,
    load_log: LoadLog,
    settings: Settings,
) -> FileResult:
    name = batch.key
    started = time.monotonic()
    try:
        checksum = file_checksum(path)
        entry = load_log.get(batch.batch_id)
        if entry is not None and entry.status == "loaded" and entry.checksum == checksum:
            move_to_history(lake, batch, checksum)
            log.info("load_skipped", file=name, reason="already loaded with the same checksum")
            return FileResult(batch.batch_id, "skipped")
        if entry is not None:
            log.info("load_again", file=name, previous_status=entry.status, same_checksum=entry.checksum == checksum)
        try:
            header = read_header(path)
        except HeaderError as exc:
            target = refuse_file(lake, batch, str(exc))
            log.error("load_refused", file=name, reason=str(exc), moved_to=target.key)
            return FileResult(batch.batch_id, "refused", seconds=time.monotonic() - started)
        now = datetime.now(UTC)
        started_at = now.replace(microsecond=now.microsecond // 1000 * 1000)
        # A backfill batch, a batch id loaded before with another checksum, or an interrupted load
        # may hold plays that are stored already: compare each with its stored row before writing.
        replace = is_rework_batch(batch.batch_id) or entry is not None
        load_log.loading(batch.batch_id, checksum, started_at)
        part = load_file(session, statements, settings, path, header, now, replace)
        result = FileResult(
            batch.batch_id,
            "loaded",
            rows_read=part.rows_read,
            rows_loaded=part.rows_loaded,
            rows_rejected=len(part.rejects),
            rows_replaced=part.rows_replaced,
            retries=part.retries,
        )
        if part.rejects:
            rejects = write_rejects(lake, batch, part.rejects)
            for reject in part.rejects[:20]:
                log.warning("row_rejected", file=name, line=reject.line, reason=reject.reason)
            log.warning("rows_rejected", file=name, rows=len(part.rejects), rejects=rejects.key)
        load_log.loaded(batch.batch_id, checksum, result, started_at)
    except CASSANDRA_ERRORS as exc:
        raise LoadError(f"Cassandra unavailable while loading {name}: {exc}") from exc
    except BrokenProcessPool as exc:
        raise LoadError(f"a loader worker process died while loading {name} (out of memory?): {exc}") from exc
    move_to_history(lake, batch, checksum)
    result.seconds = time.monotonic() - started
    log.info(
        "file_loaded",
        file=name,
        rows=result.rows_loaded,
        rejected=result.rows_rejected,
        replaced=result.rows_replaced,
        retried=result.retries,
        seconds=round(result.seconds, 2),
        rows_per_s=round(result.rows_loaded / max(result.seconds, 1e-6)),
    )
    return result


def _record(run: StageRun, metrics: LoadMetrics, result: FileResult) -> None:
    metrics.files.labels(result.outcome).inc()
    if result.outcome == "refused":
        run.add_error("file_refused")
        return
    run.add_in(result.rows_read)
    run.add_out(result.rows_loaded)
    if result.rows_rejected:
        run.add_error("row_rejected", result.rows_rejected)
    metrics.rows.labels("loaded").inc(result.rows_loaded)
    metrics.rows.labels("rejected").inc(result.rows_rejected)
    if result.outcome == "loaded" and result.seconds > 0:
        metrics.rate.set(result.rows_loaded / result.seconds)


def run_load(settings: Settings, session: Session | None = None) -> LoadSummary:
    """Load every pending enriched batch (oldest first). Raises ``LoadError`` when Cassandra fails."""
    lake = open_lake(settings)
    own_session = session is None
    if session is None:
        try:
            session = connect(settings)
        except CassandraUnavailable as exc:
            raise LoadError(str(exc)) from exc
    summary = LoadSummary()
    stage_metrics = StageMetrics(STAGE)
    metrics = LoadMetrics(stage_metrics)
    try:
        with stage_run(STAGE, session, settings, stage_metrics) as run:
            try:
                lake.sweep_temporaries()
                batches = lake.list_batches("enriched")
            except LakeUnavailable as exc:
                raise LoadError(f"lake unavailable while listing enriched/: {exc}") from exc
            run.detail["pending_files"] = len(batches)
            if batches:
                try:
                    statements = Statements.prepare(session, settings.cassandra_keyspace)
                    load_log = LoadLog(session, settings.cassandra_keyspace, backoff_of(settings))
                except CASSANDRA_ERRORS as exc:
                    raise LoadError(f"Cassandra unavailable while preparing the load: {exc}") from exc
            for batch in batches:
                result = load_batch(lake, batch, session, statements, load_log, settings)
                summary.files.append(result)
                _record(run, metrics, result)
            run.detail.update(
                files_loaded=summary.count("loaded"),
                files_skipped=summary.count("skipped"),
                files_refused=summary.count("refused"),
                rows_loaded=summary.rows_loaded,
                rows_rejected=summary.rows_rejected,
            )
    finally:
        if own_session:
            shutdown(session)
    return summary


def summary_line(summary: LoadSummary) -> str:
    return (
        f"loaded {summary.count('loaded')} file(s), {summary.rows_loaded} rows"
        f" ({summary.rows_rejected} rejected); skipped {summary.count('skipped')}, refused {summary.count('refused')}"
    )
