"""portal.messages and portal.replies: a member writes to the care team; the care team answers.

``portal.messages`` (key: member_id): the portal API publishes one ``portal.message_sent`` per
message a signed-in member sends; outreach turns it into a task in the right queue, and the
portal's own worker keeps it in the member's thread (the projection rebuilds from the topic).

``portal.replies`` (key: member_id): outreach publishes one ``portal.reply_sent`` when a member
of the care team answers a portal message; the portal shows it in the member's thread.

The message and reply bodies are the member's own words (PHI): they travel only on these
topics, never in logs or metric labels.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import Field

from .. import topics
from .envelope import Event

# What the member says the message is about. Outreach decides the queue from it (a care
# coordinator by default, a social worker for social needs, a dietician for nutrition).
MessageTopic = Literal["care_question", "appointment", "medication", "social_needs", "nutrition"]
MESSAGE_TOPICS: tuple[str, ...] = MessageTopic.__args__  # type: ignore[attr-defined]
MAX_SUBJECT = 120
MAX_BODY = 4000


class PortalMessageSentV1(Event):
    TOPIC: ClassVar[str] = topics.PORTAL_MESSAGES

    event_type: Literal["portal.message_sent"] = "portal.message_sent"
    schema_version: Literal[1] = 1
    member_id: str = Field(min_length=1, max_length=64)
    message_id: uuid.UUID
    in_reply_to: uuid.UUID | None = Field(default=None, description="the care team's reply this message answers")
    topic: MessageTopic
    subject: str = Field(min_length=1, max_length=MAX_SUBJECT)
    body: str = Field(min_length=1, max_length=MAX_BODY)
    signed_in_via: Literal["dev_code", "oidc"] = Field(description="how the member proved who they are")


class CareTeamReplyV1(Event):
    TOPIC: ClassVar[str] = topics.PORTAL_REPLIES

    event_type: Literal["portal.reply_sent"] = "portal.reply_sent"
    schema_version: Literal[1] = 1
    member_id: str = Field(min_length=1, max_length=64)
    reply_id: uuid.UUID
    message_id: uuid.UUID = Field(description="the member's message this answers")
    task_id: uuid.UUID | None = Field(default=None, description="the outreach task the message became")
    body: str = Field(min_length=1, max_length=MAX_BODY)
    author_name: str = Field(min_length=1, max_length=100, description="display name of the staff member")
    author_role: str = Field(min_length=1, max_length=32, description="e.g. quality_nurse, social_worker")
