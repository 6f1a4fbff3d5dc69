"""Record contracts of the lake (DESIGN.md): Post, ParsedPost and the enriched CSV columns.

Records are plain dataclasses. ``from_dict`` validates a decoded JSON object and raises
``RecordError`` naming the field that is wrong; ``to_dict`` gives the JSON-ready object.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

SOURCES = ("x", "mastodon", "bluesky", "sandbox")
KINDS = ("link", "parsed", "query", "none")
SONG_KINDS = ("link", "parsed", "query")

MAX_TEXT_CHARS = 20_000


class RecordError(ValueError):
    """A record that does not follow its contract; the message names the field."""


def _require_str(obj: dict[str, Any], name: str, *, nullable: bool = False) -> str | None:
    if name not in obj:
        if nullable:
            return None
        raise RecordError(f"missing field '{name}'")
    value = obj[name]
    if value is None:
        if nullable:
            return None
        raise RecordError(f"field '{name}' is null")
    if not isinstance(value, str):
        raise RecordError(f"field '{name}' must be a string, got {type(value).__name__}")
    return value


def parse_rfc3339(value: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime."""
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise RecordError(f"'{value[:40]}' is not an RFC 3339 timestamp") from exc
    if parsed.tzinfo is None:
        raise RecordError(f"timestamp '{value[:40]}' has no time zone")
    return parsed.astimezone(UTC)


def format_rfc3339(value: datetime) -> str:
    """UTC, millisecond precision, 'Z' suffix: the one timestamp format of the lake."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


@dataclass(slots=True)
class Post:
    source: str
    post_id: str
    created_at: str
    author_id: str
    author_name: str | None
    lang: str | None
    text: str
    urls: list[str] = field(default_factory=list)
    is_repost: bool = False
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, obj: Any) -> Post:
        if not isinstance(obj, dict):
            raise RecordError(f"a post must be a JSON object, got {type(obj).__name__}")
        source = _require_str(obj, "source")
        if source not in SOURCES:
            raise RecordError(f"field 'source' must be one of {', '.join(SOURCES)}, got '{source}'")
        post_id = _require_str(obj, "post_id")
        if not post_id:
            raise RecordError("field 'post_id' is empty")
        created_at = _require_str(obj, "created_at")
        assert created_at is not None
        created_at = format_rfc3339(parse_rfc3339(created_at))
        author_id = _require_str(obj, "author_id")
        text = _require_str(obj, "text")
        assert text is not None
        if len(text) > MAX_TEXT_CHARS:
            raise RecordError(f"field 'text' is {len(text)} characters, over the limit of {MAX_TEXT_CHARS}")
        urls = obj.get("urls", [])
        if urls is None:
            urls = []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise RecordError("field 'urls' must be a list of strings")
        is_repost = obj.get("is_repost", False)
        if not isinstance(is_repost, bool):
            raise RecordError("field 'is_repost' must be a boolean")
        raw = obj.get("raw", {})
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise RecordError("field 'raw' must be an object")
        return cls(
            source=source or "",
            post_id=post_id or "",
            created_at=created_at,
            author_id=author_id or "",
            author_name=_require_str(obj, "author_name", nullable=True),
            lang=_require_str(obj, "lang", nullable=True),
            text=text,
            urls=list(urls),
            is_repost=is_repost,
            raw=raw,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def created_at_dt(self) -> datetime:
        return parse_rfc3339(self.created_at)


MAX_CANDIDATES = 8


@dataclass(slots=True, frozen=True)
class Candidate:
    """One reading of a post that the enricher may search (ParsedPost ``candidates``).

    Either ``artist`` and ``title`` (a fielded search) or ``query`` (free text) is set. ``rule`` names
    the cleaner stage that produced the reading and ``confidence`` (0..1) is the cleaner's belief in it.
    """

    artist: str | None
    title: str | None
    query: str | None
    rule: str
    confidence: float

    @classmethod
    def from_dict(cls, obj: Any, index: int) -> Candidate:
        where = f"candidates[{index}]"
        if not isinstance(obj, dict):
            raise RecordError(f"field '{where}' must be an object, got {type(obj).__name__}")
        values: dict[str, str | None] = {}
        for name in ("artist", "title", "query"):
            value = obj.get(name)
            if value is not None and not isinstance(value, str):
                raise RecordError(f"field '{where}.{name}' must be a string or null")
            values[name] = value or None
        rule = obj.get("rule", "")
        if not isinstance(rule, str):
            raise RecordError(f"field '{where}.rule' must be a string")
        confidence = obj.get("confidence", 0.0)
        if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0.0 <= confidence <= 1.0:
            raise RecordError(f"field '{where}.confidence' must be a number from 0 to 1")
        candidate = cls(values["artist"], values["title"], values["query"], rule, float(confidence))
        if not candidate.searchable:
            raise RecordError(f"field '{where}' needs artist and title, or query")
        return candidate

    @property
    def searchable(self) -> bool:
        return bool(self.artist and self.title) or bool(self.query)


@dataclass(slots=True)
class ParsedPost:
    source: str
    post_id: str
    created_at: str
    author_id: str
    author_name: str | None
    lang: str | None
    text: str
    urls: list[str]
    is_repost: bool
    raw: dict[str, Any]
    kind: str
    artist: str | None
    title: str | None
    query: str | None
    spotify_track_id: str | None
    rule: str
    is_bot: bool
    # Ranked readings, best first (at most MAX_CANDIDATES), each with the cleaner's confidence. For kind
    # parsed the first one is the post's own artist/title. For kind query the first one is the best
    # reading the cleaner was not sure enough to claim (rule "unsure_<rule>", confidence below the
    # cleaner's PARSED_MIN), or the query itself; artist/title stay null then. The rest are relaxed
    # readings (a title cut back at a clause boundary, an artist without a leading station, frame word
    # or number or without its guests, a handle's words, the other order of a split, the free text)
    # that the enricher tries in order until the catalog confirms one. Empty for kind none, and in
    # batches written before the field existed: readers then use ``readings()``.
    candidates: list[Candidate] = field(default_factory=list)

    @classmethod
    def from_post(
        cls,
        post: Post,
        *,
        kind: str,
        rule: str,
        artist: str | None = None,
        title: str | None = None,
        query: str | None = None,
        spotify_track_id: str | None = None,
        is_bot: bool = False,
        candidates: list[Candidate] | None = None,
    ) -> ParsedPost:
        if kind not in KINDS:
            raise RecordError(f"kind must be one of {', '.join(KINDS)}, got '{kind}'")
        return cls(
            source=post.source,
            post_id=post.post_id,
            created_at=post.created_at,
            author_id=post.author_id,
            author_name=post.author_name,
            lang=post.lang,
            text=post.text,
            urls=post.urls,
            is_repost=post.is_repost,
            raw=post.raw,
            kind=kind,
            artist=artist,
            title=title,
            query=query,
            spotify_track_id=spotify_track_id,
            rule=rule,
            is_bot=is_bot,
            candidates=list(candidates or [])[:MAX_CANDIDATES],
        )

    @classmethod
    def from_dict(cls, obj: Any) -> ParsedPost:
        post = Post.from_dict(obj)
        kind = _require_str(obj, "kind")
        if kind not in KINDS:
            raise RecordError(f"field 'kind' must be one of {', '.join(KINDS)}, got '{kind}'")
        rule = _require_str(obj, "rule") or ""
        is_bot = obj.get("is_bot", False)
        if not isinstance(is_bot, bool):
            raise RecordError("field 'is_bot' must be a boolean")
        return cls.from_post(
            post,
            kind=kind or "none",
            rule=rule,
            artist=_require_str(obj, "artist", nullable=True),
            title=_require_str(obj, "title", nullable=True),
            query=_require_str(obj, "query", nullable=True),
            spotify_track_id=_require_str(obj, "spotify_track_id", nullable=True),
            is_bot=is_bot,
            candidates=_candidates(obj),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def is_play(self) -> bool:
        return self.kind in SONG_KINDS

    def readings(self) -> list[Candidate]:
        """The readings to search, best first: ``candidates``, or the post's own reading when empty."""
        if self.candidates:
            return list(self.candidates)
        own = Candidate(self.artist, self.title, self.query, self.rule, 1.0)
        return [own] if self.kind in ("parsed", "query") and own.searchable else []


