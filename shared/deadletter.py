"""Dead letters: ``<topic>.dlq`` keeps the original bytes and headers plus why, who and where.

A message is dead-lettered only when the write to the DLQ is confirmed, so an invalid input is
never dropped; the consumer then moves on, so it never stops a stream.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from . import metrics
from .kafka import EventProducer, OutMessage
from .topics import DLQ_SUFFIX

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]


def dlq_topic(source_topic: str) -> str:
    return source_topic if source_topic.endswith(DLQ_SUFFIX) else source_topic + DLQ_SUFFIX


def dead_letter_message(
    source_topic: str, value: bytes | None, key: bytes | None, headers: Headers | None, *, reason: str,
    consumer: str, exception: str | None = None, partition: int | None = None, offset: int | None = None,
) -> OutMessage:
    extra: Headers = [
        ("dlq.reason", reason[:2000].encode()),
        ("dlq.consumer", consumer.encode()),
        ("dlq.exception", (exception or "InvalidEvent").encode()),
        ("dlq.source_topic", source_topic.encode()),
        ("dlq.at", datetime.now(timezone.utc).isoformat().encode()),
    ]
    if partition is not None:
        extra.append(("dlq.source_partition", str(partition).encode()))
    if offset is not None:
        extra.append(("dlq.source_offset", str(offset).encode()))
    original = [(k, v if isinstance(v, bytes) else (v or b"")) for k, v in (headers or []) if not k.startswith("dlq.")]
    return OutMessage(dlq_topic(source_topic), value, key, original + extra)


class DeadLetters:
    def __init__(self, producer: EventProducer, consumer: str) -> None:
        self.producer = producer
        self.consumer = consumer

    def _message(self, source_topic, value, key, headers, reason, exception, partition, offset) -> OutMessage:
        metrics.DEAD_LETTERS.labels(self.consumer, source_topic).inc()
        log.warning("dead-lettering a message from %s (partition %s offset %s): %s",
                    source_topic, partition, offset, reason)
        return dead_letter_message(source_topic, value, key, headers, reason=reason, consumer=self.consumer,
                                   exception=exception, partition=partition, offset=offset)

    async def send(self, source_topic: str, value: bytes | None, key: bytes | None = None,
                   headers: Headers | None = None, *, reason: str, exception: str | None = None,
                   partition: int | None = None, offset: int | None = None) -> None:
        msg = self._message(source_topic, value, key, headers, reason, exception, partition, offset)
        await self.producer.send_messages([msg])

    def send_sync(self, source_topic: str, value: bytes | None, key: bytes | None = None,
                  headers: Headers | None = None, *, reason: str, exception: str | None = None,
                  partition: int | None = None, offset: int | None = None) -> None:
        msg = self._message(source_topic, value, key, headers, reason, exception, partition, offset)
        self.producer.send_messages_sync([msg])
