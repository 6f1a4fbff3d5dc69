"""Response models: they make the OpenAPI schema (the frontend's contract) precise."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors -------------------------------------------------------------------------------------
class FieldProblem(_Model):
    field: str
    message: str


class ErrorBody(_Model):
    code: str
    message: str
    details: list[FieldProblem] | None = None


class ErrorResponse(_Model):
    error: ErrorBody


# --- plays --------------------------------------------------------------------------------------
class Play(_Model):
    source: str
    post_id: str
    played_at: str
    author_id: str
    text: str
    url: str | None
    is_bot: bool
    matched: bool
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
    danceability: float | None
    energy: float | None
    key: int | None
    loudness: float | None
    speechiness: float | None
    acousticness: float | None
    instrumentalness: float | None
    liveness: float | None
    valence: float | None
    tempo: float | None
    time_signature: int | None
    mode: int | None
    match_candidate: int | None = None
    match_rule: str | None = None
    lang: str | None = None


class PlaysPage(_Model):
    items: list[Play]
    next_cursor: str | None
    start: str
    end: str


# --- tracks and artists ------------------------------------------------------------------------
class Track(_Model):
    track_id: str
    name: str | None
    artist_ids: list[str]
    artist_names: list[str]
    album: str | None
    release_date: str | None
    popularity: int | None
    duration_ms: int | None


class Features(_Model):
    danceability: float | None
    energy: float | None
    key: int | None
    loudness: float | None
    speechiness: float | None
    acousticness: float | None
    instrumentalness: float | None
    liveness: float | None
    valence: float | None
    tempo: float | None
    time_signature: int | None
    mode: int | None
    features_source: str | None


class DayCount(_Model):
    day: str
    plays: int


class TrackPost(_Model):
    played_at: str
    source: str
    post_id: str
    text: str
    url: str | None
    is_bot: bool
    author_id: str


class TrackPage(_Model):
    track: Track
    features: Features | None
    plays_by_day: list[DayCount]
    posts: list[TrackPost]


class Artist(_Model):
    artist_id: str
    name: str | None


class ArtistPage(_Model):
    artist: Artist
    tracks: list[Track]
    plays_by_day: list[DayCount]


# --- charts -------------------------------------------------------------------------------------
class TopTrack(_Model):
    rank: int
    track_id: str
    track_name: str | None
    artist_names: list[str]
    plays: int
    listeners: int


class PeriodFields(_Model):
    """Present when the chart was asked for a ``period``: its kind, key and first and last day."""

    period: str | None = None
    period_key: str | None = None
    start: str | None = None
    end: str | None = None


class TopTracks(PeriodFields):
    day: str
    days: int
    audience: str
    items: list[TopTrack]


class TopArtist(_Model):
    rank: int
    artist_id: str
    artist_name: str | None
    plays: int
    listeners: int


class TopArtists(PeriodFields):
    day: str
    days: int
    audience: str
    items: list[TopArtist]


class TrendingTrack(_Model):
    rank: int
    track_id: str
    track_name: str | None
    artist_names: list[str]
    plays: int
    trailing_avg: float
    score: float


class Trending(_Model):
    day: str
    items: list[TrendingTrack]


# --- statistics ---------------------------------------------------------------------------------
class StatsItem(_Model):
    """``key``, ``label``, ``plays`` and exactly the metrics asked for."""

    key: str
    label: str
    plays: int
    listeners: int | None = None
    danceability: float | None = None
    energy: float | None = None
    loudness: float | None = None
    speechiness: float | None = None
    acousticness: float | None = None
    instrumentalness: float | None = None
    liveness: float | None = None
    valence: float | None = None
    tempo: float | None = None


class Stats(_Model):
    group_by: str
    metrics: list[str]
    sort: str
    order: str
    start: str
    end: str
    items: list[StatsItem]


class Bin(_Model):
    lo: float
    hi: float
    count: int


class Distribution(_Model):
    feature: str
    start: str
    end: str
    total: int
    bins: list[Bin]


# --- home ---------------------------------------------------------------------------------------
class SummaryTopTrack(_Model):
    track_id: str
    track_name: str | None
    artist_names: list[str]
    plays: int


class Summary(_Model):
    day: str
    plays: int
    matched: int
    matched_share: float
    people_plays: int
    bot_plays: int
    posts_today: int
    top_track: SummaryTopTrack | None


class StageStatus(_Model):
    stage: str
    started_at: str | None
    finished_at: str | None
    status: str
    items_in: int | None
    items_out: int | None
    errors: int | None
    duration_s: float | None
    age_s: float | None


class CronJobStatus(_Model):
    name: str
    schedule: str | None
    suspended: bool
    last_schedule: str | None
    last_success: str | None


class Freshness(_Model):
    """How old the newest play and the newest aggregate are. ``aggregates_ready`` is false until the
    period aggregates have finished a first run (the numbers they feed are then still computing)."""

    newest_play_at: str | None
    newest_play_age_s: float | None
    newest_aggregate_at: str | None
    newest_aggregate_age_s: float | None
    aggregates_ready: bool
    aggregate_running: bool


class Status(_Model):
    """``cronjobs`` is present only inside Kubernetes."""

    stages: list[StageStatus]
    freshness: Freshness | None = None
    cronjobs: list[CronJobStatus] | None = None


# --- activity -----------------------------------------------------------------------------------
class ActivityCount(_Model):
    plays: int
    people: int
    bots: int


class HeatCell(ActivityCount):
    weekday: int  # ISO: 1 = Monday
    hour: int  # UTC


class ActivityValue(ActivityCount):
    value: str


class ActivityPoint(ActivityCount):
    at: str


class Activity(_Model):
    period: str
    period_key: str
    start: str | None
    end: str | None
    totals: ActivityCount
    heatmap: list[HeatCell]
    by_source: list[ActivityValue]
    by_lang: list[ActivityValue]
    over_time: list[ActivityPoint]


class Health(_Model):
    status: str
    reason: str | None = None
