"""Stage 6, rank: a split's readings, best first, each with the cleaner's confidence (issue 19).

The first reading is the split as found. Its confidence starts from what its rule is worth (measured
on the development half of the hand-labelled set, bench/data) and drops for each sign of a reading
that went wrong there: a hashtag's word inside a name, promotion or station words left in the title,
a dangling "on"/"at"/"en" at a cut, a separator left inside a side, a frame word before the artist, an
order decided by weak evidence, a sentence that ends inside a side ("3AM. I miss them"). Below
``PARSED_MIN`` the post is not claimed as ``parsed``: it becomes ``query`` and the readings go to the enricher, which
tries them in order and keeps the first the catalog confirms (ListenBrainz's "detuning": the exact
reading, then progressively relaxed ones).

Relaxed readings: the title cut back at clause boundaries (" - ", " | ", "(", ". ", ", ", " on ",
...), the artist without a leading station, frame word or number, the artist without its guests,
the other order of the split, and last the free text.
"""

from __future__ import annotations

import re

from nowplaying.cleaner.normalize import _URL_RE
from nowplaying.cleaner.shared import (
    _PARTICLES,
    _PROSE_WORDS,
    _TITLE_WORDS,
    _abbreviation_dot,
    _drop_final_dot,
    _is_lower_word,
    _Split,
    any_key_re,
)
from nowplaying.cleaner.split import _TITLE_MARK_RE
from nowplaying.cleaner.tidy import version_tag
from nowplaying.common.models import MAX_CANDIDATES, Candidate

# A reading at or above this confidence is claimed as kind=parsed; below it the post is a query.
PARSED_MIN = 0.75

# What a rule's reading is worth before any penalty. Order-deciding heuristics (title words, a
# person's name, a mention) and free-form shapes (a quoted title with the words before it, a colon)
# were right far less often on the development half than templates and plain separators.
_AUTOMATED = ("template_pandora", "template_lastfm", "template_spotify_share", "template_beatfind", "lastfm_link")
_WEAK_ORDER = ("_title_words",)
# Shapes whose artist is whatever stands before the title or the colon: sure only when it reads as a name.
_NAME_BEFORE = ("quoted", "colon", "brackets", "quoted_new_song")


def _reads_as_name(part: str) -> bool:
    """'Rammstein', 'Tears for Fears', 'Sex Pistols': every word capitalised (particles aside), at most
    four words, and not one common word ("That", "Say")."""
    words = part.split()
    if not 1 <= len(words) <= 4 or part.startswith(("RT ", "rt ")):
        return False
    if len(words) == 1 and (words[0].casefold() in _PROSE_WORDS or words[0].casefold() in _TITLE_WORDS):
        return False
    return all(not _is_lower_word(w) or w.casefold() in _PARTICLES for w in words)


def rule_confidence(rule: str, artist: str = "") -> float:
    if rule in _AUTOMATED:
        return 0.95
    if rule.endswith(_WEAK_ORDER):
        return 0.6
    if rule == "slash_title_first" and _TITLE_MARK_RE.search(artist):
        return 0.5  # "BOB DYLAN / Tell Me, Momma (Live)": the version mark says the title is on the right
    if rule.startswith(_NAME_BEFORE) and rule not in ("quoted_by", "quoted_dash"):
        return 0.85 if _reads_as_name(artist) else 0.6
    return 0.85


# Words a name or a title rarely has and a station's or a poster's tail often does.
_PROMO_RE = re.compile(
    r"(?i)\b(?:listen(?:ing|ers?)?|tune\s+in|hear\s+it|download|visit|follow|subscribe|stream(?:ing)?|share"
    r"|escuch\w*|suena|sonando|auditeurs|h[öo]rer|mp3|played|playing|now\s+playing|presented\s+by|powered\s+by"
    r"|sponsored\s+by|tracks?\s+from|from\s+the\s+album|album|radio|fm|on\s+air|live\s+on|vote)\b"
)
# lower-case only ("Drive By"); never "on"/"at", which end titles ("Hold on", "Come on")
# Substrings one of which every _PROMO_RE match contains (a cheap test before the regex).
_PROMO_KEYS = (
    "listen", "tune", "hear", "download", "visit", "follow", "subscrib", "stream", "share", "escuch", "suena",
    "sonando", "auditeur", "hörer", "horer", "mp3", "play", "presented", "powered", "sponsored", "track", "album",
    "radio", "fm", "on air", "live on", "vote",
)  # fmt: skip
_DANGLING_END_RE = re.compile(r"(?:^|\s)(?:en|or|from|with|w/|via|and|&|@|->|-|::|~|\|)$")
_BRACKETS_RE = re.compile(r"[(\[][^()\[\]]*[)\]]")
_LEADING_FRAME_RE = re.compile(r"(?i)^(?:play|playing|plays|on|en|at|now|ahora|suena|is|are|the\s+no\.?\s*1|\d{1,3})\b")
_INNER_SEP_RE = re.compile(r"\s(?:-{1,2}|\|{1,3}|::|~|->|\*|—|–)\s|\|")


