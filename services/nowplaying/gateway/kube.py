"""CronJob status from the Kubernetes API (in-cluster config, read-only). Outside a cluster: nothing.

Needs RBAC ``get, list`` on ``batch/cronjobs`` in the gateway's namespace. Any failure is logged and
answered as "unknown" (``None``), never as an error of the status endpoint.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from nowplaying.common.logging import get_logger
from nowplaying.common.models import format_rfc3339

log = get_logger(__name__)

NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
CACHE_SECONDS = 30.0
REQUEST_TIMEOUT_S = 3.0


def in_kubernetes(environ: Mapping[str, str] | None = None) -> bool:
    return bool((environ if environ is not None else os.environ).get("KUBERNETES_SERVICE_HOST"))


def _time(value: datetime | None) -> str | None:
    return format_rfc3339(value) if value is not None else None


def cronjob_summary(item: Any) -> dict[str, Any]:
    """Plain data from one ``V1CronJob``."""
    spec, status = item.spec, item.status
    return {
        "name": str(item.metadata.name),
        "schedule": getattr(spec, "schedule", None),
        "suspended": bool(getattr(spec, "suspend", False)),
        "last_schedule": _time(getattr(status, "last_schedule_time", None)) if status else None,
        "last_success": _time(getattr(status, "last_successful_time", None)) if status else None,
    }


class CronJobReader:
    def __init__(self, namespace: str | None = None) -> None:
        self._namespace = namespace
        self._api: Any = None
        self._lock = threading.Lock()
        self._cached: tuple[float, list[dict[str, Any]] | None] | None = None

    def _client(self) -> Any:
        if self._api is None:
            from kubernetes import client, config

            config.load_incluster_config()  # type: ignore[no-untyped-call]
            self._api = client.BatchV1Api()
        return self._api

    def _namespace_name(self) -> str:
        if self._namespace:
            return self._namespace
        env = os.environ.get("POD_NAMESPACE")
        if env:
            return env
        return NAMESPACE_FILE.read_text().strip() if NAMESPACE_FILE.exists() else "default"

    def read(self) -> list[dict[str, Any]] | None:
        """The namespace's CronJobs, sorted by name; ``None`` when the API could not be read."""
        with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
            result: list[dict[str, Any]] | None
            try:
                listing = self._client().list_namespaced_cron_job(
                    self._namespace_name(), _request_timeout=REQUEST_TIMEOUT_S
                )
                result = sorted((cronjob_summary(i) for i in listing.items), key=lambda c: c["name"])
            except Exception as exc:  # the API, RBAC or the config may fail; the endpoint must not
                log.warning("cronjobs_unavailable", error=type(exc).__name__, detail=str(exc)[:200])
                result = None
            self._cached = (now, result)
            return result
