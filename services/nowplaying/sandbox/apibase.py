"""What every API module shares: JSON responses, the fault/statistics middleware, rate limiting."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson
from aiohttp import web

from nowplaying.common.logging import get_logger
from nowplaying.sandbox.faults import FaultRule
from nowplaying.sandbox.state import SandboxState

log = get_logger("nowplaying.sandbox")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATE_KEY: web.AppKey[SandboxState] = web.AppKey("sandbox_state", SandboxState)


class ErrorFactory(Protocol):
    """An API's own error answer for a status (with its rate-limit headers for 429)."""

    def __call__(
        self, status: int, retry_after_s: float | None = None, reset_epoch: float | None = None
    ) -> web.Response: ...


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, headers=headers, content_type="application/json", charset="utf-8"
    )


def state_of(request: web.Request) -> SandboxState:
    return request.config_dict[STATE_KEY]


def origin(request: web.Request) -> str:
    """scheme://host:port the client used, so URLs in answers point back at this sandbox."""
    return f"{request.scheme}://{request.host}"


def bearer(request: web.Request) -> str | None:
    value = request.headers.get("Authorization", "")
    if value[:7].lower() == "bearer ":
        return value[7:].strip()
    return None


MALFORMED_BODY = b'{"data": [{"id": "1", "text": "#NowPlaying oops'


class Dropped(web.HTTPInternalServerError):
    """The connection was closed on purpose; aiohttp cannot send this answer and stays quiet."""


async def _apply_fault(
    rule: FaultRule, request: web.Request, handler: Handler, error: ErrorFactory
) -> web.StreamResponse:
    mode = rule.mode
    state = state_of(request)
    if mode in ("429", "429long"):
        seconds = rule.seconds
        return error(429, retry_after_s=seconds, reset_epoch=state.now() + seconds)
    if mode == "slow":
        await asyncio.sleep(rule.seconds)
        return await handler(request)
    if mode == "drop":
        if request.transport is not None:
            request.transport.close()
        raise Dropped()
    if mode == "malformed":
        return web.Response(body=MALFORMED_BODY, status=200, content_type="application/json")
    if mode == "truncated":
        real = await handler(request)
        body = real.body if isinstance(real, web.Response) and isinstance(real.body, bytes) else b"{}"
        stream = web.StreamResponse(status=real.status)
        for name, value in real.headers.items():
            if name.lower() not in ("content-length", "content-type"):
                stream.headers[name] = value
        stream.content_type = "application/json"
        stream.content_length = len(body)
        await stream.prepare(request)
        await stream.write(body[: max(1, len(body) // 2)])
        if request.transport is not None:
            request.transport.close()
        return stream
    return error(int(mode))


def api_middleware(api: str, error: ErrorFactory) -> Any:
    """Faults first, then the handler; counts every answer by status, and every request by endpoint
    (its route, e.g. ``/spotify/api/v1/search``), for ``/_admin/stats``."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        state = state_of(request)
        resource = request.match_info.route.resource
        state.stats.count_endpoint(api, resource.canonical if resource is not None else request.path)
        rule = state.faults.pick(api, request.path)
        try:
            if rule is not None:
                response = await _apply_fault(rule, request, handler, error)
                label = rule.mode if rule.mode in ("drop", "malformed", "truncated") else str(response.status)
            else:
                response = await handler(request)
                label = str(response.status)
        except Dropped:
            state.stats.count(api, "drop")
            raise
        except web.HTTPException as exc:
            state.stats.count(api, str(exc.status))
            raise
        state.stats.count(api, label)
        return response

    return middleware


def rate_limit(request: web.Request, api: str) -> tuple[bool, int, int, float]:
    """Count the request in the API's window: (allowed, limit, remaining, reset epoch seconds)."""
    state = state_of(request)
    window = state.windows.get(api)
    if window is None:
        return True, 0, 0, state.now()
    with state.lock:
        allowed, remaining, reset = window.hit(state.now())
    return allowed, window.limit, remaining, reset


def new_app(state: SandboxState, api: str, error: ErrorFactory) -> web.Application:
    app = web.Application(middlewares=[api_middleware(api, error)])
    app[STATE_KEY] = state
    return app
