"""Pieces several benchmarks share: a sandbox process, a throwaway keyspace, child-process memory."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from bench import common
from tests.support.net import free_port

PROJECT = Path(__file__).resolve().parent.parent
NOWPLAYING = str(PROJECT / ".venv" / "bin" / "nowplaying")


@contextmanager
def sandbox_process(**env_overrides: str) -> Iterator[str]:
    """A `nowplaying sandbox` child on a free loopback port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "SANDBOX_HOST": "127.0.0.1", "SANDBOX_PORT": str(port), "LOG_LEVEL": "WARNING"}
    env.update(env_overrides)
    proc = subprocess.Popen([NOWPLAYING, "sandbox"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(base + "/_admin/stats", timeout=30):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("the sandbox exited before it answered") from None
                if time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not answer within 300 s") from None
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def bench_keyspace(label: str) -> Iterator[Any]:
    """Settings for a fresh, migrated keyspace on CASSANDRA_HOSTS (default: the local node), dropped after."""
    with common.bench_keyspace(label, pushgateway_url=None) as (settings, _session):
        yield settings


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Run a child to the end: (wall seconds, peak RSS in MiB sampled every 20 ms, exit code)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        handle = psutil.Process(proc.pid)
        while not stop.is_set():
            try:
                peak = max(peak, handle.memory_info().rss)
            except psutil.Error:
                return
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = proc.communicate()
    stop.set()
    sampler.join()
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        print(stderr.decode(errors="replace")[-2000:])
    return elapsed, peak / (1024 * 1024), proc.returncode
