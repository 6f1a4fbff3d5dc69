"""Pure core of the loader: enriched CSV records into typed plays, and the rows each table gets.

Nothing here does I/O. ``read_records`` turns the raw lines of a CSV file into (line, fields) or
(line, error) items; ``parse_play`` validates one record's fields into a ``Play`` or raises
``RowError`` naming the column; the ``*_values`` functions give the bind values of each table's
prepared INSERT, in the order of the ``*_COLUMNS`` tuples.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

import orjson
from cassandra.query import UNSET_VALUE

from nowplaying.common.aggjournal import SEGMENT_MINUTES
from nowplaying.common.models import (
    AUDIO_FEATURES,
    ENRICHED_CSV_COLUMNS,
    LEGACY_CSV_COLUMNS,
    MAX_TEXT_CHARS,
    PRE_LANG_CSV_COLUMNS,
    SOURCES,
    RecordError,
    parse_rfc3339,
)

# Longest value accepted in a column other than `text` (ids, names, urls, album, ...).
MAX_FIELD_CHARS = 2_000
# A record longer than this is refused before parsing (the csv module's own limit is raised to it).
MAX_RECORD_CHARS = 1_000_000
N_COLUMNS = len(ENRICHED_CSV_COLUMNS)
N_LEGACY_COLUMNS = len(LEGACY_CSV_COLUMNS)  # files written before match_candidate/match_rule
N_PRE_LANG_COLUMNS = len(PRE_LANG_CSV_COLUMNS)  # files written before lang
_INDEX = {name: i for i, name in enumerate(ENRICHED_CSV_COLUMNS)}
_FLOAT_FEATURES = ("danceability", "energy", "loudness", "speechiness", "acousticness", "instrumentalness",
                   "liveness", "valence", "tempo")  # fmt: skip
_INT_FEATURES = ("key", "time_signature", "mode")
_BOOLS = {"true": True, "false": False}


class RowError(ValueError):
    """A record that cannot be loaded; the message names the column and the value's problem."""


class HeaderError(ValueError):
    """The file's header is not the enriched CSV header: nothing in it can be loaded."""


@dataclass(slots=True)
class Play:
    """One enriched CSV row, typed. Missing values are None (a missing feature is never 0)."""

    source: str
    post_id: str
    played_at: datetime  # UTC, millisecond precision
    author_id: str
    text: str
    url: str
    is_bot: bool
    track_id: str | None
    track_name: str | None
    artist_ids: list[str]
    artist_names: list[str]
    album: str | None
    release_date: str | None
    popularity: int | None
    duration_ms: int | None
    match_method: str | None
    match_confidence: float | None
    features_source: str | None
    features: dict[str, float | int | None]
    match_candidate: int | None = None  # which reading of the post matched (its index in candidates)
    match_rule: str | None = None  # that reading's rule
    lang: str | None = None  # the post's language, when the source gave one

    @property
    def matched(self) -> bool:
        return self.track_id is not None

    @property
    def bucket(self) -> str:
        """The plays_by_hour partition: the UTC hour 'YYYY-MM-DDTHH'."""
        return (
            f"{self.played_at.year:04d}-{self.played_at.month:02d}-{self.played_at.day:02d}T{self.played_at.hour:02d}"
        )

    @property
    def segment(self) -> str:
        """The aggregate journal's unit (``nowplaying.common.aggjournal``): the bucket and the play's
        5-minute slot of it, 'YYYY-MM-DDTHH:MM'."""
        minute = self.played_at.minute
        return f"{self.bucket}:{minute - minute % SEGMENT_MINUTES:02d}"

    @property
    def month(self) -> str:
        """The plays_by_track partition month 'YYYY-MM'."""
        return f"{self.played_at.year:04d}-{self.played_at.month:02d}"

    @property
    def has_features(self) -> bool:
        return any(value is not None for value in self.features.values())

    def size_estimate(self) -> int:
        """Rough bytes this play takes in a plays_by_hour write (for batch sizing)."""
        return 300 + 3 * (len(self.text) + len(self.url) + len(self.track_name or "")) + 30 * len(self.artist_ids)


