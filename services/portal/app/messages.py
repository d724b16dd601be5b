"""Use case: a signed-in member writes to the care team.

The message is stored for the member's thread and published on ``portal.messages`` (outreach
turns it into a task in the right queue); the write to Kafka is confirmed before the commit,
so a message the member was told was sent is on the topic. The member id is the signed-in
member's, whatever the form says. A form sent twice (the same ``form_token``) is one message.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from shared.errors import TransientError
from shared.events import PortalMessageSentV1, derive_id

from ..domain.access import Principal, require_own
from ..domain.errors import InvalidInput, NotFound, Unavailable
from ..domain.messages import compose
from ..domain.model import Message
from .ports import Publisher, UnitOfWork
from .reads import MEMBER_ROLE, signed_in_member

SOURCE = "portal"


def message_id_for(principal: Principal, form_token: str) -> uuid.UUID:
    return derive_id(f"portal-message|{principal.member_id}", form_token)


def send_message(uow: UnitOfWork, publisher: Publisher, principal: Principal, *, topic: str | None,
                 subject: str | None, body: str | None, form_token: str | None, now: datetime, endpoint: str,
                 in_reply_to: uuid.UUID | None = None) -> tuple[Message, bool]:
    """Returns (the message, whether it is new). Raises InvalidInput, NotFound, Unavailable."""
    draft = compose(topic, subject, body)
    if not form_token or len(form_token) < 16 or len(form_token) > 64:
        raise InvalidInput("This form has expired. Please write your message again.", field="form_token")
    with uow:
        member = signed_in_member(uow, principal)
        if in_reply_to is not None:
            reply = uow.replies.get(in_reply_to)
            require_own(principal, reply.member_id if reply else None, "reply")
        message_id = message_id_for(principal, form_token)
        existing = uow.messages.get(message_id)
        if existing is not None:
            if existing.member_id != member.member_id:  # pragma: no cover - ids are derived from the member
                raise NotFound("message")
            return existing, False
        message = Message(message_id, member.member_id, draft.topic, draft.subject, draft.body, now, in_reply_to,
                          principal.via)
        uow.messages.add(message)
        uow.audit.record(user_id=principal.audit_user, role=MEMBER_ROLE, member_id=member.member_id, action="write",
                         endpoint=endpoint, detail=f"message sent topic={draft.topic} via={principal.via}")
        event = PortalMessageSentV1(
            **PortalMessageSentV1.envelope(occurred_at=now, recorded_at=now, source=SOURCE, member_id=member.member_id,
                                           event_id=message_id),
            message_id=message_id, in_reply_to=in_reply_to, topic=draft.topic, subject=draft.subject,
            body=draft.body, signed_in_via=principal.via)
        try:
            publisher.publish([event])
        except TransientError as exc:
            raise Unavailable("Your message could not be sent just now. Nothing was sent; please try again.") from exc
        uow.commit()
    return message, True
