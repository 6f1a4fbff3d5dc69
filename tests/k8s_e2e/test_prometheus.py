"""Dashboards and alerts over the cluster's metrics. Grafana cannot be had here, so Debian's Prometheus runs
on this machine with a scrape configuration generated from the chart's rendered ServiceMonitors (the
gateway's /metrics, the Pushgateway with honor_labels), pointed at the release's Services by ClusterIP,
and the chart's alert and recording rules. Every panel query of the four dashboards must return data, and
every series an alert or recording rule reads must exist, over the pipeline that ran in Kubernetes."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nowplaying.common.config import PROJECT_ROOT

from tests.chart.tooling import dashboards, helm_template, load_docs, panel_queries, render_rule_groups
from tests.fixtures_observability import PromStack
from tests.k8s_e2e.release import Release, record

VALUES = (PROJECT_ROOT / "k8s" / "values-local.yaml", PROJECT_ROOT / "k8s" / "values-e2e.yaml")
SCRAPE_INTERVAL = "5s"


class ClusterPrometheus(PromStack):
    """Prometheus alone (no Pushgateway of its own), scraping the targets of the rendered ServiceMonitors."""

    scrape_configs: list[dict[str, Any]]

    def config(self) -> dict[str, Any]:
        config = super().config()
        config["scrape_configs"] = self.scrape_configs
        return config

    def start(self) -> None:
        import yaml

        config_file = self.workdir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(self.config()))
        logs = self.workdir / "logs"
        logs.mkdir(exist_ok=True)
        args = [
            "prometheus",
            f"--config.file={config_file}",
            f"--storage.tsdb.path={self.workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
        ]
        self._spawn(args, logs / "prometheus.log")
        self._wait_ready(f"{self.prometheus_url}/-/ready", logs / "prometheus.log")


def scrape_configs(release: Release) -> list[dict[str, Any]]:
    """One scrape job per endpoint of each rendered ServiceMonitor, at its Service's ClusterIP and port."""
    sets = ("metrics.serviceMonitor.enabled=true", f"metrics.serviceMonitor.interval={SCRAPE_INTERVAL}")
    extra = ("-f", str(VALUES[1]), "--set", sets[0], "--set", sets[1], "--show-only", "templates/servicemonitor.yaml")
    monitors = load_docs(helm_template(VALUES[0], "1.33.13", *extra))
    jobs = []
    for monitor in monitors:
        labels = monitor["spec"]["selector"]["matchLabels"]
        selector = ",".join(f"{k}={v}" for k, v in labels.items() if k != "app.kubernetes.io/instance")
        (service,) = release.get_json("services", "-l", f"{selector},app.kubernetes.io/instance={release.name}")[
            "items"
        ]
        for endpoint in monitor["spec"]["endpoints"]:
            port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == endpoint["port"])
            jobs.append(
                {
                    "job_name": monitor["metadata"]["name"],
                    "honor_labels": bool(endpoint.get("honorLabels", False)),
                    "metrics_path": endpoint.get("path", "/metrics"),
                    "scrape_interval": endpoint.get("interval", SCRAPE_INTERVAL),
                    "static_configs": [{"targets": [f"{service['spec']['clusterIP']}:{port}"]}],
                }
            )
    return jobs


@pytest.fixture(scope="module")
def prometheus(release: Release, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterPrometheus]:
    groups = render_rule_groups(VALUES[0], "-f", str(VALUES[1]))
    stack = ClusterPrometheus(workdir=Path(tmp_path_factory.mktemp("cluster-prometheus")), rule_groups=groups)
    stack.scrape_interval = SCRAPE_INTERVAL
    stack.scrape_configs = scrape_configs(release)
    stack.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(
            stack.query(f'up{{job="{j["job_name"]}"}} == 1') for j in stack.scrape_configs
        ):
            time.sleep(2)
        time.sleep(30)  # a few scrapes, so that rate() and increase() have two samples
        yield stack
    finally:
        stack.stop()


def test_every_target_is_up(prometheus: ClusterPrometheus) -> None:
    up = {r["metric"]["job"]: r["value"][1] for r in prometheus.query("up")}
    assert up and all(v == "1" for v in up.values()), up


def test_every_panel_query_returns_data(prometheus: ClusterPrometheus) -> None:
    empty = []
    panels = 0
    for board, dashboard in dashboards().items():
        for title, expr in panel_queries(dashboard):
            panels += 1
            if not prometheus.query(expr):
                empty.append(f"{board} / {title}: {expr}")
    record("prometheus_panels", {"panels": panels, "without_data": len(empty)})
    assert not empty, "panels without data over the cluster's metrics:\n" + "\n".join(empty)


def test_every_rule_evaluates_over_existing_series(prometheus: ClusterPrometheus) -> None:
    groups = render_rule_groups(VALUES[0], "-f", str(VALUES[1]))["groups"]
    shipped = [rule for group in groups for rule in group["rules"]]
    recorded = {rule["record"] for rule in shipped if "record" in rule}
    missing = []
    for rule in shipped:
        prometheus.query(rule["expr"])  # raises on an invalid expression
        for name in sorted(set(re.findall(r"\b(nowplaying_[a-z0-9_]+|nowplaying:[a-z0-9_:]+)", rule["expr"]))):
            if name not in recorded and not prometheus.query(
                f'count({{__name__=~"{name}(_total|_count|_sum|_bucket)?"}})'
            ):
                missing.append(f"{rule.get('alert') or rule.get('record')}: {name}")
    loaded = [r for g in prometheus.rules() for r in g["rules"]]
    assert len(loaded) == len(shipped) and all(r["health"] == "ok" for r in loaded), loaded
    record("prometheus_rules", {"rules": len(shipped), "series_missing": len(missing)})
    assert not missing, "series the rules read that the cluster's pipeline did not produce:\n" + "\n".join(missing)
