"""The cleaner's pure core: a Post in, a ParsedPost out (artist/title, a query, a link, or nothing).

Everything here is a plain function on plain data: no I/O, no Cassandra, no network, importable and
picklable inside Spark workers. ``clean_post`` never raises for a valid ``Post``; ``clean_record``
validates a decoded JSON object first and raises ``RecordError`` naming what is wrong.

The order of decisions:

1. Links decide first: an ``open.spotify.com/track/<id>`` URL (any ``intl-xx/`` prefix, any query
   string) or a ``spotify:track:<id>`` URI gives ``kind=link``. Apple Music, YouTube, Deezer,
   SoundCloud and last.fm links stay in ``urls`` as hints (a last.fm track URL names artist and
   title and is used when the text gives nothing better).
2. Normalization: HTML entities decoded, Unicode NFC, control characters dropped, URLs removed,
   mentions and hashtags removed at the edges of the text (unwrapped in the middle, where they
   usually stand for a name), noise ("Listen now!", "via @x", times, "#np", station tails) removed.
3. Non-songs (TV, games, podcasts, films, a bare "RT", nothing left) give ``kind=none``.
4. Known templates and radio formats, then quoted titles, "Title by Artist", then separators
   ("Artist - Title" in every dash variant, "•", "·", "|", "/", ":"); ``rule`` names the one that
   decided. Which side is the artist is decided from evidence (a "by", a known format, a mention,
   a "(feat. X)" or "(Remix)" on one side) and defaults to artist first.
5. Music-looking text that cannot be split gives ``kind=query`` with the cleaned text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from nowplaying.cleaner.bots import detect_bot, mark_rate_bots
from nowplaying.cleaner.candidates import PARSED_MIN, readings
from nowplaying.cleaner.classify import (
    _NOW_ON_STATION_RE,
    _SLOGAN_RULES,
    _STATION_ONLY_RE,
    _chatter,
    _greeting,
    _non_song,
    _sentence_tail,
    _station_promo,
)
from nowplaying.cleaner.frame import (
    _RADIO_RE,
    TITLE_ONLY_CONFIDENCE,
    _bot_text,
    _fields_split,
    _marked_split,
    match_template,
    match_title_only,
)
from nowplaying.cleaner.normalize import (
    _BOUNDARY_CHAR_RE,
    _EDGE_TAGS_RE,
    _EMOJI_RE,
    _MARKER_BRACKET_RE,
    _MARKER_RE,
    _REPLY_PREFIX_RE,
    _RT_PREFIX_RE,
    _URL_RE,
    _join_colon_lines,
    _lastfm_track,
    handle_name,
    normalize_text,
    spotify_track_id_of,
)
from nowplaying.cleaner.shared import MAX_QUERY_WORDS, _only_residue, _Split
from nowplaying.cleaner.split import (
    _ORDER_RULES,
    _by_split,
    _drop_uploader,
    _mention_order,
    _parse_line,
    _separator_split,
    _title_bracket_artist,
)
from nowplaying.cleaner.tidy import _STATION_TAIL_RE, _TIME_RE, _clean_line, _strip_wrap, spotify_version
from nowplaying.common.models import Candidate, ParsedPost, Post, RecordError

__all__ = [
    "CleanResult",
    "RecordError",
    "clean_post",
    "clean_record",
    "clean_text",
    "clear_text_cache",
    "detect_bot",
    "handle_name",
    "mark_rate_bots",
    "normalize_text",
    "spotify_track_id_of",
    "spotify_version",
    "text_cache_stats",
]


@dataclass(frozen=True, slots=True)
class CleanResult:
    """What the text and links of a post say, before it is merged with the Post's fields."""

    kind: str
    rule: str
    artist: str | None = None
    title: str | None = None
    query: str | None = None
    spotify_track_id: str | None = None
    bot_format: bool = False
    candidates: tuple[Candidate, ...] = ()


_NONE_EMPTY = CleanResult("none", "none_empty")


