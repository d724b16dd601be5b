"""The intake database: the shared bootstrap (``shared.db.open_database``) over ``tables.py``,
the audit log append-only on PostgreSQL. Run by ``migrate`` and by every process when it starts
(idempotent). Under ``ccp`` one DATABASE_URL serves every service, each in its own schema (the
URL's ``search_path``, ``carectl.processes.service_database_url``)."""

from __future__ import annotations

from shared.db import Database, open_database as _open

from .tables import metadata


def open_database(url: str, *, pool_size: int = 10) -> Database:
    return _open(url, metadata, pool_size=pool_size, append_only=("audit_log",))
