"""The local cluster and the project's images on it: node, DNS, volumes, images, entry points,
Cassandra, CronJobs, Services, and the pull guard with the bridge's drop rule."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request

import pytest

from tests.cluster.support import (
    PROJECT_ROOT,
    SOCK,
    apply,
    get,
    image,
    kubectl,
    run_pod,
    versions,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

NODE = "nowplaying-node"
BRIDGE = "npbr0"


def test_node_is_ready_at_the_pinned_version() -> None:
    node = json.loads(kubectl("get", "node", NODE, "-o", "json"))
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True", ready
    assert node["status"]["nodeInfo"]["kubeletVersion"] == versions()["K8S_VERSION"]
    server = json.loads(kubectl("version", "-o", "json"))["serverVersion"]
    assert server["gitVersion"] == versions()["K8S_VERSION"]


def test_containerd_lists_the_project_images() -> None:
    out = subprocess.run(
        ["ctr", "-a", str(SOCK), "-n", "k8s.io", "images", "ls", "-q"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    for name in ("nowplaying", "nowplaying-spark", "nowplaying-frontend"):
        assert image(name) in out, out
    assert "localhost/nowplaying-standin/cassandra:5.0.8" in out
    assert "localhost/nowplaying-standin/pushgateway:v1.5.1" in out


def test_coredns_resolves_the_api_service_from_a_pod(namespace: str) -> None:
    logs = run_pod(
        namespace,
        "dns",
        image("nowplaying"),
        command=["python", "-c", "import socket; print(socket.gethostbyname('kubernetes.default.svc.cluster.local'))"],
    )
    assert logs.strip() == "10.96.0.1"


def test_python_image_runs_its_entry_point(namespace: str) -> None:
    logs = run_pod(namespace, "python-help", image("nowplaying"), args=["--help"])
    assert logs.startswith("usage: nowplaying"), logs


def test_spark_image_runs_spark_submit(namespace: str) -> None:
    command = ["/opt/spark/bin/spark-submit", "--version"]
    logs = run_pod(namespace, "spark-version", image("nowplaying-spark"), command=command, user=185)
    assert re.search(r"version 3\.5\.\d+", logs), logs


def test_a_pvc_binds_and_is_writable(namespace: str) -> None:
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "16Mi"}}},
    }
    apply(namespace, claim)
    wait_until("the PVC to bind", 60, lambda: get("pvc", "data", namespace)["status"].get("phase") == "Bound")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "writer"},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {"runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001, "runAsNonRoot": True},
            "containers": [
                {
                    "name": "main",
                    "image": image("nowplaying"),
                    "imagePullPolicy": "Never",
                    "command": ["python", "-c", "open('/data/x','w').write('ok'); print(open('/data/x').read())"],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }
            ],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
        },
    }
    apply(namespace, pod)
    wait_until("the writer pod", 120, lambda: get("pod", "writer", namespace)["status"].get("phase") == "Succeeded")
    assert kubectl("-n", namespace, "logs", "writer").strip() == "ok"


def _frontend(namespace: str) -> None:
    labels = {"app": "web"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "nginx",
                            "image": image("nowplaying-frontend"),
                            "imagePullPolicy": "Never",
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1},
                            "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
                        }
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }
    apply(namespace, deployment, service)
    kubectl("-n", namespace, "rollout", "status", "deployment/web", "--timeout=120s", timeout=150)


def test_frontend_image_serves_the_built_app(namespace: str) -> None:
    _frontend(namespace)
    pod = json.loads(kubectl("-n", namespace, "get", "pods", "-l", "app=web", "-o", "json"))["items"][0]
    ip = pod["status"]["podIP"]
    with urllib.request.urlopen(f"http://{ip}:8080/", timeout=10) as response:  # the cluster's own bridge
        html = response.read().decode()
    built = (PROJECT_ROOT / "frontend" / "index.html").read_text()
    title = re.search(r"<title>(.*?)</title>", built)
    assert title and title.group(0) in html
    assert re.search(r'src="/assets/[^"]+\.js"', html), "the page is not Vite's build output"


def test_a_service_is_reached_by_name_from_another_pod(namespace: str) -> None:
    _frontend(namespace)
    url = f"http://web.{namespace}.svc.cluster.local/healthz"
    code = f"import urllib.request; print(urllib.request.urlopen({url!r}, timeout=10).read().decode())"
    logs = run_pod(namespace, "client", image("nowplaying"), command=["python", "-c", code])
    assert logs.strip() == "ok"


def test_a_one_minute_cronjob_creates_a_job_whose_pod_completes(namespace: str) -> None:
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "tick"},
        "spec": {
            "schedule": "* * * * *",
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "automountServiceAccountToken": False,
                            "containers": [
                                {
                                    "name": "main",
                                    "image": image("nowplaying"),
                                    "imagePullPolicy": "Never",
                                    "args": ["--help"],
                                }
                            ],
                        }
                    },
                }
            },
        },
    }
    apply(namespace, cronjob)

    def succeeded() -> bool:
        jobs = json.loads(kubectl("-n", namespace, "get", "jobs", "-o", "json"))["items"]
        return any(
            ref.get("name") == "tick" and job["status"].get("succeeded", 0) >= 1
            for job in jobs
            for ref in job["metadata"].get("ownerReferences", [])
        )

    wait_until("a Job of the CronJob to succeed", 150, succeeded, interval=3)
    kubectl("-n", namespace, "delete", "cronjob", "tick", "--wait=false")


def _drop_rule_packets() -> int:
    out = subprocess.run(
        ["iptables", "-L", "FORWARD", "-v", "-x", "-n"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 7 and fields[2] == "DROP" and fields[5] == BRIDGE and fields[6] == f"!{BRIDGE}":
            return int(fields[0])
    raise AssertionError(f"no FORWARD drop rule for {BRIDGE}:\n{out}")


def test_an_outside_image_fails_to_pull_and_no_traffic_leaves(namespace: str) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "outside"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "docker.io/library/busybox:1.36.1", "imagePullPolicy": "Always"}],
        },
    }
    apply(namespace, pod)

    def pull_error() -> str | None:
        statuses = get("pod", "outside", namespace)["status"].get("containerStatuses") or []
        waiting = statuses[0].get("state", {}).get("waiting", {}) if statuses else {}
        if waiting.get("reason") in ("ErrImagePull", "ImagePullBackOff") and waiting.get("message"):
            return str(waiting["message"])
        return None

    message = wait_until("the pull to fail", 90, pull_error)
    assert "127.0.0.1:1" in message, f"the pull did not end at the loopback guard: {message}"
    # A pod's packets towards the outside are dropped at the bridge: the drop rule counts them.
    before = _drop_rule_packets()
    logs = run_pod(
        namespace,
        "egress",
        image("nowplaying"),
        command=[
            "python",
            "-c",
            "import socket\n"
            "s = socket.socket(); s.settimeout(3)\n"
            "try:\n    s.connect(('192.0.2.1', 443)); print('connected')\n"
            "except OSError as e:\n    print('blocked', type(e).__name__)",
        ],
    )
    assert logs.startswith("blocked"), logs
    assert _drop_rule_packets() > before
