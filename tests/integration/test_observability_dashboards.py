"""Every Grafana panel query and every alert expression, evaluated by a real Prometheus.

A real Prometheus scrapes a real Pushgateway (both started by ``tests/fixtures_observability.py``)
and loads the alert and recording rules rendered from the chart. Batch stages run through the real
``stage_run`` (a ``pipeline_runs`` row in Cassandra and the StageMetrics push); then each panel must
return data, each rule must be valid and evaluate, and the numbers must agree with the runs.

The source/API/match/gateway metrics are pushed here as stand-ins with the names the dashboards use
(charts/nowplaying/dashboards/README.md) until the services export them;
``test_full_pipeline_against_the_sandbox`` is the end-to-end version the lead finishes.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from nowplaying.common.config import Settings
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import push_to_gateway

from tests.chart.tooling import dashboards, panel_queries
from tests.fixtures_observability import PromStack

STAGE_COUNTS = {  # stage: (in, out, errors)
    "extract": (37, 37, 0),
    "clean": (37, 29, 0),
    "enrich": (29, 29, 9),
    "load": (29, 27, 2),
}


def run_stage(stage: str, session: Any, settings: Settings, n_in: int, n_out: int, errors: int) -> None:
    from nowplaying.common.stage import stage_run

    with stage_run(stage, session, settings) as run:
        run.add_in(n_in)
        run.add_out(n_out)
        if errors:
            run.add_error("bad_item", errors)


def push_service_metrics(url: str, scale: int) -> None:
    """Stand-ins for the metrics the extractor, enricher, loader and gateway export (same names)."""
    registry = CollectorRegistry()
    fetched = Counter("nowplaying_source_posts_fetched", "", ["source"], registry=registry)
    requests = Counter("nowplaying_source_requests", "", ["source", "status"], registry=registry)
    waits = Counter("nowplaying_source_rate_limit_waits", "", ["source"], registry=registry)
    spent = Gauge("nowplaying_x_posts_spent_today", "", registry=registry)
    budget = Gauge("nowplaying_x_budget_posts", "", ["period"], registry=registry)
    spotify = Counter("nowplaying_spotify_requests", "", ["endpoint", "status"], registry=registry)
    enriched = Counter("nowplaying_enrich_posts", "", registry=registry)
    cache = Counter("nowplaying_match_cache_lookups", "", ["result"], registry=registry)
    matches = Counter("nowplaying_matches", "", ["method", "band"], registry=registry)
    features = Counter("nowplaying_features", "", ["source"], registry=registry)
    rows = Counter("nowplaying_load_rows", "", ["outcome"], registry=registry)
    fetched.labels("mastodon").inc(20)
    fetched.labels("x").inc(17)
    requests.labels("mastodon", "200").inc(3)
    requests.labels("x", "200").inc(2)
    requests.labels("x", "429").inc(1)
    waits.labels("x").inc(1)
    spent.set(9500)
    budget.labels("day").set(10000)
    budget.labels("run").set(1000)
    spotify.labels("search", "200").inc(14)
    spotify.labels("token", "200").inc(1)
    enriched.inc(29)
    cache.labels("hit").inc(10)
    cache.labels("miss").inc(12)
    matches.labels("link", "high").inc(7)
    matches.labels("fielded", "high").inc(9)
    matches.labels("freetext", "medium").inc(4)
    features.labels("reccobeats").inc(18)
    rows.labels("loaded").inc(27)
    rows.labels("rejected").inc(2)
    push_to_gateway(url, job="nowplaying", grouping_key={"stage": "services"}, registry=registry)

    gateway = CollectorRegistry()
    http = Counter("nowplaying_http_requests", "", ["route", "method", "status"], registry=gateway)
    latency = Histogram("nowplaying_http_request_duration_seconds", "", ["route", "method"], registry=gateway)
    for i in range(20 * scale):
        http.labels("/api/plays", "GET", "200").inc()
        latency.labels("/api/plays", "GET").observe(0.01 + (i % 10) / 100)
    http.labels("/api/charts", "GET", "500").inc(scale)
    latency.labels("/api/charts", "GET").observe(0.2)
    push_to_gateway(url, job="gateway", registry=gateway)


@pytest.fixture(scope="module")
def observed(prom_stack: PromStack, cassandra_session: Any, cassandra_settings: Settings) -> dict[str, Any]:
    """Runs the four stages (real stage_run) and the stand-ins; waits until Prometheus has scraped them."""
    prom_stack.wipe_pushgateway()
    settings = cassandra_settings.model_copy(update={"pushgateway_url": prom_stack.pushgateway_url})
    for stage, (n_in, n_out, errors) in STAGE_COUNTS.items():
        run_stage(stage, cassandra_session, settings, n_in, n_out, errors)
    push_service_metrics(prom_stack.pushgateway_url, scale=1)
    # Counters need two scrapes to have a rate: push the gateway again a little later.
    prom_stack.wait_for('nowplaying_http_requests_total{route="/api/plays"}')
    time.sleep(2.5)
    push_service_metrics(prom_stack.pushgateway_url, scale=3)
    time.sleep(2.5)
    prom_stack.wait_for('nowplaying_stage_items_total{stage="load"}')
    return {"settings": settings}


def value(series: list[dict[str, Any]], **labels: str) -> float:
    matching = [r for r in series if all(r["metric"].get(k) == v for k, v in labels.items())]
    assert len(matching) == 1, f"{labels}: {series}"
    return float(matching[0]["value"][1])


ALL_PANELS = [(board, title, expr) for board, d in dashboards().items() for title, expr in panel_queries(d)]


@pytest.mark.parametrize(("board", "title", "expr"), ALL_PANELS, ids=[f"{b}:{t}" for b, t, _ in ALL_PANELS])
def test_every_panel_returns_data(
    observed: dict[str, Any], prom_stack: PromStack, board: str, title: str, expr: str
) -> None:
    result = prom_stack.query(expr)
    assert result, f"{board} / {title}: no data for {expr}"


def test_panels_agree_with_the_runs(observed: dict[str, Any], prom_stack: PromStack, cassandra_session: Any) -> None:
    settings: Settings = observed["settings"]
    queries = {title: expr for d in dashboards().values() for title, expr in panel_queries(d)}
    items = prom_stack.query(queries["Posts in and out per stage (last run)"])
    rows = cassandra_session.execute(
        f"SELECT stage, items_in, items_out, errors, status FROM {settings.cassandra_keyspace}.pipeline_runs"
    )
    latest: dict[str, Any] = {}
    for row in rows:  # newest first within a stage
        latest.setdefault(row.stage, row)
    for stage, (n_in, n_out, errors) in STAGE_COUNTS.items():
        assert value(items, stage=stage, direction="in") == n_in
        assert value(items, stage=stage, direction="out") == n_out
        # The panel shows what the run recorded in Cassandra (the Home page's source).
        assert (latest[stage].items_in, latest[stage].items_out, latest[stage].errors) == (n_in, n_out, errors)
    error_panel = prom_stack.query(queries["Errors per stage (last run)"])
    assert {r["metric"]["stage"]: float(r["value"][1]) for r in error_panel} == {
        s: float(c[2]) for s, c in STAGE_COUNTS.items()
    }
    outcome = prom_stack.query(queries["Runs by outcome"])
    assert value(outcome, stage="extract", status="ok") == 1
    assert value(outcome, stage="extract", status="failed") == 0
    freshness = prom_stack.query(queries["Time since last successful run"])
    assert all(0 <= float(r["value"][1]) < 120 for r in freshness)
    fetched = prom_stack.query(queries["Posts fetched by source (total)"])
    assert sum(float(r["value"][1]) for r in fetched) == STAGE_COUNTS["extract"][0]
    loaded = prom_stack.query(queries["Rows loaded into Cassandra (total)"])
    assert value(loaded, outcome="loaded") == STAGE_COUNTS["load"][1]
    matched = prom_stack.query(queries["Matched share (total)"])
    assert float(matched[0]["value"][1]) == pytest.approx(20 / 29)
    hit = prom_stack.query(queries["Match cache hit ratio"])
    assert float(hit[0]["value"][1]) == pytest.approx(10 / 22)
    rps = prom_stack.query(queries["Requests per second by route"])
    assert value(rps, route="/api/plays") > 0


def all_rules(prom_stack: PromStack) -> list[dict[str, Any]]:
    return [rule for group in prom_stack.rules() for rule in group["rules"]]


def test_every_rule_is_loaded_valid_and_evaluates(observed: dict[str, Any], prom_stack: PromStack) -> None:
    from tests.chart.tooling import render_rule_groups

    shipped = [rule for group in render_rule_groups()["groups"] for rule in group["rules"]]
    deadline = time.monotonic() + 20
    loaded = all_rules(prom_stack)
    while time.monotonic() < deadline and not all(r.get("lastEvaluation", "").startswith("2") for r in loaded):
        time.sleep(0.5)
        loaded = all_rules(prom_stack)
    assert len(loaded) == len(shipped)
    bad = [(r["name"], r.get("health"), r.get("lastError")) for r in loaded if r.get("health") != "ok"]
    assert not bad, bad
    for rule in shipped:
        prom_stack.query(rule["expr"])  # raises on an invalid expression


def test_alerts_fire_on_what_they_watch(observed: dict[str, Any], prom_stack: PromStack) -> None:
    from tests.chart.tooling import render_rule_groups

    alerts = {}
    for group in render_rule_groups()["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                alerts.setdefault(rule["alert"], []).append(rule["expr"])
    # enrich failed on 9 of 29 items and load on 2 of 29: only enrich is above the 10 % error ratio.
    (error_expr,) = alerts["NowplayingStageHighErrorRatio"]
    firing = prom_stack.wait_for(error_expr)
    assert [r["metric"]["stage"] for r in firing] == ["enrich"]
    # 9 500 of 10 000 X posts spent today.
    (budget_expr,) = alerts["NowplayingXBudgetNearlySpent"]
    assert float(prom_stack.wait_for(budget_expr)[0]["value"][1]) == pytest.approx(0.95)
    # The stages just succeeded: no staleness, no failure; aggregate (Spark) never ran.
    assert all(not prom_stack.query(expr) for expr in alerts["NowplayingStageNoRecentSuccess"])
    assert all(not prom_stack.query(expr) for expr in alerts["NowplayingStageFailing"])
    never = [prom_stack.query(expr) for expr in alerts["NowplayingStageNeverRan"]]
    assert [r[0]["metric"]["stage"] for r in never if r] == ["aggregate"]
    # The gateway answered 4 of 84 requests with 500 (under 5 %).
    (gateway_expr,) = alerts["NowplayingGatewayHighErrorRatio"]
    assert not prom_stack.query(gateway_expr)


def test_failed_and_stale_stages_are_alerted(observed: dict[str, Any], prom_stack: PromStack) -> None:
    """A stage whose last success is old, and one whose last run failed, show in the alert expressions."""
    from tests.chart.tooling import render_rule_groups

    registry = CollectorRegistry()
    last_success = Gauge("nowplaying_stage_last_success_timestamp_seconds", "", ["stage"], registry=registry)
    last_run = Gauge("nowplaying_stage_last_run_timestamp_seconds", "", ["stage"], registry=registry)
    last_success.labels("clean").set(time.time() - 4 * 900)
    last_run.labels("clean").set(time.time() - 4 * 900)
    push_to_gateway(prom_stack.pushgateway_url, job="nowplaying", grouping_key={"stage": "clean"}, registry=registry)
    # the last success lives in a group of its own (StageMetrics.push), so a failed run cannot erase it
    push_to_gateway(
        prom_stack.pushgateway_url,
        job="nowplaying",
        grouping_key={"stage": "clean", "result": "success"},
        registry=registry,
    )
    failed = CollectorRegistry()
    Gauge("nowplaying_stage_last_run_timestamp_seconds", "", ["stage"], registry=failed).labels("load").set(time.time())
    push_to_gateway(prom_stack.pushgateway_url, job="nowplaying", grouping_key={"stage": "load"}, registry=failed)

    rules = {r["alert"] + ":" + r["labels"]["stage"]: r["expr"] for g in render_rule_groups()["groups"]
             for r in g["rules"] if "alert" in r and "stage" in r.get("labels", {})}  # fmt: skip
    stale = prom_stack.wait_for(rules["NowplayingStageNoRecentSuccess:clean"])
    assert stale and float(stale[0]["value"][1]) > 3 * 900
    assert prom_stack.wait_for(rules["NowplayingStageFailing:load"])
    assert not prom_stack.query(rules["NowplayingStageFailing:extract"])


def test_full_pipeline_against_the_sandbox(sandbox: Any, clean_db: Settings, tmp_path: Any) -> None:
    """The real stages and the real gateway against the sandbox: every panel of every dashboard has
    data from them alone (no stand-ins), and the numbers agree with what the run did."""
    import contextlib
    import gzip
    import subprocess
    import sys
    import urllib.request

    from tests.chart.tooling import render_rule_groups
    from tests.support.net import free_port
    from tests.support.pipeline import pipeline_env, run_stage

    gateway_port = free_port()
    stack = PromStack(
        workdir=tmp_path / "prometheus",
        rule_groups=render_rule_groups(),
        extra_targets={"gateway": f"127.0.0.1:{gateway_port}"},
    )
    (tmp_path / "prometheus").mkdir()
    stack.start()
    lake = tmp_path / "lake"
    env = pipeline_env(clean_db, sandbox.urls, lake, PUSHGATEWAY_URL=stack.pushgateway_url)
    env["GATEWAY_PORT"] = str(gateway_port)
    sandbox.set_faults("x:429:n1")  # one short rate-limit wait, so the waits panel has a real count
    gateway = subprocess.Popen([sys.executable, "-m", "nowplaying.cli", "serve"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for stage in ("extract", "clean", "enrich", "load", "aggregate"):
            run_stage(stage, env)
        for round_ in range(2):  # two scrapes apart, so request rates exist
            for path in ("/api/plays?limit=20", "/api/charts/top-tracks", "/api/status", "/api/nope"):
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(f"http://127.0.0.1:{gateway_port}{path}", timeout=30).close()
            time.sleep(2.5 if round_ == 0 else 4)
        stack.wait_for('nowplaying_stage_items_total{stage="aggregate"}')
        stack.wait_for("nowplaying_http_requests_total")
        time.sleep(2)
        empty = [f"{board} / {title}: {expr}" for board, title, expr in ALL_PANELS if not stack.query(expr)]
        assert not empty, "panels without data:\n" + "\n".join(empty)

        written = 0
        for path in (lake / "raw").rglob("*.jsonl.gz"):
            with gzip.open(path, "rb") as handle:
                written += sum(1 for _ in handle)
        served = sum(len(sandbox.served(source)) for source in ("x", "mastodon", "bluesky"))
        fetched = float(stack.query("sum(nowplaying_source_posts_fetched_total)")[0]["value"][1])
        by_source = stack.query("nowplaying_source_posts_fetched_total")
        assert fetched == written == served, (by_source, written, served)
        plays = clean_db_count(clean_db)
        loaded = float(stack.query('sum(nowplaying_load_rows_total{outcome="loaded"})')[0]["value"][1])
        assert loaded == plays > 0
        waits = float(stack.query("sum(nowplaying_source_rate_limit_waits_total)")[0]["value"][1])
        assert waits == 1
    finally:
        gateway.terminate()
        gateway.wait(30)
        stack.stop()


def clean_db_count(settings: Settings) -> int:
    from nowplaying.common.cassandra import connect, shutdown

    session = connect(settings)
    keyspace = settings.cassandra_keyspace
    try:
        buckets = {r.bucket for r in session.execute(f"SELECT DISTINCT bucket FROM {keyspace}.plays_by_hour")}
        count = 0
        for bucket in buckets:
            count += session.execute(
                f"SELECT count(*) FROM {keyspace}.plays_by_hour WHERE bucket = %s", (bucket,)
            ).one()[0]
        return int(count)
    finally:
        shutdown(session)
