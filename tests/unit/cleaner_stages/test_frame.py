"""Stage 2, frame: service templates and radio formats of real posts (fixtures/frame.json)."""

from __future__ import annotations

from typing import Any

import pytest
from nowplaying.cleaner.core import clean_text
from nowplaying.cleaner.frame import match_template, match_title_only
from nowplaying.cleaner.normalize import _URL_RE, normalize_text

from tests.unit.cleaner_stages.cases import case_id, load, same

CASES = load("frame")


def _body(text: str) -> str:
    return _URL_RE.sub("\n", normalize_text(text))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_frame_names_the_song(case: dict[str, Any]) -> None:
    body = _body(case["text"])
    if case["artist"] is None:
        found = match_title_only(body, body.lower())
        assert found is not None and found[0] == case["rule"] and same(found[1], case["title"]), found
    elif case["rule"].startswith("template_"):
        split = match_template(body, body.lower())
        assert split is not None and split.rule == case["rule"], split
        assert same(split.artist, case["artist"]) and same(split.title, case["title"]), split
    else:  # a radio format ("Now playing on S: A - T") is read inside the line stage of clean_text
        result = clean_text(case["text"], case["urls"])
        assert result.rule == case["rule"] and same(result.artist, case["artist"]), result
        assert same(result.title, case["title"]), result


def test_a_station_is_never_the_artist() -> None:
    for case in CASES:
        if case["artist"] is None:
            result = clean_text(case["text"], case["urls"])
            assert result.artist is None and result.kind == "query", result
