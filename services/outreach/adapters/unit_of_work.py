"""The unit of work on SQLAlchemy (``app/ports.UnitOfWork``).

Two ways to get one:

- ``SqlUnitOfWork(db, producer)`` — a command, a query or a daily job: ``with uow: ...;
  uow.commit()``. ``commit`` first writes the published events to Kafka and waits for the
  broker's confirmation (``acks=all``), then commits the transaction; leaving the block without
  committing rolls back. Database errors leave as the application's words: ``UnusableValue``
  (the database refused a value of the request) or ``StoreUnavailable`` (try again).
- ``SqlUnitOfWork.for_session(session)`` — the worker's batch: the consumer pipeline
  (``shared.consumer``) owns the transaction, its dedupe rows and the write of the derived events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.orm import Session

from shared.db import Database, SqlUnitOfWorkBase
from shared.events import Event
from shared.kafka import EventProducer

from ..app.ports import StoreUnavailable, UnusableValue
from .repository import SqlAudit, SqlJobs, SqlMembers, SqlPageSessions, SqlReads, SqlTasks


class SqlUnitOfWork(SqlUnitOfWorkBase):
    def __init__(self, db: Database | None, producer: EventProducer | None = None) -> None:
        super().__init__(db)
        self.producer = producer
        self._outbox: list[Event] = []

    def _bind(self, session: Session) -> None:
        self.session = session
        self.tasks = SqlTasks(session)
        self.members = SqlMembers(session)
        self.audit = SqlAudit(session)
        self.jobs = SqlJobs(session)
        self.reads = SqlReads(session)
        self.sessions = SqlPageSessions(session)

    def __enter__(self) -> SqlUnitOfWork:
        super().__enter__()
        self._outbox = []
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        super().__exit__(exc_type, exc, tb)
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
        super().commit()


def unit_of_work_factory(db: Database, producer: EventProducer | None) -> Callable[[], SqlUnitOfWork]:
    return lambda: SqlUnitOfWork(db, producer)
