"""The envelope every event on the platform carries.

Events are frozen pydantic v2 models that forbid unknown fields. Each concrete event
class fixes its ``event_type`` and ``schema_version`` with ``Literal`` types so a payload
can only validate against the class it was written for.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# Namespace for derived event ids: uuid5(cause, kind) must be the same on every machine
# and every replay, so the namespace is a constant of the platform.
DERIVED_NAMESPACE = uuid.UUID("5b7c3f0e-8f2a-4c1d-9a55-0c6f1b2e7d41")


def derive_id(cause: uuid.UUID | str, kind: str) -> uuid.UUID:
    """Deterministic id of an event derived from ``cause`` (an event id or any stable key).

    ``uuid5(cause, kind)``: replaying the same cause produces the same id, so consumers
    dedupe the replay with their ``processed_events`` table.
    """
    ns = cause if isinstance(cause, uuid.UUID) else uuid.uuid5(DERIVED_NAMESPACE, str(cause))
    return uuid.uuid5(ns, kind)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Model(BaseModel):
    """Base for value objects inside events: frozen, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Event(Model):
    """Envelope. Subclasses pin ``event_type`` and ``schema_version`` with ``Literal``."""

    TOPIC: ClassVar[str] = ""

    event_id: uuid.UUID
    event_type: str
    schema_version: int
    occurred_at: AwareDatetime = Field(description="event time (when it happened in the world)")
    recorded_at: AwareDatetime = Field(description="when the platform recorded it")
    source: str = Field(min_length=1, max_length=200, description="producing system or file")
    member_id: str | None = Field(default=None, max_length=64)
    patient_key: str | None = Field(
        default=None, max_length=200,
        description="unmatched patient identifier (assigning authority + MRN) when no member is known",
    )
    causation_id: uuid.UUID | None = None

    def partition_key(self) -> str:
        """Kafka key: the member (or the patient until matched) keeps one member's events in order."""
        return self.member_id or self.patient_key or str(self.event_id)

    @classmethod
    def envelope(
        cls,
        *,
        occurred_at: datetime,
        source: str,
        member_id: str | None = None,
        patient_key: str | None = None,
        causation_id: uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
        recorded_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Keyword arguments for the envelope fields, with the class's type and version."""
        fields = cls.model_fields
        return dict(
            event_id=event_id or uuid.uuid4(),
            event_type=fields["event_type"].default,
            schema_version=fields["schema_version"].default,
            occurred_at=occurred_at,
            recorded_at=recorded_at or utcnow(),
            source=source,
            member_id=member_id,
            patient_key=patient_key,
            causation_id=causation_id,
        )