# --- reading -----------------------------------------------------------------------------------
def check_header(fields: list[str]) -> int:
    """The enriched CSV header, or the one of a file written before the `lang` column or before the
    match-reading columns.

    Returns the file's number of columns: every record of the file must have that many."""
    names = tuple(field.strip().lstrip("\ufeff") for field in fields)
    if names in (ENRICHED_CSV_COLUMNS, PRE_LANG_CSV_COLUMNS, LEGACY_CSV_COLUMNS):
        return len(names)
    shown = ",".join(fields)[:200]
    raise HeaderError(
        f"header is not the enriched CSV header ({N_COLUMNS} columns from id_tweet to lang, or the older"
        f" {N_PRE_LANG_COLUMNS} to match_rule or {N_LEGACY_COLUMNS} to is_bot); got: {shown}"
    )


def _decoded_lines(lines: Iterable[bytes], bad_lines: set[int], first_line: int) -> Iterator[str]:
    """Decode each physical line; a line that is not UTF-8 is recorded (its record is refused later) and
    decoded with replacement characters so the CSV structure around it stays intact."""
    number = first_line - 1
    for raw in lines:
        number += 1
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            bad_lines.add(number)
            yield raw.decode("utf-8", errors="replace")


def read_records(lines: Iterable[bytes], first_line: int = 1) -> Iterator[tuple[int, list[str] | str]]:
    """(line number, fields) for each CSV record, or (line number, error message) for one that cannot be read.

    ``lines`` are raw physical lines (bytes, with their line ends) starting at physical line
    ``first_line``; the number reported is the physical line where the record starts. Records with
    invalid UTF-8 or over ``MAX_RECORD_CHARS`` become errors; reading goes on after them.
    """
    bad_lines: set[int] = set()
    reader = csv.reader(_decoded_lines(lines, bad_lines, first_line), strict=False)
    last_end = first_line - 1  # physical lines consumed so far (absolute)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            start = last_end + 1
            last_end = first_line - 1 + reader.line_num
            yield start, f"unreadable CSV record: {exc}"
            continue
        start = last_end + 1
        last_end = first_line - 1 + reader.line_num
        if not fields:
            continue  # a blank line
        if bad_lines and any(start <= n <= last_end for n in bad_lines):
            yield start, "invalid UTF-8 in the record"
            continue
        yield start, fields


csv.field_size_limit(MAX_RECORD_CHARS)


# --- validation --------------------------------------------------------------------------------
def _text_field(fields: list[str], name: str, limit: int = MAX_FIELD_CHARS) -> str:
    value = fields[_INDEX[name]]
    if len(value) > limit:
        raise RowError(f"column '{name}' is {len(value)} characters, over the limit of {limit}")
    return value


def _optional(fields: list[str], name: str) -> str | None:
    value = _text_field(fields, name)
    return value if value else None


