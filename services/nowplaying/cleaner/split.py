"""Stage 3, split: one line into an artist and a title.

Quoted titles, "Title by Artist", separators ("A - T" in every dash, "•", "·", "|", "/", ":"),
"Title (Artist)"; which side is the artist is decided from evidence (a "by", a mention, a version or
guest mark, title words, a person's name) and defaults to artist first. Each side is finished by
``tidy`` and checked by ``classify`` (``finish``).
"""

from __future__ import annotations

import re

from nowplaying.cleaner.classify import _RELATION_RE, _plausible
from nowplaying.cleaner.normalize import _MENTION_RE, _handle_name_sub, handle_name
from nowplaying.cleaner.shared import (
    _PROSE_WORDS,
    _WORD_RE,
    MAX_ARTIST_WORDS,
    _abbreviation_dot,
    _is_lower_word,
    _only_residue,
    _person_name,
    _sentence_case,
    _sentence_like,
    _Split,
    _starts_with_given_name,
    _title_words,
    _trailing_title,
    dash_search,
    dash_split,
)
from nowplaying.cleaner.tidy import (
    _ARTIST_WITH_RE,
    _GUEST_BRACKET_RE,
    _LEAD_VERB_RE,
    _STATION_TAIL_RE,
    _STRIP_CHARS,
    _TRAIL_END,
    _TRAIL_NOISE_RE,
    _cut_title_comment,
    _guest_names,
    _strip_wrap,
    spotify_version,
)

_Q_OPEN = "\"“”„«「『‘'"
_Q_CLOSE = "\"”“»」』’'"
_SOFT_SEP_RE = re.compile(r"\s+(?:[|•·∙●◦]|//|/|::|>>|»)\s+")
_COLON_RE = re.compile(r"^(?P<left>[^:]{2,60}?)\s*[:：]\s+(?P<right>.+)$")
_BY_RE = re.compile(r"(?<!\S)by(?=\s)", re.IGNORECASE)
_BY_BAD_RIGHT = re.compile(
    r"(?i)^(?:me|you|my|your|myself|yourself|now|side|the\s+way|a\s+thread|far|default|heart|day|night)\b"
)
# Single quotes: an apostrophe between letters ("Don't") or an elision opening the title ("'Til")
# stays inside; "Rock 'n' Roll" is not a quote.
_QUOTED_RE = re.compile(
    r"[\"“„«「『](?P<q>[^\"“”„«»「」『』\n]{1,120})[\"”»」』“]"
    r"|(?<!\w)['‘](?![nN]['’])(?P<s>(?:['’](?=(?i:til|cause|bout|round|em|n|tis|twas)\b))?(?:[^'‘’\n]|(?<=\w)['’](?=\w)){1,120})"
    r"['’](?!\w)"
)
_FEAT_RE = re.compile(r"(?i)\((?:feat\.?|ft\.?|featuring|with)\s[^)]*\)|\[(?:feat\.?|ft\.?|featuring)\s[^\]]*\]")
_TITLE_MARK_RE = re.compile(
    r"(?i)[(\[][^)\]]*\b(?:remix|edit|mix|version|ver\.?|remaster(?:ed)?|live|acoustic|instrumental|demo|"
    r"cover|extended|original|radio|unplugged|rework|bootleg|vip|dub)\b[^)\]]*[)\]]"
)
_ARTIST_FEAT_RE = re.compile(r"(?i)\s(?:feat\.?|ft\.?|featuring|x|&|and|vs\.?)\s")


# A poster's comment after a side, behind a comma or an ellipsis: "JayZ & Kanye, cant wait to see the
# live in June", "Armin Van Buuren ...and I will live 2day", "small black ... i think i like their EP".
_SIDE_COMMENT_RE = re.compile(r"\s*(?:,|\.{2,}|…)\s*(?=\S)")


def _cut_side_comment(part: str) -> str:
    """The side up to a comma or ellipsis after which three words or more follow, most in lower case."""
    if "," not in part and ".." not in part and "…" not in part:
        return part
    for match in _SIDE_COMMENT_RE.finditer(part):
        rest = part[match.end() :].split()
        lower = sum(_is_lower_word(word) for word in rest)
        if match.start() > 0 and len(rest) >= 3 and lower * 2 > len(rest):
            return part[: match.start()]
    return part


def _drop_uploader(split: _Split, low: str) -> _Split:
    """'Listen to Apollo Brown - Detonate (feat. M.O.P.) by Mello Music Group on #SoundCloud': on a
    SoundCloud share the "by" after "A - T" names the uploader, not the artist."""
    if "soundcloud" in low and split.rule.startswith("dash") and " by " in split.title:
        title = split.title.split(" by ", 1)[0].rstrip()
        if title:
            return _Split(split.artist, title, split.rule, split.commented)
    return split


