"""Bulk writes of the worker's batches: on PostgreSQL one statement per table and batch, the rows
as one JSON parameter read back with ``json_populate_recordset`` (the statement text is the same
whatever the batch's size, so nothing per row is built or parsed as SQL, and the rows are encoded
by the json module's C encoder); elsewhere (SQLite) the shared dialect-neutral upsert."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.orm import Session

from shared.db import upsert as generic_upsert


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON-able: {type(value).__name__}")


json_rows = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_plain).encode
_UPSERTS: dict[tuple[str, tuple[str, ...]], Any] = {}


def _upsert_sql(table: Table, keys: Sequence[str]):
    cache_key = (table.name, tuple(keys))
    stmt = _UPSERTS.get(cache_key)
    if stmt is None:
        cols = [c.name for c in table.columns]
        rest = [c for c in cols if c not in keys]
        action = ("DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in rest)) if rest else "DO NOTHING"
        stmt = _UPSERTS[cache_key] = text(
            f"INSERT INTO {table.name} ({', '.join(cols)}) SELECT {', '.join(cols)} "
            f"FROM json_populate_recordset(NULL::{table.name}, CAST(:rows AS json)) "
            f"ON CONFLICT ({', '.join(keys)}) {action}")
    return stmt


def upsert(session: Session, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert or update ``rows`` (every column of ``table``) by ``keys``."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        generic_upsert(session, table, rows, keys)
        return
    session.execute(_upsert_sql(table, keys), {"rows": json_rows(list(rows))})
