"""End-to-end fixtures: data in Cassandra, the real gateway serving the built frontend, Chromium.

The data comes from ``e2e_data`` — the one fixture to swap when the whole pipeline (sandbox →
extract → clean → enrich → load → aggregate) is wired in. Today it writes enriched CSV batches (the
enricher's output contract) into a lake, loads them with the real loader (``nowplaying load``) and
runs the real Spark job (``nowplaying aggregate``) for the charts and statistics.

The browser is Debian's Chromium (``/usr/bin/chromium``, or ``E2E_CHROMIUM``) driven by Playwright;
``playwright install`` is never used.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nowplaying.common.config import PROJECT_ROOT, Settings
from nowplaying.common.lake import FolderLake, new_batch_id
from nowplaying.common.models import ENRICHED_CSV_COLUMNS
from pydantic import SecretStr

FRONTEND = PROJECT_ROOT / "frontend"
DIST = FRONTEND / "dist"
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
NOWPLAYING = PROJECT_ROOT / ".venv" / "bin" / "nowplaying"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# A post that tries to inject markup: it must show as these exact characters.
HOSTILE_TEXT = "#NowPlaying <script>alert(1)</script> <img src=x onerror=alert(1)>"
HOSTILE_POST_ID = "e2e-hostile-1"
AGGREGATE_TIMEOUT_S = 1500


@dataclass
class E2EData:
    """What was loaded, so tests can assert on real values."""

    rows: list[dict[str, str]]
    today: date
    hostile: dict[str, str]
    loaded_by: str
    aggregated_by: str
    now: datetime
    today_rows: list[dict[str, str]] = field(default_factory=list)

    def artists_of(self, row: dict[str, str]) -> list[str]:
        return _multi(row["artists_name"])

    def by_artist(self, artist: str, rows: list[dict[str, str]] | None = None) -> list[dict[str, str]]:
        """Rows with an artist name holding ``artist`` (the gateway's case-insensitive substring filter)."""
        needle = artist.lower()
        return [
            r for r in (self.rows if rows is None else rows) if any(needle in a.lower() for a in self.artists_of(r))
        ]

    def last_day_rows(self, slack: timedelta = timedelta(minutes=10)) -> list[dict[str, str]]:
        return [r for r in self.rows if _created(r) >= self.now - timedelta(hours=24) - slack]

    def artist_for_filter(self) -> str:
        """An artist of today with a few plays in the last 24 h, fewer than a page."""
        counts: Counter[str] = Counter(a for r in self.today_rows for a in set(self.artists_of(r)))
        for artist, _ in counts.most_common():
            if 3 <= len(self.by_artist(artist, self.last_day_rows())) <= 40:
                return artist
        raise AssertionError("no artist with 3..40 plays in the last 24 h")


def _multi(value: str) -> list[str]:
    if not value:
        return []
    if value.startswith("["):
        return [str(v) for v in json.loads(value)]
    return [value]


def _created(row: dict[str, str]) -> datetime:
    return datetime.fromisoformat(row["created_at"].replace("Z", "+00:00"))


def _write_batch(lake_dir: Path, rows: list[dict[str, str]], label: str) -> Path:
    path = FolderLake(lake_dir).path_for("enriched", new_batch_id(label))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".tmp-{path.name}"
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ENRICHED_CSV_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
    return path


def _env(settings: Settings, lake_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CASSANDRA_HOSTS=settings.cassandra_hosts,
        CASSANDRA_PORT=str(settings.cassandra_port),
        CASSANDRA_KEYSPACE=settings.cassandra_keyspace,
        LAKE_DIR=str(lake_dir),
        LOG_FORMAT="text",
        LOG_LEVEL="WARNING",
    )
    env.pop("PUSHGATEWAY_URL", None)
    return env


E2E_POSTS = 1500  # spread over the last 6 days: ~250 in the last 24 h
E2E_SEED = 72
TRENDING_BURST = 6


def _history_rows(lake_dir: Path) -> list[dict[str, str]]:
    """Every enriched row the pipeline loaded (the loader moves loaded batches to history/)."""
    rows: list[dict[str, str]] = []
    lake = FolderLake(lake_dir)
    for batch in lake.list_batches("history"):
        with open(lake.path_of(batch), encoding="utf-8", newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def load_e2e_data(settings: Settings, lake_dir: Path, now: datetime) -> E2EData:
    """The whole pipeline on sandbox posts: sandbox → extract → clean → enrich → load → aggregate.

    The sandbox publishes a week of posts (a few hundred today); one more post, the newest of all,
    carries markup that must be shown as text. It links a catalog track, so it is matched and shows
    on that track's page.
    """
    from nowplaying.sandbox.server import start_sandbox
    from nowplaying.sandbox.state import SandboxConfig

    from tests.support.pipeline import pipeline_env, run_stage

    spacing_s = 6 * 24 * 3600 / E2E_POSTS
    sandbox = start_sandbox(SandboxConfig(seed=E2E_SEED, posts_per_minute=60 / spacing_s, initial_posts=E2E_POSTS))
    try:
        # the track of the hostile post: the most posted catalog track of the last day
        recent = [p for p in sandbox.posts() if p.get("truth", {}).get("track_id")]
        counts = Counter(p["truth"]["track_id"] for p in recent[-300:])
        track_id = counts.most_common(1)[0][0]
        # a track trending today, whatever the time of day: the week's least posted catalog track,
        # posted TRENDING_BURST times now (the week's posts are spread evenly, so at 02:00 UTC today
        # holds two hours of them and no track is far above its week)
        week = Counter(p["truth"]["track_id"] for p in recent)
        trending_id = min(week, key=lambda t: (week[t], t))
        sandbox.publish(
            0,
            [
                {"source": "x", "text": f"#NowPlaying https://open.spotify.com/track/{trending_id}?n={n}",
                 "truth": {"kind": "link", "track_id": trending_id}}
                for n in range(TRENDING_BURST)
            ],
        )  # fmt: skip
        hostile_text = f"{HOSTILE_TEXT} https://open.spotify.com/track/{track_id}?si=e2e"
        sandbox.publish(
            0, [{"source": "mastodon", "text": hostile_text, "truth": {"kind": "link", "track_id": track_id}}]
        )
        env = pipeline_env(settings, sandbox.urls, lake_dir, LOG_LEVEL="WARNING")
        env.pop("PUSHGATEWAY_URL", None)
        for stage in ("extract", "clean", "enrich", "load"):
            run_stage(stage, env)
    finally:
        sandbox.stop()
    first = (now - timedelta(days=7)).date()
    # Spark's start and its two folds took over 600 s at a load average of 35 on two cores
    days = f"{first.isoformat()}..{now.date().isoformat()}"
    run_stage("aggregate", env, "--days", days, "--trending-min-plays", "2", timeout=AGGREGATE_TIMEOUT_S)
    rows = _history_rows(lake_dir)
    hostile = next(r for r in rows if r["text"].startswith(HOSTILE_TEXT))
    assert hostile["id_track"] == track_id, "the hostile post's Spotify link was not matched"
    return E2EData(
        rows=rows,
        today=now.date(),
        hostile=hostile,
        loaded_by="extract → clean → enrich → load",
        aggregated_by="nowplaying aggregate (Spark)",
        now=now,
        today_rows=[r for r in rows if _created(r).date() == now.date()],
    )


@pytest.fixture(scope="session")
def e2e_data(cassandra_settings: Settings, cassandra_session: Any, tmp_path_factory: pytest.TempPathFactory) -> E2EData:
    from tests.conftest import truncate_keyspace

    # the session's keyspace holds whatever earlier tests left: the pages must show this data only
    truncate_keyspace(cassandra_session, cassandra_settings.cassandra_keyspace)
    lake_dir = tmp_path_factory.mktemp("e2e-lake")
    return load_e2e_data(cassandra_settings, lake_dir, datetime.now(UTC))


def _frontend_is_stale() -> bool:
    index = DIST / "index.html"
    if not index.is_file():
        return True
    built = index.stat().st_mtime
    sources = [FRONTEND / "index.html", FRONTEND / "package-lock.json", *(FRONTEND / "src").rglob("*")]
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


@pytest.fixture(scope="session")
def frontend_dist() -> Path:
    """The built app; built here when missing or older than its sources."""
    if _frontend_is_stale():
        npm = shutil.which("npm")
        assert npm, "npm is needed to build the frontend (Node.js 20 with npm)"
        if not (FRONTEND / "node_modules").is_dir():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True, timeout=600)
        subprocess.run([npm, "run", "build"], cwd=FRONTEND, check=True, timeout=600, capture_output=True)
    return DIST


class _Server:
    """The gateway app under uvicorn, in a thread, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, log_config=None))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


@pytest.fixture(scope="session")
def app_url(
    cassandra_settings: Settings, cassandra_session: Any, frontend_dist: Path, e2e_data: E2EData
) -> Iterator[str]:
    from nowplaying.gateway.app import create_app

    settings = cassandra_settings.model_copy(
        update={"frontend_dist": frontend_dist, "cursor_secret": SecretStr("e2e-cursor-secret")}
    )
    with _Server(create_app(settings, cassandra_session)) as server:
        yield f"http://127.0.0.1:{server.port}"


def _chromium() -> str:
    for candidate in (os.environ.get("E2E_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("Chromium is missing: install Debian's chromium (make setup does)")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Chromium for the e2e package only: Playwright's sync API keeps an asyncio loop running in
    this thread while it is open, which would break every later ``asyncio.run``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class Tab:
    """A page of the app, with the dialogs and page errors it met."""

    page: Any
    base: str
    dialogs: list[str]
    errors: list[str]
    console: list[str]

    def go(self, hash_route: str) -> None:
        self.page.goto(f"{self.base}/{hash_route}")

    def shot(self, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


def _tab(browser: Any, base: str, width: int, height: int) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="UTC", locale="en-US")
    context.set_default_timeout(20_000)
    page = context.new_page()
    tab = Tab(page, base, [], [], [])

    def on_dialog(dialog: Any) -> None:
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    # Console errors include refused scripts or styles (the gateway's CSP) and failed requests.
    page.on("console", lambda msg: tab.console.append(msg.text) if msg.type == "error" else None)
    yield tab
    context.close()


@pytest.fixture
def tab(browser: Any, app_url: str) -> Iterator[Tab]:
    yield from _tab(browser, app_url, 1280, 900)


@pytest.fixture
def phone(browser: Any, app_url: str) -> Iterator[Tab]:
    yield from _tab(browser, app_url, 390, 844)
