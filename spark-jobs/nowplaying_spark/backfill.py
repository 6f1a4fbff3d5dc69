"""`backfill`: re-clean the raw lake over a date range in Spark, with the cleaner's own parsing.

Each raw batch ``raw/<day>/<id>.jsonl.gz`` in the range becomes one new clean batch
``clean/<day>/<id>_bf<run_id>.jsonl.gz`` (records in the raw batch's order, posts of kind ``none``
included, as the cleaner writes them). Why new ids rather than rewriting the old ones:

- the enricher's progress (``stage_progress`` stage ``enrich``) never knew the new id, so it takes the
  batch as usual, and no race with an enricher run marking an old id done can drop the new parse;
- ``<id>_bf<run>`` sorts after ``<id>`` and after every earlier backfill of the same raw batch (the
  lake lists batches by name), so if several versions are pending the newest parse is enriched last;
- plays are keyed (bucket, played_at, source, post_id), so the re-enriched plays overwrite the old
  ones in Cassandra instead of doubling them; the old clean batch stays for audit.

A run is restartable: a clean batch is written atomically (the lake's temp-file-and-rename), and a
run with the same ``--run-id`` skips raw batches whose output already exists. The records are
exactly what the cleaner writes: its own ``clean_lines`` (``clean_record`` on each line, then its
rate-based bot marking). Lines it refuses (bad JSON, ``RecordError``) are listed with the reason in
``rejects/<day>/<id>_bf<run>.backfill.jsonl`` and the rest of the batch goes on.

The work is spread one raw batch per Spark task (gzip is not splittable, and a batch must stay one
batch); executors read and write the lake directly, so on Kubernetes the lake volume is mounted in
the driver and executor pods.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
from nowplaying.common.lake import Lake
from nowplaying.common.logging import get_logger

log = get_logger(__name__)

REJECT_SUFFIX = ".backfill.jsonl"
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9]{1,32}$")
MAX_ERROR_SAMPLES = 5


class BackfillError(RuntimeError):
    pass


@dataclass
class BatchResult:
    raw_batch_id: str
    day: str
    output_batch_id: str
    status: str  # 'written' | 'skipped' (output existed) | 'failed' (batch unreadable)
    items_in: int = 0
    items_out: int = 0
    rejected: int = 0
    error_samples: list[str] = field(default_factory=list)


@dataclass
class BackfillReport:
    run_id: str
    batches: list[BatchResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for b in self.batches if b.status == status)

    @property
    def items_in(self) -> int:
        return sum(b.items_in for b in self.batches)

    @property
    def items_out(self) -> int:
        return sum(b.items_out for b in self.batches)

    @property
    def rejected(self) -> int:
        return sum(b.rejected for b in self.batches)


def new_run_id(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def check_run_id(run_id: str) -> str:
    if not RUN_ID_PATTERN.match(run_id):
        raise BackfillError(f"run id '{run_id}' must be 1 to 32 letters or digits")
    return run_id


def output_batch_id(raw_batch_id: str, run_id: str) -> str:
    return f"{raw_batch_id}_bf{check_run_id(run_id)}"


def reclean(lines: Iterable[tuple[int, bytes]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(line number, raw line) -> (ParsedPost records, rejects with the reason), exactly as the cleaner
    does it: its own line cleaning (``clean_record`` per line, then its rate-based bot marking)."""
    from nowplaying.cleaner.stage import clean_lines, parsed_to_dict, reject_record

    records: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    for outcome in clean_lines(lines):
        if outcome.parsed is None:
            rejects.append(reject_record(outcome))
        else:
            records.append(parsed_to_dict(outcome.parsed))
    return records, rejects


def clean_batch(lake_root: str, raw_path: str, day: str, raw_id: str, out_id: str) -> BatchResult:
    """Re-clean one raw batch into ``clean/<day>/<out_id>``. Runs on an executor."""
    lake = Lake(lake_root)
    result = BatchResult(raw_batch_id=raw_id, day=day, output_batch_id=out_id, status="written")
    if lake.path_for("clean", out_id).exists():
        result.status = "skipped"
        return result
    try:
        lines = list(Lake.read_jsonl_lines(Path(raw_path)))
    except (OSError, EOFError) as exc:
        result.status = "failed"
        result.error_samples.append(f"cannot read {raw_path}: {type(exc).__name__}: {exc}")
        return result
    records, rejects = reclean(lines)
    result.items_in = len(lines)
    result.items_out = len(records)
    result.rejected = len(rejects)
    result.error_samples = [f"line {r['line']}: {r['reason']}" for r in rejects[:MAX_ERROR_SAMPLES]]
    if rejects:  # written first: an existing clean batch implies its rejects are recorded
        payload = b"".join(orjson.dumps(r) + b"\n" for r in rejects)
        lake.write_bytes("rejects", out_id, payload, suffix=REJECT_SUFFIX)
    lake.write_jsonl("clean", out_id, records)
    return result


def _clean_partition(lake_root: str, tasks: Iterator[tuple[str, str, str, str]]) -> Iterator[dict[str, Any]]:
    for raw_path, day, raw_id, out_id in tasks:
        yield asdict(clean_batch(lake_root, raw_path, day, raw_id, out_id))


def run_backfill(
    spark: Any,
    lake_root: Path,
    since: date,
    until: date,
    run_id: str | None = None,
) -> BackfillReport:
    """Re-clean every raw batch of the days [since, until] with the cleaner's parsing."""
    if until < since:
        raise BackfillError(f"the range ends ({until}) before it starts ({since})")
    run_id = check_run_id(run_id or new_run_id())
    started = time.perf_counter()
    lake = Lake(lake_root)
    tasks = [
        (str(b.path), b.day, b.batch_id, output_batch_id(b.batch_id, run_id))
        for b in lake.list_batches("raw", since, until)
    ]
    report = BackfillReport(run_id=run_id)
    if tasks:
        root = str(lake_root)
        rdd = spark.sparkContext.parallelize(tasks, numSlices=len(tasks))
        rows = rdd.mapPartitions(lambda part: _clean_partition(root, part)).collect()
        report.batches = sorted((BatchResult(**row) for row in rows), key=lambda b: b.output_batch_id)
    report.seconds = time.perf_counter() - started
    for batch in report.batches:
        if batch.status == "failed" or batch.rejected:
            log.warning("backfill_batch_problems", **asdict(batch))
    log.info(
        "backfill_done",
        run_id=run_id,
        since=since.isoformat(),
        until=until.isoformat(),
        written=report.count("written"),
        skipped=report.count("skipped"),
        failed=report.count("failed"),
        items_in=report.items_in,
        items_out=report.items_out,
        rejected=report.rejected,
        seconds=round(report.seconds, 2),
    )
    return report
