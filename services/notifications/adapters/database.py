"""The service's database: tables, the idempotent schema step, the append-only audit guard."""

from __future__ import annotations

from shared.audit import install_append_only_guard
from shared.db import Database

from . import tables


def open_database(url: str, pool_size: int = 10) -> Database:
    return Database(url, tables.metadata, pool_size=pool_size)


def migrate(url: str) -> Database:
    db = open_database(url)
    db.create_schema()
    install_append_only_guard(db.engine)
    return db
