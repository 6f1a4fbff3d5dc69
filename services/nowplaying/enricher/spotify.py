"""Spotify Web API edge over spotipy, with the project's retry policy.

spotipy is built with ``retries=0`` and ``status_retries=0`` (its urllib3 retries would sleep a
``Retry-After`` of hours), an in-memory token cache (never a ``.cache`` file) and the token URL and
API prefix from the settings. Only Development-Mode-safe calls are made: search with ``limit`` <= 10
and ``GET /tracks/{id}`` one by one (no batch gets); audio features are tried and reported
``Unavailable`` on 403/404 so the caller switches to ReccoBeats.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler

from nowplaying.common.config import Settings
from nowplaying.common.logging import get_logger
from nowplaying.enricher.core import SPOTIFY_ID, Features, Track, features_from_api
from nowplaying.enricher.metrics import EnrichMetrics
from nowplaying.enricher.policy import (
    BadRequest,
    ConfigurationError,
    RateLimited,
    RequestFailed,
    RetryPolicy,
    Unavailable,
    retry_after_seconds,
)

log = get_logger(__name__)

SEARCH_LIMIT = 10  # Development Mode maximum
FEATURES_BATCH = 100

# spotipy logs request headers (the bearer token, the Basic credentials) at DEBUG and every HTTP
# error at ERROR; the enricher logs what matters itself.
logging.getLogger("spotipy").setLevel(logging.CRITICAL)


class TokenError(Exception):
    def __init__(self, status: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


class _ClientCredentials(spotipy.SpotifyClientCredentials):  # type: ignore[misc]
    """Client credentials against the configured accounts URL, counting each token request."""

    def __init__(
        self, token_url: str, client_id: str, client_secret: str, timeout: float, count: Callable[[str], None]
    ):
        super().__init__(
            client_id=client_id,
            client_secret=client_secret,
            requests_timeout=timeout,
            cache_handler=MemoryCacheHandler(),
        )
        self.OAUTH_TOKEN_URL = token_url
        self._count = count

    def forget(self) -> None:
        self.cache_handler.save_token_to_cache(None)

    def _request_access_token(self) -> dict[str, Any]:
        try:
            response = self._session.post(
                self.OAUTH_TOKEN_URL,
                data={"grant_type": "client_credentials"},
                headers=spotipy.oauth2._make_authorization_headers(self.client_id, self.client_secret),
                timeout=self.requests_timeout,
            )
        except requests.Timeout as exc:
            self._count("timeout")
            raise TokenError("timeout", f"token request timed out: {exc}") from exc
        except requests.RequestException as exc:
            self._count("error")
            raise TokenError("error", f"token request failed: {type(exc).__name__}") from exc
        status = str(response.status_code)
        if response.status_code != 200:
            self._count(status)
            raise TokenError(
                status,
                f"token endpoint answered HTTP {status}: {response.text[:200]}",
                retry_after_seconds(response.headers),
            )
        try:
            body = response.json()
            if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
                raise ValueError("no access_token")
            int(body.get("expires_in", 3600))
        except ValueError as exc:
            self._count("malformed")
            raise TokenError("malformed", f"token endpoint answered malformed JSON: {exc}") from exc
        self._count(status)
        body.setdefault("expires_in", 3600)
        return body


class SpotifyClient:
    def __init__(
        self,
        settings: Settings,
        metrics: EnrichMetrics,
        policy: RetryPolicy | None = None,
    ) -> None:
        if not settings.spotify_client_id or not settings.spotify_client_secret:
            raise ConfigurationError("SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET must be set for `enrich`")
        self.metrics = metrics
        self.policy = policy or RetryPolicy.from_settings(settings)
        self.market = settings.spotify_market or None
        self.auth = _ClientCredentials(
            token_url=settings.spotify_accounts_base.rstrip("/") + "/api/token",
            client_id=settings.spotify_client_id,
            client_secret=settings.spotify_client_secret.get_secret_value(),
            timeout=settings.http_timeout_s,
            count=lambda status: metrics.spotify("token", status),
        )
        # A plain session (no urllib3 retries): with spotipy's own retry adapter, even at
        # retries=0, a 429 becomes a RetryError and its Retry-After header is lost.
        self.sp = spotipy.Spotify(
            auth_manager=self.auth,
            requests_session=requests.Session(),
            requests_timeout=settings.http_timeout_s,
            retries=0,
            status_retries=0,
            backoff_factor=0,
        )
        self.sp.prefix = settings.spotify_api_base.rstrip("/") + "/"

    # --- calls ----------------------------------------------------------------------------------
    def search(self, q: str, limit: int = SEARCH_LIMIT) -> list[Track]:
        """Tracks for a search query (at most 10: the Development Mode limit)."""
        body = self._call(
            "search",
            lambda: self.sp.search(q=q, limit=min(limit, SEARCH_LIMIT), type="track", market=self.market),
            _check_search,
        )
        tracks: list[Track] = []
        for item in body["tracks"]["items"]:
            if item is None:
                continue
            try:
                tracks.append(Track.from_api(item))
            except ValueError as exc:
                log.warning("spotify_bad_track_object", error=str(exc))
        return tracks

    def track(self, track_id: str) -> Track | None:
        """One track by id (no batch gets in Development Mode); None when Spotify does not know it."""
        if not SPOTIFY_ID.match(track_id):
            return None
        try:
            body = self._call("track", lambda: self.sp.track(track_id, market=self.market), _check_object)
        except Unavailable:
            return None
        except BadRequest as exc:
            log.warning("spotify_track_refused", track_id=track_id, error=str(exc))
            return None
        try:
            return Track.from_api(body)
        except ValueError as exc:
            log.warning("spotify_bad_track_object", track_id=track_id, error=str(exc))
            return None

    def audio_features(self, track_ids: Sequence[str]) -> dict[str, Features]:
        """Known features by id (up to 100 ids a call); raises Unavailable on 403/404."""
        out: dict[str, Features] = {}
        ids = [t for t in track_ids if SPOTIFY_ID.match(t)]
        for start in range(0, len(ids), FEATURES_BATCH):
            chunk = ids[start : start + FEATURES_BATCH]
            body = self._call(
                "audio_features",
                lambda chunk=chunk: self.sp._get("audio-features", ids=",".join(chunk)),  # type: ignore[misc]
                _check_features,
            )
            for item in body["audio_features"]:
                if isinstance(item, dict) and item.get("id") in chunk:
                    features = features_from_api(item)
                    if features:
                        out[str(item["id"])] = features
        return out

    # --- the retry policy -----------------------------------------------------------------------
    def _call(self, endpoint: str, fn: Callable[[], Any], check: Callable[[Any], None]) -> Any:
        policy = self.policy
        attempt = 0
        refreshed = False
        waits = 0
        while True:
            attempt += 1
            failure: str
            try:
                body = fn()
            except spotipy.SpotifyException as exc:
                status = int(exc.http_status)
                self.metrics.spotify(endpoint, str(status))
                if status == 401 and not refreshed:
                    log.info("spotify_token_refresh", endpoint=endpoint)
                    self.auth.forget()
                    refreshed = True
                    attempt -= 1
                    continue
                if status == 429:
                    retry_after = retry_after_seconds(exc.headers)
                    if policy.may_wait(retry_after) and waits < policy.max_attempts:
                        assert retry_after is not None
                        waits += 1
                        log.info("spotify_rate_limited_wait", endpoint=endpoint, retry_after_s=retry_after)
                        policy.sleep(retry_after)
                        attempt -= 1
                        continue
                    raise RateLimited("spotify", endpoint, retry_after) from None
                if status in (403, 404):
                    raise Unavailable("spotify", endpoint, status) from None
                if status >= 500:
                    failure = f"HTTP {status}"
                elif status == 401:
                    raise RequestFailed(f"spotify {endpoint}: HTTP 401 again after a token refresh") from None
                else:
                    raise BadRequest("spotify", endpoint, status, str(exc.msg)) from None
            except TokenError as exc:
                if exc.status == "429":
                    if policy.may_wait(exc.retry_after_s) and waits < policy.max_attempts:
                        assert exc.retry_after_s is not None
                        waits += 1
                        policy.sleep(exc.retry_after_s)
                        attempt -= 1
                        continue
                    raise RateLimited("spotify", "token", exc.retry_after_s) from None
                if exc.status in ("400", "401", "403"):
                    raise ConfigurationError(f"spotify token: {exc} (check SPOTIFY_CLIENT_ID/SECRET)") from None
                failure = str(exc)
            except requests.Timeout:
                self.metrics.spotify(endpoint, "timeout")
                failure = "timeout"
            except requests.RequestException as exc:
                self.metrics.spotify(endpoint, "error")
                failure = type(exc).__name__
            else:
                try:
                    check(body)
                except (ValueError, KeyError, TypeError) as exc:
                    self.metrics.spotify(endpoint, "malformed")
                    failure = f"malformed answer: {exc}"
                else:
                    self.metrics.spotify(endpoint, "200")
                    return body
            if attempt >= policy.max_attempts:
                raise RequestFailed(f"spotify {endpoint}: gave up after {attempt} attempts ({failure})")
            delay = policy.backoff_s(attempt)
            log.info("spotify_retry", endpoint=endpoint, attempt=attempt, failure=failure, delay_s=round(delay, 3))
            policy.sleep(delay)


def _check_search(body: Any) -> None:
    if not isinstance(body, dict) or not isinstance(body.get("tracks"), dict):
        raise ValueError("search answer has no 'tracks' object")
    if not isinstance(body["tracks"].get("items"), list):
        raise ValueError("search answer has no 'tracks.items' list")


def _check_object(body: Any) -> None:
    if not isinstance(body, dict):
        raise ValueError("answer is not a JSON object")


def _check_features(body: Any) -> None:
    if not isinstance(body, dict) or not isinstance(body.get("audio_features"), list):
        raise ValueError("audio-features answer has no 'audio_features' list")
