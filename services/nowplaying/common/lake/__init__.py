"""The lake: immutable batch files that stages hand to each other.

One interface, two backends: a local folder (``LAKE_DIR``, the default) and S3-compatible object
storage (``LAKE_URL=s3://bucket/prefix``). ``open_lake(settings)`` gives the configured one. Layout,
under the folder or the bucket prefix::

    raw/<YYYY-MM-DD>/<batch_id>.jsonl.gz       Post records          (extractor)
    clean/<YYYY-MM-DD>/<batch_id>.jsonl.gz     ParsedPost records    (cleaner, spark backfill)
    enriched/<YYYY-MM-DD>/<batch_id>.csv       enriched CSV rows     (enricher)
    history/<YYYY-MM-DD>/<batch_id>.csv        loaded CSV batches    (loader)
    rejects/<YYYY-MM-DD>/<batch_id>.<stage>.jsonl  records a stage refused, with the reason

Guarantees, the same on both backends:

- A batch is visible only when complete. It is written whole under a temporary name that no listing
  shows, then committed: on the folder a hard link (create only, atomic), on S3 a copy with
  ``If-None-Match: *`` (create only). A writer killed between the write and the commit leaves only the
  temporary, which ``sweep_temporaries`` removes once it is old; the stage never marked the batch
  done, so its next run writes it again.
- A commit never replaces a batch: the first complete version of a batch id wins and a second writer
  (a re-run, or a racing process) keeps it (``write_bytes(..., replace=True)`` is for the reject lists,
  which a re-run rewrites).
- Listing shows every committed batch of an area (S3 listings are paged, so any number), oldest first.
- ``move`` (enriched → history) can be redone after a crash at any point: a batch already at its
  target is not copied again, and one missing at its source but present at its target was moved.

The date folder is the UTC day the batch was created; batch ids sort by creation time.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from nowplaying.common.config import Settings

AREAS = ("raw", "clean", "enriched", "history", "rejects")
SUFFIX = {"raw": ".jsonl.gz", "clean": ".jsonl.gz", "enriched": ".csv", "history": ".csv"}
# Temporaries older than this are left by a writer that died; younger ones may be a live write.
STALE_TEMPORARY_S = 3600.0


class LakeError(RuntimeError):
    """A lake operation that cannot succeed as asked (unknown area, malformed id, bad URL)."""


class LakeUnavailable(LakeError):
    """The lake's storage did not answer (the S3 server is down or refuses us); nothing was changed."""


class BatchMissing(LakeError):
    """The batch is not (or no longer) in the lake: another run moved it, or it was never written."""


@dataclass(frozen=True, slots=True)
class Batch:
    area: str
    day: str
    batch_id: str
    name: str

    @property
    def key(self) -> str:
        """Where the batch lives, relative to the lake's root: ``<area>/<day>/<name>``."""
        return f"{self.area}/{self.day}/{self.name}"


def new_batch_id(label: str, now: datetime | None = None) -> str:
    """A sortable, unique id: UTC time to the microsecond, a label and 6 random hex digits."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    safe_label = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in label)[:40]
    return f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{safe_label}-{secrets.token_hex(3)}"


# A batch made again from the raw lake (Spark's backfill) is ``<raw batch id>_bf<run id>``. Its plays
# were loaded before under the old id, so the loader compares them with what is stored (re-enrichment).
REWORK_MARK = "_bf"


def rework_batch_id(raw_batch_id: str, run_id: str) -> str:
    return f"{raw_batch_id}{REWORK_MARK}{run_id}"


def is_rework_batch(batch_id: str) -> bool:
    head, mark, run_id = batch_id.rpartition(REWORK_MARK)
    return bool(head and mark and run_id.isalnum())


def batch_day(batch_id: str) -> str:
    """The UTC day folder of a batch id made by ``new_batch_id`` (YYYY-MM-DD)."""
    stamp = batch_id[:8]
    if len(stamp) != 8 or not stamp.isdigit():
        raise LakeError(f"batch id '{batch_id}' does not start with a YYYYMMDD date")
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"


def temporary_name(name: str) -> str:
    """A hidden, unique name for the bytes of ``name`` before they are committed."""
    return f".tmp-{name}-{secrets.token_hex(4)}"


def gzip_jsonl(records: Iterable[dict[str, Any]]) -> bytes:
    buffer = io.BytesIO()
    # mtime=0 keeps the bytes of a batch a function of its content.
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=5, mtime=0) as gz:
        for record in records:
            gz.write(orjson.dumps(record))
            gz.write(b"\n")
    return buffer.getvalue()


def jsonl_lines(data: bytes, gzipped: bool) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line) of the bytes of a .jsonl or .jsonl.gz batch; blank lines skipped."""
    stream: io.BufferedIOBase = io.BytesIO(data)
    if gzipped:
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    with stream:
        for number, line in enumerate(stream, start=1):
            line = line.strip()
            if line:
                yield number, line


