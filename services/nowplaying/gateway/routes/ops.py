"""Pipeline status, health, readiness and the Prometheus metrics."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from nowplaying.common.config import Settings
from nowplaying.common.logging import get_logger
from nowplaying.gateway.context import ContextDep, SchemaNotMigrated, StoreDep, get_context
from nowplaying.gateway.errors import ERROR_RESPONSES
from nowplaying.gateway.query import as_utc, bucket_name, floor_hour
from nowplaying.gateway.rows import round_float, time_text
from nowplaying.gateway.schemas import Health, Status

log = get_logger(__name__)

STAGES = ("extract", "clean", "enrich", "load", "aggregate")
# How far back the newest play is looked for (hour buckets, newest first, 24 at a time).
NEWEST_PLAY_HOURS = 24 * 14
AGGREGATE_ENGINE = "periods"


def _age(moment: datetime | None, now: datetime) -> float | None:
    return round((now - as_utc(moment)).total_seconds(), 1) if moment is not None else None


def freshness(newest_play: datetime | None, checkpoint: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """The ages of the newest play and of the newest finished aggregate run."""
    finished = checkpoint.get("finished_at") if checkpoint else None
    return {
        "newest_play_at": time_text(newest_play),
        "newest_play_age_s": _age(newest_play, now),
        "newest_aggregate_at": time_text(finished),
        "newest_aggregate_age_s": _age(finished, now),
        "aggregates_ready": finished is not None,
        "aggregate_running": bool(checkpoint and checkpoint.get("status") == "running"),
    }


def stage_status(stage: str, row: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    if row is None:
        return {
            "stage": stage,
            "started_at": None,
            "finished_at": None,
            "status": "never",
            "items_in": None,
            "items_out": None,
            "errors": None,
            "duration_s": None,
            "age_s": None,
        }
    started, finished = row.get("started_at"), row.get("finished_at")
    reference = finished or started
    return {
        "stage": stage,
        "started_at": time_text(started),
        "finished_at": time_text(finished),
        "status": row.get("status") or "unknown",
        "items_in": row.get("items_in"),
        "items_out": row.get("items_out"),
        "errors": row.get("errors"),
        "duration_s": round_float(row.get("duration_s"), 3),
        "age_s": round((now - as_utc(reference)).total_seconds(), 1) if reference is not None else None,
    }


def router(settings: Settings) -> APIRouter:
    api = APIRouter()

    @api.get(
        "/api/status",
        tags=["status"],
        response_model=Status,
        response_model_exclude_unset=True,
        responses=ERROR_RESPONSES,
        summary="The last run of every pipeline stage (and, in Kubernetes, every CronJob)",
    )
    def status(context: ContextDep, store: StoreDep) -> Status:
        now = context.clock()
        rows = store.latest_runs(STAGES)
        stages = [stage_status(stage, row, now) for stage, row in zip(STAGES, rows, strict=True)]
        newest_hour = floor_hour(now)
        buckets = [bucket_name(newest_hour - timedelta(hours=h)) for h in range(NEWEST_PLAY_HOURS)]
        fresh = freshness(store.newest_play(buckets), store.checkpoint(AGGREGATE_ENGINE), now)
        body: dict[str, Any] = {"stages": stages, "freshness": fresh}
        if context.cronjobs is not None:
            cronjobs = context.cronjobs.read()
            if cronjobs is not None:
                body["cronjobs"] = cronjobs
        return Status.model_validate(body)

    @api.get(
        "/healthz",
        tags=["ops"],
        response_model=Health,
        response_model_exclude_none=True,
        summary="Liveness: the process answers",
    )
    def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    @api.get(
        "/readyz",
        tags=["ops"],
        response_model=Health,
        responses={503: {"model": Health, "description": "Cassandra cannot be reached"}},
        summary="Readiness: Cassandra answers",
    )
    async def readyz(request: Request) -> Response:
        """200 once Cassandra answers. A schema not migrated yet is no reason to take a pod out of its
        Service: every replica shares it, and on Kubernetes the migrations run in the chart's post-install
        hook, which `helm install --wait` starts only once every pod is Ready. The API answers 503
        ("not migrated yet") until they have run; the body says so here."""
        context = get_context(request)

        def check() -> str:
            return context.db.store().ping()

        try:
            await run_in_threadpool(check)
        except SchemaNotMigrated as exc:
            log.warning("ready_without_schema", detail=str(exc)[:200])
            return JSONResponse({"status": "schema_pending", "reason": "the schema is not migrated yet"})
        except Exception as exc:
            log.warning("not_ready", error=type(exc).__name__, detail=str(exc)[:200])
            return JSONResponse({"status": "unavailable", "reason": "Cassandra is not reachable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    @api.get("/metrics", tags=["ops"], include_in_schema=False)
    def metrics(request: Request) -> Response:
        registry = get_context(request).metrics.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return api
