"""shared.db: the one after-commit hook, chunks, and the database bootstrap (SQLite here; the
append-only guard on PostgreSQL is covered by the services' integration tests)."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text

from shared.audit import audit_table
from shared.db import chunks, open_database, processed_events_table
from shared.unit_of_work import after_commit


def database(tmp_path):
    metadata = MetaData()
    processed_events_table(metadata)
    audit_table(metadata)
    Table("t", metadata, Column("n", Integer, primary_key=True))
    return open_database(f"sqlite:///{tmp_path}/x.db", metadata, pool_size=1, append_only=("audit_log",))


def test_callbacks_run_once_after_the_outer_commit_not_after_a_savepoint(tmp_path):
    db = database(tmp_path)
    ran = []
    with db.transaction() as s:
        after_commit(s, lambda: ran.append("a"))
        with s.begin_nested():
            s.execute(insert(db.metadata.tables["t"]), {"n": 1})
        assert ran == []  # a released savepoint is not the commit
        nested = s.begin_nested()
        nested.rollback()  # a rolled-back savepoint does not drop them either
        after_commit(s, lambda: ran.append("b"))
        assert ran == []
    assert ran == ["a", "b"]
    with db.transaction() as s:  # the next transaction of a new session starts clean
        s.execute(select(1))
    assert ran == ["a", "b"]
    db.dispose()


def test_callbacks_of_a_rolled_back_transaction_never_run_and_a_retry_counts_once(tmp_path):
    db = database(tmp_path)
    counted = []

    def attempt(fail: bool) -> None:
        with db.transaction() as s:
            after_commit(s, lambda: counted.append(1))
            s.execute(insert(db.metadata.tables["t"]), {"n": 7})
            if fail:
                raise RuntimeError("the batch failed after counting")

    with pytest.raises(RuntimeError):
        attempt(True)
    assert counted == []
    attempt(False)  # the retry
    assert counted == [1]
    db.dispose()


def test_chunks_cover_every_item_in_order_in_bounded_pieces():
    items = list(range(1203))
    parts = list(chunks(items, 500))
    assert [len(p) for p in parts] == [500, 500, 203]
    assert [x for p in parts for x in p] == items
    assert list(chunks([], 500)) == []


def test_open_database_creates_the_schema_and_is_idempotent(tmp_path):
    db = database(tmp_path)
    db.dispose()
    again = database(tmp_path)  # a second process's bootstrap on the same database
    with again.engine.connect() as conn:
        names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
    assert {"processed_events", "audit_log", "t"} <= names
    again.dispose()
