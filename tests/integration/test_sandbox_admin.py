"""The admin API, live posting, and the `nowplaying sandbox` command."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from nowplaying.common.models import Post, parse_rfc3339

from tests.support.net import free_port

PROJECT = Path(__file__).resolve().parents[2]
NOWPLAYING = [str(PROJECT / ".venv" / "bin" / "python"), "-m", "nowplaying.cli"]


def test_stats_count_posts_requests_and_served_ids(sandbox: Any) -> None:
    stats = sandbox.stats()
    assert stats["seed"] == 42 and stats["dev_mode"] is True
    corpus = stats["corpus"]
    assert corpus["total"] == 500 == sum(corpus["published"].values()) == sum(corpus["kinds"].values())
    assert corpus["catalog_tracks"] > 5000
    url = sandbox.urls["X_API_BASE"] + "/2/tweets/search/recent"
    auth = {"Authorization": "Bearer sandbox-bearer"}
    first = requests.get(url, params={"query": "#nowplaying"}, headers=auth, timeout=5).json()
    requests.get(url, params={"query": "#nowplaying"}, headers=auth, timeout=5)  # the same page again
    requests.get(url, params={"query": "#nowplaying", "max_results": "7"}, headers=auth, timeout=5)
    stats = sandbox.stats()
    assert stats["requests"]["x"] == {"200": 2, "400": 1}
    assert stats["served"]["x"] == {"distinct": 10, "total": 20}
    assert sandbox.served("x") == {t["id"]: 2 for t in first["data"]}
    posts = sandbox.posts()
    assert len(posts) == 500 and [p["index"] for p in posts] == list(range(500))
    assert all(set(p["truth"]) == {"kind", "artist", "title", "track_id", "is_bot", "format"} for p in posts)


def test_reset_restarts_the_same_corpus(sandbox: Any) -> None:
    before = sandbox.posts()
    sandbox.publish(25)
    assert len(sandbox.posts()) == 525
    sandbox.set_faults("x:503")
    sandbox.reset(corpus=True)
    after = sandbox.posts()
    assert [(p["text"], p["truth"]) for p in after] == [(p["text"], p["truth"]) for p in before]
    assert sandbox.stats()["faults"] == [] and sandbox.stats()["requests"] == {}


def test_admin_refuses_bad_input(sandbox: Any) -> None:
    admin = sandbox.base_url + "/_admin"
    for path, body, message in (
        ("/publish", {"count": -1}, "count must be"),
        ("/config", {"colour": "blue"}, "unknown setting(s): colour"),
        ("/config", {"limits": {"myspace": {"limit": 1}}}, "unknown api 'myspace'"),
        ("/faults", {"rules": [{"api": "x"}]}, "needs 'mode'"),
    ):
        answer = requests.post(admin + path, json=body, timeout=5)
        assert answer.status_code == 400 and message in answer.json()["error"], (path, answer.text)
    assert requests.get(admin + "/served?source=myspace", timeout=5).status_code == 400


def test_live_posts_appear_over_time_and_polling_sees_them(sandbox_server: Any) -> None:
    from nowplaying.sandbox.server import start_sandbox
    from nowplaying.sandbox.state import SandboxConfig

    live = start_sandbox(SandboxConfig(seed=3, posts_per_minute=1200, initial_posts=0))  # 20 posts a second
    try:
        url = live.urls["X_API_BASE"] + "/2/tweets/search/recent"
        auth = {"Authorization": "Bearer sandbox-bearer"}
        seen: dict[str, int] = {}
        newest: str | None = None
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            params = {"query": "#nowplaying", "max_results": "100", "tweet.fields": "created_at"}
            if newest:
                params["since_id"] = newest
            body = requests.get(url, params=params, headers=auth, timeout=5).json()
            for tweet in body.get("data", []):
                seen[tweet["id"]] = seen.get(tweet["id"], 0) + 1
                age = time.time() - parse_rfc3339(tweet["created_at"]).timestamp()
                assert -1 < age < 5  # created when it appeared
            newest = body["meta"].get("newest_id", newest)
            time.sleep(0.2)
        x_posts = [p["post_id"] for p in live.posts("x")]
        assert len(live.posts()) >= 20
        assert set(seen) <= set(x_posts) and set(seen.values()) == {1}
        assert len(seen) >= len(x_posts) - 15  # all but the last fraction of a second were fetched
    finally:
        live.stop()


def test_the_command_prints_the_base_urls_and_serves() -> None:
    port = free_port()
    env = {**os.environ, "SANDBOX_INITIAL_POSTS": "40", "LOG_FORMAT": "text"}
    process = subprocess.Popen(
        [*NOWPLAYING, "sandbox", "--port", str(port), "--dev-mode", "off", "--faults", "bluesky:503:n1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines: dict[str, str] = {}
        assert process.stdout is not None
        while "SANDBOX_ADMIN" not in lines:
            line = process.stdout.readline()
            if not line:
                pytest.fail(f"sandbox exited: {process.stderr.read() if process.stderr else ''}")
            if "=" in line:
                key, _, value = line.strip().partition("=")
                lines[key] = value
        base = f"http://127.0.0.1:{port}"
        assert lines["X_API_BASE"] == f"{base}/x" and lines["SPOTIFY_API_BASE"] == f"{base}/spotify/api/v1"
        assert lines["MASTODON_BASE"] == f"{base}/mastodon" and lines["BLUESKY_BASE"] == f"{base}/bluesky"
        stats = requests.get(lines["SANDBOX_ADMIN"] + "/stats", timeout=5).json()
        assert stats["corpus"]["total"] >= 40 and stats["dev_mode"] is False
        assert stats["faults"][0]["api"] == "bluesky"
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_bad_fault_spec_is_refused_by_the_command() -> None:
    done = subprocess.run(
        [*NOWPLAYING, "sandbox", "--port", "0", "--faults", "x:teapot"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "unknown fault mode 'teapot'" in done.stderr


def test_dump_writes_the_same_posts_for_the_same_seed(tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.jsonl"
        subprocess.run(
            [*NOWPLAYING, "sandbox", "--dump", "300", "--seed", "11", "--out", str(out)], check=True, timeout=120
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    records = [orjson.loads(line) for line in outputs[0].splitlines()]
    assert len(records) == 300
    for record in records:
        Post.from_dict(record)
        assert record["truth"]["kind"] in ("link", "parsed", "query", "none")


def test_custom_posts_are_served_with_their_text_escaped_as_each_api_does(sandbox: Any) -> None:
    import urllib.request

    import orjson

    hostile = "#NowPlaying <script>alert(1)</script> <img src=x onerror=alert(1)> Daft Punk - One More Time"
    sandbox.publish(0, [{"source": "mastodon", "text": hostile}, {"source": "x", "text": hostile}])
    url = sandbox.urls["MASTODON_BASE"] + "/api/v1/timelines/tag/nowplaying?limit=1"
    with urllib.request.urlopen(url, timeout=10) as response:
        status = orjson.loads(response.read())[0]
    assert "<script>" not in status["content"] and "&lt;script&gt;alert(1)&lt;/script&gt;" in status["content"]
    request = urllib.request.Request(
        sandbox.urls["X_API_BASE"] + "/2/tweets/search/recent?query=%23NowPlaying&max_results=10",
        headers={"Authorization": "Bearer sandbox-bearer"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        tweet = orjson.loads(response.read())["data"][0]
    assert tweet["text"].startswith("#NowPlaying &lt;script&gt;")
    truths = [p for p in sandbox.posts() if p.get("text") == hostile]
    assert len(truths) == 2
