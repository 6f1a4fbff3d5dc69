"""The enricher's pure core: what a post asks for, how to search it, how to score and decide.

Plain functions on plain data; no I/O. The edges (Spotify, ReccoBeats, Cassandra, the lake) live in
the other modules and hand their results to these functions.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from nowplaying.common.models import AUDIO_FEATURES, ENRICHED_CSV_COLUMNS, Candidate, ParsedPost

# match methods (DESIGN.md): the method that found the track, kept as is when served from the cache
LINK = "link"
SEARCH_FIELDS = "search_fields"
SEARCH_RELAXED = "search_relaxed"
SEARCH_FREE = "search_free"
NONE = "none"
OVERRIDE = "override"  # an admin's correction (PUT /api/matches): a track, or "not a song" (no track)

HIGH_BAND = 0.9
MAX_UNCACHED_SEARCHES = 3  # Spotify searches one post may cost (issue 19); cached answers are free
TITLE_WEIGHT = 2.0  # how much a title shortfall costs
ARTIST_WEIGHT = 1.5  # how much an artist shortfall costs
GUEST_ARTIST_WEIGHT = 0.9  # the post's artist is only a guest on the candidate
SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
SPOTIFY_TRACK_URL = re.compile(r"open\.spotify\.com/(?:intl-[a-z]{2}/)?track/([0-9A-Za-z]{22})")

# Version words: a candidate carrying one the post does not mention is another recording.
VERSION_TAGS: dict[str, re.Pattern[str]] = {
    "remix": re.compile(r"\b(remix|rmx|remixed|bootleg|flip|vip mix|club mix|dub mix)\b"),
    "live": re.compile(r"\b(live|en vivo|ao vivo|unplugged|in concert)\b"),
    "karaoke": re.compile(r"\b(karaoke|backing track|instrumental version|sing along)\b"),
    "cover": re.compile(
        r"\b(cover|covers|covered|tribute|originally performed|in the style of|made famous|as made popular)\b"
    ),
    "speed": re.compile(r"\b(sped up|speed up|spedup|slowed|reverb|nightcore|8d audio|daycore)\b"),
    "instrumental": re.compile(r"\b(instrumental|acapella|a cappella)\b"),
    "lullaby": re.compile(r"\b(lullaby|lullabies|music box)\b"),
    "acoustic": re.compile(r"\b(acoustic)\b"),
}
# How much each costs (stronger tags mean a different product more surely).
TAG_PENALTY = {
    "remix": 0.3,
    "live": 0.25,
    "karaoke": 0.4,
    "cover": 0.4,
    "speed": 0.35,
    "instrumental": 0.3,
    "lullaby": 0.4,
    "acoustic": 0.25,
}
# Versions a post may ask for ("Title (Live)"): a candidate without the asked version costs this.
SONG_VERSION_TAGS = frozenset({"remix", "live", "acoustic", "speed"})
MISSING_VERSION_PENALTY = 0.1
# Tags that may show in an album or artist name (a "Karaoke Hits" artist, a "Live at ..." album).
ALBUM_ARTIST_TAGS = ("karaoke", "cover", "speed", "lullaby", "remix")

_FEAT = re.compile(r"\s*[\(\[]?\s*\b(feat|ft|featuring|with)\b\.?\s+.*$", re.IGNORECASE)
_BRACKETS = re.compile(r"\s*[\(\[\{][^\)\]\}]*[\)\]\}]")
_DASH_SUFFIX = re.compile(r"\s+[-–—]\s+.*$")
_ARTIST_SPLIT = re.compile(r"\s*(?:,|&|\+|/|;|\bx\b|\band\b|\bvs\.?\b|\bfeat\.?\b|\bft\.?\b|\bfeaturing\b|\bwith\b)\s*")
_APOSTROPHES = re.compile(r"['’`´]")
_NON_WORD = re.compile(r"[^\w]+|_")
_QUOTES = re.compile(r"[\"“”«»]")


# --- text normalization -------------------------------------------------------------------------
def norm(text: str) -> str:
    """Lower case, accents and punctuation removed, '&' as 'and', single spaces."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = folded.replace("&", " and ")
    folded = _APOSTROPHES.sub("", folded)
    return " ".join(_NON_WORD.sub(" ", folded).split())


