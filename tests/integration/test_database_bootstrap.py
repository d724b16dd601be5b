"""The one database bootstrap (shared.db.open_database) on PostgreSQL: processes of a service
starting together on an empty database all succeed, and the append-only guard is in place (an
UPDATE or DELETE of the audit log is refused) — installed under the same lock as the tables."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from services.outreach.adapters.database import open_database


def test_four_processes_bootstrapping_at_once_all_succeed_and_the_audit_log_is_append_only(pg_url):
    start = threading.Barrier(4)
    errors: list[str] = []
    opened = []

    def run() -> None:
        start.wait()
        try:
            opened.append(open_database(pg_url, pool_size=1))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc.__class__.__name__)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for db in opened:
        db.dispose()
    assert errors == [] and len(opened) == 4

    engine = create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_log (at, user_id, role, action, endpoint) "
                              "VALUES (now(), 'u', 'nurse', 'read', 'test')"))
        for statement in ("UPDATE audit_log SET user_id = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 1
    finally:
        engine.dispose()
