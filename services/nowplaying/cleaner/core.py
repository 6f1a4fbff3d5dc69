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

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from nowplaying.common.models import ParsedPost, Post, RecordError

__all__ = [
    "CleanResult",
    "RecordError",
    "clean_post",
    "clean_record",
    "clean_text",
    "detect_bot",
    "mark_rate_bots",
    "normalize_text",
    "spotify_track_id_of",
]

# --- limits ----------------------------------------------------------------------------------
MAX_ARTIST_WORDS = 8
MAX_TITLE_WORDS = 14
MAX_QUERY_WORDS = 10
MAX_PART_CHARS = 150


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


_NONE_EMPTY = CleanResult("none", "none_empty")

# --- links -----------------------------------------------------------------------------------
_SPOTIFY_TRACK_RE = re.compile(
    r"(?:open|play)\.spotify\.com/(?:intl-[a-zA-Z]{2}(?:-[a-zA-Z]{2,4})?/)?(?:embed/)?track/([A-Za-z0-9]{22})"
    r"|spotify:track:([A-Za-z0-9]{22})"
)
_LASTFM_TRACK_RE = re.compile(r"last\.fm/(?:[a-z]{2}/)?music/([^/?#\s]+)/_/([^/?#\s]+)", re.IGNORECASE)
_URL_RE = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|\b(?:open\.spotify\.com|spoti\.fi|spotify\.link|youtu\.be|bit\.ly|t\.co|music\.apple\.com|lnkd\.in)/\S*"
    r"|\bspotify:(?:track|album|playlist|artist):[A-Za-z0-9]+",
    re.IGNORECASE,
)


def spotify_track_id_of(urls: Iterable[str], text: str = "") -> str | None:
    """The first Spotify track id in the URLs, else in the text (``open.spotify.com`` or URI)."""
    for url in urls:
        if "spotify" in url:
            match = _SPOTIFY_TRACK_RE.search(url)
            if match:
                return match.group(1) or match.group(2)
    if "spotify" in text:
        match = _SPOTIFY_TRACK_RE.search(text)
        if match:
            return match.group(1) or match.group(2)
    return None


def _lastfm_track(urls: Iterable[str]) -> tuple[str, str] | None:
    for url in urls:
        if "last.fm" in url or "lastfm" in url:
            match = _LASTFM_TRACK_RE.search(url)
            if match:
                artist = unquote_plus(match.group(1)).strip()
                title = unquote_plus(match.group(2)).strip()
                if artist and title:
                    return artist, title
    return None


# --- normalization ---------------------------------------------------------------------------
# C0/C1 controls except tab and newline, plus zero-width and bidi marks and the BOM.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufffd]")
_SPACE_RE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def _collapse(text: str) -> str:
    """Runs of spaces (any Unicode space) as one space; the common case costs two substring tests."""
    if text.isascii() and "  " not in text and "\t" not in text:
        return text
    return _SPACE_RE.sub(" ", text)


def normalize_text(text: str) -> str:
    """HTML entities decoded, NFC, controls dropped, CR/LF kept as line breaks, spaces collapsed."""
    if "&" in text:
        text = html.unescape(text)
        if "&" in text:  # double-escaped (&amp;amp;) happens in copied posts
            text = html.unescape(text)
    ascii_text = text.isascii()
    if not ascii_text:
        text = unicodedata.normalize("NFC", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not ascii_text or not text.isprintable():  # printable ASCII has no controls ("\n" is not printable)
        text = _CONTROL_RE.sub("", text)
    if ascii_text and "  " not in text and "\t" not in text:
        return text
    return _SPACE_RE.sub(" ", text)


# Music markers and emoji act as boundaries: removed, leaving a line break or a space.
_MARKER_RE = re.compile(r"[♪♫♬♩🎶🎵🎼🎧📻🔊🎤🎸🎹🥁🎷🎺📀💿▶►⏯]+\ufe0f?")
_EMOJI_RE = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2190-\u21ff\u2300-\u23ff\ufe0f\u200d"
    "\U000e0000-\U000e007f\u2700-\u27bf]+"
)
_RT_PREFIX_RE = re.compile(r"^\s*RT\s*@[\w.]+(?:@[\w.-]+)?\s*:?\s*", re.IGNORECASE)
_MENTION_RE = re.compile(r"(?<![\w@/])@(\w{1,30})(?:@[\w.-]+\w)?")
_HASHTAG_RE = re.compile(r"(?<![\w#&/])#(\w+)")
_EDGE_TAGS_RE = re.compile(r"^(?:\s*#\w+[\s:,;.!-]*)+|(?:\s*[#@]\w+(?:@[\w.-]+\w)?[\s,;.!]*)+$")
# "@a @b text": a reply prefix, unless a separator follows (then the mention is the artist).
_REPLY_PREFIX_RE = re.compile(r"^(?:\s*@\w+(?:@[\w.-]+\w)?)+(?![\w@]|\s*[-–—:|•·/,&])\s*")
# "Listening to" framed in other languages; in es/fr/it/pt the frame's "de"/"di"/"par" means "by"
# ("Escuchando Noche de Verano de Rocío Núñez", "J'écoute Sal Rota de La Sonora Dorada").
_FRAME_RE = re.compile(
    r"(?i)^\s*(?:(?P<by>j['’]\s?écoute|j['’]\s?ecoute|(?:estoy\s+)?escuchando|(?:sto\s+)?ascoltando|(?:estou\s+)?ouvindo)"
    r"|ich\s+höre(?:\s+gerade)?|höre\s+gerade|jetzt\s+läuft\s*:?|сейчас\s+(?:играет|слушаю)\s*:?|слушаю|今聴いてる|"
    r"지금\s+듣는\s+노래|أستمع\s+الآن\s+إلى)\s+"
)
_FRAME_BY_RE = re.compile(r"\s(?:de|di|par|von)\s(?!.*\s(?:de|di|par|von)\s)")
_FRAME_TAIL_RE = re.compile(r"(?i)\s+(?:agora|ahora|maintenant|adesso|jetzt|gerade)\s*$")
_FRAME_FIRST = frozenset("jJeEsSaAoOiIhHсС今지أ")
_LEAD_VERB_RE = re.compile(
    r"(?i)^(?:\d{1,3}[.)]\s+|(?:(?:i['’]?m\s+|currently\s+|now\s+)?listening\s+to|stream|listen\s+to|check\s+out|new|out\s+now|premiere|bumping|blasting)\s*:?\s+)"
)
# Words that make an "artist" candidate read as a sentence ("You can stream my song").
_PROSE_WORDS = frozenset(
    [
        "i",
        "i'm",
        "im",
        "i’m",
        "my",
        "me",
        "you",
        "your",
        "to",
        "is",
        "was",
        "are",
        "be",
        "been",
        "just",
        "it",
        "it's",
        "it’s",
        "this",
        "that",
        "listen",
        "made",
        "stream",
        "song",
        "single",
        "album",
        "check",
        "here",
        "heard",
        "love",
        "like",
        "have",
        "has",
        "our",
        "we",
        "he",
        "she",
        "they",
        "for",
        "about",
        "what",
        "how",
        "when",
        "so",
        "can",
        "will",
        "if",
        "really",
        "makes",
        "track",
        "new",
        "our",
        "its",
        "favorite",
        "favourite",
        "best",
        "playing",
        "listening",
        "recommend",
        "also",
        "very",
        "great",
        "good",
        "bop",
        "slaps",
        "thanks",
        "thank",
        "please",
        "hope",
        "day",
        "today",
        "tonight",
    ]
)

