"""The FastAPI application: ``create_app(settings, session=None)``.

With a session given (tests, benchmarks) the app uses it and never closes it; without one it
connects at startup (retrying up to ``CASSANDRA_CONNECT_TIMEOUT_S``) and, when Cassandra is still
down, starts anyway: ``/healthz`` answers, ``/readyz`` and the API answer 503 until it is back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from cassandra.cluster import Session
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware

from nowplaying import __version__ as _package_version
from nowplaying.common.config import Settings
from nowplaying.common.logging import get_logger
from nowplaying.gateway import frontend
from nowplaying.gateway.context import Context
from nowplaying.gateway.errors import install_error_handlers
from nowplaying.gateway.middleware import GatewayMiddleware
from nowplaying.gateway.routes import activity, catalog, charts, matches, ops, plays, stats

log = get_logger(__name__)

DESCRIPTION = (
    "The API behind the nowplaying web app: plays (cursor paging, exports), tracks, artists, charts, "
    'statistics and pipeline status. Errors are `{"error": {"code", "message"}}`.'
)


def create_app(settings: Settings, session: Session | None = None) -> FastAPI:
    context = Context.build(settings, session)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(context.db.store, settings.cassandra_connect_timeout_s)
        except Exception as exc:  # keep serving: /readyz says 503 until Cassandra answers
            log.warning("gateway_started_without_cassandra", error=type(exc).__name__, detail=str(exc)[:300])
        log.info("gateway_ready", keyspace=settings.cassandra_keyspace, frontend=str(settings.frontend_dist))
        try:
            yield
        finally:
            context.db.close()

    app = FastAPI(
        title="nowplaying gateway",
        version=_package_version,
        description=DESCRIPTION,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.context = context
    install_error_handlers(app)
    for module in (plays, matches, catalog, charts, activity, stats, ops):
        app.include_router(module.router(settings))
    app.include_router(frontend.router(settings.frontend_dist))

    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET"],
            allow_headers=["*"],
            expose_headers=["Content-Disposition"],
            max_age=600,
        )
    app.add_middleware(GatewayMiddleware, metrics=context.metrics)
    return app
