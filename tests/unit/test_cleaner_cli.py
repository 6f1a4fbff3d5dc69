"""`nowplaying clean --in POSTS.jsonl --out PARSED.jsonl`: no Cassandra, one output line per valid
input line in input order, bad lines reported as `line N: <reason>` and skipped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from nowplaying.common.models import ParsedPost


def _post(i: int, text: str) -> dict[str, Any]:
    return {
        "source": "mastodon",
        "post_id": f"p{i}",
        "created_at": "2026-03-01T10:00:00Z",
        "author_id": f"a{i}",
        "author_name": None,
        "lang": None,
        "text": text,
        "urls": [],
        "is_repost": False,
        "raw": {},
    }


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nowplaying.cli", "clean", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "LOG_LEVEL": "WARNING", "CASSANDRA_HOSTS": "127.0.0.1:1"},
    )


def test_file_mode_cleans_in_order_and_reports_bad_lines(tmp_path: Path) -> None:
    lines: list[bytes] = [
        json.dumps(_post(1, "#NowPlaying Кино - Группа крови")).encode(),
        b"this is not json",
        json.dumps(_post(2, "RT")).encode(),
        b"\xff\xfe invalid utf-8 \xc3\x28",
        b"[" * 5000 + b"]" * 5000,
        json.dumps(_post(3, "x" * 10_000_000)).encode(),
        json.dumps({**_post(4, "hi"), "text": 5}).encode(),
        json.dumps(_post(5, "I\u2019m listening to Zero by Periphery http://t.co/x via @lastfm")).encode(),
        json.dumps(_post(6, "\x00\x07 Daft Punk\x1b - Get Lucky")).encode(),
    ]
    posts = tmp_path / "posts.jsonl"
    posts.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "parsed.jsonl"

    result = _run("--in", str(posts), "--out", str(out))

    assert result.returncode == 0, result.stderr
    parsed = [ParsedPost.from_dict(json.loads(line)) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [p.post_id for p in parsed] == ["p1", "p2", "p5", "p6"]
    assert (parsed[0].kind, parsed[0].artist, parsed[0].title) == ("parsed", "Кино", "Группа крови")
    assert (parsed[1].kind, parsed[1].rule) == ("none", "none_rt")
    assert (parsed[2].artist, parsed[2].title, parsed[2].rule) == ("Periphery", "Zero", "template_lastfm")
    assert (parsed[3].artist, parsed[3].title) == ("Daft Punk", "Get Lucky")
    errors = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert [e.split(":")[0] for e in errors] == ["line 2", "line 4", "line 5", "line 6", "line 7"]
    assert "invalid JSON" in errors[0]
    assert "UTF-8" in errors[1]
    assert "depth" in errors[2] or "nested" in errors[2]
    assert "over the limit" in errors[3]
    assert "field 'text' must be a string" in errors[4]


def test_file_mode_cleans_posts_that_lack_metadata_and_writes_back_what_they_had(tmp_path: Path) -> None:
    """Outside files are not always complete Post records: only the text is needed to clean."""
    lines = [
        {"post_id": "a", "text": "#NowPlaying Кино - Группа крови"},
        {"id": 1234567890, "text": "Hello by Adele", "created_at": "Wed Oct 10 20:19:24 +0000 2018",
         "source": "twitter", "author_id": None},
        {"text": "Praise — Marvin Gaye (feat. Someone)"},
        {"source": "x", "post_id": "no-text"},
        *({"post_id": f"same-{i}", "text": f"Artist {i} - Title {i}"} for i in range(30)),
    ]  # fmt: skip
    posts = tmp_path / "posts.jsonl"
    posts.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    out = tmp_path / "parsed.jsonl"

    result = _run("--in", str(posts), "--out", str(out))

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["post_id"] for r in records[:3]] == ["a", "1234567890", "line-3"]
    assert (records[0]["artist"], records[0]["title"]) == ("Кино", "Группа крови")
    assert (records[1]["artist"], records[1]["title"]) == ("Adele", "Hello")
    # what the input had (or lacked) is written back, never a made-up value
    assert (records[1]["source"], records[1]["created_at"], records[1]["author_id"]) == (
        "twitter", "Wed Oct 10 20:19:24 +0000 2018", None,
    )  # fmt: skip
    assert records[0]["source"] is None and records[0]["created_at"] is None
    # thirty posts without an author are not one busy automated account
    assert not any(r["is_bot"] for r in records)
    assert "line 4: missing field 'text'" in result.stderr
    assert "33 without full Post metadata" in result.stderr


def test_file_mode_unreadable_input_exits_1(tmp_path: Path) -> None:
    result = _run("--in", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "out.jsonl"))
    assert result.returncode == 1
    assert "cannot read" in result.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_file_mode_needs_both_paths(tmp_path: Path) -> None:
    result = _run("--in", str(tmp_path / "x.jsonl"))
    assert result.returncode == 2
