"""`nowplaying extract`: every enabled source into the raw lake, exactly once.

Per source: load the checkpoint window; walk the source; if it read posts, record the intent
(``pending``: the batch id and the window it leads to) in the checkpoint row, write the raw batch
atomically, then store the new window. A crash between those steps is resolved on the next run:
a pending batch that exists on disk commits its window, one that does not is forgotten. So the
checkpoint never passes posts that were not written, and a written batch is never fetched again.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from cassandra.cluster import Session
from prometheus_client import Gauge

from nowplaying.common.cassandra import CheckpointStore, utcnow
from nowplaying.common.config import Settings
from nowplaying.common.lake import Lake, new_batch_id, open_lake
from nowplaying.common.logging import get_logger
from nowplaying.common.metrics import StageMetrics
from nowplaying.common.stage import StageRun, stage_run
from nowplaying.extractor.http import HttpSource, SourceError, SourceMetrics
from nowplaying.extractor.sources import (
    BlueskySession,
    BlueskySource,
    MastodonSource,
    Source,
    XBudget,
    XSource,
)
from nowplaying.extractor.window import Window

log = get_logger(__name__)

STAGE = "extract"


class CheckpointJournal:
    """The checkpoint row of a source: ``{"window": …, "pending": {"batch_id", "window"}}``."""

    def __init__(self, store: CheckpointStore, lake: Lake) -> None:
        self.store = store
        self.lake = lake

    def load(self, source: str) -> Window:
        text = self.store.get(source)
        state: dict[str, Any] = json.loads(text) if text else {}
        window = Window.from_dict(state.get("window"))
        pending = state.get("pending")
        if pending:
            if self.lake.exists("raw", pending["batch_id"]):
                window = Window.from_dict(pending["window"])
                log.info("checkpoint_rolled_forward", source=source, batch=pending["batch_id"])
            else:
                log.info("checkpoint_intent_dropped", source=source, batch=pending["batch_id"])
            self.commit(source, window)
        return window

    def begin(self, source: str, before: Window, batch_id: str, after: Window) -> None:
        state = {"window": before.to_dict(), "pending": {"batch_id": batch_id, "window": after.to_dict()}}
        self.store.put(source, json.dumps(state))

    def commit(self, source: str, window: Window) -> None:
        self.store.put(source, json.dumps({"window": window.to_dict()}))


class SessionStore:
    """Login sessions of sources, kept in Cassandra between runs (never logged)."""

    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        self._select = session.prepare(f"SELECT session FROM {keyspace}.source_sessions WHERE source = ?")
        self._insert = session.prepare(
            f"INSERT INTO {keyspace}.source_sessions (source, session, updated_at) VALUES (?, ?, ?)"
        )

    def get(self, source: str) -> dict[str, Any] | None:
        row = self.session.execute(self._select, (source,)).one()
        if row is None or not row.session:
            return None
        value: dict[str, Any] = json.loads(row.session)
        return value

    def put(self, source: str, tokens: dict[str, Any]) -> None:
        self.session.execute(self._insert, (source, json.dumps(tokens), utcnow()))


class SpendStore:
    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        self._select = session.prepare(f"SELECT posts_read FROM {keyspace}.source_spend WHERE source = ? AND day = ?")
        self._insert = session.prepare(
            f"INSERT INTO {keyspace}.source_spend (source, day, posts_read, updated_at) VALUES (?, ?, ?, ?)"
        )

    def today(self, source: str) -> int:
        row = self.session.execute(self._select, (source, datetime.now(UTC).date())).one()
        return int(row.posts_read) if row and row.posts_read else 0

    def put_today(self, source: str, posts_read: int) -> None:
        self.session.execute(self._insert, (source, datetime.now(UTC).date(), posts_read, utcnow()))


@dataclass
class SourceOutcome:
    source: str
    posts: int = 0
    batch_id: str | None = None
    complete: bool = False
    stop_reason: str = ""
    malformed: int = 0
    pages: int = 0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def enabled_sources(settings: Settings) -> tuple[list[str], dict[str, str]]:
    """Sources to run, and those skipped with the reason (missing credentials, unknown name)."""
    run: list[str] = []
    skipped: dict[str, str] = {}
    for name in settings.enabled_sources:
        if name == "x" and not settings.x_bearer_token:
            skipped[name] = "X_BEARER_TOKEN is not set"
        elif name == "bluesky" and not (settings.bluesky_handle and settings.bluesky_app_password):
            skipped[name] = "BLUESKY_HANDLE and BLUESKY_APP_PASSWORD are not both set"
        elif name not in ("x", "mastodon", "bluesky"):
            skipped[name] = "unknown source (x, mastodon, bluesky)"
        else:
            run.append(name)
    return run, skipped


async def _run_source(source: Source, journal: CheckpointJournal, lake: Lake) -> SourceOutcome:
    """Walk one source, writing each chunk it yields as a raw batch before storing its window.

    A run that resumes an open gap (a run before it stopped mid-walk) walks only below the gap; posts
    that arrived above it meanwhile wait there. Once the gap is closed, a second walk from the top
    fetches them, so that a complete run means everything up to now is in the lake."""
    outcome = SourceOutcome(source.name)
    window = journal.load(source.name)
    batches: list[str] = []
    pages_before = 0
    try:
        while True:
            resumed_gap = window.upper is not None
            async for result in source.fetch(window):
                outcome.complete = result.complete
                outcome.stop_reason = result.stop_reason
                outcome.malformed += result.malformed
                outcome.pages = pages_before + result.pages
                outcome.extra = {"spent": result.spent, **result.detail}
                if result.posts:
                    batch_id = new_batch_id(source.name)
                    journal.begin(source.name, window, batch_id, result.window)
                    lake.write_jsonl("raw", batch_id, (post.to_dict() for post in result.posts))
                    journal.commit(source.name, result.window)
                    outcome.posts += len(result.posts)
                    batches.append(batch_id)
                elif result.window != window:
                    journal.commit(source.name, result.window)
                window = result.window
            if not (resumed_gap and outcome.complete and window.upper is None):
                break
            pages_before = outcome.pages
            log.info("source_gap_closed", source=source.name, posts=outcome.posts, next="a walk from the top")
    except SourceError as exc:
        outcome.error = str(exc)
        outcome.complete = False
        log.error("source_failed", source=source.name, error=str(exc), posts_written=outcome.posts)
    outcome.batch_id = batches[-1] if batches else None
    outcome.extra["batches"] = len(batches)
    log.info(
        "source_done",
        source=source.name,
        posts=outcome.posts,
        batches=len(batches),
        pages=outcome.pages,
        complete=outcome.complete,
        stop_reason=outcome.stop_reason or None,
        malformed=outcome.malformed,
    )
    return outcome


async def extract_once(settings: Settings, session: Session, run: StageRun) -> list[SourceOutcome]:
    keyspace = settings.cassandra_keyspace
    lake = open_lake(settings)
    lake.sweep_temporaries()
    journal = CheckpointJournal(CheckpointStore(session, keyspace), lake)
    metrics = SourceMetrics(run.metrics.registry)
    names, skipped = enabled_sources(settings)
    for name, reason in skipped.items():
        log.info("source_skipped", source=name, reason=reason)
    run.detail["skipped"] = skipped
    spend = SpendStore(session, keyspace)
    outcomes: list[SourceOutcome] = []
    connector = aiohttp.TCPConnector(limit=8)
    async with aiohttp.ClientSession(connector=connector, headers={"User-Agent": "nowplaying/0.1"}) as http_session:
        sources: list[Source] = []
        budget: XBudget | None = None
        for name in names:
            http = HttpSource(name, http_session, settings, metrics)
            if name == "x":
                budget = XBudget(settings.x_max_posts_per_run, settings.x_max_posts_per_day, spend.today("x"))
                sources.append(XSource(http, settings, budget))
            elif name == "mastodon":
                sources.append(MastodonSource(http, settings))
            else:
                bluesky = BlueskySession(http, settings, SessionStore(session, keyspace))
                sources.append(BlueskySource(http, settings, bluesky))
        results = await asyncio.gather(*(_run_source(s, journal, lake) for s in sources), return_exceptions=True)
        for source, result in zip(sources, results, strict=True):
            if isinstance(result, BaseException):
                # Cassandra or the lake failed for this source: its checkpoint did not move
                log.error("source_failed", source=source.name, error=f"{type(result).__name__}: {result}")
                outcomes.append(SourceOutcome(source.name, error=f"{type(result).__name__}: {result}"))
            else:
                outcomes.append(result)
        if budget is not None:
            spend.put_today("x", budget.spent_today)
            budget_gauge = Gauge(
                "nowplaying_x_budget_posts", "X posts the budget allows", ["period"], registry=run.metrics.registry
            )
            budget_gauge.labels("run").set(budget.per_run)
            budget_gauge.labels("day").set(budget.per_day)
            Gauge(
                "nowplaying_x_posts_spent_today", "X posts read in the current UTC day", registry=run.metrics.registry
            ).set(budget.spent_today)
            run.detail["x_spent_run"] = budget.spent_run
            run.detail["x_spent_today"] = budget.spent_today
    for outcome in outcomes:
        metrics.posts_fetched.labels(outcome.source).inc(outcome.posts)
        run.add_out(outcome.posts)
        run.add_in(outcome.posts + outcome.malformed)
        if outcome.malformed:
            run.add_error("malformed_item", outcome.malformed)
        if outcome.error:
            run.add_error("source_failed")
        if outcome.error or not outcome.complete:
            run.partial = True
        run.detail[outcome.source] = {
            "posts": outcome.posts,
            "pages": outcome.pages,
            "complete": outcome.complete,
            "stop_reason": outcome.stop_reason,
            "error": outcome.error,
            "batch": outcome.batch_id,
        }
    if outcomes and all(o.error for o in outcomes):
        raise SourceError("every source failed: " + "; ".join(f"{o.source}: {o.error}" for o in outcomes))
    return outcomes


def run_extract(settings: Settings, session: Session) -> list[SourceOutcome]:
    with stage_run(STAGE, session, settings, StageMetrics(STAGE)) as run:
        return asyncio.run(extract_once(settings, session, run))
