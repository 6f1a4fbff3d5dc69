"""Bluesky: ``com.atproto.server.createSession``/``refreshSession`` and ``app.bsky.feed.searchPosts``.

Search needs an access JWT (as the real AppView since 2025). Access tokens expire
(``bluesky_access_ttl_s``): an expired one gets 400 ``ExpiredToken``, as the PDS answers; a refresh
token can be used once. ``cursor`` is opaque and stable while new posts arrive.
"""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

import orjson
from aiohttp import web

from nowplaying.common.models import RecordError, parse_rfc3339
from nowplaying.sandbox.apibase import bearer, json_response, new_app, rate_limit, state_of
from nowplaying.sandbox.corpus import GeneratedPost, did_for, hash_str
from nowplaying.sandbox.state import DEFAULT_LIMITS, SandboxState

_TAG_RE = re.compile(r"(?<![\w&])#(\w+)")
_WORD_RE = re.compile(r"\w+")
SERVICE_DID = "did:web:bsky.sandbox"


def _rate_headers(limit: int, remaining: int, reset_epoch: float, window_s: float) -> dict[str, str]:
    return {
        "ratelimit-limit": str(limit),
        "ratelimit-remaining": str(remaining),
        "ratelimit-reset": str(int(reset_epoch)),
        "ratelimit-policy": f"{limit};w={int(window_s)}",
    }


