"""Billing's real parts over one test database, driven in-process: the storage (schema, ledger
lock, unit of work), and what a worker runs — the routes table's handler, one batch in one
transaction under the ledger lock (as ``shared.consumer`` runs it, without the broker) and the
maintenance timer. What a writer would write to Kafka (confirmed, before its commit) is kept in
``Storage.sent``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from services.billing.adapters.database import contract_files, open_database
from services.billing.adapters.unit_of_work import LedgerLock, SqlUnitOfWork, unit_of_work_factory
from services.billing.app import commands
from services.billing.app.batch import LedgerBatch
from services.billing.app.context import Accruals, AccrualSettings
from services.billing.app.maintenance import Maintenance
from services.billing.contracts import CONTRACTS_DIR
from services.billing.routes import ROUTES
from shared.events import Event, utcnow


class Sent(list):
    """Stands where the producer is: what was written to Kafka (and confirmed) before a commit."""

    def send_sync(self, events: Sequence[Event]) -> list:
        self.extend(events)
        return []


class Storage:
    def __init__(self, url: str, *, pool_size: int = 2, defaults: bool = True) -> None:
        self.db = open_database(url, pool_size=pool_size)
        self.engine = self.db.engine
        self.lock = LedgerLock(self.db)
        self.sent = Sent()
        self.uow = unit_of_work_factory(self.lock, self.sent)
        if defaults:
            commands.ensure_default_contracts(self.uow, contract_files(CONTRACTS_DIR))

    def transaction(self):
        """A writer's transaction (the ledger lock held), as the consumer pipeline opens one."""
        return self.lock.transaction()

    def reader(self):
        """A reader unit of work (no ledger lock)."""
        return self.uow(writer=False)

    def dispose(self) -> None:
        self.db.dispose()


class Worker:
    """One worker process's accrual state over ``storage``."""

    def __init__(self, storage: Storage, *, open_month_policy: str = "calendar", open_month: str | None = None,
                 estimate_interval_s: float = 1.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.storage = storage
        self.clock = clock
        self.accruals = Accruals(AccrualSettings(open_month_policy, open_month, estimate_interval_s, clock))
        self.handler = ROUTES.handler(SqlUnitOfWork.for_session, LedgerBatch.starter(self.accruals))

    def apply(self, events: Sequence[Event]) -> list[Event]:
        """One batch of new events (the caller's dedupe done): the entries it derived."""
        with self.storage.transaction() as s:
            return list(self.handler(s, list(events)))

    def maintain(self, force_settle: bool = True, chunk: int = 1000) -> int:
        return Maintenance(self.storage.uow, self.accruals, chunk).run(force_settle)

    def close_month(self, contract_id: str, period: str, user: str) -> list[Event]:
        return commands.close_month(self.storage.uow, self.accruals, contract_id, period, user)
