"""Stage 1, normalize: entities, controls and line breaks of real posts (fixtures/normalize.json)."""

from __future__ import annotations

import html
from typing import Any

import pytest
from nowplaying.cleaner.normalize import normalize_text

from tests.unit.cleaner_stages.cases import case_id, load

CASES = load("normalize")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_entities_and_controls_go(case: dict[str, Any]) -> None:
    text = normalize_text(case["text"])
    for entity in ("&amp;", "&quot;", "&gt;", "&lt;"):
        if entity in case["text"] and "&amp;amp;" not in case["text"]:
            assert entity not in text
            assert html.unescape(entity) in text
    assert "\r" not in text and "\u200b" not in text


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_label_reads_in_the_normalized_text(case: dict[str, Any]) -> None:
    text = normalize_text(case["text"]).casefold()
    for side in (case["artist"], case["title"]):
        if side and side.casefold() in html.unescape(case["text"]).casefold():
            assert side.casefold() in text


_PLACEHOLDERS = ("{link}", "URL")


@pytest.mark.parametrize("case", [c for c in CASES if any(p in c["text"] for p in _PLACEHOLDERS)], ids=case_id)
def test_a_link_placeholder_is_a_link(case: dict[str, Any]) -> None:
    """Archives replace links with "URL603" or "{link}": a link all the same, never a title word."""
    from nowplaying.cleaner.normalize import _URL_RE

    body = _URL_RE.sub("\n", normalize_text(case["text"]))
    assert "{link}" not in body and not any(w.startswith("URL") and w[3:].isdigit() for w in body.split())