def _finish(
    artist: str, title: str, rule: str, strict: bool = True, keep_artist_dot: bool = False, keep_title_dot: bool = False
) -> _Split | None:
    if "@" in title:
        title = _GUEST_BRACKET_RE.sub(_guest_names, title)  # "Life Is Good (feat. @Drake)"
    if strict and "@" in title and _MENTION_RE.search(title):
        return None  # "CEO of @3musicAwards": a title does not tag an account
    if "@" in artist:
        artist = _MENTION_RE.sub(_handle_name_sub, artist)
    artist = _strip_wrap(artist, keep_artist_dot)
    if "w" in artist:  # "“Indigo” w @MOONZz", "Dr. John w/Lukas Nelson": the first-named artist
        artist = _ARTIST_WITH_RE.sub("", artist) or artist
    if " on " in title or "@" in title or " at " in title or "|" in title:
        title = _STATION_TAIL_RE.sub("", title)
    if title[-1:] in _TRAIL_END or " on " in title or " via " in title or " On " in title or " Via " in title:
        title = _TRAIL_NOISE_RE.sub("", title)
    if strict and (". " in title or "! " in title or "? " in title):
        title = _cut_title_comment(title)
    commented = False
    if strict:
        # a quoted title is bounded by its quotes ("guala shit Featuring: chase-da-doe,r.o.m.e.,and ...")
        cut_artist = _cut_side_comment(artist)
        cut_title = title if rule.startswith("quoted") else _cut_side_comment(title)
        commented = (cut_artist, cut_title) != (artist, title)
        artist, title = cut_artist, cut_title
    title = _strip_wrap(title, keep_title_dot)
    if strict and title[-1:] == ")":  # "[Live]" stays as written
        title = spotify_version(title)
    if _plausible(artist, title, strict):
        return _Split(artist, title, rule, commented)
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
    if (
        rule != "colon"
        and left_ev == right_ev == 0
        and _person_name(right)
        and not _starts_with_given_name(left)
        and _title_words(right, True) == 0
    ):
        split = _finish(_mention_artist(right), left, rule + "_title_first_name")  # "Praise — Marvin Gaye"
        if split:
            return split
    return _finish(_mention_artist(left), right, rule)


_LEAD_MENTION_RE = re.compile(r"^\s*[\"“'‘]?@(\w{1,30})\b\s*(\S.*)?$")


def _mention_artist(part: str) -> str:
    """'@dvsn with a lil sample from @johnlegend' as the artist side: the mention is the artist."""
    match = _LEAD_MENTION_RE.match(part)
    if match and match.group(2) and not match.group(2).startswith(("&", "x ", "and ", "feat", "ft")):
        return handle_name(match.group(1))
    return part


# Where an artist named after "by" ends: a clause ("on Spotify", "prod. by", "which samples", "is").
_ARTIST_END_RE = re.compile(
    r"(?i)\s+(?:in\s+honou?r|from\s+(?:the|his|her|my)|off\s+(?:the|his|her)|on\s+repeat|(?:live\s+)?on\b|prod\b\.?"
    r"|right\s+now|at\s+full\s+(?:volume|blast)"  # the listener's words after the name
    r"|produced|which|that|who|is|was|are|were|and\s+(?:it|this|i)\b|w/|with\s+(?:a|the|some)\b)\b.*"
    r"|(?<![A-Z])[!?,;(](?:\s|$).*|\s*\(.*|\s+[|•·]\s.*|\n.*|(?-i:\s+I\s+[a-z]).*"
    # the app's words after the artist ("T by A, from #SoundHound", "T by A with #Shazam", "found
    # with @Shazam"): the tags go first, the words that led to them stay
    r"|,?\s+(?:from|(?:found\s+)?with)\s*$|,\s+found\s+with\b.*|,?\s+(?:from|with)\s+#?(?:soundhound|shazam)\b.*",
    re.S,
)
# Where a title named before "by" starts: after the last sentence break or lead-in.
_BREAK_RE = re.compile(r"[.!?…:]\s+|\n")
_DOT_END_RE = re.compile(r"(?<![A-Z])\.(?:\s|$)")


def _after_last_break(text: str) -> str:
    ends = [m.end() for m in _BREAK_RE.finditer(text) if m.group()[0] != "." or not _abbreviation_dot(text, m.start())]
    while ends and not text[ends[-1] :].strip():
        ends.pop()
    return text[ends[-1] :] if ends else text


