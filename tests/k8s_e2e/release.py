"""The release `make k8s-e2e` installed (scripts/k8s-e2e/run.sh), as the tests see it: its Services by
ClusterIP (the host routes the service range onto the cluster's bridge), the sandbox's admin API, the
lake on the node's disk, Cassandra over CQL, bounded waits, and the figures the run records."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nowplaying.common.config import PROJECT_ROOT

from tests.cluster.support import KUBECONFIG, kubectl, wait_until

CHART = PROJECT_ROOT / "charts" / "nowplaying"

ARTIFACTS = Path(os.environ.get("K8S_E2E_ARTIFACTS", str(PROJECT_ROOT / "test-artifacts" / "k8s")))
SOURCES = ("x", "mastodon", "bluesky")
SONG_KINDS = {"link", "parsed", "query"}
STAGES = ("extract", "clean", "enrich", "load")
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # cluster addresses: never a proxy


def http(url: str, body: Any = None, timeout: float = 20.0) -> tuple[int, bytes]:
    """GET (POST with a JSON ``body``) a cluster URL: status and body; HTTP errors are returned too."""
    data = None if body is None else json.dumps(body).encode()
    headers = {} if body is None else {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with _DIRECT.open(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def http_json(url: str, body: Any = None, timeout: float = 20.0) -> Any:
    status, raw = http(url, body, timeout)
    if status != 200:
        raise AssertionError(f"{url}: HTTP {status}: {raw[:300]!r}")
    return json.loads(raw) if raw else None


def record(key: str, value: Any) -> None:
    """Add a measured figure to test-artifacts/k8s/results.json (the report's numbers)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "results.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    results[key] = value
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"k8s-e2e: {key} = {value}")


@dataclass(frozen=True)
class Release:
    namespace: str
    name: str
    install_started: float  # Unix time just before `helm install`

    @property
    def prefix(self) -> str:
        return f"{self.name}-nowplaying"

    def kubectl(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        return kubectl("-n", self.namespace, *args, timeout=timeout, check=check)

    def get_json(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def url(self, component: str, port: int, path: str = "") -> str:
        """http://<ClusterIP>:<port><path> of the component's Service."""
        ip = self.kubectl("get", "service", f"{self.prefix}-{component}", "-o", "jsonpath={.spec.clusterIP}").strip()
        assert ip and ip != "None", f"service {self.prefix}-{component} has no ClusterIP"
        return f"http://{ip}:{port}{path}"

    # --- the pipeline's data -------------------------------------------------------------------------------
    def plays(self) -> list[dict[str, Any]]:
        """Every play of the last 8 days, through the gateway Service's cursor paging."""
        base = self.url("gateway", 8000)
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 8 * 86400))
        items: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(1000):
            page = http_json(f"{base}/api/plays?limit=200&start={start}" + (f"&cursor={cursor}" if cursor else ""))
            items.extend(page["items"])
            cursor = page.get("next_cursor") or ""
            if not cursor:
                return items
        raise AssertionError("more than 1000 pages of plays")

    def sandbox(self, path: str, body: Any = None) -> Any:
        return http_json(self.url("sandbox", 8900, f"/_admin{path}"), body)

    def served_ids(self) -> set[str]:
        served: set[str] = set()
        for source in SOURCES:
            served |= set(self.sandbox(f"/served?source={source}")["ids"])
        return served

    def lake_dir(self) -> Path:
        """The lake PVC's hostPath directory on this machine (the cluster's only node)."""
        volume = self.kubectl("get", "pvc", f"{self.prefix}-lake", "-o", "jsonpath={.spec.volumeName}").strip()
        assert volume, "the lake PVC is not bound"
        path = kubectl("get", "pv", volume, "-o", "jsonpath={.spec.hostPath.path}").strip()
        assert path, f"volume {volume} is not a hostPath volume"
        return Path(path)

    def clean_kinds(self) -> dict[str, str]:
        """post_id -> kind, as the cleaner judged every post it wrote to the lake."""
        from nowplaying.common.config import Settings
        from nowplaying.common.lake import open_lake

        from tests.support.pipeline import clean_kinds

        return clean_kinds(open_lake(Settings(lake_dir=self.lake_dir(), lake_url=None)))

    def cql_rows(self, query: str) -> list[Any]:
        """Rows of a CQL query (``{ks}`` = the release's keyspace), read from the Cassandra pods themselves."""
        from cassandra.cluster import Cluster
        from cassandra.policies import WhiteListRoundRobinPolicy

        pods = self.pods("app.kubernetes.io/component=cassandra")
        hosts = [p["status"]["podIP"] for p in pods if p["status"].get("podIP")]
        assert hosts, "no Cassandra pod has an IP"
        cluster = Cluster(hosts, port=9042, load_balancing_policy=WhiteListRoundRobinPolicy(hosts))
        try:
            session = cluster.connect()
            keyspace = os.environ.get("K8S_E2E_KEYSPACE", "nowplaying")
            return list(session.execute(query.replace("{ks}", keyspace), timeout=60))
        finally:
            cluster.shutdown()

    def cassandra_plays(self) -> list[tuple[str, str]]:
        """(source, post_id) of every row of plays_by_hour."""
        return [(r.source, r.post_id) for r in self.cql_rows("SELECT source, post_id FROM {ks}.plays_by_hour")]

    # --- Kubernetes objects -------------------------------------------------------------------------------
    def pods(self, selector: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get_json("pods", "-l", selector)["items"]
        return items

    def wait_pods_ready(self, selector: str, timeout_s: float) -> list[dict[str, Any]]:
        def ready() -> list[dict[str, Any]] | None:
            pods = [p for p in self.pods(selector) if not p["metadata"].get("deletionTimestamp")]
            ok = pods and all(
                any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
                for p in pods
            )
            return pods if ok else None

        result: list[dict[str, Any]] = wait_until(f"pods {selector} Ready", timeout_s, ready, interval=3)
        return result

    def last_successful_job_time(self, cronjob: str) -> str:
        status = self.get_json("cronjob", f"{self.prefix}-{cronjob}").get("status", {})
        return str(status.get("lastSuccessfulTime") or "")

    def events(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get_json("events")["items"]
        return items


def release_from_env() -> Release | None:
    namespace = os.environ.get("K8S_E2E_NAMESPACE")
    if not namespace:
        return None
    return Release(
        namespace=namespace,
        name=os.environ.get("K8S_E2E_RELEASE", "np"),
        install_started=float(os.environ.get("K8S_E2E_INSTALL_STARTED", "0") or 0),
    )


def helm(release: Release, *args: str, timeout: float = 900) -> str:
    """helm with the cluster's kubeconfig, in the release's namespace; fails the test on an error."""
    binary = shutil.which("helm") or str(Path.home() / ".cache" / "nowplaying" / "bin" / "helm")
    result = subprocess.run(
        [binary, "--kubeconfig", str(KUBECONFIG), "-n", release.namespace, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"helm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout
