"""The stage fixtures: real posts of the development half of bench/data (bench/split.py), each with its
hand label and its source, one JSON file per cleaner stage (fixtures/<stage>.json).

The cases were picked among the dev half's rows by what the stage is for (templates and radio
formats for frame, posts with tags, links and tails for tidy, separator posts for split, look-alike
non-songs for classify, rows whose right reading is a candidate for candidates, rows with entities
for normalize), spread over the four files. The expected values are the hand labels, never the
cleaner's output; a stage change that breaks one breaks a real case."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def load(stage: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((FIXTURES / f"{stage}.json").read_text(encoding="utf-8"))
    return cases


def case_id(case: dict[str, Any]) -> str:
    return str(case["text"])[:60]


_DASH_TAG_RE = re.compile(r"^(?P<head>.+?) - (?P<tag>[^()\-]+)$")


def same(got: str | None, want: str | None) -> bool:
    """Equal after case-folding and collapsing spaces; "T - Tag" and "T (Tag)" are the same title (as
    the quality bench and the held-out scorer read them)."""

    def norm(value: str | None) -> str:
        text = " ".join((value or "").casefold().split())
        match = _DASH_TAG_RE.match(text)
        return f"{match.group('head')} ({match.group('tag')})" if match else text

    return norm(got) == norm(want)


def post_lines(text: str) -> list[str]:
    """A post's lines as the line stages see them (as ``clean_text`` prepares them): normalized, a
    retweet prefix gone, links, music markers and emoji as line breaks, each line tidied."""
    from nowplaying.cleaner.normalize import _EMOJI_RE, _MARKER_RE, _RT_PREFIX_RE, _URL_RE, normalize_text
    from nowplaying.cleaner.tidy import _clean_line

    body = _URL_RE.sub("\n", _RT_PREFIX_RE.sub("", normalize_text(text).strip(), count=1))
    body = _EMOJI_RE.sub("\n", _MARKER_RE.sub("\n", body))
    return [line for line in (_clean_line(raw) for raw in body.split("\n") if raw.strip()) if line]
