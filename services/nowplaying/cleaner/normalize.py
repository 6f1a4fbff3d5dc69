"""Stage 1, normalize: the text as plain Unicode, and what links say.

HTML entities decoded, NFC, controls dropped, spaces collapsed; Spotify track ids and last.fm track
links read from the URLs; the patterns of the markers, emoji, retweet prefixes, mentions and hashtags
that later stages remove; handles read as names ("@iamfoxes" -> "foxes").
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import unquote_plus

# --- links -----------------------------------------------------------------------------------
_SPOTIFY_TRACK_RE = re.compile(
    r"(?:open|play)\.spotify\.com/(?:intl-[a-zA-Z]{2}(?:-[a-zA-Z]{2,4})?/)?(?:embed/)?track/([A-Za-z0-9]{22})"
    r"|spotify:track:([A-Za-z0-9]{22})"
)
_LASTFM_TRACK_RE = re.compile(r"last\.fm/(?:[a-z]{2}/)?music/([^/?#\s]+)/_/([^/?#\s]+)", re.IGNORECASE)
_URL_RE = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|\b(?:open\.spotify\.com|spoti\.fi|spotify\.link|youtu\.be|bit\.ly|t\.co|music\.apple\.com|lnkd\.in)/\S*"
    r"|\bspotify:(?:track|album|playlist|artist):[A-Za-z0-9]+"
    # where an archive replaced a link: "URL603", "(URL1112)", "{link}" (issue 19: the words before a
    # link are a promotion, the words after it a comment, whatever stood for it)
    r"|(?-i:\bURL\d+\b)|\{link\}",
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
# (U+FFFD stays: inside a word it stands for a letter the archive lost, "Hochzeit Ohne G\ufffdste")
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# A dash or bullet that an archive decoded wrongly, standing between spaces: "Supertramp ï¿½ It's
# Raining Again", "Porter Robinson \x89Û¢ Divinity", "A â€“ T", "A \ufffd T". Read as a dash.
_MOJIBAKE_SEP_RE = re.compile("\\s(?:ï¿½|\ufffd|\x89Û¢|\x89ÛÒ|â€“|â€”|â€¢)\\s")
_ODD_SPACES = "\u00a0\u2000-\u200a\u202f\u205f\u3000"  # the spaces other than " " and tab
_SPACE_RE = re.compile(f"[ \t{_ODD_SPACES}]+")
# A text with none of the odd spaces, no tab and no "  " is unchanged by _SPACE_RE.
_ODD_SPACE_RE = re.compile(f"[{_ODD_SPACES}]")


def _collapse(text: str) -> str:
    """Runs of spaces (any Unicode space) as one space; the common case costs a few substring tests."""
    if "  " not in text and "\t" not in text and (text.isascii() or _ODD_SPACE_RE.search(text) is None):
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
        if "ï" in text or "\ufffd" in text or "\x89" in text or "â€" in text:
            text = _MOJIBAKE_SEP_RE.sub(" – ", text)
        text = unicodedata.normalize("NFC", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not ascii_text or not text.isprintable():  # printable ASCII has no controls ("\n" is not printable)
        text = _CONTROL_RE.sub("", text)
    return _collapse(text)


# Music markers and emoji act as boundaries: removed, leaving a line break or a space.
_MARKER_CHARS = "♪♫♬♩🎶🎵🎼🎧📻🔊🎤🎸🎹🥁🎷🎺📀💿▶►⏯"
_EMOJI_CHARS = (
    "\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2190-\u21ff\u2300-\u23ff\ufe0f\u200d"
    "\U000e0000-\U000e007f\u2700-\u27bf"
)
_MARKER_RE = re.compile(f"[{_MARKER_CHARS}]+\ufe0f?")
_EMOJI_RE = re.compile(f"[{_EMOJI_CHARS}]+")
# Every character that _MARKER_RE or _EMOJI_RE matches (one scan finds whether either has work).
_BOUNDARY_CHAR_RE = re.compile(f"[{_MARKER_CHARS}{_EMOJI_CHARS}]")
_RT_PREFIX_RE = re.compile(r"^\s*RT\s*@[\w.]+(?:@[\w.-]+)?\s*:?\s*", re.IGNORECASE)
_MENTION_RE = re.compile(r"(?<![\w@/])@(\w{1,30})(?:@[\w.-]+\w)?")
_HASHTAG_RE = re.compile(r"(?<![\w#&/])#(\w+)")
# (a hashtag may hold U+2010 HYPHEN, as BBC Radio 3's bot writes "#camillesaint‐saëns")
_EDGE_TAGS_RE = re.compile(r"^(?:\s*#\w+[\s:,;.!-]*)+|(?:\s*[#@][\w‐]+(?:@[\w.-]+\w)?[\s,;.!]*)+$")
# "@a @b text": a reply prefix, unless a separator follows (then the mention is the artist).
_REPLY_PREFIX_RE = re.compile(r"^(?:\s*@\w+(?:@[\w.-]+\w)?)+(?![\w@]|\s*[-–—:|•·/,&])\s*")


_HANDLE_PREFIXES = ("thereal", "official", "iam", "its")
_HANDLE_SUFFIXES = ("_official", "official", "music", "oftv", "_twt", "vevo", "live", "band", "tv", "hq")


def handle_name(handle: str) -> str:
    """An artist's name from the handle used as the artist ("iamfoxes" -> "foxes", "Adeshamusic" ->
    "Adesha", "BTS_twt" -> "BTS", "PepperLive" -> "Pepper"): one leading "iam"/"its"/"thereal"/
    "official" and one trailing "music"/"official"/"live"/"tv"/"oftv"/"band"/"hq"/"vevo"/"_twt"/
    "_official" go (case-insensitive) when at least three characters remain; underscores become
    spaces."""
    name = handle.lstrip("@")
    low = name.casefold()
    for prefix in _HANDLE_PREFIXES:
        if low.startswith(prefix) and len(name) - len(prefix) >= 3:
            name, low = name[len(prefix) :], low[len(prefix) :]
            break
    for suffix in _HANDLE_SUFFIXES:
        if low.endswith(suffix) and len(name) - len(suffix) >= 3:
            name = name[: -len(suffix)]
            break
    return " ".join(name.replace("_", " ").split()) or handle


def _handle_name_sub(match: re.Match[str]) -> str:
    return handle_name(match.group(1))


def _handle_sub(match: re.Match[str]) -> str:
    return match.group(1) + handle_name(match.group(2))


def _join_colon_lines(lines: list[str]) -> list[str]:
    """'Tears for Fears:' / 'Pale shelter' on two lines read as one 'Tears for Fears: Pale shelter'."""
    out: list[str] = []
    for line in lines:
        if out and out[-1].rstrip().endswith(":") and len(out[-1].split()) <= 4:
            out[-1] = f"{out[-1].rstrip()} {line.strip()}"
        else:
            out.append(line)
    return out


_MARKER_BRACKET_RE = re.compile(r"(?i)[\[(【]\s*(?:now\s*playing|np|on\s*air|now\s*on\s*air)\s*:?\s*[\])】]\s*:?")
