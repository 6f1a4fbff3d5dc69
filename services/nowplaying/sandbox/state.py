"""The sandbox's shared state: configuration, the live timeline of posts, rate windows, statistics."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left, bisect_right
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from nowplaying.sandbox.catalog import Catalog, get_catalog
from nowplaying.sandbox.corpus import SOURCES, GeneratedPost, PostStream
from nowplaying.sandbox.faults import FaultSet, parse_fault_spec

# Credentials the sandbox always accepts (documented in the README's Sandbox section).
DEFAULT_X_BEARER = "sandbox-bearer"
X_UNENROLLED_BEARER = "sandbox-not-enrolled"  # answers 403 client-not-enrolled, like an app outside a Project
DEFAULT_SPOTIFY_CLIENT = ("sandbox-client", "sandbox-secret")
DEFAULT_BLUESKY_LOGIN = ("sandbox.bsky.social", "sandbox-app-password")
SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000

# Real limits where published (research/apis.md); Spotify's and ReccoBeats' are not, these are plausible.
DEFAULT_LIMITS: dict[str, tuple[int, float]] = {
    "x": (450, 900.0),
    "mastodon": (300, 300.0),
    "bluesky": (3000, 300.0),
    "spotify": (600, 30.0),
    "reccobeats": (300, 30.0),
}


@dataclass
class SandboxConfig:
    seed: int = 42
    dev_mode: bool = True
    posts_per_minute: float = 60.0
    initial_posts: int = 500
    faults: str = ""
    catalog_file: str | None = None  # SANDBOX_CATALOG: Spotify track objects added to the catalog
    source_weights: dict[str, float] | None = None
    x_bearer_tokens: tuple[str, ...] = (DEFAULT_X_BEARER,)
    spotify_clients: tuple[tuple[str, str], ...] = (DEFAULT_SPOTIFY_CLIENT,)
    bluesky_logins: tuple[tuple[str, str], ...] = (DEFAULT_BLUESKY_LOGIN,)
    spotify_token_ttl_s: int = 3600
    bluesky_access_ttl_s: int = 7200
    bluesky_refresh_ttl_s: int = 90 * 24 * 3600
    mastodon_require_auth: bool = False
    mastodon_tokens: tuple[str, ...] = ()
    limits: dict[str, tuple[int, float]] = field(default_factory=lambda: dict(DEFAULT_LIMITS))

    def public(self) -> dict[str, Any]:
        """The configuration without any credential."""
        out = asdict(self)
        for key in ("x_bearer_tokens", "spotify_clients", "bluesky_logins", "mastodon_tokens"):
            out.pop(key)
        out["limits"] = {k: {"limit": v[0], "window_s": v[1]} for k, v in self.limits.items()}
        return out


class RateWindow:
    """A fixed window (X, Mastodon, Bluesky) or a rolling one (Spotify, ReccoBeats)."""

    def __init__(self, limit: int, window_s: float, rolling: bool = False) -> None:
        self.limit = limit
        self.window_s = window_s
        self.rolling = rolling
        self._start = 0.0
        self._used = 0
        self._hits: deque[float] = deque()

    def hit(self, now: float) -> tuple[bool, int, float]:
        """Count a request: (allowed, remaining, reset time as epoch seconds)."""
        if self.rolling:
            while self._hits and self._hits[0] <= now - self.window_s:
                self._hits.popleft()
            if len(self._hits) >= self.limit:
                return False, 0, self._hits[0] + self.window_s
            self._hits.append(now)
            reset = self._hits[0] + self.window_s
            return True, self.limit - len(self._hits), reset
        if now >= self._start + self.window_s:
            self._start, self._used = now, 0
        reset = self._start + self.window_s
        if self._used >= self.limit:
            return False, 0, reset
        self._used += 1
        return True, self.limit - self._used, reset


class SourceFeed:
    """One source's published posts, oldest first, with sorted keys for range lookups."""

    def __init__(self) -> None:
        self.posts: list[GeneratedPost] = []
        self.ms: list[int] = []
        self.id_ints: list[int] = []  # X and Mastodon ids; the position for Bluesky

    def add(self, post: GeneratedPost) -> None:
        self.posts.append(post)
        self.ms.append(post.created_ms)
        self.id_ints.append(int(post.post_id) if post.source != "bluesky" else len(self.posts) - 1)

    def position_after_id(self, id_int: int) -> int:
        """Index of the first post whose id is greater than ``id_int``."""
        return bisect_right(self.id_ints, id_int)

    def position_of_id(self, id_int: int) -> int:
        """Index of the first post whose id is at least ``id_int``."""
        return bisect_left(self.id_ints, id_int)

    def position_at_ms(self, ms: int) -> int:
        return bisect_left(self.ms, ms)


