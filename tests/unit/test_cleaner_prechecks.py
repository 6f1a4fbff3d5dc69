"""The cleaner's cheap tests before its costly patterns answer as the patterns do (speed, issue 19):
a pre-check may only skip a pattern that cannot match."""

from __future__ import annotations

import random

from nowplaying.cleaner.candidates import _ARTIST_GUESTS_RE, _may_name_guests
from nowplaying.cleaner.classify import _NONE_KEYS, _NONE_KEYS_RE
from nowplaying.cleaner.normalize import _BOUNDARY_CHAR_RE, _EDGE_TAGS_RE, _EMOJI_RE, _MARKER_RE
from nowplaying.cleaner.shared import _DASH_RE, any_key_re, dash_search, dash_split
from nowplaying.cleaner.tidy import _VERSION_TAG_RE, _edge_tags_possible, version_tag

TEXTS = [
    "#NowPlaying Daft Punk - Get Lucky (feat. Pharrell Williams) #radio @station",
    "Ricky Martin feat. Pitbull", "Simon & Garfunkel", "Run-DMC", "A-ha — Take On Me", "Frozen (Radio Edit)",
    "Remastered 2012", "Live at Wembley", "season 2 episode 4 on netflix", "I'm playing Zelda tonight",
    "Кино – Группа крови", "宇多田ヒカル「First Love」", "🎶 Halo by Beyoncé 🎶", "sped up", "Peter, Bjorn and John",
    "ends with tags #a #b", "mail me @home.", "#tag first then words", "x", "", "  spaced  ", "A x B", "w/ guests",
]  # fmt: skip


def _variants() -> list[str]:
    rng = random.Random(5)
    out = list(TEXTS)
    for _ in range(2000):
        words = rng.choice(TEXTS).split() + rng.choice(TEXTS).split()
        rng.shuffle(words)
        out.append(" ".join(words[: rng.randint(0, len(words))]))
    return out


def test_any_key_re_finds_a_key_exactly_when_one_is_a_substring() -> None:
    keys = ("ab", "abc", "b", "xyz", "x y")
    pattern = any_key_re(keys)
    for text in ["", "a", "ab", "zzabzz", "xy", "x yz", "xyz", "cb", "ac"]:
        assert bool(pattern.search(text)) == any(k in text for k in keys), text
    for text in _variants():
        low = text.lower()
        assert bool(_NONE_KEYS_RE.search(low)) == any(k in low for k in _NONE_KEYS), text


def test_the_prechecks_agree_with_their_patterns() -> None:
    for text in _variants():
        found, expected = dash_search(text), _DASH_RE.search(text)
        assert (found and found.span()) == (expected and expected.span()), text
        assert dash_split(text) == _DASH_RE.split(text, maxsplit=1)
        assert version_tag(text) == (_VERSION_TAG_RE.match(text) is not None), text
        if _EDGE_TAGS_RE.search(text):
            assert _edge_tags_possible(text), text
        if _ARTIST_GUESTS_RE.search(text):
            assert _may_name_guests(text), text
        if _MARKER_RE.search(text) or _EMOJI_RE.search(text):
            assert _BOUNDARY_CHAR_RE.search(text), text
