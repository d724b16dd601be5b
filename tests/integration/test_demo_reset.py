"""`./ccp demo --reset` with DATABASE_URL pointing at PostgreSQL: the demo starts from empty
service tables, and nothing else in that database is touched."""

from __future__ import annotations

import importlib
import importlib.util

from sqlalchemy import create_engine, inspect, text

from carectl.cli import _drop_service_tables
from shared.db import Database

SERVICES = ("admissions", "gaps", "outreach", "billing")


def test_reset_drops_every_service_table_and_keeps_foreign_ones(pg_url, monkeypatch):
    for service in SERVICES:
        module = "adapters.tables" if importlib.util.find_spec(f"services.{service}.adapters") else "store"
        db = Database(pg_url, importlib.import_module(f"services.{service}.{module}").metadata, pool_size=1)
        db.create_schema()
        db.dispose()
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE someone_elses (id int)"))
        conn.execute(text("INSERT INTO processed_events VALUES ('c', 'e', now())"))
    before = set(inspect(engine).get_table_names())
    assert {"processed_events", "alerts", "gaps", "tasks", "ledger_entries"} <= before

    monkeypatch.setenv("DATABASE_URL", pg_url)
    for service in SERVICES:
        monkeypatch.delenv(f"{service.upper()}_DATABASE_URL", raising=False)
    _drop_service_tables()

    assert set(inspect(engine).get_table_names()) == {"someone_elses"}
    engine.dispose()
