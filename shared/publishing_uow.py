"""The SQL unit of work of a writer that publishes: ``shared.unit_of_work.SqlUnitOfWorkBase`` with an outbox,
the one billing's and outreach's units of work share.

- ``publish(events)`` collects events during the transaction (in a block of its own only: in the
  worker's batch the consumer pipeline writes the derived events, so there it is refused).
- ``commit()`` first writes them to Kafka and waits for the broker's confirmation
  (``producer.send_sync``: acks=all), and only then commits the transaction. A write that fails
  raises before the commit: the block rolls the transaction back, nothing is kept. A commit that
  fails after the confirmation leaves events on Kafka whose effects were not kept: the retry
  derives the same event ids, which readers drop as duplicates.
- callbacks given to ``after_commit`` (metrics) run once the commit succeeded, once; never for an
  attempt that failed (``shared.unit_of_work.after_commit``).
- database errors leave the block in the application's words: ``unusable_value`` (the database
  refused a value: ``DataError``) or ``store_unavailable`` (any other database error: try again),
  the exception classes of the service (``app/ports.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from .db import Database
from .unit_of_work import SqlUnitOfWorkBase
from .events import Event


class Producer(Protocol):
    def send_sync(self, events: Sequence[Event]) -> Any:
        """Write ``events`` and return once the broker confirmed every one (raises otherwise)."""


class PublishingUnitOfWork(SqlUnitOfWorkBase):
    unusable_value: type[Exception] | None = None
    store_unavailable: type[Exception] | None = None

    def __init__(self, db: Database | None, producer: Producer | None = None) -> None:
        super().__init__(db)
        self.producer = producer
        self._outbox: list[Event] = []

    def __enter__(self):
        self._outbox = []
        return super().__enter__()

    def _translate(self, exc: BaseException | None) -> Exception | None:
        if isinstance(exc, DataError) and self.unusable_value is not None:
            return self.unusable_value(str(exc.orig.__class__.__name__) if exc.orig else "DataError")
        if isinstance(exc, (OperationalError, DBAPIError)) and self.store_unavailable is not None:
            return self.store_unavailable(exc.__class__.__name__)
        return None

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
