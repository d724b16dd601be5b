"""The unit of work of a consumed batch (``app.ports.UnitOfWork``) on the consumer pipeline's session.

The pipeline (``shared.consumer``) owns the transaction: it writes the batch's processed-events
rows, writes the derived tier changes to Kafka and waits for the broker before it commits.
``after_commit`` is ``shared.unit_of_work.after_commit``: the outermost commit only, dropped on rollback.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.unit_of_work import SqlUnitOfWorkBase

from .repository import SqlRiskRepository


class SqlUnitOfWork(SqlUnitOfWorkBase):
    def _bind(self, session: Session) -> None:
        self.session = session
        self.repo = SqlRiskRepository(session)
