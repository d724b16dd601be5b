"""One DATABASE_URL for the whole platform (``DATABASE_URL=postgresql+psycopg://... ./ccp demo``):
every service gets a schema of its own in that database, because the services' table names
overlap (admissions, gaps and notifications each have a ``members`` table with other columns;
before, the second service's schema step saw the first one's table and skipped its own). And
``./ccp demo --reset`` drops every service's tables there and touches nothing else."""

from __future__ import annotations

import importlib
import importlib.util

from sqlalchemy import create_engine, text

from carectl.cli import _drop_service_tables
from carectl.processes import database_services, service_database_url, with_schema
from shared.db import open_database

SERVICES = database_services()


def _metadata(service: str):
    module = "adapters.tables" if importlib.util.find_spec(f"services.{service}.adapters") else "store"
    return importlib.import_module(f"services.{service}.{module}").metadata


def _tables_by_schema(engine) -> dict[str, set[str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT table_schema, table_name FROM information_schema.tables "
                                 "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")).fetchall()
    out: dict[str, set[str]] = {}
    for schema, table in rows:
        out.setdefault(schema, set()).add(table)
    return out


def test_one_database_url_gives_each_service_its_own_schema_and_reset_drops_only_theirs(pg_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", pg_url)
    for service in SERVICES:
        monkeypatch.delenv(f"{service.upper()}_DATABASE_URL", raising=False)
    for service in SERVICES:  # what `ccp up`'s schema step runs for each service, as its processes get it
        open_database(service_database_url({"DATABASE_URL": pg_url}, service), _metadata(service), pool_size=1).dispose()
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE someone_elses (id int)"))

    schemas = _tables_by_schema(engine)
    for service in SERVICES:
        assert schemas.get(service) == set(_metadata(service).tables), service
    with engine.connect() as conn:  # the same name, each service's own columns
        columns = {s: {r[0] for r in conn.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = 'members'"),
            {"s": s})} for s in ("admissions", "gaps", "notifications")}
    for s, cols in columns.items():
        assert cols == {c.name for c in _metadata(s).tables["members"].columns}, s

    _drop_service_tables()

    left = _tables_by_schema(engine)
    assert left == {"public": {"someone_elses"}}, left
    engine.dispose()


def test_a_service_url_of_its_own_is_used_as_given():
    env = {"DATABASE_URL": "postgresql+psycopg://u:p@db/ccp", "GAPS_DATABASE_URL": "postgresql+psycopg://u:p@db/gaps"}
    assert service_database_url(env, "gaps") == "postgresql+psycopg://u:p@db/gaps"
    assert service_database_url(env, "billing") == "postgresql+psycopg://u:p@db/ccp?options=-csearch_path%3Dbilling"
    assert service_database_url({}, "billing") is None
    assert with_schema("sqlite:///var/x.db", "gaps") == "sqlite:///var/x.db"
    chosen = "postgresql+psycopg://u:p@db/ccp?options=-csearch_path%3Dmine"
    assert with_schema(chosen, "gaps") == chosen
