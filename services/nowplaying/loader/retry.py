"""Resending the loader's writes when Cassandra is only slow: bounded attempts, exponential backoff.

Every write the loader sends is idempotent: an upsert of a deterministic primary key with the same
values, or a replacement with explicit timestamps (see ``writer``). A write that failed with a
``WriteTimeout`` (the coordinator did not hear from enough replicas in time: the write may or may not
be applied), an ``Unavailable`` (too few replicas alive to try), an ``OperationTimedOut`` (no answer
before the client's own timeout), an ``Overloaded`` answer, or ``NoHostAvailable`` (every host
refused or failed it) can therefore simply be sent again: a write applied twice leaves the same cells.

The driver's own retry policy resends without any wait, and not at all after a client timeout.
``RethrowTimeouts`` hands write timeouts and unavailable errors straight back, and ``Backoff`` decides
when to resend: after ``base_s`` seconds, doubled each time (with jitter, at most ``CAP_S``), at most
``retries`` times. After that the write fails for good: the run stops and the file stays pending, to
be loaded again in full by the next run.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cassandra import OperationTimedOut, Unavailable, WriteTimeout
from cassandra.cluster import NoHostAvailable
from cassandra.policies import RetryPolicy
from cassandra.protocol import OverloadedErrorMessage

CAP_S = 16.0

RETRYABLE: tuple[type[BaseException], ...] = (
    WriteTimeout,
    Unavailable,
    OperationTimedOut,
    OverloadedErrorMessage,
    NoHostAvailable,
)


def retryable(exc: BaseException) -> bool:
    """Whether a failed idempotent write may be sent again."""
    return isinstance(exc, RETRYABLE)


class RethrowTimeouts(RetryPolicy):  # type: ignore[misc]  # the driver is untyped
    """The driver's policy, except that write timeouts and unavailable errors come straight back to
    the loader (which resends after a backoff) instead of being resent at once or given up on."""

    def on_write_timeout(self, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        return self.RETHROW, None

    def on_unavailable(self, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        return self.RETHROW, None


RETHROW_TIMEOUTS = RethrowTimeouts()


@dataclass(frozen=True)
class Backoff:
    """When to resend: at most ``retries`` times, the n-th after about ``base_s * 2**n`` seconds."""

    retries: int = 8
    base_s: float = 0.5

    def delay(self, attempt: int) -> float:
        """Seconds to wait before resend number ``attempt`` (0 = the first): half to all of the
        doubled delay, so that writes that failed together are not all sent again together."""
        ceiling = min(CAP_S, self.base_s * float(2**attempt))
        jitter: float = random.uniform(0.5, 1.0)
        return ceiling * jitter

    def allows(self, attempt: int) -> bool:
        return attempt < self.retries


class Timer:
    """One thread running callables at their due time (a resend must not wait on the driver's event
    loop thread, and a thread per resend would be many)."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def call_later(self, delay_s: float, action: Callable[[], None]) -> None:
        with self._wake:
            if self._closed:
                raise RuntimeError("timer closed")
            heapq.heappush(self._due, (time.monotonic() + delay_s, next(self._order), action))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="load-retry", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._closed and (not self._due or self._due[0][0] > time.monotonic()):
                    self._wake.wait(timeout=None if not self._due else self._due[0][0] - time.monotonic())
                if self._closed:
                    return
                _, _, action = heapq.heappop(self._due)
            action()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()


def call_with_retry(action: Callable[[], Any], backoff: Backoff) -> Any:
    """Run one synchronous idempotent write, resending it after a backoff while it fails retryably."""
    attempt = 0
    while True:
        try:
            return action()
        except RETRYABLE:
            if not backoff.allows(attempt):
                raise
            time.sleep(backoff.delay(attempt))
            attempt += 1
