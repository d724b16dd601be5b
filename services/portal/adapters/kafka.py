"""Publishing the portal's events through the platform's producer (acks=all, idempotent)."""

from __future__ import annotations

from collections.abc import Sequence

from shared.events import Event
from shared.kafka import EventProducer


class KafkaPublisher:
    """``publish`` returns when the broker confirmed every event; raises ``DeliveryError`` (a
    ``TransientError``) otherwise."""

    def __init__(self, producer: EventProducer) -> None:
        self.producer = producer

    def publish(self, events: Sequence[Event]) -> None:
        self.producer.send_sync(events)
