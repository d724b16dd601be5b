"""The ``EventSink`` over Kafka: batches produced with one batch confirming while the next is
being built, dead letters as ``<topic>.dlq`` messages (``shared.deadletter``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from shared import metrics as shared_metrics
from shared.deadletter import dead_letter_message
from shared.kafka import EventProducer, OutMessage
from shared.settings import CommonSettings

from ..domain import DeadLetter

LOAD_CONSUMER = "intake.load"  # names the dead letters' origin (dlq.consumer header)


class BatchSender:
    """Produce in batches with one batch confirming while the next is being built.

    ``add(message, tag)``; every ``batch_size`` messages the batch goes to a single sending
    thread (``send_messages_sync``: all produced, then all confirmed), so the file keeps
    being parsed meanwhile and the order of messages is kept. ``on_confirmed(tags)`` runs for
    each batch the broker confirmed; a failed batch raises ``DeliveryError`` from ``add`` or
    ``flush``. At most ``depth`` batches are pending (bounded memory).
    """

    def __init__(self, producer: EventProducer, batch_size: int,
                 on_confirmed: Callable[[list[Any]], None], depth: int = 2) -> None:
        self.producer = producer
        self.batch_size = batch_size
        self.on_confirmed = on_confirmed
        self.depth = depth
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="intake-send")
        self._pending: deque[tuple[Future, list[Any]]] = deque()
        self._messages: list[OutMessage] = []
        self._tags: list[Any] = []

    def add(self, message: OutMessage, tag: Any = None) -> None:
        self._messages.append(message)
        self._tags.append(tag)
        if len(self._messages) >= self.batch_size:
            self._submit()

    def _submit(self) -> None:
        if not self._messages:
            return
        messages, tags = self._messages, self._tags
        self._messages, self._tags = [], []
        self._pending.append((self._executor.submit(self.producer.send_messages_sync, messages), tags))
        while len(self._pending) > self.depth:
            self._settle()

    def _settle(self) -> None:
        fut, tags = self._pending.popleft()
        fut.result()
        self.on_confirmed(tags)

    def flush(self) -> None:
        self._submit()
        while self._pending:
            self._settle()

    def close(self) -> None:
        try:
            for fut, _ in self._pending:
                fut.cancel()
        finally:
            self._executor.shutdown(wait=True)


class KafkaSink:
    """``app.ports.EventSink``: events via ``producer.message_for``, dead letters with their
    reason and position headers (counted in ``ccp_dead_letters_total``)."""

    def __init__(self, settings: CommonSettings, producer: EventProducer, batch_size: int,
                 on_confirmed: Callable[[list[Any]], None]) -> None:
        self.settings = settings
        self.producer = producer
        self.sender = BatchSender(producer, batch_size, on_confirmed)

    def event(self, event: Any, tag: Any = None) -> None:
        self.sender.add(self.producer.message_for(event), tag)

    def dead_letter(self, letter: DeadLetter, tag: Any = None) -> None:
        topic = self.settings.topic(letter.topic)
        shared_metrics.DEAD_LETTERS.labels(LOAD_CONSUMER, topic).inc()
        self.sender.add(dead_letter_message(topic, letter.raw, letter.key, list(letter.headers), reason=letter.reason,
                                            consumer=LOAD_CONSUMER, exception="Rejected"), tag)

    def flush(self) -> None:
        self.sender.flush()

    def close(self) -> None:
        self.sender.close()
