"""Statistics for the Visuals page and the Home page's summary."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from nowplaying.common.config import Settings
from nowplaying.gateway.aggregate import (
    FEATURE_DOMAINS,
    STAT_METRICS,
    check_day,
    day_groups,
    day_range,
    group_rows,
    histogram,
    parse_metrics,
    stats_items,
)
from nowplaying.gateway.context import Context, ContextDep, StoreDep
from nowplaying.gateway.errors import ERROR_RESPONSES
from nowplaying.gateway.query import QueryError, bucket_name
from nowplaying.gateway.routes.charts import DayParam, resolve_day
from nowplaying.gateway.schemas import Distribution, Stats, StatsItem, Summary

DEFAULT_DAYS = 7

StartDay = Annotated[date | None, Query(description="first day, inclusive; default 6 days before `end`")]
EndDay = Annotated[date | None, Query(description="last day, inclusive; default today")]
FeatureName = Literal[
    "danceability", "energy", "speechiness", "acousticness", "instrumentalness", "liveness", "valence", "tempo",
    "loudness",
]  # fmt: skip
assert set(FeatureName.__args__) == set(FEATURE_DOMAINS)  # type: ignore[attr-defined]


def resolve_days(context: Context, start: date | None, end: date | None) -> list[date]:
    last = check_day("end", end) if end is not None else context.clock().astimezone(UTC).date()
    first = start if start is not None else last - timedelta(days=DEFAULT_DAYS - 1)
    return day_range(first, last)


def router(settings: Settings) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["stats"], responses=ERROR_RESPONSES)

    @api.get(
        "/stats",
        response_model=Stats,
        response_model_exclude_unset=True,
        summary="Plays and audio features grouped by track, artist or day (the Visuals chart builder)",
    )
    def stats(
        context: ContextDep,
        store: StoreDep,
        group_by: Annotated[Literal["track", "artist", "day"], Query()] = "track",
        metrics: Annotated[
            str, Query(max_length=300, description=f"comma-separated, from: {', '.join(STAT_METRICS)}")
        ] = "plays",
        sort: Annotated[str, Query(max_length=40, description="a metric, or `label`")] = "plays",
        order: Annotated[Literal["asc", "desc"], Query()] = "desc",
        limit: Annotated[int, Query(ge=1, le=50)] = 10,
        start: StartDay = None,
        end: EndDay = None,
    ) -> Stats:
        chosen = parse_metrics(metrics)
        if sort != "label" and sort not in STAT_METRICS:
            raise QueryError(f"cannot sort by '{sort}'; choose 'label' or one of {', '.join(STAT_METRICS)}")
        if sort not in chosen and sort != "label":
            chosen.append(sort)
        days = resolve_days(context, start, end)
        if group_by == "track":
            groups = group_rows(store.track_stats(days), "track")
        elif group_by == "artist":
            groups = group_rows(store.artist_stats(days), "artist")
        else:
            groups = day_groups(days, store.summaries(days), store.feature_means(days))
        items = stats_items(groups, chosen, sort, order, limit)
        return Stats(
            group_by=group_by,
            metrics=chosen,
            sort=sort,
            order=order,
            start=days[0].isoformat(),
            end=days[-1].isoformat(),
            items=[StatsItem(**item) for item in items],
        )

    @api.get("/stats/distribution", response_model=Distribution, summary="Histogram of an audio feature over plays")
    def distribution(
        context: ContextDep,
        store: StoreDep,
        feature: Annotated[FeatureName, Query()] = "energy",
        bins: Annotated[int, Query(ge=1, le=100)] = 20,
        start: StartDay = None,
        end: EndDay = None,
    ) -> dict[str, Any]:
        days = resolve_days(context, start, end)
        values = (
            (float(row[feature]), int(row.get("plays") or 0))
            for rows in store.track_stats(days)
            for row in rows
            if row.get(feature) is not None
        )
        edges, total = histogram(values, FEATURE_DOMAINS[feature], bins)
        return {
            "feature": feature,
            "start": days[0].isoformat(),
            "end": days[-1].isoformat(),
            "total": total,
            "bins": edges,
        }

    @api.get("/summary", response_model=Summary, summary="Headline numbers of a day (the Home page)")
    def summary(context: ContextDep, store: StoreDep, day: DayParam = None) -> dict[str, Any]:
        the_day = resolve_day(context, day)
        row = store.summaries([the_day])[0] or {}
        plays = int(row.get("plays") or 0)
        matched = int(row.get("matched") or 0)
        top = store.top_tracks([the_day], "all", 1)[0]
        day_start = datetime.combine(the_day, time.min, UTC)
        buckets = [bucket_name(day_start + timedelta(hours=h)) for h in range(24)]
        posts_today = store.count_plays(buckets, day_start, day_start + timedelta(days=1))
        return {
            "day": the_day.isoformat(),
            "plays": plays,
            "matched": matched,
            "matched_share": round(matched / plays, 4) if plays else 0.0,
            "people_plays": int(row.get("people_plays") or 0),
            "bot_plays": int(row.get("bot_plays") or 0),
            "posts_today": posts_today,
            "top_track": (
                {
                    "track_id": top[0]["track_id"],
                    "track_name": top[0].get("track_name"),
                    "artist_names": list(top[0].get("artist_names") or []),
                    "plays": int(top[0].get("plays") or 0),
                }
                if top and top[0].get("track_id")
                else None
            ),
        }

    return api