# Hashtags that are noise wherever they stand (lower-case, without '#').
_NOISE_TAGS = frozenset(
    [
        "nowplaying",
        "np",
        "nowlistening",
        "listeningto",
        "listening",
        "nowspinning",
        "nowstreaming",
        "playingnow",
        "currentlyplaying",
        "onair",
        "music",
        "newmusic",
        "musica",
        "musique",
        "musik",
        "song",
        "songs",
        "songoftheday",
        "sotd",
        "trackoftheday",
        "pandora",
        "lastfm",
        "spotify",
        "applemusic",
        "youtube",
        "deezer",
        "soundcloud",
        "tidal",
        "radio",
        "webradio",
        "internetradio",
        "onlineradio",
        "livestream",
        "listen",
        "listennow",
        "musicmonday",
        "np2",
        "nowplayin",
        "indiemusic",
        "indie",
        "rock",
        "pop",
        "hiphop",
        "rap",
        "jazz",
        "edm",
        "dance",
        "electronic",
        "country",
        "metal",
        "rnb",
        "soul",
        "love",
        "vibes",
        "mood",
        "beatfind",
        "shazam",
        "spotifywrapped",
        "fridayvibes",
        "fridayfeeling",
        "newrelease",
        "outnow",
        "streaming",
        "music4life",
        "playlist",
        "nowplay",
        "bbcradio",
        "radioshow",
    ]
)

# Whole phrases that are noise around a song (case-insensitive), removed anywhere.
_NOISE_PHRASES_RE = re.compile(
    r"""(?ix)
    \b(?:listen|tune)\s+(?:in\s+)?(?:now|live|here|in|at|to\s+us|on\s+air)\b[!.:]*
    | \bvia\s+@?\w+(?:@[\w.-]+\w)?
    | \b(?:out\s+now(?:\s+everywhere)?|new\s+(?:music|single|song|track)|just\s+released)\b[!.:]*
    | \b(?:song|track|tune)\s+of\s+the\s+(?:day|week)\b[!.:]*
    | \b(?:now|currently)\s*[-_]?\s*(?:playing|spinning|streaming|listening(?:\s+to)?|on\s+air)\b[!.:]*
    | \bplaying\s+now\b[!.:]*
    | \bon\s+air\b[!.:]*
    | \bnp\b\s*:
    | \b(?:click|tap)\s+(?:here|to\s+listen)\b[!.:]*
    | [(\[](?:\s*official\s+(?:music\s+|lyric\s+)?(?:video|audio)|\s*lyrics?(?:\s+video)?
             |\s*audio|\s*hd|\s*hq|\s*visuali[sz]er)\s*[)\]]
    | \b(?:on|@)\s+\#?(?:spotify|apple\s*music|youtube(?:\s+music)?|deezer|soundcloud|tidal|pandora
                      |itunes|amazon\s+music)\b
    """
)
# Substrings one of which every noise phrase contains (a cheap test before the regex).
_NOISE_KEYS = (
    "listen", "tune", "via", "out", "new", "released", " of the ", "now", "currently", "playing", "air",
    "np", "click", "tap", "official", "lyric", "audio", "hd", "hq", "visuali", "spotify", "apple", "youtube",
    "deezer", "soundcloud", "tidal", "pandora", "itunes", "amazon",
)  # fmt: skip
# Times ("10:32", "10:32 PM", "[03:45]") and dates like "2022-06-15" as standalone tokens.
_TIME_RE = re.compile(r"[\[(]?\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?(?![\w:])[\])]?")
_STRIP_CHARS = " \t\n-–—~|•·/\\:;,.!?*_=+>»«<\"'“”‘’„`´()[]{}"
# What a cleaned line loses at its edges: separators and stray punctuation, never quotes or
# brackets (they carry the title) and never a final "?" ("R U Mine?").
_LINE_LEFT = " \t\n-–—~|•·/\\:;,.!?*_=+>»<"
_LINE_RIGHT = " \t\n-–—~|•·/\\:;,*_=+>»<"


def _clean_tag(match: re.Match[str]) -> str:
    word = match.group(1)
    if word.lower() in _NOISE_TAGS:
        return " "
    return word


_VIA_RE = re.compile(r"(?i)\bvia\s+@\w+(?:@[\w.-]+\w)?")
# "Title - @artist" at the end of a line: the mention is the artist, not a credit to drop.
_BY_MENTION_RE = re.compile(r"(?i)(\bby:?\s+)@(\w{1,30})")
_SEP_MENTION_END_RE = re.compile(r"(\s[-–—|/•·:]\s*)@(\w{1,30})\s*$")


