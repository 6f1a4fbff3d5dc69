"""The extractor against the real sandbox (aiohttp client) and the real Cassandra: every post the
sources serve reaches the raw lake exactly once, through restarts, kills and every fault mode."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from nowplaying.common.cassandra import CheckpointStore
from nowplaying.common.config import Settings
from nowplaying.common.lake import FolderLake
from nowplaying.extractor.stage import run_extract
from nowplaying.extractor.window import Window, position_key

QUERY = "#NowPlaying -is:retweet"


def _settings(base: Settings, sandbox: Any, lake_dir: Path, **extra: Any) -> Settings:
    urls = sandbox.urls
    values: dict[str, Any] = {
        "lake_dir": lake_dir,
        "sources": "x,mastodon,bluesky",
        "x_api_base": urls["X_API_BASE"],
        "x_bearer_token": "sandbox-bearer",
        "x_query": QUERY,
        "mastodon_base": urls["MASTODON_BASE"],
        "bluesky_base": urls["BLUESKY_BASE"],
        "bluesky_handle": "sandbox.bsky.social",
        "bluesky_app_password": "sandbox-app-password",
        "initial_lookback_hours": 6.9 * 24,
        "retry_base_delay_s": 0.01,
        "retry_max_delay_s": 0.05,
        "retry_max_attempts": 4,
        "rate_limit_max_wait_s": 3.0,
        "http_timeout_s": 3.0,
        "pushgateway_url": None,
        "extract_batch_posts": 50,  # several batches per walk: every chunk commits its own window
    }
    values.update(extra)
    return Settings.model_validate({**base.model_dump(), **values})


def expected_ids(sandbox: Any) -> dict[str, set[str]]:
    """What each source should deliver: the sandbox's posts that match the configured search."""
    from nowplaying.sandbox.bluesky_api import _matcher
    from nowplaying.sandbox.mastodon_api import _tags
    from nowplaying.sandbox.x_api import compile_query

    timeline = sandbox.state.timeline
    x_match = compile_query(QUERY)
    bluesky_match = _matcher("#nowplaying", ["nowplaying"], None, None)
    return {
        "x": {p.post_id for p in timeline.feeds["x"].posts if x_match(p)},
        "mastodon": {p.post_id for p in timeline.feeds["mastodon"].posts if "nowplaying" in _tags(p)},
        "bluesky": {p.post_id for p in timeline.feeds["bluesky"].posts if bluesky_match(p)},
    }


def lake_ids(lake_dir: Path) -> dict[str, Counter[str]]:
    found: dict[str, Counter[str]] = {"x": Counter(), "mastodon": Counter(), "bluesky": Counter()}
    lake = FolderLake(lake_dir)
    for batch in lake.list_batches("raw"):
        with gzip.open(lake.path_of(batch), "rt") as handle:
            for line in handle:
                record = json.loads(line)
                found[record["source"]][record["post_id"]] += 1
    return found


def assert_exactly_once(sandbox: Any, lake_dir: Path) -> None:
    expected = expected_ids(sandbox)
    found = lake_ids(lake_dir)
    for source, ids in expected.items():
        assert ids, f"the sandbox served no {source} posts: the test proves nothing"
        doubled = [i for i, n in found[source].items() if n > 1]
        assert not doubled, f"{source}: {len(doubled)} posts written twice, e.g. {doubled[:3]}"
        missing = ids - set(found[source])
        assert not missing, f"{source}: {len(missing)} posts never written, e.g. {sorted(missing)[:3]}"
        assert set(found[source]) <= ids


def assert_checkpoints_cover_only_written(settings: Settings, session: Any, sandbox: Any) -> None:
    """No checkpoint passes a post that is not in the lake."""
    store = CheckpointStore(session, settings.cassandra_keyspace)
    written = lake_ids(settings.lake_dir)
    expected = expected_ids(sandbox)
    timeline = sandbox.state.timeline
    for source in ("x", "mastodon"):
        text = store.get(source)
        if not text:
            continue
        state = json.loads(text)
        window = Window.from_dict(state["window"])
        if window.lower is None:
            continue
        for post_id in expected[source]:
            covered = position_key(post_id) <= position_key(window.lower)
            in_gap = window.upper is not None and position_key(post_id) < position_key(window.upper)
            if covered and not in_gap:
                assert post_id in written[source], f"{source} checkpoint {window.lower} passed unwritten {post_id}"
    text = store.get("bluesky")
    if text:
        window = Window.from_dict(json.loads(text)["window"])
        if window.lower:
            for post in timeline.feeds["bluesky"].posts:
                if post.post_id in expected["bluesky"] and post.created_at < window.lower and window.upper is None:
                    assert post.post_id in written["bluesky"]


