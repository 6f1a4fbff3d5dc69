"""Every stage fixture is a real labelled post of the development half, with its source."""

from __future__ import annotations

import json

import pytest

from bench.split import half_of
from tests.unit.cleaner_stages.cases import FIXTURES, load

STAGES = ("normalize", "frame", "split", "tidy", "classify", "candidates")


@pytest.mark.parametrize("stage", STAGES)
def test_fixture_cases_are_dev_half_rows_of_bench_data(stage: str) -> None:
    cases = load(stage)
    assert cases
    for case in cases:
        assert half_of(case["text"]) == "dev", case["text"]
        assert case["source"].startswith("https://"), case
        labelled = (FIXTURES.parents[3] / case["set"]).read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in labelled]
        assert any(row.get("text") == case["text"] and row["artist"] == case["artist"] and row["title"] == case["title"]
                   for row in rows), case["text"]  # fmt: skip
