"""The lake in a local folder (``LAKE_DIR``): `make run`, tests, a PVC on a single-node cluster.

A batch is written to a hidden ``.tmp-<name>-<random>`` file in its final folder and fsynced, then
committed by a hard link to its final name (``link`` fails if the name exists: a create-only commit)
or, to replace, by ``rename``; the folder is fsynced after either. A writer killed before the commit
leaves only the hidden temporary, which no listing shows.

A reader is handed a hard link to the batch in the hidden ``.reading/`` folder, not the batch's own
path: another run may move the batch to its next area mid-read (two loaders on the same pending file),
and the link keeps the same bytes readable, as the S3 lake's downloaded copy does.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from nowplaying.common.lake import AREAS, STALE_TEMPORARY_S, Batch, BatchMissing, Lake, temporary_name

READING_DIR = ".reading"


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except FileNotFoundError:
        raise
    except OSError:  # a file system without hard links here: a copy holds the bytes as well
        shutil.copyfile(source, target)


def _remove_older(paths: Iterable[Path], cutoff: float, stamp: Callable[[os.stat_result], float]) -> int:
    """Remove the files whose time ``stamp`` reads from their stat is at or before ``cutoff``."""
    removed = 0
    for path in paths:
        try:
            if stamp(path.stat()) <= cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FolderLake(Lake):
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.url = self.root.resolve().as_uri()

    def area_dir(self, area: str) -> Path:
        return self.root / self.check_area(area)

    def path_of(self, batch: Batch) -> Path:
        return self.root / batch.key

    def path_for(self, area: str, batch_id: str, suffix: str | None = None) -> Path:
        return self.root / self.key_for(area, batch_id, suffix)

    @contextmanager
    def local_file(self, batch: Batch) -> Iterator[Path]:
        path = self.path_of(batch)
        reading = self.root / READING_DIR
        reading.mkdir(exist_ok=True)
        held = reading / f"{secrets.token_hex(6)}-{batch.name}"
        try:
            _link_or_copy(path, held)
        except FileNotFoundError:
            raise BatchMissing(f"{batch.key} is not in the lake at {self.url}") from None
        try:
            yield held
        finally:
            held.unlink(missing_ok=True)

    def hadoop_url(self, batch: Batch) -> str:
        return self.path_of(batch).resolve().as_uri()

    def sweep_temporaries(self, older_than_s: float = STALE_TEMPORARY_S) -> int:
        cutoff = time.time() - older_than_s
        temporaries = (tmp for area in AREAS for tmp in self.area_dir(area).glob("*/.tmp-*"))
        # and the links of a reader that was killed; a link's creation sets the file's ctime
        held = (self.root / READING_DIR).glob("*")
        return _remove_older(temporaries, cutoff, lambda st: st.st_mtime) + _remove_older(
            held, cutoff, lambda st: st.st_ctime
        )

    # --- primitives -------------------------------------------------------------------------
    def _days(self, area: str) -> list[str]:
        base = self.area_dir(area)
        if not base.is_dir():
            return []
        return [p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")]

    def _names(self, folder: str) -> list[str]:
        base = self.root / folder
        if not base.is_dir():
            return []
        return [p.name for p in base.iterdir() if p.is_file()]

    def _write_temporary(self, final: Path, data: bytes) -> Path:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / temporary_name(final.name)
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return tmp

    def _create(self, key: str, data: bytes) -> bool:
        final = self.root / key
        tmp = self._write_temporary(final, data)
        try:
            created = self._commit(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(final.parent)
        return created

    def _commit(self, tmp: Path, final: Path) -> bool:
        """The commit of a create: a hard link, which the kernel refuses if ``final`` exists."""
        try:
            os.link(tmp, final)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            # a file system without hard links (some network mounts): check, then rename
            if final.exists():
                return False
            os.replace(tmp, final)
        return True

    def _replace(self, key: str, data: bytes) -> None:
        final = self.root / key
        tmp = self._write_temporary(final, data)
        try:
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(final.parent)

    def _exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def _read(self, key: str) -> bytes:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            raise BatchMissing(f"{key} is not in the lake at {self.url}") from None

    def _move(self, source: str, target: str) -> None:
        src, dst = self.root / source, self.root / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(src, dst)
        except FileNotFoundError:
            if dst.is_file():
                return  # moved already (a redone move, or another run's)
            raise BatchMissing(f"{source} is not in the lake at {self.url}") from None
        _fsync_dir(dst.parent)
