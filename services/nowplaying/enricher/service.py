"""The enrich stage: pending ``clean/`` batches -> ``enriched/`` CSV batches.

Per batch: read the ParsedPosts (bad records go to ``rejects/`` with the reason), skip kind ``none``,
resolve each distinct query once (match cache, then Spotify), fetch tracks and audio features for
the matches (caches first, Spotify's features while they answer, ReccoBeats after a 403), then write
the whole CSV at once under the clean batch's id and mark the batch done. A long rate limit or an
API that keeps failing stops the run with the batch left pending (status ``partial``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import orjson
from cassandra.cluster import Session

from nowplaying.common.cassandra import ProgressStore, utcnow
from nowplaying.common.config import Settings
from nowplaying.common.lake import Batch, Lake, open_lake
from nowplaying.common.logging import get_logger
from nowplaying.common.metrics import StageMetrics
from nowplaying.common.models import ParsedPost, RecordError
from nowplaying.common.stage import stage_run
from nowplaying.enricher import core, explain
from nowplaying.enricher.core import LINK, NONE, Features, Resolution, Row, Track, Want
from nowplaying.enricher.explain import Override
from nowplaying.enricher.metrics import EnrichMetrics
from nowplaying.enricher.policy import (
    BadRequest,
    ConfigurationError,
    RateLimited,
    RequestFailed,
    RetryPolicy,
    Unavailable,
)
from nowplaying.enricher.rework import RECHECK, Due, next_recheck, wants_recheck

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


class OverrideStore(Protocol):
    def get_many(self, keys: Sequence[str]) -> dict[str, Override]: ...


class PlayStore(Protocol):
    def put_many(self, rows: Sequence[Row], now: datetime) -> None: ...


class RecheckQueue(Protocol):
    def schedule(self, entries: Iterable[Due], now: datetime) -> None: ...


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


@dataclass(frozen=True, slots=True)
class Decision:
    """How one set of readings resolved in this run, and what explains it."""

    resolution: Resolution
    reading: int | None
    searches: tuple[core.SearchStep, ...] = ()
    by: str = "search"
    override: Override | None = None


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
        overrides: OverrideStore | None = None,
        plays: PlayStore | None = None,
        queue: RecheckQueue | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.threshold = settings.match_threshold
        self.spotify = spotify
        self.reccobeats = reccobeats
        self.matches = matches
        self.tracks = tracks
        self.features = features
        self.metrics = metrics
        self.overrides = overrides
        self.plays = plays
        self.queue = queue
        self.clock = clock
        self.spotify_features = True  # until Spotify's audio-features answers 403/404
        self._searches: dict[str, list[Track]] = {}  # q -> results, this run
        self._walks: dict[tuple[str, ...], Decision] = {}  # readings -> outcome, this run

    # --- a batch --------------------------------------------------------------------------------
    def enrich_posts(self, posts: Sequence[ParsedPost], *, context: str = "batch") -> list[Row]:
        """One row per song post (kind link|parsed|query), matched or not, in input order, each with
        the explanation of its decision (``Row.explain``).

        Each post's readings are walked in order (``core.walk_readings``): an admin's correction of a
        reading first (it wins over everything), then the match cache, then at most
        ``core.MAX_UNCACHED_SEARCHES`` searches; posts with the same readings resolve once. The
        verdicts a walk settles go to the match cache, per reading. ``context`` 'recheck' or
        'override' re-enriches plays loaded before: the cache's unmatched verdicts are not trusted
        (the catalog may have the track now), its matches are, and the walks of the run are new."""
        songs = [p for p in posts if p.is_play]
        readings = [core.wants_of(p) for p in songs]
        walk_keys = [tuple(w.key for _, w in r) for r in readings]
        first: dict[tuple[str, ...], list[tuple[int, Want]]] = {}
        for wkey, reading in zip(walk_keys, readings, strict=True):
            if reading:
                first.setdefault(wkey, reading)
        reading_keys = list(dict.fromkeys(w.key for reading in first.values() for _, w in reading))
        keys = reading_keys + [core.walk_key(reading) for reading in first.values() if reading[0][1].kind != LINK]

        cached = self.matches.get_many(keys)
        self.metrics.match_cache.labels("hit").inc(len(cached))
        self.metrics.match_cache.labels("miss").inc(len(keys) - len(cached))
        rework = context != "batch"
        if rework:
            cached = {k: r for k, r in cached.items() if r.matched}
        overrides = self.overrides.get_many(reading_keys) if self.overrides is not None else {}

        # tracks: the cache first (links, cache hits, walks of earlier batches), then the API
        wanted_ids = {w.track_id for reading in first.values() for _, w in reading if w.kind == LINK and w.track_id}
        wanted_ids |= {r.track_id for r in cached.values() if r.track_id}
        wanted_ids |= {o.track_id for o in overrides.values() if o.track_id}
        for wkey in first:
            done = self._walks.get(wkey)
            if done is not None and done.resolution.track_id:
                wanted_ids.add(done.resolution.track_id)
        known = self._cached_tracks(sorted(wanted_ids))
        fresh: dict[str, Track] = {}

        resolved: dict[tuple[str, ...], Decision] = {}
        new_matches: dict[str, Resolution] = {}
        try:
            for wkey, reading in first.items():
                decision = self._override(reading, overrides)
                if decision is None and not rework:
                    decision = self._walks.get(wkey)
                if decision is None:
                    decision, track = self._decide(reading, cached, known, new_matches)
                    if track is not None:
                        known[track.id] = track
                        fresh[track.id] = track
                resolved[wkey] = decision
                self._walks[wkey] = decision
            # matches whose track is not cached any more (and corrections to a track not seen yet)
            for decision in list(resolved.values()):
                track_id = decision.resolution.track_id
                if track_id and track_id not in known:
                    fetched = self.spotify.track(track_id)
                    if fetched is not None:
                        known[fetched.id] = fetched
                        fresh[fetched.id] = fetched
        finally:
            # what was resolved before a stop is kept: the next run does not pay for it again
            self.tracks.put_many(fresh.values())
            self.matches.put_many(new_matches)

        matched_ids = sorted({d.resolution.track_id for d in resolved.values() if d.resolution.track_id} & set(known))
        features = self._features(matched_ids)

        rows: list[Row] = []
        now = self.clock()
        nothing = Decision(Resolution(None, 0.0, NONE), None, by="nothing")
        for post, wkey, reading in zip(songs, walk_keys, readings, strict=True):
            decision = resolved[wkey] if reading else nothing
            resolution, matched_at = decision.resolution, decision.reading
            track = known.get(resolution.track_id) if resolution.track_id else None
            if resolution.track_id and track is None:
                resolution, matched_at = Resolution(None, resolution.confidence, NONE), None
            source, found = features.get(resolution.track_id or "", ("", {}))
            why = explain.explanation(
                post,
                reading,
                cached,
                decision.searches,
                resolution,
                matched_at,
                self.threshold,
                core.MAX_UNCACHED_SEARCHES,
                decision.by,
                now,
                decision.override,
                context,
            )
            rows.append(Row(post, resolution, track, found, source if found else "", matched_at, why))
        return rows

    def _override(self, reading: Sequence[tuple[int, Want]], overrides: Mapping[str, Override]) -> Decision | None:
        """The correction of the first corrected reading, if any: it decides the post."""
        for index, want in reading:
            found = overrides.get(want.key)
            if found is not None:
                resolution = found.resolution
                return Decision(resolution, index if resolution.matched else None, by="override", override=found)
        return None

    def _decide(
        self,
        reading: list[tuple[int, Want]],
        cached: Mapping[str, Resolution],
        known: Mapping[str, Track],
        new_matches: dict[str, Resolution],
    ) -> tuple[Decision, Track | None]:
        """Resolve one set of readings: its link, or the walk (cache, then searches)."""
        index, want = reading[0]
        if want.kind == LINK and want.track_id:
            hit = cached.get(want.key)
            if hit is not None:
                return Decision(hit, index if hit.matched else None, by="link"), None
            track = known.get(want.track_id) or self.spotify.track(want.track_id)
            resolution = Resolution(track.id, 1.0, LINK) if track else Resolution(None, 0.0, NONE)
            new_matches[want.key] = resolution
            return Decision(resolution, index if resolution.matched else None, by="link"), track
        steps: list[core.SearchStep] = []
        walked = core.walk_readings(reading, cached, self._searches.get, self._search, self.threshold, trace=steps)
        new_matches.update(walked.verdicts)
        if steps:
            by = "search"
        elif walked.reading is None and core.walk_key(reading) in cached:
            by = "walk_cache"
        else:
            by = "cache"
        return Decision(walked.resolution, walked.reading, tuple(steps), by), walked.track

    def record(self, rows: Sequence[Row]) -> None:
        """Keep each row's decision (its explanation; ``play_matches``) after its CSV is written, and
        queue the first re-check of each unmatched play (``rework``)."""
        now = self.clock()
        if self.plays is not None:
            self.plays.put_many(rows, now)
        first = next_recheck(now.astimezone(UTC).date(), 0)
        if self.queue is not None and first is not None:
            due = [Due(first[0], r.post.source, r.post.post_id, RECHECK, first[1]) for r in rows if wants_recheck(r)]
            self.queue.schedule(due, now)

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
    enricher.record(rows)
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
    clock: Callable[[], datetime] = utcnow,
) -> RunSummary:
    """Process the pending clean batches (oldest first), then the plays due for re-enrichment (at
    most ``REWORK_PER_RUN``: re-checks of the unmatched, plays of corrected keys; ``rework``),
    inside one ``pipeline_runs`` run. ``clock``: the time the run takes as now (tests move it)."""
    from nowplaying.enricher.caches import FeaturesCache, MatchCache, TrackCache
    from nowplaying.enricher.playstore import Overrides, PlayMatches
    from nowplaying.enricher.reccobeats import ReccoBeatsClient
    from nowplaying.enricher.rework import Reworker, ReworkQueue
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
        plays = PlayMatches(session, keyspace)
        queue = ReworkQueue(session, keyspace)
        enricher = Enricher(
            settings,
            SpotifyClient(settings, metrics, policy),
            ReccoBeatsClient(settings, metrics, policy),
            MatchCache(session, keyspace, settings.match_cache_ttl_s),
            TrackCache(session, keyspace, settings.match_cache_ttl_s),
            FeaturesCache(session, keyspace, settings.match_cache_ttl_s),
            metrics,
            Overrides(session, keyspace),
            plays,
            queue,
            clock,
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
        if not summary.stopped and settings.rework_per_run > 0:
            try:
                reworked = Reworker(enricher, lake, queue, plays, settings.rework_per_run).run(clock())
                run.detail.update(reworked.as_detail())
                if reworked.changed:
                    run.add_out(reworked.changed)
            except (RateLimited, RequestFailed) as exc:
                if isinstance(exc, ConfigurationError):
                    raise
                run.partial = True
                run.add_error("rate_limited" if isinstance(exc, RateLimited) else "api_failed")
                summary.stopped = str(exc)
                log.warning("rework_stopped", error=str(exc))
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
