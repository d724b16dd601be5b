"""outreach.tasks: every task lifecycle transition (key: member_id)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from .. import topics
from .envelope import Event

TaskKind = Literal["gap", "tcm", "social", "dietician", "message"]  # message: a member wrote through the portal
TaskStatus = Literal["open", "claimed", "in_progress", "scheduled", "done", "unable_to_reach", "cancelled"]


class TaskLifecycleV1(Event):
    TOPIC: ClassVar[str] = topics.TASKS

    event_type: Literal["task.lifecycle"] = "task.lifecycle"
    schema_version: Literal[1] = 1
    member_id: str
    task_id: uuid.UUID
    kind: TaskKind
    reason_key: str = Field(description="what the task is about: measure id, transition id, rule id")
    queue: str = Field(description="role:pod, e.g. quality_nurse:pod-east")
    role: str
    from_status: TaskStatus | None = None
    to_status: TaskStatus
    actor: str = Field(description="user id or 'system' (never a patient identifier)")
    assignee: str | None = None
    outcome: str | None = None
    channel: str | None = None
    appointment_date: date | None = None
    due_date: date | None = None
    priority: float | None = None
    practice_id: str | None = None
    contract_id: str | None = None
