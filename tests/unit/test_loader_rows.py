"""The loader's pure core: reading CSV records, validating them into plays, cutting files for workers."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cassandra.query import UNSET_VALUE
from nowplaying.common.aggjournal import segment_of
from nowplaying.common.models import (
    AUDIO_FEATURES,
    ENRICHED_CSV_COLUMNS,
    LEGACY_CSV_COLUMNS,
    PRE_LANG_CSV_COLUMNS,
)
from nowplaying.loader.reader import Header, iter_lines, read_header, split_ranges
from nowplaying.loader.rows import (
    HeaderError,
    RowError,
    parse_play,
    plays_by_hour_values,
    read_records,
)

from tests.support.enriched_csv import enriched_rows, write_enriched_csv


def _row(**overrides: str) -> dict[str, str]:
    row = next(enriched_rows(1, seed=11, matched_share=1.0, bot_share=0.0))
    row.update(overrides)
    return row


def _fields(row: dict[str, str]) -> list[str]:
    return [row[c] for c in ENRICHED_CSV_COLUMNS]


def _csv_bytes(rows: list[list[str]], header: bool = True) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(ENRICHED_CSV_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def test_generated_rows_parse_back_to_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    rows = write_enriched_csv(path, 2_000, seed=3)
    header = read_header(path)
    records = list(read_records(iter_lines(path, header.whole_file(path)), first_line=2))
    assert len(records) == len(rows)
    for (_, fields), row in zip(records, rows, strict=True):
        assert isinstance(fields, list)
        play = parse_play(fields)
        assert play.post_id == row["post_id"]
        assert play.source == row["source"]
        assert play.text == row["text"]
        assert play.is_bot is (row["is_bot"] == "true")
        assert play.played_at == datetime.fromisoformat(row["created_at"].replace("Z", "+00:00"))
        assert play.bucket == row["created_at"][:13]
        assert play.month == row["created_at"][:7]
        minute = int(row["created_at"][14:16])
        assert play.segment == f"{play.bucket}:{minute - minute % 5:02d}" == segment_of(play.played_at)
        assert (play.track_id or "") == row["id_track"]
        if play.matched:
            assert play.artist_ids and len(play.artist_ids) == len(play.artist_names)
            first = row["artists_id"].strip('["').split('"')[0]
            assert play.artist_ids[0] == first
        else:
            assert play.artist_ids == [] and play.track_name is None and play.match_confidence is None
        for name in AUDIO_FEATURES:
            # a missing feature stays missing, never 0
            assert (play.features[name] is None) == (row[name] == "")


def test_several_artists_come_from_a_json_array_and_names_may_hold_commas() -> None:
    row = _row(artists_id='["a1","a2"]', artists_name='["Earth, Wind & Fire","Prince"]')
    play = parse_play(_fields(row))
    assert play.artist_ids == ["a1", "a2"]
    assert play.artist_names == ["Earth, Wind & Fire", "Prince"]
    single = parse_play(_fields(_row(artists_id="a9", artists_name="Crosby, Stills")))
    assert single.artist_names == ["Crosby, Stills"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"danceability": "high"}, "column 'danceability' is not a number: 'high'"),
        ({"tempo": "nan"}, "column 'tempo' is not a finite number"),
        ({"popularity": "7.5"}, "column 'popularity' is not an integer"),
        ({"popularity": "170"}, "column 'popularity' is 170, outside 0..100"),
        ({"key": "x"}, "column 'key' is not an integer"),
        ({"created_at": "yesterday"}, "column 'created_at': 'yesterday' is not an RFC 3339 timestamp"),
        ({"created_at": "2026-03-01T10:00:00"}, "has no time zone"),
        ({"created_at": ""}, "column 'created_at' is empty"),
        ({"text": "x" * 20_001}, "column 'text' is 20001 characters, over the limit of 20000"),
        ({"album": "y" * 3_000}, "column 'album' is 3000 characters"),
        ({"is_bot": "maybe"}, "column 'is_bot' must be true or false"),
        ({"source": "myspace"}, "column 'source' must be one of"),
        ({"post_id": "", "id_tweet": ""}, "columns 'post_id' and 'id_tweet' are both empty"),
        ({"artists_id": '["a","b"]', "artists_name": "Solo"}, "do not pair up"),
    ],
)
def test_bad_values_are_refused_naming_the_column(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(RowError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_play(_fields(_row(**overrides)))


def test_wrong_column_count_is_refused() -> None:
    n = len(ENRICHED_CSV_COLUMNS)
    with pytest.raises(RowError, match=f"record has {n - 1} columns, the header has {n}"):
        parse_play(_fields(_row())[:-1])


def test_files_from_before_the_match_reading_columns_still_load(tmp_path: Path) -> None:
    """A CSV written before match_candidate/match_rule (31 columns) is read with those (and lang) empty."""
    row = _row(match_candidate="2", match_rule="swapped_order")
    play = parse_play(_fields(row))
    assert (play.match_candidate, play.match_rule) == (2, "swapped_order")
    legacy = parse_play(_fields(row)[: len(LEGACY_CSV_COLUMNS)], len(LEGACY_CSV_COLUMNS))
    assert (legacy.match_candidate, legacy.match_rule, legacy.lang) == (None, None, None)
    assert legacy.post_id == play.post_id and legacy.track_id == play.track_id
    old = tmp_path / "old.csv"
    old.write_text(",".join(LEGACY_CSV_COLUMNS) + "\n")
    assert read_header(old) == Header(len(",".join(LEGACY_CSV_COLUMNS)) + 1, len(LEGACY_CSV_COLUMNS))
    # a record of a current file that is short is refused, not read as an older record
    n = len(ENRICHED_CSV_COLUMNS)
    with pytest.raises(RowError, match=f"record has 31 columns, the header has {n}"):
        parse_play(_fields(row)[: len(LEGACY_CSV_COLUMNS)], n)
    with pytest.raises(RowError, match="column 'match_candidate' is not an integer"):
        parse_play(_fields(_row(match_candidate="first")))


def test_files_from_before_the_lang_column_still_load(tmp_path: Path) -> None:
    """A CSV written before `lang` (33 columns, up to match_rule) is read with lang empty."""
    assert len(PRE_LANG_CSV_COLUMNS) == 33 and len(LEGACY_CSV_COLUMNS) == 31
    row = _row(lang="pt", match_candidate="1", match_rule="swapped_order")
    fields = _fields(row)
    play = parse_play(fields)
    assert play.lang == "pt"
    old = tmp_path / "pre_lang.csv"
    old.write_text(",".join(PRE_LANG_CSV_COLUMNS) + "\n")
    header = read_header(old)
    assert header == Header(len(",".join(PRE_LANG_CSV_COLUMNS)) + 1, 33)
    pre_lang = parse_play(fields[:33], header.columns)
    assert pre_lang.lang is None
    assert (pre_lang.match_candidate, pre_lang.match_rule, pre_lang.post_id) == (1, "swapped_order", play.post_id)
    with pytest.raises(RowError, match="record has 32 columns, the header has 33"):
        parse_play(fields[:32], header.columns)
    # the unset lang is not written as a null (no tombstone)
    assert plays_by_hour_values(pre_lang)[-1] is UNSET_VALUE
    assert plays_by_hour_values(play)[-1] == "pt"


def test_timestamps_are_truncated_to_cassandra_milliseconds() -> None:
    play = parse_play(_fields(_row(created_at="2026-03-01T10:20:30.123456+02:00")))
    assert play.played_at == datetime(2026, 3, 1, 8, 20, 30, 123000, tzinfo=UTC)
    assert play.bucket == "2026-03-01T08"
    values = plays_by_hour_values(play)
    assert values[:2] == ("2026-03-01T08", play.played_at)


def test_read_records_reports_physical_lines_and_goes_on_after_bad_ones() -> None:
    good = _fields(_row(text="first line\nsecond line"))
    other = _fields(_row(post_id="2", id_tweet="2"))
    data = _csv_bytes([good, other, ["only", "three", "fields"], other], header=False)
    # line 1: header (not given here), records start at physical lines 2, 4, 5, 6
    bad_utf8 = b'99,"caf\xe9 ' + b"x" * 10 + b'",' + b",".join(b"" for _ in range(29)) + b"\n"
    lines = io.BytesIO(data + bad_utf8).readlines()
    records = list(read_records(lines, first_line=2))
    assert [line for line, _ in records] == [2, 4, 5, 6, 7]
    assert records[4][1] == "invalid UTF-8 in the record"
    with pytest.raises(RowError, match="record has 3 columns"):
        parse_play(records[2][1])  # type: ignore[arg-type]
    assert parse_play(records[0][1]).text == "first line\nsecond line"  # type: ignore[arg-type]


def test_header_must_be_the_enriched_header(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes(_csv_bytes([]))
    assert read_header(good) == Header(len(",".join(ENRICHED_CSV_COLUMNS)) + 1, len(ENRICHED_CSV_COLUMNS))
    seed_only = tmp_path / "seed.csv"
    seed_only.write_text(",".join(ENRICHED_CSV_COLUMNS[:22]) + "\n")
    with pytest.raises(HeaderError, match="header is not the enriched CSV header"):
        read_header(seed_only)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(HeaderError, match="file is empty"):
        read_header(empty)


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_split_ranges_never_cut_a_record(tmp_path: Path, parts: int) -> None:
    path = tmp_path / "multi.csv"
    rows = write_enriched_csv(path, 3_000, seed=5)  # many texts span two lines
    assert any("\n" in r["text"] for r in rows)
    header = read_header(path)
    ranges = split_ranges(path, header, parts)
    assert len(ranges) == parts
    assert ranges[0].start == header.data_start and ranges[-1].end == path.stat().st_size
    assert all(a.end == b.start for a, b in itertools.pairwise(ranges))
    seen: list[tuple[int, str]] = []
    for part in ranges:
        for line, fields in read_records(iter_lines(path, part), first_line=part.first_line):
            assert isinstance(fields, list), f"line {line}: {fields}"
            seen.append((line, parse_play(fields).post_id))
    whole = [
        (line, parse_play(fields).post_id)  # type: ignore[arg-type]
        for line, fields in read_records(iter_lines(path, header.whole_file(path)), first_line=2)
    ]
    assert seen == whole
    assert [p for _, p in seen] == [r["post_id"] for r in rows]


def test_the_shared_generator_is_deterministic_and_follows_the_contract(tmp_path: Path) -> None:
    first = write_enriched_csv(tmp_path / "a.csv", 500, seed=9, bot_share=0.2, matched_share=0.7)
    second = write_enriched_csv(tmp_path / "b.csv", 500, seed=9, bot_share=0.2, matched_share=0.7)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert first == second
    with open(tmp_path / "a.csv", newline="", encoding="utf-8") as handle:
        assert tuple(next(csv.reader(handle))) == ENRICHED_CSV_COLUMNS
    assert all(tuple(r) == ENRICHED_CSV_COLUMNS for r in first)
    assert len({r["post_id"] for r in first}) == 500
    bots = sum(r["is_bot"] == "true" for r in first)
    matched = sum(bool(r["id_track"]) for r in first)
    assert 50 <= bots <= 150 and 300 <= matched <= 400
    assert all(r["match_method"] == "none" for r in first if not r["id_track"])
    other = write_enriched_csv(tmp_path / "c.csv", 10, seed=10, return_rows=True)
    assert not {r["post_id"] for r in other} & {r["post_id"] for r in first}