def norm_artist(text: str) -> str:
    value = norm(text)
    return value[4:] if value.startswith("the ") else value


def base_title(title: str) -> str:
    """A title without its version parts: '(feat. X)', '[Live]', ' - Remastered 2011'."""
    stripped = _FEAT.sub("", title)
    stripped = _BRACKETS.sub("", stripped)
    stripped = _DASH_SUFFIX.sub("", stripped)
    return stripped.strip() or title.strip()


def split_artists(artist: str) -> list[str]:
    """'A feat. B & C' -> ['A', 'B', 'C'] (empty parts dropped)."""
    return [part for part in (p.strip() for p in _ARTIST_SPLIT.split(artist)) if part]


def version_tags(text: str) -> set[str]:
    value = norm(text)
    return {tag for tag, pattern in VERSION_TAGS.items() if pattern.search(value)}


# --- records ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Track:
    """The fields of a Spotify track object the CSV needs."""

    id: str
    name: str
    artist_ids: tuple[str, ...]
    artist_names: tuple[str, ...]
    album: str = ""
    release_date: str = ""
    popularity: int | None = None
    duration_ms: int | None = None

    @classmethod
    def from_api(cls, obj: Any) -> Track:
        """From a Spotify TrackObject; ValueError naming the field when it is not one."""
        if not isinstance(obj, Mapping):
            raise ValueError(f"a track must be an object, got {type(obj).__name__}")
        track_id = obj.get("id")
        name = obj.get("name")
        if not isinstance(track_id, str) or not SPOTIFY_ID.match(track_id):
            raise ValueError(f"track field 'id' is not a Spotify id: {str(track_id)[:40]!r}")
        if not isinstance(name, str):
            raise ValueError(f"track {track_id}: field 'name' is not a string")
        artists = obj.get("artists")
        if not isinstance(artists, list) or not artists:
            raise ValueError(f"track {track_id}: field 'artists' is not a non-empty list")
        ids: list[str] = []
        names: list[str] = []
        for artist in artists:
            if not isinstance(artist, Mapping) or not isinstance(artist.get("name"), str):
                raise ValueError(f"track {track_id}: an artist has no name")
            ids.append(str(artist.get("id") or ""))
            names.append(str(artist["name"]))
        album = obj.get("album") if isinstance(obj.get("album"), Mapping) else {}
        assert isinstance(album, Mapping)
        popularity = obj.get("popularity")
        duration = obj.get("duration_ms")
        return cls(
            id=track_id,
            name=name,
            artist_ids=tuple(ids),
            artist_names=tuple(names),
            album=str(album.get("name") or ""),
            release_date=str(album.get("release_date") or ""),
            popularity=popularity if isinstance(popularity, int) and not isinstance(popularity, bool) else None,
            duration_ms=duration if isinstance(duration, int) and not isinstance(duration, bool) else None,
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "name": self.name,
                "artist_ids": list(self.artist_ids),
                "artist_names": list(self.artist_names),
                "album": self.album,
                "release_date": self.release_date,
                "popularity": self.popularity,
                "duration_ms": self.duration_ms,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Track:
        obj = json.loads(text)
        return cls(
            id=obj["id"],
            name=obj["name"],
            artist_ids=tuple(obj["artist_ids"]),
            artist_names=tuple(obj["artist_names"]),
            album=obj.get("album") or "",
            release_date=obj.get("release_date") or "",
            popularity=obj.get("popularity"),
            duration_ms=obj.get("duration_ms"),
        )


Features = dict[str, float | int]
"""Audio features that are known; a missing one is absent (never zero)."""

_INT_FEATURES = {"key", "mode", "time_signature"}


def features_from_api(obj: Any) -> Features:
    """The known audio features of a Spotify or ReccoBeats object (non-numbers dropped)."""
    out: Features = {}
    if not isinstance(obj, Mapping):
        return out
    for name in AUDIO_FEATURES:
        value = obj.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isnan(value):
            continue
        out[name] = int(value) if name in _INT_FEATURES else float(value)
    return out


def spotify_id_from_href(href: Any) -> str | None:
    """The Spotify id in a ReccoBeats row's ``href`` (https://open.spotify.com/track/<id>)."""
    if not isinstance(href, str):
        return None
    found = SPOTIFY_TRACK_URL.search(href)
    return found.group(1) if found else None


# --- what a post asks for -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Want:
    """What a song post says: a track id, an artist and title, or a free-text query."""

    kind: str  # link | parsed | query
    track_id: str | None = None
    artist: str | None = None
    title: str | None = None
    query: str | None = None
    text: str = ""

    @property
    def key(self) -> str:
        """The match-cache key: equal for posts that must resolve the same way (the version words
        the post names are part of it: they change the scores)."""
        if self.kind == LINK and self.track_id:
            return f"id:{self.track_id}"
        tags = ",".join(sorted(self.mentioned_tags))
        if self.artist and self.title:
            return f"p:{norm_artist(self.artist)}|{norm(self.title)}|{tags}"
        return f"q:{norm(self.query or '')}|{tags}"

    @property
    def mentioned_tags(self) -> set[str]:
        """Version words the post names for the song: in the title or query, or as a label in the
        text ("(Live)", "- Sped Up", "acoustic version"), not in chatter ("Listen live: ...")."""
        return mentioned_tags(self.text, self.title or "", self.query or "")


_LABEL_BRACKETS = re.compile(r"[\(\[【]([^\)\]】]{1,60})[\)\]】]")
_LABEL_DASH = re.compile(r"\s[-–—~]\s")
_LABEL_VERSION = re.compile(r"\b(\w+(?:\s\w+)?)\s+version\b", re.IGNORECASE)
_LABEL_END = re.compile(r"\s*(\||https?://|#).*$", re.DOTALL)


def mentioned_tags(text: str, title: str = "", query: str = "") -> set[str]:
    parts = [title, query, *_LABEL_BRACKETS.findall(text), *_LABEL_VERSION.findall(text)]
    parts += [_LABEL_END.sub("", segment) for segment in _LABEL_DASH.split(text)[1:]]
    return version_tags(" ".join(p for p in parts if p))


def want_of(post: ParsedPost) -> Want | None:
    """The Want of a song post; None for kind ``none`` or a song post with nothing to search."""
    if not post.is_play:
        return None
    track_id = post.spotify_track_id
    if track_id is None:
        for url in post.urls:
            found = SPOTIFY_TRACK_URL.search(url)
            if found:
                track_id = found.group(1)
                break
    if track_id is not None and SPOTIFY_ID.match(track_id):
        return Want(LINK, track_id=track_id, text=post.text)
    artist = (post.artist or "").strip()
    title = (post.title or "").strip()
    if artist and title and norm(artist) and norm(title):
        return Want("parsed", artist=artist, title=title, text=post.text)
    query = (post.query or "").strip()
    if not norm(query) and (artist or title):
        query = f"{artist} {title}".strip()
    if norm(query):
        return Want("query", query=query, text=post.text)
    return None


def want_of_candidate(candidate: Candidate, text: str) -> Want | None:
    """The Want of one reading: fielded when it has artist and title, else its free-text query."""
    artist, title = (candidate.artist or "").strip(), (candidate.title or "").strip()
    if artist and title and norm(artist) and norm(title):
        return Want("parsed", artist=artist, title=title, text=text)
    query = (candidate.query or "").strip() or f"{artist} {title}".strip()
    return Want("query", query=query, text=text) if norm(query) else None


def wants_of(post: ParsedPost) -> list[tuple[int, Want]]:
    """(index in ``post.candidates``, Want) for each reading to try, best first; a post without
    candidates gives its own reading as index 0, a link post its link alone. Empty for kind none."""
    own = want_of(post)
    if own is None or own.kind == LINK or not post.candidates:
        return [(0, own)] if own is not None else []
    out: list[tuple[int, Want]] = []
    seen: set[str] = set()
    for index, candidate in enumerate(post.candidates):
        want = want_of_candidate(candidate, post.text)
        if want is not None and want.key not in seen:
            seen.add(want.key)
            out.append((index, want))
    return out or [(0, own)]


def reading_rule(post: ParsedPost, index: int) -> str:
    """The rule of the reading at ``index`` (the post's own rule when it has no candidates)."""
    if 0 <= index < len(post.candidates):
        return post.candidates[index].rule
    return post.rule


def _field(value: str) -> str:
    return " ".join(_QUOTES.sub(" ", value).split())


def search_plans(want: Want) -> list[tuple[str, str]]:
    """(method, q) searches to try in order; the first that yields an accepted match wins."""
    if want.kind == LINK:
        return []
    if want.kind == "query" or not (want.artist and want.title):
        query = _field(want.query or "")
        return [(SEARCH_FREE, query)] if query else []
    artist, title = _field(want.artist), _field(want.title)
    parts = split_artists(artist)
    primary = parts[0] if parts else artist
    short_title = base_title(title)
    candidates = [
        (SEARCH_FIELDS, f'track:"{title}" artist:"{primary}"'),
        (SEARCH_RELAXED, f'track:"{short_title}" artist:"{primary}"'),
        (SEARCH_RELAXED, f"{primary} {short_title}"),
        # one side misspelt: search by the other and let the scoring judge
        (SEARCH_RELAXED, f'track:"{short_title}"'),
        (SEARCH_RELAXED, f'artist:"{primary}"'),
    ]
    plans: list[tuple[str, str]] = []
    for method, q in candidates:
        if q not in (seen for _, seen in plans):
            plans.append((method, q))
    return plans


# --- scoring ------------------------------------------------------------------------------------
def _similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b)) / 100.0


