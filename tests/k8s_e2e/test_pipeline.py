"""The whole pipeline on the cluster: the migrations hook, Cassandra, the four stages on their one-minute
schedules, plays served by the gateway's Service, the frontend, the Ingress through the cluster's ingress
controller, the Pushgateway."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.cluster.support import kubectl, wait_until
from tests.k8s_e2e.release import STAGES, Release, http, record

INGRESS_NAMESPACE = "ingress-traefik"  # the ingress controller of `cluster.sh ingress`


def test_migrations_hook_job_completed(release: Release) -> None:
    """`helm install` waits for the post-install hook; its Job's "Completed" event says it ran to the end
    (the Job itself is deleted on success, by its hook-delete-policy)."""
    job = f"{release.prefix}-migrations"
    events = [e for e in release.events() if e["involvedObject"].get("name") == job]
    reasons = {e["reason"] for e in events}
    assert "Completed" in reasons, f"no Completed event for Job {job}: {sorted(reasons)}"
    status = release.kubectl("get", "jobs", "-o", "name")
    assert f"job.batch/{job}" not in status.split(), "the hook Job should be gone after success"


@pytest.mark.timeout(700)
def test_cassandra_statefulset_ready(release: Release) -> None:
    name = f"{release.prefix}-cassandra"

    def ready() -> bool:
        sts = release.get_json("statefulset", name)
        return bool(sts["status"].get("readyReplicas", 0) == sts["spec"]["replicas"])

    wait_until(f"StatefulSet {name} Ready", 600, ready, interval=3)


@pytest.mark.timeout(1000)
def test_gateway_serves_plays_through_its_service(release: Release) -> None:
    def first_plays() -> list[object] | None:
        try:
            return release.plays() or None
        except (AssertionError, OSError):
            return None

    plays = wait_until("a play served by the gateway's Service", 900, first_plays, interval=3)
    elapsed = time.time() - release.install_started
    record("seconds_from_helm_install_to_first_play", round(elapsed))
    assert release.install_started > 0 and elapsed < 900
    play = plays[0]
    assert isinstance(play, dict) and {"post_id", "played_at", "source"} <= set(play)


@pytest.mark.timeout(600)
def test_stage_cronjobs_fire_and_succeed(release: Release) -> None:
    def succeeded() -> dict[str, str] | None:
        times = {stage: release.last_successful_job_time(stage) for stage in STAGES}
        return times if all(times.values()) else None

    times = wait_until("a successful Job of every stage's CronJob", 420, succeeded, interval=5)
    jobs = release.get_json("jobs")["items"]
    by_stage = {
        stage: [j for j in jobs if j["metadata"].get("labels", {}).get("app.kubernetes.io/component") == stage]
        for stage in STAGES
    }
    counts = {s: sum(1 for j in js if j["status"].get("succeeded")) for s, js in by_stage.items()}
    assert all(counts.values()), counts
    record("stage_last_success", times)


def test_frontend_serves_the_app(release: Release) -> None:
    base = release.url("frontend", 80)
    status, body = http(f"{base}/")
    assert status == 200, status
    html = body.decode()
    assert "<html" in html.lower()
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)
    assert assets, html[:500]
    for asset in assets:
        status, _ = http(f"{base}{asset}")
        assert status == 200, (asset, status)
    status, _ = http(f"{base}/healthz")
    assert status == 200


@pytest.mark.timeout(200)
def test_ingress_routes_api_to_the_gateway_and_the_rest_to_the_frontend(release: Release) -> None:
    """The chart's Ingress, served by the cluster's controller (Traefik) on its Service's port 80: /api
    and /readyz reach the gateway, / and the app's assets the frontend."""
    ingress = release.get_json("ingress", release.prefix)
    assert ingress["spec"]["ingressClassName"] == "traefik"
    ip = kubectl("-n", INGRESS_NAMESPACE, "get", "service", "traefik", "-o", "jsonpath={.spec.clusterIP}").strip()
    assert ip and ip != "None", "the ingress controller's Service has no ClusterIP"
    base = f"http://{ip}"

    def routed() -> bytes | None:  # 404 until Traefik has read the Ingress and its endpoints
        status, body = http(f"{base}/api/plays?limit=5")
        return body if status == 200 else None

    page = json.loads(wait_until("the Ingress routing /api/plays to the gateway", 120, routed, interval=2))
    assert page["items"], "the gateway answered through the Ingress, but with no plays"
    assert {"post_id", "played_at", "source"} <= set(page["items"][0])
    status, body = http(f"{base}/readyz")
    assert status == 200, (status, body[:200])
    status, body = http(f"{base}/")
    assert status == 200, status
    html = body.decode()
    assert "<html" in html.lower()
    direct_status, direct_html = http(release.url("frontend", 80, "/"))
    assert (direct_status, direct_html.decode()) == (200, html), "/ through the Ingress is not the frontend's page"
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)
    assert assets, html[:500]
    for asset in assets:
        status, _ = http(f"{base}{asset}")
        assert status == 200, (asset, status)
    status, body = http(f"{base}/api/no-such-endpoint")
    assert status == 404 and body.startswith(b"{"), "an unknown /api path should be the gateway's JSON 404"
    record("ingress_routes", {"/api/plays": 200, "/readyz": 200, "/": 200, "assets": len(assets)})


def test_pushgateway_received_every_stages_metrics(release: Release) -> None:
    base = release.url("pushgateway", 9091)

    def pushed() -> dict[str, float] | None:
        status, body = http(f"{base}/metrics")
        if status != 200:
            return None
        found: dict[str, float] = {}
        for line in body.decode().splitlines():
            if line.startswith("nowplaying_stage_last_success_timestamp_seconds{"):
                stage = re.search(r'stage="([^"]+)"', line)
                if stage:
                    found[stage.group(1)] = float(line.rsplit(" ", 1)[1])
        return found if set(STAGES) <= set(found) else None

    found = wait_until("every stage's last-success metric on the Pushgateway", 300, pushed, interval=5)
    assert all(value > release.install_started - 60 for value in found.values()), found
