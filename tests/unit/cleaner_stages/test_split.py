"""Stage 3, split: one tidied line of a real post into its artist and title (fixtures/split.json)."""

from __future__ import annotations

from typing import Any

import pytest
from nowplaying.cleaner.split import _drop_uploader, _parse_line

from tests.unit.cleaner_stages.cases import case_id, load, post_lines, same

CASES = load("split")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_line_splits_into_the_labelled_pair(case: dict[str, Any]) -> None:
    lines = post_lines(case["text"])
    splits = [split for line in lines for split in [_parse_line(line)] if split]
    if not splits:  # the line stage joins the lines when none splits alone
        joined = _parse_line(" ".join(lines))
        splits = [joined] if joined else []
    assert splits, lines
    first = _drop_uploader(splits[0], case["text"].lower())  # a SoundCloud uploader after "A - T by U"
    assert same(first.artist, case["artist"]) and same(first.title, case["title"]), first
    assert first.rule.split("_")[0] == case["rule"].split("_")[0], first
