"""ReccoBeats: ``GET /v1/audio-features?ids=`` and ``GET /v1/track?ids=`` (research/apis.md 2.8).

Takes Spotify ids (at most 40), answers ``{"content": [...]}``: unknown ids are left out, the order is
not the request's (map rows back through ``href``), no ``time_signature`` and no ``duration_ms``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from nowplaying.sandbox.apibase import json_response, new_app, rate_limit, state_of
from nowplaying.sandbox.state import SandboxState

MAX_IDS = 40


def error(status: int, retry_after_s: float | None = None, reset_epoch: float | None = None) -> web.Response:
    headers = {"Retry-After": str(max(1, int(retry_after_s or 1)))} if status == 429 else None
    body = {
        "timestamp": "",
        "status": status,
        "error": {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}.get(
            status, "Error"
        ),
    }
    return json_response(body, status=status, headers=headers)


def _ids(request: web.Request) -> tuple[list[str], web.Response | None]:
    values = request.query.getall("ids", [])
    ids = [i.strip() for v in values for i in v.split(",") if i.strip()]
    if not 1 <= len(ids) <= MAX_IDS:
        body = {"status": 4004, "errors": [{"message": f"size must be between 1 and {MAX_IDS}"}]}
        return [], json_response(body, status=400)
    return ids, None


def _limited(request: web.Request) -> web.Response | None:
    allowed, _limit, _remaining, reset = rate_limit(request, "reccobeats")
    if allowed:
        return None
    return error(429, retry_after_s=max(1.0, reset - state_of(request).now() + 0.999))


def _ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # ReccoBeats does not keep the request order: ours is by its own id.
    return sorted(rows, key=lambda row: str(row["id"]))


async def audio_features(request: web.Request) -> web.Response:
    limited = _limited(request)
    if limited is not None:
        return limited
    ids, bad = _ids(request)
    if bad is not None:
        return bad
    catalog = state_of(request).catalog
    rows = [row for row in (catalog.reccobeats_features(i) for i in dict.fromkeys(ids)) if row is not None]
    return json_response({"content": _ordered(rows)})


async def tracks(request: web.Request) -> web.Response:
    limited = _limited(request)
    if limited is not None:
        return limited
    ids, bad = _ids(request)
    if bad is not None:
        return bad
    catalog = state_of(request).catalog
    rows = []
    for i in dict.fromkeys(ids):
        track = catalog.track(i)
        if track is None or track.reccobeats_id is None:
            continue
        rows.append(
            {
                "id": track.reccobeats_id,
                "trackTitle": track.name,
                "artists": [
                    {"id": a, "name": catalog.artists[a].name, "href": f"https://open.spotify.com/artist/{a}"}
                    for a in track.artist_ids
                ],
                "durationMs": track.duration_ms,
                "isrc": track.isrc,
                "ean": None,
                "upc": None,
                "href": f"https://open.spotify.com/track/{track.id}",
                "availableCountries": "US,GB,DE,ES,FR,BR,MX,JP,KR,SE,IT,AR",
                "popularity": track.popularity,
            }
        )
    return json_response({"content": _ordered(rows)})


def make_app(state: SandboxState) -> web.Application:
    app = new_app(state, "reccobeats", error)
    app.router.add_get("/v1/audio-features", audio_features)
    app.router.add_get("/v1/track", tracks)
    return app
