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

A run is restartable: a clean batch is written atomically (the lake's commit of a complete batch),
and a run with the same ``--run-id`` skips raw batches whose output already exists. The records are
exactly what the cleaner writes: its own ``clean_lines`` (``clean_record`` on each line, then its
rate-based bot marking). Lines it refuses (bad JSON, ``RecordError``) are listed with the reason in
``rejects/<day>/<id>_bf<run>.backfill.jsonl`` and the rest of the batch goes on.

The driver lists the raw batches with the lake (so only committed batches are read); Spark reads
them through its Hadoop file systems, one whole file per record (gzip is not splittable, and a batch
must stay one batch): ``file:`` for the folder lake, ``s3a:`` (hadoop-aws) for the lake on S3. The
executors clean each batch and write its outputs through the lake (same commit as every stage), so on
Kubernetes they need the lake's settings (S3), or the lake volume mounted (folder).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import orjson
from nowplaying.common.lake import Lake, batch_day, jsonl_lines, open_lake, rework_batch_id
from nowplaying.common.logging import get_logger

if TYPE_CHECKING:
    from nowplaying.common.config import Settings

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
    return rework_batch_id(raw_batch_id, check_run_id(run_id))


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


def clean_batch(lake: Lake, url: str, data: bytes, run_id: str) -> BatchResult:
    """Re-clean the bytes of one raw batch (read from ``url``) into ``clean/<day>/<id>_bf<run_id>``.
    Runs on an executor."""
    name = url.rsplit("/", 1)[-1]
    raw_id = name.removesuffix(".jsonl.gz")
    out_id = output_batch_id(raw_id, run_id)
    result = BatchResult(raw_batch_id=raw_id, day=batch_day(raw_id), output_batch_id=out_id, status="written")
    try:
        lines = list(jsonl_lines(data, gzipped=name.endswith(".gz")))
    except (OSError, EOFError) as exc:
        result.status = "failed"
        result.error_samples.append(f"cannot read {url}: {type(exc).__name__}: {exc}")
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


def _clean_partition(settings: Settings, run_id: str, files: Iterator[tuple[str, bytes]]) -> Iterator[dict[str, Any]]:
    lake = open_lake(settings)
    for url, data in files:
        yield asdict(clean_batch(lake, url, data, run_id))


def s3a_conf(settings: Settings) -> dict[str, str]:
    """Hadoop settings for reading the S3 lake over ``s3a://`` (per bucket, so other buckets keep theirs)."""
    from nowplaying.common.lake.s3 import parse_s3_url

    bucket, _ = parse_s3_url((settings.lake_url or "").strip())
    base = f"fs.s3a.bucket.{bucket}."
    conf = {
        base + "endpoint.region": settings.lake_s3_region,
        base + "path.style.access": "true",
        base + "attempts.maximum": "5",
        base + "retry.limit": "5",
    }
    if settings.lake_s3_endpoint:
        conf[base + "endpoint"] = settings.lake_s3_endpoint
        conf[base + "connection.ssl.enabled"] = str(settings.lake_s3_endpoint.startswith("https://")).lower()
    if settings.lake_s3_access_key_id and settings.lake_s3_secret_access_key:
        conf[base + "aws.credentials.provider"] = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
        conf[base + "access.key"] = settings.lake_s3_access_key_id.get_secret_value()
        conf[base + "secret.key"] = settings.lake_s3_secret_access_key.get_secret_value()
    return conf


def _configure_hadoop(spark: Any, settings: Settings, lake: Lake) -> None:
    """Point Spark's Hadoop configuration at the lake (set at run time: the keys never enter SparkConf)."""
    if not lake.url.startswith("s3://"):
        return
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in s3a_conf(settings).items():
        hadoop.set(key, value)


def run_backfill(
    spark: Any,
    settings: Settings,
    since: date,
    until: date,
    run_id: str | None = None,
) -> BackfillReport:
    """Re-clean every raw batch of the days [since, until] with the cleaner's parsing."""
    if until < since:
        raise BackfillError(f"the range ends ({until}) before it starts ({since})")
    run_id = check_run_id(run_id or new_run_id())
    started = time.perf_counter()
    lake = open_lake(settings)
    done = {b.batch_id for b in lake.list_batches("clean", since, until)}
    report = BackfillReport(run_id=run_id)
    urls: list[str] = []
    for raw in lake.list_batches("raw", since, until):
        out_id = output_batch_id(raw.batch_id, run_id)
        if out_id in done:
            report.batches.append(BatchResult(raw.batch_id, raw.day, out_id, "skipped"))
        else:
            urls.append(lake.hadoop_url(raw))
    if urls:
        _configure_hadoop(spark, settings, lake)
        files = spark.sparkContext.binaryFiles(",".join(urls), minPartitions=len(urls))
        rows = files.mapPartitions(lambda part: _clean_partition(settings, run_id, part)).collect()
        report.batches.extend(BatchResult(**row) for row in rows)
    report.batches.sort(key=lambda b: b.output_batch_id)
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