_RECORD_RE = re.compile(
    r"(?i)\b(?:album|albums|cd|lp|ep|mixtape|kindle|e-?book|audiobook|playlist|continuous\s+mix|full\s+album)\b"
)


# "from the album X", "on album X": a song named with its album, which is no reason to doubt it
# The words one of which every _RECORD_RE match holds ("e-book" holds "book"), tested before the regex.
# One of them as a whole word of the lower-cased post (a word is a run of letters and digits): one
# search, not a list of every word.
_RECORD_WORD_RE = re.compile(
    r"(?<![^\W_])(?:albums?|cd|lp|ep|mixtape|kindle|ebook|book|audiobook|playlist|continuous)(?![^\W_])"
)
# The substrings one of which every _RECORD_WORD_RE match holds: one trie pass before the word test.
_RECORD_KEY_RE = any_key_re(("album", "cd", "lp", "ep", "mixtape", "kindle", "book", "playlist", "continuous"))
_FROM_RECORD_RE = re.compile(
    r"(?i)\b(?:from|off|on)\s+(?:the\s+|his\s+|her\s+|their\s+)?(?:new\s+)?(?:album|ep|lp|cd)\b"
)


def _names_a_record(text: str) -> bool:
    """The post's words (not its links: "music.apple.com/us/album/...") name an album, a CD, a book."""
    words = _URL_RE.sub(" ", text) if "/" in text else text
    return bool(_RECORD_RE.search(_FROM_RECORD_RE.sub(" ", _BRACKETS_RE.sub(" ", words))))


def _mixed_case(title: str) -> bool:
    """Capitalised words with a lower-case word among them that is not a particle ("Roger Jones
    recommends Sun Is Shining"); sentence case ("Here comes the sun") and lower case are titles."""
    words = [w for w in title.split() if w[:1].isalpha()]
    upper = sum(w[:1].isupper() for w in words)
    lower = sum(_is_lower_word(w) and w.casefold() not in _PARTICLES for w in words)
    return upper >= 3 and lower >= 1 and words[-1][:1].isupper()


def _version_free(title: str) -> str:
    """The title without its brackets and a trailing " - <version tag>" (Spotify's spelling of one):
    "Frozen - Radio Edit" and "Frozen (Radio Edit)" are checked as "Frozen"."""
    if " - " in title:
        head, tag = title.rsplit(" - ", 1)
        if head and version_tag(tag):
            title = head
    return _BRACKETS_RE.sub(" ", title).strip() or title


# A full stop or question mark after a word, then more words: where a sentence ends inside a side
# ("Busted - 3AM. I miss them", "...and why not? from Neptune", "Any Questions? on R4 from
# Sheffield - our school actually!"). Not an ellipsis ("Oops!... I Did It Again"), not "!" (titles
# shout: "Oh! Darling", "Bang! Bang!").
_SENTENCE_BREAK_RE = re.compile(r"(?<=\w)(?:\?+|\.(?!\.))\s+(?=\S)")


def _sentence_inside(part: str) -> bool:
    """A sentence ends inside the side, outside its brackets ("[Prod. By X]" is a credit), and not
    at an abbreviation or initialism ("Dr. Dre", "Pt. 2", "M.I.A. Paper Planes")."""
    if ". " not in part and "? " not in part and "?\n" not in part and ".\n" not in part:
        return False
    if "(" in part or "[" in part:
        part = _BRACKETS_RE.sub(" ", part)
    for match in _SENTENCE_BREAK_RE.finditer(part):
        if part[match.start()] == "?" or not _abbreviation_dot(part, match.start()):
            return True
    return False


def _from_handle(part: str, text: str, folded: str = "") -> bool:
    """The side is one @handle or #tag of the post, read as a name ("MobbDeep", "liltunechi")."""
    if " " in part or not part or ("@" not in text and "#" not in text):
        return False
    low = folded or text.casefold()
    key = part.casefold()
    return f"@{key}" in low or f"#{key}" in low


_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _camel_split(part: str) -> str:
    """'MobbDeep' -> 'Mobb Deep', 'KorakeTiZnam' -> 'Korake Ti Znam' (one word only)."""
    return _CAMEL_RE.sub(" ", part) if " " not in part else part


