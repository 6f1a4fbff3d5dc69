"""Fault specs: parsing, errors that name the wrong part, counting and probabilities."""

from __future__ import annotations

import pytest
from nowplaying.sandbox.faults import FaultRule, FaultSet, FaultSpecError, parse_fault_spec


def test_spec_syntax() -> None:
    rules = parse_fault_spec("spotify:429:0.1, x:503:n2,mastodon:slow=2.5,bluesky:drop:x1,*:truncated")
    assert [(r.api, r.mode, r.probability, r.count, r.param) for r in rules] == [
        ("spotify", "429", 0.1, None, None),
        ("x", "503", 1.0, 2, None),
        ("mastodon", "slow", 1.0, None, 2.5),
        ("bluesky", "drop", 1.0, 1, None),
        ("*", "truncated", 1.0, None, None),
    ]
    assert rules[2].seconds == 2.5
    assert FaultRule("spotify", "429long").seconds == 20000
    assert parse_fault_spec("") == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("myspace:500", "unknown api 'myspace'"),
        ("x:teapot", "unknown fault mode 'teapot'"),
        ("x:200", "not an HTTP error status"),
        ("x:500:often", "'often' is neither"),
        ("x:slow=soon", "'soon' is not a number"),
        ("x", "not api:mode"),
        ("x:500:1.5", "probability 1.5"),
    ],
)
def test_bad_specs_name_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_fault_spec(spec)


def test_next_n_then_nothing_and_paths() -> None:
    faults = FaultSet(seed=1)
    faults.set([*parse_fault_spec("x:503:n2"), FaultRule("spotify", "429", path="/api/token")])
    assert [faults.pick("x", "/2/tweets/search/recent") is not None for _ in range(4)] == [True, True, False, False]
    assert faults.pick("spotify", "/v1/search") is None
    assert faults.pick("spotify", "/api/token") is not None
    assert faults.fired == {"x:503": 2, "spotify:429": 1}


def test_probability_is_seeded() -> None:
    def run() -> list[bool]:
        faults = FaultSet(seed=9)
        faults.set(parse_fault_spec("mastodon:500:0.3"))
        return [faults.pick("mastodon", "/") is not None for _ in range(2000)]

    first = run()
    assert first == run()
    assert 0.25 < sum(first) / len(first) < 0.35