_NUMBERING = re.compile(r"^(\d{1,3}|i{1,3}|iv|v|vi{0,3}|ix|x|pt|part|vol|reprise)$")


def _numbering(text: str) -> set[str]:
    return {tok for tok in text.split() if _NUMBERING.match(tok)}


def title_similarity(post_title: str, track_name: str) -> float:
    """Similarity of the titles; comparing without version parts costs a little, and a different
    numbering ("II", "Part 2", "Reprise") a lot."""
    said, named = norm(post_title), norm(track_name)
    said_base, named_base = norm(base_title(post_title)), norm(base_title(track_name))
    best = _similarity(said, named)
    if (said_base, named_base) != (said, named):
        best = max(best, _similarity(said_base, named_base) - 0.04)
    if _numbering(said) != _numbering(named):
        best -= 0.15
    return max(0.0, best)


def artist_similarity(post_artist: str, track_artists: Sequence[str]) -> float:
    if not track_artists:
        return 0.0
    said = norm_artist(post_artist)
    parts = [norm_artist(p) for p in split_artists(post_artist)] or [said]
    names = [norm_artist(a) for a in track_artists]
    joined = " ".join(names)
    # The post's (first-named) artist is the track's main artist, or, less surely, a guest.
    best = _similarity(said, joined)
    for index, name in enumerate(names):
        weight = 1.0 if index == 0 else GUEST_ARTIST_WEIGHT
        best = max(best, weight * _similarity(said, name), weight * _similarity(parts[0], name))
    if len(parts) > 1:
        best = max(best, fuzz.token_set_ratio(" ".join(parts), joined) / 100.0)
    return best