def _clean_line(line: str) -> str:
    """One line of a post, with edge hashtags/mentions and noise removed; mid-text mentions kept
    with their '@' (evidence for the artist slot), mid-text hashtags unwrapped."""
    if "@" in line:
        line = _SEP_MENTION_END_RE.sub(r"\1\2", line)
        if "by" in line:
            line = _BY_MENTION_RE.sub(r"\1\2", line)
        line = _VIA_RE.sub(" ", line)
    if "#" in line or "@" in line:
        line = _EDGE_TAGS_RE.sub(" ", line)
        if "#" in line:
            line = _HASHTAG_RE.sub(_clean_tag, line)
    low = line.lower()
    for key in _NOISE_KEYS:
        if key in low:
            line = _NOISE_PHRASES_RE.sub(" ", line)
            break
    if line[:1] in "0123456789sSlLcCnNoObB" or line[1:2] in "0123456789sSlLcCnNoObB":
        line = _LEAD_VERB_RE.sub("", line.lstrip())
    if line[:1] in _FRAME_FIRST or line[1:2] in _FRAME_FIRST:
        frame = _FRAME_RE.match(line)
        if frame:
            line = _FRAME_TAIL_RE.sub("", line[frame.end() :])
            if frame.group("by") and not _DASH_RE.search(line):
                line = _FRAME_BY_RE.sub(" by ", line, count=1)
    if ":" in line:
        line = _TIME_RE.sub(" ", line)
    line = _collapse(line).lstrip(_LINE_LEFT)
    end = line.rstrip(_LINE_RIGHT)
    if "«" in end and "»" not in end and "»" in line[len(end) :]:
        end += "»"
    line = end
    if line.endswith("!!") or line.endswith("."):
        line = line.rstrip("!.").rstrip(_LINE_RIGHT)
    return line


# --- non-songs -------------------------------------------------------------------------------
_NONE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("none_podcast", re.compile(r"(?i)#?\b(?:podcasts?|audiobooks?|audible)\b")),
    (
        "none_tv",
        re.compile(
            r"(?i)#?\b(?:now\s*watching|watching|tv\s*show|series|episode|season\s+\d+|s\d{1,2}\s*e\d{1,3}"
            r"|netflix|hulu|hbo|disney\+|prime\s+video|on\s+tv)\b"
        ),
    ),
    (
        "none_game",
        re.compile(
            r"(?i)#?\b(?:xbox(?:\s*one|\s*series\s*[xs])?|playstation|ps[345]|nintendo|switch\s*oled|steam\s*deck"
            r"|#?gaming|gamer|video\s*game|twitch|speedrun|nowgaming|game\s*pass|on\s+steam|achievement)\b"
        ),
    ),
    ("none_film", re.compile(r"(?i)#?\b(?:movie|film|cinema|imdb|letterboxd|trailer)\b")),
)
_RESIDUE_WORDS = frozenset(
    [
        "rt",
        "by",
        "on",
        "via",
        "from",
        "feat",
        "ft",
        "featuring",
        "amp",
        "with",
        "and",
        "the",
        "a",
        "to",
        "of",
        "in",
        "at",
        "is",
        "it",
        "s",
        "single",
        "ep",
        "mv",
        "pv",
        "official",
        "video",
        "audio",
        "lyrics",
        "cover",
        "remix",
        "new",
        "now",
        "playing",
        "np",
        "listening",
        "this",
        "my",
        "me",
        "i",
        "im",
        "song",
        "track",
        "music",
        "radio",
        "live",
    ]
)
_WORD_RE = re.compile(r"\w+")


# Cheap substring test before the regex: most posts contain none of these.
_NONE_KEYS = (
    "watch", "tv", "series", "episode", "season", "netflix", "hulu", "hbo", "disney", "prime", "xbox",
    "playstation", "ps3", "ps4", "ps5", "nintendo", "switch", "steam", "gam", "twitch", "speedrun",
    "achievement", "podcast", "audiobook", "audible", "movie", "film", "cinema", "imdb", "letterboxd",
    "trailer", "s0", "s1", "s2",
)  # fmt: skip


def _non_song(text: str, low: str) -> str | None:
    """The ``none_*`` rule when a text is clearly not a song (checked on the normalized text)."""
    for key in _NONE_KEYS:
        if key in low:
            break
    else:
        return None
    for rule, pattern in _NONE_RULES:
        if pattern.search(text):
            return rule
    return None


def _only_residue(text: str) -> bool:
    if len(text) > 40:
        return False
    return all(word in _RESIDUE_WORDS or word.isdigit() for word in _WORD_RE.findall(text.lower()))


# --- templates and radio formats -------------------------------------------------------------
_Q_OPEN = "\"“”„«「『‘'"
_Q_CLOSE = "\"”“»」』’'"

# (rule, pattern, a lower-case keyword the text must contain for the pattern to be tried)
_TEMPLATES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    # I'm listening to "Title" by Artist on Pandora   /  I am listening to T by A on #Pandora's X Radio
    (
        "template_pandora",
        re.compile(
            r"(?i)\bI(?:['’]m| am) listening to [\"“](?P<title>.+?)[\"”] by (?P<artist>.+?) on #?Pandora\b"
            r"|\bI(?:['’]m| am) listening to (?P<title2>.+) by (?P<artist2>.+?) on #?Pandora\b"
        ),
        "pandora",
    ),
    # I’m listening to Title by Artist http://t.co/x via @lastfm
    (
        "template_lastfm",
        re.compile(
            r"(?i)^(?=.*last\.?fm).*?\bI(?:['’]m| am) listening to (?P<title>.+) by (?P<artist>.+?)"
            r"(?:\s+via\s+@?last\.?fm\b|\s+on\s+#?last\.?fm\b|\s*$)"
        ),
        "last",
    ),
    # Spotify's share sheet: Here's a song for you… Title by Artist
    (
        "template_spotify_share",
        re.compile(r"(?i)\bhere['’]s a song for you(?:…|\.\.\.)\s*(?P<title>.+) by (?P<artist>.+?)\s*$", re.M),
        "song for you",
    ),
    # BeatFind: Title · Artist
    (
        "template_beatfind",
        re.compile(r"(?is)#BeatFind\b.*?\n\s*(?P<title>[^\n·]+?)\s+·\s+(?P<artist>[^\n]+?)\s*(?:\n|$)"),
        "beatfind",
    ),
    # Generic: I'm listening to Title by Artist on <service>
    (
        "template_listening",
        re.compile(
            r"(?i)\b(?:I(?:['’]m| am)|I'm currently|currently) listening to [\"“]?(?P<title>.+?)[\"”]? by "
            r"(?P<artist>.+?)(?:\s+(?:on|via|in|@)\s+\S.*|\s*$)",
            re.M,
        ),
        "listening to",
    ),
)

