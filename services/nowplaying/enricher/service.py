"""The enrich stage: pending ``clean/`` batches -> ``enriched/`` CSV batches.

Per batch: read the ParsedPosts (bad records go to ``rejects/`` with the reason), skip kind ``none``,
resolve each distinct query once (match cache, then Spotify), fetch tracks and audio features for
the matches (caches first, Spotify's features while they answer, ReccoBeats after a 403), then write
the whole CSV at once under the clean batch's id and mark the batch done. A long rate limit or an
API that keeps failing stops the run with the batch left pending (status ``partial``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import orjson
from cassandra.cluster import Session

from nowplaying.common.cassandra import ProgressStore
from nowplaying.common.config import Settings
from nowplaying.common.lake import Batch, Lake, open_lake
from nowplaying.common.logging import get_logger
from nowplaying.common.metrics import StageMetrics
from nowplaying.common.models import ParsedPost, RecordError
from nowplaying.common.stage import stage_run
from nowplaying.enricher import core
from nowplaying.enricher.core import LINK, NONE, Features, Resolution, Row, Track, Want
from nowplaying.enricher.metrics import EnrichMetrics
from nowplaying.enricher.policy import (
    BadRequest,
    ConfigurationError,
    RateLimited,
    RequestFailed,
    RetryPolicy,
    Unavailable,
)

log = get_logger(__name__)

STAGE = "enrich"
REJECTS_SUFFIX = ".enrich.jsonl"


# --- the edges, as the enricher sees them ----------------------------------------------------
class SpotifyApi(Protocol):
    def search(self, q: str, limit: int = ...) -> list[Track]: ...
    def track(self, track_id: str) -> Track | None: ...
    def audio_features(self, track_ids: Sequence[str]) -> dict[str, Features]: ...


class FeaturesApi(Protocol):
    def audio_features(self, track_ids: Sequence[str]) -> dict[str, Features]: ...


class MatchStore(Protocol):
    def get_many(self, keys: Sequence[str]) -> dict[str, Resolution]: ...
    def put_many(self, entries: dict[str, Resolution]) -> None: ...


class TrackStore(Protocol):
    def get_many(self, ids: Sequence[str]) -> dict[str, Track]: ...
    def put_many(self, tracks: Iterable[Track]) -> None: ...


class FeaturesStore(Protocol):
    def get_many(self, ids: Sequence[str]) -> dict[str, tuple[str, Features]]: ...
    def put_many(self, entries: dict[str, tuple[str, Features]]) -> None: ...


@dataclass
class BatchResult:
    rows: list[Row]
    skipped_none: int = 0
    rejects: list[dict[str, object]] = field(default_factory=list)


class Enricher:
    """Resolves posts to tracks and features; keeps per-run state (the Spotify-features switch)."""

    def __init__(
        self,
        settings: Settings,
        spotify: SpotifyApi,
        reccobeats: FeaturesApi,
        matches: MatchStore,
        tracks: TrackStore,
        features: FeaturesStore,
        metrics: EnrichMetrics,
    ) -> None:
        self.threshold = settings.match_threshold
        self.spotify = spotify
        self.reccobeats = reccobeats
        self.matches = matches
        self.tracks = tracks
        self.features = features
        self.metrics = metrics
        self.spotify_features = True  # until Spotify's audio-features answers 403/404
        self._searches: dict[str, list[Track]] = {}  # q -> results, this run
        self._walks: dict[tuple[str, ...], tuple[Resolution, int | None]] = {}  # readings -> outcome, this run

    # --- a batch --------------------------------------------------------------------------------
    def enrich_posts(self, posts: Sequence[ParsedPost]) -> list[Row]:
        """One row per song post (kind link|parsed|query), matched or not, in input order.

        Each post's readings are walked in order (``core.walk_readings``): the match cache first,
        then at most ``core.MAX_UNCACHED_SEARCHES`` searches; posts with the same readings resolve
        once. The verdicts a walk settles go to the match cache, per reading."""
        songs = [p for p in posts if p.is_play]
        readings = [core.wants_of(p) for p in songs]
        walk_keys = [tuple(w.key for _, w in r) for r in readings]
        first: dict[tuple[str, ...], list[tuple[int, Want]]] = {}
        for wkey, reading in zip(walk_keys, readings, strict=True):
            if reading:
                first.setdefault(wkey, reading)
        keys = list(dict.fromkeys(w.key for reading in first.values() for _, w in reading))
        keys += [core.walk_key(reading) for reading in first.values() if reading[0][1].kind != LINK]

        cached = self.matches.get_many(keys)
        self.metrics.match_cache.labels("hit").inc(len(cached))
        self.metrics.match_cache.labels("miss").inc(len(keys) - len(cached))

        # tracks: the cache first (links, cache hits, walks of earlier batches), then the API
        wanted_ids = {w.track_id for reading in first.values() for _, w in reading if w.kind == LINK and w.track_id}
        wanted_ids |= {r.track_id for r in cached.values() if r.track_id}
        for wkey in first:
            done = self._walks.get(wkey)
            if done is not None and done[0].track_id:
                wanted_ids.add(done[0].track_id)
        known = self._cached_tracks(sorted(wanted_ids))
        fresh: dict[str, Track] = {}

        resolved: dict[tuple[str, ...], tuple[Resolution, int | None]] = {}
        new_matches: dict[str, Resolution] = {}
        try:
            for wkey, reading in first.items():
                done = self._walks.get(wkey)
                if done is not None:
                    resolved[wkey] = done
                    continue
                index, want = reading[0]
                track: Track | None
                if want.kind == LINK and want.track_id:
                    hit = cached.get(want.key)
                    if hit is not None:
                        resolution, track = hit, None
                    else:
                        track = known.get(want.track_id) or self.spotify.track(want.track_id)
                        resolution = Resolution(track.id, 1.0, LINK) if track else Resolution(None, 0.0, NONE)
                        new_matches[want.key] = resolution
                    outcome = (resolution, index if resolution.matched else None)
                else:
                    walked = core.walk_readings(reading, cached, self._searches.get, self._search, self.threshold)
                    new_matches.update(walked.verdicts)
                    track = walked.track
                    outcome = (walked.resolution, walked.reading)
                if track is not None:
                    known[track.id] = track
                    fresh[track.id] = track
                resolved[wkey] = outcome
                self._walks[wkey] = outcome
            # matches whose track is not cached any more
            for resolution, _ in list(resolved.values()):
                if resolution.track_id and resolution.track_id not in known:
                    track = self.spotify.track(resolution.track_id)
                    if track is not None:
                        known[track.id] = track
                        fresh[track.id] = track
        finally:
            # what was resolved before a stop is kept: the next run does not pay for it again
            self.tracks.put_many(fresh.values())
            self.matches.put_many(new_matches)

        matched_ids = sorted({r.track_id for r, _ in resolved.values() if r.track_id and r.track_id in known})
        features = self._features(matched_ids)

        rows: list[Row] = []
        unmatched: tuple[Resolution, int | None] = (Resolution(None, 0.0, NONE), None)
        for post, wkey, reading in zip(songs, walk_keys, readings, strict=True):
            resolution, matched_at = resolved[wkey] if reading else unmatched
            track = known.get(resolution.track_id) if resolution.track_id else None
            if resolution.track_id and track is None:
                resolution, matched_at = Resolution(None, resolution.confidence, NONE), None
            source, found = features.get(resolution.track_id or "", ("", {}))
            rows.append(Row(post, resolution, track, found, source if found else "", matched_at))
        return rows

    def count(self, rows: Sequence[Row]) -> None:
        """The per-post metrics of a written batch."""
        for row in rows:
            self.metrics.posts.inc()
            resolution = row.resolution
            self.metrics.matches.labels(resolution.method, core.band(resolution, self.threshold)).inc()
            if resolution.matched:
                self.metrics.features.labels(row.features_source or "none").inc()
            else:
                self.metrics.unmatched.inc()

    # --- pieces ---------------------------------------------------------------------------------
    def _cached_tracks(self, ids: list[str]) -> dict[str, Track]:
        found = self.tracks.get_many(ids)
        self.metrics.id_cache.labels("track", "hit").inc(len(found))
        self.metrics.id_cache.labels("track", "miss").inc(len(ids) - len(found))
        return dict(found)

    def _search(self, q: str) -> list[Track]:
        """One Spotify search (the walk calls it only for a ``q`` not searched before in this run)."""
        try:
            found = self.spotify.search(q)
        except (BadRequest, Unavailable) as exc:
            log.warning("search_refused", error=str(exc))
            found = []
        self._searches[q] = found
        return found

    def _features(self, ids: list[str]) -> dict[str, tuple[str, Features]]:
        found = self.features.get_many(ids)
        self.metrics.id_cache.labels("features", "hit").inc(len(found))
        self.metrics.id_cache.labels("features", "miss").inc(len(ids) - len(found))
        missing = [i for i in ids if i not in found]
        fetched: dict[str, tuple[str, Features]] = {}
        if missing and self.spotify_features:
            try:
                for track_id, values in self.spotify.audio_features(missing).items():
                    fetched[track_id] = ("spotify", values)
            except Unavailable as exc:
                log.info("spotify_audio_features_unavailable", status=exc.status, switch_to="reccobeats")
                self.spotify_features = False
        rest = [i for i in missing if i not in fetched]
        if rest:
            try:
                for track_id, values in self.reccobeats.audio_features(rest).items():
                    fetched[track_id] = ("reccobeats", values)
            except (Unavailable, BadRequest) as exc:
                log.warning("reccobeats_refused", error=str(exc))
                rest = []  # not a verdict on the tracks: no negative entries
        for track_id in rest:
            fetched.setdefault(track_id, ("", {}))
        self.features.put_many(fetched)
        found.update(fetched)
        return found


# --- reading a clean batch ---------------------------------------------------------------------
def read_batch(lake: Lake, batch: Batch) -> tuple[list[ParsedPost], list[dict[str, object]]]:
    """The batch's ParsedPosts and its bad records (line, error, the line's start)."""
    posts: list[ParsedPost] = []
    rejects: list[dict[str, object]] = []
    for number, line in lake.read_jsonl_lines(batch):
        try:
            posts.append(ParsedPost.from_dict(orjson.loads(line)))
        except (RecordError, orjson.JSONDecodeError) as exc:
            rejects.append({"line": number, "error": str(exc), "record": line[:2000].decode("utf-8", "replace")})
    return posts, rejects


def process_batch(enricher: Enricher, lake: Lake, batch: Batch) -> tuple[int, int, int, int]:
    """Enrich one batch and write its CSV (all or nothing). Returns (records, rows, none, rejects)."""
    posts, rejects = read_batch(lake, batch)
    rows = enricher.enrich_posts(posts)
    skipped_none = sum(1 for p in posts if not p.is_play)
    if rejects:
        data = b"".join(orjson.dumps(r) + b"\n" for r in rejects)
        lake.write_bytes("rejects", batch.batch_id, data, suffix=REJECTS_SUFFIX)
        for reject in rejects:
            log.warning("record_rejected", batch=batch.batch_id, line=reject["line"], error=reject["error"])
    lake.write_bytes("enriched", batch.batch_id, core.render_csv(rows))
    enricher.count(rows)
    enricher.metrics.skipped.labels("none").inc(skipped_none)
    enricher.metrics.skipped.labels("bad_record").inc(len(rejects))
    return len(posts) + len(rejects), len(rows), skipped_none, len(rejects)


# --- a run -------------------------------------------------------------------------------------
@dataclass
class RunSummary:
    status: str
    batches_done: int
    batches_pending: int
    posts: int
    spotify_requests: float
    stopped: str | None = None

    @property
    def requests_per_post(self) -> float:
        return self.spotify_requests / self.posts if self.posts else 0.0


def run_once(
    settings: Settings,
    session: Session,
    *,
    policy: RetryPolicy | None = None,
    max_batches: int | None = None,
) -> RunSummary:
    """Process the pending clean batches (oldest first) inside one ``pipeline_runs`` run."""
    from nowplaying.enricher.caches import FeaturesCache, MatchCache, TrackCache
    from nowplaying.enricher.reccobeats import ReccoBeatsClient
    from nowplaying.enricher.spotify import SpotifyClient

    keyspace = settings.cassandra_keyspace
    lake = open_lake(settings)
    lake.sweep_temporaries()
    progress = ProgressStore(session, keyspace)
    batches = lake.list_batches("clean")
    done = progress.done_ids(STAGE, {b.day for b in batches})
    pending = [b for b in batches if b.batch_id not in done]
    if max_batches is not None:
        pending = pending[:max_batches]
    stage_metrics = StageMetrics(STAGE)
    metrics = EnrichMetrics(stage_metrics.registry)
    summary = RunSummary("ok", 0, len(pending), 0, 0.0)
    with stage_run(STAGE, session, settings, stage_metrics) as run:
        if pending:
            enricher = Enricher(
                settings,
                SpotifyClient(settings, metrics, policy),
                ReccoBeatsClient(settings, metrics, policy),
                MatchCache(session, keyspace, settings.match_cache_ttl_s),
                TrackCache(session, keyspace, settings.match_cache_ttl_s),
                FeaturesCache(session, keyspace, settings.match_cache_ttl_s),
                metrics,
            )
        for index, batch in enumerate(pending):
            try:
                records, rows, skipped_none, rejected = process_batch(enricher, lake, batch)
            except ConfigurationError:
                raise
            except (RateLimited, RequestFailed) as exc:
                run.partial = True
                run.add_error("rate_limited" if isinstance(exc, RateLimited) else "api_failed")
                summary.stopped = str(exc)
                log.warning("enrich_stopped", batch=batch.batch_id, left_pending=len(pending) - index, error=str(exc))
                break
            progress.mark_done(
                STAGE, batch.day, batch.batch_id, records, rows, lake.key_for("enriched", batch.batch_id)
            )
            run.add_in(records)
            run.add_out(rows)
            if rejected:
                run.add_error("bad_record", rejected)
            summary.batches_done += 1
            summary.batches_pending -= 1
            log.info("batch_enriched", batch=batch.batch_id, rows=rows, skipped_none=skipped_none, rejected=rejected)
        summary.posts = int(metrics.posts_total())
        summary.spotify_requests = metrics.spotify_total()
        run.detail.update(
            batches_done=summary.batches_done,
            batches_pending=summary.batches_pending,
            song_posts=summary.posts,
            spotify_requests=summary.spotify_requests,
            requests_per_post=round(summary.requests_per_post, 4),
        )
        if summary.stopped:
            run.detail["stopped"] = summary.stopped[:300]
        summary.status = "partial" if run.partial else "ok"
    return summary