def _tag_inside(part: str, folded: str) -> bool:
    """A side of several words that the post wrote with a hashtag inside ("Le Lever de La Lune
    #camillesaint"); a side that is one hashtag ("#Dido") is a name the poster tagged, and a tag
    elsewhere in the post ("#Rock" after "One Man Rock Band - ...") says nothing about the side.
    ``folded`` is the post's text, case-folded."""
    words = part.casefold().split()
    if len(words) < 2:
        return False
    low = folded
    for i, word in enumerate(words):
        if f"#{word}" in low:
            tagged = " ".join([*words[:i], f"#{word}", *words[i + 1 :]])
            if tagged in low or tagged.replace(" #", ", #") in low:
                return True
    return False


def _run_together(part: str, text: str, folded: str) -> bool:
    """The side is one @handle or #tag of the post that runs capitalised words together ("MobbDeep",
    "#KorakeTiZnam", "PublicEnemyFTP"): the catalog's name has spaces the post did not write."""
    bare = part.lstrip("#@")
    return bool(bare) and _CAMEL_RE.search(bare) is not None and _from_handle(bare, text, folded)


def confidence(split: _Split, text: str) -> float:
    """The cleaner's belief in a split of ``text`` (0..1); see the module docstring."""
    score = rule_confidence(split.rule, split.artist)
    folded = text.casefold() if ("@" in text or "#" in text) else ""
    if folded and (_run_together(split.artist, text, folded) or _run_together(split.title, text, folded)):
        score *= 0.6  # a name read from a handle or tag: a query whose spaced-out reading comes next
    if split.rule in _AUTOMATED:
        return round(score, 3)
    artist, title = split.artist, _version_free(split.title)
    if "#" in text and (_tag_inside(artist, folded) or _tag_inside(split.title, folded)):
        score *= 0.6
    sides = f"{artist}\n{title}"  # one search over both sides (no pattern crosses the line break)
    low_sides = sides.lower()
    for key in _PROMO_KEYS:  # a loop that stops at the first key (cheaper than any() over a generator)
        if key in low_sides:
            if _PROMO_RE.search(sides):
                score *= 0.5
            break
    if _DANGLING_END_RE.search(title) or _LEADING_FRAME_RE.match(artist):
        score *= 0.5
    if ("|" in sides or " -" in sides or "::" in sides or "~" in sides or "->" in sides or "*" in sides
            or "—" in sides or "–" in sides) and _INNER_SEP_RE.search(sides):  # fmt: skip
        score *= 0.6
    if split.rule.startswith("dash") and " - " not in split.title and version_tag(split.title):
        score *= 0.5  # "Divinity - filous Remix": a title and its version, not an artist and a title
    if _sentence_inside(artist) or _sentence_inside(title):
        score *= 0.6  # the words after the break are the poster's, or the side is a sentence: unsure
    if split.commented:
        score *= 0.8  # a comment was cut from a side: a person's chatter, whose order is less sure
    low_text = text.lower()
    if _RECORD_KEY_RE.search(low_text) and _RECORD_WORD_RE.search(low_text) and _names_a_record(text):
        score *= 0.6  # "Good album indeed", "CD 20 TRACKS", "Free Kindle Book": a record or a book, not a song
    if title.count(" ") >= 3 and _mixed_case(title):
        score *= 0.7  # "Roger Jones recommends Sun Is Shining": a lower-case word inside a capitalised title
    if not split.rule.startswith(("template", "radio", "by", "quoted")) and artist.islower() and title.islower():
        score *= 0.8  # "despicable dogs - small black": no capital tells the name from the title
    named = [w for w in artist.split() if w.casefold() not in _PARTICLES]  # "Conor Oberst and the Mystic Valley Band"
    if (len(named) > 5 and "," not in artist) or len(title.split()) > 10:  # a credits list has commas
        score *= 0.7
    return round(score, 3)


_TITLE_CUT_RE = re.compile(
    r"\s+(?:-{1,2}|\|+|::|~|->|–|—|/)\s+|\s*[(\[]|(?<=[.!?,;])\s+|\s+(?:on|at|en|from|via|in|live\s+on)\s+"
)
_ARTIST_GUESTS_RE = re.compile(r"(?i)\s+(?:feat\.?|ft\.?|featuring|with|w/|x|&|and|vs\.?)\s.*$")


# Every boundary of _TITLE_CUT_RE holds one of these characters or is one of these words.
_CUT_CHAR_RE = re.compile(r"[-|:~–—/(\[.!?,;]")
_CUT_WORDS = frozenset(["on", "at", "en", "from", "via", "in"])


