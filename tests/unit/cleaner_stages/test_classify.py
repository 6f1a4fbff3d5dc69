"""Stage 5, classify: real look-alikes that name no song are never claimed as a song
(fixtures/classify.json): albums, films, radio talk, quotations, sports, station IDs."""

from __future__ import annotations

from typing import Any

import pytest
from nowplaying.cleaner.core import clean_text

from tests.unit.cleaner_stages.cases import case_id, load

CASES = load("classify")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_non_song_is_none_or_a_query(case: dict[str, Any]) -> None:
    assert case["kind"] == "none"
    result = clean_text(case["text"], case["urls"])
    assert result.kind in ("none", "query"), result
    assert result.spotify_track_id is None and result.artist is None, result
