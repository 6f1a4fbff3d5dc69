"""Mastodon: ``GET /api/v1/timelines/tag/:hashtag`` (research/apis.md 3.1).

Newest first; ``max_id`` (older than), ``since_id`` (newer than), ``min_id`` (the page immediately
newer than), ``limit`` (default 20, at most 40); paging through the ``Link`` header; rate-limit
headers with an ISO-8601 reset. Public by default (``mastodon_require_auth`` makes it need a token).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiohttp import web

from nowplaying.sandbox.apibase import bearer, json_response, new_app, rate_limit, state_of
from nowplaying.sandbox.corpus import MASTODON_LOCAL, GeneratedPost
from nowplaying.sandbox.state import DEFAULT_LIMITS, SandboxState

_TAG_RE = re.compile(r"(?<![\w&])#(\w+)")


def iso_reset(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _rate_headers(limit: int, remaining: int, reset_epoch: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": iso_reset(reset_epoch),
    }


def error(status: int, retry_after_s: float | None = None, reset_epoch: float | None = None) -> web.Response:
    messages = {
        401: "The access token is invalid",
        403: "This action is not allowed",
        404: "Record not found",
        429: "Too many requests",
        500: "We're sorry, but something went wrong on our end.",
        503: "Service Unavailable",
    }
    headers = None
    if status == 429:
        headers = _rate_headers(DEFAULT_LIMITS["mastodon"][0], 0, reset_epoch or 0)
    return json_response({"error": messages.get(status, "Error")}, status=status, headers=headers)


def _tags(post: GeneratedPost) -> set[str]:
    cached = post._cache.get("tags")
    if cached is None:
        cached = {t.lower() for t in _TAG_RE.findall(post.text)}
        post._cache["tags"] = cached
    return cached


def _id_param(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    return int(value) if value.isdigit() else 0


async def tag_timeline(request: web.Request) -> web.Response:
    state: SandboxState = state_of(request)
    if state.config.mastodon_require_auth:
        token = bearer(request)
        if token is None or token not in state.config.mastodon_tokens:
            return error(401)
    allowed, limit_n, remaining, reset = rate_limit(request, "mastodon")
    headers = _rate_headers(limit_n, remaining, reset)
    if not allowed:
        response = error(429, reset_epoch=reset)
        response.headers.update(headers)
        return response
    tag = request.match_info["hashtag"].lower()
    try:
        limit = int(request.query.get("limit", "20"))
    except ValueError:
        limit = 20
    limit = max(1, min(limit, 40))
    max_id = _id_param(request, "max_id")
    since_id = _id_param(request, "since_id")
    min_id = _id_param(request, "min_id")
    only_media = request.query.get("only_media", "false").lower() in ("true", "1")

    state.timeline.advance()
    feed = state.timeline.feeds["mastodon"]
    page: list[GeneratedPost] = []
    with state.timeline._lock:
        lo = 0
        hi = len(feed.posts)
        if max_id is not None:
            hi = feed.position_of_id(max_id)
        lower = max(v for v in (since_id, min_id, -1) if v is not None)
        if lower >= 0:
            lo = feed.position_after_id(lower)
        if not only_media:
            if min_id is not None:
                pos = lo
                while pos < hi and len(page) < limit:  # the page just above min_id, oldest first
                    if tag in _tags(feed.posts[pos]):
                        page.append(feed.posts[pos])
                    pos += 1
                page.reverse()
            else:
                pos = hi - 1
                while pos >= lo and len(page) < limit:
                    if tag in _tags(feed.posts[pos]):
                        page.append(feed.posts[pos])
                    pos -= 1
    known = bool(page) or tag in ("nowplaying", "np") or any(tag in _tags(p) for p in feed.posts)
    if not known:
        return json_response({"error": "Record not found"}, status=404, headers=headers)
    domain = request.host.split(":")[0] if request.host else MASTODON_LOCAL
    statuses = [p.mastodon_status(MASTODON_LOCAL if domain in ("127.0.0.1", "localhost") else domain) for p in page]
    if page:
        base = request.url.with_query(None)
        keep = {k: v for k, v in request.query.items() if k not in ("max_id", "min_id", "since_id")}
        next_url = base.with_query({**keep, "max_id": page[-1].post_id})
        prev_url = base.with_query({**keep, "min_id": page[0].post_id})
        headers["Link"] = f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'
        state.stats.serve("mastodon", [p.post_id for p in page])
    return json_response(statuses, headers=headers)


def make_app(state: SandboxState) -> web.Application:
    app = new_app(state, "mastodon", error)
    app.router.add_get("/api/v1/timelines/tag/{hashtag}", tag_timeline)
    return app
