"""ReccoBeats edge: audio features by Spotify id, 40 ids a call, the project's retry policy.

``GET {base}/v1/audio-features?ids=a,b`` answers ``{"content": [...]}``; unknown ids are omitted and
the order is not guaranteed, so rows are mapped back by the Spotify id in their ``href``.
ReccoBeats has no ``time_signature`` and no ``duration_ms``: those stay empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

from nowplaying.common.config import Settings
from nowplaying.common.logging import get_logger
from nowplaying.enricher.core import SPOTIFY_ID, Features, features_from_api, spotify_id_from_href
from nowplaying.enricher.metrics import EnrichMetrics
from nowplaying.enricher.policy import (
    BadRequest,
    RateLimited,
    RequestFailed,
    RetryPolicy,
    Unavailable,
    retry_after_seconds,
)

log = get_logger(__name__)

BATCH = 40


class ReccoBeatsClient:
    def __init__(
        self,
        settings: Settings,
        metrics: EnrichMetrics,
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.url = settings.reccobeats_base.rstrip("/") + "/v1/audio-features"
        self.timeout = settings.http_timeout_s
        self.metrics = metrics
        self.policy = policy or RetryPolicy.from_settings(settings)
        self.session = session or requests.Session()
        self.session.headers["Accept"] = "application/json"

    def audio_features(self, track_ids: Sequence[str]) -> dict[str, Features]:
        """Known features by Spotify id; ids ReccoBeats does not know are absent."""
        ids = list(dict.fromkeys(t for t in track_ids if SPOTIFY_ID.match(t)))
        out: dict[str, Features] = {}
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            wanted = set(chunk)
            for row in self._get(chunk):
                track_id = spotify_id_from_href(row.get("href")) if isinstance(row, dict) else None
                if track_id in wanted:
                    features = features_from_api(row)
                    if features:
                        assert track_id is not None
                        out[track_id] = features
        return out

    def _get(self, ids: list[str]) -> list[Any]:
        policy = self.policy
        attempt = 0
        waits = 0
        while True:
            attempt += 1
            failure: str
            try:
                response = self.session.get(self.url, params={"ids": ",".join(ids)}, timeout=self.timeout)
            except requests.Timeout:
                self.metrics.reccobeats("timeout")
                failure = "timeout"
            except requests.RequestException as exc:
                self.metrics.reccobeats("error")
                failure = type(exc).__name__
            else:
                status = response.status_code
                if status == 200:
                    try:
                        body = response.json()
                        if not isinstance(body, dict) or not isinstance(body.get("content"), list):
                            raise ValueError("no 'content' list")
                    except ValueError as exc:
                        self.metrics.reccobeats("malformed")
                        failure = f"malformed answer: {exc}"
                    else:
                        self.metrics.reccobeats("200")
                        content: list[Any] = body["content"]
                        return content
                else:
                    self.metrics.reccobeats(str(status))
                    if status == 429:
                        retry_after = retry_after_seconds(response.headers)
                        if policy.may_wait(retry_after) and waits < policy.max_attempts:
                            assert retry_after is not None
                            waits += 1
                            policy.sleep(retry_after)
                            attempt -= 1
                            continue
                        raise RateLimited("reccobeats", "audio_features", retry_after)
                    if status in (403, 404):
                        raise Unavailable("reccobeats", "audio_features", status)
                    if status < 500:
                        raise BadRequest("reccobeats", "audio_features", status, response.text)
                    failure = f"HTTP {status}"
            if attempt >= policy.max_attempts:
                raise RequestFailed(f"reccobeats audio_features: gave up after {attempt} attempts ({failure})")
            delay = policy.backoff_s(attempt)
            log.info("reccobeats_retry", attempt=attempt, failure=failure, delay_s=round(delay, 3))
            policy.sleep(delay)
