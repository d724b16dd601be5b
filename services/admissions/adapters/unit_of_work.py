"""The unit of work on SQLAlchemy (``app/ports.UnitOfWork``).

Two ways to get one:

- ``SqlUnitOfWork(db)`` — a read of the API or the page (with its audit rows): ``with uow: ...;
  uow.commit()``; leaving the block without committing rolls back. Database errors leave as they
  came (the HTTP layer answers a refused value with 422, ``shared.http``).
- ``SqlUnitOfWork.for_session(session)`` — the worker's batch: the consumer pipeline
  (``shared.consumer``) owns the transaction, its dedupe rows and the write of the derived events.

``after_commit`` is ``shared.db.after_commit``: the callbacks run once the outermost transaction
committed, and are dropped when it rolls back (a retried batch counts its metrics once).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from shared.db import Database, after_commit

from .feed_quirks import SqlFeedReport
from .repositories import SqlAlerts, SqlAudit, SqlCrosswalk, SqlEncounters, SqlPatientStates


class SqlUnitOfWork:
    def __init__(self, db: Database | None) -> None:
        self.db = db
        self.session: Session | None = None
        self._owned = True

    @classmethod
    def for_session(cls, session: Session) -> SqlUnitOfWork:
        uow = cls(None)
        uow._owned = False
        uow._bind(session)
        return uow

    def _bind(self, session: Session) -> None:
        self.session = session
        self.crosswalk = SqlCrosswalk(session)
        self.states = SqlPatientStates(session)
        self.encounters = SqlEncounters(session)
        self.alerts = SqlAlerts(session)
        self.audit = SqlAudit(session)
        self.feeds = SqlFeedReport(session)

    def __enter__(self) -> SqlUnitOfWork:
        if not self._owned:
            raise RuntimeError("the consumer pipeline owns this session's transaction")
        session = self.db.sessions()
        session.begin()
        self._bind(session)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        session, self.session = self.session, None
        try:
            if session is not None and session.in_transaction():
                session.rollback()
        finally:
            if session is not None:
                session.close()

    def after_commit(self, fn: Callable[[], None]) -> None:
        after_commit(self.session, fn)

    def commit(self) -> None:
        self.session.commit()


def unit_of_work_factory(db: Database) -> Callable[[], SqlUnitOfWork]:
    return lambda: SqlUnitOfWork(db)
