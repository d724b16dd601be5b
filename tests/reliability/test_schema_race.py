"""Processes of one service starting together on an empty PostgreSQL database (two workers of a
consumer group scaled out, or mllp + worker + api after a fresh install without ``migrate``):
each runs the idempotent schema step at start, and it must not fail because another is running
it at the same moment.
"""

from __future__ import annotations

import threading


from services.admissions.adapters import tables as store
from shared.db import Database


def test_four_processes_creating_the_schema_at_once_all_succeed(pg_url):
    dbs = [Database(pg_url, store.metadata, pool_size=1) for _ in range(4)]
    for d in dbs:
        with d.engine.connect():
            pass  # connected before the start line, so the CREATEs really overlap
    start = threading.Barrier(len(dbs))
    errors: list[str] = []

    def run(db: Database) -> None:
        start.wait()
        try:
            db.create_schema()
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc.__class__.__name__)

    threads = [threading.Thread(target=run, args=(d,)) for d in dbs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for d in dbs:
        d.dispose()
    assert errors == []
