"""Outreach task overdue: a fact of the task and the calendar day, not of an event.

No topic carries "task overdue" (outreach counts overdue tasks in a gauge only), so the
service derives it from its projection of ``outreach.tasks`` with outreach's rule: past its due
date with nobody reached yet (open, claimed, in progress); due today is not overdue; a
scheduled or finished task never is. The notification's id is ``uuid5(task, due date)``:
one per task and due date, whichever worker process finds it first, on every replay.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from . import topics as t
from .mapping import audience, patient_facts
from .model import AWAITING_CONTACT, Member, Notification, TaskFacts, derived


def is_overdue(task: TaskFacts, today: date) -> bool:
    return task.status in AWAITING_CONTACT and task.due_date is not None and task.due_date < today


def needs_notice(task: TaskFacts, today: date) -> bool:
    return is_overdue(task, today) and task.overdue_notified_for != task.due_date


def overdue_notification(task: TaskFacts, member: Member | None, tz: tzinfo, now: datetime) -> Notification:
    assert task.due_date is not None
    became = datetime.combine(task.due_date + timedelta(days=1), time(0), tz)
    eid = derived("task-overdue", task.task_id, task.due_date.isoformat())
    aud = audience(member, task.member_id, practice_id=task.practice_id, contract_id=task.contract_id)
    facts = {"task": task.as_dict(), "patient": patient_facts(member, task.member_id),
             "event": {"due_date": task.due_date.isoformat(), "status": task.status, "queue": task.queue,
                       "kind": task.kind}}
    return Notification(event_id=eid, topic=t.TASK_OVERDUE, member_id=task.member_id, occurred_at=became,
                        recorded_at=now, source_event_id=eid, audience=aud, focus_type="Task",
                        focus_id=task.task_id, facts=facts)
