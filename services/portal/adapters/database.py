"""The portal database: the shared bootstrap (``shared.db.open_database``) over the portal's
tables, the audit log append-only on PostgreSQL. Run by ``migrate`` and by the worker and the API
when they start (idempotent; processes starting together do not trip over each other)."""

from __future__ import annotations

from shared.db import Database
from shared.db import open_database as _bootstrap

from .tables import metadata

APPEND_ONLY = ("audit_log",)


def open_database(url: str, *, pool_size: int = 10) -> Database:
    """The engine, after the idempotent schema step."""
    return _bootstrap(url, metadata, pool_size=pool_size, append_only=APPEND_ONLY)
