"""The three sources. Each walks its newest-first listing inside a ``Window`` and returns the posts
it read plus the window to store once those posts are durably written."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urljoin

from nowplaying.common.config import Settings
from nowplaying.common.logging import get_logger
from nowplaying.common.models import Post, RecordError, format_rfc3339, parse_rfc3339
from nowplaying.extractor.http import HttpSource, RateLimited, SourceError
from nowplaying.extractor.normalize import (
    bluesky_post_to_post,
    bluesky_sort_time,
    mastodon_status_to_post,
    x_tweet_to_post,
    x_users_by_id,
)
from nowplaying.extractor.window import Walk, Window, advance, position_key

log = get_logger(__name__)


class MalformedPage(SourceError):
    pass


@dataclass
class FetchResult:
    posts: list[Post]
    window: Window
    complete: bool  # the walk reached the checkpoint; False = work left for the next run
    stop_reason: str = ""
    malformed: int = 0
    pages: int = 0
    spent: int = 0  # posts billed (X)
    detail: dict[str, Any] = field(default_factory=dict)


class Source(Protocol):
    name: str

    def fetch(self, window: Window) -> AsyncIterator[FetchResult]:
        """Chunks of at most EXTRACT_BATCH_POSTS posts, each with the window that is safe to store once
        the chunk is written; the last chunk says whether the walk reached the checkpoint."""
        ...


def _initial_start(settings: Settings) -> datetime:
    return datetime.now(UTC) - timedelta(hours=settings.initial_lookback_hours)


class _Collector:
    """Accumulates posts of a walk, skipping malformed items (counted, logged with their id)."""

    def __init__(self, source: str, http: HttpSource) -> None:
        self.source = source
        self.http = http
        self.posts: list[Post] = []
        self.seen: set[str] = set()
        self.malformed = 0

    def take(self) -> list[Post]:
        posts, self.posts = self.posts, []
        return posts

    def add(self, item: Any, convert: Any) -> Post | None:
        try:
            post: Post = convert(item)
        except RecordError as exc:
            self.malformed += 1
            self.http.metrics.malformed_items.labels(self.source).inc()
            item_id = item.get("id") or item.get("uri") if isinstance(item, dict) else None
            log.warning("malformed_item", source=self.source, item_id=item_id, error=str(exc))
            return None
        if post.post_id in self.seen:  # a page boundary can repeat an item
            return None
        self.seen.add(post.post_id)
        self.posts.append(post)
        return post


# --- X ---------------------------------------------------------------------------------------------
class XBudget:
    """Posts X may still bill this run and this UTC day."""

    def __init__(self, per_run: int, per_day: int, spent_today: int) -> None:
        self.per_run = per_run
        self.per_day = per_day
        self.spent_today = spent_today
        self.spent_run = 0

    def remaining(self) -> int:
        return max(0, min(self.per_run - self.spent_run, self.per_day - self.spent_today))

    def spend(self, n: int) -> None:
        self.spent_run += n
        self.spent_today += n


def _x_convert(tweet: Any, users: dict[str, dict[str, Any]]) -> Post:
    return x_tweet_to_post(tweet, users)


class XSource:
    name = "x"

    def __init__(self, http: HttpSource, settings: Settings, budget: XBudget) -> None:
        self.http = http
        self.settings = settings
        self.budget = budget
        token = settings.x_bearer_token.get_secret_value() if settings.x_bearer_token else ""
        self._headers = {"Authorization": f"Bearer {token}"}
        self._url = settings.x_api_base.rstrip("/") + "/2/tweets/search/recent"

    async def fetch(self, window: Window) -> AsyncIterator[FetchResult]:
        collector = _Collector(self.name, self.http)
        walk = Walk()
        chunk = self.settings.extract_batch_posts
        params: dict[str, str] = {
            "query": self.settings.x_query,
            "tweet.fields": "created_at,lang,author_id,entities,referenced_tweets",
            "expansions": "author_id",
            "user.fields": "username,name",
        }
        if window.lower:
            params["since_id"] = window.lower
        else:
            params["start_time"] = _initial_start(self.settings).strftime("%Y-%m-%dT%H:%M:%SZ")
        if window.upper:
            params["until_id"] = window.upper
        stop_reason = ""
        pages = 0
        try:
            while True:
                if pages >= self.settings.max_pages_per_run:
                    stop_reason = "page cap"
                    break
                remaining = self.budget.remaining()
                if remaining < 10:  # X's smallest page is 10 posts
                    stop_reason = "X post budget spent"
                    break
                params["max_results"] = str(min(100, remaining))
                response = await self.http.request_json("GET", self._url, params=params, headers=self._headers)
                body = response.body
                if not isinstance(body, dict) or not isinstance(body.get("meta"), dict):
                    raise MalformedPage("X answered without a 'meta' object")
                data = body.get("data", [])
                if not isinstance(data, list):
                    raise MalformedPage("X answered with a 'data' that is not a list")
                pages += 1
                meta = body["meta"]
                count = meta.get("result_count", len(data))
                spent = count if isinstance(count, int) else len(data)
                self.budget.spend(spent)
                self.http.metrics.x_posts_spent.inc(spent)
                users = x_users_by_id(body)
                convert = functools.partial(_x_convert, users=users)
                for tweet in data:
                    collector.add(tweet, convert)
                ids = [t["id"] for t in data if isinstance(t, dict) and isinstance(t.get("id"), str)]
                if ids:
                    ids.sort(key=position_key)
                    walk.saw(meta.get("newest_id") or ids[-1], meta.get("oldest_id") or ids[0])
                next_token = meta.get("next_token")
                if not next_token:
                    walk.reached_lower = True
                    break
                params["next_token"] = str(next_token)
                if response.headers.get("x-rate-limit-remaining") == "0":
                    stop_reason = "rate limit window used up"
                    break
                if len(collector.posts) >= chunk:
                    yield FetchResult(collector.take(), advance(window, walk), False, "", 0, pages, 0)
        except RateLimited as exc:
            stop_reason = str(exc)
        yield FetchResult(
            collector.take(),
            advance(window, walk),
            walk.reached_lower,
            stop_reason,
            collector.malformed,
            pages,
            self.budget.spent_run,
        )


# --- Mastodon --------------------------------------------------------------------------------------
def _link_next(link_header: str | None, base_url: str) -> str | None:
    """The rel="next" URL of an RFC 8288 Link header (Mastodon: next = older posts)."""
    if not link_header:
        return None
    for part in link_header.split(","):
        section = part.strip().split(";")
        if len(section) < 2:
            continue
        url = section[0].strip()
        if not (url.startswith("<") and url.endswith(">")):
            continue
        if any(p.strip().replace(" ", "") in ('rel="next"', "rel=next") for p in section[1:]):
            return urljoin(base_url, url[1:-1])
    return None


class MastodonSource:
    name = "mastodon"
    page_limit = 40

    def __init__(self, http: HttpSource, settings: Settings) -> None:
        self.http = http
        self.settings = settings
        self._headers: dict[str, str] = {}
        if settings.mastodon_access_token:
            self._headers["Authorization"] = f"Bearer {settings.mastodon_access_token.get_secret_value()}"
        tag = settings.mastodon_tag.lstrip("#")
        self._url = settings.mastodon_base.rstrip("/") + f"/api/v1/timelines/tag/{tag}"

    async def fetch(self, window: Window) -> AsyncIterator[FetchResult]:
        collector = _Collector(self.name, self.http)
        walk = Walk()
        chunk = self.settings.extract_batch_posts
        initial_start = None if window.lower else _initial_start(self.settings)

        def recent(posts: list[Post]) -> list[Post]:
            # the first walk goes back only INITIAL_LOOKBACK_HOURS: drop anything older
            if initial_start is None:
                return posts
            return [p for p in posts if p.created_at_dt >= initial_start]

        params: dict[str, str] | None = {"limit": str(self.page_limit)}
        assert params is not None
        if window.lower:
            params["since_id"] = window.lower
        if window.upper:
            params["max_id"] = window.upper
        url = self._url
        stop_reason = ""
        pages = 0
        try:
            while True:
                if pages >= self.settings.max_pages_per_run:
                    stop_reason = "page cap"
                    break
                response = await self.http.request_json("GET", url, params=params, headers=self._headers)
                body = response.body
                if not isinstance(body, list):
                    raise MalformedPage("Mastodon answered with something other than a list of statuses")
                pages += 1
                page_ids: list[str] = []
                reached_start = False
                for status in body:
                    status_id = status.get("id") if isinstance(status, dict) else None
                    if (
                        window.lower is not None
                        and isinstance(status_id, str)
                        and position_key(status_id) <= position_key(window.lower)
                    ):
                        # Mastodon's "next" link does not carry since_id: stop at the checkpoint
                        reached_start = True
                        continue
                    post = collector.add(status, mastodon_status_to_post)
                    if isinstance(status_id, str):
                        page_ids.append(status_id)
                    if post is not None and initial_start is not None and post.created_at_dt < initial_start:
                        reached_start = True
                if page_ids:
                    page_ids.sort(key=position_key)
                    walk.saw(page_ids[-1], page_ids[0])
                next_url = _link_next(response.headers.get("Link") or response.headers.get("link"), response.url)
                if not body or not next_url or reached_start:
                    walk.reached_lower = True
                    break
                url, params = next_url, None  # the Link URL carries every parameter
                if len(collector.posts) >= chunk:
                    yield FetchResult(recent(collector.take()), advance(window, walk), False, "", 0, pages)
        except RateLimited as exc:
            stop_reason = str(exc)
        yield FetchResult(
            recent(collector.take()), advance(window, walk), walk.reached_lower, stop_reason, collector.malformed, pages
        )


# --- Bluesky ----------------------------------------------------------------------------------------
class BlueskySession:
    """An app-password session, created once and refreshed; the store keeps it between runs."""

    def __init__(self, http: HttpSource, settings: Settings, store: Any) -> None:
        self.http = http
        self.settings = settings
        self.store = store  # SessionStore-like: get(source) -> dict | None, put(source, dict)
        self._base = settings.bluesky_base.rstrip("/") + "/xrpc/"
        self.tokens: dict[str, Any] | None = None
        self.created = 0
        self.refreshed = 0

    async def access_token(self) -> str:
        if self.tokens is None:
            self.tokens = self.store.get("bluesky")
        if self.tokens is None:
            await self._create()
        assert self.tokens is not None
        return str(self.tokens["accessJwt"])

    async def _create(self) -> None:
        password = self.settings.bluesky_app_password.get_secret_value() if self.settings.bluesky_app_password else ""
        response = await self.http.request_json(
            "POST",
            self._base + "com.atproto.server.createSession",
            json_body={"identifier": self.settings.bluesky_handle, "password": password},
        )
        self._keep(response.body)
        self.created += 1
        log.info("bluesky_session_created", handle=self.settings.bluesky_handle)

    async def refresh(self) -> None:
        """Refresh with the refresh token; create a new session only when that fails too."""
        assert self.tokens is not None
        try:
            response = await self.http.request_json(
                "POST",
                self._base + "com.atproto.server.refreshSession",
                headers={"Authorization": f"Bearer {self.tokens['refreshJwt']}"},
            )
        except SourceError as exc:
            if getattr(exc, "status", None) in (400, 401):
                log.info("bluesky_refresh_failed", error=str(exc))
                await self._create()
                return
            raise
        self._keep(response.body)
        self.refreshed += 1

    def _keep(self, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("accessJwt"), str):
            raise MalformedPage("Bluesky session answer has no accessJwt")
        self.tokens = {k: body.get(k) for k in ("accessJwt", "refreshJwt", "did", "handle")}
        self.store.put("bluesky", self.tokens)


class BlueskySource:
    name = "bluesky"
    page_limit = 100

    def __init__(self, http: HttpSource, settings: Settings, session: BlueskySession) -> None:
        self.http = http
        self.settings = settings
        self.session = session
        self._url = settings.bluesky_base.rstrip("/") + "/xrpc/app.bsky.feed.searchPosts"

    async def _search(self, params: dict[str, str]) -> Any:
        from nowplaying.extractor.http import RequestRejected

        token = await self.session.access_token()
        try:
            return await self.http.request_json(
                "GET", self._url, params=params, headers={"Authorization": f"Bearer {token}"}
            )
        except RequestRejected as exc:
            expired = exc.status == 401 or (exc.status == 400 and "xpired" in str(exc))
            if not expired:
                raise
        await self.session.refresh()
        token = await self.session.access_token()
        return await self.http.request_json(
            "GET", self._url, params=params, headers={"Authorization": f"Bearer {token}"}
        )

    async def fetch(self, window: Window) -> AsyncIterator[FetchResult]:
        """Positions are sort timestamps (RFC 3339, ms). ``since`` is inclusive on Bluesky, so the
        ids already fetched at the boundary instant are remembered and skipped."""
        collector = _Collector(self.name, self.http)
        walk = Walk()
        chunk = self.settings.extract_batch_posts
        tag = self.settings.bluesky_tag.lstrip("#")
        params: dict[str, str] = {"q": f"#{tag}", "tag": tag, "sort": "latest", "limit": str(self.page_limit)}
        lower = window.lower or format_rfc3339(_initial_start(self.settings))
        params["since"] = lower
        skip = set(window.extra.get("lower_ids") or [])
        if window.upper:
            # until is exclusive: ask up to 1 ms past the gap's top and skip what was already read there
            params["until"] = format_rfc3339(parse_rfc3339(window.upper) + timedelta(milliseconds=1))
            skip |= set(window.extra.get("upper_ids") or [])
        stop_reason = ""
        pages = 0
        at_time: dict[str, list[str]] = {}
        try:
            while True:
                if pages >= self.settings.max_pages_per_run:
                    stop_reason = "page cap"
                    break
                response = await self._search(params)
                body = response.body
                if not isinstance(body, dict) or not isinstance(body.get("posts"), list):
                    raise MalformedPage("Bluesky searchPosts answered without a 'posts' list")
                pages += 1
                stamps: list[str] = []
                for view in body["posts"]:
                    try:
                        stamp = format_rfc3339(parse_rfc3339(bluesky_sort_time(view)))
                    except (RecordError, AttributeError) as exc:
                        collector.malformed += 1
                        self.http.metrics.malformed_items.labels(self.name).inc()
                        log.warning("malformed_item", source=self.name, error=str(exc))
                        continue
                    uri = view.get("uri")
                    if uri in skip:
                        continue
                    if collector.add(view, bluesky_post_to_post) is not None:
                        stamps.append(stamp)
                        at_time.setdefault(stamp, []).append(str(uri))
                if stamps:
                    stamps.sort()
                    walk.saw(stamps[-1], stamps[0])
                cursor = body.get("cursor")
                if not body["posts"] or not cursor:
                    walk.reached_lower = True
                    break
                params["cursor"] = str(cursor)
                if len(collector.posts) >= chunk:
                    yield FetchResult(
                        collector.take(), self._window_after(window, lower, walk, at_time), False, "", 0, pages
                    )
        except RateLimited as exc:
            stop_reason = str(exc)
        yield FetchResult(
            collector.take(),
            self._window_after(window, lower, walk, at_time),
            walk.reached_lower,
            stop_reason,
            collector.malformed,
            pages,
            detail={"sessions_created": self.session.created, "sessions_refreshed": self.session.refreshed},
        )

    @staticmethod
    def _window_after(window: Window, lower: str, walk: Walk, at_time: dict[str, list[str]]) -> Window:
        """The window to store, with the ids read at the instants that bound the next walk."""
        new_window = advance(Window(window.lower or lower, window.upper, window.newest, {}), walk)

        def ids_at(instant: str | None, *earlier: tuple[str | None, str]) -> list[str]:
            ids = list(at_time.get(instant or "", [])) if instant else []
            for other_instant, key in earlier:  # the same instant seen by an earlier walk
                if instant is not None and instant == other_instant:
                    ids = list(window.extra.get(key) or []) + ids
            return ids

        if new_window.upper is None:
            if walk.newest is not None and new_window.lower == walk.newest:
                new_window.extra["lower_ids"] = ids_at(walk.newest, (window.lower, "lower_ids"))
            elif new_window.lower == window.newest and window.upper is not None:
                new_window.extra["lower_ids"] = list(window.extra.get("newest_ids") or [])
            else:
                new_window.extra["lower_ids"] = list(window.extra.get("lower_ids") or [])
        else:
            new_window.extra["lower_ids"] = list(window.extra.get("lower_ids") or [])
            if walk.oldest is None:
                new_window.extra["upper_ids"] = list(window.extra.get("upper_ids") or [])
            else:
                new_window.extra["upper_ids"] = ids_at(walk.oldest, (window.upper, "upper_ids"))
            if window.upper is None:
                new_window.extra["newest_ids"] = ids_at(walk.newest, (window.lower, "lower_ids"))
            else:
                new_window.extra["newest_ids"] = list(window.extra.get("newest_ids") or [])
        return new_window
