"""A topic read from its beginning to the end offsets taken when it was opened (the upgrade
step's ``app.seed.TopicRecords``), on confluent-kafka.

Partitions are assigned explicitly at their low watermark: no consumer group is joined and no
offset is committed, so reading leaves no trace on the broker and can be repeated. Records
produced after the reader was opened are not read. A partition the broker stops serving for
``stall_s`` seconds ends the read with ``SeedIncomplete``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timezone

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaError, KafkaException, TopicPartition

from shared.settings import CommonSettings

from ..app.seed import SeedIncomplete, TopicRecord


_REFUSED = (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC)


class TopicMissing(Exception):
    """The topic does not exist on the broker."""


class KafkaTopicReader:
    def __init__(self, settings: CommonSettings, name: str, *, stall_s: float = 60.0, batch: int = 500) -> None:
        self.topic = name
        self.stall_s = stall_s
        self.batch = batch
        self.consumer = Consumer({
            **settings.kafka_client_config(), "group.id": settings.group_id("seed"), "enable.auto.commit": False,
            "enable.auto.offset.store": False, "enable.partition.eof": True, "auto.offset.reset": "earliest",
            "queued.max.messages.kbytes": 16384,  # what librdkafka prefetches (bounded memory)
        })
        self.starts: list[TopicPartition] = []
        self.ends: dict[int, int] = {}
        try:
            meta = self.consumer.list_topics(name, timeout=10).topics.get(name)
            if meta is None or meta.error is not None or not meta.partitions:
                raise TopicMissing(f"topic {name} does not exist on the broker")
            for p in sorted(meta.partitions):
                low, high = self.consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10)
                if high > low:
                    self.ends[p] = high
                    self.starts.append(TopicPartition(name, p, low))
        except KafkaException as exc:
            self.consumer.close()
            raise SeedIncomplete(f"{name}: the broker did not give the topic's offsets ({exc.args[0]})") from None
        except TopicMissing:
            self.consumer.close()
            raise
        self.total = sum(high - tp.offset for tp, high in zip(self.starts, self.ends.values()))

    def __iter__(self) -> Iterator[TopicRecord]:
        ends = dict(self.ends)
        try:
            if not ends:
                return
            self.consumer.assign(self.starts)
            last = time.monotonic()
            while ends:
                messages = self.consumer.consume(self.batch, timeout=1.0)
                if not messages and time.monotonic() - last > self.stall_s:
                    raise SeedIncomplete(f"{self.topic}: nothing read for {self.stall_s:.0f}s before the end offsets "
                                         f"({len(ends)} partition(s) unfinished)")
                for m in messages:
                    err = m.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            ends.pop(m.partition(), None)  # at the broker's end, which is at or past ours
                        elif err.fatal() or err.code() in _REFUSED:
                            raise SeedIncomplete(f"{self.topic}: {err.name()}")
                        continue  # the client retries the others; a broker that stays away stalls the read
                    last = time.monotonic()
                    end = ends.get(m.partition())
                    if end is None or m.offset() >= end:
                        ends.pop(m.partition(), None)
                        continue
                    if m.offset() + 1 >= end:
                        ends.pop(m.partition())
                    kind, ms = m.timestamp()
                    at = None if kind == TIMESTAMP_NOT_AVAILABLE else datetime.fromtimestamp(ms / 1000, timezone.utc)
                    yield TopicRecord(m.key(), m.value(), m.headers(), at)
        finally:
            self.close()

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.close()
            self.consumer = None