def _candidates(obj: dict[str, Any]) -> list[Candidate]:
    value = obj.get("candidates")
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError("field 'candidates' must be a list")
    if len(value) > MAX_CANDIDATES:
        raise RecordError(f"field 'candidates' has {len(value)} entries, over the limit of {MAX_CANDIDATES}")
    return [Candidate.from_dict(item, index) for index, item in enumerate(value)]


POST_FIELDS = tuple(f.name for f in fields(Post))
PARSED_POST_FIELDS = tuple(f.name for f in fields(ParsedPost))

# The original project's 22 columns, in its order, then ours (DESIGN.md "Enriched CSV").
SEED_CSV_COLUMNS = (
    "id_tweet", "text", "created_at", "url_tweet", "id_track", "name", "popularity",
    "artists_id", "artists_name", "danceability", "energy", "key", "loudness", "speechiness",
    "acousticness", "instrumentalness", "liveness", "valence", "tempo", "duration_ms",
    "time_signature", "mode",
)  # fmt: skip
EXTRA_CSV_COLUMNS = (
    "source", "post_id", "author_id", "album", "release_date", "match_method",
    "match_confidence", "features_source", "is_bot", "match_candidate", "match_rule", "lang",
)  # fmt: skip
ENRICHED_CSV_COLUMNS = SEED_CSV_COLUMNS + EXTRA_CSV_COLUMNS
# Which reading matched (issue 19): ``match_candidate`` is its index in the post's ``candidates`` (0 =
# the cleaner's best, also for posts without candidates), ``match_rule`` its rule (for a link match,
# the post's rule); both empty when unmatched. ``lang`` is the post's language (issue 21), empty when
# the source gave none. Older files still load, their missing columns read as empty: files written
# before the match-reading columns carry the columns up to ``is_bot`` (LEGACY_CSV_COLUMNS), files
# written before ``lang`` those up to ``match_rule`` (PRE_LANG_CSV_COLUMNS).
MATCH_READING_COLUMNS = ("match_candidate", "match_rule")
PRE_LANG_CSV_COLUMNS = ENRICHED_CSV_COLUMNS[:-1]
LEGACY_CSV_COLUMNS = PRE_LANG_CSV_COLUMNS[: -len(MATCH_READING_COLUMNS)]

AUDIO_FEATURES = (
    "danceability", "energy", "key", "loudness", "speechiness", "acousticness",
    "instrumentalness", "liveness", "valence", "tempo", "time_signature", "mode",
)  # fmt: skip
# Features on a 0..1 scale (charts and statistics treat these alike).
UNIT_FEATURES = (
    "danceability", "energy", "speechiness", "acousticness", "instrumentalness", "liveness", "valence",
)  # fmt: skip

MATCH_METHODS = ("link", "search_fields", "search_relaxed", "search_free", "cache", "override", "none")
FEATURES_SOURCES = ("spotify", "reccobeats", "")
