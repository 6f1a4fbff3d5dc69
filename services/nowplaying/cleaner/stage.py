"""The cleaner's I/O edges: raw/ batches to clean/ batches, and one JSONL file to another.

Lines are decoded and validated one by one: an invalid line (bad JSON, invalid UTF-8, nesting deeper
than orjson allows, a field of the wrong type, a 10 MB text) is refused with its line number and
reason and the rest of the batch goes on. A clean batch keeps the raw batch's id, so a re-run
overwrites it; the batch is marked done only after the clean batch is durably written.
"""

from __future__ import annotations

import gzip
import os
import secrets
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import orjson
from prometheus_client import Counter

from nowplaying.cleaner.core import clean_record, mark_rate_bots
from nowplaying.common.lake import Batch, Lake, open_lake
from nowplaying.common.logging import get_logger
from nowplaying.common.models import KINDS, PARSED_POST_FIELDS, SOURCES, ParsedPost, RecordError, parse_rfc3339

log = get_logger(__name__)

STAGE = "clean"
REJECT_SUFFIX = ".clean.jsonl"
REJECT_RECORD_CHARS = 2000
RATE_WINDOW_POSTS = 10_000


@dataclass
class LineOutcome:
    """The result of one input line: a ParsedPost, or a reason it was refused."""

    line: int
    parsed: ParsedPost | None = None
    reason: str | None = None
    text: bytes = b""
    echo: dict[str, Any] = field(default_factory=dict)  # --in/--out: input values written back as given


@dataclass
class BatchSummary:
    batch_id: str
    items_in: int = 0
    items_out: int = 0
    rejected: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    bots: int = 0
    by_author: dict[tuple[str, str], int] = field(default_factory=dict)


def parsed_to_dict(parsed: ParsedPost) -> dict[str, Any]:
    """The JSON-ready record (faster than ``dataclasses.asdict``, which deep-copies ``raw``)."""
    return {name: getattr(parsed, name) for name in PARSED_POST_FIELDS}


def _valid_source(value: Any) -> bool:
    return isinstance(value, str) and value in SOURCES


def _valid_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_rfc3339(value)
    except (RecordError, ValueError):
        return False
    return True


