"""The Spark aggregate on Kubernetes: its CronJob runs spark-submit against the API server (client mode, the
CronJob pod is the driver), the driver starts executor pods of the Spark image, the Job succeeds and the
aggregates are in Cassandra."""

from __future__ import annotations

import time

import pytest

from tests.cluster.support import wait_until
from tests.k8s_e2e.release import Release, record


@pytest.mark.timeout(900)
def test_the_aggregate_runs_with_executor_pods(release: Release) -> None:
    started = time.time()

    def outcome() -> str | None:
        if release.last_successful_job_time("aggregate"):
            return "succeeded"
        # the three newest Jobs failed: no need to wait for a fourth
        jobs = release.get_json("jobs", "-l", "app.kubernetes.io/component=aggregate")["items"]
        newest = sorted(jobs, key=lambda j: j["metadata"]["creationTimestamp"])[-3:]
        failed = [j for j in newest if any(c["type"] == "Failed" for c in j["status"].get("conditions", []))]
        return "failed" if len(failed) == 3 else None

    what = "a successful Job of the Spark aggregate's CronJob"
    assert wait_until(what, 720, outcome, 5) == "succeeded", "the three newest aggregate Jobs failed and none succeeded"
    record("seconds_waited_for_the_first_spark_aggregate", round(time.time() - started))
    executors = {
        e["involvedObject"]["name"]
        for e in release.events()
        if e["involvedObject"].get("kind") == "Pod"
        and "-exec-" in e["involvedObject"].get("name", "")
        and e["reason"] == "Started"
    }
    assert executors, "no executor pod was started"
    record("spark_executor_pods_started", sorted(executors))
    image_events = [
        e["message"]
        for e in release.events()
        if e["involvedObject"].get("name") in executors and e["reason"] in ("Pulled", "Created")
    ]
    assert image_events, "no event of an executor pod's container"

    rows = release.cql_rows("SELECT day FROM {ks}.top_tracks_by_day LIMIT 10")
    assert rows, "the aggregate wrote no top tracks"
