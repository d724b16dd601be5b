"""Reading a topic back in a test: every record up to each partition's high watermark, in offset
order per partition (one member's events are on one partition), with no consumer group to join."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from shared.codec import decode


def read_to_end(settings, topic: str, *, timeout: float = 20.0) -> list:
    """The records of ``topic`` (registry name, under ``settings``' prefix) written so far."""
    name = settings.topic(topic)
    c = Consumer({**settings.kafka_client_config(), "group.id": f"test-reader-{uuid.uuid4()}",
                  "enable.auto.commit": False})
    out = []
    try:
        parts = c.list_topics(name, timeout=10).topics[name].partitions
        ends = {}
        for p in parts:
            lo, hi = c.get_watermark_offsets(TopicPartition(name, p), timeout=10)
            if hi > lo:
                ends[p] = hi
        c.assign([TopicPartition(name, p, OFFSET_BEGINNING) for p in ends])
        deadline = time.monotonic() + timeout
        while ends and time.monotonic() < deadline:
            for m in c.consume(500, 0.5):
                if m.error():
                    continue
                out.append(m)
                if m.offset() >= ends.get(m.partition(), 0) - 1:
                    ends.pop(m.partition(), None)
    finally:
        c.close()
    out.sort(key=lambda m: (m.partition(), m.offset()))
    return out


def member_events(settings, topic: str, member_ids: set[str] | None = None) -> list:
    """``read_to_end``, decoded (a ``.dlq`` topic's raw records, keyed by member), optionally only
    these members'."""
    out = read_to_end(settings, topic)
    if topic.endswith(".dlq"):
        return [m for m in out if member_ids is None or (m.key() or b"").decode() in member_ids]
    events = [decode(m.value(), m.headers()) for m in out]
    return [e for e in events if member_ids is None or e.member_id in member_ids]
