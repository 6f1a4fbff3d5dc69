"""Stage counters stay cumulative across runs on the real Pushgateway (``nowplaying.common.cumulative``).

Three enrich runs push in turn, the last one with nothing to do, as after a drained pipeline: every
counter and label set of the earlier runs is still there, summed, and the last-run gauges are the last
run's. Series are read back from the Pushgateway's own ``/metrics``, and through Prometheus.
"""

from __future__ import annotations

import urllib.request

from nowplaying.common.metrics import PUSH_JOB, StageMetrics
from nowplaying.enricher.metrics import EnrichMetrics
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures_observability import PromStack


def enrich_run(url: str, matches: dict[tuple[str, str], int], posts: int, seconds: float) -> None:
    metrics = StageMetrics("enrich")
    enrich = EnrichMetrics(metrics.registry)
    for (method, band), n in matches.items():
        enrich.matches.labels(method, band).inc(n)
    enrich.posts.inc(posts)
    metrics.items.labels("enrich", "in").inc(posts)
    metrics.runs.labels("enrich", "ok").inc()
    metrics.duration.labels("enrich").observe(seconds)
    metrics.record_last_run(posts, sum(matches.values()), 0, seconds)
    assert metrics.push(url)


def gateway_series(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    series = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.labels.get("job") == PUSH_JOB and s.labels.get("stage") == "enrich" and "result" not in s.labels:
                labels = tuple(sorted((k, v) for k, v in s.labels.items() if k not in ("job", "instance", "stage")))
                series[(s.name, labels)] = s.value
    return series


def test_counters_add_up_across_runs_and_gauges_hold_the_last(prom_stack: PromStack) -> None:
    url = prom_stack.pushgateway_url
    prom_stack.wipe_pushgateway()
    enrich_run(url, {("link", "high"): 3}, posts=4, seconds=2.0)
    enrich_run(url, {("fielded", "high"): 2, ("link", "high"): 1}, posts=5, seconds=4.0)
    enrich_run(url, {}, posts=0, seconds=0.5)  # the drained pipeline's empty run

    series = gateway_series(url)
    assert series[("nowplaying_matches_total", (("band", "high"), ("method", "link")))] == 4
    assert series[("nowplaying_matches_total", (("band", "high"), ("method", "fielded")))] == 2
    assert series[("nowplaying_enrich_posts_total", ())] == 9
    assert series[("nowplaying_stage_items_total", (("direction", "in"),))] == 9
    assert series[("nowplaying_stage_runs_total", (("status", "ok"),))] == 3
    assert series[("nowplaying_stage_runs_total", (("status", "failed"),))] == 0
    assert series[("nowplaying_stage_run_duration_seconds_count", ())] == 3
    assert series[("nowplaying_stage_run_duration_seconds_sum", ())] == 6.5
    assert series[("nowplaying_stage_run_duration_seconds_bucket", (("le", "1"),))] == 1
    # the last run's own figures
    assert series[("nowplaying_stage_last_run_items", (("direction", "in"),))] == 0
    assert series[("nowplaying_stage_last_run_duration_seconds", ())] == 0.5
    assert not any(name.endswith("_created") for name, _ in series)

    # and so Prometheus scrapes them (the next scrape after the pushes)
    assert prom_stack.wait_for('nowplaying_matches_total{stage="enrich", method="fielded"} == 2')
    assert prom_stack.wait_for('sum(nowplaying_matches_total{stage="enrich"}) == 6')


def test_a_wiped_gateway_starts_the_counters_again(prom_stack: PromStack) -> None:
    url = prom_stack.pushgateway_url
    prom_stack.wipe_pushgateway()
    enrich_run(url, {("link", "high"): 3}, posts=4, seconds=1.0)
    prom_stack.wipe_pushgateway()  # as a Pushgateway restart without persistence
    enrich_run(url, {("link", "medium"): 1}, posts=1, seconds=1.0)
    series = gateway_series(url)
    assert series[("nowplaying_enrich_posts_total", ())] == 1
    assert ("nowplaying_matches_total", (("band", "high"), ("method", "link"))) not in series
