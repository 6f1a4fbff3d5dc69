"""Stage 4, tidy: what surrounds the song in real posts goes (fixtures/tidy.json): hashtag runs,
frames, promotional tails, the words before a link."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.cleaner_stages.cases import case_id, load, post_lines

CASES = load("tidy")
_END = " \"'“”‘’.!?,)]"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_song_line_holds_the_song_without_tags_or_links(case: dict[str, Any]) -> None:
    lines = post_lines(case["text"])
    artist, title = case["artist"].casefold().rstrip(_END), case["title"].casefold().rstrip(_END)
    song = [line.casefold() for line in lines if title in line.casefold() and artist in line.casefold()]
    assert song, lines
    assert "#" not in song[0] and "http" not in song[0], lines


def _tail_is_tidy_work(case: dict[str, Any]) -> bool:
    """After "A - T" the post goes on with tags, a link, a station or a call to listen (what tidy
    removes; a third dash segment or a comment is the split stage's)."""
    text, title = case["text"], case["title"]
    at = text.find(title)
    if at < 0 or not (" - " in text or " – " in text):
        return False
    tail = text[at + len(title) :].lstrip(" \"'”’!.").lower()
    return tail.startswith(("#", "http", "on #", "listen", "via", "tune", "download", "@")) or not tail


@pytest.mark.parametrize("case", [c for c in CASES if _tail_is_tidy_work(c)], ids=case_id)
def test_nothing_follows_the_song_after_a_dash(case: dict[str, Any]) -> None:
    """'A - T <link> #tags', 'A - T on #Station', 'A - T Listen at ...': the line ends with the song."""
    for line in post_lines(case["text"]):
        low = line.casefold().rstrip(_END)
        if (case["title"].casefold().rstrip(_END) in low and " - " in line) or " – " in line:
            assert low.endswith(case["title"].casefold().rstrip(_END)) or low.endswith(case["artist"].casefold()), line