def xrpc_error(status: int, name: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return json_response({"error": name, "message": message}, status=status, headers=headers)


def error(status: int, retry_after_s: float | None = None, reset_epoch: float | None = None) -> web.Response:
    if status == 429:
        limit, window = DEFAULT_LIMITS["bluesky"]
        return xrpc_error(
            429, "RateLimitExceeded", "Rate Limit Exceeded", _rate_headers(limit, 0, reset_epoch or 0, window)
        )
    names = {
        400: "InvalidRequest",
        401: "AuthenticationRequired",
        403: "Forbidden",
        500: "InternalServerError",
        502: "UpstreamFailure",
        503: "NotEnoughResources",
    }
    name = names.get(status, "InternalServerError")
    return xrpc_error(status, name, "Internal Server Error" if status >= 500 else name)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(scope: str, did: str, iat: int, exp: int) -> str:
    header = {"typ": "at+jwt" if scope == "com.atproto.access" else "refresh+jwt", "alg": "ES256K"}
    payload = {"scope": scope, "sub": did, "iat": iat, "exp": exp, "aud": SERVICE_DID, "jti": secrets.token_hex(8)}
    return ".".join((_b64(orjson.dumps(header)), _b64(orjson.dumps(payload)), _b64(secrets.token_bytes(64))))


def _new_session(state: SandboxState, handle: str) -> dict[str, Any]:
    did = did_for(hash_str("sandbox-account:" + handle))
    now = int(state.now())
    access = _jwt("com.atproto.access", did, now, now + state.config.bluesky_access_ttl_s)
    refresh = _jwt("com.atproto.refresh", did, now, now + state.config.bluesky_refresh_ttl_s)
    with state.lock:
        state.bluesky_tokens[access] = ("access", did, now + state.config.bluesky_access_ttl_s)
        state.bluesky_tokens[refresh] = ("refresh", did, now + state.config.bluesky_refresh_ttl_s)
    return {
        "did": did,
        "handle": handle,
        "email": f"{handle.split('.', maxsplit=1)[0]}@example.com",
        "emailConfirmed": True,
        "accessJwt": access,
        "refreshJwt": refresh,
        "active": True,
        "didDoc": {
            "id": did,
            "service": [
                {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": "https://bsky.sandbox"}
            ],
        },
    }


async def create_session(request: web.Request) -> web.Response:
    state = state_of(request)
    try:
        body = await request.json(loads=orjson.loads)
    except (ValueError, orjson.JSONDecodeError):
        return xrpc_error(400, "InvalidRequest", "Request body is not valid JSON")
    if not isinstance(body, dict) or not isinstance(body.get("identifier"), str):
        return xrpc_error(400, "InvalidRequest", 'Input must have the property "identifier"')
    if not isinstance(body.get("password"), str):
        return xrpc_error(400, "InvalidRequest", 'Input must have the property "password"')
    identifier, password = body["identifier"].lstrip("@"), body["password"]
    for handle, app_password in state.config.bluesky_logins:
        if identifier.lower() == handle.lower() and password == app_password:
            return json_response(_new_session(state, handle))
    return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")


def _token(request: web.Request, scope: str) -> tuple[str | None, web.Response | None]:
    state = state_of(request)
    value = bearer(request)
    if value is None:
        return None, xrpc_error(401, "AuthenticationRequired", "Authentication Required")
    entry = state.bluesky_tokens.get(value)
    if entry is None:
        return None, xrpc_error(401, "InvalidToken", "Token could not be verified")
    kind, _did, expiry = entry
    if kind != scope:
        return None, xrpc_error(400, "InvalidToken", "Bad token scope")
    if expiry <= state.now():
        return None, xrpc_error(400, "ExpiredToken", "Token has expired")
    return value, None


async def refresh_session(request: web.Request) -> web.Response:
    state = state_of(request)
    value, problem = _token(request, "refresh")
    if problem is not None or value is None:
        return problem or xrpc_error(401, "AuthenticationRequired", "Authentication Required")
    with state.lock:
        _kind, did, _exp = state.bluesky_tokens[value]
        state.bluesky_tokens[value] = ("refresh", did, 0.0)  # used: a second use is 400 ExpiredToken
    handle = next((h for h, _ in state.config.bluesky_logins if did_for(hash_str("sandbox-account:" + h)) == did), did)
    session = _new_session(state, handle)
    session.pop("email")
    session.pop("emailConfirmed")
    return json_response(session)


def _words(post: GeneratedPost) -> tuple[set[str], set[str]]:
    cached = post._cache.get("bsky")
    if cached is None:
        lowered = post.text.lower()
        cached = ({t.lower() for t in _TAG_RE.findall(post.text)}, set(_WORD_RE.findall(lowered)))
        post._cache["bsky"] = cached
    return cached


def _matcher(q: str, tags: list[str], lang: str | None, author: str | None) -> Any:
    want_tags = {t.lower().lstrip("#") for t in tags}
    want_words: set[str] = set()
    for term in q.split():
        if term.startswith("#") and len(term) > 1:
            want_tags.add(term[1:].lower())
        elif term.lower().startswith("lang:"):
            lang = term[5:].lower()
        elif term.lower().startswith("from:"):
            author = term[5:].lower()
        else:
            want_words.update(_WORD_RE.findall(term.lower()))

    def match(post: GeneratedPost) -> bool:
        post_tags, post_words = _words(post)
        if not want_tags <= post_tags or not want_words <= post_words:
            return False
        if lang is not None and (post.lang or "") != lang:
            return False
        return not (author is not None and post.author.username.lower() != author and post.author.id != author)

    return match


def _encode_cursor(position: int) -> str:
    return _b64(orjson.dumps({"p": position}))


def _decode_cursor(cursor: str) -> int | None:
    try:
        obj = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return int(obj["p"])
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return None


def _time_bound(value: str | None) -> int | None:
    if value is None:
        return None
    text = value if "T" in value else value + "T00:00:00Z"
    try:
        return int(parse_rfc3339(text).timestamp() * 1000)
    except RecordError:
        return -1


async def search_posts(request: web.Request) -> web.Response:
    state = state_of(request)
    _value, problem = _token(request, "access")
    if problem is not None:
        return problem
    allowed, limit_n, remaining, reset = rate_limit(request, "bluesky")
    headers = _rate_headers(limit_n, remaining, reset, state.config.limits["bluesky"][1])
    if not allowed:
        return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
    q = request.query.get("q")
    if q is None:
        return xrpc_error(400, "InvalidRequest", 'Error: Params must have the property "q"', headers)
    try:
        limit = int(request.query.get("limit", "25"))
    except ValueError:
        return xrpc_error(400, "InvalidRequest", "Error: limit must be an integer", headers)
    if limit < 1:
        return xrpc_error(400, "InvalidRequest", "Error: limit can not be less than 1", headers)
    if limit > 100:
        return xrpc_error(400, "InvalidRequest", "Error: limit can not be greater than 100", headers)
    sort = request.query.get("sort", "latest")
    if sort not in ("latest", "top"):
        return xrpc_error(400, "InvalidRequest", "Error: sort must be one of (latest|top)", headers)
    since, until = _time_bound(request.query.get("since")), _time_bound(request.query.get("until"))
    if since == -1 or until == -1:
        return xrpc_error(400, "InvalidRequest", "Error: since/until must be a valid datetime", headers)
    cursor_text = request.query.get("cursor")
    start: int | None = None
    if cursor_text:
        start = _decode_cursor(cursor_text)
        if start is None:
            return xrpc_error(400, "BadQueryString", "Invalid cursor", headers)
    match = _matcher(q, request.query.getall("tag", []), request.query.get("lang"), request.query.get("author"))

    state.timeline.advance()
    feed = state.timeline.feeds["bluesky"]
    found: list[GeneratedPost] = []
    more = False
    with state.timeline._lock:
        hi = len(feed.posts) if start is None else min(start, len(feed.posts))
        lo = 0
        if until is not None:
            hi = min(hi, feed.position_at_ms(until))
        if since is not None:
            lo = feed.position_at_ms(since)
        pos = hi - 1
        while pos >= lo:
            post = feed.posts[pos]
            if match(post):
                if len(found) == limit:
                    more = True
                    break
                found.append(post)
            pos -= 1
        last_pos = pos + 1
    body: dict[str, Any] = {"posts": [p.bluesky_post_view() for p in found]}
    if more:
        body["cursor"] = _encode_cursor(last_pos)
    state.stats.serve("bluesky", [p.post_id for p in found])
    return json_response(body, headers=headers)


def make_app(state: SandboxState) -> web.Application:
    app = new_app(state, "bluesky", error)
    app.router.add_post("/xrpc/com.atproto.server.createSession", create_session)
    app.router.add_post("/xrpc/com.atproto.server.refreshSession", refresh_session)
    app.router.add_get("/xrpc/app.bsky.feed.searchPosts", search_posts)
    return app
