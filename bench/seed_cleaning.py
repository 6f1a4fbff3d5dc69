"""The original project's tweet cleaning, re-implemented from ../shared/research/seed.md (section 2.2
and 5) as the speed and quality baseline of the cleaner benchmarks.

What the seed did, per tweet: delete every entity span (hashtag, cashtag, mention, URL) using the
X API's offsets, with ``end + 1`` (which also eats the character after the entity); keep only ASCII;
replace every run of ``[\\W_]`` with a space; send the whole text to Spotify search. There is no
HTML unescape, no RT filter and no artist/title split.
"""

from __future__ import annotations

import re
from typing import Any

_NON_WORD = re.compile(r"[\W_]+")

# The X API computes the entities; for posts that do not carry them (generated posts) we compute
# spans the same way, before timing (the seed got them from the API for free).
_ENTITY_RE = re.compile(r"https?://\S+|(?<!\w)[#$@]\w+")


def entity_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of hashtags, cashtags, mentions and URLs, ``end`` exclusive as in X API v2."""
    return [(m.start(), m.end()) for m in _ENTITY_RE.finditer(text)]


def spans_from_x_entities(entities: dict[str, Any]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for key in ("hashtags", "cashtags", "mentions", "urls"):
        for entity in entities.get(key, []) or []:
            spans.append((int(entity["start"]), int(entity["end"])))
    return spans


def seed_clean(text: str, spans: list[tuple[int, int]]) -> str:
    """The seed's cleaning of one tweet: the text it sent to Spotify as one free-text query."""
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + text[end + 1 :]
    text = text.encode("ascii", "ignore").decode("ascii")
    return _NON_WORD.sub(" ", text)
