"""Status, health, readiness, metrics, security headers, CORS, errors and the frontend, over real HTTP."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from nowplaying.common.config import Settings
from nowplaying.common.migrate import migrate
from nowplaying.gateway.app import create_app

from tests.fixtures_gateway import GatewayClient, ServerThread, make_play
from tests.support.net import free_port


def test_status_lists_every_stage_with_its_last_run(gateway: GatewayClient) -> None:
    body = gateway.json("/api/status")
    assert [s["stage"] for s in body["stages"]] == ["extract", "clean", "enrich", "load", "aggregate"]
    assert all(s["status"] == "never" and s["age_s"] is None for s in body["stages"])
    assert "cronjobs" not in body  # outside Kubernetes the key is absent

    now = datetime.now(UTC).replace(microsecond=0)
    gateway.writer.insert(
        "pipeline_runs",
        [
            {"stage": "load", "started_at": now - timedelta(hours=2), "run_id": "old", "finished_at": now
             - timedelta(hours=2) + timedelta(seconds=5), "status": "ok", "items_in": 1, "items_out": 1, "errors": 0,
             "duration_s": 5.0},
            {"stage": "load", "started_at": now - timedelta(minutes=10), "run_id": "new",
             "finished_at": now - timedelta(minutes=9), "status": "partial", "items_in": 120, "items_out": 118,
             "errors": 2, "duration_s": 60.25},
            {"stage": "extract", "started_at": now - timedelta(seconds=30), "run_id": "run", "status": "running",
             "items_in": 0, "items_out": 0, "errors": 0, "duration_s": 0.0},
        ],
    )  # fmt: skip
    stages = {s["stage"]: s for s in gateway.json("/api/status")["stages"]}
    load = stages["load"]
    assert load["status"] == "partial" and load["items_in"] == 120 and load["errors"] == 2
    assert load["duration_s"] == 60.25
    assert 9 * 60 - 5 <= load["age_s"] <= 9 * 60 + 60
    assert load["started_at"].endswith("Z")
    running = stages["extract"]
    assert running["status"] == "running" and running["finished_at"] is None and 25 <= running["age_s"] <= 120
    assert stages["clean"]["status"] == "never"


def test_health_readiness_and_docs(gateway: GatewayClient) -> None:
    assert gateway.json("/healthz") == {"status": "ok"}
    assert gateway.json("/readyz") == {"status": "ready"}
    schema = gateway.json("/api/openapi.json")
    assert "/api/plays" in schema["paths"] and "/api/status" in schema["paths"]
    docs = gateway.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_errors_are_json_without_traces(gateway: GatewayClient) -> None:
    missing = gateway.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = gateway.http.post(gateway.base_url + "/api/plays", timeout=10)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_security_headers_and_cors(gateway: GatewayClient) -> None:
    response = gateway.get("/api/plays")
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert gateway.get("/api/nothing").headers["x-frame-options"] == "DENY"

    allowed = gateway.http.get(gateway.base_url + "/api/plays", headers={"Origin": "http://localhost:5173"}, timeout=10)
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:5173"
    other = gateway.http.get(gateway.base_url + "/api/plays", headers={"Origin": "https://evil.example"}, timeout=10)
    assert "access-control-allow-origin" not in other.headers
    preflight = gateway.http.options(
        gateway.base_url + "/api/plays",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert preflight.status_code == 200


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_by_route_template(gateway: GatewayClient) -> None:
    gateway.writer.insert("tracks", [{"track_id": "m1", "name": "M"}])
    before = gateway.get("/metrics").text
    for track in ("m1", "m1", "unknown-1", "unknown-2"):
        gateway.get(f"/api/tracks/{track}")
    gateway.get("/no/such/page/at/all.php")
    after = gateway.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    route = "/api/tracks/{track_id}"
    ok = _metric(text, "nowplaying_http_requests_total", route=route, method="GET", status="200")
    nf = _metric(text, "nowplaying_http_requests_total", route=route, method="GET", status="404")
    assert ok - _metric(before, "nowplaying_http_requests_total", route=route, method="GET", status="200") == 2
    assert nf - _metric(before, "nowplaying_http_requests_total", route=route, method="GET", status="404") == 2
    count = _metric(text, "nowplaying_http_request_duration_seconds_count", route=route, method="GET")
    assert count >= 4
    assert "unknown-1" not in text and "all.php" not in text  # never the raw path


def test_without_cassandra_the_gateway_lives_but_is_not_ready(tmp_path: Path) -> None:
    dead = Settings(
        cassandra_hosts=f"127.0.0.1:{free_port()}", cassandra_connect_timeout_s=0.5, frontend_dist=tmp_path / "none"
    )
    with ServerThread(create_app(dead)) as server:
        base = server.base_url
        assert requests.get(base + "/healthz", timeout=30).status_code == 200
        ready = requests.get(base + "/readyz", timeout=30)
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
        plays = requests.get(base + "/api/plays", timeout=30)
        assert plays.status_code == 503
        assert plays.json()["error"]["code"] == "unavailable"
        assert "Traceback" not in plays.text and "127.0.0.1" not in plays.text
        home = requests.get(base + "/", timeout=30)
        assert home.status_code == 200 and "not built" in home.text


def test_before_its_schema_is_migrated_the_gateway_is_ready_and_the_api_says_why(
    cassandra_settings: Settings, cassandra_session: Any, tmp_path: Path
) -> None:
    """Ready (so that `helm install --wait` reaches the chart's post-install migrations hook), the API a
    503 naming the missing schema; once it is migrated the same process serves, without a restart."""
    keyspace = f"np_unmigrated_{secrets.token_hex(4)}"
    settings = cassandra_settings.model_copy(
        update={"cassandra_keyspace": keyspace, "frontend_dist": tmp_path / "none"}
    )
    try:
        with ServerThread(create_app(settings)) as server:
            base = server.base_url
            ready = requests.get(base + "/readyz", timeout=30)
            assert ready.status_code == 200 and ready.json()["status"] == "schema_pending", ready.text
            plays = requests.get(base + "/api/plays", timeout=30)
            assert plays.status_code == 503, plays.text
            assert "not migrated" in plays.json()["error"]["message"]
            migrate(cassandra_session, keyspace, settings.replication_map)
            assert requests.get(base + "/readyz", timeout=30).json() == {"status": "ready"}
            plays = requests.get(base + "/api/plays", timeout=30)
            assert plays.status_code == 200 and plays.json()["items"] == []
    finally:
        cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)


def test_serves_the_built_frontend_with_spa_fallback(
    tmp_path: Path, gateway_settings: Settings, cassandra_session: Any
) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>nowplaying app</title>")
    (dist / "assets" / "app-123.js").write_text("console.log('hi')")
    (tmp_path / "secret.txt").write_text("outside dist")
    settings = gateway_settings.model_copy(update={"frontend_dist": dist})
    with ServerThread(create_app(settings, cassandra_session)) as server:
        base = server.base_url
        home = requests.get(base + "/", timeout=10)
        assert "nowplaying app" in home.text
        asset = requests.get(base + "/assets/app-123.js", timeout=10)
        assert asset.text == "console.log('hi')" and "javascript" in asset.headers["content-type"]
        deep = requests.get(base + "/tracks/3n3Ppam7vgaVa1iaRUc9Lp", timeout=10)
        assert deep.status_code == 200 and "nowplaying app" in deep.text
        escape = requests.get(base + "/assets/..%2F..%2Fsecret.txt", timeout=10)
        assert "outside dist" not in escape.text
        api_missing = requests.get(base + "/api/unknown", timeout=10)
        assert api_missing.status_code == 404 and api_missing.json()["error"]["code"] == "not_found"


def test_plays_endpoint_reads_what_the_other_endpoints_see(gateway: GatewayClient) -> None:
    """A smoke path through the API as the frontend walks it: a play, its track page, the metrics."""
    now = datetime.now(UTC)
    gateway.writer.insert("tracks", [{"track_id": "t-smoke", "name": "Smoke", "artist_names": ["S"]}])
    gateway.writer.plays([make_play(now - timedelta(minutes=1), post_id="smoke", track_id="t-smoke")])
    play = gateway.json("/api/plays")["items"][0]
    track = gateway.json(f"/api/tracks/{play['track_id']}")
    assert track["posts"][0]["post_id"] == "smoke"
