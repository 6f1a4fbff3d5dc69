"""Response and request models of the match endpoints (explain, correct)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExplainedCandidate(_Model):
    """A reading of the post by the cleaner (``index`` in its candidates, 0 = its best)."""

    index: int
    rule: str
    confidence: float | None
    artist: str | None
    title: str | None
    query: str | None


class CachedResolution(_Model):
    track_id: str | None
    confidence: float | None
    method: str


class ExplainedReading(_Model):
    """A reading the enricher tried, its match-cache key and what the cache held for it then."""

    index: int
    kind: str
    key: str
    track_id: str | None = None
    cache: Literal["hit", "negative", "miss"]
    cached: CachedResolution | None = None


class CatalogCandidate(_Model):
    track_id: str
    name: str
    artists: list[str]
    album: str
    confidence: float | None
    similarity: float | None = Field(description="before penalties")
    penalty: float | None = Field(description="version words the post does not say (or the other way round)")
    title_similarity: float | None = None
    artist_similarity: float | None = None
    swapped: bool | None = Field(None, description="scored as 'Title - Artist'")


class ExplainedSearch(_Model):
    reading: int
    method: str
    q: str
    from_: Literal["api", "run", "budget"] = Field(
        alias="from",
        description="api: a Spotify request; run: a search made earlier in the same run; budget: not made",
    )
    results: int
    top: list[CatalogCandidate]
    accepted: str | None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ExplainedPost(_Model):
    kind: str
    rule: str | None
    is_bot: bool


class Decision(_Model):
    track_id: str | None
    confidence: float | None
    method: str
    matched: bool
    reading: int | None
    by: Literal["link", "cache", "walk_cache", "search", "override", "nothing"]
    candidates_found: int | None = Field(
        None,
        description="catalog candidates the searches made for this decision returned (0: none at all);"
        " null when no search decided it",
    )
    summary: str = Field("", description="the decision in one plain sentence")


class OverrideInfo(_Model):
    query_key: str
    track_id: str | None
    not_a_song: bool
    set_by: str
    set_at: str


class Explanation(_Model):
    v: int
    at: str = Field(description="when the decision was made")
    context: Literal["batch", "recheck", "override"]
    post: ExplainedPost
    candidates: list[ExplainedCandidate]
    readings: list[ExplainedReading]
    walk_cache: CachedResolution | None
    searches: list[ExplainedSearch]
    api_searches: int
    threshold: float | None
    budget: int
    decision: Decision
    override: OverrideInfo | None = None


class PlayExplanation(_Model):
    source: str
    post_id: str
    played_at: str | None
    enriched_at: str | None
    match_keys: list[str]
    track_id: str | None
    method: str | None
    corrected: bool
    explanation: Explanation


class MatchChange(_Model):
    """``PUT /api/matches``: the key (a match-cache key as ``explain`` shows it: ``p:…``, ``q:…``,
    ``id:…``) or a play, and a track id or ``not_a_song``."""

    query_key: str | None = Field(None, min_length=3, max_length=600)
    source: Literal["x", "mastodon", "bluesky", "sandbox"] | None = None
    post_id: str | None = Field(None, min_length=1, max_length=200)
    track_id: str | None = Field(None, pattern=r"^[0-9A-Za-z]{22}$")
    not_a_song: bool = False
    by: str = Field("admin", min_length=1, max_length=100, description="who makes the change (audit)")


class OverrideValue(_Model):
    track_id: str | None
    not_a_song: bool
    set_by: str | None = None
    set_at: str | None = None


class MatchChanged(_Model):
    query_key: str
    old: OverrideValue | None
    new: OverrideValue
    plays_known: int = Field(description="plays loaded with this key so far: the next enrich runs re-enrich them")