def version_penalty(want: Want, track: Track) -> float:
    """Penalty for version words on the candidate that the post does not mention."""
    base_tags = version_tags(base_title(track.name))
    # tags in the version parts of the name ("(Live)", "- Sped Up"), and strong ones anywhere
    extra = version_tags(track.name) - base_tags
    extra |= {t for t in base_tags if t in ALBUM_ARTIST_TAGS}
    extra |= {t for t in version_tags(track.album + " " + " ".join(track.artist_names)) if t in ALBUM_ARTIST_TAGS}
    mentioned = want.mentioned_tags
    unsaid = extra - mentioned
    # and the other way round: the post names a version this candidate is not
    not_this = {t for t in mentioned & SONG_VERSION_TAGS if t not in version_tags(track.name)}
    return sum(TAG_PENALTY[t] for t in unsaid) + MISSING_VERSION_PENALTY * len(not_this)


@dataclass(frozen=True, slots=True)
class ScoreParts:
    """How a confidence came about: the similarity before penalties, the version penalty, and for an
    artist + title the two similarities of the orientation that scored (``swapped``: "Title - Artist")."""

    confidence: float
    similarity: float
    penalty: float
    title: float | None = None
    artist: float | None = None
    swapped: bool = False


def score(want: Want, track: Track) -> float:
    """Confidence in 0..1 that ``track`` is what the post names."""
    return score_parts(want, track).confidence


