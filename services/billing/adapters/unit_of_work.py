"""The unit of work on SQLAlchemy (``app/ports.UnitOfWork``) and the ledger lock it holds.

The ledger diff reads what is posted and appends the difference, so two writers of the same
keys must never overlap. ``LedgerLock(db).transaction()`` is the only way to write: it holds a
process-wide lock for the transaction's whole length (taken before the transaction begins, so a
waiting writer holds no connection and, on SQLite, no write lock) and, on PostgreSQL, a
transaction-scoped advisory lock (other processes: the API's month close, the CLI, a second
worker). The consumer pipeline opens its batch transactions through it too
(``BatchConsumer.for_routes(ROUTES, lock, ...)``: the lock has the ``transaction()`` and
``processed`` the pipeline uses).

Three ways to get a unit of work:

- ``SqlUnitOfWork(lock, producer)`` — a writer (maintenance, month close, a contract load):
  ``with uow: ...; uow.commit()``; ``commit`` first writes the published ledger events to Kafka
  and waits for the broker's confirmation (``acks=all``), then commits the transaction; leaving
  the block without committing rolls back.
- ``SqlUnitOfWork(lock, None, writer=False)`` — a reader (the API's queries, the CLI's
  statements; commits only the audit rows it wrote): no ledger lock.
- ``SqlUnitOfWork.for_session(session)`` (``shared.unit_of_work.SqlUnitOfWorkBase``'s) — the worker's batch:
  the consumer pipeline owns the transaction (opened under the lock), its dedupe rows and the
  write of the derived events.

Database errors leave a unit of work it opened as the application's words: ``UnusableValue``
(the database refused a value of the request) or ``StoreUnavailable`` (try again). The outbox,
the order (confirmed on Kafka, then committed, then the after-commit callbacks) and the error
translation are ``shared.publishing_uow.PublishingUnitOfWork``'s, shared with outreach; this
module adds the ledger lock and binds billing's repositories.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared.audit import record_access
from shared.db import Database
from shared.kafka import EventProducer
from shared.publishing_uow import PublishingUnitOfWork

from ..app.ports import StoreUnavailable, UnusableValue
from .accrual_rows import SqlAccrualRows
from .books import SqlBooks
from .facts import SqlContractFacts
from .ledger import SqlLedger
from .members import SqlMemberHistories
from .tables import audit

_LOCK_KEY = 0x0B111  # pg_advisory_xact_lock key of the ledger writers


class LedgerLock:
    """The ledger writers' lock of one database (one per process and database)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.processed = db.processed  # the consumer pipeline's dedupe table
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._lock, self.db.sessions() as session, session.begin():
            if self.db.engine.dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            yield session


class SqlAudit:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, *, user_id: str, role: str, member_ids: Iterable[str | None], action: str, endpoint: str,
               detail: str | None = None) -> None:
        record_access(self.session, audit, user_id=user_id, role=role, member_ids=member_ids, action=action,
                      endpoint=endpoint, detail=detail)

    def query(self, member_id: str | None, limit: int) -> list[dict]:
        q = select(audit).order_by(audit.c.id.desc()).limit(limit)
        if member_id:
            q = q.where(audit.c.member_id == member_id)
        return [dict(r._mapping) for r in self.session.execute(q)]


class SqlUnitOfWork(PublishingUnitOfWork):
    """``shared.publishing_uow.PublishingUnitOfWork`` (``for_session``, ``after_commit``, the outbox
    a writer's ``commit`` confirms on Kafka first, database errors in the application's words)
    with the ledger lock held by a writer."""

    unusable_value = UnusableValue
    store_unavailable = StoreUnavailable

    def __init__(self, lock: LedgerLock | None, producer: EventProducer | None = None, *, writer: bool = True) -> None:
        super().__init__(lock.db if lock is not None else None, producer)
        self.lock = lock
        self.writer = writer

    def _bind(self, session: Session) -> None:
        self.session = session
        self.members = SqlMemberHistories(session)
        self.ledger = SqlLedger(session)
        self.rows = SqlAccrualRows(session)
        self.facts = SqlContractFacts(session)
        self.books = SqlBooks(session)
        self.audit = SqlAudit(session)

    def _open(self, stack: ExitStack) -> Session:
        if self.writer:
            return stack.enter_context(self.lock.transaction())
        session = stack.enter_context(self.lock.db.sessions())
        stack.enter_context(session.begin())
        return session


def unit_of_work_factory(lock: LedgerLock, producer: EventProducer | None) -> Callable[..., SqlUnitOfWork]:
    """``uow()`` a writer, ``uow(writer=False)`` a reader."""
    return lambda *, writer=True: SqlUnitOfWork(lock, producer, writer=writer)
