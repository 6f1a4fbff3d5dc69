"""Versioned CQL migrations: ``migrations/V<NNN>__<name>.cql``, applied in order, recorded in
``<keyspace>.schema_migrations``. Re-running applies nothing new; a changed applied file is refused.
Statements are written with ``IF NOT EXISTS`` so a migration interrupted halfway can be re-run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from cassandra.cluster import Session

from nowplaying.common.cassandra import utcnow
from nowplaying.common.logging import get_logger

log = get_logger(__name__)

_NAME = re.compile(r"^V(\d{3,})__([a-z0-9_]+)\.cql$")
_KEYSPACE_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,47}$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    filename: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    def statements(self, keyspace: str) -> list[str]:
        body = "\n".join(_strip_comment(line) for line in self.text.splitlines())
        return [s.strip().replace("{ks}", keyspace) for s in body.split(";") if s.strip()]


def _strip_comment(line: str) -> str:
    """The line without a trailing ``--`` comment (a ``--`` inside a quoted string is kept)."""
    in_quote = False
    for index, char in enumerate(line):
        if char == "'":
            in_quote = not in_quote
        elif char == "-" and not in_quote and line.startswith("--", index):
            return line[:index].rstrip()
    return line


def load_migrations() -> list[Migration]:
    found: list[Migration] = []
    folder = resources.files("nowplaying.common") / "migrations"
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        found.append(Migration(int(match.group(1)), match.group(2), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a version: {versions}")
    return found


def _replication_cql(replication: dict[str, Any]) -> str:
    parts = []
    for key, value in replication.items():
        if not re.fullmatch(r"[A-Za-z0-9_.]+", str(key)) or not re.fullmatch(r"[A-Za-z0-9_.]+", str(value)):
            raise MigrationError(f"replication entry {key!r}: {value!r} has unexpected characters")
        parts.append(f"'{key}': '{value}'")
    return "{" + ", ".join(parts) + "}"


def migrate(session: Session, keyspace: str, replication: dict[str, Any]) -> list[str]:
    """Create the keyspace if needed and apply pending migrations; returns the applied filenames."""
    if not _KEYSPACE_NAME.match(keyspace):
        raise MigrationError(f"keyspace name '{keyspace}' is not a valid CQL identifier")
    session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {_replication_cql(replication)}",
        timeout=60,
    )
    session.execute(
        f"CREATE TABLE IF NOT EXISTS {keyspace}.schema_migrations ("
        " version int PRIMARY KEY, name text, filename text, checksum text, applied_at timestamp)",
        timeout=60,
    )
    applied = {
        row.version: row
        for row in session.execute(
            session.prepare(f"SELECT version, filename, checksum FROM {keyspace}.schema_migrations")
        )
    }
    record = session.prepare(
        f"INSERT INTO {keyspace}.schema_migrations (version, name, filename, checksum, applied_at)"
        " VALUES (?, ?, ?, ?, ?)"
    )
    done: list[str] = []
    for migration in load_migrations():
        previous = applied.get(migration.version)
        if previous is not None:
            if previous.checksum != migration.checksum:
                raise MigrationError(
                    f"{migration.filename} was changed after it was applied (recorded checksum "
                    f"{previous.checksum}, file {migration.checksum}); add a new migration instead"
                )
            continue
        for number, statement in enumerate(migration.statements(keyspace), start=1):
            try:
                session.execute(statement, timeout=120)
            except Exception as exc:
                first_line = statement.splitlines()[0][:120]
                raise MigrationError(
                    f"{migration.filename}, statement {number} ({first_line} ...) failed: {exc}"
                ) from exc
        session.execute(record, (migration.version, migration.name, migration.filename, migration.checksum, utcnow()))
        log.info("migration_applied", file=migration.filename, keyspace=keyspace)
        done.append(migration.filename)
    if not done:
        log.info("schema_up_to_date", keyspace=keyspace, versions=len(applied))
    return done