def score_parts(want: Want, track: Track) -> ScoreParts:
    """``score`` with its parts (the explanation of a match shows them)."""
    if want.kind == LINK:
        same = 1.0 if want.track_id == track.id else 0.0
        return ScoreParts(same, same, 0.0)
    title_sim: float | None = None
    artist_sim: float | None = None
    swapped = False
    if want.artist and want.title:
        raw, title_sim, artist_sim = _pair_parts(want.artist, want.title, track)
        # "Title - Artist" posts the cleaner could not orient
        other, other_title, other_artist = _pair_parts(want.title, want.artist, track)
        if other - 0.05 > raw:
            raw, title_sim, artist_sim, swapped = other - 0.05, other_title, other_artist, True
    else:
        raw = _query_similarity(want.query or "", track)
    penalty = version_penalty(want, track)
    return ScoreParts(max(0.0, min(1.0, raw - penalty)), raw, penalty, title_sim, artist_sim, swapped)


def _pair_parts(artist: str, title: str, track: Track) -> tuple[float, float, float]:
    """1 minus the shortfalls, the title's counting double: a near title by the right artist is
    another song of theirs, a right title by another artist is a cover. (similarity, title, artist)"""
    title_sim = title_similarity(title, track.name)
    artist_sim = artist_similarity(artist, track.artist_names)
    return 1.0 - TITLE_WEIGHT * (1.0 - title_sim) - ARTIST_WEIGHT * (1.0 - artist_sim), title_sim, artist_sim


def _query_similarity(query: str, track: Track) -> float:
    said = norm(query)
    if not said:
        return 0.0
    titles = {norm(track.name), norm(base_title(track.name))}
    artist_sets = [[track.artist_names[0]], list(track.artist_names)] if track.artist_names else [[]]
    best = 0.0
    for title in titles:
        for names in artist_sets:
            artists = " ".join(norm_artist(a) for a in names)
            full_artists = " ".join(norm(a) for a in names)
            for who in {artists, full_artists}:
                best = max(best, _similarity(said, f"{who} {title}".strip()), _similarity(said, f"{title} {who}"))
    # the title and an artist have to be in what the post says, whatever else it says
    title_found = max(_found(t, said) for t in titles)
    artist_found = max((_found(norm_artist(a), said) for a in track.artist_names), default=0.0)
    gates = 1.0 - TITLE_WEIGHT * (1.0 - title_found) - ARTIST_WEIGHT * (1.0 - artist_found)
    # numbering the post does not say ("II", "Reprise", "Part 2") is another song
    unsaid = _numbering(norm(track.name)) - set(said.split())
    return min(gates, 0.4 + 0.6 * best) - (0.15 if unsaid else 0.0)


def _found(part: str, text: str) -> float:
    """How well ``part`` occurs in ``text`` (0..1): fuzzy for longer parts, exact words for short."""
    if not part:
        return 0.0
    if len(part) > len(text):
        return fuzz.ratio(part, text) / 100.0
    if len(part) < 4:
        words = text.split()
        size = len(part.split())
        return float(any(" ".join(words[i : i + size]) == part for i in range(len(words))))
    return fuzz.partial_ratio(part, text) / 100.0


# --- decision -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Resolution:
    """How a post resolved: the track (None = unmatched), the confidence, the method that found it."""

    track_id: str | None
    confidence: float
    method: str

    @property
    def matched(self) -> bool:
        return self.track_id is not None


@dataclass(frozen=True, slots=True)
class Scored:
    track: Track
    confidence: float
    rank: int


def rank_candidates(want: Want, candidates: Iterable[Track]) -> list[Scored]:
    """Candidates by confidence, best first; Spotify's order breaks ties."""
    scored = [Scored(track, round(score(want, track), 6), rank) for rank, track in enumerate(candidates)]
    scored.sort(key=lambda s: (-s.confidence, s.rank))
    return scored


def decide(want: Want, candidates: Iterable[Track], method: str, threshold: float) -> tuple[Resolution, Track | None]:
    """Accept the best candidate at or above the threshold, else unmatched with the best score."""
    return decide_ranked(rank_candidates(want, candidates), method, threshold)


def decide_ranked(ranked: Sequence[Scored], method: str, threshold: float) -> tuple[Resolution, Track | None]:
    """``decide`` on candidates already ranked."""
    if not ranked:
        return Resolution(None, 0.0, NONE), None
    best = ranked[0]
    if best.confidence >= threshold:
        return Resolution(best.track.id, best.confidence, method), best.track
    return Resolution(None, best.confidence, NONE), None


