"""Push of new hospitalist alerts: the API process tails ``alerts.hospitalist`` and hands each
``alert.raised`` to the feed (``app/alert_feed.py``) that fans it out to the Server-Sent Events
streams open on it.

A confluent-kafka consumer in a thread is assigned every partition at its end (no consumer
group coordination, no committed offsets: a stream shows alerts raised while it is open; the
inbox (``GET /alerts``) is the record).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid

from confluent_kafka import Consumer, KafkaException, TopicPartition

from shared.codec import decode
from shared.errors import InvalidEvent
from shared.events import AlertRaisedV1
from shared.settings import CommonSettings
from shared.topics import ALERTS

from ..app.alert_feed import AlertFeed

log = logging.getLogger(__name__)


class AlertTail:
    def __init__(self, settings: CommonSettings, feed: AlertFeed) -> None:
        self.settings = settings
        self.feed = feed
        self.topic = settings.topic(ALERTS)
        self.ready = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name="alert-tail", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        consumer = Consumer({**self.settings.kafka_client_config(),
                             "group.id": f"{self.settings.group_id('alert-stream')}-{uuid.uuid4().hex[:8]}",
                             "enable.auto.commit": False, "auto.offset.reset": "latest",
                             "fetch.wait.max.ms": 100})
        try:
            while not self._stop.is_set() and not self._assign(consumer):
                self._stop.wait(2.0)
            while not self._stop.is_set():
                msg = consumer.poll(0.2)
                if msg is None or msg.error():
                    continue
                try:
                    event = decode(msg.value(), msg.headers() or [])
                except InvalidEvent:
                    continue  # not ours to judge: the topic's consumers dead-letter it
                if isinstance(event, AlertRaisedV1) and self._loop is not None:
                    self._loop.call_soon_threadsafe(self.feed.dispatch, event)
        finally:
            consumer.close()

    def _assign(self, consumer: Consumer) -> bool:
        try:
            md = consumer.list_topics(self.topic, timeout=5)
        except KafkaException:
            return False
        topic = md.topics.get(self.topic)
        if topic is None or topic.error is not None or not topic.partitions:
            return False
        parts = []
        try:  # start at the current ends, resolved now: an alert raised after "ready" is never skipped
            for p in sorted(topic.partitions):
                _low, high = consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=5)
                parts.append(TopicPartition(self.topic, p, high))
        except KafkaException:
            return False
        consumer.assign(parts)
        self.ready = True
        log.info("alert stream tailing %d partitions", len(parts))
        return True
