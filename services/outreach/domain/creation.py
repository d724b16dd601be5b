"""Shared pieces of the event → task decisions: the context and the birth of a task."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from shared.calendar import BusinessCalendar
from shared.events import Event

from .intents import CreateTask
from .members import MemberState, known_at
from .model import SYSTEM_ACTOR, Task, Transition, task_id_for
from .rules import RulesConfig


@dataclass(frozen=True)
class DecisionContext:
    """What stays the same from event to event: the rules and the holiday calendar."""

    rules: RulesConfig
    calendar: BusinessCalendar

    @property
    def tz(self):
        return self.rules.tz


def on_roster(state: MemberState, day: date) -> bool:
    """New tasks only for members on the roster that day. A member the roster has not told
    us about yet (topics are not ordered across each other) gets the benefit of the doubt."""
    return state.profile is None or state.profile.active_on(day)


def system_time(event: Event, task: Task) -> datetime:
    """When a system change is recorded: when the event was known, never before the task's
    last change (so a task's history reads in order even when events come late)."""
    return max(known_at(event), task.updated_at or task.created_at)


def can_create(state: MemberState, key: str, cause: uuid.UUID) -> uuid.UUID | None:
    """The new task's id, or None when the key has an open task or the id already exists."""
    if state.open_task(key) is not None:
        return None
    task_id = task_id_for(cause, key)
    if state.has_task_id(task_id):
        return None
    return task_id


def create(task: Task, event: Event) -> CreateTask:
    record = Transition(task_id=task.task_id, version=task.version, at=task.created_at, actor=SYSTEM_ACTOR,
                        from_status=None, to_status="open", note=f"created from {event.event_type}",
                        assignee=task.assignee, cause_event_id=event.event_id)
    return CreateTask(task, record)