@dataclass(frozen=True, slots=True)
class Walk:
    """The outcome of walking a post's readings.

    ``reading`` is the index (in ``post.candidates``) of the reading that matched, None when none
    did; ``track`` is set when the match came from a search (a cached match names only its id);
    ``verdicts`` are the readings settled by this walk, to cache: the one that matched, and those
    whose every search was made without a match. A reading cut short by the search budget is not
    settled (another post may have the budget to finish it); the whole walk then is (``walk_key``)."""

    resolution: Resolution
    track: Track | None
    reading: int | None
    searches: int
    verdicts: dict[str, Resolution]


def walk_readings(
    readings: Sequence[tuple[int, Want]],
    cached: Mapping[str, Resolution],
    lookup: Callable[[str], Sequence[Track] | None],
    search: Callable[[str], Sequence[Track]],
    threshold: float,
    budget: int = MAX_UNCACHED_SEARCHES,
    trace: list[SearchStep] | None = None,
) -> Walk:
    """Try a post's readings in order, cache first, and take the first whose best match passes.

    The cache first: a reading whose match is cached decides at no cost, and a reading cached as
    unmatched is skipped. Then the other readings are searched: first the strict search of each
    (its first plan: the fielded search, or the free text of a query), in order, then the relaxed
    plans of each, in order, so that a wrong first reading cannot spend the whole budget on its
    relaxed searches before a later reading is asked at all. The first accepted match wins.
    ``lookup(q)`` gives the results of a search already made (free), ``search(q)`` makes one: at
    most ``budget`` per walk; past it, only plans already answered are still tried. A walk the budget
    cut short settles its whole set of readings as unmatched (``walk_key``), so the same post again
    costs nothing, while its unfinished readings stay open for other posts.
    ``trace``, when given, receives every search step in order (the explanation of the decision).
    """
    for index, want in readings:
        hit = cached.get(want.key)
        if hit is not None and hit.matched:
            return Walk(hit, None, index, 0, {})
    whole = walk_key(readings)
    if whole in cached:
        return Walk(cached[whole], None, None, 0, {})
    best = Resolution(None, 0.0, NONE)
    open_readings: list[tuple[int, Want, list[tuple[str, str]]]] = []
    for index, want in readings:
        hit = cached.get(want.key)
        if hit is not None:
            best = hit if hit.confidence > best.confidence else best
        else:
            open_readings.append((index, want, search_plans(want)))
    order = [(n, plan) for n, (_, _, plans) in enumerate(open_readings) for plan in plans[:1]]
    order += [(n, plan) for n, (_, _, plans) in enumerate(open_readings) for plan in plans[1:]]
    tried = [0] * len(open_readings)
    reading_best = [Resolution(None, 0.0, NONE) for _ in open_readings]
    spent = 0
    verdicts: dict[str, Resolution] = {}
    for n, (method, q) in order:
        index, want, plans = open_readings[n]
        found = lookup(q)
        origin = "run"
        if found is None:
            if spent >= budget:
                if trace is not None:
                    trace.append(SearchStep(index, method, q, "budget", 0, ()))
                continue
            spent += 1
            found = search(q)
            origin = "api"
        tried[n] += 1
        ranked = rank_candidates(want, found)
        resolution, track = decide_ranked(ranked, method, threshold)
        if trace is not None:
            top = tuple((s.track, score_parts(want, s.track)) for s in ranked[:TRACE_TOP])
            trace.append(SearchStep(index, method, q, origin, len(ranked), top, resolution.track_id))
        if track is not None:
            verdicts[want.key] = resolution
            settled = {
                w.key: reading_best[m] for m, (_, w, p) in enumerate(open_readings) if tried[m] == len(p) and m != n
            }
            return Walk(resolution, track, index, spent, {**settled, **verdicts})
        if resolution.confidence > reading_best[n].confidence:
            reading_best[n] = resolution
    for n, (_, want, plans) in enumerate(open_readings):
        if tried[n] == len(plans):
            verdicts[want.key] = reading_best[n]
        if reading_best[n].confidence > best.confidence:
            best = reading_best[n]
    if len(verdicts) < len(open_readings):
        verdicts[whole] = best  # the budget cut it short: the same readings again get the same answer
    return Walk(best, None, None, spent, verdicts)


