"""Fixtures for the observability tests: a real Prometheus and Pushgateway on loopback.

Debian's ``prometheus`` and ``prometheus-pushgateway`` binaries (``make setup`` installs them) are
started by :class:`PromStack` with a configuration generated into a temporary folder: Prometheus
scrapes the Pushgateway every second (``honor_labels`` keeps the pushed ``job``/``stage``) and loads
the alert and recording rules the chart ships. Both are stopped at the end of the session.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.net import free_port, http_json


@dataclass
class PromStack:
    """Prometheus + Pushgateway processes on loopback ports, configured in ``workdir``."""

    workdir: Path
    rule_groups: dict[str, Any] | None = None
    scrape_interval: str = "1s"
    extra_targets: dict[str, str] = field(default_factory=dict)  # job name -> host:port serving /metrics
    prometheus_port: int = field(default_factory=free_port)
    pushgateway_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def pushgateway_url(self) -> str:
        return f"http://127.0.0.1:{self.pushgateway_port}"

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "global": {"scrape_interval": self.scrape_interval, "evaluation_interval": self.scrape_interval},
            "scrape_configs": [
                {
                    "job_name": "pushgateway",
                    "honor_labels": True,
                    "static_configs": [{"targets": [f"127.0.0.1:{self.pushgateway_port}"]}],
                }
            ]
            + [
                {"job_name": job, "static_configs": [{"targets": [target]}]}
                for job, target in self.extra_targets.items()
            ],
        }
        if self.rule_groups is not None:
            rules = self.workdir / "rules.yaml"
            rules.write_text(yaml.safe_dump(self.rule_groups))
            config["rule_files"] = [str(rules)]
        return config

    def start(self) -> None:
        for binary in ("prometheus", "prometheus-pushgateway"):
            if not shutil.which(binary):
                pytest.skip(f"{binary} is not installed (Debian package; make setup installs it)")
        config_file = self.workdir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(self.config()))
        logs = self.workdir / "logs"
        logs.mkdir(exist_ok=True)
        self._spawn(
            [
                "prometheus-pushgateway",
                f"--web.listen-address=127.0.0.1:{self.pushgateway_port}",
                "--web.enable-admin-api",
                # Debian's build persists to /var/lib/prometheus by default: every test stack
                # would share (and keep) the same metrics. Keep them in memory instead.
                "--persistence.file=",
            ],
            logs / "pushgateway.log",
        )
        self._spawn(
            [
                "prometheus",
                f"--config.file={config_file}",
                f"--storage.tsdb.path={self.workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
                "--web.enable-admin-api",
                "--storage.tsdb.retention.time=1d",
            ],
            logs / "prometheus.log",
        )
        self._wait_ready(f"{self.pushgateway_url}/-/ready", logs / "pushgateway.log")
        self._wait_ready(f"{self.prometheus_url}/-/ready", logs / "prometheus.log")

    def _spawn(self, args: list[str], log: Path) -> None:
        with log.open("wb") as out:
            self.processes.append(subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir))

    def _wait_ready(self, url: str, log: Path, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"exited before {url} was ready:\n{log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{url} not ready after {timeout}s:\n{log.read_text()[-2000:]}")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()

    # --- the HTTP APIs ------------------------------------------------------------------------

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query; raises with Prometheus's error text for an invalid expression."""
        url = f"{self.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            answer = http_json(url)
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{expr!r}: {exc.read().decode()}") from exc
        assert answer["status"] == "success", answer
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def query_range(self, expr: str, seconds: float = 60.0, step: str = "1s") -> list[dict[str, Any]]:
        end = time.time()
        params = {"query": expr, "start": f"{end - seconds:.3f}", "end": f"{end:.3f}", "step": step}
        url = f"{self.prometheus_url}/api/v1/query_range?" + urllib.parse.urlencode(params)
        try:
            answer = http_json(url)
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{expr!r}: {exc.read().decode()}") from exc
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def rules(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = http_json(f"{self.prometheus_url}/api/v1/rules")["data"]["groups"]
        return groups

    def wait_for(self, expr: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Polls until ``expr`` returns data (the next scrape after a push)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if result or time.monotonic() > deadline:
                return result
            time.sleep(0.3)

    def wipe_pushgateway(self) -> None:
        http_json(f"{self.pushgateway_url}/api/v1/admin/wipe", method="PUT")


@pytest.fixture(scope="session")
def prom_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromStack]:
    """Prometheus + Pushgateway for the session, loaded with the chart's alert and recording rules."""
    from tests.chart.tooling import render_rule_groups

    groups = render_rule_groups()
    stack = PromStack(workdir=tmp_path_factory.mktemp("prometheus"), rule_groups=groups)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
