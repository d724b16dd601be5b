"""A subscription: which topics, filtered how, delivered where, in what form, under which policy.

Statuses follow the FHIR R4 Subscription (``requested`` until the handshake succeeded,
``active``, ``error`` when a delivery was given up or the handshake failed, ``off``). Events
are owed to ``requested``, ``active`` and ``error`` subscriptions (counted and kept; sent while
``active``); an ``off`` subscription, or one past its ``end``, owes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import topics as t
from .filters import Filters
from .model import Notification
from .retry import RetryPolicy

CONTENTS = ("empty", "id-only", "full-resource")
STATUSES = ("requested", "active", "error", "off")
OWING = frozenset({"requested", "active", "error"})
HL7_SEGMENT = r"^[A-Z][A-Z0-9]{2}$"


@dataclass(frozen=True)
class Hl7Options:
    """HL7 v2 forward: which triggers, which segments (None: all, as received), and optional
    MSH-5/MSH-6 (receiving application/facility) to stamp on the forwarded message."""

    triggers: tuple[str, ...] | None = None
    segments: tuple[str, ...] | None = None
    receiving_application: str | None = None
    receiving_facility: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"triggers": list(self.triggers) if self.triggers else None,
                "segments": list(self.segments) if self.segments else None,
                "receiving_application": self.receiving_application, "receiving_facility": self.receiving_facility}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "Hl7Options":
        d = d or {}
        return cls(triggers=tuple(d["triggers"]) if d.get("triggers") else None,
                   segments=tuple(d["segments"]) if d.get("segments") else None,
                   receiving_application=d.get("receiving_application"),
                   receiving_facility=d.get("receiving_facility"))


@dataclass(frozen=True)
class Subscription:
    id: str
    channel: str
    topics: tuple[str, ...]
    endpoint: str
    filters: Filters = field(default_factory=Filters)
    content: str = "id-only"
    status: str = "active"
    status_reason: str | None = None
    name: str = ""
    practice_id: str | None = None  # owner: confined to this practice's members
    hospitalist_group: str | None = None  # owner: confined to this group's members
    heartbeat_period_s: int | None = None
    timeout_s: float = 10.0
    max_count: int = 1
    max_in_flight: int = 32
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    end: datetime | None = None
    hl7: Hl7Options | None = None
    events_count: int = 0
    version: int = 1
    created_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def owes(self, now: datetime) -> bool:
        return self.status in OWING and (self.end is None or now < self.end)

    def wants(self, n: Notification, now: datetime) -> bool:
        if n.topic not in self.topics or not self.owes(now):
            return False
        if not self.filters.matches(n.audience):
            return False
        if self.channel == t.MLLP and self.hl7 and self.hl7.triggers:
            return n.facts.get("event", {}).get("trigger") in self.hl7.triggers
        if self.channel == t.DAVINCI and n.topic == t.ENCOUNTER_TRANSFER:
            # Da Vinci: a transfer is sent only between facilities, never for a bed move
            return bool(n.facts.get("event", {}).get("inter_facility"))
        return True

    @property
    def topic(self) -> str:
        return self.topics[0]
