"""Build the use cases' context and the storage from settings (shared by worker, API and CLI)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from shared.db import Database

from ..app.context import RiskContext
from ..settings import RiskSettings
from .database import connect, open_database
from .reference import load_normalization, load_policies
from .repository import SqlRiskRepository


def build_context(settings: RiskSettings) -> RiskContext:
    return RiskContext(load_policies(settings.contracts_dir), load_normalization(), settings.today,
                       default_model=settings.default_model)


def database(settings: RiskSettings, pool_size: int = 5) -> Database:
    """The service's database after the schema step (the shared bootstrap)."""
    return open_database(settings.resolved_database_url(), pool_size=pool_size)


def transactions(db: Database):
    @contextmanager
    def transaction() -> Iterator[SqlRiskRepository]:
        with db.transaction() as session:
            yield SqlRiskRepository(session)

    return transaction


def rescore_parts(settings: RiskSettings) -> tuple:
    """(database, context, publish, close) for one process of a parallel full re-score."""
    from shared.kafka import EventProducer

    db = connect(settings.resolved_database_url(), pool_size=1)   # the parent ran the schema step
    producer = EventProducer(settings, client_id="risk-rescore")
    return db, build_context(settings), producer.send_sync, producer.close
