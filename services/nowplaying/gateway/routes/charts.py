"""Charts from the Spark tables: top tracks and artists of a UTC day, week, month, year or all time
(``period``, from the incremental period aggregates), or of the N days ending a day (``days``, from the
daily tables), and trending tracks."""

from __future__ import annotations

from datetime import UTC, date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from nowplaying.common.config import Settings
from nowplaying.gateway.aggregate import check_day, days_ending, merge_ranked
from nowplaying.gateway.context import Context, ContextDep, StoreDep
from nowplaying.gateway.errors import ERROR_RESPONSES
from nowplaying.gateway.periods import Period
from nowplaying.gateway.rows import round_float
from nowplaying.gateway.schemas import TopArtists, TopTracks, Trending

# How deep each day's list is read when several days are summed (Spark writes the top N of each day).
WEEK_DEPTH = 1000

DayParam = Annotated[date | None, Query(description="UTC day (YYYY-MM-DD); default today")]
DaysParam = Annotated[int, Query(ge=1, le=31, description="1: that day; N: the N days ending that day (7: a week)")]
AudienceParam = Annotated[Literal["all", "people", "bots"], Query(description="whose plays count")]
LimitParam = Annotated[int, Query(ge=1, le=100)]
PeriodParam = Annotated[
    Literal["day", "week", "month", "year", "all"] | None,
    Query(description="a UTC calendar period containing `date` (then `days` is ignored)"),
]
DateParam = Annotated[date | None, Query(alias="date", description="a day in the period (YYYY-MM-DD); default today")]


def resolve_period(context: Context, kind: str, on: date | None, day: date | None) -> Period:
    chosen = on if on is not None else day
    return Period.of(kind, resolve_day(context, chosen))


def period_rows(store: Any, period: Period, entity: str, audience: str, limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = store.top_by_period(period.key, entity, audience, limit)
    return rows


def resolve_day(context: Context, day: date | None) -> date:
    return check_day("day", day) if day is not None else context.clock().astimezone(UTC).date()


def ranked_rows(fetch: Any, the_day: date, days: int, audience: str, limit: int, key: str) -> list[dict[str, Any]]:
    """A day's chart rows, or the rows of ``days`` days ending ``the_day`` merged by ``key``."""
    if days == 1:
        rows: list[dict[str, Any]] = fetch([the_day], audience, limit)[0]
        return rows
    return merge_ranked(fetch(days_ending(the_day, days), audience, WEEK_DEPTH), key, limit)


def router(settings: Settings) -> APIRouter:
    api = APIRouter(prefix="/api/charts", tags=["charts"], responses=ERROR_RESPONSES)

    @api.get(
        "/top-tracks",
        response_model=TopTracks,
        response_model_exclude_unset=True,
        summary="Most played tracks of a period (day, week, month, year, all) or of N days",
    )
    def top_tracks(
        context: ContextDep,
        store: StoreDep,
        day: DayParam = None,
        days: DaysParam = 1,
        audience: AudienceParam = "all",
        limit: LimitParam = 10,
        period: PeriodParam = None,
        on: DateParam = None,
    ) -> dict[str, Any]:
        if period is not None:
            chosen = resolve_period(context, period, on, day)
            items = [
                {
                    "rank": int(r["rank"]),
                    "track_id": r["id"],
                    "track_name": r.get("name"),
                    "artist_names": list(r.get("artist_names") or []),
                    "plays": int(r.get("plays") or 0),
                    "listeners": int(r.get("listeners") or 0),
                }
                for r in period_rows(store, chosen, "track", audience, limit)
                if r.get("id")
            ]
            the_day = resolve_day(context, on if on is not None else day)
            return {"day": the_day.isoformat(), "days": 1, "audience": audience, **chosen.fields(), "items": items}
        the_day = resolve_day(context, day)
        rows = ranked_rows(store.top_tracks, the_day, days, audience, limit, "track_id")
        items = [
            {
                "rank": int(r["rank"]),
                "track_id": r["track_id"],
                "track_name": r.get("track_name"),
                "artist_names": list(r.get("artist_names") or []),
                "plays": int(r.get("plays") or 0),
                "listeners": int(r.get("listeners") or 0),
            }
            for r in rows
            if r.get("track_id")
        ]
        return {"day": the_day.isoformat(), "days": days, "audience": audience, "items": items}

    @api.get(
        "/top-artists",
        response_model=TopArtists,
        response_model_exclude_unset=True,
        summary="Most played artists of a period (day, week, month, year, all) or of N days",
    )
    def top_artists(
        context: ContextDep,
        store: StoreDep,
        day: DayParam = None,
        days: DaysParam = 1,
        audience: AudienceParam = "all",
        limit: LimitParam = 10,
        period: PeriodParam = None,
        on: DateParam = None,
    ) -> dict[str, Any]:
        if period is not None:
            chosen = resolve_period(context, period, on, day)
            items = [
                {
                    "rank": int(r["rank"]),
                    "artist_id": r["id"],
                    "artist_name": r.get("name"),
                    "plays": int(r.get("plays") or 0),
                    "listeners": int(r.get("listeners") or 0),
                }
                for r in period_rows(store, chosen, "artist", audience, limit)
                if r.get("id")
            ]
            the_day = resolve_day(context, on if on is not None else day)
            return {"day": the_day.isoformat(), "days": 1, "audience": audience, **chosen.fields(), "items": items}
        the_day = resolve_day(context, day)
        rows = ranked_rows(store.top_artists, the_day, days, audience, limit, "artist_id")
        items = [
            {
                "rank": int(r["rank"]),
                "artist_id": r["artist_id"],
                "artist_name": r.get("artist_name"),
                "plays": int(r.get("plays") or 0),
                "listeners": int(r.get("listeners") or 0),
            }
            for r in rows
            if r.get("artist_id")
        ]
        return {"day": the_day.isoformat(), "days": days, "audience": audience, "items": items}

    @api.get("/trending", response_model=Trending, summary="Tracks played far above their trailing average")
    def trending(context: ContextDep, store: StoreDep, day: DayParam = None, limit: LimitParam = 10) -> dict[str, Any]:
        the_day = resolve_day(context, day)
        items = [
            {
                "rank": int(r["rank"]),
                "track_id": r["track_id"],
                "track_name": r.get("track_name"),
                "artist_names": list(r.get("artist_names") or []),
                "plays": int(r.get("plays") or 0),
                "trailing_avg": round_float(r.get("trailing_avg")) or 0.0,
                "score": round_float(r.get("score")) or 0.0,
            }
            for r in store.trending(the_day, limit)
            if r.get("track_id")
        ]
        return {"day": the_day.isoformat(), "items": items}

    return api
