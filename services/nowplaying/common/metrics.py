"""Prometheus metrics: naming rules and the push for batch stages.

Rules: every name starts with ``nowplaying_``; units in the name (``_seconds``, ``_bytes``); counters
end in ``_total``; label values come from small fixed sets (stage, source, api, endpoint, status
class or code, method, band), never from post text or ids.

Batch stages build their metrics in a ``CollectorRegistry`` of their own and call ``push`` at the end
of each run; the Pushgateway groups them by ``job="nowplaying"`` and ``stage``. The counters and
histograms stay cumulative across runs (``nowplaying.common.cumulative``: each push adds the group's
previous values); the ``nowplaying_stage_last_run_*`` gauges hold the figures of the last run. The
gateway exposes the default registry on ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import push_to_gateway

from nowplaying.common.cumulative import Previous, carried_over, read_group
from nowplaying.common.logging import get_logger

log = get_logger(__name__)

PUSH_JOB = "nowplaying"


class StageMetrics:
    """The metrics every batch stage reports, in a registry of its own."""

    def __init__(self, stage: str, registry: CollectorRegistry | None = None) -> None:
        self.stage = stage
        self.registry = registry or CollectorRegistry()
        self.runs = Counter(
            "nowplaying_stage_runs", "Stage runs by outcome", ["stage", "status"], registry=self.registry
        )
        self.items = Counter(
            "nowplaying_stage_items",
            "Items a stage read (in) and wrote (out)",
            ["stage", "direction"],
            registry=self.registry,
        )
        self.errors = Counter(
            "nowplaying_stage_errors",
            "Items or requests that failed",
            ["stage", "kind"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "nowplaying_stage_run_duration_seconds",
            "Duration of a stage run",
            ["stage"],
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
            registry=self.registry,
        )
        # Pushed in a group of its own, and only after a successful run, so that a failed run
        # (which replaces the stage's main group) does not erase when the stage last succeeded.
        self.success_registry = CollectorRegistry()
        self.last_success = Gauge(
            "nowplaying_stage_last_success_timestamp_seconds",
            "Unix time of the last successful run",
            ["stage"],
            registry=self.success_registry,
        )
        self.last_run = Gauge(
            "nowplaying_stage_last_run_timestamp_seconds",
            "Unix time of the last run, whatever its outcome",
            ["stage"],
            registry=self.registry,
        )
        self.last_run_items = Gauge(
            "nowplaying_stage_last_run_items",
            "Items the last run read (in) and wrote (out)",
            ["stage", "direction"],
            registry=self.registry,
        )
        self.last_run_errors = Gauge(
            "nowplaying_stage_last_run_errors",
            "Items or requests the last run failed on",
            ["stage"],
            registry=self.registry,
        )
        self.last_run_duration = Gauge(
            "nowplaying_stage_last_run_duration_seconds", "Duration of the last run", ["stage"], registry=self.registry
        )
        # Touch the label sets so a zero is exported before the first event.
        for direction in ("in", "out"):
            self.items.labels(stage, direction)
        for status in ("ok", "partial", "failed"):
            self.runs.labels(stage, status)

    def record_last_run(self, items_in: int, items_out: int, errors: int, duration_s: float) -> None:
        self.last_run_items.labels(self.stage, "in").set(items_in)
        self.last_run_items.labels(self.stage, "out").set(items_out)
        self.last_run_errors.labels(self.stage).set(errors)
        self.last_run_duration.labels(self.stage).set(duration_s)

    def push(self, gateway_url: str | None, succeeded: bool = True) -> bool:
        """Push the run's metrics to the Pushgateway (replacing the stage's group, its counters carried
        over from the group's previous values) and, after a success, the last-success time (group
        ``stage``, ``result="success"``). Never raises."""
        if not gateway_url:
            return False
        group = {"stage": self.stage}
        try:
            try:
                previous = read_group(gateway_url, PUSH_JOB, group)
            except Exception as exc:  # pushed all the same: to Prometheus, a counter reset
                log.warning("metrics_read_failed", gateway=gateway_url, error=str(exc))
                previous = Previous()
            push_to_gateway(
                gateway_url,
                job=PUSH_JOB,
                grouping_key=group,
                registry=carried_over(self.registry, previous, group),
                timeout=10,
            )
            if succeeded:
                push_to_gateway(
                    gateway_url,
                    job=PUSH_JOB,
                    grouping_key={"stage": self.stage, "result": "success"},
                    registry=self.success_registry,
                    timeout=10,
                )
            return True
        except Exception as exc:  # metrics must never fail the stage
            log.warning("metrics_push_failed", gateway=gateway_url, error=str(exc))
            return False
