"""CronJob status: plain data from the Kubernetes objects; outside a cluster, nothing and no error."""

from __future__ import annotations

from datetime import UTC, datetime

from kubernetes import client
from nowplaying.gateway.kube import CronJobReader, cronjob_summary, in_kubernetes


def test_in_kubernetes_follows_the_service_host_variable() -> None:
    assert in_kubernetes({"KUBERNETES_SERVICE_HOST": "10.0.0.1"})
    assert not in_kubernetes({})


def test_cronjob_summary() -> None:
    job = client.V1CronJob(
        metadata=client.V1ObjectMeta(name="nowplaying-extract"),
        spec=client.V1CronJobSpec(schedule="*/10 * * * *", suspend=True, job_template=client.V1JobTemplateSpec()),
        status=client.V1CronJobStatus(
            last_schedule_time=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
            last_successful_time=datetime(2026, 3, 1, 11, 50, 30, tzinfo=UTC),
        ),
    )
    assert cronjob_summary(job) == {
        "name": "nowplaying-extract",
        "schedule": "*/10 * * * *",
        "suspended": True,
        "last_schedule": "2026-03-01T12:00:00.000Z",
        "last_success": "2026-03-01T11:50:30.000Z",
    }
    never_ran = client.V1CronJob(
        metadata=client.V1ObjectMeta(name="j"),
        spec=client.V1CronJobSpec(schedule="@daily", job_template=client.V1JobTemplateSpec()),
    )
    assert cronjob_summary(never_ran)["last_success"] is None


def test_reader_outside_a_cluster_answers_unknown_not_an_error() -> None:
    reader = CronJobReader(namespace="nowplaying")
    assert reader.read() is None  # no in-cluster config here: logged, and the status endpoint goes on