# "Now Playing on WXYZ 101.5: Artist - Title", "#NowPlaying @ Radio X: Artist - Title"
_RADIO_RE = re.compile(
    r"""(?ix)^\s*
    (?:\#?now\s*playing|\#?np|on\s+air|playing|now\s+on\s+air|currently\s+playing)\s*
    (?:on|at|@|in)\s+(?P<station>[^:\n]{2,60}?)\s*[:|]\s*(?P<rest>.+)$"""
)
# "Artist - Title | Station" or "Artist - Title on Station 101.5 FM" or "... - Listen at ..."
_STATION_WORDS = r"(?:radio|fm|am|\d{2,3}[.,]\d|live|stream|online|web\s*radio|hits|station|tunein)"
_STATION_TAIL_RE = re.compile(
    r"(?i)\s+(?:(?:on|@|at)\s+(?:the\s+)?#?[\w.&'’ -]{0,40}?" + _STATION_WORDS + r"\b.*"
    r"|[|]\s*[^|]*" + _STATION_WORDS + r"\b.*)$"
)
_ON_STATION_FLAG_RE = re.compile(r"(?i)\bon\s+(?:the\s+)?#?[\w.&'’ -]{0,40}?" + _STATION_WORDS + r"\b")


@dataclass(frozen=True, slots=True)
class _Split:
    artist: str
    title: str
    rule: str


# --- separators ------------------------------------------------------------------------------
_DASH_RE = re.compile(r"\s+[-‐‑‒–—―~]+\s+|\s*[–—―]\s*|\s+-(?=[A-Z\"“])|(?<=[a-z)])-\s+")
_SOFT_SEP_RE = re.compile(r"\s+(?:[|•·∙●◦]|//|/|::|>>|»)\s+")
_COLON_RE = re.compile(r"^(?P<left>[^:]{2,60}?)\s*[:：]\s+(?P<right>.+)$")
_BY_RE = re.compile(r"(?<!\S)by(?=\s)", re.IGNORECASE)
_BY_BAD_RIGHT = re.compile(
    r"(?i)^(?:me|you|my|your|myself|yourself|now|side|the\s+way|a\s+thread|far|default|heart|day|night)\b"
)
_QUOTED_RE = re.compile(
    r"[\"“„«「『](?P<q>[^\"“”„«»「」『』\n]{1,120})[\"”»」』“]|(?<!\w)['‘](?P<s>[^'‘’\n]{1,120})['’](?!\w)"
)
_FEAT_RE = re.compile(r"(?i)\((?:feat\.?|ft\.?|featuring|with)\s[^)]*\)|\[(?:feat\.?|ft\.?|featuring)\s[^\]]*\]")
_TITLE_MARK_RE = re.compile(
    r"(?i)[(\[][^)\]]*\b(?:remix|edit|mix|version|ver\.?|remaster(?:ed)?|live|acoustic|instrumental|demo|"
    r"cover|extended|original|radio|unplugged|rework|bootleg|vip|dub)\b[^)\]]*[)\]]"
)
_ARTIST_FEAT_RE = re.compile(r"(?i)\s(?:feat\.?|ft\.?|featuring|x|&|and|vs\.?)\s")
_TRAIL_END = frozenset(" \t\n,;:")
_TRAIL_NOISE_RE = re.compile(
    r"(?i)[\s,;:]+$|\s+(?:on|via)\s+(?:spotify|apple\s*music|youtube|deezer|soundcloud|pandora)\b.*$"
)


_RIGHT_STRIP = frozenset(' \t\n-–—~|•·/\\:;,*_=>»<"“”‘’„`´&…')
# A closing character stays when its opening one is in the part ("~Choi katame~", "<ballad>", "B****").
_PAIRS = {'"': '"', "”": "“", "’": "‘", ">": "<", "»": "«", "~": "~", "-": "-", "*": "*", "'": "'"}


def _strip_wrap(part: str) -> str:
    """Strip spaces, dashes and outer quotes; keep a closing bracket that belongs to the title."""
    part = part.lstrip(' \t\n-–—~|•·/\\:;,*_=>»<"“”‘’„`´&…')
    while part and part[-1] in _RIGHT_STRIP and not (part[-1] in _PAIRS and _PAIRS[part[-1]] in part[:-1]):
        part = part[:-1]
    part = part.rstrip()
    if part.endswith("!!"):
        part = part.rstrip("!").rstrip()
    if "’" in part or "‘" in part:
        part = part.replace("’", "'").replace("‘", "'")
    while part and part[0] in "([{" and part[-1] in ")]}" and part.count("(") <= 1 and part.count("[") <= 1:
        part = part[1:-1].strip()
    if part.startswith("!"):
        part = part.lstrip("! ")
    if part.endswith(".") and not _KEEP_DOT_RE.search(part[-12:]):
        part = part.rstrip(".")
    if part.count("(") < part.count(")") and part.endswith(")"):
        part = part[:-1]
    if part.count("(") > part.count(")"):
        cut = part.rfind("(")
        if cut > 0 and ")" not in part[cut:]:
            part = part[:cut].strip()
    if part.startswith("'") and part.count("'") == 1 and not _ELISION_RE.match(part):
        part = part[1:]
    if part.endswith("'") and part.count("'") == 1 and not part.endswith("in'"):
        part = part[:-1]
    if "@" in part:
        part = _MENTION_RE.sub(r"\1", part)
    return _collapse(part).strip()


