"""Stage 4, tidy: what goes around a song's artist and title.

Edge hashtags and mentions, noise phrases ("listen live", "via @x", "out now"), lead-in verbs and
other languages' "listening to" frames, times, station tails ("on Radio X 101.5"), wrapping quotes and
brackets, final stops, version tags in Spotify's spelling, comments after a title.
"""

from __future__ import annotations

import re

from nowplaying.cleaner.normalize import (
    _EDGE_TAGS_RE,
    _HASHTAG_RE,
    _MENTION_RE,
    _collapse,
    _handle_name_sub,
    _handle_sub,
)
from nowplaying.cleaner.shared import (
    _ELISION_RE,
    _abbreviation_dot,
    _drop_final_dot,
    _is_cased_word,
    _is_lower_word,
    any_key_re,
    dash_search,
)

# "Listening to" framed in other languages; in es/fr/it/pt the frame's "de"/"di"/"par" means "by"
# ("Escuchando Noche de Verano de Rocío Núñez", "J'écoute Sal Rota de La Sonora Dorada").
_FRAME_RE = re.compile(
    r"(?i)^\s*(?:(?P<by>j['’]\s?écoute|j['’]\s?ecoute|(?:estoy\s+)?escuchando|(?:sto\s+)?ascoltando|(?:estou\s+)?ouvindo"
    r"|ich\s+höre(?:\s+gerade)?|höre\s+gerade)|jetzt\s+läuft\s*:?|(?:lagi|sedang)\s+(?:dengerin|dengar|mendengarkan)\s*:?|сейчас\s+(?:играет|слушаю)\s*:?|слушаю|今聴いてる|"
    r"지금\s+듣는\s+노래|أستمع\s+الآن\s+إلى)\s+"
)
_FRAME_BY_RE = re.compile(r"\s(?:de|di|par|von)\s(?!.*\s(?:de|di|par|von)\s)")
_FRAME_TAIL_RE = re.compile(r"(?i)\s+(?:agora|ahora|maintenant|adesso|jetzt|gerade)\s*$")
_FRAME_FIRST = frozenset("jJeEsSaAoOiIhHlLсС今지أ")
_LEAD_VERB_RE = re.compile(
    r"(?i)^(?:\d{1,3}[.)]\s+|(?:(?:i['’]?m\s+|currently\s+|now\s+|just\s+)?(?:listening|vibing|jamming|grooving|bopping"
    r"|dancing|chilling|rocking\s+out|singing\s+along)\s+to|np|stream|listen\s+to|check\s+out|new|out\s+now|premiere|bumping|blasting)\s*:?\s+)"
)
# Cheap test before _LEAD_VERB_RE: how a line it could change starts (lower-cased).
_LEAD_VERB_PREFIXES = (
    "i'm", "i’m", "im ", "currently", "now", "just", "listening", "vibing", "jamming", "grooving", "bopping",
    "dancing", "chilling", "rocking", "singing", "np", "stream", "listen", "check", "new", "out now", "premiere",
    "bumping", "blasting", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
)  # fmt: skip

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
    ^\s*is\s+(?:now\s*playing|scrobbling)\b\s*:?  # a status line whose subject went ("is now playing: A - T")
    | \b(?:listen|tune)\s+(?:in\s+)?(?:now|live|here|in|at|to\s+us|on\s+air)\b[!.:]*
    | \bvia\s+@?\w+(?:@[\w.-]+\w)?
    | \b(?:out\s+now(?:\s+everywhere)?|new\s+(?:music|single|song|track)|just\s+released)\b[!.:]*
    | \b(?:song|track|tune)\s+of\s+the\s+(?:day|week)\b[!.:]*
    | \b(?:now|currently)\s*[-_]?\s*(?:playing|spinning|streaming|listening(?:\s+to)?|on\s+air)\b[!.:]*
    | \bplaying\s+now\b[!.:]*
    | \bon\s+air\b[!.:]*
    | \bnp\b\s*:
    | \b(?:click|tap)\s+(?:here|to\s+listen)\b[!.:]*
    | [(\[](?:\s*(?:official|offical)\s+(?:music\s+|lyric\s+)?(?:video|audio|album)|\s*lyrics?(?:\s+video)?
             |\s*audio|\s*hd|\s*hq|\s*visuali[sz]er|\s*(?:music\s+)?video|\s*(?:full\s+)?album
             |\s*subtitulad[oa])\s*[)\]]
    | \*\*new\*\*
    | \b(?:on|@)\s+\#?(?:spotify|apple\s*music|youtube(?:\s+music)?|deezer|soundcloud|tidal|pandora
                      |itunes|amazon\s+music)\b
    """
)
# Substrings one of which every noise phrase contains (a cheap test before the regex).
# (Lines are split and their spaces collapsed first, so "out now" stands for "out\s+now".)
_NOISE_KEYS = (
    "listen", "tune", "via", "out now", "new ", "released", " of the ", "playing", "spinning", "streaming",
    "scrobbling", "on air", "np:", "np :", "click", "tap", "official", "lyric", "audio", "hd", "hq", "visuali",
    "spotify",
    "apple", "youtube", "deezer", "soundcloud", "tidal", "pandora", "itunes", "amazon", "offical", "video",
    "album", "subtitulad", "**new**",
)  # fmt: skip
_NOISE_KEY_RE = any_key_re(_NOISE_KEYS)
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
# "Adele - Hello on @BBCRadio2": where it plays, at the end of the line (lower-case "on": "Hold On
# @adele" keeps its title).
_DANGLING_PLACE_RE = re.compile(r"\s+(?:on|at|from|live\s+on)\s*$")
_ON_MENTION_END_RE = re.compile(
    r"\s+(?:on|at|from|live\s+on)\s+@\w+(?:@[\w.-]+\w)?(?=(?:[\s,;.!]+[#@]\w+(?:@[\w.-]+\w)?)*[\s,;.!]*$)"
)
# "Title - @artist" at the end of a line: the mention is the artist, not a credit to drop.
_BY_MENTION_RE = re.compile(r"(?i)(\bby:?\s+)@(\w{1,30})")
_SEP_MENTION_END_RE = re.compile(r"(\s[-–—|/•·:]\s*)@(\w{1,30})\s*$")


# A station's or a poster's tail after "Artist - Title": a call to listen, tune in, download, visit or
# vote, "being played on", a listener count, "on #Station #tags" to the end of the line, a
# "#nowplaying on <station>", a sponsor. Cut where it starts, with the separator that led to it
# (issue 19: "listen at ...", "hear it now", "presented by ...", the words before a link).
_PROMO_TAIL_RE = re.compile(
    r"""(?ix)\s*(?:\s-{1,2}|\s\||::|->|\s~)?\s+(?:
        (?:listen(?:\s+live|\s+now|\s+at|\s+on|\s+here|\s*,\s*like)?|tune\s+in|hear\s+it|download\s+it|visit
          |escuch\w+|vote|follow\s+us|subscribe|buy\s+it)\b
      | being\s+played\b | heard\s+by\s+\d+ | \d+\s+(?:listeners|auditeurs|h[öo]rer)\b
      | (?:on|at|en)\s+\#(?!(?:nowplaying|np|nowlistening|music)\b)\w+(?=(?:[\s,;.!|–-]+[\#@]\w+)*[\s,;.!|–-]*$)
      | \#nowplaying\s+on\b | (?:presented|powered|sponsored)\s+by\b
    ).*$"""
)
_PROMO_TAIL_KEYS = (
    "listen", "tune", "hear", "download", "visit", "escuch", "vote", "follow", "subscribe", "buy", "played", "heard",
    "listeners", "auditeurs", "hörer", "horer", " on #", " at #", " en #", "#nowplaying on", "presented",
    "powered", "sponsored",
)  # fmt: skip
_PROMO_TAIL_KEY_RE = any_key_re(_PROMO_TAIL_KEYS)


def _cut_promo_tail(line: str) -> str:
    """'Noel Lorica - Last Dance Heard by 100 listeners at' -> 'Noel Lorica - Last Dance': only after
    a dash, and only when a word of the title stays."""
    if not _PROMO_TAIL_KEY_RE.search(line.lower()):
        return line
    dash = dash_search(line)
    if dash is None:
        return line
    match = _PROMO_TAIL_RE.search(line, dash.end())
    if match is None or not any(ch.isalnum() for ch in line[dash.end() : match.start()]):
        return line
    return line[: match.start()]


# A preposition left dangling at the end of a line after a dash or a closing bracket, where a link
# stood ("Celebrate (The Love) (Original Version) - en <link>", "Summer Rain (136 Bpm Mix) on <link>"):
# the words before a link, never a title's ("Hold On" has no dash or bracket before its "On").
_LINK_LEAD_TAIL_RE = re.compile(r"(?:\s+[-–—|]|(?<=[)\]]))\s+(?:on|en|at|via|@)\s*$", re.IGNORECASE)


# What may follow the last "#" or "@" of a line that ends in tags or mentions (_EDGE_TAGS_RE's end).
_NOT_TAG_TAIL_RE = re.compile(r"[^\w‐.\-\s,;!]")


def _edge_tags_possible(line: str) -> bool:
    """Can _EDGE_TAGS_RE match: does the line open with a hashtag, or is all after its last "#" or "@"
    a tag's or mention's characters? (The pattern can start anywhere, so on most lines it tries every
    position; this test is one scan of the tail.)"""
    if line.lstrip()[:1] == "#":
        return True
    last = max(line.rfind("#"), line.rfind("@"))
    return last >= 0 and _NOT_TAG_TAIL_RE.search(line, last + 1) is None


def _clean_line(line: str) -> str:
    """One line of a post, with edge hashtags/mentions and noise removed; mid-text mentions kept
    with their '@' (evidence for the artist slot), mid-text hashtags unwrapped."""
    line = _cut_promo_tail(line)
    if line.rstrip()[-3:].lower().endswith(("on", "en", "at", "via", "@")):
        line = _LINK_LEAD_TAIL_RE.sub("", line)
    if "@" in line:
        line = _SEP_MENTION_END_RE.sub(_handle_sub, line)
        if "by" in line:
            line = _BY_MENTION_RE.sub(_handle_sub, line)
        line = _VIA_RE.sub(" ", line)
    if "#" in line or "@" in line:
        on_mention = (
            "@" in line
            and (" on " in line or " at " in line or " from " in line)
            and _ON_MENTION_END_RE.search(line) is not None
        )
        if _edge_tags_possible(line):
            line = _EDGE_TAGS_RE.sub(" ", line)
        if on_mention:  # the closing tags went, and so does the "on" that led to them
            line = _DANGLING_PLACE_RE.sub(" ", line)
        if "#" in line:
            line = _HASHTAG_RE.sub(_clean_tag, line)
    if _NOISE_KEY_RE.search(line.lower()):
        line = _NOISE_PHRASES_RE.sub(" ", line)
    lead = line.lstrip()
    if lead[:10].lower().startswith(_LEAD_VERB_PREFIXES):
        line = _LEAD_VERB_RE.sub("", lead)
    if line[:1] in _FRAME_FIRST or line[1:2] in _FRAME_FIRST:
        frame = _FRAME_RE.match(line)
        if frame:
            line = _FRAME_TAIL_RE.sub("", line[frame.end() :])
            if frame.group("by") and not dash_search(line):
                line = _FRAME_BY_RE.sub(" by ", line, count=1)
    if ":" in line:
        line = _TIME_RE.sub(" ", line)
    line = _collapse(line).lstrip(_LINE_LEFT)
    end = line.rstrip(_LINE_RIGHT)
    if "«" in end and "»" not in end and "»" in line[len(end) :]:
        end += "»"
    line = end
    if line.endswith("!!") or (
        line.endswith(".") and (line.endswith("..") or not _abbreviation_dot(line, len(line) - 1))
    ):
        line = line.rstrip("!.").rstrip(_LINE_RIGHT)
    return line


# "Artist - Title | Station" or "Artist - Title on Station 101.5 FM" or "... - Listen at ..."
_STATION_WORDS = r"(?:radio|fm|am|\d{2,3}[.,]\d|live|stream|online|web\s*radio|hits|station|tunein)"
_STATION_TAIL_RE = re.compile(
    r"(?i)\s+(?:(?:on|@|at)\s+(?:the\s+)?#?[\w.&'’ -]{0,40}?" + _STATION_WORDS + r"\b.*"
    r"|[|]\s*[^|]*" + _STATION_WORDS + r"\b.*)$"
)
_ON_STATION_FLAG_RE = re.compile(r"(?i)\bon\s+(?:the\s+)?#?[\w.&'’ -]{0,40}?" + _STATION_WORDS + r"\b")
_TRAIL_END = frozenset(" \t\n,;:")
_TRAIL_NOISE_RE = re.compile(
    r"(?i)[\s,;:]+$|\s+(?:on|via)\s+(?:spotify|apple\s*music|youtube|deezer|soundcloud|pandora)\b.*$"
)


_RIGHT_STRIP = frozenset(' \t\n-–—~|•·/\\:;,*_=>»<"“”‘’„`´&…')
# A closing character stays when its opening one is in the part ("~Choi katame~", "<ballad>", "B****").
_PAIRS = {'"': '"', "”": "“", "’": "‘", ">": "<", "»": "«", "~": "~", "-": "-", "*": "*", "'": "'"}


def _strip_wrap(part: str, keep_dot: bool = False) -> str:
    """Strip spaces, dashes and outer quotes; keep a closing bracket that belongs to the title, and
    a final full stop of an abbreviation or initialism (any final stop when ``keep_dot``: the part
    is a template slot, bounded by the template's own words)."""
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
    if part.endswith(".") and not keep_dot:
        part = _drop_final_dot(part)
    if part.count("(") < part.count(")") and part.endswith(")"):
        part = part[:-1]
    if part.count("(") > part.count(")"):
        cut = part.rfind("(")
        if cut > 0 and ")" not in part[cut:]:
            part = part[:cut].strip()
    if len(part) > 2 and part[0] == part[-1] == "'" and not part.endswith("in'"):
        part = part[1:-1].strip()  # "'Life's Too Short'": wrapping quotes are not the title's
    if part.startswith("'") and part.count("'") == 1 and not _ELISION_RE.match(part):
        part = part[1:]
    if part.endswith("'") and part.count("'") == 1 and not part.endswith("in'"):
        part = part[:-1]
    if "@" in part:
        part = _MENTION_RE.sub(r"\1", part)
    return _collapse(part).strip()


_ARTIST_GUEST_RE = re.compile(
    r"(?i)\s*(?:\(\s*(?:feat\.?|ft\.?|featuring)\s[^)]*\)|\s(?:feat\.?|ft\.?|featuring)\s.*)$"
)


_ARTIST_WITH_RE = re.compile(r"(?i)^(?:w/|w|with)\s+(?=\S)|\s+w/.*$")


# A version tag as the whole content of a trailing bracket; Spotify writes it after " - ".
_VERSION_TAG_RE = re.compile(
    r"""(?ix)^(?:
        (?:[\w'’.&+-]+\s+){0,4}(?:re)?mix | (?:[\w'’.&+-]+\s+){0,3}edit
      | remaster(?:ed)?(?:\s+(?:version\s+)?\d{4})? | \d{4}\s+(?:digital\s+)?remaster(?:ed)?(?:\s+version)?
      | live(?:\s+(?:at|from|in|on)\s+.{1,60})? | acoustic(?:\s+version)? | instrumental | sped\s*up
      | slowed(?:\s*(?:\+|&|and)\s*reverb)? | extended(?:\s+(?:mix|version))?
      | (?:[\w.&+-]+\s+){0,3}version | mono | stereo | demo
    )$"""
)
# Every alternative of _VERSION_TAG_RE holds one of these words (a test before the regex, for ASCII
# tags: IGNORECASE also folds a few non-ASCII letters, "ſ" as "s").
_VERSION_TAG_KEY_RE = any_key_re(
    ("mix", "edit", "remaster", "live", "acoustic", "instrumental", "sped", "slowed", "extended", "version", "mono",
     "stereo", "demo")
)  # fmt: skip


def version_tag(tag: str) -> bool:
    """The whole of ``tag`` is a version tag ("Radio Edit", "Remastered 2012", "Live at Wembley")."""
    if tag.isascii() and not _VERSION_TAG_KEY_RE.search(tag.lower()):
        return False
    return _VERSION_TAG_RE.match(tag) is not None


_TRAILING_BRACKET_RE = re.compile(r"\s*(?:\((?P<p>[^()]{1,80})\)|\[(?P<b>[^\[\]]{1,80})\])$")


def spotify_version(title: str) -> str:
    """A trailing bracketed version tag in Spotify's spelling: "Silent Night (Hip Hop Mix)" ->
    "Silent Night - Hip Hop Mix", "C'Mon Everybody (Remastered 2012)" -> "C'Mon Everybody -
    Remastered 2012". Guests ("(feat. X)", "(with X)") and "(Taylor's Version)" stay in brackets, as
    Spotify writes them; the tag keeps the post's case."""
    match = _TRAILING_BRACKET_RE.search(title)
    if not match or match.start() == 0:
        return title
    tag = " ".join((match.group("p") or match.group("b") or "").split())
    if not version_tag(tag) or tag.casefold().startswith(("feat", "ft", "with")):
        return title
    head = title[: match.start()].rstrip(" -–—")
    return f"{head} - {tag}" if head else title


# A guest bracket in a title; the guests it tags are named by their handles.
_GUEST_BRACKET_RE = re.compile(r"(?i)[(\[]\s*(?:feat\.?|ft\.?|featuring|with|w/)[^)\]]*[)\]]")


def _guest_names(match: re.Match[str]) -> str:
    return _MENTION_RE.sub(_handle_name_sub, match.group())


_TITLE_SENTENCE_END_RE = re.compile(r"(?<=[!?.])\s+(?=\S)")


def _cut_title_comment(title: str) -> str:
    """'Hey Ya! I love this track so much, takes me back': a comment after the title's last word
    goes (a sentence of four words or more, mostly lower case); "Oops!... I Did It Again" stays."""
    for match in _TITLE_SENTENCE_END_RE.finditer(title):
        rest = title[match.end() :].split()
        cased = [w for w in rest if _is_cased_word(w)]
        lower = sum(_is_lower_word(w) for w in cased)
        if len(rest) >= 4 and lower * 2 > len(cased):
            head = title[: match.start()]
            return head[:-1] if head.endswith(".") and not _abbreviation_dot(head, len(head) - 1) else head
    return title
