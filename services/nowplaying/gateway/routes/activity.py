"""Listening activity of a UTC period: hour-of-day x weekday, sources, languages, people vs bots over time."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from nowplaying.common.config import Settings
from nowplaying.gateway.context import ContextDep, StoreDep
from nowplaying.gateway.errors import ERROR_RESPONSES
from nowplaying.gateway.periods import activity_view
from nowplaying.gateway.routes.charts import DateParam, resolve_period
from nowplaying.gateway.schemas import Activity

KindParam = Annotated[Literal["day", "week", "month", "year", "all"], Query(description="a UTC calendar period")]


def router(settings: Settings) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["activity"], responses=ERROR_RESPONSES)

    @api.get("/activity", response_model=Activity, summary="When, where and in which language plays happen")
    def activity(
        context: ContextDep, store: StoreDep, period: KindParam = "week", on: DateParam = None
    ) -> dict[str, Any]:
        chosen = resolve_period(context, period, on, None)
        return activity_view(chosen, store.activity(chosen.key))

    return api