_ELISION_RE = re.compile(r"(?i)'(?:til|cause|bout|round|em|n|tis|twas|sup)\b")
_KEEP_DOT_RE = re.compile(r"(?:\b[A-Za-z]\.)+$|\.\.\.$|\b(?:Bros|Jr|Sr|St|Mr|Mrs|Dr|Vol|Pt|Op|No|Co|Inc)\.$")


_ALNUM_RE = re.compile(r"[^\W_]")
_TWO_LETTERS_RE = re.compile(r"[^\W\d_].*?[^\W\d_]", re.S)


def _plausible(artist: str, title: str, strict: bool = True) -> bool:
    if not artist or not title:
        return False
    if len(artist) > MAX_PART_CHARS or len(title) > MAX_PART_CHARS:
        return False
    if len(artist.split()) > MAX_ARTIST_WORDS or len(title.split()) > MAX_TITLE_WORDS:
        return False
    if not _ALNUM_RE.search(artist) or not _ALNUM_RE.search(title):
        return False
    if _only_residue(artist) and len(artist) < 3:
        return False
    if not strict:
        return True
    words = artist.casefold().split()
    prose = sum(w in _PROSE_WORDS for w in words)
    if prose >= 2 or (prose and len(words) > 1 and words[0] in _PROSE_WORDS):
        return False
    if " by " in artist or not _TWO_LETTERS_RE.search(artist):  # "c. 2020", "anone by X bubble by Y"
        return False
    return artist.casefold() not in _RESIDUE_WORDS and title.casefold() not in {"rt", "by", "on", "via"}


_ARTIST_GUEST_RE = re.compile(
    r"(?i)\s*(?:\(\s*(?:feat\.?|ft\.?|featuring)\s[^)]*\)|\s(?:feat\.?|ft\.?|featuring)\s.*)$"
)


_ARTIST_WITH_RE = re.compile(r"(?i)^(?:w/|w|with)\s+(?=\S)|\s+w/.*$")


def _finish(artist: str, title: str, rule: str, strict: bool = True) -> _Split | None:
    artist = _strip_wrap(artist)
    if "w" in artist:  # "“Indigo” w @MOONZz", "Dr. John w/Lukas Nelson": the first-named artist
        artist = _ARTIST_WITH_RE.sub("", artist) or artist
    if strict and ("f" in artist or "F" in artist):
        artist = _ARTIST_GUEST_RE.sub("", artist) or artist
    if " on " in title or "@" in title or " at " in title or "|" in title:
        title = _STATION_TAIL_RE.sub("", title)
    if title[-1:] in _TRAIL_END or " on " in title or " via " in title or " On " in title or " Via " in title:
        title = _TRAIL_NOISE_RE.sub("", title)
    title = _strip_wrap(title)
    if _plausible(artist, title, strict):
        return _Split(artist, title, rule)
    return None


def _title_evidence(part: str) -> int:
    """>0 when the part looks like a title ("(feat. X)", "(Remix)"), <0 when it looks like an
    artist (a mention, "A feat. B", "A & B")."""
    score = 0
    if _TITLE_MARK_RE.search(part):
        score += 2
    stripped = part.lstrip(" \"“'‘")
    if stripped.startswith("@"):
        score -= 2
    if stripped and stripped[0] in '"“‘' and stripped.rstrip()[-1:] in '"”’':
        score += 2
    return score


# Words that song titles use and artist names rarely do ("Everything Is Free", "Diamonds On The
# Soles Of Her Shoes" vs "Gillian Welch", "Paul Simon"). On real labelled pairs (2014 templates and
# 2022 Spotify links, ~18,000 artist/title pairs) an artist has one of these and its title none in
# 3.5% of pairs, a title one and its artist none in 35% (two/none: 0.5% vs 15%). Title-first posts
# are ~15% of real separator posts, so one title word on the left and none on the right decides.
_TITLE_WORDS = frozenset(
    [
        "of",
        "in",
        "on",
        "is",
        "my",
        "your",
        "you",
        "me",
        "i",
        "i'm",
        "i’m",
        "it",
        "it's",
        "it’s",
        "to",
        "for",
        "a",
        "at",
        "we",
        "don't",
        "don’t",
        "can't",
        "can’t",
        "all",
        "no",
        "be",
        "are",
        "was",
        "this",
        "that",
        "what",
        "when",
        "where",
        "how",
        "down",
        "up",
        "out",
        "love",
        "her",
        "his",
        "like",
        "just",
        "get",
        "go",
    ]
)
_WORD_APOS_RE = re.compile(r"[\w'’]+")


def _title_words(part: str, inner_the: bool = False) -> int:
    """How many title words the part has (a leading "The" is a band's; an inner one counts when asked:
    "Carry the Zero" is not evidence of an artist)."""
    words = _WORD_APOS_RE.findall(part.casefold())
    if words and words[0] == "the":
        words = words[1:]
    return sum(word in _TITLE_WORDS or (inner_the and word == "the") for word in words)


def _split_two(left: str, right: str, rule: str) -> _Split | None:
    """Decide which side of a separator is the artist, from evidence; artist first by default.

    Evidence for a title on the left: a version or guest mark ("(Remix)", "(feat. X)"), quotes, a
    mention on the right, or at least two title words on the left and none on the right."""
    left_ev = _title_evidence(left)
    right_ev = _title_evidence(right)
    if (left_ev > 0 and right_ev <= 0) or right_ev < 0 <= left_ev:
        return _finish(_mention_artist(right), left, rule + "_title_first")
    if rule != "colon" and left_ev == right_ev == 0 and _title_words(left) >= 1 and _title_words(right, True) == 0:
        split = _finish(_mention_artist(right), left, rule + "_title_words")
        if split:
            return split
    return _finish(_mention_artist(left), right, rule)


_LEAD_MENTION_RE = re.compile(r"^\s*[\"“'‘]?@(\w{1,30})\b\s*(\S.*)?$")


