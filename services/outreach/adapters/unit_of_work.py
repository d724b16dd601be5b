"""The unit of work on SQLAlchemy (``app/ports.UnitOfWork``).

Two ways to get one:

- ``SqlUnitOfWork(db, producer)`` — a command, a query or a daily job: ``with uow: ...;
  uow.commit()``. ``commit`` first writes the published events to Kafka and waits for the
  broker's confirmation (``acks=all``), then commits the transaction; leaving the block without
  committing rolls back. Database errors leave as the application's words: ``UnusableValue``
  (the database refused a value of the request) or ``StoreUnavailable`` (try again).
- ``SqlUnitOfWork.for_session(session)`` — the worker's batch: the consumer pipeline
  (``shared.consumer``) owns the transaction, its dedupe rows and the write of the derived events.

The lifecycle, the outbox and the error translation are
``shared.publishing_uow.PublishingUnitOfWork``'s (shared with billing); this module binds
outreach's repositories.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from shared.db import Database
from shared.kafka import EventProducer
from shared.publishing_uow import PublishingUnitOfWork

from ..app.ports import StoreUnavailable, UnusableValue
from .repository import SqlAudit, SqlJobs, SqlMembers, SqlPageSessions, SqlReads, SqlTasks


class SqlUnitOfWork(PublishingUnitOfWork):
    unusable_value = UnusableValue
    store_unavailable = StoreUnavailable

    def _bind(self, session: Session) -> None:
        self.session = session
        self.tasks = SqlTasks(session)
        self.members = SqlMembers(session)
        self.audit = SqlAudit(session)
        self.jobs = SqlJobs(session)
        self.reads = SqlReads(session)
        self.sessions = SqlPageSessions(session)


def unit_of_work_factory(db: Database, producer: EventProducer | None) -> Callable[[], SqlUnitOfWork]:
    return lambda: SqlUnitOfWork(db, producer)
