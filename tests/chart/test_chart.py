"""The Helm chart, checked as far as it can be without a cluster.

Rendered by the real helm with each values file under ``tests/chart/values/``; every object is
validated by kubeconform (strict) against the Kubernetes 1.31 and 1.34 schemas and the custom
resources against their operators' CRD schemas; then the policy every pod must follow (restricted
Pod Security, requests and limits, pinned images, standard labels) is checked in Python.
"""

from __future__ import annotations

import copy
import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from nowplaying.common.config import PROJECT_ROOT

from tests.chart.kube_schemas import kubeconform_location, write_crd_schemas
from tests.chart.tooling import (
    CHART,
    KUBE_VERSIONS,
    NAMESPACE,
    RELEASE,
    SHARED_SCHEMAS,
    VALUES_DIR,
    helm_template,
    kube_schema_root,
    load_docs,
    tool,
)

# The test scenarios, then the chart's own ci/*-values.yaml (chart-testing's convention; `make k8s-e2e`
# installs those on the local cluster): ids "default", ..., "ci/sandbox-values", ...
CI_VALUES_DIR = CHART / "ci"
VALUES_FILES = sorted(VALUES_DIR.glob("*.yaml")) + sorted(CI_VALUES_DIR.glob("*-values.yaml"))


def values_id(path: Path) -> str:
    return f"ci/{path.stem}" if path.parent == CI_VALUES_DIR else path.stem


VALUES_IDS = [values_id(p) for p in VALUES_FILES]
STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
)
CRD_FILES = (
    "crd-servicemonitors.yaml",
    "crd-podmonitors.yaml",
    "crd-prometheusrules.yaml",
    "sparkoperator.k8s.io_scheduledsparkapplications.yaml",
    "sparkoperator.k8s.io_sparkapplications.yaml",
)


@cache
def rendered(name: str, kube_version: str = "1.31.0") -> str:
    path = CI_VALUES_DIR / f"{name[3:]}.yaml" if name.startswith("ci/") else VALUES_DIR / f"{name}.yaml"
    return helm_template(path, kube_version)


def objects(name: str) -> list[dict[str, Any]]:
    return load_docs(rendered(name))


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="session")
def crd_location(tmp_path_factory: pytest.TempPathFactory) -> str:
    if not SHARED_SCHEMAS.is_dir():
        pytest.skip(f"{SHARED_SCHEMAS} is absent: no CRD schemas to validate the custom resources against")
    crds = []
    for name in CRD_FILES:
        crds += [d for d in yaml.safe_load_all((SHARED_SCHEMAS / name).read_text()) if d]
    return write_crd_schemas(crds, tmp_path_factory.mktemp("crd-schemas"))


def kubeconform(manifests: str, kube_version: str, crd_location: str) -> subprocess.CompletedProcess[str]:
    args = [
        tool("kubeconform"), "-strict", "-summary", "-output", "json", "-kubernetes-version", kube_version,
        "-schema-location", kubeconform_location(kube_schema_root()), "-schema-location", crd_location, "-",
    ]  # fmt: skip
    return subprocess.run(args, input=manifests, capture_output=True, text=True, timeout=120)


# --- helm lint and schema ------------------------------------------------------------------------