def _mention_artist(part: str) -> str:
    """'@dvsn with a lil sample from @johnlegend' as the artist side: the mention is the artist."""
    match = _LEAD_MENTION_RE.match(part)
    if match and match.group(2) and not match.group(2).startswith(("&", "x ", "and ", "feat", "ft")):
        return match.group(1)
    return part


# Where an artist named after "by" ends: a clause ("on Spotify", "prod. by", "which samples", "is").
_ARTIST_END_RE = re.compile(
    r"(?i)\s+(?:in\s+honou?r|from\s+(?:the|his|her|my)|off\s+(?:the|his|her)|on\s+repeat|(?:live\s+)?on\b|prod\b\.?"
    r"|produced|which|that|who|is|was|are|were|and\s+(?:it|this|i)\b|w/|with\s+(?:a|the|some)\b)\b.*"
    r"|(?<![A-Z])[.!?,;(](?:\s|$).*|\s*\(.*|\s+[|•·]\s.*|\n.*",
    re.S,
)
# Where a title named before "by" starts: after the last sentence break or lead-in.
_BREAK_RE = re.compile(r"[.!?…:]\s+|\n")


def _after_last_break(text: str) -> str:
    ends = [match.end() for match in _BREAK_RE.finditer(text)]
    while ends and not text[ends[-1] :].strip():
        ends.pop()
    return text[ends[-1] :] if ends else text


def _artist_after_by(text: str) -> str:
    artist = _ARTIST_END_RE.sub("", text)
    match = _LEAD_MENTION_RE.match(artist)
    return match.group(1) if match and match.group(2) and match.group(2)[:1] not in "&x" else artist


_CREDIT_BEFORE_BY_RE = re.compile(
    r"(?i)\b(?:produced|prod\.?|written|directed|mixed|mastered|engineered|shot|filmed|photographed|inspired|"
    r"sampled|hosted|presented|powered|sponsored|followed|made|covered|edited|remixed|curated|recorded)\s*$"
)


def _by_split(text: str, rule: str = "by") -> _Split | None:
    """'Title by Artist': the first ' by ' whose right side is a name, not a common word
    ("Stand by Me by Ben E. King", "Drive By by Train")."""
    for match in _BY_RE.finditer(text):
        title, artist = text[: match.start()], text[match.end() :]
        artist = artist.lstrip()
        if _BY_BAD_RIGHT.match(artist) or artist[:3].lower() == "by ":
            continue
        if match.group() == "By" and artist.startswith("the "):  # "Stand By the Highway": one title
            continue
        if _CREDIT_BEFORE_BY_RE.search(title[-14:]):  # "produced by X": a producer, not the artist
            continue
        artist = _artist_after_by(artist)
        title = _after_last_break(title)
        title = _LEAD_VERB_RE.sub("", title)
        split = _finish(artist, title, rule)
        if split:
            return split
    return None


def _quoted_split(text: str) -> _Split | None:
    match = _QUOTED_RE.search(text)
    if not match:
        return None
    title = match.group("q") or match.group("s") or ""
    if not title.strip(" .,!?"):
        return None
    if _DASH_RE.search(title):
        # "It was just “Dying Fetus - Grotesque Impalement” on repeat"
        inner = _separator_split(title)
        if inner:
            return _Split(inner.artist, inner.title, "quoted_dash")
    before = _after_last_break(text[: match.start()]).strip(_STRIP_CHARS)
    after = text[match.end() :].strip()
    after_l = after.lower()
    if after_l.startswith(("by ", "by:")):
        return _finish(_artist_after_by(after[3:].lstrip(": ")), title, "quoted_by")
    if before:
        if len(before.split()) > MAX_ARTIST_WORDS:
            return None
        if before.endswith(("'s", "’s")):  # "Coolio’s “Gangstas Paradise”"
            before = before[:-2]
        return _finish(_mention_artist(before), title, "quoted")
    if after:
        artist = re.split(r"(?<![A-Z])[.!?](?:\s|$)|\n|\s+(?:on|via|from)\s", after.lstrip(" ,-–—:|•·"))[0]
        return _finish(artist, title, "quoted")
    return None


_FIELDS_ARTIST_RE = re.compile(r"(?im)^\s*(?:artist|artiste|artista|interpret|band)\s*:\s*(?P<artist>[^\n]+?)\s*$")
_FIELDS_TITLE_RE = re.compile(r"(?im)^\s*(?:song|track|title|titel|canci[oó]n|single)\s*:\s*(?P<title>[^\n]+?)\s*$")


def _fields_split(text: str) -> _Split | None:
    """'Artist: X' and 'Song: Y' on lines of their own."""
    artist = _FIELDS_ARTIST_RE.search(text)
    title = _FIELDS_TITLE_RE.search(text) if artist else None
    if artist and title:
        return _finish(
            _mention_artist(_clean_line(artist.group("artist"))), _clean_line(title.group("title")), "fields"
        )
    return None


_LISTEN_TO_RE = re.compile(r"(?i)^.*\blisten(?:s|ing)?\s+to\s+")
_VERSION_TAIL_RE = re.compile(
    r"(?i)^\s*(?:\d{4}\s+)?(?:live(?:\s+(?:at|from|in)\s+.{1,40})?|remix|acoustic|sped\s*up|slowed(?:\s*(?:\+|&|and)\s*reverb)?"
    r"|radio\s+edit|single\s+version|remaster(?:ed)?(?:\s+(?:version\s+)?\d{4})?|instrumental|demo|extended(?:\s+mix)?"
    r"|original\s+mix|mono|stereo|[\w'’ .&-]{1,30}\s(?:remix|mix|edit|version|rework|dub))\s*$"
)
_NUMBERED_RE = re.compile(r"(?i)^(?:day|#|no\.?|track)?\s*\d{1,3}$")


