"""The gaps database: the shared bootstrap (``shared.db.open_database``: engine, idempotent schema
step, the audit log append-only on PostgreSQL) over these tables. Run by ``migrate`` and by every
process when it starts (worker, API, re-evaluation).

On PostgreSQL the engine writes bulk INSERTs as multi-row VALUES pages and plans every statement
with its values (``shared.db.make_engine``): psycopg prepares a statement after 5 runs, and the
generic plan of the dedupe query (``event_id IN`` 500 parameters) then filters row by row against
the list — 0.4 s per batch on a freshly growing table instead of 30 ms.
"""

from __future__ import annotations

from shared.db import Database, open_database as _open

from ..settings import GapsSettings
from .tables import metadata

APPEND_ONLY = ("audit_log",)


def open_database(settings: GapsSettings, *, pool_size: int = 10) -> Database:
    return _open(settings.resolved_database_url(), metadata, pool_size=pool_size, append_only=APPEND_ONLY)
