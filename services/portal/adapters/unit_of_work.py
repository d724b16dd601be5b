"""The portal's unit of work (``app.ports.UnitOfWork``): its repositories over one SQLAlchemy session.

``SqlUnitOfWork(db)`` is a transaction of its own (the API's use cases: ``with uow: ...;
uow.commit()``); ``SqlUnitOfWork.for_session(session)`` the worker's batch, on the consumer
pipeline's session (``shared.consumer``), which writes the processed-events rows and commits.
``after_commit`` is ``shared.unit_of_work.after_commit``: the outermost commit only, dropped on rollback.
The lifecycle is ``shared.unit_of_work.SqlUnitOfWorkBase``'s.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.unit_of_work import SqlUnitOfWorkBase

from .repositories import (
    SqlAttempts, SqlAudit, SqlEncounters, SqlGaps, SqlMembers, SqlMessages, SqlPendingLogins, SqlReplies, SqlSessions,
    SqlTasks,
)


class SqlUnitOfWork(SqlUnitOfWorkBase):
    def _bind(self, session: Session) -> None:
        self.session = session
        self.members = SqlMembers(session)
        self.encounters = SqlEncounters(session)
        self.gaps = SqlGaps(session)
        self.tasks = SqlTasks(session)
        self.messages = SqlMessages(session)
        self.replies = SqlReplies(session)
        self.sessions = SqlSessions(session)
        self.attempts = SqlAttempts(session)
        self.pending_logins = SqlPendingLogins(session)
        self.audit = SqlAudit(session)