def _separator_split(text: str) -> _Split | None:
    parts = _DASH_RE.split(text, maxsplit=1)
    rule = "dash"
    if len(parts) != 2:
        parts = _SOFT_SEP_RE.split(text, maxsplit=1)
        rule = "separator"
    if len(parts) != 2:
        match = _COLON_RE.match(text)
        if not match:
            return None
        parts = [match.group("left"), match.group("right")]
        rule = "colon"
        if len(parts[0].split()) > 5:  # "Hello there beautiful Flower, también me gusta mucho: ..."
            return None
    left, right = parts
    if rule == "separator" and "/" in text[len(left) : len(left) + 4]:
        # "Title / Artist": the radio-playlist and share order
        return _finish(_mention_artist(right), left, "slash_title_first")
    if rule != "colon" and _NUMBERED_RE.match(left.strip()):
        # "Day 29 - Bullet For My Valentine - Your Betrayal"
        return _separator_split(right)
    if rule != "colon" and ": " in left:
        # "Random algorithm discovery: Patrick Sweany - Them Shoes"
        left = left.rsplit(": ", 1)[1]
    if rule != "colon" and "listen" in left:
        # "Phil & Left NIMBYs listen to Suicide Silence - Genocide"
        left = _LISTEN_TO_RE.sub("", left)
    # A third segment that is long prose is noise ("Artist - Title - Wishing you a happy ...").
    more = _DASH_RE.split(right, maxsplit=1)
    if len(more) == 2 and _VERSION_TAIL_RE.match(more[1]):
        # "Artist - Title - Live", "- Remastered 2011": the version belongs to the title
        right, more = f"{more[0]} - {more[1].strip()}", [right]
    if len(more) == 2 and (len(more[1].split()) > 4 or _only_residue(more[1])):
        right = more[0]
    if _BY_RE.search(right) and rule == "colon":
        # "Song of the day: Fire by Jimi Hendrix"
        return _by_split(right, "colon_by")
    return _split_two(left, right, rule)


_EMOJI_FIELDS_RE = re.compile(r"[🎵🎶♪♫]\ufe0f?\s*(?P<title>[^\n]+?)\s*\n\s*🎤\ufe0f?\s*(?P<artist>[^\n]+)")
_BRACKET_ARTIST_RE = re.compile(r"(?m)^\s*(?:[#@]\w+\s+)*[\[【](?P<artist>[^\]】\n]{1,60})[\]】]\s*(?P<title>[^\n]+)$")
_DATE_TIME_RE = re.compile(r"\d:\d\d|\d{4}|\d[./-]\d")


def _marked_split(body: str) -> _Split | None:
    """'🎵 Title / 🎤 Artist' lines, and '[Artist] Title'."""
    match = _EMOJI_FIELDS_RE.search(body)
    if match:
        return _finish(_clean_line(match.group("artist")), _clean_line(match.group("title")), "emoji_fields")
    match = _BRACKET_ARTIST_RE.search(body)
    if match and not _TITLE_MARK_RE.search(match.group(0)) and not _DATE_TIME_RE.search(match.group("artist")):
        return _finish(match.group("artist"), _clean_line(match.group("title")), "brackets")
    return None


_STATION_ONLY_RE = re.compile(
    r"(?i)^(?:on\s+|at\s+)?[\w .&'’-]{0,40}\b(?:radio|rádio|радио|ラジオ|라디오|fm|\d{2,3}[.,]\d)\b[\w .&'’-]{0,30}$"
)


# --- putting it together ---------------------------------------------------------------------
_BOT_KEYWORDS_RE = re.compile(r"(?i)playing|listen|tune|air\b")
_BOT_TEXT_RE = re.compile(
    r"(?i)^\s*#?now\s*playing\s*(?:on|at|@)\s|\blisten\s+(?:live|now)\b|\btune\s+in\b|\bon\s+air\b|"
    r"\b(?:radio|fm)\b.*\b(?:now\s*playing|#np)\b|\b(?:now\s*playing|#np)\b.*\b(?:radio|\d{2,3}[.,]\d\s*fm)\b"
)


def _parse_line(line: str) -> _Split | None:
    if " by " in line.lower() and not _DASH_RE.search(line):
        quoted = _quoted_split(line)
        if quoted:
            return quoted
        split = _by_split(line)
        if split:
            return split
    quoted = _quoted_split(line)
    if quoted:
        return quoted
    split = _separator_split(line)
    if split:
        return split
    if " by " in line.lower():
        return _by_split(line)
    return None


def _chatter(words: list[str]) -> bool:
    """A sentence, not a song: two prose words, or one in a mostly lower-case text of three words or
    more ("nothing, my headphones broke", "drop your below"); titles are usually capitalised."""
    prose = sum(w.strip(",.!").casefold() in _PROSE_WORDS for w in words)
    if not prose:
        return False
    capitalised = sum(w[:1].isupper() for w in words)
    if prose >= 2:
        return capitalised * 4 < len(words) * 3  # "Kiss It Like Rosie" is a title
    return len(words) >= 3 and sum(w.islower() for w in words) * 4 >= len(words) * 3


def _join_colon_lines(lines: list[str]) -> list[str]:
    """'Tears for Fears:' / 'Pale shelter' on two lines read as one 'Tears for Fears: Pale shelter'."""
    out: list[str] = []
    for line in lines:
        if out and out[-1].rstrip().endswith(":") and len(out[-1].split()) <= 4:
            out[-1] = f"{out[-1].rstrip()} {line.strip()}"
        else:
            out.append(line)
    return out


def _mention_order(split: _Split, text: str) -> _Split:
    """'Minx - Emily Justin … @itsemilyjustin': the side a mention in the post spells is the artist."""
    handles = [h.casefold() for h in _HANDLE_RE.findall(text)]
    title_key = "".join(_WORD_RE.findall(split.title.casefold()))
    artist_key = "".join(_WORD_RE.findall(split.artist.casefold()))
    if len(title_key) >= 4 and any(title_key in h for h in handles) and not any(artist_key in h for h in handles):
        return _Split(split.title, split.artist, split.rule + "_title_mention")
    return split