def _cut_at_sentence_end(text: str) -> str:
    """The text up to its first full stop that ends a sentence ("Dr. Dre", "Vol. 2" go on)."""
    if "." in text:
        for match in _DOT_END_RE.finditer(text):
            if not _abbreviation_dot(text, match.start()):
                return text[: match.start()]
    return text


def _artist_after_by(text: str) -> str:
    artist = _cut_at_sentence_end(_ARTIST_END_RE.sub("", text))
    if " " in artist:  # "Elton John with #Shazam. Elton still the boss": the sentence went, then its tail
        artist = _ARTIST_END_RE.sub("", artist) or artist
    match = _LEAD_MENTION_RE.match(artist)
    return handle_name(match.group(1)) if match and match.group(2) and match.group(2)[:1] not in "&x" else artist


_BY_HANDLE_RE = re.compile(r"(?i)\bby:?\s+@\w")
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
        if "@" in title and _BY_HANDLE_RE.search(title):
            return None  # "anone by @a @b bubble by eve": a list of songs and credits
        if _sentence_like(title.split()):
            # "I predict my most played song will be ... Insane by Summer Walker": the title is the
            # capitalised run that ends the sentence, or there is no claim
            title = _trailing_title(title)
            if not title:
                continue
        split = _finish(artist, title, rule)
        if split:
            return split
    return None


# "a new <Artist> song/single “Title”": the artist named right before the song noun.
_NEW_SONG_BY_RE = re.compile(r"(?i)\b(?:new|latest)\s+(?P<artist>@?\w[^,;:!?()\n]{0,40}?)\s+(?:song|single|track)$")


# The opening quotes of _QUOTED_RE (it can start anywhere: a scan for them first is cheaper).
_OPEN_QUOTE_RE = re.compile("[\"“„«「『'‘]")


def _quoted_split(text: str) -> _Split | None:
    match = _QUOTED_RE.search(text) if _OPEN_QUOTE_RE.search(text) else None
    if not match:
        return None
    title = match.group("q") or match.group("s") or ""
    if not title.strip(" .,!?"):
        return None
    if dash_search(title):
        # "It was just “Dying Fetus - Grotesque Impalement” on repeat"
        inner = _separator_split(title)
        if inner:
            return _Split(inner.artist, inner.title, "quoted_dash", inner.commented)
    before = _after_last_break(text[: match.start()]).strip(_STRIP_CHARS)
    after = text[match.end() :].strip()
    after_l = after.lower()
    if after_l.startswith(("by ", "by:")):
        return _finish(_artist_after_by(after[3:].lstrip(": ")), title, "quoted_by")
    if before:
        if len(before.split()) > MAX_ARTIST_WORDS:
            named = _NEW_SONG_BY_RE.search(before)
            if named and (named.group("artist")[:1].isupper() or named.group("artist")[:1] == "@"):
                # "I woke up today to a new @Northlane song, “Plenty.”"
                return _finish(_mention_artist(named.group("artist")), title, "quoted_new_song")
            return None
        if before.endswith(("'s", "’s")):  # "Coolio’s “Gangstas Paradise”"
            before = before[:-2]
        return _finish(_mention_artist(before), title, "quoted")
    if after:
        artist = re.split(r"(?<![A-Z])[.!?](?:\s|$)|\n|\s+(?:on|via|from)\s", after.lstrip(" ,-–—:|•·"))[0]
        return _finish(artist, title, "quoted")
    return None


_LISTEN_TO_RE = re.compile(r"(?i)^.*\blisten(?:s|ing)?\s+to\s+")
_VERSION_TAIL_RE = re.compile(
    r"(?i)^\s*(?:\d{4}\s+)?(?:live(?:\s+(?:at|from|in)\s+.{1,40})?|remix|acoustic|sped\s*up|slowed(?:\s*(?:\+|&|and)\s*reverb)?"
    r"|radio\s+edit|single\s+version|remaster(?:ed)?(?:\s+(?:version\s+)?\d{4})?|instrumental|demo|extended(?:\s+mix)?"
    r"|original\s+mix|mono|stereo|[\w'’ .&-]{1,30}\s(?:remix|mix|edit|version|rework|dub))\s*$"
)
_NUMBERED_RE = re.compile(r"(?i)^(?:day|#|no\.?|track)?\s*\d{1,3}$")


