"""A producer that records what would go to Kafka (for in-process handler and API tests)."""

from __future__ import annotations


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list = []
        self.raw: list = []

    def send_sync(self, events):
        self.sent.extend(events)
        return []

    def send_messages_sync(self, messages, timeout=None):
        self.raw.extend(messages)
        return []

    def close(self) -> None:
        pass
