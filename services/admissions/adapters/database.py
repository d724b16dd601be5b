"""The admissions database: the shared bootstrap (``shared.db.open_database``) over these tables,
the audit log append-only on PostgreSQL, and the columns widened since they were first created.
Run by ``migrate`` and by every process when it starts (idempotent; processes starting together
do not trip over each other).

The mllp process does not need the database to answer (accepted ACKs and the quirk counts are
written behind): it ``connect``s and runs ``migrate`` itself, and listens even while the database
is away.
"""

from __future__ import annotations

from shared.db import Database, open_database as _open

from .tables import metadata, upgrade_columns

APPEND_ONLY = ("audit_log",)


def open_database(url: str, *, pool_size: int = 10) -> Database:
    db = _open(url, metadata, pool_size=pool_size, append_only=APPEND_ONLY)
    upgrade_columns(db.engine)
    return db


def connect(url: str, *, pool_size: int = 2) -> Database:
    """The engine and sessions only (no schema step: see ``migrate``)."""
    return Database(url, metadata, pool_size=pool_size)


def migrate(db: Database) -> None:
    """The schema step on a connected database (raises while the database is unreachable)."""
    db.create_schema(APPEND_ONLY)
    upgrade_columns(db.engine)
