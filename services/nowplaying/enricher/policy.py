"""The project's retry policy for the enricher's HTTP clients, and the errors they raise.

- 429: wait ``Retry-After`` when it is at most ``rate_limit_max_wait_s``, else ``RateLimited`` (the
  work stays pending for the next run; never sleep for hours).
- 5xx, timeouts, dropped connections, malformed JSON: capped exponential backoff with jitter, then
  ``RequestFailed`` (work stays pending).
- 403/404: ``Unavailable`` at once (an endpoint removed for Development Mode, an unknown id).
- other 4xx: ``BadRequest`` at once (this one request is wrong; the rest of the batch goes on).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nowplaying.common.config import Settings


class EnrichApiError(RuntimeError):
    """Base of the errors the enricher's clients raise."""


class RateLimited(EnrichApiError):
    def __init__(self, api: str, endpoint: str, retry_after_s: float | None) -> None:
        super().__init__(f"{api} {endpoint}: rate limited, Retry-After {retry_after_s} s is over the wait cap")
        self.api = api
        self.endpoint = endpoint
        self.retry_after_s = retry_after_s


class RequestFailed(EnrichApiError):
    """Gave up after the retries (5xx, timeouts, malformed answers) or a configuration error."""


class ConfigurationError(RequestFailed):
    """Credentials or settings are wrong: retrying later will not help."""


class Unavailable(EnrichApiError):
    def __init__(self, api: str, endpoint: str, status: int) -> None:
        super().__init__(f"{api} {endpoint}: HTTP {status}")
        self.status = status


class BadRequest(EnrichApiError):
    def __init__(self, api: str, endpoint: str, status: int, message: str) -> None:
        super().__init__(f"{api} {endpoint}: HTTP {status}: {message[:200]}")
        self.status = status


def retry_after_seconds(headers: Mapping[str, Any] | None) -> float | None:
    """The ``Retry-After`` header in seconds (None when absent or not a number)."""
    if not headers:
        return None
    value = None
    for key, item in headers.items():
        if str(key).lower() == "retry-after":
            value = item
            break
    if value is None:
        return None
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None
    return max(0.0, seconds)


@dataclass
class RetryPolicy:
    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    rate_limit_max_wait_s: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=max(1, settings.retry_max_attempts),
            base_delay_s=settings.retry_base_delay_s,
            max_delay_s=settings.retry_max_delay_s,
            rate_limit_max_wait_s=settings.rate_limit_max_wait_s,
        )

    def backoff_s(self, attempt: int) -> float:
        """Delay after failed attempt number ``attempt`` (1-based): exponential, capped, jittered."""
        delay = min(self.max_delay_s, self.base_delay_s * (2.0 ** (attempt - 1)))
        return float(delay * (0.5 + 0.5 * self.jitter()))

    def may_wait(self, retry_after_s: float | None) -> bool:
        return retry_after_s is not None and retry_after_s <= self.rate_limit_max_wait_s