def _title_cuts(title: str) -> list[str]:
    """The title cut back at each clause boundary, longest first."""
    cuts: list[str] = []
    if _CUT_CHAR_RE.search(title) is None and _CUT_WORDS.isdisjoint(title.split()):
        return cuts
    for match in _TITLE_CUT_RE.finditer(title):
        head = _drop_final_dot(title[: match.start()].strip(" -–—|:~,;"))  # "3AM." ends a sentence
        if head and any(ch.isalnum() for ch in head) and head != title:
            cuts.append(head)
    return sorted(set(cuts), key=len, reverse=True)


# The words that _ARTIST_GUESTS_RE cuts at (between spaces, any case).
_GUEST_WORDS = frozenset(["feat", "feat.", "ft", "ft.", "featuring", "with", "w/", "x", "&", "and", "vs", "vs."])


def _may_name_guests(artist: str) -> bool:
    """Can _ARTIST_GUESTS_RE cut the artist: a guest word with a space before and after it ("Ricky
    Martin feat. Pitbull")? Other than ASCII, always (IGNORECASE folds a few letters more)."""
    if not artist.isascii():
        return True
    words = artist.split()
    first = 0 if artist[:1].isspace() else 1
    last = len(words) if artist[-1:].isspace() else len(words) - 1
    return any(word.lower() in _GUEST_WORDS for word in words[first:last])


def _artist_cuts(artist: str) -> list[str]:
    """The artist without leading frame or station words or a number ("play Brasswork Agency",
    "en Mastodon", "15 Artist"), and without its guests ("Ricky Martin feat. Pitbull")."""
    out = []
    words = artist.split()
    for i in range(1, min(len(words), 5)):
        if _LEADING_FRAME_RE.match(words[i - 1]) or words[i - 1].islower() or words[i - 1].startswith("#"):
            out.append(" ".join(words[i:]))
        else:
            break
    guests = _ARTIST_GUESTS_RE.sub("", artist) if _may_name_guests(artist) else artist
    if guests and guests != artist:
        out.append(guests)
    return out


def readings(split: _Split, text: str, query: str) -> tuple[float, list[Candidate]]:
    """(confidence of the split as found, the ranked candidates) for a split of ``text``."""
    own = confidence(split, text)
    artist, title = split.artist, split.title
    # (confidence, artist, title, query, rule): ranked and deduplicated as tuples, and only the
    # survivors built as Candidates (most relaxed readings are dropped or repeat the first)
    ranked: list[tuple[float, str | None, str | None, str | None, str]] = [(own, artist, title, None, split.rule)]
    relaxed = own * 0.8
    for cut in _title_cuts(title)[:3]:
        ranked.append((round(relaxed, 3), artist, cut, None, "cut_title"))
        relaxed *= 0.85
    # a handle or tag read as a name: the words it runs together ("#OneDirection", "@MobbDeep"), as a
    # later reading ("#OneRepublic" is one word)
    if "@" in text or "#" in text:
        folded = text.casefold()
        bare_artist, bare_title = artist.lstrip("#@"), title.lstrip("#@")
        artist_camel = _camel_split(bare_artist) if _from_handle(bare_artist, text, folded) else artist
        title_camel = _camel_split(bare_title) if _from_handle(bare_title, text, folded) else title
        if artist_camel != artist or title_camel != title:
            ranked.append((round(own * 0.95, 3), artist_camel, title_camel, None, "camel_case"))
    for cut in _artist_cuts(artist)[:2]:
        ranked.append((round(own * 0.7, 3), cut, title, None, "cut_artist"))
    if split.rule not in _AUTOMATED and not split.rule.startswith(("template", "by", "quoted_by", "radio")):
        swapped = 0.5 if not split.rule.endswith(_WEAK_ORDER) else 0.35
        ranked.append((round(own * swapped, 3), title, artist, None, "swap_order"))
    if query:
        ranked.append((0.2, None, None, query, "free_text"))
    ranked.sort(key=_by_confidence)  # stable: equal confidences keep their order
    seen: set[tuple[str | None, str | None, str | None]] = set()
    unique: list[Candidate] = []
    for score, a, t, q, rule in ranked:
        key = (a, t, q)
        if key not in seen and ((a and t) or q):  # Candidate.searchable
            seen.add(key)
            unique.append(Candidate(a, t, q, rule, score))
            if len(unique) == MAX_CANDIDATES:
                break
    return own, unique


def _by_confidence(reading: tuple[float, str | None, str | None, str | None, str]) -> float:
    return -reading[0]
