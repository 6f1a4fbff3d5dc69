"""Spotify: the accounts token endpoint and the Web API (research/apis.md section 2).

Two sub-apps: ``accounts`` (``POST /api/token``, client credentials) and ``api`` (``/v1/...``).
Development Mode (on by default) gives the 2026 behaviour: search ``limit`` over 10 -> 400, batch
``GET /tracks?ids=`` and ``/artists?ids=`` -> 403, no ``popularity``/``followers``/``external_ids``/
``available_markets``, ``audio-features`` -> 403.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from nowplaying.sandbox.apibase import bearer, json_response, new_app, origin, rate_limit, state_of
from nowplaying.sandbox.catalog import MARKETS, SPOTIFY_ID_RE, Artist, Catalog, Track
from nowplaying.sandbox.state import SandboxState

API_PREFIX = "/spotify/api/v1"
MAX_OFFSET = 1000


def error(status: int, retry_after_s: float | None = None, reset_epoch: float | None = None) -> web.Response:
    messages = {
        400: "Bad request",
        401: "Invalid access token",
        403: "Forbidden",
        404: "Resource not found",
        429: "API rate limit exceeded",
        500: "Server error",
        502: "Bad gateway",
        503: "Service unavailable",
    }
    headers = {"Retry-After": str(max(1, int(retry_after_s or 1)))} if status == 429 else None
    return api_error(status, messages.get(status, "Error"), headers)


def api_error(status: int, message: str | None, headers: dict[str, str] | None = None) -> web.Response:
    inner: dict[str, Any] = {"status": status}
    if message is not None:
        inner["message"] = message
    return json_response({"error": inner}, status=status, headers=headers)


def accounts_error(status: int, retry_after_s: float | None = None, reset_epoch: float | None = None) -> web.Response:
    if status == 429:
        return json_response(
            {"error": "too_many_requests", "error_description": "Too many requests"},
            status=429,
            headers={"Retry-After": str(max(1, int(retry_after_s or 1)))},
        )
    if status >= 500:
        return json_response({"error": "server_error", "error_description": "Server error"}, status=status)
    return json_response({"error": "invalid_request", "error_description": "Invalid request"}, status=status)


# --- accounts --------------------------------------------------------------------------------


async def token(request: web.Request) -> web.Response:
    state = state_of(request)
    form = await request.post()
    client_id = client_secret = None
    auth = request.headers.get("Authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(auth[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        client_id, _, client_secret = decoded.partition(":")
    else:
        client_id = str(form.get("client_id", "")) or None
        client_secret = str(form.get("client_secret", "")) or None
    grant = str(form.get("grant_type", ""))
    if not grant:
        return json_response(
            {"error": "unsupported_grant_type", "error_description": "grant_type parameter is missing"}, status=400
        )
    if grant != "client_credentials":
        return json_response(
            {
                "error": "unsupported_grant_type",
                "error_description": f"grant_type {grant} is not supported for this client",
            },
            status=400,
        )
    if not client_id or (client_id, client_secret) not in state.config.spotify_clients:
        return json_response({"error": "invalid_client", "error_description": "Invalid client"}, status=400)
    access = "BQ" + secrets.token_urlsafe(96)[:113]
    ttl = state.config.spotify_token_ttl_s
    with state.lock:
        now = state.now()
        state.spotify_tokens = {t: e for t, e in state.spotify_tokens.items() if e > now}
        state.spotify_tokens[access] = now + ttl
    return json_response({"access_token": access, "token_type": "Bearer", "expires_in": ttl})


def make_accounts_app(state: SandboxState) -> web.Application:
    app = new_app(state, "spotify", accounts_error)
    app.router.add_post("/api/token", token)
    return app


# --- Web API ---------------------------------------------------------------------------------


def _check(request: web.Request) -> web.Response | None:
    """Auth and the rolling rate window; an error answer, or None to go on."""
    state = state_of(request)
    value = bearer(request)
    if value is None:
        return api_error(401, "No token provided" if "Authorization" not in request.headers else "Invalid access token")
    expiry = state.spotify_tokens.get(value)
    if expiry is None:
        return api_error(401, "Invalid access token")
    if expiry <= state.now():
        return api_error(401, "The access token expired")
    allowed, _limit, _remaining, reset = rate_limit(request, "spotify")
    if not allowed:
        return error(429, retry_after_s=max(1.0, reset - state.now() + 0.999))
    return None


def _base(request: web.Request) -> str:
    return origin(request) + API_PREFIX


def artist_simple(base: str, artist: Artist) -> dict[str, Any]:
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{artist.id}"},
        "href": f"{base}/artists/{artist.id}",
        "id": artist.id,
        "name": artist.name,
        "type": "artist",
        "uri": f"spotify:artist:{artist.id}",
    }


def artist_full(base: str, artist: Artist, dev_mode: bool) -> dict[str, Any]:
    out = artist_simple(base, artist)
    out["genres"] = list(artist.genres)
    out["images"] = [
        {"url": f"https://i.scdn.co/image/ab6761610000e5eb{artist.id.lower()}", "height": 640, "width": 640}
    ]
    if not dev_mode:
        out["followers"] = {"href": None, "total": artist.followers}
        out["popularity"] = artist.popularity
    return out


def track_object(base: str, catalog: Catalog, track: Track, dev_mode: bool, market: str | None) -> dict[str, Any]:
    album = track.album
    artists = [artist_simple(base, catalog.artists[a]) for a in track.artist_ids]
    album_obj: dict[str, Any] = {
        "album_type": album.album_type,
        "total_tracks": album.total_tracks,
        "external_urls": {"spotify": f"https://open.spotify.com/album/{album.id}"},
        "href": f"{base}/albums/{album.id}",
        "id": album.id,
        "images": [{"url": f"https://i.scdn.co/image/ab67616d0000b273{album.id.lower()}", "height": 640, "width": 640}],
        "name": album.name,
        "release_date": album.release_date,
        "release_date_precision": {4: "year", 7: "month"}.get(len(album.release_date), "day"),
        "type": "album",
        "uri": f"spotify:album:{album.id}",
        "artists": [artist_simple(base, catalog.artists[a]) for a in album.artist_ids],
    }
    out: dict[str, Any] = {
        "album": album_obj,
        "artists": artists,
        "disc_number": 1,
        "duration_ms": track.duration_ms,
        "explicit": track.explicit,
        "external_urls": {"spotify": f"https://open.spotify.com/track/{track.id}"},
        "href": f"{base}/tracks/{track.id}",
        "id": track.id,
        "is_local": False,
        "name": track.name,
        "preview_url": None,
        "track_number": track.track_number,
        "type": "track",
        "uri": f"spotify:track:{track.id}",
    }
    if market:
        out["is_playable"] = True
    if not dev_mode:
        out["popularity"] = track.popularity
        out["external_ids"] = {"isrc": track.isrc}
        album_obj["available_markets"] = list(MARKETS)
        if not market:
            out["available_markets"] = list(MARKETS)
    return out


def audio_features_object(base: str, track: Track) -> dict[str, Any]:
    feats = track.features
    out: dict[str, Any] = {
        key: feats[key]
        for key in (
            "danceability",
            "energy",
            "key",
            "loudness",
            "mode",
            "speechiness",
            "acousticness",
            "instrumentalness",
            "liveness",
            "valence",
            "tempo",
        )
    }
    out.update(
        {
            "type": "audio_features",
            "id": track.id,
            "uri": f"spotify:track:{track.id}",
            "track_href": f"{base}/tracks/{track.id}",
            "analysis_url": f"{base}/audio-analysis/{track.id}",
            "duration_ms": track.duration_ms,
            "time_signature": feats["time_signature"],
        }
    )
    return out


def _market(request: web.Request) -> tuple[str | None, web.Response | None]:
    market = request.query.get("market")
    if market is None or market == "from_token":
        return None, None
    if len(market) != 2 or not market.isalpha():
        return None, api_error(400, "Invalid market code")
    return market.upper(), None


def _batch_ids(request: web.Request, maximum: int) -> tuple[list[str], web.Response | None]:
    """A batch endpoint's ids, after auth and Development Mode's 403 (batch lookups are refused there)."""
    problem = _check(request)
    if problem is not None:
        return [], problem
    if state_of(request).config.dev_mode:
        return [], api_error(403, "Forbidden")
    return _ids(request, maximum)


def _ids(request: web.Request, maximum: int) -> tuple[list[str], web.Response | None]:
    raw = request.query.get("ids")
    if raw is None:
        return [], api_error(400, "invalid request")
    ids = [i for i in raw.split(",") if i]
    if not ids:
        return [], api_error(400, "invalid request")
    if len(ids) > maximum:
        return [], api_error(400, "Too many ids requested")
    for i in ids:
        if not SPOTIFY_ID_RE.match(i):
            return [], api_error(400, "Invalid base62 id")
    return ids, None


async def search(request: web.Request) -> web.Response:
    problem = _check(request)
    if problem is not None:
        return problem
    state = state_of(request)
    dev = state.config.dev_mode
    q = request.query.get("q", "")
    if not q.strip():
        return api_error(400, "No search query")
    types_raw = request.query.get("type")
    if not types_raw:
        return api_error(400, "Missing parameter type")
    types = [t.strip() for t in types_raw.split(",")]
    for t in types:
        if t not in ("album", "artist", "playlist", "track", "show", "episode", "audiobook"):
            return api_error(400, f"Bad search type field {t}")
    try:
        limit = int(request.query.get("limit", "5" if dev else "20"))
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        return api_error(400, "Invalid limit")
    if limit < 0 or limit > (10 if dev else 50):
        return api_error(400, "Invalid limit")
    if offset < 0 or offset + limit > MAX_OFFSET:
        return api_error(400, "Invalid offset")
    market, bad = _market(request)
    if bad is not None:
        return bad
    base = _base(request)
    catalog = state.catalog
    body: dict[str, Any] = {}
    for t in types:
        items: list[Any]
        if t == "track":
            found = catalog.search_tracks(q)
            total = len(found)
            items = [track_object(base, catalog, tr, dev, market) for tr in found[offset : offset + limit]]
        elif t == "artist":
            seen: dict[str, Artist] = {}
            for tr in catalog.search_tracks(q):
                for a in tr.artist_ids:
                    seen.setdefault(a, catalog.artists[a])
            found_artists = list(seen.values())
            total = len(found_artists)
            items = [artist_full(base, a, dev) for a in found_artists[offset : offset + limit]]
        else:
            total, items = 0, []
        params = {k: v for k, v in request.query.items() if k not in ("offset", "limit")}

        def page_url(at: int, params: dict[str, str] = params) -> str:
            return f"{base}/search?" + urlencode({**params, "offset": at, "limit": limit})

        body[t + "s"] = {
            "href": page_url(offset),
            "items": items,
            "limit": limit,
            "next": page_url(offset + limit) if offset + limit < min(total, MAX_OFFSET) else None,
            "offset": offset,
            "previous": page_url(max(0, offset - limit)) if offset > 0 else None,
            "total": total,
        }
    return json_response(body)


async def get_track(request: web.Request) -> web.Response:
    problem = _check(request)
    if problem is not None:
        return problem
    state = state_of(request)
    track_id = request.match_info["id"]
    if not SPOTIFY_ID_RE.match(track_id):
        return api_error(400, "Invalid base62 id")
    market, bad = _market(request)
    if bad is not None:
        return bad
    track = state.catalog.track(track_id)
    if track is None:
        return api_error(404, "Resource not found")
    return json_response(track_object(_base(request), state.catalog, track, state.config.dev_mode, market))


async def get_tracks(request: web.Request) -> web.Response:
    ids, bad = _batch_ids(request, 50)
    if bad is not None:
        return bad
    market, bad = _market(request)
    if bad is not None:
        return bad
    base, catalog = _base(request), state_of(request).catalog
    tracks = [catalog.track(i) for i in ids]
    return json_response(
        {"tracks": [None if t is None else track_object(base, catalog, t, False, market) for t in tracks]}
    )


async def get_artist(request: web.Request) -> web.Response:
    problem = _check(request)
    if problem is not None:
        return problem
    state = state_of(request)
    artist_id = request.match_info["id"]
    if not SPOTIFY_ID_RE.match(artist_id):
        return api_error(400, "Invalid base62 id")
    artist = state.catalog.artist(artist_id)
    if artist is None:
        return api_error(404, "Resource not found")
    return json_response(artist_full(_base(request), artist, state.config.dev_mode))


async def get_artists(request: web.Request) -> web.Response:
    ids, bad = _batch_ids(request, 50)
    if bad is not None:
        return bad
    base, catalog = _base(request), state_of(request).catalog
    artists = [catalog.artist(i) for i in ids]
    return json_response({"artists": [None if a is None else artist_full(base, a, False) for a in artists]})


async def audio_features(request: web.Request) -> web.Response:
    problem = _check(request)
    if problem is not None:
        return problem
    state = state_of(request)
    if state.config.dev_mode:
        return api_error(403, None)  # the real answer has no message: {"error": {"status": 403}}
    single = request.match_info.get("id")
    base = _base(request)
    if single is not None:
        if not SPOTIFY_ID_RE.match(single):
            return api_error(400, "Invalid base62 id")
        track = state.catalog.track(single)
        if track is None:
            return api_error(404, "Resource not found")
        return json_response(audio_features_object(base, track))
    ids, bad = _ids(request, 100)
    if bad is not None:
        return bad
    out = []
    for i in ids:
        track = state.catalog.track(i)
        out.append(None if track is None else audio_features_object(base, track))
    return json_response({"audio_features": out})


async def removed(request: web.Request) -> web.Response:
    """Endpoints gone for new apps (recommendations, related artists): 404 like the real API."""
    problem = _check(request)
    if problem is not None:
        return problem
    return api_error(404, "Service not found" if state_of(request).config.dev_mode else "Not implemented")


def make_api_app(state: SandboxState) -> web.Application:
    app = new_app(state, "spotify", error)
    r = app.router
    r.add_get("/v1/search", search)
    r.add_get("/v1/tracks", get_tracks)
    r.add_get("/v1/tracks/", get_tracks)
    r.add_get("/v1/tracks/{id}", get_track)
    r.add_get("/v1/artists", get_artists)
    r.add_get("/v1/artists/", get_artists)
    r.add_get("/v1/artists/{id}", get_artist)
    r.add_get("/v1/audio-features", audio_features)
    r.add_get("/v1/audio-features/", audio_features)
    r.add_get("/v1/audio-features/{id}", audio_features)
    r.add_get("/v1/recommendations", removed)
    r.add_get("/v1/artists/{id}/related-artists", removed)
    return app
