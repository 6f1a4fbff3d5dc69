"""Counters that stay cumulative across the runs of a batch stage.

A stage run pushes its registry to the Pushgateway with a replace (PUT) of the stage's group. Pushed as
they are, the counters would hold the last run's numbers only, and a run with nothing to do would erase
what the runs before it counted. So before the push, :func:`carried_over` reads the group's current
series from the Pushgateway and adds them to the run's counters and histograms: every label set the
group had is kept, and a series goes on counting from its previous value. Gauges are the run's own
(last-run figures). A Pushgateway restart starts the counters again from zero, a reset that
``rate()`` and ``increase()`` handle.

The read and the push are not one atomic step: two runs of the same stage at once would count one of
them twice. The CronJobs run each stage with ``concurrencyPolicy: Forbid``, so that does not happen.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

CUMULATIVE_TYPES = ("counter", "histogram")
SERVER_LABELS = ("job", "instance")  # set by the Pushgateway on every series of a group

SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


class Previous:
    """The counter and histogram samples a group holds on the Pushgateway, by sample name and labels."""

    def __init__(self) -> None:
        self.values: dict[SeriesKey, float] = {}
        self.families: dict[SeriesKey, Metric] = {}

    def add(self, family: Metric, sample_name: str, labels: dict[str, str], value: float) -> None:
        key = series_key(sample_name, labels)
        self.values[key] = value
        self.families[key] = family

    def pop(self, key: SeriesKey) -> float:
        self.families.pop(key, None)
        return self.values.pop(key, 0.0)


def le_text(le: str) -> str:
    number = float(le)
    return "+Inf" if number == float("inf") else repr(number)


def series_key(sample_name: str, labels: dict[str, str]) -> SeriesKey:
    """The sample's identity within its group; a bucket's ``le`` compared as a number (the client
    writes ``1.0`` where the Pushgateway gives back ``1``)."""
    return sample_name, tuple(
        sorted((k, le_text(v) if k == "le" else v) for k, v in labels.items() if k not in SERVER_LABELS)
    )


def read_group(gateway_url: str, job: str, grouping_key: dict[str, str], timeout: float = 10) -> Previous:
    """The cumulative samples of exactly this group (``job`` and every grouping label equal, and no
    grouping label besides them)."""
    with urllib.request.urlopen(f"{gateway_url.rstrip('/')}/metrics", timeout=timeout) as response:  # noqa: S310
        text = response.read().decode("utf-8")
    return parse_group(text, job, grouping_key)


def parse_group(text: str, job: str, grouping_key: dict[str, str], other_keys: Iterable[str] = ("result",)) -> Previous:
    previous = Previous()
    wanted = {"job": job, **grouping_key}
    for family in text_string_to_metric_families(text):
        if family.type not in CUMULATIVE_TYPES:
            continue
        for sample in family.samples:
            labels = sample.labels
            if sample.name.endswith("_created") or any(k in labels for k in other_keys):
                continue
            if all(labels.get(k) == v for k, v in wanted.items()):
                previous.add(family, sample.name, labels, sample.value)
    return previous


class CarriedOver(Collector):
    """The run's registry with the previous cumulative values added (``_created`` samples left out)."""

    def __init__(self, registry: CollectorRegistry, previous: Previous, grouping_key: dict[str, str]) -> None:
        self.registry = registry
        self.previous = previous
        self.grouping_key = grouping_key

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for family in self.registry.collect():
            out = families.setdefault(family.name, Metric(family.name, family.documentation, family.type))
            for sample in family.samples:
                if sample.name.endswith("_created"):
                    continue
                labels = {**self.grouping_key, **sample.labels}
                value = sample.value
                if family.type in CUMULATIVE_TYPES:
                    value += self.previous.pop(series_key(sample.name, labels))
                out.add_sample(sample.name, labels, value)
        for key, family in list(self.previous.families.items()):
            out = families.setdefault(family.name, Metric(family.name, family.documentation, family.type))
            sample_name, label_pairs = key
            out.add_sample(sample_name, dict(label_pairs), self.previous.pop(key))
        yield from families.values()


def carried_over(registry: CollectorRegistry, previous: Previous, grouping_key: dict[str, str]) -> CollectorRegistry:
    """A registry to push: the run's metrics plus what the group counted before."""
    merged = CollectorRegistry(auto_describe=False)
    merged.register(CarriedOver(registry, previous, grouping_key))
    return merged
