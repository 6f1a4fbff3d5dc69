"""The enricher's metrics, in the run's registry (pushed with the stage's metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class EnrichMetrics:
    """Requests by endpoint and status, cache lookups, matches by method and band, features by source.

    Requests per post = ``nowplaying_spotify_requests_total`` (all endpoints and statuses) divided by
    ``nowplaying_enrich_posts_total``.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.spotify_requests = Counter(
            "nowplaying_spotify_requests",
            "Spotify Web API and token requests by endpoint and status",
            ["endpoint", "status"],
            registry=registry,
        )
        self.reccobeats_requests = Counter(
            "nowplaying_reccobeats_requests", "ReccoBeats requests by status", ["status"], registry=registry
        )
        self.match_cache = Counter(
            "nowplaying_match_cache_lookups",
            "Match cache lookups (one per distinct query of a batch)",
            ["result"],
            registry=registry,
        )
        self.id_cache = Counter(
            "nowplaying_enrich_cache_lookups",
            "Track and audio-features cache lookups by id",
            ["cache", "result"],
            registry=registry,
        )
        self.matches = Counter(
            "nowplaying_matches",
            "Song posts by match method and confidence band (high >= 0.9, medium >= threshold, low)",
            ["method", "band"],
            registry=registry,
        )
        self.unmatched = Counter("nowplaying_enrich_unmatched", "Song posts left unmatched", registry=registry)
        self.features = Counter(
            "nowplaying_features", "Matched posts by audio-features source", ["source"], registry=registry
        )
        self.posts = Counter("nowplaying_enrich_posts", "Song posts processed", registry=registry)
        self.skipped = Counter(
            "nowplaying_enrich_skipped_posts",
            "Records not enriched: kind none (not a play) or a bad record",
            ["reason"],
            registry=registry,
        )
        for result in ("hit", "miss"):
            self.match_cache.labels(result)
        self.unmatched.inc(0)
        self.posts.inc(0)

    def spotify(self, endpoint: str, status: str) -> None:
        self.spotify_requests.labels(endpoint, status).inc()

    def reccobeats(self, status: str) -> None:
        self.reccobeats_requests.labels(status).inc()

    def spotify_total(self) -> float:
        return sum(
            sample.value
            for metric in self.spotify_requests.collect()
            for sample in metric.samples
            if sample.name.endswith("_total")
        )

    def posts_total(self) -> float:
        return sum(s.value for m in self.posts.collect() for s in m.samples if s.name.endswith("_total"))