def run_until_complete(settings: Settings, session: Any, max_runs: int = 12) -> int:
    for attempt in range(1, max_runs + 1):
        try:
            outcomes = run_extract(settings, session)
        except Exception:
            continue
        if all(o.complete and not o.error for o in outcomes):
            return attempt
    raise AssertionError(f"extraction did not complete in {max_runs} runs")


def test_two_runs_fetch_every_post_exactly_once(
    sandbox: Any, clean_db: Settings, cassandra_session: Any, tmp_path: Path
) -> None:
    settings = _settings(clean_db, sandbox, tmp_path / "lake")
    first = run_extract(settings, cassandra_session)
    assert all(o.complete for o in first), first
    assert sum(o.posts for o in first) > 100
    sandbox.publish(120)
    second = run_extract(settings, cassandra_session)
    assert all(o.complete for o in second)
    assert 0 < sum(o.posts for o in second) <= 120, [(o.source, o.posts) for o in first + second]
    third = run_extract(settings, cassandra_session)
    assert sum(o.posts for o in third) == 0, "a run with nothing new wrote posts again"
    assert_exactly_once(sandbox, settings.lake_dir)
    # the raw records follow the Post contract
    lake = FolderLake(settings.lake_dir)
    with gzip.open(lake.path_of(lake.list_batches("raw")[0]), "rt") as handle:
        record = json.loads(handle.readline())
    assert set(record) == {
        "source",
        "post_id",
        "created_at",
        "author_id",
        "author_name",
        "lang",
        "text",
        "urls",
        "is_repost",
        "raw",
    }
    runs = cassandra_session.execute(
        f"SELECT status, items_out FROM {settings.cassandra_keyspace}.pipeline_runs WHERE stage = 'extract'"
    ).all()
    assert len(runs) == 3 and {r.status for r in runs} == {"ok"}


def test_bluesky_session_is_created_once_and_reused(
    sandbox: Any, clean_db: Settings, cassandra_session: Any, tmp_path: Path
) -> None:
    settings = _settings(clean_db, sandbox, tmp_path / "lake", sources="bluesky")
    outcomes = run_extract(settings, cassandra_session)
    sandbox.publish(30)
    outcomes += run_extract(settings, cassandra_session)
    sandbox.admin("POST", "/expire-tokens", {})
    sandbox.publish(30)
    outcomes += run_extract(settings, cassandra_session)
    assert [o.error for o in outcomes] == [None, None, None]
    assert sum(o.extra["sessions_created"] for o in outcomes) == 1, "a session was created on more than one run"
    assert outcomes[2].extra["sessions_refreshed"] == 1, "the expired session was not refreshed"
    assert_exactly_once_for(sandbox, settings.lake_dir, "bluesky")
    stored = cassandra_session.execute(
        f"SELECT session FROM {settings.cassandra_keyspace}.source_sessions WHERE source = 'bluesky'"
    ).one()
    assert "sandbox-app-password" not in stored.session  # tokens are kept, the password never


def assert_exactly_once_for(sandbox: Any, lake_dir: Path, source: str) -> None:
    expected = expected_ids(sandbox)[source]
    found = lake_ids(lake_dir)[source]
    assert expected and set(found) == expected and max(found.values()) == 1


FAULTS = [
    "x:429:n2",
    "mastodon:429:n2",
    "bluesky:429:n2",  # short resets: waited out
    "x:429long:n1",
    "mastodon:429long:n1",
    "bluesky:429long:n1",  # long resets: stop, resume next run
    "*:503:0.3",
    "*:500:n3",
    "*:slow=5:n2",  # beyond the client timeout
    "*:drop:0.3",
    "*:malformed:n2",
    "*:truncated:n2",
]


@pytest.mark.parametrize("fault", FAULTS)
def test_no_post_lost_or_doubled_under_faults(
    fault: str, sandbox: Any, clean_db: Settings, cassandra_session: Any, tmp_path: Path
) -> None:
    settings = _settings(clean_db, sandbox, tmp_path / "lake")
    sandbox.set_faults(fault)
    run_extract_safely(settings, cassandra_session)
    assert sum(sandbox.stats()["faults_fired"].values()) > 0, "the fault never fired: the test proves nothing"
    assert_checkpoints_cover_only_written(settings, cassandra_session, sandbox)
    sandbox.publish(60)
    run_extract_safely(settings, cassandra_session)
    assert_checkpoints_cover_only_written(settings, cassandra_session, sandbox)
    sandbox.set_faults([])
    run_until_complete(settings, cassandra_session)
    assert_exactly_once(sandbox, settings.lake_dir)