TRACE_TOP = 3  # catalog candidates kept per search in an explanation


@dataclass(frozen=True, slots=True)
class SearchStep:
    """One search of a walk: the reading it was for, the plan, where the answer came from ('api': a
    Spotify request; 'run': a search this run had made already; 'budget': not made, over the budget),
    how many results, the best of them with their score parts, and the track accepted (if any)."""

    reading: int
    method: str
    q: str
    origin: str
    results: int
    top: tuple[tuple[Track, ScoreParts], ...]
    accepted: str | None = None


def walk_key(readings: Sequence[tuple[int, Want]]) -> str:
    """The match-cache key of a whole walk (its readings' keys in order), for a walk that ended
    unmatched before every reading was searched."""
    digest = hashlib.sha256("\x1e".join(w.key for _, w in readings).encode("utf-8")).hexdigest()
    return f"w:{digest[:32]}"


def band(resolution: Resolution, threshold: float) -> str:
    if resolution.confidence >= HIGH_BAND and resolution.matched:
        return "high"
    if resolution.confidence >= threshold and resolution.matched:
        return "medium"
    return "low"


# --- output -------------------------------------------------------------------------------------
def post_url(post: ParsedPost) -> str:
    """The public URL of a post (empty when the source gives none)."""
    raw = post.raw or {}
    if post.source == "x":
        return f"https://x.com/i/web/status/{post.post_id}"
    if post.source == "mastodon":
        value = raw.get("url") or raw.get("uri")
        return value if isinstance(value, str) else ""
    if post.source == "bluesky":
        uri = raw.get("uri") if isinstance(raw.get("uri"), str) else post.post_id
        found = re.match(r"^at://([^/]+)/app\.bsky\.feed\.post/([^/]+)$", str(uri))
        if found:
            return f"https://bsky.app/profile/{found.group(1)}/post/{found.group(2)}"
        return ""
    value = raw.get("url")
    return value if isinstance(value, str) else ""


def _fmt_number(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


@dataclass(slots=True)
class Row:
    post: ParsedPost
    resolution: Resolution
    track: Track | None = None
    features: Features = field(default_factory=dict)
    features_source: str = ""
    reading: int | None = None  # the index of the reading (ParsedPost.candidates) that matched
    explain: dict[str, Any] | None = None  # the explanation of the decision (explain.explanation)


def csv_row(row: Row) -> dict[str, str]:
    """One enriched CSV row (ENRICHED_CSV_COLUMNS); unmatched posts keep empty track columns."""
    post, track = row.post, row.track if row.resolution.matched else None
    out: dict[str, str] = dict.fromkeys(ENRICHED_CSV_COLUMNS, "")
    out.update(
        id_tweet=post.post_id,
        text=post.text,
        created_at=post.created_at,
        url_tweet=post_url(post),
        source=post.source,
        post_id=post.post_id,
        author_id=post.author_id,
        match_method=row.resolution.method if track or row.resolution.method == OVERRIDE else NONE,
        match_confidence=f"{row.resolution.confidence:.3f}",
        is_bot="true" if post.is_bot else "false",
        lang=post.lang or "",
    )
    if track is not None:
        if row.resolution.method == LINK:
            out["match_rule"] = post.rule
        elif row.reading is not None:
            out["match_candidate"] = str(row.reading)
            out["match_rule"] = reading_rule(post, row.reading)
        out.update(
            id_track=track.id,
            name=track.name,
            popularity=_fmt_number(track.popularity),
            artists_id=json.dumps(list(track.artist_ids), ensure_ascii=False, separators=(",", ":")),
            artists_name=json.dumps(list(track.artist_names), ensure_ascii=False, separators=(",", ":")),
            duration_ms=_fmt_number(track.duration_ms),
            album=track.album,
            release_date=track.release_date,
        )
        if row.features:
            for name in AUDIO_FEATURES:
                out[name] = _fmt_number(row.features.get(name))
            out["features_source"] = row.features_source
    return out


def render_csv(rows: Iterable[Row]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(ENRICHED_CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(csv_row(row))
    return buffer.getvalue().encode("utf-8")
