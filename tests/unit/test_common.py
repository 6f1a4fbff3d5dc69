from __future__ import annotations

import pytest
from nowplaying.common.config import Settings
from nowplaying.common.lake import LakeError, batch_day, new_batch_id
from nowplaying.common.migrate import load_migrations
from nowplaying.common.models import (
    ENRICHED_CSV_COLUMNS,
    SEED_CSV_COLUMNS,
    Candidate,
    ParsedPost,
    Post,
    RecordError,
)

POST = {
    "source": "mastodon",
    "post_id": "1",
    "created_at": "2026-11-28T10:00:00+01:00",
    "author_id": "a1",
    "author_name": None,
    "lang": "en",
    "text": "#NowPlaying Björk - Jóga",
    "urls": [],
    "is_repost": False,
    "raw": {},
}


def test_post_normalizes_timestamp_to_utc() -> None:
    post = Post.from_dict(POST)
    assert post.created_at == "2026-11-28T09:00:00.000Z"
    assert post.text == "#NowPlaying Björk - Jóga"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source": "myspace"}, "field 'source'"),
        ({"post_id": 5}, "field 'post_id' must be a string"),
        ({"created_at": "yesterday"}, "not an RFC 3339"),
        ({"created_at": "2026-11-28T10:00:00"}, "no time zone"),
        ({"urls": "http://x"}, "field 'urls'"),
        ({"text": "x" * 30_000}, "over the limit"),
    ],
)
def test_post_rejects_bad_fields_naming_them(change: dict[str, object], message: str) -> None:
    with pytest.raises(RecordError, match=message):
        Post.from_dict({**POST, **change})


def test_parsed_post_round_trip() -> None:
    parsed = ParsedPost.from_post(Post.from_dict(POST), kind="parsed", rule="dash", artist="Björk", title="Jóga")
    again = ParsedPost.from_dict(parsed.to_dict())
    assert again == parsed
    assert again.is_play
    with pytest.raises(RecordError, match="field 'kind'"):
        ParsedPost.from_dict({**parsed.to_dict(), "kind": "song"})


def test_parsed_post_candidates_round_trip_in_rank_order() -> None:
    readings = [
        Candidate("Björk", "Jóga", None, "dash", 0.9),
        Candidate("Jóga", "Björk", None, "dash_swapped", 0.3),
        Candidate(None, None, "Björk Jóga", "query", 0.1),
    ]
    parsed = ParsedPost.from_post(
        Post.from_dict(POST), kind="parsed", rule="dash", artist="Björk", title="Jóga", candidates=readings
    )
    again = ParsedPost.from_dict(parsed.to_dict())
    assert again.candidates == readings
    assert again.readings() == readings


def test_parsed_post_without_candidates_reads_as_its_own_reading() -> None:
    """Batches written before the field existed still give the enricher one reading to search."""
    obj = ParsedPost.from_post(Post.from_dict(POST), kind="parsed", rule="dash", artist="Björk", title="Jóga").to_dict()
    del obj["candidates"]
    parsed = ParsedPost.from_dict(obj)
    assert parsed.candidates == []
    assert parsed.readings() == [Candidate("Björk", "Jóga", None, "dash", 1.0)]
    none = ParsedPost.from_post(Post.from_dict(POST), kind="none", rule="none_empty")
    assert none.readings() == []


@pytest.mark.parametrize(
    ("candidates", "message"),
    [
        ("Björk - Jóga", "field 'candidates' must be a list"),
        ([{"artist": "Björk", "rule": "dash", "confidence": 0.5}], r"candidates\[0\]' needs artist and title"),
        ([{"query": "Jóga", "rule": "q", "confidence": 1.5}], r"candidates\[0\].confidence"),
        ([{"query": 7, "rule": "q", "confidence": 0.5}], r"candidates\[0\].query"),
        ([{"query": "x", "rule": "q", "confidence": 0.5}] * 9, "over the limit"),
    ],
)
def test_parsed_post_rejects_bad_candidates_naming_them(candidates: object, message: str) -> None:
    obj = {**POST, "kind": "parsed", "rule": "dash", "artist": "Björk", "title": "Jóga", "candidates": candidates}
    with pytest.raises(RecordError, match=message):
        ParsedPost.from_dict(obj)


def test_enriched_columns_start_with_the_seed_columns_in_order() -> None:
    assert ENRICHED_CSV_COLUMNS[:22] == SEED_CSV_COLUMNS
    assert SEED_CSV_COLUMNS[0] == "id_tweet" and SEED_CSV_COLUMNS[-1] == "mode"
    assert len(set(ENRICHED_CSV_COLUMNS)) == len(ENRICHED_CSV_COLUMNS)


def test_batch_ids_sort_by_time_and_name_their_day() -> None:
    ids = [new_batch_id("x") for _ in range(5)]
    assert ids == sorted(ids)
    assert batch_day(ids[0]).count("-") == 2
    with pytest.raises(LakeError):
        batch_day("nonsense")


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASSANDRA_HOSTS", "10.0.0.1:9043, 10.0.0.2:9043")
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", "hunter2")
    settings = Settings()
    assert settings.cassandra_contact_points == [("10.0.0.1", 9043), ("10.0.0.2", 9043)]
    assert settings.masked()["SPOTIFY_CLIENT_SECRET"] == "<set>"
    assert "hunter2" not in repr(settings)
    monkeypatch.setenv("CASSANDRA_REPLICATION", "not json")
    with pytest.raises(ValueError, match="CASSANDRA_REPLICATION"):
        Settings()


def test_migrations_are_versioned_and_parse() -> None:
    migrations = load_migrations()
    assert migrations and migrations[0].filename.startswith("V001__")
    statements = migrations[0].statements("ks")
    assert all(s.startswith("CREATE TABLE IF NOT EXISTS ks.") for s in statements)
    assert not any("{ks}" in s or "--" in s for s in statements)


def test_readme_configuration_table_matches_settings() -> None:
    import re
    import subprocess
    import sys

    from nowplaying.common.config import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text()
    block = re.search(r"<!-- config:start -->\n(.*)<!-- config:end -->", readme, re.S)
    assert block, "README.md lost its configuration block"
    expected = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "config_table.py")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert block.group(1) == expected, "README configuration table is stale: run `make docs`"
