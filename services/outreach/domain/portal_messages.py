"""A member's portal message → a task in the queue its topic calls for; a nurse's answer → the
reply the member reads in the portal.

Queue by what the member says the message is about: help with food, housing, transport or
bills → the pod's social worker; food and healthy eating → its dietitian; appointments → its care
navigator; a question about care or medicines → its quality nurse (the care coordinator). One
task per message (key ``<member>|message|<message id>``), due in ``SLA_BUSINESS_DAYS`` business
days from when the portal recorded it. A redelivered message changes nothing.
"""

from __future__ import annotations

import uuid

from shared.events import CareTeamReplyV1, PortalMessageSentV1, derive_id

from .creation import DecisionContext, can_create, create, on_roster
from .errors import InvalidCommand
from .intents import Intent
from .members import MemberState, known_at, known_on, resolve_pod
from .model import Task, task_key

ROLE_FOR_TOPIC = {
    "care_question": "quality_nurse",
    "medication": "quality_nurse",
    "appointment": "care_navigator",
    "social_needs": "social_worker",
    "nutrition": "dietician",
}
TOPIC_WORDS = {
    "care_question": "a question about their care", "medication": "their medicines",
    "appointment": "an appointment", "social_needs": "help with food, housing, transport or bills",
    "nutrition": "food and healthy eating",
}
SLA_BUSINESS_DAYS = 2
MAX_REPLY = 4000


def message_key(member_id: str, message_id: uuid.UUID) -> str:
    return task_key(member_id, "message", str(message_id))


def on_portal_message(event: PortalMessageSentV1, state: MemberState, ctx: DecisionContext) -> list[Intent]:
    if state.already_applied(event.event_id):
        return []
    key = message_key(event.member_id, event.message_id)
    task_id = can_create(state, key, event.event_id)
    if task_id is None or not on_roster(state, known_on(event, ctx.tz)):
        return []
    profile = state.profile
    role = ROLE_FOR_TOPIC.get(event.topic, "quality_nurse")
    written = known_at(event)
    follow_up = " (a follow-up to a reply)" if event.in_reply_to else ""
    reason = (f"Portal message about {TOPIC_WORDS.get(event.topic, event.topic)}{follow_up}, "
              f"written {known_on(event, ctx.tz).isoformat()}: {event.body}")
    task = Task(
        task_id=task_id, key=key, member_id=event.member_id, kind="message", reason_key=str(event.message_id),
        role=role, pod=resolve_pod(profile.pod if profile else None, profile.practice_id if profile else None,  # type: ignore[arg-type]
                                   ctx.rules),
        practice_id=profile.practice_id if profile else None, contract_id=profile.contract_id if profile else None,
        title=f"Portal message: {event.subject}"[:200], reason=reason[:500], created_at=written, updated_at=written,
        cause_event_id=event.event_id,
        due_date=ctx.calendar.add_business_days(known_on(event, ctx.tz), SLA_BUSINESS_DAYS),
        source_ref=str(event.message_id),
    )
    return [create(task, event)]


def reply_text(text: str | None) -> str:
    value = (text or "").replace("\x00", "").strip()
    if not value:
        raise InvalidCommand("write the reply", field="body")
    if len(value) > MAX_REPLY:
        raise InvalidCommand(f"the reply is longer than {MAX_REPLY} characters", field="body")
    return value


def portal_reply(task: Task, *, body: str, author_name: str, version: int, at) -> CareTeamReplyV1:
    """The answer the member reads in the portal (id derived from the task and the version the
    reply produced: a replayed history gives the same event)."""
    if task.kind != "message":
        raise InvalidCommand("only a portal message can be answered in the portal")
    reply_id = derive_id(f"{task.task_id}|v{version}", "portal.reply")
    return CareTeamReplyV1(
        **CareTeamReplyV1.envelope(occurred_at=at, recorded_at=at, source="outreach", member_id=task.member_id,
                                   causation_id=task.cause_event_id, event_id=reply_id),
        reply_id=reply_id, message_id=uuid.UUID(task.reason_key), task_id=task.task_id, body=body,
        author_name=author_name[:100] or "Your care team", author_role=task.role)
