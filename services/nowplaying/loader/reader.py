"""Reading an enriched CSV file: the header, and record-aligned byte ranges for parallel workers.

A CSV record may span several physical lines (a post's text can contain newlines inside quotes).
Because quotes inside a quoted field are doubled, a physical line ends a record exactly when the
number of quote characters seen since the record began is even; ``split_ranges`` uses that to cut
the file only between records.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nowplaying.loader.rows import N_COLUMNS, HeaderError, check_header


@dataclass(frozen=True)
class Range:
    """Bytes [start, end) of a file holding whole records; ``first_line`` is the physical line at ``start``."""

    start: int
    end: int
    first_line: int
    columns: int = N_COLUMNS  # the width the file's header declared


@dataclass(frozen=True)
class Header:
    """Where a file's data records begin, and how many columns its header declared."""

    data_start: int
    columns: int

    def whole_file(self, path: Path) -> Range:
        return Range(self.data_start, path.stat().st_size, 2, self.columns)


def read_header(path: Path) -> Header:
    """Check the header line; return where the data records begin and the file's width."""
    with open(path, "rb") as handle:
        raw = handle.readline()
    if not raw:
        raise HeaderError("file is empty (no header line)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HeaderError("header line is not valid UTF-8") from None
    fields = next(csv.reader([text]), [])
    return Header(len(raw), check_header(fields))


def split_ranges(path: Path, header: Header, parts: int) -> list[Range]:
    """Cut the data records (after the header) into at most ``parts`` ranges of similar size."""
    size = path.stat().st_size
    data_start, columns = header.data_start, header.columns
    if parts <= 1 or size - data_start <= 0:
        return [header.whole_file(path)]
    step = (size - data_start) / parts
    targets = [data_start + round(step * i) for i in range(1, parts)]
    ranges: list[Range] = []
    start, start_line = data_start, 2
    offset, line = data_start, 2
    open_quotes = False
    with open(path, "rb") as handle:
        handle.seek(data_start)
        for raw in handle:
            offset += len(raw)
            line += 1
            if raw.count(b'"') % 2:
                open_quotes = not open_quotes
            if not open_quotes and targets and offset >= targets[0]:
                ranges.append(Range(start, offset, start_line, columns))
                start, start_line = offset, line
                while targets and targets[0] <= offset:
                    targets.pop(0)
    if start < size:
        ranges.append(Range(start, size, start_line, columns))
    return ranges


def iter_lines(path: Path, part: Range, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
    """The raw physical lines of a range, with their line ends."""
    remaining = part.end - part.start
    with open(path, "rb", buffering=chunk_bytes) as handle:
        handle.seek(part.start)
        for raw in handle:
            if remaining <= 0:
                return
            remaining -= len(raw)
            yield raw
