"""notifications.dead_letters: a notification the notifications service gave up delivering.

A delivery is owed until its receiver acknowledges it; when the subscription's retry policy gives
up (attempts or age), the delivery is dead-lettered: kept in the service's delivery log (state
``dead``, ``POST /subscriptions/{id}/redeliver`` owes it again) and published here, so ops tools
(alerting, ticketing, a redrive job) learn of it without polling the API. The event carries the
notification's id (the receiver's idempotency key), never its content or the endpoint URL.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from .. import topics
from .envelope import Event


class NotificationDeadLetteredV1(Event):
    TOPIC: ClassVar[str] = topics.NOTIFICATION_DEAD_LETTERS

    event_type: Literal["notification.dead_lettered"] = "notification.dead_lettered"
    schema_version: Literal[1] = 1
    member_id: str = Field(min_length=1, max_length=64)
    subscription_id: str = Field(min_length=1, max_length=36)
    channel: str = Field(max_length=24, description="webhook | fhir-rest-hook | davinci | mllp")
    notification_id: uuid.UUID = Field(description="the notification's id: webhook-id, Bundle.id, MSH-10 key")
    notification_topic: str = Field(max_length=40, description="e.g. encounter-start")
    event_number: int = Field(ge=1, description="the notification's number in the subscription")
    attempts: int = Field(ge=1)
    owed_since: AwareDatetime
    last_status: str | None = Field(default=None, max_length=32, description="HTTP code, ACK code, timeout, ...")
    reason: str = Field(max_length=1000, description="why it was given up, in words (no payload, no URL)")

    @staticmethod
    def id_for(delivery_id: int, owed_since: datetime) -> uuid.UUID:
        """The same dead letter always gets the same event id (a republished one is a duplicate)."""
        from .envelope import derive_id

        return derive_id(f"notifications-delivery|{delivery_id}|{owed_since.isoformat()}", "dead_lettered")
