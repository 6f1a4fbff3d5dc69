"""`nowplaying run` (what `make run` starts): the whole system on one machine.

Starts the local Cassandra node (unless CASSANDRA_HOSTS points elsewhere) and, for a lake on S3
(``LAKE_URL=s3://…``) without an endpoint of its own, the local SeaweedFS S3 server; applies migrations,
starts the sandbox APIs unless real credentials are configured, runs every pipeline stage on a
short loop and the Spark aggregation on a longer one, and serves the gateway with the frontend at
http://localhost:8000. Each part is a child process (`nowplaying <command>`), so no service is
imported here. Ctrl-C stops everything; data stays in `.local/` for the next run.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from nowplaying.common.config import PROJECT_ROOT, Settings, get_settings

SANDBOX_CREDENTIALS = {
    "X_BEARER_TOKEN": "sandbox-bearer",
    "SPOTIFY_CLIENT_ID": "sandbox-client",
    "SPOTIFY_CLIENT_SECRET": "sandbox-secret",
    "BLUESKY_HANDLE": "sandbox.bsky.social",
    "BLUESKY_APP_PASSWORD": "sandbox-app-password",
}
REAL_API_VARIABLES = ("X_BEARER_TOKEN", "SPOTIFY_CLIENT_ID", "BLUESKY_APP_PASSWORD", "MASTODON_BASE")


def use_sandbox(settings: Settings, environ: dict[str, str]) -> bool:
    if settings.run_sandbox == "on":
        return True
    if settings.run_sandbox == "off":
        return False
    return not any(environ.get(name) for name in REAL_API_VARIABLES)


def sandbox_environment(settings: Settings) -> dict[str, str]:
    base = f"http://{settings.sandbox_host}:{settings.sandbox_port}"
    return {
        "X_API_BASE": f"{base}/x",
        "SPOTIFY_ACCOUNTS_BASE": f"{base}/spotify/accounts",
        "SPOTIFY_API_BASE": f"{base}/spotify/api/v1",
        "RECCOBEATS_BASE": f"{base}/reccobeats",
        "MASTODON_BASE": f"{base}/mastodon",
        "BLUESKY_BASE": f"{base}/bluesky",
        **SANDBOX_CREDENTIALS,
    }


@dataclass
class Child:
    name: str
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    threads: list[threading.Thread] = field(default_factory=list)


def _say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')}  {message}", flush=True)


def _summarize(name: str, line: bytes) -> str | None:
    """A one-line summary of a child's JSON log line, or None when it is not worth showing."""
    try:
        event: dict[str, Any] = orjson.loads(line)
    except orjson.JSONDecodeError:
        text = line.decode("utf-8", "replace").rstrip()
        return f"{name:<9} {text}" if text else None
    kind = event.get("event")
    if kind == "run_finished":
        return (
            f"{name:<9} {event.get('status', '?'):<7} in={event.get('items_in', 0)} out={event.get('items_out', 0)}"
            f" errors={event.get('errors', 0)} ({event.get('duration_s', 0)} s)"
        )
    if event.get("level") in ("warning", "error"):
        details = {k: v for k, v in event.items() if k not in ("ts", "level", "logger", "event")}
        return f"{name:<9} {event.get('level')}: {kind} {details}"[:400]
    return None


class Supervisor:
    def __init__(self, settings: Settings, env: dict[str, str], log_dir: Path) -> None:
        self.settings = settings
        self.env = env
        self.log_dir = log_dir
        self.children: list[Child] = []
        self.stopping = threading.Event()

    def start(self, name: str, *args: str) -> Child:
        child = Child(name, [sys.executable, "-m", "nowplaying.cli", *args])
        child.log_path = self.log_dir / f"{name}.log"
        child.process = subprocess.Popen(
            child.args,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=PROJECT_ROOT,
            start_new_session=True,  # Ctrl-C goes to the supervisor, which stops children in order
        )
        thread = threading.Thread(target=self._pump, args=(child,), daemon=True)
        thread.start()
        child.threads.append(thread)
        self.children.append(child)
        return child

    def _pump(self, child: Child) -> None:
        assert child.process is not None and child.process.stdout is not None and child.log_path is not None
        stream: IO[bytes] = child.process.stdout
        with open(child.log_path, "ab") as log_file:
            for line in stream:
                log_file.write(line)
                log_file.flush()
                summary = _summarize(child.name, line)
                if summary:
                    _say(summary)

    def check(self) -> Child | None:
        """The first child that exited on its own, if any."""
        for child in self.children:
            if child.process is not None and child.process.poll() is not None:
                return child
        return None

    def stop_all(self) -> None:
        self.stopping.set()
        for child in reversed(self.children):
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for child in reversed(self.children):
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
            for thread in child.threads:
                thread.join(timeout=2)


