"""`make run`, exactly as the README says: the whole system on this machine, offline (sandbox).

It waits until the Data page lists plays and the Charts page shows a top track, checks the plays
against the posts the sandbox served, stops with Ctrl-C (SIGINT), and starts again to show the data
was kept. It runs twice: with the lake in a folder, and with ``LAKE_URL=s3://…`` (``make run`` then
starts the project's SeaweedFS itself); the plays of the sandbox's initial corpus must be the same
number on both.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from nowplaying.common.config import PROJECT_ROOT

from tests.support.net import free_port, http_json
from tests.support.pipeline import clean_kinds

SONG_KINDS = {"link", "parsed", "query"}
INITIAL_POSTS = 300
# plays of the initial corpus, per lake backend run in this session (compared across backends)
INITIAL_PLAYS: dict[str, int] = {}


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "ab")  # noqa: SIM115 (closed when the process ends)
    return subprocess.Popen(
        ["make", "run"], cwd=PROJECT_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    """Ctrl-C in the terminal: SIGINT to the whole foreground process group."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        code = proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(f"make run did not stop within 120 s after Ctrl-C:\n{log.read_text()[-3000:]}") from None
    text = log.read_text()
    assert "stopped; data kept" in text, text[-3000:]
    assert code in (0, 2, 130, -2), f"make run exited {code}:\n{text[-3000:]}"


def _plays(base: str) -> list[dict[str, Any]]:
    """Every play of the last 8 days, through the gateway's cursor paging."""
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 8 * 86400))
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = http_json(f"{base}/api/plays?limit=200&start={start}" + (f"&cursor={cursor}" if cursor else ""))
        items.extend(page["items"])
        cursor = page.get("next_cursor") or ""
        if not cursor:
            return items


def _wait(what: str, check: Any, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"make run exited early ({proc.returncode}):\n{log.read_text()[-4000:]}")
        try:
            result = check()
            if result:
                return result
        except Exception as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what} ({last_error}):\n{log.read_text()[-4000:]}")


def _lake_env(backend: str, tmp_path: Path) -> dict[str, str]:
    if backend == "folder":
        return {"LAKE_DIR": str(tmp_path / "lake"), "LAKE_URL": ""}
    from tests.fixtures_lake import free_port_block

    return {
        "LAKE_URL": f"s3://nowplaying-e2e/run-{secrets.token_hex(3)}",
        "LAKE_S3_ENDPOINT": "",  # the local server: make run starts SeaweedFS itself
        "SEAWEEDFS_PORT": str(free_port_block()),
        "SEAWEEDFS_DATA_DIR": str(tmp_path / "seaweedfs"),
    }


def _lake_of(env: dict[str, str]) -> Any:
    from nowplaying.common.config import Settings
    from nowplaying.common.lake import open_lake
    from nowplaying.common.locals3 import LocalS3

    if not env.get("LAKE_URL"):
        return open_lake(Settings(lake_dir=Path(env["LAKE_DIR"]), lake_url=None))
    data_dir, port = Path(env["SEAWEEDFS_DATA_DIR"]), int(env["SEAWEEDFS_PORT"])
    server = LocalS3(Settings(seaweedfs_data_dir=data_dir, seaweedfs_port=port))
    local = {k.lower(): v for k, v in server.lake_environment().items()}
    return open_lake(Settings(lake_url=env["LAKE_URL"], **local))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["folder", "s3"])