def _separator_split(text: str) -> _Split | None:
    parts = dash_split(text)
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
        # a guest after "w/" is not part of the name ("Dr. John w/Lukas Nelson & Promise of the Real:")
        head = _ARTIST_WITH_RE.sub("", parts[0]) if "w/" in parts[0] else parts[0]
        if len(head.split()) > 5:  # "Hello there beautiful Flower, también me gusta mucho: ..."
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
    more = dash_split(right)
    if len(more) == 2 and _VERSION_TAIL_RE.match(more[1]):
        # "Artist - Title - Live", "- Remastered 2011": the version belongs to the title
        right, more = f"{more[0]} - {more[1].strip()}", [right]
    if len(more) == 2 and (len(more[1].split()) > 4 or _only_residue(more[1])):
        right = more[0]
    if _BY_RE.search(right) and rule == "colon":
        # "Song of the day: Fire by Jimi Hendrix"
        return _by_split(right, "colon_by")
    if rule == "colon" and _sentence_case(_ARTIST_WITH_RE.sub("", left) if "w/" in left else left):
        return None  # "Rola mañanera: ...": a heading in sentence case, not a name
    return _split_two(left, right, rule)


# "Title (Artist)": a trailing bracket holding a name, when nothing else splits the post. Not a
# version or guest tag ("(Remix)", "(feat. X)", "(Live)"), no digits, no title words.
_TRAIL_NAME_RE = re.compile(r"^(?P<title>[^\[\]]{1,100}?)\s*[(\[](?P<name>[^()\[\]\d]{2,40})[)\]]$")
_NOT_A_NAME_RE = re.compile(
    r"(?i)\b(?:feat|ft|featuring|with|w|prod|remix|mix|edit|version|ver|live|acoustic|instrumental|demo|cover"
    r"|extended|original|radio|unplugged|rework|bootleg|vip|dub|remaster(?:ed)?|mono|stereo|sped|slowed|reverb"
    r"|intro|outro|interlude|reprise|skit|a\s*cappella|acapella|theme|bonus|part|pt|vol|op|from|ost|soundtrack"
    r"|lyrics?|video|audio|official|explicit|clean|single|album|ep|mv|english|spanish|japanese|korean|translation"
    r"|sub|subs|unreleased|snippet|leak|tiktok|clip|visuali[sz]er|hd|hq|4k)\b"
)


def _title_bracket_artist(line: str) -> _Split | None:
    match = _TRAIL_NAME_RE.match(line)
    if not match:
        return None
    name, title = match.group("name").strip(), match.group("title").strip()
    if title.count("(") != title.count(")"):
        return None
    words = name.split()
    if not words or len(words) > 4 or _NOT_A_NAME_RE.search(name) or _title_words(name, True):
        return None
    if any(w[:1].islower() for w in words) or any(w.casefold() in _PROSE_WORDS for w in words):
        return None  # a name is capitalised ("Ezra Lowe"; other scripts have no case)
    if _sentence_like(title.split()):
        return None
    return _finish(name, title, "brackets_title_artist")


def _parse_line(line: str) -> _Split | None:
    if ("ampl" in line or "over" in line or "nterpol" in line or "emake" in line) and _RELATION_RE.search(line):
        return None
    if " by " in line.lower() and not dash_search(line):
        quoted = _quoted_split(line)
        if quoted:
            return quoted
        split = _by_split(line)
        if split:
            return split
    quoted = None if _quotes_only_in_tail_bracket(line) else _quoted_split(line)
    if quoted:
        return quoted
    split = _separator_split(line)
    if split:
        return split
    if " by " in line.lower():
        return _by_split(line)
    return None


_TAIL_BRACKET_QUOTE_RE = re.compile(r"[(\[][^()\[\]]*[\"“”'‘’«»][^()\[\]]*[)\]]\s*$")


def _quotes_only_in_tail_bracket(line: str) -> bool:
    """'Four Tet – Baby (from 'Sixteen Oceans')': the quotes name the album in a closing bracket;
    the dash before it splits the song."""
    if not ("(" in line or "[" in line):
        return False
    match = _TAIL_BRACKET_QUOTE_RE.search(line)
    if match is None:
        return False
    head = line[: match.start()]
    return dash_search(head) is not None and not any(q in head for q in '"“”«»')


def _mention_order(split: _Split, text: str) -> _Split:
    """'Minx - Emily Justin … @itsemilyjustin': the side a mention in the post spells is the artist."""
    handles = [h.casefold() for h in _HANDLE_RE.findall(text)]
    title_key = "".join(_WORD_RE.findall(split.title.casefold()))
    artist_key = "".join(_WORD_RE.findall(split.artist.casefold()))
    if len(title_key) >= 4 and any(title_key in h for h in handles) and not any(artist_key in h for h in handles):
        return _Split(split.title, split.artist, split.rule + "_title_mention", split.commented)
    return split


_HANDLE_RE = re.compile(r"@(\w{3,30})")
_ORDER_RULES = frozenset(["dash", "separator", "colon"])
