"""A local S3 server owned by the project: SeaweedFS, ``nowplaying s3 start|stop|status``.

``make setup`` installs ``weed`` (``SEAWEEDFS_BIN``; the release binary, or built from the Go module proxy
with ``SEAWEEDFS_FROM_SOURCE=1``). The server runs as one
``weed server -s3`` process (master, volume server, filer and S3 gateway) bound to 127.0.0.1, with
its data, log, pid file and credentials under ``SEAWEEDFS_DATA_DIR``. It listens on
``SEAWEEDFS_PORT`` (S3) and the next seven ports (master, volume, filer and their gRPC ports, and
the S3 gateway's gRPC); everything else it could open (Iceberg, Lance, metrics, telemetry) is off.

S3 requests must be signed: on first start a random access key pair is written to
``credentials.json`` (mode 0600) in the data folder, kept for later starts and never logged. The
bucket is created on the first upload (the identity is the server's admin).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from nowplaying.common.config import Settings
from nowplaying.common.localnode import _is_zombie, port_open
from nowplaying.common.logging import get_logger

log = get_logger(__name__)

PORT_OFFSETS = {"s3": 0, "master": 1, "volume": 2, "filer": 3, "master.grpc": 4, "volume.grpc": 5, "filer.grpc": 6,
                "s3.grpc": 7}  # fmt: skip


class LocalS3Error(RuntimeError):
    pass


@dataclass(frozen=True)
class S3Credentials:
    access_key_id: str
    secret_access_key: str


class LocalS3:
    def __init__(self, settings: Settings, base: Path | None = None, port: int | None = None) -> None:
        self.settings = settings
        self.base = Path(base or settings.seaweedfs_data_dir).resolve()
        self.port = port or settings.seaweedfs_port
        self.binary = Path(settings.seaweedfs_bin)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ports(self) -> dict[str, int]:
        return {name: self.port + offset for name, offset in PORT_OFFSETS.items()}

    @property
    def pid_file(self) -> Path:
        return self.base / "weed.pid"

    @property
    def log_file(self) -> Path:
        return self.base / "weed.log"

    @property
    def credentials_file(self) -> Path:
        return self.base / "credentials.json"

    # --- state ------------------------------------------------------------------------------
    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        cmdline = Path(f"/proc/{pid}/cmdline")
        if not cmdline.exists() or b"weed" not in cmdline.read_bytes() or _is_zombie(pid):
            return None
        return pid

    def credentials(self) -> S3Credentials:
        """The server's access key pair, made on first use (kept for later starts)."""
        if not self.credentials_file.exists():
            self.base.mkdir(parents=True, exist_ok=True)
            pair = {"access_key_id": "np" + secrets.token_hex(9), "secret_access_key": secrets.token_urlsafe(30)}
            fd = os.open(self.credentials_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(pair, handle)
        pair = json.loads(self.credentials_file.read_text())
        return S3Credentials(pair["access_key_id"], pair["secret_access_key"])

    def ready(self) -> bool:
        """The S3 gateway answers (an unsigned request is refused with 403: the server is up)."""
        try:
            with urllib.request.urlopen(self.endpoint + "/", timeout=2):  # noqa: S310 (our loopback URL)
                return True
        except urllib.error.HTTPError as exc:
            return exc.code in (400, 403)
        except OSError:
            return False

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # --- commands ---------------------------------------------------------------------------
    def command(self, s3_config: Path) -> list[str]:
        p = self.ports
        return [
            str(self.binary), "server", "-s3",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={self.base / 'data'}",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master.grpc']}",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume.grpc']}",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer.grpc']}",
            f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3.grpc']}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={s3_config}",
            "-master.telemetry=false", "-master.volumeSizeLimitMB=512", "-volume.max=0",
            "-volume.preStopSeconds=0",
        ]  # fmt: skip

    def start(self, timeout_s: float = 60.0) -> S3Credentials:
        """Start the server (or find it running) and wait until S3 answers; returns its credentials."""
        credentials = self.credentials()
        if self.pid() is not None:
            self._wait_ready(timeout_s, None)
            return credentials
        if not self.binary.is_file():
            raise LocalS3Error(f"no SeaweedFS binary at {self.binary} (SEAWEEDFS_BIN); run `make setup` to install it")
        for name, port in self.ports.items():
            if port_open("127.0.0.1", port):
                raise LocalS3Error(
                    f"port {port} ({name}, SEAWEEDFS_PORT+{PORT_OFFSETS[name]}) is already taken by another "
                    "process; stop it or choose another SEAWEEDFS_PORT"
                )
        (self.base / "data").mkdir(parents=True, exist_ok=True)
        s3_config = self.base / "s3.json"
        identity = {
            "name": "nowplaying",
            "credentials": [{"accessKey": credentials.access_key_id, "secretKey": credentials.secret_access_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        fd = os.open(s3_config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"identities": [identity]}, handle)
        with open(self.log_file, "ab") as log_handle:
            proc = subprocess.Popen(
                self.command(s3_config),
                stdout=log_handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.base,
                start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        log.info("s3_starting", pid=proc.pid, endpoint=self.endpoint, data=str(self.base))
        self._wait_ready(timeout_s, proc)
        log.info("s3_ready", pid=proc.pid, endpoint=self.endpoint)
        return credentials

    def _wait_ready(self, timeout_s: float, proc: subprocess.Popen[bytes] | None) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise LocalS3Error(f"SeaweedFS exited with code {proc.returncode} during start:\n{self.log_tail()}")
            if self.ready():
                return
            time.sleep(0.3)
        raise LocalS3Error(f"SeaweedFS did not answer on {self.endpoint} within {timeout_s:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM, then SIGKILL after the timeout; waits until its ports are closed."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while self.pid() is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.pid() is not None:
            log.warning("s3_kill", pid=pid)
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        port_deadline = time.monotonic() + 30
        while any(port_open("127.0.0.1", p) for p in self.ports.values()) and time.monotonic() < port_deadline:
            time.sleep(0.2)
        log.info("s3_stopped", pid=pid)
        return True

    def status(self) -> dict[str, object]:
        pid = self.pid()
        return {
            "running": pid is not None,
            "pid": pid,
            "endpoint": self.endpoint,
            "ready": self.ready() if pid else False,
            "data_dir": str(self.base),
        }

    def ensure_bucket(self, bucket: str) -> None:
        """Create ``bucket`` if it is missing: the first upload by the admin identity creates it."""
        from nowplaying.common.lake.s3 import STAGING, S3Lake

        keys = self.credentials()
        lake = S3Lake(
            bucket,
            endpoint=self.endpoint,
            access_key_id=keys.access_key_id,
            secret_access_key=keys.secret_access_key,
            retry_timeout_s=10,
        )
        lake._replace(f"{STAGING}/.bucket", b"")
        log.info("s3_bucket_ready", bucket=bucket)

    def lake_environment(self) -> dict[str, str]:
        """The settings that point the stages' S3 lake at this server."""
        credentials = self.credentials()
        return {
            "LAKE_S3_ENDPOINT": self.endpoint,
            "LAKE_S3_REGION": "us-east-1",
            "LAKE_S3_ACCESS_KEY_ID": credentials.access_key_id,
            "LAKE_S3_SECRET_ACCESS_KEY": credentials.secret_access_key,
        }