def test_make_run_end_to_end(backend: str, tmp_path: Path, browser: Any) -> None:
    gateway_port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "SPOTIFY_", "BLUESKY_", "MASTODON_"))}
    env.update(
        {
            "GATEWAY_PORT": str(gateway_port),
            "SANDBOX_PORT": str(sandbox_port),
            "SANDBOX_INITIAL_POSTS": str(INITIAL_POSTS),
            "SANDBOX_POSTS_PER_MINUTE": "30",
            "INITIAL_LOOKBACK_HOURS": "165",
            "AGGREGATE_SECONDS": "30",
            **_lake_env(backend, tmp_path),
            "CASSANDRA_KEYSPACE": f"np_run_{secrets.token_hex(3)}",
        }
    )
    env.pop("PUSHGATEWAY_URL", None)
    base = f"http://127.0.0.1:{gateway_port}"
    admin = f"http://127.0.0.1:{sandbox_port}/_admin"
    log = tmp_path / "make-run.log"
    proc = _start(env, log)
    try:
        _wait("the gateway", lambda: http_json(f"{base}/healthz"), proc, log, 900)
        # it says what to open once it has seen the gateway answer itself (a moment after us)
        _wait(
            "make run to say what to open",
            lambda: f"open http://localhost:{gateway_port}" in log.read_text(),
            proc,
            log,
            120,
        )

        page = browser.new_page()

        def data_rows() -> bool:
            page.goto(f"{base}/#/data")
            page.reload()
            page.wait_for_load_state("networkidle")
            return page.locator("table.plays tbody tr").count() > 0

        _wait("plays on the Data page", data_rows, proc, log, 300)

        def top_track() -> bool:
            page.goto(f"{base}/#/charts")
            page.reload()
            page.wait_for_load_state("networkidle")
            return page.locator("table tbody tr a[href*='#/track/']").count() > 0

        _wait("a top track on the Charts page", top_track, proc, log, 300)
        page.close()

        # Stop new posts, let the loops drain, then compare plays with what the sandbox served.
        http_json(f"{admin}/config", {"posts_per_minute": 0})
        posts = {p["post_id"]: p for p in http_json(f"{admin}/posts?limit=100000")["posts"]}
        served = set()
        for source in ("x", "mastodon", "bluesky"):
            served |= set(http_json(f"{admin}/served?source={source}")["ids"])

        lake = _lake_of(env)

        def caught_up() -> tuple[list[dict[str, Any]], dict[str, str]] | None:
            kinds = clean_kinds(lake)
            plays = _plays(base)
            served_now = set()
            for source in ("x", "mastodon", "bluesky"):
                served_now |= set(http_json(f"{admin}/served?source={source}")["ids"])
            song_posts = [i for i in served_now if kinds.get(i) in SONG_KINDS]
            if len(kinds) >= len(served_now) and len(plays) == len(song_posts):
                return plays, kinds
            return None

        plays, kinds = _wait("the pipeline to catch up", caught_up, proc, log, 300)
        play_ids = [p["post_id"] for p in plays]
        assert len(play_ids) == len(set(play_ids)), "a post became two plays"
        served = set(kinds)
        truth_songs = {i for i in served if posts.get(i, {}).get("truth", {}).get("kind") in SONG_KINDS}
        # every served song post, as the cleaner judged it, is exactly one play ...
        assert set(play_ids) == {i for i in served if kinds[i] in SONG_KINDS}
        # ... and the cleaner's judgement agrees with the sandbox's truth on almost every post
        agree = len(truth_songs & set(play_ids)) / max(1, len(truth_songs | set(play_ids)))
        initial = {p["post_id"] for p in list(posts.values())[:INITIAL_POSTS]}
        INITIAL_PLAYS[backend] = len(initial & set(play_ids))
        print(
            f"lake {backend}: plays {len(play_ids)} ({INITIAL_PLAYS[backend]} of the {INITIAL_POSTS} initial posts), "
            f"song posts served (truth) {len(truth_songs)}, agreement {agree:.3f}"
        )
        assert agree >= 0.95
        if len(INITIAL_PLAYS) == 2:
            assert INITIAL_PLAYS["s3"] == INITIAL_PLAYS["folder"], INITIAL_PLAYS
    finally:
        _stop(proc, log)

    # The next `make run` resumes with the data kept.
    before = len(play_ids)
    log2 = tmp_path / "make-run-2.log"
    proc = _start(env, log2)
    try:
        _wait("the gateway again", lambda: http_json(f"{base}/healthz"), proc, log2, 600)
        again = _wait("the kept plays", lambda: len(_plays(base)) >= before, proc, log2, 120)
        assert again
    finally:
        _stop(proc, log2)
