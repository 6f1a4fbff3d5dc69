"""nowplaying.common.cumulative on Pushgateway text: which series are the group's, and how they add up."""

from __future__ import annotations

from nowplaying.common.cumulative import carried_over, parse_group
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

GATEWAY_TEXT = """\
# TYPE nowplaying_matches_total counter
nowplaying_matches_total{band="high",instance="",job="nowplaying",method="link",stage="enrich"} 5
nowplaying_matches_total{band="low",instance="",job="nowplaying",method="freetext",stage="enrich"} 2
nowplaying_matches_total{band="high",instance="",job="nowplaying",method="link",stage="services"} 99
# TYPE nowplaying_stage_run_duration_seconds histogram
nowplaying_stage_run_duration_seconds_bucket{instance="",job="nowplaying",le="1",stage="enrich"} 1
nowplaying_stage_run_duration_seconds_bucket{instance="",job="nowplaying",le="+Inf",stage="enrich"} 2
nowplaying_stage_run_duration_seconds_sum{instance="",job="nowplaying",stage="enrich"} 7.5
nowplaying_stage_run_duration_seconds_count{instance="",job="nowplaying",stage="enrich"} 2
# TYPE nowplaying_stage_last_run_items gauge
nowplaying_stage_last_run_items{direction="in",instance="",job="nowplaying",stage="enrich"} 40
# TYPE nowplaying_stage_last_success_timestamp_seconds gauge
nowplaying_stage_last_success_timestamp_seconds{instance="",job="nowplaying",result="success",stage="enrich"} 1.7e9
"""


def pushed(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_only_the_groups_cumulative_series_are_read() -> None:
    previous = parse_group(GATEWAY_TEXT, "nowplaying", {"stage": "enrich"})
    names = {name for name, _ in previous.values}
    assert names == {
        "nowplaying_matches_total",
        "nowplaying_stage_run_duration_seconds_bucket",
        "nowplaying_stage_run_duration_seconds_sum",
        "nowplaying_stage_run_duration_seconds_count",
    }
    assert sum(v for (name, _), v in previous.values.items() if name == "nowplaying_matches_total") == 7


def test_a_run_adds_to_the_previous_counts_and_keeps_every_label_set() -> None:
    run = CollectorRegistry()
    matches = Counter("nowplaying_matches", "", ["method", "band"], registry=run)
    matches.labels("link", "high").inc(1)
    duration = Histogram("nowplaying_stage_run_duration_seconds", "", ["stage"], buckets=(1,), registry=run)
    duration.labels("enrich").observe(0.5)
    Gauge("nowplaying_stage_last_run_items", "", ["stage", "direction"], registry=run).labels("enrich", "in").set(3)
    previous = parse_group(GATEWAY_TEXT, "nowplaying", {"stage": "enrich"})

    out = pushed(carried_over(run, previous, {"stage": "enrich"}))

    enrich = (("stage", "enrich"),)
    assert out[("nowplaying_matches_total", (("band", "high"), ("method", "link"), *enrich))] == 6
    assert out[("nowplaying_matches_total", (("band", "low"), ("method", "freetext"), *enrich))] == 2
    # the client writes le="1.0" where the Pushgateway gave back le="1": one bucket, summed
    buckets = {k: v for k, v in out.items() if k[0].endswith("_bucket")}
    assert buckets == {
        ("nowplaying_stage_run_duration_seconds_bucket", (("le", "1.0"), *enrich)): 2,
        ("nowplaying_stage_run_duration_seconds_bucket", (("le", "+Inf"), *enrich)): 3,
    }
    assert out[("nowplaying_stage_run_duration_seconds_sum", enrich)] == 8.0
    assert out[("nowplaying_stage_run_duration_seconds_count", enrich)] == 3
    # a gauge is the run's own figure
    assert out[("nowplaying_stage_last_run_items", (("direction", "in"), *enrich))] == 3
    assert not any(name.endswith("_created") for name, _ in out)
