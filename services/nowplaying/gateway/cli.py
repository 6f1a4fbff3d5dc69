"""`nowplaying serve`: the HTTP API (and, locally, the built frontend) with uvicorn."""

from __future__ import annotations

import argparse
from typing import Any


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from nowplaying.common.config import get_settings
    from nowplaying.common.logging import get_logger
    from nowplaying.gateway.app import create_app

    settings = get_settings()
    host = args.host or settings.gateway_host
    port = args.port or settings.gateway_port
    get_logger("nowplaying.gateway").info("serve", host=host, port=port, keyspace=settings.cassandra_keyspace)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,  # keep the structured logging configured by the CLI
        access_log=False,  # requests are counted in /metrics
        proxy_headers=True,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    return 0


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("serve", help="serve the HTTP API (and the built frontend)")
    parser.add_argument("--host", default=None, help="bind address (default: GATEWAY_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port (default: GATEWAY_PORT)")
    parser.set_defaults(handler=_serve)
