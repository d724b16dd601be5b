"""The outreach database: the shared bootstrap (``shared.db.open_database``) over these tables,
with the audit log append-only on PostgreSQL. Run by ``migrate`` and by the worker and the API
when they start (idempotent; processes starting together do not trip over each other)."""

from __future__ import annotations

from shared.db import Database, open_database as _open

from .tables import metadata

APPEND_ONLY = ("audit_log",)


def open_database(url: str, *, pool_size: int = 10) -> Database:
    return _open(url, metadata, pool_size=pool_size, append_only=APPEND_ONLY)