def clean_text(text: str, urls: Iterable[str] = ()) -> CleanResult:
    """The pure decision for a post's text and URLs (no account information)."""
    urls = list(urls)
    text = normalize_text(text)
    track_id = spotify_track_id_of(urls, text)

    stripped = text.strip()
    if not stripped and track_id is None:
        return _NONE_EMPTY
    reposted = stripped[:2].upper() == "RT" and bool(_RT_PREFIX_RE.match(stripped))
    if reposted:
        stripped = _RT_PREFIX_RE.sub("", stripped, count=1)
    # a link ends a line: words after it are a comment, words before it often a promotion
    has_link = "/" in stripped or "spotify:" in stripped or "www." in stripped or "URL" in stripped or "{" in stripped
    body = _URL_RE.sub("\n", stripped) if has_link else stripped
    low = body.lower()
    bot_format = _bot_text(body, low)
    if (
        ("[" in body or "(" in body or "【" in body)
        and ("lay" in low or "np" in low or "air" in low)
        and (_MARKER_BRACKET_RE.search(body))
    ):
        body = _MARKER_BRACKET_RE.sub(" ", body)  # "[Now Playing] Artist / Title": a marker, not a name
        low = body.lower()
    if body.startswith("@"):
        body = _REPLY_PREFIX_RE.sub("", body, count=1)
        low = body.lower()

    split: _Split | None = None
    rule_none: str | None = None
    title_only = match_title_only(body, low)
    split = match_template(body, low) if title_only is None else None
    if title_only is not None:
        rule, title = title_only
        title_reading = (Candidate(None, None, title, rule, TITLE_ONLY_CONFIDENCE),)
        if track_id is not None:
            return CleanResult("link", "spotify_link", query=title, spotify_track_id=track_id,
                               bot_format=bot_format)  # fmt: skip
        return CleanResult("query", rule, query=title, bot_format=bot_format, candidates=title_reading)

    if split is None and ("🎤" in body or "[" in body or "【" in body):
        split = _marked_split(body)
    if split is None and urls:
        lastfm = _lastfm_track(urls)
        if lastfm is not None:
            split = _Split(lastfm[0], lastfm[1], "lastfm_link")
    if split is None:
        rule_none = _non_song(body, low)

    if split is None and rule_none is None:
        if not body.isascii() and _BOUNDARY_CHAR_RE.search(body):  # every marker and emoji is outside ASCII
            body = _EMOJI_RE.sub("\n", _MARKER_RE.sub("\n", body))
        raw_lines = [line for line in body.split("\n") if line.strip()]
        if ":\n" in body or ": \n" in body:
            raw_lines = _join_colon_lines(raw_lines)
        lines = [_clean_line(line) for line in raw_lines]
        lines = [line for line in lines if line and not _only_residue(line)]
        radio_station: str | None = None
        for line in raw_lines if ("play" in low or "air" in low) else ():
            if ":" not in line and "|" not in line:
                continue  # the station ends at a ":" or "|"
            match = _RADIO_RE.match(_TIME_RE.sub(" ", line) if ":" in line else line)
            if match:
                radio_station = match.group("station")
                rest = _clean_line(match.group("rest"))
                sep = _separator_split(rest)
                split = _Split(sep.artist, sep.title, "radio_now_playing", sep.commented) if sep else None
                bot_format = True
                if split is None:
                    by = _by_split(rest)
                    split = _Split(by.artist, by.title, "radio_now_playing", by.commented) if by else None
                if split is None and rest:
                    lines = [rest]
                break
        if split is None and ":" in body and ("artist" in low or "interpret" in low or "band" in low):
            split = _fields_split(body)
        if split is None:
            for line in lines:
                split = _parse_line(line)
                if split:
                    break
        if split is None and len(lines) > 1:
            split = _parse_line(" ".join(lines))
        if split is not None:
            split = _drop_uploader(split, low)
        if split is not None and split.rule in _ORDER_RULES and "@" in stripped:
            split = _mention_order(split, stripped)
        if split is not None and not bot_format and " on " in low and _STATION_TAIL_RE.search(body):
            bot_format = True
        if split is not None and split.rule.startswith(_SLOGAN_RULES) and _station_promo(split):
            split, lines = None, []  # "Hitwave Radio - the best music all day!": a station promo
            rule_none = "none_station"
        if split is None and rule_none is None and len(lines) == 1 and lines[0].endswith((")", "]")):
            split = _title_bracket_artist(lines[0])
        if split is None and rule_none is None:
            query = _strip_wrap(" ".join(lines))
            if (
                (radio_station is not None and not query)
                or _STATION_ONLY_RE.match(query)
                or "📻" in text
                or (("laying" in low or "LAYING" in body) and _NOW_ON_STATION_RE.match(body))
            ):
                rule_none = "none_station"
            elif (
                query.startswith("¿")
                or query.endswith("?")
                or _chatter(query.split())
                or _greeting(query)
                or _sentence_tail(_EDGE_TAGS_RE.sub(" ", body).strip())
            ):
                rule_none = "none_chatter"
            elif query and not _only_residue(query) and len(query.split()) <= MAX_QUERY_WORDS:
                if track_id is not None:
                    return CleanResult("link", "spotify_link", query=query, spotify_track_id=track_id,
                                       bot_format=bot_format)  # fmt: skip
                return CleanResult("query", "query", query=query, bot_format=bot_format)
            elif not query:
                rule_none = "none_rt" if reposted or stripped.upper() == "RT" else "none_empty"
            elif _only_residue(query):
                rule_none = "none_empty"
            else:
                rule_none = "none_prose"

    if track_id is not None:
        if split is not None:
            return CleanResult(
                "link", "spotify_link", split.artist, split.title, f"{split.artist} {split.title}", track_id,
                bot_format,
            )  # fmt: skip
        return CleanResult("link", "spotify_link", spotify_track_id=track_id, bot_format=bot_format)
    if split is not None:
        query = f"{split.artist} {split.title}"
        own, candidates = readings(split, text, query)
        if own >= PARSED_MIN:
            return CleanResult("parsed", split.rule, split.artist, split.title, query, None, bot_format,
                               tuple(candidates))  # fmt: skip
        # not sure enough to claim the pair: the enricher tries the readings, best first
        return CleanResult("query", f"unsure_{split.rule}", query=query, bot_format=bot_format,
                           candidates=tuple(candidates))  # fmt: skip
    if stripped.upper() == "RT":
        return CleanResult("none", "none_rt")
    return CleanResult("none", rule_none or "none_empty", bot_format=bot_format)