def _wait_http(url: str, timeout_s: float) -> bool:
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback URL we built)
                if response.status < 500:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def uses_local_s3(settings: Settings) -> bool:
    """A lake on S3 whose endpoint is unset or the local server's: `make run` starts SeaweedFS itself."""
    if not (settings.lake_url or "").startswith(("s3://", "s3a://")):
        return False
    local = f"http://127.0.0.1:{settings.seaweedfs_port}"
    return not settings.lake_s3_endpoint or settings.lake_s3_endpoint.rstrip("/") in (
        local,
        f"http://localhost:{settings.seaweedfs_port}",
    )


def start_local_s3(settings: Settings, env: dict[str, str]) -> Any:
    """Start the local S3 server when the lake needs it; its endpoint and keys go into ``env``.
    Returns the server if this call started it (stopped again at the end), else None."""
    from nowplaying.common.lake.s3 import parse_s3_url
    from nowplaying.common.locals3 import LocalS3

    if not uses_local_s3(settings):
        _say(f"lake: {settings.lake_url or settings.lake_dir}")
        return None
    server = LocalS3(settings)
    already = server.pid() is not None
    _say("S3: " + ("already running" if already else "starting SeaweedFS (data in .local/seaweedfs)"))
    server.start()
    server.ensure_bucket(parse_s3_url(settings.lake_url or "")[0])
    env.update(server.lake_environment())
    _say(f"lake: {settings.lake_url} on SeaweedFS at {server.endpoint}")
    return None if already else server


def run(args: argparse.Namespace) -> int:
    from nowplaying.common.localnode import LocalNode, NodeError
    from nowplaying.common.locals3 import LocalS3Error

    settings = get_settings()
    env = dict(os.environ)
    env["LOG_FORMAT"] = "json"  # the supervisor reads the children's JSON log lines
    log_dir = PROJECT_ROOT / ".local" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    node: LocalNode | None = None
    started_node = False
    if not os.environ.get("CASSANDRA_HOSTS"):
        node = LocalNode(settings)
        try:
            already = node.pid() is not None
            _say("Cassandra: " + ("already running" if already else "starting the local node (data in .local/)"))
            version = node.start()
            started_node = not already
            _say(f"Cassandra {version} is up on 127.0.0.1:{settings.cassandra_port}")
        except NodeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    try:
        local_s3 = start_local_s3(settings, env)
    except LocalS3Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        if node is not None and started_node:
            node.stop()
        return 1
    supervisor = Supervisor(settings, env, log_dir)
    interrupted = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        interrupted.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    code = 0
    try:
        migrate = subprocess.run([sys.executable, "-m", "nowplaying.cli", "migrate"], env=env, cwd=PROJECT_ROOT)
        if migrate.returncode != 0:
            print("error: migrations failed (see above)", file=sys.stderr)
            return 1
        if use_sandbox(settings, env):
            env.update(sandbox_environment(settings))
            _say(f"sandbox: starting offline APIs on http://{settings.sandbox_host}:{settings.sandbox_port}")
            supervisor.start("sandbox", "sandbox")
            if not _wait_http(f"http://{settings.sandbox_host}:{settings.sandbox_port}/_admin/stats", 60):
                print("error: the sandbox did not start; see .local/logs/sandbox.log", file=sys.stderr)
                return 1
        else:
            _say("real APIs: sources " + ", ".join(settings.enabled_sources) + " (sandbox off)")
        loop = str(args.loop or settings.loop_seconds)
        for stage in ("extract", "clean", "enrich", "load"):
            supervisor.start(stage, stage, "--loop", loop)
        supervisor.start("aggregate", "aggregate", "--loop", str(settings.aggregate_seconds))
        supervisor.start("gateway", "serve")
        url = f"http://localhost:{settings.gateway_port}"
        if _wait_http(f"http://127.0.0.1:{settings.gateway_port}/healthz", 60):
            _say(f"ready: open {url}  (Ctrl-C stops everything; logs in .local/logs/)")
        while not interrupted.is_set():
            exited = supervisor.check()
            if exited is not None:
                assert exited.process is not None
                _say(f"{exited.name} exited with code {exited.process.returncode}; stopping (see {exited.log_path})")
                code = 1
                break
            interrupted.wait(0.5)
    finally:
        _say("stopping ...")
        supervisor.stop_all()
        if local_s3 is not None:
            local_s3.stop()
        if node is not None and started_node:
            node.stop()
        _say("stopped; data kept in .local/ for the next run")
    return code


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("run", help="run everything locally (make run)")
    parser.add_argument("--loop", type=float, default=None, help="stage loop interval in seconds (LOOP_SECONDS)")
    parser.set_defaults(handler=run)
