"""List and replay dead letters.

Listing shows where each dead letter came from and why — offset, time, consumer, source topic,
partition/offset, exception and reason — never the payload unless asked (it may hold PHI).
Replaying writes the original bytes and headers (without the ``dlq.*`` ones) back to the source
topic, after the cause was fixed (a consumer upgrade, a roster fix); the consumers' dedupe makes
a replay of something already applied harmless.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from shared.kafka import EventProducer, OutMessage
from shared.settings import CommonSettings
from shared.topics import DLQ_SUFFIX, registry


@dataclass
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> str:
        for k, v in self.headers:
            if k == name:
                return (v or b"").decode("utf-8", "replace")
        return ""

    @property
    def reason(self) -> str:
        return self.header("dlq.reason")

    @property
    def source_topic(self) -> str:
        return self.header("dlq.source_topic") or self.topic.removesuffix(DLQ_SUFFIX)

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.headers if not k.startswith("dlq.")]


def dlq_topics(settings: CommonSettings) -> list[str]:
    return [settings.topic(name) for name, spec in registry().items() if spec.is_dlq]


def read_dead_letters(settings: CommonSettings, topics: list[str], limit: int = 1000,
                      timeout: float = 10.0) -> list[DeadLetter]:
    """Every dead letter on ``topics`` from the beginning (up to ``limit``), oldest first per partition."""
    consumer = Consumer({**settings.kafka_client_config(), "group.id": f"ccp-dlq-reader-{uuid.uuid4()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    out: list[DeadLetter] = []
    try:
        md = consumer.list_topics(timeout=timeout)
        assignments, ends = [], {}
        for t in topics:
            if t not in md.topics:
                continue
            for p in md.topics[t].partitions:
                lo, hi = consumer.get_watermark_offsets(TopicPartition(t, p), timeout=timeout)
                if hi > lo:
                    assignments.append(TopicPartition(t, p, OFFSET_BEGINNING))
                    ends[(t, p)] = hi
        if not assignments:
            return out
        consumer.assign(assignments)
        deadline = time.monotonic() + timeout
        done: set[tuple[str, int]] = set()
        while len(done) < len(ends) and len(out) < limit and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            tp = (msg.topic(), msg.partition())
            out.append(DeadLetter(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(),
                                  list(msg.headers() or [])))
            if msg.offset() + 1 >= ends[tp]:
                done.add(tp)
    finally:
        consumer.close()
    return out


def replay(settings: CommonSettings, letters: list[DeadLetter]) -> int:
    """Write each dead letter's original bytes back to its source topic; returns how many."""
    if not letters:
        return 0
    producer = EventProducer(settings, client_id="ccp-dlq-replay")
    try:
        producer.send_messages_sync([
            OutMessage(dl.source_topic, dl.value, dl.key, dl.original_headers() + [("dlq.replayed_from",
                       f"{dl.topic}:{dl.partition}:{dl.offset}".encode())])
            for dl in letters
        ], timeout=60)
    finally:
        producer.close()
    return len(letters)
