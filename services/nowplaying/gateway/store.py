"""The gateway's one I/O edge to Cassandra: every statement prepared once, plain data out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from cassandra import InvalidRequest
from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.protocol import ProtocolException
from cassandra.query import PreparedStatement

from nowplaying.gateway.cursor import CursorError
from nowplaying.gateway.rows import PLAY_COLUMNS, as_dict

Row = dict[str, Any]

TRACK_COLUMNS = "track_id, name, artist_ids, artist_names, album, release_date, popularity, duration_ms"
FEATURE_COLUMNS = (
    "features_source, danceability, energy, key, loudness, speechiness, acousticness, instrumentalness,"
    " liveness, valence, tempo, time_signature, mode"
)
STAT_FEATURES = "danceability, energy, loudness, speechiness, acousticness, instrumentalness, liveness, valence, tempo"
EXPORT_FETCH_SIZE = 1000
REQUEST_TIMEOUT_S = 15.0
CONCURRENCY = 16


class Store:
    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        ks = keyspace

        def prep(cql: str) -> PreparedStatement:
            statement = session.prepare(cql)
            statement.is_idempotent = True
            return statement

        plays_where = "WHERE bucket = ? AND played_at >= ? AND played_at < ?"
        self._plays = prep(f"SELECT {', '.join(PLAY_COLUMNS)} FROM {ks}.plays_by_hour {plays_where}")
        self._count_plays = prep(f"SELECT COUNT(*) AS n FROM {ks}.plays_by_hour {plays_where}")
        self._track = prep(f"SELECT {TRACK_COLUMNS} FROM {ks}.tracks WHERE track_id = ?")
        self._features = prep(f"SELECT {FEATURE_COLUMNS} FROM {ks}.audio_features WHERE track_id = ?")
        self._track_posts = prep(
            "SELECT played_at, source, post_id, author_id, text, url, is_bot"
            f" FROM {ks}.plays_by_track WHERE track_id = ? AND month = ? AND played_at >= ? AND played_at < ?"
        )
        self._artist = prep(f"SELECT artist_id, name FROM {ks}.artists WHERE artist_id = ?")
        self._artist_tracks = prep(f"SELECT {TRACK_COLUMNS} FROM {ks}.tracks WHERE artist_ids CONTAINS ? LIMIT ?")
        self._artist_day = prep(f"SELECT plays FROM {ks}.artist_stats_by_day WHERE day = ? AND artist_id = ?")
        self._top_tracks = prep(
            "SELECT rank, track_id, track_name, artist_names, plays, listeners"
            f" FROM {ks}.top_tracks_by_day WHERE day = ? AND audience = ? LIMIT ?"
        )
        self._top_artists = prep(
            "SELECT rank, artist_id, artist_name, plays, listeners"
            f" FROM {ks}.top_artists_by_day WHERE day = ? AND audience = ? LIMIT ?"
        )
        self._trending = prep(
            "SELECT rank, track_id, track_name, artist_names, plays, trailing_avg, score"
            f" FROM {ks}.trending_by_day WHERE day = ? LIMIT ?"
        )
        self._track_stats = prep(
            f"SELECT track_id, track_name, artist_names, plays, listeners, {STAT_FEATURES}"
            f" FROM {ks}.track_stats_by_day WHERE day = ?"
        )
        self._artist_stats = prep(
            f"SELECT artist_id, artist_name, plays, listeners, {STAT_FEATURES}"
            f" FROM {ks}.artist_stats_by_day WHERE day = ?"
        )
        self._summary = prep(
            "SELECT day, plays, matched, people_plays, bot_plays, listeners, unique_tracks"
            f" FROM {ks}.daily_summary WHERE day = ?"
        )
        self._feature_stats = prep(
            f"SELECT feature, n, mean FROM {ks}.feature_stats_by_day WHERE day = ? AND scope = ?"
        )
        self._latest_run = prep(
            "SELECT stage, started_at, finished_at, status, items_in, items_out, errors, duration_s"
            f" FROM {ks}.pipeline_runs WHERE stage = ? LIMIT 1"
        )
        self._top_period = prep(
            "SELECT rank, id, name, artist_names, plays, listeners"
            f" FROM {ks}.top_by_period WHERE period = ? AND entity = ? AND audience = ? LIMIT ?"
        )
        self._activity = prep(f"SELECT dim, value, people, bots FROM {ks}.activity_by_period WHERE period = ?")
        self._checkpoint = prep(
            f"SELECT status, started_at, finished_at, checkpoint FROM {ks}.agg_checkpoints WHERE engine = ?"
        )
        self._newest_play = prep(f"SELECT played_at FROM {ks}.plays_by_hour WHERE bucket = ? LIMIT 1")
        self._ping = prep("SELECT release_version FROM system.local")

    # --- helpers ----------------------------------------------------------------------------
    def _rows(self, statement: PreparedStatement, params: Sequence[Any]) -> list[Row]:
        return [as_dict(r) for r in self.session.execute(statement, params, timeout=REQUEST_TIMEOUT_S)]

    def _one(self, statement: PreparedStatement, params: Sequence[Any]) -> Row | None:
        row = self.session.execute(statement, params, timeout=REQUEST_TIMEOUT_S).one()
        return as_dict(row) if row is not None else None

    def _many(self, statement: PreparedStatement, params: Sequence[Sequence[Any]]) -> list[list[Row]]:
        """The same statement for many parameter sets, concurrently; results in the order given."""
        if not params:
            return []
        results = execute_concurrent_with_args(
            self.session, statement, params, concurrency=CONCURRENCY, raise_on_first_error=True
        )
        return [[as_dict(r) for r in result] for _, result in results]

    # --- health -----------------------------------------------------------------------------
    def ping(self, timeout_s: float = 3.0) -> str:
        row = self.session.execute(self._ping, timeout=timeout_s).one()
        return str(row[0]) if row is not None else ""

    # --- plays ------------------------------------------------------------------------------
    def plays_page(
        self, bucket: str, start: datetime, end: datetime, fetch_size: int, paging_state: bytes | None
    ) -> tuple[list[Row], bytes | None]:
        bound = self._plays.bind((bucket, start, end))
        bound.fetch_size = fetch_size
        try:
            result = self.session.execute(bound, paging_state=paging_state, timeout=REQUEST_TIMEOUT_S)
        except (InvalidRequest, ProtocolException) as exc:
            if paging_state is None:
                raise
            raise CursorError("invalid_cursor", "invalid cursor: the stored position is not readable") from exc
        return [as_dict(r) for r in result.current_rows], result.paging_state

    def plays_all(self, bucket: str, start: datetime, end: datetime) -> Iterator[Row]:
        bound = self._plays.bind((bucket, start, end))
        bound.fetch_size = EXPORT_FETCH_SIZE
        for row in self.session.execute(bound, timeout=REQUEST_TIMEOUT_S):
            yield as_dict(row)

    def count_plays(self, buckets: Sequence[str], start: datetime, end: datetime) -> int:
        return sum(int(rows[0]["n"]) for rows in self._many(self._count_plays, [(b, start, end) for b in buckets]))

    # --- tracks and artists -------------------------------------------------------------------
    def track(self, track_id: str) -> Row | None:
        return self._one(self._track, (track_id,))

    def features(self, track_id: str) -> Row | None:
        return self._one(self._features, (track_id,))

    def track_posts(self, track_id: str, months: Sequence[str], start: datetime, end: datetime) -> list[list[Row]]:
        """Per month (in the order given), the track's posts in [start, end), newest first."""
        return self._many(self._track_posts, [(track_id, m, start, end) for m in months])

    def artist(self, artist_id: str) -> Row | None:
        return self._one(self._artist, (artist_id,))

    def artist_tracks(self, artist_id: str, limit: int) -> list[Row]:
        return self._rows(self._artist_tracks, (artist_id, limit))

    def artist_plays_by_day(self, artist_id: str, days: Sequence[date]) -> list[int]:
        results = self._many(self._artist_day, [(d, artist_id) for d in days])
        return [int(rows[0]["plays"] or 0) if rows else 0 for rows in results]

    # --- aggregates (Spark) -------------------------------------------------------------------
    def top_tracks(self, days: Sequence[date], audience: str, limit: int) -> list[list[Row]]:
        return self._many(self._top_tracks, [(d, audience, limit) for d in days])

    def top_artists(self, days: Sequence[date], audience: str, limit: int) -> list[list[Row]]:
        return self._many(self._top_artists, [(d, audience, limit) for d in days])

    def trending(self, day: date, limit: int) -> list[Row]:
        return self._rows(self._trending, (day, limit))

    def track_stats(self, days: Sequence[date]) -> list[list[Row]]:
        return self._many(self._track_stats, [(d,) for d in days])

    def artist_stats(self, days: Sequence[date]) -> list[list[Row]]:
        return self._many(self._artist_stats, [(d,) for d in days])

    def summaries(self, days: Sequence[date]) -> list[Row | None]:
        return [rows[0] if rows else None for rows in self._many(self._summary, [(d,) for d in days])]

    def feature_means(self, days: Sequence[date], scope: str = "all") -> list[list[Row]]:
        return self._many(self._feature_stats, [(d, scope) for d in days])

    def top_by_period(self, period_key: str, entity: str, audience: str, limit: int) -> list[Row]:
        return self._rows(self._top_period, (period_key, entity, audience, limit))

    def activity(self, period_key: str) -> list[Row]:
        return self._rows(self._activity, (period_key,))

    def checkpoint(self, engine: str) -> Row | None:
        return self._one(self._checkpoint, (engine,))

    def newest_play(self, buckets_newest_first: Sequence[str], chunk: int = 24) -> datetime | None:
        """The newest ``played_at`` in the first bucket (newest first) that has a play, or None."""
        for offset in range(0, len(buckets_newest_first), chunk):
            part = buckets_newest_first[offset : offset + chunk]
            for rows in self._many(self._newest_play, [(b,) for b in part]):
                if rows:
                    value: datetime = rows[0]["played_at"]
                    return value
        return None

    # --- pipeline -----------------------------------------------------------------------------
    def latest_runs(self, stages: Sequence[str]) -> list[Row | None]:
        return [rows[0] if rows else None for rows in self._many(self._latest_run, [(s,) for s in stages])]
