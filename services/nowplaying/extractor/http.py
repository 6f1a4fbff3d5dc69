"""The extractor's HTTP edge: aiohttp with the project's retry policy.

- 5xx, timeouts, dropped connections, truncated or malformed bodies: capped exponential backoff
  with full jitter, up to ``retry_max_attempts``; then ``SourceUnavailable``.
- 429: wait for the reset only when it is within ``rate_limit_max_wait_s``; otherwise
  ``RateLimited`` so the source stops for this run and keeps its checkpoint.
- Other 4xx: ``RequestRejected`` at once (retrying cannot help), with the server's message.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from prometheus_client import CollectorRegistry, Counter

from nowplaying.common.config import Settings
from nowplaying.common.logging import get_logger

log = get_logger(__name__)


class SourceError(RuntimeError):
    """A source could not be read this run; its checkpoint stays where it was."""


class SourceUnavailable(SourceError):
    pass


class RequestRejected(SourceError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class RateLimited(SourceError):
    def __init__(self, wait_s: float) -> None:
        super().__init__(f"rate limited; the limit resets in {wait_s:.0f} s, over the wait cap")
        self.wait_s = wait_s


@dataclass(frozen=True)
class JsonResponse:
    status: int
    headers: dict[str, str]
    body: Any
    url: str


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(cap_s, base_s * (2**attempt))
    return (rng or random).uniform(0, ceiling)


def reset_wait_seconds(headers: dict[str, str], now: float | None = None) -> float | None:
    """Seconds until a rate limit resets, from whichever header style the source uses."""
    now = time.time() if now is None else now
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = lowered.get("retry-after")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
    for key in ("x-rate-limit-reset", "ratelimit-reset"):  # X and Bluesky: epoch seconds
        if key in lowered:
            try:
                return max(0.0, float(lowered[key]) - now)
            except ValueError:
                pass
    if "x-ratelimit-reset" in lowered:  # Mastodon: ISO 8601
        try:
            reset = datetime.fromisoformat(lowered["x-ratelimit-reset"].replace("Z", "+00:00"))
            return max(0.0, reset.astimezone(UTC).timestamp() - now)
        except ValueError:
            pass
    return None


def _error_message(body: bytes) -> str:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:200].decode("utf-8", "replace")
    if isinstance(parsed, dict):
        for key in ("detail", "message", "error", "title"):
            if isinstance(parsed.get(key), str):
                return str(parsed[key])
    return str(parsed)[:200]


class SourceMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "nowplaying_source_requests", "HTTP requests to a source by status", ["source", "status"], registry=registry
        )
        self.rate_limit_waits = Counter(
            "nowplaying_source_rate_limit_waits", "Waits for a rate-limit reset", ["source"], registry=registry
        )
        self.rate_limit_wait_seconds = Counter(
            "nowplaying_source_rate_limit_wait_seconds",
            "Seconds spent waiting for rate-limit resets",
            ["source"],
            registry=registry,
        )
        self.posts_fetched = Counter(
            "nowplaying_source_posts_fetched",
            "Posts fetched and written to the raw lake",
            ["source"],
            registry=registry,
        )
        self.malformed_items = Counter(
            "nowplaying_source_malformed_items", "Items skipped as malformed", ["source"], registry=registry
        )
        self.x_posts_spent = Counter(
            "nowplaying_x_posts_spent", "X posts read (X bills per post read)", registry=registry
        )


class HttpSource:
    """A small aiohttp wrapper bound to one source name (for metrics and logs)."""

    def __init__(
        self,
        source: str,
        session: aiohttp.ClientSession,
        settings: Settings,
        metrics: SourceMetrics,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.source = source
        self.session = session
        self.settings = settings
        self.metrics = metrics
        self.sleep = sleep
        # export a zero for every series of this source before anything happens
        for counter in (
            metrics.posts_fetched,
            metrics.malformed_items,
            metrics.rate_limit_waits,
            metrics.rate_limit_wait_seconds,
        ):
            counter.labels(source)

    async def request_json(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> JsonResponse:
        attempts = max(1, self.settings.retry_max_attempts)
        last_problem = ""
        attempt = 0
        while attempt < attempts:
            try:
                async with self.session.request(
                    method,
                    url,
                    params=params,
                    headers=headers,
                    json=json_body,
                    timeout=aiohttp.ClientTimeout(total=self.settings.http_timeout_s),
                ) as response:
                    body = await response.read()
                    status = response.status
                    response_headers = {k: v for k, v in response.headers.items()}
                    final_url = str(response.url)
            except (TimeoutError, aiohttp.ClientError) as exc:
                # timeouts, refused or dropped connections, truncated bodies (ClientPayloadError)
                self.metrics.requests.labels(self.source, "error").inc()
                last_problem = f"{type(exc).__name__}: {exc}"
                await self._backoff(attempt, last_problem)
                attempt += 1
                continue
            self.metrics.requests.labels(self.source, str(status)).inc()
            if status == 429:
                wait = reset_wait_seconds(response_headers)
                if wait is None:
                    wait = backoff_delay(attempt, self.settings.retry_base_delay_s, self.settings.retry_max_delay_s)
                if wait > self.settings.rate_limit_max_wait_s:
                    raise RateLimited(wait)
                self.metrics.rate_limit_waits.labels(self.source).inc()
                self.metrics.rate_limit_wait_seconds.labels(self.source).inc(wait)
                log.info("rate_limit_wait", source=self.source, wait_s=round(wait, 2))
                await self.sleep(wait + 0.05)
                # a short wait does not use up a retry attempt, but is bounded by the same count
                attempt += 1
                continue
            if status >= 500:
                last_problem = f"HTTP {status}: {_error_message(body)}"
                await self._backoff(attempt, last_problem)
                attempt += 1
                continue
            if status >= 400:
                raise RequestRejected(status, _error_message(body))
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                last_problem = f"malformed JSON from {self.source} ({len(body)} bytes): {exc}"
                self.metrics.requests.labels(self.source, "malformed").inc()
                await self._backoff(attempt, last_problem)
                attempt += 1
                continue
            return JsonResponse(status, response_headers, parsed, final_url)
        raise SourceUnavailable(f"{self.source}: gave up after {attempts} attempts; last problem: {last_problem}")

    async def _backoff(self, attempt: int, problem: str) -> None:
        if attempt + 1 >= max(1, self.settings.retry_max_attempts):
            return
        delay = backoff_delay(attempt, self.settings.retry_base_delay_s, self.settings.retry_max_delay_s)
        log.info("retrying", source=self.source, attempt=attempt + 1, delay_s=round(delay, 2), problem=problem[:200])
        await self.sleep(delay)
