"""The one consumer pipeline: apply a batch of Kafka records exactly once in effect, then say
which offsets may be committed.

``BatchConsumer.process(records)``:

1. decodes each record (upcast + validate); an undecodable record is dead-lettered with the
   reason (confirmed write) and skipped;
2. in ONE database transaction: records the batch's event ids in ``processed_events``
   (consumer, event_id) — ids already there are duplicates, skipped and counted — hands the new
   events to the handler (for a converted service: its routes table, ``shared.routing``, which
   dispatches each (topic, event type) to its use case), writes the events the handler derived
   to Kafka and waits for the broker to confirm them, then commits;
3. if the handler raises ``InvalidEvent`` the batch is rolled back and replayed one event per
   transaction so only the offending event is dead-lettered;
4. transient failures (database or broker unavailable) are retried with backoff; when the
   retries run out the batch has failed: the consumer is marked failed (it processes nothing
   more and nothing more of it is committed) and ``on_fatal`` ends the process with
   EX_TEMPFAIL (75) for its supervisor; after the restart the batch is delivered again.

Offsets: ``process`` returns only when every record of the batch is applied (committed to the
database) or dead-lettered. Only then does the caller (``shared.faust_app.consume``) commit the
batch's offsets to Kafka — the next offset to read, offset + 1 per partition — and wait for the
broker's answer. Faust itself never commits these topics (they are subscribed with
``acks=False``), so a batch that failed, or was cut short by a kill, has no committed offset
whatever faust's own bookkeeping does; it is redelivered and its ``processed_events`` rows make
the second delivery change nothing. Killing the worker at any step loses nothing and applies
nothing twice (``tests/integration/test_offset_commit_kills.py``):

- before the transaction commits: nothing applied, nothing committed → applied after restart;
- after the transaction, before the offset commit: applied, not committed → redelivered,
  recognised as duplicates, applied once;
- after the offset commit: applied and committed → not redelivered.

Derived events are written before the database commit: if the commit then fails, the
redelivered cause produces the same derived events with the same deterministic ids
(``derive_id``), and their consumers drop them as duplicates.

Metrics and other after-commit work run once the transaction committed (``after_commit``
below, and ``shared.unit_of_work.after_commit`` inside handlers): a batch rolled back and retried is
counted once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from . import metrics
from .codec import decode
from .db import Database, claim_new_events
from .deadletter import DeadLetters
from .errors import InvalidEvent, TransientError
from .events import Event
from .kafka import EventProducer

if TYPE_CHECKING:  # pragma: no cover
    from .routing import Routes

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]
# handler(session, new_events) -> events to emit (derived); runs inside the transaction
Handler = Callable[[Session, list[Event]], Sequence[Event] | None]

EXIT_UNPROCESSED = 75  # EX_TEMPFAIL: a supervisor restarts us; the batch is redelivered


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=list)


@dataclass
class _Decoded:
    record: Record
    event: Event


class BatchConsumer:
    def __init__(
        self,
        name: str,
        db: Database,
        producer: EventProducer,
        handler: Handler,
        *,
        expect: tuple[type[Event], ...] | None = None,
        max_retries: int = 8,
        backoff_s: float = 0.2,
        on_fatal: Callable[[BaseException], None] | None = None,
        after_commit: Callable[[list[Event], list[Event]], None] | None = None,
    ) -> None:
        if db.processed is None:
            raise ValueError("the service's metadata must include processed_events_table()")
        self.name = name
        self.db = db
        self.producer = producer
        self.handler = handler
        self.expect = expect
        self.dlq = DeadLetters(producer, name)
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.on_fatal = on_fatal or _exit_without_commit
        # after_commit(applied, derived): counters and latency histograms that must count committed
        # work only (a retried batch is not counted twice).
        self.after_commit = after_commit
        self.routes: Routes | None = None
        # Set when a batch could not be applied: nothing after it may be processed or committed
        # (a later batch's offsets would cover the failed one).
        self.failed: BaseException | None = None
        # The last batch whose transaction committed (``consume`` commits its offsets).
        self.last_applied: Sequence[Record] | None = None
        self._m_processed = metrics.CONSUMER_EVENTS.labels(name, "processed")
        self._m_duplicate = metrics.CONSUMER_EVENTS.labels(name, "duplicate")
        self._m_invalid = metrics.CONSUMER_EVENTS.labels(name, "invalid")

    @classmethod
    def for_routes(cls, routes: Routes, db: Database, producer: EventProducer, unit_of_work: Callable[[Session], object],
                   begin: Callable | None = None, **kwargs) -> BatchConsumer:
        """The pipeline of a converted service: its routes table dispatches each new event to the
        use case of its (topic, event type); ``unit_of_work(session)`` is the service's adapter,
        ``begin(uow, events)`` the batch's working set (``shared.routing``)."""
        consumer = cls(routes.consumer, db, producer, routes.handler(unit_of_work, begin), expect=routes.events(),
                       **kwargs)
        consumer.routes = routes
        return consumer

    # ------------------------------------------------------------------ entry point
    async def process(self, records: Sequence[Record]) -> None:
        """Apply ``records``. Returns only when every record is applied or dead-lettered; then,
        and only then, their offsets may be committed."""
        if self.failed is not None:
            raise RuntimeError(f"{self.name}: an earlier batch failed; this consumer commits nothing more")
        if not records:
            return
        started = time.perf_counter()
        task = asyncio.ensure_future(asyncio.to_thread(self.process_sync, list(records)))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            # Shutting down mid-batch: let the transaction finish (or fail) before the stream
            # acknowledges anything, so a cancelled batch is never counted as done.
            try:
                await task
            except BaseException as exc:  # noqa: BLE001 - anything here means "not applied"
                self.failed = exc
                self.on_fatal(exc)
            else:
                self.last_applied = records  # committed before the stop: its offsets may still be committed
            raise
        except BaseException as exc:  # noqa: BLE001
            self.failed = exc
            self.on_fatal(exc)
            raise
        self.last_applied = records
        metrics.CONSUMER_BATCH_SECONDS.labels(self.name).observe(time.perf_counter() - started)
        metrics.CONSUMER_BATCH_SIZE.labels(self.name).observe(len(records))
        metrics.CONSUMER_LAST_BATCH.labels(self.name).set_to_current_time()

    def process_sync(self, records: list[Record]) -> None:
        decoded: list[_Decoded] = []
        for rec in records:
            try:
                decoded.append(_Decoded(rec, decode(rec.value, rec.headers, self.expect)))
            except InvalidEvent as exc:
                self._dead_letter(rec, exc.reason, "InvalidEvent")
            except Exception as exc:  # noqa: BLE001 - decoding depends on the bytes alone: a retry cannot help
                self._dead_letter(rec, f"undecodable message: {exc.__class__.__name__}", exc.__class__.__name__)
        if not decoded:
            return
        try:
            self._with_retries(lambda: self._apply(decoded))
        except InvalidEvent:
            # Find the offender: one transaction per event.
            for item in decoded:
                try:
                    self._with_retries(lambda item=item: self._apply([item]))
                except InvalidEvent as exc:
                    self._dead_letter(item.record, exc.reason, "InvalidEvent")

    # ------------------------------------------------------------------ internals
    def _apply(self, items: list[_Decoded]) -> None:
        with self.db.transaction() as session:
            new_ids = claim_new_events(session, self.db.processed, self.name, (str(i.event.event_id) for i in items))
            seen: set[str] = set()
            fresh: list[Event] = []
            for i in items:
                eid = str(i.event.event_id)
                if eid in new_ids and eid not in seen:
                    seen.add(eid)
                    fresh.append(i.event)
            duplicates = len(items) - len(fresh)
            out = list(self.handler(session, fresh) or ()) if fresh else []
            if out:
                self.producer.send_sync(out)
        # committed
        if self.after_commit is not None and fresh:
            self.after_commit(fresh, out)
        self._m_processed.inc(len(fresh))
        if duplicates:
            self._m_duplicate.inc(duplicates)

    def _with_retries(self, fn: Callable[[], None]) -> None:
        attempt = 0
        while True:
            try:
                fn()
                return
            except InvalidEvent:
                raise
            except (TransientError, OperationalError, IntegrityError, DBAPIError) as exc:
                attempt += 1
                metrics.CONSUMER_RETRIES.labels(self.name).inc()
                if attempt > self.max_retries:
                    raise TransientError(f"{self.name}: giving up after {attempt - 1} retries: "
                                         f"{exc.__class__.__name__}") from exc
                delay = min(self.backoff_s * (2 ** (attempt - 1)), 10.0) * (0.5 + random.random())
                log.warning("%s: transient failure (%s), retry %d/%d in %.2fs", self.name,
                            exc.__class__.__name__, attempt, self.max_retries, delay)
                time.sleep(delay)

    def _dead_letter(self, rec: Record, reason: str, exception: str) -> None:
        self._m_invalid.inc()

        def send() -> None:
            self.dlq.send_sync(rec.topic, rec.value, rec.key, rec.headers, reason=reason, exception=exception,
                               partition=rec.partition, offset=rec.offset)

        self._with_retries(send)


def _exit_without_commit(exc: BaseException) -> None:
    """Stop at once for the supervisor to restart the worker. The failed batch has no committed
    offset (offsets are committed after a batch is applied, never before), so it comes back after
    the restart; exiting is what keeps a later batch from being applied, and committed, over it."""
    log.critical("consumer cannot make progress (%s: %s); exiting for a restart (the batch is not committed)",
                 exc.__class__.__name__, exc)
    logging.shutdown()
    os._exit(EXIT_UNPROCESSED)
