"""Exactly once, on the cluster: with new posts stopped and the CronJobs drained, the plays in Cassandra are
the song posts the sandbox served (as the cleaner judged them; tests/e2e/test_make_run.py checks the same
locally). Then a stage pod is deleted in the middle of its run and the Cassandra pod once; after recovery
the plays are exactly the same: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest

from tests.cluster.support import wait_until
from tests.k8s_e2e.release import SONG_KINDS, STAGES, Release, record

BEFORE: dict[str, Any] = {}


def _drained(release: Release) -> dict[str, Any] | None:
    """The pipeline's state once every served post went through the cleaner and every song post is a
    play; None while it is still catching up (or the gateway does not answer yet)."""
    try:
        served = release.served_ids()
        kinds = release.clean_kinds()
        if not served or not served <= set(kinds):
            return None
        song_posts = {i for i in served if kinds[i] in SONG_KINDS}
        plays = [p["post_id"] for p in release.plays()]
    except (AssertionError, OSError):
        return None
    if set(plays) != song_posts:
        return None
    return {"served": served, "song_posts": song_posts, "plays": plays}


def _check_exact(release: Release, state: dict[str, Any]) -> dict[str, int]:
    plays: list[str] = state["plays"]
    doubled = [i for i, n in Counter(plays).items() if n > 1]
    assert not doubled, f"posts that became two plays: {doubled[:10]}"
    rows = release.cassandra_plays()
    row_doubled = [k for k, n in Counter(rows).items() if n > 1]
    assert not row_doubled, row_doubled[:10]
    assert {post_id for _, post_id in rows} == state["song_posts"]
    return {
        "posts_served": len(state["served"]),
        "song_posts_served": len(state["song_posts"]),
        "plays_served_by_gateway": len(plays),
        "plays_rows_in_cassandra": len(rows),
    }


@pytest.mark.timeout(900)
def test_plays_equal_the_song_posts_served(release: Release) -> None:
    release.sandbox("/config", {"posts_per_minute": 0})
    state = wait_until("the CronJobs to drain (every served song post a play)", 600, lambda: _drained(release), 10)
    counts = _check_exact(release, state)
    assert counts["song_posts_served"] > 0
    record("exactly_once_before_deletions", counts)
    BEFORE.update(state=state, counts=counts)


def _running_stage_pod(release: Release) -> dict[str, Any] | None:
    for pod in release.pods("app.kubernetes.io/component in (extract,clean,enrich,load)"):
        statuses = pod["status"].get("containerStatuses", [])
        running = pod["status"].get("phase") == "Running" and statuses and statuses[0].get("state", {}).get("running")
        if running and not pod["metadata"].get("deletionTimestamp"):
            return pod
    return None


@pytest.mark.timeout(1800)
def test_deleting_a_stage_pod_and_cassandra_keeps_the_plays(release: Release) -> None:
    assert BEFORE, "needs test_plays_equal_the_song_posts_served first"
    pod = wait_until("a stage pod in the middle of its run", 180, lambda: _running_stage_pod(release), 0.5)
    stage_pod = pod["metadata"]["name"]
    release.kubectl("delete", "pod", stage_pod, "--wait=false")

    cassandra = f"{release.prefix}-cassandra-0"
    old_uid = release.get_json("pod", cassandra)["metadata"]["uid"]
    deleted_at = time.time()
    release.kubectl("delete", "pod", cassandra, "--wait=false")

    def recreated_and_ready() -> bool:
        raw = release.kubectl("get", "pod", cassandra, "-o", "json", check=False)
        found = json.loads(raw) if raw.strip() else None
        if not found or found["metadata"]["uid"] == old_uid:
            return False
        return any(c["type"] == "Ready" and c["status"] == "True" for c in found["status"].get("conditions", []))

    wait_until("the Cassandra pod to come back Ready", 600, recreated_and_ready, 3)
    recovered_at = time.time()

    def every_stage_succeeded_since() -> bool:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(recovered_at))
        return all(release.last_successful_job_time(s) > stamp for s in STAGES)

    wait_until("a successful run of every stage after recovery", 420, every_stage_succeeded_since, 5)
    state = wait_until("the pipeline to be drained again", 300, lambda: _drained(release), 10)
    counts = _check_exact(release, state)
    record(
        "exactly_once_after_deletions",
        {**counts, "deleted_stage_pod": stage_pod, "cassandra_recovery_seconds": round(recovered_at - deleted_at)},
    )
    assert counts == BEFORE["counts"], (BEFORE["counts"], counts)
    assert set(state["plays"]) == set(BEFORE["state"]["plays"])
