"""Audit log of member-data reads and writes: who, which member, what, when, where.

Append-only: the application only inserts; on PostgreSQL a trigger refuses UPDATE and DELETE.
Each service keeps its own ``audit_log`` table in its own database; admins query it through
the service's API.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import BigInteger, Column, DateTime, Engine, Index, Integer, MetaData, String, Table, insert, text
from sqlalchemy.orm import Session


def audit_table(metadata: MetaData) -> Table:
    return Table(
        "audit_log",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("user_id", String(64), nullable=False),
        Column("role", String(32), nullable=False),
        Column("member_id", String(64), nullable=True),
        Column("action", String(16), nullable=False),  # read | write
        Column("endpoint", String(200), nullable=False),
        Column("detail", String(500), nullable=True),
        Index("ix_audit_member", "member_id", "at"),
    )


def record_access(session: Session, table: Table, *, user_id: str, role: str, member_ids: Iterable[str | None],
                  action: str, endpoint: str, detail: str | None = None) -> None:
    now = datetime.now(timezone.utc)
    rows = [
        {"at": now, "user_id": user_id, "role": role, "member_id": m, "action": action, "endpoint": endpoint,
         "detail": detail}
        for m in dict.fromkeys(member_ids)
    ]
    if rows:
        session.execute(insert(table), rows)


def append_only_guard_statements(table_name: str = "audit_log") -> list[str]:
    """PostgreSQL statements making ``table_name`` refuse UPDATE and DELETE (idempotent)."""
    return [
        "CREATE OR REPLACE FUNCTION ccp_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$",
        f"DROP TRIGGER IF EXISTS {table_name}_append_only ON {table_name}",
        f"CREATE TRIGGER {table_name}_append_only BEFORE UPDATE OR DELETE ON {table_name} "
        "FOR EACH ROW EXECUTE FUNCTION ccp_append_only()",
    ]


def install_append_only_guard(engine: Engine, table_name: str = "audit_log") -> None:
    """On PostgreSQL, refuse UPDATE/DELETE on the audit table (idempotent). The schema step of
    ``shared.db.open_database(append_only=...)`` does the same under its lock."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for statement in append_only_guard_statements(table_name):
            conn.execute(text(statement))