class Timeline:
    """Posts appear over time: ``initial`` in the past (within X's 7 days), then ``per_minute`` live."""

    def __init__(
        self,
        seed: int,
        per_minute: float,
        initial: int,
        clock: Callable[[], float] = time.time,
        source_weights: dict[str, float] | None = None,
    ) -> None:
        self.stream = PostStream(seed, source_weights)
        self.per_minute = per_minute
        self.clock = clock
        self.feeds: dict[str, SourceFeed] = {s: SourceFeed() for s in SOURCES}
        self.kinds: Counter[str] = Counter()
        self.formats: Counter[str] = Counter()
        self.by_index: dict[str, GeneratedPost] = {}
        self._lock = threading.RLock()
        now_ms = int(clock() * 1000)
        self._last_ms = now_ms - 1
        if initial > 0:
            spacing = 60_000.0 / per_minute if per_minute > 0 else 1000.0
            spacing = min(spacing, (6 * 24 * 3600 * 1000) / initial)  # all inside the last 6 days
            first = now_ms - int(initial * spacing)
            self._last_ms = first
            for i in range(initial):
                self._publish(first + int(i * spacing))
        self._next_due_ms = float(now_ms)

    def _publish(self, created_ms: int) -> GeneratedPost:
        created_ms = max(created_ms, self._last_ms)
        self._last_ms = created_ms
        post = self.stream.next(created_ms)
        self.feeds[post.source].add(post)
        self.kinds[post.truth.kind] += 1
        self.formats[post.truth.format] += 1
        return post

    def advance(self) -> int:
        """Publish the live posts that are due; returns how many appeared."""
        if self.per_minute <= 0:
            return 0
        with self._lock:
            now_ms = self.clock() * 1000
            spacing = 60_000.0 / self.per_minute
            count = 0
            while self._next_due_ms <= now_ms:
                self._publish(int(self._next_due_ms))
                self._next_due_ms += spacing
                count += 1
            return count

    def publish_now(self, count: int) -> list[GeneratedPost]:
        with self._lock:
            now_ms = int(self.clock() * 1000)
            return [self._publish(now_ms) for _ in range(count)]

    def publish_custom(self, source: str, text: str, truth: dict[str, Any] | None = None) -> GeneratedPost:
        """Publish one post with the given text now (see PostStream.custom)."""
        from nowplaying.sandbox.corpus import Truth

        t = truth or {}
        fact = Truth(
            str(t.get("kind", "query")),
            t.get("artist"),
            t.get("title"),
            t.get("track_id"),
            bool(t.get("is_bot", False)),
            str(t.get("format", "custom")),
        )
        with self._lock:
            created_ms = max(int(self.clock() * 1000), self._last_ms)
            self._last_ms = created_ms
            post = self.stream.custom(created_ms, source, text, fact)
            self.feeds[post.source].add(post)
            self.kinds[post.truth.kind] += 1
            self.formats[post.truth.format] += 1
            return post

    def set_rate(self, per_minute: float) -> None:
        with self._lock:
            self.advance()
            self.per_minute = per_minute
            self._next_due_ms = self.clock() * 1000 + (60_000.0 / per_minute if per_minute > 0 else 0)

    @property
    def published(self) -> int:
        return self.stream.index

    def all_posts(self, source: str | None = None) -> list[GeneratedPost]:
        with self._lock:
            if source is not None:
                return list(self.feeds[source].posts)
            merged = [p for feed in self.feeds.values() for p in feed.posts]
        merged.sort(key=lambda p: p.index)
        return merged


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[str, Counter[str]] = {}
        self.endpoints: dict[str, Counter[str]] = {}
        self.served: dict[str, Counter[str]] = {s: Counter() for s in SOURCES}

    def count(self, api: str, status: str) -> None:
        with self._lock:
            self.requests.setdefault(api, Counter())[status] += 1

    def count_endpoint(self, api: str, endpoint: str) -> None:
        with self._lock:
            self.endpoints.setdefault(api, Counter())[endpoint] += 1

    def serve(self, source: str, post_ids: list[str]) -> None:
        with self._lock:
            self.served[source].update(post_ids)

    def clear(self) -> None:
        with self._lock:
            self.requests = {}
            self.endpoints = {}
            self.served = {s: Counter() for s in SOURCES}


class SandboxState:
    """Everything the API modules share. One per running sandbox."""

    def __init__(self, config: SandboxConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.catalog: Catalog = get_catalog(config.seed, config.catalog_file)
        self.faults = FaultSet(config.seed)
        self.stats = Stats()
        self.lock = threading.RLock()
        self.spotify_tokens: dict[str, float] = {}  # token -> expiry (epoch s)
        self.bluesky_tokens: dict[str, tuple[str, str, float]] = {}  # jwt -> (scope, did, expiry)
        self.windows: dict[str, RateWindow] = {}
        self.timeline = self._new_timeline()
        self.reset_windows()
        if config.faults:
            self.faults.set(parse_fault_spec(config.faults))

    def _new_timeline(self) -> Timeline:
        cfg = self.config
        return Timeline(cfg.seed, cfg.posts_per_minute, cfg.initial_posts, self.clock, cfg.source_weights)

    def reset_windows(self) -> None:
        self.windows = {
            api: RateWindow(limit, window, rolling=api in ("spotify", "reccobeats"))
            for api, (limit, window) in self.config.limits.items()
        }

    def reset(self, corpus: bool = False) -> None:
        """Clear faults, statistics, served ids, tokens and rate windows; ``corpus`` restarts the posts."""
        with self.lock:
            self.faults.clear()
            if self.config.faults:
                self.faults.set(parse_fault_spec(self.config.faults))
            self.stats.clear()
            self.spotify_tokens.clear()
            self.bluesky_tokens.clear()
            self.reset_windows()
            if corpus:
                self.timeline = self._new_timeline()

    def now(self) -> float:
        return self.clock()
