"""Stage 5, classify: is it a song at all, and is an artist/title pair plausible?

Non-songs (TV, games, podcasts, films), station names and slogans, chatter, greetings and sentences,
and the plausibility test every split passes (``plausible``: lengths, prose, descriptors).
"""

from __future__ import annotations

import re

from nowplaying.cleaner.shared import (
    _DANGLING,
    _PROSE_WORDS,
    _RESIDUE_WORDS,
    _ROLE_RE,
    _SONG_NOUNS,
    MAX_ARTIST_WORDS,
    MAX_PART_CHARS,
    MAX_TITLE_WORDS,
    _is_cased_word,
    _is_lower_word,
    _only_residue,
    _Split,
    _title_case,
    any_key_re,
)

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


# Cheap substring test before the regex: most posts contain none of these.
_NONE_KEYS = (
    "watch", "tv", "series", "episode", "season", "netflix", "hulu", "hbo", "disney", "prime", "xbox",
    "playstation", "ps3", "ps4", "ps5", "nintendo", "switch", "steam", "gam", "twitch", "speedrun",
    "achievement", "podcast", "audiobook", "audible", "movie", "film", "cinema", "imdb", "letterboxd",
    "trailer", "s0", "s1", "s2",
)  # fmt: skip
_NONE_KEYS_RE = any_key_re(_NONE_KEYS)


# A post that opens with a game's name is about the game ("Koji Kondo - Zelda's Lullaby" is music);
# franchises whose names are song titles too ("Halo", "Destiny") are left out.
_GAME_NAMES = (
    r"zelda", r"call\s+of\s+duty", r"mario\s+kart", r"super\s+mario", r"fortnite", r"minecraft", r"final\s+fantasy",
    r"pok[eé]mon", r"overwatch", r"valorant", r"league\s+of\s+legends", r"grand\s+theft\s+auto", r"gta\s*(?:v|5|vi|6)",
    r"red\s+dead", r"god\s+of\s+war", r"animal\s+crossing", r"baldur['’]?s\s+gate", r"cyberpunk\s+2077",
    r"apex\s+legends", r"elden\s+ring", r"hogwarts\s+legacy", r"resident\s+evil", r"assassin['’]?s\s+creed",
    r"street\s+fighter", r"smash\s+bros", r"stardew\s+valley", r"genshin\s+impact", r"world\s+of\s+warcraft",
)  # fmt: skip
_GAME_TITLE_RE = re.compile(
    r"(?i)^\s*(?:[#@]\w+[\s:,.!-]*)*(?:(?:now\s*)?playing\s*:?\s*)?(?:" + "|".join(_GAME_NAMES) + r")\b"
)
# The literal start of each name (up to its first space or class), a cheap test before the regex.
_GAME_FIRST_WORDS = tuple(sorted({re.split(r"[\\\[(]", name)[0] for name in _GAME_NAMES}))
# Their first three letters (every start has at least three): a set test before ``startswith``.
_GAME_FIRST_3 = frozenset(word[:3] for word in _GAME_FIRST_WORDS)


def _opens_with_game_word(low: str) -> bool:
    """Does one of the first words (after tags and "now playing") start a game's name?"""
    for word in low.split(None, 5)[:5]:
        word = word.lstrip("#@")
        if word[:3] in _GAME_FIRST_3 and word.startswith(_GAME_FIRST_WORDS):
            return True
    return False


def _non_song(text: str, low: str) -> str | None:
    """The ``none_*`` rule when a text is clearly not a song (checked on the normalized text)."""
    if _opens_with_game_word(low) and _GAME_TITLE_RE.match(text):
        return "none_game"
    if not _NONE_KEYS_RE.search(low):
        return None
    for rule, pattern in _NONE_RULES:
        if pattern.search(text):
            return rule
    return None


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
    if len(artist) < 3 and _only_residue(artist):
        return False
    if not strict:
        return True
    words = artist.casefold().split()
    prose = sum(w in _PROSE_WORDS for w in words)
    if (prose >= 2 or (prose and len(words) > 1 and words[0] in _PROSE_WORDS)) and not _title_case(artist):
        return False
    if " by " in artist or not _TWO_LETTERS_RE.search(artist):  # "c. 2020", "anone by X bubble by Y"
        return False
    if _descriptor(artist, title):
        return False
    return artist.casefold() not in _RESIDUE_WORDS and title.casefold() not in {"rt", "by", "on", "via"}