_HANDLE_RE = re.compile(r"@(\w{3,30})")
_ORDER_RULES = frozenset(["dash", "separator", "colon"])


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
    body = _URL_RE.sub(" ", stripped) if ("/" in stripped or "spotify:" in stripped or "www." in stripped) else stripped
    low = body.lower()
    bot_format = ("play" in low or "listen" in low or "tune" in low or "air" in low) and bool(_BOT_TEXT_RE.search(body))
    if body.startswith("@"):
        body = _REPLY_PREFIX_RE.sub("", body, count=1)
        low = body.lower()

    split: _Split | None = None
    rule_none: str | None = None
    for rule, pattern, keyword in _TEMPLATES:
        if keyword not in low:
            continue
        match = pattern.search(body)
        if match:
            groups = match.groupdict()
            title = groups.get("title") or groups.get("title2") or ""
            artist = groups.get("artist") or groups.get("artist2") or ""
            split = _finish(artist, title, rule, strict=False)
            if split:
                break

    if split is None and ("🎤" in body or "[" in body or "【" in body):
        split = _marked_split(body)
    if split is None and urls:
        lastfm = _lastfm_track(urls)
        if lastfm is not None:
            split = _Split(lastfm[0], lastfm[1], "lastfm_link")
    if split is None:
        rule_none = _non_song(body, low)

    if split is None and rule_none is None:
        if not body.isascii():  # every marker and emoji is outside ASCII
            body = _EMOJI_RE.sub("\n", _MARKER_RE.sub("\n", body))
        raw_lines = [line for line in body.split("\n") if line.strip()]
        if ":\n" in body or ": \n" in body:
            raw_lines = _join_colon_lines(raw_lines)
        lines = [_clean_line(line) for line in raw_lines]
        lines = [line for line in lines if line and not _only_residue(line)]
        radio_station: str | None = None
        for line in raw_lines if ("play" in low or "air" in low) else ():
            match = _RADIO_RE.match(_TIME_RE.sub(" ", line) if ":" in line else line)
            if match:
                radio_station = match.group("station")
                rest = _clean_line(match.group("rest"))
                sep = _separator_split(rest)
                split = _Split(sep.artist, sep.title, "radio_now_playing") if sep else None
                bot_format = True
                if split is None:
                    by = _by_split(rest)
                    split = _Split(by.artist, by.title, "radio_now_playing") if by else None
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
        if split is not None and split.rule in _ORDER_RULES and "@" in stripped:
            split = _mention_order(split, stripped)
        if split is not None and not bot_format and " on " in low and _STATION_TAIL_RE.search(body):
            bot_format = True
        if split is None:
            query = _strip_wrap(" ".join(lines))
            if (radio_station is not None and not query) or _STATION_ONLY_RE.match(query) or "📻" in text:
                rule_none = "none_station"
            elif query.startswith("¿") or query.endswith("?") or _chatter(query.split()):
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
        return CleanResult(
            "parsed", split.rule, split.artist, split.title, f"{split.artist} {split.title}", bot_format=bot_format
        )
    if stripped.upper() == "RT":
        return CleanResult("none", "none_rt")
    return CleanResult("none", rule_none or "none_empty", bot_format=bot_format)


# --- bots ------------------------------------------------------------------------------------
_BOT_APP_RE = re.compile(
    r"(?i)ifttt|dlvr\.?it|twitterfeed|buffer|hootsuite|zapier|socialoomph|radio|\bfm\b|now\s*playing|nowplaying|"
    r"\bbot\b|autopost|auto\s*post|airtime|sam\s*broadcaster|spinitron|live365|tunein|radioking|azuracast|"
    r"centova|icecast|shoutcast|mixlr|automat|\brss\b|feed"
)
_BOT_NAME_RE = re.compile(
    r"(?i)\bradio\b|\bfm\b|\d{2,3}[.,]\d\b|\bbot\b|nowplaying|now\s*playing|\bplaylist\b|\bdj\s*bot\b"
)


@lru_cache(maxsize=4096)
def _is_bot_app(name: str) -> bool:
    return bool(_BOT_APP_RE.search(name))


@lru_cache(maxsize=65536)
def _is_bot_name(name: str) -> bool:
    return bool(_BOT_NAME_RE.search(name))


def detect_bot(post: Post, bot_format: bool = False) -> bool:
    """Radio stations and automated accounts: the platform's bot flag, the posting app, the
    account name, or a fixed broadcast format in the text."""
    raw = post.raw
    if raw:
        account = raw.get("account")
        if isinstance(account, dict) and account.get("bot") is True:
            return True
        author = raw.get("author")
        if isinstance(author, dict) and author.get("bot") is True:
            return True
        app = raw.get("source")
        if isinstance(app, str) and app and _is_bot_app(app):
            return True
        application = raw.get("application")
        if isinstance(application, dict):
            name = application.get("name")
            if isinstance(name, str) and _is_bot_app(name):
                return True
    if post.author_name and _is_bot_name(post.author_name):
        return True
    return bot_format


def mark_rate_bots(posts: list[ParsedPost], per_hour: int = 20) -> int:
    """Batch-level evidence: an author with more than ``per_hour`` song posts in one hour is an
    automated account. Sets ``is_bot`` on all of that author's posts; returns how many changed."""
    counts: dict[tuple[str, str, str], int] = {}
    for post in posts:
        if post.kind != "none":
            key = (post.source, post.author_id, post.created_at[:13])
            counts[key] = counts.get(key, 0) + 1
    busy = {(source, author) for (source, author, _hour), n in counts.items() if n > per_hour}
    changed = 0
    if busy:
        for post in posts:
            if not post.is_bot and (post.source, post.author_id) in busy:
                post.is_bot = True
                changed += 1
    return changed


# --- the contract ----------------------------------------------------------------------------
def clean_post(post: Post) -> ParsedPost:
    """A Post's ParsedPost. Pure and total: any unexpected failure gives ``kind=none`` with
    ``rule=error_<ExceptionName>`` rather than an exception."""
    try:
        result = clean_text(post.text, post.urls)
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
    )


def clean_record(obj: Any) -> ParsedPost:
    """Validate a decoded JSON object as a Post (``RecordError`` names what is wrong), then clean."""
    return clean_post(Post.from_dict(obj))