@pytest.mark.parametrize("values_file", VALUES_FILES, ids=VALUES_IDS)
def test_helm_lint_strict(values_file: Path) -> None:
    result = subprocess.run(
        [tool("helm"), "lint", "--strict", str(CHART), "-f", str(values_file), "--kube-version", "1.31.0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ("components.extrct.enabled=true", "additional properties 'extrct' not allowed"),
        ("images.python.tag=latest", "/images/python/tag"),
        ("spark.mode=yarn", "/spark/mode"),
        ("cassandra.enabled=false", "externalHosts"),
        ("components.gateway.resources.limits=null", "/components/gateway/resources"),
        ("lake.s3.bucket=Not_A_Bucket", "/lake/s3/bucket"),
    ],
)
def test_values_schema_rejects_mistakes(override: str, complaint: str) -> None:
    result = subprocess.run(
        [tool("helm"), "template", RELEASE, str(CHART), "--kube-version", "1.31.0", "--set", override],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0, f"--set {override} rendered without complaint"
    assert complaint in result.stderr, result.stderr


# --- kubeconform -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("values_file", VALUES_FILES, ids=VALUES_IDS)
def test_kubeconform_strict(values_file: Path, kube_version: str, crd_location: str) -> None:
    manifests = rendered(values_id(values_file), kube_version)
    result = kubeconform(manifests, kube_version, crd_location)
    report = json.loads(result.stdout)
    problems = [r for r in report["resources"] if r["status"] != "statusValid"]
    assert result.returncode == 0 and not problems, json.dumps(problems, indent=2) + result.stderr
    assert report["summary"]["valid"] == len(load_docs(manifests))


def test_kubeconform_catches_errors(crd_location: str) -> None:
    """The validation is real: a typo in a core object and in a custom resource both fail."""
    docs = objects("spark-operator")
    deployment = copy.deepcopy(by_kind(docs, "Deployment")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    ssa = copy.deepcopy(by_kind(docs, "ScheduledSparkApplication")[0])
    ssa["spec"]["template"]["type"] = "Pyhton"
    monitor = copy.deepcopy(by_kind(docs, "ServiceMonitor")[0])
    monitor["spec"]["endpoints"][0]["honourLabels"] = True
    result = kubeconform(yaml.safe_dump_all([deployment, ssa, monitor]), "1.34.0", crd_location)
    report = json.loads(result.stdout)
    assert result.returncode != 0
    assert [r["status"] for r in report["resources"]] == ["statusInvalid"] * 3, report
    messages = " ".join(r["msg"] for r in report["resources"])
    assert "'imagePullPolcy' not allowed" in messages
    assert "/spec/template/type': value must be one of 'Java', 'Python'" in messages
    assert "'honourLabels' not allowed" in messages


# --- policy ------------------------------------------------------------------------------------


def pod_specs(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """``(where, pod metadata, pod spec)`` of every pod an object creates."""
    kind = doc["kind"]
    spec = doc.get("spec", {})
    name = f"{kind}/{doc['metadata']['name']}"
    if kind in ("Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet"):
        return [(name, spec["template"]["metadata"], spec["template"]["spec"])]
    if kind == "CronJob":
        template = spec["jobTemplate"]["spec"]["template"]
        return [(name, template["metadata"], template["spec"])]
    if kind == "ConfigMap" and doc["metadata"]["name"].endswith("-pod-templates"):
        out = []
        for key, text in doc["data"].items():
            pod = yaml.safe_load(text)
            out.append((f"{name}:{key}", pod["metadata"], pod["spec"]))
        return out
    return []


def check_container_security(where: str, pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
    problems = []
    sc = container.get("securityContext", {})
    psc = pod.get("securityContext", {})
    label = f"{where} container {container['name']}"
    if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
        problems.append(f"{label}: runAsNonRoot not set")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{label}: allowPrivilegeEscalation is not false")
    if sc.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{label}: readOnlyRootFilesystem is not true")
    if "ALL" not in sc.get("capabilities", {}).get("drop", []):
        problems.append(f"{label}: capabilities do not drop ALL")
    if sc.get("capabilities", {}).get("add"):
        problems.append(f"{label}: adds capabilities")
    seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
    if seccomp != "RuntimeDefault":
        problems.append(f"{label}: seccompProfile is {seccomp}, not RuntimeDefault")
    if sc.get("privileged") or psc.get("hostNetwork") or psc.get("hostPID"):
        problems.append(f"{label}: privileged or host namespaces")
    return problems


def check_resources(label: str, resources: dict[str, Any] | None) -> list[str]:
    problems = []
    for part in ("requests", "limits"):
        for res in ("cpu", "memory"):
            if not (resources or {}).get(part, {}).get(res):
                problems.append(f"{label}: no {part}.{res}")
    return problems


def image_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and last.rsplit(":", 1)[1] not in ("", "latest")


def check_labels(label: str, labels: dict[str, str] | None) -> list[str]:
    missing = [key for key in STANDARD_LABELS if not (labels or {}).get(key)]
    return [f"{label}: missing labels {missing}"] if missing else []


def policy_violations(docs: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    for doc in docs:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        problems += check_labels(name, doc["metadata"].get("labels"))
        for where, meta, pod in pod_specs(doc):
            problems += check_labels(f"{where} pod template", meta.get("labels"))
            is_spark_template = where.endswith("executor.yaml")
            for container in pod.get("initContainers", []) + pod.get("containers", []):
                problems += check_container_security(where, pod, container)
                if not is_spark_template:  # Spark sets executor resources from spark.executor.* conf
                    problems += check_resources(f"{where} container {container['name']}", container.get("resources"))
                    if not image_pinned(container["image"]):
                        problems.append(f"{where} container {container['name']}: image {container['image']} not pinned")
        if doc["kind"] == "ScheduledSparkApplication":
            app = doc["spec"]["template"]
            if not image_pinned(app["image"]):
                problems.append(f"{name}: image {app['image']} not pinned")
            for role in ("driver", "executor"):
                pod = {"securityContext": app[role].get("podSecurityContext", {})}
                container = {"name": role, "securityContext": app[role].get("securityContext", {})}
                problems += check_container_security(name, pod, container)
                problems += [f"{name} {role}: no {k}" for k in ("cores", "coreLimit", "memory") if not app[role].get(k)]
                problems += check_labels(f"{name} {role}", app[role].get("labels"))
    return problems


@pytest.mark.parametrize("values_file", VALUES_FILES, ids=VALUES_IDS)
def test_policy(values_file: Path) -> None:
    docs = objects(values_id(values_file))
    assert docs
    violations = policy_violations(docs)
    assert not violations, "\n".join(violations)


def test_policy_check_catches_violations() -> None:
    docs = copy.deepcopy(objects("default"))
    gateway = one(docs, "Deployment", f"{RELEASE}-nowplaying-gateway")
    container = gateway["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["readOnlyRootFilesystem"] = False
    del container["resources"]["limits"]
    container["image"] = "nowplaying:latest"
    del gateway["metadata"]["labels"]["app.kubernetes.io/part-of"]
    text = "\n".join(policy_violations(docs))
    for expected in ("readOnlyRootFilesystem", "no limits.cpu", "not pinned", "app.kubernetes.io/part-of"):
        assert expected in text


# --- what each values file must produce ----------------------------------------------------------


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_default_release() -> None:
    docs = objects("default")
    prefix = f"{RELEASE}-nowplaying"
    cronjobs = {d["metadata"]["name"]: d for d in by_kind(docs, "CronJob")}
    assert set(cronjobs) == {f"{prefix}-{s}" for s in ("extract", "clean", "enrich", "load", "aggregate")}
    for name, cj in cronjobs.items():
        spec = cj["spec"]
        assert spec["concurrencyPolicy"] == "Forbid", name
        assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1, name
        job = spec["jobTemplate"]["spec"]
        assert job["backoffLimit"] >= 0 and job["activeDeadlineSeconds"] > 0, name
    extract = cronjobs[f"{prefix}-extract"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert extract["args"] == ["extract"]
    env = env_of(extract)
    assert env["CASSANDRA_HOSTS"] == f"{prefix}-cassandra"
    # one node by default: replication factor 1, so reads and writes at LOCAL_ONE
    assert json.loads(env["CASSANDRA_REPLICATION"]) == {"class": "NetworkTopologyStrategy", "dc1": 1}
    assert env["PUSHGATEWAY_URL"] == f"http://{prefix}-pushgateway:9091"
    assert env["LAKE_DIR"] == "/lake"
    # Secrets come from the Secret, never as literal values.
    for key in ("X_BEARER_TOKEN", "SPOTIFY_CLIENT_SECRET", "BLUESKY_APP_PASSWORD", "CURSOR_SECRET"):
        assert env[key]["secretKeyRef"]["name"] == f"{prefix}-credentials", key

    # Spark submit mode: spark-submit against the Kubernetes API with its own RBAC.
    spark = cronjobs[f"{prefix}-aggregate"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert spark["serviceAccountName"] == f"{prefix}-aggregate"
    driver = spark["containers"][0]
    assert driver["command"] == ["/opt/spark/bin/spark-submit"]
    assert "--master=k8s://https://kubernetes.default.svc:443" in driver["args"]
    assert driver["args"][-2:] == ["local:///opt/nowplaying/spark-jobs/main.py", "aggregate"]
    role = one(docs, "Role", f"{prefix}-aggregate")
    pods_rule = next(r for r in role["rules"] if "pods" in r["resources"])
    assert {"create", "delete", "watch"} <= set(pods_rule["verbs"])
    binding = one(docs, "RoleBinding", f"{prefix}-aggregate")
    assert binding["subjects"][0] == {"kind": "ServiceAccount", "name": f"{prefix}-aggregate", "namespace": NAMESPACE}

    # Cassandra StatefulSet on the official image.
    sts = one(docs, "StatefulSet", f"{prefix}-cassandra")
    headless = one(docs, "Service", f"{prefix}-cassandra-headless")
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True
    assert sts["spec"]["serviceName"] == f"{prefix}-cassandra-headless"
    cass = sts["spec"]["template"]["spec"]["containers"][0]
    assert cass["image"].startswith("cassandra:5.0.")
    cenv = env_of(cass)
    assert cenv["CASSANDRA_SEEDS"] == f"{prefix}-cassandra-0.{prefix}-cassandra-headless.{NAMESPACE}.svc.cluster.local"
    assert cenv["MAX_HEAP_SIZE"] == "512M" and cenv["HEAP_NEWSIZE"] == "100M"
    assert "nodetool status" in " ".join(cass["readinessProbe"]["exec"]["command"])
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "4Gi"
    assert not [d for d in by_kind(docs, "PodDisruptionBudget") if "cassandra" in d["metadata"]["name"]]
    [soft] = sts["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    assert soft["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"

    # Migrations as a Helm hook.
    job = one(docs, "Job", f"{prefix}-migrations")
    assert "post-install" in job["metadata"]["annotations"]["helm.sh/hook"]
    assert "pre-upgrade" in job["metadata"]["annotations"]["helm.sh/hook"]
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]

    # Gateway: probes, HPA, PDB; one Ingress.
    gw = one(docs, "Deployment", f"{prefix}-gateway")["spec"]["template"]["spec"]["containers"][0]
    assert gw["args"] == ["serve"] and env_of(gw)["GATEWAY_HOST"] == "0.0.0.0"
    assert gw["readinessProbe"]["httpGet"]["path"] == "/readyz"
    gw_role = one(docs, "Role", f"{prefix}-gateway")
    assert gw_role["rules"] == [{"apiGroups": ["batch"], "resources": ["cronjobs"], "verbs": ["get", "list"]}]
    assert gw["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert one(docs, "HorizontalPodAutoscaler", f"{prefix}-gateway")["spec"]["maxReplicas"] >= 2
    assert one(docs, "PodDisruptionBudget", f"{prefix}-gateway")["spec"]["minAvailable"] == 1
    (ingress,) = by_kind(docs, "Ingress")
    paths = {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert paths["/api"] == f"{prefix}-gateway" and paths["/"] == f"{prefix}-frontend"

    # Lake PVC mounted by every stage; dashboards for the Grafana sidecar.
    assert one(docs, "PersistentVolumeClaim", f"{prefix}-lake")["metadata"]["annotations"]["helm.sh/resource-policy"]
    boards = [d for d in by_kind(docs, "ConfigMap") if d["metadata"]["labels"].get("grafana_dashboard") == "1"]
    assert len(boards) == len(list((CHART / "dashboards").glob("*.json"))) == 4
    for board in boards:
        (content,) = board["data"].values()
        assert json.loads(content)["panels"]
    # Monitoring CRs are off by default (a bare kind cluster has no CRDs).
    assert not by_kind(docs, "ServiceMonitor") and not by_kind(docs, "PrometheusRule")
    assert len(by_kind(docs, "NetworkPolicy")) >= 5


def test_external_cassandra_release() -> None:
    docs = objects("external-cassandra")
    assert not by_kind(docs, "StatefulSet") and not by_kind(docs, "Secret")
    assert not by_kind(docs, "PersistentVolumeClaim")
    for kind in ("CronJob", "Job", "Deployment"):
        for doc in by_kind(docs, kind):
            for _, _, pod in pod_specs(doc):
                for container in pod["containers"]:
                    env = env_of(container)
                    if "CASSANDRA_HOSTS" not in env:
                        continue
                    assert env["CASSANDRA_HOSTS"].startswith("cassandra-0.db.example.internal:9042")
                    assert env["CASSANDRA_LOCAL_DC"] == "dc-east"
                    assert json.loads(env["CASSANDRA_REPLICATION"]) == {
                        "class": "NetworkTopologyStrategy",
                        "dc-east": 3,
                    }
                    assert env["X_BEARER_TOKEN"]["secretKeyRef"]["name"] == "nowplaying-api-credentials"
                for volume in pod.get("volumes", []):
                    if volume["name"] == "lake":
                        assert volume["persistentVolumeClaim"]["claimName"] == "shared-lake"


def test_lake_s3_release() -> None:
    """lake.s3: every Python pod gets the bucket's URL, endpoint and region, the keys only as references
    to the Secret, and no pod mounts a lake volume (no PVC is made), so any node can run them."""
    docs = objects("lake-s3")
    assert not by_kind(docs, "PersistentVolumeClaim")
    seen = 0
    for kind in ("CronJob", "Job", "Deployment", "StatefulSet"):
        for doc in by_kind(docs, kind):
            for where, _, pod in pod_specs(doc):
                assert "lake" not in {v["name"] for v in pod.get("volumes", [])}, where
                for container in pod["containers"]:
                    env = env_of(container)
                    assert "LAKE_DIR" not in env, where
                    if "LAKE_URL" not in env:
                        continue
                    seen += 1
                    assert env["LAKE_URL"] == "s3://nowplaying-lake/prod/lake"
                    assert env["LAKE_S3_ENDPOINT"] == "http://seaweedfs-s3.storage.svc:8333"
                    assert env["LAKE_S3_REGION"] == "eu-west-1"
                    for key in ("LAKE_S3_ACCESS_KEY_ID", "LAKE_S3_SECRET_ACCESS_KEY"):
                        assert env[key] == {"secretKeyRef": {"name": "nowplaying-lake-keys", "key": key}}, where
    assert seen >= 5  # the four stages and the Spark driver at least


def test_lake_s3_needs_a_bucket() -> None:
    result = subprocess.run(
        [tool("helm"), "template", RELEASE, str(CHART), "--kube-version", "1.31.0", "--set", "lake.s3.enabled=true"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "lake.s3.bucket is required when lake.s3.enabled is true" in result.stderr


def test_spark_operator_release() -> None:
    docs = objects("spark-operator")
    prefix = f"{RELEASE}-nowplaying"
    assert f"{prefix}-aggregate" not in {d["metadata"]["name"] for d in by_kind(docs, "CronJob")}
    ssa = one(docs, "ScheduledSparkApplication", f"{prefix}-aggregate")
    assert ssa["spec"]["concurrencyPolicy"] == "Forbid"
    app = ssa["spec"]["template"]
    assert app["type"] == "Python" and app["sparkVersion"].startswith("3.5.")
    assert app["mainApplicationFile"] == "local:///opt/nowplaying/spark-jobs/main.py"
    assert app["executor"]["instances"] == 2
    assert app["driver"]["serviceAccount"] == f"{prefix}-aggregate"
    monitors = {d["metadata"]["name"]: d for d in by_kind(docs, "ServiceMonitor")}
    assert monitors[f"{prefix}-pushgateway"]["spec"]["endpoints"][0]["honorLabels"] is True
    assert all(m["metadata"]["labels"]["release"] == "kube-prometheus-stack" for m in monitors.values())
    assert by_kind(docs, "PrometheusRule")
    # Three Cassandra nodes: two seeds and a PodDisruptionBudget.
    sts = one(docs, "StatefulSet", f"{prefix}-cassandra")
    assert sts["spec"]["replicas"] == 3
    seeds = env_of(sts["spec"]["template"]["spec"]["containers"][0])["CASSANDRA_SEEDS"].split(",")
    assert [s.split(".")[0] for s in seeds] == [f"{prefix}-cassandra-0", f"{prefix}-cassandra-1"]
    assert one(docs, "PodDisruptionBudget", f"{prefix}-cassandra")["spec"]["maxUnavailable"] == 1
    # one pod per Kubernetes node, every row on the three nodes, quorum reads and writes
    anti = sts["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    [term] = anti["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"] == sts["spec"]["selector"]["matchLabels"]
    load = one(docs, "CronJob", f"{prefix}-load")
    lenv = env_of(load["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0])
    assert json.loads(lenv["CASSANDRA_REPLICATION"]) == {"class": "NetworkTopologyStrategy", "dc1": 3}
    assert lenv["CASSANDRA_CONSISTENCY"] == "auto"
    assert not by_kind(docs, "HorizontalPodAutoscaler")


def test_sandbox_release() -> None:
    docs = objects("sandbox")
    prefix = f"{RELEASE}-nowplaying"
    sandbox = one(docs, "Deployment", f"{prefix}-sandbox")["spec"]["template"]["spec"]["containers"][0]
    assert sandbox["args"] == ["sandbox"] and env_of(sandbox)["SANDBOX_HOST"] == "0.0.0.0"
    assert one(docs, "Service", f"{prefix}-sandbox")["spec"]["ports"][0]["port"] == 8900
    base = f"http://{prefix}-sandbox:8900"
    expected = {
        "X_API_BASE": f"{base}/x",
        "SPOTIFY_ACCOUNTS_BASE": f"{base}/spotify/accounts",
        "SPOTIFY_API_BASE": f"{base}/spotify/api/v1",
        "RECCOBEATS_BASE": f"{base}/reccobeats",
        "MASTODON_BASE": f"{base}/mastodon",
        "BLUESKY_BASE": f"{base}/bluesky",
    }
    for stage in ("extract", "enrich"):
        cj = one(docs, "CronJob", f"{prefix}-{stage}")
        env = env_of(cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0])
        for key, value in expected.items():
            assert env[key] == value, (stage, key)
    sts = one(docs, "StatefulSet", f"{prefix}-cassandra")
    assert "volumeClaimTemplates" not in sts["spec"]
    assert any(v["name"] == "data" and "emptyDir" in v for v in sts["spec"]["template"]["spec"]["volumes"])


def test_ingress_off_release() -> None:
    docs = objects("ingress-off")
    kinds = {d["kind"] for d in docs}
    assert "Ingress" not in kinds and "NetworkPolicy" not in kinds
    assert not [d for d in by_kind(docs, "ConfigMap") if "grafana_dashboard" in d["metadata"]["labels"]]
    assert f"{RELEASE}-nowplaying-pushgateway" not in {d["metadata"]["name"] for d in by_kind(docs, "Deployment")}
    cj = one(docs, "CronJob", f"{RELEASE}-nowplaying-load")
    env = env_of(cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0])
    assert env["PUSHGATEWAY_URL"] == "http://prometheus-pushgateway.monitoring:9091"


def test_alert_rules_pass_promtool(tmp_path: Path) -> None:
    from tests.chart.tooling import render_rule_groups

    promtool = tool("promtool")
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(render_rule_groups()))
    result = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    # A broken expression is caught by the same check.
    broken = yaml.safe_load(rules.read_text())
    broken["groups"][1]["rules"][0]["expr"] = "time() - max by (stage (nowplaying_stage_last_success_timestamp_seconds)"
    rules.write_text(yaml.safe_dump(broken))
    result = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0


# --- helm's default Kubernetes version and the local cluster's --------------------------------------


def test_helm_template_needs_no_kube_version() -> None:
    """`make setup` builds helm with its version ldflags, so without a cluster it assumes a current Kubernetes
    (a plain `go install` assumes 1.20, which the chart's kubeVersion refuses)."""
    result = subprocess.run(
        [tool("helm"), "template", RELEASE, str(CHART)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_chart_accepts_the_local_clusters_version() -> None:
    versions = (PROJECT_ROOT / "scripts" / "cluster" / "versions.sh").read_text()
    k8s = versions.split("K8S_VERSION=", 1)[1].split()[0].lstrip("v")
    local_values = PROJECT_ROOT / "k8s" / "values-local.yaml"
    docs = load_docs(helm_template(local_values, k8s))
    images = {c["image"] for d in docs for c in _containers(d)}
    assert "localhost/nowplaying-standin/cassandra:5.0.8" in images
    assert any(i.startswith("localhost/nowplaying-standin/pushgateway:") for i in images)


def test_local_values_route_through_the_clusters_ingress_controller() -> None:
    """values-local.yaml names the class and namespace of the ingress controller `cluster.sh ingress`
    starts (scripts/cluster/ingress.yaml): the Ingress is served, and the NetworkPolicies let it in."""
    cluster_sh = (PROJECT_ROOT / "scripts" / "cluster" / "cluster.sh").read_text()
    namespace = cluster_sh.split("INGRESS_NAMESPACE=", 1)[1].split()[0]
    addon_text = (PROJECT_ROOT / "scripts" / "cluster" / "ingress.yaml").read_text()
    addon = load_docs(addon_text.replace("@INGRESS_NAMESPACE@", namespace).replace("@TRAEFIK_IMAGE@", "traefik"))
    (ingress_class,) = by_kind(addon, "IngressClass")
    docs = load_docs(helm_template(PROJECT_ROOT / "k8s" / "values-local.yaml", "1.33.13"))
    (ingress,) = by_kind(docs, "Ingress")
    assert ingress["spec"]["ingressClassName"] == ingress_class["metadata"]["name"]
    admitted = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for policy in by_kind(docs, "NetworkPolicy")
        for rule in policy["spec"].get("ingress", [])
        for peer in rule.get("from", [])
        if "namespaceSelector" in peer
    }
    assert namespace in admitted, admitted


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    for key in ("jobTemplate", "template"):
        if key in spec:
            spec = spec[key].get("spec", {})
            if "template" in spec:
                spec = spec["template"].get("spec", {})
    if "template" in spec:
        spec = spec["template"].get("spec", {})
    return list(spec.get("containers", [])) + list(spec.get("initContainers", []))


def test_e2e_values_release() -> None:
    """`make k8s-e2e`'s values over values-local.yaml: sandbox, one-minute stages, a `helm test` pod, and
    requests that fit a 2-core node with every batch pod running at once."""
    local, e2e = PROJECT_ROOT / "k8s" / "values-local.yaml", PROJECT_ROOT / "k8s" / "values-e2e.yaml"
    docs = load_docs(helm_template(local, "1.33.13", "-f", str(e2e)))
    assert not policy_violations(docs), policy_violations(docs)
    prefix = f"{RELEASE}-nowplaying"
    for stage in ("extract", "clean", "enrich", "load"):
        assert one(docs, "CronJob", f"{prefix}-{stage}")["spec"]["schedule"] == "* * * * *"
    sandbox = one(docs, "Deployment", f"{prefix}-sandbox")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(sandbox)["SANDBOX_INITIAL_POSTS"] == "200"
    test_pod = one(docs, "Pod", f"{prefix}-test")
    assert test_pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert f"http://{prefix}-gateway:8000" in test_pod["spec"]["containers"][0]["args"]
    millicores = 0.0
    for doc in docs:
        for container in _containers(doc):
            cpu = str(container.get("resources", {}).get("requests", {}).get("cpu", "0"))
            millicores += float(cpu[:-1]) if cpu.endswith("m") else float(cpu) * 1000
    spark = one(docs, "CronJob", f"{prefix}-aggregate")
    executor = next(a for a in _containers(spark)[0]["args"] if "executor.request.cores" in a)
    millicores += float(executor.rsplit("=", 1)[1].rstrip("m"))
    assert millicores <= 1200, millicores