def _int(value: str, name: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        raise RowError(f"column '{name}' is not an integer: '{value[:40]}'") from None
    if not number.is_integer():
        raise RowError(f"column '{name}' is not an integer: '{value[:40]}'")
    return int(number)


def _float(value: str, name: str) -> float | None:
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise RowError(f"column '{name}' is not a number: '{value[:40]}'") from None
    if not math.isfinite(number):
        raise RowError(f"column '{name}' is not a finite number: '{value[:40]}'")
    return number


def _int_in(value: str, name: str, low: int, high: int) -> int | None:
    number = _int(value, name)
    if number is not None and not low <= number <= high:
        raise RowError(f"column '{name}' is {number}, outside {low}..{high}")
    return number


def _list(value: str, name: str) -> list[str]:
    """A multi-valued column: empty, one plain value, or a JSON array of strings."""
    if not value:
        return []
    if value.startswith("["):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            if not all(isinstance(item, str) and item for item in parsed):
                raise RowError(f"column '{name}' must be a JSON array of non-empty strings")
            return parsed
    return [value]


def parse_play(fields: list[str], columns: int = N_COLUMNS) -> Play:
    """Validate one record (the fields of a CSV line) into a ``Play``; ``RowError`` names what is wrong.

    ``columns`` is the width the file's header declared (``check_header``): a record of an older,
    narrower file gets the columns it lacks as empty values, but a short record of a current file is
    refused rather than read as an older one."""
    if len(fields) != columns:
        raise RowError(f"record has {len(fields)} columns, the header has {columns}")
    if columns < N_COLUMNS:
        fields = fields + [""] * (N_COLUMNS - columns)
    source = fields[_INDEX["source"]]
    if source not in SOURCES:
        raise RowError(f"column 'source' must be one of {', '.join(SOURCES)}, got '{source[:40]}'")
    post_id = _text_field(fields, "post_id", 200) or _text_field(fields, "id_tweet", 200)
    if not post_id:
        raise RowError("columns 'post_id' and 'id_tweet' are both empty")
    created_at = fields[_INDEX["created_at"]]
    if not created_at:
        raise RowError("column 'created_at' is empty")
    try:
        played_at = parse_rfc3339(created_at)
    except RecordError as exc:
        raise RowError(f"column 'created_at': {exc}") from None
    played_at = played_at.replace(microsecond=played_at.microsecond // 1000 * 1000)
    text = _text_field(fields, "text", MAX_TEXT_CHARS)
    is_bot_text = fields[_INDEX["is_bot"]].strip().lower()
    if is_bot_text not in _BOOLS:
        raise RowError(f"column 'is_bot' must be true or false, got '{fields[_INDEX['is_bot']][:40]}'")
    track_id = _optional(fields, "id_track")
    artist_ids = _list(_text_field(fields, "artists_id"), "artists_id")
    artist_names = _list(_text_field(fields, "artists_name"), "artists_name")
    if artist_ids and artist_names and len(artist_ids) != len(artist_names):
        raise RowError(
            f"columns 'artists_id' ({len(artist_ids)} values) and 'artists_name' ({len(artist_names)}) do not pair up"
        )
    features: dict[str, float | int | None] = {}
    for name in _FLOAT_FEATURES:
        features[name] = _float(fields[_INDEX[name]], name)
    features["key"] = _int_in(fields[_INDEX["key"]], "key", -1, 11)
    features["time_signature"] = _int_in(fields[_INDEX["time_signature"]], "time_signature", 0, 16)
    features["mode"] = _int_in(fields[_INDEX["mode"]], "mode", 0, 1)
    return Play(
        source=source,
        post_id=post_id,
        played_at=played_at,
        author_id=_text_field(fields, "author_id"),
        text=text,
        url=_text_field(fields, "url_tweet"),
        is_bot=_BOOLS[is_bot_text],
        track_id=track_id,
        track_name=_optional(fields, "name"),
        artist_ids=artist_ids,
        artist_names=artist_names,
        album=_optional(fields, "album"),
        release_date=_optional(fields, "release_date"),
        popularity=_int_in(fields[_INDEX["popularity"]], "popularity", 0, 100),
        duration_ms=_int_in(fields[_INDEX["duration_ms"]], "duration_ms", 0, 2**31 - 1),
        match_method=_optional(fields, "match_method"),
        match_confidence=_float(fields[_INDEX["match_confidence"]], "match_confidence"),
        features_source=_optional(fields, "features_source"),
        features=features,
        match_candidate=_int_in(fields[_INDEX["match_candidate"]], "match_candidate", 0, 1000),
        match_rule=_optional(fields, "match_rule"),
        lang=_optional(fields, "lang"),
    )


# --- table rows --------------------------------------------------------------------------------
PLAYS_BY_HOUR_COLUMNS = (
    "bucket", "played_at", "source", "post_id", "author_id", "text", "url", "is_bot", "matched", "track_id",
    "track_name", "artist_ids", "artist_names", "album", "release_date", "popularity", "duration_ms",
    "match_method", "match_confidence", "features_source", *AUDIO_FEATURES, "match_candidate", "match_rule",
    "lang",
)  # fmt: skip
PLAYS_BY_TRACK_COLUMNS = (
    "track_id", "month", "played_at", "source", "post_id", "author_id", "text", "url", "is_bot", "match_confidence",
)  # fmt: skip
TRACKS_COLUMNS = (
    "track_id", "name", "artist_ids", "artist_names", "album", "release_date", "popularity", "duration_ms",
    "updated_at",
)  # fmt: skip
ARTISTS_COLUMNS = ("artist_id", "name", "updated_at")
AUDIO_FEATURES_COLUMNS = ("track_id", "features_source", *AUDIO_FEATURES, "updated_at")


def unset_missing(values: tuple[object, ...]) -> tuple[object, ...]:
    """A missing value (None, or an empty list) is left unset, never bound as null: a bound null is a
    tombstone cell, and a play in Development Mode lacks popularity and often features (issue 20).
    Keys are never missing. A row whose values shrink is replaced whole (see ``writer.Replacer``)."""
    return tuple(UNSET_VALUE if value is None or value == [] else value for value in values)


def shrinks(stored: Mapping[str, object], columns: tuple[str, ...], values: tuple[object, ...]) -> bool:
    """Whether writing ``values`` over the stored row would leave a stored cell that the new row lacks
    (a feature the new enrichment does not have, the old track): then the row must be replaced whole."""
    return any(
        value is UNSET_VALUE and stored.get(column) not in (None, [])
        for column, value in zip(columns, values, strict=True)
    )


def plays_by_hour_values(play: Play) -> tuple[object, ...]:
    return unset_missing(plays_by_hour_cells(play))


def plays_by_hour_cells(play: Play) -> tuple[object, ...]:
    """The plays_by_hour values with None (or []) where a value is missing: for an encoder that leaves
    those unset itself (``writer.Codec``), saving the loader's hot path a pass over every value."""
    f = play.features
    return (
        play.bucket, play.played_at, play.source, play.post_id, play.author_id, play.text, play.url, play.is_bot,
        play.matched, play.track_id, play.track_name, play.artist_ids, play.artist_names, play.album,
        play.release_date, play.popularity, play.duration_ms, play.match_method, play.match_confidence,
        play.features_source, f["danceability"], f["energy"], f["key"], f["loudness"], f["speechiness"],
        f["acousticness"], f["instrumentalness"], f["liveness"], f["valence"], f["tempo"], f["time_signature"],
        f["mode"], play.match_candidate, play.match_rule, play.lang,
    )  # fmt: skip


def plays_by_track_values(play: Play) -> tuple[object, ...]:
    return unset_missing((
        play.track_id, play.month, play.played_at, play.source, play.post_id, play.author_id, play.text, play.url,
        play.is_bot, play.match_confidence,
    ))  # fmt: skip


def tracks_values(play: Play, now: datetime) -> tuple[object, ...]:
    return unset_missing((
        play.track_id, play.track_name, play.artist_ids, play.artist_names, play.album, play.release_date,
        play.popularity, play.duration_ms, now,
    ))  # fmt: skip


def artists_values(play: Play, now: datetime) -> list[tuple[object, ...]]:
    """(artist_id, name, updated_at) for each credited artist with an id."""
    names = play.artist_names if len(play.artist_names) == len(play.artist_ids) else [None] * len(play.artist_ids)
    return [unset_missing((artist_id, name, now)) for artist_id, name in zip(play.artist_ids, names, strict=True)]


def audio_features_values(play: Play, now: datetime) -> tuple[object, ...]:
    f = play.features
    return unset_missing((play.track_id, play.features_source, *(f[name] for name in AUDIO_FEATURES), now))