# --- the contract ----------------------------------------------------------------------------
# Streams repeat texts word for word (retweets carry the same "RT @x: ..." text, stations re-post
# a song's line each time it plays): a repeated text is decided once. ``clean_text`` is pure and its
# result immutable, so sharing it is safe; the bound keeps memory flat (~25 MB at most).
TEXT_CACHE_SIZE = 32_768


@lru_cache(maxsize=TEXT_CACHE_SIZE)
def _clean_text_cached(text: str, urls: tuple[str, ...]) -> CleanResult:
    return clean_text(text, urls)


def text_cache_stats() -> tuple[int, int]:
    """(hits, misses) of the repeated-text cache since the last ``clear_text_cache``."""
    info = _clean_text_cached.cache_info()
    return info.hits, info.misses


def clear_text_cache() -> None:
    _clean_text_cached.cache_clear()


def clean_post(post: Post, cache: bool = True) -> ParsedPost:
    """A Post's ParsedPost. Pure and total: any unexpected failure gives ``kind=none`` with
    ``rule=error_<ExceptionName>`` rather than an exception. ``cache=False`` decides the text afresh
    even if it was seen before (the same answer, only slower)."""
    try:
        result = _clean_text_cached(post.text, tuple(post.urls)) if cache else clean_text(post.text, post.urls)
    except Exception as exc:  # a bug must not stop a batch; the rule makes it visible
        result = CleanResult("none", f"error_{type(exc).__name__}")
    try:
        is_bot = detect_bot(post, result.bot_format)
    except Exception:
        is_bot = False
    return ParsedPost.from_post(
        post,
        kind=result.kind,
        rule=result.rule,
        artist=result.artist,
        title=result.title,
        query=result.query,
        spotify_track_id=result.spotify_track_id,
        is_bot=is_bot,
        candidates=list(result.candidates),
    )


def clean_record(obj: Any) -> ParsedPost:
    """Validate a decoded JSON object as a Post (``RecordError`` names what is wrong), then clean."""
    return clean_post(Post.from_dict(obj))
