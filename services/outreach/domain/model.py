"""The task, its attempts and its transition records: plain frozen dataclasses.

A task is one piece of outreach work about one member, in one queue (``role:pod``). Its
``key`` is the open-task identity: at most one non-terminal task exists per key (one per
member and measure, per member and discharge, per member and referral rule).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal

from shared.events import Evidence, derive_id

TaskKind = Literal["gap", "tcm", "social", "dietician", "message"]
TaskStatus = Literal["open", "claimed", "in_progress", "scheduled", "done", "unable_to_reach", "cancelled"]
QueueRole = Literal["quality_nurse", "care_navigator", "social_worker", "dietician"]
Channel = Literal["phone", "text", "letter", "portal"]
AttemptOutcome = Literal["reached", "left_message", "no_answer", "wrong_number", "declined"]

TASK_KINDS: tuple[str, ...] = TaskKind.__args__  # type: ignore[attr-defined]
STATUSES: tuple[str, ...] = TaskStatus.__args__  # type: ignore[attr-defined]
QUEUE_ROLES: tuple[str, ...] = QueueRole.__args__  # type: ignore[attr-defined]
CHANNELS: tuple[str, ...] = Channel.__args__  # type: ignore[attr-defined]
ATTEMPT_OUTCOMES: tuple[str, ...] = AttemptOutcome.__args__  # type: ignore[attr-defined]

TERMINAL: frozenset[str] = frozenset({"done", "unable_to_reach", "cancelled"})
# Statuses in which nobody has reached the member yet for this task: only these can be overdue.
AWAITING_CONTACT: frozenset[str] = frozenset({"open", "claimed", "in_progress"})

SYSTEM_ACTOR = "system"


def queue_id(role: str, pod: str) -> str:
    """``quality_nurse:pod-east``: the queue a task sits in (TaskLifecycleV1.queue)."""
    return f"{role}:{pod}"


def parse_queue(queue: str) -> tuple[str, str]:
    role, sep, pod = queue.partition(":")
    if not sep or role not in QUEUE_ROLES or not pod:
        raise ValueError("queue must be '<role>:<pod>' with a known role")
    return role, pod


def task_key(member_id: str, kind: str, subject: str) -> str:
    """Open-task identity: ``<member>|gap|CMS130``, ``<member>|tcm|<transition>``, ``<member>|referral|<rule>``."""
    return f"{member_id}|{kind}|{subject}"


def task_id_for(cause_event_id: uuid.UUID, key: str) -> uuid.UUID:
    """Deterministic task id: a replay of the cause produces the same id."""
    return derive_id(cause_event_id, f"task:{key}")


@dataclass(frozen=True)
class Attempt:
    """One outreach attempt by a nurse."""

    number: int
    at: datetime
    actor: str
    channel: Channel
    outcome: AttemptOutcome
    note: str | None = None


@dataclass(frozen=True)
class Transition:
    """The record of one change: who, when, from, to, and what came with it.

    ``version`` is the task's version after the change. A status change bumps it; so does a
    claim, a reassignment or a requeue (anything a concurrent nurse action must not overwrite).
    """

    task_id: uuid.UUID
    version: int
    at: datetime
    actor: str
    from_status: TaskStatus | None
    to_status: TaskStatus
    note: str | None = None
    assignee: str | None = None
    channel: Channel | None = None
    outcome: str | None = None
    appointment_date: date | None = None
    cause_event_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Task:
    task_id: uuid.UUID
    key: str
    member_id: str
    kind: TaskKind
    reason_key: str  # measure id, transition id or referral rule id
    role: QueueRole
    pod: str
    practice_id: str | None
    contract_id: str | None
    title: str
    reason: str
    created_at: datetime
    cause_event_id: uuid.UUID
    due_date: date | None = None
    evidence: tuple[Evidence, ...] = ()
    source_ref: str | None = None  # gap_key, encounter key or claim id the task came from
    anchor_date: date | None = None  # TCM: the discharge day
    visit_due_high: date | None = None
    visit_due_moderate: date | None = None
    status: TaskStatus = "open"
    assignee: str | None = None
    priority: float = 0.0
    attempts: tuple[Attempt, ...] = ()
    appointment_date: date | None = None
    outcome: str | None = None
    readmitted_on: date | None = None  # a readmission raised this task's priority
    readmission_ref: str | None = None  # which readmission (or transition) did
    event_ids: tuple[uuid.UUID, ...] = field(default=())  # events that changed this task
    version: int = 1
    updated_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def queue(self) -> str:
        return queue_id(self.role, self.pod)

    @property
    def is_open(self) -> bool:
        """Not terminal: the task still holds its key."""
        return self.status not in TERMINAL

    def touched_by(self, event_id: uuid.UUID) -> bool:
        return event_id == self.cause_event_id or event_id in self.event_ids

    def with_event(self, event_id: uuid.UUID | None) -> "Task":
        if event_id is None or self.touched_by(event_id):
            return self
        return replace(self, event_ids=self.event_ids + (event_id,))
