"""X API v2 recent search: ``GET /2/tweets/search/recent`` (research/apis.md section 1)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from nowplaying.sandbox.apibase import json_response, new_app, rate_limit, state_of
from nowplaying.sandbox.corpus import X_EPOCH_MS, GeneratedPost, x_user_object
from nowplaying.sandbox.state import DEFAULT_LIMITS, SEVEN_DAYS_MS, X_UNENROLLED_BEARER, SandboxState

PROBLEM = "https://api.twitter.com/2/problems/"
TWEET_FIELDS = (
    "article",
    "attachments",
    "author_id",
    "card_uri",
    "community_id",
    "context_annotations",
    "conversation_id",
    "created_at",
    "display_text_range",
    "edit_controls",
    "edit_history_tweet_ids",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "media_metadata",
    "non_public_metrics",
    "note_tweet",
    "organic_metrics",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "referenced_tweets",
    "reply_settings",
    "scopes",
    "source",
    "text",
    "withheld",
)
USER_FIELDS = (
    "affiliation",
    "connection_status",
    "created_at",
    "description",
    "entities",
    "id",
    "location",
    "most_recent_tweet_id",
    "name",
    "pinned_tweet_id",
    "profile_banner_url",
    "profile_image_url",
    "protected",
    "public_metrics",
    "receives_your_dm",
    "subscription_type",
    "url",
    "username",
    "verified",
    "verified_type",
    "withheld",
)
EXPANSIONS = (
    "article.cover_media",
    "article.media_entities",
    "attachments.media_keys",
    "attachments.media_source_tweet",
    "attachments.poll_ids",
    "author_id",
    "edit_history_tweet_ids",
    "entities.mentions.username",
    "geo.place_id",
    "in_reply_to_user_id",
    "entities.note.mentions.username",
    "referenced_tweets.id",
    "referenced_tweets.id.author_id",
)
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$")


def _rate_headers(limit: int, remaining: int, reset_epoch: float) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(int(reset_epoch)),
    }


def error(status: int, retry_after_s: float | None = None, reset_epoch: float | None = None) -> web.Response:
    """X's problem objects (the headers of a rate-limited answer included)."""
    headers: dict[str, str] = {}
    if status == 429:
        limit = DEFAULT_LIMITS["x"][0]
        headers = _rate_headers(limit, 0, reset_epoch or 0)
        body: dict[str, Any] = {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        }
    elif status == 401:
        body = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
    elif status == 402:
        body = {
            "title": "CreditsDepleted",
            "type": f"{PROBLEM}credits-depleted",
            "status": 402,
            "detail": "Your enrolled account does not have any credits to fulfill this request.",
        }
    elif status == 403:
        body = {
            "client_id": "31846752",
            "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens "
            "from a Twitter developer App that is attached to a Project. You can create a project via the "
            "developer portal.",
            "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
            "title": "Client Forbidden",
            "required_enrollment": "Appropriate Level of API Access",
            "reason": "client-not-enrolled",
            "type": f"{PROBLEM}client-forbidden",
        }
    elif status == 503:
        body = {"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank", "status": 503}
    elif status >= 500:
        body = {
            "title": "Internal Server Error",
            "detail": "Internal Server Error",
            "type": "about:blank",
            "status": status,
        }
    else:
        body = {"title": "Error", "detail": "Error", "type": "about:blank", "status": status}
    return json_response(body, status=status, headers=headers)