def read_jsonl_file(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line) of a local .jsonl or .jsonl.gz file."""
    return jsonl_lines(path.read_bytes(), path.name.endswith(".gz"))


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Lake(ABC):
    """What the stages see of the lake. Backends implement the key-level primitives at the bottom."""

    #: where the lake is, for messages (never holds a secret)
    url: str

    # --- names ------------------------------------------------------------------------------
    @staticmethod
    def check_area(area: str) -> str:
        if area not in AREAS:
            raise LakeError(f"unknown lake area '{area}' (one of {', '.join(AREAS)})")
        return area

    def batch_for(self, area: str, batch_id: str, suffix: str | None = None) -> Batch:
        self.check_area(area)
        return Batch(area, batch_day(batch_id), batch_id, f"{batch_id}{suffix or SUFFIX[area]}")

    def key_for(self, area: str, batch_id: str, suffix: str | None = None) -> str:
        return self.batch_for(area, batch_id, suffix).key

    # --- writing ----------------------------------------------------------------------------
    def write_bytes(
        self, area: str, batch_id: str, data: bytes, suffix: str | None = None, *, replace: bool = False
    ) -> Batch:
        """Write a whole batch: temporary name, then commit. Returns the batch, committed.

        Without ``replace`` an existing batch of that name is kept (the first complete version wins);
        with it, the new bytes replace it atomically.
        """
        batch = self.batch_for(area, batch_id, suffix)
        if replace:
            self._replace(batch.key, data)
        elif not self._create(batch.key, data):
            self._log_kept(batch)
        return batch

    def write_jsonl(self, area: str, batch_id: str, records: Iterable[dict[str, Any]]) -> Batch:
        return self.write_bytes(area, batch_id, gzip_jsonl(records))

    @staticmethod
    def _log_kept(batch: Batch) -> None:
        from nowplaying.common.logging import get_logger

        get_logger(__name__).info("lake_batch_exists", key=batch.key, kept="the committed version")

    # --- listing ----------------------------------------------------------------------------
    def list_batches(self, area: str, since: date | None = None, until: date | None = None) -> list[Batch]:
        """Committed batches of an area, oldest first; optionally only days in [since, until]."""
        self.check_area(area)
        suffix = SUFFIX.get(area, "")
        out: list[Batch] = []
        for day_name in sorted(self._days(area)):
            try:
                day = date.fromisoformat(day_name)
            except ValueError:
                continue
            if (since and day < since) or (until and day > until):
                continue
            for name in sorted(self._names(f"{area}/{day_name}/")):
                if name.startswith(".") or not name.endswith(suffix):
                    continue
                batch_id = name[: -len(suffix)] if suffix else name.rsplit(".", 1)[0]
                out.append(Batch(area, day_name, batch_id, name))
        return out

    def pending(self, area: str, done: set[str]) -> list[Batch]:
        """Batches of an area whose ids are not in ``done`` (a stage's processed set)."""
        return [b for b in self.list_batches(area) if b.batch_id not in done]

    def exists(self, area: str, batch_id: str, suffix: str | None = None) -> bool:
        return self._exists(self.key_for(area, batch_id, suffix))

    def has(self, batch: Batch) -> bool:
        return self._exists(batch.key)

    # --- reading ----------------------------------------------------------------------------
    def read_bytes(self, batch: Batch) -> bytes:
        """The whole batch. ``BatchMissing`` if it is not there."""
        return self._read(batch.key)

    def read_jsonl_lines(self, batch: Batch) -> Iterator[tuple[int, bytes]]:
        """(line number, raw line) of a .jsonl or .jsonl.gz batch; blank lines skipped."""
        return jsonl_lines(self.read_bytes(batch), batch.name.endswith(".gz"))

    def checksum(self, batch: Batch) -> str:
        return hashlib.sha256(self.read_bytes(batch)).hexdigest()

    @abstractmethod
    def local_file(self, batch: Batch) -> AbstractContextManager[Path]:
        """A local file holding the batch's bytes while the context lasts (the loader reads ranges)."""

    @abstractmethod
    def hadoop_url(self, batch: Batch) -> str:
        """The batch's URL for Spark's Hadoop file systems (``file:`` or ``s3a:``)."""

    # --- moving -----------------------------------------------------------------------------
    def move(self, batch: Batch, to_area: str, name: str | None = None) -> Batch:
        """Move a batch to another area (same day folder; same name unless given). Safe to redo after a
        crash at any point, and against a second run doing the same move."""
        self.check_area(to_area)
        target = Batch(to_area, batch.day, batch.batch_id, name or batch.name)
        self._move(batch.key, target.key)
        return target

    # --- housekeeping -----------------------------------------------------------------------
    @abstractmethod
    def sweep_temporaries(self, older_than_s: float = STALE_TEMPORARY_S) -> int:
        """Delete temporaries that writers left uncommitted (killed mid-write); returns how many."""

    # --- backend primitives (keys are relative to the lake's root) --------------------------
    @abstractmethod
    def _days(self, area: str) -> list[str]:
        """The day folder names of an area."""

    @abstractmethod
    def _names(self, folder: str) -> list[str]:
        """The file names directly in ``folder`` (``<area>/<day>/``), temporaries included."""

    @abstractmethod
    def _create(self, key: str, data: bytes) -> bool:
        """Write ``data`` under a temporary name, then commit it to ``key`` only if ``key`` is absent.
        True if this call created it, False if it existed (the temporary is then discarded)."""

    @abstractmethod
    def _replace(self, key: str, data: bytes) -> None:
        """Write ``data`` to ``key`` atomically, replacing what was there."""

    @abstractmethod
    def _exists(self, key: str) -> bool: ...

    @abstractmethod
    def _read(self, key: str) -> bytes: ...

    @abstractmethod
    def _move(self, source: str, target: str) -> None:
        """Move ``source`` to ``target`` (replacing it); nothing to do if only ``target`` exists."""


def open_lake(settings: Settings) -> Lake:
    """The lake the settings name: ``LAKE_URL`` (``s3://bucket/prefix`` or ``file:///path``), else ``LAKE_DIR``."""
    url = (settings.lake_url or "").strip()
    if url.startswith(("s3://", "s3a://")):
        from nowplaying.common.lake.s3 import S3Lake

        return S3Lake.from_settings(settings)
    if url.startswith("file://"):
        return FolderLake(Path(url.removeprefix("file://")))
    if url:
        raise LakeError(f"LAKE_URL '{url}' is neither s3://bucket/prefix nor file:///path")
    return FolderLake(settings.lake_dir)


# The folder backend is part of the interface's module (tests and tools name it); S3 loads on demand.
from nowplaying.common.lake.folder import FolderLake  # noqa: E402

__all__ = [
    "AREAS", "SUFFIX", "Batch", "BatchMissing", "FolderLake", "Lake", "LakeError", "LakeUnavailable",
    "batch_day", "file_checksum", "gzip_jsonl", "jsonl_lines", "new_batch_id", "open_lake", "read_jsonl_file",
]  # fmt: skip
