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
- ``SqlUnitOfWork.for_session(session)`` (``shared.db.SqlUnitOfWorkBase``'s) — the worker's batch: the consumer pipeline owns the
  transaction (opened under the lock), its dedupe rows and the write of the derived events.

Database errors leave a unit of work it opened as the application's words: ``UnusableValue``
(the database refused a value of the request) or ``StoreUnavailable`` (try again).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager

from sqlalchemy import select, text
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.orm import Session

from shared.audit import record_access
from shared.db import Database, SqlUnitOfWorkBase
from shared.events import Event
from shared.kafka import EventProducer

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


class SqlUnitOfWork(SqlUnitOfWorkBase):
    """``shared.db.SqlUnitOfWorkBase`` (``for_session``, ``after_commit``) with the ledger lock
    held by a writer, the outbox a writer's ``commit`` confirms on Kafka first, and database
    errors in the application's words."""

    def __init__(self, lock: LedgerLock | None, producer: EventProducer | None = None, *, writer: bool = True) -> None:
        super().__init__(lock.db if lock is not None else None)
        self.lock = lock
        self.producer = producer
        self.writer = writer
        self._outbox: list[Event] = []
        self._stack: ExitStack | None = None

    def _bind(self, session: Session) -> None:
        self.session = session
        self.members = SqlMemberHistories(session)
        self.ledger = SqlLedger(session)
        self.rows = SqlAccrualRows(session)
        self.facts = SqlContractFacts(session)
        self.books = SqlBooks(session)
        self.audit = SqlAudit(session)

    def __enter__(self) -> SqlUnitOfWork:
        if not self._owned:
            raise RuntimeError("the consumer pipeline owns this session's transaction")
        stack = ExitStack()
        try:
            if self.writer:
                session = stack.enter_context(self.lock.transaction())
            else:
                session = stack.enter_context(self.lock.db.sessions())
                stack.enter_context(session.begin())
        except (OperationalError, DBAPIError) as exc:
            stack.close()
            raise StoreUnavailable(exc.__class__.__name__) from None
        self._stack = stack
        self._bind(session)
        self._outbox = []
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        stack, self._stack, session, self.session = self._stack, None, self.session, None
        try:
            if session is not None and session.in_transaction():
                session.rollback()
        finally:
            if stack is not None:
                stack.close()
        if isinstance(exc, DataError):
            raise UnusableValue(str(exc.orig.__class__.__name__) if exc.orig else "DataError") from None
        if isinstance(exc, (OperationalError, DBAPIError)):
            raise StoreUnavailable(exc.__class__.__name__) from None

    def publish(self, events: Sequence[Event]) -> None:
        if self._owned:
            self._outbox.extend(events)
        else:
            raise RuntimeError("in the worker, derived events are returned to the consumer pipeline")

    def commit(self) -> None:
        if self._outbox:
            if self.producer is None:
                raise RuntimeError("this unit of work has events to publish and no producer")
            self.producer.send_sync(self._outbox)
            self._outbox = []
        self.session.commit()


def unit_of_work_factory(lock: LedgerLock, producer: EventProducer | None) -> Callable[..., SqlUnitOfWork]:
    """``uow()`` a writer, ``uow(writer=False)`` a reader."""
    return lambda *, writer=True: SqlUnitOfWork(lock, producer, writer=writer)
