"""The unit of work on SQLAlchemy (``app/ports.UnitOfWork``).

Two ways to get one:

- ``SqlUnitOfWork(db)`` — a read of the API or the page (with its audit rows): ``with uow: ...;
  uow.commit()``; leaving the block without committing rolls back. Database errors leave as they
  came (the HTTP layer answers a refused value with 422, ``shared.http``).
- ``SqlUnitOfWork.for_session(session)`` — the worker's batch: the consumer pipeline
  (``shared.consumer``) owns the transaction, its dedupe rows and the write of the derived events.

The lifecycle (the block, ``for_session``, ``after_commit`` — once, after the outermost commit) is
``shared.unit_of_work.SqlUnitOfWorkBase``'s; this module binds admissions' repositories.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from shared.db import Database
from shared.unit_of_work import SqlUnitOfWorkBase

from .feed_quirks import SqlFeedReport
from .repositories import SqlAlerts, SqlAudit, SqlCrosswalk, SqlEncounters, SqlPatientStates


class SqlUnitOfWork(SqlUnitOfWorkBase):
    def _bind(self, session: Session) -> None:
        self.session = session
        self.crosswalk = SqlCrosswalk(session)
        self.states = SqlPatientStates(session)
        self.encounters = SqlEncounters(session)
        self.alerts = SqlAlerts(session)
        self.audit = SqlAudit(session)
        self.feeds = SqlFeedReport(session)


def unit_of_work_factory(db: Database) -> Callable[[], SqlUnitOfWork]:
    return lambda: SqlUnitOfWork(db)
