"""Stage 6, rank: the right reading of a real post is among its ranked candidates, and the post is
claimed as parsed only when the first one is sure enough (fixtures/candidates.json)."""

from __future__ import annotations

from typing import Any

import pytest
from nowplaying.cleaner.candidates import PARSED_MIN
from nowplaying.cleaner.core import clean_post, clean_text
from nowplaying.common.models import MAX_CANDIDATES, ParsedPost

from tests.support.posts import make_post
from tests.unit.cleaner_stages.cases import case_id, load, same

CASES = load("candidates")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_right_reading_is_a_candidate(case: dict[str, Any]) -> None:
    result = clean_text(case["text"], case["urls"])
    readings = [(c.artist, c.title) for c in result.candidates]
    assert any(same(a, case["artist"]) and same(t, case["title"]) for a, t in readings), result
    assert 1 <= len(result.candidates) <= MAX_CANDIDATES
    confidences = [c.confidence for c in result.candidates]
    assert confidences == sorted(confidences, reverse=True)
    assert all(c.searchable and 0.0 <= c.confidence <= 1.0 for c in result.candidates)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_claimed_only_when_sure(case: dict[str, Any]) -> None:
    result = clean_text(case["text"], case["urls"])
    first = result.candidates[0]
    if case["claimed"]:
        assert result.kind == "parsed" and first.confidence >= PARSED_MIN, result
        assert (first.artist, first.title) == (result.artist, result.title)
    else:
        assert result.kind == "query" and first.confidence < PARSED_MIN, result
        assert result.artist is None and result.title is None and result.query, result


def test_candidates_survive_the_record_round_trip() -> None:
    for case in CASES[:5]:
        parsed = clean_post(make_post(case["text"]))
        again = ParsedPost.from_dict(parsed.to_dict())
        assert again.candidates == parsed.candidates and again.readings() == parsed.candidates
