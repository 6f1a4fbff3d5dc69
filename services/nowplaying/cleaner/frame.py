"""Stage 2, frame: the fixed shapes a post comes in, before any separator is looked at.

Service templates (Pandora, last.fm, Spotify's share sheet, BeatFind, "I'm listening to T by A on
S"), radio and bot formats ("Now Playing on S: A - T"), "Artist: / Song:" fields and emoji-marked
lines, and whether the wording is a station's (``bot_text``).
"""

from __future__ import annotations

import re

from nowplaying.cleaner.shared import _Split
from nowplaying.cleaner.split import _TITLE_MARK_RE, _finish, _mention_artist
from nowplaying.cleaner.tidy import _clean_line, _strip_wrap

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
            # the title never runs past "via @lastfm" (a comment after it may hold another "by")
            r"(?i)^(?=[\s\S]*last\.?fm).*?\bI(?:['’]m| am) listening to (?P<title>(?:(?!\s+via\s+@?last\.?fm\b).)+)"
            r" by (?P<artist>.+?)"
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
            # a quoted title wins: a "by" inside the quotes is part of it ("Stand By the Harbor")
            r"(?i)\b(?:I(?:['’]m| am)|I'm currently|currently) listening to "
            r"(?:[\"“](?P<title>[^\"“”\n]+)[\"”]|(?P<title2>.+?)) by "
            r"(?P<artist>.+?)(?:\s+(?:on|via|in|@)\s+\S.*|\s+(?:right\s+now|at\s+full\s+(?:volume|blast))\b.*|\s*$)",
            re.M,
        ),
        "listening to",
    ),
)


def _first_share_artist(artists: str) -> str:
    """Spotify's share text joins the credited artists with ", ": the first is the part before the
    first ", " ("Arin Ray, Kehlani" -> "Arin Ray"). A name that has a comma of its own stays whole:
    "Tyler, The Creator", and names listing members with "&"/"and" ("Earth, Wind & Fire")."""
    first, rest = artists.split(", ", 1)
    if rest.startswith(("The ", "the ")) or " & " in rest or " and " in rest:
        return artists
    return first


_AUTOMATED_TEMPLATES = frozenset(["template_pandora", "template_lastfm", "template_spotify_share", "template_beatfind"])

# "Now Playing on WXYZ 101.5: Artist - Title", "#NowPlaying @ Radio X: Artist - Title"
_RADIO_RE = re.compile(
    r"""(?ix)^\s*
    (?:\#?now\s*playing|\#?np|on\s+air|playing|now\s+on\s+air|currently\s+playing)\s*
    (?:on|at|@|in)\s+(?P<station>[^:\n]{2,60}?)\s*[:|]\s*(?P<rest>.+)$"""
)


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


_BOT_KEYWORDS_RE = re.compile(r"(?i)playing|listen|tune|air\b")
# A station's fixed wording. Split by the word each part needs, so most posts skip the regexes.
_BOT_NOW_ON_RE = re.compile(r"(?i)^\s*#?now\s*playing\s*(?:on|at|@)\s")
_BOT_LISTEN_RE = re.compile(r"(?i)\blisten\s+(?:live|now)\b")
_BOT_TUNE_RE = re.compile(r"(?i)\btune\s+in\b")
_BOT_AIR_RE = re.compile(r"(?i)\bon\s+air\b")
# "(Radio Edit)" is a version of a song, not a station
_BOT_RADIO_RE = re.compile(
    r"(?i)\b(?:radio(?!\s+(?:edit|mix|version|cut))|fm)\b.*\b(?:now\s*playing|#np)\b"
    r"|\b(?:now\s*playing|#np)\b.*\b(?:radio(?!\s+(?:edit|mix|version|cut))|\d{2,3}[.,]\d\s*fm)\b"
)


def _bot_text(body: str, low: str) -> bool:
    """Does the text use a radio station's fixed wording ("Now playing on X", "listen live", "on air",
    "tune in", a station named beside "now playing")? ``low`` is ``body.lower()``."""
    if "playing" in low and low.lstrip().startswith(("now", "#now")) and _BOT_NOW_ON_RE.match(body):
        return True
    if "listen" in low and _BOT_LISTEN_RE.search(body):
        return True
    if "tune" in low and _BOT_TUNE_RE.search(body):
        return True
    if "air" in low and _BOT_AIR_RE.search(body):
        return True
    return ("radio" in low or "fm" in low) and ("playing" in low or "#np" in low) and bool(_BOT_RADIO_RE.search(body))


def match_template(body: str, low: str) -> _Split | None:
    """The artist and title a service template names (``low`` is ``body.lower()``)."""
    for rule, pattern, keyword in _TEMPLATES:
        if keyword not in low:
            continue
        match = pattern.search(body)
        if match:
            groups = match.groupdict()
            title_group = "title" if groups.get("title") else "title2"
            artist_group = "artist" if groups.get("artist") else "artist2"
            title = groups.get(title_group) or ""
            artist = groups.get(artist_group) or ""
            # a slot ends where the template's next word starts: its final full stop is the name's
            # ("Zzyzx Rd.", "Fun."), except at the very end of a human-typed line
            artist_bounded = rule in _AUTOMATED_TEMPLATES or bool(body[match.end(artist_group) :].strip())
            if rule == "template_spotify_share" and ", " in artist:
                artist = _first_share_artist(artist)
            split = _finish(artist, title, rule, False, artist_bounded, True)
            if split:
                return split
    return None


# Templates that name a title and no artist: Pandora's station share ("I am listening to Day By Day on
# #Pandora's Incognito Radio": the station is never the artist) and
# SoundCloud's upload share ("My new sounds: War Zone <link> on #SoundCloud").
_TITLE_ONLY: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        "template_pandora_station",
        # a lower-case " by " names the artist (then it is the artist template: "Holiday by Green Day on
        # #Pandora's Punk Radio"); a capitalised one is the title's ("Day By Day")
        re.compile(r"(?i)\bI(?:['’]m| am) listening to (?P<title>(?:(?!(?-i: by ))[^\n])+?) on #?Pandora['’]s\s"),
        "pandora",
    ),
    (
        "template_soundcloud_upload",
        re.compile(r"(?i)^\s*my new sounds:\s*(?P<title>[^\n]+?)\s*(?:\n|$)(?=[\s\S]*soundcloud)"),
        "my new sounds",
    ),
)
# How sure a title-only template's title is (templates were right on the dev half; the catalog must
# still find the artist).
TITLE_ONLY_CONFIDENCE = 0.6


def match_title_only(body: str, low: str) -> tuple[str, str] | None:
    """(rule, title) of a template that names no artist."""
    for rule, pattern, keyword in _TITLE_ONLY:
        if keyword in low:
            match = pattern.search(body)
            if match:
                title = _strip_wrap(match.group("title"), keep_dot=True)
                if title:
                    return rule, title
    return None
