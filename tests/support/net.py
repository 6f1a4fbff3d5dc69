"""Loopback helpers for tests and benchmarks."""

from __future__ import annotations

import json
import socket
import urllib.request
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(url: str, body: Any = None, method: str | None = None, timeout: float = 30.0) -> Any:
    """GET (or ``method``) a loopback URL and decode its JSON answer (None when empty); ``body``, if
    given, is sent as JSON (a POST unless ``method`` says otherwise)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {} if body is None else {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # loopback URLs only
        raw = response.read()
    return json.loads(raw) if raw else None
