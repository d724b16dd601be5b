"""Where a page keeps the sessions ended by logging out: a ``revoked_sessions`` table in the
service's own database (declare it on the service's MetaData with ``revoked_sessions_table``),
read and written in short transactions of their own (``SqlRevokedSessions``, the kit's
``RevokedSessions``). A row is kept until a day after the session would have expired anyway."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Column, MetaData, String, Table, delete, select

from shared.db import Database, UtcDateTime, insert_ignore

KEEP_AFTER_EXPIRY = timedelta(days=1)


def revoked_sessions_table(metadata: MetaData) -> Table:
    return Table(
        "revoked_sessions", metadata,
        Column("session_id", String(64), primary_key=True),
        Column("expires_at", UtcDateTime, nullable=False),
    )


class SqlRevokedSessions:
    def __init__(self, db: Database, table: Table) -> None:
        self.db = db
        self.table = table

    def revoked(self, session_id: str) -> bool:
        r = self.table
        with self.db.transaction() as s:
            return s.execute(select(r.c.session_id).where(r.c.session_id == session_id)).first() is not None

    def revoke(self, session_id: str, expires_at: datetime, now: datetime) -> None:
        r = self.table
        with self.db.transaction() as s:
            insert_ignore(s, r, [{"session_id": session_id[:64], "expires_at": expires_at}])
            s.execute(delete(r).where(r.c.expires_at < now - KEEP_AFTER_EXPIRY))
