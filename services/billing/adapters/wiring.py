"""The storage every billing process starts with, built from its settings: the database (schema
step with the append-only guards), its ledger lock, the unit-of-work factory, and the example
contracts loaded when none is (worker, API and CLI alike)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.db import Database
from shared.kafka import EventProducer

from ..app.commands import ensure_default_contracts
from ..app.context import Accruals, AccrualSettings
from ..settings import BillingSettings
from .database import contract_files, open_database
from .unit_of_work import LedgerLock, SqlUnitOfWork, unit_of_work_factory


@dataclass
class Storage:
    db: Database
    lock: LedgerLock
    uow: Callable[..., SqlUnitOfWork]

    def dispose(self) -> None:
        self.db.dispose()


def storage(settings: BillingSettings, producer: EventProducer | None = None, *, pool_size: int = 10) -> Storage:
    db = open_database(settings.resolved_database_url(), pool_size=pool_size)
    lock = LedgerLock(db)
    uow = unit_of_work_factory(lock, producer)
    ensure_default_contracts(uow, contract_files(settings.contracts_dir))
    return Storage(db, lock, uow)


def accrual_settings(settings: BillingSettings) -> AccrualSettings:
    return AccrualSettings(open_month_policy=settings.open_month_policy, open_month=settings.open_month,
                           estimate_interval_s=settings.estimate_interval_s)


def accruals(settings: BillingSettings) -> Accruals:
    return Accruals(accrual_settings(settings))