def run_extract_safely(settings: Settings, session: Any) -> None:
    try:
        run_extract(settings, session)
    except Exception as exc:  # every source failed this run: allowed, nothing may move
        print(f"run failed as a whole: {exc}")


def test_small_page_budget_and_x_spend(
    sandbox: Any, clean_db: Settings, cassandra_session: Any, tmp_path: Path
) -> None:
    """A per-run X budget stops X early; later runs close the gap; spend is counted."""
    settings = _settings(clean_db, sandbox, tmp_path / "lake", sources="x", x_max_posts_per_run=40)
    runs = run_until_complete(settings, cassandra_session, max_runs=40)
    assert runs > 1, "the budget never stopped a run: the test proves nothing"
    assert_exactly_once_for(sandbox, settings.lake_dir, "x")
    spent = cassandra_session.execute(
        f"SELECT posts_read FROM {settings.cassandra_keyspace}.source_spend WHERE source = 'x'"
    ).one()
    assert spent.posts_read >= len(expected_ids(sandbox)["x"])


def test_a_run_that_closes_a_gap_also_fetches_what_arrived_above_it(
    sandbox: Any, clean_db: Settings, cassandra_session: Any, tmp_path: Path
) -> None:
    """A run stopped by the page cap leaves a gap; posts published after it sit above the gap. The next
    run must close the gap and then fetch those too, and only then say it is complete."""
    sources = "x,mastodon"  # paged feeds longer than one page (Bluesky's first page holds them all)
    capped = _settings(clean_db, sandbox, tmp_path / "lake", sources=sources, max_pages_per_run=1)
    first = run_extract(capped, cassandra_session)
    assert not any(o.complete for o in first), "one page per source should not reach the end of the feed"
    sandbox.publish(150)
    settings = _settings(clean_db, sandbox, tmp_path / "lake", sources=sources)
    second = run_extract(settings, cassandra_session)
    assert all(o.complete and not o.error for o in second), second
    expected, found = expected_ids(sandbox), lake_ids(settings.lake_dir)
    for source in ("x", "mastodon"):
        assert set(found[source]) == expected[source], f"{source}: {len(expected[source] - set(found[source]))} missing"
        assert max(found[source].values()) == 1, f"{source}: a post written twice"


def _requests_answered(sandbox: Any) -> int:
    return sum(sum(by_status.values()) for by_status in sandbox.stats()["requests"].values())


def _wait_for_requests_beyond(sandbox: Any, seen: int, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while _requests_answered(sandbox) <= seen and proc.poll() is None:
        assert time.monotonic() < deadline, "the extract run made no request to the sandbox"
        time.sleep(0.05)


def test_killed_runs_lose_nothing_and_double_nothing(
    sandbox: Any, clean_db: Settings, cassandra_session: Any, tmp_path: Path
) -> None:
    settings = _settings(clean_db, sandbox, tmp_path / "lake")
    env = {**os.environ, "LOG_FORMAT": "json"}
    for key, value in settings.masked().items():
        env[key] = value
    env.update(
        {
            "X_BEARER_TOKEN": "sandbox-bearer",
            "BLUESKY_APP_PASSWORD": "sandbox-app-password",
            "CASSANDRA_PASSWORD": "",
            "PUSHGATEWAY_URL": "",
        }
    )
    env = {k: v for k, v in env.items() if v != ""}
    rng = random.Random(7)
    sandbox.set_faults("*:slow=0.4")  # every answer takes 0.4 s: a run lasts seconds, so the kill lands mid-run
    kills = 0
    for _ in range(4):
        sandbox.publish(200)
        proc = subprocess.Popen(
            [sys.executable, "-m", "nowplaying.cli", "extract"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        # the kill lands at a random point after the run's first request, however fast the machine starts it
        _wait_for_requests_beyond(sandbox, _requests_answered(sandbox), proc)
        time.sleep(rng.uniform(0.1, 1.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        _, stderr = proc.communicate()
        assert proc.returncode in (0, -signal.SIGKILL), stderr.decode()[-3000:]
    assert kills >= 2, "the runs finished before the kill: the test proves nothing"
    sandbox.set_faults([])
    run_until_complete(settings, cassandra_session)
    try:
        assert_exactly_once(sandbox, settings.lake_dir)
    except AssertionError as exc:  # say enough to debug a rare failure from the log alone
        store = CheckpointStore(cassandra_session, settings.cassandra_keyspace)
        checkpoints = {s: store.get(s) for s in ("x", "mastodon", "bluesky")}
        batches = [b.batch_id for b in FolderLake(settings.lake_dir).list_batches("raw")]
        raise AssertionError(f"{exc}\ncheckpoints: {checkpoints}\nbatches: {batches}") from exc