def _descriptor(artist: str, title: str) -> bool:
    artist_words = artist.split()
    title_words = title.split()
    if artist_words[0][:1].islower() and _ROLE_RE.search(artist):
        return True  # "by singer, songwriter ... Chris Holly", "by k-pop group X"
    last = artist_words[-1]
    if last.islower() and last in _SONG_NOUNS and len(artist_words) > 1:
        return True  # "K-duradge Dancehall single"
    if title_words[-1].casefold() in _DANGLING or artist_words[-1].casefold() in _DANGLING:
        return True
    # "another bop", "the new single": a lower-case phrase ending in a song noun
    if 1 < len(title_words) <= 4 and title_words[-1].strip(".,!?").casefold() in _SONG_NOUNS:
        return all(_is_lower_word(w) for w in title_words[1:] if _is_cased_word(w))
    return False


_STATION_ONLY_RE = re.compile(
    r"(?i)^(?:on\s+|at\s+)?[\w .&'’-]{0,40}\b(?:radio|rádio|радио|ラジオ|라디오|fm|\d{2,3}[.,]\d)\b[\w .&'’-]{0,30}$"
)


# "Now Playing on Lounge 24/7 #nowplaying": a station naming itself, no song (a streaming service
# or "repeat" after "on" is a listener's words, not a station).
_NOW_ON_STATION_RE = re.compile(
    r"(?i)^\s*#?now\s*playing\s+(?:on|at|@)\s+"
    r"(?!(?:spotify|apple|youtube|deezer|tidal|soundcloud|pandora|amazon|repeat|my|the\s+radio\b))"
    r"[^\s:|#\n]+(?:\s[^\s:|#\n]+){0,3}(?:\s+#\w+)*\s*$"
)
# A station's slogan is not a song: "the best music all day!", "commercial free", "non-stop hits".
_SLOGAN_RE = re.compile(
    r"(?i)\b(?:the\s+best\s+(?:music|hits|mix|variety)|(?:music|hits)\s+all\s+day|all\s+day\s+long"
    r"|commercial[\s-]*free|non[\s-]*stop\s+(?:music|hits)|all\s+the\s+hits|your\s+(?:#1|number\s+one)\s+station"
    r"|(?:music|hits)\s+24\s*/\s*7)\b"
)
_SLOGAN_RULES = ("dash", "separator", "colon")
# Substrings one of which every _SLOGAN_RE match holds, lower-cased: a cheap test before the regex.
_SLOGAN_KEYS = ("best", "day", "commercial", "non", "hits", "station", "24")


def _station_promo(split: _Split) -> bool:
    """One side of the split is a station slogan (the other is the station's name)."""
    low = f"{split.title}\n{split.artist}".lower()
    if not any(key in low for key in _SLOGAN_KEYS):
        return False
    return bool(_SLOGAN_RE.search(split.title) or _SLOGAN_RE.search(split.artist))


# Two songs related in one sentence ("X's "A" is a cover of Y's "B"", "A by X which samples B by Y"):
# which one the post is about is a guess, so no claim.
_RELATION_RE = re.compile(r"(?i)\b(?:(?:a|the)\s+cover\s+of|samples|sampling|interpolat(?:es|ing)|remake\s+of)\b")


# A greeting is chatter even when capitalised ("Good morning everyone!", "Happy Friday y'all").
_GREETING_RE = re.compile(
    r"(?i)^(?:good\s+(?:morning|night|evening|afternoon)|happy\s+(?:monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday|weekend|new\s+year|holidays|birthday)|hello|hi|hey|gm|gn|buenos\s+d[ií]as|buenas\s+noches"
    r"|bonjour|guten\s+morgen|bom\s+dia|boa\s+noite|おはよう|こんばんは)(?:\W|$)"
)
_AUDIENCE_RE = re.compile(r"(?i)\b(?:everyone|everybody|y['’]?all|friends|fam|twitter|guys|folks|people)\b")


# Sentence endings: a trailing ellipsis on an all lower-case text ("can't sleep again..."), Japanese
# sentence-final forms ("何にしよう", "いい曲だね", "最高です").
_SENTENCE_TAIL_RE = re.compile(r"(?:しよう|かな|よね|だね|だよ|です|ます|ました|でした)[!！?？。…w笑]*$")


def _sentence_tail(query: str) -> bool:
    if _SENTENCE_TAIL_RE.search(query):
        return True
    if not query.endswith(("...", "…")):
        return False
    cased = [w for w in query.split() if _is_cased_word(w)]
    return len(cased) >= 3 and all(_is_lower_word(w) for w in cased)


def _greeting(query: str) -> bool:
    """'Good morning everyone!', 'Happy Friday y'all': a greeting to an audience, or in a sentence
    ("Hello" and "Hey Jude" alone are titles)."""
    if not _GREETING_RE.match(query):
        return False
    words = query.split()
    if _AUDIENCE_RE.search(query):
        return True
    return len(words) >= 3 and sum(_is_lower_word(w) for w in words) * 2 > len(words)


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
