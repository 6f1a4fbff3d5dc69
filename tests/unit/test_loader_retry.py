"""The loader's resend rules: which failures are resent, how long it waits, how often, in what order."""

from __future__ import annotations

import threading
import time

import pytest
from cassandra import ConsistencyLevel, InvalidRequest, OperationTimedOut, Unavailable, WriteFailure, WriteTimeout
from cassandra.cluster import NoHostAvailable
from cassandra.policies import RetryPolicy, WriteType
from nowplaying.loader.retry import CAP_S, RETHROW_TIMEOUTS, Backoff, Timer, call_with_retry, retryable


def test_timeouts_and_missing_replicas_are_resent_but_refusals_are_not() -> None:
    assert retryable(WriteTimeout("slow", write_type=WriteType.UNLOGGED_BATCH))
    assert retryable(Unavailable("2 of 3 down"))
    assert retryable(OperationTimedOut({}, None))
    assert retryable(NoHostAvailable("all down", {}))
    assert not retryable(InvalidRequest("bad statement"))
    assert not retryable(WriteFailure("replica failed"))
    assert not retryable(ValueError("a bug"))


def test_the_driver_hands_write_timeouts_and_unavailable_back_at_once() -> None:
    one = ConsistencyLevel.ONE
    assert RETHROW_TIMEOUTS.on_write_timeout(None, one, WriteType.BATCH_LOG, 1, 0, 0) == (RetryPolicy.RETHROW, None)
    assert RETHROW_TIMEOUTS.on_unavailable(None, one, 1, 0, 0) == (RetryPolicy.RETHROW, None)
    # a broken connection still moves on to the next host, as the driver's default does
    decision = RETHROW_TIMEOUTS.on_request_error(None, one, ConnectionError("reset"), 0)
    assert decision[0] == RetryPolicy.RETRY_NEXT_HOST


def test_backoff_doubles_with_jitter_up_to_the_cap_and_stops_after_the_retries() -> None:
    backoff = Backoff(retries=8, base_s=0.5)
    for attempt in range(8):
        ceiling = min(CAP_S, 0.5 * 2**attempt)
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 10  # jittered, not all the same
    assert backoff.allows(7) and not backoff.allows(8)
    assert not Backoff(retries=0).allows(0)


def test_call_with_retry_resends_until_it_succeeds_then_gives_up_after_the_last_retry() -> None:
    calls = []

    def flaky(failures: int) -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise WriteTimeout("slow", write_type=WriteType.SIMPLE)
        return "ok"

    assert call_with_retry(lambda: flaky(2), Backoff(retries=2, base_s=0.001)) == "ok"
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(WriteTimeout):
        call_with_retry(lambda: flaky(3), Backoff(retries=2, base_s=0.001))
    assert len(calls) == 3


def test_call_with_retry_does_not_resend_a_refused_write() -> None:
    calls = []

    def refused() -> None:
        calls.append(1)
        raise InvalidRequest("unknown column")

    with pytest.raises(InvalidRequest):
        call_with_retry(refused, Backoff(retries=5, base_s=0.001))
    assert len(calls) == 1


def test_timer_runs_actions_in_due_order_not_submission_order() -> None:
    timer = Timer()
    ran: list[str] = []
    done = threading.Event()
    timer.call_later(0.15, lambda: (ran.append("late"), done.set()))
    timer.call_later(0.05, lambda: ran.append("early"))
    started = time.monotonic()
    assert done.wait(5)
    assert ran == ["early", "late"]
    assert time.monotonic() - started >= 0.14
    timer.close()
    with pytest.raises(RuntimeError):
        timer.call_later(0, lambda: None)
