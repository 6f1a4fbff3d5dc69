"""The ``nowplaying`` command: one subcommand per service, plus cassandra, s3, migrate and config.

Each service package has a ``cli`` module with ``register(subparsers)``; those modules stay light
(heavy imports happen inside the handlers) so ``nowplaying --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nowplaying.common.config import get_settings
from nowplaying.common.logging import configure_logging, get_logger

log = get_logger("nowplaying.cli")

SERVICE_CLIS = (
    "nowplaying.extractor.cli",
    "nowplaying.cleaner.cli",
    "nowplaying.enricher.cli",
    "nowplaying.loader.cli",
    "nowplaying_spark.cli",
    "nowplaying.gateway.cli",
    "nowplaying.sandbox.cli",
    "nowplaying.runner",
)

Handler = Callable[[argparse.Namespace], int]


def _local_server(action: str, server: Any, start: Callable[[], str], error: type[Exception]) -> int:
    """start|stop|status of a server the project runs locally (Cassandra, SeaweedFS)."""
    try:
        if action == "start":
            print(start())
        elif action == "stop":
            print("stopped" if server.stop() else "not running")
        else:
            info = server.status()
            print(json.dumps(info, indent=2))
            return 0 if info["running"] else 3
    except error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _cmd_cassandra(args: argparse.Namespace) -> int:
    from nowplaying.common.localnode import LocalCluster, NodeError

    settings = get_settings()
    cluster = LocalCluster(settings, args.nodes)

    def start() -> str:
        version = cluster.start()
        if len(cluster.nodes) == 1:
            node = cluster.nodes[0]
            return f"Cassandra {version} is up on 127.0.0.1:{settings.cassandra_port} (data: {node.paths.base})"
        return (
            f"Cassandra {version}: {len(cluster.nodes)} nodes up on {cluster.hosts} port {settings.cassandra_port}"
            f" (data: {Path(settings.cassandra_data_dir).resolve()}/node*). Use them with"
            f" CASSANDRA_HOSTS={cluster.hosts} and, for a keyspace on all of them,"
            f' CASSANDRA_REPLICATION=\'{{"class": "SimpleStrategy", "replication_factor": {len(cluster.nodes)}}}\''
        )

    return _local_server(args.action, cluster, start, NodeError)


def _cmd_s3(args: argparse.Namespace) -> int:
    from nowplaying.common.locals3 import LocalS3, LocalS3Error

    server = LocalS3(get_settings())

    def start() -> str:
        server.start()
        return f"SeaweedFS S3 is up on {server.endpoint} (data: {server.base}; keys in {server.credentials_file})"

    return _local_server(args.action, server, start, LocalS3Error)


def _cmd_migrate(args: argparse.Namespace) -> int:
    from nowplaying.common.cassandra import CassandraUnavailable, connect, shutdown
    from nowplaying.common.migrate import MigrationError, migrate

    settings = get_settings()
    try:
        session = connect(settings)
    except CassandraUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        applied = migrate(session, settings.cassandra_keyspace, settings.replication_map)
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        shutdown(session)
    print(f"applied: {', '.join(applied)}" if applied else f"schema of '{settings.cassandra_keyspace}' is up to date")
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    for key, value in get_settings().masked().items():
        print(f"{key}={value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nowplaying", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("cassandra", help="start, stop or inspect the project's local Cassandra node(s)")
    p.add_argument("action", choices=("start", "stop", "status"))
    p.add_argument(
        "--nodes", type=int, choices=range(1, 10), metavar="N", default=None,
        help="local nodes (default CASSANDRA_NODES; several listen on CASSANDRA_NODE_ADDRESSES); stop and"
        " status cover every node started from CASSANDRA_DATA_DIR",
    )  # fmt: skip
    p.set_defaults(handler=_cmd_cassandra)

    p = sub.add_parser("s3", help="start, stop or inspect the project's local S3 server (SeaweedFS)")
    p.add_argument("action", choices=("start", "stop", "status"))
    p.set_defaults(handler=_cmd_s3)

    p = sub.add_parser("migrate", help="create the keyspace and apply pending CQL migrations")
    p.set_defaults(handler=_cmd_migrate)

    p = sub.add_parser("config", help="print the effective settings (secrets masked)")
    p.set_defaults(handler=_cmd_config)

    for module_name in SERVICE_CLIS:
        module = importlib.import_module(module_name)
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
