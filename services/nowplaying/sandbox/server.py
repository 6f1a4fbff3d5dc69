"""The sandbox server: one aiohttp application, one sub-application per API prefix.

    /x                  X API v2              (X_API_BASE)
    /spotify/accounts   Spotify token         (SPOTIFY_ACCOUNTS_BASE)
    /spotify/api        Spotify Web API       (SPOTIFY_API_BASE = .../spotify/api/v1)
    /reccobeats         ReccoBeats            (RECCOBEATS_BASE)
    /mastodon           Mastodon instance     (MASTODON_BASE)
    /bluesky            Bluesky PDS           (BLUESKY_BASE)
    /_admin             admin API

``start_sandbox(...)`` runs it on a background thread (for tests and benchmarks) and returns a
``RunningSandbox`` with the base URLs and a small admin client; ``serve(...)`` runs it in the
foreground (``nowplaying sandbox``).
"""

from __future__ import annotations

import asyncio
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from nowplaying.common.config import Settings
from nowplaying.common.logging import get_logger
from nowplaying.sandbox import admin_api, bluesky_api, mastodon_api, reccobeats_api, spotify_api, x_api
from nowplaying.sandbox.apibase import STATE_KEY
from nowplaying.sandbox.state import (
    DEFAULT_BLUESKY_LOGIN,
    DEFAULT_SPOTIFY_CLIENT,
    DEFAULT_X_BEARER,
    SandboxConfig,
    SandboxState,
)

log = get_logger("nowplaying.sandbox")


def config_from_settings(settings: Settings, **overrides: Any) -> SandboxConfig:
    """The sandbox configuration from the one settings object; credentials the services are configured
    with are accepted besides the documented sandbox defaults."""
    x_tokens = [DEFAULT_X_BEARER]
    if settings.x_bearer_token is not None:
        x_tokens.append(settings.x_bearer_token.get_secret_value())
    clients = [DEFAULT_SPOTIFY_CLIENT]
    if settings.spotify_client_id and settings.spotify_client_secret is not None:
        clients.append((settings.spotify_client_id, settings.spotify_client_secret.get_secret_value()))
    logins = [DEFAULT_BLUESKY_LOGIN]
    if settings.bluesky_handle and settings.bluesky_app_password is not None:
        logins.append((settings.bluesky_handle, settings.bluesky_app_password.get_secret_value()))
    mastodon_tokens: tuple[str, ...] = ()
    if settings.mastodon_access_token is not None:
        mastodon_tokens = (settings.mastodon_access_token.get_secret_value(),)
    values: dict[str, Any] = {
        "seed": settings.sandbox_seed,
        "dev_mode": settings.sandbox_dev_mode,
        "posts_per_minute": settings.sandbox_posts_per_minute,
        "initial_posts": settings.sandbox_initial_posts,
        "faults": settings.sandbox_faults,
        "catalog_file": str(settings.sandbox_catalog) if settings.sandbox_catalog else None,
        "x_bearer_tokens": tuple(x_tokens),
        "spotify_clients": tuple(clients),
        "bluesky_logins": tuple(logins),
        "mastodon_tokens": mastodon_tokens,
    }
    values.update(overrides)
    return SandboxConfig(**values)


def build_app(state: SandboxState) -> web.Application:
    root = web.Application()
    root[STATE_KEY] = state
    root.add_subapp("/x", x_api.make_app(state))
    root.add_subapp("/spotify/accounts", spotify_api.make_accounts_app(state))
    root.add_subapp("/spotify/api", spotify_api.make_api_app(state))
    root.add_subapp("/reccobeats", reccobeats_api.make_app(state))
    root.add_subapp("/mastodon", mastodon_api.make_app(state))
    root.add_subapp("/bluesky", bluesky_api.make_app(state))
    root.add_subapp("/_admin", admin_api.make_app(state))

    async def index(request: web.Request) -> web.Response:
        return web.json_response(base_urls(f"{request.scheme}://{request.host}"))

    root.router.add_get("/", index)
    return root


