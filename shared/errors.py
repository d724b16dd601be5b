"""Error kinds every consumer distinguishes.

``InvalidEvent``: the input can never be processed (bad bytes, schema, business rule) →
dead-letter it with the reason and go on. ``TransientError``: the world is temporarily
unavailable (database, broker) → retry with backoff, then stop without committing.
"""

from __future__ import annotations


class InvalidEvent(Exception):
    """Input that will never succeed. ``reason`` is what a human needs to fix it (no PHI)."""

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class TransientError(Exception):
    """Retry later: the same input may succeed when a dependency comes back."""


class DeliveryError(TransientError):
    """Kafka did not confirm a write (timeout, broker down, not enough replicas)."""
