"""Tracks and artists by id: details, audio features, play history."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from nowplaying.common.config import Settings
from nowplaying.gateway.aggregate import days_ending, plays_by_day
from nowplaying.gateway.context import ContextDep, StoreDep
from nowplaying.gateway.errors import ERROR_RESPONSES, ApiError
from nowplaying.gateway.rows import FLOAT_FEATURES, INT_FEATURES, round_float, time_text
from nowplaying.gateway.schemas import ArtistPage, ErrorResponse, TrackPage

ARTIST_TRACKS_MAX = 200
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "Unknown id"}}

IdParam = Annotated[str, Path(min_length=1, max_length=100)]
DaysParam = Annotated[int, Query(ge=1, le=365, description="days of history, ending today")]


def track_object(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "track_id": row["track_id"],
        "name": row.get("name"),
        "artist_ids": list(row.get("artist_ids") or []),
        "artist_names": list(row.get("artist_names") or []),
        "album": row.get("album"),
        "release_date": row.get("release_date"),
        "popularity": row.get("popularity"),
        "duration_ms": row.get("duration_ms"),
    }


def features_object(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out: dict[str, Any] = {name: round_float(row.get(name)) for name in FLOAT_FEATURES}
    out.update({name: row.get(name) for name in INT_FEATURES})
    out["features_source"] = row.get("features_source") or None
    return out


def months_between(start: date, end: date) -> list[str]:
    """'YYYY-MM' of every month from ``end`` back to ``start``, newest first."""
    months: list[str] = []
    year, month = end.year, end.month
    while (year, month) >= (start.year, start.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def router(settings: Settings) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["catalog"], responses=ERROR_RESPONSES)

    @api.get("/tracks/{track_id}", response_model=TrackPage, responses=NOT_FOUND, summary="A track and its plays")
    def get_track(
        context: ContextDep,
        store: StoreDep,
        track_id: IdParam,
        days: DaysParam = 30,
        posts: Annotated[int, Query(ge=0, le=100, description="newest posts to include")] = 20,
    ) -> dict[str, Any]:
        track = store.track(track_id)
        if track is None:
            raise ApiError(404, "not_found", f"no track with id '{track_id}'")
        today = context.clock().astimezone(UTC).date()
        day_list = days_ending(today, days)
        start = datetime.combine(day_list[0], time.min, UTC)
        end = datetime.combine(today + timedelta(days=1), time.min, UTC)
        per_month = store.track_posts(track_id, months_between(day_list[0], today), start, end)
        rows = [row for month_rows in per_month for row in month_rows]
        rows.sort(key=lambda r: (r["played_at"], r["source"], r["post_id"]), reverse=True)
        return {
            "track": track_object(track),
            "features": features_object(store.features(track_id)),
            "plays_by_day": plays_by_day((r["played_at"] for r in rows), day_list),
            "posts": [
                {
                    "played_at": time_text(r["played_at"]),
                    "source": r["source"],
                    "post_id": r["post_id"],
                    "text": r.get("text") or "",
                    "url": r.get("url"),
                    "is_bot": bool(r.get("is_bot")),
                    "author_id": r.get("author_id") or "",
                }
                for r in rows[:posts]
            ],
        }

    @api.get("/artists/{artist_id}", response_model=ArtistPage, responses=NOT_FOUND, summary="An artist, tracks, plays")
    def get_artist(context: ContextDep, store: StoreDep, artist_id: IdParam, days: DaysParam = 30) -> dict[str, Any]:
        artist = store.artist(artist_id)
        if artist is None:
            raise ApiError(404, "not_found", f"no artist with id '{artist_id}'")
        tracks = [track_object(r) for r in store.artist_tracks(artist_id, ARTIST_TRACKS_MAX)]
        tracks.sort(key=lambda t: (-(t["popularity"] or -1), (t["name"] or "").casefold(), t["track_id"]))
        day_list = days_ending(context.clock().astimezone(UTC).date(), days)
        counts = store.artist_plays_by_day(artist_id, day_list)
        return {
            "artist": {"artist_id": artist["artist_id"], "name": artist.get("name")},
            "tracks": tracks,
            "plays_by_day": [{"day": d.isoformat(), "plays": n} for d, n in zip(day_list, counts, strict=True)],
        }

    return api
