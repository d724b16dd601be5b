"""Request and response models of the outreach API (they document the OpenAPI schema)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Evidence

from ..app.queries import QueueItem, TaskDetail
from ..domain import SupervisorView

Channel = Literal["phone", "text", "letter", "portal"]
AttemptOutcome = Literal["reached", "left_message", "no_answer", "wrong_number", "declined"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expected_version: int = Field(ge=1, description="the task version you read; a different current version → 409")


class ClaimIn(_In):
    pass


class ReleaseIn(_In):
    note: str | None = Field(default=None, max_length=500)


class AttemptIn(_In):
    channel: Channel
    outcome: AttemptOutcome
    note: str | None = Field(default=None, max_length=500)


class PortalReplyIn(_In):
    body: str = Field(min_length=1, max_length=4000, description="what the member reads in the portal")


class ScheduleIn(_In):
    appointment_date: date = Field(description="not in the past")
    note: str | None = Field(default=None, max_length=500)


class CompleteIn(_In):
    outcome: str = Field(min_length=1, max_length=200, description="what was achieved, e.g. 'colonoscopy done'")
    note: str | None = Field(default=None, max_length=500)


class CancelIn(_In):
    reason: str = Field(min_length=1, max_length=200)


class ReassignIn(_In):
    assignee: str | None = Field(description="user id of a worker of the task's queue; null returns it to the queue",
                                 max_length=64)
    allow_over_capacity: bool = False
    note: str | None = Field(default=None, max_length=500)


class ClaimNextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    queue: str | None = Field(default=None, max_length=100, description="one of your queues (role:pod); default all")


# ---------------------------------------------------------------------- responses

class TaskSummary(BaseModel):
    task_id: uuid.UUID
    version: int
    member_id: str
    member_name: str | None = Field(default=None, description="from the roster")
    kind: str
    title: str
    queue: str
    role: str
    pod: str
    status: str
    assignee: str | None
    priority: float
    due_date: date | None
    overdue: bool = Field(description="past due and nobody reached yet")
    business_days_left: int | None = Field(description="negative when overdue")
    appointment_date: date | None
    attempts: int
    created_at: datetime

    @classmethod
    def of(cls, item: QueueItem) -> "TaskSummary":
        t = item.task
        return cls(task_id=t.task_id, version=t.version, member_id=t.member_id, member_name=item.member_name,
                   kind=t.kind, title=t.title,
                   queue=t.queue, role=t.role, pod=t.pod, status=t.status, assignee=t.assignee, priority=t.priority,
                   due_date=t.due_date, overdue=item.overdue, business_days_left=item.business_days_left,
                   appointment_date=t.appointment_date, attempts=len(t.attempts), created_at=t.created_at)


class MyQueue(BaseModel):
    user_id: str
    queues: list[str]
    working: list[TaskSummary] = Field(description="tasks you hold (claimed, in progress, scheduled)")
    available: list[TaskSummary] = Field(description="open tasks you may claim, highest priority first")


class QueueList(BaseModel):
    queue: str
    tasks: list[TaskSummary]


class PriorityLineOut(BaseModel):
    factor: str
    points: int
    why: str


class PriorityOut(BaseModel):
    score: float
    as_of: date
    lines: list[PriorityLineOut]


class AttemptOut(BaseModel):
    number: int
    at: datetime
    actor: str
    channel: str
    outcome: str
    note: str | None


class TransitionOut(BaseModel):
    version: int
    at: datetime
    actor: str
    from_status: str | None
    to_status: str
    note: str | None
    assignee: str | None
    channel: str | None
    outcome: str | None
    appointment_date: date | None


class MemberOut(BaseModel):
    member_id: str
    given_name: str | None = None
    family_name: str | None = None
    birth_date: date | None = None
    practice_id: str | None = None
    pod: str | None = None
    risk_tier: str | None = None
    status: str | None = None
    contract_id: str | None = None


class GapOut(BaseModel):
    measure_id: str
    reason: str
    due_date: date | None
    evidence: list[Evidence]


class EncounterOut(BaseModel):
    kind: str
    facility: str | None
    patient_class: str | None
    admit_at: datetime | None
    discharge_at: datetime | None
    admit_date: date | None
    disposition: str | None
    length_of_stay_days: int | None
    diagnoses: list[str]
    readmission: bool


class TaskOut(TaskSummary):
    reason: str = Field(description="why the task exists, in words a nurse can use")
    evidence: list[Evidence]
    priority_explanation: PriorityOut
    practice_id: str | None
    contract_id: str | None
    discharge_date: date | None
    visit_due_high: date | None
    visit_due_moderate: date | None
    readmitted_on: date | None
    outcome: str | None
    attempt_log: list[AttemptOut]
    history: list[TransitionOut]
    member: MemberOut
    open_gaps: list[GapOut]
    recent_encounters: list[EncounterOut]

    @classmethod
    def of_detail(cls, d: TaskDetail) -> "TaskOut":
        t = d.task
        base = TaskSummary.of(QueueItem(t, d.overdue, d.business_days_left)).model_dump()
        return cls(
            **base, reason=t.reason,
            evidence=list(t.evidence),
            priority_explanation=PriorityOut(score=d.score.score, as_of=d.as_of,
                                             lines=[PriorityLineOut(**ln.__dict__) for ln in d.score.lines]),
            practice_id=t.practice_id, contract_id=t.contract_id, discharge_date=t.anchor_date,
            visit_due_high=t.visit_due_high, visit_due_moderate=t.visit_due_moderate, readmitted_on=t.readmitted_on,
            outcome=t.outcome, attempt_log=[AttemptOut(**a.__dict__) for a in t.attempts],
            history=[TransitionOut(**{k: r[k] for k in TransitionOut.model_fields}) for r in d.transitions],
            member=MemberOut(**d.member),
            open_gaps=[GapOut(measure_id=g["measure_id"], reason=g["reason"], due_date=g["due_date"],
                              evidence=[Evidence.model_validate(e) for e in g["evidence"]]) for g in d.open_gaps],
            recent_encounters=[EncounterOut(
                kind=e["kind"], facility=e["facility"], patient_class=e["patient_class"], admit_at=e["admit_at"],
                discharge_at=e["discharge_at"], admit_date=e["admit_date"], disposition=e["disposition"],
                length_of_stay_days=e["length_of_stay_days"],
                diagnoses=[_dx(d) for d in e["diagnoses"]], readmission=bool(e["readmission"]))
                for e in d.encounters],
        )


def _dx(d: dict) -> str:
    return f"{d.get('code')} {d.get('description') or ''}".strip()


class QueueStatsOut(BaseModel):
    queue: str
    role: str
    pod: str
    depth: int
    unassigned: int
    overdue: int
    due_today: int
    by_status: dict[str, int]


class NurseQueueOut(BaseModel):
    queue: str
    depth: int
    overdue: int


class NurseStatsOut(BaseModel):
    user_id: str
    depth: int
    overdue: int
    capacity: int | None
    by_queue: list[NurseQueueOut]


class SupervisorViewOut(BaseModel):
    as_of: date
    total_overdue: int
    queues: list[QueueStatsOut]
    nurses: list[NurseStatsOut]

    @classmethod
    def of(cls, v: SupervisorView) -> "SupervisorViewOut":
        return cls(
            as_of=v.as_of, total_overdue=v.total_overdue,
            queues=[QueueStatsOut(queue=q.queue, role=q.role, pod=q.pod, depth=q.depth, unassigned=q.unassigned,
                                  overdue=q.overdue, due_today=q.due_today, by_status=dict(q.by_status))
                    for q in v.queues],
            nurses=[NurseStatsOut(user_id=n.user_id, depth=n.depth, overdue=n.overdue, capacity=n.capacity,
                                  by_queue=[NurseQueueOut(queue=q, depth=d, overdue=o) for q, d, o in n.by_queue])
                    for n in v.nurses],
        )


class AuditRowOut(BaseModel):
    id: int
    at: datetime
    user_id: str
    role: str
    member_id: str | None
    action: str
    endpoint: str
    detail: str | None


class Me(BaseModel):
    user_id: str
    name: str
    access: str
    roles: list[str]
    pods: list[str]
    queues: list[str]
    capacity: int


class Problem(BaseModel):
    detail: str
    field: str | None = None