def invalid_request(message: str, parameter: str, value: str) -> web.Response:
    body = {
        "errors": [{"parameters": {parameter: [value]}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": f"{PROBLEM}invalid-request",
    }
    return json_response(body, status=400)


# --- the query language --------------------------------------------------------------------

Predicate = Callable[[GeneratedPost], bool]
_QUERY_TOKEN_RE = re.compile(r'-?"[^"]*"|\(|\)|[^\s()]+')
_SUPPORTED = ("is:retweet", "is:reply", "is:quote", "has:links", "has:hashtags", "has:mentions", "has:media")


class QueryError(ValueError):
    pass


def _post_hashtags(post: GeneratedPost) -> set[str]:
    cached = post._cache.get("x_tags")
    if cached is None:
        cached = {m.lower() for m in re.findall(r"(?<![\w&])#(\w+)", post.text)}
        post._cache["x_tags"] = cached
    return cached


def _atom(term: str) -> Predicate:
    lowered = term.lower()
    if lowered.startswith("#") and len(lowered) > 1:
        tag = lowered[1:]
        return lambda p: tag in _post_hashtags(p)
    if lowered.startswith("lang:"):
        lang = lowered[5:]
        return lambda p: (p.lang or "und") == lang
    if lowered == "is:retweet":
        return lambda p: p.is_repost
    if lowered in ("is:reply", "is:quote", "has:media"):
        return lambda p: False
    if lowered == "has:links":
        return lambda p: bool(p.urls)
    if lowered == "has:hashtags":
        return lambda p: bool(_post_hashtags(p))
    if lowered == "has:mentions":
        return lambda p: "@" in p.text
    if lowered.startswith("from:"):
        name = lowered[5:]
        return lambda p: p.author.username.lower() == name
    if lowered.startswith("@"):
        name = lowered
        return lambda p: name in p.text.lower()
    if ":" in lowered and not lowered.startswith('"') and not lowered.startswith("http"):
        operator = lowered.split(":", 1)[0]
        raise QueryError(
            f"Reference to invalid operator '{operator}'. Operator is not available in current "
            "product or product packaging. Please refer to complete available operator list at "
            "https://developer.twitter.com/en/docs/twitter-api/tweets/search/integrate/build-a-query."
        )
    phrase = lowered.strip('"')
    return lambda p: phrase in p.text.lower()


def compile_query(query: str) -> Predicate:
    """``#tag``, ``lang:xx``, ``is:retweet``, ``has:links``, ``from:user``, words and "phrases", ``-`` to
    negate, ``OR``, parentheses; terms side by side must all match."""
    tokens = _QUERY_TOKEN_RE.findall(query)
    pos = 0

    def parse_or() -> Predicate:
        nonlocal pos
        parts = [parse_and()]
        while pos < len(tokens) and tokens[pos] == "OR":
            pos += 1
            parts.append(parse_and())
        return parts[0] if len(parts) == 1 else (lambda p: any(f(p) for f in parts))

    def parse_and() -> Predicate:
        nonlocal pos
        parts: list[Predicate] = []
        while pos < len(tokens) and tokens[pos] not in (")", "OR"):
            parts.append(parse_term())
        if not parts:
            raise QueryError("There were errors processing your request: empty expression")
        return parts[0] if len(parts) == 1 else (lambda p: all(f(p) for f in parts))

    def parse_term() -> Predicate:
        nonlocal pos
        term = tokens[pos]
        pos += 1
        negate = False
        if term == "-" and pos < len(tokens) and tokens[pos] == "(":
            negate, term = True, "("
            pos += 1
        elif term.startswith("-") and len(term) > 1:
            negate, term = True, term[1:]
        if term == "(":
            inner = parse_or()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise QueryError("There were errors processing your request: missing ')'")
            pos += 1
            pred = inner
        else:
            pred = _atom(term)
        if negate:
            return lambda p: not pred(p)
        return pred

    predicate = parse_or()
    if pos != len(tokens):
        raise QueryError("There were errors processing your request: unbalanced ')'")
    return predicate


# --- the endpoint ----------------------------------------------------------------------------


def _parse_time(value: str) -> int | None:
    if not TIME_RE.match(value):
        return None
    text = value[:-1]
    parsed = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _encode_token(until_id: int, fingerprint: str) -> str:
    raw = orjson.dumps({"u": until_id, "f": fingerprint})
    return base64.b32encode(raw).decode().rstrip("=").lower()


def _decode_token(token: str) -> tuple[int, str] | None:
    try:
        padded = token.upper() + "=" * (-len(token) % 8)
        obj = orjson.loads(base64.b32decode(padded))
        return int(obj["u"]), str(obj["f"])
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return None


def _csv(request: web.Request, name: str) -> list[str]:
    value = request.query.get(name, "")
    return [v.strip() for v in value.split(",") if v.strip()]


async def search_recent(request: web.Request) -> web.Response:
    state: SandboxState = state_of(request)
    token = request.headers.get("Authorization", "")
    if not token.startswith("Bearer ") or token[7:].strip() not in (*state.config.x_bearer_tokens, X_UNENROLLED_BEARER):
        return error(401)
    if token[7:].strip() == X_UNENROLLED_BEARER:
        return error(403)
    allowed, limit, remaining, reset = rate_limit(request, "x")
    headers = _rate_headers(limit, remaining, reset)
    if not allowed:
        response = error(429)
        response.headers.update(headers)
        return response

    def bad(message: str, parameter: str, value: str) -> web.Response:
        response = invalid_request(message, parameter, value)
        response.headers.update(headers)
        return response

    query = request.query.get("query", "")
    if not query.strip():
        return bad("The `query` query parameter can not be empty", "query", query)
    if len(query) > 512:
        return bad(f"The `query` param value is too long: {len(query)} characters, the limit is 512", "query", query)
    max_results_text = request.query.get("max_results", "10")
    try:
        max_results = int(max_results_text)
    except ValueError:
        max_results = -1
    if not 10 <= max_results <= 100:
        return bad(
            f"The `max_results` query parameter value [{max_results_text}] is not between 10 and 100",
            "max_results",
            max_results_text,
        )
    for name, allowed_values in (
        ("tweet.fields", TWEET_FIELDS),
        ("user.fields", USER_FIELDS),
        ("expansions", EXPANSIONS),
    ):
        for field_name in _csv(request, name):
            if field_name not in allowed_values:
                return bad(
                    f"The `{name}` query parameter value [{field_name}] is not one of [{','.join(allowed_values)}]",
                    name,
                    field_name,
                )
    sort_order = request.query.get("sort_order", "recency")
    if sort_order not in ("recency", "relevancy"):
        return bad(
            f"The `sort_order` query parameter value [{sort_order}] is not one of [recency,relevancy]",
            "sort_order",
            sort_order,
        )
    try:
        predicate = compile_query(query)
    except QueryError as exc:
        problem = {
            "errors": [{"parameters": {"query": [query]}, "message": str(exc)}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": f"{PROBLEM}invalid-request",
        }
        return json_response(problem, status=400, headers=headers)

    now_ms = int(state.now() * 1000)
    window_start = now_ms - SEVEN_DAYS_MS
    low_ms, high_ms = window_start, now_ms + 1  # [low, high)
    since_id = until_id = None
    for name in ("since_id", "until_id"):
        id_text = request.query.get(name)
        if id_text is None:
            continue
        if not id_text.isdigit():
            return bad(f"The `{name}` query parameter value [{id_text}] does not match ^[0-9]{{1,19}}$", name, id_text)
        if name == "since_id":
            since_id = int(id_text)
        else:
            until_id = int(id_text)
    for name in ("start_time", "end_time"):
        value = request.query.get(name)
        if value is None:
            continue
        parsed = _parse_time(value)
        if parsed is None:
            return bad(
                f"Invalid '{name}':'{value}'. '{name}' must be a timestamp in YYYY-MM-DDTHH:mm:ssZ format", name, value
            )
        if name == "start_time":
            if parsed < window_start - 60_000:
                floor = datetime.fromtimestamp(window_start / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")
                return bad(f"Invalid 'start_time':'{value}'. 'start_time' must be on or after {floor}", name, value)
            if since_id is None:  # since_id wins over start_time
                low_ms = max(low_ms, parsed)
        else:
            if parsed > now_ms - 10_000:
                return bad(
                    f"Invalid 'end_time':'{value}'. 'end_time' must be a minimum of 10 seconds prior to the "
                    "request time.",
                    name,
                    value,
                )
            high_ms = min(high_ms, parsed)
    fingerprint = f"{query}|{since_id}|{request.query.get('start_time')}|{request.query.get('end_time')}"
    page_token = request.query.get("next_token") or request.query.get("pagination_token")
    if page_token:
        decoded = _decode_token(page_token)
        if decoded is None or decoded[1] != fingerprint:
            name = "next_token" if request.query.get("next_token") else "pagination_token"
            return bad(
                f"The `{name}` query parameter value [{page_token}] is not valid for this request", name, page_token
            )
        until_id = decoded[0] if until_id is None else min(until_id, decoded[0])

    state.timeline.advance()
    feed = state.timeline.feeds["x"]
    with state.timeline._lock:
        lo = feed.position_at_ms(low_ms)
        hi = feed.position_at_ms(high_ms)
        if since_id is not None:
            lo = max(lo, feed.position_after_id(since_id))
        if until_id is not None:
            hi = min(hi, feed.position_of_id(until_id))
        found: list[GeneratedPost] = []
        more = False
        pos = hi - 1
        while pos >= lo:
            post = feed.posts[pos]
            if predicate(post):
                if len(found) == max_results:
                    more = True
                    break
                found.append(post)
            pos -= 1
    if not found:
        return json_response({"meta": {"result_count": 0}}, headers=headers)

    wanted = {"id", "text", "edit_history_tweet_ids", *_csv(request, "tweet.fields")}
    expansions = set(_csv(request, "expansions"))
    user_fields = {"id", "name", "username", *_csv(request, "user.fields")}
    data = []
    users: dict[str, dict[str, Any]] = {}
    ref_tweets: list[dict[str, Any]] = []
    for post in found:
        tweet = post.x_tweet()
        data.append({k: v for k, v in tweet.items() if k in wanted})
        if "author_id" in expansions:
            users.setdefault(post.author.id, x_user_object(post.author))
        if post.is_repost and "referenced_tweets.id" in expansions:
            original = post.x_retweeted_tweet()
            if original is not None:
                ref_tweets.append({k: v for k, v in original.items() if k in wanted})
                if "referenced_tweets.id.author_id" in expansions and post.repost_of is not None:
                    users.setdefault(post.repost_of.id, x_user_object(post.repost_of))
    answer: dict[str, Any] = {"data": data}
    includes: dict[str, Any] = {}
    if users:
        includes["users"] = [{k: v for k, v in u.items() if k in user_fields} for u in users.values()]
    if ref_tweets:
        includes["tweets"] = ref_tweets
    if includes:
        answer["includes"] = includes
    meta: dict[str, Any] = {"newest_id": found[0].post_id, "oldest_id": found[-1].post_id, "result_count": len(found)}
    if more:
        meta["next_token"] = _encode_token(int(found[-1].post_id), fingerprint)
    answer["meta"] = meta
    state.stats.serve("x", [p.post_id for p in found])
    return json_response(answer, headers=headers)


def snowflake_ms(post_id: str) -> int:
    return (int(post_id) >> 22) + X_EPOCH_MS


def make_app(state: SandboxState) -> web.Application:
    app = new_app(state, "x", error)
    app.router.add_get("/2/tweets/search/recent", search_recent)
    return app
