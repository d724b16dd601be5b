"""New hospitalist alerts fanned out to the Server-Sent Events streams open on the API.

The tail of ``alerts.hospitalist`` (``adapters/alert_tail.py``) hands each ``alert.raised`` to
``AlertFeed.dispatch`` on the event loop. Each subscriber has a bounded queue; a subscriber that
falls behind by more than ``QUEUE_SIZE`` alerts is told to reconnect (``OVERFLOW``) and dropped,
so a slow client never holds memory or the tail up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.events import AlertRaisedV1

QUEUE_SIZE = 1000
OVERFLOW = None  # put in a subscriber's queue when it fell behind


@dataclass(eq=False)
class Subscriber:
    accepts: Callable[[AlertRaisedV1], bool]
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False


class AlertFeed:
    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()

    def subscribe(self, accepts: Callable[[AlertRaisedV1], bool]) -> Subscriber:
        sub = Subscriber(accepts)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def dispatch(self, event: AlertRaisedV1) -> None:
        for sub in list(self.subscribers):
            if sub.overflowed or not sub.accepts(event):
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.overflowed = True
                self.subscribers.discard(sub)
                while not sub.queue.empty():
                    sub.queue.get_nowait()
                sub.queue.put_nowait(OVERFLOW)
