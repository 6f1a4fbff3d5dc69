"""The Cassandra edge of the loader: prepared, idempotent upserts with a bounded window in flight.

Plays are grouped per partition into small UNLOGGED batches (every statement of a batch has the
same partition key, so a batch is one mutation on one replica set); tracks, artists and audio
features are written once per distinct id per file. Keys are deterministic, so writing the same
file again overwrites the same cells. A missing value is left unset, never bound as null (a null is
a tombstone cell), so a first load writes no tombstone at all.

A file that re-enriches plays loaded before (``replace=True``: a backfill batch, or a batch id loaded
before with another checksum) reads each play's stored row first. Where the new row holds every
value the stored one does and the track is the same, the insert simply overwrites it. Otherwise the
stored row would keep cells the new one no longer has (a feature, the old track), so the play is
replaced exactly: its row deleted at timestamp T and the new row inserted at T+1 (as the Spark
aggregates replace a day), and the old track's plays_by_track row deleted at T, in one logged batch
so a crash leaves either the old play or the new one. That is one row tombstone per table and
re-enriched play, and none for a play whose enrichment did not lose anything.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cassandra.cluster import EXEC_PROFILE_DEFAULT, Session
from cassandra.query import UNSET_VALUE, BatchStatement, BatchType, BoundStatement, PreparedStatement, tuple_factory

from nowplaying.common.aggjournal import DirtyMarks
from nowplaying.loader.retry import RETHROW_TIMEOUTS, Backoff, Timer, call_with_retry, retryable
from nowplaying.loader.rows import (
    ARTISTS_COLUMNS,
    AUDIO_FEATURES_COLUMNS,
    PLAYS_BY_HOUR_COLUMNS,
    PLAYS_BY_TRACK_COLUMNS,
    TRACKS_COLUMNS,
    Play,
    artists_values,
    audio_features_values,
    plays_by_hour_cells,
    plays_by_hour_values,
    plays_by_track_values,
    shrinks,
    tracks_values,
)

DEFAULT_CONCURRENCY = 48
DEFAULT_BATCH_ROWS = 100
# Estimated bytes per batch (the estimate runs about 1.5x the serialized size), so a batch stays
# under Cassandra's default batch_size_fail_threshold (50 KiB).
DEFAULT_BATCH_BYTES = 40_000
# Buffered plays (all partitions) before every partial batch is sent.
MAX_BUFFERED_PLAYS = 100_000
# Plays whose stored rows are read at once when a file re-enriches plays loaded before.
REPLACE_CHECK_PLAYS = 256
# Track, artist and audio-feature rows (each its own partition) sent together in one UNLOGGED batch:
# one request instead of ten (the client's cost per request is the loader's largest, profiled), and no
# more partitions than Cassandra's unlogged_batch_across_partitions_warn_threshold (10).
ENTITY_BATCH_ROWS = 10


class WriteFailed(RuntimeError):
    """A write failed after the driver's retries; the message names the driver's error."""

    @classmethod
    def of(cls, cause: BaseException) -> WriteFailed:
        return cls(f"{type(cause).__name__}: {cause}")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_pack_int = struct.Struct(">i").pack
_pack_bigint = struct.Struct(">q").pack
_pack_float = struct.Struct(">f").pack
_pack_double = struct.Struct(">d").pack
Encoder = Callable[[Any], bytes]


def _text(value: str) -> bytes:
    return value.encode("utf-8")


def _timestamp(value: datetime) -> bytes:
    return _pack_bigint((value - _EPOCH) // _MILLISECOND)


def _boolean(value: bool) -> bytes:
    return b"\x01" if value else b"\x00"


def _text_list(values: list[str]) -> bytes:
    parts = [_pack_int(len(values))]
    for item in values:
        data = item.encode("utf-8")
        parts.append(_pack_int(len(data)))
        parts.append(data)
    return b"".join(parts)


_FAST: dict[str, Encoder] = {
    "varchar": _text,
    "text": _text,
    "ascii": _text,
    "timestamp": _timestamp,
    "boolean": _boolean,
    "int": _pack_int,
    "bigint": _pack_bigint,
    "float": _pack_float,
    "double": _pack_double,
}


def _driver_encoder(cql_type: Any, protocol_version: int) -> Encoder:
    def encode(value: Any) -> bytes:
        data: bytes = cql_type.serialize(value, protocol_version)
        return data

    return encode


class Codec:
    """Serializes the bind values of one prepared statement with plain ``struct`` calls.

    The driver's generic ``bind`` dispatches per value through its type classes; for the loader's
    column types (text, timestamp, boolean, int, float, list<text>) this does the same encoding (the
    CQL native protocol's) several times faster. Any other type goes through the driver's own
    serializer. Tested to give byte-identical values to ``PreparedStatement.bind``. A missing value
    (None, or an empty list) is left unset, never bound as null: a null is a tombstone cell.
    """

    def __init__(self, statement: PreparedStatement, protocol_version: int) -> None:
        self.statement = statement
        self.encoders: list[Encoder] = []
        for column in statement.column_metadata:
            cql_type: Any = column.type
            name: str = cql_type.typename
            subtypes: tuple[Any, ...] = tuple(getattr(cql_type, "subtypes", ()))
            if name in _FAST:
                self.encoders.append(_FAST[name])
            elif name == "list" and len(subtypes) == 1 and subtypes[0].typename in ("varchar", "text"):
                self.encoders.append(_text_list)
            else:
                self.encoders.append(_driver_encoder(cql_type, protocol_version))

    def encode(self, values: Sequence[object]) -> list[bytes | None]:
        unset: Any = UNSET_VALUE
        return [
            unset if value is None or value is unset or (value.__class__ is list and not value) else encode(value)
            for encode, value in zip(self.encoders, values, strict=True)
        ]

    def bind(self, values: Sequence[object]) -> BoundStatement:
        return self.bound(self.encode(values))

    def bound(self, encoded: list[bytes | None]) -> BoundStatement:
        """A statement carrying values already encoded by ``encode``."""
        bound = BoundStatement(self.statement)
        bound.values = encoded
        return bound


def _insert(
    session: Session, keyspace: str, table: str, columns: tuple[str, ...], timestamped: bool = False
) -> PreparedStatement:
    marks = ", ".join("?" for _ in columns)
    using = " USING TIMESTAMP ?" if timestamped else ""
    statement = session.prepare(f"INSERT INTO {keyspace}.{table} ({', '.join(columns)}) VALUES ({marks}){using}")
    statement.is_idempotent = True
    return statement


def _delete(session: Session, keyspace: str, table: str, key: tuple[str, ...]) -> PreparedStatement:
    where = " AND ".join(f"{column} = ?" for column in key)
    statement = session.prepare(f"DELETE FROM {keyspace}.{table} USING TIMESTAMP ? WHERE {where}")
    statement.is_idempotent = True
    return statement


HOUR_KEY = ("bucket", "played_at", "source", "post_id")
TRACK_KEY = ("track_id", "month", "played_at", "source", "post_id")


@dataclass
class ReplaceStatements:
    """What replacing a stored play needs: its stored row, row deletions at T, inserts at T+1."""

    select_hour: PreparedStatement
    delete_hour: PreparedStatement
    delete_track: PreparedStatement
    insert_hour: Codec
    insert_track: Codec

    @classmethod
    def prepare(cls, session: Session, keyspace: str) -> ReplaceStatements:
        version = session.cluster.protocol_version
        where = " AND ".join(f"{column} = ?" for column in HOUR_KEY)
        select = session.prepare(
            f"SELECT {', '.join(PLAYS_BY_HOUR_COLUMNS)} FROM {keyspace}.plays_by_hour WHERE {where}"
        )
        select.is_idempotent = True
        return cls(
            select_hour=select,
            delete_hour=_delete(session, keyspace, "plays_by_hour", HOUR_KEY),
            delete_track=_delete(session, keyspace, "plays_by_track", TRACK_KEY),
            insert_hour=Codec(_insert(session, keyspace, "plays_by_hour", PLAYS_BY_HOUR_COLUMNS, True), version),
            insert_track=Codec(_insert(session, keyspace, "plays_by_track", PLAYS_BY_TRACK_COLUMNS, True), version),
        )


@dataclass
class Statements:
    """The loader's prepared INSERTs, each with its codec."""

    plays_by_hour: Codec
    plays_by_track: Codec
    tracks: Codec
    artists: Codec
    audio_features: Codec
    replace: ReplaceStatements
    marks: DirtyMarks | None = None  # the aggregate journal (None: segments are not marked)

    @classmethod
    def prepare(cls, session: Session, keyspace: str) -> Statements:
        version = session.cluster.protocol_version
        return cls(
            plays_by_hour=Codec(_insert(session, keyspace, "plays_by_hour", PLAYS_BY_HOUR_COLUMNS), version),
            plays_by_track=Codec(_insert(session, keyspace, "plays_by_track", PLAYS_BY_TRACK_COLUMNS), version),
            tracks=Codec(_insert(session, keyspace, "tracks", TRACKS_COLUMNS), version),
            artists=Codec(_insert(session, keyspace, "artists", ARTISTS_COLUMNS), version),
            audio_features=Codec(_insert(session, keyspace, "audio_features", AUDIO_FEATURES_COLUMNS), version),
            replace=ReplaceStatements.prepare(session, keyspace),
            marks=DirtyMarks(session, keyspace),
        )


class Window:
    """At most ``concurrency`` requests in flight. A write that failed retryably (see ``retry``) is
    sent again after a backoff, keeping its slot meanwhile (so a slow node gets fewer new requests);
    the first failure for good is kept and raised to the caller."""

    def __init__(self, session: Session, concurrency: int, backoff: Backoff | None = None) -> None:
        self.session = session
        self.concurrency = concurrency
        self.backoff = backoff or Backoff()
        self._slots = threading.Semaphore(concurrency)
        self._error: BaseException | None = None
        self._timer = Timer()
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0  # writes sent again after a retryable failure
        self.retried_errors: dict[str, int] = {}  # by the error's class name

    def _done(self, _result: Any) -> None:
        self._slots.release()

    def _failed(self, exc: BaseException, statement: Any, attempt: int) -> None:
        if self._error is None and retryable(exc) and self.backoff.allows(attempt):
            with self._lock:
                self.retries += 1
                name = type(exc).__name__
                self.retried_errors[name] = self.retried_errors.get(name, 0) + 1
            try:
                self._timer.call_later(self.backoff.delay(attempt), lambda: self._send(statement, attempt + 1))
                return
            except RuntimeError:
                pass  # the window is closed: give up on it
        if self._error is None:
            self._error = exc
        self._slots.release()

    def _send(self, statement: Any, attempt: int) -> None:
        """Send a statement that holds a slot; any failure, even to send, ends in ``_failed``."""
        try:
            future = self.session.execute_async(statement)
        except BaseException as exc:
            self._failed(exc, statement, attempt)
            return
        future.add_callbacks(self._done, self._failed, errback_args=(statement, attempt))

    def submit(self, statement: Any) -> None:
        self._slots.acquire()
        if self._error is not None:
            self._slots.release()
            raise WriteFailed.of(self._error)
        statement.retry_policy = RETHROW_TIMEOUTS
        self.requests += 1
        try:
            future = self.session.execute_async(statement)
        except BaseException:
            self._slots.release()
            raise
        future.add_callbacks(self._done, self._failed, errback_args=(statement, 0))

    def drain(self) -> None:
        """Wait for every request in flight (resends included); raise the first failure."""
        for _ in range(self.concurrency):
            self._slots.acquire()
        for _ in range(self.concurrency):
            self._slots.release()
        self._timer.close()
        if self._error is not None:
            raise WriteFailed.of(self._error)


Encoded = list[bytes | None]


@dataclass
class _Pending:
    rows: list[Encoded]
    size: int


def _track_from_hour(statements: Statements) -> list[int] | None:
    """For each plays_by_track column but ``month``, the plays_by_hour column holding the same value
    with the same CQL type, so a play's plays_by_track row reuses its encoded plays_by_hour values
    (None when the two statements do not line up, and each row is encoded on its own)."""
    hour = {
        c.name: (i, c.type.cql_parameterized_type())
        for i, c in enumerate(statements.plays_by_hour.statement.column_metadata)
    }
    picks: list[int] = []
    for column in statements.plays_by_track.statement.column_metadata:
        if column.name == "month":
            picks.append(-1)
            continue
        found = hour.get(column.name)
        if found is None or found[1] != column.type.cql_parameterized_type():
            return None
        picks.append(found[0])
    return picks


def _as_mapping(row: Any) -> dict[str, Any]:
    """A stored plays_by_hour row (a plain tuple in PLAYS_BY_HOUR_COLUMNS order, see ``_check_stored``)."""
    if isinstance(row, dict):
        return row
    if isinstance(row, tuple) and not hasattr(row, "_asdict"):
        return dict(zip(PLAYS_BY_HOUR_COLUMNS, row, strict=True))
    return dict(row._asdict())


class PlayWriter:
    """Writes the plays of one file (or one part of it) into every table the loader fills."""

    def __init__(
        self,
        session: Session,
        statements: Statements,
        now: datetime,
        concurrency: int = DEFAULT_CONCURRENCY,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
        replace: bool = False,
        backoff: Backoff | None = None,
    ) -> None:
        self.statements = statements
        self.replace = replace
        self._checking: list[Play] = []
        self._tuple_rows: Any = None  # the execution profile of the stored-row reads
        self.replaced = 0
        self.window = Window(session, concurrency, backoff)
        self.now = now
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self._by_hour: dict[str, _Pending] = {}
        self._by_track: dict[tuple[str, str], _Pending] = {}
        self._buffered = 0
        self._tracks: set[str] = set()
        self._artists: set[str] = set()
        self._features: set[str] = set()
        self._entities: dict[int, tuple[Codec, list[BoundStatement]]] = {}
        self._track_picks = _track_from_hour(statements)
        self.segments: set[str] = set()  # the aggregate journal's units written (aggjournal.segment_of)
        self.plays = 0

    def _send(self, codec: Codec, rows: list[Encoded]) -> None:
        if len(rows) == 1:
            self.window.submit(codec.bound(rows[0]))
            return
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for values in rows:
            batch.add(codec.bound(values))
        batch.is_idempotent = True
        self.window.submit(batch)

    def _queue(self, pending: dict[Any, _Pending], key: Any, values: Encoded, size: int, codec: Codec) -> None:
        entry = pending.get(key)
        if entry is None:
            entry = pending[key] = _Pending([], 0)
        elif entry.size + size > self.batch_bytes:
            self._send(codec, entry.rows)
            self._buffered -= len(entry.rows)
            entry.rows, entry.size = [], 0
        entry.rows.append(values)
        entry.size += size
        self._buffered += 1
        if len(entry.rows) >= self.batch_rows:
            self._send(codec, entry.rows)
            self._buffered -= len(entry.rows)
            del pending[key]

    def add(self, play: Play) -> None:
        if self.replace:
            self._checking.append(play)
            if len(self._checking) >= REPLACE_CHECK_PLAYS:
                self._check_stored()
            return
        self._add(play)

    def _add(self, play: Play) -> None:
        size = play.size_estimate()
        hour = self.statements.plays_by_hour.encode(plays_by_hour_cells(play))
        bucket = play.bucket
        self._queue(self._by_hour, bucket, hour, size, self.statements.plays_by_hour)
        self.segments.add(play.segment)
        track_id = play.track_id
        if track_id is not None:
            month = play.month
            picks = self._track_picks
            if picks is None:
                track = self.statements.plays_by_track.encode(plays_by_track_values(play))
            else:
                month_bytes = month.encode("utf-8")
                track = [month_bytes if i < 0 else hour[i] for i in picks]
            # A plays_by_track row carries ~2/3 of the bytes of its plays_by_hour row (no track
            # name, artists, album or features).
            self._queue(self._by_track, (track_id, month), track, size * 2 // 3, self.statements.plays_by_track)
        self._add_entities(play)
        self.plays += 1
        if self._buffered >= MAX_BUFFERED_PLAYS:
            self._flush_partials()

    def _add_entities(self, play: Play) -> None:
        """The play's track, artists and audio features, once per id per file."""
        track_id = play.track_id
        if track_id is not None:
            if track_id not in self._tracks:
                self._tracks.add(track_id)
                self._entity(self.statements.tracks, tracks_values(play, self.now))
            if track_id not in self._features and play.has_features:
                self._features.add(track_id)
                self._entity(self.statements.audio_features, audio_features_values(play, self.now))
        if play.artist_ids:
            for values in artists_values(play, self.now):
                artist_id = str(values[0])
                if artist_id not in self._artists:
                    self._artists.add(artist_id)
                    self._entity(self.statements.artists, values)

    def _entity(self, codec: Codec, values: tuple[object, ...]) -> None:
        """One entity row, sent with up to ``ENTITY_BATCH_ROWS - 1`` others of its table."""
        entry = self._entities.get(id(codec))
        if entry is None:
            entry = self._entities[id(codec)] = (codec, [])
        entry[1].append(codec.bind(values))
        if len(entry[1]) >= ENTITY_BATCH_ROWS:
            self._send_entities(entry[1])
            entry[1].clear()

    def _send_entities(self, statements: list[BoundStatement]) -> None:
        if len(statements) == 1:
            self.window.submit(statements[0])
            return
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for statement in statements:
            batch.add(statement)
        batch.is_idempotent = True
        self.window.submit(batch)

    def _check_stored(self) -> None:
        """Compare the waiting plays with their stored rows: overwrite, or replace exactly."""
        plays, self._checking = self._checking, []
        if not plays:
            return
        r = self.statements.replace
        session = self.window.session
        if self._tuple_rows is None:
            # Plain tuples: the default named tuples build a new class for every result, which made
            # comparing a file's plays with their stored rows several times slower than writing them.
            self._tuple_rows = session.execution_profile_clone_update(EXEC_PROFILE_DEFAULT, row_factory=tuple_factory)
        futures = [
            session.execute_async(
                r.select_hour, (play.bucket, play.played_at, play.source, play.post_id),
                execution_profile=self._tuple_rows,
            )
            for play in plays
        ]  # fmt: skip
        for play, future in zip(plays, futures, strict=True):
            try:
                row = future.result().one()
            except Exception as exc:
                raise WriteFailed.of(exc) from exc
            if row is None:
                self._add(play)
                continue
            stored = _as_mapping(row)
            hour = plays_by_hour_values(play)
            track = plays_by_track_values(play) if play.track_id is not None else None
            old_track = stored.get("track_id")
            hour_shrinks = shrinks(stored, PLAYS_BY_HOUR_COLUMNS, hour)
            track_shrinks = old_track is not None and (
                track is None or old_track != play.track_id or shrinks(stored, PLAYS_BY_TRACK_COLUMNS, track)
            )
            if not hour_shrinks and not track_shrinks:
                self._add(play)
                continue
            self._replace(play, hour, track, str(old_track) if old_track is not None else None, hour_shrinks)
            self.replaced += 1

    def _replace(
        self,
        play: Play,
        hour: tuple[object, ...],
        track: tuple[object, ...] | None,
        old_track: str | None,
        hour_shrinks: bool,
    ) -> None:
        r = self.statements.replace
        at = time.time_ns() // 1000
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        key = (play.bucket, play.played_at, play.source, play.post_id)
        if hour_shrinks:
            batch.add(r.delete_hour, (at, *key))
        batch.add(r.insert_hour.bind((*hour, at + 1)))
        if old_track is not None:
            batch.add(r.delete_track, (at, old_track, play.month, play.played_at, play.source, play.post_id))
        if track is not None:
            batch.add(r.insert_track.bind((*track, at + 1)))
        batch.is_idempotent = True  # explicit timestamps: sending it twice gives the same cells
        self.window.submit(batch)
        self.segments.add(play.segment)  # a replaced play changes its segment's aggregates too
        self._add_entities(play)
        self.plays += 1

    def _flush_partials(self) -> None:
        for entry in self._by_hour.values():
            self._send(self.statements.plays_by_hour, entry.rows)
        for entry in self._by_track.values():
            self._send(self.statements.plays_by_track, entry.rows)
        self._by_hour.clear()
        self._by_track.clear()
        self._buffered = 0
        for _, statements in self._entities.values():
            if statements:
                self._send_entities(statements)
        self._entities.clear()

    def finish(self) -> None:
        """Send what is buffered and wait until every write is acknowledged (or raise ``WriteFailed``);
        then mark the segments written, for the period aggregates (after the plays, so a segment
        read because of its mark already holds them)."""
        self._check_stored()
        self._flush_partials()
        self.window.drain()
        if self.statements.marks is not None and self.segments:
            try:
                marks, segments = self.statements.marks, self.segments
                call_with_retry(lambda: marks.mark(segments), self.window.backoff)
            except Exception as exc:
                raise WriteFailed.of(exc) from exc
