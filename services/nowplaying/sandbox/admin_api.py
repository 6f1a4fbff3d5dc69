"""The admin API under ``/_admin``: corpus and request statistics, served posts, faults, reset.

* ``GET  /_admin/stats``: seed, dev mode, published posts by source/kind/format, catalog size (and
  the tracks loaded from ``SANDBOX_CATALOG`` with its malformed lines as ``path:line: reason``),
  requests by API and status (``drop``/``malformed``/``truncated`` for those faults) and by API and
  endpoint (the route, e.g. ``/spotify/api/v1/search``), served posts
  (distinct and total) by source, active faults.
* ``GET  /_admin/posts?source=x&offset=0&limit=1000``: published posts with their truth, oldest first.
* ``GET  /_admin/served?source=x``: ``{"source", "ids": {post_id: times served}}``.
* ``POST /_admin/publish`` ``{"count": N}``: N more posts appear now.
* ``GET|POST|DELETE /_admin/faults``: see ``nowplaying.sandbox.faults``.
* ``GET|POST /_admin/config``: ``dev_mode``, ``posts_per_minute``, ``spotify_token_ttl_s``,
  ``bluesky_access_ttl_s``, ``mastodon_require_auth``, ``limits`` ({api: {limit, window_s}}).
* ``POST /_admin/catalog`` ``{"tracks": [TrackObject, ...]}``: Spotify track objects added to the
  catalog now (a track released after a post named it); answers the ids added and, per bad object,
  ``index: reason``. Added tracks stay for the life of the process (the catalog is built once per
  seed and SANDBOX_CATALOG file), and a reset keeps them.
* ``POST /_admin/expire-tokens``: every Spotify and Bluesky access token issued so far expires.
* ``POST /_admin/reset`` ``{"corpus": false}``: faults back to the configured ones; statistics,
  served ids, tokens and rate windows cleared; config back to the start; ``corpus: true`` also
  restarts the timeline (the same seed gives the same posts again).
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
from aiohttp import web

from nowplaying.sandbox.apibase import STATE_KEY, json_response, state_of
from nowplaying.sandbox.corpus import SOURCES
from nowplaying.sandbox.faults import FaultRule, FaultSpecError, parse_fault_spec
from nowplaying.sandbox.state import SandboxConfig, SandboxState

INITIAL_CONFIG_KEY: web.AppKey[SandboxConfig] = web.AppKey("initial_config", SandboxConfig)


async def _body(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    try:
        return await request.json(loads=orjson.loads)
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise web.HTTPBadRequest(text=f"body is not JSON: {exc}") from None


def _bad(message: str) -> web.Response:
    return json_response({"error": message}, status=400)


async def stats(request: web.Request) -> web.Response:
    state = state_of(request)
    timeline = state.timeline
    timeline.advance()
    with timeline._lock:
        published = {s: len(timeline.feeds[s].posts) for s in SOURCES}
        kinds = dict(timeline.kinds)
        formats = dict(timeline.formats)
    with state.stats._lock:
        requests = {api: dict(counter) for api, counter in state.stats.requests.items()}
        endpoints = {api: dict(counter) for api, counter in state.stats.endpoints.items()}
        served = {s: {"distinct": len(c), "total": sum(c.values())} for s, c in state.stats.served.items()}
    body = {
        "seed": state.config.seed,
        "dev_mode": state.config.dev_mode,
        "corpus": {
            "published": published,
            "total": sum(published.values()),
            "kinds": kinds,
            "formats": formats,
            "catalog_tracks": len(state.catalog),
            "catalog_songs": len(state.catalog.songs),
            "catalog_extra_tracks": state.catalog.extra_tracks,
            "catalog_file_errors": list(state.catalog.extra_errors),
        },
        "requests": requests,
        "requests_by_endpoint": endpoints,
        "served": served,
        "faults": [r.to_dict() for r in state.faults.rules()],
        "faults_fired": dict(state.faults.fired),
        "config": state.config.public(),
    }
    return json_response(body)


async def posts(request: web.Request) -> web.Response:
    state = state_of(request)
    source = request.query.get("source")
    if source is not None and source not in SOURCES:
        return _bad(f"source must be one of {', '.join(SOURCES)}")
    try:
        offset = int(request.query.get("offset", "0"))
        limit = int(request.query.get("limit", "1000"))
    except ValueError:
        return _bad("offset and limit must be integers")
    state.timeline.advance()
    selected = state.timeline.all_posts(source)
    page = selected[offset : offset + limit]
    return json_response({"total": len(selected), "offset": offset, "posts": [p.to_dict() for p in page]})


async def served(request: web.Request) -> web.Response:
    state = state_of(request)
    source = request.query.get("source", "")
    if source not in SOURCES:
        return _bad(f"source must be one of {', '.join(SOURCES)}")
    with state.stats._lock:
        ids = dict(state.stats.served[source])
    return json_response({"source": source, "ids": ids})


async def publish(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await _body(request)
    count = body.get("count", 1) if isinstance(body, dict) else None
    if not isinstance(count, int) or not 0 <= count <= 50_000:
        return _bad("count must be an integer between 0 and 50000")
    custom = body.get("posts", []) if isinstance(body, dict) else []
    if not isinstance(custom, list) or not all(
        isinstance(p, dict) and isinstance(p.get("text"), str) and p.get("source") in SOURCES for p in custom
    ):
        return _bad(f"posts must be a list of {{source ({', '.join(SOURCES)}), text, truth?}} objects")
    published = state.timeline.publish_now(count)
    for item in custom:
        truth = item.get("truth") if isinstance(item.get("truth"), dict) else None
        published.append(state.timeline.publish_custom(item["source"], item["text"], truth))
    return json_response({"published": [p.to_dict() for p in published[:1000]], "count": len(published)})


async def faults_get(request: web.Request) -> web.Response:
    state = state_of(request)
    return json_response({"rules": [r.to_dict() for r in state.faults.rules()], "fired": state.faults.fired})


async def faults_post(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await _body(request)
    try:
        if isinstance(body, dict) and isinstance(body.get("spec"), str):
            rules = parse_fault_spec(body["spec"])
        elif isinstance(body, dict) and isinstance(body.get("rules"), list):
            rules = [FaultRule.from_dict(r) for r in body["rules"]]
        else:
            return _bad('send {"rules": [...]} or {"spec": "api:mode[:when],..."}')
    except FaultSpecError as exc:
        return _bad(str(exc))
    state.faults.set(rules, replace=bool(body.get("replace", True)))
    return json_response({"rules": [r.to_dict() for r in state.faults.rules()]})


async def faults_delete(request: web.Request) -> web.Response:
    state_of(request).faults.clear()
    return json_response({"rules": []})


async def config_get(request: web.Request) -> web.Response:
    return json_response(state_of(request).config.public())


async def config_post(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await _body(request)
    if not isinstance(body, dict):
        return _bad("send a JSON object")
    cfg = state.config
    allowed = {
        "dev_mode",
        "posts_per_minute",
        "spotify_token_ttl_s",
        "bluesky_access_ttl_s",
        "mastodon_require_auth",
        "limits",
    }
    unknown = set(body) - allowed
    if unknown:
        return _bad(f"unknown setting(s): {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(allowed))})")
    with state.lock:
        if "dev_mode" in body:
            cfg.dev_mode = bool(body["dev_mode"])
        if "mastodon_require_auth" in body:
            cfg.mastodon_require_auth = bool(body["mastodon_require_auth"])
        for key in ("spotify_token_ttl_s", "bluesky_access_ttl_s"):
            if key in body:
                if not isinstance(body[key], int) or body[key] < 0:
                    return _bad(f"{key} must be a non-negative integer")
                setattr(cfg, key, body[key])
        if "posts_per_minute" in body:
            rate = body["posts_per_minute"]
            if not isinstance(rate, int | float) or rate < 0:
                return _bad("posts_per_minute must be a non-negative number")
            state.timeline.set_rate(float(rate))
            cfg.posts_per_minute = float(rate)
        if "limits" in body:
            limits = body["limits"]
            if not isinstance(limits, dict):
                return _bad("limits must be an object {api: {limit, window_s}}")
            for api, spec in limits.items():
                if api not in cfg.limits or not isinstance(spec, dict):
                    return _bad(f"unknown api '{api}' in limits")
                limit = int(spec.get("limit", cfg.limits[api][0]))
                window = float(spec.get("window_s", cfg.limits[api][1]))
                cfg.limits[api] = (limit, window)
            state.reset_windows()
    return json_response(cfg.public())


async def expire_tokens(request: web.Request) -> web.Response:
    state = state_of(request)
    with state.lock:
        for token in state.spotify_tokens:
            state.spotify_tokens[token] = 0.0
        for token, (scope, did, _exp) in list(state.bluesky_tokens.items()):
            if scope == "access":
                state.bluesky_tokens[token] = (scope, did, 0.0)
    return json_response({"expired": True})


async def catalog_add(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await _body(request)
    tracks = body.get("tracks") if isinstance(body, dict) else None
    if not isinstance(tracks, list):
        return _bad("body must be {'tracks': [Spotify track objects]}")
    added: list[str] = []
    errors: list[str] = []
    with state.lock:
        for index, obj in enumerate(tracks):
            try:
                added.append(state.catalog.add_spotify_track(obj).id)
            except ValueError as exc:
                errors.append(f"{index}: {exc}")
    return json_response({"added": added, "errors": errors, "catalog_size": len(state.catalog)})


async def reset(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await _body(request)
    corpus = bool(body.get("corpus", False)) if isinstance(body, dict) else False
    initial = request.app[INITIAL_CONFIG_KEY]
    with state.lock:
        state.config.__dict__.update(copy.deepcopy(initial).__dict__)
    state.reset(corpus=corpus)
    if not corpus:
        state.timeline.set_rate(state.config.posts_per_minute)
    return json_response({"reset": True, "corpus": corpus})


def make_app(state: SandboxState) -> web.Application:
    app = web.Application()
    app[STATE_KEY] = state
    app[INITIAL_CONFIG_KEY] = copy.deepcopy(state.config)
    r = app.router
    r.add_get("/stats", stats)
    r.add_get("/posts", posts)
    r.add_get("/served", served)
    r.add_post("/publish", publish)
    r.add_get("/faults", faults_get)
    r.add_post("/faults", faults_post)
    r.add_delete("/faults", faults_delete)
    r.add_get("/config", config_get)
    r.add_post("/config", config_post)
    r.add_post("/catalog", catalog_add)
    r.add_post("/expire-tokens", expire_tokens)
    r.add_post("/reset", reset)
    return app