def base_urls(base: str) -> dict[str, str]:
    """The environment variables that point the services at this sandbox."""
    return {
        "X_API_BASE": f"{base}/x",
        "SPOTIFY_ACCOUNTS_BASE": f"{base}/spotify/accounts",
        "SPOTIFY_API_BASE": f"{base}/spotify/api/v1",
        "RECCOBEATS_BASE": f"{base}/reccobeats",
        "MASTODON_BASE": f"{base}/mastodon",
        "BLUESKY_BASE": f"{base}/bluesky",
        "SANDBOX_ADMIN": f"{base}/_admin",
    }


class SandboxServer:
    """The sandbox on the current event loop."""

    def __init__(self, config: SandboxConfig, clock: Callable[[], float] | None = None) -> None:
        self.state = SandboxState(config, clock) if clock is not None else SandboxState(config)
        for problem in self.state.catalog.extra_errors:
            log.warning("sandbox_catalog_line_skipped", error=problem)
        self.app = build_app(self.state)
        self._runner: web.AppRunner | None = None
        self.host = ""
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.host = host
        self.port = sockets[0].getsockname()[1] if sockets else port
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@dataclass
class RunningSandbox:
    """A sandbox on a background thread, with a tiny synchronous admin client."""

    server: SandboxServer
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def state(self) -> SandboxState:
        return self.server.state

    @property
    def urls(self) -> dict[str, str]:
        return base_urls(self.base_url)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call ``/_admin{path}`` and return the decoded JSON (raises on an HTTP error)."""
        data = None if body is None else orjson.dumps(body)
        request = urllib.request.Request(  # noqa: S310 (a loopback http URL we built)
            f"{self.base_url}/_admin{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return orjson.loads(response.read())

    def set_faults(self, spec_or_rules: str | list[dict[str, Any]]) -> Any:
        if isinstance(spec_or_rules, str):
            return self.admin("POST", "/faults", {"spec": spec_or_rules})
        return self.admin("POST", "/faults", {"rules": spec_or_rules})

    def configure(self, **values: Any) -> Any:
        return self.admin("POST", "/config", values)

    def stats(self) -> Any:
        return self.admin("GET", "/stats")

    def reset(self, corpus: bool = False) -> Any:
        return self.admin("POST", "/reset", {"corpus": corpus})

    def publish(self, count: int, posts: list[dict[str, Any]] | None = None) -> Any:
        """Publish ``count`` corpus posts now, then the given custom posts ({source, text, truth?})."""
        return self.admin("POST", "/publish", {"count": count, "posts": posts or []})

    def posts(self, source: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        query = f"&source={source}" if source else ""
        while True:
            page = self.admin("GET", f"/posts?offset={len(out)}&limit=5000{query}")
            out.extend(page["posts"])
            if len(out) >= page["total"] or not page["posts"]:
                return out

    def served(self, source: str) -> dict[str, int]:
        ids: dict[str, int] = self.admin("GET", f"/served?source={source}")["ids"]
        return ids

    def stop(self) -> None:
        future = asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop)
        future.result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)


def start_sandbox(config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
    """Start a sandbox on a background thread; ``port=0`` picks a free port."""
    server = SandboxServer(config or SandboxConfig())
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start(host, port))
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, name="nowplaying-sandbox", daemon=True)
    thread.start()
    started.wait(timeout=60)
    if failure:
        raise failure[0]
    return RunningSandbox(server, loop, thread)


async def serve(config: SandboxConfig, host: str, port: int, announce: Callable[[str], None] = print) -> None:
    """Run until cancelled (Ctrl-C), printing the base URLs first."""
    server = SandboxServer(config)
    base = await server.start(host, port)
    announce(f"nowplaying sandbox (seed {config.seed}, Spotify Development Mode {'on' if config.dev_mode else 'off'})")
    catalog = server.state.catalog
    if config.catalog_file:
        announce(f"SANDBOX_CATALOG {config.catalog_file}: {catalog.extra_tracks} tracks added")
        for problem in catalog.extra_errors:
            announce(f"SANDBOX_CATALOG line skipped: {problem}")
    for name, url in base_urls(base).items():
        announce(f"{name}={url}")
    log.info(
        "sandbox_started",
        base_url=base,
        seed=config.seed,
        initial_posts=config.initial_posts,
        catalog_extra_tracks=catalog.extra_tracks,
        catalog_file_errors=len(catalog.extra_errors),
    )
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


__all__ = [
    "RunningSandbox",
    "SandboxServer",
    "base_urls",
    "build_app",
    "config_from_settings",
    "serve",
    "start_sandbox",
]
