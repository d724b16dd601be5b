"""The unit of work on SQLAlchemy (``app/ports.UnitOfWork``) and the process's evaluation lock.

Two ways to get one:

- ``SqlUnitOfWork(db, producer, lock=...)`` — a re-evaluation chunk, a maintenance step, an API
  read: ``with uow: ...; uow.commit()``. ``commit`` first writes the published events to Kafka
  and waits for the broker's confirmation (``acks=all``), then commits the transaction (events
  to publish and no producer: ``RuntimeError``, nothing committed); leaving the block without
  committing rolls back. A lost or refused connection leaves a unit of work as ``StoreUnavailable``.
- ``SqlUnitOfWork.for_session(session)`` (``shared.unit_of_work.SqlUnitOfWorkBase``'s) — the worker's batch:
  the consumer pipeline (``shared.consumer``) owns the transaction, its dedupe rows and the write of
  the derived events.

``Serialized(db, lock)``: the database as the consumer pipeline opens its batch transactions, each
under ``lock``; a unit of work given the same lock holds it for its whole transaction. So a batch
of the stream and a re-evaluation chunk of the same process never interleave (other processes:
``uow.members.lock``, rows locked in member order on PostgreSQL).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from shared.db import Database
from shared.unit_of_work import SqlUnitOfWorkBase
from shared.events import Event
from shared.kafka import EventProducer

from ..app.ports import StoreUnavailable
from .repositories import SqlAudit, SqlClaims, SqlGaps, SqlMembers, SqlReads, SqlRuns, SqlTransitions


class Serialized:
    """``db`` for ``BatchConsumer``: every transaction it opens holds ``lock``."""

    def __init__(self, db: Database, lock: threading.Lock) -> None:
        self.db = db
        self.lock = lock
        self.processed = db.processed  # the consumer pipeline's dedupe table

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.lock, self.db.transaction() as session:
            yield session


class SqlUnitOfWork(SqlUnitOfWorkBase):
    def __init__(self, db: Database | None, producer: EventProducer | None = None, *,
                 lock: threading.Lock | None = None) -> None:
        super().__init__(db)
        self.producer = producer
        self.lock = lock
        self._outbox: list[Event] = []
        self._locked = False

    def _bind(self, session: Session) -> None:
        self.session = session
        self.members = SqlMembers(session)
        self.claims = SqlClaims(session)
        self.transitions = SqlTransitions(session)
        self.gaps = SqlGaps(session)
        self.reads = SqlReads(session)
        self.runs = SqlRuns(session)
        self.audit = SqlAudit(session)

    def __enter__(self) -> SqlUnitOfWork:
        if self.lock is not None and self._owned:
            self.lock.acquire()
            self._locked = True
        try:
            super().__enter__()
        except BaseException:
            self._release()
            raise
        self._outbox = []
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            super().__exit__(exc_type, exc, tb)
        finally:
            self._release()
        if isinstance(exc, OperationalError):  # a refused value (DataError) stays itself: the API answers 422
            raise StoreUnavailable(exc.__class__.__name__) from None

    def _release(self) -> None:
        if self._locked:
            self._locked = False
            self.lock.release()

    def publish(self, events: Sequence[Event]) -> None:
        if not self._owned:
            raise RuntimeError("in the worker, derived events are returned to the consumer pipeline")
        self._outbox.extend(events)

    def commit(self) -> None:
        if self._outbox:
            if self.producer is None:
                raise RuntimeError("status changes to announce and no producer to write them to Kafka")
            self.producer.send_sync(self._outbox)
            self._outbox = []
        super().commit()


def unit_of_work_factory(db: Database, producer: EventProducer | None = None, *,
                         lock: threading.Lock | None = None) -> Callable[[], SqlUnitOfWork]:
    return lambda: SqlUnitOfWork(db, producer, lock=lock)