def complete_metadata(obj: dict[str, Any], number: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """For ``--in`` files: a post that has its ``text`` but lacks metadata the cleaner does not read
    (``source``, ``post_id``, ``created_at``, ``author_id``), or holds it in another shape (an X
    API ``id``, a date that is not RFC 3339, a source this project does not extract), is cleaned
    anyway. Returns the object to validate and what to write back in the output instead of the
    placeholders: the input's own values (``post_id`` falls back to ``id``, then ``line-N``)."""
    completed = dict(obj)
    echo: dict[str, Any] = {}
    post_id = obj.get("post_id")
    if not isinstance(post_id, str) or not post_id:
        fallback = obj.get("id")
        usable = isinstance(fallback, str | int) and not isinstance(fallback, bool) and str(fallback)
        completed["post_id"] = echo["post_id"] = str(fallback) if usable else f"line-{number}"
    if not isinstance(obj.get("author_id"), str):
        # a distinct placeholder per line, so unknown authors never add up to one busy "bot"
        completed["author_id"] = f"unknown-{number}"
        echo["author_id"] = obj.get("author_id")
    if not _valid_source(obj.get("source")):
        completed["source"] = "sandbox"
        echo["source"] = obj.get("source")
    if not _valid_time(obj.get("created_at")):
        completed["created_at"] = "1970-01-01T00:00:00Z"
        echo["created_at"] = obj.get("created_at")
    return completed, echo


def clean_line(number: int, line: bytes, lenient: bool = False) -> LineOutcome:
    """Decode, validate and clean one JSONL line; never raises. ``lenient``: see ``complete_metadata``."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return LineOutcome(number, reason=f"invalid JSON: {exc}", text=line)
    try:
        return LineOutcome(number, parsed=clean_record(obj))
    except RecordError as exc:
        if lenient and isinstance(obj, dict):
            if not isinstance(obj.get("text"), str):
                missing = "text" not in obj or obj["text"] is None
                reason = "missing field 'text'" if missing else "field 'text' must be a string"
                return LineOutcome(number, reason=reason, text=line)
            completed, echo = complete_metadata(obj, number)
            if echo:
                return _clean_completed(number, line, completed, echo)
        return LineOutcome(number, reason=str(exc), text=line)
    except RecursionError:
        return LineOutcome(number, reason="record is nested too deeply", text=line)


def _clean_completed(number: int, line: bytes, obj: dict[str, Any], echo: dict[str, Any]) -> LineOutcome:
    try:
        return LineOutcome(number, parsed=clean_record(obj), echo=echo)
    except RecordError as exc:
        return LineOutcome(number, reason=str(exc), text=line)


def clean_lines(lines: Iterable[tuple[int, bytes]], lenient: bool = False) -> Iterator[LineOutcome]:
    """Clean numbered lines in order; authors posting faster than a person can are marked as bots
    within windows of ``RATE_WINDOW_POSTS`` posts."""
    window: list[LineOutcome] = []
    for number, line in lines:
        window.append(clean_line(number, line, lenient))
        if len(window) >= RATE_WINDOW_POSTS:
            yield from _flush(window)
            window = []
    yield from _flush(window)


def _flush(window: list[LineOutcome]) -> list[LineOutcome]:
    mark_rate_bots([o.parsed for o in window if o.parsed is not None])
    return window


def reject_record(outcome: LineOutcome) -> dict[str, Any]:
    return {
        "line": outcome.line,
        "reason": outcome.reason,
        "record": outcome.text[:REJECT_RECORD_CHARS].decode("utf-8", errors="replace"),
    }


# --- the lake stage --------------------------------------------------------------------------
class CleanMetrics:
    """Cleaner-specific metrics, in the run's registry."""

    def __init__(self, registry: Any) -> None:
        self.posts = Counter(
            "nowplaying_clean_posts",
            "Posts the cleaner wrote, by kind and author type",
            ["kind", "author"],
            registry=registry,
        )
        for kind in KINDS:
            for author in ("person", "bot"):
                self.posts.labels(kind, author)


def clean_batch(lake: Lake, batch: Batch) -> BatchSummary:
    """Clean one raw batch into ``clean/`` (same batch id) and its refused lines into ``rejects/``."""
    summary = BatchSummary(batch.batch_id)
    records: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    for outcome in clean_lines(lake.read_jsonl_lines(batch)):
        summary.items_in += 1
        if outcome.parsed is None:
            summary.rejected += 1
            rejects.append(reject_record(outcome))
            continue
        parsed = outcome.parsed
        records.append(parsed_to_dict(parsed))
        summary.kinds[parsed.kind] = summary.kinds.get(parsed.kind, 0) + 1
        summary.bots += parsed.is_bot
        key = (parsed.kind, "bot" if parsed.is_bot else "person")
        summary.by_author[key] = summary.by_author.get(key, 0) + 1
    if rejects:
        data = b"".join(orjson.dumps(r) + b"\n" for r in rejects)
        lake.write_bytes("rejects", batch.batch_id, data, suffix=REJECT_SUFFIX)
        log.warning("records_rejected", batch=batch.batch_id, rejected=len(rejects), first=rejects[0]["reason"])
    lake.write_jsonl("clean", batch.batch_id, records)
    summary.items_out = len(records)
    return summary


def run_once(settings: Any, session: Any | None = None) -> list[BatchSummary]:
    """Clean every pending raw batch once (a CronJob run). Returns the summaries of the batches done."""
    from nowplaying.common.cassandra import ProgressStore, connect, shutdown
    from nowplaying.common.metrics import StageMetrics
    from nowplaying.common.stage import stage_run

    own_session = session is None
    if session is None:
        session = connect(settings)
    try:
        lake = open_lake(settings)
        lake.sweep_temporaries()
        progress = ProgressStore(session, settings.cassandra_keyspace)
        raw = lake.list_batches("raw")
        done = progress.done_ids(STAGE, {b.day for b in raw})
        pending = [b for b in raw if b.batch_id not in done]
        metrics = StageMetrics(STAGE)
        clean_metrics = CleanMetrics(metrics.registry)
        summaries: list[BatchSummary] = []
        with stage_run(STAGE, session, settings, metrics) as run:
            run.detail["pending_batches"] = len(pending)
            for batch in pending:
                try:
                    summary = clean_batch(lake, batch)
                except (OSError, EOFError, gzip.BadGzipFile) as exc:
                    # An unreadable raw batch stays pending (it may be repaired); the others go on.
                    run.add_error("unreadable_batch")
                    run.detail.setdefault("unreadable", []).append(batch.batch_id)
                    log.error("batch_unreadable", batch=batch.batch_id, error=f"{type(exc).__name__}: {exc}")
                    continue
                output = lake.key_for("clean", batch.batch_id)
                progress.mark_done(STAGE, batch.day, batch.batch_id, summary.items_in, summary.items_out, output)
                run.add_in(summary.items_in)
                run.add_out(summary.items_out)
                if summary.rejected:
                    run.add_error("invalid_record", summary.rejected)
                for (kind, author), n in summary.by_author.items():
                    clean_metrics.posts.labels(kind, author).inc(n)
                log.info(
                    "batch_cleaned",
                    batch=batch.batch_id,
                    items_in=summary.items_in,
                    items_out=summary.items_out,
                    rejected=summary.rejected,
                    kinds=summary.kinds,
                    bots=summary.bots,
                )
                summaries.append(summary)
            run.detail["batches"] = len(summaries)
        return summaries
    finally:
        if own_session:
            shutdown(session)


# --- one file to another ---------------------------------------------------------------------
class InputError(RuntimeError):
    """The input file could not be read at all."""


def _open_input(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        if path.endswith(".gz"):
            return cast(IO[bytes], gzip.open(path, "rb"))
        return open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _numbered(handle: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(handle, start=1):
        line = line.strip()
        if line:
            yield number, line


@dataclass
class FileSummary:
    lines: int = 0
    written: int = 0
    rejected: int = 0
    completed: int = 0  # lines cleaned although they lacked Post metadata (see complete_metadata)
    kinds: dict[str, int] = field(default_factory=dict)


def clean_file(in_path: str, out_path: str, errors: IO[str] | None = None) -> FileSummary:
    """Clean a JSONL file of Posts into a JSONL file of ParsedPosts, in input order.

    Each invalid line is reported on ``errors`` as ``line N: <reason>`` and skipped. The output is
    written to a temporary name and renamed when complete. Raises ``InputError`` when the input
    cannot be read (missing, unreadable, a broken gzip stream)."""
    errors = errors or sys.stderr
    summary = FileSummary()
    handle = _open_input(in_path)
    to_stdout = out_path == "-"
    tmp: Path | None = None
    if to_stdout:
        out: IO[bytes] = sys.stdout.buffer
    else:
        final = Path(out_path)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{final.name}-{secrets.token_hex(4)}"
        out = open(tmp, "wb")  # noqa: SIM115 - closed in the finally below, renamed only when complete
    try:
        try:
            for outcome in clean_lines(_numbered(handle), lenient=True):
                summary.lines += 1
                if outcome.parsed is None:
                    summary.rejected += 1
                    errors.write(f"line {outcome.line}: {outcome.reason}\n")
                    continue
                if outcome.echo:
                    summary.completed += 1
                out.write(orjson.dumps({**parsed_to_dict(outcome.parsed), **outcome.echo}))
                out.write(b"\n")
                summary.written += 1
                kind = outcome.parsed.kind
                summary.kinds[kind] = summary.kinds.get(kind, 0) + 1
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise InputError(f"cannot read {in_path}: {exc}") from exc
        out.flush()
        if tmp is not None:
            os.fsync(out.fileno())
            out.close()
            os.replace(tmp, out_path)
            tmp = None
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()
        if tmp is not None:
            out.close()
            tmp.unlink(missing_ok=True)
    return summary
