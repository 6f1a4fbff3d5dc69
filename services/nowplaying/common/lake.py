"""The lake: immutable batch files that stages hand to each other.

Layout under ``LAKE_DIR``::

    raw/<YYYY-MM-DD>/<batch_id>.jsonl.gz       Post records          (extractor)
    clean/<YYYY-MM-DD>/<batch_id>.jsonl.gz     ParsedPost records    (cleaner, spark backfill)
    enriched/<YYYY-MM-DD>/<batch_id>.csv       enriched CSV rows     (enricher)
    history/<YYYY-MM-DD>/<batch_id>.csv        loaded CSV batches    (loader)
    rejects/<YYYY-MM-DD>/<batch_id>.<stage>.jsonl  records a stage refused, with the reason

A batch is written under a hidden temporary name in its final folder, flushed to disk and then
renamed, so a reader never sees a partial file. Names starting with "." are never listed. The date
folder is the UTC day the batch was created; batch ids sort by creation time.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

AREAS = ("raw", "clean", "enriched", "history", "rejects")
SUFFIX = {"raw": ".jsonl.gz", "clean": ".jsonl.gz", "enriched": ".csv", "history": ".csv"}


class LakeError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Batch:
    area: str
    day: str
    batch_id: str
    path: Path

    @property
    def name(self) -> str:
        return self.path.name


def new_batch_id(label: str, now: datetime | None = None) -> str:
    """A sortable, unique id: UTC time to the microsecond, a label and 6 random hex digits."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    safe_label = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in label)[:40]
    return f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{safe_label}-{secrets.token_hex(3)}"


def batch_day(batch_id: str) -> str:
    """The UTC day folder of a batch id made by ``new_batch_id`` (YYYY-MM-DD)."""
    stamp = batch_id[:8]
    if len(stamp) != 8 or not stamp.isdigit():
        raise LakeError(f"batch id '{batch_id}' does not start with a YYYYMMDD date")
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Lake:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def area_dir(self, area: str) -> Path:
        if area not in AREAS:
            raise LakeError(f"unknown lake area '{area}' (one of {', '.join(AREAS)})")
        return self.root / area

    def path_for(self, area: str, batch_id: str, suffix: str | None = None) -> Path:
        return self.area_dir(area) / batch_day(batch_id) / f"{batch_id}{suffix or SUFFIX[area]}"

    # --- writing ----------------------------------------------------------------------------
    def write_bytes(self, area: str, batch_id: str, data: bytes, suffix: str | None = None) -> Batch:
        """Write a whole batch atomically (temp file, fsync, rename, fsync of the folder)."""
        final = self.path_for(area, batch_id, suffix)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{final.name}-{secrets.token_hex(4)}"
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
            _fsync_dir(final.parent)
        finally:
            if tmp.exists():
                tmp.unlink()
        return Batch(area, batch_day(batch_id), batch_id, final)

    def write_jsonl(self, area: str, batch_id: str, records: Iterable[dict[str, Any]]) -> Batch:
        buffer = io.BytesIO()
        # mtime=0 keeps the bytes of a batch a function of its content.
        with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=5, mtime=0) as gz:
            for record in records:
                gz.write(orjson.dumps(record))
                gz.write(b"\n")
        return self.write_bytes(area, batch_id, buffer.getvalue())

    # --- listing ----------------------------------------------------------------------------
    def list_batches(self, area: str, since: date | None = None, until: date | None = None) -> list[Batch]:
        """Complete batches of an area, oldest first; optionally only days in [since, until]."""
        base = self.area_dir(area)
        if not base.is_dir():
            return []
        suffix = SUFFIX.get(area, "")
        out: list[Batch] = []
        for day_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
            try:
                day = date.fromisoformat(day_dir.name)
            except ValueError:
                continue
            if (since and day < since) or (until and day > until):
                continue
            for path in sorted(day_dir.iterdir()):
                if path.name.startswith(".") or not path.name.endswith(suffix) or not path.is_file():
                    continue
                out.append(Batch(area, day_dir.name, path.name[: -len(suffix)] if suffix else path.stem, path))
        return out

    def pending(self, area: str, done: set[str]) -> list[Batch]:
        """Batches of an area whose ids are not in ``done`` (a stage's processed set)."""
        return [b for b in self.list_batches(area) if b.batch_id not in done]

    # --- reading ----------------------------------------------------------------------------
    @staticmethod
    def read_jsonl_lines(path: Path) -> Iterator[tuple[int, bytes]]:
        """(line number, raw line) of a .jsonl or .jsonl.gz file; blank lines skipped."""
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.strip()
                if line:
                    yield number, line

    def move(self, batch: Batch, to_area: str) -> Batch:
        """Move a batch to another area (same day folder, same name), atomically."""
        target = self.area_dir(to_area) / batch.day / batch.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(batch.path, target)
        _fsync_dir(target.parent)
        return Batch(to_area, batch.day, batch.batch_id, target)


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
