"""The service's database: tables, the idempotent schema step, the append-only audit guard."""

from __future__ import annotations

from shared.audit import install_append_only_guard
from shared.db import Database

from . import tables


def open_database(url: str, pool_size: int = 10, pre_ping: bool = True) -> Database:
    return Database(url, tables.metadata, pool_size=pool_size, pre_ping=pre_ping)


def migrate(url: str, *, pre_ping: bool = True) -> Database:
    """``pre_ping=False`` for the worker: its consumer retries a batch whose connection dropped and
    the dispatcher retries its statements, so the round trip before every transaction is saved."""
    db = open_database(url, pre_ping=pre_ping)
    db.create_schema()
    install_append_only_guard(db.engine)
    return db
