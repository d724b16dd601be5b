"""A member's portal message becomes one task in the queue its topic calls for; the nurse's
answer becomes the reply the member reads in the portal."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from services.outreach.domain import InvalidCommand, claim, lifecycle_event, record_attempt
from services.outreach.domain.portal_messages import portal_reply, reply_text
from shared.events import PortalMessageSentV1

from .builders import MEMBER, T0, Consumer, roster


def message(topic: str = "care_question", *, member: str = MEMBER, message_id: uuid.UUID | None = None,
            in_reply_to=None) -> PortalMessageSentV1:
    mid = message_id or uuid.uuid4()
    return PortalMessageSentV1(**PortalMessageSentV1.envelope(occurred_at=T0, recorded_at=T0, source="portal",
                                                              member_id=member, event_id=mid),
                               message_id=mid, in_reply_to=in_reply_to, topic=topic, subject="Follow-up visit",
                               body="Can you help me book my follow-up?", signed_in_via="dev_code")


@pytest.mark.parametrize("topic,role", [("care_question", "quality_nurse"), ("medication", "quality_nurse"),
                                        ("appointment", "care_navigator"), ("social_needs", "social_worker"),
                                        ("nutrition", "dietician")])
def test_a_message_is_a_task_in_the_queue_its_topic_calls_for(topic, role):
    c = Consumer().feed_all([roster(pod="pod-west"), message(topic)])
    task = c.only("message")
    assert (task.role, task.pod, task.queue, task.status) == (role, "pod-west", f"{role}:pod-west", "open")
    assert task.title == "Portal message: Follow-up visit"
    assert "Can you help me book my follow-up?" in task.reason
    assert task.due_date == date(2026, 3, 4)          # two business days after Monday 2 March


def test_a_redelivered_message_is_one_task_and_each_message_its_own():
    m = message()
    c = Consumer().feed_all([roster(), m, m, message()])
    assert len([t for t in c.tasks.values() if t.kind == "message"]) == 2


def test_no_task_for_a_member_no_longer_on_the_roster():
    c = Consumer().feed_all([roster(status="termed", eligibility=((date(2025, 1, 1), date(2025, 12, 31)),)),
                             message()])
    assert not c.tasks


def test_the_nurses_answer_is_a_reply_event_for_the_members_message():
    m = message()
    task = Consumer().feed_all([roster(), m]).only("message")
    claimed = claim(task, actor="nurse.east1", at=T0 + timedelta(hours=1), expected_version=task.version).task
    change = record_attempt(claimed, actor="nurse.east1", at=T0 + timedelta(hours=2), expected_version=claimed.version,
                            channel="portal", outcome="reached", note="answered in the portal")
    reply = portal_reply(change.task, body=reply_text("  I booked Thursday 10:00.  "), author_name="Nurse East 1",
                         version=change.task.version, at=T0 + timedelta(hours=2))
    assert (reply.member_id, reply.message_id, reply.task_id) == (MEMBER, m.message_id, task.task_id)
    assert (reply.body, reply.author_role, reply.causation_id) == ("I booked Thursday 10:00.", "quality_nurse",
                                                                    m.event_id)
    again = portal_reply(change.task, body="x", author_name="n", version=change.task.version, at=T0)
    assert again.event_id == reply.event_id                    # a retried answer is the same event
    assert lifecycle_event(change.task, change.transition).kind == "message"


def test_only_a_message_task_is_answered_in_the_portal_and_an_empty_reply_is_refused():
    from .builders import gap_opened
    gap = Consumer().feed_all([roster(), gap_opened()]).only("gap")
    with pytest.raises(InvalidCommand):
        portal_reply(gap, body="hi", author_name="n", version=1, at=T0)
    for bad in ("", "   ", "x" * 4001):
        with pytest.raises(InvalidCommand):
            reply_text(bad)
