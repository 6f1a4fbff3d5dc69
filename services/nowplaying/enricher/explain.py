"""The explanation of a match decision, as recorded when the decision is made (issue 21).

Pure: from the post, its readings, what the match cache said, the searches of the walk and the
outcome, a small JSON-able dict; ``GET /api/plays/{source}/{post_id}/explain`` serves it as stored.
It explains the decision that was made, not a fresh one: searching again later could find another
catalog. Kept small: the readings (at most the cleaner's candidates), each search with its best
``core.TRACE_TOP`` candidates, rounded scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nowplaying.common.models import ParsedPost, format_rfc3339
from nowplaying.enricher.core import LINK, OVERRIDE, Resolution, ScoreParts, SearchStep, Track, Want, walk_key

VERSION = 1


@dataclass(frozen=True, slots=True)
class Override:
    """An admin's correction of a match-cache key: a track, or not a song (track_id None)."""

    query_key: str
    track_id: str | None
    set_by: str
    set_at: datetime

    @property
    def resolution(self) -> Resolution:
        return Resolution(self.track_id, 1.0 if self.track_id else 0.0, OVERRIDE)


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def _resolution(resolution: Resolution | None) -> dict[str, Any] | None:
    if resolution is None:
        return None
    return {"track_id": resolution.track_id, "confidence": _r(resolution.confidence), "method": resolution.method}


def _candidate(track: Track, parts: ScoreParts) -> dict[str, Any]:
    out: dict[str, Any] = {
        "track_id": track.id,
        "name": track.name,
        "artists": list(track.artist_names),
        "album": track.album,
        "confidence": _r(parts.confidence),
        "similarity": _r(parts.similarity),
        "penalty": _r(parts.penalty),
    }
    if parts.title is not None:
        out["title_similarity"] = _r(parts.title)
    if parts.artist is not None:
        out["artist_similarity"] = _r(parts.artist)
    if parts.swapped:
        out["swapped"] = True
    return out


def _search(step: SearchStep) -> dict[str, Any]:
    return {
        "reading": step.reading,
        "method": step.method,
        "q": step.q,
        "from": step.origin,
        "results": step.results,
        "top": [_candidate(track, parts) for track, parts in step.top],
        "accepted": step.accepted,
    }


def explanation(
    post: ParsedPost,
    readings: Sequence[tuple[int, Want]],
    cached: Mapping[str, Resolution],
    searches: Sequence[SearchStep],
    resolution: Resolution,
    reading: int | None,
    threshold: float,
    budget: int,
    decided_by: str,
    at: datetime,
    override: Override | None = None,
    context: str = "batch",
) -> dict[str, Any]:
    """The explanation record of one play.

    ``decided_by``: 'link' (the post's music link), 'cache' (a reading's match-cache entry),
    'walk_cache' (the cache's verdict on the whole set of readings), 'search' (this walk's searches),
    'override' (an admin's correction) or 'nothing' (no reading to search). ``context``: 'batch' (a
    clean batch), 'recheck' (an unmatched play searched again), 'override' (re-enriched after a
    correction)."""
    candidates = [
        {
            "index": index,
            "rule": c.rule,
            "confidence": _r(c.confidence),
            "artist": c.artist,
            "title": c.title,
            "query": c.query,
        }
        for index, c in enumerate(post.candidates)
    ]
    tried = []
    for index, want in readings:
        hit = cached.get(want.key)
        entry: dict[str, Any] = {"index": index, "kind": want.kind, "key": want.key}
        if want.kind == LINK:
            entry["track_id"] = want.track_id
        entry["cache"] = "miss" if hit is None else ("hit" if hit.matched else "negative")
        if hit is not None:
            entry["cached"] = _resolution(hit)
        tried.append(entry)
    whole = walk_key(readings) if readings and readings[0][1].kind != LINK else None
    out: dict[str, Any] = {
        "v": VERSION,
        "at": format_rfc3339(at),
        "context": context,
        "post": {"kind": post.kind, "rule": post.rule, "is_bot": post.is_bot},
        "candidates": candidates,
        "readings": tried,
        "walk_cache": _resolution(cached.get(whole)) if whole and decided_by == "walk_cache" else None,
        "searches": [_search(step) for step in searches],
        "api_searches": sum(1 for step in searches if step.origin == "api"),
        "threshold": _r(threshold),
        "budget": budget,
        "decision": {
            **(_resolution(resolution) or {}),
            "matched": resolution.matched,
            "reading": reading,
            "by": decided_by,
        },
    }
    if override is not None:
        out["override"] = {
            "query_key": override.query_key,
            "track_id": override.track_id,
            "not_a_song": override.track_id is None,
            "set_by": override.set_by,
            "set_at": format_rfc3339(override.set_at),
        }
    return out
