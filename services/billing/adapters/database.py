"""The billing database: the shared bootstrap (``shared.db.open_database``) over these tables,
with the ledger and the audit log append-only on PostgreSQL (a trigger refuses UPDATE and
DELETE). Run by ``migrate`` and by every process when it starts (idempotent; processes starting
together do not trip over each other). ``schema``: a PostgreSQL schema to work in instead of the
default one (the rebuild's scratch ledger).

Writers of the ledger go through ``unit_of_work.LedgerLock`` (one at a time)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from shared.db import Database, open_database as _open

from .tables import APPEND_ONLY, metadata


def open_database(url: str, *, pool_size: int = 10, schema: str | None = None) -> Database:
    if schema is not None:
        url = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    return _open(url, metadata, pool_size=pool_size, append_only=APPEND_ONLY)


def contract_files(directory: Path) -> list[tuple[str, str]]:
    """(file name, text) of every ``*.yaml`` contract file in ``directory``, by name."""
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(Path(directory).glob("*.yaml"))]
