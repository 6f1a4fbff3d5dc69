"""Fixtures for the lake on both backends: a real SeaweedFS S3 server, and the lake under test.

``seaweedfs``: the project's own local S3 server (``nowplaying.common.locals3``, the ``weed`` that
``make setup`` builds), started once per test session on loopback in a temporary folder, on
``TEST_SEAWEEDFS_PORT`` and the seven ports after it (default: a free block). Every test gets its own
prefix in the session's bucket, so tests never see each other's batches.

``lake_backend``: parametrized ``folder`` / ``s3``; ``.lake`` is the Lake, ``.settings(base)`` the
settings that point the stages at it, ``.env`` the same as environment variables for a subprocess.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from nowplaying.common.config import Settings

LAKE_TEST_BUCKET = "nowplaying-test"


def free_port_block(count: int = 8) -> int:
    """The first of ``count`` consecutive loopback ports that are all free now."""
    for _ in range(200):
        base = random.randrange(30000, 32000)
        if all(_port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no block of {count} free ports found")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_local_s3(base: Path, port: int) -> Any:
    from nowplaying.common.locals3 import LocalS3

    server = LocalS3(Settings(), base=base, port=port)
    server.start()
    server.ensure_bucket(LAKE_TEST_BUCKET)
    return server


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    port = int(os.environ.get("TEST_SEAWEEDFS_PORT") or free_port_block())
    server = start_local_s3(tmp_path_factory.mktemp("seaweedfs"), port)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class LakeBackend:
    name: str
    overrides: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def lake(self) -> Any:
        from nowplaying.common.lake import open_lake

        return open_lake(self.settings(Settings()))

    def settings(self, base: Settings) -> Settings:
        return base.model_copy(update=self.overrides)


def s3_backend(server: Any, prefix: str | None = None) -> LakeBackend:
    from pydantic import SecretStr

    prefix = prefix or f"t{secrets.token_hex(5)}"
    keys = server.credentials()
    url = f"s3://{LAKE_TEST_BUCKET}/{prefix}"
    overrides: dict[str, Any] = {
        "lake_url": url,
        "lake_s3_endpoint": server.endpoint,
        "lake_s3_access_key_id": SecretStr(keys.access_key_id),
        "lake_s3_secret_access_key": SecretStr(keys.secret_access_key),
        "lake_s3_retry_timeout_s": 5.0,
    }
    env = {"LAKE_URL": url, "LAKE_S3_RETRY_TIMEOUT_S": "5", **server.lake_environment()}
    return LakeBackend("s3", overrides, env)


def folder_backend(root: Path) -> LakeBackend:
    root.mkdir(parents=True, exist_ok=True)
    return LakeBackend("folder", {"lake_dir": root, "lake_url": None}, {"LAKE_DIR": str(root), "LAKE_URL": ""})


@pytest.fixture(params=["folder", "s3"])
def lake_backend(request: pytest.FixtureRequest, tmp_path: Path) -> LakeBackend:
    if request.param == "folder":
        return folder_backend(tmp_path / "lake")
    return s3_backend(request.getfixturevalue("seaweedfs"))
