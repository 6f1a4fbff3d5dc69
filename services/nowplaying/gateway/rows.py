"""Plays as the API shows them: a ``plays_by_hour`` row to a Play object, to a CSV line, to a JSON line."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import orjson

from nowplaying.common.models import AUDIO_FEATURES, ENRICHED_CSV_COLUMNS, format_rfc3339
from nowplaying.gateway.query import as_utc, is_matched

# The columns the gateway reads from plays_by_hour, in this order.
PLAY_COLUMNS = (
    "played_at", "source", "post_id", "author_id", "text", "url", "is_bot", "matched", "track_id",
    "track_name", "artist_ids", "artist_names", "album", "release_date", "popularity", "duration_ms",
    "match_method", "match_confidence", "features_source", *AUDIO_FEATURES, "match_candidate", "match_rule",
    "lang",
)  # fmt: skip

FLOAT_FEATURES = tuple(f for f in AUDIO_FEATURES if f not in ("key", "time_signature", "mode"))
INT_FEATURES = ("key", "time_signature", "mode")


def as_dict(row: Any) -> dict[str, Any]:
    """A driver row (named tuple or dict) as a dict."""
    if isinstance(row, dict):
        return row
    return dict(row._asdict())


def time_text(value: datetime | None) -> str | None:
    return format_rfc3339(as_utc(value)) if value is not None else None


def round_float(value: float | None, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def play_object(row: Mapping[str, Any]) -> dict[str, Any]:
    """The API's Play from a ``plays_by_hour`` row."""
    out: dict[str, Any] = {
        "source": row["source"],
        "post_id": row["post_id"],
        "played_at": time_text(row["played_at"]),
        "author_id": row.get("author_id") or "",
        "text": row.get("text") or "",
        "url": row.get("url"),
        "is_bot": bool(row.get("is_bot")),
        "matched": is_matched(row),
        "track_id": row.get("track_id") or None,
        "track_name": row.get("track_name"),
        "artist_ids": list(row.get("artist_ids") or []),
        "artist_names": list(row.get("artist_names") or []),
        "album": row.get("album"),
        "release_date": row.get("release_date"),
        "popularity": row.get("popularity"),
        "duration_ms": row.get("duration_ms"),
        "match_method": row.get("match_method"),
        "match_confidence": round_float(row.get("match_confidence"), 3),
        "features_source": row.get("features_source") or None,
        "match_candidate": row.get("match_candidate"),
        "match_rule": row.get("match_rule") or None,
        "lang": row.get("lang") or None,
    }
    for name in FLOAT_FEATURES:
        out[name] = round_float(row.get(name))
    for name in INT_FEATURES:
        out[name] = row.get(name)
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def csv_record(play: Mapping[str, Any]) -> list[str]:
    """One enriched-CSV line (the columns of ``ENRICHED_CSV_COLUMNS``) from a Play object."""
    names = {
        "id_tweet": play["post_id"],
        "created_at": play["played_at"],
        "url_tweet": play["url"],
        "id_track": play["track_id"],
        "name": play["track_name"],
        "artists_id": orjson.dumps(play["artist_ids"]).decode() if play["artist_ids"] else "",
        "artists_name": orjson.dumps(play["artist_names"]).decode() if play["artist_names"] else "",
    }
    return [_cell(names[col] if col in names else play.get(col)) for col in ENRICHED_CSV_COLUMNS]


def csv_lines(plays: Iterable[Mapping[str, Any]], chunk_rows: int = 500) -> Iterator[bytes]:
    """The header, then the plays, in chunks of CSV text (streamed by the export)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(ENRICHED_CSV_COLUMNS)
    pending = 1
    for play in plays:
        writer.writerow(csv_record(play))
        pending += 1
        if pending >= chunk_rows:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    tail = buffer.getvalue()
    if tail:
        yield tail.encode("utf-8")


def ndjson_lines(plays: Iterable[Mapping[str, Any]], chunk_rows: int = 500) -> Iterator[bytes]:
    chunk: list[bytes] = []
    for play in plays:
        chunk.append(orjson.dumps(play) + b"\n")
        if len(chunk) >= chunk_rows:
            yield b"".join(chunk)
            chunk = []
    if chunk:
        yield b"".join(chunk)
