"""What the cleaner's stages share: limits, word lists, word-shape tests and the ``Split`` record.

No stage logic lives here; ``normalize``, ``frame``, ``split``, ``tidy`` and ``classify`` import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- limits ----------------------------------------------------------------------------------
MAX_ARTIST_WORDS = 8
MAX_TITLE_WORDS = 14
MAX_QUERY_WORDS = 10
MAX_PART_CHARS = 150
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


def _only_residue(text: str) -> bool:
    if len(text) > 40:
        return False
    for match in _WORD_RE.finditer(text.lower()):  # most texts fail on their first word
        word = match.group()
        if word not in _RESIDUE_WORDS and not word.isdigit():
            return False
    return True


def any_key_re(keys: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern that finds any of ``keys`` as a substring, as a trie ("p(?:odcast|rime|s(?:3|4))"):
    one pass over the text, where an alternation of the keys tries each key at each position. Only
    whether it matches is meant (a key that holds a shorter key is left to the shorter one)."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for key in keys:
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node[""] = {}

    def branch(node: dict) -> str:  # type: ignore[type-arg]
        if "" in node:
            return ""  # a key ends here: the text holds it whatever follows
        alternatives = [re.escape(ch) + branch(child) for ch, child in sorted(node.items())]
        return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"

    return re.compile(branch(trie))


# Not frozen: a post builds several splits, and a frozen dataclass's __init__ costs about 4x a plain
# one's (object.__setattr__ per field). No stage changes a split after building it.
@dataclass(slots=True)
class _Split:
    artist: str
    title: str
    rule: str
    commented: bool = False  # a poster's comment was cut from a side (a sign of chatter around it)


# --- separators ------------------------------------------------------------------------------
_DASH_CHARS = "-‐‑‒–—―~"
_DASH_RE = re.compile(rf"\s+[{_DASH_CHARS}]+\s+|\s*[–—―]\s*|\s+-(?=[A-Z\"“])|(?<=[a-z)])-\s+")
# Every dash holds one of these characters. _DASH_RE can start anywhere (its "\s*" matches nothing), so
# on a text without a dash it tries every position; this test finds the characters in one quick scan.
_DASH_CHAR_RE = re.compile(f"[{_DASH_CHARS}]")


def dash_search(text: str, pos: int = 0) -> re.Match[str] | None:
    """The first dash separator of ``text`` from ``pos`` (``_DASH_RE.search``, cheaper when there is none)."""
    if _DASH_CHAR_RE.search(text, pos) is None:
        return None
    return _DASH_RE.search(text, pos)


def dash_split(text: str) -> list[str]:
    """``text`` split at its first dash separator (``_DASH_RE.split(text, maxsplit=1)``)."""
    if _DASH_CHAR_RE.search(text) is None:
        return [text]
    return _DASH_RE.split(text, maxsplit=1)


_ELISION_RE = re.compile(r"(?i)'(?:til|cause|bout|round|em|n|tis|twas|sup)\b")
# Words whose full stop is part of them, not a sentence end ("Pt. 2", "Dr. Dre", "feat. X").
_ABBREVIATIONS = frozenset(
    "pt vol no st mr mrs ms dr jr sr feat ft vs op bros rd ave mt co inc ltd".split()  # noqa: SIM905
)
_INITIALISM_RE = re.compile(r"(?:[^\W\d_]\.)*[^\W\d_]$")


def _abbreviation_dot(text: str, dot: int) -> bool:
    """Is the '.' at ``text[dot]`` part of an abbreviation ("Pt.", "Jr.") or an initialism
    ("M.I.R.A.", "J. Cole")? A lone capital counts; a lone lower-case letter does not."""
    start = dot
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in "([{\"“'‘":
        start -= 1
    word = text[start:dot]
    if not word:
        return False
    if word.casefold() in _ABBREVIATIONS:
        return True
    if len(word) == 1:
        return word.isupper()
    return "." in word and bool(_INITIALISM_RE.match(word))


def _drop_final_dot(part: str) -> str:
    """A final full stop goes unless it belongs to an abbreviation or initialism; '...' stays."""
    if part.endswith(".") and not part.endswith("...") and not _abbreviation_dot(part, len(part) - 1):
        return part[:-1].rstrip()
    return part


# Words that describe a song or a musician rather than name one ("the new single", "another bop",
# "singer, songwriter ... Chris Holly", "k-pop group X", "K-duradge Dancehall single").
_SONG_NOUNS = frozenset("song single track bop banger tune jam record album ep anthem hit mixtape".split())  # noqa: SIM905
_ROLE_RE = re.compile(
    r"(?i)\b(?:singer|songwriter|rapper|producer|group|band|duo|trio|artist|musician|composer|guitarist|drummer"
    r"|vocalist|ceo|founder|legend|icon)s?\b"
)
# A side ending in one of these was cut in the middle of a phrase ("7 CURSES the").
_DANGLING = frozenset("the a an my your our their of and".split())  # noqa: SIM905


def _title_case(part: str) -> bool:
    """Every cased word capitalised and not all shouted: a name ("Bullet For My Valentine", "You Me
    At Six"), not a sentence."""
    cased = [w for w in part.split() if _is_cased_word(w)]
    return len(cased) >= 2 and not any(_is_lower_word(w) for w in cased) and not part.isupper()


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


def _sentence_case(part: str) -> bool:
    """'Rola mañanera', 'Morning tune': a capitalised first word then a lower-case word that is not a
    particle. Names are capitalised throughout ("Tears for Fears") or written all in lower case."""
    words = part.split()
    if len(words) < 2 or not words[0][:1].isupper():
        return False
    return any(_is_lower_word(w) and w.casefold() not in _PARTICLES for w in words[1:])


# Common given names (many languages): a side that reads "<Given name> <Surname>" names a person,
# so it is the artist when the other side does not. Nicknames that are also song words ("Buddy",
# "Sunny", "Rose") are left out: "Weezer - Buddy Holly" is a song named after a person.
_GIVEN_NAMES = frozenset(
    """
    aaron adam adrian aidan alan albert alejandro alex alexander alexandra alfredo alice alicia amanda amy ana
    andrea andrew angela anna anne anthony antonio arthur ashley barbara benjamin bernard beth betty bob brandon
    brian bruce bruno camila carl carla carlos carmen caroline catherine charles charlie charlotte chris
    christian christina christine christopher claire claudia craig cristina daniel daniela david deborah dennis
    diana diego dolly donald donna dorothy douglas edward elena elizabeth ella ellie elton elvis emily emma eric
    erik ethan eva fernando francesca francisco frank fred frederick gabriel gary george gerald gilberto giorgio
    giovanni gloria grace gregory hannah harold harry heather helen henry hugo ian isaac isabel isabella jack
    jackson jacob james jamie jane janet jason javier jean jeff jennifer jeremy jessica jim jimmy joan joao joe
    john johnny jonathan jordan jorge jose joseph joshua juan julia julian justin karen katherine kathleen
    kelly kenneth kevin kyle larry laura lauren leonard linda lisa louis lucas lucia luis luke marco marcus
    margaret maria marie mario mark martin marvin mary matthew maurice megan melissa michael michelle miguel
    nancy natalie nathan nicholas nicole noah oliver olivia oscar pablo patricia patrick paul paula pedro peter
    philip rachel rafael ralph raymond rebecca ricardo richard robert roberto rodrigo roger ronald ruth ryan
    samantha samuel sandra sara sarah scott sean sergio sharon simon sofia sophia stephanie stephen steve steven
    susan taylor teresa thomas timothy tom tony victor victoria vincent walter wayne william willie zachary
    """.split()  # noqa: SIM905
)


def _starts_with_given_name(part: str) -> bool:
    words = part.split()
    return bool(words) and words[0].casefold() in _GIVEN_NAMES


def _person_name(part: str) -> bool:
    """'Marvin Gaye', 'Antonio Zamora', 'John Lee Hooker': a given name then one or two capitalised
    words, nothing else."""
    words = part.split()
    if not 2 <= len(words) <= 3 or not _starts_with_given_name(part):
        return False
    return all(w[:1].isupper() and w.isalpha() and not (len(w) > 1 and w.isupper()) for w in words)


_PRONOUNS = frozenset(["i", "i'm", "i’m", "im"])
_PARTICLE_WORDS = (
    "a an the of for to in on at and or & n' 'n' y e de del la le el les los las da do dos das di von van der "
    "den und et feat ft x vs with w/ is"
)
_PARTICLES = frozenset(_PARTICLE_WORDS.split())


def _is_lower_word(word: str) -> bool:
    """A word of a cased script written in lower case (other scripts have no case)."""
    first = word.lstrip("\"“'‘([")[:1]
    return first.isalpha() and first.islower()


def _sentence_like(words: list[str]) -> bool:
    """Reads as a sentence, not a title: five words or more, most of them lower-case, and either
    nine words or more ("I predict my most played song will be ...") or a capitalised run at the
    end after a lower-case word ("If you've never heard Sea of Joy"). Lower-case texts are often
    titles themselves ("we found love", "the arms of the one who loves you")."""
    if len(words) < 5:
        return False
    cased = [w for w in words if _is_cased_word(w)]
    if sum(_is_lower_word(w) for w in cased) * 2 <= len(cased):
        return False
    # long, or a lower-case clause ending in a capitalised name ("If you've never heard Sea of Joy")
    return len(words) >= 9 or bool(_trailing_title(" ".join(words)))


def _is_cased_word(word: str) -> bool:
    first = word.lstrip("\"“'‘([")[:1]
    return first.isalpha() and first.lower() != first.upper()


def _trailing_title(text: str) -> str:
    """The capitalised run of words that ends a sentence-like text ("... prediction] Insane" ->
    "Insane", "If you've never heard Sea of Joy" -> "Sea of Joy"); '' when there is none."""
    words = text.split()
    start = len(words)
    while start > 0 and len(words) - start < 8:
        word = words[start - 1]
        if word[-1:] in ")]}#:" or word[:1] in "([{#@":
            break
        if _is_lower_word(word) and word.casefold() not in _PARTICLES:
            break
        start -= 1
    while start < len(words) and (_is_lower_word(words[start]) or words[start].casefold() in _PRONOUNS):
        start += 1  # a run starts with a capitalised word, not a particle or "I"
    if start == 0 or start >= len(words):
        return ""
    return " ".join(words[start:])
